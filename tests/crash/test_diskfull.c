/* SPDX-License-Identifier: MIT */
/*
 * tests/crash/test_diskfull.c - a really full disk: the outbox on a 2 MiB tmpfs.
 *
 * The quota (64 MiB here) is far above the filesystem, so the disk fills first, as on a board
 * whose SD card also holds logs. The station's rule is: before a package starts, ask
 * outbox_check_space(headroom) (and outbox_has_room()); while both say yes, a seal must
 * succeed. Then:
 *   - while outbox_check_space() says yes, every put succeeds (the headroom is honest);
 *   - once it says -ENOSPC, puts forced anyway fail with -ENOSPC and nothing else: never a
 *     false success, nothing already stored is evicted (all still unacked and intact);
 *   - central's acks while the disk is full fail cleanly or succeed, never damage;
 *   - space comes back (a filler file is deleted): check_space says yes again by itself and
 *     the same record goes in; after a close and reopen the chain verifies.
 *
 * Needs CAP_SYS_ADMIN for a private mount namespace and the tmpfs; without it the test says
 * SKIP with the reason (the ENOSPC paths are still covered by crash_iofault).
 *
 * Usage: crash_diskfull [-v]. Prints "diskfull: N checks, N passed, N failed" or a SKIP line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "src/log.h"
#include "src/outbox.h"
#include "tests/crash/crashcheck.h"

#define TMPFS_OPTS "size=2m,mode=0700"
#define QUOTA	   (64ull * 1024 * 1024)
#define PHOTO_LEN  (60 * 1024)
/* The station's headroom scaled to a 2 MiB disk (it uses 4 MiB on real cards). */
#define HEADROOM (160 * 1024)
/* Space the test takes back to simulate "space returns". */
#define FILLER_LEN (512 * 1024)
#define FORCE_MAX  64

static unsigned passed, failed;

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
	fputs("FAIL diskfull: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

static int write_filler(const char *path)
{
	static char buf[FILLER_LEN];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int r = 0;

	if (fd < 0)
		return -errno;
	memset(buf, 0x5a, sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		r = -ENOSPC;
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	char dir[CC_DIR_MAX], path[PATH_MAX], filler[PATH_MAX], why[CC_WHY_MAX];
	struct outbox_cfg cfg = {.quota_bytes = QUOTA};
	struct cc_ledger l = {0};
	struct outbox_stats stats;
	struct outbox *ob = NULL;
	unsigned stored = 0, refused = 0;
	uint64_t rng = 11;
	int fds[2];
	int r;

	if (argc < 2 || strcmp(argv[1], "-v") != 0)
		log_set_level(LOG_LVL_ERR);
	cc_mkdtemp(dir, sizeof(dir), "diskfull");
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("sealbench-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_OPTS) < 0) {
		printf("diskfull: SKIP: cannot mount a private tmpfs (%s); needs CAP_SYS_ADMIN\n",
		       strerror(errno));
		cc_rmtree(dir);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/data/outbox.db", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	cfg.path = path;
	if (pipe(fds) < 0)
		return 1;

	r = write_filler(filler);
	check(r == 0, "filler: %s", strerror(-r));
	r = outbox_open(&cfg, &ob);
	check(r == 0, "open on tmpfs: %s", strerror(-r));
	if (r < 0)
		goto out;

	/* 1. while check_space says yes, every put succeeds */
	while (outbox_check_space(ob, HEADROOM) == 0 && outbox_has_room(ob, HEADROOM)) {
		r = cc_put_next(ob, &rng, PHOTO_LEN, fds[1]);
		check(r == 0, "put %u failed (%s) although check_space said there was room",
		      stored + 1, strerror(-r));
		if (r < 0)
			break;
		stored++;
	}
	check(stored >= 5, "only %u records fit on 2 MiB before check_space refused", stored);
	check(outbox_check_space(ob, HEADROOM) == -ENOSPC, "check_space does not say -ENOSPC");

	/* 2. forced puts on a full disk: 0 or -ENOSPC only, until it is really full */
	for (int i = 0; i < FORCE_MAX; i++) {
		r = cc_put_next(ob, &rng, PHOTO_LEN, fds[1]);
		if (r == 0) {
			stored++;
			continue;
		}
		check(r == -ENOSPC, "forced put on a full disk: %s, expected ENOSPC", strerror(-r));
		refused++;
		break;
	}
	check(refused == 1, "the disk never filled up");
	check(!outbox_is_damaged(ob), "a full disk was taken for damage");
	r = outbox_get_stats(ob, &stats);
	check(r == 0 && stats.unacked == stored && stats.total == stored,
	      "after the disk filled: %" PRIu64 " unacked of %" PRIu64 ", %u stored (evicted?)",
	      stats.unacked, stats.total, stored);

	/* 3. an ack on a full disk: succeeds or fails cleanly */
	r = outbox_mark_sent(ob, 1);
	check(r == 0 || r == -ENOSPC, "mark_sent on a full disk: %s", strerror(-r));
	check(!outbox_is_damaged(ob), "a full disk was taken for damage (mark_sent)");

	/* 4. space returns: the station sees it by itself, the same record goes in */
	check(unlink(filler) == 0, "unlink filler: %s", strerror(errno));
	check(outbox_check_space(ob, HEADROOM) == 0, "check_space after space returned");
	r = cc_put_next(ob, &rng, PHOTO_LEN, fds[1]);
	check(r == 0, "put after space returned: %s", strerror(-r));
	if (r == 0)
		stored++;
	r = outbox_mark_sent(ob, 1);
	check(r == 0, "mark_sent after space returned: %s", strerror(-r));
	cc_report(fds[1], 'S', 1, NULL);
	r = outbox_ack(ob, CC_STATION "-0000000001");
	check(r == 0, "ack after space returned: %s", strerror(-r));
	cc_report(fds[1], 'A', 1, NULL);
	outbox_close(ob);
	ob = NULL;

	close(fds[1]);
	fds[1] = -1;
	r = cc_ledger_read(&l, fds[0]);
	check(r == 0 && l.max_put == stored, "ledger: %s, %" PRIu64 " puts vs %u", strerror(-r),
	      l.max_put, stored);
	r = cc_verify(path, &l, why);
	check(r == 0, "after reopen: %s", why);
	printf("  %u records on 2 MiB, refused with %u KiB headroom, recovered\n", stored,
	       HEADROOM / 1024);
out:
	outbox_close(ob);
	cc_ledger_done(&l);
	close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	umount2(dir, MNT_DETACH);
	cc_rmtree(dir);
	printf("diskfull: %u checks, %u passed, %u failed\n", passed + failed, passed, failed);
	return failed ? 1 : 0;
}
