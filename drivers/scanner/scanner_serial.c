/* SPDX-License-Identifier: MIT */
/*
 * drivers/scanner/scanner_serial.c - the "serial" scanner: a scanner on RS-232, USB-serial or
 * CDC-ACM (/dev/ttyACM*) that sends each scan as bytes with a configurable terminator.
 *
 * cfg->device is the tty (prefer /dev/serial/by-id/...). Line settings: scanner.serial
 * ("9600 8N1", hal_serial_parse()) or, when that is empty, scanner.baud (0 = 9600) with 8N1.
 * scanner.terminator = cr (default) | lf | crlf | none; with none, scanner.gap_ms of silence
 * ends a scan (scanner_proto.h, struct scanner_stream). scanner.aim applies as for evdev.
 *
 * Hotplug: a USB-serial or CDC-ACM port that disappears reads EIO (or end-of-file, or
 * ENODEV); on_readable() reports all three as -ENODEV and the station re-opens the device on
 * its retry timer. open() of a missing port returns -ENOENT.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/scanner/scanner.h"
#include "drivers/scanner/scanner_io.h"
#include "drivers/scanner/scanner_proto.h"
#include "hal/clock.h"
#include "hal/fifo.h"
#include "hal/serial.h"

/** Bytes read per read(2); a scan longer than this simply takes several reads. */
#define SCANNER_SERIAL_READ_MAX 512

struct scanner_serial {
	int fd;
	struct scanner_mux mux;
	struct scanner_stream stream;
	char rx[SCANNER_SERIAL_READ_MAX];
	size_t n, pos;   /* bytes read, next to decode */
	uint64_t rx_ns;  /* when rx was read */
};

static int serial_open(struct scanner *s)
{
	struct hal_serial_cfg line = HAL_SERIAL_CFG_DEFAULT;
	struct scanner_serial *p;
	struct scanner_opts opts;
	const char *base;
	int r;

	r = scanner_proto_parse_opts(&s->cfg, true, &opts);
	if (r < 0)
		return r;
	if (!memchr(s->cfg.serial, '\0', sizeof(s->cfg.serial)))
		return -EINVAL;
	if (s->cfg.serial[0]) {
		r = hal_serial_parse(s->cfg.serial, &line);
		if (r < 0)
			return r;
	} else if (s->cfg.baud) {
		line.baud = s->cfg.baud;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = -1;
	p->mux.epfd = -1;
	p->mux.tfd = -1;
	s->priv = p;
	scanner_stream_init(&p->stream, &opts);
	p->fd = hal_serial_open(s->cfg.device, &line);
	if (p->fd < 0)
		return p->fd; /* the class calls close() */
	r = scanner__mux_open(&p->mux, p->fd);
	if (r < 0)
		return r;
	base = strrchr(s->cfg.device, '/');
	snprintf(s->model, sizeof(s->model), "serial scanner %.40s", base ? base + 1 : s->cfg.device);
	return 0;
}

static void serial_close(struct scanner *s)
{
	struct scanner_serial *p = s->priv;

	if (!p)
		return;
	scanner__mux_close(&p->mux);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
	s->priv = NULL;
}

static int serial_get_fd(const struct scanner *s)
{
	const struct scanner_serial *p = s->priv;

	return p->mux.epfd;
}

/* Whether the tty was hung up (unplugged): read() returns 0 then, as it does for "no data". */
static bool hung_up(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static int serial_on_readable(struct scanner *s, struct scanner_scan *ret)
{
	struct scanner_serial *p = s->priv;
	size_t used;
	ssize_t n;
	int r;

	for (;;) {
		if (p->pos < p->n) {
			r = scanner_stream_feed(&p->stream, p->rx + p->pos, p->n - p->pos, p->rx_ns,
						&used, ret);
			p->pos += used;
			if (r != -EAGAIN)
				return r;
			continue;
		}
		n = hal_read(p->fd, p->rx, sizeof(p->rx));
		if (n == 0 && !hung_up(p->fd))
			n = -EAGAIN; /* VMIN = VTIME = 0: "no data" reads 0, not EAGAIN */
		if (n == -EAGAIN)
			break;
		/* A pty whose master closed reads EIO; a hung-up USB port reads 0. */
		if (n == 0 || n == -EIO || n == -ENODEV)
			return -ENODEV;
		if (n < 0)
			return (int)n;
		p->n = (size_t)n;
		p->pos = 0;
		p->rx_ns = clock_now_ns();
	}
	r = scanner_stream_expire(&p->stream, clock_now_ns(), ret);
	if (r != -EAGAIN)
		return r;
	r = scanner__mux_arm(&p->mux, scanner_stream_deadline(&p->stream));
	return r < 0 ? r : -EAGAIN;
}

const struct scanner_ops scanner_serial_ops = {
	.name = "serial",
	.open = serial_open,
	.close = serial_close,
	.get_fd = serial_get_fd,
	.on_readable = serial_on_readable,
};
