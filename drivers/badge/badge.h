/* SPDX-License-Identifier: MIT */
/*
 * drivers/badge/badge.h - the badge reader device class (RFID keyboard readers, Wiegand).
 *
 * Delivers badge IDs as text. What a badge means (packer, lead) is decided in src/.
 * Ownership as in scale.h.
 */
#ifndef SEALBENCH_DRIVERS_BADGE_H
#define SEALBENCH_DRIVERS_BADGE_H

#include <stdbool.h>
#include <stdint.h>

#define BADGE_DEVICE_MAX 256
#define BADGE_BACKEND_MAX 32
#define BADGE_MODEL_MAX 64
/** Longest badge ID: 37-bit Wiegand is 12 decimal digits; keyboard readers send up to ~20. */
#define BADGE_ID_MAX 63

/** Room for one short option value ("26,34,35,37"). */
#define BADGE_OPT_MAX 32

struct badge_cfg {
	char backend[BADGE_BACKEND_MAX]; /* board.conf badge.backend */
	char device[BADGE_DEVICE_MAX];   /* board.conf badge.device */
	/*
	 * Added for the real backends (evdev, wiegand); zero values mean "the default" where
	 * one exists, so code that fills only the fields above keeps working.
	 */
	char chip[BADGE_DEVICE_MAX];     /* badge.chip: wiegand GPIO chip ("" = badge.device) */
	int d0, d1;                      /* badge.d0 / badge.d1: wiegand line offsets (distinct) */
	unsigned gap_ms;                 /* badge.gap_ms: wiegand end-of-frame gap, 0 = 25 */
	char formats[BADGE_OPT_MAX];     /* badge.formats: "26,34,35,37" ("" = all) */
	unsigned key_timeout_ms;         /* badge.key_timeout_ms: keyboard readers, 0 = 100 */
};

struct badge_read {
	char id[BADGE_ID_MAX + 1]; /* printable ASCII, NUL-terminated */
	uint64_t t_ns;
};

struct badge;

struct badge_ops {
	const char *name;
	int (*open)(struct badge *b);
	void (*close)(struct badge *b);
	int (*get_fd)(const struct badge *b);
	int (*on_readable)(struct badge *b, struct badge_read *ret); /* 0, -EAGAIN, -errno */
};

struct badge {
	const struct badge_ops *ops;
	struct badge_cfg cfg;
	void *priv;
	char model[BADGE_MODEL_MAX];
};

/** @brief Open by cfg->backend. @return 0 and *ret, -ENOENT unknown backend, -errno. */
int badge_open(const struct badge_cfg *cfg, struct badge **ret);
void badge_close(struct badge *b);
int badge_get_fd(const struct badge *b);
/** @return 0 and *ret; -EAGAIN drained; -EBADMSG a malformed read was dropped (call again). */
int badge_on_readable(struct badge *b, struct badge_read *ret);
const char *badge_get_model(const struct badge *b);
bool badge_backend_exists(const char *name);
/**
 * @brief Check the option fields of @p cfg for its backend without opening anything (wiegand:
 * d0/d1 set and distinct, formats, gap_ms), so the config loader can report a bad value with
 * its file:line. open() checks the same and fails with the same code.
 * @return 0; -EINVAL a bad value.
 */
int badge_check_cfg(const struct badge_cfg *cfg);

#endif
