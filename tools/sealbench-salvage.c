/* SPDX-License-Identifier: MIT */
/*
 * sealbench-salvage - read what is still readable from a damaged or quarantined outbox.
 *
 * The station moves a damaged outbox.db aside (outbox.db.corrupt-<UTC time>, with its -wal)
 * and starts a fresh one. Records in the old file that central had not acknowledged are only
 * there. This tool gets them out, row by row, tolerating errors:
 *   1. copy the file and its -wal to a private temporary directory (the evidence itself is
 *      never opened for writing: sqlite would replay and checkpoint the WAL into it);
 *   2. collect the seq numbers the file knows about from every place that still answers: a
 *      walk of the table that restarts past damaged pages, the three indexes, max(seq);
 *   3. read each seq from 1 to the highest one by point lookup, then its photo (schema 2: from
 *      the `photos` table; schema 1: from the row); if the photo's pages are damaged, read
 *      the row again without it;
 *   4. check each record (SHA-256 of the JSON against its stored hash; the photo against its
 *      SHA-256) and write the good ones (and, with --keep-bad, the others, marked) as JSON
 *      lines and/or into a fresh outbox database the station can use.
 * sqlite 3.40's recovery extension (sqlite3_recover, the CLI's .recover) is not in Debian's
 * libsqlite3; the sqlite3 command-line shell has .recover built in and can reach rows under
 * damaged interior pages that SQL lookups cannot: see --help.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "src/outbox.h"
#include "tools/common.h"

/* Largest seq we probe past the highest one any index or walk reported. */
#define SALVAGE_PROBE_PAST 64
/* Temporary directory template. */
#define SALVAGE_TMP	 "/tmp/sealbench-salvage-XXXXXX"
#define SALVAGE_COPY_BUF 65536
#define SALVAGE_NAME_MAX 64

static const char usage[] =
	"Usage: sealbench-salvage [OPTIONS] DAMAGED_DB\n"
	"\n"
	"Read every record that can still be read from a damaged outbox (the station moves one\n"
	"aside as outbox.db.corrupt-<UTC time> when its integrity check fails) and write it out.\n"
	"The damaged file is never modified: it and its -wal are copied to a temporary directory\n"
	"first. Each record is checked: SHA-256 of its JSON against the stored hash, the photo\n"
	"against its SHA-256. Only records that pass are written unless --keep-bad is given.\n"
	"\n"
	"Options:\n"
	"  -j, --jsonl FILE     one JSON object per record and line ('-' = stdout): seq, id, "
	"state\n"
	"                       (queued, sent, acked), created_ms, sent_ms, acked_ms, hash, "
	"hash_ok,\n"
	"                       photo_sha256, photo_len, photo (\"ok\", \"none\", \"pruned\",\n"
	"                       \"unreadable\", \"bad\"), record (the exact record JSON, as a "
	"string)\n"
	"  -p, --photos DIR     write each good photo as DIR/<id>.jpg\n"
	"  -o, --outbox FILE    write the records into a new outbox database (FILE must not "
	"exist).\n"
	"                       To put it back on the station: stop sealbenchd, move it to the\n"
	"                       data_dir as outbox.db, start sealbenchd; unacked records are sent\n"
	"                       again (central drops duplicates by id) and the chain continues\n"
	"                       from the last salvaged record.\n"
	"      --keep-bad       also write records whose hash or photo does not verify (marked\n"
	"                       hash_ok false / photo \"bad\" in the JSON lines)\n"
	"  -q, --quiet          no summary on stderr\n"
	"  -V, --version        print version\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 every record found was read and verified; 1 some records or photos were\n"
	"lost or did not verify (named on stderr); 2 bad arguments; 3 nothing could be read.\n"
	"A record whose photo is unreadable is still written (photo \"unreadable\"); its photo\n"
	"SHA-256 stays in the record, so central can tell the photo is missing.\n"
	"\n"
	"Examples:\n"
	"  sealbench-salvage -j salvaged.jsonl "
	"/var/lib/sealbench/outbox.db.corrupt-20240611T081500Z\n"
	"  sealbench-salvage -o /tmp/outbox.db -p /tmp/photos outbox.db.corrupt-20240611T081500Z\n"
	"\n"
	"When the summary says rows are unreachable (damaged interior pages), the sqlite3 shell "
	"can\n"
	"often get more of them out, then this tool verifies and converts what it recovered:\n"
	"  sqlite3 outbox.db.corrupt-... .recover | sqlite3 /tmp/recovered.db\n"
	"  sealbench-salvage -o /tmp/outbox.db /tmp/recovered.db\n";

enum photo_status {
	PH_NONE,
	PH_OK,
	PH_PRUNED,
	PH_UNREADABLE,
	PH_BAD,
};

static const char *const photo_names[] = {
	[PH_NONE] = "none", [PH_OK] = "ok", [PH_PRUNED] = "pruned", [PH_UNREADABLE] = "unreadable",
	[PH_BAD] = "bad",
};

static const char *const state_names[] = {"queued", "sent", "acked"};

struct rec {
	uint64_t seq;
	char id[SALVAGE_NAME_MAX];
	int state;
	int64_t created_ms, sent_ms, acked_ms;
	bool has_sent, has_acked;
	char hash[OUTBOX_HASH_HEX];
	char tracking[SALVAGE_NAME_MAX];
	char photo_sha256[OUTBOX_HASH_HEX];
	int64_t photo_len;
	char *json;
	size_t json_len;
	uint8_t *photo;
	size_t photo_size;
	bool hash_ok;
	enum photo_status ph;
};

struct opts {
	const char *jsonl;
	const char *photos;
	const char *outbox;
	bool keep_bad;
	bool quiet;
	const char *input;
};

struct counts {
	uint64_t max_seq;
	uint64_t read;
	uint64_t good;
	uint64_t bad;
	uint64_t unreadable;
	uint64_t photo_lost;
	uint64_t missing;
	uint64_t written;
};

static void sha256_hex(const void *data, size_t len, char out[OUTBOX_HASH_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32)
		return;
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src ? (const char *)src : "");
}

static int copy_file(const char *from, const char *to)
{
	char buf[SALVAGE_COPY_BUF];
	FILE *in = fopen(from, "rb");
	FILE *out;
	size_t n;
	int r = 0;

	if (!in)
		return -errno;
	out = fopen(to, "wbx");
	if (!out) {
		r = -errno;
		fclose(in);
		return r;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (fwrite(buf, 1, n, out) != n) {
			r = -EIO;
			break;
		}
	}
	if (ferror(in))
		r = -EIO;
	fclose(in);
	if (fclose(out) != 0 && r == 0)
		r = -errno;
	return r;
}

/* Track the highest seq any source reports. */
static void saw(struct counts *c, sqlite3_int64 seq)
{
	if (seq > 0 && (uint64_t)seq > c->max_seq)
		c->max_seq = (uint64_t)seq;
}

/* Walk one source of seq numbers; errors end the walk (other sources carry on). */
static void walk(sqlite3 *db, const char *sql, struct counts *c)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW)
		saw(c, sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
}

/*
 * The table walk: ordered by rowid, restarted past a damaged page with growing jumps (each
 * restart descends from the root, so it finds the next leaf that still reads).
 */
static void walk_table(sqlite3 *db, struct counts *c)
{
	sqlite3_stmt *st = NULL;
	uint64_t after = 0, jump = 1;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT seq FROM records WHERE seq > ?1 ORDER BY seq", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	for (;;) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			after = (uint64_t)sqlite3_column_int64(st, 0);
			saw(c, (sqlite3_int64)after);
			jump = 1;
		}
		if (rc == SQLITE_DONE || after > c->max_seq + SALVAGE_PROBE_PAST * jump)
			break;
		after += jump;
		jump *= 2;
		if (jump > (1u << 20))
			break;
	}
	sqlite3_finalize(st);
}

static void rec_done(struct rec *r)
{
	free(r->json);
	free(r->photo);
	memset(r, 0, sizeof(*r));
}

/*
 * Where the photos are: schema 2 keeps them in a table of their own (`photos`, by seq),
 * schema 1 in the records row (column `photo`). A file moved aside may be either.
 */
static const char *photo_sql(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool v2 = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table'"
				   " AND name = 'photos'",
			       -1, &st, NULL) == SQLITE_OK)
		v2 = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return v2 ? "SELECT photo FROM photos WHERE seq = ?1"
		  : "SELECT photo FROM records WHERE seq = ?1";
}

/*
 * A damaged overflow chain shows up at step or at column access: after reading the columns
 * of a SQLITE_ROW, the connection's error code says whether that access failed.
 */
static int column_rc(sqlite3 *db, int rc)
{
	int err = sqlite3_errcode(db);

	return rc == SQLITE_ROW && err != SQLITE_ROW && err != SQLITE_OK ? err : rc;
}

/* Read the photo of @p seq into @p r (none: r->photo stays NULL). SQLITE_OK/error. */
static int read_photo(sqlite3 *db, const char *sql, uint64_t seq, struct rec *r)
{
	sqlite3_stmt *st = NULL;
	const void *blob;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		blob = sqlite3_column_blob(st, 0);
		r->photo_size = (size_t)sqlite3_column_bytes(st, 0);
		r->photo = malloc(r->photo_size ? r->photo_size : 1);
		if (!r->photo)
			die("out of memory");
		if (r->photo_size)
			memcpy(r->photo, blob, r->photo_size);
	}
	rc = column_rc(db, rc);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Read one row; @p photo_from NULL skips the photo, otherwise it is photo_sql()'s query.
 * SQLITE_ROW/DONE/error (an unreadable photo is an error: read again without it).
 */
static int read_row(sqlite3 *db, uint64_t seq, const char *photo_from, struct rec *r)
{
	static const char sql[] =
		"SELECT seq, id, state, created_ms, sent_ms, acked_ms, hash, tracking,"
		" photo_sha256, photo_len, json FROM records WHERE seq = ?1";
	sqlite3_stmt *st = NULL;
	const void *blob;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		goto out;
	r->seq = seq;
	copy_text(r->id, sizeof(r->id), sqlite3_column_text(st, 1));
	r->state = sqlite3_column_int(st, 2);
	if (r->state < 0 || r->state > 2)
		r->state = 0;
	r->created_ms = sqlite3_column_int64(st, 3);
	r->has_sent = sqlite3_column_type(st, 4) != SQLITE_NULL;
	r->sent_ms = sqlite3_column_int64(st, 4);
	r->has_acked = sqlite3_column_type(st, 5) != SQLITE_NULL;
	r->acked_ms = sqlite3_column_int64(st, 5);
	copy_text(r->hash, sizeof(r->hash), sqlite3_column_text(st, 6));
	copy_text(r->tracking, sizeof(r->tracking), sqlite3_column_text(st, 7));
	copy_text(r->photo_sha256, sizeof(r->photo_sha256), sqlite3_column_text(st, 8));
	r->photo_len = sqlite3_column_int64(st, 9);
	blob = sqlite3_column_text(st, 10);
	r->json_len = (size_t)sqlite3_column_bytes(st, 10);
	r->json = malloc(r->json_len + 1);
	if (!r->json)
		die("out of memory");
	if (r->json_len)
		memcpy(r->json, blob, r->json_len);
	r->json[r->json_len] = '\0';
out:
	rc = column_rc(db, rc);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW && photo_from) {
		int prc = read_photo(db, photo_from, seq, r);

		if (prc != SQLITE_OK)
			rc = prc;
	}
	return rc;
}

static void verify(struct rec *r)
{
	char h[OUTBOX_HASH_HEX];

	sha256_hex(r->json, r->json_len, h);
	r->hash_ok = r->json_len && strcmp(h, r->hash) == 0;
	if (!r->photo_sha256[0]) {
		r->ph = PH_NONE;
	} else if (!r->photo) {
		r->ph = r->state == OUTBOX_ACKED ? PH_PRUNED : PH_UNREADABLE;
	} else {
		sha256_hex(r->photo, r->photo_size, h);
		r->ph = strcmp(h, r->photo_sha256) == 0 ? PH_OK : PH_BAD;
	}
}

static void write_jsonl(FILE *f, const struct rec *r)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (!o)
		die("out of memory");
	cJSON_AddNumberToObject(o, "seq", (double)r->seq);
	cJSON_AddStringToObject(o, "id", r->id);
	cJSON_AddStringToObject(o, "state", state_names[r->state]);
	cJSON_AddNumberToObject(o, "created_ms", (double)r->created_ms);
	if (r->has_sent)
		cJSON_AddNumberToObject(o, "sent_ms", (double)r->sent_ms);
	if (r->has_acked)
		cJSON_AddNumberToObject(o, "acked_ms", (double)r->acked_ms);
	cJSON_AddStringToObject(o, "hash", r->hash);
	cJSON_AddBoolToObject(o, "hash_ok", r->hash_ok);
	if (r->photo_sha256[0])
		cJSON_AddStringToObject(o, "photo_sha256", r->photo_sha256);
	cJSON_AddNumberToObject(o, "photo_len", (double)r->photo_len);
	cJSON_AddStringToObject(o, "photo", photo_names[r->ph]);
	cJSON_AddStringToObject(o, "record", r->json);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		die("out of memory");
	if (fprintf(f, "%s\n", s) < 0)
		die_perror("write JSON lines");
	cJSON_free(s);
}

static void write_photo(const char *dir, const struct rec *r)
{
	char path[PATH_MAX];
	FILE *f;

	if (strchr(r->id, '/') || !r->id[0])
		return;
	snprintf(path, sizeof(path), "%s/%s.jpg", dir, r->id);
	f = fopen(path, "wbx");
	if (!f)
		die_perror("%s", path);
	if (fwrite(r->photo, 1, r->photo_size, f) != r->photo_size || fclose(f) != 0)
		die_perror("%s", path);
}

/* A new outbox: outbox_open() creates the schema; rows go in as they were. */
static sqlite3 *new_outbox(const char *path, sqlite3_stmt **ret_ins,
			   sqlite3_stmt **ret_ins_photo)
{
	struct outbox_cfg cfg = {.path = path, .quota_bytes = UINT64_MAX / 2};
	struct outbox *ob = NULL;
	struct stat sb;
	sqlite3 *db = NULL;
	int r;

	if (stat(path, &sb) == 0)
		die("%s exists: give a new file name (nothing was written)", path);
	r = outbox_open(&cfg, &ob);
	if (r < 0)
		die_errno(r, "create outbox %s", path);
	outbox_close(ob);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO records(seq, id, state, created_ms, sent_ms, acked_ms,"
			       " bytes, hash, tracking, photo_sha256, photo_len, json, photo_kept)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
			       -1, ret_ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO photos(seq, photo) VALUES (?1, ?2)", -1,
			       ret_ins_photo, NULL) != SQLITE_OK)
		die("%s: %s", path, sqlite3_errmsg(db));
	return db;
}

static void insert(sqlite3 *db, sqlite3_stmt *st, sqlite3_stmt *ph, const struct rec *r)
{
	bool photo = r->photo && r->ph == PH_OK;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->seq);
	sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, r->state);
	sqlite3_bind_int64(st, 4, r->created_ms);
	if (r->has_sent)
		sqlite3_bind_int64(st, 5, r->sent_ms);
	else
		sqlite3_bind_null(st, 5);
	if (r->has_acked)
		sqlite3_bind_int64(st, 6, r->acked_ms);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7,
			   (sqlite3_int64)r->json_len + (photo ? (sqlite3_int64)r->photo_size : 0));
	sqlite3_bind_text(st, 8, r->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, r->tracking, -1, SQLITE_STATIC);
	if (r->photo_sha256[0])
		sqlite3_bind_text(st, 10, r->photo_sha256, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 10);
	sqlite3_bind_int64(st, 11, r->photo_len);
	sqlite3_bind_text64(st, 12, r->json, r->json_len, SQLITE_STATIC, SQLITE_UTF8);
	sqlite3_bind_int(st, 13, photo ? 1 : 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		die("insert seq %" PRIu64 ": %s", r->seq, sqlite3_errmsg(db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (!photo)
		return;
	sqlite3_bind_int64(ph, 1, (sqlite3_int64)r->seq);
	sqlite3_bind_blob64(ph, 2, r->photo, r->photo_size, SQLITE_STATIC);
	if (sqlite3_step(ph) != SQLITE_DONE)
		die("insert photo of seq %" PRIu64 ": %s", r->seq, sqlite3_errmsg(db));
	sqlite3_reset(ph);
	sqlite3_clear_bindings(ph);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"jsonl", required_argument, NULL, 'j'},  {"photos", required_argument, NULL, 'p'},
		{"outbox", required_argument, NULL, 'o'}, {"keep-bad", no_argument, NULL, 'K'},
		{"quiet", no_argument, NULL, 'q'},	  {"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},	  {0},
	};
	int c;

	*o = (struct opts){0};
	while ((c = getopt_long(argc, argv, "j:p:o:qVh", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->jsonl = optarg;
			break;
		case 'p':
			o->photos = optarg;
			break;
		case 'o':
			o->outbox = optarg;
			break;
		case 'K':
			o->keep_bad = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'V':
			print_version();
			exit(0);
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fprintf(stderr, "Try '%s --help'.\n", get_prog_name());
			exit(2);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: one DAMAGED_DB is required\nTry '%s --help'.\n",
			get_prog_name(), get_prog_name());
		exit(2);
	}
	o->input = argv[optind];
	if (!o->jsonl && !o->outbox && !o->photos) {
		fprintf(stderr,
			"%s: say where to write: --jsonl FILE, --outbox FILE and/or --photos DIR\n"
			"Try '%s --help'.\n",
			get_prog_name(), get_prog_name());
		exit(2);
	}
}

int main(int argc, char **argv)
{
	char tmp[] = SALVAGE_TMP;
	char copy[sizeof(SALVAGE_TMP) + SALVAGE_NAME_MAX], from[PATH_MAX], to[PATH_MAX];
	struct counts c = {0};
	sqlite3_stmt *ins = NULL, *ins_photo = NULL;
	const char *photo_from;
	sqlite3 *out_db = NULL;
	sqlite3 *db = NULL;
	FILE *jl = NULL;
	struct opts o;
	int rc, r;

	parse_opts(argc, argv, &o);
	if (access(o.input, R_OK) < 0)
		die_perror("%s", o.input);
	if (!mkdtemp(tmp))
		die_perror("mkdtemp");
	snprintf(copy, sizeof(copy), "%s/damaged.db", tmp);
	r = copy_file(o.input, copy);
	if (r < 0)
		die_errno(r, "copy %s", o.input);
	snprintf(from, sizeof(from), "%s-wal", o.input);
	snprintf(to, sizeof(to), "%s-wal", copy);
	if (access(from, F_OK) == 0) {
		r = copy_file(from, to);
		if (r < 0)
			die_errno(r, "copy %s", from);
	}

	rc = sqlite3_open_v2(copy, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK)
		die("%s: %s", o.input, sqlite3_errmsg(db));
	/* read what we can even when the schema says otherwise */
	sqlite3_exec(db, "PRAGMA cell_size_check = ON", NULL, NULL, NULL);

	walk_table(db, &c);
	walk(db, "SELECT max(seq) FROM records", &c);
	photo_from = photo_sql(db);
	walk(db, "SELECT seq FROM records INDEXED BY sqlite_autoindex_records_1", &c);
	walk(db, "SELECT seq FROM records INDEXED BY records_tracking", &c);
	walk(db, "SELECT seq FROM records INDEXED BY records_unacked WHERE state < 2", &c);
	if (!c.max_seq) {
		fprintf(stderr, "%s: no record could be read (%s)\n", o.input, sqlite3_errmsg(db));
		sqlite3_close(db);
		unlink(to);
		unlink(copy);
		rmdir(tmp);
		return 3;
	}

	if (o.jsonl) {
		jl = strcmp(o.jsonl, "-") == 0 ? stdout : fopen(o.jsonl, "wx");
		if (!jl)
			die_perror("%s", o.jsonl);
	}
	if (o.photos && mkdir(o.photos, 0750) < 0 && errno != EEXIST)
		die_perror("%s", o.photos);
	if (o.outbox)
		out_db = new_outbox(o.outbox, &ins, &ins_photo);

	for (uint64_t seq = 1; seq <= c.max_seq + SALVAGE_PROBE_PAST; seq++) {
		struct rec rec = {0};

		rc = read_row(db, seq, photo_from, &rec);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			/* the photo's overflow pages, or the row's leaf: try without the photo */
			rec_done(&rec);
			rc = read_row(db, seq, NULL, &rec);
		}
		if (rc == SQLITE_DONE) {
			if (seq <= c.max_seq) {
				c.missing++;
				if (!o.quiet)
					fprintf(stderr, "seq %" PRIu64 ": not in the file\n", seq);
			}
			rec_done(&rec);
			continue;
		}
		if (rc != SQLITE_ROW) {
			c.unreadable++;
			if (!o.quiet)
				fprintf(stderr, "seq %" PRIu64 ": unreadable: %s\n", seq,
					sqlite3_errstr(rc));
			rec_done(&rec);
			continue;
		}
		saw(&c, (sqlite3_int64)seq);
		c.read++;
		verify(&rec);
		if (rec.hash_ok && rec.ph == PH_UNREADABLE) {
			c.good++;
			c.photo_lost++;
			if (!o.quiet)
				fprintf(stderr,
					"seq %" PRIu64 " (%s): record intact, photo unreadable\n",
					seq, rec.id);
		} else if (rec.hash_ok && rec.ph != PH_BAD) {
			c.good++;
		} else {
			c.bad++;
			if (!o.quiet)
				fprintf(stderr, "seq %" PRIu64 " (%s): %s\n", seq, rec.id,
					!rec.hash_ok ? "record does not match its hash"
						     : "photo does not match its SHA-256");
		}
		if ((rec.hash_ok && rec.ph != PH_BAD) || o.keep_bad) {
			if (jl)
				write_jsonl(jl, &rec);
			if (o.photos && rec.ph == PH_OK)
				write_photo(o.photos, &rec);
			if (out_db && rec.hash_ok)
				insert(out_db, ins, ins_photo, &rec);
			c.written++;
		}
		rec_done(&rec);
	}

	if (jl && jl != stdout && fclose(jl) != 0)
		die_perror("%s", o.jsonl);
	if (jl == stdout)
		fflush(stdout);
	if (out_db) {
		sqlite3_finalize(ins);
		sqlite3_finalize(ins_photo);
		if (sqlite3_exec(out_db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			die("%s: %s", o.outbox, sqlite3_errmsg(out_db));
		sqlite3_close(out_db);
	}
	sqlite3_close(db);
	unlink(to);
	snprintf(to, sizeof(to), "%s-shm", copy);
	unlink(to);
	unlink(copy);
	rmdir(tmp);

	if (!o.quiet)
		fprintf(stderr,
			"%s: highest seq %" PRIu64 ": %" PRIu64 " read (%" PRIu64
			" verified, %" PRIu64 " failed verification, %" PRIu64
			" photos lost), %" PRIu64 " unreadable, %" PRIu64
			" not in the file; %" PRIu64 " written\n",
			o.input, c.max_seq, c.read, c.good, c.bad, c.photo_lost, c.unreadable,
			c.missing, c.written);
	return c.bad || c.unreadable || c.missing || c.photo_lost ? 1 : 0;
}
