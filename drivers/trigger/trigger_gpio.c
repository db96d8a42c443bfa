/* SPDX-License-Identifier: MIT */
/*
 * drivers/trigger/trigger_gpio.c - the "gpio" trigger: one GPIO input line through
 * hal/gpio (libgpiod v2) with edge detection on both edges.
 *
 * The chip is cfg->chip (a path, a name like "gpiochip0" or a label like "pinctrl-rp1"),
 * or cfg->device when chip is empty. active_low makes "pressed" the low level (a pedal or
 * an NPN photo-eye switching to ground, usually with pull_up). Edges carry the kernel's
 * CLOCK_MONOTONIC timestamps; debounce is the class layer's, on those timestamps, so the
 * kernel's own debounce is not requested (it is not available on every chip, and ours
 * also counts glitches).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/trigger/trigger.h"
#include "hal/gpio.h"

struct trigger_gpio {
	struct hal_gpio *g;
	unsigned line;
};

static int gpio_open(struct trigger *t)
{
	const struct trigger_cfg *cfg = &t->cfg;
	const char *chip = cfg->chip[0] ? cfg->chip : cfg->device;
	struct hal_gpio_line_cfg lc = {0};
	struct trigger_gpio *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	t->priv = p;
	if (!chip[0] || cfg->line < 0)
		return -EINVAL; /* the class calls close() */
	p->line = (unsigned)cfg->line;
	lc.offset = p->line;
	lc.dir = HAL_GPIO_INPUT;
	lc.active_low = cfg->active_low;
	lc.edge = HAL_GPIO_EDGE_BOTH;
	lc.bias_pull_up = cfg->pull_up;
	snprintf(t->model, sizeof(t->model), "GPIO input %.40s:%u", chip, p->line);
	return hal_gpio_request(chip, "sealbench-trigger", &lc, 1, &p->g);
}

static void gpio_close(struct trigger *t)
{
	struct trigger_gpio *p = t->priv;

	if (!p)
		return;
	hal_gpio_release(p->g);
	free(p);
	t->priv = NULL;
}

static int gpio_get_fd(const struct trigger *t)
{
	const struct trigger_gpio *p = t->priv;

	return hal_gpio_get_fd(p->g);
}

static int gpio_read_edge(struct trigger *t, struct trigger_edge *ret)
{
	struct trigger_gpio *p = t->priv;
	struct hal_gpio_event ev;
	int n;

	n = hal_gpio_read_events(p->g, &ev, 1);
	if (n < 0)
		return n;
	ret->level = ev.rising;
	ret->t_ns = ev.timestamp_ns;
	return 0;
}

static int gpio_get_level(struct trigger *t)
{
	struct trigger_gpio *p = t->priv;

	return hal_gpio_get(p->g, p->line);
}

const struct trigger_ops trigger_gpio_ops = {
	.name = "gpio",
	.open = gpio_open,
	.close = gpio_close,
	.get_fd = gpio_get_fd,
	.read_edge = gpio_read_edge,
	.get_level = gpio_get_level,
};
