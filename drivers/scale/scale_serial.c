/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale_serial.c - shared code of the serial scale backends (see the header for
 * the one-fd design and the request rules).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "drivers/scale/scale_serial.h"
#include "hal/clock.h"
#include "hal/fifo.h"
#include "hal/serial.h"

/* Receive buffer: one frame may be incomplete while a read brings up to as much again. */
#define RX_MAX (2 * SCALE_FRAME_MAX)

struct scale_serial {
	enum scale_proto_id proto;
	int tty;  /* the port */
	int tfd;  /* poll timer */
	int epfd; /* both of the above; returned by get_fd */
	uint8_t rx[RX_MAX];
	size_t rx_len;
	bool awaiting;	  /* a request is outstanding */
	uint64_t sent_ns; /* when it went out */
	bool want_zero;	  /* scale_tare() asked; goes out when the line is free */
	bool want_ident;  /* ask for the model first */
};

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int scale_serial__open(struct scale *s, enum scale_proto_id proto, const char *dflt)
{
	struct hal_serial_cfg sc;
	struct itimerspec its = {0};
	struct scale_serial *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->tty = p->tfd = p->epfd = -1;
	p->proto = proto;
	p->want_ident = scale_proto_request(proto, SCALE_REQ_IDENT) != NULL;
	s->priv = p;

	r = hal_serial_parse(s->cfg.serial[0] ? s->cfg.serial : dflt, &sc);
	if (r < 0)
		return r;
	if (!s->cfg.serial[0] && s->cfg.baud)
		sc.baud = s->cfg.baud; /* scale.baud alone changes only the rate */
	p->tty = hal_serial_open(s->cfg.device, &sc);
	if (p->tty < 0)
		return p->tty;
	p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->tfd < 0)
		return -errno;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0)
		return -errno;
	r = add_fd(p->epfd, p->tty);
	if (r < 0)
		return r;
	r = add_fd(p->epfd, p->tfd);
	if (r < 0)
		return r;
	/* First request at once, then every poll_ms (the class made poll_ms non-zero). */
	its.it_value.tv_nsec = 1000000;
	its.it_interval.tv_sec = s->cfg.poll_ms / 1000;
	its.it_interval.tv_nsec = (long)(s->cfg.poll_ms % 1000) * 1000000L;
	if (timerfd_settime(p->tfd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

void scale_serial__close(struct scale *s)
{
	struct scale_serial *p = s->priv;

	if (!p)
		return;
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->tfd >= 0)
		close(p->tfd);
	if (p->tty >= 0)
		close(p->tty);
	free(p);
	s->priv = NULL;
}

int scale_serial__get_fd(const struct scale *s)
{
	const struct scale_serial *p = s->priv;

	return p->epfd;
}

static int gone(int r)
{
	return r == -EIO || r == -ENXIO || r == -ENODEV || r == -EPIPE ? -ENODEV : r;
}

/* Send the next request if the line is free (or the last one timed out). */
static int send_next(struct scale_serial *p)
{
	uint64_t now = clock_now_ns();
	enum scale_proto_req req;
	const char *txt;
	ssize_t n;

	if (p->awaiting && now - p->sent_ns < SCALE_SERIAL_REPLY_MS * NSEC_PER_MSEC)
		return 0;
	req = p->want_ident ? SCALE_REQ_IDENT : p->want_zero ? SCALE_REQ_ZERO : SCALE_REQ_POLL;
	txt = scale_proto_request(p->proto, req);
	n = hal_serial_write(p->tty, txt, strlen(txt));
	if (n == -EAGAIN)
		return 0; /* output buffer full (flow control): try at the next tick */
	if (n < 0)
		return gone((int)n);
	/* A short write of a 2..4 byte request to an idle tty does not happen in practice; if it
	 * did, the scale answers ES / "?" and the next tick starts clean. */
	if (req == SCALE_REQ_IDENT)
		p->want_ident = false;
	else if (req == SCALE_REQ_ZERO)
		p->want_zero = false;
	p->awaiting = true;
	p->sent_ns = now;
	return 0;
}

static int service_timer(struct scale_serial *p)
{
	uint64_t ticks;
	ssize_t n = hal_read(p->tfd, &ticks, sizeof(ticks));

	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return (int)n;
	return send_next(p);
}

/* Decode the first complete frame held. @return 0 reading, -EAGAIN need bytes, -errno. */
static int take_frame(struct scale *s, struct scale_serial *p, struct scale_reading *ret)
{
	struct scale_mtsics_resp m;
	int f, r;

	for (;;) {
		f = scale_proto_frame(p->proto, p->rx, p->rx_len);
		if (f == 0)
			return -EAGAIN;
		if (f < 0) {
			/* No terminator in SCALE_FRAME_MAX bytes: drop them, report once. */
			memmove(p->rx, p->rx + SCALE_FRAME_MAX, p->rx_len - SCALE_FRAME_MAX);
			p->rx_len -= SCALE_FRAME_MAX;
			return -EMSGSIZE;
		}
		p->awaiting = false;
		if (p->proto == SCALE_PROTO_MTSICS &&
		    scale_proto_mtsics_parse((const char *)p->rx, (size_t)f, &m) == 0 &&
		    m.cmd[0] == 'I' && m.status == 'A' && m.text[0]) {
			strncpy(s->model, m.text, sizeof(s->model) - 1);
			s->model[sizeof(s->model) - 1] = '\0';
		}
		r = scale_proto_parse_frame(p->proto, p->rx, (size_t)f, ret);
		memmove(p->rx, p->rx + f, p->rx_len - (size_t)f);
		p->rx_len -= (size_t)f;
		if (r != -EAGAIN)
			return r; /* a reading, or -EPROTO / -EBADMSG: one message lost */
		/* An acknowledgement: the line is free, ask for the zero now rather than at the
		 * next tick, and look at the next frame. */
		if (p->want_zero) {
			r = send_next(p);
			if (r < 0)
				return r;
		}
	}
}

int scale_serial__on_readable(struct scale *s, struct scale_reading *ret)
{
	struct scale_serial *p = s->priv;
	struct scale_reading rd = {0};
	ssize_t n;
	int r;

	for (;;) {
		r = take_frame(s, p, &rd);
		if (r == 0) {
			rd.t_ns = clock_now_ns();
			*ret = rd;
			return 0;
		}
		if (r != -EAGAIN)
			return r;
		r = service_timer(p);
		if (r < 0)
			return r;
		n = hal_read(p->tty, p->rx + p->rx_len, sizeof(p->rx) - p->rx_len);
		if (n == 0)
			return -ENODEV; /* hung up: the adapter is gone */
		if (n < 0)
			return gone((int)n);
		p->rx_len += (size_t)n;
	}
}

int scale_serial__tare(struct scale *s)
{
	struct scale_serial *p = s->priv;

	p->want_zero = true;
	return send_next(p);
}
