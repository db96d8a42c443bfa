/* SPDX-License-Identifier: MIT */
/*
 * src/outbox.c - the durable store-and-forward queue of evidence records (sqlite).
 *
 * Why it looks like this:
 * - One connection, WAL, synchronous=FULL: every COMMIT syncs the WAL, so a 0 from
 *   outbox_put() means the record survives a power cut (the green light depends on it).
 * - The in-memory chain state (next_seq, last_hash, unacked_bytes) moves only after COMMIT
 *   returned SQLITE_DONE. Any failure rolls back and leaves it where it was, so the caller
 *   can simply retry the same record.
 * - All statements are prepared once in outbox_open(); the hot path only binds and steps.
 * - Open stays cheap on a big table: the chain head comes from the rowid b-tree (max seq),
 *   the unacked sum from a partial covering index; no pass over the JSON/photo blobs
 *   besides the integrity check. The JSON is the last column so reading the small ones never
 *   touches overflow pages; photos have their own table (schema 2), so the state updates
 *   (sent, acked) rewrite a small row, not 300 KB.
 * - A put is synced (synchronous=FULL); state changes are not (synchronous=NORMAL around
 *   them, sync_relax()): losing one to a power cut means one more publish, which central
 *   dedupes. Each put re-checks that FULL is in force before it commits.
 * - The schema version is PRAGMA user_version (plus a human-readable copy in `meta`).
 *   Migrations run inside one IMMEDIATE transaction; a file from a newer firmware is refused.
 *
 * - Integrity in two steps (issue 7): outbox_open() runs check_fast(), which touches a
 *   bounded number of pages (header, schema, `meta`, the last OUTBOX_TAIL_CHECK rows re-hashed,
 *   each index's view of the last row) so start-up stays well under 100 ms at 50,000 rows;
 *   check_full() (PRAGMA quick_check over every page, the whole chain re-hashed) runs from the
 *   daemon's idle-time job. Whatever finds damage, including SQLITE_CORRUPT from any statement,
 *   writes "<path>.damaged" (note_damage()), so the next outbox_open_or_quarantine() moves the
 *   file aside for salvage and starts fresh. Nothing here ever deletes a database.
 * - A quarantine renames -wal first, then -shm, then the database: a WAL left at the old name
 *   would otherwise be replayed into the fresh database (sqlite cannot tell whose WAL it is).
 * - Record IDs are never issued twice, even across a quarantine: "<path>.seq" holds a
 *   high-water mark of sequence numbers (written durably, OUTBOX_SEQ_RESERVE at a time, before
 *   a put uses a number past it). It stays where it is when the database is moved aside, so a
 *   fresh outbox continues numbering after every number the damaged one may have used: the
 *   records in the damaged file (salvaged later) keep IDs nobody else has, and the jump in
 *   the sequence shows central where the gap is.
 *
 * sqlite result codes are mapped once, in map_rc(): BUSY/LOCKED -> -EBUSY,
 * FULL -> -ENOSPC (and IOERR whose OS errno is ENOSPC/EDQUOT/EFBIG), NOMEM -> -ENOMEM,
 * READONLY -> -EROFS, CANTOPEN -> the OS errno when sqlite saw one, everything else (CORRUPT,
 * NOTADB, IOERR, CONSTRAINT ...) -> -EIO. CORRUPT and NOTADB also mark the outbox damaged.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "hal/clock.h"
#include "src/durable.h"
#include "src/log.h"
#include "src/outbox.h"

#define MOD "outbox"

/* Current schema version (PRAGMA user_version). Bump and add a migration step to change. */
#define OUTBOX_SCHEMA_VERSION 2
/* What `meta` says this file is (the human-readable copy of the version). */
#define OUTBOX_SCHEMA_NAME "sealbench.outbox/2"
/*
 * Lock wait: the daemon is the only writer, so a lock is held only briefly by a tool reading
 * the file (sealbench-outbox ls) or by a checkpoint. Waiting longer would stall the station.
 */
#define OUTBOX_BUSY_TIMEOUT_MS 100
/* Mode of directories created for the database (owner rwx, group r-x). */
#define OUTBOX_DIR_MODE 0750
/* Mode of a newly created database file. */
#define OUTBOX_FILE_MODE 0640
/* Length of the hex digest without the NUL. */
#define OUTBOX_HASH_LEN (OUTBOX_HASH_HEX - 1)
/* Size of struct outbox_row.id (the header's fixed array). */
#define OUTBOX_ROW_ID_SIZE sizeof(((struct outbox_row *)0)->id)
/*
 * Rows at the end of the chain that the fast check re-hashes. A power cut or a lying SD card
 * damages what was written last; 16 rows are a few pages and well under a millisecond.
 */
#define OUTBOX_TAIL_CHECK 16
/* Room for one line of damage description in the marker file and the log. */
#define OUTBOX_REASON_MAX 256
/* "yyyymmddThhmmssZ" + NUL */
#define OUTBOX_STAMP_MAX 20
/* Attempts at a free "<path>.corrupt-<stamp>[-n]" name (several quarantines in one second). */
#define OUTBOX_ASIDE_TRIES 100
/* Mode of the damage marker file. */
#define OUTBOX_MARKER_MODE 0640
/*
 * WAL pages after which a commit checkpoints by itself (PASSIVE, right after the COMMIT has
 * been synced). Below this the WAL is left for outbox_checkpoint() from the idle path, so a
 * seal does not pay for a checkpoint (7-10 ms, the p99 of a commit). 4096 pages = 16 MiB,
 * ~50 packages with 300 KB photos: the bound when nobody calls outbox_checkpoint().
 */
#define OUTBOX_WAL_MAX_PAGES 4096
/*
 * WAL pages below which outbox_checkpoint() leaves the WAL alone: a checkpoint costs two
 * fsyncs and the restart after it a third, so it is worth it for a few MiB, not per package.
 * 1024 pages = 4 MiB, a dozen packages with 300 KB photos (sqlite's own default is 1000).
 */
#define OUTBOX_WAL_IDLE_PAGES 1024
/* Suffix of the sequence high-water mark file, and how many numbers one write reserves (one
 * extra fsync per this many seals). */
#define OUTBOX_SEQ_SUFFIX ".seq"
#define OUTBOX_SEQ_RESERVE 1000
/* Room for the mark's text: a decimal u64 and a newline. */
#define OUTBOX_SEQ_TEXT_MAX 24
/* A macro's value as a string literal. */
#define OUTBOX_STR_(x) #x
#define OUTBOX_STR(x) OUTBOX_STR_(x)

/*
 * Schema v2. Column order matters: the JSON comes last so that queries reading only the small
 * columns never load its overflow pages.
 *
 * records: seq is the per-station sequence (1, 2, 3 ...); id "<station>-<seq>" is the
 * idempotency key; state is enum outbox_state; created_ms comes from the record, sent_ms is
 * the broker PUBACK and acked_ms central's application ack (wall clock); bytes is
 * json_len + photo_len, counted against the quota while unacked; hash is the SHA-256 hex of
 * json; photo_sha256 and photo_len stay after the photo is pruned; photo_kept is 1 while the
 * photo is in `photos`; json holds the exact bytes published (TEXT, stored without conversion).
 *
 * photos: the JPEG of record seq, in a table of its own (v2, issue 7). sqlite rewrites a
 * whole row, overflow pages included, on every UPDATE: with the photo in the records row each
 * state change (sent, acked) wrote ~300 KB into the WAL. Now a state change writes a few small
 * pages, and the photo is written once (put) and deleted once (prune).
 *
 * records_unacked serves the unacked scan and the quota sum (only QUEUED/SENT rows; state is
 * listed so that sqlite 3.40 treats it as covering). records_photo_acked serves prune.
 */
#define OUTBOX_RECORDS_V2 \
	"CREATE TABLE records (" \
	" seq INTEGER PRIMARY KEY," \
	" id TEXT NOT NULL UNIQUE," \
	" state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2)," \
	" created_ms INTEGER NOT NULL," \
	" sent_ms INTEGER," \
	" acked_ms INTEGER," \
	" bytes INTEGER NOT NULL," \
	" hash TEXT NOT NULL," \
	" tracking TEXT NOT NULL DEFAULT ''," \
	" photo_sha256 TEXT," \
	" photo_len INTEGER NOT NULL DEFAULT 0," \
	" photo_kept INTEGER NOT NULL DEFAULT 0 CHECK (photo_kept IN (0, 1))," \
	" json TEXT NOT NULL);"
#define OUTBOX_PHOTOS_V2 "CREATE TABLE photos (seq INTEGER PRIMARY KEY, photo BLOB NOT NULL);"
#define OUTBOX_PHOTO_INDEX_V2 \
	"CREATE INDEX records_photo_acked ON records(acked_ms) WHERE state = 2 AND photo_kept = 1;"

static const char schema_v2[] =
	"CREATE TABLE meta ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL);" OUTBOX_RECORDS_V2 OUTBOX_PHOTOS_V2
	"CREATE INDEX records_unacked ON records(seq, state, bytes) WHERE state < 2;"
	"CREATE INDEX records_tracking ON records(tracking);" OUTBOX_PHOTO_INDEX_V2
	"INSERT INTO meta(key, value) VALUES ('schema', '" OUTBOX_SCHEMA_NAME "');"
	"PRAGMA user_version = 2;";

/*
 * v1 -> v2: the photos move out of the records rows into `photos`. Copied first, then the
 * column is dropped (one rewrite of the small rows), then the flag is set from what was
 * copied. One transaction (migrate()): a power cut leaves v1 as it was. Needs free space for
 * one more copy of the photos (the WAL) while it runs.
 */
static const char migrate_v1_v2[] = OUTBOX_PHOTOS_V2
	"INSERT INTO photos(seq, photo) SELECT seq, photo FROM records WHERE photo IS NOT NULL;"
	"DROP INDEX records_photo_acked;"
	"ALTER TABLE records DROP COLUMN photo;"
	"ALTER TABLE records ADD COLUMN"
	" photo_kept INTEGER NOT NULL DEFAULT 0 CHECK (photo_kept IN (0, 1));"
	"UPDATE records SET photo_kept = 1 WHERE seq IN (SELECT seq FROM photos);" OUTBOX_PHOTO_INDEX_V2
	"UPDATE meta SET value = '" OUTBOX_SCHEMA_NAME "' WHERE key = 'schema';"
	"PRAGMA user_version = 2;";

/* Tables and indexes of schema v2 (the fast check counts them by name). */
#define OUTBOX_SCHEMA_OBJECTS 8

/* Prepared once at open. */
enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INSERT,
	ST_INSERT_PHOTO,
	ST_NEXT_UNACKED,
	ST_MARK_SENT,
	ST_SEQ_EXISTS,
	ST_ACK,
	ST_ID_EXISTS,
	ST_HAS_TRACKING,
	ST_PRUNE_PHOTOS,
	ST_PRUNE_MARK,
	ST_SYNC_NORMAL,
	ST_SYNC_FULL,
	ST_COUNT_ALL,
	ST_COUNT_UNACKED,
	ST_LAST,
	_ST_MAX,
};

static const char *const stmt_sql[_ST_MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_INSERT] = "INSERT INTO records(seq, id, state, created_ms, bytes, hash, tracking,"
		      " photo_sha256, photo_len, photo_kept, json)"
		      " VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?9)",
	[ST_INSERT_PHOTO] = "INSERT INTO photos(seq, photo) VALUES (?1, ?2)",
	/* p.seq: whether the photo is there; read_photo() reads it with the blob API */
	[ST_NEXT_UNACKED] = "SELECT r.seq, r.id, r.state, r.hash, r.photo_sha256, r.json, p.seq"
			    " FROM records AS r LEFT JOIN photos AS p ON p.seq = r.seq"
			    " WHERE r.state < 2 AND r.seq > ?1 ORDER BY r.seq LIMIT 1",
	[ST_MARK_SENT] = "UPDATE records SET state = 1, sent_ms = ?2 WHERE seq = ?1 AND state = 0",
	[ST_SEQ_EXISTS] = "SELECT 1 FROM records WHERE seq = ?1",
	[ST_ACK] = "UPDATE records SET state = 2, acked_ms = ?2 WHERE id = ?1 AND state < 2"
		   " RETURNING bytes",
	[ST_ID_EXISTS] = "SELECT 1 FROM records WHERE id = ?1",
	[ST_HAS_TRACKING] = "SELECT 1 FROM records WHERE tracking = ?1 LIMIT 1",
	[ST_PRUNE_PHOTOS] = "DELETE FROM photos WHERE seq IN (SELECT seq FROM records"
			    " WHERE state = 2 AND photo_kept = 1 AND acked_ms <= ?1)",
	[ST_PRUNE_MARK] = "UPDATE records SET photo_kept = 0"
			  " WHERE state = 2 AND photo_kept = 1 AND acked_ms <= ?1",
	/* around the commits that need no sync of their own (outbox_mark_sent, outbox_ack) */
	[ST_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
	[ST_SYNC_FULL] = "PRAGMA synchronous = FULL",
	[ST_COUNT_ALL] = "SELECT count(*) FROM records",
	[ST_COUNT_UNACKED] =
		"SELECT count(*), coalesce(sum(bytes), 0) FROM records WHERE state < 2",
	[ST_LAST] = "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
};

struct outbox {
	sqlite3 *db;
	sqlite3_stmt *st[_ST_MAX];
	char path[PATH_MAX]; /* the database file, for the marker and the quarantine */
	char dir[PATH_MAX];  /* its directory, for statvfs() */
	bool damaged;	     /* damage seen since open (marker written) */
	uint64_t quota_bytes;
	uint64_t photo_retention_ms;
	/* chain state, moved only after a successful COMMIT */
	uint64_t next_seq;
	char last_hash[OUTBOX_HASH_HEX];
	uint64_t unacked_bytes;
	int wal_pages; /* frames in the WAL not yet checkpointed (from the WAL hook) */
	uint64_t seq_reserved; /* high-water mark in "<path>.seq": numbers up to it may be used */
	bool relaxed;	       /* synchronous=NORMAL is on (sync_relax) and not yet undone */
};

/* @p out = @p a + @p b; -ENAMETOOLONG when it does not fit. */
static int path_cat(char *out, size_t size, const char *a, const char *b)
{
	int n = snprintf(out, size, "%s%s", a, b);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/*
 * Record damage: flag it, log it once, and leave "<path>.damaged" with the reason beside the
 * database (synced), so the next start moves the file aside even if this process dies now.
 */
static void note_damage(struct outbox *ob, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note_damage(struct outbox *ob, const char *fmt, ...)
{
	char reason[OUTBOX_REASON_MAX];
	char marker[PATH_MAX];
	va_list ap;
	int r;

	if (ob->damaged)
		return;
	ob->damaged = true;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason) - 1, fmt, ap);
	va_end(ap);
	log_err(MOD, "%s is damaged: %s", ob->path, reason);
	if (path_cat(marker, sizeof(marker), ob->path, OUTBOX_DAMAGED_SUFFIX) < 0)
		return;
	strcat(reason, "\n");
	r = durable_write_file(marker, reason, strlen(reason), OUTBOX_MARKER_MODE, true);
	if (r < 0)
		log_warn(MOD, "%s: %s", marker, strerror(-r));
}

/*
 * The one place where sqlite result codes become -errno (STYLE 13). Only for failures: an
 * unexpected SQLITE_ROW/SQLITE_DONE (a statement that returned nothing) is -EIO too.
 * A corrupt or not-a-database answer also marks the outbox damaged.
 */
static int map_rc(struct outbox *ob, int rc)
{
	int err;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CANTOPEN:
		err = ob->db ? sqlite3_system_errno(ob->db) : 0;
		return err > 0 ? -err : -EIO;
	case SQLITE_IOERR:
		/* a quota (EDQUOT) or RLIMIT_FSIZE (EFBIG) is a full disk for the station */
		err = ob->db ? sqlite3_system_errno(ob->db) : 0;
		return err == ENOSPC || err == EDQUOT || err == EFBIG ? -ENOSPC : -EIO;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		note_damage(ob, "sqlite: %s", ob->db ? sqlite3_errmsg(ob->db) : sqlite3_errstr(rc));
		return -EIO;
	default:
		return -EIO;
	}
}

/* Reset a statement and drop its (borrowed) bindings. */
static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Clamp a uint64_t into sqlite's signed integer range. */
static sqlite3_int64 to_i64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

static uint64_t col_u64(sqlite3_stmt *st, int col)
{
	sqlite3_int64 v = sqlite3_column_int64(st, col);

	return v < 0 ? 0 : (uint64_t)v;
}

/* Copy a TEXT column into a fixed buffer; "" for NULL. -EIO when it does not fit. */
static int col_text(sqlite3_stmt *st, int col, char *buf, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	if (!s) {
		buf[0] = '\0';
		return 0;
	}
	if (n >= size)
		return -EIO;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* Run a statement that returns no rows we need (BEGIN/COMMIT/ROLLBACK/UPDATE). */
static int stmt_exec(struct outbox *ob, sqlite3_stmt *st)
{
	int rc;

	do {
		rc = sqlite3_step(st);
	} while (rc == SQLITE_ROW);
	rc = rc == SQLITE_DONE ? 0 : map_rc(ob, rc);
	stmt_done(st);
	return rc;
}

/* Roll back if a transaction is still open (sqlite may already have rolled back). */
static void txn_abort(struct outbox *ob)
{
	if (!sqlite3_get_autocommit(ob->db))
		stmt_exec(ob, ob->st[ST_ROLLBACK]);
}

/*
 * State changes (sent, acked) need no sync of their own: one lost to a power cut only means
 * the record is published again, and central dedupes by ID and acks again. Their commits run
 * with synchronous=NORMAL (the WAL is written, not synced); the next put's synced commit
 * (synchronous=FULL) or a checkpoint makes them durable too. sqlite's WAL recovery keeps
 * every whole transaction up to the last valid commit frame, so none is ever half applied.
 */
static int sync_relax(struct outbox *ob)
{
	int r = stmt_exec(ob, ob->st[ST_SYNC_NORMAL]);

	if (r == 0)
		ob->relaxed = true;
	return r;
}

/* Back to synchronous=FULL. outbox_put() calls it again (and fails) while it does not work. */
static int sync_restore(struct outbox *ob)
{
	int r;

	if (!ob->relaxed)
		return 0;
	r = stmt_exec(ob, ob->st[ST_SYNC_FULL]);
	if (r < 0) {
		log_err(MOD, "cannot set synchronous=FULL again: %s", strerror(-r));
		return r;
	}
	ob->relaxed = false;
	return 0;
}

static void sha256_hex(const void *data, size_t len, char out[OUTBOX_HASH_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	unsigned int i;

	/* EVP_Digest with SHA-256 fails only on allocation failure inside OpenSSL. */
	if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) ||
	    md_len * 2 != OUTBOX_HASH_LEN) {
		out[0] = '\0';
		return;
	}
	for (i = 0; i < md_len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[OUTBOX_HASH_LEN] = '\0';
}

/* mkdir -p for the directories above @p path (not the file itself). */
static int make_parent_dirs(const char *path)
{
	char buf[PATH_MAX];
	struct stat stbuf;
	size_t len = strlen(path);
	char *p;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, OUTBOX_DIR_MODE) < 0) {
			if (errno != EEXIST) {
				int err = errno;

				*p = '/';
				return -err;
			}
			if (stat(buf, &stbuf) < 0)
				return -errno;
			if (!S_ISDIR(stbuf.st_mode))
				return -ENOTDIR;
		}
		*p = '/';
	}
	return 0;
}

/* Directory part of @p path ("." for a bare name). */
static int dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return path_cat(dir, size, ".", "");
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

/*
 * Check what sqlite would otherwise report as a bare SQLITE_CANTOPEN: the file can be
 * opened read-write (created when missing) and its directory is writable (WAL and shm files).
 */
static int preflight(const char *path)
{
	char dir[PATH_MAX];
	int fd, r;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, OUTBOX_FILE_MODE);
	if (fd < 0)
		return -errno;
	close(fd);

	r = dir_of(path, dir, sizeof(dir));
	if (r < 0)
		return r;
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
		return -errno;
	return 0;
}

/*
 * Run one pragma (or query) that returns a single text row and compare it to @p want.
 * A wrong answer or no row is -EBADMSG (the caller decides whether that is damage); sqlite
 * failures are mapped as usual.
 */
static int pragma_expect(struct outbox *ob, const char *sql, const char *want)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *got;
	int rc;

	rc = sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto err_sqlite;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		goto err_sqlite;
	got = sqlite3_column_text(st, 0);
	if (!got || strcmp((const char *)got, want) != 0) {
		log_warn(MOD, "%s: \"%s\", expected \"%s\"", sql,
			 got ? (const char *)got : "(null)", want);
		sqlite3_finalize(st);
		return -EBADMSG;
	}
	sqlite3_finalize(st);
	return 0;

err_sqlite:
	log_warn(MOD, "%s: %s", sql, sqlite3_errmsg(ob->db));
	rc = rc == SQLITE_DONE ? -EBADMSG : map_rc(ob, rc);
	sqlite3_finalize(st);
	return rc;
}

static int user_version(struct outbox *ob, int *ret)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(ob->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = map_rc(ob, rc);
		sqlite3_finalize(st);
		return rc;
	}
	*ret = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int exec_sql(struct outbox *ob, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(ob->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_warn(MOD, "schema: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return map_rc(ob, rc);
	}
	return 0;
}

/* Bring the schema to OUTBOX_SCHEMA_VERSION in one transaction. */
static int migrate(struct outbox *ob)
{
	int version = 0;
	int r;

	r = exec_sql(ob, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = user_version(ob, &version);
	if (r < 0)
		goto err_rollback;
	if (version > OUTBOX_SCHEMA_VERSION) {
		log_warn(MOD, "schema version %d is newer than %d", version, OUTBOX_SCHEMA_VERSION);
		r = -EPROTO;
		goto err_rollback;
	}
	if (version < 1) {
		r = exec_sql(ob, schema_v2); /* a new file starts at the current version */
		if (r < 0)
			goto err_rollback;
	} else if (version < 2) {
		log_notice(MOD, "%s: moving the photos out of the records rows (schema 1 -> 2)",
			   ob->path);
		r = exec_sql(ob, migrate_v1_v2);
		if (r < 0)
			goto err_rollback;
	}
	/* Later versions: if (version < 3) { ...; PRAGMA user_version = 3; } */
	r = exec_sql(ob, "COMMIT");
	if (r < 0)
		goto err_rollback;
	return 0;

err_rollback:
	if (!sqlite3_get_autocommit(ob->db))
		sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Load next_seq, last_hash and unacked_bytes (index and rowid lookups only). */
/* Read the sequence high-water mark; 0 when there is none yet. A mark that is not a number
 * is damage worth a loud message, but not a reason to stop: the database's own max(seq)
 * still rules, and the next put writes a good mark. */
static int seq_mark_load(struct outbox *ob)
{
	char path[PATH_MAX], buf[OUTBOX_SEQ_TEXT_MAX + 1];
	unsigned long long v;
	size_t n = 0;
	char *end;
	int fd, r;

	ob->seq_reserved = 0;
	if (path_cat(path, sizeof(path), ob->path, OUTBOX_SEQ_SUFFIX) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = durable_read_bounded(fd, buf, OUTBOX_SEQ_TEXT_MAX, &n);
	close(fd);
	if (r < 0 && r != -EFBIG)
		return r;
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (r == -EFBIG || errno || end == buf || (*end && strcmp(end, "\n") != 0)) {
		log_err(MOD, "%s: not a sequence number ('%.20s'); ignored", path, buf);
		return 0;
	}
	ob->seq_reserved = v;
	return 0;
}

/* Make numbers up to @p upto usable: the mark is on disk before any of them is. */
static int seq_mark_reserve(struct outbox *ob, uint64_t upto)
{
	char path[PATH_MAX], text[OUTBOX_SEQ_TEXT_MAX];
	int n, r;

	if (path_cat(path, sizeof(path), ob->path, OUTBOX_SEQ_SUFFIX) < 0)
		return -ENAMETOOLONG;
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n", upto);
	r = durable_write_file(path, text, (size_t)n, OUTBOX_FILE_MODE, true);
	if (r < 0) {
		log_warn(MOD, "%s: %s", path, strerror(-r));
		return r;
	}
	ob->seq_reserved = upto;
	return 0;
}

static int load_state(struct outbox *ob)
{
	sqlite3_stmt *st = ob->st[ST_LAST];
	int rc;
	int r;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ob->next_seq = col_u64(st, 0) + 1;
		r = col_text(st, 1, ob->last_hash, sizeof(ob->last_hash));
		if (r == 0 && strlen(ob->last_hash) != OUTBOX_HASH_LEN)
			r = -EIO;
	} else if (rc == SQLITE_DONE) {
		ob->next_seq = 1;
		memset(ob->last_hash, '0', OUTBOX_HASH_LEN);
		ob->last_hash[OUTBOX_HASH_LEN] = '\0';
		r = 0;
	} else {
		r = map_rc(ob, rc);
	}
	stmt_done(st);
	if (r < 0)
		return r;

	st = ob->st[ST_COUNT_UNACKED];
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ob->unacked_bytes = col_u64(st, 1);
	r = rc == SQLITE_ROW ? 0 : map_rc(ob, rc);
	stmt_done(st);
	return r;
}

/* Run a statement that must return one row; -EIO (and damage noted) when it returns none. */
static int step_row(struct outbox *ob, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE) {
		note_damage(ob, "%s: no row", what);
		return -EIO;
	}
	return map_rc(ob, rc);
}

/* Prepare a one-off statement (checks only); -errno with the reason logged. */
static int prepare_once(struct outbox *ob, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(ob->db, sql, -1, ret, NULL);

	if (rc != SQLITE_OK) {
		log_warn(MOD, "prepare \"%s\": %s", sql, sqlite3_errmsg(ob->db));
		return map_rc(ob, rc);
	}
	return 0;
}

/* Whether the row @p seq is found through index @p sql (bound: ?1 key, ?2 seq). */
static int probe_index(struct outbox *ob, const char *sql, const char *key, uint64_t seq)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prepare_once(ob, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, to_i64(seq));
	r = step_row(ob, st, sql);
	if (r == 0 && col_u64(st, 0) != seq) {
		note_damage(ob, "index disagrees with the table at seq %" PRIu64, seq);
		r = -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

/*
 * A record's photo columns, as selected by OUTBOX_PHOTO_COLS from "records AS r LEFT JOIN
 * photos AS p" (columns @p col .. @p col + 3): a record that keeps a photo has exactly one of
 * photo_len bytes; one that does not has none. length() of a blob reads no overflow page.
 */
#define OUTBOX_PHOTO_COLS "r.photo_kept, r.photo_len, length(p.photo), p.seq IS NOT NULL"

static int check_photo_cols(struct outbox *ob, sqlite3_stmt *st, int col, uint64_t seq)
{
	bool kept = sqlite3_column_int(st, col) != 0;
	bool have = sqlite3_column_int(st, col + 3) != 0;

	if (kept != have) {
		note_damage(ob, "record %" PRIu64 ": photo %s", seq,
			    kept ? "missing from the photos table" : "stored but not kept");
		return -EIO;
	}
	if (kept && sqlite3_column_int64(st, col + 2) != sqlite3_column_int64(st, col + 1)) {
		note_damage(ob, "record %" PRIu64 ": photo has %lld bytes, the record says %lld",
			    seq, (long long)sqlite3_column_int64(st, col + 2),
			    (long long)sqlite3_column_int64(st, col + 1));
		return -EIO;
	}
	return 0;
}

/*
 * The fast check (outbox_open): a bounded number of pages whatever the size of the file.
 * - the schema objects are all there (a missing index would silently change every plan);
 * - `meta` passes quick_check and still says what this file is;
 * - the last OUTBOX_TAIL_CHECK rows: hash = SHA-256(json), and the photo there with its
 *   length when the row keeps one (the pages written last are the ones a power cut or a
 *   lying card damages). Gaps in seq are not damage here: a salvaged
 *   outbox may have them, and sealbench-verify reports them;
 * - the last row is found through each index (the id and tracking indexes, and the partial
 *   unacked index when it is unacked), so their rightmost pages agree with the table.
 * The header was read by the journal_mode pragma before this (SQLITE_NOTADB there).
 */
static int check_fast(struct outbox *ob)
{
	static const char schema_sql[] =
		"SELECT count(*) FROM sqlite_schema WHERE name IN ('meta', 'records', 'photos',"
		" 'records_unacked', 'records_tracking', 'records_photo_acked',"
		" 'sqlite_autoindex_meta_1', 'sqlite_autoindex_records_1')";
	static const char tail_sql[] =
		"SELECT r.seq, r.id, r.state, r.hash, r.tracking, r.json, " OUTBOX_PHOTO_COLS
		" FROM records AS r LEFT JOIN photos AS p ON p.seq = r.seq"
		" ORDER BY r.seq DESC LIMIT ?1";
	char id[OUTBOX_ROW_ID_SIZE], tracking[OUTBOX_ROW_ID_SIZE], hash[OUTBOX_HASH_HEX];
	char want[OUTBOX_HASH_HEX];
	uint64_t last = 0, prev_seq = 0, seq;
	int last_state = OUTBOX_ACKED;
	sqlite3_stmt *st = NULL;
	unsigned n = 0;
	int rc;
	int r;

	r = pragma_expect(ob, "PRAGMA quick_check(meta)", "ok");
	if (r < 0)
		goto damage;
	r = pragma_expect(ob, "SELECT value FROM meta WHERE key = 'schema'", OUTBOX_SCHEMA_NAME);
	if (r < 0)
		goto damage;
	r = prepare_once(ob, schema_sql, &st);
	if (r < 0)
		return r;
	r = step_row(ob, st, "schema");
	if (r == 0 && sqlite3_column_int(st, 0) != OUTBOX_SCHEMA_OBJECTS) {
		note_damage(ob, "schema: %d of %d tables and indexes", sqlite3_column_int(st, 0),
			    OUTBOX_SCHEMA_OBJECTS);
		r = -EIO;
	}
	sqlite3_finalize(st);
	if (r < 0)
		return r;

	r = prepare_once(ob, tail_sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 1, OUTBOX_TAIL_CHECK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = col_u64(st, 0);
		if (n == 0) {
			last = seq;
			last_state = sqlite3_column_int(st, 2);
			if (col_text(st, 1, id, sizeof(id)) < 0 ||
			    col_text(st, 4, tracking, sizeof(tracking)) < 0)
				tracking[0] = id[0] = '\0';
		} else if (seq >= prev_seq) {
			note_damage(ob, "rows out of order at seq %" PRIu64, seq);
			r = -EIO;
			break;
		}
		prev_seq = seq;
		sha256_hex(sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5), want);
		if (col_text(st, 3, hash, sizeof(hash)) < 0 || strcmp(hash, want) != 0) {
			note_damage(ob, "record %" PRIu64 ": stored hash does not match its JSON",
				    seq);
			r = -EIO;
			break;
		}
		r = check_photo_cols(ob, st, 6, seq);
		if (r < 0)
			break;
		n++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = map_rc(ob, rc);
	sqlite3_finalize(st);
	if (r < 0 || n == 0)
		return r;
	if (!id[0]) {
		note_damage(ob, "record %" PRIu64 ": id or tracking unreadable", last);
		return -EIO;
	}

	r = probe_index(ob,
			"SELECT seq FROM records INDEXED BY sqlite_autoindex_records_1"
			" WHERE id = ?1 AND seq = ?2",
			id, last);
	if (r == 0)
		r = probe_index(ob,
				"SELECT seq FROM records INDEXED BY records_tracking"
				" WHERE tracking = ?1 AND seq = ?2",
				tracking, last);
	if (r == 0 && last_state < OUTBOX_ACKED)
		r = probe_index(ob,
				"SELECT max(seq) FROM records INDEXED BY records_unacked"
				" WHERE state < 2 AND ?1 = ?1 AND ?2 = ?2",
				"", last);
	return r;

damage:
	/* pragma_expect() logged what it got; -EBADMSG is a wrong answer, i.e. damage */
	if (r == -EBADMSG)
		note_damage(ob, "meta table damaged");
	return r;
}

/*
 * The full check: every page (PRAGMA quick_check: b-tree structure, overflow chains, free
 * list; or integrity_check, which also compares each index with the table) and the whole
 * chain re-hashed (reads every JSON, never the photos). Seconds on a big file: idle time only.
 */
static int check_full(struct outbox *ob, bool thorough)
{
	sqlite3_stmt *st = NULL;
	char hash[OUTBOX_HASH_HEX], want[OUTBOX_HASH_HEX];
	uint64_t prev_seq = 0, seq, kept = 0;
	int rc;
	int r;

	r = pragma_expect(ob, thorough ? "PRAGMA integrity_check(1)" : "PRAGMA quick_check(1)",
			  "ok");
	if (r == -EBADMSG)
		note_damage(ob, "%s failed", thorough ? "integrity_check" : "quick_check");
	if (r < 0)
		return r;

	r = prepare_once(ob,
			 "SELECT r.seq, r.hash, r.json, " OUTBOX_PHOTO_COLS
			 " FROM records AS r LEFT JOIN photos AS p ON p.seq = r.seq ORDER BY r.seq",
			 &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = col_u64(st, 0);
		if (seq <= prev_seq) {
			note_damage(ob, "rows out of order at seq %" PRIu64, seq);
			r = -EIO;
			break;
		}
		prev_seq = seq;
		sha256_hex(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), want);
		if (col_text(st, 1, hash, sizeof(hash)) < 0 || strcmp(hash, want) != 0) {
			note_damage(ob, "record %" PRIu64 ": stored hash does not match its JSON",
				    seq);
			r = -EIO;
			break;
		}
		r = check_photo_cols(ob, st, 3, seq);
		if (r < 0)
			break;
		kept += (uint64_t)sqlite3_column_int(st, 3);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = map_rc(ob, rc);
	sqlite3_finalize(st);
	if (r < 0)
		return r;

	/* every photo belongs to a record that says it keeps one */
	r = prepare_once(ob, "SELECT count(*) FROM photos", &st);
	if (r < 0)
		return r;
	r = step_row(ob, st, "photos");
	if (r == 0 && col_u64(st, 0) != kept) {
		note_damage(ob, "%" PRIu64 " photos stored, %" PRIu64 " records keep one",
			    col_u64(st, 0), kept);
		r = -EIO;
	}
	sqlite3_finalize(st);
	return r;
}

/*
 * Replaces sqlite's auto-checkpoint (which is itself a WAL hook, run inside every COMMIT that
 * takes the WAL past 1000 pages): remember the WAL size; checkpoint here only past the hard
 * bound. Runs after the commit is durable, so a failed checkpoint never fails the put.
 */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
	struct outbox *ob = ud;
	int n_log = 0, n_ckpt = 0, rc;

	ob->wal_pages = pages;
	if (pages < OUTBOX_WAL_MAX_PAGES)
		return SQLITE_OK;
	rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &n_log, &n_ckpt);
	if (rc == SQLITE_OK && n_ckpt == n_log)
		ob->wal_pages = 0;
	else if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warn(MOD, "checkpoint at %d WAL pages: %s", pages, sqlite3_errmsg(db));
	return SQLITE_OK;
}

int outbox_checkpoint(struct outbox *ob)
{
	int n_log = 0, n_ckpt = 0, rc;

	if (!ob)
		return -EINVAL;
	if (ob->wal_pages < OUTBOX_WAL_IDLE_PAGES)
		return 0;
	rc = sqlite3_wal_checkpoint_v2(ob->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &n_log, &n_ckpt);
	if (rc != SQLITE_OK)
		return map_rc(ob, rc);
	if (n_ckpt != n_log)
		return -EBUSY; /* a reader holds older frames; the next idle call goes on */
	/*
	 * The next write restarts the WAL from its start, and the first frame of a restarted
	 * WAL syncs the new WAL header first (synchronous=FULL): one more fsync. Pay it here
	 * with a write that changes nothing (the schema version, set to what it is), not in
	 * the next seal.
	 */
	rc = sqlite3_exec(ob->db, "PRAGMA user_version = " OUTBOX_STR(OUTBOX_SCHEMA_VERSION), NULL,
			  NULL, NULL);
	if (rc != SQLITE_OK)
		return map_rc(ob, rc);
	ob->wal_pages = 0;
	return 0;
}

int outbox_get_wal_pages(const struct outbox *ob)
{
	return ob ? ob->wal_pages : 0;
}

/*
 * Open and fast-check. On failure *ret_damaged says whether the cause was damage (so the
 * caller may move the file aside) rather than permissions, space, locks or a newer schema.
 */
static int open_db(const struct outbox_cfg *cfg, struct outbox **ret, bool *ret_damaged)
{
	struct outbox *ob;
	int rc;
	int r;
	int i;

	*ret_damaged = false;
	if (!cfg || !cfg->path || !cfg->path[0] || !ret)
		return -EINVAL;
	if (strlen(cfg->path) + sizeof(OUTBOX_DAMAGED_SUFFIX) > PATH_MAX)
		return -ENAMETOOLONG;

	r = make_parent_dirs(cfg->path);
	if (r < 0)
		return r;
	r = preflight(cfg->path);
	if (r < 0)
		return r;

	ob = calloc(1, sizeof(*ob));
	if (!ob)
		return -ENOMEM;
	ob->quota_bytes = cfg->quota_bytes;
	ob->photo_retention_ms = cfg->photo_retention_ms;
	strcpy(ob->path, cfg->path);
	r = dir_of(cfg->path, ob->dir, sizeof(ob->dir));
	if (r < 0)
		goto err_close;

	rc = sqlite3_open_v2(cfg->path, &ob->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     cfg->vfs);
	if (rc != SQLITE_OK) {
		r = map_rc(ob, rc);
		goto err_close;
	}
	sqlite3_extended_result_codes(ob->db, 1);
	sqlite3_busy_timeout(ob->db, OUTBOX_BUSY_TIMEOUT_MS);

	/* First read of the file: a bad header shows up here as SQLITE_NOTADB -> -EIO. */
	r = pragma_expect(ob, "PRAGMA journal_mode = WAL", "wal");
	if (r < 0)
		goto err_close;
	r = exec_sql(ob, "PRAGMA synchronous = FULL");
	if (r < 0)
		goto err_close;
	sqlite3_wal_hook(ob->db, wal_hook, ob);
	/* unknown: whatever an earlier run left, the first outbox_checkpoint() looks */
	ob->wal_pages = OUTBOX_WAL_IDLE_PAGES;
	r = migrate(ob);
	if (r < 0)
		goto err_close;
	r = check_fast(ob);
	if (r < 0)
		goto err_close;

	for (i = 0; i < _ST_MAX; i++) {
		rc = sqlite3_prepare_v3(ob->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&ob->st[i], NULL);
		if (rc != SQLITE_OK) {
			log_warn(MOD, "prepare \"%s\": %s", stmt_sql[i], sqlite3_errmsg(ob->db));
			r = map_rc(ob, rc);
			goto err_close;
		}
	}

	r = load_state(ob);
	if (r < 0)
		goto err_close;
	r = seq_mark_load(ob);
	if (r < 0)
		goto err_close;
	if (ob->next_seq == 1 && ob->seq_reserved) {
		/* an empty database beside a mark: a fresh start after a quarantine */
		ob->next_seq = ob->seq_reserved + 1;
		log_notice(MOD, "%s is new: numbering continues at %" PRIu64 " (after every number "
			   "an earlier outbox here may have used)", ob->path, ob->next_seq);
	}

	*ret = ob;
	return 0;

err_close:
	*ret_damaged = ob->damaged;
	outbox_close(ob);
	/* the documented code for "unreadable or corrupt" stays -EIO */
	return r == -EBADMSG ? -EIO : r;
}

int outbox_open(const struct outbox_cfg *cfg, struct outbox **ret)
{
	bool damaged;

	return open_db(cfg, ret, &damaged);
}

/* Rename @p from to @p to unless @p from is missing; never replaces an existing @p to. */
static int move_aside(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	return errno == ENOENT && access(from, F_OK) < 0 ? 0 : -errno;
}

/*
 * Move "<path>" (+ -wal, -shm, .damaged) to "<path>.corrupt-<stamp>[-n]" (+ the same
 * suffixes). -wal goes first: see the comment at the top of the file.
 */
static int quarantine(const char *path, char *aside, size_t aside_size)
{
	static const char *const suffixes[] = {"-wal", "-shm", "", OUTBOX_DAMAGED_SUFFIX};
	char stamp[OUTBOX_STAMP_MAX], base[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	time_t now = time(NULL);
	struct tm tm;
	unsigned try;
	size_t i;
	int n, r;

	if (!gmtime_r(&now, &tm) || !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm))
		return -EINVAL;
	for (try = 0; try < OUTBOX_ASIDE_TRIES; try++) {
		n = try ? snprintf(base, sizeof(base), "%s" OUTBOX_CORRUPT_INFIX "%s-%u", path,
				   stamp, try)
			: snprintf(base, sizeof(base), "%s" OUTBOX_CORRUPT_INFIX "%s", path, stamp);
		if (n < 0 || (size_t)n + sizeof(OUTBOX_DAMAGED_SUFFIX) > sizeof(base))
			return -ENAMETOOLONG;
		for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			snprintf(to, sizeof(to), "%s%s", base, suffixes[i]);
			if (access(to, F_OK) == 0)
				break;
		}
		if (i == sizeof(suffixes) / sizeof(suffixes[0]))
			break;
	}
	if (try == OUTBOX_ASIDE_TRIES)
		return -EEXIST;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", path, suffixes[i]);
		snprintf(to, sizeof(to), "%s%s", base, suffixes[i]);
		r = move_aside(from, to);
		if (r < 0) {
			log_err(MOD, "cannot move %s to %s: %s", from, to, strerror(-r));
			return r;
		}
	}
	r = durable_sync_parent(path);
	if (r < 0)
		return r;
	if (aside && aside_size)
		snprintf(aside, aside_size, "%s", base);
	return 0;
}

int outbox_open_or_quarantine(const struct outbox_cfg *cfg, struct outbox **ret, char *ret_aside,
			      size_t aside_size)
{
	char marker[PATH_MAX], aside[PATH_MAX];
	struct outbox *ob = NULL;
	bool damaged = false;
	int r;

	if (!cfg || !cfg->path || !cfg->path[0] || !ret)
		return -EINVAL;
	r = path_cat(marker, sizeof(marker), cfg->path, OUTBOX_DAMAGED_SUFFIX);
	if (r < 0)
		return r;

	r = open_db(cfg, &ob, &damaged);
	if (r == 0 && access(marker, F_OK) == 0) {
		/* damage seen in an earlier run: the thorough check decides */
		log_warn(MOD, "%s: damage marker present, running integrity_check", cfg->path);
		r = check_full(ob, true);
		damaged = ob->damaged;
		if (r == 0) {
			log_notice(MOD, "%s: integrity_check passed, removing %s", cfg->path,
				   marker);
			if (unlink(marker) < 0 && errno != ENOENT)
				r = -errno;
		}
		if (r < 0) {
			outbox_close(ob);
			ob = NULL;
		}
	}
	if (r == 0) {
		*ret = ob;
		return 0;
	}
	if (!damaged)
		return r;

	r = quarantine(cfg->path, aside, sizeof(aside));
	if (r < 0)
		return r;
	log_err(MOD, "%s was damaged: moved aside to %s (keep it: sealbench-salvage reads it)",
		cfg->path, aside);
	r = open_db(cfg, &ob, &damaged);
	if (r < 0)
		return r;
	if (ret_aside && aside_size)
		snprintf(ret_aside, aside_size, "%s", aside);
	*ret = ob;
	return OUTBOX_QUARANTINED;
}

void outbox_close(struct outbox *ob)
{
	int i;

	if (!ob)
		return;
	for (i = _ST_MAX - 1; i >= 0; i--)
		sqlite3_finalize(ob->st[i]);
	/*
	 * A damaged file stays as it is for salvage: closing the last connection would otherwise
	 * checkpoint the WAL into it and delete the WAL.
	 */
	if (ob->damaged && ob->db)
		sqlite3_db_config(ob->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	/* All statements are finalized, so close cannot fail with SQLITE_BUSY. */
	sqlite3_close(ob->db);
	free(ob);
}

uint64_t outbox_get_next_seq(const struct outbox *ob)
{
	return ob->next_seq;
}

const char *outbox_get_last_hash(const struct outbox *ob)
{
	return ob->last_hash;
}

bool outbox_has_room(const struct outbox *ob, uint64_t bytes)
{
	return ob->unacked_bytes <= ob->quota_bytes && bytes <= ob->quota_bytes - ob->unacked_bytes;
}

static int check_put_req(const struct outbox_put_req *req)
{
	size_t id_len;

	if (!req->id || !req->json || req->json_len == 0)
		return -EINVAL;
	id_len = strlen(req->id);
	if (id_len == 0 || id_len >= OUTBOX_ROW_ID_SIZE)
		return -EINVAL;
	if (!req->photo && req->photo_len)
		return -EINVAL;
	if (req->photo &&
	    (!req->photo_len || !req->photo_sha256 || strlen(req->photo_sha256) != OUTBOX_HASH_LEN))
		return -EINVAL;
	if (req->json_len > (size_t)INT64_MAX || req->photo_len > (size_t)INT64_MAX - req->json_len)
		return -EINVAL;
	return 0;
}

int outbox_put(struct outbox *ob, const struct outbox_put_req *req, char *ret_hash)
{
	sqlite3_stmt *st = ob->st[ST_INSERT];
	char hash[OUTBOX_HASH_HEX];
	uint64_t bytes;
	int rc;
	int r;

	if (!req)
		return -EINVAL;
	r = check_put_req(req);
	if (r < 0)
		return r;
	if (req->seq != ob->next_seq)
		return -ESTALE;
	bytes = (uint64_t)req->json_len + req->photo_len;
	if (!outbox_has_room(ob, bytes))
		return -ENOSPC;
	r = sync_restore(ob); /* never a green light on an unsynced commit */
	if (r < 0)
		return r;
	if (req->seq > ob->seq_reserved) {
		r = seq_mark_reserve(ob, req->seq - 1 + OUTBOX_SEQ_RESERVE);
		if (r < 0)
			return r;
	}

	sha256_hex(req->json, req->json_len, hash);
	if (!hash[0])
		return -ENOMEM;

	r = stmt_exec(ob, ob->st[ST_BEGIN]);
	if (r < 0)
		return r;

	sqlite3_bind_int64(st, 1, to_i64(req->seq));
	sqlite3_bind_text(st, 2, req->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, to_i64(req->created_ms));
	sqlite3_bind_int64(st, 4, to_i64(bytes));
	sqlite3_bind_text(st, 5, hash, OUTBOX_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, req->tracking ? req->tracking : "", -1, SQLITE_STATIC);
	if (req->photo) {
		sqlite3_bind_text(st, 7, req->photo_sha256, OUTBOX_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, to_i64(req->photo_len));
	} else {
		sqlite3_bind_null(st, 7);
		sqlite3_bind_int64(st, 8, 0);
	}
	sqlite3_bind_int(st, 10, req->photo ? 1 : 0);
	/* TEXT so that json_extract() works in tools; UTF-8 in, same bytes out */
	rc = sqlite3_bind_text64(st, 9, req->json, req->json_len, SQLITE_STATIC, SQLITE_UTF8);
	if (rc != SQLITE_OK) {
		r = map_rc(ob, rc);
		goto err_rollback;
	}
	r = stmt_exec(ob, st);
	if (r < 0)
		goto err_rollback;
	if (req->photo) {
		st = ob->st[ST_INSERT_PHOTO];
		sqlite3_bind_int64(st, 1, to_i64(req->seq));
		rc = sqlite3_bind_blob64(st, 2, req->photo, req->photo_len, SQLITE_STATIC);
		if (rc != SQLITE_OK) {
			r = map_rc(ob, rc);
			goto err_rollback;
		}
		r = stmt_exec(ob, st);
		if (r < 0)
			goto err_rollback;
	}

	/* Returns after the WAL is synced (synchronous=FULL). */
	r = stmt_exec(ob, ob->st[ST_COMMIT]);
	if (r < 0)
		goto err_rollback;

	ob->next_seq++;
	memcpy(ob->last_hash, hash, sizeof(hash));
	ob->unacked_bytes += bytes;
	if (ret_hash)
		memcpy(ret_hash, hash, sizeof(hash));
	return 0;

err_rollback:
	stmt_done(st);
	txn_abort(ob);
	log_warn(MOD, "put seq %" PRIu64 ": %s", req->seq, sqlite3_errmsg(ob->db));
	return r;
}

/* A row buffer of at least @p need bytes: @p buf itself, or a new one (@p buf freed). */
static void *row_reserve(void *buf, size_t *cap, size_t need)
{
	void *p;

	if (buf && *cap >= need)
		return buf;
	p = malloc(need ? need : 1);
	if (!p)
		return NULL;
	free(buf);
	*cap = need ? need : 1;
	return p;
}

/*
 * The photo of @p seq into row->photo_buf: sqlite3_blob_read() copies its pages straight
 * into the buffer. sqlite3_column_blob() first assembled the 300 KB in a buffer of its own,
 * one malloc and one more copy per record (perf of the daemon during make bench's drain: the
 * copies under outbox_next_unacked() went from 5.4 % to 2.3 % of its samples).
 */
static int read_photo(struct outbox *ob, uint64_t seq, struct outbox_row *row)
{
	sqlite3_blob *blob = NULL;
	void *buf;
	int rc, n, r;

	rc = sqlite3_blob_open(ob->db, "main", "photos", "photo", to_i64(seq), 0, &blob);
	if (rc != SQLITE_OK) {
		r = map_rc(ob, rc);
		goto out;
	}
	n = sqlite3_blob_bytes(blob);
	buf = row_reserve(row->photo_buf, &row->photo_cap, (size_t)n);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	row->photo_buf = buf;
	rc = n ? sqlite3_blob_read(blob, row->photo_buf, n, 0) : SQLITE_OK;
	if (rc != SQLITE_OK) {
		r = map_rc(ob, rc);
		goto out;
	}
	row->photo = n ? row->photo_buf : NULL;
	row->photo_len = (size_t)n;
	r = 0;
out:
	if (r < 0)
		log_warn(MOD, "reading the photo of record %" PRIu64 ": %s", seq,
			 sqlite3_errmsg(ob->db));
	sqlite3_blob_close(blob); /* NULL is a no-op */
	return r;
}

int outbox_next_unacked(struct outbox *ob, uint64_t after_seq, struct outbox_row *ret)
{
	sqlite3_stmt *st = ob->st[ST_NEXT_UNACKED];
	struct outbox_row *row = ret;
	bool has_photo = false;
	const void *text;
	void *buf;
	int rc;
	int r;

	if (!ret)
		return -EINVAL;
	sqlite3_bind_int64(st, 1, to_i64(after_seq));
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = map_rc(ob, rc);
		goto out;
	}

	row->seq = col_u64(st, 0);
	r = col_text(st, 1, row->id, sizeof(row->id));
	if (r < 0)
		goto out;
	row->state = sqlite3_column_int(st, 2) == OUTBOX_SENT ? OUTBOX_SENT : OUTBOX_QUEUED;
	r = col_text(st, 3, row->hash, sizeof(row->hash));
	if (r < 0)
		goto out;
	r = col_text(st, 4, row->photo_sha256, sizeof(row->photo_sha256));
	if (r < 0)
		goto out;

	text = sqlite3_column_blob(st, 5);
	row->json_len = (size_t)sqlite3_column_bytes(st, 5);
	/* +1: a NUL after the exact bytes, for callers that treat the JSON as a string */
	buf = row_reserve(row->json, &row->json_cap, row->json_len + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	row->json = buf;
	if (row->json_len)
		memcpy(row->json, text, row->json_len);
	row->json[row->json_len] = '\0';
	has_photo = sqlite3_column_type(st, 6) != SQLITE_NULL;
	r = 0;

out:
	stmt_done(st);
	row->photo = NULL;
	row->photo_len = 0;
	if (r == 0 && has_photo)
		r = read_photo(ob, row->seq, row); /* sets photo only when it succeeds */
	if (r < 0)
		row->json_len = 0;
	return r;
}

void outbox_row_done(struct outbox_row *row)
{
	if (!row)
		return;
	free(row->json);
	free(row->photo_buf);
	*row = (struct outbox_row){0};
}

/* Whether a single-row lookup statement with one bound parameter finds a row. */
static int lookup_exists(struct outbox *ob, sqlite3_stmt *st, bool *ret)
{
	int rc = sqlite3_step(st);
	int r = 0;

	if (rc == SQLITE_ROW)
		*ret = true;
	else if (rc == SQLITE_DONE)
		*ret = false;
	else
		r = map_rc(ob, rc);
	stmt_done(st);
	return r;
}

/* QUEUED -> SENT inside the caller's transaction: 0, -ENOENT no such row, -errno. */
static int change_sent(struct outbox *ob, uint64_t seq, uint64_t now_ms)
{
	sqlite3_stmt *st = ob->st[ST_MARK_SENT];
	bool found = false;
	int r;

	sqlite3_bind_int64(st, 1, to_i64(seq));
	sqlite3_bind_int64(st, 2, to_i64(now_ms));
	r = stmt_exec(ob, st);
	if (r < 0)
		return r;
	if (sqlite3_changes(ob->db) > 0)
		return 0;

	/* Not QUEUED: fine if SENT or ACKED, an error if there is no such row. */
	st = ob->st[ST_SEQ_EXISTS];
	sqlite3_bind_int64(st, 1, to_i64(seq));
	r = lookup_exists(ob, st, &found);
	if (r < 0)
		return r;
	return found ? 0 : -ENOENT;
}

/*
 * -> ACKED inside the caller's transaction, adding the row's bytes to @p acked_bytes when it
 * was unacked: 0 (also when already ACKED), -ENOENT unknown id, -errno.
 */
static int change_acked(struct outbox *ob, const char *id, uint64_t now_ms, uint64_t *acked_bytes)
{
	sqlite3_stmt *st = ob->st[ST_ACK];
	bool found = false;
	int rc, r;

	if (!id)
		return -EINVAL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, to_i64(now_ms));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*acked_bytes += col_u64(st, 0);
		/* step to the end: RETURNING gives the row before the statement is done */
		rc = sqlite3_step(st);
		r = rc == SQLITE_DONE ? 0 : map_rc(ob, rc);
		stmt_done(st);
		return r;
	}
	r = rc == SQLITE_DONE ? 0 : map_rc(ob, rc);
	stmt_done(st);
	if (r < 0)
		return r;

	/* Already ACKED (idempotent) or unknown. */
	st = ob->st[ST_ID_EXISTS];
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	r = lookup_exists(ob, st, &found);
	if (r < 0)
		return r;
	return found ? 0 : -ENOENT;
}

int outbox_settle(struct outbox *ob, struct outbox_change *changes, size_t n)
{
	uint64_t now_ms = clock_wall_ms(), acked_bytes = 0;
	size_t i;
	int r;

	if (!ob || (n && !changes))
		return -EINVAL;
	if (!n)
		return 0;
	r = sync_relax(ob);
	if (r == 0)
		r = stmt_exec(ob, ob->st[ST_BEGIN]);
	for (i = 0; r == 0 && i < n; i++) {
		struct outbox_change *c = &changes[i];

		c->result = c->acked ? change_acked(ob, c->id, now_ms, &acked_bytes)
				     : change_sent(ob, c->seq, now_ms);
		if (c->result < 0 && c->result != -ENOENT)
			r = c->result;
	}
	if (r == 0)
		r = stmt_exec(ob, ob->st[ST_COMMIT]);
	if (r < 0) {
		txn_abort(ob);
		for (i = 0; i < n; i++)
			changes[i].result = r;
	}
	/* A failed restore is logged and outbox_put() refuses until it works (no green light
	 * on an unsynced commit); the changes themselves are committed or not by now. */
	sync_restore(ob);
	if (r < 0)
		return r;
	ob->unacked_bytes = acked_bytes > ob->unacked_bytes ? 0 : ob->unacked_bytes - acked_bytes;
	return 0;
}

int outbox_mark_sent(struct outbox *ob, uint64_t seq)
{
	struct outbox_change c = {.seq = seq};
	int r = outbox_settle(ob, &c, 1);

	return r < 0 ? r : c.result;
}

int outbox_ack(struct outbox *ob, const char *id)
{
	struct outbox_change c = {.acked = true, .id = id};
	int r;

	if (!id)
		return -EINVAL;
	r = outbox_settle(ob, &c, 1);
	return r < 0 ? r : c.result;
}

int outbox_has_tracking(struct outbox *ob, const char *tracking, bool *ret)
{
	sqlite3_stmt *st = ob->st[ST_HAS_TRACKING];

	if (!tracking || !ret)
		return -EINVAL;
	/* Void records and records without a label carry "": never a duplicate. */
	if (!tracking[0]) {
		*ret = false;
		return 0;
	}
	sqlite3_bind_text(st, 1, tracking, -1, SQLITE_STATIC);
	return lookup_exists(ob, st, ret);
}

int outbox_prune(struct outbox *ob, uint64_t now_ms)
{
	sqlite3_int64 before;
	int n;
	int r;

	/* acked_ms + retention <= now, written without overflow */
	if (now_ms < ob->photo_retention_ms)
		return 0;
	before = to_i64(now_ms - ob->photo_retention_ms);
	r = stmt_exec(ob, ob->st[ST_BEGIN]);
	if (r < 0)
		return r;
	sqlite3_bind_int64(ob->st[ST_PRUNE_PHOTOS], 1, before);
	r = stmt_exec(ob, ob->st[ST_PRUNE_PHOTOS]);
	if (r < 0)
		goto err_rollback;
	n = sqlite3_changes(ob->db);
	sqlite3_bind_int64(ob->st[ST_PRUNE_MARK], 1, before);
	r = stmt_exec(ob, ob->st[ST_PRUNE_MARK]);
	if (r < 0)
		goto err_rollback;
	r = stmt_exec(ob, ob->st[ST_COMMIT]);
	if (r < 0)
		goto err_rollback;
	return n;

err_rollback:
	txn_abort(ob);
	return r;
}

int outbox_get_stats(struct outbox *ob, struct outbox_stats *ret)
{
	struct outbox_stats s = {0};
	sqlite3_stmt *st;
	int rc;
	int r;

	if (!ret)
		return -EINVAL;

	st = ob->st[ST_COUNT_UNACKED];
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s.unacked = col_u64(st, 0);
		s.unacked_bytes = col_u64(st, 1);
	}
	r = rc == SQLITE_ROW ? 0 : map_rc(ob, rc);
	stmt_done(st);
	if (r < 0)
		return r;

	st = ob->st[ST_COUNT_ALL];
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		s.total = col_u64(st, 0);
	r = rc == SQLITE_ROW ? 0 : map_rc(ob, rc);
	stmt_done(st);
	if (r < 0)
		return r;

	s.last_seq = ob->next_seq - 1;
	*ret = s;
	return 0;
}

int outbox_check(struct outbox *ob, enum outbox_check_level level)
{
	int r;

	r = check_fast(ob);
	if (r == 0 && level == OUTBOX_CHECK_FULL)
		r = check_full(ob, false);
	return r < 0 && ob->damaged ? -EBADMSG : r;
}

bool outbox_is_damaged(const struct outbox *ob)
{
	return ob->damaged;
}

int outbox_check_space(struct outbox *ob, uint64_t need_bytes)
{
	struct statvfs sv;
	uint64_t avail;

	if (statvfs(ob->dir, &sv) < 0)
		return -errno;
	/* f_bavail: blocks an unprivileged writer may use (the daemon is not root) */
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (need_bytes > UINT64_MAX / 2 || avail < 2 * need_bytes)
		return -ENOSPC;
	return 0;
}
