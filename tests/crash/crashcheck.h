/* SPDX-License-Identifier: MIT */
/*
 * tests/crash/crashcheck.h - what the durability suites share: a workload that drives the
 * outbox the way the station does (seal with or without a photo, PUBACK, central's ack), a
 * ledger of what the outbox acknowledged (reported by the child over a pipe, line by line,
 * only after the call returned 0), and the "reboot" check of a database against it.
 *
 * Not a stable interface; tests only.
 */
#ifndef SEALBENCH_TESTS_CRASH_CRASHCHECK_H
#define SEALBENCH_TESTS_CRASH_CRASHCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/outbox.h"

#define CC_STATION "st01"
/* Room for a mkdtemp() directory name under /tmp. */
#define CC_DIR_MAX 256
/* Room for one failure explanation. */
#define CC_WHY_MAX 512
/* Largest test JSON record ({"id", "seq", "prev", "pad"} with up to CC_PAD_MAX padding). */
#define CC_PAD_MAX  1500
#define CC_JSON_MAX (CC_PAD_MAX + 256)

/* What the outbox said yes to, per seq. */
struct cc_entry {
	bool put;		    /* outbox_put() returned 0 */
	char hash[OUTBOX_HASH_HEX]; /* the hash it returned */
	int state;		    /* highest durable acknowledged state: enum outbox_state */
	int pending;		    /* highest acknowledged state, durable after the next P or C */
};

struct cc_ledger {
	struct cc_entry *e; /* indexed by seq; e[0] unused */
	uint64_t cap;
	uint64_t max_put;
	uint64_t end_calls;  /* "E n": the child finished its work after n I/O calls */
	uint64_t reused_seq; /* first seq acknowledged twice with different hashes, or 0 */
};

/** @brief Free the ledger's entries. Accepts a zeroed ledger. */
void cc_ledger_done(struct cc_ledger *l);

/**
 * @brief Read "P seq hash" / "S seq" / "A seq" / "C 0" (clean close) / "E calls" lines from
 *        @p fd until EOF. S and A count once a later P or C line shows them made durable.
 * @return 0 or -errno (-EPROTO on a malformed line).
 */
int cc_ledger_read(struct cc_ledger *l, int fd);

/** @brief Report one acknowledged call to the parent (child side; fd < 0: no-op; write errors
 * abort). */
void cc_report(int fd, char kind, uint64_t seq, const char *hash);

/** @brief xorshift64* used by the workloads (deterministic per seed). */
uint64_t cc_rand(uint64_t *state);

/**
 * @brief Build and put the next record (chained to the last hash, random padding, a photo of
 *        @p photo_len bytes or none) through @p ob; reports "P" on success.
 * @return what outbox_put() returned.
 */
int cc_put_next(struct outbox *ob, uint64_t *rng, size_t photo_len, int report_fd);

/**
 * @brief The reboot check: open @p path with the real VFS and verify that the database
 *        opens (outbox_open, the full check), PRAGMA integrity_check is ok, seq runs 1..N
 *        without gaps, each hash is SHA-256(json), each "prev" is the previous hash, photos
 *        match their SHA-256, every record in @p l is there with its hash and at least its
 *        acknowledged state, and the reopened outbox continues the chain from the last row.
 * @param why receives the first problem (CC_WHY_MAX bytes).
 * @return 0 all good; -1 a problem (described in @p why).
 */
int cc_verify(const char *path, const struct cc_ledger *l, char *why);

/** @brief mkdtemp() under /tmp with @p tag; aborts on failure. */
void cc_mkdtemp(char *buf, size_t size, const char *tag);

/** @brief rm -rf @p dir (best effort). */
void cc_rmtree(const char *dir);

#endif
