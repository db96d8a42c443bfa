/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_ev.c - the epoll loop on real pipes, timerfds and a signalfd.
 *
 * No sleeps: every test drives the loop with ev_run_once(ev, timeout_ms) and bounds its wait
 * with a monotonic deadline, so a broken loop fails the test instead of hanging it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal/clock.h"
#include "src/ev.h"

/** Longest a test waits for something that should happen within milliseconds. */
#define WAIT_MAX_MS 2000
/** Poll slice while waiting. */
#define SLICE_MS 20

struct hits {
	unsigned n;
	uint32_t revents;
	int fd;
	struct ev_source *self;
	struct ev_source *other; /* for the cross-free tests */
	struct ev *ev;
	int exit_code; /* ev_exit() with it when >= 0 */
	char tag;
	char *order_log; /* shared order log */
	unsigned *order_n;
	uint64_t now_ns;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run the loop until *counter reaches @want or WAIT_MAX_MS passes. */
static void run_until(struct ev *ev, const unsigned *counter, unsigned want)
{
	uint64_t end = mono_ms() + WAIT_MAX_MS;

	while (*counter < want && mono_ms() < end)
		assert_true(ev_run_once(ev, SLICE_MS) >= 0);
	assert_int_equal(*counter, want);
}

static void log_order(struct hits *h)
{
	if (h->order_log && *h->order_n < 15) {
		h->order_log[(*h->order_n)++] = h->tag;
		h->order_log[*h->order_n] = '\0';
	}
}

static int io_cb(struct ev_source *s, int fd, uint32_t revents, void *ud)
{
	struct hits *h = ud;
	char buf[64];

	h->n++;
	h->revents = revents;
	h->fd = fd;
	h->self = s;
	if (revents & EPOLLIN)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	return 0;
}

/* Reads nothing: the fd stays readable (level-triggered). */
static int io_count_cb(struct ev_source *s, int fd, uint32_t revents, void *ud)
{
	struct hits *h = ud;

	(void)s;
	(void)fd;
	h->n++;
	h->revents |= revents;
	return 0;
}

static int io_free_self_cb(struct ev_source *s, int fd, uint32_t revents, void *ud)
{
	struct hits *h = ud;

	(void)fd;
	(void)revents;
	h->n++;
	ev_source_free(s);
	/* the source is still valid memory until the batch ends: use it again */
	ev_source_free(s);
	assert_int_equal(ev_io_set_events(s, EPOLLIN), -ESTALE);
	return -EIO; /* logged, ignored */
}

static int io_free_other_cb(struct ev_source *s, int fd, uint32_t revents, void *ud)
{
	struct hits *h = ud;

	(void)s;
	(void)fd;
	(void)revents;
	h->n++;
	log_order(h);
	ev_source_free(h->other); /* the loop reaps it after this batch: forget it */
	h->other = NULL;
	return 0;
}

static int timer_cb(struct ev_source *s, uint64_t now_ns, void *ud)
{
	struct hits *h = ud;

	h->n++;
	h->self = s;
	h->now_ns = now_ns;
	log_order(h);
	if (h->exit_code >= 0 && h->ev)
		ev_exit(h->ev, h->exit_code);
	return 0;
}

static int timer_disarm_other_cb(struct ev_source *s, uint64_t now_ns, void *ud)
{
	struct hits *h = ud;

	(void)s;
	(void)now_ns;
	h->n++;
	log_order(h);
	ev_timer_disarm(h->other);
	return 0;
}

static int timer_free_self_cb(struct ev_source *s, uint64_t now_ns, void *ud)
{
	struct hits *h = ud;

	(void)now_ns;
	h->n++;
	ev_source_free(s);
	assert_int_equal(ev_timer_arm_in(s, NSEC_PER_MSEC), -ESTALE);
	return 0;
}

static int timer_rearm_cb(struct ev_source *s, uint64_t now_ns, void *ud)
{
	struct hits *h = ud;

	(void)now_ns;
	h->n++;
	if (h->n < 3)
		assert_int_equal(ev_timer_arm_in(s, 2 * NSEC_PER_MSEC), 0);
	return 0;
}

static int signal_cb(struct ev_source *s, int signo, void *ud)
{
	struct hits *h = ud;

	h->n++;
	h->fd = signo;
	h->self = s;
	return 0;
}

static int signal_free_self_cb(struct ev_source *s, int signo, void *ud)
{
	struct hits *h = ud;

	(void)signo;
	h->n++;
	ev_source_free(s);
	return 0;
}

static void make_pipe(int p[2])
{
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void hits_init(struct hits *h)
{
	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->exit_code = -1;
}

/* ---- io -------------------------------------------------------------------------------- */

static void test_io_readable(void **state)
{
	struct ev *ev;
	struct ev_source *s;
	struct hits h;
	int p[2];

	(void)state;
	hits_init(&h);
	make_pipe(p);
	assert_int_equal(ev_new(&ev), 0);
	assert_int_equal(ev_add_io(ev, p[0], EPOLLIN, io_cb, &h, &s), 0);
	assert_non_null(s);

	/* nothing to read: a timed-out iteration dispatches nothing */
	assert_int_equal(ev_run_once(ev, 0), 0);
	assert_int_equal(h.n, 0);

	assert_int_equal(write(p[1], "x", 1), 1);
	run_until(ev, &h.n, 1);
	assert_int_equal(h.revents, EPOLLIN);
	assert_int_equal(h.fd, p[0]);
	assert_ptr_equal(h.self, s);
	/* drained: no further call */
	assert_int_equal(ev_run_once(ev, 0), 0);
	assert_int_equal(h.n, 1);

	/* the same fd twice */
	assert_int_equal(ev_add_io(ev, p[0], EPOLLIN, io_cb, &h, NULL), -EEXIST);
	assert_int_equal(ev_add_io(ev, -1, EPOLLIN, io_cb, &h, NULL), -EBADF);

	/* freed: the fd may be written without a callback, and re-added */
	ev_source_free(s);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(ev_run_once(ev, 0), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(ev_add_io(ev, p[0], EPOLLIN, io_cb, &h, NULL), 0);
	run_until(ev, &h.n, 2);

	ev_free(ev);
	/* the loop closes no user fd */
	assert_int_equal(fcntl(p[0], F_GETFD), FD_CLOEXEC);
	close(p[0]);
	close(p[1]);
}

/* EPOLLHUP (writer gone) is reported as EPOLLIN so the handler finds EOF in its read. */
static void test_io_hup_as_readable(void **state)
{
	struct ev *ev;
	struct hits h;
	char c;
	int p[2];

	(void)state;
	hits_init(&h);
	make_pipe(p);
	assert_int_equal(ev_new(&ev), 0);
	assert_int_equal(ev_add_io(ev, p[0], EPOLLIN, io_count_cb, &h, NULL), 0);
	close(p[1]);
	run_until(ev, &h.n, 1);
	assert_int_equal(h.revents, EPOLLIN);
	assert_int_equal(read(p[0], &c, 1), 0); /* EOF */
	ev_free(ev);
	close(p[0]);
}

/* want_write re-arm: a writable pipe end is reported only while EPOLLOUT is asked for. */
static void test_io_epollout_rearm(void **state)
{
	struct ev *ev;
	struct ev_source *s;
	struct hits h;
	int p[2];

	(void)state;
	hits_init(&h);
	make_pipe(p);
	assert_int_equal(ev_new(&ev), 0);
	assert_int_equal(ev_add_io(ev, p[1], 0, io_count_cb, &h, &s), 0);
	assert_int_equal(ev_run_once(ev, 0), 0);
	assert_int_equal(h.n, 0);

	assert_int_equal(ev_io_set_events(s, EPOLLOUT), 0);
	run_until(ev, &h.n, 1);
	assert_int_equal(h.revents, EPOLLOUT);
	/* level-triggered: still writable, reported again */
	run_until(ev, &h.n, 2);
	/* unchanged events are a no-op */
	assert_int_equal(ev_io_set_events(s, EPOLLOUT), 0);

	assert_int_equal(ev_io_set_events(s, 0), 0);
	h.n = 0;
	assert_int_equal(ev_run_once(ev, 0), 0);
	assert_int_equal(h.n, 0);

	/* and back on */
	assert_int_equal(ev_io_set_events(s, EPOLLOUT), 0);
	run_until(ev, &h.n, 1);
	ev_free(ev);
	close(p[0]);
	close(p[1]);
}

static void test_io_free_self_in_callback(void **state)
{
	struct ev *ev;
	struct hits h;
	int p[2];

	(void)state;
	hits_init(&h);
	make_pipe(p);
	assert_int_equal(ev_new(&ev), 0);
	assert_int_equal(ev_add_io(ev, p[0], EPOLLIN, io_free_self_cb, &h, NULL), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	run_until(ev, &h.n, 1);
	/* still readable (never read), but the source is gone */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ev_run_once(ev, 0), 0);
	assert_int_equal(h.n, 1);
	ev_free(ev);
	close(p[0]);
	close(p[1]);
}

/* Two sources ready in the same batch, each freeing the other: exactly one runs. */
static void test_io_free_other_same_batch(void **state)
{
	struct ev *ev;
	struct ev_source *sa, *sb;
	struct hits a, b;
	char order[16] = "";
	unsigned n_order = 0;
	int pa[2], pb[2], r;

	(void)state;
	hits_init(&a);
	hits_init(&b);
	a.tag = 'a';
	b.tag = 'b';
	a.order_log = b.order_log = order;
	a.order_n = b.order_n = &n_order;
	make_pipe(pa);
	make_pipe(pb);
	assert_int_equal(ev_new(&ev), 0);
	assert_int_equal(ev_add_io(ev, pa[0], EPOLLIN, io_free_other_cb, &a, &sa), 0);
	assert_int_equal(ev_add_io(ev, pb[0], EPOLLIN, io_free_other_cb, &b, &sb), 0);
	a.other = sb;
	b.other = sa;
	assert_int_equal(write(pa[1], "x", 1), 1);
	assert_int_equal(write(pb[1], "x", 1), 1);
	r = ev_run_once(ev, WAIT_MAX_MS);
	assert_int_equal(r, 2); /* both in one batch */
	assert_int_equal(a.n + b.n, 1);
	/* the survivor keeps running (its fd is still readable), the freed one never does */
	for (int i = 0; i < 3; i++)
		ev_run_once(ev, 0);
	if (a.n) {
		assert_int_equal(b.n, 0);
		assert_true(a.n >= 2);
	} else {
		assert_int_equal(a.n, 0);
		assert_true(b.n >= 2);
	}
	ev_free(ev);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

/* ---- timers ---------------------------------------------------------------------------- */

static void test_timer_arm_disarm_rearm(void **state)
{
	struct ev *ev;
	struct ev_source *t;
	struct hits h;
	uint64_t start, fired_ms;

	(void)state;
	hits_init(&h);
	assert_int_equal(ev_new(&ev), 0);
	assert_int_equal(ev_add_timer(ev, timer_cb, &h, &t), 0);

	/* created disarmed */
	assert_int_equal(ev_run_once(ev, 30), 0);
	assert_int_equal(h.n, 0);

	/* absolute deadline */
	start = mono_ms();
	assert_int_equal(ev_timer_arm(t, clock_now_ns() + 30 * NSEC_PER_MSEC), 0);
	run_until(ev, &h.n, 1);
	fired_ms = mono_ms() - start;
	assert_true(fired_ms >= 29);
	assert_ptr_equal(h.self, t);
	assert_true(h.now_ns > 0);
	/* one-shot */
	assert_int_equal(ev_run_once(ev, 50), 0);
	assert_int_equal(h.n, 1);

	/* disarm before it fires */
	assert_int_equal(ev_timer_arm_in(t, 20 * NSEC_PER_MSEC), 0);
	ev_timer_disarm(t);
	assert_int_equal(ev_run_once(ev, 60), 0);
	assert_int_equal(h.n, 1);
	ev_timer_disarm(NULL);

	/* arm(0) disarms too */
	assert_int_equal(ev_timer_arm_in(t, 20 * NSEC_PER_MSEC), 0);
	assert_int_equal(ev_timer_arm(t, 0), 0);
	assert_int_equal(ev_run_once(ev, 60), 0);
	assert_int_equal(h.n, 1);

	/* re-arm moves the deadline: armed at 10 ms, moved to 60 ms, not fired at 30 ms */
	start = mono_ms();
	assert_int_equal(ev_timer_arm_in(t, 10 * NSEC_PER_MSEC), 0);
	assert_int_equal(ev_timer_arm_in(t, 60 * NSEC_PER_MSEC), 0);
	assert_int_equal(ev_run_once(ev, 30), 0);
	assert_int_equal(h.n, 1);
	run_until(ev, &h.n, 2);
	assert_true(mono_ms() - start >= 59);

	/* a deadline in the past fires at once */
	assert_int_equal(ev_timer_arm(t, 1), 0);
	run_until(ev, &h.n, 3);
	/* arm_in(0) is "as soon as possible", not "disarm" */
	assert_int_equal(ev_timer_arm_in(t, 0), 0);
	run_until(ev, &h.n, 4);

	ev_free(ev);
}

static void test_timer_order(void **state)
{
	struct ev *ev;
	struct ev_source *t1, *t2, *t3;
	struct hits a, b, c;
	char order[16] = "";
	unsigned n_order = 0;
	uint64_t now = clock_now_ns();

	(void)state;
	hits_init(&a);
	hits_init(&b);
	hits_init(&c);
	a.tag = 'a';
	b.tag = 'b';
	c.tag = 'c';
	a.order_log = b.order_log = c.order_log = order;
	a.order_n = b.order_n = c.order_n = &n_order;
	assert_int_equal(ev_new(&ev), 0);
	assert_int_equal(ev_add_timer(ev, timer_cb, &a, &t1), 0);
	assert_int_equal(ev_add_timer(ev, timer_cb, &b, &t2), 0);
	assert_int_equal(ev_add_timer(ev, timer_cb, &c, &t3), 0);
	/* armed in the opposite order of their deadlines */
	assert_int_equal(ev_timer_arm(t1, now + 60 * NSEC_PER_MSEC), 0);
	assert_int_equal(ev_timer_arm(t2, now + 35 * NSEC_PER_MSEC), 0);
	assert_int_equal(ev_timer_arm(t3, now + 10 * NSEC_PER_MSEC), 0);
	run_until(ev, &n_order, 3);
	assert_string_equal(order, "cba");
	ev_free(ev);
}

/* Two timers due in the same batch; the first to run disarms the other, which then must not
 * run (its expiration is consumed by the disarm). */
static void test_timer_disarm_other_same_batch(void **state)
{
	struct ev *ev;
	struct ev_source *t1, *t2;
	struct hits a, b;
	char order[16] = "";
	unsigned n_order = 0;
	int r;

	(void)state;
	hits_init(&a);
	hits_init(&b);
	a.tag = 'a';
	b.tag = 'b';
	a.order_log = b.order_log = order;
	a.order_n = b.order_n = &n_order;
	assert_int_equal(ev_new(&ev), 0);
	assert_int_equal(ev_add_timer(ev, timer_disarm_other_cb, &a, &t1), 0);
	assert_int_equal(ev_add_timer(ev, timer_disarm_other_cb, &b, &t2), 0);
	a.other = t2;
	b.other = t1;
	/* both long past: both fds are readable before the first epoll_wait */
	assert_int_equal(ev_timer_arm(t1, 1), 0);
	assert_int_equal(ev_timer_arm(t2, 2), 0);
	r = ev_run_once(ev, WAIT_MAX_MS);
	assert_int_equal(r, 2);
	assert_int_equal(n_order, 1);
	assert_int_equal(ev_run_once(ev, 20), 0);
	assert_int_equal(n_order, 1);
	ev_free(ev);
}

static void test_timer_free_self_and_rearm_self(void **state)
{
	struct ev *ev;
	struct ev_source *t, *t2;
	struct hits h, h2;

	(void)state;
	hits_init(&h);
	hits_init(&h2);
	assert_int_equal(ev_new(&ev), 0);
	assert_int_equal(ev_add_timer(ev, timer_free_self_cb, &h, &t), 0);
	assert_int_equal(ev_timer_arm_in(t, NSEC_PER_MSEC), 0);
	run_until(ev, &h.n, 1);
	assert_int_equal(ev_run_once(ev, 20), 0);
	assert_int_equal(h.n, 1);

	/* a callback that re-arms itself runs again */
	assert_int_equal(ev_add_timer(ev, timer_rearm_cb, &h2, &t2), 0);
	assert_int_equal(ev_timer_arm_in(t2, NSEC_PER_MSEC), 0);
	run_until(ev, &h2.n, 3);
	assert_int_equal(ev_run_once(ev, 20), 0);
	assert_int_equal(h2.n, 3);
	/* sources still attached are freed by ev_free (ASan checks) */
	ev_free(ev);
}

/* ---- signals, exit --------------------------------------------------------------------- */

static void test_signal(void **state)
{
	struct ev *ev;
	struct ev_source *s, *s2;
	struct hits h, h2;
	sigset_t cur;

	(void)state;
	hits_init(&h);
	hits_init(&h2);
	assert_int_equal(ev_new(&ev), 0);
	assert_int_equal(ev_add_signal(ev, SIGUSR1, signal_cb, &h, &s), 0);
	assert_int_equal(ev_add_signal(ev, SIGUSR1, signal_cb, &h, NULL), -EEXIST);
	assert_int_equal(ev_add_signal(ev, 0, signal_cb, &h, NULL), -EINVAL);
	assert_int_equal(ev_add_signal(ev, 65, signal_cb, &h, NULL), -EINVAL);
	/* the signal is blocked so only the signalfd sees it */
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	assert_int_equal(sigismember(&cur, SIGUSR1), 1);

	assert_int_equal(raise(SIGUSR1), 0);
	run_until(ev, &h.n, 1);
	assert_int_equal(h.fd, SIGUSR1);
	assert_ptr_equal(h.self, s);

	/* a second signal on the same signalfd; SIGUSR1 twice before a run coalesces */
	assert_int_equal(ev_add_signal(ev, SIGUSR2, signal_free_self_cb, &h2, &s2), 0);
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	run_until(ev, &h2.n, 1);
	run_until(ev, &h.n, 2);
	assert_int_equal(ev_run_once(ev, 20), 0);
	assert_int_equal(h.n, 2);

	/* SIGUSR2 freed itself: re-registering it works */
	assert_int_equal(ev_add_signal(ev, SIGUSR2, signal_cb, &h2, &s2), 0);
	assert_int_equal(raise(SIGUSR2), 0);
	run_until(ev, &h2.n, 2);

	/* freeing SIGUSR1's registration stops its delivery through the loop */
	ev_source_free(s);
	ev_free(ev);
	/* ev_free unblocks what it still had registered */
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
	assert_int_equal(sigismember(&cur, SIGUSR2), 0);
}

static void test_exit_code(void **state)
{
	struct ev *ev;
	struct ev_source *t, *t2;
	struct hits h, h2;

	(void)state;
	hits_init(&h);
	hits_init(&h2);
	assert_int_equal(ev_new(&ev), 0);
	assert_false(ev_is_exiting(ev));
	assert_int_equal(ev_add_timer(ev, timer_cb, &h, &t), 0);
	assert_int_equal(ev_add_timer(ev, timer_cb, &h2, &t2), 0);
	h.ev = ev;
	h.exit_code = 42;
	assert_int_equal(ev_timer_arm_in(t, 5 * NSEC_PER_MSEC), 0);
	/* ev_run stops after the callback that called ev_exit */
	assert_int_equal(ev_run(ev), 42);
	assert_true(ev_is_exiting(ev));
	assert_int_equal(h.n, 1);
	/* once exiting, ev_run returns at once, and ev_run_once dispatches nothing */
	assert_int_equal(ev_timer_arm(t2, 1), 0);
	assert_int_equal(ev_run(ev), 42);
	assert_true(ev_run_once(ev, 20) >= 0);
	assert_int_equal(h2.n, 0);
	ev_free(ev);
	ev_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_readable),
		cmocka_unit_test(test_io_hup_as_readable),
		cmocka_unit_test(test_io_epollout_rearm),
		cmocka_unit_test(test_io_free_self_in_callback),
		cmocka_unit_test(test_io_free_other_same_batch),
		cmocka_unit_test(test_timer_arm_disarm_rearm),
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_timer_disarm_other_same_batch),
		cmocka_unit_test(test_timer_free_self_and_rearm_self),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_exit_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
