/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_scanner.c - the scanner decoders and the evdev and serial backends.
 *
 * Table-driven, one row per quirk:
 *   - the keyboard-wedge decoder replayed from evemu captures under tests/data/scanner/
 *     (synthetic until replaced by real captures; see tests/data/scanner/mkevemu.py);
 *   - the serial stream decoder (terminators, split reads, gaps, overlong scans);
 *   - the board options, the F-key table, AIM prefixes, evemu line parsing.
 * Backends: the evdev backend reads a FIFO standing in for /dev/input/eventN (ioctl seam of
 * hal/evdev.c), the serial backend the slave side of a pty pair. Hotplug: a missing node is
 * -ENOENT and a second open works; a vanished device is -ENODEV.
 *
 * All waits are poll() with a timeout; nothing sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/input.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/scanner/scanner.h"
#include "drivers/scanner/scanner_proto.h"
#include "hal/clock.h"
#include "hal/evdev.h"

/** Where the captures live, relative to the repository root (tests run from there). */
#define DATA_DIR "tests/data/scanner"
/** Most events in one capture. */
#define EVENTS_MAX 8192
/** Most results expected from one replay. */
#define WANT_MAX 6
/** How long a test waits for an fd that should become readable. */
#define WAIT_MS 2000

static char tmpdir[PATH_MAX];

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/sealbench-scanner-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	hal_evdev_set_ioctl_override(NULL);
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tpath(const char *name)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%.3000s/%.64s", tmpdir, name);
	return buf;
}

/* Load every event of an evemu file. */
static size_t load_evemu(const char *name, struct hal_evdev_event *evs, size_t max)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0, n = 0;
	unsigned lineno = 0;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		r = scanner_proto_evemu_line(line, &evs[n]);
		if (r == -ENOMSG)
			continue;
		if (r < 0)
			fail_msg("%s:%u: bad event line", path, lineno);
		assert_true(++n < max);
	}
	free(line);
	fclose(f);
	assert_true(n > 0);
	return n;
}

struct want {
	int rc;
	const char *text; /* may contain NULs: len */
	size_t len;
	const char *aim;
};

/* A cfg with every option at its default (a bare { 0 } trips -Wmissing-braces). */
#define DFLT { .baud = 0 }
#define OK(t) { 0, t, sizeof(t) - 1, "" }
#define OKA(t, a) { 0, t, sizeof(t) - 1, a }
#define ERR(e) { e, NULL, 0, NULL }

static void check_scan(const char *legend, unsigned i, const struct want *w, int rc,
		       const struct scanner_scan *scan)
{
	if (rc != w->rc)
		fail_msg("%s: result %u: rc %d, want %d", legend, i, rc, w->rc);
	if (rc)
		return;
	if (scan->len != w->len || memcmp(scan->text, w->text, w->len) || scan->text[w->len])
		fail_msg("%s: result %u: text '%.*s' (%zu), want '%.*s' (%zu)", legend, i,
			 (int)scan->len, scan->text, scan->len, (int)w->len, w->text, w->len);
	if (strcmp(scan->aim, w->aim))
		fail_msg("%s: result %u: aim '%s', want '%s'", legend, i, scan->aim, w->aim);
}

/* ---- the keyboard wedge, replayed from captures ---- */

#define LABEL "[)>\x1e" "01\x1d" "961Z12345678\x1d" "UPSN\x1d" "123X45\x1d\x1e\x04"
#define LABEL_NOCTRL "[)>01961Z12345678UPSN123X45"
#define PRINTABLE                                                                              \
	" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"                  \
	"abcdefghijklmnopqrstuvwxyz{|}~"

struct wedge_row {
	const char *legend;
	const char *file;
	struct scanner_cfg cfg; /* only the option fields matter */
	struct want want[WANT_MAX];
};

static const struct wedge_row wedge_rows[] = {
	{ "full US keymap, left shift", "us-keymap.evemu", DFLT, { OK(PRINTABLE) } },
	{ "right shift", "shift-right.evemu", DFLT, { OK("HELLO World_ {1+1=2}!") } },
	{ "caps lock typed by the scanner", "capslock.evemu", DFLT,
	  { OK("ABCdef123-"), OK("xyz") } },
	{ "keypad and keypad Enter", "keypad.evemu", DFLT, { OK("0123456789+-*/.") } },
	{ "15434 via Ctrl (^ with and without Shift)", "iso15434-ctrl.evemu", DFLT,
	  { OK(LABEL), OK(LABEL) } },
	{ "15434 via Ctrl, ctrl_map=ctrl", "iso15434-ctrl.evemu", { .ctrl_map = "ctrl" },
	  { OK(LABEL), OK(LABEL) } },
	{ "ctrl_map=none drops them (as other readers do)", "iso15434-ctrl.evemu",
	  { .ctrl_map = "none" }, { OK(LABEL_NOCTRL), OK(LABEL_NOCTRL) } },
	{ "15434 via F-keys", "iso15434-fkeys.evemu", { .fkeys = "F1=GS,F2=RS,F3=EOT" },
	  { OK(LABEL) } },
	{ "15434 via F-keys, hex values", "iso15434-fkeys.evemu",
	  { .ctrl_map = "fkeys", .fkeys = "f1=0x1d f2=0x1E f3=0x04" }, { OK(LABEL) } },
	{ "F-keys not in ctrl_map type nothing", "iso15434-fkeys.evemu",
	  { .ctrl_map = "ctrl", .fkeys = "F1=GS,F2=RS,F3=EOT" }, { OK(LABEL_NOCTRL) } },
	{ "15434 via Alt+numpad", "iso15434-altnum.evemu", DFLT, { OK(LABEL) } },
	{ "Alt+numpad off", "iso15434-altnum.evemu", { .ctrl_map = "ctrl" },
	  { OK(LABEL_NOCTRL) } },
	{ "AIM prefix stripped", "aim.evemu", DFLT,
	  { OKA("010001234567890510ABC\x1d" "21XYZ", "]d2"), OKA("ORD-77", "]C1"),
	    OK("ORD-78") } },
	{ "AIM prefix kept", "aim.evemu", { .aim = "keep" },
	  { OKA("]d2010001234567890510ABC\x1d" "21XYZ", "]d2"), OKA("]C1ORD-77", "]C1"),
	    OK("ORD-78") } },
	{ "AIM detection off", "aim.evemu", { .aim = "off" },
	  { OK("]d2010001234567890510ABC\x1d" "21XYZ"), OK("]C1ORD-77"), OK("ORD-78") } },
	{ "a gap aborts a half-typed scan", "gap-abort.evemu", DFLT,
	  { ERR(-EBADMSG), OK("ORD-1") } },
	{ "a longer key timeout joins it", "gap-abort.evemu", { .key_timeout_ms = 1000 },
	  { OK("12345ORD-1") } },
	{ "no terminator: a gap ends the scan", "gap-end.evemu", { .terminator = "none" },
	  { OK("ABC"), OK("DEF") } },
	{ "no terminator, no gap: one scan", "gap-end.evemu",
	  { .terminator = "none", .key_timeout_ms = 1000 }, { OK("ABCDEF") } },
	{ "SYN_DROPPED rejects the scan", "syn-dropped.evemu", DFLT,
	  { ERR(-EPROTO), OK("GOOD") } },
	{ "bare Enter, autorepeat, arrows, F5, NumLock, Alt+x", "noise.evemu", DFLT,
	  { OK("ab") } },
};

static struct hal_evdev_event events[EVENTS_MAX];

static void test_wedge_replay(void **state)
{
	struct scanner_scan scan;
	struct scanner_opts opts;
	struct scanner_wedge w;
	size_t r_i, n, pos;
	unsigned i;
	int rc;

	(void)state;
	for (r_i = 0; r_i < sizeof(wedge_rows) / sizeof(wedge_rows[0]); r_i++) {
		const struct wedge_row *row = &wedge_rows[r_i];

		assert_int_equal(scanner_proto_parse_opts(&row->cfg, false, &opts), 0);
		n = load_evemu(row->file, events, EVENTS_MAX);
		scanner_wedge_init(&w, &opts);
		pos = 0;
		i = 0;
		for (;;) {
			rc = scanner_wedge_run(&w, events, n, &pos, &scan);
			if (rc == -EAGAIN) /* end of capture: let the clock run out */
				rc = scanner_wedge_expire(&w, events[n - 1].t_ns + 10 * NSEC_PER_SEC,
							  &scan);
			if (rc == -EAGAIN)
				break;
			if (i == WANT_MAX || (!row->want[i].text && !row->want[i].rc))
				fail_msg("%s: unexpected result %u: rc %d", row->legend, i, rc);
			check_scan(row->legend, i, &row->want[i], rc, &scan);
			i++;
		}
		if (i < WANT_MAX && (row->want[i].text || row->want[i].rc))
			fail_msg("%s: only %u results", row->legend, i);
		assert_int_equal(scanner_wedge_deadline(&w), 0);
	}
}

/* Counters: the SYN_DROPPED and gap captures count what they drop. */
static void test_wedge_stats(void **state)
{
	struct scanner_cfg cfg = DFLT;
	struct scanner_scan scan;
	struct scanner_opts opts;
	struct scanner_wedge w;
	size_t n, pos = 0;

	(void)state;
	assert_int_equal(scanner_proto_parse_opts(&cfg, false, &opts), 0);
	n = load_evemu("syn-dropped.evemu", events, EVENTS_MAX);
	scanner_wedge_init(&w, &opts);
	while (scanner_wedge_run(&w, events, n, &pos, &scan) != -EAGAIN)
		;
	assert_int_equal(w.stats.syn_dropped, 1);
	assert_int_equal(w.stats.scans, 1);

	n = load_evemu("noise.evemu", events, EVENTS_MAX);
	scanner_wedge_init(&w, &opts);
	pos = 0;
	while (scanner_wedge_run(&w, events, n, &pos, &scan) != -EAGAIN)
		;
	/* UP, F5, Alt+x */
	assert_int_equal(w.stats.unmapped, 3);
	assert_int_equal(w.stats.scans, 1);
}

/* Build key events in memory: press + release per code. */
static size_t press(struct hal_evdev_event *evs, size_t n, uint64_t *t, uint16_t code)
{
	evs[n++] = (struct hal_evdev_event){ *t, EV_KEY, code, 1 };
	evs[n++] = (struct hal_evdev_event){ *t, EV_SYN, SYN_REPORT, 0 };
	*t += 1000000;
	evs[n++] = (struct hal_evdev_event){ *t, EV_KEY, code, 0 };
	evs[n++] = (struct hal_evdev_event){ *t, EV_SYN, SYN_REPORT, 0 };
	*t += 1000000;
	return n;
}

/* An overlong scan is dropped whole; the next one is intact. Alt+0300 is no byte. */
static void test_wedge_overflow_altnum(void **state)
{
	static struct hal_evdev_event evs[4 * (SCANNER_SCAN_MAX + 16) + 64];
	struct scanner_cfg cfg = DFLT;
	struct scanner_scan scan;
	struct scanner_opts opts;
	struct scanner_wedge w;
	uint64_t t = NSEC_PER_SEC;
	size_t n = 0, pos = 0, i;

	(void)state;
	assert_int_equal(scanner_proto_parse_opts(&cfg, false, &opts), 0);
	for (i = 0; i < SCANNER_SCAN_MAX + 1; i++)
		n = press(evs, n, &t, KEY_7);
	n = press(evs, n, &t, KEY_ENTER);
	evs[n++] = (struct hal_evdev_event){ t, EV_KEY, KEY_LEFTALT, 1 };
	n = press(evs, n, &t, KEY_KP0);
	n = press(evs, n, &t, KEY_KP3);
	n = press(evs, n, &t, KEY_KP0);
	n = press(evs, n, &t, KEY_KP0);
	evs[n++] = (struct hal_evdev_event){ t, EV_KEY, KEY_LEFTALT, 0 };
	n = press(evs, n, &t, KEY_Q);
	n = press(evs, n, &t, KEY_KPENTER);

	scanner_wedge_init(&w, &opts);
	assert_int_equal(scanner_wedge_run(&w, evs, n, &pos, &scan), -EMSGSIZE);
	assert_int_equal(scanner_wedge_run(&w, evs, n, &pos, &scan), 0);
	assert_int_equal(scan.len, 1);
	assert_string_equal(scan.text, "q");
	assert_int_equal(scanner_wedge_run(&w, evs, n, &pos, &scan), -EAGAIN);
	assert_int_equal(w.stats.overflows, 1);
	assert_int_equal(w.stats.unmapped, 1);

	/* exactly SCANNER_SCAN_MAX characters fit */
	n = 0;
	pos = 0;
	for (i = 0; i < SCANNER_SCAN_MAX; i++)
		n = press(evs, n, &t, KEY_7);
	n = press(evs, n, &t, KEY_ENTER);
	scanner_wedge_init(&w, &opts);
	assert_int_equal(scanner_wedge_run(&w, evs, n, &pos, &scan), 0);
	assert_int_equal(scan.len, SCANNER_SCAN_MAX);
	assert_int_equal(scan.text[SCANNER_SCAN_MAX], '\0');
}

/* ---- options, F-key table, AIM, evemu lines ---- */

static void test_parse_opts(void **state)
{
	static const struct {
		const char *legend;
		struct scanner_cfg cfg;
		bool serial;
		int rc;
		unsigned ctrl_map;
		enum scanner_term term;
		enum scanner_aim_mode aim;
		uint64_t timeout_ms;
	} rows[] = {
		{ "defaults, evdev", DFLT, false, 0, SCANNER_CTRL_CTRL | SCANNER_CTRL_ALTNUM,
		  SCANNER_TERM_ENTER, SCANNER_AIM_STRIP, 100 },
		{ "defaults, serial", DFLT, true, 0, SCANNER_CTRL_CTRL | SCANNER_CTRL_ALTNUM,
		  SCANNER_TERM_CR, SCANNER_AIM_STRIP, 50 },
		{ "fkeys table adds fkeys", { .fkeys = "F1=GS" }, false, 0,
		  SCANNER_CTRL_CTRL | SCANNER_CTRL_ALTNUM | SCANNER_CTRL_FKEYS, SCANNER_TERM_ENTER,
		  SCANNER_AIM_STRIP, 100 },
		{ "list with blanks", { .ctrl_map = "altnum, ctrl" }, false, 0,
		  SCANNER_CTRL_CTRL | SCANNER_CTRL_ALTNUM, SCANNER_TERM_ENTER, SCANNER_AIM_STRIP,
		  100 },
		{ "none", { .ctrl_map = "none" }, false, 0, 0, SCANNER_TERM_ENTER,
		  SCANNER_AIM_STRIP, 100 },
		{ "none with others", { .ctrl_map = "none,ctrl" }, false, -EINVAL, 0, 0, 0, 0 },
		{ "unknown mapping", { .ctrl_map = "shift" }, false, -EINVAL, 0, 0, 0, 0 },
		{ "fkeys without table", { .ctrl_map = "fkeys" }, false, -EINVAL, 0, 0, 0, 0 },
		{ "bad fkeys table", { .fkeys = "F25=GS" }, false, -EINVAL, 0, 0, 0, 0 },
		{ "aim keep", { .aim = "KEEP" }, false, 0, SCANNER_CTRL_CTRL | SCANNER_CTRL_ALTNUM,
		  SCANNER_TERM_ENTER, SCANNER_AIM_KEEP, 100 },
		{ "aim bad", { .aim = "drop" }, false, -EINVAL, 0, 0, 0, 0 },
		{ "evdev crlf = enter", { .terminator = "crlf" }, false, 0,
		  SCANNER_CTRL_CTRL | SCANNER_CTRL_ALTNUM, SCANNER_TERM_ENTER, SCANNER_AIM_STRIP,
		  100 },
		{ "serial lf", { .terminator = "lf", .gap_ms = 20 }, true, 0,
		  SCANNER_CTRL_CTRL | SCANNER_CTRL_ALTNUM, SCANNER_TERM_LF, SCANNER_AIM_STRIP, 20 },
		{ "serial crlf", { .terminator = "crlf" }, true, 0,
		  SCANNER_CTRL_CTRL | SCANNER_CTRL_ALTNUM, SCANNER_TERM_CRLF, SCANNER_AIM_STRIP,
		  50 },
		{ "serial none", { .terminator = "none" }, true, 0,
		  SCANNER_CTRL_CTRL | SCANNER_CTRL_ALTNUM, SCANNER_TERM_NONE, SCANNER_AIM_STRIP,
		  50 },
		{ "serial tab", { .terminator = "tab" }, true, -EINVAL, 0, 0, 0, 0 },
		{ "timeout too long", { .key_timeout_ms = 60001 }, false, -EINVAL, 0, 0, 0, 0 },
	};
	struct scanner_opts o;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&o, 0x5a, sizeof(o));
		rc = scanner_proto_parse_opts(&rows[i].cfg, rows[i].serial, &o);
		if (rc != rows[i].rc)
			fail_msg("%s: rc %d, want %d", rows[i].legend, rc, rows[i].rc);
		if (rc) {
			assert_int_equal(o.ctrl_map, 0x5a5a5a5a); /* untouched */
			continue;
		}
		if (o.ctrl_map != rows[i].ctrl_map || o.term != rows[i].term ||
		    o.aim != rows[i].aim || o.timeout_ns != rows[i].timeout_ms * NSEC_PER_MSEC)
			fail_msg("%s: ctrl %u term %d aim %d timeout %llu", rows[i].legend,
				 o.ctrl_map, o.term, o.aim, (unsigned long long)o.timeout_ns);
	}
}

static void test_parse_fkeys(void **state)
{
	static const struct {
		const char *text;
		int rc;
		int f1, f2, f12, f24;
	} rows[] = {
		{ "", 0, -1, -1, -1, -1 },
		{ "F1=GS,F2=RS", 0, 0x1d, 0x1e, -1, -1 },
		{ "f12=eot  F24=0x7F", 0, -1, -1, 0x04, 0x7f },
		{ "F1=NUL", 0, 0x00, -1, -1, -1 },
		{ "F2=DEL,F1=US", 0, 0x1f, 0x7f, -1, -1 },
		{ "F0=GS", -EINVAL, 0, 0, 0, 0 },
		{ "F25=GS", -EINVAL, 0, 0, 0, 0 },
		{ "F1", -EINVAL, 0, 0, 0, 0 },
		{ "F1=", -EINVAL, 0, 0, 0, 0 },
		{ "F1=GSX", -EINVAL, 0, 0, 0, 0 },
		{ "F1=0x1", -EINVAL, 0, 0, 0, 0 },
		{ "F1=0xZZ", -EINVAL, 0, 0, 0, 0 },
		{ "G1=GS", -EINVAL, 0, 0, 0, 0 },
		{ "F123=GS", -EINVAL, 0, 0, 0, 0 },
	};
	int16_t map[SCANNER_FKEYS_N];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(map, 0x77, sizeof(map));
		if (scanner_proto_parse_fkeys(rows[i].text, map) != rows[i].rc)
			fail_msg("'%s': wrong rc", rows[i].text);
		if (rows[i].rc) {
			assert_int_equal(map[0], 0x7777);
			continue;
		}
		if (map[0] != rows[i].f1 || map[1] != rows[i].f2 || map[11] != rows[i].f12 ||
		    map[23] != rows[i].f24)
			fail_msg("'%s': %d %d %d %d", rows[i].text, map[0], map[1], map[11],
				 map[23]);
	}
}

static void test_aim(void **state)
{
	static const struct {
		const char *in;
		enum scanner_aim_mode mode;
		const char *text;
		const char *aim;
	} rows[] = {
		{ "]C1ABC", SCANNER_AIM_STRIP, "ABC", "]C1" },
		{ "]C1ABC", SCANNER_AIM_KEEP, "]C1ABC", "]C1" },
		{ "]C1ABC", SCANNER_AIM_OFF, "]C1ABC", "" },
		{ "]e0", SCANNER_AIM_STRIP, "", "]e0" },
		{ "]QZx", SCANNER_AIM_STRIP, "x", "]QZ" },
		{ "]C", SCANNER_AIM_STRIP, "]C", "" },
		{ "]1C9", SCANNER_AIM_STRIP, "]1C9", "" },
		{ "]C-9", SCANNER_AIM_STRIP, "]C-9", "" },
		{ "x]C1", SCANNER_AIM_STRIP, "x]C1", "" },
		{ "", SCANNER_AIM_STRIP, "", "" },
	};
	struct scanner_scan s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(s.text, sizeof(s.text), "%s", rows[i].in);
		s.len = strlen(rows[i].in);
		memset(s.aim, 'z', sizeof(s.aim));
		scanner_proto_aim(&s, rows[i].mode);
		assert_string_equal(s.text, rows[i].text);
		assert_int_equal(s.len, strlen(rows[i].text));
		assert_string_equal(s.aim, rows[i].aim);
	}
}

static void test_evemu_line(void **state)
{
	static const struct {
		const char *line;
		int rc;
		uint64_t t_ns;
		uint16_t type, code;
		int32_t value;
	} rows[] = {
		{ "E: 1.000000 0001 001e 1\n", 0, 1000000000ULL, 1, 0x1e, 1 },
		{ "E: 12.345678 0004 0004 458756\t# EV_MSC / MSC_SCAN 458756\n", 0,
		  12345678000ULL, 4, 4, 458756 },
		{ "E: 0.5 0000 0000 0", 0, 500000000ULL, 0, 0, 0 },
		{ "E: 3.000001 0002 0000 -5\r\n", 0, 3000001000ULL, 2, 0, -5 },
		{ "# EVEMU 1.3\n", -ENOMSG, 0, 0, 0, 0 },
		{ "N: Some Scanner\n", -ENOMSG, 0, 0, 0, 0 },
		{ "I: 0003 0c2e 0b61 0110\n", -ENOMSG, 0, 0, 0, 0 },
		{ "", -ENOMSG, 0, 0, 0, 0 },
		{ "E: 1 0001 001e 1", -EBADMSG, 0, 0, 0, 0 },
		{ "E: 1.0000001 0001 001e 1", -EBADMSG, 0, 0, 0, 0 },
		{ "E: 1.000000 0001 001e", -EBADMSG, 0, 0, 0, 0 },
		{ "E: 1.000000 10000 001e 1", -EBADMSG, 0, 0, 0, 0 },
		{ "E: 1.000000 0001 001e 1 junk", -EBADMSG, 0, 0, 0, 0 },
		{ "E: x.000000 0001 001e 1", -EBADMSG, 0, 0, 0, 0 },
		{ "E: 1.000000 0001 001e 99999999999", -EBADMSG, 0, 0, 0, 0 },
	};
	struct hal_evdev_event ev;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		rc = scanner_proto_evemu_line(rows[i].line, &ev);
		if (rc != rows[i].rc)
			fail_msg("'%s': rc %d, want %d", rows[i].line, rc, rows[i].rc);
		if (rc)
			continue;
		assert_int_equal(ev.t_ns, rows[i].t_ns);
		assert_int_equal(ev.type, rows[i].type);
		assert_int_equal(ev.code, rows[i].code);
		assert_int_equal(ev.value, rows[i].value);
	}
}

/* ---- the serial stream ---- */

struct chunk {
	const char *data;
	size_t len;
	uint64_t t_ms;
};

#define CH(s, t) { s, sizeof(s) - 1, t }

struct stream_row {
	const char *legend;
	struct scanner_cfg cfg;
	struct chunk in[4];
	struct want want[WANT_MAX];
};

static const struct stream_row stream_rows[] = {
	{ "cr", DFLT, { CH("ORD-1\r", 0) }, { OK("ORD-1") } },
	{ "cr with CRLF sender", DFLT, { CH("ORD-1\r\nORD-2\r\n", 0) },
	  { OK("ORD-1"), OK("ORD-2") } },
	{ "cr: a LF elsewhere is data", DFLT, { CH("A\nB\r", 0) }, { OK("A\nB") } },
	{ "lf", { .terminator = "lf" }, { CH("ORD-1\nORD-2\r\n", 0) },
	  { OK("ORD-1"), OK("ORD-2") } },
	{ "crlf: lone CR and LF are data", { .terminator = "crlf" },
	  { CH("A\rB\nC\r\n", 0) }, { OK("A\rB\nC") } },
	{ "split reads", DFLT, { CH("[)>\x1e" "0", 0), CH("1\x1d" "96", 1), CH("\x04\r", 2) },
	  { OK("[)>\x1e" "01\x1d" "96\x04") } },
	{ "NUL bytes survive", DFLT, { CH("A\0B\r", 0) }, { OK("A\0B") } },
	{ "bare terminators are no scans", DFLT, { CH("\r\r\r\nX\r", 0) }, { OK("X") } },
	{ "AIM prefix", DFLT, { CH("]Q3{\"a\":1}\r", 0) }, { OKA("{\"a\":1}", "]Q3") } },
	{ "a gap drops a partial scan", DFLT, { CH("GARB", 0), CH("ORD-2\r", 200) },
	  { ERR(-EBADMSG), OK("ORD-2") } },
	{ "within the gap it is one scan", DFLT, { CH("ORD", 0), CH("-2\r", 40) },
	  { OK("ORD-2") } },
	{ "none: a gap ends each scan", { .terminator = "none" },
	  { CH("ABC", 0), CH("DEF", 10), CH("GHI", 100) }, { OK("ABCDEF"), OK("GHI") } },
	{ "none: CR is data", { .terminator = "none", .gap_ms = 5 },
	  { CH("A\r", 0), CH("B\r\n", 10) }, { OK("A\r"), OK("B\r\n") } },
};

static void test_stream(void **state)
{
	struct scanner_stream s;
	struct scanner_scan scan;
	struct scanner_opts opts;
	size_t r_i, c, off, used;
	unsigned i;
	int rc;

	(void)state;
	for (r_i = 0; r_i < sizeof(stream_rows) / sizeof(stream_rows[0]); r_i++) {
		const struct stream_row *row = &stream_rows[r_i];
		uint64_t now = 0;

		assert_int_equal(scanner_proto_parse_opts(&row->cfg, true, &opts), 0);
		scanner_stream_init(&s, &opts);
		i = 0;
		for (c = 0; c < 4 && row->in[c].data; c++) {
			now = NSEC_PER_SEC + row->in[c].t_ms * NSEC_PER_MSEC;
			for (off = 0; off < row->in[c].len; off += used) {
				rc = scanner_stream_feed(&s, row->in[c].data + off,
							 row->in[c].len - off, now, &used, &scan);
				if (rc == -EAGAIN)
					continue;
				assert_true(i < WANT_MAX);
				check_scan(row->legend, i, &row->want[i], rc, &scan);
				i++;
			}
		}
		while ((rc = scanner_stream_expire(&s, now + NSEC_PER_SEC, &scan)) != -EAGAIN) {
			assert_true(i < WANT_MAX);
			check_scan(row->legend, i, &row->want[i], rc, &scan);
			i++;
		}
		if (i < WANT_MAX && (row->want[i].text || row->want[i].rc))
			fail_msg("%s: only %u results", row->legend, i);
	}
}

/* Exactly SCANNER_SCAN_MAX bytes fit, with a CRLF after them; one more is -EMSGSIZE. */
static void test_stream_overflow(void **state)
{
	static char buf[SCANNER_SCAN_MAX + 8];
	struct scanner_cfg cfg = { .terminator = "lf" };
	struct scanner_stream s;
	struct scanner_scan scan;
	struct scanner_opts opts;
	size_t used;

	(void)state;
	assert_int_equal(scanner_proto_parse_opts(&cfg, true, &opts), 0);
	scanner_stream_init(&s, &opts);
	memset(buf, 'x', SCANNER_SCAN_MAX);
	memcpy(buf + SCANNER_SCAN_MAX, "\r\n", 2);
	assert_int_equal(scanner_stream_feed(&s, buf, SCANNER_SCAN_MAX + 2, 1, &used, &scan), 0);
	assert_int_equal(used, SCANNER_SCAN_MAX + 2);
	assert_int_equal(scan.len, SCANNER_SCAN_MAX);

	memcpy(buf + SCANNER_SCAN_MAX, "y\n", 2);
	assert_int_equal(scanner_stream_feed(&s, buf, SCANNER_SCAN_MAX + 2, 1, &used, &scan),
			 -EMSGSIZE);
	assert_int_equal(scanner_stream_feed(&s, "ok\n", 3, 1, &used, &scan), 0);
	assert_string_equal(scan.text, "ok");
	assert_int_equal(s.stats.overflows, 1);
	assert_int_equal(s.stats.scans, 2);
}

static void test_check_cfg(void **state)
{
	static const struct {
		struct scanner_cfg cfg;
		int rc;
	} rows[] = {
		{ { .backend = "evdev" }, 0 },
		{ { .backend = "sim" }, 0 },
		{ { .backend = "evdev", .terminator = "crlf" }, 0 },
		{ { .backend = "evdev", .ctrl_map = "fkeys" }, -EINVAL },
		{ { .backend = "serial", .serial = "19200 7E1 rtscts", .terminator = "lf" }, 0 },
		{ { .backend = "serial", .serial = "19200 7X1" }, -EINVAL },
		{ { .backend = "serial", .terminator = "enter" }, 0 },
		{ { .backend = "serial", .terminator = "tab" }, -EINVAL },
		{ { .backend = "evdev", .gap_ms = 70000 }, 0 }, /* gap_ms is serial-only */
		{ { .backend = "serial", .gap_ms = 70000 }, -EINVAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (scanner_check_cfg(&rows[i].cfg) != rows[i].rc)
			fail_msg("row %zu: want %d", i, rows[i].rc);
	}
	assert_int_equal(scanner_check_cfg(NULL), -EINVAL);
}

/* ---- the evdev backend on a FIFO ---- */

static int fake_grab_errno;
static unsigned fake_grabs, fake_ungrabs;

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct input_id *id = arg;

	(void)fd;
	if (req == EVIOCSCLOCKID)
		return 0;
	if (req == EVIOCGRAB) {
		if (arg && fake_grab_errno) {
			errno = fake_grab_errno;
			return -1;
		}
		if (arg)
			fake_grabs++;
		else
			fake_ungrabs++;
		return 0;
	}
	if (req == EVIOCGID) {
		id->bustype = BUS_USB;
		id->vendor = 0x0c2e;
		id->product = 0x0b61;
		id->version = 0x0110;
		return 0;
	}
	if (_IOC_TYPE(req) == 'E' && _IOC_NR(req) == _IOC_NR(EVIOCGNAME(0))) {
		snprintf(arg, _IOC_SIZE(req), "Fake Wedge Scanner");
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

static void write_events(int fd, const struct hal_evdev_event *evs, size_t n)
{
	struct input_event ie;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&ie, 0, sizeof(ie));
		ie.input_event_sec = (long)(evs[i].t_ns / NSEC_PER_SEC);
		ie.input_event_usec = (long)(evs[i].t_ns % NSEC_PER_SEC / 1000);
		ie.type = evs[i].type;
		ie.code = evs[i].code;
		ie.value = evs[i].value;
		assert_int_equal(write(fd, &ie, sizeof(ie)), sizeof(ie));
	}
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Type @p keys (KEY_* codes, 0 = Enter) with timestamps starting now. */
static void type_keys(int fd, const uint16_t *keys, size_t n)
{
	struct hal_evdev_event evs[64];
	uint64_t t = clock_now_ns();
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		m = press(evs, m, &t, keys[i] ? keys[i] : KEY_ENTER);
	write_events(fd, evs, m);
}

static struct scanner *open_evdev(const char *dev, const char *term, unsigned timeout_ms,
				  int *ret_rc)
{
	struct scanner_cfg cfg = { .backend = "evdev" };
	struct scanner *s = NULL;

	snprintf(cfg.device, sizeof(cfg.device), "%.200s", dev);
	snprintf(cfg.terminator, sizeof(cfg.terminator), "%s", term);
	cfg.key_timeout_ms = timeout_ms;
	*ret_rc = scanner_open(&cfg, &s);
	return s;
}

static void test_evdev_backend(void **state)
{
	static const uint16_t ord[] = { KEY_O, KEY_R, KEY_D, KEY_MINUS, KEY_4, KEY_2, 0 };
	static const uint16_t abc[] = { KEY_A, KEY_B, KEY_C };
	const char *dev = tpath("event-kbd");
	struct scanner_scan *scan;
	struct scanner *s;
	int wfd, rc;

	(void)state;
	scan = malloc(sizeof(*scan));
	assert_non_null(scan);
	assert_true(scanner_backend_exists("evdev"));
	hal_evdev_set_ioctl_override(fake_ioctl);

	/* not plugged in: -ENOENT, cleanly, twice */
	s = open_evdev(dev, "", 0, &rc);
	assert_int_equal(rc, -ENOENT);
	assert_null(s);
	s = open_evdev(dev, "", 0, &rc);
	assert_int_equal(rc, -ENOENT);

	/* plugged in: the node appears, the second open works */
	assert_int_equal(mkfifo(dev, 0600), 0);
	wfd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	assert_true(wfd >= 0);
	fake_grab_errno = EBUSY;
	s = open_evdev(dev, "", 0, &rc);
	assert_int_equal(rc, -EBUSY); /* somebody else holds the grab */
	fake_grab_errno = 0;
	fake_grabs = fake_ungrabs = 0;
	s = open_evdev(dev, "", 0, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(fake_grabs, 1);
	assert_string_equal(scanner_get_model(s), "Fake Wedge Scanner (0c2e:0b61)");
	assert_true(scanner_get_fd(s) >= 0);
	assert_int_equal(scanner_on_readable(s, scan), -EAGAIN);

	type_keys(wfd, ord, sizeof(ord) / sizeof(ord[0]));
	assert_true(wait_readable(scanner_get_fd(s), WAIT_MS));
	assert_int_equal(scanner_on_readable(s, scan), 0);
	assert_string_equal(scan->text, "ord-42"); /* no Shift typed */
	assert_string_equal(scan->aim, "");
	assert_int_equal(scanner_on_readable(s, scan), -EAGAIN);

	/* unplugged: the last writer goes away (evdev: ENODEV) */
	close(wfd);
	assert_true(wait_readable(scanner_get_fd(s), WAIT_MS));
	assert_int_equal(scanner_on_readable(s, scan), -ENODEV);
	scanner_close(s);
	assert_int_equal(fake_ungrabs, 1);

	/* re-opened by the station: no terminator, the gap timer ends the scan */
	wfd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	assert_true(wfd >= 0);
	s = open_evdev(dev, "none", 30, &rc);
	assert_int_equal(rc, 0);
	type_keys(wfd, abc, sizeof(abc) / sizeof(abc[0]));
	assert_true(wait_readable(scanner_get_fd(s), WAIT_MS));
	rc = scanner_on_readable(s, scan);
	if (rc == -EAGAIN) {
		/* the timer, armed at the last key + 30 ms, makes the fd readable again */
		assert_true(wait_readable(scanner_get_fd(s), WAIT_MS));
		rc = scanner_on_readable(s, scan);
	}
	assert_int_equal(rc, 0);
	assert_string_equal(scan->text, "abc");
	assert_int_equal(scanner_on_readable(s, scan), -EAGAIN);
	/* the timer was consumed: nothing polls readable any more */
	assert_false(wait_readable(scanner_get_fd(s), 50));
	scanner_close(s);
	close(wfd);

	/* a FIFO without the seam is not an input node */
	hal_evdev_set_ioctl_override(NULL);
	wfd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	s = open_evdev(dev, "", 0, &rc);
	assert_int_equal(rc, -ENOTTY);
	close(wfd);

	/* a bad option fails the open */
	hal_evdev_set_ioctl_override(fake_ioctl);
	s = open_evdev(dev, "sometimes", 0, &rc);
	assert_int_equal(rc, -EINVAL);
	hal_evdev_set_ioctl_override(NULL);
	free(scan);
}

/* ---- the serial backend on a pty ---- */

static struct scanner *open_serial(const char *dev, const char *term, unsigned gap_ms,
				   int *ret_rc)
{
	struct scanner_cfg cfg = { .backend = "serial", .serial = "115200 8N1" };
	struct scanner *s = NULL;

	snprintf(cfg.device, sizeof(cfg.device), "%.200s", dev);
	snprintf(cfg.terminator, sizeof(cfg.terminator), "%s", term);
	cfg.gap_ms = gap_ms;
	*ret_rc = scanner_open(&cfg, &s);
	return s;
}

static void test_serial_backend(void **state)
{
	static const char label[] = "[)>\x1e" "01\x1d" "96\x04\r\n";
	char name[PATH_MAX];
	struct scanner_scan *scan;
	struct scanner *s;
	int mfd, sfd, rc;

	(void)state;
	scan = malloc(sizeof(*scan));
	assert_non_null(scan);
	assert_true(scanner_backend_exists("serial"));

	s = open_serial(tpath("ttyACM-missing"), "", 0, &rc);
	assert_int_equal(rc, -ENOENT);
	assert_null(s);

	assert_int_equal(openpty(&mfd, &sfd, name, NULL, NULL), 0);
	s = open_serial(name, "cr", 0, &rc);
	assert_int_equal(rc, 0);
	close(sfd); /* the scanner has its own fd on the slave */
	assert_int_equal(scanner_on_readable(s, scan), -EAGAIN);

	assert_int_equal(write(mfd, label, sizeof(label) - 1), sizeof(label) - 1);
	assert_int_equal(write(mfd, "ORD-7\r\n", 7), 7);
	assert_true(wait_readable(scanner_get_fd(s), WAIT_MS));
	assert_int_equal(scanner_on_readable(s, scan), 0);
	assert_int_equal(scan->len, sizeof(label) - 3);
	assert_memory_equal(scan->text, label, sizeof(label) - 3);
	rc = scanner_on_readable(s, scan);
	if (rc == -EAGAIN) { /* the second line may come in a second read */
		assert_true(wait_readable(scanner_get_fd(s), WAIT_MS));
		rc = scanner_on_readable(s, scan);
	}
	assert_int_equal(rc, 0);
	assert_string_equal(scan->text, "ORD-7");

	/* unplugged: the master side goes away, the slave reads EIO */
	close(mfd);
	assert_true(wait_readable(scanner_get_fd(s), WAIT_MS));
	assert_int_equal(scanner_on_readable(s, scan), -ENODEV);
	scanner_close(s);

	/* a scanner without a terminator: the gap ends the scan */
	assert_int_equal(openpty(&mfd, &sfd, name, NULL, NULL), 0);
	s = open_serial(name, "none", 20, &rc);
	assert_int_equal(rc, 0);
	close(sfd);
	assert_int_equal(write(mfd, "XYZ", 3), 3);
	rc = -EAGAIN;
	while (rc == -EAGAIN && wait_readable(scanner_get_fd(s), WAIT_MS))
		rc = scanner_on_readable(s, scan);
	assert_int_equal(rc, 0);
	assert_string_equal(scan->text, "XYZ");
	assert_int_equal(scanner_on_readable(s, scan), -EAGAIN);
	scanner_close(s);
	close(mfd);

	/* bad line settings fail the open */
	s = NULL;
	{
		struct scanner_cfg cfg = { .backend = "serial", .serial = "9600 9Q1" };

		snprintf(cfg.device, sizeof(cfg.device), "%.200s", name);
		assert_int_equal(scanner_open(&cfg, &s), -EINVAL);
		assert_null(s);
	}
	free(scan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wedge_replay),
		cmocka_unit_test(test_wedge_stats),
		cmocka_unit_test(test_wedge_overflow_altnum),
		cmocka_unit_test(test_parse_opts),
		cmocka_unit_test(test_parse_fkeys),
		cmocka_unit_test(test_check_cfg),
		cmocka_unit_test(test_aim),
		cmocka_unit_test(test_evemu_line),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_overflow),
		cmocka_unit_test(test_evdev_backend),
		cmocka_unit_test(test_serial_backend),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
