/* SPDX-License-Identifier: MIT */
/*
 * hal/gpio.c - hal/gpio.h over libgpiod v2 (the GPIO character device, uAPI v2).
 *
 * One hal_gpio is one gpiod_line_request: the chip is opened only for the request and closed
 * again (the request keeps its own fd, as libgpiod documents). Edge events are read into one
 * gpiod_edge_event_buffer allocated at request time, so reading events does not allocate.
 *
 * The request fd that the kernel hands out is blocking, and
 * gpiod_line_request_read_edge_events() blocks when nothing is queued. We set O_NONBLOCK on
 * it, so a read after a spurious wake-up returns -EAGAIN instead of stalling the event loop.
 *
 * Values and edges are logical: the kernel applies active_low to both (uAPI v2 reports a
 * "rising" edge when the line becomes active). Event timestamps come from CLOCK_MONOTONIC,
 * which we request explicitly (it is also the kernel default), so they compare with
 * clock_now_ns().
 *
 * Chip names: besides a path ("/dev/gpiochip0"), hal_gpio_request() takes a bare chip name
 * ("gpiochip0") or a chip label ("pinctrl-rp1"). Labels are stable where chip numbers are
 * not (a Raspberry Pi 5 header moved from gpiochip4 to gpiochip0 between kernels).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hal/gpio.h"

#ifdef WITH_LIBGPIOD2

#include <dirent.h>
#include <fcntl.h>
#include <gpiod.h>
#include <limits.h>
#include <stdio.h>

/** Events read per call; a Wiegand frame is at most 37 bits, two edges per bit fit twice. */
#define HAL_GPIO_EVENT_BUF 128
/** Directory holding the GPIO character devices. */
#define HAL_GPIO_DEV_DIR "/dev"

struct hal_gpio {
	struct gpiod_line_request *req;
	struct gpiod_edge_event_buffer *evbuf; /* NULL when no line has edge detection */
	size_t n;
	unsigned offsets[HAL_GPIO_LINES_MAX];
	enum hal_gpio_dir dirs[HAL_GPIO_LINES_MAX];
};

/* -errno from errno after a failed libgpiod call; never 0. */
static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Find a chip by label among /dev/gpiochip*. @return 0 and the path in @p buf, -ENOENT. */
static int find_by_label(const char *label, char *buf, size_t size)
{
	struct gpiod_chip_info *info;
	struct gpiod_chip *chip;
	struct dirent *d;
	char path[PATH_MAX];
	int r = -ENOENT;
	DIR *dir;

	dir = opendir(HAL_GPIO_DEV_DIR);
	if (!dir)
		return -ENOENT;
	while (r == -ENOENT && (d = readdir(dir))) {
		if (strncmp(d->d_name, "gpiochip", 8) != 0)
			continue;
		snprintf(path, sizeof(path), HAL_GPIO_DEV_DIR "/%s", d->d_name);
		if (!gpiod_is_gpiochip_device(path))
			continue;
		chip = gpiod_chip_open(path);
		if (!chip)
			continue;
		info = gpiod_chip_get_info(chip);
		if (info && !strcmp(gpiod_chip_info_get_label(info), label)) {
			if ((size_t)snprintf(buf, size, "%s", path) < size)
				r = 0;
		}
		gpiod_chip_info_free(info);
		gpiod_chip_close(chip);
	}
	closedir(dir);
	return r;
}

/* A path, a name under /dev, or a label, to the chip's path. */
static int resolve_chip(const char *chip, char *buf, size_t size)
{
	if (strchr(chip, '/')) {
		if ((size_t)snprintf(buf, size, "%s", chip) >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	if ((size_t)snprintf(buf, size, HAL_GPIO_DEV_DIR "/%s", chip) >= size)
		return -ENAMETOOLONG;
	if (gpiod_is_gpiochip_device(buf))
		return 0;
	return find_by_label(chip, buf, size);
}

static bool cfg_ok(const struct hal_gpio_line_cfg *lines, size_t n)
{
	size_t i, j;

	if (n == 0 || n > HAL_GPIO_LINES_MAX)
		return false;
	for (i = 0; i < n; i++) {
		const struct hal_gpio_line_cfg *l = &lines[i];

		if ((int)l->dir != HAL_GPIO_INPUT && (int)l->dir != HAL_GPIO_OUTPUT)
			return false;
		if ((int)l->edge < HAL_GPIO_EDGE_NONE || (int)l->edge > HAL_GPIO_EDGE_BOTH)
			return false;
		if (l->dir == HAL_GPIO_OUTPUT &&
		    (l->edge != HAL_GPIO_EDGE_NONE || l->debounce_us || l->bias_pull_up))
			return false;
		if (l->dir == HAL_GPIO_OUTPUT && l->initial != 0 && l->initial != 1)
			return false;
		for (j = 0; j < i; j++) {
			if (lines[j].offset == l->offset)
				return false;
		}
	}
	return true;
}

static int fill_settings(struct gpiod_line_settings *s, const struct hal_gpio_line_cfg *l)
{
	static const enum gpiod_line_edge edges[] = {
		[HAL_GPIO_EDGE_NONE] = GPIOD_LINE_EDGE_NONE,
		[HAL_GPIO_EDGE_RISING] = GPIOD_LINE_EDGE_RISING,
		[HAL_GPIO_EDGE_FALLING] = GPIOD_LINE_EDGE_FALLING,
		[HAL_GPIO_EDGE_BOTH] = GPIOD_LINE_EDGE_BOTH,
	};

	gpiod_line_settings_reset(s);
	gpiod_line_settings_set_active_low(s, l->active_low);
	if (l->dir == HAL_GPIO_OUTPUT) {
		if (gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT) < 0 ||
		    gpiod_line_settings_set_output_value(s, l->initial ? GPIOD_LINE_VALUE_ACTIVE
								       : GPIOD_LINE_VALUE_INACTIVE) < 0)
			return -EINVAL;
		return 0;
	}
	if (gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_INPUT) < 0 ||
	    gpiod_line_settings_set_edge_detection(s, edges[l->edge]) < 0 ||
	    gpiod_line_settings_set_bias(s, l->bias_pull_up ? GPIOD_LINE_BIAS_PULL_UP
							    : GPIOD_LINE_BIAS_AS_IS) < 0 ||
	    gpiod_line_settings_set_event_clock(s, GPIOD_LINE_CLOCK_MONOTONIC) < 0)
		return -EINVAL;
	gpiod_line_settings_set_debounce_period_us(s, l->debounce_us);
	return 0;
}

int hal_gpio_request(const char *chip_path, const char *consumer,
		     const struct hal_gpio_line_cfg *lines, size_t n, struct hal_gpio **ret)
{
	struct gpiod_request_config *rcfg = NULL;
	struct gpiod_line_settings *settings = NULL;
	struct gpiod_line_config *lcfg = NULL;
	struct gpiod_chip *chip = NULL;
	char path[PATH_MAX];
	struct hal_gpio *g;
	bool edges = false;
	size_t i;
	int r, fl;

	if (!chip_path || !*chip_path || !lines || !ret || !cfg_ok(lines, n))
		return -EINVAL;
	r = resolve_chip(chip_path, path, sizeof(path));
	if (r < 0)
		return r;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->n = n;

	chip = gpiod_chip_open(path);
	if (!chip) {
		r = neg_errno();
		goto err;
	}
	settings = gpiod_line_settings_new();
	lcfg = gpiod_line_config_new();
	rcfg = gpiod_request_config_new();
	if (!settings || !lcfg || !rcfg) {
		r = -ENOMEM;
		goto err;
	}
	for (i = 0; i < n; i++) {
		g->offsets[i] = lines[i].offset;
		g->dirs[i] = lines[i].dir;
		if (lines[i].edge != HAL_GPIO_EDGE_NONE)
			edges = true;
		r = fill_settings(settings, &lines[i]);
		if (r < 0)
			goto err;
		if (gpiod_line_config_add_line_settings(lcfg, &lines[i].offset, 1, settings) < 0) {
			r = neg_errno();
			goto err;
		}
	}
	gpiod_request_config_set_consumer(rcfg, consumer ? consumer : "sealbench");
	if (edges) {
		g->evbuf = gpiod_edge_event_buffer_new(HAL_GPIO_EVENT_BUF);
		if (!g->evbuf) {
			r = -ENOMEM;
			goto err;
		}
	}
	g->req = gpiod_chip_request_lines(chip, rcfg, lcfg);
	if (!g->req) {
		r = neg_errno();
		goto err;
	}
	if (edges) {
		int fd = gpiod_line_request_get_fd(g->req);

		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			r = -errno;
			goto err;
		}
	}
	gpiod_request_config_free(rcfg);
	gpiod_line_config_free(lcfg);
	gpiod_line_settings_free(settings);
	gpiod_chip_close(chip);
	*ret = g;
	return 0;

err:
	gpiod_request_config_free(rcfg);
	gpiod_line_config_free(lcfg);
	gpiod_line_settings_free(settings);
	if (chip)
		gpiod_chip_close(chip);
	hal_gpio_release(g);
	return r;
}

void hal_gpio_release(struct hal_gpio *g)
{
	if (!g)
		return;
	if (g->req)
		gpiod_line_request_release(g->req);
	gpiod_edge_event_buffer_free(g->evbuf);
	free(g);
}

int hal_gpio_get_fd(const struct hal_gpio *g)
{
	if (!g || !g->req || !g->evbuf)
		return -1;
	return gpiod_line_request_get_fd(g->req);
}

/* Index of @p offset in the request, or -EINVAL. */
static int find_line(const struct hal_gpio *g, unsigned offset)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		if (g->offsets[i] == offset)
			return (int)i;
	}
	return -EINVAL;
}

int hal_gpio_set(struct hal_gpio *g, unsigned offset, int value)
{
	int i;

	if (!g || !g->req)
		return -EINVAL;
	i = find_line(g, offset);
	if (i < 0 || g->dirs[i] != HAL_GPIO_OUTPUT)
		return -EINVAL;
	if (gpiod_line_request_set_value(g->req, offset,
					 value ? GPIOD_LINE_VALUE_ACTIVE
					       : GPIOD_LINE_VALUE_INACTIVE) < 0)
		return neg_errno();
	return 0;
}

int hal_gpio_get(struct hal_gpio *g, unsigned offset)
{
	enum gpiod_line_value v;

	if (!g || !g->req || find_line(g, offset) < 0)
		return -EINVAL;
	v = gpiod_line_request_get_value(g->req, offset);
	if (v == GPIOD_LINE_VALUE_ERROR)
		return neg_errno();
	return v == GPIOD_LINE_VALUE_ACTIVE ? 1 : 0;
}

int hal_gpio_read_events(struct hal_gpio *g, struct hal_gpio_event *buf, size_t max)
{
	struct gpiod_edge_event *e;
	int n, i;

	if (!g || !g->req || !buf || max == 0)
		return -EINVAL;
	if (!g->evbuf)
		return -EAGAIN; /* no line watches edges: nothing will ever come */
	if (max > HAL_GPIO_EVENT_BUF)
		max = HAL_GPIO_EVENT_BUF;
	n = gpiod_line_request_read_edge_events(g->req, g->evbuf, max);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : neg_errno();
	if (n == 0)
		return -EAGAIN;
	for (i = 0; i < n; i++) {
		e = gpiod_edge_event_buffer_get_event(g->evbuf, (unsigned long)i);
		buf[i].offset = gpiod_edge_event_get_line_offset(e);
		buf[i].rising =
			gpiod_edge_event_get_event_type(e) == GPIOD_EDGE_EVENT_RISING_EDGE;
		buf[i].timestamp_ns = gpiod_edge_event_get_timestamp_ns(e);
		buf[i].seqno = gpiod_edge_event_get_global_seqno(e);
	}
	return n;
}

#else /* !WITH_LIBGPIOD2 */

int hal_gpio_request(const char *chip_path, const char *consumer,
		     const struct hal_gpio_line_cfg *lines, size_t n, struct hal_gpio **ret)
{
	(void)chip_path, (void)consumer, (void)lines, (void)n, (void)ret;
	return -EOPNOTSUPP;
}

void hal_gpio_release(struct hal_gpio *g)
{
	(void)g;
}

int hal_gpio_get_fd(const struct hal_gpio *g)
{
	(void)g;
	return -1;
}

int hal_gpio_set(struct hal_gpio *g, unsigned offset, int value)
{
	(void)g, (void)offset, (void)value;
	return -EOPNOTSUPP;
}

int hal_gpio_get(struct hal_gpio *g, unsigned offset)
{
	(void)g, (void)offset;
	return -EOPNOTSUPP;
}

int hal_gpio_read_events(struct hal_gpio *g, struct hal_gpio_event *buf, size_t max)
{
	(void)g, (void)buf, (void)max;
	return -EOPNOTSUPP;
}

#endif
