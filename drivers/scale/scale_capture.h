/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale_capture.h - recorded serial traffic (tests/data/scale/NAME.log), shared by
 * sealbench-replay, sealbench-decode and the tests. Pure apart from scale_capture_load().
 *
 * Format: gpsd-style header lines, then an umockdev script (umockdev-record output becomes a
 * capture by prepending the header):
 *
 *	# Name: Mettler Toledo PS60
 *	# Firmware: 1.20
 *	# Transport: serial 9600 8N1
 *	# Protocol: mtsics
 *	# Date: 2025-01-31
 *	# Notes: ...
 *	w 0 SI^M^J
 *	r 12 S S      1.234 kg^M^J
 *
 * "r <ms> <data>": bytes the device sent, <ms> after the previous record; "w <ms> <data>":
 * bytes the host wrote (a request; its presence makes the capture request/response).
 * Data bytes below 32 are written '^' followed by (byte + 64) ("^M^J" is CR LF, "^C" ETX), and
 * '^' itself as "^`" (umockdev's escaping). "f" lines are accepted and ignored, "Q" ends the
 * script. Other '#' lines are comments.
 *
 * Not scale-specific: the scanner's serial captures can use it as is (the lead may move it to
 * a neutral place when they do).
 */
#ifndef SEALBENCH_DRIVERS_SCALE_CAPTURE_H
#define SEALBENCH_DRIVERS_SCALE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest header value kept (longer ones are cut). */
#define SCALE_CAPTURE_HDR_MAX 160
/** Largest capture file loaded (captures are minutes of a 9600 baud line at most). */
#define SCALE_CAPTURE_FILE_MAX (4u << 20)

struct scale_capture_rec {
	char op;     /* 'r' device -> host, 'w' host -> device */
	unsigned ms; /* delay since the previous record */
	size_t off;  /* bytes at data + off */
	size_t len;
};

struct scale_capture {
	char name[SCALE_CAPTURE_HDR_MAX];
	char firmware[SCALE_CAPTURE_HDR_MAX];
	char transport[SCALE_CAPTURE_HDR_MAX]; /* "serial 9600 8N1" */
	char protocol[SCALE_CAPTURE_HDR_MAX];  /* "mtsics", "scp01" */
	char date[SCALE_CAPTURE_HDR_MAX];
	char notes[SCALE_CAPTURE_HDR_MAX];
	struct scale_capture_rec *recs;
	size_t n_recs;
	uint8_t *data; /* all records' decoded bytes */
	size_t data_len;
	bool has_writes; /* a request/response capture */
};

/**
 * @brief Parse a capture held in memory.
 * @param ret_line on -EBADMSG, the 1-based line at fault (may be NULL).
 * @return 0 and *ret (free with scale_capture_free()); -EBADMSG; -ENOMEM.
 */
int scale_capture_parse(const char *text, size_t len, struct scale_capture **ret,
			unsigned *ret_line);

/**
 * @brief Read and parse the file at @p path.
 * @return 0 and *ret; -EFBIG larger than SCALE_CAPTURE_FILE_MAX; -errno; as parse.
 */
int scale_capture_load(const char *path, struct scale_capture **ret, unsigned *ret_line);

/** @brief Free. Accepts NULL. */
void scale_capture_free(struct scale_capture *c);

/**
 * @brief Decode umockdev caret escaping: @p n chars at @p s into at most @p n bytes at @p out.
 * @return 0 and *ret_len; -EBADMSG a '^' not followed by '@'..'_' or '`'.
 */
int scale_capture_unescape(const char *s, size_t n, uint8_t *out, size_t *ret_len);

/**
 * @brief Encode bytes with caret escaping (NUL-terminated; cut short if @p size is small).
 * @param size bytes at @p out; 2 * n + 1 is always enough.
 * @return the length the full encoding needs (like snprintf).
 */
size_t scale_capture_escape(const uint8_t *d, size_t n, char *out, size_t size);

/**
 * @brief The line settings of a "serial <settings>" transport ("serial 9600 8N1" ->
 * "9600 8N1"). @return the settings (borrowed from @p c); NULL when not a serial transport.
 */
const char *scale_capture_serial(const struct scale_capture *c);

#endif
