/* SPDX-License-Identifier: MIT */
/*
 * drivers/scanner/scanner.h - the barcode scanner device class.
 *
 * A scanner delivers whole scans: byte strings that may contain control characters (GS 0x1D,
 * RS 0x1E, EOT 0x04 in ISO/IEC 15434 labels), so a scan carries its length.
 *
 * Ownership as in scale.h: scanner_open() -> scanner_close(); the fd is borrowed.
 */
#ifndef SEALBENCH_DRIVERS_SCANNER_H
#define SEALBENCH_DRIVERS_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCANNER_DEVICE_MAX 256
#define SCANNER_BACKEND_MAX 32
#define SCANNER_MODEL_MAX 64
/** Longest scan: a PDF417 shipping label carries up to ~1.1 KB of 15434 data. */
#define SCANNER_SCAN_MAX 2048
/** Room for one short option value ("ctrl,altnum", "strip", "crlf", "19200 7E1 rtscts"). */
#define SCANNER_OPT_MAX 32
/** Room for the F-key table text: "F1=GS,F2=RS,F3=EOT,..." for up to 24 keys. */
#define SCANNER_FKEYS_TEXT_MAX 256
/** An AIM symbology identifier: ']', code character, modifier character, NUL. */
#define SCANNER_AIM_MAX 4

struct scanner_cfg {
	char backend[SCANNER_BACKEND_MAX]; /* board.conf scanner.backend */
	char device[SCANNER_DEVICE_MAX];   /* board.conf scanner.device */
	unsigned baud;                     /* serial scanners, 0 = default */
	/*
	 * Added for the real backends (evdev, serial). Every field's zero value means "the
	 * default", so code that fills only the fields above keeps working. Parsed and checked by
	 * scanner_proto_parse_opts() when the backend opens (-EINVAL on a bad value).
	 */
	char ctrl_map[SCANNER_OPT_MAX];       /* scanner.ctrl_map: "" = "ctrl,altnum" */
	char fkeys[SCANNER_FKEYS_TEXT_MAX];   /* scanner.fkeys: "F1=GS,F2=RS,F3=EOT" */
	char aim[SCANNER_OPT_MAX];            /* scanner.aim: strip (default) | keep | off */
	char terminator[SCANNER_OPT_MAX];     /* scanner.terminator: "" = enter / cr */
	unsigned key_timeout_ms;              /* scanner.key_timeout_ms: evdev, 0 = 100 */
	unsigned gap_ms;                      /* scanner.gap_ms: serial, 0 = 50 */
	char serial[SCANNER_OPT_MAX];         /* scanner.serial: "9600 8N1" ("" = baud 8N1) */
};

/** One scan. text is NUL-terminated for convenience but may contain NULs: use len. */
struct scanner_scan {
	char text[SCANNER_SCAN_MAX + 1];
	size_t len;
	uint64_t t_ns;
	char aim[SCANNER_AIM_MAX]; /* AIM symbology identifier ("]C1", "]d2"), "" when none */
};

struct scanner;

struct scanner_ops {
	const char *name;                                                /* scanner.backend */
	int (*open)(struct scanner *s);                                  /* mandatory */
	void (*close)(struct scanner *s);                                /* mandatory, half-open ok */
	int (*get_fd)(const struct scanner *s);                          /* mandatory */
	int (*on_readable)(struct scanner *s, struct scanner_scan *ret); /* 0, -EAGAIN, -errno */
};

struct scanner {
	const struct scanner_ops *ops;
	struct scanner_cfg cfg;
	void *priv;
	char model[SCANNER_MODEL_MAX];
};

/** @brief Open by cfg->backend. @return 0 and *ret, -ENOENT unknown backend, -errno. */
int scanner_open(const struct scanner_cfg *cfg, struct scanner **ret);
/** @brief Close and free. Accepts NULL. */
void scanner_close(struct scanner *s);
/** @brief Borrowed fd for EPOLLIN. */
int scanner_get_fd(const struct scanner *s);
/**
 * @brief Next complete scan; call until -EAGAIN.
 * @return 0 and *ret; -EAGAIN drained; -EMSGSIZE a scan longer than SCANNER_SCAN_MAX was
 *         discarded (call again); -ENODEV unplugged; -errno.
 */
int scanner_on_readable(struct scanner *s, struct scanner_scan *ret);
/** @brief Identity for the record. Borrowed. */
const char *scanner_get_model(const struct scanner *s);
bool scanner_backend_exists(const char *name);
/**
 * @brief Check the option fields of @p cfg (ctrl_map, fkeys, aim, terminator, timeouts,
 * serial) for its backend without opening anything, so the config loader can report a bad
 * value with its file:line. open() checks the same and fails with the same code.
 * @return 0; -EINVAL a bad value.
 */
int scanner_check_cfg(const struct scanner_cfg *cfg);

#endif
