/* SPDX-License-Identifier: MIT */
/*
 * The event loop. One epoll instance; every source is an fd in it: io sources are the user's
 * fds, timers are one timerfd each (a station has a handful of timers, so a timer heap would
 * only add code), signals share one signalfd.
 *
 * Freeing a source from inside a callback (its own or another's) is safe: a freed source is
 * marked dead and unlinked from epoll at once, and its memory is released after the current
 * batch of epoll events has been dispatched.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "hal/clock.h"
#include "src/ev.h"
#include "src/log.h"

/** Events taken from epoll per wake-up; more simply wait for the next epoll_wait. */
#define EV_BATCH 32
/** Signals handled through one signalfd (SIGRTMAX is 64 on Linux). */
#define EV_SIGNALS 65

enum source_type { SRC_IO, SRC_TIMER, SRC_SIGNAL_FD };

struct ev_source {
	struct ev *ev;
	enum source_type type;
	int fd;
	bool dead;
	uint32_t events;
	union {
		ev_io_cb io;
		ev_timer_cb timer;
	} cb;
	void *userdata;
	struct ev_source *next; /* all sources, or the graveyard once dead */
};

struct ev_sig {
	ev_signal_cb cb;
	void *userdata;
	struct ev_source *handle; /* what ev_add_signal returned */
};

struct ev {
	int epfd;
	struct ev_source *sources;
	struct ev_source *graveyard;
	struct ev_source *sigsrc; /* the shared signalfd source, NULL until the first signal */
	sigset_t sigmask;
	struct ev_sig sigs[EV_SIGNALS];
	bool exiting;
	int exit_code;
};

int ev_new(struct ev **ret)
{
	struct ev *ev;

	assert(ret);
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0) {
		int r = -errno;

		free(ev);
		return r;
	}
	sigemptyset(&ev->sigmask);
	*ret = ev;
	return 0;
}

static void source_release(struct ev_source *s)
{
	if (s->type != SRC_IO && s->fd >= 0)
		close(s->fd);
	free(s);
}

static void reap(struct ev *ev)
{
	while (ev->graveyard) {
		struct ev_source *s = ev->graveyard;

		ev->graveyard = s->next;
		source_release(s);
	}
}

void ev_free(struct ev *ev)
{
	if (!ev)
		return;
	while (ev->sources) {
		struct ev_source *s = ev->sources;

		ev->sources = s->next;
		source_release(s);
	}
	for (int i = 0; i < EV_SIGNALS; i++)
		free(ev->sigs[i].handle); /* registrations never freed by their owner */
	reap(ev);
	if (!sigisemptyset(&ev->sigmask))
		sigprocmask(SIG_UNBLOCK, &ev->sigmask, NULL);
	close(ev->epfd);
	free(ev);
}

static int source_new(struct ev *ev, enum source_type type, int fd, uint32_t events,
		      struct ev_source **ret)
{
	struct epoll_event ee = { .events = events };
	struct ev_source *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ev = ev;
	s->type = type;
	s->fd = fd;
	s->events = events;
	ee.data.ptr = s;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &ee) < 0) {
		int r = -errno;

		free(s);
		return r;
	}
	s->next = ev->sources;
	ev->sources = s;
	*ret = s;
	return 0;
}

int ev_add_io(struct ev *ev, int fd, uint32_t events, ev_io_cb cb, void *userdata,
	      struct ev_source **ret)
{
	struct ev_source *s;
	int r;

	assert(ev && cb);
	if (fd < 0)
		return -EBADF;
	r = source_new(ev, SRC_IO, fd, events, &s);
	if (r < 0)
		return r;
	s->cb.io = cb;
	s->userdata = userdata;
	if (ret)
		*ret = s;
	return 0;
}

int ev_io_set_events(struct ev_source *s, uint32_t events)
{
	struct epoll_event ee = { .events = events, .data.ptr = s };

	assert(s && s->type == SRC_IO);
	if (s->dead)
		return -ESTALE;
	if (s->events == events)
		return 0;
	if (epoll_ctl(s->ev->epfd, EPOLL_CTL_MOD, s->fd, &ee) < 0)
		return -errno;
	s->events = events;
	return 0;
}

int ev_add_timer(struct ev *ev, ev_timer_cb cb, void *userdata, struct ev_source **ret)
{
	struct ev_source *s;
	int fd, r;

	assert(ev && cb && ret);
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = source_new(ev, SRC_TIMER, fd, EPOLLIN, &s);
	if (r < 0) {
		close(fd);
		return r;
	}
	s->cb.timer = cb;
	s->userdata = userdata;
	*ret = s;
	return 0;
}

int ev_timer_arm(struct ev_source *s, uint64_t deadline_ns)
{
	struct itimerspec its = { 0 };

	assert(s && s->type == SRC_TIMER);
	if (s->dead)
		return -ESTALE;
	if (deadline_ns) {
		/* An absolute deadline of 0 would disarm: use 1 ns, which is long past. */
		its.it_value.tv_sec = (time_t)(deadline_ns / NSEC_PER_SEC);
		its.it_value.tv_nsec = (long)(deadline_ns % NSEC_PER_SEC);
	}
	if (timerfd_settime(s->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	return 0;
}

int ev_timer_arm_in(struct ev_source *s, uint64_t delay_ns)
{
	struct timespec now;

	/* The timerfd runs on the kernel's CLOCK_MONOTONIC, so read it directly rather than
	 * through the (test-overridable) hal clock. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	return ev_timer_arm(s, (uint64_t)now.tv_sec * NSEC_PER_SEC + (uint64_t)now.tv_nsec +
				       (delay_ns ? delay_ns : 1));
}

void ev_timer_disarm(struct ev_source *s)
{
	if (s && !s->dead)
		ev_timer_arm(s, 0);
}

static int sigfd_refresh(struct ev *ev)
{
	int fd;

	fd = signalfd(ev->sigsrc ? ev->sigsrc->fd : -1, &ev->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!ev->sigsrc) {
		int r = source_new(ev, SRC_SIGNAL_FD, fd, EPOLLIN, &ev->sigsrc);

		if (r < 0) {
			close(fd);
			return r;
		}
	}
	return 0;
}

int ev_add_signal(struct ev *ev, int signo, ev_signal_cb cb, void *userdata,
		  struct ev_source **ret)
{
	struct ev_source *h;
	sigset_t one;
	int r;

	assert(ev && cb);
	if (signo <= 0 || signo >= EV_SIGNALS)
		return -EINVAL;
	if (ev->sigs[signo].cb)
		return -EEXIST;
	/* The handle is a dead-looking placeholder that lets the caller free the registration. */
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->ev = ev;
	h->type = SRC_SIGNAL_FD;
	h->fd = -signo; /* marks "signal registration"; never a real fd */
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0) {
		r = -errno;
		free(h);
		return r;
	}
	sigaddset(&ev->sigmask, signo);
	r = sigfd_refresh(ev);
	if (r < 0) {
		sigdelset(&ev->sigmask, signo);
		free(h);
		return r;
	}
	ev->sigs[signo] = (struct ev_sig){ .cb = cb, .userdata = userdata, .handle = h };
	if (ret)
		*ret = h;
	return 0;
}

void ev_source_free(struct ev_source *s)
{
	struct ev *ev;
	struct ev_source **pp;

	if (!s || s->dead)
		return;
	ev = s->ev;
	if (s->type == SRC_SIGNAL_FD && s->fd < 0) {
		int signo = -s->fd;
		sigset_t one;

		ev->sigs[signo] = (struct ev_sig){ 0 };
		sigdelset(&ev->sigmask, signo);
		sigemptyset(&one);
		sigaddset(&one, signo);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		if (ev->sigsrc)
			sigfd_refresh(ev);
		s->dead = true;
		s->next = ev->graveyard;
		ev->graveyard = s;
		return;
	}
	/* ENOENT/EBADF: the fd was closed or already removed; nothing left to undo. */
	epoll_ctl(ev->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	for (pp = &ev->sources; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (ev->sigsrc == s)
		ev->sigsrc = NULL;
	s->dead = true;
	s->next = ev->graveyard;
	ev->graveyard = s;
}

static int dispatch_signals(struct ev *ev)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(ev->sigsrc->fd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		struct ev_sig *sig;

		if (si.ssi_signo >= EV_SIGNALS)
			continue;
		sig = &ev->sigs[si.ssi_signo];
		if (sig->cb) {
			int r = sig->cb(sig->handle, (int)si.ssi_signo, sig->userdata);

			if (r < 0)
				log_warn("ev", "signal %u handler: %s", si.ssi_signo, strerror(-r));
		}
		if (!ev->sigsrc)
			return 0;
	}
	return 0;
}

static void dispatch(struct ev *ev, struct ev_source *s, uint32_t revents)
{
	int r = 0;

	if (s->dead)
		return;
	switch (s->type) {
	case SRC_IO: {
		uint32_t mask = revents & (EPOLLIN | EPOLLOUT);

		if (revents & (EPOLLERR | EPOLLHUP))
			mask |= EPOLLIN;
		r = s->cb.io(s, s->fd, mask, s->userdata);
		break;
	}
	case SRC_TIMER: {
		uint64_t expirations;

		if (read(s->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
			return; /* EAGAIN: re-armed before we got here */
		r = s->cb.timer(s, clock_now_ns(), s->userdata);
		break;
	}
	case SRC_SIGNAL_FD:
		r = dispatch_signals(ev);
		break;
	}
	if (r < 0)
		log_warn("ev", "handler for fd %d: %s", s->fd, strerror(-r));
}

int ev_run_once(struct ev *ev, int timeout_ms)
{
	struct epoll_event events[EV_BATCH];
	int n;

	n = epoll_wait(ev->epfd, events, EV_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n && !ev->exiting; i++)
		dispatch(ev, events[i].data.ptr, events[i].events);
	reap(ev);
	return n;
}

int ev_run(struct ev *ev)
{
	while (!ev->exiting) {
		int r = ev_run_once(ev, -1);

		if (r < 0)
			return r;
	}
	return ev->exit_code;
}

void ev_exit(struct ev *ev, int code)
{
	ev->exiting = true;
	ev->exit_code = code;
}

int ev_is_exiting(const struct ev *ev)
{
	return ev->exiting;
}
