/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_scale.c - the scale protocols and backends without a scale.
 *
 * Table-driven parser tests, one row per quirk (gpsd test_packet.c style): exact unit
 * conversion and its rounding rule, decimal fields, the framer, MT-SICS answers, SCP-01
 * frames and status bytes, HID POS data reports (every status code) and report-descriptor
 * scans; the class stability filter; serial line settings; the capture format. Then the real
 * serial backends against a pty pair, driven by the recorded captures in tests/data/scale/
 * (the test is the responder: it waits for each recorded request and plays the answer), ending
 * with an unplug (closing the master) that must come back as -ENODEV.
 *
 * Run from the project root (make test does); all waits are poll() with a timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/scale/scale.h"
#include "drivers/scale/scale_capture.h"
#include "drivers/scale/scale_proto.h"
#include "hal/clock.h"
#include "hal/serial.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/** Longest a test waits for one thing to happen. */
#define WAIT_MS 3000
/** Captures, relative to the project root. */
#define DATA_DIR "tests/data/scale/"

/* ---- exact conversion ---- */

static void to_grams_table(void **state)
{
	static const struct {
		const char *legend;
		int64_t m;
		int e;
		enum scale_unit u;
		int r;
		int32_t g;
	} rows[] = {
		{"grams as is", 1234, 0, SCALE_UNIT_G, 0, 1234},
		{"kg with 3 decimals", 1234, -3, SCALE_UNIT_KG, 0, 1234},
		{"tie rounds away from zero", 125, -1, SCALE_UNIT_G, 0, 13},
		{"negative tie away from zero", -125, -1, SCALE_UNIT_G, 0, -13},
		{"below half rounds down", 124, -1, SCALE_UNIT_G, 0, 12},
		{"0.5 mg g is 0", 5, -1, SCALE_UNIT_MG, 0, 0},
		{"500 mg is 1 g (tie)", 500, 0, SCALE_UNIT_MG, 0, 1},
		{"499 mg is 0 g", 499, 0, SCALE_UNIT_MG, 0, 0},
		{"1 lb", 1, 0, SCALE_UNIT_LB, 0, 454},
		{"12.34 lb", 1234, -2, SCALE_UNIT_LB, 0, 5597},
		{"5.2 oz", 52, -1, SCALE_UNIT_OZ, 0, 147},
		{"1 ozt", 1, 0, SCALE_UNIT_OZT, 0, 31},
		{"5 ct is 1 g", 5, 0, SCALE_UNIT_CT, 0, 1},
		{"1000 gr", 1000, 0, SCALE_UNIT_GR, 0, 65},
		{"10 dwt", 10, 0, SCALE_UNIT_DWT, 0, 16},
		{"1 tonne", 1, 0, SCALE_UNIT_TONNE, 0, 1000000},
		{"1 short ton", 1, 0, SCALE_UNIT_TON, 0, 907185},
		{"exponent up", 12, 2, SCALE_UNIT_G, 0, 1200},
		{"INT32_MAX fits", INT32_MAX, 0, SCALE_UNIT_G, 0, INT32_MAX},
		{"INT32_MIN fits", INT32_MIN, 0, SCALE_UNIT_G, 0, INT32_MIN},
		{"one over INT32_MAX", (int64_t)INT32_MAX + 1, 0, SCALE_UNIT_G, -ERANGE, 0},
		{"huge exponent", 1, 127, SCALE_UNIT_G, -ERANGE, 0},
		{"zero with huge exponent", 0, 127, SCALE_UNIT_G, 0, 0},
		{"tiny exponent rounds to 0", 65535, -128, SCALE_UNIT_KG, 0, 0},
		{"rounding just under a tie", 4999999999LL, -10, SCALE_UNIT_G, 0, 0},
		{"tael refused", 1, 0, SCALE_UNIT_TAEL, -EDOM, 0},
		{"no unit refused", 1, 0, SCALE_UNIT_NONE, -EDOM, 0},
		{"unit out of range", 1, 0, (enum scale_unit)13, -EDOM, 0},
		{"kg overflow", 2147484, 0, SCALE_UNIT_KG, -ERANGE, 0},
	};
	size_t i;
	int32_t g;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		g = 0x5a5a5a5a;
		r = scale_proto_to_grams(rows[i].m, rows[i].e, rows[i].u, &g);
		if (r != rows[i].r)
			fail_msg("%s: returned %d, want %d", rows[i].legend, r, rows[i].r);
		if (r == 0 && g != rows[i].g)
			fail_msg("%s: %d g, want %d", rows[i].legend, g, rows[i].g);
		if (r < 0 && g != 0x5a5a5a5a)
			fail_msg("%s: out-param touched on failure", rows[i].legend);
	}
}

static void decimal_table(void **state)
{
	static const struct {
		const char *s;
		int r;
		int64_t m;
		int e;
	} rows[] = {
		{"  100.00", 0, 10000, -2},
		{"-0.0025", 0, -25, -4},
		{"+7", 0, 7, 0},
		{"7.", 0, 7, 0},
		{".5", 0, 5, -1},
		{"1.2.3", -EBADMSG, 0, 0},
		{"", -EBADMSG, 0, 0},
		{"-", -EBADMSG, 0, 0},
		{"12 kg", -EBADMSG, 0, 0},
		{"1234567890123456789", -EBADMSG, 0, 0},
		{"--1", -EBADMSG, 0, 0},
		{"1 ", 0, 1, 0},
	};
	size_t i;
	int64_t m;
	int e, r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		r = scale_proto_parse_decimal(rows[i].s, strlen(rows[i].s), &m, &e);
		if (r != rows[i].r)
			fail_msg("\"%s\": returned %d", rows[i].s, r);
		if (r == 0 && (m != rows[i].m || e != rows[i].e))
			fail_msg("\"%s\": %lld e%d", rows[i].s, (long long)m, e);
	}
}

/* ---- framing ---- */

static void frame_table(void **state)
{
	static const struct {
		const char *legend;
		enum scale_proto_id p;
		const char *bytes;
		int want;
	} rows[] = {
		{"mtsics complete", SCALE_PROTO_MTSICS, "S S 1 g\r\nS", 9},
		{"mtsics partial", SCALE_PROTO_MTSICS, "S S 1 g\r", 0},
		{"mtsics empty", SCALE_PROTO_MTSICS, "", 0},
		{"mtsics bare LF", SCALE_PROTO_MTSICS, "\n", 1},
		{"scp01 complete", SCALE_PROTO_SCP01, "\n00\r\x03\n", 5},
		{"scp01 LF inside is not the end", SCALE_PROTO_SCP01, "\n1lb\r\n00\r", 0},
		{"scp01 noise before", SCALE_PROTO_SCP01, "xx\n00\r\x03", 7},
	};
	char longbuf[SCALE_FRAME_MAX + 4];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		int r = scale_proto_frame(rows[i].p, (const uint8_t *)rows[i].bytes,
					  strlen(rows[i].bytes));
		if (r != rows[i].want)
			fail_msg("%s: %d, want %d", rows[i].legend, r, rows[i].want);
	}
	memset(longbuf, 'x', sizeof(longbuf));
	assert_int_equal(scale_proto_frame(SCALE_PROTO_MTSICS, (uint8_t *)longbuf, sizeof(longbuf)),
			 -EMSGSIZE);
	assert_int_equal(
		scale_proto_frame(SCALE_PROTO_SCP01, (uint8_t *)longbuf, SCALE_FRAME_MAX - 1), 0);
	longbuf[SCALE_FRAME_MAX - 1] = '\n';
	assert_int_equal(scale_proto_frame(SCALE_PROTO_MTSICS, (uint8_t *)longbuf, sizeof(longbuf)),
			 SCALE_FRAME_MAX);
	assert_int_equal(scale_proto_frame(_SCALE_PROTO_MAX, (uint8_t *)longbuf, 1), -EINVAL);
	assert_int_equal(scale_proto_from_name("scp01"), SCALE_PROTO_SCP01);
	assert_int_equal(scale_proto_from_name("cas"), _SCALE_PROTO_INVALID);
	assert_string_equal(scale_proto_request(SCALE_PROTO_MTSICS, SCALE_REQ_POLL), "SI\r\n");
	assert_string_equal(scale_proto_request(SCALE_PROTO_SCP01, SCALE_REQ_ZERO), "Z\r");
	assert_null(scale_proto_request(SCALE_PROTO_SCP01, SCALE_REQ_IDENT));
}

/* ---- MT-SICS ---- */

/* What scale_proto_parse_frame() makes of a frame. */
#define NO_READING 1

static void mtsics_table(void **state)
{
	static const struct {
		const char *line;
		int parse; /* scale_proto_mtsics_parse() */
		const char *cmd;
		char status;
		int32_t grams; /* when the reading is produced */
		int frame;     /* scale_proto_parse_frame(): 0, NO_READING, -EPROTO, -EBADMSG */
		bool stable;
		enum scale_status st;
	} rows[] = {
		{"S S     100.00 g\r\n", 0, "S", 'S', 100, 0, true, SCALE_OK},
		{"S D      0.512 kg\r\n", 0, "S", 'D', 512, 0, false, SCALE_OK},
		{"S S     -0.0025 kg", 0, "S", 'S', -3, 0, true, SCALE_OK},
		{"S S      2.5 lb\r\n", 0, "S", 'S', 1134, 0, true, SCALE_OK},
		{"S S  5 oz", 0, "S", 'S', 142, 0, true, SCALE_OK},
		{"S +\r\n", 0, "S", '+', 0, 0, false, SCALE_OVER_LIMIT},
		{"S -\r\n", 0, "S", '-', 0, 0, false, SCALE_UNDER_ZERO},
		{"S I\r\n", 0, "S", 'I', 0, NO_READING, false, SCALE_OK},
		{"Z A\r\n", 0, "Z", 'A', 0, NO_READING, false, SCALE_OK},
		{"Z I\r\n", 0, "Z", 'I', 0, -EPROTO, false, SCALE_OK},
		{"Z +\r\n", 0, "Z", '+', 0, -EPROTO, false, SCALE_OK},
		{"Z -\r\n", 0, "Z", '-', 0, -EPROTO, false, SCALE_OK},
		{"T S     12.0 g\r\n", 0, "T", 'S', 0, NO_READING, false, SCALE_OK},
		{"ES\r\n", 0, "ES", 0, 0, -EPROTO, false, SCALE_OK},
		{"ET\r\n", 0, "ET", 0, 0, -EPROTO, false, SCALE_OK},
		{"EL\r\n", 0, "EL", 0, 0, -EPROTO, false, SCALE_OK},
		{"I2 A \"PS60 60kg\"\r\n", 0, "I2", 'A', 0, NO_READING, false, SCALE_OK},
		/* quirks */
		{"S S      1.234 pc\r\n", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"S X      1.234 kg\r\n", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"S S\r\n", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"S D\r\n", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"S SS 1 g", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"T D 1 g", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"Z A 1 g", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"ES junk", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"\r\n", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"s s 1 g", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"\x1b\x1bS S 1 g", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"S S 99999999999 kg", -ERANGE, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"I2 A \"unterminated", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
		{"VERYLONGCMD A", -EBADMSG, NULL, 0, 0, -EBADMSG, false, SCALE_OK},
	};
	struct scale_mtsics_resp m;
	struct scale_reading rd;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const char *l = rows[i].line;

		memset(&m, 0, sizeof(m));
		r = scale_proto_mtsics_parse(l, strlen(l), &m);
		if (r != rows[i].parse)
			fail_msg("\"%s\": parse %d, want %d", l, r, rows[i].parse);
		if (r == 0 && (strcmp(m.cmd, rows[i].cmd) || m.status != rows[i].status))
			fail_msg("\"%s\": cmd %s status %c", l, m.cmd, m.status ? m.status : '0');
		memset(&rd, 0x5a, sizeof(rd));
		r = scale_proto_parse_frame(SCALE_PROTO_MTSICS, (const uint8_t *)l, strlen(l), &rd);
		if (r == -EAGAIN)
			r = NO_READING;
		if (r != rows[i].frame)
			fail_msg("\"%s\": frame %d, want %d", l, r, rows[i].frame);
		if (r != 0) {
			assert_int_equal(rd.grams, 0x5a5a5a5a);
			continue;
		}
		if (rd.grams != rows[i].grams || rd.stable != rows[i].stable ||
		    rd.status != rows[i].st)
			fail_msg("\"%s\": %d g stable %d status %d", l, rd.grams, rd.stable,
				 rd.status);
	}
	assert_int_equal(scale_proto_mtsics_parse("I2 A \"PS60\"", 11, &m), 0);
	assert_string_equal(m.text, "PS60");
}

/* ---- SCP-01 ---- */

static void scp01_table(void **state)
{
	static const struct {
		const char *legend;
		const char *f;
		int parse;
		enum scale_scp01_kind kind;
		unsigned flags;
		int frame;
		int32_t grams;
		bool stable;
		enum scale_status st;
	} rows[] = {
		{"stable lb", "\n  2.50lb\r\n00\r\x03", 0, SCP01_WEIGHT, 0, 0, 1134, true,
		 SCALE_OK},
		{"motion", "\n  1.25lb\r\n10\r\x03", 0, SCP01_WEIGHT, SCP01_MOTION, 0, 567, false,
		 SCALE_OK},
		{"at zero", "\n  0.00lb\r\n20\r\x03", 0, SCP01_WEIGHT, SCP01_AT_ZERO, 0, 0, true,
		 SCALE_OK},
		{"kg", "\n  1.134kg\r\n00\r\x03", 0, SCP01_WEIGHT, 0, 0, 1134, true, SCALE_OK},
		{"oz", "\n 40.0oz\r\n00\r\x03", 0, SCP01_WEIGHT, 0, 0, 1134, true, SCALE_OK},
		{"grams, blank padded", "\n   500g \r\n00\r\x03", 0, SCP01_WEIGHT, 0, 0, 500, true,
		 SCALE_OK},
		{"negative", "\n -0.50lb\r\n00\r\x03", 0, SCP01_WEIGHT, 0, 0, -227, true, SCALE_OK},
		{"over capacity, dashes", "\n--------\r\n02\r\x03", 0, SCP01_WEIGHT, SCP01_OVER, 0,
		 0, true, SCALE_OVER_LIMIT},
		{"under capacity, dashes", "\n--------\r\n01\r\x03", 0, SCP01_WEIGHT, SCP01_UNDER,
		 0, 0, true, SCALE_UNDER_ZERO},
		{"RAM error", "\n  0.00lb\r\n40\r\x03", 0, SCP01_WEIGHT, SCP01_RAM_ERROR, 0, 0,
		 true, SCALE_FAULT},
		{"EEPROM error", "\n  0.00lb\r\n80\r\x03", 0, SCP01_WEIGHT, SCP01_EEPROM_ERROR, 0,
		 0, true, SCALE_FAULT},
		{"ROM error", "\n  0.00lb\r\n04\r\x03", 0, SCP01_WEIGHT, SCP01_ROM_ERROR, 0, 0,
		 true, SCALE_FAULT},
		{"faulty calibration", "\n  0.00lb\r\n08\r\x03", 0, SCP01_WEIGHT, SCP01_CAL_ERROR,
		 0, 0, true, SCALE_NEEDS_CALIBRATION},
		{"net, 3 bytes", "\n  2.50lb\r\n0p4\r\x03", 0, SCP01_WEIGHT, SCP01_NET, 0, 1134,
		 true, SCALE_OK},
		{"initial zero error", "\n  2.50lb\r\n0p8\r\x03", 0, SCP01_WEIGHT,
		 SCP01_INIT_ZERO_ERROR, 0, 1134, true, SCALE_NEEDS_REZERO},
		{"high range, 4 bytes", "\n  2.50lb\r\n0p3p\r\x03", 0, SCP01_WEIGHT,
		 SCP01_HIGH_RANGE, 0, 1134, true, SCALE_OK},
		{"parity bit set", "\n  2.50lb\r\n\xb0\xb0\r\x03", 0, SCP01_WEIGHT, 0, 0, 1134,
		 true, SCALE_OK},
		{"status answer", "\n20\r\x03", 0, SCP01_STATUS, SCP01_AT_ZERO, NO_READING, 0,
		 false, SCALE_OK},
		{"status, under", "\n21\r\x03", 0, SCP01_STATUS, SCP01_AT_ZERO | SCP01_UNDER,
		 NO_READING, 0, false, SCALE_OK},
		{"unrecognized", "\n?\r\x03", 0, SCP01_UNRECOGNIZED, 0, -EPROTO, 0, false,
		 SCALE_OK},
		{"noise before LF", "zz\n  2.50lb\r\n00\r\x03", 0, SCP01_WEIGHT, 0, 0, 1134, true,
		 SCALE_OK},
		/* quirks */
		{"bad status byte", "\n  2.50lb\r\nAB\r\x03", -EBADMSG, 0, 0, -EBADMSG, 0, 0, 0},
		{"byte 1 bit 6", "\n  2.50lb\r\np0\r\x03", -EBADMSG, 0, 0, -EBADMSG, 0, 0, 0},
		{"five status bytes", "\n00000\r\x03", -EBADMSG, 0, 0, -EBADMSG, 0, 0, 0},
		{"unknown unit", "\n  2.50st\r\n00\r\x03", -EBADMSG, 0, 0, -EBADMSG, 0, 0, 0},
		{"dashes, status OK", "\n--------\r\n00\r\x03", -EBADMSG, 0, 0, -EBADMSG, 0, 0, 0},
		{"no ETX", "\n00\r\n", -EBADMSG, 0, 0, -EBADMSG, 0, 0, 0},
		{"no LF at all", "00\r\x03", -EBADMSG, 0, 0, -EBADMSG, 0, 0, 0},
		{"weight without LF", "\n  2.50lb\r00\r\x03", -EBADMSG, 0, 0, -EBADMSG, 0, 0, 0},
		{"empty status", "\n\r\x03", -EBADMSG, 0, 0, -EBADMSG, 0, 0, 0},
	};
	struct scale_scp01_resp m;
	struct scale_reading rd;
	size_t i, n;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const uint8_t *f = (const uint8_t *)rows[i].f;

		n = strlen(rows[i].f);
		r = scale_proto_scp01_parse(f, n, &m);
		if (r != rows[i].parse)
			fail_msg("%s: parse %d, want %d", rows[i].legend, r, rows[i].parse);
		if (r == 0 && (m.kind != rows[i].kind || m.flags != rows[i].flags))
			fail_msg("%s: kind %d flags %#x", rows[i].legend, m.kind, m.flags);
		memset(&rd, 0x5a, sizeof(rd));
		r = scale_proto_parse_frame(SCALE_PROTO_SCP01, f, n, &rd);
		if (r == -EAGAIN)
			r = NO_READING;
		if (r != rows[i].frame)
			fail_msg("%s: frame %d, want %d", rows[i].legend, r, rows[i].frame);
		if (r != 0)
			continue;
		if (rd.grams != rows[i].grams || rd.stable != rows[i].stable ||
		    rd.status != rows[i].st)
			fail_msg("%s: %d g stable %d status %d", rows[i].legend, rd.grams,
				 rd.stable, rd.status);
	}
}

/* ---- HID POS ---- */

static void hid_report_table(void **state)
{
	static const struct {
		const char *legend;
		uint8_t rep[8];
		size_t len;
		int r;
		int32_t grams;
		bool stable;
		enum scale_status st;
	} rows[] = {
		{"fault", {3, 1, 11, 0xff, 0, 0}, 6, 0, 0, false, SCALE_FAULT},
		{"at zero", {3, 2, 11, 0xff, 0, 0}, 6, 0, 0, true, SCALE_OK},
		{"in motion", {3, 3, 11, 0xff, 52, 0}, 6, 0, 147, false, SCALE_OK},
		{"stable 5.2 oz", {3, 4, 11, 0xff, 52, 0}, 6, 0, 147, true, SCALE_OK},
		{"under zero keeps sign",
		 {3, 5, 11, 0xff, 5, 0},
		 6,
		 0,
		 -14,
		 false,
		 SCALE_UNDER_ZERO},
		{"over limit", {3, 6, 12, 0xfe, 0xff, 0xff}, 6, 0, 297262, false, SCALE_OVER_LIMIT},
		{"needs calibration", {3, 7, 2, 0, 0, 0}, 6, 0, 0, false, SCALE_NEEDS_CALIBRATION},
		{"needs re-zero", {3, 8, 2, 0, 0, 0}, 6, 0, 0, false, SCALE_NEEDS_REZERO},
		{"kg, little endian", {3, 4, 3, 0xfd, 0x39, 0x30}, 6, 0, 12345, true, SCALE_OK},
		{"trailing bytes fine", {3, 4, 2, 0, 0xf4, 1, 9, 9}, 8, 0, 500, true, SCALE_OK},
		{"status 0", {3, 0, 2, 0, 0, 0}, 6, -EBADMSG, 0, 0, 0},
		{"status 9", {3, 9, 2, 0, 0, 0}, 6, -EBADMSG, 0, 0, 0},
		{"short", {3, 4, 2, 0, 0}, 5, -EBADMSG, 0, 0, 0},
		{"other report ID", {4, 4, 2, 0, 0, 0}, 6, -EBADMSG, 0, 0, 0},
		{"no unit", {3, 4, 0, 0, 1, 0}, 6, -EDOM, 0, 0, 0},
		{"tael", {3, 4, 5, 0, 1, 0}, 6, -EDOM, 0, 0, 0},
		{"unit 13", {3, 4, 13, 0, 1, 0}, 6, -EDOM, 0, 0, 0},
		{"too heavy", {3, 4, 2, 0x7f, 0xff, 0xff}, 6, -ERANGE, 0, 0, 0},
	};
	struct scale_hid_data d;
	struct scale_reading rd;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		memset(&rd, 0x5a, sizeof(rd));
		r = scale_proto_hid_parse(rows[i].rep, rows[i].len, &d);
		if (r == 0)
			r = scale_proto_hid_reading(&d, &rd);
		if (r != rows[i].r)
			fail_msg("%s: %d, want %d", rows[i].legend, r, rows[i].r);
		if (r != 0) {
			assert_int_equal(rd.grams, 0x5a5a5a5a);
			continue;
		}
		if (rd.grams != rows[i].grams || rd.stable != rows[i].stable ||
		    rd.status != rows[i].st)
			fail_msg("%s: %d g stable %d status %d", rows[i].legend, rd.grams,
				 rd.stable, rd.status);
	}
}

static void hid_scan_table(void **state)
{
	/* The scale of tests/data/scale/hid-output-zero.log. */
	static const uint8_t out_zero[] = {
		0x05, 0x8d, 0x09, 0x01, 0xa1, 0x01, 0x85, 0x03, 0x09, 0x32, 0xa1, 0x02, 0x15, 0x00,
		0x26, 0xff, 0x00, 0x75, 0x08, 0x95, 0x01, 0x09, 0x70, 0x81, 0x02, 0x09, 0x50, 0x81,
		0x02, 0x09, 0x41, 0x81, 0x02, 0x75, 0x10, 0x09, 0x40, 0x81, 0x02, 0xc0, 0x85, 0x02,
		0x09, 0x31, 0xa1, 0x02, 0x15, 0x00, 0x25, 0x01, 0x75, 0x01, 0x95, 0x02, 0x09, 0x80,
		0x09, 0x81, 0x91, 0x02, 0x75, 0x06, 0x95, 0x01, 0x91, 0x03, 0xc0, 0xc0};
	/* Feature report 5 after a 3-bit pad, push/pop, extended usage 0x008D0080. */
	static const uint8_t feat_zero[] = {
		0x05, 0x8d, 0x09, 0x20, 0xa1, 0x01, 0x85, 0x03, 0x09, 0x32, 0xa1, 0x02, 0x75, 0x08,
		0x95, 0x04, 0x09, 0x70, 0x09, 0x50, 0x09, 0x41, 0x09, 0x40, 0x81, 0x02, 0xc0, 0xa4,
		0x85, 0x05, 0x75, 0x03, 0x95, 0x01, 0xb1, 0x03, 0x75, 0x01, 0x95, 0x01, 0x0b, 0x80,
		0x00, 0x8d, 0x00, 0xb1, 0x02, 0x75, 0x04, 0xb1, 0x03, 0xb4, 0xc0};
	/* Zero Scale through a usage range in an output report, no report IDs at all. */
	static const uint8_t range_zero[] = {0x05, 0x8d, 0x09, 0x01, 0xa1, 0x01, 0x75, 0x08, 0x95,
					     0x01, 0x09, 0x70, 0x81, 0x02, 0x75, 0x01, 0x95, 0x02,
					     0x19, 0x80, 0x29, 0x81, 0x91, 0x02, 0xc0};
	/* Boot keyboard (HID 1.11 appendix B.1), abridged. */
	static const uint8_t keyboard[] = {0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x05,
					   0x07, 0x19, 0xe0, 0x29, 0xe7, 0x75, 0x01,
					   0x95, 0x08, 0x81, 0x02, 0xc0};
	/* A long item is skipped whole. */
	static const uint8_t with_long[] = {0xfe, 0x02, 0x10, 0xaa, 0xbb, 0x05,
					    0x8d, 0x09, 0x01, 0xa1, 0x01, 0xc0};
	static const uint8_t truncated[] = {0x05, 0x8d, 0x09, 0x01, 0xa1, 0x01, 0x26, 0xff};
	static const uint8_t unbalanced[] = {0x05, 0x8d, 0x09, 0x01, 0xa1, 0x01};
	static const uint8_t extra_end[] = {0x05, 0x8d, 0x09, 0x01, 0xa1, 0x01, 0xc0, 0xc0};
	static const uint8_t bad_pop[] = {0xb4};
	static const struct {
		const char *legend;
		const uint8_t *d;
		size_t n;
		int r;
		bool scale, data;
		enum scale_hid_zero zero;
		uint8_t id;
		uint16_t bit, bytes;
	} rows[] = {
		{"output zero", out_zero, sizeof(out_zero), 0, true, true, SCALE_HID_ZERO_OUTPUT, 2,
		 0, 1},
		{"feature zero", feat_zero, sizeof(feat_zero), 0, true, true,
		 SCALE_HID_ZERO_FEATURE, 5, 3, 1},
		{"range zero", range_zero, sizeof(range_zero), 0, true, false,
		 SCALE_HID_ZERO_OUTPUT, 0, 0, 1},
		{"keyboard", keyboard, sizeof(keyboard), 0, false, false, SCALE_HID_ZERO_NONE, 0, 0,
		 0},
		{"long item", with_long, sizeof(with_long), 0, true, false, SCALE_HID_ZERO_NONE, 0,
		 0, 0},
		{"truncated item", truncated, sizeof(truncated), -EBADMSG, 0, 0, 0, 0, 0, 0},
		{"open collection", unbalanced, sizeof(unbalanced), -EBADMSG, 0, 0, 0, 0, 0, 0},
		{"extra end collection", extra_end, sizeof(extra_end), -EBADMSG, 0, 0, 0, 0, 0, 0},
		{"pop without push", bad_pop, sizeof(bad_pop), -EBADMSG, 0, 0, 0, 0, 0, 0},
	};
	struct scale_hid_desc d;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		memset(&d, 0x5a, sizeof(d));
		r = scale_proto_hid_scan(rows[i].d, rows[i].n, &d);
		if (r != rows[i].r)
			fail_msg("%s: %d, want %d", rows[i].legend, r, rows[i].r);
		if (r != 0)
			continue;
		if (d.is_scale != rows[i].scale || d.has_data_report != rows[i].data ||
		    d.zero != rows[i].zero)
			fail_msg("%s: scale %d data %d zero %d", rows[i].legend, d.is_scale,
				 d.has_data_report, d.zero);
		if (d.zero && (d.zero_report_id != rows[i].id || d.zero_bit != rows[i].bit ||
			       d.zero_report_bytes != rows[i].bytes))
			fail_msg("%s: id %u bit %u bytes %u", rows[i].legend, d.zero_report_id,
				 d.zero_bit, d.zero_report_bytes);
	}
}

/* ---- stability filter ---- */

static void filter_table(void **state)
{
	/* band 2 g, 300 ms */
	static const struct {
		const char *legend;
		int32_t grams;
		bool dev_stable;
		enum scale_status st;
		unsigned t_ms;
		bool want;
	} rows[] = {
		{"first stable reading starts a run", 1000, true, SCALE_OK, 0, false},
		{"within band, too soon", 1001, true, SCALE_OK, 100, false},
		{"within band, still too soon", 999, true, SCALE_OK, 299, false},
		{"run lasted 300 ms", 1000, true, SCALE_OK, 300, true},
		{"stays stable", 1001, true, SCALE_OK, 400, true},
		{"spread 3 > band restarts", 1002, true, SCALE_OK, 500, false},
		{"new run continues", 1002, true, SCALE_OK, 700, false},
		{"new run confirmed", 1001, true, SCALE_OK, 800, true},
		{"device says motion: reset", 1001, false, SCALE_OK, 900, false},
		{"stable again: new run", 1001, true, SCALE_OK, 1000, false},
		{"over limit: reset", 1001, true, SCALE_OVER_LIMIT, 1100, false},
		{"restart after status", 1001, true, SCALE_OK, 1200, false},
		{"confirmed", 1001, true, SCALE_OK, 1500, true},
		{"time going backwards restarts", 1001, true, SCALE_OK, 1400, false},
		{"extreme values do not overflow", INT32_MIN, true, SCALE_OK, 1500, false},
		{"INT32_MAX vs INT32_MIN restarts", INT32_MAX, true, SCALE_OK, 2000, false},
	};
	struct scale_filter f;
	struct scale_reading rd;
	size_t i;

	(void)state;
	scale_filter_init(&f, 2, 300);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		rd.grams = rows[i].grams;
		rd.stable = rows[i].dev_stable;
		rd.status = rows[i].st;
		rd.t_ns = (uint64_t)rows[i].t_ms * NSEC_PER_MSEC;
		if (scale_filter_apply(&f, &rd) != rows[i].want || rd.stable != rows[i].want)
			fail_msg("%s: got %d", rows[i].legend, rd.stable);
	}
	/* Defaults for 0. */
	scale_filter_init(&f, 0, 0);
	assert_int_equal(f.band_g, SCALE_STABLE_BAND_G_DEFAULT);
	assert_int_equal(f.window_ns, (uint64_t)SCALE_STABLE_MS_DEFAULT * NSEC_PER_MSEC);
}

/* ---- line settings ---- */

static void serial_parse_table(void **state)
{
	static const struct {
		const char *s;
		int r;
		unsigned baud, bits;
		char parity;
		unsigned stop;
		bool rtscts;
		const char *fmt;
	} rows[] = {
		{"9600 8N1", 0, 9600, 8, 'N', 1, false, "9600 8N1"},
		{"19200 7E1", 0, 19200, 7, 'E', 1, false, "19200 7E1"},
		{"2400 7o2", 0, 2400, 7, 'O', 2, false, "2400 7O2"},
		{"115200 8N1 rtscts", 0, 115200, 8, 'N', 1, true, "115200 8N1 rtscts"},
		{"4000000  8N1", 0, 4000000, 8, 'N', 1, false, "4000000 8N1"},
		{"9601 8N1", -EINVAL, 0, 0, 0, 0, 0, NULL},
		{"9600 9N1", -EINVAL, 0, 0, 0, 0, 0, NULL},
		{"9600 8X1", -EINVAL, 0, 0, 0, 0, 0, NULL},
		{"9600 8N3", -EINVAL, 0, 0, 0, 0, 0, NULL},
		{"9600 8N1 xonxoff", -EINVAL, 0, 0, 0, 0, 0, NULL},
		{"9600 8N1 rtscts x", -EINVAL, 0, 0, 0, 0, 0, NULL},
		{"9600", -EINVAL, 0, 0, 0, 0, 0, NULL},
		{"8N1", -EINVAL, 0, 0, 0, 0, 0, NULL},
		{"9600 8N", -EINVAL, 0, 0, 0, 0, 0, NULL},
		{"", -EINVAL, 0, 0, 0, 0, 0, NULL},
	};
	struct hal_serial_cfg c;
	char buf[HAL_SERIAL_FMT_MAX];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		memset(&c, 0x5a, sizeof(c));
		r = hal_serial_parse(rows[i].s, &c);
		if (r != rows[i].r)
			fail_msg("\"%s\": %d", rows[i].s, r);
		if (r != 0) {
			assert_int_equal(c.baud, 0x5a5a5a5a);
			continue;
		}
		if (c.baud != rows[i].baud || c.data_bits != rows[i].bits ||
		    c.parity != rows[i].parity || c.stop_bits != rows[i].stop ||
		    c.rtscts != rows[i].rtscts)
			fail_msg("\"%s\": parsed wrong", rows[i].s);
		assert_int_equal(hal_serial_format(&c, buf, sizeof(buf)), 0);
		assert_string_equal(buf, rows[i].fmt);
	}
	assert_int_equal(hal_serial_parse("9600 8N1", &c), 0);
	assert_int_equal(hal_serial_format(&c, buf, 4), -ENOBUFS);
	assert_int_equal(hal_serial_open("/dev/null", &c), -ENOTTY);
	assert_int_equal(hal_serial_open("/nonexistent/tty", &c), -ENOENT);
}

/* ---- capture format ---- */

static void capture_table(void **state)
{
	static const struct {
		const char *esc;
		int r;
		const char *bytes;
		size_t n;
	} rows[] = {
		{"S S^M^J", 0, "S S\r\n", 5}, {"^@^C^_", 0, "\0\x03\x1f", 3}, {"a^`b", 0, "a^b", 3},
		{"^", -EBADMSG, NULL, 0},     {"^a", -EBADMSG, NULL, 0},      {"", 0, "", 0},
	};
	static const char text[] = "# Name: Test scale\n# Transport: serial 9600 7E1\n"
				   "# Protocol: scp01\n\nw 0 W^M\nr 20 ^J00^M^C\nf 0 -\n"
				   "r 5 tail\nQ\nr 0 ignored after Q\n";
	struct scale_capture *c = NULL;
	uint8_t out[16];
	char enc[32];
	unsigned line = 0;
	size_t i, n;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		r = scale_capture_unescape(rows[i].esc, strlen(rows[i].esc), out, &n);
		if (r != rows[i].r)
			fail_msg("\"%s\": %d", rows[i].esc, r);
		if (r)
			continue;
		assert_int_equal(n, rows[i].n);
		assert_memory_equal(out, rows[i].bytes, n);
		scale_capture_escape(out, n, enc, sizeof(enc));
		assert_string_equal(enc, rows[i].esc); /* round trip */
	}
	assert_int_equal(scale_capture_parse(text, sizeof(text) - 1, &c, &line), 0);
	assert_string_equal(c->name, "Test scale");
	assert_string_equal(scale_capture_serial(c), "9600 7E1");
	assert_string_equal(c->protocol, "scp01");
	assert_true(c->has_writes);
	assert_int_equal(c->n_recs, 3);
	assert_int_equal(c->recs[0].op, 'w');
	assert_int_equal(c->recs[1].ms, 20);
	assert_memory_equal(c->data + c->recs[1].off, "\n00\r\x03", 5);
	assert_memory_equal(c->data + c->recs[2].off, "tail", 4);
	scale_capture_free(c);

	c = NULL;
	assert_int_equal(scale_capture_parse("# x\nr 0 ok\nx 1 bad\n", 19, &c, &line), -EBADMSG);
	assert_null(c);
	assert_int_equal(line, 3);
	assert_int_equal(scale_capture_parse("r zz data\n", 10, &c, &line), -EBADMSG);
	assert_int_equal(scale_capture_parse("r 1 ^q\n", 7, &c, &line), -EBADMSG);
	scale_capture_free(NULL);
}

/* ---- serial backends on a pty, replaying captures ---- */

struct tally {
	unsigned readings, no_reading_frames, eproto, ebadmsg, emsgsize, other;
	int32_t grams[64];
	enum scale_status status[64];
	int last_err;
};

/* Call scale_on_readable() until -EAGAIN or an unplug. @return true when -ENODEV came. */
static bool drain(struct scale *s, struct tally *t)
{
	struct scale_reading rd;
	int r;

	for (;;) {
		r = scale_on_readable(s, &rd);
		if (r == -EAGAIN)
			return false;
		if (r == -ENODEV)
			return true;
		if (r == 0) {
			if (t->readings < ARRAY_SIZE(t->grams)) {
				t->grams[t->readings] = rd.grams;
				t->status[t->readings] = rd.status;
			}
			t->readings++;
			assert_true(rd.t_ns > 0);
		} else if (r == -EPROTO) {
			t->eproto++;
		} else if (r == -EBADMSG) {
			t->ebadmsg++;
		} else if (r == -EMSGSIZE) {
			t->emsgsize++;
		} else {
			t->other++;
			t->last_err = r;
		}
	}
}

/* Wait until the client wrote @p n bytes into @p pend (via @p m), draining the scale meanwhile. */
static void wait_request(struct scale *s, int m, uint8_t *pend, size_t *have, size_t n,
			 struct tally *t)
{
	uint64_t end = clock_now_ns() + WAIT_MS * NSEC_PER_MSEC;
	struct pollfd p[2] = {{.fd = m, .events = POLLIN},
			      {.fd = scale_get_fd(s), .events = POLLIN}};
	ssize_t k;

	while (*have < n) {
		if (clock_now_ns() > end)
			fail_msg("no request within %d ms (have %zu of %zu bytes)", WAIT_MS, *have,
				 n);
		assert_true(poll(p, 2, 50) >= 0);
		if (p[1].revents)
			assert_false(drain(s, t));
		if (p[0].revents & POLLIN) {
			k = read(m, pend + *have, 256 - *have);
			if (k > 0)
				*have += (size_t)k;
		}
	}
}

/* Drain until @p total results were counted, or the deadline. */
static void wait_results(struct scale *s, struct tally *t, unsigned total)
{
	uint64_t end = clock_now_ns() + WAIT_MS * NSEC_PER_MSEC;
	struct pollfd p = {.fd = scale_get_fd(s), .events = POLLIN};

	while (t->readings + t->eproto + t->ebadmsg + t->emsgsize < total && clock_now_ns() < end) {
		if (poll(&p, 1, 50) > 0)
			assert_false(drain(s, t));
	}
}

static bool is_driver_request(enum scale_proto_id proto, const uint8_t *d, size_t n)
{
	int q;

	for (q = 0; q < _SCALE_REQ_MAX; q++) {
		const char *txt = scale_proto_request(proto, (enum scale_proto_req)q);

		if (txt && strlen(txt) == n && !memcmp(txt, d, n))
			return true;
	}
	return false;
}

/*
 * Replay @p file against the backend: the test plays the device. Requests the backend sends
 * (poll, zero, ident) are waited for and compared; other recorded requests (SCP-01 "S", a bad
 * command) are not something the backend sends, so their answers are played unsolicited.
 * scale_tare() is called while the answer before a recorded zero request is still out, as a
 * station would. At the end the master is closed: the backend must say -ENODEV.
 */
static void replay(const char *file, const char *backend, struct tally *t, unsigned expect,
		   char *ret_model, size_t model_len)
{
	struct scale_cfg cfg = {.poll_ms = 5};
	struct scale_capture *cap;
	struct scale *s = NULL;
	enum scale_proto_id proto;
	uint8_t pend[256];
	size_t have = 0, i, j;
	char name[128];
	int m, sl, r;
	uint64_t end;
	struct pollfd p;
	bool gone = false;

	r = scale_capture_load(file, &cap, NULL);
	if (r < 0)
		fail_msg("%s: %s (run from the project root)", file, strerror(-r));
	proto = scale_proto_from_name(cap->protocol);
	assert_true((int)proto >= 0);
	assert_int_equal(openpty(&m, &sl, name, NULL, NULL), 0);
	assert_true(fcntl(m, F_SETFL, O_NONBLOCK | O_RDWR) == 0);
	snprintf(cfg.backend, sizeof(cfg.backend), "%s", backend);
	snprintf(cfg.device, sizeof(cfg.device), "%s", name);
	snprintf(cfg.serial, sizeof(cfg.serial), "%s", scale_capture_serial(cap));
	assert_int_equal(scale_open(&cfg, &s), 0);
	close(sl);
	memset(t, 0, sizeof(*t));

	for (i = 0; i < cap->n_recs; i++) {
		const struct scale_capture_rec *rec = &cap->recs[i];
		const uint8_t *d = cap->data + rec->off;

		if (rec->op == 'w') {
			if (!is_driver_request(proto, d, rec->len))
				continue;
			wait_request(s, m, pend, &have, rec->len, t);
			if (memcmp(pend, d, rec->len))
				fail_msg("%s: record %zu: the backend sent another request", file,
					 i);
			memmove(pend, pend + rec->len, have - rec->len);
			have -= rec->len;
			continue;
		}
		/* A zero follows this answer in the recording: ask for it now. */
		for (j = i + 1; j < cap->n_recs && cap->recs[j].op == 'r'; j++)
			;
		if (j < cap->n_recs &&
		    cap->recs[j].len == strlen(scale_proto_request(proto, SCALE_REQ_ZERO)) &&
		    !memcmp(cap->data + cap->recs[j].off,
			    scale_proto_request(proto, SCALE_REQ_ZERO), cap->recs[j].len) &&
		    (i == 0 || cap->recs[i - 1].op == 'w'))
			assert_int_equal(scale_tare(s), 0);
		assert_int_equal(write(m, d, rec->len), (ssize_t)rec->len);
	}
	wait_results(s, t, expect);
	snprintf(ret_model, model_len, "%s", scale_get_model(s));

	/* Unplug. */
	close(m);
	p.fd = scale_get_fd(s);
	p.events = POLLIN;
	end = clock_now_ns() + WAIT_MS * NSEC_PER_MSEC;
	while (!gone && clock_now_ns() < end) {
		if (poll(&p, 1, 50) > 0)
			gone = drain(s, t);
	}
	assert_true(gone);
	scale_close(s);
	scale_capture_free(cap);
}

static void mtsics_backend_replay(void **state)
{
	struct tally t;
	char model[SCALE_MODEL_MAX];

	(void)state;
	/* mtsics-poll.log: 12 readings, 6 scale errors (Z I, Z +, Z -, ES, ET, EL), 2 bad frames */
	replay(DATA_DIR "mtsics-poll.log", "serial-mtsics", &t, 20, model, sizeof(model));
	assert_string_equal(model, "PS60 60kg");
	assert_int_equal(t.readings, 12);
	assert_int_equal(t.eproto, 6);
	assert_int_equal(t.ebadmsg, 2);
	assert_int_equal(t.other, 0);
	assert_int_equal(t.grams[0], 0);
	assert_int_equal(t.grams[1], 512);
	assert_int_equal(t.grams[3], 1234);
	assert_int_equal(t.status[7], SCALE_OVER_LIMIT);
	assert_int_equal(t.status[8], SCALE_UNDER_ZERO);
	assert_int_equal(t.grams[9], -3);
	assert_int_equal(t.grams[10], 1134); /* 2.5 lb */
	assert_int_equal(t.grams[11], 13);   /* 12.5 g, tie away from zero */
}

static void scp01_backend_replay(void **state)
{
	struct tally t;
	char model[SCALE_MODEL_MAX];

	(void)state;
	/* scp01-poll.log: 16 weight frames, "?" (EPROTO), 2 bad frames; status answers give none */
	replay(DATA_DIR "scp01-poll.log", "serial-scp01", &t, 19, model, sizeof(model));
	assert_string_equal(model, "SCP-01 (NCI) scale");
	assert_int_equal(t.readings, 16);
	assert_int_equal(t.eproto, 1);
	assert_int_equal(t.ebadmsg, 2);
	assert_int_equal(t.other, 0);
	assert_int_equal(t.grams[1], 567);
	assert_int_equal(t.grams[3], 1134); /* the frame split across two reads */
	assert_int_equal(t.status[9], SCALE_OVER_LIMIT);
	assert_int_equal(t.status[10], SCALE_UNDER_ZERO);
	assert_int_equal(t.status[11], SCALE_FAULT);
	assert_int_equal(t.status[14], SCALE_NEEDS_CALIBRATION);
}

/* A streaming scale (no answers to polls): framing across reads, noise, an overlong run. */
static void mtsics_backend_stream(void **state)
{
	struct scale_cfg cfg = {.backend = "serial-mtsics", .poll_ms = 1000};
	struct scale_capture *cap;
	struct scale *s = NULL;
	struct tally t = {0};
	char name[128];
	size_t i;
	int m, sl;

	(void)state;
	assert_int_equal(scale_capture_load(DATA_DIR "mtsics-sir-stream.log", &cap, NULL), 0);
	assert_int_equal(openpty(&m, &sl, name, NULL, NULL), 0);
	snprintf(cfg.device, sizeof(cfg.device), "%s", name);
	assert_int_equal(scale_open(&cfg, &s), 0);
	close(sl);
	for (i = 0; i < cap->n_recs; i++)
		assert_int_equal(write(m, cap->data + cap->recs[i].off, cap->recs[i].len),
				 (ssize_t)cap->recs[i].len);
	/* 12 readings, 3 bad frames, 1 overlong (as its .chk says); the trailing partial line
	 * stays pending */
	wait_results(s, &t, 16);
	assert_int_equal(t.readings, 12);
	assert_int_equal(t.ebadmsg, 3);
	assert_int_equal(t.emsgsize, 1);
	assert_int_equal(t.grams[0], 750);
	assert_int_equal(t.grams[9], 1991);
	assert_int_equal(t.grams[11], 0);
	close(m);
	scale_close(s);
	scale_capture_free(cap);
}

static void serial_backend_errors(void **state)
{
	struct scale_cfg cfg = {.backend = "serial-mtsics"};
	struct scale *s = NULL;

	(void)state;
	snprintf(cfg.device, sizeof(cfg.device), "/nonexistent/ttyUSB9");
	assert_int_equal(scale_open(&cfg, &s), -ENOENT);
	assert_null(s);
	snprintf(cfg.device, sizeof(cfg.device), "/dev/null");
	assert_int_equal(scale_open(&cfg, &s), -ENOTTY);
	snprintf(cfg.serial, sizeof(cfg.serial), "9600 9Z9");
	assert_int_equal(scale_open(&cfg, &s), -EINVAL);
	assert_null(s);
	assert_true(scale_backend_exists("serial-mtsics"));
	assert_true(scale_backend_exists("serial-scp01"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(to_grams_table),	 cmocka_unit_test(decimal_table),
		cmocka_unit_test(frame_table),		 cmocka_unit_test(mtsics_table),
		cmocka_unit_test(scp01_table),		 cmocka_unit_test(hid_report_table),
		cmocka_unit_test(hid_scan_table),	 cmocka_unit_test(filter_table),
		cmocka_unit_test(serial_parse_table),	 cmocka_unit_test(capture_table),
		cmocka_unit_test(serial_backend_errors), cmocka_unit_test(mtsics_backend_replay),
		cmocka_unit_test(scp01_backend_replay),	 cmocka_unit_test(mtsics_backend_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
