/* SPDX-License-Identifier: MIT */
/*
 * tests/crash/test_powercut.c - repeated power cuts while sealing and delivering.
 *
 * Each cut: a child process opens the outbox through the crash VFS and works like a station
 * (puts with and without photos, PUBACKs, central's acks, a second connection checkpointing,
 * clean close and reopen, prune). It reports each call that returned 0 to the parent over a
 * pipe. At a random I/O call the power goes: the VFS drops every unsynced write (or lets a
 * random subset of unsynced sectors through) and tears the last write, then the child is gone.
 * "Reboot": the parent opens the same files with the real VFS and checks (crashcheck.c) that
 * the database opens, passes integrity_check and the full check, that seq has no gaps, the
 * chain links, photos match, and every acknowledged record is there in at least its
 * acknowledged state. The next child carries on with the same files: repeated cuts.
 *
 * Usage: crash_powercut [--cuts N] [--seed S] [--batch N] [--keep] [-v]
 * Prints "powercut: N cuts, N passed, N failed"; exit 0 when all passed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "src/log.h"
#include "src/outbox.h"
#include "tests/crash/crashcheck.h"
#include "tests/crash/crashvfs.h"

/* make test's count; make soak passes --cuts 10000 */
#define DEFAULT_CUTS 300
/* Cuts on one database before starting a new one (repeated cuts, bounded file size). */
#define DEFAULT_BATCH 25
/* Outbox operations per child. */
#define STEPS 24
/* Exit status of a child that saw an outbox call fail without any fault injected. */
#define CHILD_FAILED 3
#define QUOTA	     (1024ull * 1024 * 1024)
/* Photo sizes: none mostly, some small, some spanning many overflow pages. */
#define PHOTO_SMALL 2048
#define PHOTO_BIG   (40 * 1024)

struct opts {
	unsigned cuts;
	uint64_t seed;
	unsigned batch;
	bool keep;
	bool verbose;
};

static void die_child(const char *what, int r)
{
	fprintf(stderr, "powercut child: %s: %s\n", what, strerror(-r));
	_exit(CHILD_FAILED);
}

/* The oldest row in @p state (QUEUED or SENT); 0 when none. */
static uint64_t find_state(struct outbox *ob, enum outbox_state state, char *id, size_t id_size)
{
	struct outbox_row row = {0};
	uint64_t after = 0;

	while (outbox_next_unacked(ob, after, &row) == 0) {
		after = row.seq;
		if (row.state == state) {
			snprintf(id, id_size, "%s", row.id);
			outbox_row_done(&row);
			return after;
		}
		outbox_row_done(&row);
	}
	return 0;
}

static void checkpoint(const char *path, bool truncate)
{
	sqlite3 *db = NULL;

	/* sealbench-outbox or a salvage read on the side: a second connection, same VFS */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, CRASHVFS_NAME) == SQLITE_OK) {
		sqlite3_busy_timeout(db, 0);
		sqlite3_exec(db,
			     truncate ? "PRAGMA wal_checkpoint(TRUNCATE)"
				      : "PRAGMA wal_checkpoint(PASSIVE)",
			     NULL, NULL, NULL);
	}
	sqlite3_close(db);
}

/* The station's life between two power cuts. Never returns. */
static void child(const char *path, uint64_t work_seed, uint64_t cut_at,
		  enum crashvfs_cut_mode mode, int fd)
{
	struct outbox_cfg cfg = {.path = path, .quota_bytes = QUOTA, .vfs = CRASHVFS_NAME};
	struct outbox *ob = NULL;
	uint64_t rng = work_seed | 1;
	char id[64];
	uint64_t seq;
	int r;

	crashvfs_seed(work_seed ^ cut_at);
	crashvfs_arm_cut(cut_at, mode);
	r = outbox_open(&cfg, &ob);
	if (r < 0)
		die_child("outbox_open", r);
	for (int step = 0; step < STEPS; step++) {
		unsigned pick = (unsigned)(cc_rand(&rng) % 100);

		if (pick < 55) {
			unsigned p = (unsigned)(cc_rand(&rng) % 8);
			size_t photo = p == 0 ? PHOTO_BIG : p < 3 ? PHOTO_SMALL : 0;

			r = cc_put_next(ob, &rng, photo, fd);
			if (r < 0)
				die_child("outbox_put", r);
		} else if (pick < 72) {
			seq = find_state(ob, OUTBOX_QUEUED, id, sizeof(id));
			if (seq) {
				r = outbox_mark_sent(ob, seq);
				if (r < 0)
					die_child("outbox_mark_sent", r);
				cc_report(fd, 'S', seq, NULL);
			}
		} else if (pick < 90) {
			seq = find_state(ob, OUTBOX_SENT, id, sizeof(id));
			if (seq) {
				r = outbox_ack(ob, id);
				if (r < 0)
					die_child("outbox_ack", r);
				cc_report(fd, 'A', seq, NULL);
			}
		} else if (pick < 94) {
			checkpoint(path, pick & 1);
		} else if (pick < 97) {
			/* a clean restart: close checkpoints and removes the WAL */
			outbox_close(ob);
			ob = NULL;
			cc_report(fd, 'C', 0, NULL);
			r = outbox_open(&cfg, &ob);
			if (r < 0)
				die_child("outbox_open (restart)", r);
		} else if (pick < 99) {
			r = outbox_prune(ob, UINT64_MAX / 2);
			if (r < 0)
				die_child("outbox_prune", r);
		} else {
			r = outbox_check(ob, OUTBOX_CHECK_FAST);
			if (r < 0)
				die_child("outbox_check", r);
		}
	}
	cc_report(fd, 'E', crashvfs_calls(), NULL);
	/* the power goes after the last call: whatever was not synced is gone */
	crashvfs_cut(mode);
	_exit(0);
}

static int run_one(const char *path, uint64_t work_seed, uint64_t cut_at,
		   enum crashvfs_cut_mode mode, struct cc_ledger *l, char *why)
{
	int fds[2];
	int status;
	pid_t pid;
	int r;

	if (pipe(fds) < 0)
		return snprintf(why, CC_WHY_MAX, "pipe: %s", strerror(errno)), -1;
	pid = fork();
	if (pid < 0)
		return snprintf(why, CC_WHY_MAX, "fork: %s", strerror(errno)), -1;
	if (pid == 0) {
		close(fds[0]);
		child(path, work_seed, cut_at, mode, fds[1]);
	}
	close(fds[1]);
	l->end_calls = 0;
	r = cc_ledger_read(l, fds[0]);
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return snprintf(why, CC_WHY_MAX, "waitpid: %s", strerror(errno)), -1;
	if (r < 0)
		return snprintf(why, CC_WHY_MAX, "report pipe: %s", strerror(-r)), -1;
	if (!WIFEXITED(status) ||
	    (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != CRASHVFS_CUT_EXIT))
		return snprintf(why, CC_WHY_MAX, "child %s %d (a crash, or an outbox call failed)",
				WIFEXITED(status) ? "exited" : "killed by signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)),
		       -1;
	return cc_verify(path, l, why);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"cuts", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"batch", required_argument, NULL, 'b'},
		{"keep", no_argument, NULL, 'k'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	*o = (struct opts){
		.cuts = DEFAULT_CUTS, .seed = (uint64_t)time(NULL), .batch = DEFAULT_BATCH};
	while ((c = getopt_long(argc, argv, "n:s:b:kvh", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->cuts = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 's':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			o->batch = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'k':
			o->keep = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		default:
			fputs("usage: crash_powercut [--cuts N] [--seed S] [--batch N] [--keep] "
			      "[-v]\n",
			      c == 'h' ? stdout : stderr);
			exit(c == 'h' ? 0 : 2);
		}
	}
	if (!o->batch)
		o->batch = 1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0, done = 0, batch_no = 0, cut_mid = 0;
	char dir[CC_DIR_MAX], path[PATH_MAX], why[CC_WHY_MAX];
	struct timespec t0, t1;
	uint64_t rng;
	struct opts o;

	parse_opts(argc, argv, &o);
	if (!o.verbose)
		log_set_level(LOG_LVL_ERR);
	if (crashvfs_register() < 0) {
		fputs("powercut: cannot register the crash VFS\n", stderr);
		return 1;
	}
	rng = o.seed | 1;
	printf("powercut: seed %" PRIu64 " (--seed to repeat), %u cuts\n", o.seed, o.cuts);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < o.cuts && !failed) {
		struct cc_ledger l = {0};
		uint64_t est = 0;

		cc_mkdtemp(dir, sizeof(dir), "powercut");
		snprintf(path, sizeof(path), "%s/outbox.db", dir);
		for (unsigned i = 0; i < o.batch && done < o.cuts; i++, done++) {
			uint64_t work_seed = cc_rand(&rng);
			enum crashvfs_cut_mode mode = (enum crashvfs_cut_mode)(cc_rand(&rng) & 1);
			/* the first child of a batch measures the work; 1 in 8 cut only at the end
			 */
			uint64_t cut_at = est && cc_rand(&rng) % 8 ? 1 + cc_rand(&rng) % est : 0;

			if (run_one(path, work_seed, cut_at, mode, &l, why) < 0) {
				failed++;
				printf("FAIL powercut batch %u cut %u (seed %" PRIu64
				       ", work %" PRIu64 ", cut at call %" PRIu64
				       ", %s): %s\n  files kept in %s\n",
				       batch_no, i, o.seed, work_seed, cut_at,
				       mode ? "subset" : "drop", why, dir);
				break;
			}
			passed++;
			if (l.end_calls)
				est = l.end_calls;
			else
				cut_mid++;
			if (o.verbose)
				printf("  cut %u at %" PRIu64 "/%" PRIu64 " %s: ok, %" PRIu64
				       " records acknowledged\n",
				       done, cut_at, est, mode ? "subset" : "drop", l.max_put);
		}
		if (!failed && !o.keep)
			cc_rmtree(dir);
		cc_ledger_done(&l);
		batch_no++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("powercut: %u cuts (%u mid-work, %u after the last call), %u passed, %u failed, "
	       "%.1f s\n",
	       passed + failed, cut_mid, passed + failed - cut_mid, passed, failed,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failed || passed < o.cuts ? 1 : 0;
}
