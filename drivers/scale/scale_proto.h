/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale_proto.h - pure parsers for scale protocols (STYLE 2: bytes in, structs
 * out, no fd), so tests and tools reach them without a device.
 */
#ifndef SEALBENCH_DRIVERS_SCALE_PROTO_H
#define SEALBENCH_DRIVERS_SCALE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/scale/scale.h"

/** Longest line of the sim protocol ("-2147483648 motion fault" is 24 bytes; slack for blanks). */
#define SCALE_SIM_LINE_MAX 64

/**
 * @brief Parse one line of the sim scale protocol: "<grams> <stable|motion> [over|under|fault]",
 * tokens separated by blanks, grams a decimal int32 ("1234 stable", "-5 motion",
 * "40000 motion over").
 * @param ret receives grams, stable and status (t_ns is left alone); untouched on failure.
 * @return 0; -EBADMSG malformed; -EINVAL NULL arguments.
 */
int scale_proto_parse_sim(const char *line, struct scale_reading *ret);

/* ---- exact unit conversion ------------------------------------------------------------- */

/**
 * Units of weight. The numbering is the HID POS one (Scale page 0x8D, usages 0x51..0x5C minus
 * 0x50), so a HID data report's unit byte maps directly; the serial protocols map their unit
 * text onto the same list.
 */
enum scale_unit {
	SCALE_UNIT_NONE = 0, /* "units": the scale did not say */
	SCALE_UNIT_MG,	     /* milligram */
	SCALE_UNIT_G,	     /* gram */
	SCALE_UNIT_KG,	     /* kilogram */
	SCALE_UNIT_CT,	     /* metric carat, 0.2 g */
	SCALE_UNIT_TAEL,     /* tael: no single definition (37.5 / 37.8 / 50 g), refused */
	SCALE_UNIT_GR,	     /* grain, 64.79891 mg */
	SCALE_UNIT_DWT,	     /* pennyweight, 24 grains */
	SCALE_UNIT_TONNE,    /* metric ton */
	SCALE_UNIT_TON,	     /* avoirdupois (US short) ton, 2000 lb */
	SCALE_UNIT_OZT,	     /* troy ounce, 31.1034768 g */
	SCALE_UNIT_OZ,	     /* avoirdupois ounce, 28.349523125 g */
	SCALE_UNIT_LB,	     /* avoirdupois pound, 453.59237 g */
	_SCALE_UNIT_MAX,
	_SCALE_UNIT_INVALID = -22, /* -EINVAL */
};

/** @brief Short name of @p u ("g", "lb", "units"); "?" when out of range. Static string. */
const char *scale_unit_name(enum scale_unit u);

/** @brief Name of a reading status ("ok", "under_zero", "over_limit", ...). Static string. */
const char *scale_status_name(enum scale_status st);

/**
 * @brief Convert mantissa x 10^exp10 @p unit to whole grams, exactly.
 *
 * The value is computed as an exact rational (128-bit integers; every unit's gram value is a
 * terminating decimal) and rounded ONCE, to the nearest gram, ties away from zero
 * (12.5 g -> 13 g, -12.5 g -> -13 g, 0.4 g -> 0 g). Nothing is lost to floating point.
 * @param ret_grams untouched on failure.
 * @return 0; -EDOM the unit has no single gram value (NONE, TAEL) or is out of range;
 *         -ERANGE the result does not fit int32_t.
 */
int scale_proto_to_grams(int64_t mantissa, int exp10, enum scale_unit unit, int32_t *ret_grams);

/**
 * @brief Parse a decimal weight as displayed ("-12.345", "  100.00", "+7") into mantissa and
 * power of ten (-12345, -3). Leading/trailing blanks are allowed; at most 18 digits.
 * @return 0; -EBADMSG not a number (outs untouched).
 */
int scale_proto_parse_decimal(const char *s, size_t len, int64_t *ret_mantissa, int *ret_exp10);

/* ---- serial protocols: framing -------------------------------------------------------- */

/** Serial scale protocols (board file: scale.backend = serial-mtsics | serial-scp01). */
enum scale_proto_id {
	SCALE_PROTO_MTSICS = 0, /* Mettler Toledo MT-SICS: CR LF terminated lines */
	SCALE_PROTO_SCP01,	/* NCI / Avery Weigh-Tronix SCP-01: LF ... CR ETX frames */
	_SCALE_PROTO_MAX,
	_SCALE_PROTO_INVALID = -22, /* -EINVAL */
};

/**
 * Longest frame either protocol sends: an MT-SICS identification line with a quoted 40-byte
 * model text, or an SCP-01 weight frame with four status bytes, fit with room to spare.
 * Anything longer without a terminator is garbage (a wrong baud rate, line noise).
 */
#define SCALE_FRAME_MAX 96

/** @brief "mtsics" / "scp01" -> id; _SCALE_PROTO_INVALID otherwise. */
enum scale_proto_id scale_proto_from_name(const char *name);
/** @brief id -> "mtsics" / "scp01"; "?" out of range. */
const char *scale_proto_name(enum scale_proto_id p);

/**
 * @brief Find where the first complete frame of @p p in @p buf ends. This is THE framer: the
 * serial backends, sealbench-replay (to chunk a capture) and sealbench-decode all use it.
 *
 * MT-SICS frames end at LF (a CR before it is the parser's business). SCP-01 frames end at
 * ETX (0x03). Bytes before a frame's start (noise) belong to the frame; the parser skips or
 * rejects them.
 * @return >0 the number of bytes up to and including the terminator; 0 no complete frame yet
 *         (keep the bytes, read more); -EMSGSIZE more than SCALE_FRAME_MAX bytes without a
 *         terminator: drop SCALE_FRAME_MAX bytes and go on.
 */
int scale_proto_frame(enum scale_proto_id p, const uint8_t *buf, size_t len);

/** What a backend may ask a serial scale. */
enum scale_proto_req {
	SCALE_REQ_POLL = 0, /* current weight, stable or not (MT-SICS "SI", SCP-01 "W") */
	SCALE_REQ_ZERO,	    /* zero the scale (MT-SICS "Z", SCP-01 "Z") */
	SCALE_REQ_IDENT,    /* model identification (MT-SICS "I2"; SCP-01 has none: NULL) */
	_SCALE_REQ_MAX,
};

/**
 * @brief The request bytes for @p r in protocol @p p, terminator included ("SI\r\n", "W\r").
 * @return a static string; NULL when out of range.
 */
const char *scale_proto_request(enum scale_proto_id p, enum scale_proto_req r);

/**
 * @brief Decode one frame (as delimited by scale_proto_frame()) into a reading.
 * @param ret grams, stable and status; t_ns left alone. Untouched unless 0 is returned.
 * @return 0 a reading; -EAGAIN a valid frame that carries no reading (a zero acknowledgement,
 *         a busy answer, an identification); -EPROTO the scale answered the last command with an
 *         error (MT-SICS ES/ET/EL or Z I/Z +/Z -, SCP-01 "?"); -EBADMSG garbage or a weight in a
 *         unit we cannot convert.
 */
int scale_proto_parse_frame(enum scale_proto_id p, const uint8_t *frame, size_t len,
			    struct scale_reading *ret);

/* ---- MT-SICS ------------------------------------------------------------------------- */

/** Longest command name kept ("SIR", "I2", "ES"). */
#define SCALE_MTSICS_CMD_MAX 8
/** Longest unit or quoted text kept from a response. */
#define SCALE_MTSICS_TEXT_MAX 48

/**
 * One MT-SICS response line, e.g. "S S     100.00 g", "S D      0.512 kg", "S +", "Z A",
 * "T S      12.0 g", "ES", "I2 A \"PS60 60kg\"".
 */
struct scale_mtsics_resp {
	char cmd[SCALE_MTSICS_CMD_MAX];	  /* "S", "Z", "T", "ES", "ET", "EL", "I2", ... */
	char status;			  /* 'S' stable, 'D' dynamic, 'A' done, 'I' not executed,
					     '+' overload / above range, '-' underload / below
					     range, 'L' logical error; 0 for ES/ET/EL */
	bool has_weight;		  /* S S / S D / T S carry a value */
	int32_t grams;			  /* the value in grams (exact, rounded once) */
	char unit[SCALE_MTSICS_TEXT_MAX]; /* the unit as sent ("g", "kg", "lb") */
	char text[SCALE_MTSICS_TEXT_MAX]; /* the quoted text of an I2 / I3 answer */
};

/**
 * @brief Parse one MT-SICS response line (CR/LF optional at the end).
 * @return 0 and *ret; -EBADMSG not MT-SICS or a unit we cannot convert; -ERANGE weight out of
 *         int32 grams. *ret untouched on failure.
 */
int scale_proto_mtsics_parse(const char *line, size_t len, struct scale_mtsics_resp *ret);

/* ---- SCP-01 (NCI) -------------------------------------------------------------------- */

/** SCP-01 status flags, decoded from the status bytes (see scale_proto.c for the layout). */
enum scale_scp01_flag {
	SCP01_MOTION = 1 << 0,		 /* byte 1 bit 0 */
	SCP01_AT_ZERO = 1 << 1,		 /* byte 1 bit 1 */
	SCP01_RAM_ERROR = 1 << 2,	 /* byte 1 bit 2 */
	SCP01_EEPROM_ERROR = 1 << 3,	 /* byte 1 bit 3 */
	SCP01_UNDER = 1 << 4,		 /* byte 2 bit 0: under capacity */
	SCP01_OVER = 1 << 5,		 /* byte 2 bit 1: over capacity */
	SCP01_ROM_ERROR = 1 << 6,	 /* byte 2 bit 2 */
	SCP01_CAL_ERROR = 1 << 7,	 /* byte 2 bit 3: faulty calibration */
	SCP01_HIGH_RANGE = 1 << 8,	 /* byte 3 bits 0-1 == 11 */
	SCP01_NET = 1 << 9,		 /* byte 3 bit 2: net weight */
	SCP01_INIT_ZERO_ERROR = 1 << 10, /* byte 3 bit 3: initial zero error */
};

/** Most status bytes an SCP-01 frame may carry. */
#define SCALE_SCP01_STATUS_MAX 4

enum scale_scp01_kind {
	SCP01_WEIGHT = 0,   /* answer to W: weight line + status */
	SCP01_STATUS,	    /* answer to S or Z: status only */
	SCP01_UNRECOGNIZED, /* "?": the scale did not understand the command */
};

struct scale_scp01_resp {
	enum scale_scp01_kind kind;
	bool has_weight; /* a weight field that parsed (over/under frames may lack one) */
	int32_t grams;
	enum scale_unit unit;
	unsigned flags;				/* enum scale_scp01_flag */
	unsigned n_status;			/* status bytes seen, 2..SCALE_SCP01_STATUS_MAX */
	uint8_t status[SCALE_SCP01_STATUS_MAX]; /* as received, parity bit masked */
};

/**
 * @brief Parse one SCP-01 frame ("\n  1.25lb\r\n00\r\x03", "\n20\r\x03", "\n?\r\x03").
 * Bytes before the frame's first LF are ignored.
 * @return 0 and *ret; -EBADMSG malformed (bad status byte, missing ETX, unknown unit, weight
 *         missing where the status does not excuse it); -ERANGE weight out of int32 grams.
 */
int scale_proto_scp01_parse(const uint8_t *frame, size_t len, struct scale_scp01_resp *ret);

/* ---- USB HID POS scales -------------------------------------------------------------- */

/** Report ID of the HID POS scale data report. */
#define SCALE_HID_REPORT_ID_DATA 3
/** Bytes of the data report: ID, status, unit, exponent, weight LSB, weight MSB. */
#define SCALE_HID_DATA_LEN 6
/** HID usage page of scales (HID Usage Tables, "Scale Page"). */
#define SCALE_HID_USAGE_PAGE 0x8D

/** The status byte of the data report (Scale Status usages 0x71..0x78 minus 0x70). */
enum scale_hid_status {
	SCALE_HID_FAULT = 1,
	SCALE_HID_AT_ZERO = 2, /* stable at centre of zero */
	SCALE_HID_MOTION = 3,
	SCALE_HID_STABLE = 4,
	SCALE_HID_UNDER_ZERO = 5,
	SCALE_HID_OVER_LIMIT = 6,
	SCALE_HID_NEEDS_CALIBRATION = 7,
	SCALE_HID_NEEDS_REZERO = 8,
};

/** One data report, fields as sent. */
struct scale_hid_data {
	uint8_t status; /* enum scale_hid_status */
	uint8_t unit;	/* enum scale_unit */
	int8_t exp10;	/* signed power of ten */
	uint16_t raw;	/* weight, little endian on the wire */
};

/**
 * @brief Parse a data report (first byte the report ID 3; extra trailing bytes allowed).
 * @return 0; -EBADMSG shorter than SCALE_HID_DATA_LEN, another report ID, a status code
 *         outside 1..8.
 */
int scale_proto_hid_parse(const uint8_t *report, size_t len, struct scale_hid_data *ret);

/**
 * @brief Turn a data report into a reading.
 *
 * Status mapping: fault -> SCALE_FAULT; at zero -> SCALE_OK stable; motion -> SCALE_OK not
 * stable; stable -> SCALE_OK stable; under zero -> SCALE_UNDER_ZERO with grams = minus the
 * reported magnitude (the weight field is unsigned; most scales send 0 there); over limit ->
 * SCALE_OVER_LIMIT; needs calibration -> SCALE_NEEDS_CALIBRATION; needs re-zero ->
 * SCALE_NEEDS_REZERO. Weight: raw x 10^exp10 unit, converted by scale_proto_to_grams().
 * @return 0; -EBADMSG unknown status; -EDOM unit without a gram value; -ERANGE too heavy.
 */
int scale_proto_hid_reading(const struct scale_hid_data *d, struct scale_reading *ret);

/** How a scale can be zeroed from the host. */
enum scale_hid_zero {
	SCALE_HID_ZERO_NONE = 0, /* not supported */
	SCALE_HID_ZERO_OUTPUT,	 /* an output report carries Zero Scale (usage 0x8D:0x80) */
	SCALE_HID_ZERO_FEATURE,	 /* only a feature report does */
};

/** What a HID report descriptor says about a scale. */
struct scale_hid_desc {
	bool is_scale;		    /* a top-level application collection on usage page 0x8D */
	bool has_data_report;	    /* an input report with ID 3 */
	enum scale_hid_zero zero;   /* the output report wins when both exist */
	uint8_t zero_report_id;	    /* report ID carrying Zero Scale (0: no IDs) */
	uint16_t zero_bit;	    /* bit offset of Zero Scale in the report data (ID byte not
				       counted) */
	uint16_t zero_report_bytes; /* data bytes of that report, ID byte not counted */
};

/**
 * @brief Scan a HID report descriptor (short and long items, push/pop, extended usages).
 * @return 0 and *ret; -EBADMSG truncated item or unbalanced collections/pop.
 */
int scale_proto_hid_scan(const uint8_t *desc, size_t len, struct scale_hid_desc *ret);

#endif
