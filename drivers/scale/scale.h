/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale.h - the scale device class.
 *
 * A scale reports weight readings. The class layer (scale.c) looks the backend up by name,
 * owns the handle and does the NULL checks (STYLE 8); backends stay minimal. Readings are
 * integer grams; "stable" is the device's own stable flag (the class-level stability filter
 * with band and time arrives with the real drivers).
 *
 * Ownership: scale_open() returns a handle freed by scale_close(). scale_get_fd() returns a
 * borrowed fd the caller must not close; it is valid until scale_close().
 */
#ifndef SEALBENCH_DRIVERS_SCALE_H
#define SEALBENCH_DRIVERS_SCALE_H

#include <stdbool.h>
#include <stdint.h>

/** Longest device path the board file may give (PATH_MAX is overkill for /dev names). */
#define SCALE_DEVICE_MAX 256
/** Longest backend name ("serial-cas", "usbhid", "sim"). */
#define SCALE_BACKEND_MAX 32
/** Longest model string ("Mettler Toledo PS60 fw 1.2"). */
#define SCALE_MODEL_MAX 64

/** Constant settings from the board file (Zephyr dev->config). */
struct scale_cfg {
	char backend[SCALE_BACKEND_MAX]; /* board.conf scale.backend */
	char device[SCALE_DEVICE_MAX];   /* board.conf scale.device */
	unsigned baud;                   /* board.conf scale.baud, 0 = backend default */
};

enum scale_status {
	SCALE_OK = 0,      /* a reading (stable or in motion) */
	SCALE_UNDER_ZERO,  /* negative gross weight */
	SCALE_OVER_LIMIT,  /* above capacity */
	SCALE_FAULT,       /* device reports an error */
	_SCALE_STATUS_MAX,
	_SCALE_STATUS_INVALID = -22, /* -EINVAL */
};

/** One decoded reading. */
struct scale_reading {
	int32_t grams;            /* net weight, grams */
	bool stable;              /* the device says the weight is stable */
	enum scale_status status;
	uint64_t t_ns;            /* CLOCK_MONOTONIC when decoded */
};

struct scale;

/** Backend operations (one const table per backend, registered in scale.c). */
struct scale_ops {
	const char *name;                                           /* matches scale.backend */
	int (*open)(struct scale *s);                               /* mandatory: uses s->cfg, sets s->priv */
	void (*close)(struct scale *s);                             /* mandatory, must accept half-open */
	int (*get_fd)(const struct scale *s);                       /* mandatory: fd for epoll */
	int (*on_readable)(struct scale *s, struct scale_reading *ret); /* 0, -EAGAIN, -errno */
	int (*tare)(struct scale *s);                               /* optional: NULL -> -EOPNOTSUPP */
};

/** The handle. Backends use cfg (read-only), priv and model; src/ treats it as opaque. */
struct scale {
	const struct scale_ops *ops;
	struct scale_cfg cfg;
	void *priv;
	char model[SCALE_MODEL_MAX]; /* set by the backend at open; "" if unknown */
};

/**
 * @brief Open the backend named by cfg->backend.
 * @return 0 and *ret (free with scale_close()); -ENOENT unknown backend; -errno from the device.
 */
int scale_open(const struct scale_cfg *cfg, struct scale **ret);
/** @brief Close and free. Accepts NULL. */
void scale_close(struct scale *s);
/** @brief The fd to poll for EPOLLIN; borrowed, do not close. */
int scale_get_fd(const struct scale *s);
/**
 * @brief Decode the next reading after the fd polled readable. Call until -EAGAIN.
 * @return 0 and *ret; -EAGAIN when drained (ret untouched); -ENODEV when unplugged; -errno.
 */
int scale_on_readable(struct scale *s, struct scale_reading *ret);
/** @brief Zero the scale. @return 0, -EOPNOTSUPP, -errno. */
int scale_tare(struct scale *s);
/** @brief Device identity for the evidence record ("sim scale"). Borrowed, valid until close. */
const char *scale_get_model(const struct scale *s);
/** @brief Whether a backend of that name is compiled in. */
bool scale_backend_exists(const char *name);

#endif
