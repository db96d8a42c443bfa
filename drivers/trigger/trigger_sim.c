/* SPDX-License-Identifier: MIT */
/*
 * drivers/trigger/trigger_sim.c - the "sim" trigger: raw input levels as lines on a FIFO.
 *
 * cfg->device names the FIFO (created if missing). A line is a level, "press" / "1" /
 * "down" or "release" / "0" / "up", optionally followed by a blank and a CLOCK_MONOTONIC
 * timestamp in nanoseconds (a recorded edge; without one the edge is stamped when read).
 * Lines are raw edges, so a bouncing contact is simulated by writing its bounces; the class
 * debounces them exactly as it does a GPIO line's. Anything else is dropped with -EBADMSG.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/trigger/trigger.h"
#include "hal/clock.h"
#include "hal/fifo.h"

/** Longest line: a level word, a blank and a 20-digit timestamp, with room for a CR. */
#define TRIGGER_SIM_LINE_MAX 48

struct trigger_sim {
	struct hal_fifo_lines in;
	char storage[LINEBUF_STORAGE(TRIGGER_SIM_LINE_MAX)];
};

static int sim_open(struct trigger *t)
{
	struct trigger_sim *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	t->priv = p;
	r = hal_fifo_lines_open(&p->in, t->cfg.device, p->storage, sizeof(p->storage));
	if (r < 0)
		return r; /* the class calls close() */
	strcpy(t->model, "sealbench sim trigger");
	return 0;
}

static void sim_close(struct trigger *t)
{
	struct trigger_sim *p = t->priv;

	if (!p)
		return;
	hal_fifo_lines_close(&p->in);
	free(p);
	t->priv = NULL;
}

static int sim_get_fd(const struct trigger *t)
{
	const struct trigger_sim *p = t->priv;

	return p->in.fd;
}

static bool word_is(const char *s, size_t len, const char *w)
{
	return strlen(w) == len && !memcmp(s, w, len);
}

/* "press [ns]" and friends. @return 1 line parsed, 0 blank, -EBADMSG. */
static int parse(const char *line, size_t len, struct trigger_edge *ret)
{
	uint64_t ts = 0;
	size_t w, i;
	bool level;

	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (!len)
		return 0;
	for (w = 0; w < len && line[w] != ' ' && line[w] != '\t'; w++)
		;
	if (word_is(line, w, "press") || word_is(line, w, "1") || word_is(line, w, "down"))
		level = true;
	else if (word_is(line, w, "release") || word_is(line, w, "0") || word_is(line, w, "up"))
		level = false;
	else
		return -EBADMSG;
	i = w;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len) {
		for (; i < len; i++) {
			if (line[i] < '0' || line[i] > '9' || ts > (UINT64_MAX - 9) / 10)
				return -EBADMSG;
			ts = ts * 10 + (uint64_t)(line[i] - '0');
		}
	} else {
		ts = clock_now_ns();
	}
	ret->level = level;
	ret->t_ns = ts;
	return 1;
}

static int sim_read_edge(struct trigger *t, struct trigger_edge *ret)
{
	struct trigger_sim *p = t->priv;
	const char *line;
	size_t len;
	int r;

	for (;;) {
		r = hal_fifo_lines_next(&p->in, &line, &len);
		if (r == -EMSGSIZE)
			return -EBADMSG;
		if (r == 0) {
			r = parse(line, len, ret);
			if (r < 0)
				return r;
			if (r == 0)
				continue;
			return 0;
		}
		if (r < 0)
			return r; /* -EAGAIN: drained */
	}
}

const struct trigger_ops trigger_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.get_fd = sim_get_fd,
	.read_edge = sim_read_edge,
	.get_level = NULL, /* a FIFO has no level to read back */
};
