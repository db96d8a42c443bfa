/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_indicator.c - indications as the packer sees them, end to end: a real ev
 * loop drives src/indicator.c, which drives the "sim" lights backend, which writes
 * "light <mask>" / "text <line>" lines into a FIFO in a mkdtemp() directory that this test
 * reads (non-blocking, opened before lights_open()).
 *
 * Blink and beep edges come from the indicator's timer, so the test runs the loop with
 * ev_run_once() until the next line arrives (bounded), and checks the edges' spacing.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/lights/lights.h"
#include "src/ev.h"
#include "src/indicator.h"

/** Longest wait for a line that should come within a pattern step (steps are <= 700 ms). */
#define LINE_WAIT_MS 1500
/** Loop slice while waiting. */
#define SLICE_MS 10
/** Bytes buffered from the FIFO (a few dozen short lines at most). */
#define RBUF_MAX 8192
/** One output line: "text " + LIGHTS_TEXT_MAX + NUL. */
#define LINE_MAX_LEN (LIGHTS_TEXT_MAX + 8)
/** Timer slack allowed below a step's nominal length (timerfds never fire early; ms rounding). */
#define EARLY_MS 2

struct fx {
	char dir[PATH_MAX];
	char fifo[PATH_MAX];
	int rfd;
	struct ev *ev;
	struct lights *lights;
	struct indicator *ind;
	char rbuf[RBUF_MAX];
	size_t rlen;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct lights_cfg cfg = {
		.backend = "sim", .red = -1, .amber = -1, .green = -1, .buzzer = -1};
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->rfd = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sealbench-test-indicator-XXXXXX");
	if (!mkdtemp(f->dir))
		goto err;
	if (snprintf(f->fifo, sizeof(f->fifo), "%s/lights", f->dir) >= (int)sizeof(f->fifo))
		goto err;
	if (mkfifo(f->fifo, 0600) < 0)
		goto err;
	f->rfd = open(f->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (f->rfd < 0)
		goto err;
	if (snprintf(cfg.device, sizeof(cfg.device), "%s", f->fifo) >= (int)sizeof(cfg.device))
		goto err;
	if (lights_open(&cfg, &f->lights) < 0)
		goto err;
	if (ev_new(&f->ev) < 0)
		goto err;
	if (indicator_new(f->ev, f->lights, &f->ind) < 0)
		goto err;
	*state = f;
	return 0;
err:
	ev_free(f->ev);
	lights_close(f->lights);
	if (f->rfd >= 0)
		close(f->rfd);
	if (f->dir[0])
		nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	indicator_free(f->ind);
	ev_free(f->ev);
	lights_close(f->lights);
	close(f->rfd);
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Take one buffered line, if any. */
static bool pop_line(struct fx *f, char *line)
{
	char *nl = memchr(f->rbuf, '\n', f->rlen);
	size_t n;

	if (!nl)
		return false;
	n = (size_t)(nl - f->rbuf);
	assert_true(n < LINE_MAX_LEN);
	memcpy(line, f->rbuf, n);
	line[n] = '\0';
	memmove(f->rbuf, nl + 1, f->rlen - n - 1);
	f->rlen -= n + 1;
	return true;
}

static void fill(struct fx *f)
{
	ssize_t n;

	while (f->rlen < sizeof(f->rbuf) &&
	       (n = read(f->rfd, f->rbuf + f->rlen, sizeof(f->rbuf) - f->rlen)) > 0)
		f->rlen += (size_t)n;
}

/*
 * The next line, running the loop (and so the pattern timers) while none is there. What was
 * written synchronously is read before the loop runs, so no timer edge is skipped.
 * @return false on timeout.
 */
static bool next_line(struct fx *f, char *line, unsigned wait_ms)
{
	uint64_t end = mono_ms() + wait_ms;

	for (;;) {
		fill(f);
		if (pop_line(f, line))
			return true;
		if (mono_ms() >= end)
			return false;
		assert_true(ev_run_once(f->ev, SLICE_MS) >= 0);
	}
}

/* Expect @want as the next line; @return when it was read (ms, monotonic). */
static uint64_t expect(struct fx *f, const char *want)
{
	char line[LINE_MAX_LEN];

	if (!next_line(f, line, LINE_WAIT_MS))
		fail_msg("timed out waiting for \"%s\"", want);
	if (strcmp(line, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", line, want);
	return mono_ms();
}

/* Nothing more for @ms while the loop runs. */
static void expect_quiet(struct fx *f, unsigned ms)
{
	char line[LINE_MAX_LEN];

	if (next_line(f, line, ms))
		fail_msg("unexpected line \"%s\"", line);
}

/* Drop what lights_open() and earlier steps wrote. */
static void drain(struct fx *f)
{
	char line[LINE_MAX_LEN];

	fill(f);
	while (pop_line(f, line))
		;
}

static void test_open_writes_off(void **state)
{
	struct fx *f = *state;

	/* lights_open() starts from a known state */
	expect(f, "light off");
	expect_quiet(f, 30);
	assert_int_equal(indicator_get_current(f->ind), IND_IDLE);
	assert_string_equal(indicator_get_text(f->ind), "");
}

static void test_ready_green(void **state)
{
	struct fx *f = *state;

	drain(f);
	indicator_show(f->ind, IND_READY, "P-100: scan order or label");
	expect(f, "text P-100: scan order or label");
	expect(f, "light green");
	/* steady: no timer edges */
	expect_quiet(f, 60);
	assert_int_equal(indicator_get_current(f->ind), IND_READY);
	assert_string_equal(indicator_get_text(f->ind), "P-100: scan order or label");
	assert_int_equal(lights_get_mask(f->lights), LIGHT_GREEN);

	/* WAIT and IDLE are steady amber */
	indicator_show(f->ind, IND_WAIT, "ORD-1: scan box");
	expect(f, "text ORD-1: scan box");
	expect(f, "light amber");
	expect_quiet(f, 30);
	indicator_show(f->ind, IND_IDLE, "Badge in");
	expect(f, "text Badge in");
	/* same mask: the class does not write it again */
	expect_quiet(f, 30);
	assert_int_equal(indicator_get_current(f->ind), IND_IDLE);
}

/* REJECT: red with three beeps, then back to the steady light and its text. */
static void test_reject_returns(void **state)
{
	struct fx *f = *state;
	uint64_t t0, t;

	drain(f);
	indicator_show(f->ind, IND_READY, "P-100: scan order or label");
	expect(f, "text P-100: scan order or label");
	expect(f, "light green");

	t0 = mono_ms();
	indicator_show(f->ind, IND_REJECT, "Unknown barcode 'HELLO'");
	expect(f, "text Unknown barcode 'HELLO'");
	expect(f, "light red,buzzer");
	/* the transient does not replace the steady indication */
	assert_int_equal(indicator_get_current(f->ind), IND_READY);
	assert_string_equal(indicator_get_text(f->ind), "Unknown barcode 'HELLO'");
	t = expect(f, "light red");
	assert_true(t - t0 >= 100 - EARLY_MS);
	expect(f, "light red,buzzer");
	expect(f, "light red");
	expect(f, "light red,buzzer");
	t = expect(f, "light red");
	assert_true(t - t0 >= 460 - EARLY_MS);
	/* after the last 300 ms step: the steady text and light again */
	expect(f, "text P-100: scan order or label");
	t = expect(f, "light green");
	assert_true(t - t0 >= 760 - EARLY_MS);
	assert_string_equal(indicator_get_text(f->ind), "P-100: scan order or label");
	assert_int_equal(indicator_get_current(f->ind), IND_READY);
	expect_quiet(f, 40);
}

/* BUSY blinks amber every 250 ms, forever. */
static void test_busy_blinks(void **state)
{
	struct fx *f = *state;
	uint64_t prev, t;

	drain(f);
	indicator_show(f->ind, IND_BUSY, "ORD-1: fetching order");
	expect(f, "text ORD-1: fetching order");
	prev = expect(f, "light amber");
	for (int i = 0; i < 3; i++) {
		t = expect(f, i % 2 ? "light amber" : "light off");
		assert_true(t - prev >= 250 - EARLY_MS);
		prev = t;
	}
	assert_int_equal(indicator_get_current(f->ind), IND_BUSY);

	/* a new steady indication stops the blinking (caught in the off phase) */
	indicator_show(f->ind, IND_WAIT, "ORD-1: scan box");
	expect(f, "text ORD-1: scan box");
	expect(f, "light amber");
	expect_quiet(f, 300);
	assert_int_equal(lights_get_mask(f->lights), LIGHT_AMBER);
}

/* A REJECT during BUSY returns to blinking. */
static void test_reject_during_busy(void **state)
{
	struct fx *f = *state;

	drain(f);
	indicator_show(f->ind, IND_BUSY, "ORD-1: photo, hold still");
	expect(f, "text ORD-1: photo, hold still");
	expect(f, "light amber");
	indicator_show(f->ind, IND_REJECT, "Wait: the station is working");
	expect(f, "text Wait: the station is working");
	expect(f, "light red,buzzer");
	for (int i = 0; i < 5; i++)
		expect(f, i % 2 ? "light red,buzzer" : "light red");
	expect(f, "text ORD-1: photo, hold still");
	expect(f, "light amber");
	expect(f, "light off");
	assert_int_equal(indicator_get_current(f->ind), IND_BUSY);
}

/* SEALED: green with a double beep, then steady green; it counts as READY. */
static void test_sealed(void **state)
{
	struct fx *f = *state;

	drain(f);
	indicator_show(f->ind, IND_SEALED, "Sealed st01-0000000001");
	expect(f, "text Sealed st01-0000000001");
	expect(f, "light green,buzzer");
	expect(f, "light green");
	expect(f, "light green,buzzer");
	expect(f, "light green");
	expect_quiet(f, 150);
	assert_int_equal(indicator_get_current(f->ind), IND_READY);
	/* a REJECT after a seal comes back to the seal's text */
	indicator_show(f->ind, IND_REJECT, "Nothing to void");
	expect(f, "text Nothing to void");
	expect(f, "light red,buzzer");
	for (int i = 0; i < 5; i++)
		expect(f, i % 2 ? "light red,buzzer" : "light red");
	expect(f, "text Sealed st01-0000000001");
	expect(f, "light green");
}

/* BLOCKED: one long tone, then steady red. FAULT: red blinking with a beep. */
static void test_blocked_and_fault(void **state)
{
	struct fx *f = *state;
	uint64_t t0, t;

	drain(f);
	t0 = mono_ms();
	indicator_show(f->ind, IND_BLOCKED, "BLOCKED ORD-1: photo required");
	expect(f, "text BLOCKED ORD-1: photo required");
	expect(f, "light red,buzzer");
	t = expect(f, "light red");
	assert_true(t - t0 >= 700 - EARLY_MS);
	expect_quiet(f, 40);
	assert_int_equal(indicator_get_current(f->ind), IND_BLOCKED);

	indicator_show(f->ind, IND_FAULT, "Storage full: cannot seal, call a lead");
	expect(f, "text Storage full: cannot seal, call a lead");
	t0 = mono_ms();
	expect(f, "light red,buzzer");
	t = expect(f, "light off");
	assert_true(t - t0 >= 500 - EARLY_MS);
	assert_int_equal(indicator_get_current(f->ind), IND_FAULT);
}

static void test_text_truncated(void **state)
{
	struct fx *f = *state;
	char text[LIGHTS_TEXT_MAX + 40], want[LIGHTS_TEXT_MAX + 8];

	drain(f);
	memset(text, 'T', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	indicator_show(f->ind, IND_WAIT, text);
	snprintf(want, sizeof(want), "text %.*s", LIGHTS_TEXT_MAX, text);
	expect(f, want);
	expect(f, "light amber");
	assert_int_equal(strlen(indicator_get_text(f->ind)), LIGHTS_TEXT_MAX);
	/* out-of-range indications are ignored */
	indicator_show(f->ind, _IND_MAX, "x");
	expect_quiet(f, 30);
	assert_int_equal(indicator_get_current(f->ind), IND_WAIT);
}

static void test_free_turns_off(void **state)
{
	struct fx *f = *state;

	drain(f);
	indicator_show(f->ind, IND_BUSY, "busy");
	expect(f, "text busy");
	expect(f, "light amber");
	indicator_free(f->ind);
	f->ind = NULL;
	expect(f, "light off");
	/* the timer went with it: nothing blinks any more */
	expect_quiet(f, 300);
	indicator_free(NULL);
}

/* Without a lights device (tests that only read the state). */
static void test_no_lights(void **state)
{
	struct fx *f = *state;
	struct indicator *ind;

	drain(f);
	assert_int_equal(indicator_new(f->ev, NULL, &ind), 0);
	indicator_show(ind, IND_REJECT, "no device");
	assert_int_equal(indicator_get_current(ind), IND_IDLE);
	assert_string_equal(indicator_get_text(ind), "no device");
	indicator_show(ind, IND_READY, "ready");
	assert_int_equal(indicator_get_current(ind), IND_READY);
	indicator_free(ind);
	/* the fixture's device saw none of it */
	expect_quiet(f, 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_writes_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ready_green, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_returns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_blinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_during_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_and_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_turns_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_lights, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
