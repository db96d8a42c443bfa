/* SPDX-License-Identifier: MIT */
/*
 * drivers/badge/badge_wiegand.c - the "wiegand" badge reader: D0 and D1 on two GPIO inputs,
 * through libgpiod v2 (hal/gpio.h), decoded from the kernel's edge timestamps
 * (badge_proto.h).
 *
 * Board keys: badge.chip (a path, chip name or label; "" = badge.device), badge.d0 and
 * badge.d1 (line offsets), badge.gap_ms (end-of-frame silence, 0 = 25), badge.formats
 * ("26,34,35,37", "" = all). The lines are requested as inputs with both edges and the
 * pull-up bias (reader outputs are usually open collector).
 *
 * get_fd() is a private epoll fd over the request's edge-event fd and a timerfd armed at
 * "last edge + gap" (scanner_io.h): a frame has no end marker, so it is the timer that
 * finishes it. A frame with bad parity, an unknown length, both lines low at once or lost
 * edges is dropped with -EBADMSG and counted (struct badge_wiegand_stats).
 *
 * Without libgpiod (WITH_LIBGPIOD2=0) open() returns -EOPNOTSUPP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/badge/badge.h"
#include "drivers/badge/badge_proto.h"
#include "drivers/scanner/scanner_io.h"
#include "hal/clock.h"
#include "hal/gpio.h"

/** Edges read per call: a 37-bit frame is 74 edges. */
#define WIEGAND_READ_BATCH 128

struct badge_wiegand_priv {
	struct hal_gpio *gpio;
	struct scanner_mux mux;
	struct badge_wiegand dec;
	unsigned d0, d1;
	bool have_seqno;
	uint64_t last_seqno;
	struct hal_gpio_event raw[WIEGAND_READ_BATCH];
	struct badge_wiegand_edge edges[WIEGAND_READ_BATCH];
	size_t n, pos;
};

static int wiegand_open(struct badge *b)
{
	struct hal_gpio_line_cfg lines[2];
	struct badge_wiegand_priv *p;
	const char *chip;
	unsigned formats, gap_ms;
	int fd, r;

	r = badge_check_cfg(&b->cfg);
	if (r < 0)
		return r;
	chip = b->cfg.chip[0] ? b->cfg.chip : b->cfg.device;
	r = badge_proto_parse_formats(b->cfg.formats, &formats);
	if (r < 0)
		return r;
	gap_ms = b->cfg.gap_ms ? b->cfg.gap_ms : BADGE_WIEGAND_GAP_MS_DEFAULT;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->mux.epfd = -1;
	p->mux.tfd = -1;
	b->priv = p;
	p->d0 = (unsigned)b->cfg.d0;
	p->d1 = (unsigned)b->cfg.d1;
	badge_wiegand_init(&p->dec, (uint64_t)gap_ms * NSEC_PER_MSEC, formats);

	memset(lines, 0, sizeof(lines));
	lines[0].offset = p->d0;
	lines[1].offset = p->d1;
	lines[0].dir = lines[1].dir = HAL_GPIO_INPUT;
	lines[0].edge = lines[1].edge = HAL_GPIO_EDGE_BOTH;
	lines[0].bias_pull_up = lines[1].bias_pull_up = true;
	r = hal_gpio_request(chip, "sealbench-badge", lines, 2, &p->gpio);
	if (r < 0)
		return r; /* the class calls close() */
	fd = hal_gpio_get_fd(p->gpio);
	if (fd < 0)
		return -EIO;
	r = scanner__mux_open(&p->mux, fd);
	if (r < 0)
		return r;
	snprintf(b->model, sizeof(b->model), "wiegand %.32s d0=%u d1=%u", chip, p->d0, p->d1);
	return 0;
}

static void wiegand_close(struct badge *b)
{
	struct badge_wiegand_priv *p = b->priv;

	if (!p)
		return;
	scanner__mux_close(&p->mux);
	hal_gpio_release(p->gpio);
	free(p);
	b->priv = NULL;
}

static int wiegand_get_fd(const struct badge *b)
{
	const struct badge_wiegand_priv *p = b->priv;

	return p->mux.epfd;
}

/* The frame is out of the decoder: a badge ID or a counted drop. */
static int frame_to_read(const struct badge_wiegand_frame *f, struct badge_read *ret)
{
	char id[BADGE_ID_MAX + 1];

	if (!f->valid || badge_proto_wiegand_id(f, id, sizeof(id)) < 0)
		return -EBADMSG;
	memcpy(ret->id, id, sizeof(id));
	ret->t_ns = f->end_ns;
	return 0;
}

static int wiegand_on_readable(struct badge *b, struct badge_read *ret)
{
	struct badge_wiegand_priv *p = b->priv;
	struct badge_wiegand_frame f;
	int n, i, r;

	for (;;) {
		if (badge_wiegand_run(&p->dec, p->edges, p->n, &p->pos, &f) == 0)
			return frame_to_read(&f, ret);
		n = hal_gpio_read_events(p->gpio, p->raw, WIEGAND_READ_BATCH);
		if (n == -EAGAIN)
			break;
		if (n < 0)
			return n == -EIO ? -ENODEV : n;
		for (i = 0; i < n; i++) {
			p->edges[i].line = p->raw[i].offset == p->d1 ? 1 : 0;
			p->edges[i].rising = p->raw[i].rising;
			p->edges[i].t_ns = p->raw[i].timestamp_ns;
			/* the kernel's per-request sequence numbers have no holes unless its
			 * event FIFO overflowed */
			p->edges[i].lost = p->have_seqno && p->raw[i].seqno != p->last_seqno + 1;
			p->have_seqno = true;
			p->last_seqno = p->raw[i].seqno;
		}
		p->n = (size_t)n;
		p->pos = 0;
	}
	if (badge_wiegand_expire(&p->dec, clock_now_ns(), &f) == 0)
		return frame_to_read(&f, ret);
	r = scanner__mux_arm(&p->mux, badge_wiegand_deadline(&p->dec));
	return r < 0 ? r : -EAGAIN;
}

const struct badge_ops badge_wiegand_ops = {
	.name = "wiegand",
	.open = wiegand_open,
	.close = wiegand_close,
	.get_fd = wiegand_get_fd,
	.on_readable = wiegand_on_readable,
};
