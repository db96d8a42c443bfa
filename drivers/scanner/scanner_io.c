/* SPDX-License-Identifier: MIT */
/*
 * drivers/scanner/scanner_io.c - fd + timer multiplexing and the evdev wedge reader shared
 * by the scanner and badge backends.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "drivers/scanner/scanner_io.h"
#include "hal/clock.h"

int scanner__mux_open(struct scanner_mux *m, int dev_fd)
{
	struct epoll_event ev;
	int r;

	m->epfd = -1;
	m->tfd = -1;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0)
		return -errno;
	m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->tfd < 0)
		goto err_errno;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = dev_fd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, dev_fd, &ev) < 0)
		goto err_errno;
	ev.data.fd = m->tfd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->tfd, &ev) < 0)
		goto err_errno;
	return 0;

err_errno:
	r = -errno;
	scanner__mux_close(m);
	return r;
}

void scanner__mux_close(struct scanner_mux *m)
{
	if (m->tfd >= 0)
		close(m->tfd);
	if (m->epfd >= 0)
		close(m->epfd);
	m->tfd = -1;
	m->epfd = -1;
}

int scanner__mux_arm(struct scanner_mux *m, uint64_t deadline_ns)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(deadline_ns / NSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(deadline_ns % NSEC_PER_SEC);
	/* An all-zero it_value disarms; settime also clears a pending expiry count. */
	if (timerfd_settime(m->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	return 0;
}

int scanner__kbd_open(struct scanner_kbd *k, const char *path, const struct scanner_opts *opts)
{
	int r;

	memset(k, 0, sizeof(*k));
	k->mux.epfd = -1;
	k->mux.tfd = -1;
	scanner_wedge_init(&k->wedge, opts);
	k->fd = hal_evdev_open(path, true);
	if (k->fd < 0)
		return k->fd;
	r = hal_evdev_get_id(k->fd, &k->id);
	if (r < 0)
		goto err_close;
	r = scanner__mux_open(&k->mux, k->fd);
	if (r < 0)
		goto err_close;
	return 0;

err_close:
	hal_evdev_close(k->fd);
	k->fd = -1;
	return r;
}

void scanner__kbd_close(struct scanner_kbd *k)
{
	if (!k)
		return;
	scanner__mux_close(&k->mux);
	if (k->fd >= 0)
		hal_evdev_close(k->fd);
	k->fd = -1;
}

int scanner__kbd_next(struct scanner_kbd *k, struct scanner_scan *ret)
{
	int r;

	for (;;) {
		r = scanner_wedge_run(&k->wedge, k->evs, k->n, &k->pos, ret);
		if (r != -EAGAIN)
			return r;
		r = hal_evdev_read(k->fd, k->evs, SCANNER_KBD_BATCH);
		if (r == -EAGAIN)
			break;
		if (r < 0)
			return r;
		k->n = (size_t)r;
		k->pos = 0;
	}
	/* Drained: a silence may have ended (or aborted) the scan being typed. */
	r = scanner_wedge_expire(&k->wedge, clock_now_ns(), ret);
	if (r != -EAGAIN)
		return r;
	r = scanner__mux_arm(&k->mux, scanner_wedge_deadline(&k->wedge));
	return r < 0 ? r : -EAGAIN;
}
