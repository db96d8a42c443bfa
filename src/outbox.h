/* SPDX-License-Identifier: MIT */
/*
 * src/outbox.h - the durable store-and-forward queue of evidence records (sqlite).
 *
 * The outbox is the source of truth (STYLE 19). One sqlite connection, owned here, in WAL
 * mode with synchronous=FULL: outbox_put() returns only after the record and its photo are
 * committed in one transaction and synced, so the light may turn green.
 *
 * Each record has a per-station sequence number (1, 2, 3 ...) and is chained: the caller
 * builds the record with prev = outbox_get_last_hash(); outbox_put() stores the exact JSON
 * bytes, hashes them (SHA-256, hex) and advances the chain.
 *
 * Row life: QUEUED (committed) -> SENT (broker PUBACK) -> ACKED (central's application ack).
 * A row is never deleted before ACKED. After ACKED the JSON is kept and the photo blob is
 * dropped when the retention period has passed (outbox_prune). The photo lives in a table of
 * its own (schema 2), so a state change writes a few small pages, never the photo again.
 * State changes are committed without a sync of their own: a power cut may undo the last
 * ones (the record is then published again and central acks it again: records are
 * idempotent by ID); the next put's synced commit makes them durable with it. Bytes of unacked rows
 * count against the quota; outbox_put() refuses with -ENOSPC when a record would exceed it.
 *
 * Integrity is checked in two steps (issue 7: start-up stays fast on a big file):
 * - outbox_open() runs a fast check: the header, the schema, the small `meta` table, the tail
 *   of the chain (the last rows re-hashed, seq contiguous) and each index's view of the last
 *   row. It reads a few dozen pages whatever the size of the file.
 * - outbox_check(OUTBOX_CHECK_FULL) reads every page (PRAGMA quick_check) and re-hashes the
 *   whole chain; the daemon runs it from an idle-time job.
 * Damage seen by either, or SQLITE_CORRUPT from any statement, leaves a marker file
 * "<path>.damaged" beside the database, so the next outbox_open_or_quarantine() moves the file
 * aside (never deletes it) and starts a fresh outbox. tools/sealbench-salvage reads what is
 * readable from the file that was moved aside.
 *
 * The outbox knows nothing of MQTT topics. Not thread-safe.
 */
#ifndef SEALBENCH_SRC_OUTBOX_H
#define SEALBENCH_SRC_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBOX_HASH_HEX 65 /* SHA-256 as 64 lowercase hex digits + NUL */
/* outbox_open_or_quarantine(): the damaged file was moved aside, a fresh outbox is open. */
#define OUTBOX_QUARANTINED 1
/* Suffix of the marker file left beside a database found damaged while in use. */
#define OUTBOX_DAMAGED_SUFFIX ".damaged"
/* Infix of a database moved aside: "<path>.corrupt-<UTC yyyymmddThhmmssZ>[-n]". */
#define OUTBOX_CORRUPT_INFIX ".corrupt-"

struct outbox;

struct outbox_cfg {
	const char *path;	     /* sqlite file; created (with parent dirs) when missing */
	uint64_t quota_bytes;	     /* cap on JSON + photo bytes of unacked rows */
	uint64_t photo_retention_ms; /* how long photos stay after central's ack */
	const char *vfs;	     /* optional: sqlite VFS name (tests: crash/fault VFS);
				      * NULL = sqlite's default */
};

enum outbox_check_level {
	OUTBOX_CHECK_FAST = 0, /* what outbox_open() runs: header, schema, tail, index probes */
	OUTBOX_CHECK_FULL = 1, /* every page (quick_check) and the whole chain re-hashed */
};

enum outbox_state {
	OUTBOX_QUEUED = 0,
	OUTBOX_SENT = 1,
	OUTBOX_ACKED = 2,
};

/** A record to store. All pointers borrowed for the call. */
struct outbox_put_req {
	uint64_t seq;	  /* must equal outbox_get_next_seq() */
	const char *id;	  /* "<station>-<seq>" */
	const char *json; /* exact bytes to publish */
	size_t json_len;
	const uint8_t *photo; /* NULL when no photo */
	size_t photo_len;
	const char *photo_sha256; /* hex, NULL when no photo */
	const char *tracking;	  /* "" or the tracking number (duplicate detection) */
	uint64_t created_ms;	  /* wall clock */
};

/**
 * A stored row. Owns its buffers: release with outbox_row_done(). Passing the same row to
 * outbox_next_unacked() again reuses them (a drain reads 300 KB photos one after another).
 */
struct outbox_row {
	uint64_t seq;
	char id[64];
	char *json; /* NUL-terminated after json_len bytes */
	size_t json_len;
	uint8_t *photo; /* NULL when none or already pruned */
	size_t photo_len;
	char photo_sha256[OUTBOX_HASH_HEX]; /* "" when none */
	char hash[OUTBOX_HASH_HEX];
	enum outbox_state state;
	/* private: the buffers behind json and photo, kept for the next read */
	size_t json_cap;
	uint8_t *photo_buf;
	size_t photo_cap;
};

struct outbox_stats {
	uint64_t unacked;	/* rows QUEUED or SENT */
	uint64_t unacked_bytes; /* their JSON + photo bytes */
	uint64_t total;		/* all rows */
	uint64_t last_seq;	/* 0 when empty */
};

/**
 * @brief Open (or create) the outbox. Runs the schema migration and an integrity check.
 * @return 0 and *ret (free with outbox_close()); -EIO unreadable/corrupt; -ENOSPC; -errno.
 */
int outbox_open(const struct outbox_cfg *cfg, struct outbox **ret);
/**
 * @brief Open the outbox; if the file is damaged, move it aside and start a fresh one.
 *
 * Damaged means: sqlite reports it corrupt or not a database, the fast check fails, or a
 * "<path>.damaged" marker from an earlier run is present (then the full check runs first and
 * decides). The database, its -wal and -shm are renamed to "<path>.corrupt-<UTC time>" (plus
 * "-wal"/"-shm", so sqlite and sealbench-salvage can open them together); nothing is deleted.
 * Errors that are not damage (-EACCES, -ENOSPC, -EBUSY, -EPROTO for a newer schema, -EIO
 * from the disk) are returned as they are and nothing is moved.
 *
 * @param ret_aside optional (may be NULL): receives the new name of the damaged database.
 * @param aside_size size of @p ret_aside (PATH_MAX is enough).
 * @return 0 and *ret: opened normally; OUTBOX_QUARANTINED and *ret: the damaged file was
 *         moved aside to *ret_aside and *ret is a fresh, empty outbox (say so loudly: records
 *         in the old file that central had not acked must be salvaged); -errno as outbox_open().
 */
int outbox_open_or_quarantine(const struct outbox_cfg *cfg, struct outbox **ret, char *ret_aside,
			      size_t aside_size);

/** @brief Close. Accepts NULL. */
void outbox_close(struct outbox *ob);

/** @brief Sequence number the next record must carry (last + 1; 1 for an empty outbox). */
uint64_t outbox_get_next_seq(const struct outbox *ob);
/** @brief Hash of the last record, or 64 '0's for the first. Borrowed until the next put. */
const char *outbox_get_last_hash(const struct outbox *ob);

/**
 * @brief Commit one record (+ photo) durably. Returns after fsync.
 * @param ret_hash optional: receives the record hash (OUTBOX_HASH_HEX bytes).
 * @return 0; -ESTALE wrong seq; -ENOSPC quota or disk full; -EBUSY; -EIO. On error nothing
 *         is stored and the chain does not move.
 */
int outbox_put(struct outbox *ob, const struct outbox_put_req *req, char *ret_hash);

/** @brief Whether @p bytes more would fit under the quota. */
bool outbox_has_room(const struct outbox *ob, uint64_t bytes);

/**
 * @brief The first unacked row (QUEUED or SENT) with seq > @p after_seq, in seq order.
 * @p ret is a zeroed row or one filled by an earlier call: its buffers are reused and its
 * contents replaced. The photo is read from sqlite straight into the row's buffer.
 * @return 0 and *ret (release with outbox_row_done()); -ENOENT none; -ENOMEM; -EIO. On error
 *         *ret holds no row (json_len and photo_len 0) but keeps its buffers.
 */
int outbox_next_unacked(struct outbox *ob, uint64_t after_seq, struct outbox_row *ret);
/** @brief Free a row's buffers. Accepts a zeroed row. */
void outbox_row_done(struct outbox_row *row);

/**
 * @brief Broker took the record (PUBACK). QUEUED -> SENT; no-op otherwise. Not synced on its
 *        own (see the top). @return 0/-errno
 */
int outbox_mark_sent(struct outbox *ob, uint64_t seq);
/**
 * @brief Central committed the record: -> ACKED. Idempotent. Not synced on its own: after a
 *        power cut the record may be unacked again and is sent again (see the top).
 * @return 0; -ENOENT unknown id; -errno.
 */
int outbox_ack(struct outbox *ob, const char *id);

/** One delivery state change for outbox_settle(). */
struct outbox_change {
	/* false: the PUBACK of @seq (outbox_mark_sent); true: the ack of @id (outbox_ack) */
	bool acked;
	uint64_t seq;	/* !acked */
	const char *id; /* acked */
	int result;	/* out: 0, or -ENOENT for an unknown seq or id */
};
/**
 * @brief Apply @p n state changes in order, in one transaction: each as outbox_mark_sent() or
 *        outbox_ack() would, but one commit (one WAL append) for the whole burst of PUBACKs and
 *        acks a connection read at once. All or nothing.
 * @return 0 when committed (each change's result says whether its row was there); -errno when
 *         the transaction failed: then no change is applied (each result holds the error).
 */
int outbox_settle(struct outbox *ob, struct outbox_change *changes, size_t n);

/** @brief Whether a sealed, unvoided record already carries this tracking number. */
int outbox_has_tracking(struct outbox *ob, const char *tracking, bool *ret);

/**
 * @brief Drop photo blobs of rows acked more than the retention period before @p now_ms.
 * @return number of photos dropped, or -errno.
 */
int outbox_prune(struct outbox *ob, uint64_t now_ms);

/** @brief Counters for the status topic and the demo summary. */
int outbox_get_stats(struct outbox *ob, struct outbox_stats *ret);

/**
 * @brief Check the database. FAST is what outbox_open() ran; FULL reads every page and
 *        re-hashes every record (0.5-2 s on a 300 MB file: call it when the station is idle).
 * @return 0 intact; -EBADMSG damaged (the marker file is written, outbox_is_damaged() turns
 *         true, the next outbox_open_or_quarantine() moves the file aside); -EBUSY; -errno.
 */
int outbox_check(struct outbox *ob, enum outbox_check_level level);

/**
 * @brief Checkpoint the WAL into the database from the idle path (when nothing is being
 *        sealed: after central's acks, from an idle timer), so seals never pay for one.
 *
 * PASSIVE (never waits for a reader), and only once the WAL holds 1024 pages (4 MiB) or more:
 * below that it returns 0 at once, without I/O. After the checkpoint it also restarts the WAL
 * (the header sync that the first commit after a checkpoint would otherwise pay). A put never
 * checkpoints below 4096 WAL pages (16 MiB); past that bound it checkpoints by itself after
 * its commit, so the WAL stays bounded when nobody calls this.
 * @return 0 (nothing to do, or all frames are in the database); -EBUSY a reader holds older
 *         frames (call again later); -ENOSPC; -EIO; -EINVAL NULL.
 */
int outbox_checkpoint(struct outbox *ob);

/** @brief WAL frames not yet checkpointed (after the last commit or checkpoint); 0 for NULL. */
int outbox_get_wal_pages(const struct outbox *ob);

/** @brief Whether damage was seen since open (a check, or SQLITE_CORRUPT from a statement). */
bool outbox_is_damaged(const struct outbox *ob);

/**
 * @brief Whether the filesystem holding the database has room for @p need_bytes more.
 *
 * Asks statvfs() on the database's directory for the space an unprivileged writer may use.
 * A record is written twice (once to the WAL at commit, once to the database at checkpoint),
 * so this wants 2 * @p need_bytes free. Use it with outbox_has_room() (the byte quota) before
 * a package starts.
 * @return 0 room; -ENOSPC not enough; -errno from statvfs().
 */
int outbox_check_space(struct outbox *ob, uint64_t need_bytes);

#endif
