/* SPDX-License-Identifier: MIT */
/*
 * drivers/badge/badge_sim.c - the "sim" badge reader: one badge ID per line on a FIFO.
 *
 * cfg->device names the FIFO (created if missing). Blanks around the ID are trimmed and
 * blank lines ignored; an ID must be 1..BADGE_ID_MAX printable ASCII characters, otherwise
 * the line is dropped with -EBADMSG.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/badge/badge.h"
#include "hal/clock.h"
#include "hal/fifo.h"

/** Longest line: an ID plus blanks around it and a CR; longer lines are dropped whole. */
#define BADGE_SIM_LINE_MAX (BADGE_ID_MAX + 16)

struct badge_sim {
	struct hal_fifo_lines in;
	char storage[LINEBUF_STORAGE(BADGE_SIM_LINE_MAX)];
};

static int sim_open(struct badge *b)
{
	struct badge_sim *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->priv = p;
	r = hal_fifo_lines_open(&p->in, b->cfg.device, p->storage, sizeof(p->storage));
	if (r < 0)
		return r; /* the class calls close() */
	strcpy(b->model, "sealbench sim badge");
	return 0;
}

static void sim_close(struct badge *b)
{
	struct badge_sim *p = b->priv;

	if (!p)
		return;
	hal_fifo_lines_close(&p->in);
	free(p);
	b->priv = NULL;
}

static int sim_get_fd(const struct badge *b)
{
	const struct badge_sim *p = b->priv;

	return p->in.fd;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Find the ID in @p line (blanks around it trimmed). @return its length, 0 if blank, -EBADMSG. */
static int parse_id(const char *line, size_t len, const char **ret_id)
{
	size_t i;

	while (len > 0 && is_blank(*line)) {
		line++;
		len--;
	}
	while (len > 0 && is_blank(line[len - 1]))
		len--;
	if (len > BADGE_ID_MAX)
		return -EBADMSG;
	for (i = 0; i < len; i++) {
		if (line[i] < 0x20 || line[i] > 0x7e)
			return -EBADMSG;
	}
	*ret_id = line;
	return (int)len;
}

static int sim_on_readable(struct badge *b, struct badge_read *ret)
{
	struct badge_sim *p = b->priv;
	const char *line, *id;
	size_t len;
	int r;

	for (;;) {
		r = hal_fifo_lines_next(&p->in, &line, &len);
		if (r == -EMSGSIZE)
			return -EBADMSG;
		if (r == 0) {
			r = parse_id(line, len, &id);
			if (r < 0)
				return r;
			if (r == 0)
				continue;
			memcpy(ret->id, id, (size_t)r);
			ret->id[r] = '\0';
			ret->t_ns = clock_now_ns();
			return 0;
		}
		if (r < 0)
			return r; /* -EAGAIN: drained */
	}
}

const struct badge_ops badge_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.get_fd = sim_get_fd,
	.on_readable = sim_on_readable,
};
