/* SPDX-License-Identifier: MIT */
/*
 * tools/sealbench-decode - decode recorded device traffic into one JSON object per line (like
 * gpsd's gpsdecode). The regression suite (tests/regress.sh) diffs its output against the
 * golden *.chk files, and it is the field debugging tool: record, decode, read.
 *
 *	sealbench-decode scale-serial [--protocol mtsics|scp01] FILE...
 *	sealbench-decode scale-hid FILE...
 *	sealbench-decode barcode [--raw] [SCAN...]
 *	sealbench-decode evdev [--ctrl-map LIST] [--fkeys TABLE] [--aim MODE] [--badge] FILE...
 *	sealbench-decode wiegand [--d0 N] [--d1 N] [--gap-ms MS] [--formats LIST] FILE...
 *
 * The decoding is done by the drivers' own code (the framer and parsers in
 * drivers/scale/scale_proto.c, the class stability filter), never by a copy of it.
 *
 * Adding a decoder (barcode, evdev, wiegand, ...): write one static cmd_<name>(argc, argv)
 * below (argv[0] is the subcommand; parse options with getopt_long from there; print with
 * emit()) and add one row to the subcommands[] table. Nothing else changes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "drivers/badge/badge.h"
#include "drivers/badge/badge_proto.h"
#include "drivers/scale/scale.h"
#include "drivers/scale/scale_capture.h"
#include "drivers/scale/scale_proto.h"
#include "drivers/scanner/scanner_proto.h"
#include "src/label.h"
#include "tools/common.h"

/* ---- shared helpers --------------------------------------------------------------------- */

/** Print @p o as one line of JSON and free it. */
static void emit(cJSON *o)
{
	char *s;

	if (!o)
		die("out of memory");
	s = cJSON_PrintUnformatted(o);
	if (!s)
		die("out of memory");
	puts(s);
	cJSON_free(s);
	cJSON_Delete(o);
}

/** Add the bytes as caret-escaped text (ASCII-safe, the capture format's own escaping). */
static void add_raw(cJSON *o, const char *key, const uint8_t *d, size_t n)
{
	size_t need = scale_capture_escape(d, n, NULL, 0) + 1;
	char *s = malloc(need);

	if (!s)
		die("out of memory");
	scale_capture_escape(d, n, s, need);
	cJSON_AddStringToObject(o, key, s);
	free(s);
}

/** Name of a negative errno for JSON ("EPROTO"); the code's number otherwise. */
static const char *err_name(int r)
{
	switch (r) {
	case -EAGAIN:
		return "EAGAIN";
	case -EPROTO:
		return "EPROTO";
	case -EBADMSG:
		return "EBADMSG";
	case -ERANGE:
		return "ERANGE";
	case -EDOM:
		return "EDOM";
	case -EMSGSIZE:
		return "EMSGSIZE";
	default:
		return strerrorname_np(-r) ? strerrorname_np(-r) : "E?";
	}
}

/** The outcome of turning a frame into a reading, as the station sees it. */
static const char *result_name(int r)
{
	return r == 0 ? "reading" : r == -EAGAIN ? "no_reading" : r == -EPROTO ? "scale_error"
								: "bad_frame";
}

static cJSON *reading_json(const struct scale_reading *rd, struct scale_filter *f)
{
	cJSON *o = cJSON_CreateObject();
	struct scale_reading fr = *rd;

	cJSON_AddNumberToObject(o, "grams", rd->grams);
	cJSON_AddBoolToObject(o, "stable", rd->stable);
	cJSON_AddStringToObject(o, "status", scale_status_name(rd->status));
	if (f)
		cJSON_AddBoolToObject(o, "filtered_stable", scale_filter_apply(f, &fr));
	return o;
}

static void print_header(const char *path, const struct scale_capture *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", "capture");
	cJSON_AddStringToObject(o, "file", path);
	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "firmware", c->firmware);
	cJSON_AddStringToObject(o, "transport", c->transport);
	emit(o);
}

/* ---- scale-serial ---------------------------------------------------------------------- */

static void scp01_fields(cJSON *o, const struct scale_scp01_resp *m)
{
	static const char *const kinds[] = {"weight", "status", "unrecognized"};
	static const struct {
		unsigned flag;
		const char *name;
	} flags[] = {
		{SCP01_MOTION, "motion"},	  {SCP01_AT_ZERO, "at_zero"},
		{SCP01_RAM_ERROR, "ram_error"},	  {SCP01_EEPROM_ERROR, "eeprom_error"},
		{SCP01_UNDER, "under_capacity"}, {SCP01_OVER, "over_capacity"},
		{SCP01_ROM_ERROR, "rom_error"},	  {SCP01_CAL_ERROR, "calibration_error"},
		{SCP01_HIGH_RANGE, "high_range"}, {SCP01_NET, "net"},
		{SCP01_INIT_ZERO_ERROR, "initial_zero_error"},
	};
	cJSON *a;
	size_t i;

	cJSON_AddStringToObject(o, "kind", kinds[m->kind]);
	if (m->kind == SCP01_UNRECOGNIZED)
		return;
	add_raw(o, "status_bytes", m->status, m->n_status);
	a = cJSON_AddArrayToObject(o, "flags");
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (m->flags & flags[i].flag)
			cJSON_AddItemToArray(a, cJSON_CreateString(flags[i].name));
	}
	if (m->has_weight) {
		cJSON_AddNumberToObject(o, "grams", m->grams);
		cJSON_AddStringToObject(o, "unit", scale_unit_name(m->unit));
	}
}

static void mtsics_fields(cJSON *o, const struct scale_mtsics_resp *m)
{
	char st[2] = {m->status, '\0'};

	cJSON_AddStringToObject(o, "cmd", m->cmd);
	if (m->status)
		cJSON_AddStringToObject(o, "status", st);
	if (m->has_weight) {
		cJSON_AddNumberToObject(o, "grams", m->grams);
		cJSON_AddStringToObject(o, "unit", m->unit);
	}
	if (m->text[0])
		cJSON_AddStringToObject(o, "text", m->text);
}

static void decode_frame(enum scale_proto_id proto, const uint8_t *f, size_t n, uint64_t t_ns,
			 struct scale_filter *filter)
{
	struct scale_reading rd = {.t_ns = t_ns};
	struct scale_mtsics_resp m;
	struct scale_scp01_resp s;
	cJSON *o = cJSON_CreateObject();
	int pr, r;

	cJSON_AddStringToObject(o, "type", "frame");
	cJSON_AddStringToObject(o, "proto", scale_proto_name(proto));
	cJSON_AddNumberToObject(o, "ms", (double)(t_ns / 1000000));
	add_raw(o, "raw", f, n);
	if (proto == SCALE_PROTO_MTSICS) {
		pr = scale_proto_mtsics_parse((const char *)f, n, &m);
		if (pr == 0)
			mtsics_fields(o, &m);
	} else {
		pr = scale_proto_scp01_parse(f, n, &s);
		if (pr == 0)
			scp01_fields(o, &s);
	}
	if (pr < 0)
		cJSON_AddStringToObject(o, "error", err_name(pr));
	r = scale_proto_parse_frame(proto, f, n, &rd);
	cJSON_AddStringToObject(o, "result", result_name(r));
	if (r == 0)
		cJSON_AddItemToObject(o, "reading", reading_json(&rd, filter));
	emit(o);
}

static void decode_serial(const char *path, enum scale_proto_id proto, unsigned band,
			  unsigned stable_ms)
{
	struct scale_filter filter;
	struct scale_capture *c;
	uint8_t *buf;
	uint64_t t_ns = 0;
	size_t have = 0, i;
	unsigned line = 0;
	cJSON *o;
	int r, f;

	r = scale_capture_load(path, &c, &line);
	if (r == -EBADMSG)
		die("%s:%u: not a capture line", path, line);
	if (r < 0)
		die_errno(r, "%s", path);
	if ((int)proto < 0)
		proto = scale_proto_from_name(c->protocol);
	if ((int)proto < 0)
		die("%s: no '# Protocol:' header; give --protocol", path);
	print_header(path, c);
	scale_filter_init(&filter, band, stable_ms);
	buf = malloc(c->data_len + 1);
	if (!buf)
		die("out of memory");
	for (i = 0; i < c->n_recs; i++) {
		const struct scale_capture_rec *rec = &c->recs[i];

		t_ns += (uint64_t)rec->ms * 1000000ULL;
		if (rec->op == 'w') {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "type", "request");
			cJSON_AddNumberToObject(o, "ms", (double)(t_ns / 1000000));
			add_raw(o, "raw", c->data + rec->off, rec->len);
			emit(o);
			continue;
		}
		memcpy(buf + have, c->data + rec->off, rec->len);
		have += rec->len;
		/* The driver's framer decides where frames end, exactly as on the line. */
		while ((f = scale_proto_frame(proto, buf, have)) != 0) {
			if (f < 0) {
				o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "type", "overlong");
				add_raw(o, "raw", buf, SCALE_FRAME_MAX);
				emit(o);
				f = SCALE_FRAME_MAX;
			} else {
				decode_frame(proto, buf, (size_t)f, t_ns, &filter);
			}
			memmove(buf, buf + f, have - (size_t)f);
			have -= (size_t)f;
		}
	}
	if (have) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "partial");
		add_raw(o, "raw", buf, have);
		emit(o);
	}
	free(buf);
	scale_capture_free(c);
}

static void usage_scale_serial(FILE *out)
{
	fprintf(out,
		"usage: %s scale-serial [--protocol mtsics|scp01] [--band G] [--stable-ms MS] "
		"FILE...\n"
		"  FILE is a serial capture (# header + umockdev r/w script). The protocol comes\n"
		"  from its '# Protocol:' header unless given. --band/--stable-ms set the class\n"
		"  stability filter (defaults %u g, %u ms) for \"filtered_stable\".\n",
		get_prog_name(), SCALE_STABLE_BAND_G_DEFAULT, SCALE_STABLE_MS_DEFAULT);
}

static int cmd_scale_serial(int argc, char **argv)
{
	static const struct option opts[] = {
		{"protocol", required_argument, NULL, 'p'},
		{"band", required_argument, NULL, 'b'},
		{"stable-ms", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum scale_proto_id proto = _SCALE_PROTO_INVALID;
	unsigned band = 0, stable_ms = 0;
	int c, i;

	while ((c = getopt_long(argc, argv, "p:b:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			proto = scale_proto_from_name(optarg);
			if ((int)proto < 0)
				die("unknown protocol '%s' (mtsics, scp01)", optarg);
			break;
		case 'b':
			band = (unsigned)parse_uint_or_die("--band", optarg, 1, 1000000);
			break;
		case 's':
			stable_ms = (unsigned)parse_uint_or_die("--stable-ms", optarg, 1, 600000);
			break;
		case 'h':
			usage_scale_serial(stdout);
			return 0;
		default:
			usage_scale_serial(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage_scale_serial(stderr);
		return 2;
	}
	for (i = optind; i < argc; i++)
		decode_serial(argv[i], proto, band, stable_ms);
	return 0;
}

/* ---- scale-hid --------------------------------------------------------------------------- */

/** Longest line of a HID capture (a 64-byte report is 191 characters of hex). */
#define HID_LINE_MAX 1024
/** Longest report or descriptor we decode from one line. */
#define HID_BYTES_MAX 512

/* "03 04 02 ff 34 12" (blanks optional between bytes). @return bytes, or -1. */
static int parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned v;
	int k;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '\n' || *s == '\r')
			return (int)n;
		if (n == max || sscanf(s, "%2x%n", &v, &k) != 1 || k != 2)
			return -1;
		out[n++] = (uint8_t)v;
		s += k;
	}
}

static void hid_descriptor(const uint8_t *d, size_t n)
{
	static const char *const zero[] = {"none", "output", "feature"};
	struct scale_hid_desc hd;
	cJSON *o = cJSON_CreateObject();
	int r = scale_proto_hid_scan(d, n, &hd);

	cJSON_AddStringToObject(o, "type", "descriptor");
	if (r < 0) {
		cJSON_AddStringToObject(o, "error", err_name(r));
		emit(o);
		return;
	}
	cJSON_AddBoolToObject(o, "is_scale", hd.is_scale);
	cJSON_AddBoolToObject(o, "data_report", hd.has_data_report);
	cJSON_AddStringToObject(o, "zero", zero[hd.zero]);
	if (hd.zero != SCALE_HID_ZERO_NONE) {
		cJSON_AddNumberToObject(o, "zero_report_id", hd.zero_report_id);
		cJSON_AddNumberToObject(o, "zero_bit", hd.zero_bit);
		cJSON_AddNumberToObject(o, "zero_report_bytes", hd.zero_report_bytes);
	}
	emit(o);
}

static void hid_report(const uint8_t *b, size_t n, unsigned index, bool *seen_data,
		       struct scale_filter *filter, uint64_t t_ns)
{
	static const char *const st[] = {"?",	   "fault",	  "at_zero",
					 "motion", "stable",	  "under_zero",
					 "over_limit", "needs_calibration", "needs_rezero"};
	struct scale_reading rd = {.t_ns = t_ns};
	struct scale_hid_data hd;
	cJSON *o = cJSON_CreateObject();
	char hex[3 * HID_BYTES_MAX + 1] = "";
	size_t i, off = 0;
	int r;

	for (i = 0; i < n; i++)
		off += (size_t)snprintf(hex + off, sizeof(hex) - off, i ? " %02x" : "%02x", b[i]);
	cJSON_AddStringToObject(o, "type", "report");
	cJSON_AddNumberToObject(o, "index", index);
	cJSON_AddStringToObject(o, "raw", hex);
	if (n == 0 || b[0] != SCALE_HID_REPORT_ID_DATA) {
		cJSON_AddStringToObject(o, "result", "ignored"); /* not a data report */
		emit(o);
		return;
	}
	r = scale_proto_hid_parse(b, n, &hd);
	if (r == 0) {
		cJSON_AddStringToObject(o, "status", st[hd.status]);
		cJSON_AddStringToObject(o, "unit", scale_unit_name((enum scale_unit)hd.unit));
		cJSON_AddNumberToObject(o, "exp", hd.exp10);
		cJSON_AddNumberToObject(o, "weight", hd.raw);
	}
	if (!*seen_data) {
		/* The driver drops the first data report after open (stale). */
		*seen_data = true;
		cJSON_AddStringToObject(o, "result", "stale_dropped");
		emit(o);
		return;
	}
	if (r == 0)
		r = scale_proto_hid_reading(&hd, &rd);
	if (r < 0) {
		cJSON_AddStringToObject(o, "result", "bad_report");
		cJSON_AddStringToObject(o, "error", err_name(r));
	} else {
		cJSON_AddStringToObject(o, "result", "reading");
		cJSON_AddItemToObject(o, "reading", reading_json(&rd, filter));
	}
	emit(o);
}

/*
 * A HID capture: '#' header lines (a "# Report-Descriptor: <hex>" line is decoded too), then
 * one input report per line in hex, optionally prefixed "<ms>:" (time since the previous
 * report, for the stability filter; 200 ms when absent).
 */
#define HID_DEFAULT_GAP_MS 200

static void decode_hid(const char *path, unsigned band, unsigned stable_ms)
{
	static const char desc_key[] = "# Report-Descriptor:";
	char line[HID_LINE_MAX], *p, *e;
	uint8_t b[HID_BYTES_MAX];
	struct scale_filter filter;
	struct scale_capture hdr = {0};
	unsigned lineno = 0, index = 0;
	uint64_t t_ns = 0;
	unsigned long gap;
	bool seen = false;
	FILE *f;
	int n;

	f = fopen(path, "re");
	if (!f)
		die_perror("%s", path);
	/* Header first (gpsd style), through the capture parser so both formats agree. */
	while (fgets(line, sizeof(line), f) && line[0] == '#') {
		struct scale_capture *c;

		if (scale_capture_parse(line, strlen(line), &c, NULL) == 0) {
			if (c->name[0])
				memcpy(hdr.name, c->name, sizeof(hdr.name));
			if (c->firmware[0])
				memcpy(hdr.firmware, c->firmware, sizeof(hdr.firmware));
			if (c->transport[0])
				memcpy(hdr.transport, c->transport, sizeof(hdr.transport));
			scale_capture_free(c);
		}
	}
	print_header(path, &hdr);
	rewind(f);
	scale_filter_init(&filter, band, stable_ms);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strncmp(line, desc_key, sizeof(desc_key) - 1)) {
			n = parse_hex(line + sizeof(desc_key) - 1, b, sizeof(b));
			if (n < 0)
				die("%s:%u: bad hex in the report descriptor", path, lineno);
			hid_descriptor(b, (size_t)n);
			continue;
		}
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		p = line;
		gap = HID_DEFAULT_GAP_MS;
		e = strchr(line, ':');
		if (e) {
			gap = strtoul(line, &p, 10);
			if (p != e)
				die("%s:%u: expected \"<ms>: <hex>\"", path, lineno);
			p = e + 1;
		}
		n = parse_hex(p, b, sizeof(b));
		if (n < 0)
			die("%s:%u: bad hex", path, lineno);
		t_ns += (uint64_t)gap * 1000000ULL;
		hid_report(b, (size_t)n, index++, &seen, &filter, t_ns);
	}
	fclose(f);
}

static void usage_scale_hid(FILE *out)
{
	fprintf(out,
		"usage: %s scale-hid [--band G] [--stable-ms MS] FILE...\n"
		"  FILE holds HID input reports, one per line in hex (\"03 04 02 ff 34 12\"),\n"
		"  optionally prefixed \"<ms>:\"; '#' header lines; \"# Report-Descriptor: <hex>\"\n"
		"  is scanned for usage page 0x8D. The first data report is shown as dropped, as\n"
		"  the driver drops it.\n",
		get_prog_name());
}

static int cmd_scale_hid(int argc, char **argv)
{
	static const struct option opts[] = {
		{"band", required_argument, NULL, 'b'},
		{"stable-ms", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned band = 0, stable_ms = 0;
	int c, i;

	while ((c = getopt_long(argc, argv, "b:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			band = (unsigned)parse_uint_or_die("--band", optarg, 1, 1000000);
			break;
		case 's':
			stable_ms = (unsigned)parse_uint_or_die("--stable-ms", optarg, 1, 600000);
			break;
		case 'h':
			usage_scale_hid(stdout);
			return 0;
		default:
			usage_scale_hid(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage_scale_hid(stderr);
		return 2;
	}
	for (i = optind; i < argc; i++)
		decode_hid(argv[i], band, stable_ms);
	return 0;
}

/* ---- barcode ----------------------------------------------------------------------------- */

/** Longest scan we decode: PDF417 label data is under 2 KB; escapes make the text longer. */
#define BARCODE_SCAN_MAX 8192

/* One scan through the station's own parser (src/label.c), printed as one JSON line. */
static void decode_barcode(const char *scan, size_t len)
{
	struct label l;
	char *json;
	int r;

	r = label_parse(scan, len, &l);
	if (r == 0)
		r = label_to_json(&l, &json);
	if (r < 0)
		die_errno(r, "barcode");
	puts(json);
	free(json);
}

static void decode_barcode_escaped(const char *text, const char *where)
{
	static char buf[BARCODE_SCAN_MAX];
	size_t n;
	int r;

	r = label_unescape(text, buf, sizeof(buf), &n);
	if (r == -ENOBUFS)
		die("%s: scan longer than %d bytes", where, BARCODE_SCAN_MAX);
	if (r < 0)
		die("%s: bad escape (use \\xHH, \\GS, \\RS, \\EOT, \\FNC1, \\\\)", where);
	decode_barcode(buf, n);
}

static void usage_barcode(FILE *out)
{
	fprintf(out,
		"usage: %s barcode [--raw] [SCAN...]\n"
		"  Classify scans as the station does (carrier, tracking number and check digit,\n"
		"  GS1 AIs, ISO/IEC 15434 label fields) and print one JSON object per scan.\n"
		"  SCAN is the scanner's text with escapes: \\xHH, \\GS (also FNC1), \\RS,\n"
		"  \\EOT, \\FNC1, \\\\, \\n, \\r, \\t. Without SCAN, each stdin line is one scan.\n"
		"  --raw: stdin is one scan, bytes as the scanner sent them (no escapes).\n",
		get_prog_name());
}

static int cmd_barcode(int argc, char **argv)
{
	static const struct option opts[] = {
		{"raw", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static char line[BARCODE_SCAN_MAX];
	bool raw = false;
	unsigned lineno = 0;
	char where[32];
	size_t n;
	int c, i;

	while ((c = getopt_long(argc, argv, "rh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			raw = true;
			break;
		case 'h':
			usage_barcode(stdout);
			return 0;
		default:
			usage_barcode(stderr);
			return 2;
		}
	}
	if (raw) {
		if (optind != argc) {
			usage_barcode(stderr);
			return 2;
		}
		n = fread(line, 1, sizeof(line), stdin);
		if (ferror(stdin))
			die_perror("stdin");
		if (n == sizeof(line))
			die("stdin: scan longer than %zu bytes", sizeof(line) - 1);
		decode_barcode(line, n);
		return 0;
	}
	for (i = optind; i < argc; i++)
		decode_barcode_escaped(argv[i], "argument");
	if (optind < argc)
		return 0;
	while (fgets(line, sizeof(line), stdin)) {
		lineno++;
		n = strcspn(line, "\n");
		if (line[n] != '\n' && !feof(stdin))
			die("stdin:%u: line longer than %zu bytes", lineno, sizeof(line) - 2);
		line[n] = '\0';
		snprintf(where, sizeof(where), "stdin:%u", lineno);
		decode_barcode_escaped(line, where);
	}
	if (ferror(stdin))
		die_perror("stdin");
	return 0;
}

/* ---- evdev (keyboard-wedge scanners and badge readers) ------------------------------------ */

/** Most events in one evemu capture we decode. */
#define EVDEV_EVENTS_MAX 65536
/** Longest line of an evemu capture. */
#define EVDEV_LINE_MAX 1024

static const char *evdev_drop_reason(int r)
{
	switch (r) {
	case -EBADMSG:
		return "gap";
	case -EPROTO:
		return "syn_dropped";
	case -EMSGSIZE:
		return "overlong";
	default:
		return "error";
	}
}

static void evdev_result(int r, const struct scanner_scan *scan, uint64_t t_ns)
{
	cJSON *o = cJSON_CreateObject();

	if (r == 0) {
		cJSON_AddStringToObject(o, "type", "scan");
		cJSON_AddNumberToObject(o, "ms", (double)(scan->t_ns / 1000000));
		/* JSON escapes the control characters (\u001d): byte-exact, NULs aside */
		if (!memchr(scan->text, '\0', scan->len))
			cJSON_AddStringToObject(o, "text", scan->text);
		add_raw(o, "raw", (const uint8_t *)scan->text, scan->len);
		cJSON_AddNumberToObject(o, "len", (double)scan->len);
		cJSON_AddStringToObject(o, "aim", scan->aim);
	} else {
		cJSON_AddStringToObject(o, "type", "dropped");
		cJSON_AddNumberToObject(o, "ms", (double)(t_ns / 1000000));
		cJSON_AddStringToObject(o, "error", err_name(r));
		cJSON_AddStringToObject(o, "reason", evdev_drop_reason(r));
	}
	emit(o);
}

static void decode_evdev(const char *path, const struct scanner_opts *opts)
{
	static struct hal_evdev_event evs[EVDEV_EVENTS_MAX];
	static struct scanner_wedge w;
	struct scanner_scan scan;
	char line[EVDEV_LINE_MAX];
	size_t n = 0, pos = 0;
	unsigned lineno = 0;
	cJSON *o;
	FILE *f;
	int r;

	f = fopen(path, "r");
	if (!f)
		die_perror("%s", path);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		r = scanner_proto_evemu_line(line, &evs[n]);
		if (r == -ENOMSG)
			continue;
		if (r < 0)
			die("%s:%u: not an evemu event line", path, lineno);
		if (++n == EVDEV_EVENTS_MAX)
			die("%s: more than %d events", path, EVDEV_EVENTS_MAX);
	}
	if (ferror(f))
		die_perror("%s", path);
	fclose(f);

	scanner_wedge_init(&w, opts);
	for (;;) {
		r = scanner_wedge_run(&w, evs, n, &pos, &scan);
		/* end of the capture: the clock runs on, a pending scan ends or aborts */
		if (r == -EAGAIN && n)
			r = scanner_wedge_expire(&w, evs[n - 1].t_ns + opts->timeout_ns + 1, &scan);
		if (r == -EAGAIN)
			break;
		evdev_result(r, &scan, pos ? evs[pos - 1].t_ns : 0);
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "summary");
	cJSON_AddStringToObject(o, "file", path);
	cJSON_AddNumberToObject(o, "events", (double)n);
	cJSON_AddNumberToObject(o, "scans", (double)w.stats.scans);
	cJSON_AddNumberToObject(o, "syn_dropped", (double)w.stats.syn_dropped);
	cJSON_AddNumberToObject(o, "timeouts", (double)w.stats.timeouts);
	cJSON_AddNumberToObject(o, "overflows", (double)w.stats.overflows);
	cJSON_AddNumberToObject(o, "unmapped", (double)w.stats.unmapped);
	emit(o);
}

static void usage_evdev(FILE *out)
{
	fprintf(out,
		"usage: %s evdev [--ctrl-map LIST] [--fkeys TABLE] [--aim strip|keep|off]\n"
		"       [--terminator enter|none] [--key-timeout-ms MS] [--badge] FILE...\n"
		"  FILE is an evemu-record capture of a keyboard-wedge scanner or RFID reader.\n"
		"  Decoded with the evdev backend's decoder and the board-file options of the same\n"
		"  names (scanner.ctrl_map = ctrl,altnum by default; fkeys like F1=GS,F2=RS,F3=EOT).\n"
		"  --badge: as the badge reader decodes (no remapping, no AIM). One JSON object per\n"
		"  scan or dropped scan, then a summary.\n",
		get_prog_name());
}

static int cmd_evdev(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ctrl-map", required_argument, NULL, 'c'},
		{"fkeys", required_argument, NULL, 'f'},
		{"aim", required_argument, NULL, 'a'},
		{"terminator", required_argument, NULL, 't'},
		{"key-timeout-ms", required_argument, NULL, 'k'},
		{"badge", no_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct scanner_cfg cfg;
	struct scanner_opts so;
	bool badge = false;
	int c, i;

	memset(&cfg, 0, sizeof(cfg));
	while ((c = getopt_long(argc, argv, "c:f:a:t:k:bh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(cfg.ctrl_map, sizeof(cfg.ctrl_map), "%s", optarg);
			break;
		case 'f':
			snprintf(cfg.fkeys, sizeof(cfg.fkeys), "%s", optarg);
			break;
		case 'a':
			snprintf(cfg.aim, sizeof(cfg.aim), "%s", optarg);
			break;
		case 't':
			snprintf(cfg.terminator, sizeof(cfg.terminator), "%s", optarg);
			break;
		case 'k':
			cfg.key_timeout_ms =
				(unsigned)parse_uint_or_die("--key-timeout-ms", optarg, 1, 60000);
			break;
		case 'b':
			badge = true;
			break;
		case 'h':
			usage_evdev(stdout);
			return 0;
		default:
			usage_evdev(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage_evdev(stderr);
		return 2;
	}
	if (badge) {
		snprintf(cfg.ctrl_map, sizeof(cfg.ctrl_map), "none");
		snprintf(cfg.aim, sizeof(cfg.aim), "off");
	}
	if (scanner_proto_parse_opts(&cfg, false, &so) < 0)
		die("bad --ctrl-map, --fkeys, --aim or --terminator value");
	for (i = optind; i < argc; i++)
		decode_evdev(argv[i], &so);
	return 0;
}

/* ---- wiegand ------------------------------------------------------------------------------ */

/** Most edges in one timing file. */
#define WIEGAND_EDGES_MAX 65536
/** Longest line of a timing file. */
#define WIEGAND_LINE_MAX 256

static void wiegand_result(const struct badge_wiegand_frame *fr)
{
	char bits[BADGE_WIEGAND_BITS_MAX + 1], id[BADGE_ID_MAX + 1];
	unsigned i, kept = fr->nbits < BADGE_WIEGAND_BITS_MAX ? fr->nbits : BADGE_WIEGAND_BITS_MAX;
	cJSON *o = cJSON_CreateObject();

	for (i = 0; i < kept; i++)
		bits[i] = (char)('0' + ((fr->raw >> (kept - 1 - i)) & 1));
	bits[kept] = '\0';
	cJSON_AddStringToObject(o, "type", "frame");
	cJSON_AddNumberToObject(o, "ms", (double)(fr->t_ns / 1000000));
	cJSON_AddNumberToObject(o, "bits", fr->nbits);
	cJSON_AddStringToObject(o, "raw", bits);
	cJSON_AddStringToObject(o, "format", badge_proto_wiegand_format_name(fr->format));
	if (fr->format != BADGE_WIEGAND_UNKNOWN) {
		cJSON_AddNumberToObject(o, "facility", fr->facility);
		cJSON_AddNumberToObject(o, "card", (double)fr->card);
	}
	cJSON_AddBoolToObject(o, "parity_ok", fr->parity_ok);
	cJSON_AddBoolToObject(o, "corrupt", fr->corrupt);
	cJSON_AddBoolToObject(o, "valid", fr->valid);
	if (badge_proto_wiegand_id(fr, id, sizeof(id)) == 0)
		cJSON_AddStringToObject(o, "id", id);
	emit(o);
}

static void decode_wiegand(const char *path, unsigned d1, uint64_t gap_ns, unsigned formats)
{
	static struct badge_wiegand_edge edges[WIEGAND_EDGES_MAX];
	static struct badge_wiegand w;
	struct badge_wiegand_frame fr;
	char line[WIEGAND_LINE_MAX];
	size_t n = 0, pos = 0;
	unsigned lineno = 0, off;
	uint64_t t_ns;
	bool rising;
	cJSON *o;
	FILE *f;
	int r;

	f = fopen(path, "r");
	if (!f)
		die_perror("%s", path);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		r = badge_proto_wiegand_line(line, &off, &t_ns, &rising);
		if (r == -ENOMSG)
			continue;
		if (r < 0)
			die("%s:%u: not an 'offset time_us rising|falling' line", path, lineno);
		edges[n].line = off == d1 ? 1 : 0;
		edges[n].rising = rising;
		edges[n].lost = false;
		edges[n].t_ns = t_ns;
		if (++n == WIEGAND_EDGES_MAX)
			die("%s: more than %d edges", path, WIEGAND_EDGES_MAX);
	}
	if (ferror(f))
		die_perror("%s", path);
	fclose(f);

	badge_wiegand_init(&w, gap_ns, formats);
	while (badge_wiegand_run(&w, edges, n, &pos, &fr) == 0)
		wiegand_result(&fr);
	if (badge_wiegand_expire(&w, badge_wiegand_deadline(&w), &fr) == 0)
		wiegand_result(&fr);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "summary");
	cJSON_AddStringToObject(o, "file", path);
	cJSON_AddNumberToObject(o, "edges", (double)n);
	cJSON_AddNumberToObject(o, "frames", (double)w.stats.frames);
	cJSON_AddNumberToObject(o, "bad_parity", (double)w.stats.bad_parity);
	cJSON_AddNumberToObject(o, "bad_length", (double)w.stats.bad_length);
	cJSON_AddNumberToObject(o, "corrupt", (double)w.stats.corrupt);
	emit(o);
}

static void usage_wiegand(FILE *out)
{
	fprintf(out,
		"usage: %s wiegand [--d0 N] [--d1 N] [--gap-ms MS] [--formats LIST] FILE...\n"
		"  FILE holds one edge per line: \"offset time_us rising|falling\" (e.g. from\n"
		"  gpiomon). --d0/--d1 name the line offsets (default 0 and 1; edges on other\n"
		"  offsets count as D0), --gap-ms ends a frame (default %d), --formats limits the\n"
		"  formats (26,34,35,37). One JSON object per frame, then a summary.\n",
		get_prog_name(), BADGE_WIEGAND_GAP_MS_DEFAULT);
}

static int cmd_wiegand(int argc, char **argv)
{
	static const struct option opts[] = {
		{"d0", required_argument, NULL, '0'},
		{"d1", required_argument, NULL, '1'},
		{"gap-ms", required_argument, NULL, 'g'},
		{"formats", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned d0 = 0, d1 = 1, gap_ms = BADGE_WIEGAND_GAP_MS_DEFAULT;
	unsigned formats = BADGE_WIEGAND_FORMATS_ALL;
	int c, i;

	while ((c = getopt_long(argc, argv, "0:1:g:f:h", opts, NULL)) != -1) {
		switch (c) {
		case '0':
			d0 = (unsigned)parse_uint_or_die("--d0", optarg, 0, 1023);
			break;
		case '1':
			d1 = (unsigned)parse_uint_or_die("--d1", optarg, 0, 1023);
			break;
		case 'g':
			gap_ms = (unsigned)parse_uint_or_die("--gap-ms", optarg, 1, 1000);
			break;
		case 'f':
			if (badge_proto_parse_formats(optarg, &formats) < 0)
				die("--formats: '%s' is not a list of 26, 34, 35, 37", optarg);
			break;
		case 'h':
			usage_wiegand(stdout);
			return 0;
		default:
			usage_wiegand(stderr);
			return 2;
		}
	}
	if (optind == argc || d0 == d1) {
		usage_wiegand(stderr);
		return 2;
	}
	for (i = optind; i < argc; i++)
		decode_wiegand(argv[i], d1, (uint64_t)gap_ms * 1000000ULL, formats);
	return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

struct subcommand {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

/* One row per decoder; keep them in alphabetical order. */
static const struct subcommand subcommands[] = {
	{"barcode", "one scan: carrier, tracking, check digit, label fields", cmd_barcode},
	{"evdev", "keyboard-wedge scanner / RFID reader evemu capture", cmd_evdev},
	{"scale-hid", "USB HID POS scale input reports (hex lines)", cmd_scale_hid},
	{"scale-serial", "serial scale capture (MT-SICS, SCP-01)", cmd_scale_serial},
	{"wiegand", "Wiegand edge timings (offset time_us edge)", cmd_wiegand},
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: %s [--version] SUBCOMMAND [OPTIONS] FILE...\n\nsubcommands:\n",
		get_prog_name());
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-14s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\n'%s SUBCOMMAND --help' describes one.\n", get_prog_name());
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		print_version();
		return 0;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (!strcmp(argv[1], subcommands[i].name)) {
			optind = 1; /* getopt restarts at argv[1] of the shifted vector */
			return subcommands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "%s: unknown subcommand '%s'\n", get_prog_name(), argv[1]);
	usage(stderr);
	return 2;
}
