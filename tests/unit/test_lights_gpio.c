/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_lights_gpio.c - what of hal/gpio and the "gpio" lights backend runs
 * without a kernel GPIO chip: the request path's argument checks and its -ENOENT for a chip
 * that is not there (by path, by name, by label), the lights backend's configuration
 * checks, and the stubs' answers. Driving real lines (gpio-sim) is the VM rig's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/lights/lights.h"
#include "hal/gpio.h"

static void gpio_request_checks(void **state)
{
	struct hal_gpio_line_cfg out = {.offset = 5, .dir = HAL_GPIO_OUTPUT};
	struct hal_gpio_line_cfg lines[2] = {
		{.offset = 5, .dir = HAL_GPIO_OUTPUT},
		{.offset = 6, .dir = HAL_GPIO_INPUT, .edge = HAL_GPIO_EDGE_BOTH},
	};
	struct hal_gpio_line_cfg many[HAL_GPIO_LINES_MAX + 1];
	struct hal_gpio_event ev;
	struct hal_gpio *g = NULL;
	unsigned i;

	(void)state;
#ifdef WITH_LIBGPIOD2
	/* No chip at that path, no such /dev name, no chip with that label. */
	assert_int_equal(hal_gpio_request("/nonexistent/gpiochip0", "t", &out, 1, &g), -ENOENT);
	assert_int_equal(hal_gpio_request("gpiochip-not-here", "t", lines, 2, &g), -ENOENT);
	assert_int_equal(hal_gpio_request("pinctrl-nope", NULL, lines, 2, &g), -ENOENT);
	/* Bad configurations fail before any chip is looked at. */
	lines[1].offset = 5; /* duplicate */
	assert_int_equal(hal_gpio_request("/nonexistent/gpiochip0", "t", lines, 2, &g), -EINVAL);
	lines[1].offset = 6;
	out.edge = HAL_GPIO_EDGE_RISING; /* edges on an output */
	assert_int_equal(hal_gpio_request("/nonexistent/gpiochip0", "t", &out, 1, &g), -EINVAL);
	out.edge = HAL_GPIO_EDGE_NONE;
	out.initial = 2;
	assert_int_equal(hal_gpio_request("/nonexistent/gpiochip0", "t", &out, 1, &g), -EINVAL);
	out.initial = 0;
	for (i = 0; i < HAL_GPIO_LINES_MAX + 1; i++)
		many[i] = (struct hal_gpio_line_cfg){.offset = i, .dir = HAL_GPIO_INPUT};
	assert_int_equal(hal_gpio_request("/nonexistent/gpiochip0", "t", many,
					  HAL_GPIO_LINES_MAX + 1, &g),
			 -EINVAL);
	assert_int_equal(hal_gpio_request("/nonexistent/gpiochip0", "t", many, 0, &g), -EINVAL);
	assert_int_equal(hal_gpio_request("", "t", &out, 1, &g), -EINVAL);
	assert_int_equal(hal_gpio_request(NULL, "t", &out, 1, &g), -EINVAL);
	/* A file that exists but is no GPIO chip. */
	assert_true(hal_gpio_request("/dev/null", "t", &out, 1, &g) < 0);
	assert_null(g);
	/* Calls on no handle. */
	assert_int_equal(hal_gpio_set(NULL, 5, 1), -EINVAL);
	assert_int_equal(hal_gpio_get(NULL, 5), -EINVAL);
	assert_int_equal(hal_gpio_read_events(NULL, &ev, 1), -EINVAL);
#else
	(void)many, (void)lines, (void)i;
	assert_int_equal(hal_gpio_request("/dev/gpiochip0", "t", &out, 1, &g), -EOPNOTSUPP);
	assert_int_equal(hal_gpio_set(NULL, 5, 1), -EOPNOTSUPP);
	assert_int_equal(hal_gpio_read_events(NULL, &ev, 1), -EOPNOTSUPP);
#endif
	assert_int_equal(hal_gpio_get_fd(NULL), -1);
	hal_gpio_release(NULL);
}

static void lights_gpio_config(void **state)
{
	struct lights_cfg cfg = {.backend = "gpio", .red = 5, .amber = 6, .green = 13,
				 .buzzer = 19, .active_low = true};
	struct lights *l = NULL;

	(void)state;
#ifdef WITH_LIBGPIOD2
	assert_true(lights_backend_exists("gpio"));
	snprintf(cfg.chip, sizeof(cfg.chip), "/nonexistent/gpiochip0");
	assert_int_equal(lights_open(&cfg, &l), -ENOENT);
	snprintf(cfg.chip, sizeof(cfg.chip), "pinctrl-nope");
	assert_int_equal(lights_open(&cfg, &l), -ENOENT);
	/* lights.device stands in for lights.chip. */
	cfg.chip[0] = '\0';
	snprintf(cfg.device, sizeof(cfg.device), "/nonexistent/gpiochip4");
	assert_int_equal(lights_open(&cfg, &l), -ENOENT);
	/* Two lamps on one line. */
	cfg.green = 5;
	assert_int_equal(lights_open(&cfg, &l), -EINVAL);
	/* Nothing fitted. */
	cfg.red = cfg.amber = cfg.green = cfg.buzzer = -1;
	assert_int_equal(lights_open(&cfg, &l), -EINVAL);
	/* No chip at all. */
	cfg.red = 5;
	cfg.device[0] = '\0';
	assert_int_equal(lights_open(&cfg, &l), -EINVAL);
#else
	assert_false(lights_backend_exists("gpio"));
	assert_int_equal(lights_open(&cfg, &l), -ENOENT);
#endif
	assert_null(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gpio_request_checks),
		cmocka_unit_test(lights_gpio_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
