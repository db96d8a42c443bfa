/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_badge.c - Wiegand decoding and the badge backends.
 *
 * Table-driven, one row per quirk:
 *   - Wiegand formats from bit strings (every parity bit of every format flipped once);
 *   - Wiegand frames from edge timings in the tests/data/badge/ .wiegand files (synthetic until
 *     replaced by real captures; see tests/data/badge/mkwiegand.py): gaps, slow readers,
 *     both lines low, noise, disabled formats;
 *   - the timing-file and badge.formats parsers.
 * Backends: the evdev badge reader replays tests/data/badge/rfid-kbd.evemu through a FIFO
 * standing in for the input node (ioctl seam of hal/evdev.c); the wiegand backend's open()
 * errors. Decoding on a real GPIO chip (gpio-sim) belongs to the VM rig.
 *
 * All waits are poll() with a timeout; nothing sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/input.h>
#include <poll.h>
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

#include "drivers/badge/badge.h"
#include "drivers/badge/badge_proto.h"
#include "drivers/scanner/scanner_proto.h"
#include "hal/clock.h"
#include "hal/evdev.h"

#define DATA_DIR "tests/data/badge"
/** Most edges in one timing file. */
#define EDGES_MAX 1024
/** Most frames expected from one replay. */
#define FRAMES_MAX 4
/** How long a test waits for an fd that should become readable. */
#define WAIT_MS 2000

static char tmpdir[PATH_MAX];

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
	snprintf(tmpdir, sizeof(tmpdir), "%s/sealbench-badge-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	hal_evdev_set_ioctl_override(NULL);
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* "0101..." (blanks ignored) -> bits, first character = first bit = MSB. */
static uint64_t bits_of(const char *s, unsigned *ret_n)
{
	uint64_t v = 0;
	unsigned n = 0;

	for (; *s; s++) {
		if (*s == ' ')
			continue;
		v = v << 1 | (uint64_t)(*s == '1');
		n++;
	}
	*ret_n = n;
	return v;
}

/* ---- formats from bits ---- */

/* Bit strings cross-checked with tests/data/badge/mkwiegand.py. */
#define H26_123_4567 "1 01111011 0001000111010111 0"
#define H34_40000_65000 "1 1001110001000000 1111110111101000 0"
#define C35_2748_699050 "10 101010111100 10101010101010101010 1"
#define H37_65535_524287 "0 1111111111111111 1111111111111111111 1"

static void test_wiegand_formats(void **state)
{
	static const struct {
		const char *legend;
		const char *bits;
		int flip;          /* bit position to flip, -1 none */
		unsigned formats;  /* 0 = all */
		enum badge_wiegand_format fmt;
		uint32_t facility;
		uint64_t card;
		bool parity_ok;
		bool valid;
	} rows[] = {
		{ "H10301", H26_123_4567, -1, 0, BADGE_WIEGAND_H10301, 123, 4567, true, true },
		{ "H10301 leading parity", H26_123_4567, 0, 0, BADGE_WIEGAND_H10301, 123, 4567,
		  false, false },
		{ "H10301 trailing parity", H26_123_4567, 25, 0, BADGE_WIEGAND_H10301, 123, 4567,
		  false, false },
		{ "H10301 data bit", H26_123_4567, 5, 0, BADGE_WIEGAND_H10301, 115, 4567, false,
		  false },
		{ "H10301 zero", "0 00000000 0000000000000000 1", -1, 0, BADGE_WIEGAND_H10301, 0, 0,
		  true, true },
		{ "H10306", H34_40000_65000, -1, 0, BADGE_WIEGAND_H10306, 40000, 65000, true,
		  true },
		{ "H10306 leading parity", H34_40000_65000, 0, 0, BADGE_WIEGAND_H10306, 40000,
		  65000, false, false },
		{ "H10306 trailing parity", H34_40000_65000, 33, 0, BADGE_WIEGAND_H10306, 40000,
		  65000, false, false },
		{ "C1000-35", C35_2748_699050, -1, 0, BADGE_WIEGAND_C1000_35, 2748, 699050, true,
		  true },
		{ "C1000-35 whole-frame parity", C35_2748_699050, 0, 0, BADGE_WIEGAND_C1000_35,
		  2748, 699050, false, false },
		{ "C1000-35 second parity", C35_2748_699050, 1, 0, BADGE_WIEGAND_C1000_35, 2748,
		  699050, false, false },
		{ "C1000-35 last parity", C35_2748_699050, 34, 0, BADGE_WIEGAND_C1000_35, 2748,
		  699050, false, false },
		{ "H10304", H37_65535_524287, -1, 0, BADGE_WIEGAND_H10304, 65535, 524287, true,
		  true },
		{ "H10304 leading parity", H37_65535_524287, 0, 0, BADGE_WIEGAND_H10304, 65535,
		  524287, false, false },
		{ "H10304 trailing parity", H37_65535_524287, 36, 0, BADGE_WIEGAND_H10304, 65535,
		  524287, false, false },
		{ "32 bits: unknown", "0101010101010101 0101010101010101", -1, 0,
		  BADGE_WIEGAND_UNKNOWN, 0, 0, false, false },
		{ "26 bits, only 37 enabled", H26_123_4567, -1, 1u << BADGE_WIEGAND_H10304,
		  BADGE_WIEGAND_UNKNOWN, 0, 0, false, false },
	};
	struct badge_wiegand_frame f;
	unsigned n;
	uint64_t raw;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		raw = bits_of(rows[i].bits, &n);
		if (rows[i].flip >= 0)
			raw ^= 1ULL << (n - 1 - (unsigned)rows[i].flip);
		badge_proto_wiegand_decode(raw, n,
					   rows[i].formats ? rows[i].formats
							   : BADGE_WIEGAND_FORMATS_ALL,
					   &f);
		if (f.format != rows[i].fmt || f.parity_ok != rows[i].parity_ok ||
		    f.valid != rows[i].valid || f.nbits != n)
			fail_msg("%s: format %d parity %d valid %d", rows[i].legend, f.format,
				 f.parity_ok, f.valid);
		if (f.format != BADGE_WIEGAND_UNKNOWN &&
		    (f.facility != rows[i].facility || f.card != rows[i].card))
			fail_msg("%s: %u-%llu", rows[i].legend, f.facility,
				 (unsigned long long)f.card);
	}
}

static void test_wiegand_id(void **state)
{
	struct badge_wiegand_frame f;
	char buf[BADGE_ID_MAX + 1];
	unsigned n;
	uint64_t raw;

	(void)state;
	raw = bits_of(H26_123_4567, &n);
	badge_proto_wiegand_decode(raw, n, BADGE_WIEGAND_FORMATS_ALL, &f);
	assert_int_equal(badge_proto_wiegand_id(&f, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "123-4567");
	assert_int_equal(badge_proto_wiegand_id(&f, buf, 4), -ENOBUFS);
	f.valid = false;
	assert_int_equal(badge_proto_wiegand_id(&f, buf, sizeof(buf)), -EINVAL);
	assert_string_equal(badge_proto_wiegand_format_name(BADGE_WIEGAND_C1000_35), "C1000-35");
	assert_string_equal(badge_proto_wiegand_format_name(BADGE_WIEGAND_UNKNOWN), "unknown");
}

static void test_parse_formats(void **state)
{
	static const struct {
		const char *text;
		int rc;
		unsigned set;
	} rows[] = {
		{ "", 0, BADGE_WIEGAND_FORMATS_ALL },
		{ "26,34,35,37", 0, BADGE_WIEGAND_FORMATS_ALL },
		{ "26", 0, 1u << BADGE_WIEGAND_H10301 },
		{ " 37 , 35", 0, 1u << BADGE_WIEGAND_H10304 | 1u << BADGE_WIEGAND_C1000_35 },
		{ "32", -EINVAL, 0 },
		{ "26;34", -EINVAL, 0 },
		{ "h10301", -EINVAL, 0 },
		{ "-26", -EINVAL, 0 },
	};
	unsigned set;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		set = 0xdead;
		if (badge_proto_parse_formats(rows[i].text, &set) != rows[i].rc)
			fail_msg("'%s': wrong rc", rows[i].text);
		assert_int_equal(set, rows[i].rc ? 0xdead : rows[i].set);
	}
}

static void test_timing_line(void **state)
{
	static const struct {
		const char *line;
		int rc;
		unsigned off;
		uint64_t t_ns;
		bool rising;
	} rows[] = {
		{ "17 2050 falling\n", 0, 17, 2050000, false },
		{ "  1\t0 rising # first edge\r\n", 0, 1, 0, true },
		{ "# offset time_us edge\n", -ENOMSG, 0, 0, false },
		{ "\n", -ENOMSG, 0, 0, false },
		{ "", -ENOMSG, 0, 0, false },
		{ "17 2050 fall\n", -EBADMSG, 0, 0, false },
		{ "17 2050\n", -EBADMSG, 0, 0, false },
		{ "17 -5 rising\n", -EBADMSG, 0, 0, false },
		{ "x 5 rising\n", -EBADMSG, 0, 0, false },
		{ "5000 5 rising\n", -EBADMSG, 0, 0, false },
		{ "1 5 rising extra\n", -EBADMSG, 0, 0, false },
		{ "1 99999999999999999999 rising\n", -EBADMSG, 0, 0, false },
	};
	unsigned off;
	uint64_t t;
	bool rising;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		rc = badge_proto_wiegand_line(rows[i].line, &off, &t, &rising);
		if (rc != rows[i].rc)
			fail_msg("'%s': rc %d, want %d", rows[i].line, rc, rows[i].rc);
		if (rc)
			continue;
		assert_int_equal(off, rows[i].off);
		assert_int_equal(t, rows[i].t_ns);
		assert_int_equal(rising, rows[i].rising);
	}
}

/* ---- frames from timing files ---- */

static size_t load_timing(const char *name, struct badge_wiegand_edge *edges, size_t max)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0, n = 0;
	unsigned off, lineno = 0;
	uint64_t t;
	bool rising;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		r = badge_proto_wiegand_line(line, &off, &t, &rising);
		if (r == -ENOMSG)
			continue;
		if (r < 0)
			fail_msg("%s:%u: bad line", path, lineno);
		assert_true(n < max);
		edges[n++] = (struct badge_wiegand_edge){ off, rising, false, t };
	}
	free(line);
	fclose(f);
	return n;
}

struct want_frame {
	unsigned nbits;
	enum badge_wiegand_format fmt;
	uint32_t facility;
	uint64_t card;
	bool parity_ok, corrupt, valid;
};

#define GOOD(n, f, fc, cn) { n, f, fc, cn, true, false, true }

static void test_wiegand_replay(void **state)
{
	static const struct {
		const char *legend;
		const char *file;
		unsigned gap_ms;
		const char *formats;
		unsigned n_frames;
		struct want_frame want[FRAMES_MAX];
	} rows[] = {
		{ "26-bit", "h10301.wiegand", 25, "", 1,
		  { GOOD(26, BADGE_WIEGAND_H10301, 123, 4567) } },
		{ "34-bit", "h10306.wiegand", 25, "", 1,
		  { GOOD(34, BADGE_WIEGAND_H10306, 40000, 65000) } },
		{ "35-bit", "c1000.wiegand", 25, "", 1,
		  { GOOD(35, BADGE_WIEGAND_C1000_35, 2748, 699050) } },
		{ "37-bit", "h10304.wiegand", 25, "", 1,
		  { GOOD(37, BADGE_WIEGAND_H10304, 65535, 524287) } },
		{ "two frames split by a gap", "two-frames.wiegand", 25, "", 2,
		  { GOOD(26, BADGE_WIEGAND_H10301, 1, 2),
		    GOOD(37, BADGE_WIEGAND_H10304, 300, 70000) } },
		{ "bad parity, trailing and leading", "bad-parity.wiegand", 25, "", 2,
		  { { 26, BADGE_WIEGAND_H10301, 123, 4567, false, false, false },
		    { 26, BADGE_WIEGAND_H10301, 123, 4567, false, false, false } } },
		{ "slow reader, 8 ms bits, 25 ms gap", "slow-reader.wiegand", 25, "", 1,
		  { GOOD(26, BADGE_WIEGAND_H10301, 55, 5555) } },
		{ "slow reader with a 5 ms gap splits (pigpio's failure)", "slow-reader.wiegand",
		  5, "", 26, { { 1, BADGE_WIEGAND_UNKNOWN, 0, 0, false, false, false } } },
		{ "both lines low, then noise", "glitch.wiegand", 25, "", 2,
		  { { 27, BADGE_WIEGAND_UNKNOWN, 0, 0, false, true, false },
		    { 3, BADGE_WIEGAND_UNKNOWN, 0, 0, false, false, false } } },
		{ "format not enabled", "h10304.wiegand", 25, "26,34", 1,
		  { { 37, BADGE_WIEGAND_UNKNOWN, 0, 0, false, false, false } } },
	};
	static struct badge_wiegand_edge edges[EDGES_MAX];
	struct badge_wiegand_frame f;
	struct badge_wiegand w;
	unsigned formats, i;
	size_t r_i, n, pos;

	(void)state;
	for (r_i = 0; r_i < sizeof(rows) / sizeof(rows[0]); r_i++) {
		n = load_timing(rows[r_i].file, edges, EDGES_MAX);
		assert_int_equal(badge_proto_parse_formats(rows[r_i].formats, &formats), 0);
		badge_wiegand_init(&w, rows[r_i].gap_ms * NSEC_PER_MSEC, formats);
		pos = 0;
		i = 0;
		for (;;) {
			if (badge_wiegand_run(&w, edges, n, &pos, &f) != 0 &&
			    badge_wiegand_expire(&w, edges[n - 1].t_ns + NSEC_PER_SEC, &f) != 0)
				break;
			if (i < FRAMES_MAX && (i == 0 || rows[r_i].want[i].nbits)) {
				const struct want_frame *wf = &rows[r_i].want[i];

				if (f.nbits != wf->nbits || f.format != wf->fmt ||
				    f.parity_ok != wf->parity_ok || f.corrupt != wf->corrupt ||
				    f.valid != wf->valid)
					fail_msg("%s: frame %u: %u bits format %d parity %d "
						 "corrupt %d valid %d", rows[r_i].legend, i, f.nbits,
						 f.format, f.parity_ok, f.corrupt, f.valid);
				if (wf->fmt && (f.facility != wf->facility || f.card != wf->card))
					fail_msg("%s: frame %u: %u-%llu", rows[r_i].legend, i,
						 f.facility, (unsigned long long)f.card);
			}
			i++;
		}
		if (i != rows[r_i].n_frames)
			fail_msg("%s: %u frames, want %u", rows[r_i].legend, i,
				 rows[r_i].n_frames);
		assert_int_equal(badge_wiegand_deadline(&w), 0);
	}
}

/* Counters, a frame time, lost edges, and an overrun. */
static void test_wiegand_stats(void **state)
{
	static struct badge_wiegand_edge edges[EDGES_MAX];
	struct badge_wiegand_frame f;
	struct badge_wiegand w;
	size_t n, pos = 0, i;

	(void)state;
	badge_wiegand_init(&w, 25 * NSEC_PER_MSEC, BADGE_WIEGAND_FORMATS_ALL);
	n = load_timing("bad-parity.wiegand", edges, EDGES_MAX);
	while (badge_wiegand_run(&w, edges, n, &pos, &f) == 0)
		;
	assert_int_not_equal(badge_wiegand_deadline(&w), 0);
	assert_int_equal(badge_wiegand_expire(&w, edges[n - 1].t_ns + 25 * NSEC_PER_MSEC, &f),
			 -EAGAIN); /* exactly the gap: not yet */
	assert_int_equal(badge_wiegand_expire(&w, badge_wiegand_deadline(&w), &f), 0);
	assert_int_equal(w.stats.bad_parity, 2);
	assert_true(f.t_ns > edges[0].t_ns && f.t_ns < f.end_ns); /* the second frame */
	assert_int_equal(f.end_ns, edges[n - 1].t_ns);

	/* the kernel lost edges in the middle of a good frame: corrupt */
	n = load_timing("h10301.wiegand", edges, EDGES_MAX);
	edges[20].lost = true;
	badge_wiegand_init(&w, 25 * NSEC_PER_MSEC, BADGE_WIEGAND_FORMATS_ALL);
	pos = 0;
	assert_int_equal(badge_wiegand_run(&w, edges, n, &pos, &f), -EAGAIN);
	assert_int_equal(badge_wiegand_expire(&w, edges[n - 1].t_ns + NSEC_PER_SEC, &f), 0);
	assert_true(f.corrupt);
	assert_false(f.valid);
	assert_int_equal(w.stats.corrupt, 1);

	/* 70 bits: an overrun, counted as corrupt */
	for (i = 0; i < 140; i += 2) {
		edges[i] = (struct badge_wiegand_edge){ 1, false, false, 1000000 + i * 1000000 };
		edges[i + 1] = (struct badge_wiegand_edge){ 1, true, false, 1050000 + i * 1000000 };
	}
	badge_wiegand_init(&w, 25 * NSEC_PER_MSEC, BADGE_WIEGAND_FORMATS_ALL);
	pos = 0;
	assert_int_equal(badge_wiegand_run(&w, edges, 140, &pos, &f), -EAGAIN);
	assert_int_equal(badge_wiegand_expire(&w, NSEC_PER_SEC * 10, &f), 0);
	assert_int_equal(f.nbits, 70);
	assert_true(f.corrupt);
	assert_false(f.valid);
	assert_int_equal(f.raw, UINT64_MAX);
}

/* ---- backends ---- */

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct input_id *id = arg;

	(void)fd;
	if (req == EVIOCSCLOCKID || req == EVIOCGRAB)
		return 0;
	if (req == EVIOCGID) {
		memset(id, 0, sizeof(*id));
		id->bustype = BUS_USB;
		id->vendor = 0xffff;
		id->product = 0x0035;
		return 0;
	}
	if (_IOC_TYPE(req) == 'E' && _IOC_NR(req) == _IOC_NR(EVIOCGNAME(0))) {
		snprintf(arg, _IOC_SIZE(req), "Sycreader RFID Technology Co., Ltd SYC ID&IC USB Reader");
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* The keyboard RFID capture, written to a FIFO the backend reads as its input node. */
static void test_evdev_backend(void **state)
{
	static const struct {
		int rc;
		const char *id;
	} want[] = {
		{ 0, "0012345678" },  { 0, "04A1B2C3" }, { -EBADMSG, NULL },
		{ -EBADMSG, NULL }, { 0, "0087654321" },
	};
	struct badge_cfg cfg = { .backend = "evdev" };
	char path[PATH_MAX], *line = NULL;
	struct hal_evdev_event ev;
	struct input_event ie;
	struct badge_read rd;
	struct badge *b = NULL;
	size_t cap = 0, i;
	FILE *f;
	int wfd, rc;

	(void)state;
	assert_true(badge_backend_exists("evdev"));
	hal_evdev_set_ioctl_override(fake_ioctl);
	snprintf(cfg.device, sizeof(cfg.device), "%.200s/event-rfid", tmpdir);
	assert_int_equal(badge_open(&cfg, &b), -ENOENT);
	assert_null(b);

	assert_int_equal(mkfifo(cfg.device, 0600), 0);
	wfd = open(cfg.device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	assert_true(wfd >= 0);
	assert_int_equal(badge_open(&cfg, &b), 0);
	assert_string_equal(badge_get_model(b),
			    "Sycreader RFID Technology Co., Ltd SYC ID&IC USB (ffff:0035)");

	snprintf(path, sizeof(path), "%s/rfid-kbd.evemu", DATA_DIR);
	f = fopen(path, "r");
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		if (scanner_proto_evemu_line(line, &ev) < 0)
			continue;
		memset(&ie, 0, sizeof(ie));
		ie.input_event_sec = (long)(ev.t_ns / NSEC_PER_SEC);
		ie.input_event_usec = (long)(ev.t_ns % NSEC_PER_SEC / 1000);
		ie.type = ev.type;
		ie.code = ev.code;
		ie.value = ev.value;
		assert_int_equal(write(wfd, &ie, sizeof(ie)), sizeof(ie));
	}
	free(line);
	fclose(f);

	assert_true(wait_readable(badge_get_fd(b), WAIT_MS));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		rc = badge_on_readable(b, &rd);
		if (rc != want[i].rc)
			fail_msg("read %zu: rc %d, want %d", i, rc, want[i].rc);
		if (!rc)
			assert_string_equal(rd.id, want[i].id);
	}
	assert_int_equal(badge_on_readable(b, &rd), -EAGAIN);

	/* unplugged */
	close(wfd);
	assert_true(wait_readable(badge_get_fd(b), WAIT_MS));
	assert_int_equal(badge_on_readable(b, &rd), -ENODEV);
	badge_close(b);
	hal_evdev_set_ioctl_override(NULL);
}

static void test_check_cfg(void **state)
{
	static const struct {
		struct badge_cfg cfg;
		int rc;
	} rows[] = {
		{ { .backend = "sim", .device = "x" }, 0 },
		{ { .backend = "evdev", .device = "x" }, 0 },
		{ { .backend = "evdev", .device = "x", .key_timeout_ms = 60001 }, -EINVAL },
		{ { .backend = "wiegand", .chip = "gpiochip0", .d0 = 17, .d1 = 27 }, 0 },
		{ { .backend = "wiegand", .device = "/dev/gpiochip0", .d0 = 0, .d1 = 1,
		    .gap_ms = 1000, .formats = "26" }, 0 },
		{ { .backend = "wiegand", .chip = "gpiochip0", .d0 = 17, .d1 = 17 }, -EINVAL },
		{ { .backend = "wiegand", .chip = "gpiochip0", .d0 = -1, .d1 = 27 }, -EINVAL },
		{ { .backend = "wiegand", .d0 = 17, .d1 = 27 }, -EINVAL },
		{ { .backend = "wiegand", .chip = "gpiochip0", .d0 = 17, .d1 = 27,
		    .gap_ms = 1001 }, -EINVAL },
		{ { .backend = "wiegand", .chip = "gpiochip0", .d0 = 17, .d1 = 27,
		    .formats = "26,36" }, -EINVAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (badge_check_cfg(&rows[i].cfg) != rows[i].rc)
			fail_msg("row %zu: want %d", i, rows[i].rc);
	}
	assert_int_equal(badge_check_cfg(NULL), -EINVAL);
}

static void test_wiegand_open(void **state)
{
	static const struct {
		const char *legend;
		const char *chip;
		int d0, d1;
		unsigned gap_ms;
		const char *formats;
		int rc;
	} rows[] = {
		{ "same line twice", "/dev/gpiochip0", 17, 17, 0, "", -EINVAL },
		{ "unset line", "/dev/gpiochip0", -1, 27, 0, "", -EINVAL },
		{ "bad formats", "/dev/gpiochip0", 17, 27, 0, "26,99", -EINVAL },
		{ "gap too long", "/dev/gpiochip0", 17, 27, 5000, "", -EINVAL },
		{ "no chip", "", 17, 27, 0, "", -EINVAL },
#ifdef WITH_LIBGPIOD2
		{ "missing chip", "/nonexistent/gpiochip9", 17, 27, 0, "", -ENOENT },
#else
		{ "without libgpiod", "/nonexistent/gpiochip9", 17, 27, 0, "", -EOPNOTSUPP },
#endif
	};
	struct badge_cfg cfg;
	struct badge *b;
	size_t i;
	int rc;

	(void)state;
	assert_true(badge_backend_exists("wiegand"));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&cfg, 0, sizeof(cfg));
		snprintf(cfg.backend, sizeof(cfg.backend), "wiegand");
		snprintf(cfg.chip, sizeof(cfg.chip), "%s", rows[i].chip);
		snprintf(cfg.formats, sizeof(cfg.formats), "%s", rows[i].formats);
		cfg.d0 = rows[i].d0;
		cfg.d1 = rows[i].d1;
		cfg.gap_ms = rows[i].gap_ms;
		b = NULL;
		rc = badge_open(&cfg, &b);
		if (rc != rows[i].rc)
			fail_msg("%s: rc %d, want %d", rows[i].legend, rc, rows[i].rc);
		assert_null(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wiegand_formats),
		cmocka_unit_test(test_wiegand_id),
		cmocka_unit_test(test_parse_formats),
		cmocka_unit_test(test_timing_line),
		cmocka_unit_test(test_wiegand_replay),
		cmocka_unit_test(test_wiegand_stats),
		cmocka_unit_test(test_evdev_backend),
		cmocka_unit_test(test_check_cfg),
		cmocka_unit_test(test_wiegand_open),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
