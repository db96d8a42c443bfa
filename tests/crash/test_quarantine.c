/* SPDX-License-Identifier: MIT */
/*
 * tests/crash/test_quarantine.c - a damaged outbox is detected, moved aside (never deleted)
 * and salvaged; a healthy one is left alone and opens fast.
 *
 * Cases: a healthy file; a garbage header; damage in the middle of a big file that only the
 * idle-time full check sees (then the marker makes the next start move it aside); a tampered
 * last record (the fast check at open sees it); a marker over an intact file (false alarm:
 * kept, marker removed), and the fresh outbox numbers on after the damaged one (its
 * sequence high-water mark); errors that are not damage (newer schema) move nothing; two
 * quarantines in the same second get distinct names; the -wal moves with the database.
 * sealbench-salvage (found next to this binary's directory: BUILD/sealbench-salvage) reads
 * the moved file back: JSON lines and a fresh outbox that opens with the chain head intact.
 *
 * --bench N: time outbox_open() on N rows (cold: the file's pages dropped from the page cache
 * with posix_fadvise) and the full check, for issue 7's start-up budget.
 *
 * Usage: crash_quarantine [--bench N] [-v]. Prints "quarantine: N checks, N passed, N failed".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "src/log.h"
#include "src/outbox.h"
#include "tests/crash/crashcheck.h"

#define QUOTA		  (1024ull * 1024 * 1024)
#define SMALL_RECORDS	  20
#define BIG_RECORDS	  200
#define BIG_PHOTO	  (20 * 1024)
#define PAGE_SIZE_DEFAULT 4096
/* Issue 7: start-up within 100 ms at 50,000 records. */
#define OPEN_BUDGET_MS 100.0

static unsigned passed, failed;
static char salvage_bin[PATH_MAX];

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return;
	}
	failed++;
	va_start(ap, fmt);
	fputs("FAIL quarantine: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Files in @p dir whose name contains ".corrupt-"; the first one's full path in @p first. */
static unsigned count_aside(const char *dir, char *first, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		const char *p = strstr(e->d_name, OUTBOX_CORRUPT_INFIX);

		/* count databases only, not their -wal/-shm/.damaged companions */
		if (!p || strchr(p + sizeof(OUTBOX_CORRUPT_INFIX), '.') || strstr(p, "-wal") ||
		    strstr(p, "-shm"))
			continue;
		if (n++ == 0 && first)
			snprintf(first, size, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	return n;
}

static struct outbox *make_db(const char *path, unsigned records, size_t photo)
{
	struct outbox_cfg cfg = {.path = path, .quota_bytes = QUOTA};
	struct outbox *ob = NULL;
	uint64_t rng = 5;
	int r = outbox_open(&cfg, &ob);

	check(r == 0, "create %s: %s", path, strerror(-r));
	for (unsigned i = 0; r == 0 && i < records; i++) {
		r = cc_put_next(ob, &rng, i % 3 ? 0 : photo, -1);
		check(r == 0, "put %u: %s", i, strerror(-r));
	}
	return ob;
}

static void scribble(const char *path, off_t off, size_t len)
{
	char junk[PAGE_SIZE_DEFAULT];
	int fd = open(path, O_WRONLY);

	memset(junk, 0xa5, sizeof(junk));
	check(fd >= 0 && len <= sizeof(junk) && pwrite(fd, junk, len, off) == (ssize_t)len,
	      "scribble %s", path);
	if (fd >= 0)
		close(fd);
}

static int open_q(const char *path, struct outbox **ob, char *aside, size_t size)
{
	struct outbox_cfg cfg = {.path = path, .quota_bytes = QUOTA};

	aside[0] = '\0';
	return outbox_open_or_quarantine(&cfg, ob, aside, size);
}

static void test_healthy(const char *dir)
{
	char path[PATH_MAX], aside[PATH_MAX];
	struct outbox *ob =
		make_db((snprintf(path, sizeof(path), "%s/h.db", dir), path), SMALL_RECORDS, 4096);
	int r;

	outbox_close(ob);
	r = open_q(path, &ob, aside, sizeof(aside));
	check(r == 0, "healthy: %d", r);
	check(ob && outbox_get_next_seq(ob) == SMALL_RECORDS + 1, "healthy: chain head");
	check(count_aside(dir, NULL, 0) == 0, "healthy: something was moved aside");
	outbox_close(ob);
}

static void test_garbage_header(const char *dir)
{
	char path[PATH_MAX], aside[PATH_MAX], marker[PATH_MAX + 16];
	struct outbox *ob;
	struct stat before, after;
	int r;

	snprintf(path, sizeof(path), "%s/g.db", dir);
	ob = make_db(path, SMALL_RECORDS, 4096);
	outbox_close(ob);
	ob = NULL;
	scribble(path, 0, 100);
	stat(path, &before);
	r = open_q(path, &ob, aside, sizeof(aside));
	check(r == OUTBOX_QUARANTINED, "garbage header: %d, expected OUTBOX_QUARANTINED", r);
	check(aside[0] && strstr(aside, "/g.db" OUTBOX_CORRUPT_INFIX) && exists(aside),
	      "garbage header: aside '%s' missing", aside);
	check(stat(aside, &after) == 0 && after.st_size == before.st_size &&
		      after.st_ino == before.st_ino,
	      "garbage header: the moved file is not the damaged one");
	/* empty, and numbering after every number the damaged outbox may have used (its
	 * high-water mark stayed at the live path): no record ID is ever issued twice */
	check(ob && outbox_get_next_seq(ob) > SMALL_RECORDS, "garbage header: the fresh outbox "
	      "starts at %" PRIu64 ", reusing the damaged one's record IDs",
	      ob ? outbox_get_next_seq(ob) : 0);
	{
		struct outbox_stats os = {0};

		check(ob && outbox_get_stats(ob, &os) == 0 && os.total == 0,
		      "garbage header: fresh outbox not empty");
	}
	snprintf(marker, sizeof(marker), "%s" OUTBOX_DAMAGED_SUFFIX, path);
	check(!exists(marker), "garbage header: a marker is left at the live path");
	outbox_close(ob);
	/* the fresh outbox is healthy: the next start leaves it alone */
	ob = NULL;
	r = open_q(path, &ob, aside, sizeof(aside));
	check(r == 0, "garbage header: restart after quarantine: %d", r);
	outbox_close(ob);
}

static int run_salvage(const char *in, const char *jsonl, const char *out_db)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0 && !getenv("QUARANTINE_VERBOSE"))
			dup2(null, 2);
		execl(salvage_bin, salvage_bin, "-j", jsonl, "-o", out_db, in, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static unsigned count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned n = 0;
	int c;

	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_middle_damage_and_salvage(const char *dir)
{
	char path[PATH_MAX], aside[PATH_MAX], marker[PATH_MAX + 16], head[OUTBOX_HASH_HEX];
	char jsonl[PATH_MAX], out[PATH_MAX];
	struct outbox_cfg cfg = {.quota_bytes = QUOTA};
	struct outbox *ob;
	struct stat sb;
	int r;

	snprintf(path, sizeof(path), "%s/m.db", dir);
	snprintf(marker, sizeof(marker), "%s" OUTBOX_DAMAGED_SUFFIX, path);
	ob = make_db(path, BIG_RECORDS, BIG_PHOTO);
	memcpy(head, outbox_get_last_hash(ob), sizeof(head));
	outbox_close(ob);
	ob = NULL;
	/* a page in the middle: photo overflow pages make up most of the file */
	check(stat(path, &sb) == 0 && sb.st_size > 100 * PAGE_SIZE_DEFAULT, "big file");
	scribble(path, (sb.st_size / PAGE_SIZE_DEFAULT / 2) * PAGE_SIZE_DEFAULT, PAGE_SIZE_DEFAULT);

	cfg.path = path;
	r = outbox_open(&cfg, &ob);
	check(r == 0, "middle damage: the fast check should not read the middle (%d)", r);
	if (r == 0) {
		r = outbox_check(ob, OUTBOX_CHECK_FULL);
		check(r == -EBADMSG, "middle damage: full check %d, expected -EBADMSG", r);
		check(outbox_is_damaged(ob), "middle damage: not flagged");
		check(exists(marker), "middle damage: no marker after the full check");
		outbox_close(ob);
		ob = NULL;
	}
	r = open_q(path, &ob, aside, sizeof(aside));
	check(r == OUTBOX_QUARANTINED, "middle damage: next start %d, expected quarantine", r);
	snprintf(marker, sizeof(marker), "%s" OUTBOX_DAMAGED_SUFFIX, aside);
	check(exists(marker), "middle damage: the reason did not move with the file");
	outbox_close(ob);
	ob = NULL;

	if (!salvage_bin[0] || !exists(salvage_bin)) {
		printf("  salvage: SKIP (%s not built)\n", salvage_bin);
		return;
	}
	snprintf(jsonl, sizeof(jsonl), "%s/salvaged.jsonl", dir);
	snprintf(out, sizeof(out), "%s/salvaged.db", dir);
	r = run_salvage(aside, jsonl, out);
	check(r == 0 || r == 1, "salvage exit %d", r);
	check(count_lines(jsonl) >= BIG_RECORDS - 1, "salvage: %u of %u records in JSON lines",
	      count_lines(jsonl), BIG_RECORDS);
	cfg.path = out;
	r = outbox_open(&cfg, &ob);
	check(r == 0, "salvaged outbox does not open: %d", r);
	if (r == 0) {
		check(outbox_get_next_seq(ob) == BIG_RECORDS + 1 &&
			      strcmp(outbox_get_last_hash(ob), head) == 0,
		      "salvaged outbox: the chain does not continue from the last record");
		r = outbox_check(ob, OUTBOX_CHECK_FULL);
		check(r == 0, "salvaged outbox: full check %d", r);
		outbox_close(ob);
	}
	/* the evidence itself was not touched by the salvage */
	check(stat(aside, &sb) == 0, "the moved file is gone after salvage");
}

static void test_tail_tampered(const char *dir)
{
	char path[PATH_MAX], aside[PATH_MAX];
	struct outbox *ob;
	sqlite3 *db = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/t.db", dir);
	ob = make_db(path, SMALL_RECORDS, 0);
	outbox_close(ob);
	ob = NULL;
	check(sqlite3_open(path, &db) == SQLITE_OK &&
		      sqlite3_exec(db,
				   "UPDATE records SET json = replace(json, 'a', 'b')"
				   " WHERE seq = (SELECT max(seq) FROM records)",
				   NULL, NULL, NULL) == SQLITE_OK,
	      "tamper");
	sqlite3_close(db);
	r = open_q(path, &ob, aside, sizeof(aside));
	check(r == OUTBOX_QUARANTINED, "tampered tail: %d, expected quarantine", r);
	outbox_close(ob);
}

static void test_false_alarm(const char *dir)
{
	char path[PATH_MAX], aside[PATH_MAX], marker[PATH_MAX + 16];
	struct outbox *ob;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/f.db", dir);
	snprintf(marker, sizeof(marker), "%s" OUTBOX_DAMAGED_SUFFIX, path);
	ob = make_db(path, SMALL_RECORDS, 1024);
	outbox_close(ob);
	ob = NULL;
	f = fopen(marker, "w");
	check(f && fputs("test\n", f) >= 0 && fclose(f) == 0, "write marker");
	r = open_q(path, &ob, aside, sizeof(aside));
	check(r == 0, "marker over an intact file: %d, expected 0", r);
	check(!exists(marker), "marker over an intact file: marker not removed");
	check(ob && outbox_get_next_seq(ob) == SMALL_RECORDS + 1, "false alarm: records lost");
	outbox_close(ob);
}

static void test_not_damage(const char *dir)
{
	char path[PATH_MAX], aside[PATH_MAX];
	struct outbox *ob;
	sqlite3 *db = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/n.db", dir);
	ob = make_db(path, 3, 0);
	outbox_close(ob);
	ob = NULL;
	check(sqlite3_open(path, &db) == SQLITE_OK &&
		      sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK,
	      "user_version");
	sqlite3_close(db);
	r = open_q(path, &ob, aside, sizeof(aside));
	check(r == -EPROTO && !ob, "newer schema: %d, expected -EPROTO", r);
	check(exists(path) && !aside[0], "newer schema: the file was moved");
}

static void test_two_in_a_second_and_wal(const char *dir)
{
	char sub[CC_DIR_MAX + 8], path[PATH_MAX], wal[PATH_MAX + 8], aside[PATH_MAX];
	char aside1[PATH_MAX], aside_wal[PATH_MAX + 8];
	struct outbox *ob;
	int status, r;
	pid_t pid;

	snprintf(sub, sizeof(sub), "%s/w", dir);
	mkdir(sub, 0700);
	snprintf(path, sizeof(path), "%s/outbox.db", sub);
	snprintf(wal, sizeof(wal), "%s-wal", path);

	/* a station that died: its last records only in the WAL, never checkpointed */
	ob = make_db(path, SMALL_RECORDS, 2048);
	outbox_close(ob);
	ob = NULL;
	pid = fork();
	if (pid == 0) {
		uint64_t rng = 77;

		ob = make_db(path, 0, 0);
		for (int i = 0; i < 5; i++)
			cc_put_next(ob, &rng, 0, -1);
		_exit(ob ? 0 : 1);
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "child station");
	check(exists(wal), "no WAL left by the killed station");
	/* page 2 (the meta table) is not in the WAL: the damage is not masked by it */
	scribble(path, PAGE_SIZE_DEFAULT, PAGE_SIZE_DEFAULT);
	r = open_q(path, &ob, aside1, sizeof(aside1));
	check(r == OUTBOX_QUARANTINED, "with WAL: %d", r);
	snprintf(aside_wal, sizeof(aside_wal), "%s-wal", aside1);
	check(exists(aside_wal), "the -wal did not move with the database");
	outbox_close(ob);
	ob = NULL;
	check(!exists(wal) || count_aside(sub, NULL, 0) == 1, "stale WAL at the live path");

	/* damage the fresh one at once: a second quarantine, most likely in the same second */
	ob = make_db(path, 2, 0);
	outbox_close(ob);
	ob = NULL;
	scribble(path, 0, 100);
	r = open_q(path, &ob, aside, sizeof(aside));
	check(r == OUTBOX_QUARANTINED && strcmp(aside, aside1) != 0,
	      "second quarantine: %d, '%s' vs '%s'", r, aside, aside1);
	check(count_aside(sub, NULL, 0) == 2, "second quarantine: %u files aside",
	      count_aside(sub, NULL, 0));
	outbox_close(ob);
}

/* Issue 7: outbox_open() at N rows, cold, and the idle-time full check. */
static void bench(const char *dir, unsigned n)
{
	char path[PATH_MAX];
	struct outbox_cfg cfg = {.quota_bytes = QUOTA};
	struct outbox *ob;
	struct stat sb;
	uint64_t rng = 9;
	double t0, t_open, t_full;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/bench.db", dir);
	cfg.path = path;
	r = outbox_open(&cfg, &ob);
	for (unsigned i = 0; r == 0 && i < n; i++)
		r = cc_put_next(ob, &rng, i % 10 ? 0 : 30 * 1024, -1);
	outbox_close(ob);
	check(r == 0, "bench fill: %d", r);
	stat(path, &sb);
	fd = open(path, O_RDONLY);
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	t0 = now_ms();
	r = outbox_open(&cfg, &ob);
	t_open = now_ms() - t0;
	check(r == 0, "bench open: %d", r);
	t0 = now_ms();
	r = outbox_check(ob, OUTBOX_CHECK_FULL);
	t_full = now_ms() - t0;
	outbox_close(ob);
	printf("  bench: %u records, %.0f MB: open (cold) %.1f ms, full check %.0f ms\n", n,
	       (double)sb.st_size / 1e6, t_open, t_full);
	check(t_open < OPEN_BUDGET_MS, "open took %.1f ms (budget %.0f)", t_open, OPEN_BUDGET_MS);
}

int main(int argc, char **argv)
{
	char dir[CC_DIR_MAX], self[PATH_MAX];
	unsigned bench_n = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc)
			bench_n = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "-v") != 0) {
			fputs("usage: crash_quarantine [--bench N] [-v]\n", stderr);
			return 2;
		}
	}
	if (!(argc > 1 && strcmp(argv[argc - 1], "-v") == 0))
		log_set_level((enum log_level)(LOG_LVL_ERR - 1));
	/* BUILD/tests/crash_quarantine -> BUILD/sealbench-salvage */
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(salvage_bin, sizeof(salvage_bin), "%s/../sealbench-salvage", dirname(self));

	cc_mkdtemp(dir, sizeof(dir), "quarantine");
	if (bench_n) {
		bench(dir, bench_n);
	} else {
		test_healthy(dir);
		test_garbage_header(dir);
		test_middle_damage_and_salvage(dir);
		test_tail_tampered(dir);
		test_false_alarm(dir);
		test_not_damage(dir);
		test_two_in_a_second_and_wal(dir);
	}
	if (!failed)
		cc_rmtree(dir);
	else
		printf("  files kept in %s\n", dir);
	printf("quarantine: %u checks, %u passed, %u failed\n", passed + failed, passed, failed);
	return failed ? 1 : 0;
}
