/* SPDX-License-Identifier: MIT */
/*
 * hal/gpio.h - GPIO lines through libgpiod v2 (the character device, never sysfs).
 *
 * Mirrors libgpiod's concepts: one request holds a set of lines of one chip; outputs are set
 * through it; inputs with edge detection deliver edge events with kernel timestamps through
 * one fd (poll it, then hal_gpio_read_events). Built only WITH_LIBGPIOD2; without it every
 * call returns -EOPNOTSUPP. Returns -errno; never logs.
 */
#ifndef SEALBENCH_HAL_GPIO_H
#define SEALBENCH_HAL_GPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Lines in one request (a stack light + buzzer + pedal is 5; Wiegand is 2). */
#define HAL_GPIO_LINES_MAX 16

enum hal_gpio_dir {
	HAL_GPIO_INPUT = 0,
	HAL_GPIO_OUTPUT,
};

enum hal_gpio_edge {
	HAL_GPIO_EDGE_NONE = 0,
	HAL_GPIO_EDGE_RISING,
	HAL_GPIO_EDGE_FALLING,
	HAL_GPIO_EDGE_BOTH,
};

struct hal_gpio_line_cfg {
	unsigned offset;        /* line number on the chip */
	enum hal_gpio_dir dir;
	bool active_low;
	enum hal_gpio_edge edge; /* inputs only */
	unsigned debounce_us;    /* inputs only; 0 = none (kernel debounce where supported) */
	bool bias_pull_up;       /* inputs only */
	int initial;             /* outputs only: 0 or 1 (logical, after active_low) */
};

struct hal_gpio_event {
	unsigned offset;
	bool rising;           /* logical rising edge (after active_low) */
	uint64_t timestamp_ns; /* kernel timestamp, CLOCK_MONOTONIC */
	uint64_t seqno;        /* per-request sequence number: gaps mean lost events */
};

struct hal_gpio;

/**
 * @brief Request @p n lines of the chip at @p chip_path ("/dev/gpiochip0").
 * @param consumer label shown by gpioinfo ("sealbench-lights").
 * @return 0 and *ret (release with hal_gpio_release()); -ENOENT no chip; -EBUSY line taken;
 *         -EINVAL bad config; -EOPNOTSUPP built without libgpiod.
 */
int hal_gpio_request(const char *chip_path, const char *consumer,
		     const struct hal_gpio_line_cfg *lines, size_t n, struct hal_gpio **ret);
/** @brief Release the lines (outputs return to their default). Accepts NULL. */
void hal_gpio_release(struct hal_gpio *g);
/** @brief The edge-event fd (borrowed; do not close). -1 when no line has edge detection. */
int hal_gpio_get_fd(const struct hal_gpio *g);
/** @brief Set one output line (logical value). @return 0 or -errno. */
int hal_gpio_set(struct hal_gpio *g, unsigned offset, int value);
/** @brief Read one input line (logical value). @return 0/1 or -errno. */
int hal_gpio_get(struct hal_gpio *g, unsigned offset);
/**
 * @brief Read pending edge events after the fd polled readable.
 * @return the number of events stored in @p buf (>= 1), -EAGAIN when none, or -errno.
 */
int hal_gpio_read_events(struct hal_gpio *g, struct hal_gpio_event *buf, size_t max);

#endif
