/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_config.c - board and station config loading against the schema tables.
 *
 * Table-driven like gpsd's test_packet.c: one row per quirk, each a fixture file under
 * tests/data/config/ (the file's second line says what it exercises), the expected return code
 * and the exact "file:line: message" text. Cases that need generated content (long paths,
 * 65 boxes, run_dir resolution) write into a mkdtemp() directory.
 *
 * Fixtures are found relative to the project root: $SEALBENCH_SRCDIR, else the current
 * directory (make runs the tests from the root).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "src/config.h"

/** Room for a fixture path and an expected error text. */
#define TEST_PATH_MAX 1024
#define TEST_MSG_MAX  (CONFIG_ERR_MAX + TEST_PATH_MAX)
/** The regerror() buffer size config.c uses, so expected texts truncate the same way. */
#define REGERR_MAX 128
/** Longest config line config.c accepts (inih's INI_MAX_LINE 200 minus newline and NUL). */
#define LINE_LIMIT 198

static char srcdir[PATH_MAX];

/* ---- helpers --------------------------------------------------------------------------- */

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The project root: $SEALBENCH_SRCDIR, or "." when the fixtures are found from here. */
static const char *root(void)
{
	char probe[PATH_MAX + sizeof("/tests/data/config")];
	const char *env = getenv("SEALBENCH_SRCDIR");

	if (srcdir[0])
		return srcdir;
	snprintf(srcdir, sizeof(srcdir), "%s", env && *env ? env : ".");
	snprintf(probe, sizeof(probe), "%s/tests/data/config", srcdir);
	if (!is_dir(probe))
		fail_msg("fixtures not found at %s (run from the project root or set "
			 "SEALBENCH_SRCDIR)",
			 probe);
	return srcdir;
}

static void fixture(char *buf, size_t len, const char *rel)
{
	int n = snprintf(buf, len, "%s/tests/data/config/%s", root(), rel);

	assert_true(n > 0 && (size_t)n < len);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

struct tmp {
	char dir[PATH_MAX];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/sealbench-test-config-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static void tmp_path(const struct tmp *t, char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", t->dir, name);

	assert_true(n > 0 && (size_t)n < len);
}

/* The message regcomp() gives for @p re, as config.c formats it. */
static void regcomp_error(const char *re, char *buf, size_t len)
{
	regex_t rx;
	int r = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);

	assert_int_not_equal(r, 0);
	regerror(r, &rx, buf, len);
}

/* ---- board: bad files ------------------------------------------------------------------ */

struct bad_case {
	const char *file; /* under tests/data/config/ */
	int ret;
	const char *msg; /* expected error after the path: ":3: ..." or ": ..." */
};

static const struct bad_case bad_boards[] = {
	{"board/bad-unknown-key.conf", -EINVAL, ":3: unknown key 'scale.devise'"},
	{"board/bad-section.conf", -EINVAL, ":3: sections are not used in board files ([scale])"},
	{"board/bad-backend.conf", -EINVAL,
	 ":5: scale.backend: no backend named 'serial-nope' in this build"},
	{"board/bad-int.conf", -EINVAL, ":3: lights.red: 'five' is not an integer"},
	{"board/bad-int-trailing.conf", -EINVAL, ":3: scale.baud: '9600baud' is not an integer"},
	{"board/bad-range.conf", -EINVAL, ":3: lights.green: 1024 is out of range -1..1023"},
	{"board/bad-range-negative.conf", -EINVAL,
	 ":3: scale.baud: -9600 is out of range 0..4000000"},
	{"board/bad-range-camera.conf", -EINVAL, ":3: camera.width: 8 is out of range 16..8192"},
	{"board/bad-bool.conf", -EINVAL,
	 ":3: lights.active_low: 'maybe' is not a boolean (true/false)"},
	{"board/bad-camfmt.conf", -EINVAL,
	 ":3: camera.format: 'h264' is not a camera format (yuyv, mjpeg)"},
	{"board/bad-duplicate.conf", -EINVAL,
	 ":11: duplicate key 'scale.device' (first set on line 4)"},
	{"board/bad-missing-device.conf", -EINVAL, ": missing required key 'badge.device'"},
	{"board/bad-missing-backend.conf", -EINVAL, ": missing required key 'lights.backend'"},
	{"board/bad-syntax.conf", -EINVAL,
	 ":3: syntax error (expected 'key = value' or '[section]')"},
	{"board/does-not-exist.conf", -ENOENT, ": No such file or directory"},
};

static void test_board_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_boards) / sizeof(bad_boards[0]); i++) {
		const struct bad_case *c = &bad_boards[i];
		char path[TEST_PATH_MAX], want[TEST_MSG_MAX], err[CONFIG_ERR_MAX] = "";
		struct board_cfg b;
		int r;

		memset(&b, 0x5a, sizeof(b));
		fixture(path, sizeof(path), c->file);
		r = board_cfg_load(path, NULL, &b, err, sizeof(err));
		snprintf(want, sizeof(want), "%s%s", path, c->msg);
		if (r != c->ret || strcmp(err, want) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", c->file, r, err, c->ret,
				 want);
		/* ret_ untouched on failure */
		assert_int_equal(((unsigned char *)&b)[0], 0x5a);
		assert_int_equal(((unsigned char *)&b)[sizeof(b) - 1], 0x5a);
	}
}

/* ---- board: good files ----------------------------------------------------------------- */

static void test_board_good_run_dir(void **state)
{
	char path[TEST_PATH_MAX], err[CONFIG_ERR_MAX] = "";
	struct board_cfg b;

	(void)state;
	fixture(path, sizeof(path), "board/good.conf");
	assert_int_equal(board_cfg_load(path, "/run/sealbench", &b, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(b.path, path);
	assert_string_equal(b.scale.backend, "sim");
	assert_string_equal(b.scale.device, "/run/sealbench/scale.fifo");
	assert_int_equal(b.scale.baud, 9600);
	/* absolute paths are kept as written */
	assert_string_equal(b.scanner.device, "/dev/serial/by-id/usb-scanner");
	assert_int_equal(b.scanner.baud, 0);
	assert_string_equal(b.badge.device, "/run/sealbench/badge.fifo");
	/* an absent optional device stays empty, it is not resolved to the directory */
	assert_string_equal(b.camera.device, "");
	assert_int_equal(b.camera.format, CAMERA_FMT_MJPEG);
	assert_int_equal(b.camera.width, 640);
	assert_int_equal(b.camera.height, 480);
	assert_int_equal(b.camera.jpeg_quality, 85);
	assert_int_equal(b.camera.warmup_frames, 0);
	assert_string_equal(b.lights.device, "/run/sealbench/lights.fifo");
	assert_true(b.lights.active_low);
	assert_int_equal(b.lights.red, 5);
	assert_int_equal(b.lights.amber, -1);
	assert_int_equal(b.lights.green, -1);
	assert_int_equal(b.lights.buzzer, -1);
	/* lines of the device keys, for "file:line" in device-open errors */
	assert_int_equal(b.scale_line, 4);
	assert_int_equal(b.scanner_line, 7);
	assert_int_equal(b.badge_line, 9);
	assert_int_equal(b.camera_line, 10); /* no camera.device: the camera.backend line */
	assert_int_equal(b.lights_line, 15);
}

static void test_board_good_file_dir(void **state)
{
	char path[TEST_PATH_MAX], dir[TEST_PATH_MAX], want[TEST_PATH_MAX * 2],
		err[CONFIG_ERR_MAX] = "";
	struct board_cfg b;

	(void)state;
	fixture(path, sizeof(path), "board/good.conf");
	fixture(dir, sizeof(dir), "board");
	/* run_dir NULL: relative devices are resolved against the board file's directory */
	assert_int_equal(board_cfg_load(path, NULL, &b, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/scale.fifo", dir);
	assert_string_equal(b.scale.device, want);
	snprintf(want, sizeof(want), "%s/lights.fifo", dir);
	assert_string_equal(b.lights.device, want);
	assert_string_equal(b.scanner.device, "/dev/serial/by-id/usb-scanner");
}

static void test_board_minimal_defaults(void **state)
{
	char path[TEST_PATH_MAX], err[CONFIG_ERR_MAX] = "";
	struct board_cfg b;

	(void)state;
	fixture(path, sizeof(path), "board/minimal.conf");
	assert_int_equal(board_cfg_load(path, "/unused", &b, err, sizeof(err)), 0);
	assert_string_equal(b.scale.device, "/dev/scale");
	assert_int_equal(b.scale.baud, 0);
	assert_string_equal(b.camera.device, "");
	assert_int_equal(b.camera.format, CAMERA_FMT_YUYV);
	assert_int_equal(b.camera.width, 1280);
	assert_int_equal(b.camera.height, 720);
	assert_int_equal(b.camera.jpeg_quality, 85);
	assert_string_equal(b.lights.device, "");
	assert_false(b.lights.active_low);
	assert_int_equal(b.lights.red, -1);
	assert_int_equal(b.lights.buzzer, -1);
	/* no device keys: errors name the backend lines */
	assert_int_equal(b.camera_line, 9);
	assert_int_equal(b.lights_line, 10);
}

/* A board path without a directory part resolves against ".". */
static void test_board_relative_path_no_dir(void **state)
{
	struct tmp *t = *state;
	char err[CONFIG_ERR_MAX] = "";
	struct board_cfg b;
	int cwd, r;

	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(cwd >= 0);
	assert_int_equal(chdir(t->dir), 0);
	write_file("board.conf", "scale.backend = sim\nscale.device = s.fifo\n"
				 "scanner.backend = sim\nscanner.device = /dev/x\n"
				 "badge.backend = sim\nbadge.device = b.fifo\n"
				 "camera.backend = sim\nlights.backend = sim\n");
	r = board_cfg_load("board.conf", NULL, &b, err, sizeof(err));
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	assert_int_equal(r, 0);
	assert_string_equal(b.scale.device, "./s.fifo");
	assert_string_equal(b.badge.device, "./b.fifo");
}

static void test_board_path_limits(void **state)
{
	struct tmp *t = *state;
	char path[TEST_PATH_MAX], run_dir[CONFIG_PATH_MAX], want[TEST_MSG_MAX],
		longpath[CONFIG_PATH_MAX + 16], err[CONFIG_ERR_MAX] = "";
	struct board_cfg b;

	/* the board file path itself */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(board_cfg_load(longpath, NULL, &b, err, sizeof(err)), -ENAMETOOLONG);
	assert_non_null(strstr(err, ": path too long"));

	/* a relative device that no longer fits once resolved against a long run_dir */
	tmp_path(t, path, sizeof(path), "board.conf");
	write_file(path, "scale.backend = sim\nscale.device = scale.fifo\n"
			 "scanner.backend = sim\nscanner.device = /dev/x\n"
			 "badge.backend = sim\nbadge.device = /dev/b\n"
			 "camera.backend = sim\nlights.backend = sim\n");
	memset(run_dir, 'r', sizeof(run_dir) - 1);
	run_dir[0] = '/';
	run_dir[250] = '\0';
	assert_int_equal(board_cfg_load(path, run_dir, &b, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: scale.device: resolved path '%s/scale.fifo' is too long",
		 path, run_dir);
	assert_string_equal(err, want);
}

/* A short error buffer truncates and still terminates. */
static void test_board_short_err_buffer(void **state)
{
	char path[TEST_PATH_MAX], err[16];
	struct board_cfg b;

	(void)state;
	memset(err, 'x', sizeof(err));
	fixture(path, sizeof(path), "board/bad-unknown-key.conf");
	assert_int_equal(board_cfg_load(path, NULL, &b, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_memory_equal(err, path, sizeof(err) - 1);
}

/* ---- station: bad files ---------------------------------------------------------------- */

static const struct bad_case bad_stations[] = {
	{"station/bad-unknown-key.conf", -EINVAL, ":6: unknown key 'idel_s' in [station]"},
	{"station/bad-unknown-section.conf", -EINVAL, ":8: unknown section [rulez]"},
	{"station/bad-unknown-key-box.conf", -EINVAL, ":9: unknown key 'dims' in [box BOX-M]"},
	{"station/bad-duplicate-key.conf", -EINVAL, ":6: duplicate key 'id' (first set on line 5)"},
	{"station/bad-duplicate-reopened.conf", -EINVAL,
	 ":9: duplicate key 'id' (first set on line 5)"},
	{"station/bad-duplicate-key-box.conf", -EINVAL,
	 ":11: duplicate key 'tare_g' (first set on line 9)"},
	{"station/bad-int.conf", -EINVAL, ":7: port: '18x3' is not an integer"},
	{"station/bad-range.conf", -EINVAL, ":7: port: 70000 is out of range 1..65535"},
	{"station/bad-range-min.conf", -EINVAL,
	 ":6: order_timeout_ms: 10 is out of range 50..60000"},
	{"station/bad-range-negative.conf", -EINVAL,
	 ":8: signature_threshold_cents: -1 is out of range 0..9223372036854775807"},
	{"station/bad-bool.conf", -EINVAL,
	 ":8: photo_always: 'sometimes' is not a boolean (true/false)"},
	{"station/bad-policy.conf", -EINVAL,
	 ":8: weight_policy: 'stop' is not a policy (warn, block)"},
	{"station/bad-dims-2d.conf", -EINVAL,
	 ":9: dims_mm: '300x200' is not LxWxH in millimetres (e.g. 300x200x150)"},
	{"station/bad-dims-zero.conf", -EINVAL,
	 ":9: dims_mm: '0x200x150' is not LxWxH in millimetres (e.g. 300x200x150)"},
	{"station/bad-dims-tail.conf", -EINVAL,
	 ":9: dims_mm: '300x200x150mm' is not LxWxH in millimetres (e.g. 300x200x150)"},
	{"station/bad-dims-huge.conf", -EINVAL,
	 ":9: dims_mm: '20000x10x10' is not LxWxH in millimetres (e.g. 300x200x150)"},
	{"station/bad-missing-version.conf", -EINVAL, ": missing required key 'version'"},
	{"station/bad-missing-site.conf", -EINVAL, ": missing required key 'site'"},
	{"station/bad-box-no-dims.conf", -EINVAL, ": [box BOX-M]: missing required key 'dims_mm'"},
	{"station/bad-box-no-dims-eof.conf", -EINVAL,
	 ": [box BOX-M]: missing required key 'dims_mm'"},
	{"station/bad-carrier-no-pattern.conf", -EINVAL,
	 ": [carrier UPS]: missing required key 'pattern'"},
	{"station/bad-outside-section.conf", -EINVAL, ":3: key 'site' outside any section"},
	{"station/bad-id-slash.conf", -EINVAL,
	 ": [station] id 'st/01': only letters, digits, '.', '-' and '_' (it is part of MQTT "
	 "topics and record IDs)"},
	{"station/bad-id-space.conf", -EINVAL,
	 ": [station] id 'st 01': only letters, digits, '.', '-' and '_' (it is part of MQTT "
	 "topics and record IDs)"},
	{"station/bad-id-empty.conf", -EINVAL, ": [station] id '': must be 1 to 32 characters"},
	{"station/bad-id-long.conf", -EINVAL, ":5: id: value longer than 32 characters"},
	{"station/bad-site-plus.conf", -EINVAL,
	 ": [station] site 'wh+1': only letters, digits, '.', '-' and '_' (it is part of MQTT "
	 "topics and record IDs)"},
	{"station/bad-site-colon.conf", -EINVAL,
	 ": [station] site 'wh:1': only letters, digits, '.', '-' and '_' (it is part of MQTT "
	 "topics and record IDs)"},
	{"station/bad-site-empty.conf", -EINVAL, ": [station] site '': must be 1 to 32 characters"},
	{"station/bad-syntax.conf", -EINVAL,
	 ":5: syntax error (expected 'key = value' or '[section]')"},
	{"station/bad-dup-box.conf", -EINVAL, ":12: duplicate section [box BOX-M]"},
	{"station/bad-dup-carrier.conf", -EINVAL, ":12: duplicate section [carrier UPS]"},
	{"station/bad-box-noname.conf", -EINVAL, ":8: [box ]: name missing or longer than 63"},
	{"station/bad-list-item-long.conf", -EINVAL,
	 ":8: fragile_skus: list item "
	 "'SKU-0123456789012345678901234567890123456789012345678901234567890123456789' longer "
	 "than 63 characters"},
	{"station/bad-list-too-many.conf", -EINVAL, ":8: lead_badges: more than 32 list items"},
	{"station/bad-line-too-long.conf", -EINVAL, ":8: line longer than 198 characters"},
	{"station/does-not-exist.conf", -ENOENT, ": No such file or directory"},
};

static void check_bad_station(const char *file, int want_ret, const char *want_msg)
{
	char path[TEST_PATH_MAX], want[TEST_MSG_MAX], err[CONFIG_ERR_MAX] = "";
	struct station_cfg st;
	int r;

	memset(&st, 0x5a, sizeof(st));
	fixture(path, sizeof(path), file);
	r = station_cfg_load(path, &st, err, sizeof(err));
	snprintf(want, sizeof(want), "%s%s", path, want_msg);
	if (r != want_ret || strcmp(err, want) != 0)
		fail_msg("%s: got %d \"%s\", want %d \"%s\"", file, r, err, want_ret, want);
	assert_int_equal(((unsigned char *)&st)[0], 0x5a);
	assert_int_equal(((unsigned char *)&st)[sizeof(st) - 1], 0x5a);
}

static void test_station_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_stations) / sizeof(bad_stations[0]); i++)
		check_bad_station(bad_stations[i].file, bad_stations[i].ret, bad_stations[i].msg);
}

/* Bad patterns: the message ends in glibc's regerror() text, computed here. Failing after
 * some carriers and the order pattern compiled also checks the cleanup (ASan leak check). */
static void test_station_bad_regex(void **state)
{
	char re[REGERR_MAX], msg[TEST_MSG_MAX];

	(void)state;
	regcomp_error("^ORD-(", re, sizeof(re));
	snprintf(msg, sizeof(msg), ": [scan] order_pattern: bad regular expression '^ORD-(': %s",
		 re);
	check_bad_station("station/bad-regex-scan.conf", -EINVAL, msg);

	regcomp_error("^BOX-[", re, sizeof(re));
	snprintf(msg, sizeof(msg), ": [scan] box_pattern: bad regular expression '^BOX-[': %s", re);
	check_bad_station("station/bad-regex-box.conf", -EINVAL, msg);

	regcomp_error("^1Z[0-9", re, sizeof(re));
	snprintf(msg, sizeof(msg), ": UPS: bad regular expression '^1Z[0-9': %s", re);
	check_bad_station("station/bad-regex-carrier.conf", -EINVAL, msg);

	/* patterns glibc would take gigabytes to compile are refused before regcomp() */
	check_bad_station("station/bad-regex-stacked.conf", -EINVAL,
			  ": UPS: regular expression '^1Z[0-9A-Z]{16}G++++++++++++++++++++++++++++"
			  "++++++++++++$' refused: a repetition of a repetition (write it once)");
	check_bad_station("station/bad-regex-nested.conf", -EINVAL,
			  ": [scan] box_pattern: regular expression '^((B{60}){60}){60}$' refused: "
			  "too large once its repetitions are written out");
}

/* Catalog limits, generated: 65 boxes, 17 carriers (16 compiled before the failure). */
static void test_station_catalog_limits(void **state)
{
	struct tmp *t = *state;
	char path[TEST_PATH_MAX], want[TEST_MSG_MAX], err[CONFIG_ERR_MAX] = "";
	struct station_cfg st;
	unsigned line = 5, box_line = 0;
	FILE *f;

	tmp_path(t, path, sizeof(path), "boxes.conf");
	f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f, "[station]\nsite = wh1\nid = st01\n[rules]\nversion = r1\n");
	for (unsigned i = 0; i <= CONFIG_BOXES_MAX; i++) {
		fprintf(f, "[box B-%u]\ndims_mm = 1x1x%u\n", i, i + 1);
		line += 2;
		box_line = line - 1; /* the header line of the last section */
	}
	assert_int_equal(fclose(f), 0);
	assert_int_equal(station_cfg_load(path, &st, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:%u: more than %d [box] sections", path, box_line,
		 CONFIG_BOXES_MAX);
	assert_string_equal(err, want);

	tmp_path(t, path, sizeof(path), "carriers.conf");
	f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f, "[station]\nsite = wh1\nid = st01\n[rules]\nversion = r1\n");
	line = 5;
	for (unsigned i = 0; i <= CONFIG_CARRIERS_MAX; i++) {
		fprintf(f, "[carrier C%u]\npattern = ^C%u-[0-9]+$\n", i, i);
		line += 2;
	}
	assert_int_equal(fclose(f), 0);
	assert_int_equal(station_cfg_load(path, &st, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:%u: more than %d [carrier] sections", path, line - 1,
		 CONFIG_CARRIERS_MAX);
	assert_string_equal(err, want);

	/* exactly at the limits: accepted */
	tmp_path(t, path, sizeof(path), "full.conf");
	f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f, "[station]\nsite = wh1\nid = st01\n[rules]\nversion = r1\n");
	for (unsigned i = 0; i < CONFIG_BOXES_MAX; i++)
		fprintf(f, "[box B-%u]\ndims_mm = 1x1x%u\n", i, i + 1);
	for (unsigned i = 0; i < CONFIG_CARRIERS_MAX; i++)
		fprintf(f, "[carrier C%u]\npattern = ^C%u-[0-9]+$\n", i, i);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(station_cfg_load(path, &st, err, sizeof(err)), 0);
	assert_int_equal(st.n_boxes, CONFIG_BOXES_MAX);
	assert_int_equal(st.n_carriers, CONFIG_CARRIERS_MAX);
	assert_int_equal(station_cfg_find_box(&st, "B-63")->height_mm, 64);
	assert_string_equal(station_cfg_match_carrier(&st, "C15-42")->name, "C15");
	assert_null(station_cfg_match_carrier(&st, "C16-42"));
	station_cfg_done(&st);
}

static void test_station_path_too_long(void **state)
{
	char longpath[CONFIG_PATH_MAX + 8], err[CONFIG_ERR_MAX] = "";
	struct station_cfg st;

	(void)state;
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(station_cfg_load(longpath, &st, err, sizeof(err)), -ENAMETOOLONG);
	assert_non_null(strstr(err, ": path too long"));
}

/* ---- station: good files --------------------------------------------------------------- */

static void test_station_good(void **state)
{
	char path[TEST_PATH_MAX], err[CONFIG_ERR_MAX] = "";
	const struct carrier_cfg *c;
	const struct box_cfg *b;
	struct station_cfg st;

	(void)state;
	fixture(path, sizeof(path), "station/good.conf");
	assert_int_equal(station_cfg_load(path, &st, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(st.path, path);
	assert_string_equal(st.site, "wh-north");
	assert_string_equal(st.station, "st01");
	/* set */
	assert_int_equal(st.session_idle_s, 600);
	assert_int_equal(st.order_timeout_ms, 800);
	assert_string_equal(st.mqtt_host, "broker.local");
	assert_int_equal(st.mqtt_port, 8883);
	assert_int_equal(st.mqtt_chunk_size, 131072);
	assert_int_equal(st.outbox_quota_mb, 64);
	/* defaults */
	assert_string_equal(st.data_dir, "/var/lib/sealbench");
	assert_int_equal(st.package_timeout_s, 300);
	assert_int_equal(st.photo_timeout_ms, 5000);
	assert_int_equal(st.weigh_min_g, 20);
	assert_int_equal(st.mqtt_keepalive_s, 30);
	assert_int_equal(st.mqtt_inflight, 16);
	assert_int_equal(st.mqtt_ack_timeout_s, 60);
	assert_int_equal(st.photo_retention_days, 30);
	assert_string_equal(st.order_pattern_src, "^ORD-[0-9A-Z-]+$");
	assert_string_equal(st.box_pattern_src, "^BOX-[0-9A-Z-]+$");
	assert_string_equal(st.void_code, "CMD-VOID-2");
	assert_string_equal(st.badge_out_code, "CMD-BADGEOUT");
	/* rules */
	assert_string_equal(st.rules.version, "2026-03-01.1");
	assert_int_equal(st.rules.signature_threshold_cents, 50000);
	assert_int_equal(st.rules.high_value_cents, 100000);
	assert_false(st.rules.photo_always);
	assert_true(st.rules.photo_high_value);
	assert_int_equal(st.rules.n_fragile_skus, 3);
	assert_string_equal(st.rules.fragile_skus[0], "GLASS-*");
	assert_string_equal(st.rules.fragile_skus[1], "VASE-*");
	assert_string_equal(st.rules.fragile_skus[2], "MUG-??");
	assert_int_equal(st.rules.n_repeat_loss_lanes, 2);
	assert_string_equal(st.rules.repeat_loss_lanes[0], "UPS:9*");
	assert_string_equal(st.rules.repeat_loss_lanes[1], "*:100??");
	assert_int_equal(st.rules.weight_tolerance_pct, 10);
	assert_int_equal(st.rules.weight_tolerance_min_g, 50);
	assert_int_equal(st.rules.weight_policy, POLICY_BLOCK);
	assert_int_equal(st.rules.address_policy, POLICY_WARN);
	assert_int_equal(st.rules.dim_divisor, 6000);
	assert_true(station_cfg_is_lead(&st, "LEAD-2"));
	assert_false(station_cfg_is_lead(&st, "LEAD-3"));
	assert_false(station_cfg_is_lead(&st, ""));
	/* carriers */
	assert_int_equal(st.n_carriers, 2);
	assert_string_equal(st.carriers[0].name, "UPS");
	assert_string_equal(st.carriers[0].pattern_src, "^1Z[0-9A-Z]{16}$");
	assert_int_equal(st.carriers[0].n_signature_services, 2);
	assert_string_equal(st.carriers[0].signature_services[1], "UPS-ADULT");
	assert_int_equal(st.carriers[1].n_signature_services, 0);
	c = station_cfg_match_carrier(&st, "1Z999AA10123456784");
	assert_non_null(c);
	assert_string_equal(c->name, "UPS");
	c = station_cfg_match_carrier(&st, "JD014600006281230401");
	assert_non_null(c);
	assert_string_equal(c->name, "DHL");
	assert_null(station_cfg_match_carrier(&st, "1Z999"));
	assert_null(station_cfg_match_carrier(&st, "ORD-1"));
	/* the scan patterns are compiled */
	assert_int_equal(regexec(&st.order_pattern, "ORD-1001", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&st.order_pattern, "ord-1001", 0, NULL, 0), 0);
	assert_int_equal(regexec(&st.box_pattern, "BOX-M", 0, NULL, 0), 0);
	/* boxes */
	assert_int_equal(st.n_boxes, 3);
	b = station_cfg_find_box(&st, "BOX-M");
	assert_non_null(b);
	assert_string_equal(b->type, "carton");
	assert_int_equal(b->length_mm, 300);
	assert_int_equal(b->width_mm, 200);
	assert_int_equal(b->height_mm, 150);
	assert_int_equal(b->tare_g, 250);
	b = station_cfg_find_box(&st, "BOX-S");
	assert_non_null(b);
	assert_string_equal(b->type, "carton"); /* default */
	assert_int_equal(b->tare_g, 0);		/* default */
	b = station_cfg_find_box(&st, "ENV-1");
	assert_non_null(b);
	assert_string_equal(b->type, "envelope");
	assert_int_equal(b->height_mm, 10);
	assert_null(station_cfg_find_box(&st, "BOX-XL"));

	station_cfg_done(&st);
	assert_int_equal(st.n_carriers, 0);
	station_cfg_done(&st); /* safe twice */
}

static void test_station_minimal_defaults(void **state)
{
	char path[TEST_PATH_MAX], err[CONFIG_ERR_MAX] = "";
	struct station_cfg st, zero;

	(void)state;
	fixture(path, sizeof(path), "station/minimal.conf");
	assert_int_equal(station_cfg_load(path, &st, err, sizeof(err)), 0);
	assert_int_equal(st.session_idle_s, 900);
	assert_int_equal(st.package_timeout_s, 300);
	assert_int_equal(st.order_timeout_ms, 1500);
	assert_string_equal(st.mqtt_host, "127.0.0.1");
	assert_int_equal(st.mqtt_port, 1883);
	assert_int_equal(st.outbox_quota_mb, 512);
	assert_int_equal(st.rules.signature_threshold_cents, 0);
	assert_int_equal(st.rules.high_value_cents, 0);
	assert_int_equal(st.rules.n_fragile_skus, 0);
	assert_int_equal(st.rules.n_lead_badges, 0);
	assert_int_equal(st.rules.weight_policy, POLICY_WARN);
	assert_int_equal(st.rules.address_policy, POLICY_WARN);
	assert_int_equal(st.rules.dim_divisor, 5000);
	assert_string_equal(st.void_code, "CMD-VOID");
	assert_int_equal(st.n_carriers, 0);
	assert_int_equal(st.n_boxes, 0);
	station_cfg_done(&st);
	station_cfg_done(&st);

	/* a zeroed config (never loaded) and NULL */
	memset(&zero, 0, sizeof(zero));
	station_cfg_done(&zero);
	station_cfg_done(NULL);
}

/* ---- the project's own files, when they exist ------------------------------------------ */

static void test_real_board_sim(void **state)
{
	char path[TEST_PATH_MAX], err[CONFIG_ERR_MAX] = "";
	struct board_cfg b;

	(void)state;
	snprintf(path, sizeof(path), "%s/boards/sim/board.conf", root());
	if (access(path, R_OK) != 0) {
		print_message("skip: %s does not exist yet\n", path);
		skip();
	}
	if (board_cfg_load(path, NULL, &b, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(b.scale.backend, "sim");
	assert_string_equal(b.scanner.backend, "sim");
	assert_string_equal(b.badge.backend, "sim");
	assert_string_equal(b.lights.backend, "sim");
	assert_string_equal(b.camera.backend, "sim");
}

static void test_real_station_conf(void **state)
{
	char path[TEST_PATH_MAX], err[CONFIG_ERR_MAX] = "";
	struct station_cfg st;

	(void)state;
	snprintf(path, sizeof(path), "%s/firmware/station.conf", root());
	if (access(path, R_OK) != 0) {
		print_message("skip: %s does not exist yet\n", path);
		skip();
	}
	if (station_cfg_load(path, &st, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(st.site[0] != '\0');
	assert_true(st.station[0] != '\0');
	assert_true(st.rules.version[0] != '\0');
	station_cfg_done(&st);
}

/* ---- known bugs (see the report): these fail until src/config.c is fixed ---------------- */

/* The first error in the file must be reported, not a later handler error: inih remembers a
 * syntax error line but keeps parsing, and a later key error overwrites it. */
static void test_bug_first_error_wins(void **state)
{
	(void)state;
	check_bad_station("station/bug-first-error.conf", -EINVAL,
			  ":5: syntax error (expected 'key = value' or '[section]')");
}

/* The longest line is 198 characters plus the newline (inih's 200-byte buffer); one more is
 * an error on that line, even in a comment, rather than a line silently split in two. */
static void test_station_line_length(void **state)
{
	struct tmp *t = *state;
	char path[TEST_PATH_MAX], want[TEST_MSG_MAX], line[LINE_LIMIT + 2],
		err[CONFIG_ERR_MAX] = "";
	struct station_cfg st;
	FILE *f;

	tmp_path(t, path, sizeof(path), "lines.conf");
	for (unsigned len = LINE_LIMIT; len <= LINE_LIMIT + 1; len++) {
		memset(line, 'x', len);
		line[0] = '#';
		line[len] = '\0';
		f = fopen(path, "we");
		assert_non_null(f);
		fprintf(f, "[station]\nsite = wh1\n%s\nid = st01\n[rules]\nversion = r1\n", line);
		assert_int_equal(fclose(f), 0);
		if (len == LINE_LIMIT) {
			assert_int_equal(station_cfg_load(path, &st, err, sizeof(err)), 0);
			assert_string_equal(st.station, "st01");
			station_cfg_done(&st);
		} else {
			assert_int_equal(station_cfg_load(path, &st, err, sizeof(err)), -EINVAL);
			snprintf(want, sizeof(want), "%s:3: line longer than %d characters", path,
				 LINE_LIMIT);
			assert_string_equal(err, want);
		}
	}
}

/* An empty [scan] order_pattern compiles to "match everything" (every label and box scan
 * becomes an order scan) and station_cfg_done() then frees nothing, because it uses
 * order_pattern_src[0] as its "loaded" marker. */
static void test_bug_empty_order_pattern(void **state)
{
	char path[TEST_PATH_MAX], err[CONFIG_ERR_MAX] = "";
	struct station_cfg st;
	int r;

	(void)state;
	fixture(path, sizeof(path), "station/bug-empty-order-pattern.conf");
	r = station_cfg_load(path, &st, err, sizeof(err));
	if (r == 0) {
		/* free by hand so the leak does not hide the real failure */
		regfree(&st.order_pattern);
		regfree(&st.box_pattern);
		for (unsigned i = 0; i < st.n_carriers; i++)
			regfree(&st.carriers[i].pattern);
	}
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err, "order_pattern"));
}

/* Two adjacent sections with the same name ("[box BOX-M]" twice) reach the handler as one
 * section, so they merge silently instead of "duplicate section". */
static void test_bug_adjacent_duplicate_section(void **state)
{
	char path[TEST_PATH_MAX], err[CONFIG_ERR_MAX] = "";
	struct station_cfg st;
	int r;

	(void)state;
	fixture(path, sizeof(path), "station/bug-dup-box-adjacent.conf");
	r = station_cfg_load(path, &st, err, sizeof(err));
	if (r == 0) {
		station_cfg_done(&st);
		fail_msg("two [box BOX-M] sections accepted as one box");
	}
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err, "duplicate section [box BOX-M]"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_board_bad_files),
		cmocka_unit_test(test_board_good_run_dir),
		cmocka_unit_test(test_board_good_file_dir),
		cmocka_unit_test(test_board_minimal_defaults),
		cmocka_unit_test_setup_teardown(test_board_relative_path_no_dir, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_board_path_limits, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_board_short_err_buffer),
		cmocka_unit_test(test_station_bad_files),
		cmocka_unit_test(test_station_bad_regex),
		cmocka_unit_test_setup_teardown(test_station_catalog_limits, tmp_setup,
						tmp_teardown),
		cmocka_unit_test(test_station_path_too_long),
		cmocka_unit_test_setup_teardown(test_station_line_length, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_station_good),
		cmocka_unit_test(test_station_minimal_defaults),
		cmocka_unit_test(test_real_board_sim),
		cmocka_unit_test(test_real_station_conf),
		cmocka_unit_test(test_bug_first_error_wins),
		cmocka_unit_test(test_bug_empty_order_pattern),
		cmocka_unit_test(test_bug_adjacent_duplicate_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
