/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale_serial.h - the machinery the request/response serial scale backends
 * share (scale_serial_mtsics.c, scale_serial_scp01.c). Private to drivers/scale/ (double
 * underscore names, STYLE 11); src/ never includes this.
 *
 * ONE fd for the loop: a request/response scale needs two fds, the tty (answers) and a
 * timerfd (when to ask next). Both sit in a private epoll fd, and that epoll fd is what
 * get_fd() returns: an epoll fd polls readable while any fd inside it is ready, so the
 * station's loop watches a single fd and calls on_readable(), which services the timer
 * (sends the next request) and drains the tty without blocking. All three fds belong to the
 * backend and are closed by its close().
 *
 * Requests: one outstanding at a time. Every cfg.poll_ms the poll request goes out unless an
 * answer is still awaited (then it waits up to SCALE_SERIAL_REPLY_MS before asking again).
 * A zero request waits for the line to be free and goes out before the next poll. On open,
 * protocols that can identify themselves (MT-SICS I2) are asked for the model first.
 *
 * Unplug: read() returning 0 (a hung-up USB-serial tty) or EIO (a pty whose master closed)
 * and write() failing with EIO/ENXIO all become -ENODEV.
 */
#ifndef SEALBENCH_DRIVERS_SCALE_SERIAL_H
#define SEALBENCH_DRIVERS_SCALE_SERIAL_H

#include "drivers/scale/scale.h"
#include "drivers/scale/scale_proto.h"

/** How long an answer may take before the request is sent again (a zero may wait for
 * stability on the scale's side, so this is generous). */
#define SCALE_SERIAL_REPLY_MS 2000

/**
 * @brief Open s->cfg.device for protocol @p proto.
 * @param dflt the protocol's factory line settings ("9600 7E1"), used when the board file
 *        has no scale.serial; scale.baud alone replaces only their rate.
 * @return 0 (s->priv set); -EINVAL bad scale.serial; -errno from open/termios/timerfd/epoll.
 *         The class calls scale_serial__close() on failure.
 */
int scale_serial__open(struct scale *s, enum scale_proto_id proto, const char *dflt);
/** @brief Close all three fds and free; accepts a half-open handle. */
void scale_serial__close(struct scale *s);
/** @brief The private epoll fd (borrowed). */
int scale_serial__get_fd(const struct scale *s);
/** @brief See scale_on_readable(); readings carry t_ns = when their frame was decoded. */
int scale_serial__on_readable(struct scale *s, struct scale_reading *ret);
/** @brief Queue the zero request. @return 0. */
int scale_serial__tare(struct scale *s);

#endif
