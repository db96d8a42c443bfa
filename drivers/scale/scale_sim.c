/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale_sim.c - the "sim" scale: readings come as text lines on a FIFO.
 *
 * cfg->device names the FIFO (created if missing). One line per reading:
 * "<grams> <stable|motion> [over|under|fault]" (scale_proto_parse_sim()). tare() makes the
 * last reading the zero, as a real scale's tare key does. Its stable flag is final: the class
 * stability filter is skipped (ops->stable_is_final).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/scale/scale.h"
#include "drivers/scale/scale_proto.h"
#include "hal/clock.h"
#include "hal/fifo.h"

struct scale_sim {
	struct hal_fifo_lines in;
	int32_t last_raw; /* last reading before tare */
	int32_t tare;	  /* subtracted from every reading */
	char storage[LINEBUF_STORAGE(SCALE_SIM_LINE_MAX)];
};

static int sim_open(struct scale *s)
{
	struct scale_sim *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->priv = p;
	r = hal_fifo_lines_open(&p->in, s->cfg.device, p->storage, sizeof(p->storage));
	if (r < 0)
		return r; /* the class calls close() */
	strcpy(s->model, "sealbench sim scale");
	return 0;
}

static void sim_close(struct scale *s)
{
	struct scale_sim *p = s->priv;

	if (!p)
		return;
	hal_fifo_lines_close(&p->in);
	free(p);
	s->priv = NULL;
}

static int sim_get_fd(const struct scale *s)
{
	const struct scale_sim *p = s->priv;

	return p->in.fd;
}

static int sim_on_readable(struct scale *s, struct scale_reading *ret)
{
	struct scale_sim *p = s->priv;
	struct scale_reading rd = {0};
	const char *line;
	size_t len;
	int64_t net;
	int r;

	for (;;) {
		r = hal_fifo_lines_next(&p->in, &line, &len);
		if (r == -EMSGSIZE)
			return -EBADMSG; /* no valid reading is that long */
		if (r == 0) {
			if (strspn(line, " \t") == len)
				continue; /* blank line */
			if (scale_proto_parse_sim(line, &rd) < 0)
				return -EBADMSG;
			p->last_raw = rd.grams;
			net = (int64_t)rd.grams - p->tare;
			rd.grams = net < INT32_MIN   ? INT32_MIN
				   : net > INT32_MAX ? INT32_MAX
						     : (int32_t)net;
			rd.t_ns = clock_now_ns();
			*ret = rd;
			return 0;
		}
		if (r < 0)
			return r; /* -EAGAIN: drained */
	}
}

static int sim_tare(struct scale *s)
{
	struct scale_sim *p = s->priv;

	p->tare = p->last_raw;
	return 0;
}

const struct scale_ops scale_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.get_fd = sim_get_fd,
	.on_readable = sim_on_readable,
	.tare = sim_tare,
	/* The scenario (tools/sealbench-sim) says what is stable; filtering it would only delay
	 * the station tests by stable_ms per package. */
	.stable_is_final = true,
};
