/* SPDX-License-Identifier: MIT */
/*
 * drivers/lights/lights.h - the indicator device class: stack light (red/amber/green), buzzer
 * and an optional one-line text display.
 *
 * Mandatory op: set(mask) with the lamps and the buzzer as bits. Blink and buzzer patterns are
 * driven by timers in src/indicator.c, which calls lights_set() on each edge (STYLE 8: the
 * class emulates what a backend leaves out). text() is optional: -EOPNOTSUPP without a display.
 *
 * Ownership as in scale.h. A backend without an input fd returns -1 from get_fd.
 */
#ifndef SEALBENCH_DRIVERS_LIGHTS_H
#define SEALBENCH_DRIVERS_LIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#define LIGHTS_DEVICE_MAX 256
#define LIGHTS_BACKEND_MAX 32
#define LIGHTS_MODEL_MAX 64
/** Longest text line: a 2x20 character display or a 40-column terminal line. */
#define LIGHTS_TEXT_MAX 80

enum {
	LIGHT_RED = 1u << 0,
	LIGHT_AMBER = 1u << 1,
	LIGHT_GREEN = 1u << 2,
	LIGHT_BUZZER = 1u << 3,
};

struct lights_cfg {
	char backend[LIGHTS_BACKEND_MAX]; /* board.conf lights.backend */
	char device[LIGHTS_DEVICE_MAX];   /* board.conf lights.device (sim: output FIFO) */
	char chip[LIGHTS_DEVICE_MAX];     /* board.conf lights.chip (gpio: chip path, name or
					   * label; empty = lights.device) */
	bool active_low;                  /* board.conf lights.active_low (GPIO) */
	int red, amber, green, buzzer;    /* board.conf lights.red ... GPIO lines, -1 unused */
};

struct lights;

struct lights_ops {
	const char *name;
	int (*open)(struct lights *l);                          /* mandatory */
	void (*close)(struct lights *l);                        /* mandatory, half-open ok */
	int (*set)(struct lights *l, unsigned mask);            /* mandatory */
	int (*text)(struct lights *l, const char *line);        /* optional: -EOPNOTSUPP */
	int (*get_fd)(const struct lights *l);                  /* optional: -1 when NULL */
};

struct lights {
	const struct lights_ops *ops;
	struct lights_cfg cfg;
	void *priv;
	char model[LIGHTS_MODEL_MAX];
	unsigned mask; /* last mask set, kept by the class layer */
};

/** @brief Open by cfg->backend. @return 0 and *ret, -ENOENT unknown backend, -errno. */
int lights_open(const struct lights_cfg *cfg, struct lights **ret);
void lights_close(struct lights *l);
/** @brief Set lamps and buzzer. Skips the backend when the mask is unchanged. @return 0/-errno */
int lights_set(struct lights *l, unsigned mask);
/** @brief Show a text line (truncated to LIGHTS_TEXT_MAX). @return 0, -EOPNOTSUPP, -errno. */
int lights_text(struct lights *l, const char *line);
/** @brief The last mask set. */
unsigned lights_get_mask(const struct lights *l);
/** @brief The backend's input fd (borrowed, do not close), or -1 when it has none. */
int lights_get_fd(const struct lights *l);
const char *lights_get_model(const struct lights *l);
bool lights_backend_exists(const char *name);

#endif
