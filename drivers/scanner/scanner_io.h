/* SPDX-License-Identifier: MIT */
/*
 * drivers/scanner/scanner_io.h - shared plumbing of the scanner and badge backends (not a
 * class interface; backends only).
 *
 * struct scanner_mux: a device fd and a timerfd behind one private epoll fd. The class API
 * hands the station one fd per device; a decoder that ends a scan or a Wiegand frame on a
 * silence needs a timer too, so the backend returns the epoll fd from get_fd() and looks at
 * both when it becomes readable. The timer is absolute CLOCK_MONOTONIC, the clock of the
 * kernel's evdev (after EVIOCSCLOCKID) and GPIO edge timestamps, so a deadline computed from
 * an event timestamp is armed as it is.
 *
 * struct scanner_kbd: an evdev keyboard wedge = hal_evdev + mux + struct scanner_wedge, used
 * by drivers/scanner/scanner_evdev.c and drivers/badge/badge_evdev.c.
 */
#ifndef SEALBENCH_DRIVERS_SCANNER_IO_H
#define SEALBENCH_DRIVERS_SCANNER_IO_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/scanner/scanner_proto.h"
#include "hal/evdev.h"

struct scanner_mux {
	int epfd; /* what get_fd() returns */
	int tfd;  /* timerfd, CLOCK_MONOTONIC */
};

/**
 * @brief Put @p dev_fd (borrowed: not closed by scanner__mux_close()) and a new timerfd into
 * a new epoll fd.
 * @return 0; -errno with nothing left open (m->epfd and m->tfd are -1).
 */
int scanner__mux_open(struct scanner_mux *m, int dev_fd);

/** @brief Close the epoll fd and the timerfd. Accepts a mux whose fds are -1. */
void scanner__mux_close(struct scanner_mux *m);

/**
 * @brief Arm the timer at @p deadline_ns (CLOCK_MONOTONIC, absolute), or disarm it with 0.
 * Either way a pending expiry is consumed, so the epoll fd stops polling readable for it.
 * @return 0 or -errno.
 */
int scanner__mux_arm(struct scanner_mux *m, uint64_t deadline_ns);

/** Events read from the device per hal_evdev_read(). */
#define SCANNER_KBD_BATCH 64

struct scanner_kbd {
	int fd;                 /* the input node */
	struct scanner_mux mux;
	struct scanner_wedge wedge;
	struct hal_evdev_event evs[SCANNER_KBD_BATCH];
	size_t n, pos;          /* events read, next to decode */
	struct hal_evdev_id id;
};

/**
 * @brief Open and grab the input node at @p path, with a wedge decoder using @p opts.
 * @return 0; -ENOENT not plugged in; -EBUSY grabbed elsewhere; -ENOTTY not an input node;
 *         -errno. On failure everything opened is closed again (fds are -1).
 */
int scanner__kbd_open(struct scanner_kbd *k, const char *path, const struct scanner_opts *opts);

/** @brief Close what scanner__kbd_open() opened (also after it failed). Accepts NULL. */
void scanner__kbd_close(struct scanner_kbd *k);

/**
 * @brief Next decoded scan; call until -EAGAIN (which also re-arms the gap timer).
 * @return 0 and *ret; -EAGAIN drained; -EBADMSG / -EPROTO / -EMSGSIZE a scan was dropped
 *         (scanner_wedge_run()); -ENODEV unplugged; -errno.
 */
int scanner__kbd_next(struct scanner_kbd *k, struct scanner_scan *ret);

#endif
