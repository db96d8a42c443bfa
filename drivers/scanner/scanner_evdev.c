/* SPDX-License-Identifier: MIT */
/*
 * drivers/scanner/scanner_evdev.c - the "evdev" scanner: a USB/Bluetooth barcode scanner in
 * keyboard-wedge (HID keyboard) mode, read from its input node with an exclusive grab.
 *
 * cfg->device is the input node; use the stable /dev/input/by-id/...-event-kbd link. The
 * scanner.* options (ctrl_map, fkeys, aim, terminator, key_timeout_ms) configure the wedge
 * decoder (scanner_proto.h). get_fd() is a private epoll fd over the input node and the gap
 * timer (scanner_io.h).
 *
 * Hotplug: open() of a missing node returns -ENOENT; once open, an unplug makes on_readable()
 * return -ENODEV. The station then closes the scanner and opens it again on its retry timer
 * (src/station.c); nothing here retries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/scanner/scanner.h"
#include "drivers/scanner/scanner_io.h"
#include "drivers/scanner/scanner_proto.h"

static int evdev_open(struct scanner *s)
{
	struct scanner_opts opts;
	struct scanner_kbd *k;
	int r;

	r = scanner_proto_parse_opts(&s->cfg, false, &opts);
	if (r < 0)
		return r;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	s->priv = k;
	r = scanner__kbd_open(k, s->cfg.device, &opts);
	if (r < 0)
		return r; /* the class calls close() */
	snprintf(s->model, sizeof(s->model), "%.48s (%04x:%04x)", k->id.name, k->id.vendor,
		 k->id.product);
	return 0;
}

static void evdev_close(struct scanner *s)
{
	struct scanner_kbd *k = s->priv;

	if (!k)
		return;
	scanner__kbd_close(k);
	free(k);
	s->priv = NULL;
}

static int evdev_get_fd(const struct scanner *s)
{
	const struct scanner_kbd *k = s->priv;

	return k->mux.epfd;
}

static int evdev_on_readable(struct scanner *s, struct scanner_scan *ret)
{
	return scanner__kbd_next(s->priv, ret);
}

const struct scanner_ops scanner_evdev_ops = {
	.name = "evdev",
	.open = evdev_open,
	.close = evdev_close,
	.get_fd = evdev_get_fd,
	.on_readable = evdev_on_readable,
};
