/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_trigger.c - the trigger class: the debouncer as a pure function
 * (table-driven, one row per quirk), the class through the sim backend with recorded edge
 * timestamps and in real time (the debounce timer firing), and the gpio backend's request
 * path without a kernel GPIO chip (-ENOENT).
 *
 * Real GPIO edges (gpio-sim) are the VM rig's. All waits are poll() with a timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/trigger/trigger.h"
#include "drivers/trigger/trigger_proto.h"
#include "hal/clock.h"
#include "hal/fifo.h"
#include "hal/gpio.h"

/** How long a test waits for an fd that should become readable. */
#define WAIT_MS 2000
#define MS 1000000ULL

static char tmpdir[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/sealbench-trigger-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* ---- the debouncer ---- */

/* One step: an edge to @c level at @c t (ms), or a settle at @c t ('s'). */
struct step {
	char op; /* 'e' edge, 's' settle */
	int level;
	uint64_t t;
	int emit;     /* expected return */
	int pressed;  /* expected event when emit */
	uint64_t ev_t; /* expected event time (ms) */
};

#define END {0, 0, 0, 0, 0, 0}

static const struct {
	const char *legend;
	unsigned period_ms;
	int initial;
	struct step steps[12];
	unsigned long glitches;
} rows[] = {
	{"clean press and release, settled by the timer", 20, 0,
	 {{'e', 1, 100, 0, 0, 0}, {'s', 0, 119, 0, 0, 0}, {'s', 0, 120, 1, 1, 100},
	  {'s', 0, 500, 0, 0, 0}, {'e', 0, 600, 0, 0, 0}, {'s', 0, 620, 1, 0, 600}, END},
	 0},
	{"bouncing contact: one press, timed from the last bounce", 20, 0,
	 {{'e', 1, 100, 0, 0, 0}, {'e', 0, 101, 0, 0, 0}, {'e', 1, 102, 0, 0, 0},
	  {'e', 0, 104, 0, 0, 0}, {'e', 1, 105, 0, 0, 0}, {'s', 0, 124, 0, 0, 0},
	  {'s', 0, 125, 1, 1, 105}, END},
	 2},
	{"a spike shorter than the period is never reported", 20, 0,
	 {{'e', 1, 100, 0, 0, 0}, {'e', 0, 105, 0, 0, 0}, {'s', 0, 200, 0, 0, 0}, END}, 1},
	{"an edge proves the previous level held: reported at once", 20, 0,
	 {{'e', 1, 100, 0, 0, 0}, {'e', 0, 300, 1, 1, 100}, {'s', 0, 320, 1, 0, 300}, END},
	 0},
	{"period 0: every change at its edge", 0, 0,
	 {{'e', 1, 100, 1, 1, 100}, {'e', 0, 101, 1, 0, 101}, {'e', 1, 101, 1, 1, 101},
	  {'s', 0, 500, 0, 0, 0}, END},
	 0},
	{"repeated level (lost opposite edge) changes nothing", 20, 0,
	 {{'e', 1, 100, 0, 0, 0}, {'e', 1, 110, 0, 0, 0}, {'s', 0, 120, 1, 1, 100}, END}, 0},
	{"out-of-order timestamp is clamped to the last edge", 20, 0,
	 {{'e', 1, 100, 0, 0, 0}, {'e', 0, 90, 0, 0, 0}, {'s', 0, 119, 0, 0, 0},
	  {'s', 0, 200, 0, 0, 0}, END},
	 1},
	{"starting pressed (active at open): a release is the first event", 20, 1,
	 {{'e', 0, 50, 0, 0, 0}, {'s', 0, 70, 1, 0, 50}, END}, 0},
	{"settle before the period does nothing", 20, 0,
	 {{'s', 0, 1000, 0, 0, 0}, {'e', 1, 1000, 0, 0, 0}, {'s', 0, 1019, 0, 0, 0}, END}, 0},
};

static void debounce_table(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct trigger_debounce d;

		trigger_debounce_init(&d, rows[i].period_ms * MS, rows[i].initial);
		for (k = 0; rows[i].steps[k].op; k++) {
			const struct step *s = &rows[i].steps[k];
			struct trigger_event ev = {.pressed = !s->pressed, .t_ns = 12345};
			int r;

			if (s->op == 'e')
				r = trigger_debounce_edge(&d, s->level, s->t * MS, &ev);
			else
				r = trigger_debounce_settle(&d, s->t * MS, &ev);
			if (r != s->emit)
				fail_msg("%s, step %zu: returned %d, want %d", rows[i].legend, k, r,
					 s->emit);
			if (!r) {
				if (ev.t_ns != 12345)
					fail_msg("%s, step %zu: event touched", rows[i].legend, k);
				continue;
			}
			if (ev.pressed != (bool)s->pressed || ev.t_ns != s->ev_t * MS)
				fail_msg("%s, step %zu: event %d@%llu, want %d@%llu",
					 rows[i].legend, k, ev.pressed,
					 (unsigned long long)(ev.t_ns / MS), s->pressed,
					 (unsigned long long)s->ev_t);
		}
		if (d.glitches != rows[i].glitches)
			fail_msg("%s: %lu glitches, want %lu", rows[i].legend, d.glitches,
				 rows[i].glitches);
	}
}

static void debounce_deadline(void **state)
{
	struct trigger_debounce d;
	struct trigger_event ev;

	(void)state;
	trigger_debounce_init(&d, 20 * MS, false);
	assert_int_equal(trigger_debounce_deadline(&d), 0);
	assert_int_equal(trigger_debounce_edge(&d, true, 100 * MS, &ev), 0);
	assert_int_equal(trigger_debounce_deadline(&d), 120 * MS);
	assert_int_equal(trigger_debounce_edge(&d, false, 110 * MS, &ev), 0);
	assert_int_equal(trigger_debounce_deadline(&d), 0); /* back to stable: nothing due */
	assert_int_equal(trigger_debounce_edge(&d, true, 115 * MS, &ev), 0);
	assert_int_equal(trigger_debounce_deadline(&d), 135 * MS);
	assert_int_equal(trigger_debounce_settle(&d, 135 * MS, &ev), 1);
	assert_int_equal(trigger_debounce_deadline(&d), 0);
}

/* ---- the class through the sim backend ---- */

static struct trigger *open_sim(const char *fifo, unsigned debounce_ms)
{
	struct trigger_cfg cfg = {.backend = "sim", .debounce_ms = debounce_ms, .line = -1};
	struct trigger *t = NULL;
	int n = snprintf(cfg.device, sizeof(cfg.device), "%s/%s", tmpdir, fifo);

	assert_true(n > 0 && (size_t)n < sizeof(cfg.device));
	assert_int_equal(trigger_open(&cfg, &t), 0);
	assert_string_equal(trigger_get_model(t), "sealbench sim trigger");
	return t;
}

static int feeder(const char *fifo)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", tmpdir, fifo);
	int fd;

	assert_true(n > 0 && (size_t)n < sizeof(path));
	fd = hal_fifo_open_write(path);
	assert_true(fd >= 0);
	return fd;
}

static void put(int fd, const char *text)
{
	assert_int_equal(hal_write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

static void sim_recorded_edges(void **state)
{
	struct trigger *t = open_sim("rec.fifo", 20);
	struct trigger_event ev[4];
	uint64_t t0 = clock_now_ns() - 2 * NSEC_PER_SEC; /* all in the past */
	char buf[512];
	int fd = feeder("rec.fifo"), n = 0, r;

	(void)state;
	assert_false(trigger_is_pressed(t));
	/* A bouncing press, held 500 ms, then a bouncing release; and one 3 ms spike. */
	snprintf(buf, sizeof(buf),
		 "press %llu\nrelease %llu\npress %llu\n"
		 "release %llu\n  up %llu \n1 %llu\n0 %llu\n",
		 (unsigned long long)t0, (unsigned long long)(t0 + 1 * MS),
		 (unsigned long long)(t0 + 3 * MS), (unsigned long long)(t0 + 503 * MS),
		 (unsigned long long)(t0 + 504 * MS), (unsigned long long)(t0 + 900 * MS),
		 (unsigned long long)(t0 + 903 * MS));
	put(fd, buf);
	assert_true(readable(trigger_get_fd(t), WAIT_MS));
	while (n < 4 && (r = trigger_on_readable(t, &ev[n])) != -EAGAIN) {
		assert_int_equal(r, 0);
		n++;
	}
	/* The deadlines are long past: everything settles in one go. */
	assert_int_equal(n, 2);
	assert_true(ev[0].pressed);
	assert_int_equal(ev[0].t_ns, t0 + 3 * MS);
	assert_false(ev[1].pressed);
	assert_int_equal(ev[1].t_ns, t0 + 503 * MS);
	assert_false(trigger_is_pressed(t));
	assert_int_equal(trigger_get_glitches(t), 2); /* the press bounce and the spike */
	assert_int_equal(trigger_on_readable(t, &ev[0]), -EAGAIN);
	assert_false(readable(trigger_get_fd(t), 0));
	close(fd);
	trigger_close(t);
}

static void sim_debounce_timer(void **state)
{
	struct trigger *t = open_sim("live.fifo", 30);
	struct trigger_event ev;
	uint64_t before = clock_now_ns();
	int fd = feeder("live.fifo"), r, rounds = 0;

	(void)state;
	put(fd, "press\n");
	assert_true(readable(trigger_get_fd(t), WAIT_MS));
	/* The edge is read, but has not held 30 ms yet: no event, the timer is armed. */
	assert_int_equal(trigger_on_readable(t, &ev), -EAGAIN);
	assert_false(trigger_is_pressed(t));
	do {
		assert_true(readable(trigger_get_fd(t), WAIT_MS)); /* the timer fires */
		r = trigger_on_readable(t, &ev);
		assert_true(++rounds < 10);
	} while (r == -EAGAIN);
	assert_int_equal(r, 0);
	assert_true(ev.pressed);
	assert_true(ev.t_ns >= before);
	assert_true(clock_now_ns() >= ev.t_ns + 30 * MS);
	assert_true(trigger_is_pressed(t));
	assert_false(readable(trigger_get_fd(t), 0));

	/* Junk is dropped with -EBADMSG; the next line still counts. */
	put(fd, "stomp\nrelease 5\n");
	assert_true(readable(trigger_get_fd(t), WAIT_MS));
	assert_int_equal(trigger_on_readable(t, &ev), -EBADMSG);
	/* "release 5" is older than the press edge: taken at that edge's time, so it has held
	 * the period already and settles in the same call (the line was buffered with the
	 * junk, so the fd need not poll readable again). */
	r = trigger_on_readable(t, &ev);
	assert_int_equal(r, 0);
	assert_false(ev.pressed);
	close(fd);
	trigger_close(t);
}

static void sim_no_debounce(void **state)
{
	struct trigger *t = open_sim("raw.fifo", 0);
	struct trigger_event ev;
	int fd = feeder("raw.fifo");

	(void)state;
	put(fd, "down 1000\nup 1001\n");
	assert_true(readable(trigger_get_fd(t), WAIT_MS));
	assert_int_equal(trigger_on_readable(t, &ev), 0);
	assert_true(ev.pressed);
	assert_int_equal(ev.t_ns, 1000);
	assert_int_equal(trigger_on_readable(t, &ev), 0);
	assert_false(ev.pressed);
	assert_int_equal(ev.t_ns, 1001);
	assert_int_equal(trigger_on_readable(t, &ev), -EAGAIN);
	close(fd);
	trigger_close(t);
}

static void class_errors(void **state)
{
	struct trigger_cfg cfg = {.backend = "nope", .line = 3};
	struct trigger_event ev;
	struct trigger *t = NULL;

	(void)state;
	assert_int_equal(trigger_open(&cfg, &t), -ENOENT);
	assert_false(trigger_backend_exists("nope"));
	assert_true(trigger_backend_exists("sim"));
	snprintf(cfg.backend, sizeof(cfg.backend), "sim");
	cfg.debounce_ms = TRIGGER_DEBOUNCE_MS_MAX + 1;
	assert_int_equal(trigger_open(&cfg, &t), -EINVAL);
	assert_null(t);
	assert_int_equal(trigger_open(NULL, &t), -EINVAL);
	assert_int_equal(trigger_on_readable(NULL, &ev), -EINVAL);
	assert_int_equal(trigger_get_fd(NULL), -EINVAL);
	assert_false(trigger_is_pressed(NULL));
	assert_string_equal(trigger_get_model(NULL), "");
	trigger_close(NULL);
}

/* ---- the gpio backend without a chip ---- */

static void gpio_missing_chip(void **state)
{
	struct trigger_cfg cfg = {.backend = "gpio", .line = 17, .debounce_ms = 20};
	struct trigger *t = NULL;

	(void)state;
#ifdef WITH_LIBGPIOD2
	assert_true(trigger_backend_exists("gpio"));
	snprintf(cfg.chip, sizeof(cfg.chip), "/nonexistent/gpiochip9");
	assert_int_equal(trigger_open(&cfg, &t), -ENOENT);
	/* A name that is neither a /dev node nor a chip label. */
	snprintf(cfg.chip, sizeof(cfg.chip), "no-such-chip-label");
	assert_int_equal(trigger_open(&cfg, &t), -ENOENT);
	/* The chip from trigger.device when trigger.chip is empty. */
	cfg.chip[0] = '\0';
	snprintf(cfg.device, sizeof(cfg.device), "/nonexistent/gpiochip0");
	assert_int_equal(trigger_open(&cfg, &t), -ENOENT);
	cfg.line = -1;
	assert_int_equal(trigger_open(&cfg, &t), -EINVAL);
	assert_null(t);
#else
	assert_false(trigger_backend_exists("gpio"));
	assert_int_equal(trigger_open(&cfg, &t), -ENOENT);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(debounce_table),     cmocka_unit_test(debounce_deadline),
		cmocka_unit_test(sim_recorded_edges), cmocka_unit_test(sim_debounce_timer),
		cmocka_unit_test(sim_no_debounce),    cmocka_unit_test(class_errors),
		cmocka_unit_test(gpio_missing_chip),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
