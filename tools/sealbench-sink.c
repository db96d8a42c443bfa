/* SPDX-License-Identifier: MIT */
/*
 * tools/sealbench-sink.c - the "central" end of the evidence pipe, for the demo and the tests.
 *
 * The problem: a station keeps every record until central says it has *committed* it (a PUBACK
 * only says the broker took the packet). So this sink must (1) store each record durably and
 * exactly once, (2) put a record's photo back together from chunks that may arrive in any
 * order, twice, or before/after the record, (3) check the photo's SHA-256 against both the
 * chunks' "sha256" user property and the record's photo.sha256, and only then (4) publish the
 * application ack on sealbench/v1/{site}/{station}/ack.
 *
 * A record's life here:
 *
 *   evidence arrives ---- no photo declared ---------------------------> complete, ack
 *          |
 *          +------------- photo declared, verified photo on disk -------> complete, ack
 *          |
 *          +------------- photo declared, photo not here yet ----------> stored, complete=0
 *                                                                           |
 *   last chunk arrives, hashes match the property and the record ----------+--> complete, ack
 *
 * A photo that completes before its record is written to disk and remembered in the "photos"
 * table (the station sends chunks first, so this is the normal order); the record then finds
 * it. A photo whose hash does not match is rejected: not stored, not acked; the station sends
 * it again after its ack timeout. Partial photos live in memory, bounded in number and bytes
 * (past a cap the oldest partial is dropped; the station re-sends it): each photo's chunk
 * payloads are appended to one buffer sized from its first chunk, reused by the next photo, so
 * a photo costs one copy of its bytes here, one SHA-256 pass and one write().
 *
 * Signatures (firmware/schema/CANONICAL.md): with --keys DIR every record must carry a good
 * Ed25519 signature by its station's key, DIR/<station>.pub (base64 of the raw key, one line:
 * "registered at central"). A record without one, with a bad one, or from a station without
 * a registered key is rejected (reason=signature) and not acked, before anything else is
 * looked at, so a forgery can neither be stored nor pose as a conflicting duplicate. With
 * --tofu the sink also reads the stations' retained status and stores a "pubkey" it finds
 * there as DIR/<station>.pub when that station has no key yet (trust on first use); a key is
 * never replaced: a station that announces another key is reported and keeps being checked
 * against the registered one. Without --keys nothing is checked (a warning says so at start).
 *
 * A duplicate record (same ID, same bytes) is counted and acked again when complete: the
 * station may have missed the first ack. Same ID with different bytes is a conflict: logged
 * loudly, counted, the first copy kept and NOT acked, so the station keeps its copy for a
 * human to look at.
 *
 * Group commit: while messages keep arriving (the socket is never idle for more than
 * BATCH_IDLE_MS) they are handled inside one write transaction (BEGIN IMMEDIATE), up to
 * BATCH_MAX acks or photos. Photos go to temporary files, left unsynced; closing the batch
 * syncs them all, renames them into place, fsyncs each station directory once, COMMITs
 * (synchronous=FULL), and only then prints the "stored" lines and publishes the acks. So an
 * ack always follows the durable commit of its record and photo; a crash or an error
 * mid-batch rolls the whole batch back and acks none of it (the stations send unacked records
 * again; the dedupe by ID absorbs what had been committed). One to a few fsyncs per batch
 * instead of four per record.
 *
 * Shared subscription (--share GROUP): records, photo chunks and order requests come through
 * $share/GROUP/..., so several sinks on one db and one photo directory split the load. The
 * broker gives each message to one member, so the chunks of a photo are spread over the
 * sinks: with --share they are kept in the db ("chunks" table) and the sink whose
 * transaction holds the last chunk assembles the photo (chunk_shared()). The write
 * transactions are IMMEDIATE and sqlite waits up to DB_BUSY_TIMEOUT_MS for the other sink,
 * so every dedupe decision (read, then INSERT into a table keyed by ID) is serialised across
 * the processes: no record is committed twice.
 *
 * MQTT: MQTT 5, QoS 1, a persistent session (clean start off, session expiry interval), so the
 * broker keeps what stations publish while the sink restarts. libmosquitto's own reconnect
 * (mosquitto_reconnect) sends no CONNECT properties, which would silently turn the session
 * expiry to 0; so this tool runs its own poll() loop (socket + signalfd, lib/loop.c recipe) and
 * reconnects with mosquitto_connect_bind_v5() and the properties each time, with backoff.
 *
 * Output on stdout, one line each, flushed (for people and for test harnesses):
 *   ready                                   subscriptions granted (again after each reconnect)
 *   stored <id> photo=<yes|no> bytes=<n>    record committed complete (n = record JSON bytes)
 *   duplicate <id>                          same record again
 *   rejected <id> reason=<reason>           not stored / not acked (id "-" when unknown)
 *   key <station> learned                   --tofu stored the key from the station's status
 *   key <station> mismatch                  the status announces another key than the stored one
 * Logs go to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "hal/clock.h"
#include "src/log.h"
#include "src/record.h"
#include "src/sign.h"
#include "tools/common.h"

#define MOD "sink"

#define TOPIC_ROOT		  "sealbench/v1"
#define TOPIC_MAX		  512 /* longest topic we build or split; real ones are < 160 */
#define TOPIC_LEVELS_MAX	  8   /* our topics have at most 7 levels (photo chunks) */
#define SITE_MAX		  64  /* site IDs are short; also bounds the topics we build */
#define STATION_MAX		  32  /* station IDs are at most 32 characters (record.h) */
#define ID_MAX			  64  /* evidence IDs, RECORD_ID_MAX in src/record.h */
#define SEQ_DIGITS		  10  /* "<station>-<10 digit seq>" */
#define SEQ_MAX			  9999999999ULL /* largest seq that fits SEQ_DIGITS */
#define SHA256_HEX_LEN		  64		/* hex digits of a SHA-256 */
#define SCHEMA_V1		  "sealbench.evidence/1"
#define PHOTO_CONTENT_TYPE	  "image/jpeg"
#define PHOTO_CHUNKS_MAX	  4096		/* 4096 x 128 KiB is far more than a photo */
#define PHOTO_BYTES_MAX		  (32ULL << 20) /* one photo; camera JPEGs are < 2 MiB */
#define PARTIALS_MAX_DEFAULT	  16		/* photos being assembled at once */
#define PARTIAL_BYTES_MAX_DEFAULT (64ULL << 20) /* their chunk bytes together */
#define SPARE_BYTES_MAX		  (4 << 20)	/* largest photo buffer kept for the next photo */
#define BATCH_MAX		  64		/* records (acks) or photos per group commit */
#define BATCH_IDLE_MS		  1	     /* a batch closes when the socket is this long idle */
#define ORDERS_FILE_MAX		  (16 << 20) /* the orders file is read whole */
#define KEEPALIVE_S		  30
#define SESSION_EXPIRY_DEFAULT_S  3600	 /* an hour of sink downtime kept by the broker */
#define BACKOFF_MIN_MS		  100ULL /* first reconnect delay; loopback brokers come back fast */
#define BACKOFF_MAX_MS		  2000ULL
#define POLL_MAX_MS		  1000	    /* loop_misc (keepalive) at least this often */
#define SHUTDOWN_FLUSH_MS	  1000	    /* give the broker this long to take our last packets */
#define DB_BUSY_TIMEOUT_MS	  5000	    /* stats/export may read while the sink writes */
#define MALLOC_MMAP_THRESHOLD	  (4 << 20) /* photo buffers, MQTT payloads: on the heap */
#define MALLOC_TRIM_THRESHOLD	  (16 << 20) /* ... and resident between messages */

enum cmd {
	CMD_RUN,
	CMD_STATS,
	CMD_EXPORT,
};

struct sink_cfg {
	const char *host;
	unsigned port;
	const char *site;
	const char *db_path;
	const char *photos_dir;
	const char *orders_path;    /* NULL: every order request answers not_found */
	const char *client_id;	    /* stable across restarts: it names the persistent session */
	const char *keys_dir;	    /* <station>.pub files; NULL: signatures are not checked */
	bool tofu;		    /* learn unknown stations' keys from their retained status */
	unsigned session_expiry_s;  /* how long the broker keeps our session while we are away */
	unsigned partials_max;	    /* photos being assembled at once */
	uint64_t partial_bytes_max; /* their bytes together */
	const char *share_group;    /* MQTT 5 shared subscription group; NULL: plain */
};

/* Where a received chunk's payload sits in its partial's buffer. */
struct chunk {
	size_t off; /* offset in partial.buf */
	size_t len;
	bool have;
};

/*
 * A photo being put back together from its chunks. The payloads are appended to one buffer in
 * arrival order (the chunks' own order, normally), so an in-order photo is one contiguous
 * block: hashed and written with one call each, no per-chunk allocation or copy.
 */
struct partial {
	char station[STATION_MAX + 1];
	char id[ID_MAX];
	char sha256[SHA256_HEX_LEN + 1]; /* from the chunks' "sha256" user property */
	unsigned nchunks;
	unsigned have;
	size_t bytes;	      /* payload bytes in buf (the chunks received) */
	uint8_t *buf;	      /* the payloads, in arrival order */
	size_t cap;	      /* allocated bytes of buf */
	uint64_t age;	      /* creation counter: the smallest is the oldest */
	struct chunk *chunks; /* nchunks entries */
};

/* An ack to publish once the batch has committed; "stored" lines are printed then too. */
struct ack_entry {
	char station[STATION_MAX + 1];
	char id[ID_MAX];
	bool stored; /* newly complete: print "stored" after the commit */
	bool photo;
	size_t bytes;
};

/* A photo written in the open batch: synced and renamed into place before the commit. */
struct pending_photo {
	char station[STATION_MAX + 1];
	char id[ID_MAX];
	int fd; /* the temporary file, written, not yet synced */
};

struct order_entry {
	const char *order_id; /* borrowed from sink.orders_root, "" when absent */
	const char *tracking; /* same */
	char *json;	      /* the order object re-printed compactly, malloc'd */
};

/* Persisted in the db "counters" table too, so `stats` reports them. */
struct counters {
	uint64_t stored;
	uint64_t duplicates;
	uint64_t conflicts;
	uint64_t rejected;
	uint64_t partials_dropped;
};

struct sink {
	const struct sink_cfg *cfg;
	struct mosquitto *mosq;
	mosquitto_property *connect_props;
	uint64_t backoff_ms;
	sqlite3 *db;
	sqlite3_stmt *st_get;
	sqlite3_stmt *st_insert;
	sqlite3_stmt *st_complete;
	sqlite3_stmt *st_photo_get;
	sqlite3_stmt *st_photo_put;
	sqlite3_stmt *st_photo_del;
	sqlite3_stmt *st_count;
	sqlite3_stmt *st_chunk_head;
	sqlite3_stmt *st_chunk_put;
	sqlite3_stmt *st_chunk_count;
	sqlite3_stmt *st_chunk_load;
	sqlite3_stmt *st_chunk_del;
	bool in_batch;	   /* a write transaction is open (BEGIN IMMEDIATE) */
	bool batch_failed; /* a write in it failed: roll it all back, ack nothing */
	struct pending_photo pend[BATCH_MAX];
	unsigned npend;
	struct partial **partials; /* cfg->partials_max slots */
	uint64_t partial_bytes;
	uint8_t *spare; /* the buffer of the last finished partial, reused by the next one */
	size_t spare_cap;
	uint64_t partial_age;
	struct ack_entry acks[BATCH_MAX];
	unsigned nacks;
	cJSON *orders_root;
	struct order_entry *orders;
	size_t norders;
	struct counters cnt;
};

/* What the sink needs from an evidence record. */
struct rec_info {
	char id[ID_MAX];
	char station[STATION_MAX + 1];
	uint64_t seq;
	bool has_photo;
	char photo_sha256[SHA256_HEX_LEN + 1];
	int64_t photo_bytes; /* -1 when the record does not say */
};

/* A row of the records table, as far as the decisions need it. */
struct row_info {
	bool found;
	bool same_bytes; /* stored JSON equals the payload we compared with */
	bool complete;
	char photo_sha256[SHA256_HEX_LEN + 1];
	size_t json_len;
};

/* A row of the photos table. */
struct photo_info {
	bool found;
	char sha256[SHA256_HEX_LEN + 1];
	int64_t bytes;
	char path[PATH_MAX];
};

static const char *const sink_sql_schema =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS records("
	" id TEXT PRIMARY KEY,"
	" station TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" json TEXT NOT NULL,"	 /* the exact payload bytes */
	" sha256 TEXT NOT NULL," /* hex SHA-256 of json */
	" photo_sha256 TEXT,"	 /* declared by the record; NULL: no photo */
	" photo_path TEXT,"	 /* set when the matching photo is on disk */
	" received_ms INTEGER NOT NULL,"
	" complete INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS records_station_seq ON records(station, seq);"
	/* Verified photos on disk, also those whose record has not arrived yet. */
	"CREATE TABLE IF NOT EXISTS photos("
	" id TEXT PRIMARY KEY,"
	" station TEXT NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" bytes INTEGER NOT NULL,"
	" path TEXT NOT NULL,"
	" received_ms INTEGER NOT NULL);"
	/* --share: chunks of photos being assembled, shared by the sinks of the group */
	"CREATE TABLE IF NOT EXISTS chunks("
	" id TEXT NOT NULL,"
	" idx INTEGER NOT NULL,"
	" station TEXT NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" nchunks INTEGER NOT NULL,"
	" data BLOB NOT NULL,"
	" PRIMARY KEY(id, idx));"
	"CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO counters(name, value) VALUES"
	" ('duplicates', 0), ('conflicts', 0), ('rejected', 0), ('partials_dropped', 0);";

/* ---- small helpers ---- */

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit_unflushed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit_v(bool flush, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* One line on stdout (fully buffered), flushed at once when @flush. */
static void emit_v(bool flush, const char *fmt, va_list ap)
{
	vprintf(fmt, ap);
	putchar('\n');
	if (flush)
		fflush(stdout);
}

/* One line on stdout, flushed at once: harnesses wait on these. */
static void emit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit_v(true, fmt, ap);
	va_end(ap);
}

/* A batch's "stored" lines: written unflushed, flushed together after its commit. */
static void emit_unflushed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit_v(false, fmt, ap);
	va_end(ap);
}

/*
 * Station and evidence IDs become path components and words of our output lines: 1..@max
 * letters, digits, '_', '-', '.', not starting with '.'.
 */
static bool name_is_safe(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* "<station>-<10 digits>" for this station; the seq it encodes. */
static int id_parse(const char *id, const char *station, uint64_t *ret_seq)
{
	size_t sl = strlen(station);
	uint64_t seq = 0;

	if (strlen(id) != sl + 1 + SEQ_DIGITS || strncmp(id, station, sl) != 0 || id[sl] != '-')
		return -EINVAL;
	for (size_t i = sl + 1; id[i]; i++) {
		if (id[i] < '0' || id[i] > '9')
			return -EINVAL;
		seq = seq * 10 + (uint64_t)(id[i] - '0');
	}
	*ret_seq = seq;
	return 0;
}

/* 64 hex digits, copied lowercased into @out. */
static int sha256_hex_normalise(const char *in, char out[SHA256_HEX_LEN + 1])
{
	if (!in || strlen(in) != SHA256_HEX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < SHA256_HEX_LEN; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL;
		out[i] = c;
	}
	out[SHA256_HEX_LEN] = '\0';
	return 0;
}

static void hex_encode(const unsigned char *md, unsigned len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < len; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen * 2 != SHA256_HEX_LEN)
		return -EIO;
	hex_encode(md, mdlen, out);
	return 0;
}

/* SHA-256 over a partial photo's chunks, in index order. */
static int partial_sha256_hex(const struct partial *p, char out[SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx;
	int ret = -EIO;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	for (unsigned i = 0; i < p->nchunks; i++)
		if (p->chunks[i].len &&
		    !EVP_DigestUpdate(ctx, p->buf + p->chunks[i].off, p->chunks[i].len))
			goto out;
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen * 2 != SHA256_HEX_LEN)
		goto out;
	hex_encode(md, mdlen, out);
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

static int topic_build(char *buf, size_t len, const char *site, const char *station,
		       const char *suffix)
{
	int n = snprintf(buf, len, TOPIC_ROOT "/%s/%s/%s", site, station, suffix);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Split @topic into at most TOPIC_LEVELS_MAX levels inside @buf. @return the level count. */
static int topic_split(const char *topic, char *buf, size_t len, char **levels)
{
	int n = 0;
	char *p;

	if (strlen(topic) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, topic);
	p = buf;
	for (;;) {
		char *slash = strchr(p, '/');

		if (n == TOPIC_LEVELS_MAX)
			return -E2BIG;
		levels[n++] = p;
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return n;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* ---- sqlite ---- */

static int db_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	default:
		return -EIO;
	}
}

/* Run a statement to completion, then reset it (bindings are cleared too). */
static int db_step_done(struct sink *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_err(MOD, "sqlite: %s", sqlite3_errmsg(s->db));
		s->batch_failed = true;
		return db_err(rc);
	}
	return 0;
}

static int db_exec(struct sink *s, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_err(MOD, "sqlite: %s: %s", sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return db_err(rc);
	}
	return 0;
}

static int db_open(struct sink *s, const char *path, bool create)
{
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	int rc;

	rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		log_err(MOD, "cannot open database %s: %s", path,
			s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		return db_err(rc);
	}
	sqlite3_busy_timeout(s->db, DB_BUSY_TIMEOUT_MS);
	return db_exec(s, sink_sql_schema);
}

static int db_prepare(struct sink *s)
{
	static const struct {
		size_t off;
		const char *sql;
	} stmts[] = {
		{offsetof(struct sink, st_get),
		 "SELECT json, complete, photo_sha256 FROM records WHERE id = ?1"},
		{offsetof(struct sink, st_insert),
		 "INSERT OR IGNORE INTO records(id, station, seq, json, sha256, photo_sha256,"
		 " photo_path, received_ms, complete) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
		{offsetof(struct sink, st_complete),
		 "UPDATE records SET photo_path = ?2, complete = 1 WHERE id = ?1"},
		{offsetof(struct sink, st_photo_get),
		 "SELECT sha256, bytes, path FROM photos WHERE id = ?1"},
		{offsetof(struct sink, st_photo_put),
		 "INSERT OR REPLACE INTO photos(id, station, sha256, bytes, path, received_ms)"
		 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
		{offsetof(struct sink, st_photo_del), "DELETE FROM photos WHERE id = ?1"},
		{offsetof(struct sink, st_count),
		 "UPDATE counters SET value = value + 1 WHERE name = ?1"},
		{offsetof(struct sink, st_chunk_head),
		 "SELECT sha256, nchunks FROM chunks WHERE id = ?1 LIMIT 1"},
		{offsetof(struct sink, st_chunk_put),
		 "INSERT OR IGNORE INTO chunks(id, idx, station, sha256, nchunks, data)"
		 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
		{offsetof(struct sink, st_chunk_count),
		 "SELECT count(*) FROM chunks WHERE id = ?1"},
		{offsetof(struct sink, st_chunk_load),
		 "SELECT idx, data FROM chunks WHERE id = ?1"},
		{offsetof(struct sink, st_chunk_del), "DELETE FROM chunks WHERE id = ?1"},
	};

	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		sqlite3_stmt **st = (sqlite3_stmt **)((char *)s + stmts[i].off);
		int rc = sqlite3_prepare_v2(s->db, stmts[i].sql, -1, st, NULL);

		if (rc != SQLITE_OK) {
			log_err(MOD, "sqlite: %s: %s", stmts[i].sql, sqlite3_errmsg(s->db));
			return db_err(rc);
		}
	}
	return 0;
}

static void db_close(struct sink *s)
{
	sqlite3_finalize(s->st_get);
	sqlite3_finalize(s->st_insert);
	sqlite3_finalize(s->st_complete);
	sqlite3_finalize(s->st_photo_get);
	sqlite3_finalize(s->st_photo_put);
	sqlite3_finalize(s->st_photo_del);
	sqlite3_finalize(s->st_count);
	sqlite3_finalize(s->st_chunk_head);
	sqlite3_finalize(s->st_chunk_put);
	sqlite3_finalize(s->st_chunk_count);
	sqlite3_finalize(s->st_chunk_load);
	sqlite3_finalize(s->st_chunk_del);
	sqlite3_close(s->db);
	s->db = NULL;
}

/* Look up record @id; when @payload is given, say whether the stored bytes are the same. */
static int db_get(struct sink *s, const char *id, const void *payload, size_t len,
		  struct row_info *ret)
{
	struct row_info r = {0};
	sqlite3_stmt *st = s->st_get;
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *json = sqlite3_column_blob(st, 0);
		const unsigned char *ph = sqlite3_column_text(st, 2);

		r.found = true;
		r.json_len = (size_t)sqlite3_column_bytes(st, 0);
		r.same_bytes = payload && r.json_len == len &&
			       (len == 0 || memcmp(json, payload, len) == 0);
		r.complete = sqlite3_column_int(st, 1) != 0;
		if (ph)
			snprintf(r.photo_sha256, sizeof(r.photo_sha256), "%s", (const char *)ph);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_err(MOD, "sqlite: %s", sqlite3_errmsg(s->db));
		return db_err(rc);
	}
	*ret = r;
	return 0;
}

static int db_photo_get(struct sink *s, const char *id, struct photo_info *ret)
{
	sqlite3_stmt *st = s->st_photo_get;
	int rc;

	ret->found = false;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret->found = true;
		snprintf(ret->sha256, sizeof(ret->sha256), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		ret->bytes = sqlite3_column_int64(st, 1);
		snprintf(ret->path, sizeof(ret->path), "%s",
			 (const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_err(MOD, "sqlite: %s", sqlite3_errmsg(s->db));
		return db_err(rc);
	}
	return 0;
}

static int db_photo_del(struct sink *s, const char *id)
{
	sqlite3_bind_text(s->st_photo_del, 1, id, -1, SQLITE_STATIC);
	return db_step_done(s, s->st_photo_del);
}

static int db_photo_put(struct sink *s, const struct partial *p, const char *path)
{
	sqlite3_stmt *st = s->st_photo_put;

	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->station, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)p->bytes);
	sqlite3_bind_text(st, 5, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)clock_wall_ms());
	return db_step_done(s, st);
}

static int db_complete(struct sink *s, const char *id, const char *path)
{
	sqlite3_bind_text(s->st_complete, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->st_complete, 2, path, -1, SQLITE_STATIC);
	return db_step_done(s, s->st_complete);
}

/* Insert a new record. @photo_path NULL: waiting for (or without) a photo. */
static int db_insert(struct sink *s, const struct rec_info *rec, const void *payload, size_t len,
		     const char *sha, const char *photo_path, bool complete)
{
	sqlite3_stmt *st = s->st_insert;

	sqlite3_bind_text(st, 1, rec->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rec->station, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)rec->seq);
	/* Bound as text with an explicit length: sqlite keeps the bytes exactly. */
	sqlite3_bind_text(st, 4, len ? payload : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, sha, -1, SQLITE_STATIC);
	if (rec->has_photo)
		sqlite3_bind_text(st, 6, rec->photo_sha256, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	if (photo_path)
		sqlite3_bind_text(st, 7, photo_path, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)clock_wall_ms());
	sqlite3_bind_int(st, 9, complete ? 1 : 0);
	return db_step_done(s, st);
}

/* Bump an in-memory counter and its persisted twin (best effort: a failure is logged). */
static void count(struct sink *s, uint64_t *field, const char *name)
{
	(*field)++;
	sqlite3_bind_text(s->st_count, 1, name, -1, SQLITE_STATIC);
	db_step_done(s, s->st_count);
}

/* ---- acks ---- */

static void batch_commit(struct sink *s);

static void acks_flush(struct sink *s)
{
	bool done[BATCH_MAX] = {false};

	for (unsigned i = 0; i < s->nacks; i++) {
		char topic[TOPIC_MAX];
		cJSON *root, *ids;
		char *json;
		int rc;

		if (done[i])
			continue;
		root = cJSON_CreateObject();
		ids = root ? cJSON_AddArrayToObject(root, "ids") : NULL;
		if (!ids) {
			cJSON_Delete(root);
			log_err(MOD, "out of memory building an ack");
			break;
		}
		for (unsigned j = i; j < s->nacks; j++) {
			if (done[j] || strcmp(s->acks[j].station, s->acks[i].station) != 0)
				continue;
			cJSON_AddItemToArray(ids, cJSON_CreateString(s->acks[j].id));
			done[j] = true;
		}
		json = cJSON_PrintUnformatted(root);
		cJSON_Delete(root);
		if (!json ||
		    topic_build(topic, sizeof(topic), s->cfg->site, s->acks[i].station, "ack")) {
			free(json);
			log_err(MOD, "cannot build the ack for station %s", s->acks[i].station);
			continue;
		}
		rc = mosquitto_publish_v5(s->mosq, NULL, topic, (int)strlen(json), json, 1, false,
					  NULL);
		if (rc != MOSQ_ERR_SUCCESS)
			log_warn(MOD,
				 "ack %s not sent (%s); the station will send the records again",
				 json, mosquitto_strerror(rc));
		else
			log_debug(MOD, "ack -> %s %s", topic, json);
		free(json);
	}
	s->nacks = 0;
}

/*
 * Queue the ack of @id; it is published by batch_commit() after the commit. @stored: the
 * record became complete in this batch ("stored" is printed after the commit too). Called
 * once a record's writes are done, so a full queue may commit the batch first.
 */
static void ack_queue(struct sink *s, const char *station, const char *id, bool stored, bool photo,
		      size_t bytes)
{
	struct ack_entry *a;

	for (unsigned i = 0; i < s->nacks; i++) {
		if (strcmp(s->acks[i].id, id) == 0) {
			if (stored && !s->acks[i].stored) {
				s->acks[i].stored = true;
				s->acks[i].photo = photo;
				s->acks[i].bytes = bytes;
			}
			return;
		}
	}
	if (s->nacks == BATCH_MAX)
		batch_commit(s);
	a = &s->acks[s->nacks++];
	snprintf(a->station, sizeof(a->station), "%s", station);
	snprintf(a->id, sizeof(a->id), "%s", id);
	a->stored = stored;
	a->photo = photo;
	a->bytes = bytes;
}

/* ---- group commit ---- */

static int photo_paths(const struct sink *s, const char *station, const char *id, char *dir,
		       char *path, char *tmp)
{
	if ((size_t)snprintf(dir, PATH_MAX, "%s/%s", s->cfg->photos_dir, station) >= PATH_MAX ||
	    (size_t)snprintf(path, PATH_MAX, "%s/%s.jpg", dir, id) >= PATH_MAX ||
	    (size_t)snprintf(tmp, PATH_MAX, "%s/.%s.jpg.tmp", dir, id) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Forget pending photo @i: close it and remove its temporary file. */
static void pending_drop(struct sink *s, unsigned i)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	struct pending_photo *pp = &s->pend[i];

	if (pp->fd >= 0) {
		close(pp->fd);
		if (photo_paths(s, pp->station, pp->id, dir, path, tmp) == 0)
			unlink(tmp);
	}
	s->pend[i] = s->pend[--s->npend];
}

static void pending_drop_id(struct sink *s, const char *id)
{
	for (unsigned i = 0; i < s->npend; i++) {
		if (strcmp(s->pend[i].id, id) == 0) {
			pending_drop(s, i);
			return;
		}
	}
}

/*
 * Make the batch's photos durable: start writeback of all of them, wait for each (the first
 * wait covers most of the others), rename each into place, then fsync each station directory
 * once. After this the photo rows of the batch may commit.
 */
static int pending_sync(struct sink *s)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	int ret;

	for (unsigned i = 0; i < s->npend; i++)
		sync_file_range(s->pend[i].fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	for (unsigned i = 0; i < s->npend; i++) {
		struct pending_photo *pp = &s->pend[i];

		if (fdatasync(pp->fd) < 0)
			return -errno;
	}
	for (unsigned i = 0; i < s->npend; i++) {
		struct pending_photo *pp = &s->pend[i];

		ret = photo_paths(s, pp->station, pp->id, dir, path, tmp);
		if (ret < 0)
			return ret;
		if (close(pp->fd) < 0) {
			pp->fd = -1;
			unlink(tmp);
			return -errno;
		}
		pp->fd = -1;
		if (rename(tmp, path) < 0) {
			ret = -errno;
			unlink(tmp);
			return ret;
		}
	}
	for (unsigned i = 0; i < s->npend; i++) {
		bool seen = false;

		for (unsigned j = 0; j < i && !seen; j++)
			seen = strcmp(s->pend[j].station, s->pend[i].station) == 0;
		if (seen)
			continue;
		ret = photo_paths(s, s->pend[i].station, s->pend[i].id, dir, path, tmp);
		if (ret == 0)
			ret = fsync_dir(dir);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Open the batch's write transaction (IMMEDIATE: sinks sharing the db take turns). */
static int batch_begin(struct sink *s)
{
	int ret;

	if (s->in_batch)
		return 0;
	ret = db_exec(s, "BEGIN IMMEDIATE");
	if (ret < 0)
		return ret;
	s->in_batch = true;
	s->batch_failed = false;
	return 0;
}

/*
 * Close the batch: photos synced and in place, one COMMIT (synchronous=FULL), and only then
 * the "stored" lines and the acks. On any failure the whole batch is rolled back and nothing
 * in it is acked: the stations send those records again and the dedupe by ID absorbs it.
 */
static void batch_commit(struct sink *s)
{
	unsigned nstored = 0;
	int ret = 0;

	if (s->in_batch) {
		ret = s->batch_failed ? -EIO : pending_sync(s);
		if (ret == 0)
			ret = db_exec(s, "COMMIT");
		if (ret < 0) {
			log_err(MOD,
				"batch of %u acks and %u photos not committed (%s): rolled back, "
				"the stations will send them again",
				s->nacks, s->npend, strerror(-ret));
			if (!sqlite3_get_autocommit(s->db))
				db_exec(s, "ROLLBACK");
			s->nacks = 0;
		}
		while (s->npend)
			pending_drop(s, s->npend - 1);
		s->in_batch = false;
		s->batch_failed = false;
	}
	for (unsigned i = 0; i < s->nacks; i++) {
		const struct ack_entry *a = &s->acks[i];

		if (!a->stored)
			continue;
		nstored++;
		s->cnt.stored++;
		/* the "stored" line on stdout records it; the log only at debug level */
		log_debug(MOD, "stored %s (photo: %s)", a->id, a->photo ? "yes" : "no");
		emit_unflushed("stored %s photo=%s bytes=%zu", a->id, a->photo ? "yes" : "no",
			       a->bytes);
	}
	if (nstored)
		fflush(stdout);
	if (nstored > 1)
		log_debug(MOD, "group commit: %u records", nstored);
	acks_flush(s);
}

/* ---- outcomes ---- */

static void reject(struct sink *s, const char *id, const char *reason)
{
	count(s, &s->cnt.rejected, "rejected");
	log_warn(MOD, "rejected %s: %s", id, reason);
	emit("rejected %s reason=%s", id, reason);
}

/* The record is complete in the open batch: "stored" and its ack follow the commit. */
static void stored(struct sink *s, const char *station, const char *id, bool photo, size_t bytes)
{
	ack_queue(s, station, id, true, photo, bytes);
}

/* The photo on disk does not belong to the record: forget it, the station sends it again. */
static void photo_discard(struct sink *s, const char *id, const struct photo_info *ph)
{
	pending_drop_id(s, id);
	if (unlink(ph->path) < 0 && errno != ENOENT)
		log_warn(MOD, "cannot remove %s: %s", ph->path, strerror(errno));
	db_photo_del(s, id);
}

static bool photo_matches(const struct photo_info *ph, const char *sha, int64_t bytes)
{
	return strcmp(ph->sha256, sha) == 0 && (bytes < 0 || bytes == ph->bytes);
}

/* A record that declares a photo is stored but incomplete: finish it if its photo is here. */
static void record_try_complete(struct sink *s, const struct rec_info *rec, size_t json_len)
{
	struct photo_info ph;

	if (db_photo_get(s, rec->id, &ph) < 0)
		return;
	if (!ph.found) {
		log_info(MOD, "%s stored, waiting for its photo", rec->id);
		return;
	}
	if (!photo_matches(&ph, rec->photo_sha256, rec->photo_bytes)) {
		photo_discard(s, rec->id, &ph);
		reject(s, rec->id, "photo_mismatch");
		return;
	}
	if (db_complete(s, rec->id, ph.path) < 0)
		return;
	stored(s, rec->station, rec->id, true, json_len);
}

/* ---- evidence records ---- */

static const char *json_string(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Validate the fields the sink relies on. @return 0, or -EINVAL with *ret_reason set. */
static int record_parse(const char *topic_station, const void *payload, size_t len,
			struct rec_info *rec, const char **ret_reason)
{
	const cJSON *seq, *photo;
	const char *id, *station, *schema;
	cJSON *root;
	int ret = -EINVAL;

	root = cJSON_ParseWithLength(payload, len);
	if (!cJSON_IsObject(root)) {
		*ret_reason = "bad_json";
		goto out;
	}
	id = json_string(root, "id");
	/* Echoed on "rejected" lines only when it cannot break them: "<station>-<digits>" chars. */
	if (id && name_is_safe(id, STATION_MAX + 1 + SEQ_DIGITS))
		snprintf(rec->id, sizeof(rec->id), "%s", id);
	station = json_string(root, "station");
	seq = cJSON_GetObjectItemCaseSensitive(root, "seq");
	schema = json_string(root, "schema");
	*ret_reason = "bad_record";
	if (!id || !station || !cJSON_IsNumber(seq) || !json_string(root, "prev"))
		goto out;
	if (schema && strcmp(schema, SCHEMA_V1) != 0) {
		*ret_reason = "schema";
		goto out;
	}
	if (!name_is_safe(station, STATION_MAX) || seq->valuedouble < 1 ||
	    seq->valuedouble > (double)SEQ_MAX ||
	    seq->valuedouble != (double)(uint64_t)seq->valuedouble)
		goto out;
	snprintf(rec->station, sizeof(rec->station), "%s", station);
	if (id_parse(id, station, &rec->seq) < 0 || rec->seq != (uint64_t)seq->valuedouble) {
		*ret_reason = "bad_id";
		goto out;
	}
	if (strcmp(topic_station, station) != 0) {
		*ret_reason = "station_mismatch";
		goto out;
	}
	rec->photo_bytes = -1;
	photo = cJSON_GetObjectItemCaseSensitive(root, "photo");
	if (photo && !cJSON_IsNull(photo)) {
		const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(photo, "bytes");
		const char *ct = json_string(photo, "content_type");

		*ret_reason = "bad_photo";
		if (!cJSON_IsObject(photo) ||
		    sha256_hex_normalise(json_string(photo, "sha256"), rec->photo_sha256) < 0)
			goto out;
		if (ct && strcmp(ct, PHOTO_CONTENT_TYPE) != 0)
			goto out;
		if (bytes) {
			if (!cJSON_IsNumber(bytes) || bytes->valuedouble < 0 ||
			    bytes->valuedouble > (double)PHOTO_BYTES_MAX)
				goto out;
			rec->photo_bytes = (int64_t)bytes->valuedouble;
		}
		rec->has_photo = true;
	}
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}

/* ---- station keys ---- */

/* DIR/<station>.pub; the station name was checked by name_is_safe(). */
static int key_path(const struct sink *s, const char *station, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s.pub", s->cfg->keys_dir, station) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* With --keys: the record's signature by its station's registered key. 0 or -errno (logged). */
static int signature_check(struct sink *s, const struct rec_info *rec, const void *payload,
			   size_t len)
{
	uint8_t pub[SIGN_PUBKEY_BYTES];
	char path[PATH_MAX];
	int r;

	if (!s->cfg->keys_dir)
		return 0;
	r = key_path(s, rec->station, path, sizeof(path));
	if (r == 0)
		r = sign_pubkey_load(path, pub);
	if (r < 0) {
		if (r == -ENOENT)
			log_warn(MOD, "%s: station %s has no registered key (%s)%s", rec->id,
				 rec->station, path,
				 s->cfg->tofu ? "; its status has not announced one yet" : "");
		else
			log_err(MOD, "%s: cannot read the key of station %s (%s): %s", rec->id,
				rec->station, path, strerror(-r));
		return r;
	}
	r = record_verify(payload, len, pub);
	if (r == -ENOMSG)
		log_warn(MOD, "%s: no signature in canonical form (CANONICAL.md)", rec->id);
	else if (r == -EBADMSG)
		log_warn(MOD, "%s: the signature does not verify with station %s's key", rec->id,
			 rec->station);
	else if (r < 0)
		log_err(MOD, "%s: signature check failed: %s", rec->id, strerror(-r));
	return r;
}

/* --tofu: a station's retained status; store its "pubkey" when the station has no key. */
static void on_status(struct sink *s, const char *station, const void *payload, size_t len)
{
	uint8_t pub[SIGN_PUBKEY_BYTES], have[SIGN_PUBKEY_BYTES];
	char path[PATH_MAX];
	const char *b64;
	cJSON *root;
	int r;

	if (!s->cfg->tofu || !name_is_safe(station, STATION_MAX))
		return;
	root = cJSON_ParseWithLength(payload, len);
	b64 = json_string(root, "pubkey");
	if (!b64)
		goto out; /* e.g. the last will: no key in it */
	if (sign_b64_decode(b64, pub, sizeof(pub)) < 0) {
		log_warn(MOD, "station %s: status carries a malformed pubkey", station);
		goto out;
	}
	if (key_path(s, station, path, sizeof(path)) < 0)
		goto out;
	r = sign_pubkey_load(path, have);
	if (r == 0) {
		if (memcmp(have, pub, sizeof(pub)) != 0) {
			log_err(MOD,
				"station %s announces public key %s, but %s holds another: the "
				"registered key stays (replace the file by hand if the station was "
				"re-keyed)",
				station, b64, path);
			emit("key %s mismatch", station);
		}
		goto out;
	}
	if (r != -ENOENT) {
		log_err(MOD, "cannot read %s: %s", path, strerror(-r));
		goto out;
	}
	r = sign_pubkey_save(path, pub);
	if (r == 0) {
		log_notice(MOD, "trust on first use: station %s, key %s, stored in %s", station,
			   b64, path);
		emit("key %s learned", station);
	} else if (r != -EEXIST) {
		log_err(MOD, "cannot store %s: %s", path, strerror(-r));
	}
out:
	cJSON_Delete(root);
}

static void on_evidence(struct sink *s, const char *topic_station, const void *payload, size_t len)
{
	struct rec_info rec = {0};
	char sha[SHA256_HEX_LEN + 1];
	struct photo_info ph;
	struct row_info row;
	const char *reason = "bad_record";

	if (record_parse(topic_station, payload, len, &rec, &reason) < 0) {
		reject(s, rec.id[0] ? rec.id : "-", reason);
		return;
	}
	if (signature_check(s, &rec, payload, len) < 0) {
		reject(s, rec.id, "signature");
		return;
	}
	if (sha256_hex(payload, len, sha) < 0 || db_get(s, rec.id, payload, len, &row) < 0)
		return; /* not acked: the station sends it again */
	if (row.found) {
		if (!row.same_bytes) {
			count(s, &s->cnt.conflicts, "conflicts");
			log_err(MOD,
				"CONFLICT: %s arrived again with different bytes (sha256 %s); "
				"the first copy is kept, this one is not acked",
				rec.id, sha);
			emit("rejected %s reason=conflict", rec.id);
			return;
		}
		count(s, &s->cnt.duplicates, "duplicates");
		emit("duplicate %s", rec.id);
		if (row.complete)
			ack_queue(s, rec.station, rec.id, false, false, 0);
		else if (rec.has_photo)
			record_try_complete(s, &rec, len);
		return;
	}
	if (!rec.has_photo) {
		if (db_insert(s, &rec, payload, len, sha, NULL, true) == 0)
			stored(s, rec.station, rec.id, false, len);
		return;
	}
	if (db_photo_get(s, rec.id, &ph) < 0)
		return;
	if (ph.found && photo_matches(&ph, rec.photo_sha256, rec.photo_bytes)) {
		if (db_insert(s, &rec, payload, len, sha, ph.path, true) == 0)
			stored(s, rec.station, rec.id, true, len);
		return;
	}
	if (ph.found) {
		photo_discard(s, rec.id, &ph);
		reject(s, rec.id, "photo_mismatch");
	}
	if (db_insert(s, &rec, payload, len, sha, NULL, false) == 0)
		log_info(MOD, "%s stored, waiting for its photo", rec.id);
}

/* ---- photos ---- */

/* Free @p; its buffer becomes the spare when it is larger than the one kept (up to a cap). */
static void partial_free(struct sink *s, struct partial *p)
{
	if (!p)
		return;
	if (p->cap > s->spare_cap && p->cap <= SPARE_BYTES_MAX) {
		free(s->spare);
		s->spare = p->buf;
		s->spare_cap = p->cap;
	} else {
		free(p->buf);
	}
	free(p->chunks);
	free(p);
}

static void partial_drop(struct sink *s, struct partial *p)
{
	for (unsigned i = 0; i < s->cfg->partials_max; i++) {
		if (s->partials[i] == p) {
			s->partials[i] = NULL;
			break;
		}
	}
	s->partial_bytes -= p->bytes;
	partial_free(s, p);
}

static struct partial *partial_find(struct sink *s, const char *id)
{
	for (unsigned i = 0; i < s->cfg->partials_max; i++)
		if (s->partials[i] && strcmp(s->partials[i]->id, id) == 0)
			return s->partials[i];
	return NULL;
}

/* Drop the oldest partial other than @keep. @return false when there is none. */
static bool partial_evict_oldest(struct sink *s, const struct partial *keep, const char *why)
{
	struct partial *old = NULL;

	for (unsigned i = 0; i < s->cfg->partials_max; i++) {
		struct partial *p = s->partials[i];

		if (p && p != keep && (!old || p->age < old->age))
			old = p;
	}
	if (!old)
		return false;
	log_warn(MOD, "dropping partial photo %s (%u/%u chunks, %zu bytes): %s", old->id, old->have,
		 old->nchunks, old->bytes, why);
	count(s, &s->cnt.partials_dropped, "partials_dropped");
	partial_drop(s, old);
	return true;
}

static struct partial *partial_new(struct sink *s, const char *station, const char *id,
				   const char *sha, unsigned nchunks)
{
	struct partial *p;
	unsigned slot;

	for (;;) {
		for (slot = 0; slot < s->cfg->partials_max; slot++)
			if (!s->partials[slot])
				break;
		if (slot < s->cfg->partials_max)
			break;
		partial_evict_oldest(s, NULL, "too many partial photos");
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->chunks = calloc(nchunks, sizeof(*p->chunks));
	if (!p->chunks) {
		free(p);
		return NULL;
	}
	snprintf(p->station, sizeof(p->station), "%s", station);
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->sha256, sizeof(p->sha256), "%s", sha);
	p->nchunks = nchunks;
	p->age = ++s->partial_age;
	s->partials[slot] = p;
	return p;
}

/*
 * Make room for @need bytes in @p's buffer. The first allocation guesses the whole photo from
 * the chunk in hand (@nchunks chunks of @len bytes; the last one is usually shorter) or takes
 * the spare buffer, so an in-order photo is never moved; later growth doubles.
 */
static int partial_reserve(struct sink *s, struct partial *p, size_t need, size_t len)
{
	size_t cap;
	uint8_t *buf;

	if (need <= p->cap)
		return 0;
	if (!p->buf && s->spare && s->spare_cap >= need) {
		p->buf = s->spare;
		p->cap = s->spare_cap;
		s->spare = NULL;
		s->spare_cap = 0;
		return 0;
	}
	if (p->buf)
		cap = p->cap * 2;
	else
		cap = len && p->nchunks <= PHOTO_BYTES_MAX / len ? p->nchunks * len : need;
	if (cap < need)
		cap = need;
	if (cap > PHOTO_BYTES_MAX && need <= PHOTO_BYTES_MAX)
		cap = PHOTO_BYTES_MAX;
	buf = realloc(p->buf, cap);
	if (!buf)
		return -ENOMEM;
	p->buf = buf;
	p->cap = cap;
	return 0;
}

/* Append chunk @idx (not yet received) to @p; the caller checked the byte caps. */
static int partial_add(struct sink *s, struct partial *p, unsigned idx, const void *data,
		       size_t len)
{
	struct chunk *c = &p->chunks[idx];
	int ret;

	ret = partial_reserve(s, p, p->bytes + len, len);
	if (ret < 0)
		return ret;
	if (len)
		memcpy(p->buf + p->bytes, data, len);
	c->off = p->bytes;
	c->len = len;
	c->have = true;
	p->have++;
	p->bytes += len;
	s->partial_bytes += len;
	return 0;
}

/*
 * Write the photo to a temporary file and leave it open in the batch's pending list:
 * batch_commit() syncs it, renames it to @path and syncs the directory before the commit, so
 * the photo is whole or absent and its row never commits before it.
 */
static int photo_write(struct sink *s, const struct partial *p, char *path, size_t pathlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX];
	struct pending_photo *pp;
	int fd, ret;

	ret = photo_paths(s, p->station, p->id, dir, final, tmp);
	if (ret < 0)
		return ret;
	if ((size_t)snprintf(path, pathlen, "%s", final) >= pathlen)
		return -ENAMETOOLONG;
	if (s->npend == BATCH_MAX)
		return -ENOBUFS; /* on_message() commits a full batch before this */
	pending_drop_id(s, p->id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) {
		/* the station's first photo: its directory, made durable in the photo directory */
		if (mkdir(dir, 0755) == 0) {
			ret = fsync_dir(s->cfg->photos_dir);
			if (ret < 0)
				return ret;
		} else if (errno != EEXIST) {
			return -errno;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return -errno;
	/* in index order; chunks that arrived in order are one contiguous run, one write */
	for (unsigned i = 0; i < p->nchunks;) {
		size_t off = p->chunks[i].off, end = off + p->chunks[i].len;

		for (i++; i < p->nchunks && p->chunks[i].off == end; i++)
			end += p->chunks[i].len;
		ret = end > off ? write_all(fd, p->buf + off, end - off) : 0;
		if (ret < 0)
			goto err_unlink;
	}
	pp = &s->pend[s->npend++];
	snprintf(pp->station, sizeof(pp->station), "%s", p->station);
	snprintf(pp->id, sizeof(pp->id), "%s", p->id);
	pp->fd = fd;
	return 0;

err_unlink:
	close(fd);
	unlink(tmp);
	return ret;
}

/* All chunks are here and their hash matches the property: store the photo. */
static void photo_commit(struct sink *s, const struct partial *p)
{
	char path[PATH_MAX];
	struct row_info row;
	int ret;

	if (db_get(s, p->id, NULL, 0, &row) < 0)
		return;
	if (row.found && row.complete) {
		log_debug(MOD, "photo %s again; its record is already complete", p->id);
		return;
	}
	/* An incomplete row always declares a photo (a record without one is complete). */
	if (row.found && strcmp(row.photo_sha256, p->sha256) != 0) {
		reject(s, p->id, "photo_mismatch");
		return;
	}
	ret = photo_write(s, p, path, sizeof(path));
	if (ret < 0) {
		log_err(MOD, "cannot write photo %s under %s: %s", p->id, s->cfg->photos_dir,
			strerror(-ret));
		return;
	}
	if (!row.found) {
		/* the normal order (chunks first): debug, not a line per photo */
		if (db_photo_put(s, p, path) == 0)
			log_debug(MOD, "photo %s stored (%zu bytes), waiting for its record", p->id,
				  p->bytes);
		return;
	}
	/* The photo row and the completion commit together, with the batch. */
	if (db_photo_put(s, p, path) < 0 || db_complete(s, p->id, path) < 0)
		return;
	log_info(MOD, "photo %s stored (%zu bytes)", p->id, p->bytes);
	stored(s, p->station, p->id, true, row.json_len);
}

static void partial_finish(struct sink *s, struct partial *p)
{
	char sha[SHA256_HEX_LEN + 1];

	if (partial_sha256_hex(p, sha) < 0) {
		log_err(MOD, "cannot hash photo %s", p->id);
	} else if (strcmp(sha, p->sha256) != 0) {
		log_warn(MOD, "photo %s: SHA-256 of the chunks is %s, the property says %s", p->id,
			 sha, p->sha256);
		reject(s, p->id, "photo_sha256");
	} else {
		photo_commit(s, p);
	}
	partial_drop(s, p);
}

/* The chunk user properties: sha256, chunks, content-type. */
static int chunk_props(const mosquitto_property *props, char sha[SHA256_HEX_LEN + 1],
		       unsigned *ret_chunks)
{
	const mosquitto_property *it = props;
	bool got_sha = false, got_chunks = false, bad = false, skip = false;
	unsigned chunks = 0;
	char *name, *value;

	while ((it = mosquitto_property_read_string_pair(it, MQTT_PROP_USER_PROPERTY, &name, &value,
							 skip))) {
		skip = true;
		if (strcmp(name, "sha256") == 0) {
			got_sha = sha256_hex_normalise(value, sha) == 0;
			bad |= !got_sha;
		} else if (strcmp(name, "chunks") == 0) {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(value, &end, 10);
			got_chunks = value[0] >= '0' && value[0] <= '9' && !*end && !errno &&
				     n >= 1 && n <= PHOTO_CHUNKS_MAX;
			bad |= !got_chunks;
			chunks = got_chunks ? (unsigned)n : 0;
		} else if (strcmp(name, "content-type") == 0) {
			bad |= strcmp(value, PHOTO_CONTENT_TYPE) != 0;
		}
		free(name);
		free(value);
	}
	if (!got_sha || !got_chunks || bad)
		return -EINVAL;
	*ret_chunks = chunks;
	return 0;
}

/* Whether this photo is already stored (the chunk is a re-send). */
static bool photo_already_have(struct sink *s, const char *id, const char *sha)
{
	struct photo_info ph;
	struct row_info row;

	if (db_get(s, id, NULL, 0, &row) == 0 && row.found && row.complete)
		return true;
	return db_photo_get(s, id, &ph) == 0 && ph.found && strcmp(ph.sha256, sha) == 0;
}

/* The shared chunks of @id, all @nchunks of them, into a new partial. */
static struct partial *chunk_shared_load(struct sink *s, const char *station, const char *id,
					 const char *sha, unsigned nchunks)
{
	sqlite3_stmt *st = s->st_chunk_load;
	struct partial *p;
	int rc;

	p = partial_new(s, station, id, sha, nchunks);
	if (!p)
		return NULL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 idx = sqlite3_column_int64(st, 0);
		const void *data = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);

		if (idx < 0 || idx >= nchunks || p->chunks[idx].have ||
		    p->bytes + len > PHOTO_BYTES_MAX ||
		    partial_add(s, p, (unsigned)idx, data, len) < 0)
			break;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (p->have != nchunks) {
		log_err(MOD, "photo %s: cannot load its %u shared chunks (%s)", id, nchunks,
			rc == SQLITE_ROW || rc == SQLITE_DONE ? "bad rows" : sqlite3_errmsg(s->db));
		partial_drop(s, p);
		return NULL;
	}
	return p;
}

/*
 * --share: the broker hands each message of a shared subscription to one member of the group
 * (mosquitto: round robin per message), so the chunks of one photo are spread over the sinks.
 * They meet in the shared db instead of in memory: each chunk is stored in the batch's
 * transaction (BEGIN IMMEDIATE, so the sinks take turns), and the sink whose transaction
 * holds the last one assembles, verifies and stores the photo and drops the chunk rows. A
 * record and its photo may also land on different sinks: the records and photos tables
 * already join them whichever comes second, as without --share.
 */
static void chunk_shared(struct sink *s, const char *station, const char *id, unsigned idx,
			 const char *sha, unsigned nchunks, const void *payload, size_t len)
{
	sqlite3_stmt *st;
	struct partial *p;
	sqlite3_int64 have = 0;
	int rc;

	if (len > PHOTO_BYTES_MAX) {
		reject(s, id, "photo_too_large");
		return;
	}
	st = s->st_chunk_head;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (strcmp((const char *)sqlite3_column_text(st, 0), sha) != 0 ||
				 sqlite3_column_int64(st, 1) != nchunks)) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		log_warn(MOD, "photo %s changed while being assembled; starting over", id);
		sqlite3_bind_text(s->st_chunk_del, 1, id, -1, SQLITE_STATIC);
		if (db_step_done(s, s->st_chunk_del) < 0)
			return;
	} else {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	st = s->st_chunk_put;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, idx);
	sqlite3_bind_text(st, 3, station, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, nchunks);
	sqlite3_bind_blob(st, 6, len ? payload : "", (int)len, SQLITE_STATIC);
	if (db_step_done(s, st) < 0)
		return;
	st = s->st_chunk_count;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		have = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	log_debug(MOD, "shared chunk %u/%u of %s (%zu bytes), %lld here", idx + 1, nchunks, id, len,
		  (long long)have);
	if (have != nchunks)
		return;
	p = chunk_shared_load(s, station, id, sha, nchunks);
	sqlite3_bind_text(s->st_chunk_del, 1, id, -1, SQLITE_STATIC);
	db_step_done(s, s->st_chunk_del);
	if (p)
		partial_finish(s, p);
}

static void on_photo_chunk(struct sink *s, const char *station, const char *id, const char *index,
			   const void *payload, size_t len, const mosquitto_property *props)
{
	char sha[SHA256_HEX_LEN + 1];
	unsigned nchunks = 0;
	unsigned long idx;
	struct partial *p;
	uint64_t seq;
	char *end;

	if (!name_is_safe(station, STATION_MAX) || id_parse(id, station, &seq) < 0) {
		reject(s, "-", "bad_chunk");
		return;
	}
	errno = 0;
	idx = strtoul(index, &end, 10);
	if (index[0] < '0' || index[0] > '9' || *end || errno ||
	    chunk_props(props, sha, &nchunks) < 0 || idx >= nchunks) {
		reject(s, id, "bad_chunk");
		return;
	}
	if (s->cfg->share_group) {
		if (photo_already_have(s, id, sha))
			log_debug(MOD, "chunk %lu of %s again; the photo is already stored", idx,
				  id);
		else
			chunk_shared(s, station, id, (unsigned)idx, sha, nchunks, payload, len);
		return;
	}
	p = partial_find(s, id);
	if (p && (strcmp(p->sha256, sha) != 0 || p->nchunks != nchunks)) {
		log_warn(MOD, "photo %s changed while being assembled; starting over", id);
		partial_drop(s, p);
		p = NULL;
	}
	if (!p) {
		if (photo_already_have(s, id, sha)) {
			log_debug(MOD, "chunk %lu of %s again; the photo is already stored", idx,
				  id);
			return;
		}
		p = partial_new(s, station, id, sha, nchunks);
		if (!p) {
			log_err(MOD, "out of memory for photo %s", id);
			return;
		}
	}
	if (p->chunks[idx].have) {
		log_debug(MOD, "chunk %lu of %s again", idx, id);
		return;
	}
	if (p->bytes + len > PHOTO_BYTES_MAX || len > s->cfg->partial_bytes_max) {
		reject(s, id, "photo_too_large");
		partial_drop(s, p);
		return;
	}
	while (s->partial_bytes + len > s->cfg->partial_bytes_max)
		if (!partial_evict_oldest(s, p, "partial photo bytes cap reached"))
			break;
	if (s->partial_bytes + len > s->cfg->partial_bytes_max) {
		reject(s, id, "photo_too_large");
		partial_drop(s, p);
		return;
	}
	if (partial_add(s, p, (unsigned)idx, payload, len) < 0) {
		log_err(MOD, "out of memory for photo %s", id);
		partial_drop(s, p);
		return;
	}
	log_debug(MOD, "chunk %lu/%u of %s (%zu bytes)", idx + 1, nchunks, id, len);
	if (p->have == p->nchunks)
		partial_finish(s, p);
}

/* ---- order requests ---- */

static void orders_free(struct sink *s)
{
	for (size_t i = 0; i < s->norders; i++)
		free(s->orders[i].json);
	free(s->orders);
	cJSON_Delete(s->orders_root);
	s->orders = NULL;
	s->orders_root = NULL;
	s->norders = 0;
}

static int orders_load(struct sink *s, const char *path)
{
	const cJSON *it;
	char *text = NULL;
	struct stat st;
	size_t len = 0;
	int ret = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (st.st_size > ORDERS_FILE_MAX) {
		ret = -EFBIG;
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		ret = -ENOMEM;
		goto out;
	}
	len = fread(text, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		ret = -EIO;
		goto out;
	}
	s->orders_root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsArray(s->orders_root)) {
		ret = -EINVAL;
		goto out;
	}
	s->orders = calloc((size_t)cJSON_GetArraySize(s->orders_root) + 1, sizeof(*s->orders));
	if (!s->orders) {
		ret = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, s->orders_root)
	{
		struct order_entry *o = &s->orders[s->norders];
		const char *oid = json_string(it, "order_id"), *trk = json_string(it, "tracking");

		if (!cJSON_IsObject(it)) {
			ret = -EINVAL;
			goto out;
		}
		o->order_id = oid ? oid : "";
		o->tracking = trk ? trk : "";
		o->json = cJSON_PrintUnformatted(it);
		if (!o->json) {
			ret = -ENOMEM;
			goto out;
		}
		s->norders++;
	}
out:
	free(text);
	fclose(f);
	if (ret < 0)
		orders_free(s);
	return ret;
}

/* By order_id first, then by tracking number; "" matches nothing. */
static const struct order_entry *orders_find(const struct sink *s, const char *oid, const char *trk)
{
	for (size_t i = 0; oid[0] && i < s->norders; i++)
		if (strcmp(s->orders[i].order_id, oid) == 0)
			return &s->orders[i];
	for (size_t i = 0; trk[0] && i < s->norders; i++)
		if (strcmp(s->orders[i].tracking, trk) == 0)
			return &s->orders[i];
	return NULL;
}

static void on_order_request(struct sink *s, const void *payload, size_t len,
			     const mosquitto_property *props)
{
	static const char not_found[] = "{\"error\":\"not_found\"}";
	static const char bad_request[] = "{\"error\":\"bad_request\"}";
	const struct order_entry *o = NULL;
	mosquitto_property *out = NULL;
	char *resp_topic = NULL;
	void *corr = NULL;
	uint16_t corr_len = 0;
	const char *reply;
	cJSON *req;
	int rc;

	mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &resp_topic, false);
	if (!resp_topic) {
		log_warn(MOD, "order request without a response topic; ignored");
		return;
	}
	mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false);
	req = cJSON_ParseWithLength(payload, len);
	if (cJSON_IsObject(req)) {
		const char *oid = json_string(req, "order_id"), *trk = json_string(req, "tracking");

		o = orders_find(s, oid ? oid : "", trk ? trk : "");
		reply = o ? o->json : not_found;
		log_info(MOD, "order request order_id=\"%s\" tracking=\"%s\": %s", oid ? oid : "",
			 trk ? trk : "", o ? "found" : "not found");
	} else {
		reply = bad_request;
		log_warn(MOD, "order request is not a JSON object");
	}
	if (corr && mosquitto_property_add_binary(&out, MQTT_PROP_CORRELATION_DATA, corr,
						  corr_len) != MOSQ_ERR_SUCCESS) {
		log_err(MOD, "out of memory answering an order request");
		goto out;
	}
	rc = mosquitto_publish_v5(s->mosq, NULL, resp_topic, (int)strlen(reply), reply, 1, false,
				  out);
	if (rc != MOSQ_ERR_SUCCESS)
		log_warn(MOD, "order response to %s not sent: %s", resp_topic,
			 mosquitto_strerror(rc));
out:
	mosquitto_property_free_all(&out);
	cJSON_Delete(req);
	free(corr);
	free(resp_topic);
}

/* ---- MQTT ---- */

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct sink *s = userdata;
	char buf[TOPIC_MAX];
	char *lv[TOPIC_LEVELS_MAX];
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	const void *payload = len ? msg->payload : "";
	int n;

	(void)mosq;
	n = topic_split(msg->topic, buf, sizeof(buf), lv);
	if (n < 5 || strcmp(lv[0], "sealbench") != 0 || strcmp(lv[1], "v1") != 0 ||
	    strcmp(lv[2], s->cfg->site) != 0) {
		log_warn(MOD, "unexpected topic %s", msg->topic);
		return;
	}
	if (n == 5 && strcmp(lv[3], "orders") == 0 && strcmp(lv[4], "request") == 0) {
		on_order_request(s, payload, len, props);
	} else if (n == 5 && strcmp(lv[4], "status") == 0) {
		on_status(s, lv[3], payload, len);
	} else if ((n == 5 && strcmp(lv[4], "evidence") == 0) ||
		   (n == 7 && strcmp(lv[4], "photo") == 0)) {
		/* Not acked when the db is unusable: the station sends it again. */
		if (batch_begin(s) < 0)
			return;
		if (n == 5)
			on_evidence(s, lv[3], payload, len);
		else
			on_photo_chunk(s, lv[3], lv[5], lv[6], payload, len, props);
		/* each message adds at most one ack and one photo: never past BATCH_MAX */
		if (s->nacks == BATCH_MAX || s->npend == BATCH_MAX)
			batch_commit(s);
	} else {
		log_warn(MOD, "unexpected topic %s", msg->topic);
	}
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc, int flags,
		       const mosquitto_property *props)
{
	struct sink *s = userdata;
	char t_evidence[TOPIC_MAX], t_photo[TOPIC_MAX], t_orders[TOPIC_MAX], t_status[TOPIC_MAX];
	char share[TOPIC_MAX] = "";
	/* the status comes first: its retained copy carries the key a --tofu sink needs */
	char *subs[] = {t_status, t_evidence, t_photo, t_orders};
	int nsubs = s->cfg->tofu ? 4 : 3;
	int ret;

	(void)props;
	if (rc != 0) {
		log_warn(MOD, "broker refused the connection: %s", mosquitto_reason_string(rc));
		return;
	}
	s->backoff_ms = BACKOFF_MIN_MS;
	log_info(MOD, "connected to %s:%u as %s (session present: %s)", s->cfg->host, s->cfg->port,
		 s->cfg->client_id, flags & 1 ? "yes" : "no");
	/* Subscribe every time: after a broker restart without persistence the session is gone. */
	/*
	 * --share: records, photos and order requests through the group's shared subscription
	 * (one member gets each message); the status stays a plain subscription: a shared one
	 * gets no retained messages, and every member needs the stations' keys.
	 */
	if (s->cfg->share_group)
		snprintf(share, sizeof(share), "$share/%s/", s->cfg->share_group);
	snprintf(t_evidence, sizeof(t_evidence), "%s" TOPIC_ROOT "/%s/+/evidence", share,
		 s->cfg->site);
	snprintf(t_photo, sizeof(t_photo), "%s" TOPIC_ROOT "/%s/+/photo/#", share, s->cfg->site);
	snprintf(t_orders, sizeof(t_orders), "%s" TOPIC_ROOT "/%s/orders/request", share,
		 s->cfg->site);
	topic_build(t_status, sizeof(t_status), s->cfg->site, "+", "status");
	ret = mosquitto_subscribe_multiple(mosq, NULL, nsubs, s->cfg->tofu ? subs : subs + 1, 1, 0,
					   NULL);
	if (ret != MOSQ_ERR_SUCCESS)
		log_err(MOD, "subscribe failed: %s", mosquitto_strerror(ret));
}

static void on_subscribe(struct mosquitto *mosq, void *userdata, int mid, int qos_count,
			 const int *granted, const mosquitto_property *props)
{
	(void)mosq;
	(void)userdata;
	(void)mid;
	(void)props;
	for (int i = 0; i < qos_count; i++) {
		if (granted[i] > 2) {
			log_err(MOD, "broker refused subscription %d: %s", i,
				mosquitto_reason_string(granted[i]));
			return;
		}
	}
	emit("ready");
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc,
			  const mosquitto_property *props)
{
	(void)mosq;
	(void)userdata;
	(void)props;
	if (rc != 0)
		log_warn(MOD, "disconnected: %s", mosquitto_strerror(rc));
}

static int mqtt_setup(struct sink *s)
{
	int rc;

	s->mosq = mosquitto_new(s->cfg->client_id, false, s);
	if (!s->mosq)
		return -ENOMEM;
	rc = mosquitto_int_option(s->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_int_option(s->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_property_add_int32(&s->connect_props,
						  MQTT_PROP_SESSION_EXPIRY_INTERVAL,
						  s->cfg->session_expiry_s);
	if (rc != MOSQ_ERR_SUCCESS)
		return rc == MOSQ_ERR_NOMEM ? -ENOMEM : -EINVAL;
	mosquitto_connect_v5_callback_set(s->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(s->mosq, on_disconnect);
	mosquitto_subscribe_v5_callback_set(s->mosq, on_subscribe);
	mosquitto_message_v5_callback_set(s->mosq, on_message);
	s->backoff_ms = BACKOFF_MIN_MS;
	return 0;
}

static uint64_t backoff_next(struct sink *s)
{
	uint64_t d = s->backoff_ms;

	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
	return d;
}

/* Give the broker up to SHUTDOWN_FLUSH_MS to take what is queued (acks, DISCONNECT). */
static void mqtt_flush(struct sink *s)
{
	uint64_t deadline = clock_now_ns() + SHUTDOWN_FLUSH_MS * NSEC_PER_MSEC;

	for (;;) {
		int sock = mosquitto_socket(s->mosq);
		uint64_t now = clock_now_ns();
		struct pollfd pfd;

		if (sock < 0 || !mosquitto_want_write(s->mosq) || now >= deadline)
			return;
		pfd.fd = sock;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)((deadline - now) / NSEC_PER_MSEC) + 1) <= 0)
			return;
		if (mosquitto_loop_write(s->mosq, 1) != MOSQ_ERR_SUCCESS)
			return;
	}
}

/*
 * Read while messages keep arriving, into one batch: the loop returns when the socket has
 * been idle for BATCH_IDLE_MS (or at once when nothing was read into a batch), or when
 * on_message() found the batch full and committed it. The broker-level PUBACKs go out as we
 * read, so the broker keeps its window to us full; the acks wait for the commit.
 */
static void sink_read_batch(struct sink *s)
{
	for (;;) {
		struct pollfd pfd;
		int sock;

		if (mosquitto_loop_read(s->mosq, 1) != MOSQ_ERR_SUCCESS)
			return;
		sock = mosquitto_socket(s->mosq);
		if (sock < 0)
			return;
		if (mosquitto_want_write(s->mosq))
			mosquitto_loop_write(s->mosq, 1);
		pfd = (struct pollfd){.fd = sock, .events = POLLIN};
		if (poll(&pfd, 1, s->in_batch ? BATCH_IDLE_MS : 0) <= 0 ||
		    !(pfd.revents & (POLLIN | POLLERR | POLLHUP)))
			return;
	}
}

/*
 * The loop: the broker socket (read; write only while libmosquitto wants to), the signalfd,
 * keepalive at least every POLL_MAX_MS, and reconnects with backoff while the socket is down.
 */
static int sink_run(struct sink *s, int sfd)
{
	uint64_t next_connect_ns = 0;
	bool have_sock = false, warned = false;

	for (;;) {
		uint64_t now = clock_now_ns();
		int sock = mosquitto_socket(s->mosq);
		struct pollfd pfd[2];
		int timeout = POLL_MAX_MS, n;

		if (sock < 0 && now >= next_connect_ns) {
			int rc = mosquitto_connect_bind_v5(s->mosq, s->cfg->host, (int)s->cfg->port,
							   KEEPALIVE_S, NULL, s->connect_props);

			if (rc == MOSQ_ERR_SUCCESS) {
				have_sock = true;
				warned = false;
			} else {
				uint64_t d = backoff_next(s);

				log_printf(warned ? LOG_LVL_DEBUG : LOG_LVL_WARN, MOD,
					   "cannot connect to %s:%u: %s; retrying every <= %llu ms",
					   s->cfg->host, s->cfg->port,
					   rc == MOSQ_ERR_ERRNO ? strerror(errno)
								: mosquitto_strerror(rc),
					   (unsigned long long)BACKOFF_MAX_MS);
				warned = true;
				next_connect_ns = now + d * NSEC_PER_MSEC;
			}
			sock = mosquitto_socket(s->mosq);
		}
		if (sock < 0 && next_connect_ns > now &&
		    (next_connect_ns - now) / NSEC_PER_MSEC < (uint64_t)timeout)
			timeout = (int)((next_connect_ns - now) / NSEC_PER_MSEC) + 1;

		pfd[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = sock, .events = POLLIN};
		if (sock >= 0 && mosquitto_want_write(s->mosq))
			pfd[1].events |= POLLOUT;
		n = poll(pfd, sock >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && (pfd[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				log_notice(MOD, "%s: stopping", strsignal((int)si.ssi_signo));
			return 0;
		}
		if (sock >= 0) {
			if (n > 0 && (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)))
				sink_read_batch(s);
			batch_commit(s);
			if (mosquitto_socket(s->mosq) >= 0 && n > 0 && (pfd[1].revents & POLLOUT))
				mosquitto_loop_write(s->mosq, 1);
			if (mosquitto_socket(s->mosq) >= 0)
				mosquitto_loop_misc(s->mosq);
		}
		if (have_sock && mosquitto_socket(s->mosq) < 0) {
			have_sock = false;
			log_warn(MOD, "lost the broker; reconnecting");
			next_connect_ns = clock_now_ns() + backoff_next(s) * NSEC_PER_MSEC;
		}
	}
}

static void sink_close(struct sink *s)
{
	if (s->partials)
		for (unsigned i = 0; i < s->cfg->partials_max; i++)
			partial_free(s, s->partials[i]);
	free(s->partials);
	free(s->spare);
	s->spare = NULL;
	mosquitto_property_free_all(&s->connect_props);
	mosquitto_destroy(s->mosq);
	orders_free(s);
	db_close(s);
}

/* ---- stats and export ---- */

static int cmd_stats(struct sink *s)
{
	sqlite3_stmt *st = NULL;
	cJSON *root, *stations;
	char *out = NULL;
	int ret = -ENOMEM, rc;

	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(
		s->db,
		"SELECT (SELECT COUNT(*) FROM records),"
		" (SELECT COUNT(*) FROM records WHERE complete = 0),"
		" (SELECT COUNT(*) FROM records WHERE complete = 1 AND photo_path IS NOT NULL)",
		-1, &st, NULL);
	if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
		goto err_db;
	cJSON_AddNumberToObject(root, "records", (double)sqlite3_column_int64(st, 0));
	cJSON_AddNumberToObject(root, "incomplete", (double)sqlite3_column_int64(st, 1));
	cJSON_AddNumberToObject(root, "photos", (double)sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	st = NULL;

	rc = sqlite3_prepare_v2(s->db, "SELECT name, value FROM counters ORDER BY name", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		goto err_db;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cJSON_AddNumberToObject(root, (const char *)sqlite3_column_text(st, 0),
					(double)sqlite3_column_int64(st, 1));
	if (rc != SQLITE_DONE)
		goto err_db;
	sqlite3_finalize(st);
	st = NULL;

	/*
	 * Per station: sequence numbers start at 1 and have no holes, so every missing seq up to
	 * the highest is a gap; a record whose "prev" is not the hash of the record before it
	 * (when that one is here) is a chain break.
	 */
	stations = cJSON_AddObjectToObject(root, "stations");
	if (!stations)
		goto err;
	rc = sqlite3_prepare_v2(s->db,
				"SELECT station, seq, sha256, json FROM records"
				" ORDER BY station, seq",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		goto err_db;
	{
		cJSON *cur = NULL;
		char last_station[STATION_MAX + 1] = "", last_sha[SHA256_HEX_LEN + 1] = "";
		uint64_t cnt = 0, max_seq = 0, last_seq = 0, breaks = 0;

		for (;;) {
			const char *station;
			uint64_t seq;

			rc = sqlite3_step(st);
			station = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : "";
			if (cur && (rc != SQLITE_ROW || strcmp(station, last_station) != 0)) {
				cJSON_AddNumberToObject(cur, "count", (double)cnt);
				cJSON_AddNumberToObject(cur, "max_seq", (double)max_seq);
				cJSON_AddNumberToObject(cur, "gaps", (double)(max_seq - cnt));
				cJSON_AddNumberToObject(cur, "chain_breaks", (double)breaks);
				cur = NULL;
			}
			if (rc != SQLITE_ROW)
				break;
			seq = (uint64_t)sqlite3_column_int64(st, 1);
			if (!cur) {
				cur = cJSON_AddObjectToObject(stations, station);
				if (!cur)
					goto err;
				snprintf(last_station, sizeof(last_station), "%s", station);
				cnt = max_seq = last_seq = breaks = 0;
			}
			if (last_seq && seq == last_seq + 1) {
				cJSON *rec =
					cJSON_ParseWithLength(sqlite3_column_blob(st, 3),
							      (size_t)sqlite3_column_bytes(st, 3));
				const char *prev = json_string(rec, "prev");

				if (!prev || strcasecmp(prev, last_sha) != 0)
					breaks++;
				cJSON_Delete(rec);
			}
			cnt++;
			max_seq = seq > max_seq ? seq : max_seq;
			last_seq = seq;
			snprintf(last_sha, sizeof(last_sha), "%s",
				 (const char *)sqlite3_column_text(st, 2));
		}
	}
	if (rc != SQLITE_DONE)
		goto err_db;
	out = cJSON_Print(root);
	if (!out)
		goto err;
	puts(out);
	ret = 0;
	goto err;

err_db:
	log_err(MOD, "sqlite: %s", sqlite3_errmsg(s->db));
	ret = -EIO;
err:
	free(out);
	sqlite3_finalize(st);
	cJSON_Delete(root);
	return ret;
}

static int cmd_export(struct sink *s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "SELECT json FROM records ORDER BY station, seq", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		goto err_db;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *json = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);

		if (len && (memchr(json, '\n', len) || memchr(json, '\r', len))) {
			/* One record per line: a pretty-printed payload is re-printed compactly. */
			cJSON *j = cJSON_ParseWithLength(json, len);
			char *flat = j ? cJSON_PrintUnformatted(j) : NULL;

			if (flat)
				puts(flat);
			free(flat);
			cJSON_Delete(j);
			continue;
		}
		fwrite(json ? json : "", 1, len, stdout);
		putchar('\n');
	}
	if (rc != SQLITE_DONE)
		goto err_db;
	sqlite3_finalize(st);
	return fflush(stdout) == 0 ? 0 : -EIO;

err_db:
	log_err(MOD, "sqlite: %s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return -EIO;
}

/* ---- main ---- */

/* The help text is laid out by hand. */
/* clang-format off */
#define USAGE_TEXT \
"Usage: %1$s --site S --db PATH --photos DIR [--host H] [--port N] [--orders FILE] ...\n" \
"       %1$s --db PATH stats\n" \
"       %1$s --db PATH export\n" \
"\n" \
"Plays \"central\" for sealbench stations: stores their evidence records and photos and\n" \
"acknowledges what it has committed, so the stations may forget it.\n" \
"\n" \
"It subscribes (MQTT 5, QoS 1, persistent session) to\n" \
"  sealbench/v1/S/+/evidence      records; stored once per ID in the sqlite db PATH\n" \
"  sealbench/v1/S/+/photo/#       photo chunks .../photo/<id>/<chunk> with user properties\n" \
"                                 sha256, chunks, content-type; reassembled, checked against\n" \
"                                 the property and the record's photo.sha256, written to\n" \
"                                 DIR/<station>/<id>.jpg\n" \
"  sealbench/v1/S/orders/request  {\"order_id\":..,\"tracking\":..}; answered on the request's\n" \
"                                 response topic with its correlation data: the order from\n" \
"                                 --orders FILE (a JSON array), or {\"error\":\"not_found\"}\n" \
"and publishes {\"ids\":[...]} on sealbench/v1/S/<station>/ack once a record (and its photo,\n" \
"if it declares one) is committed. A duplicate of a complete record is acked again.\n" \
"\n" \
"With --keys DIR each record's Ed25519 signature (firmware/schema/CANONICAL.md) must verify\n" \
"with DIR/<station>.pub, the station's registered public key (base64 of the raw 32 bytes,\n" \
"one line); anything else is rejected with reason=signature and not acked. With --tofu it\n" \
"also subscribes to sealbench/v1/S/+/status and stores the \"pubkey\" a station announces\n" \
"there when DIR has no key for it yet (trust on first use); it never replaces a key.\n" \
"Without --keys signatures are not checked.\n" \
"\n" \
"Options:\n" \
"  -H, --host H             broker host (default 127.0.0.1)\n" \
"  -p, --port N             broker port (default 1883)\n" \
"  -s, --site S             site ID in the topics\n" \
"  -d, --db PATH            sqlite database (created if missing)\n" \
"  -P, --photos DIR         photo directory (created if missing)\n" \
"  -o, --orders FILE        orders to answer order requests with\n" \
"  -k, --keys DIR           stations' public keys, DIR/<station>.pub; check signatures\n" \
"      --tofu               learn unknown stations' keys from their status (needs --keys;\n" \
"                           DIR is created if missing)\n" \
"  -c, --client-id ID       MQTT client ID; keep it stable, it names the persistent session\n" \
"                           (default sealbench-sink-S)\n" \
"  -e, --session-expiry S   seconds the broker keeps the session while the sink is away\n" \
"                           (default %2$u)\n" \
"      --share GROUP        MQTT 5 shared subscription $share/GROUP/...: the sinks of a\n" \
"                           group (same --db and --photos, own --client-id each) split\n" \
"                           the load; photo chunks are assembled through the db\n" \
"      --max-partials N     photos assembled at once; past it the oldest is dropped\n" \
"                           (default %3$u)\n" \
"      --max-partial-bytes N  their bytes together (default %4$llu)\n" \
"  -v, --verbose            debug logging on stderr\n" \
"  -h, --help               this text\n" \
"  -V, --version            version\n" \
"\n" \
"Output on stdout, one line each, flushed (logs go to stderr):\n" \
"  ready                                 subscribed (printed again after each reconnect)\n" \
"  stored <id> photo=<yes|no> bytes=<n>  committed complete; n = bytes of the record JSON\n" \
"  duplicate <id>                        seen before with the same bytes\n" \
"  key <station> learned|mismatch        --tofu stored a key / the status announces another\n" \
"  rejected <id> reason=<r>              not stored, not acked; <id> is \"-\" when unusable;\n" \
"                                        r: bad_json, bad_record, bad_id, schema,\n" \
"                                        station_mismatch, signature (none, bad, or no key\n" \
"                                        for the station), bad_photo, bad_chunk, photo_sha256\n" \
"                                        (chunks vs their property), photo_mismatch (photo vs\n" \
"                                        record), photo_too_large, conflict (same ID, other\n" \
"                                        bytes: the first copy is kept)\n" \
"\n" \
"Commands on an existing db (safe while the sink runs):\n" \
"  stats    JSON counts: records, incomplete, photos, duplicates, conflicts, rejected,\n" \
"           partials_dropped, stations: {<st>: {count, max_seq, gaps, chain_breaks}}\n" \
"  export   every stored record's JSON, one per line, in (station, seq) order\n" \
"\n" \
"Example:\n" \
"  %1$s --port 1883 --site dc1 --db /tmp/central.db --photos /tmp/photos \\\n" \
"      --orders orders.json\n" \
"  mosquitto_rr -V 5 -p 1883 -t sealbench/v1/dc1/orders/request -e resp/st01 \\\n" \
"      -m '{\"order_id\":\"SO-1001\",\"tracking\":\"\"}'\n" \
"  %1$s --db /tmp/central.db stats\n" \
"\n" \
"SIGINT/SIGTERM stop it cleanly. It reconnects (with backoff) when the broker goes away.\n"
/* clang-format on */

static void usage(FILE *f)
{
	fprintf(f, USAGE_TEXT, get_prog_name(), SESSION_EXPIRY_DEFAULT_S, PARTIALS_MAX_DEFAULT,
		(unsigned long long)PARTIAL_BYTES_MAX_DEFAULT);
}

enum {
	OPT_MAX_PARTIALS = 0x100,
	OPT_MAX_PARTIAL_BYTES,
	OPT_TOFU,
	OPT_SHARE,
};

static enum cmd parse_args(int argc, char **argv, struct sink_cfg *cfg)
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"site", required_argument, NULL, 's'},
		{"db", required_argument, NULL, 'd'},
		{"photos", required_argument, NULL, 'P'},
		{"orders", required_argument, NULL, 'o'},
		{"keys", required_argument, NULL, 'k'},
		{"tofu", no_argument, NULL, OPT_TOFU},
		{"share", required_argument, NULL, OPT_SHARE},
		{"client-id", required_argument, NULL, 'c'},
		{"session-expiry", required_argument, NULL, 'e'},
		{"max-partials", required_argument, NULL, OPT_MAX_PARTIALS},
		{"max-partial-bytes", required_argument, NULL, OPT_MAX_PARTIAL_BYTES},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	enum cmd cmd = CMD_RUN;
	int c;

	while ((c = getopt_long(argc, argv, "H:p:s:d:P:o:k:c:e:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			cfg->host = optarg;
			break;
		case 'p':
			cfg->port = (unsigned)parse_uint_or_die("--port", optarg, 1, 65535);
			break;
		case 's':
			cfg->site = optarg;
			break;
		case 'd':
			cfg->db_path = optarg;
			break;
		case 'P':
			cfg->photos_dir = optarg;
			break;
		case 'o':
			cfg->orders_path = optarg;
			break;
		case 'k':
			cfg->keys_dir = optarg;
			break;
		case OPT_SHARE:
			if (!optarg[0] || strpbrk(optarg, "/+#"))
				die("--share %s: a group name without '/', '+' or '#'", optarg);
			cfg->share_group = optarg;
			break;
		case OPT_TOFU:
			cfg->tofu = true;
			break;
		case 'c':
			cfg->client_id = optarg;
			break;
		case 'e':
			cfg->session_expiry_s = (unsigned)parse_uint_or_die("--session-expiry",
									    optarg, 0, UINT32_MAX);
			break;
		case OPT_MAX_PARTIALS:
			cfg->partials_max =
				(unsigned)parse_uint_or_die("--max-partials", optarg, 1, 4096);
			break;
		case OPT_MAX_PARTIAL_BYTES:
			cfg->partial_bytes_max =
				parse_uint_or_die("--max-partial-bytes", optarg, 1, UINT64_MAX / 2);
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case 'V':
			print_version();
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "Try '%s --help'.\n", get_prog_name());
			exit(EXIT_FAILURE);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind], "stats") == 0)
			cmd = CMD_STATS;
		else if (strcmp(argv[optind], "export") == 0)
			cmd = CMD_EXPORT;
		else
			die("unknown command '%s' (stats, export; none to run the sink)",
			    argv[optind]);
		if (optind + 1 < argc)
			die("unexpected argument '%s'", argv[optind + 1]);
	}
	if (!cfg->db_path)
		die("--db PATH is required (try --help)");
	if (cmd != CMD_RUN)
		return cmd;
	if (!cfg->site || !cfg->photos_dir)
		die("--site and --photos are required to run the sink (try --help)");
	if (!name_is_safe(cfg->site, STATION_MAX) || strlen(cfg->site) >= SITE_MAX)
		die("--site '%s': use letters, digits, '_', '-', '.'", cfg->site);
	if (cfg->tofu && !cfg->keys_dir)
		die("--tofu needs --keys DIR (where learned keys are stored)");
	return cmd;
}

/* SIGINT/SIGTERM arrive through a signalfd; SIGPIPE is ignored (writes report EPIPE). */
static int signals_setup(void)
{
	sigset_t mask;
	int sfd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return sfd < 0 ? -errno : sfd;
}

int main(int argc, char **argv)
{
	struct sink_cfg cfg = {
		.host = "127.0.0.1",
		.port = 1883,
		.session_expiry_s = SESSION_EXPIRY_DEFAULT_S,
		.partials_max = PARTIALS_MAX_DEFAULT,
		.partial_bytes_max = PARTIAL_BYTES_MAX_DEFAULT,
	};
	char client_id[SITE_MAX + 32];
	struct sink s = {.cfg = &cfg};
	char *photos_abs = NULL;
	enum cmd cmd;
	int ret, sfd;

	cmd = parse_args(argc, argv, &cfg);
	if (cmd != CMD_RUN) {
		ret = db_open(&s, cfg.db_path, false);
		if (ret == 0)
			ret = cmd == CMD_STATS ? cmd_stats(&s) : cmd_export(&s);
		db_close(&s);
		return ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}

	if (!cfg.client_id) {
		snprintf(client_id, sizeof(client_id), "sealbench-sink-%s", cfg.site);
		cfg.client_id = client_id;
	}
	/* every line is flushed by emit() itself, a batch's "stored" lines together */
	setvbuf(stdout, NULL, _IOFBF, BUFSIZ);
	/* keep photo buffers and 64 KB MQTT payloads resident: no mmap/brk churn per message */
	mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD);
	sfd = signals_setup();
	if (sfd < 0)
		die_errno(sfd, "signalfd");
	if (mkdir(cfg.photos_dir, 0755) < 0 && errno != EEXIST)
		die_perror("cannot create %s", cfg.photos_dir);
	if (cfg.keys_dir) {
		struct stat st;

		if (cfg.tofu && mkdir(cfg.keys_dir, 0755) < 0 && errno != EEXIST)
			die_perror("cannot create %s", cfg.keys_dir);
		if (stat(cfg.keys_dir, &st) < 0)
			die_perror("--keys %s", cfg.keys_dir);
		if (!S_ISDIR(st.st_mode))
			die("--keys %s: not a directory", cfg.keys_dir);
		log_info(MOD, "signatures checked against %s/<station>.pub%s", cfg.keys_dir,
			 cfg.tofu ? " (trust on first use from the status)" : "");
	} else {
		log_warn(MOD, "no --keys DIR: record signatures are NOT checked");
	}
	/* The db keeps absolute photo paths: readers need not know the sink's cwd. */
	photos_abs = realpath(cfg.photos_dir, NULL);
	if (!photos_abs)
		die_perror("%s", cfg.photos_dir);
	cfg.photos_dir = photos_abs;
	s.partials = calloc(cfg.partials_max, sizeof(*s.partials));
	if (!s.partials)
		die("out of memory");
	ret = db_open(&s, cfg.db_path, true);
	if (ret == 0)
		ret = db_prepare(&s);
	if (ret < 0) {
		sink_close(&s);
		die_errno(ret, "cannot use database %s", cfg.db_path);
	}
	if (cfg.orders_path) {
		ret = orders_load(&s, cfg.orders_path);
		if (ret < 0) {
			sink_close(&s);
			die_errno(ret, "cannot load orders from %s (a JSON array of objects)",
				  cfg.orders_path);
		}
		log_info(MOD, "%zu orders loaded from %s", s.norders, cfg.orders_path);
	}
	mosquitto_lib_init();
	ret = mqtt_setup(&s);
	if (ret == 0) {
		ret = sink_run(&s, sfd);
		batch_commit(&s);
		if (mosquitto_socket(s.mosq) >= 0) {
			mosquitto_disconnect_v5(s.mosq, 0, NULL);
			mqtt_flush(&s);
		}
	}
	if (ret < 0)
		log_err(MOD, "stopped: %s", strerror(-ret));
	/* "conflict" appears in the logs only when there was one: harnesses grep for it. */
	log_info(MOD, "stored %llu, duplicates %llu, rejected %llu, partial photos dropped %llu",
		 (unsigned long long)s.cnt.stored, (unsigned long long)s.cnt.duplicates,
		 (unsigned long long)s.cnt.rejected, (unsigned long long)s.cnt.partials_dropped);
	if (s.cnt.conflicts)
		log_err(MOD, "%llu conflicting copies (same ID, different bytes) seen",
			(unsigned long long)s.cnt.conflicts);
	sink_close(&s);
	mosquitto_lib_cleanup();
	close(sfd);
	free(photos_abs);
	return ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
