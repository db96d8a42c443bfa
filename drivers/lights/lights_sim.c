/* SPDX-License-Identifier: MIT */
/*
 * drivers/lights/lights_sim.c - the "sim" indicator: state changes as text lines on an output
 * FIFO, for tools/sealbench-sim (or `cat`) to show.
 *
 * cfg->device names the FIFO (created if missing). set() writes "light <mask>" (lights_proto.h)
 * and text() writes "text <line>", one line each. The FIFO is held O_RDWR|O_NONBLOCK, so a
 * write never blocks or fails for want of a reader: when nobody drains the FIFO and the pipe
 * buffer is full, the line is dropped and counted. A station never stops for its display.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/lights/lights.h"
#include "drivers/lights/lights_proto.h"
#include "hal/fifo.h"

struct lights_sim {
	int fd;
	unsigned long dropped; /* lines lost to a full FIFO (no reader) */
};

static int sim_open(struct lights *l)
{
	struct lights_sim *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = -1;
	l->priv = p;
	p->fd = hal_fifo_open_write(l->cfg.device);
	if (p->fd < 0)
		return p->fd; /* the class calls close() */
	strcpy(l->model, "sealbench sim lights");
	return 0;
}

static void sim_close(struct lights *l)
{
	struct lights_sim *p = l->priv;

	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	free(p);
	l->priv = NULL;
}

/* One line, written whole or not at all (it is far below PIPE_BUF, so writes are atomic). */
static int put_line(struct lights_sim *p, const char *buf, size_t len)
{
	ssize_t n = hal_write(p->fd, buf, len);

	if (n == -EAGAIN) {
		p->dropped++;
		return 0;
	}
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

static int sim_set(struct lights *l, unsigned mask)
{
	char text[LIGHTS_MASK_TEXT_MAX];
	char line[LIGHTS_SIM_LINE_MAX + 2];
	int r, n;

	r = lights_proto_format_mask(mask, text, sizeof(text));
	if (r < 0)
		return r;
	n = snprintf(line, sizeof(line), "light %s\n", text);
	return put_line(l->priv, line, (size_t)n);
}

static int sim_text(struct lights *l, const char *s)
{
	char line[LIGHTS_SIM_LINE_MAX + 2];
	size_t i, n;

	/* The class already cut the text to one line of LIGHTS_TEXT_MAX bytes; keep the
	 * framing safe from any other control character as well. */
	memcpy(line, "text ", 5);
	for (n = 5, i = 0; s[i] && i < LIGHTS_TEXT_MAX; i++)
		line[n++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	line[n++] = '\n';
	return put_line(l->priv, line, n);
}

const struct lights_ops lights_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.set = sim_set,
	.text = sim_text,
	.get_fd = NULL, /* output only */
};
