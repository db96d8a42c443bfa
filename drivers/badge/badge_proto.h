/* SPDX-License-Identifier: MIT */
/*
 * drivers/badge/badge_proto.h - Wiegand decoding, pure (no fd, no clock).
 *
 * Why this shape: a Wiegand reader has two open-collector lines, D0 and D1, idle high. Each
 * bit is a low pulse (~50-100 us) on D0 for a 0 or on D1 for a 1, one every ~2 ms (readers
 * range from 0.2 to 20 ms); a frame is simply the bits up to a silence, with no start or stop
 * marker. So the decoder works on edge events with the kernel's timestamps (libgpiod v2 edge
 * events), never on the time user space got around to reading them: a bit is the falling edge
 * of D0 or D1, and a frame ends when the gap after its last edge exceeds the configured gap
 * (the pigpio example's 5 ms watchdog splits frames of slow readers; our default is 25 ms).
 * A falling edge on one line while the other is still low, or events the kernel lost
 * (sequence-number gaps), mark the frame corrupt.
 *
 * Frames are then matched by length to the formats: 26-bit H10301, 34-bit H10306, 35-bit HID
 * Corporate 1000, 37-bit H10304, each with its parity bits checked; facility code and card
 * number are split out.
 */
#ifndef SEALBENCH_DRIVERS_BADGE_PROTO_H
#define SEALBENCH_DRIVERS_BADGE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest frame kept; longer bursts are noise and reported as overruns. */
#define BADGE_WIEGAND_BITS_MAX 64
/** Default end-of-frame gap. */
#define BADGE_WIEGAND_GAP_MS_DEFAULT 25
/** Longest accepted end-of-frame gap (badge.gap_ms). */
#define BADGE_WIEGAND_GAP_MS_MAX 1000
/** Longest accepted key timeout of keyboard readers (badge.key_timeout_ms). */
#define BADGE_KEY_TIMEOUT_MS_MAX 60000

enum badge_wiegand_format {
	BADGE_WIEGAND_UNKNOWN = 0, /* a length we do not decode (or not enabled) */
	BADGE_WIEGAND_H10301,      /* 26-bit: 8-bit facility, 16-bit card */
	BADGE_WIEGAND_H10306,      /* 34-bit: 16-bit facility, 16-bit card */
	BADGE_WIEGAND_C1000_35,    /* 35-bit HID Corporate 1000: 12-bit company, 20-bit card */
	BADGE_WIEGAND_H10304,      /* 37-bit: 16-bit facility, 19-bit card */
	_BADGE_WIEGAND_MAX,
};

/** Format bit set for badge.formats: bit (1 << format). */
#define BADGE_WIEGAND_FORMATS_ALL                                                              \
	((1u << BADGE_WIEGAND_H10301) | (1u << BADGE_WIEGAND_H10306) |                         \
	 (1u << BADGE_WIEGAND_C1000_35) | (1u << BADGE_WIEGAND_H10304))

struct badge_wiegand_frame {
	unsigned nbits;             /* bits received (may exceed BADGE_WIEGAND_BITS_MAX) */
	uint64_t raw;               /* the first min(nbits, 64) bits, first received = MSB */
	enum badge_wiegand_format format;
	uint32_t facility;
	uint64_t card;
	bool parity_ok;             /* every parity bit of the format checks out */
	bool corrupt;               /* both lines low at once, lost edges, or an overrun */
	bool valid;                 /* known, enabled format, parity ok, not corrupt */
	uint64_t t_ns;              /* first edge of the frame */
	uint64_t end_ns;            /* last edge of the frame */
};

/**
 * @brief Match @p nbits bits (in @p raw, first received = MSB) against the formats in
 * @p formats (bit set of 1 << enum badge_wiegand_format) and check the parity.
 * Fills every field but the times and corrupt (false); valid = known format && parity_ok.
 */
void badge_proto_wiegand_decode(uint64_t raw, unsigned nbits, unsigned formats,
				struct badge_wiegand_frame *ret);

/** @brief "H10301", "H10306", "C1000-35", "H10304", "unknown". Static string. */
const char *badge_proto_wiegand_format_name(enum badge_wiegand_format f);

/**
 * @brief Parse badge.formats: bit counts "26,34,35,37" (',' or blanks). "" = all.
 * @return 0 and *ret; -EINVAL with *ret untouched.
 */
int badge_proto_parse_formats(const char *text, unsigned *ret);

/**
 * @brief The badge ID text of a valid frame: "<facility>-<card>" in decimal ("123-4567").
 * @return 0; -EINVAL the frame is not valid; -ENOBUFS @p len too small.
 */
int badge_proto_wiegand_id(const struct badge_wiegand_frame *f, char *buf, size_t len);

/** One edge on D0 or D1. */
struct badge_wiegand_edge {
	unsigned line;   /* 0 = D0, 1 = D1 */
	bool rising;     /* false: the line went low (a bit starts) */
	bool lost;       /* the kernel lost events just before this one */
	uint64_t t_ns;   /* kernel timestamp, CLOCK_MONOTONIC */
};

struct badge_wiegand_stats {
	unsigned long frames;     /* valid frames */
	unsigned long bad_parity; /* known length, parity wrong */
	unsigned long bad_length; /* unknown or disabled length */
	unsigned long corrupt;    /* both lines low, lost edges, or more than 64 bits */
};

struct badge_wiegand {
	uint64_t gap_ns;
	unsigned formats;
	uint64_t raw;
	unsigned nbits;
	bool low[2];      /* current level of D0, D1 */
	bool corrupt;
	uint64_t first_ns, last_ns;
	bool active;      /* an edge arrived since the last frame ended */
	struct badge_wiegand_stats stats;
};

/** @brief Start a decoder: frames end after @p gap_ns of silence; @p formats as above. */
void badge_wiegand_init(struct badge_wiegand *w, uint64_t gap_ns, unsigned formats);

/**
 * @brief Decode a batch of edges: call until -EAGAIN with the same batch and @p pos.
 * @return 0 and *ret a frame (check ret->valid: bad parity, unknown lengths and corrupt frames
 *         come out too, for the tools; the stats count them); -EAGAIN every edge consumed.
 */
int badge_wiegand_run(struct badge_wiegand *w, const struct badge_wiegand_edge *edges, size_t n,
		      size_t *pos, struct badge_wiegand_frame *ret);

/**
 * @brief The clock reached @p now_ns: end the frame if its last edge is older than the gap.
 * @return 0 and *ret; -EAGAIN nothing due.
 */
int badge_wiegand_expire(struct badge_wiegand *w, uint64_t now_ns, struct badge_wiegand_frame *ret);

/** @brief When badge_wiegand_expire() has something to do (ns), 0 = never. */
uint64_t badge_wiegand_deadline(const struct badge_wiegand *w);

/**
 * @brief Parse one line of a Wiegand timing file: "offset time_us edge", e.g. "17 2050 falling"
 * (GPIO line offset, microseconds from the start of the capture, rising|falling). Blank lines
 * and '#' comments carry no edge.
 * @return 0 and the outs; -ENOMSG no edge on this line; -EBADMSG malformed.
 */
int badge_proto_wiegand_line(const char *line, unsigned *ret_offset, uint64_t *ret_t_ns,
			     bool *ret_rising);

#endif
