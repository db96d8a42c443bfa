/* SPDX-License-Identifier: MIT */
/*
 * tests/crash/test_iofault.c - ENOSPC and EIO at each I/O call of one seal-and-deliver cycle.
 *
 * The cycle is what the station does for one package: outbox_put() (record + photo), then the
 * link's outbox_next_unacked() for every unacked row, one outbox_settle() with their PUBACKs
 * and central's acks (as the link records a burst), and the status counters. A settle that
 * failed must have changed nothing: the same rows are unacked once the fault clears. The cycle
 * is measured once per kind of fault (how many matching I/O calls it makes), then run once per
 * call with that call failing:
 *   - ENOSPC, sticky, on the calls that can run out of space (write, sync, truncate, open,
 *     shm map): the disk is full from that call on;
 *   - EIO once, on any call: a transient error;
 *   - EIO sticky, on any call: the disk went bad for a while;
 *   - EIO once on each sync: an fsync failure (the VFS then loses what that sync should have
 *     made durable, as Linux does).
 * Each case runs in a child: no crash, every failure a negative errno, a failed put leaves the
 * chain where it was, no I/O error is mistaken for damage; then the fault clears and the same
 * record goes in, the rest is delivered, the full check passes; then the power is cut (every
 * unsynced write dropped) and the parent checks every acknowledged record survived. A put that
 * returned 0 over a failed fsync would show up there as a lost record.
 *
 * Usage: crash_iofault [--rounds N] [--seed S] [-v]   (rounds: repeat every case N times)
 * Prints "iofault: N cases, N passed, N failed".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/log.h"
#include "src/outbox.h"
#include "tests/crash/crashcheck.h"
#include "tests/crash/crashvfs.h"

#define QUOTA	  (1024ull * 1024 * 1024)
#define PHOTO_LEN (24 * 1024)
/* Records in the starting database (some acked, one sent, the rest queued). */
#define BASE_RECORDS 6
/* Child exit codes: a wrong answer under a fault, a failure after the fault cleared. */
#define CHILD_WRONG	  4
#define CHILD_NO_RECOVERY 5

struct kind {
	const char *name;
	int err;
	bool sticky;
	unsigned mask;
};

static const struct kind kinds[] = {
	{"ENOSPC sticky", ENOSPC, true, CRASHVFS_SPACE_OPS},
	{"EIO once", EIO, false, CRASHVFS_ALL_OPS},
	{"EIO sticky", EIO, true, CRASHVFS_ALL_OPS},
	{"fsync EIO", EIO, false, CRASHVFS_SYNC},
};

static bool verbose;
/* Each round varies the photo size and the record padding, so rounds differ in their calls. */
static unsigned cur_round;
#define ROUND_PHOTO_LEN (PHOTO_LEN + (cur_round % 8) * 3000)
#define ROUND_SEED	(7 + cur_round)

static void child_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("iofault child: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	_exit(code);
}

static bool is_errno(int r)
{
	return r == -ENOSPC || r == -EIO || r == -EBUSY || r == -ENOMEM || r == -EROFS ||
	       r == -ENOENT;
}

/* Unacked rows (at most DELIVER_MAX): their seqs and IDs in @p seq / @p ids. */
#define DELIVER_MAX (BASE_RECORDS + 4)
#define ROW_ID_SIZE sizeof(((struct outbox_row *)0)->id)
static int unacked_rows(struct outbox *ob, uint64_t *seq, char (*ids)[ROW_ID_SIZE], size_t *ret_n)
{
	struct outbox_row row = {0};
	uint64_t after = 0;
	size_t n = 0;
	int r;

	while ((r = outbox_next_unacked(ob, after, &row)) == 0) {
		after = row.seq;
		if (n == DELIVER_MAX) {
			r = -E2BIG;
			break;
		}
		seq[n] = row.seq;
		memcpy(ids[n], row.id, sizeof(ids[n]));
		n++;
	}
	outbox_row_done(&row);
	*ret_n = n;
	return r == -ENOENT ? 0 : r;
}

/*
 * Deliver every unacked row as the MQTT link does: read them, then one burst (the PUBACK and
 * central's ack of each) in one outbox_settle(), reported once it committed. @p ret_burst:
 * how many rows the settle held, SIZE_MAX when reading them failed. Returns the first error.
 */
static int deliver_all(struct outbox *ob, int fd, size_t *ret_burst)
{
	char ids[DELIVER_MAX][ROW_ID_SIZE];
	struct outbox_change ch[2 * DELIVER_MAX];
	uint64_t seq[DELIVER_MAX];
	size_t n = 0;
	int r;

	*ret_burst = SIZE_MAX;
	r = unacked_rows(ob, seq, ids, &n);
	if (r < 0)
		return r;
	*ret_burst = n;
	for (size_t i = 0; i < n; i++) {
		ch[i] = (struct outbox_change){.seq = seq[i]};
		ch[n + i] = (struct outbox_change){.acked = true, .id = ids[i]};
	}
	r = outbox_settle(ob, ch, 2 * n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < 2 * n; i++) {
		if (ch[i].result < 0)
			return ch[i].result;
		cc_report(fd, ch[i].acked ? 'A' : 'S', seq[i % n], NULL);
	}
	return 0;
}

/* One cycle under the armed fault; then recovery. Never returns. */
static void child(const char *path, const struct kind *k, uint64_t at, int fd)
{
	struct outbox_cfg cfg = {.path = path, .quota_bytes = QUOTA, .vfs = CRASHVFS_NAME};
	char head[OUTBOX_HASH_HEX];
	uint64_t rng = ROUND_SEED, seq, seqs[DELIVER_MAX];
	char ids[DELIVER_MAX][ROW_ID_SIZE];
	size_t unacked = 0, left = 0;
	struct outbox_stats stats;
	struct outbox *ob = NULL;
	int r, rd;

	r = outbox_open(&cfg, &ob);
	if (r < 0)
		child_fail(CHILD_WRONG, "open without a fault: %s", strerror(-r));
	seq = outbox_get_next_seq(ob);
	memcpy(head, outbox_get_last_hash(ob), sizeof(head));

	crashvfs_arm_fault(at, k->err, k->sticky, k->mask);
	r = cc_put_next(ob, &rng, ROUND_PHOTO_LEN, fd);
	if (r < 0) {
		if (!is_errno(r))
			child_fail(CHILD_WRONG, "put: %d is not an errno we expect", r);
		if (outbox_get_next_seq(ob) != seq || strcmp(outbox_get_last_hash(ob), head))
			child_fail(CHILD_WRONG, "put failed (%s) but the chain moved",
				   strerror(-r));
	}
	if (verbose)
		fprintf(stderr, "  put under fault: %s\n", r ? strerror(-r) : "ok");
	rd = deliver_all(ob, fd, &unacked);
	if (rd < 0 && !is_errno(rd))
		child_fail(CHILD_WRONG, "deliver: %d is not an errno we expect", rd);
	r = outbox_get_stats(ob, &stats);
	if (r < 0 && !is_errno(r))
		child_fail(CHILD_WRONG, "stats: %d", r);
	r = outbox_check(ob, OUTBOX_CHECK_FAST);
	if (r == -EBADMSG || outbox_is_damaged(ob))
		child_fail(CHILD_WRONG, "an injected %s was taken for damage", strerror(k->err));
	if (crashvfs_faults_hit() == 0)
		child_fail(CHILD_WRONG, "the fault at call %" PRIu64 " was never injected", at);

	/* the disk has room again / works again */
	crashvfs_clear_fault();
	/* a failed burst changed nothing: every row it held is still unacked */
	if (rd < 0 && unacked != SIZE_MAX &&
	    (unacked_rows(ob, seqs, ids, &left) < 0 || left != unacked))
		child_fail(CHILD_WRONG, "a failed settle (%s) left %zu of %zu rows unacked",
			   strerror(-rd), left, unacked);
	if (outbox_get_next_seq(ob) == seq) {
		r = cc_put_next(ob, &rng, ROUND_PHOTO_LEN, fd);
		if (r < 0)
			child_fail(CHILD_NO_RECOVERY, "put after the fault cleared: %s",
				   strerror(-r));
	}
	r = deliver_all(ob, fd, &unacked);
	if (r < 0)
		child_fail(CHILD_NO_RECOVERY, "deliver after the fault cleared: %s", strerror(-r));
	r = outbox_check(ob, OUTBOX_CHECK_FULL);
	if (r < 0)
		child_fail(CHILD_NO_RECOVERY, "full check after the fault cleared: %s",
			   strerror(-r));
	/* and a clean restart works */
	outbox_close(ob);
	ob = NULL;
	r = outbox_open(&cfg, &ob);
	if (r < 0)
		child_fail(CHILD_NO_RECOVERY, "reopen after the fault cleared: %s", strerror(-r));
	r = cc_put_next(ob, &rng, 0, fd);
	if (r < 0)
		child_fail(CHILD_NO_RECOVERY, "put after reopen: %s", strerror(-r));
	/* power cut: what was not synced is gone, including what a failed fsync lost */
	crashvfs_cut(CRASHVFS_CUT_DROP);
	_exit(0);
}

/* Measure: matching calls of one cycle (the child reports "E n" and exits). */
static void child_measure(const char *path, unsigned mask, int fd)
{
	struct outbox_cfg cfg = {.path = path, .quota_bytes = QUOTA, .vfs = CRASHVFS_NAME};
	struct outbox *ob = NULL;
	uint64_t rng = ROUND_SEED;
	size_t unacked;

	if (outbox_open(&cfg, &ob) < 0)
		_exit(CHILD_WRONG);
	crashvfs_arm_fault(0, 0, false, mask);
	if (cc_put_next(ob, &rng, ROUND_PHOTO_LEN, -1) < 0 || deliver_all(ob, -1, &unacked) < 0)
		_exit(CHILD_WRONG);
	{
		struct outbox_stats stats;

		outbox_get_stats(ob, &stats);
	}
	outbox_check(ob, OUTBOX_CHECK_FAST);
	cc_report(fd, 'E', crashvfs_fault_calls(), NULL);
	_exit(0);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb");
	FILE *out = fopen(to, "wb");
	size_t n;
	int r = 0;

	if (!in || !out)
		r = -errno;
	while (r == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			r = -EIO;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0 && r == 0)
		r = -errno;
	return r;
}

/* Run a child on a fresh copy of the template; read its ledger; 0 or -1 with @p why. */
static int run_case(const char *tpl, const char *path, const struct kind *k, uint64_t at,
		    unsigned measure_mask, struct cc_ledger *l, char *why)
{
	char wal[PATH_MAX];
	int fds[2], status, r;
	pid_t pid;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	if (copy_file(tpl, path) < 0)
		return snprintf(why, CC_WHY_MAX, "copy template: %s", strerror(errno)), -1;
	if (pipe(fds) < 0)
		return snprintf(why, CC_WHY_MAX, "pipe: %s", strerror(errno)), -1;
	pid = fork();
	if (pid < 0)
		return snprintf(why, CC_WHY_MAX, "fork: %s", strerror(errno)), -1;
	if (pid == 0) {
		close(fds[0]);
		if (measure_mask)
			child_measure(path, measure_mask, fds[1]);
		child(path, k, at, fds[1]);
	}
	close(fds[1]);
	cc_ledger_done(l);
	r = cc_ledger_read(l, fds[0]);
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return snprintf(why, CC_WHY_MAX, "waitpid: %s", strerror(errno)), -1;
	if (r < 0)
		return snprintf(why, CC_WHY_MAX, "report pipe: %s", strerror(-r)), -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return snprintf(why, CC_WHY_MAX, "child %s %d (see its message above)",
				WIFEXITED(status) ? "exited" : "killed by signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)),
		       -1;
	if (measure_mask)
		return 0;
	return cc_verify(path, l, why);
}

/* The starting database: BASE_RECORDS records, two acked, one sent, written cleanly. */
static int make_template(const char *path)
{
	struct outbox_cfg cfg = {.path = path, .quota_bytes = QUOTA};
	struct outbox *ob = NULL;
	uint64_t rng = 3;
	int r;

	r = outbox_open(&cfg, &ob);
	for (int i = 0; r == 0 && i < BASE_RECORDS; i++)
		r = cc_put_next(ob, &rng, i % 2 ? PHOTO_LEN : 0, -1);
	if (r == 0)
		r = outbox_mark_sent(ob, 1);
	if (r == 0)
		r = outbox_ack(ob, CC_STATION "-0000000001");
	if (r == 0)
		r = outbox_mark_sent(ob, 2);
	if (r == 0)
		r = outbox_ack(ob, CC_STATION "-0000000002");
	if (r == 0)
		r = outbox_mark_sent(ob, 3);
	outbox_close(ob);
	return r;
}

int main(int argc, char **argv)
{
	char dir[CC_DIR_MAX], tpl[PATH_MAX], path[PATH_MAX], why[CC_WHY_MAX];
	unsigned rounds = 1, passed = 0, failed = 0;
	struct cc_ledger l = {0};
	struct timespec t0, t1;
	int c;

	while ((c = getopt(argc, argv, "r:s:vh")) != -1) {
		if (c == 'r')
			rounds = (unsigned)strtoul(optarg, NULL, 0);
		else if (c == 's')
			crashvfs_seed(strtoull(optarg, NULL, 0));
		else if (c == 'v')
			verbose = true;
		else {
			fputs("usage: crash_iofault [-r ROUNDS] [-s SEED] [-v]\n",
			      c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!verbose)
		log_set_level(LOG_LVL_ERR);
	if (crashvfs_register() < 0)
		return 1;
	cc_mkdtemp(dir, sizeof(dir), "iofault");
	snprintf(tpl, sizeof(tpl), "%s/template.db", dir);
	snprintf(path, sizeof(path), "%s/outbox.db", dir);
	if (make_template(tpl) < 0) {
		fputs("iofault: cannot build the template database\n", stderr);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned round = 0; round < rounds && !failed; round++) {
		cur_round = round;
		for (size_t ki = 0; ki < sizeof(kinds) / sizeof(kinds[0]) && !failed; ki++) {
			const struct kind *k = &kinds[ki];
			uint64_t n;

			if (run_case(tpl, path, k, 0, k->mask, &l, why) < 0 || !l.end_calls) {
				printf("FAIL iofault: measuring %s: %s\n", k->name, why);
				failed++;
				break;
			}
			n = l.end_calls;
			if (verbose || round == 0)
				printf("  %s: %" PRIu64 " calls in one cycle\n", k->name, n);
			for (uint64_t at = 1; at <= n; at++) {
				if (run_case(tpl, path, k, at, 0, &l, why) < 0) {
					printf("FAIL iofault: %s at call %" PRIu64 "/%" PRIu64
					       ": %s\n"
					       "  files kept in %s\n",
					       k->name, at, n, why, dir);
					failed++;
					break;
				}
				passed++;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cc_ledger_done(&l);
	if (!failed)
		cc_rmtree(dir);
	printf("iofault: %u cases, %u passed, %u failed, %.1f s\n", passed + failed, passed, failed,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failed || !passed ? 1 : 0;
}
