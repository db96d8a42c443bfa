/* SPDX-License-Identifier: MIT */
/*
 * tests/crash/crashvfs.h - a test sqlite VFS that simulates power cuts and I/O faults.
 *
 * In the spirit of SQLite's own crash-test VFS (src/test6.c): it wraps the default (unix) VFS.
 * Writes and truncates of the database, its journal and its WAL are not passed down at once;
 * they are kept in memory per file (reads see them laid over the real file, as the page cache
 * would). A successful xSync moves that file's buffered operations to the real file, which
 * therefore always holds exactly what a real disk would hold after a power cut: what was
 * synced. A power cut (crashvfs_cut()) throws the buffered operations away, except that it
 * may write back a random subset of unsynced sectors (the kernel writes dirty pages back in
 * any order) and tears the last write (a random prefix of one of its sectors reaches the
 * disk). Tears stay inside the byte range of a write: the wrapped VFS reports
 * SQLITE_IOCAP_POWERSAFE_OVERWRITE, and this VFS reports what it wraps.
 *
 * A failed xSync (injected) models Linux after a writeback error ("fsyncgate"): the pages
 * are marked clean, so what that sync should have made durable is lost at the next power cut
 * even if a later sync succeeds, unless it is written again. Reads still see it until the cut.
 *
 * Every I/O call is counted. A cut can be armed at call N (the process then _exit()s with
 * CRASHVFS_CUT_EXIT: nothing after a power cut runs), and a fault can be injected at call N,
 * once or sticky (until cleared), as ENOSPC or EIO, restricted to some kinds of call.
 *
 * File existence is not modelled: creates, renames and deletes are durable at once.
 * The -shm file is passed through (sqlite rebuilds it from the WAL after a cut).
 * Not thread-safe; one process (fork for each cut).
 */
#ifndef SEALBENCH_TESTS_CRASH_CRASHVFS_H
#define SEALBENCH_TESTS_CRASH_CRASHVFS_H

#include <stdbool.h>
#include <stdint.h>

#define CRASHVFS_NAME "crash"
/* Exit status of a process whose power was cut (distinct from 0, 1 and sanitizer codes). */
#define CRASHVFS_CUT_EXIT 42

/* Kinds of I/O call, for fault masks and counters. */
enum crashvfs_op {
	CRASHVFS_READ = 1u << 0,
	CRASHVFS_WRITE = 1u << 1,
	CRASHVFS_SYNC = 1u << 2,
	CRASHVFS_TRUNCATE = 1u << 3,
	CRASHVFS_FILESIZE = 1u << 4,
	CRASHVFS_OPEN = 1u << 5,
	CRASHVFS_DELETE = 1u << 6,
	CRASHVFS_ACCESS = 1u << 7,
	CRASHVFS_SHMMAP = 1u << 8,
};
#define CRASHVFS_ALL_OPS 0x1ffu
/* The calls that can run out of space. */
#define CRASHVFS_SPACE_OPS \
	(CRASHVFS_WRITE | CRASHVFS_SYNC | CRASHVFS_TRUNCATE | CRASHVFS_OPEN | CRASHVFS_SHMMAP)

/* How a cut treats unsynced writes. */
enum crashvfs_cut_mode {
	CRASHVFS_CUT_DROP = 0, /* every unsynced write is lost; the last one is torn */
	CRASHVFS_CUT_SUBSET =
		1, /* a random subset of unsynced sectors reached the disk, then tear */
};

/**
 * @brief Register the VFS as CRASHVFS_NAME (not as the default). Idempotent.
 * @return 0 or -ENOMEM / -EIO.
 */
int crashvfs_register(void);

/** @brief Seed the generator used for subsets and tears. */
void crashvfs_seed(uint64_t seed);

/** @brief I/O calls counted so far (all kinds). */
uint64_t crashvfs_calls(void);

/** @brief Number of calls of kind @p op so far (one CRASHVFS_* bit). */
uint64_t crashvfs_calls_of(unsigned op);

/**
 * @brief Cut the power when the call counter reaches @p at_call (0 disarms): the cut is
 *        applied in @p mode before that call runs, and the process _exit()s with
 *        CRASHVFS_CUT_EXIT.
 */
void crashvfs_arm_cut(uint64_t at_call, enum crashvfs_cut_mode mode);

/** @brief Cut the power now (without exiting): unsynced state is applied per @p mode. */
void crashvfs_cut(enum crashvfs_cut_mode mode);

/** @brief A clean shutdown: every buffered write reaches the real file (lost ones do not). */
void crashvfs_flush_all(void);

/**
 * @brief Fail the @p at_call-th call (counted from now, 1 = the next one) whose kind is in
 *        @p op_mask, and, if @p sticky, every later call of those kinds, with @p err (ENOSPC
 *        or EIO). 0 disarms. The matching calls are counted whether or not a fault is armed:
 *        crashvfs_fault_calls() tells how many a piece of work makes.
 */
void crashvfs_arm_fault(uint64_t at_call, int err, bool sticky, unsigned op_mask);

/** @brief Clear any armed or sticky fault ("the disk has room again"). */
void crashvfs_clear_fault(void);

/** @brief Calls matching the mask of the last crashvfs_arm_fault() since it was called. */
uint64_t crashvfs_fault_calls(void);

/** @brief Faults injected since the last crashvfs_arm_fault(). */
uint64_t crashvfs_faults_hit(void);

#endif
