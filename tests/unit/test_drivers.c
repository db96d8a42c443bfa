/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_drivers.c - the device classes through their public API, on the sim
 * backends, with real FIFOs in a mkdtemp() directory: line assembly (table-driven), the
 * FIFO seam, each input protocol (split lines, escapes, bad and overlong lines, writers that
 * come and go), the lights output lines byte for byte (and with nobody reading), the camera's
 * JPEG step, and tools/sealbench-sim driving the FIFOs as a daemon would see them.
 *
 * All waits are poll() with a timeout; nothing sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <turbojpeg.h>

#include "drivers/badge/badge.h"
#include "drivers/camera/camera.h"
#include "drivers/lights/lights.h"
#include "drivers/lights/lights_proto.h"
#include "drivers/scale/scale.h"
#include "drivers/scale/scale_proto.h"
#include "drivers/scanner/scanner.h"
#include "drivers/scanner/scanner_proto.h"
#include "hal/clock.h"
#include "hal/fifo.h"
#include "hal/linebuf.h"

/** How long a test waits for an fd that should become readable. */
#define WAIT_MS 2000
/** How long the simulator tool may run before the test gives up on it. */
#define TOOL_WAIT_MS 15000

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
	snprintf(tmpdir, sizeof(tmpdir), "%s/sealbench-drivers-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	signal(SIGPIPE, SIG_IGN);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh path in the temporary directory. */
static const char *tpath(const char *name)
{
	static char buf[4][PATH_MAX];
	static unsigned i;
	char *p = buf[i++ % 4];

	assert_true(snprintf(p, PATH_MAX, "%s/%s", tmpdir, name) < PATH_MAX);
	return p;
}

/* Copy a string that must fit (device paths into config structs). */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	assert_true(n < size);
	memcpy(dst, src, n + 1);
}

static bool readable(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

/* Open a FIFO's write end; never blocks (fails with ENXIO if nobody reads). */
static int writer(const char *path)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void put(int fd, const char *s)
{
	size_t len = strlen(s);

	assert_int_equal(write(fd, s, len), (ssize_t)len);
}

/* Read whatever a FIFO holds (after waiting for the first byte). */
static size_t slurp(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	if (!readable(fd, WAIT_MS))
		return 0;
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

/* ---- hal/linebuf: table-driven ---- */

struct lb_result {
	int r;
	const char *line;
};

struct lb_case {
	const char *legend;
	size_t max;
	const char *chunks[4];
	struct lb_result want[6];
};

static const struct lb_case lb_cases[] = {
	{"one line", 16, {"abc\n"}, {{0, "abc"}}},
	{"split across chunks", 16, {"a", "bc", "\n"}, {{0, "abc"}}},
	{"two lines in one chunk", 16, {"a\nb\n"}, {{0, "a"}, {0, "b"}}},
	{"CRLF", 16, {"abc\r\n"}, {{0, "abc"}}},
	{"CR split from LF", 16, {"abc\r", "\n"}, {{0, "abc"}}},
	{"CR inside kept", 16, {"a\rb\n"}, {{0, "a\rb"}}},
	{"empty line", 16, {"\n"}, {{0, ""}}},
	{"no newline yet", 16, {"abc"}, {{0, NULL}}},
	{"exactly max", 4, {"abcd\n"}, {{0, "abcd"}}},
	{"max + 1 then recovery", 4, {"abcde\n", "ok\n"}, {{-EMSGSIZE, NULL}, {0, "ok"}}},
	{"overlong in pieces", 4, {"abc", "defgh", "ijk\nok\n"}, {{-EMSGSIZE, NULL}, {0, "ok"}}},
	{"lines around an overlong one",
	 4,
	 {"ab\nxxxxxxxxxx\ncd\n"},
	 {{0, "ab"}, {-EMSGSIZE, NULL}, {0, "cd"}}},
	{"two overlong lines",
	 3,
	 {"aaaaaa\nbbbbbbb\nc\n"},
	 {{-EMSGSIZE, NULL}, {-EMSGSIZE, NULL}, {0, "c"}}},
	{"full buffer of short lines",
	 4,
	 {"a\nb\nc\nd\n"},
	 {{0, "a"}, {0, "b"}, {0, "c"}, {0, "d"}}},
};

static void linebuf_table(void **state)
{
	char storage[LINEBUF_STORAGE(16)];
	struct lb_result got[8];
	const char *line;
	struct linebuf lb;
	size_t c, k, n, len, off;
	char copy[8][17];
	int r;

	(void)state;
	for (c = 0; c < sizeof(lb_cases) / sizeof(lb_cases[0]); c++) {
		const struct lb_case *tc = &lb_cases[c];

		linebuf_init(&lb, storage, LINEBUF_STORAGE(tc->max));
		n = 0;
		for (k = 0; k < 4 && tc->chunks[k]; k++) {
			len = strlen(tc->chunks[k]);
			off = 0;
			for (;;) {
				off += linebuf_feed(&lb, tc->chunks[k] + off, len - off);
				while ((r = linebuf_pop(&lb, &line, &len)) != -EAGAIN) {
					assert_true(n < 8);
					got[n].r = r;
					got[n].line = NULL;
					if (r == 0) {
						assert_true(len <= 16);
						memcpy(copy[n], line, len + 1);
						got[n].line = copy[n];
					}
					n++;
				}
				len = strlen(tc->chunks[k]);
				if (off == len)
					break;
			}
		}
		for (k = 0; k < 6 && (tc->want[k].r || tc->want[k].line); k++) {
			if (k >= n || got[k].r != tc->want[k].r ||
			    (tc->want[k].line && strcmp(got[k].line, tc->want[k].line)))
				fail_msg("linebuf \"%s\": result %zu differs", tc->legend, k);
		}
		if (n != k)
			fail_msg("linebuf \"%s\": %zu results, want %zu", tc->legend, n, k);
	}
}

static void linebuf_room_after_eagain(void **state)
{
	char storage[LINEBUF_STORAGE(4)];
	const char *line;
	struct linebuf lb;
	size_t len;
	char *p;

	(void)state;
	linebuf_init(&lb, storage, sizeof(storage));
	assert_int_equal(linebuf_feed(&lb, "a\nbcd", 5), 5);
	assert_int_equal(linebuf_pop(&lb, &line, &len), 0);
	assert_string_equal(line, "a");
	assert_int_equal(linebuf_pop(&lb, &line, &len), -EAGAIN);
	/* The partial line moves down: room for its newline. */
	assert_int_equal(linebuf_room(&lb, &p), 2);
	assert_int_equal(linebuf_feed(&lb, "\n", 1), 1);
	assert_int_equal(linebuf_pop(&lb, &line, &len), 0);
	assert_string_equal(line, "bcd");
	assert_int_equal(len, 3);
}

/* ---- hal/fifo ---- */

static void fifo_create_and_type_check(void **state)
{
	const char *path = tpath("fifo-create");
	const char *file = tpath("not-a-fifo");
	struct stat st;
	int fd, wfd;
	char buf[8];

	(void)state;
	fd = hal_fifo_open_read(path);
	assert_true(fd >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(hal_read(fd, buf, sizeof(buf)), -EAGAIN);
	/* A second open (the writer side) finds the existing FIFO. */
	wfd = hal_fifo_open_write(path);
	assert_true(wfd >= 0);
	assert_int_equal(hal_write(wfd, "hi", 2), 2);
	assert_int_equal(hal_read(fd, buf, sizeof(buf)), 2);
	close(wfd);
	/* The last writer left: the reader sees "empty", not EOF. */
	assert_false(readable(fd, 0));
	assert_int_equal(hal_read(fd, buf, sizeof(buf)), -EAGAIN);
	close(fd);

	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	put(fd, "keep me");
	close(fd);
	assert_int_equal(hal_fifo_open_read(file), -EEXIST);
	assert_int_equal(hal_fifo_open_write(file), -EEXIST);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_size, 7);
	assert_int_equal(hal_fifo_open_read(tpath("no-such-dir/x")), -ENOENT);
	assert_int_equal(hal_fifo_open_read(""), -EINVAL);
}

/* ---- unknown backends ---- */

static void unknown_backend(void **state)
{
	struct scale_cfg sc = {.backend = "nope"};
	struct scanner_cfg nc = {.backend = "nope"};
	struct badge_cfg bc = {.backend = "nope"};
	struct camera_cfg cc = {.backend = "nope"};
	struct lights_cfg lc = {.backend = "nope"};
	struct scale *s = (struct scale *)&sc; /* must stay untouched */
	struct scanner *n = NULL;
	struct badge *b = NULL;
	struct camera *c = NULL;
	struct lights *l = NULL;

	(void)state;
	assert_int_equal(scale_open(&sc, &s), -ENOENT);
	assert_ptr_equal(s, (struct scale *)&sc);
	assert_int_equal(scanner_open(&nc, &n), -ENOENT);
	assert_int_equal(badge_open(&bc, &b), -ENOENT);
	assert_int_equal(camera_open(&cc, &c), -ENOENT);
	assert_int_equal(lights_open(&lc, &l), -ENOENT);
	assert_null(n);
	assert_null(b);
	assert_null(c);
	assert_null(l);

	assert_true(scale_backend_exists("sim"));
	assert_true(scanner_backend_exists("sim"));
	assert_true(badge_backend_exists("sim"));
	assert_true(camera_backend_exists("sim"));
	assert_true(lights_backend_exists("sim"));
	assert_false(scale_backend_exists("nope"));
	assert_false(lights_backend_exists(NULL));
	assert_int_equal(scale_open(NULL, &s), -EINVAL);

	/* Destructors take NULL. */
	scale_close(NULL);
	scanner_close(NULL);
	badge_close(NULL);
	camera_close(NULL);
	lights_close(NULL);
}

/* ---- scale ---- */

static void scale_proto_table(void **state)
{
	static const struct {
		const char *line;
		int r;
		int32_t grams;
		bool stable;
		enum scale_status status;
	} rows[] = {
		{"1234 stable", 0, 1234, true, SCALE_OK},
		{"-5 motion", 0, -5, false, SCALE_OK},
		{"  0\tstable  ", 0, 0, true, SCALE_OK},
		{"40000 motion over", 0, 40000, false, SCALE_OVER_LIMIT},
		{"-20 stable under", 0, -20, true, SCALE_UNDER_ZERO},
		{"0 motion fault", 0, 0, false, SCALE_FAULT},
		{"2147483647 stable", 0, INT32_MAX, true, SCALE_OK},
		{"2147483648 stable", -EBADMSG, 0, 0, 0},
		{"12a stable", -EBADMSG, 0, 0, 0},
		{"12 steady", -EBADMSG, 0, 0, 0},
		{"12", -EBADMSG, 0, 0, 0},
		{"stable 12", -EBADMSG, 0, 0, 0},
		{"12 stable over extra", -EBADMSG, 0, 0, 0},
		{"12 stable bogus", -EBADMSG, 0, 0, 0},
		{"", -EBADMSG, 0, 0, 0},
	};
	struct scale_reading rd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&rd, 0x5a, sizeof(rd));
		if (scale_proto_parse_sim(rows[i].line, &rd) != rows[i].r)
			fail_msg("scale line \"%s\": wrong result", rows[i].line);
		if (rows[i].r) {
			assert_int_equal(rd.grams, 0x5a5a5a5a); /* untouched */
			continue;
		}
		assert_int_equal(rd.grams, rows[i].grams);
		assert_int_equal(rd.stable, rows[i].stable);
		assert_int_equal(rd.status, rows[i].status);
	}
}

static struct scale *open_scale(const char *name)
{
	struct scale_cfg cfg = {.backend = "sim"};
	struct scale *s = NULL;

	copy_str(cfg.device, sizeof(cfg.device), tpath(name));
	assert_int_equal(scale_open(&cfg, &s), 0);
	assert_non_null(s);
	assert_string_equal(scale_get_model(s), "sealbench sim scale");
	return s;
}

static void scale_split_lines_and_reopen(void **state)
{
	struct scale *s = open_scale("scale-split");
	struct scale_reading rd;
	int fd = scale_get_fd(s), w;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(scale_on_readable(s, &rd), -EAGAIN);
	w = writer(s->cfg.device);
	put(w, "12");
	assert_true(readable(fd, WAIT_MS));
	assert_int_equal(scale_on_readable(s, &rd), -EAGAIN); /* half a line */
	put(w, "34 sta");
	put(w, "ble\r\n-5 motion\n\n7 stable");
	assert_true(readable(fd, WAIT_MS));
	assert_int_equal(scale_on_readable(s, &rd), 0);
	assert_int_equal(rd.grams, 1234);
	assert_true(rd.stable);
	assert_int_equal(rd.status, SCALE_OK);
	assert_true(rd.t_ns > 0);
	assert_int_equal(scale_on_readable(s, &rd), 0);
	assert_int_equal(rd.grams, -5);
	assert_false(rd.stable);
	assert_int_equal(scale_on_readable(s, &rd), -EAGAIN); /* blank skipped, "7" pending */

	/* The writer goes away mid-line: no EOF, no HUP storm; the next writer finishes it. */
	close(w);
	assert_false(readable(fd, 0));
	w = writer(s->cfg.device);
	put(w, " over\n");
	close(w);
	assert_true(readable(fd, WAIT_MS));
	assert_int_equal(scale_on_readable(s, &rd), 0);
	assert_int_equal(rd.grams, 7);
	assert_int_equal(rd.status, SCALE_OVER_LIMIT);
	assert_int_equal(scale_on_readable(s, &rd), -EAGAIN);
	assert_false(readable(fd, 0));
	scale_close(s);
}

static void scale_bad_lines_and_tare(void **state)
{
	struct scale *s = open_scale("scale-bad");
	struct scale_reading rd = {.grams = 99};
	char longline[200];
	int w;

	(void)state;
	w = writer(s->cfg.device);
	memset(longline, '1', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	put(w, "abc stable\n");
	put(w, longline);
	put(w, " stable\n1 2\n100 stable\n");
	assert_true(readable(scale_get_fd(s), WAIT_MS));
	assert_int_equal(scale_on_readable(s, &rd), -EBADMSG);
	assert_int_equal(rd.grams, 99);			       /* untouched */
	assert_int_equal(scale_on_readable(s, &rd), -EBADMSG); /* overlong */
	assert_int_equal(scale_on_readable(s, &rd), -EBADMSG);
	assert_int_equal(scale_on_readable(s, &rd), 0);
	assert_int_equal(rd.grams, 100);

	assert_int_equal(scale_tare(s), 0);
	put(w, "150 stable\n");
	assert_true(readable(scale_get_fd(s), WAIT_MS));
	assert_int_equal(scale_on_readable(s, &rd), 0);
	assert_int_equal(rd.grams, 50);
	close(w);
	scale_close(s);

	assert_int_equal(scale_tare(NULL), -EINVAL);
	assert_int_equal(scale_on_readable(NULL, &rd), -EINVAL);
	assert_string_equal(scale_get_model(NULL), "");
}

static void scale_open_not_a_fifo(void **state)
{
	struct scale_cfg cfg = {.backend = "sim"};
	struct scale *s = NULL;
	int fd;

	(void)state;
	copy_str(cfg.device, sizeof(cfg.device), tpath("scale-regular"));
	fd = open(cfg.device, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(scale_open(&cfg, &s), -EEXIST);
	assert_null(s);
}

/* ---- scanner ---- */

static struct scanner *open_scanner(const char *name)
{
	struct scanner_cfg cfg = {.backend = "sim"};
	struct scanner *s = NULL;

	copy_str(cfg.device, sizeof(cfg.device), tpath(name));
	assert_int_equal(scanner_open(&cfg, &s), 0);
	assert_string_equal(scanner_get_model(s), "sealbench sim scanner");
	return s;
}

static void scanner_escapes(void **state)
{
	static const char label[] = "[)>\x1e"
				    "01\x1d"
				    "1Z999AA10123456784\x1dUPS\x1e\x04";
	struct scanner *s = open_scanner("scanner-esc");
	struct scanner_scan scan;
	int w;

	(void)state;
	w = writer(s->cfg.device);
	put(w, "[)>\\x1e01\\x1d1Z999AA1012345");
	put(w, "6784\\x1dUPS\\x1E\\x04\n");
	put(w, "a\\\\b\\tc\\rd\\ne\\x00f\n");
	put(w, "plain 123\n");
	assert_true(readable(scanner_get_fd(s), WAIT_MS));
	assert_int_equal(scanner_on_readable(s, &scan), 0);
	assert_int_equal(scan.len, sizeof(label) - 1);
	assert_memory_equal(scan.text, label, sizeof(label));
	assert_int_equal(scanner_on_readable(s, &scan), 0);
	assert_int_equal(scan.len, 11);
	assert_memory_equal(scan.text, "a\\b\tc\rd\ne\0f", 11);
	assert_int_equal(scan.text[11], '\0');
	assert_int_equal(scanner_on_readable(s, &scan), 0);
	assert_string_equal(scan.text, "plain 123");
	assert_int_equal(scanner_on_readable(s, &scan), -EAGAIN);
	close(w);
	scanner_close(s);
}

static void scanner_bad_and_overlong(void **state)
{
	struct scanner *s = open_scanner("scanner-bad");
	struct scanner_scan scan = {.len = 77};
	static char big[SCANNER_SIM_LINE_MAX + 100];
	int w;

	(void)state;
	w = writer(s->cfg.device);
	put(w, "bad \\q escape\n");
	put(w, "short \\x4\n");
	/* Too long on the wire: dropped whole, up to its newline. */
	memset(big, 'A', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	put(w, big);
	/* Short enough on the wire, too long once decoded. */
	memset(big, 'B', SCANNER_SCAN_MAX + 1);
	big[SCANNER_SCAN_MAX + 1] = '\n';
	big[SCANNER_SCAN_MAX + 2] = '\0';
	put(w, big);
	/* Exactly the limit is fine. */
	big[SCANNER_SCAN_MAX] = '\n';
	big[SCANNER_SCAN_MAX + 1] = '\0';
	put(w, big);
	put(w, "ok\n");

	assert_true(readable(scanner_get_fd(s), WAIT_MS));
	assert_int_equal(scanner_on_readable(s, &scan), -EBADMSG);
	assert_int_equal(scan.len, 77); /* untouched */
	assert_int_equal(scanner_on_readable(s, &scan), -EBADMSG);
	assert_int_equal(scanner_on_readable(s, &scan), -EMSGSIZE);
	assert_int_equal(scanner_on_readable(s, &scan), -EMSGSIZE);
	assert_int_equal(scanner_on_readable(s, &scan), 0);
	assert_int_equal(scan.len, SCANNER_SCAN_MAX);
	assert_int_equal(scan.text[0], 'B');
	assert_int_equal(scanner_on_readable(s, &scan), 0);
	assert_string_equal(scan.text, "ok");
	assert_int_equal(scanner_on_readable(s, &scan), -EAGAIN);
	close(w);
	scanner_close(s);
}

/* ---- badge ---- */

static void badge_lines(void **state)
{
	struct badge_cfg cfg = {.backend = "sim"};
	struct badge_read rd = {.id = "untouched"};
	char id[BADGE_ID_MAX + 3];
	struct badge *b = NULL;
	int w;

	(void)state;
	copy_str(cfg.device, sizeof(cfg.device), tpath("badge"));
	assert_int_equal(badge_open(&cfg, &b), 0);
	assert_string_equal(badge_get_model(b), "sealbench sim badge");
	w = writer(cfg.device);
	put(w, "  P-17 \r\n");
	put(w, "\n");
	put(w, "bad\x01id\n");
	put(w, "caf\xc3\xa9\n");
	memset(id, '9', BADGE_ID_MAX + 1);
	id[BADGE_ID_MAX + 1] = '\n';
	id[BADGE_ID_MAX + 2] = '\0';
	put(w, id); /* one too long */
	id[BADGE_ID_MAX] = '\n';
	id[BADGE_ID_MAX + 1] = '\0';
	put(w, id); /* the longest */
	assert_true(readable(badge_get_fd(b), WAIT_MS));
	assert_int_equal(badge_on_readable(b, &rd), 0);
	assert_string_equal(rd.id, "P-17");
	assert_int_equal(badge_on_readable(b, &rd), -EBADMSG);
	assert_int_equal(badge_on_readable(b, &rd), -EBADMSG);
	assert_int_equal(badge_on_readable(b, &rd), -EBADMSG);
	assert_string_equal(rd.id, "P-17"); /* untouched by failures */
	assert_int_equal(badge_on_readable(b, &rd), 0);
	assert_int_equal(strlen(rd.id), BADGE_ID_MAX);
	assert_int_equal(badge_on_readable(b, &rd), -EAGAIN);
	/* A new writer after the old one left. */
	close(w);
	w = writer(cfg.device);
	put(w, "LEAD-1\n");
	close(w);
	assert_true(readable(badge_get_fd(b), WAIT_MS));
	assert_int_equal(badge_on_readable(b, &rd), 0);
	assert_string_equal(rd.id, "LEAD-1");
	badge_close(b);
}

/* ---- lights ---- */

static struct lights *open_lights(const char *name)
{
	struct lights_cfg cfg = {
		.backend = "sim", .red = -1, .amber = -1, .green = -1, .buzzer = -1};
	struct lights *l = NULL;

	copy_str(cfg.device, sizeof(cfg.device), tpath(name));
	assert_int_equal(lights_open(&cfg, &l), 0);
	assert_string_equal(lights_get_model(l), "sealbench sim lights");
	return l;
}

static void lights_proto_masks(void **state)
{
	static const struct {
		unsigned mask;
		const char *text;
	} rows[] = {
		{0, "off"},
		{LIGHT_RED, "red"},
		{LIGHT_GREEN | LIGHT_BUZZER, "green,buzzer"},
		{LIGHTS_MASK_ALL, "red,amber,green,buzzer"},
		{LIGHT_AMBER | LIGHT_RED, "red,amber"},
	};
	char buf[LIGHTS_MASK_TEXT_MAX];
	unsigned m = 1234;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(lights_proto_format_mask(rows[i].mask, buf, sizeof(buf)), 0);
		assert_string_equal(buf, rows[i].text);
		assert_int_equal(lights_proto_parse_mask(rows[i].text, &m), 0);
		assert_int_equal(m, rows[i].mask);
	}
	assert_int_equal(lights_proto_parse_mask("green,red", &m), 0);
	assert_int_equal(m, LIGHT_RED | LIGHT_GREEN);
	m = 1234;
	assert_int_equal(lights_proto_parse_mask("blue", &m), -EBADMSG);
	assert_int_equal(lights_proto_parse_mask("red,", &m), -EBADMSG);
	assert_int_equal(lights_proto_parse_mask("", &m), -EBADMSG);
	assert_int_equal(m, 1234);
	assert_int_equal(lights_proto_format_mask(1u << 7, buf, sizeof(buf)), -EINVAL);
}

static void lights_output_lines(void **state)
{
	static const char want[] = "light off\n"
				   "light red,buzzer\n"
				   "light off\n"
				   "light green\n"
				   "text Sealed ORD-1001\n"
				   "text first line\n"
				   "text \n";
	struct lights *l;
	char buf[4096];
	int rfd;

	(void)state;
	rfd = hal_fifo_open_read(tpath("lights-out"));
	assert_true(rfd >= 0);
	l = open_lights("lights-out");
	assert_int_equal(lights_get_fd(l), -1);
	assert_int_equal(lights_get_mask(l), 0);
	assert_int_equal(lights_set(l, LIGHT_RED | LIGHT_BUZZER), 0);
	assert_int_equal(lights_set(l, LIGHT_RED | LIGHT_BUZZER), 0); /* unchanged: no line */
	assert_int_equal(lights_get_mask(l), LIGHT_RED | LIGHT_BUZZER);
	assert_int_equal(lights_set(l, 0), 0);
	assert_int_equal(lights_set(l, LIGHT_GREEN), 0);
	assert_int_equal(lights_set(l, 1u << 9), -EINVAL);
	assert_int_equal(lights_get_mask(l), LIGHT_GREEN);
	assert_int_equal(lights_text(l, "Sealed ORD-1001"), 0);
	assert_int_equal(lights_text(l, "first line\nsecond line"), 0);
	assert_int_equal(lights_text(l, ""), 0);
	assert_int_equal(slurp(rfd, buf, sizeof(buf)), strlen(want));
	assert_string_equal(buf, want);
	lights_close(l);
	close(rfd);
}

static void lights_text_truncates(void **state)
{
	char text[LIGHTS_TEXT_MAX + 40], want[LIGHTS_TEXT_MAX + 16], buf[512];
	struct lights *l;
	int rfd;

	(void)state;
	rfd = hal_fifo_open_read(tpath("lights-trunc"));
	assert_true(rfd >= 0);
	l = open_lights("lights-trunc");
	assert_true(slurp(rfd, buf, sizeof(buf)) > 0); /* "light off" */

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(lights_text(l, text), 0);
	snprintf(want, sizeof(want), "text %.*s\n", LIGHTS_TEXT_MAX, text);
	assert_int_equal(slurp(rfd, buf, sizeof(buf)), strlen(want));
	assert_string_equal(buf, want);

	/* A two-byte UTF-8 character across the limit is left out whole. */
	memset(text, 'y', LIGHTS_TEXT_MAX - 1);
	strcpy(text + LIGHTS_TEXT_MAX - 1, "\xc3\xa9zz");
	assert_int_equal(lights_text(l, text), 0);
	snprintf(want, sizeof(want), "text %.*s\n", LIGHTS_TEXT_MAX - 1, text);
	assert_int_equal(slurp(rfd, buf, sizeof(buf)), strlen(want));
	assert_string_equal(buf, want);

	/* Control characters cannot break the line framing. */
	assert_int_equal(lights_text(l, "a\tb\x1b[31m"), 0);
	assert_int_equal(slurp(rfd, buf, sizeof(buf)), strlen("text a b [31m\n"));
	assert_string_equal(buf, "text a b [31m\n");

	assert_int_equal(lights_text(l, NULL), -EINVAL);
	assert_int_equal(lights_text(NULL, "x"), -EINVAL);
	lights_close(l);
	close(rfd);
}

static void lights_no_reader_never_blocks(void **state)
{
	struct lights *l = open_lights("lights-nobody");
	char buf[64];
	int i, rfd;

	(void)state;
	/* ~300 KB of lines into a 64 KB pipe nobody reads: every call returns at once, 0. */
	for (i = 0; i < 20000; i++) {
		assert_int_equal(lights_set(l, i % 2 ? LIGHT_RED : LIGHT_GREEN | LIGHT_BUZZER), 0);
		assert_int_equal(lights_text(l, "nobody is watching"), 0);
	}
	/* A late reader gets the oldest lines, whole. */
	rfd = hal_fifo_open_read(l->cfg.device);
	assert_true(rfd >= 0);
	assert_int_equal(read(rfd, buf, 10), 10);
	assert_memory_equal(buf, "light off\n", 10);
	close(rfd);
	lights_close(l);
}

/* ---- camera ---- */

static struct camera *open_camera(enum camera_format fmt, unsigned w, unsigned h, unsigned warmup,
				  const char *device)
{
	struct camera_cfg cfg = {.backend = "sim",
				 .format = fmt,
				 .width = w,
				 .height = h,
				 .jpeg_quality = 80,
				 .warmup_frames = warmup};
	struct camera *c = NULL;

	copy_str(cfg.device, sizeof(cfg.device), device ? device : "");
	assert_int_equal(camera_open(&cfg, &c), 0);
	assert_string_equal(camera_get_model(c), "sealbench sim camera");
	return c;
}

/* Capture and wait for the photo; @return camera_on_readable()'s result. */
static int take_photo(struct camera *c, struct camera_photo *ph, unsigned *ret_drops)
{
	unsigned drops = 0;
	int r;

	assert_int_equal(camera_capture(c), 0);
	for (;;) {
		assert_true(readable(camera_get_fd(c), WAIT_MS));
		r = camera_on_readable(c, ph);
		if (r != -EAGAIN)
			break;
		drops++;
		assert_true(drops < 100);
	}
	if (ret_drops)
		*ret_drops = drops;
	return r;
}

/* Decode a photo fully and check its size. */
static void check_jpeg(const uint8_t *jpeg, size_t len, unsigned w, unsigned h)
{
	static uint8_t rgb[640 * 480 * 3];
	tjhandle d = tjInitDecompress();
	int jw, jh, sub, cs;

	assert_non_null(d);
	assert_int_equal(tjDecompressHeader3(d, jpeg, len, &jw, &jh, &sub, &cs), 0);
	assert_int_equal(jw, w);
	assert_int_equal(jh, h);
	assert_true((size_t)jw * jh * 3 <= sizeof(rgb));
	assert_int_equal(tjDecompress2(d, jpeg, len, rgb, jw, 0, jh, TJPF_RGB, 0), 0);
	assert_int_equal(jpeg[len - 2], 0xFF);
	assert_int_equal(jpeg[len - 1], 0xD9);
	tjDestroy(d);
}

static void camera_yuyv_to_jpeg(void **state)
{
	struct camera *c = open_camera(CAMERA_FMT_YUYV, 320, 240, 0, NULL);
	struct camera_photo ph, ph2;
	static uint8_t first[320 * 240 * 3];
	size_t first_len;

	(void)state;
	/* Nothing asked, nothing delivered. */
	assert_false(readable(camera_get_fd(c), 0));
	assert_int_equal(camera_on_readable(c, &ph), -EAGAIN);

	assert_int_equal(take_photo(c, &ph, NULL), 0);
	assert_false(ph.passthrough);
	assert_int_equal(ph.width, 320);
	assert_int_equal(ph.height, 240);
	assert_true(ph.t_ns > 0);
	check_jpeg(ph.jpeg, ph.len, 320, 240);
	assert_true(ph.len <= sizeof(first));
	memcpy(first, ph.jpeg, ph.len);
	first_len = ph.len;

	/* The pattern changes from capture to capture. */
	assert_int_equal(take_photo(c, &ph2, NULL), 0);
	check_jpeg(ph2.jpeg, ph2.len, 320, 240);
	assert_true(ph2.len != first_len || memcmp(ph2.jpeg, first, first_len));
	camera_close(c);
}

static void camera_warmup_frames(void **state)
{
	struct camera *c = open_camera(CAMERA_FMT_YUYV, 64, 48, 3, NULL);
	struct camera_photo ph;
	unsigned drops;

	(void)state;
	assert_int_equal(take_photo(c, &ph, &drops), 0);
	assert_int_equal(drops, 3);
	check_jpeg(ph.jpeg, ph.len, 64, 48);
	/* Every request warms up again. */
	assert_int_equal(take_photo(c, &ph, &drops), 0);
	assert_int_equal(drops, 3);
	assert_false(readable(camera_get_fd(c), 0));
	camera_close(c);
}

static void camera_mjpeg_passthrough(void **state)
{
	struct camera *c = open_camera(CAMERA_FMT_MJPEG, 160, 120, 0, NULL);
	struct camera *raw = open_camera(CAMERA_FMT_MJPEG, 160, 120, 0, NULL);
	struct camera_frame frame;
	struct camera_photo ph;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(take_photo(c, &ph, NULL), 0);
		assert_true(ph.passthrough);
		assert_int_equal(ph.width, 160);
		assert_int_equal(ph.height, 120);
		check_jpeg(ph.jpeg, ph.len, 160, 120);
		/* The same backend, driven directly, makes the same frame: the class passed
		 * its bytes through unchanged. */
		assert_int_equal(raw->ops->capture(raw), 0);
		assert_true(readable(camera_get_fd(raw), WAIT_MS));
		assert_int_equal(raw->ops->on_readable(raw, &frame), 0);
		assert_int_equal(frame.format, CAMERA_FMT_MJPEG);
		assert_int_equal(frame.len, ph.len);
		assert_memory_equal(frame.data, ph.jpeg, ph.len);
	}
	camera_close(raw);
	camera_close(c);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void camera_mjpeg_from_directory(void **state)
{
	static uint8_t rgb[64 * 48 * 3], padded[64 * 1024];
	const char *dir = tpath("frames");
	unsigned char *jpeg = NULL;
	unsigned long jlen = 0;
	struct camera_photo ph;
	char path[PATH_MAX];
	struct camera *c;
	tjhandle enc;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	memset(rgb, 0x80, sizeof(rgb));
	enc = tjInitCompress();
	assert_non_null(enc);
	assert_int_equal(
		tjCompress2(enc, rgb, 64, 0, 48, TJPF_RGB, &jpeg, &jlen, TJSAMP_422, 90, 0), 0);
	assert_true(jlen + 100 <= sizeof(padded));
	memcpy(padded, jpeg, jlen);
	memset(padded + jlen, 0, 100);
	snprintf(path, sizeof(path), "%s/a.jpg", dir);
	write_file(path, padded, jlen + 100); /* with V4L2-style padding */
	snprintf(path, sizeof(path), "%s/b.JPEG", dir);
	write_file(path, "not a jpeg at all", 17);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	write_file(path, "ignored", 7);

	c = open_camera(CAMERA_FMT_MJPEG, 640, 480, 0, dir);
	/* alphasort: "a.jpg" then "b.JPEG", then around again. */
	assert_int_equal(take_photo(c, &ph, NULL), 0);
	assert_true(ph.passthrough);
	assert_int_equal(ph.width, 64);
	assert_int_equal(ph.height, 48);
	assert_int_equal(ph.len, jlen);
	assert_memory_equal(ph.jpeg, jpeg, jlen);
	assert_int_equal(take_photo(c, &ph, NULL), -EBADMSG);
	assert_int_equal(take_photo(c, &ph, NULL), 0);
	assert_int_equal(ph.len, jlen);
	camera_close(c);
	tjFree(jpeg);
	tjDestroy(enc);
}

static void camera_bad_config(void **state)
{
	struct camera_cfg cfg = {
		.backend = "sim", .format = CAMERA_FMT_YUYV, .width = 63, .height = 48};
	struct camera *c = NULL;

	(void)state;
	assert_int_equal(camera_open(&cfg, &c), -EINVAL); /* odd width */
	cfg.width = 64;
	cfg.jpeg_quality = 101;
	assert_int_equal(camera_open(&cfg, &c), -EINVAL);
	cfg.jpeg_quality = 0; /* default */
	cfg.format = _CAMERA_FMT_INVALID;
	assert_int_equal(camera_open(&cfg, &c), -EINVAL);
	cfg.format = CAMERA_FMT_YUYV;
	copy_str(cfg.device, sizeof(cfg.device), tmpdir);
	assert_int_equal(camera_open(&cfg, &c), -EINVAL); /* recorded frames are MJPEG */
	copy_str(cfg.device, sizeof(cfg.device), tpath("no-such-dir"));
	assert_int_equal(camera_open(&cfg, &c), -ENOENT);
	copy_str(cfg.device, sizeof(cfg.device), tpath("camera-file"));
	write_file(cfg.device, "x", 1);
	assert_int_equal(camera_open(&cfg, &c), -ENOTDIR);
	assert_null(c);

	assert_int_equal(camera_format_from_string("yuyv"), CAMERA_FMT_YUYV);
	assert_int_equal(camera_format_from_string("MJPEG"), CAMERA_FMT_MJPEG);
	assert_int_equal(camera_format_from_string("h264"), _CAMERA_FMT_INVALID);
	assert_int_equal(camera_format_from_string(NULL), _CAMERA_FMT_INVALID);
	assert_int_equal(camera_capture(NULL), -EINVAL);
}

/* ---- tools/sealbench-sim ---- */

/* The tool sits next to the tests directory in the build tree (or in $SEALBENCH_SIM). */
static bool find_tool(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (getenv("SEALBENCH_SIM")) {
		snprintf(buf, size, "%s", getenv("SEALBENCH_SIM"));
		return access(buf, X_OK) == 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0'; /* BUILD/tests */
	if ((size_t)snprintf(buf, size, "%s/../sealbench-sim", exe) >= size)
		return false;
	return access(buf, X_OK) == 0;
}

struct tool_run {
	pid_t pid;
	int pidfd;
	int out; /* the tool's stdout + stderr */
};

static void tool_start(struct tool_run *t, const char *tool, const char *const argv[],
		       const char *stdin_text)
{
	int outp[2], inp[2];

	assert_int_equal(pipe2(outp, O_CLOEXEC), 0);
	assert_int_equal(pipe2(inp, O_CLOEXEC), 0);
	if (stdin_text)
		put(inp[1], stdin_text);
	close(inp[1]);
	t->pid = fork();
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		dup2(inp[0], STDIN_FILENO);
		dup2(outp[1], STDOUT_FILENO);
		dup2(outp[1], STDERR_FILENO);
		execv(tool, (char *const *)argv);
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	t->out = outp[0];
	t->pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	assert_true(t->pidfd >= 0);
}

/* Wait (bounded) for the tool to exit; collect its output. @return its exit status. */
static int tool_finish(struct tool_run *t, char *out, size_t size)
{
	int status = -1;
	size_t got = 0;
	ssize_t n;

	if (!readable(t->pidfd, TOOL_WAIT_MS)) {
		kill(t->pid, SIGKILL);
		fail_msg("sealbench-sim did not finish within %d ms", TOOL_WAIT_MS);
	}
	assert_int_equal(waitpid(t->pid, &status, 0), t->pid);
	while (got < size - 1 && (n = read(t->out, out + got, size - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(t->out);
	close(t->pidfd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void write_board(const char *path)
{
	static const char board[] = "# sim board for test_drivers\n"
				    "scale.backend = sim\n"
				    "scale.device = tool-scale\n"
				    "scanner.backend = sim\n"
				    "scanner.device = tool-scanner\n"
				    "badge.backend = sim\n"
				    "badge.device = tool-badge\n"
				    "camera.backend = sim\n"
				    "camera.format = yuyv\n"
				    "lights.backend = sim\n"
				    "lights.device = tool-lights\n";

	write_file(path, board, sizeof(board) - 1);
}

struct station {
	struct scale *scale;
	struct scanner *scanner;
	struct badge *badge;
	struct lights *lights;
};

static void station_open(struct station *st)
{
	struct scanner_cfg nc = {.backend = "sim"};
	struct badge_cfg bc = {.backend = "sim"};

	st->scale = open_scale("tool-scale");
	copy_str(nc.device, sizeof(nc.device), tpath("tool-scanner"));
	assert_int_equal(scanner_open(&nc, &st->scanner), 0);
	copy_str(bc.device, sizeof(bc.device), tpath("tool-badge"));
	assert_int_equal(badge_open(&bc, &st->badge), 0);
	st->lights = open_lights("tool-lights");
}

static void station_close(struct station *st)
{
	scale_close(st->scale);
	scanner_close(st->scanner);
	badge_close(st->badge);
	lights_close(st->lights);
}

static void tool_scenario(void **state)
{
	static const char scenario[] = "# a happy package\n"
				       "badge P-17\n"
				       "expect amber\n"
				       "scan [)>\\x1e01\\x1d1Z999AA10123456784\\x1e\\x04\n"
				       "\n"
				       "weigh 1250 motion\n"
				       "weigh 1250\n"
				       "expect green 5\n"
				       "expect-text \"Sealed 1250\" 5\n"
				       "pause 20\n";
	static const char label[] = "[)>\x1e"
				    "01\x1d"
				    "1Z999AA10123456784\x1e\x04";
	char tool[PATH_MAX], board[PATH_MAX], scn[PATH_MAX], out[8192];
	struct station st;
	struct scanner_scan scan;
	struct scale_reading rd;
	struct badge_read br;
	struct tool_run t;
	bool got_badge = false, got_scan = false, got_stable = false;
	uint64_t deadline;
	int rc;

	(void)state;
	if (!find_tool(tool, sizeof(tool))) {
		fprintf(stderr,
			"SKIP: sealbench-sim not built next to the tests (or $SEALBENCH_SIM)\n");
		skip();
	}
	copy_str(board, sizeof(board), tpath("board.conf"));
	copy_str(scn, sizeof(scn), tpath("happy.scn"));
	write_board(board);
	write_file(scn, scenario, sizeof(scenario) - 1);
	station_open(&st);

	{
		const char *const argv[] = {tool, "--board",  board, "--dir", tmpdir,
					    "-v", "scenario", scn,   NULL};

		tool_start(&t, tool, argv, NULL);
	}
	/* Play the daemon: amber after a badge, green and a text once the weight is stable. */
	deadline = clock_now_ns() + TOOL_WAIT_MS * NSEC_PER_MSEC;
	while (!got_stable && clock_now_ns() < deadline) {
		struct pollfd pfd[3] = {
			{.fd = badge_get_fd(st.badge), .events = POLLIN},
			{.fd = scanner_get_fd(st.scanner), .events = POLLIN},
			{.fd = scale_get_fd(st.scale), .events = POLLIN},
		};

		assert_true(poll(pfd, 3, WAIT_MS) > 0);
		while (badge_on_readable(st.badge, &br) == 0) {
			assert_string_equal(br.id, "P-17");
			got_badge = true;
			assert_int_equal(lights_set(st.lights, LIGHT_AMBER), 0);
			assert_int_equal(lights_text(st.lights, "Hello P-17: scan a label"), 0);
		}
		while (scanner_on_readable(st.scanner, &scan) == 0) {
			assert_int_equal(scan.len, sizeof(label) - 1);
			assert_memory_equal(scan.text, label, scan.len);
			got_scan = true;
		}
		while (scale_on_readable(st.scale, &rd) == 0) {
			assert_int_equal(rd.grams, 1250);
			if (!rd.stable)
				continue;
			got_stable = true;
			assert_int_equal(lights_set(st.lights, LIGHT_GREEN | LIGHT_BUZZER), 0);
			assert_int_equal(lights_text(st.lights, "Sealed 1250 g"), 0);
		}
	}
	rc = tool_finish(&t, out, sizeof(out));
	if (rc != 0)
		fail_msg("sealbench-sim exited %d:\n%s", rc, out);
	assert_true(got_badge && got_scan && got_stable);
	/* -v shows the bench as the packer sees it. */
	assert_non_null(strstr(out, "[ AMBER ]"));
	assert_non_null(strstr(out, "[ GREEN ]  beep   \"Sealed 1250 g\""));
	station_close(&st);
}

static void tool_failures(void **state)
{
	static const char scenario[] = "badge P-17\n"
				       "# nothing will turn red\n"
				       "expect red 0.2\n"
				       "badge never-sent\n";
	char tool[PATH_MAX], board[PATH_MAX], scn[PATH_MAX], out[4096], want[PATH_MAX + 64];
	struct station st;
	struct tool_run t;
	int rc;

	(void)state;
	if (!find_tool(tool, sizeof(tool))) {
		fprintf(stderr,
			"SKIP: sealbench-sim not built next to the tests (or $SEALBENCH_SIM)\n");
		skip();
	}
	copy_str(board, sizeof(board), tpath("board.conf"));
	copy_str(scn, sizeof(scn), tpath("fail.scn"));
	write_board(board);
	write_file(scn, scenario, sizeof(scenario) - 1);
	station_open(&st);

	{
		const char *const argv[] = {tool, "-b", board, "-d", tmpdir, "scenario", scn, NULL};

		tool_start(&t, tool, argv, NULL);
	}
	rc = tool_finish(&t, out, sizeof(out));
	assert_int_equal(rc, 1);
	snprintf(want, sizeof(want), "%s:3: expect red: not seen within 0.2 s", scn);
	if (!strstr(out, want))
		fail_msg("expected \"%s\" in:\n%s", want, out);

	/* A bad command names its line too. */
	write_file(scn, "weigh heavy\n", 12);
	{
		const char *const argv[] = {tool, "-b", board, "-d", tmpdir, "scenario", scn, NULL};

		tool_start(&t, tool, argv, NULL);
	}
	assert_int_equal(tool_finish(&t, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "%s:1: weigh:", scn);
	assert_non_null(strstr(out, want));

	/* Usage errors exit 2. */
	{
		const char *const argv[] = {tool, "scenario", scn, NULL};

		tool_start(&t, tool, argv, NULL);
	}
	assert_int_equal(tool_finish(&t, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "--board"));
	station_close(&st);
}

static void tool_interactive(void **state)
{
	char tool[PATH_MAX], board[PATH_MAX], out[4096];
	struct station st;
	struct scale_reading rd;
	struct tool_run t;

	(void)state;
	if (!find_tool(tool, sizeof(tool))) {
		fprintf(stderr,
			"SKIP: sealbench-sim not built next to the tests (or $SEALBENCH_SIM)\n");
		skip();
	}
	copy_str(board, sizeof(board), tpath("board.conf"));
	write_board(board);
	station_open(&st);
	/* A red light is already queued: interactive mode shows it. Errors do not end it. */
	assert_int_equal(lights_set(st.lights, LIGHT_RED), 0);
	assert_int_equal(lights_text(st.lights, "Blocked: no signature"), 0);
	{
		const char *const argv[] = {tool, "-b", board, "-d", tmpdir, "interactive", NULL};

		tool_start(&t, tool, argv, "bogus\nexpect-text Blocked 2\nweigh 7 motion");
	}
	assert_int_equal(tool_finish(&t, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "<stdin>:1: unknown command \"bogus\""));
	assert_non_null(strstr(out, "[ RED ]         \"Blocked: no signature\""));
	assert_true(readable(scale_get_fd(st.scale), WAIT_MS));
	assert_int_equal(scale_on_readable(st.scale, &rd), 0);
	assert_int_equal(rd.grams, 7);
	assert_false(rd.stable);
	station_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(linebuf_table),
		cmocka_unit_test(linebuf_room_after_eagain),
		cmocka_unit_test(fifo_create_and_type_check),
		cmocka_unit_test(unknown_backend),
		cmocka_unit_test(scale_proto_table),
		cmocka_unit_test(scale_split_lines_and_reopen),
		cmocka_unit_test(scale_bad_lines_and_tare),
		cmocka_unit_test(scale_open_not_a_fifo),
		cmocka_unit_test(scanner_escapes),
		cmocka_unit_test(scanner_bad_and_overlong),
		cmocka_unit_test(badge_lines),
		cmocka_unit_test(lights_proto_masks),
		cmocka_unit_test(lights_output_lines),
		cmocka_unit_test(lights_text_truncates),
		cmocka_unit_test(lights_no_reader_never_blocks),
		cmocka_unit_test(camera_yuyv_to_jpeg),
		cmocka_unit_test(camera_warmup_frames),
		cmocka_unit_test(camera_mjpeg_passthrough),
		cmocka_unit_test(camera_mjpeg_from_directory),
		cmocka_unit_test(camera_bad_config),
		cmocka_unit_test(tool_scenario),
		cmocka_unit_test(tool_failures),
		cmocka_unit_test(tool_interactive),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
