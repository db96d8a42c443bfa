/* SPDX-License-Identifier: MIT */
/*
 * drivers/scanner/scanner_sim.c - the "sim" scanner: one scan per line on a FIFO.
 *
 * cfg->device names the FIFO (created if missing). Lines carry C-style escapes
 * (scanner_proto_unescape()) so a 2D label's GS/RS/EOT can be typed:
 *     [)>\x1e01\x1d96123456789\x1d...\x1e\x04
 * Blank lines are ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/scanner/scanner.h"
#include "drivers/scanner/scanner_proto.h"
#include "hal/clock.h"
#include "hal/fifo.h"

struct scanner_sim {
	struct hal_fifo_lines in;
	char scan[SCANNER_SCAN_MAX + 1]; /* decoded here, copied out on success */
	char storage[LINEBUF_STORAGE(SCANNER_SIM_LINE_MAX)];
};

static int sim_open(struct scanner *s)
{
	struct scanner_sim *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->priv = p;
	r = hal_fifo_lines_open(&p->in, s->cfg.device, p->storage, sizeof(p->storage));
	if (r < 0)
		return r; /* the class calls close() */
	strcpy(s->model, "sealbench sim scanner");
	return 0;
}

static void sim_close(struct scanner *s)
{
	struct scanner_sim *p = s->priv;

	if (!p)
		return;
	hal_fifo_lines_close(&p->in);
	free(p);
	s->priv = NULL;
}

static int sim_get_fd(const struct scanner *s)
{
	const struct scanner_sim *p = s->priv;

	return p->in.fd;
}

static int sim_on_readable(struct scanner *s, struct scanner_scan *ret)
{
	struct scanner_sim *p = s->priv;
	const char *line;
	size_t len;
	int r;

	for (;;) {
		r = hal_fifo_lines_next(&p->in, &line, &len);
		if (r == -EMSGSIZE)
			return -EMSGSIZE;
		if (r == 0) {
			if (len == 0)
				continue;
			r = scanner_proto_unescape(line, len, p->scan, SCANNER_SCAN_MAX, &len);
			if (r < 0)
				return r;
			memcpy(ret->text, p->scan, len + 1);
			ret->len = len;
			ret->t_ns = clock_now_ns();
			ret->aim[0] = '\0';
			return 0;
		}
		if (r < 0)
			return r; /* -EAGAIN: drained */
	}
}

const struct scanner_ops scanner_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.get_fd = sim_get_fd,
	.on_readable = sim_on_readable,
};
