/* SPDX-License-Identifier: MIT */
/*
 * drivers/badge/badge_evdev.c - the "evdev" badge reader: an RFID reader that types the badge
 * number as a USB keyboard, followed by Enter (most 125 kHz / 13.56 MHz desktop readers).
 *
 * Same decoder as the keyboard-wedge scanner (scanner_io.h / scanner_proto.h), with no
 * control-character remapping and no AIM prefix: a badge ID is 1..BADGE_ID_MAX printable
 * ASCII characters, anything else is dropped with -EBADMSG. badge.key_timeout_ms (0 = 100)
 * aborts a half-typed ID. cfg->device is the input node (/dev/input/by-id/...-event-kbd).
 *
 * Hotplug as for the scanner: open() of a missing node is -ENOENT; an unplug makes
 * on_readable() return -ENODEV and the station re-opens the reader on its retry timer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/badge/badge.h"
#include "drivers/badge/badge_proto.h"
#include "drivers/scanner/scanner_io.h"
#include "drivers/scanner/scanner_proto.h"

struct badge_evdev {
	struct scanner_kbd kbd;
	struct scanner_scan scan; /* 2 KB: kept off the caller's stack */
};

static int evdev_open(struct badge *b)
{
	struct scanner_opts opts;
	struct badge_evdev *p;
	size_t i;
	int r;

	r = badge_check_cfg(&b->cfg);
	if (r < 0)
		return r;
	memset(&opts, 0, sizeof(opts));
	for (i = 0; i < SCANNER_FKEYS_N; i++)
		opts.fkeys[i] = -1;
	opts.ctrl_map = 0;
	opts.aim = SCANNER_AIM_OFF;
	opts.term = SCANNER_TERM_ENTER;
	opts.timeout_ns = (uint64_t)(b->cfg.key_timeout_ms ? b->cfg.key_timeout_ms
							   : SCANNER_KEY_TIMEOUT_MS_DEFAULT) *
			  1000000ULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->priv = p;
	r = scanner__kbd_open(&p->kbd, b->cfg.device, &opts);
	if (r < 0)
		return r; /* the class calls close() */
	snprintf(b->model, sizeof(b->model), "%.48s (%04x:%04x)", p->kbd.id.name, p->kbd.id.vendor,
		 p->kbd.id.product);
	return 0;
}

static void evdev_close(struct badge *b)
{
	struct badge_evdev *p = b->priv;

	if (!p)
		return;
	scanner__kbd_close(&p->kbd);
	free(p);
	b->priv = NULL;
}

static int evdev_get_fd(const struct badge *b)
{
	const struct badge_evdev *p = b->priv;

	return p->kbd.mux.epfd;
}

static int evdev_on_readable(struct badge *b, struct badge_read *ret)
{
	struct badge_evdev *p = b->priv;
	size_t i;
	int r;

	r = scanner__kbd_next(&p->kbd, &p->scan);
	/* a lost or half-typed ID is a malformed read for the class */
	if (r == -EPROTO || r == -EMSGSIZE)
		return -EBADMSG;
	if (r < 0)
		return r;
	if (p->scan.len > BADGE_ID_MAX)
		return -EBADMSG;
	for (i = 0; i < p->scan.len; i++) {
		if (p->scan.text[i] < 0x20 || p->scan.text[i] > 0x7e)
			return -EBADMSG;
	}
	memcpy(ret->id, p->scan.text, p->scan.len + 1);
	ret->t_ns = p->scan.t_ns;
	return 0;
}

const struct badge_ops badge_evdev_ops = {
	.name = "evdev",
	.open = evdev_open,
	.close = evdev_close,
	.get_fd = evdev_get_fd,
	.on_readable = evdev_on_readable,
};
