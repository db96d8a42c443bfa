/* SPDX-License-Identifier: MIT */
/*
 * drivers/trigger/trigger.h - the trigger device class: one digital input that a person or
 * a sensor operates (a foot pedal, a photo-eye at the end of the roller, a push button).
 *
 * Delivers debounced "pressed" / "released" events with the kernel timestamp of the edge
 * that started the new level. What a press means (take the photo now, accept the weight)
 * is decided in src/.
 *
 * Debounce lives in the class layer, on the backend's raw edges (trigger_proto.h): a level
 * counts once it has held for cfg.debounce_ms, measured on the edges' own timestamps, so a
 * bouncing contact gives one event and a spike shorter than the period gives none. The
 * class fd (trigger_get_fd()) is an epoll set holding the backend's fd and a timerfd that
 * fires when a pending level has held long enough; poll it like any other device fd.
 *
 * Ownership as in scale.h: the handle is freed with trigger_close(); fds are borrowed.
 */
#ifndef SEALBENCH_DRIVERS_TRIGGER_H
#define SEALBENCH_DRIVERS_TRIGGER_H

#include <stdbool.h>
#include <stdint.h>

#define TRIGGER_DEVICE_MAX 256
#define TRIGGER_BACKEND_MAX 32
#define TRIGGER_MODEL_MAX 64
/** Longest debounce period accepted: a human press lasts ~100 ms; more would eat presses. */
#define TRIGGER_DEBOUNCE_MS_MAX 1000

struct trigger_cfg {
	char backend[TRIGGER_BACKEND_MAX]; /* board.conf trigger.backend: gpio | sim */
	char device[TRIGGER_DEVICE_MAX];   /* board.conf trigger.device: sim FIFO (gpio: chip
					    * when trigger.chip is empty) */
	char chip[TRIGGER_DEVICE_MAX];     /* board.conf trigger.chip: GPIO chip path, name or
					    * label ("/dev/gpiochip0", "pinctrl-rp1") */
	int line;                          /* board.conf trigger.line: line offset on the chip */
	bool active_low;                   /* board.conf trigger.active_low: pressed = low
					    * (a pedal or NPN sensor switching to ground) */
	bool pull_up;                      /* board.conf trigger.pull_up: enable the pull-up */
	unsigned debounce_ms;              /* board.conf trigger.debounce_ms: 0 = none */
};

/** A debounced change of the input. */
struct trigger_event {
	bool pressed;  /* the new level: true = active (pressed, beam broken) */
	uint64_t t_ns; /* CLOCK_MONOTONIC time of the edge that began this level */
};

/** A raw edge from a backend (logical level after active_low). */
struct trigger_edge {
	bool level;
	uint64_t t_ns; /* CLOCK_MONOTONIC; the kernel's edge timestamp where there is one */
};

struct trigger;

struct trigger_ops {
	const char *name;
	int (*open)(struct trigger *t);       /* mandatory */
	void (*close)(struct trigger *t);     /* mandatory, half-open ok */
	int (*get_fd)(const struct trigger *t); /* mandatory: readable when edges are queued */
	int (*read_edge)(struct trigger *t, struct trigger_edge *ret); /* 0, -EAGAIN, -errno */
	int (*get_level)(struct trigger *t);  /* optional: the level now, 0/1 or -errno; used
					       * at open and to catch lost edges */
};

struct trigger {
	const struct trigger_ops *ops;
	struct trigger_cfg cfg;
	void *priv;
	char model[TRIGGER_MODEL_MAX];
	void *cls; /* class-layer state (debouncer, epoll set, timer); not for backends */
};

/**
 * @brief Open by cfg->backend.
 * @return 0 and *ret (free with trigger_close()); -ENOENT unknown backend (or no GPIO chip);
 *         -EINVAL bad config (debounce above TRIGGER_DEBOUNCE_MS_MAX, no line); -errno.
 */
int trigger_open(const struct trigger_cfg *cfg, struct trigger **ret);
/** @brief Close and free. Accepts NULL. */
void trigger_close(struct trigger *t);
/** @brief The fd to poll (borrowed; do not close). Stable for the handle's life. */
int trigger_get_fd(const struct trigger *t);
/**
 * @brief Collect events after the fd polled readable; call until -EAGAIN.
 * @return 0 and *ret; -EAGAIN nothing (more) now; -EBADMSG the backend dropped a malformed
 *         input (sim), call again; -ENODEV the input went away; -errno.
 */
int trigger_on_readable(struct trigger *t, struct trigger_event *ret);
/** @brief The debounced level: true while pressed. */
bool trigger_is_pressed(const struct trigger *t);
/** @brief Level changes that did not last the debounce period (contact bounce, spikes). */
unsigned long trigger_get_glitches(const struct trigger *t);
/** @brief What the backend says it is (borrowed, valid until close; "" for NULL). */
const char *trigger_get_model(const struct trigger *t);
/** @brief Whether a backend of that name is compiled in ("gpio" needs WITH_LIBGPIOD2). */
bool trigger_backend_exists(const char *name);

#endif
