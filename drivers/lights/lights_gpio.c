/* SPDX-License-Identifier: MIT */
/*
 * drivers/lights/lights_gpio.c - the "gpio" indicator: a stack light (red, amber, green)
 * and a buzzer on GPIO output lines, through hal/gpio (libgpiod v2).
 *
 * The lines are cfg->red / amber / green / buzzer (-1 = not fitted; at least one must be),
 * all on one chip: cfg->chip (a path, a name like "gpiochip0" or a label like
 * "pinctrl-rp1"), or cfg->device when chip is empty. cfg->active_low is for boards whose
 * relay or transistor stage switches on a low level; the kernel inverts the lines, so a set
 * bit always means "on". All lines start off. Blink and buzzer patterns are timed by
 * src/indicator.c, which calls set() on each change; only lines whose bit changed are
 * written. On release the lines go back to the kernel and keep their last level (libgpiod
 * semantics), so close() switches everything off first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/lights/lights.h"
#include "hal/gpio.h"

/** Lamps and buzzer, in the order of struct lights_cfg. */
#define LIGHTS_GPIO_OUTPUTS 4

struct lights_gpio {
	struct hal_gpio *g;
	unsigned n;
	unsigned bits[LIGHTS_GPIO_OUTPUTS];
	unsigned offsets[LIGHTS_GPIO_OUTPUTS];
	unsigned mask; /* what the lines show */
};

static int gpio_open(struct lights *l)
{
	const struct lights_cfg *cfg = &l->cfg;
	const int lines[LIGHTS_GPIO_OUTPUTS] = {cfg->red, cfg->amber, cfg->green, cfg->buzzer};
	const unsigned bits[LIGHTS_GPIO_OUTPUTS] = {LIGHT_RED, LIGHT_AMBER, LIGHT_GREEN,
						    LIGHT_BUZZER};
	const char *chip = cfg->chip[0] ? cfg->chip : cfg->device;
	struct hal_gpio_line_cfg lc[LIGHTS_GPIO_OUTPUTS] = {0};
	struct lights_gpio *p;
	unsigned i;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	l->priv = p;
	for (i = 0; i < LIGHTS_GPIO_OUTPUTS; i++) {
		if (lines[i] < 0)
			continue;
		lc[p->n].offset = (unsigned)lines[i];
		lc[p->n].dir = HAL_GPIO_OUTPUT;
		lc[p->n].active_low = cfg->active_low;
		lc[p->n].initial = 0;
		p->bits[p->n] = bits[i];
		p->offsets[p->n] = (unsigned)lines[i];
		p->n++;
	}
	if (!chip[0] || p->n == 0)
		return -EINVAL; /* the class calls close() */
	snprintf(l->model, sizeof(l->model), "GPIO stack light %.40s", chip);
	return hal_gpio_request(chip, "sealbench-lights", lc, p->n, &p->g);
}

static int gpio_set(struct lights *l, unsigned mask)
{
	struct lights_gpio *p = l->priv;
	unsigned i;
	int r;

	for (i = 0; i < p->n; i++) {
		unsigned bit = p->bits[i];

		if ((mask & bit) == (p->mask & bit))
			continue;
		r = hal_gpio_set(p->g, p->offsets[i], !!(mask & bit));
		if (r < 0)
			return r;
		p->mask = (p->mask & ~bit) | (mask & bit);
	}
	return 0;
}

static void gpio_close(struct lights *l)
{
	struct lights_gpio *p = l->priv;
	unsigned i;

	if (!p)
		return;
	for (i = 0; p->g && i < p->n; i++)
		hal_gpio_set(p->g, p->offsets[i], 0);
	hal_gpio_release(p->g);
	free(p);
	l->priv = NULL;
}

const struct lights_ops lights_gpio_ops = {
	.name = "gpio",
	.open = gpio_open,
	.close = gpio_close,
	.set = gpio_set,
	.text = NULL, /* no display */
	.get_fd = NULL,
};
