/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale.h - the scale device class.
 *
 * A scale reports weight readings. The class layer (scale.c) looks the backend up by name,
 * owns the handle and does the NULL checks (STYLE 8); backends stay minimal. Readings are
 * integer grams.
 *
 * Stability: a reading is stable only when the DEVICE says so AND the class layer's filter
 * agrees: every reading of the current run (device-stable, status OK) lies within
 * cfg.stable_band_g of every other, and the run has lasted cfg.stable_ms (struct scale_filter).
 * Scales settle with a few grams of jitter and some report "stable" too eagerly while a box is
 * still rocking; the filter makes "stable" mean the same on every model. Backends whose stable
 * flag is already final (the sim: the scenario author decides) set ops->stable_is_final.
 *
 * One fd: scale_get_fd() is the only fd the loop watches. Backends that need more than one
 * (a tty plus a poll timer, libusb's several fds) put them in a private epoll fd and return
 * that: an epoll fd polls readable when any fd inside it is ready.
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
/** Longest line-settings string ("4000000 8N1 rtscts" plus slack), see hal_serial_parse(). */
#define SCALE_SERIAL_MAX 32

/**
 * Stability band used when cfg.stable_band_g is 0: one division of jitter on the common
 * shipping scales (0.1 oz = 2.8 g, or 5 g divisions) must not restart the run.
 */
#define SCALE_STABLE_BAND_G_DEFAULT 5
/** Stability time used when cfg.stable_ms is 0. */
#define SCALE_STABLE_MS_DEFAULT 500
/** Poll period of request/response serial scales when cfg.poll_ms is 0. */
#define SCALE_POLL_MS_DEFAULT 200

/** Constant settings from the board file (Zephyr dev->config). */
struct scale_cfg {
	char backend[SCALE_BACKEND_MAX]; /* board.conf scale.backend */
	char device[SCALE_DEVICE_MAX];   /* board.conf scale.device */
	unsigned baud;                   /* board.conf scale.baud, 0 = backend default */
	char serial[SCALE_SERIAL_MAX];   /* board.conf scale.serial ("9600 8N1"); "" = baud 8N1 */
	unsigned stable_band_g;          /* board.conf scale.stable_band_g, 0 = default */
	unsigned stable_ms;              /* board.conf scale.stable_ms, 0 = default */
	unsigned poll_ms;                /* board.conf scale.poll_ms, 0 = default */
	unsigned usb_vid;                /* board.conf scale.usb_vid, 0 = any (usbhid only) */
	unsigned usb_pid;                /* board.conf scale.usb_pid, 0 = any (usbhid only) */
};

enum scale_status {
	SCALE_OK = 0,      /* a reading (stable or in motion) */
	SCALE_UNDER_ZERO,  /* negative gross weight */
	SCALE_OVER_LIMIT,  /* above capacity */
	SCALE_FAULT,       /* device reports an error */
	SCALE_NEEDS_CALIBRATION, /* device asks for calibration; weight not trustworthy */
	SCALE_NEEDS_REZERO,      /* device asks to be zeroed (e.g. powered up with a load) */
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

/**
 * The stability filter (class layer; pure, so tests drive it with made-up timestamps).
 * A "run" is a sequence of consecutive readings that the device calls stable, with status OK,
 * whose minimum and maximum differ by at most band_g. A reading is reported stable once the
 * run it extends has lasted window_ns (measured on the readings' t_ns).
 */
struct scale_filter {
	unsigned band_g;    /* allowed spread of the run */
	uint64_t window_ns; /* how long the run must last */
	bool running;       /* a run is in progress */
	int32_t min_g;      /* smallest reading of the run */
	int32_t max_g;      /* largest reading of the run */
	uint64_t since_ns;  /* t_ns of the run's first reading */
};

/** @brief Set up @p f; 0 for either value means its SCALE_*_DEFAULT. */
void scale_filter_init(struct scale_filter *f, unsigned band_g, unsigned stable_ms);
/** @brief Forget the current run (after a reopen, a tare, an error). */
void scale_filter_reset(struct scale_filter *f);
/**
 * @brief Feed one reading; rewrites @p rd->stable to the filtered verdict.
 * @return the new rd->stable.
 */
bool scale_filter_apply(struct scale_filter *f, struct scale_reading *rd);

struct scale;

/** Backend operations (one const table per backend, registered in scale.c). */
struct scale_ops {
	const char *name;                                           /* matches scale.backend */
	int (*open)(struct scale *s);                               /* mandatory: uses s->cfg, sets s->priv */
	void (*close)(struct scale *s);                             /* mandatory, must accept half-open */
	int (*get_fd)(const struct scale *s);                       /* mandatory: fd for epoll */
	int (*on_readable)(struct scale *s, struct scale_reading *ret); /* 0, -EAGAIN, -errno */
	int (*tare)(struct scale *s);                               /* optional: NULL -> -EOPNOTSUPP */
	bool stable_is_final;                                       /* optional: skip the class filter */
};

/** The handle. Backends use cfg (read-only), priv and model; src/ treats it as opaque. */
struct scale {
	const struct scale_ops *ops;
	struct scale_cfg cfg;
	void *priv;
	char model[SCALE_MODEL_MAX]; /* set by the backend at open; "" if unknown */
	struct scale_filter filter;  /* class layer only */
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
 * ret->stable is the filtered verdict (see the top of this file).
 * @return 0 and *ret; -EAGAIN when drained (ret untouched); -ENODEV when unplugged;
 *         -EBADMSG / -EPROTO a frame was garbage or the scale answered with an error (one
 *         message lost, keep calling); another -errno.
 */
int scale_on_readable(struct scale *s, struct scale_reading *ret);
/**
 * @brief Zero the scale. Serial and USB scales are asked asynchronously: 0 means the request
 * went out; a refusal shows up later as -EPROTO from scale_on_readable().
 * @return 0, -EOPNOTSUPP (the scale has no way to be zeroed from the host), -errno.
 */
int scale_tare(struct scale *s);
/** @brief Device identity for the evidence record ("sim scale"). Borrowed, valid until close. */
const char *scale_get_model(const struct scale *s);
/** @brief Whether a backend of that name is compiled in. */
bool scale_backend_exists(const char *name);

#endif
