/* SPDX-License-Identifier: MIT */
/*
 * tools/sealbench-verify.c - check a chain of evidence records end to end.
 *
 * The problem: a claim months later rests on records that passed through a station's outbox,
 * a broker, central's database and an export. Anyone holding the station's public key must be
 * able to tell whether what they hold is exactly what the station sealed, all of it, in
 * order. So, per station, every record must
 *   - carry a good Ed25519 signature by the station's key (firmware/schema/CANONICAL.md),
 *   - have id = "<station>-<seq, 10 digits>" and seq = previous seq + 1 (starting at 1),
 *   - have prev = SHA-256 of the previous record's published bytes (64 zeros for seq 1),
 *   - and, when it declares a photo, have that photo with the declared SHA-256 and size;
 * and with --expect-last the chain must reach that seq (a cut-off tail is invisible
 * otherwise: the station's status publishes its last_seq).
 *
 * Input: JSON lines as `sealbench-sink --db X export` writes them (photos from --photos DIR,
 * the sink's layout DIR/<station>/<id>.jpg), or a station's outbox (--outbox, sqlite opened
 * read-only; photos from its blobs; a blob pruned after central's ack is counted, not an
 * error, since the record still binds its hash).
 *
 * Output: one line per bad record, "bad <id> (line N): <reasons>" ("bad line N: ..." when
 * the record has no usable id; "outbox row N" for an outbox), then one summary line,
 * "ok: ..." or "FAILED: ... first bad record <id> (line N): <reason>". After a bad record the
 * checks go on from it (its seq and hash become the reference), so one edit shows as that record
 * and, through prev, the next.
 *
 * Exit status: 0 only if every check passed; 1 otherwise (also for usage and I/O errors).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "src/record.h"
#include "src/sign.h"
#include "tools/common.h"

#define SHORT_ID_MAX   32 /* station IDs: 1..32 of [A-Za-z0-9._-] (record.h, config.c) */
#define HASH_HEX_LEN   64 /* SHA-256 in hex */
#define HASH_HEX_MAX   (HASH_HEX_LEN + 1)
#define STATIONS_MAX   4096		    /* distinct stations in one input */
#define REASONS_MAX    1024		    /* the reasons of one bad record, joined */
#define LABEL_MAX      (RECORD_ID_MAX + 32) /* "st01-0000000042" or "line 123456" */
#define LINE_MAX_BYTES (16u << 20)	    /* one record; real ones are a few KiB */
#define PHOTO_MAX      (64u << 20)	    /* one photo file; camera JPEGs are < 2 MiB */
#define ZERO_HASH      "0000000000000000000000000000000000000000000000000000000000000000"

/* Outbox row states (src/outbox.h enum outbox_state). */
#define OUTBOX_STATE_ACKED 2

struct verify_cfg {
	const char *input;    /* JSON lines file, "-" for stdin */
	const char *outbox;   /* or a station outbox */
	const char *keys_dir; /* DIR/<station>.pub */
	const char *pubkey;   /* one key file for every station */
	const char *photos;   /* DIR/<station>/<id>.jpg, JSON lines input */
	uint64_t expect_last; /* 0: not given */
	bool quiet;	      /* no "bad" lines, only the summary */
};

/* Where one station's chain stands. */
struct chain {
	char station[SHORT_ID_MAX + 1];
	uint64_t last_seq; /* 0: nothing seen yet */
	char last_id[RECORD_ID_MAX];
	char last_hash[HASH_HEX_MAX];
	int key_state; /* 0 not loaded, 1 loaded, -errno failed */
	uint8_t pub[SIGN_PUBKEY_BYTES];
};

/* One record to check, with what its source adds. */
struct item {
	const char *json;
	size_t len;
	char where[LABEL_MAX]; /* "line 7" or "outbox row 7": for records without a usable id */
	bool outbox;	       /* the fields below come from an outbox row */
	uint64_t row_seq;
	const char *row_id;
	const char *row_hash;
	const char *row_photo_sha256; /* NULL when the row has none */
	const uint8_t *photo;	      /* NULL: none, or pruned */
	size_t photo_len;
	int row_state;
};

struct verify {
	const struct verify_cfg *cfg;
	struct chain *chains;
	size_t nchains;
	uint64_t records;
	uint64_t bad;
	uint64_t photos_checked;
	uint64_t photos_pruned;
	uint64_t photos_unchecked;
	char first_bad[2 * LABEL_MAX + 4];
	char first_reason[REASONS_MAX];
	/* the record being checked: its ID (or where it is), and where it is */
	char label[LABEL_MAX];
	char where[LABEL_MAX];
	char reasons[REASONS_MAX];
	size_t reasons_len;
};

/* ---- helpers ---- */

static void hex_encode(const unsigned char *md, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t len, char out[HASH_HEX_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen * 2 != HASH_HEX_LEN)
		return -EIO;
	hex_encode(md, mdlen, out);
	return 0;
}

/* A station ID that is also safe as a file name: 1..32 of [A-Za-z0-9._-], no leading '.'. */
static bool station_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SHORT_ID_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static bool hex64_ok(const char *s)
{
	if (strlen(s) != HASH_HEX_LEN)
		return false;
	for (size_t i = 0; i < HASH_HEX_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static const char *json_string(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* ---- problems ---- */

static void reason(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Add a reason why the current record is bad. */
static void reason(struct verify *v, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (v->reasons_len + 3 >= sizeof(v->reasons))
		return;
	if (v->reasons_len) {
		memcpy(v->reasons + v->reasons_len, "; ", 2);
		v->reasons_len += 2;
	}
	va_start(ap, fmt);
	n = vsnprintf(v->reasons + v->reasons_len, sizeof(v->reasons) - v->reasons_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		v->reasons_len += (size_t)n;
	if (v->reasons_len >= sizeof(v->reasons))
		v->reasons_len = sizeof(v->reasons) - 1;
}

static void record_begin(struct verify *v, const char *label)
{
	snprintf(v->label, sizeof(v->label), "%s", label);
	snprintf(v->where, sizeof(v->where), "%s", label);
	v->reasons[0] = '\0';
	v->reasons_len = 0;
}

/* Report the current record if anything was wrong with it. */
static void record_end(struct verify *v)
{
	char name[2 * LABEL_MAX + 4];

	if (!v->reasons_len)
		return;
	if (strcmp(v->label, v->where) != 0)
		snprintf(name, sizeof(name), "%s (%s)", v->label, v->where);
	else
		snprintf(name, sizeof(name), "%s", v->label);
	v->bad++;
	if (v->bad == 1) {
		snprintf(v->first_bad, sizeof(v->first_bad), "%s", name);
		snprintf(v->first_reason, sizeof(v->first_reason), "%s", v->reasons);
	}
	if (!v->cfg->quiet)
		printf("bad %s: %s\n", name, v->reasons);
}

/* ---- chains and keys ---- */

static struct chain *chain_get(struct verify *v, const char *station)
{
	struct chain *c;

	for (size_t i = 0; i < v->nchains; i++) {
		if (strcmp(v->chains[i].station, station) == 0)
			return &v->chains[i];
	}
	if (v->nchains == STATIONS_MAX)
		die("more than %d stations in one input", STATIONS_MAX);
	c = &v->chains[v->nchains++];
	memset(c, 0, sizeof(*c));
	snprintf(c->station, sizeof(c->station), "%s", station);
	snprintf(c->last_hash, sizeof(c->last_hash), "%s", ZERO_HASH);
	return c;
}

/* The station's public key, loaded once. @return 0 or -errno (reported by the caller). */
static int chain_key(struct verify *v, struct chain *c, char *path, size_t pathlen)
{
	if (v->cfg->pubkey)
		snprintf(path, pathlen, "%s", v->cfg->pubkey);
	else if ((size_t)snprintf(path, pathlen, "%s/%s.pub", v->cfg->keys_dir, c->station) >=
		 pathlen)
		return -ENAMETOOLONG;
	if (c->key_state == 0) {
		int r = sign_pubkey_load(path, c->pub);

		c->key_state = r == 0 ? 1 : r;
	}
	return c->key_state == 1 ? 0 : c->key_state;
}

/* ---- photos ---- */

/* Read a whole photo file (at most PHOTO_MAX bytes). */
static int photo_read(const char *path, uint8_t **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	int r = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (len == cap) {
			uint8_t *nb;

			if (cap >= PHOTO_MAX) {
				r = -EFBIG;
				break;
			}
			cap = cap ? cap * 2 : 256 * 1024;
			nb = realloc(buf, cap);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f))
				r = -EIO;
			break;
		}
	}
	fclose(f);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static void photo_compare(struct verify *v, const uint8_t *data, size_t len, const char *want_sha,
			  const cJSON *want_bytes, const char *where)
{
	char sha[HASH_HEX_MAX];

	if (sha256_hex(data, len, sha) < 0) {
		reason(v, "cannot hash the photo");
		return;
	}
	v->photos_checked++;
	if (strcmp(sha, want_sha) != 0)
		reason(v, "photo %s has SHA-256 %s, the record says %s", where, sha, want_sha);
	else if (cJSON_IsNumber(want_bytes) && want_bytes->valuedouble != (double)len)
		reason(v, "photo %s has %zu bytes, the record says %.0f", where, len,
		       want_bytes->valuedouble);
}

static void check_photo(struct verify *v, const struct item *it, const char *station,
			const char *id, const cJSON *photo)
{
	const char *sha = json_string(photo, "sha256");
	const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(photo, "bytes");
	char path[PATH_MAX];
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	if (!sha || !hex64_ok(sha)) {
		reason(v, "photo.sha256 is not 64 lowercase hex digits");
		return;
	}
	if (it->outbox) {
		if (!it->row_photo_sha256 || strcmp(it->row_photo_sha256, sha) != 0)
			reason(v, "the outbox row's photo_sha256 is not the record's");
		if (it->photo) {
			photo_compare(v, it->photo, it->photo_len, sha, bytes, "blob");
		} else if (it->row_state == OUTBOX_STATE_ACKED) {
			v->photos_pruned++; /* central has it; the station kept the hash only */
		} else {
			reason(v, "photo missing from the outbox before central acknowledged it");
		}
		return;
	}
	if (!v->cfg->photos) {
		v->photos_unchecked++;
		return;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s.jpg", v->cfg->photos, station, id) >=
	    sizeof(path)) {
		reason(v, "photo path too long");
		return;
	}
	r = photo_read(path, &data, &len);
	if (r < 0) {
		reason(v, "photo %s: %s", path, strerror(-r));
		return;
	}
	photo_compare(v, data, len, sha, bytes, path);
	free(data);
}

/* ---- one record ---- */

static void check_record(struct verify *v, const struct item *it)
{
	const char *id, *station, *prev, *schema;
	char want_id[RECORD_ID_MAX], hash[HASH_HEX_MAX], path[PATH_MAX];
	const cJSON *seqj, *photo;
	struct chain *c;
	uint64_t seq;
	cJSON *root;
	int r;

	v->records++;
	record_begin(v, it->where);
	root = cJSON_ParseWithLength(it->json, it->len);
	if (!cJSON_IsObject(root)) {
		reason(v, "not a JSON object");
		goto out;
	}
	id = json_string(root, "id");
	station = json_string(root, "station");
	prev = json_string(root, "prev");
	schema = json_string(root, "schema");
	seqj = cJSON_GetObjectItemCaseSensitive(root, "seq");
	if (!station || !station_ok(station) || !cJSON_IsNumber(seqj) || seqj->valuedouble < 1 ||
	    seqj->valuedouble > (double)RECORD_SEQ_MAX ||
	    seqj->valuedouble != (double)(uint64_t)seqj->valuedouble) {
		reason(v, "no usable station and seq");
		goto out;
	}
	seq = (uint64_t)seqj->valuedouble;
	if (record_format_id(station, seq, want_id, sizeof(want_id)) < 0) {
		reason(v, "station and seq make no record ID");
		goto out;
	}
	/* from here on the record is named by the ID its station and seq give */
	snprintf(v->label, sizeof(v->label), "%s", want_id);
	if (!id || strcmp(id, want_id) != 0)
		reason(v, "id is not \"%s\"", want_id);
	if (!schema || strcmp(schema, RECORD_SCHEMA) != 0)
		reason(v, "schema is not %s", RECORD_SCHEMA);
	c = chain_get(v, station);
	if (sha256_hex(it->json, it->len, hash) < 0)
		die("SHA-256 failed");

	/* the station's signature */
	r = chain_key(v, c, path, sizeof(path));
	if (r < 0)
		reason(v, "no public key for station %s (%s: %s)", station, path, strerror(-r));
	else {
		r = record_verify(it->json, it->len, c->pub);
		if (r == -ENOMSG)
			reason(v, "not signed in the canonical form (no or malformed \"sig\")");
		else if (r == -EBADMSG)
			reason(v, "signature does not verify with %s", path);
		else if (r < 0)
			reason(v, "signature check failed: %s", strerror(-r));
	}

	/* the chain */
	if (seq != c->last_seq + 1) {
		if (seq <= c->last_seq)
			reason(v, "out of order: seq %llu after seq %llu", (unsigned long long)seq,
			       (unsigned long long)c->last_seq);
		else if (c->last_seq && seq == c->last_seq + 2)
			reason(v, "gap: seq %llu follows %s (seq %llu missing)",
			       (unsigned long long)seq, c->last_id,
			       (unsigned long long)c->last_seq + 1);
		else if (c->last_seq)
			reason(v, "gap: seq %llu follows %s (seq %llu..%llu missing)",
			       (unsigned long long)seq, c->last_id,
			       (unsigned long long)c->last_seq + 1, (unsigned long long)seq - 1);
		else
			reason(v, "gap: the chain starts at seq %llu (seq 1..%llu missing)",
			       (unsigned long long)seq, (unsigned long long)seq - 1);
	}
	if (!prev || strcmp(prev, c->last_hash) != 0) {
		if (c->last_seq)
			reason(v, "prev is not the SHA-256 of %s", c->last_id);
		else
			reason(v,
			       "prev is not the SHA-256 of the record before it (zeros for seq 1)");
	}

	/* what the outbox row says about the record */
	if (it->outbox) {
		if (it->row_seq != seq || !it->row_id || strcmp(it->row_id, want_id) != 0)
			reason(v, "outbox row seq %llu / id %s holds record %s",
			       (unsigned long long)it->row_seq, it->row_id ? it->row_id : "(null)",
			       want_id);
		if (!it->row_hash || strcmp(it->row_hash, hash) != 0)
			reason(v, "outbox row hash is not the SHA-256 of its JSON");
	}

	/* the photo */
	photo = cJSON_GetObjectItemCaseSensitive(root, "photo");
	if (photo && !cJSON_IsNull(photo)) {
		if (!cJSON_IsObject(photo))
			reason(v, "photo is neither null nor an object");
		else
			check_photo(v, it, station, want_id, photo);
	} else if (it->outbox && it->row_photo_sha256 && it->row_photo_sha256[0]) {
		reason(v, "the outbox row has a photo the record does not declare");
	}

	/* the next record links to this one, whatever was wrong with it */
	c->last_seq = seq;
	snprintf(c->last_id, sizeof(c->last_id), "%s", want_id);
	snprintf(c->last_hash, sizeof(c->last_hash), "%s", hash);
out:
	cJSON_Delete(root);
	record_end(v);
}

/* ---- inputs ---- */

static void read_lines(struct verify *v)
{
	FILE *f = stdin;
	char *line = NULL;
	size_t cap = 0;
	unsigned long n = 0;
	ssize_t len;

	if (strcmp(v->cfg->input, "-") != 0) {
		f = fopen(v->cfg->input, "rb");
		if (!f)
			die_perror("%s", v->cfg->input);
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct item it = {0};

		n++;
		if (len && line[len - 1] == '\n')
			len--;
		if (len == 0)
			continue;
		snprintf(it.where, sizeof(it.where), "line %lu", n);
		if ((size_t)len > LINE_MAX_BYTES) {
			record_begin(v, it.where);
			v->records++;
			reason(v, "longer than any record (%zd bytes)", len);
			record_end(v);
			continue;
		}
		it.json = line;
		it.len = (size_t)len;
		check_record(v, &it);
	}
	if (ferror(f))
		die_perror("%s", v->cfg->input);
	free(line);
	if (f != stdin)
		fclose(f);
}

static const char *col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static void read_outbox(struct verify *v)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(v->cfg->outbox, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK)
		die("%s: %s", v->cfg->outbox, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(db, 5000);
	/* schema 2 keeps the photos in their own table; schema 1 (older files) in the row */
	rc = sqlite3_prepare_v2(db,
				"SELECT r.seq, r.id, r.state, r.hash, r.photo_sha256, r.json, p.photo"
				" FROM records AS r LEFT JOIN photos AS p ON p.seq = r.seq"
				" ORDER BY r.seq",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		st = NULL;
		rc = sqlite3_prepare_v2(db,
					"SELECT seq, id, state, hash, photo_sha256, json, photo"
					" FROM records ORDER BY seq",
					-1, &st, NULL);
	}
	if (rc != SQLITE_OK)
		die("%s: not a sealbench outbox: %s", v->cfg->outbox, sqlite3_errmsg(db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct item it = {0};

		it.outbox = true;
		it.row_seq = (uint64_t)sqlite3_column_int64(st, 0);
		it.row_id = col_text(st, 1);
		it.row_state = sqlite3_column_int(st, 2);
		it.row_hash = col_text(st, 3);
		it.row_photo_sha256 = col_text(st, 4);
		it.json = sqlite3_column_blob(st, 5);
		it.len = (size_t)sqlite3_column_bytes(st, 5);
		it.photo = sqlite3_column_blob(st, 6);
		it.photo_len = (size_t)sqlite3_column_bytes(st, 6);
		if (!it.json)
			it.json = "";
		snprintf(it.where, sizeof(it.where), "outbox row %llu",
			 (unsigned long long)it.row_seq);
		check_record(v, &it);
	}
	if (rc != SQLITE_DONE)
		die("%s: %s", v->cfg->outbox, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- end of input ---- */

static void check_end(struct verify *v)
{
	const struct chain *c;
	char next[RECORD_ID_MAX];

	if (!v->cfg->expect_last)
		return;
	if (v->nchains != 1)
		die("--expect-last needs the chain of exactly one station (the input has %zu)",
		    v->nchains);
	c = &v->chains[0];
	if (c->last_seq == v->cfg->expect_last)
		return;
	if (record_format_id(c->station, c->last_seq + 1, next, sizeof(next)) < 0)
		snprintf(next, sizeof(next), "%s", c->station);
	record_begin(v, c->last_seq < v->cfg->expect_last ? next : c->last_id);
	if (c->last_seq < v->cfg->expect_last)
		reason(v, "missing: the chain ends at seq %llu, the station's last seq is %llu",
		       (unsigned long long)c->last_seq, (unsigned long long)v->cfg->expect_last);
	else
		reason(v, "the chain goes on past seq %llu, the station's last seq",
		       (unsigned long long)v->cfg->expect_last);
	record_end(v);
}

/* ---- main ---- */

/* clang-format off */
#define USAGE_TEXT \
"Usage: %1$s (--keys DIR | --pubkey FILE) [--photos DIR] [--expect-last N] [FILE | -]\n" \
"       %1$s (--keys DIR | --pubkey FILE) [--expect-last N] --outbox PATH\n" \
"\n" \
"Checks a chain of sealbench evidence records: every signature (Ed25519, the station's\n" \
"key; firmware/schema/CANONICAL.md), every prev link (SHA-256 of the previous record's\n" \
"published bytes), ids and sequence numbers without gaps from 1, and every photo's\n" \
"SHA-256 and size. Records are JSON lines as `sealbench-sink --db X export` writes them\n" \
"(FILE, or stdin), or a station's outbox (sqlite, opened read-only).\n" \
"\n" \
"Options:\n" \
"  -k, --keys DIR         public keys, DIR/<station>.pub (base64 of the raw key, one line)\n" \
"  -K, --pubkey FILE      one public key file, used for every station in the input\n" \
"  -P, --photos DIR       photos as the sink stores them, DIR/<station>/<id>.jpg (JSON\n" \
"                         lines input; without it photos are counted as not checked)\n" \
"  -o, --outbox PATH      read a station's outbox; photos come from its blobs (a photo\n" \
"                         pruned after central's ack is counted, not an error)\n" \
"  -l, --expect-last N    the chain must end at seq N (the station status's last_seq):\n" \
"                         a cut-off tail is not visible otherwise; one station only\n" \
"  -q, --quiet            no \"bad\" lines, only the summary\n" \
"  -h, --help             this text\n" \
"  -V, --version          version\n" \
"\n" \
"Output: \"bad <id>: <reasons>\" for each bad record (\"bad line N\" / \"bad outbox row N\"\n" \
"when it has no usable id), then \"ok: ...\" or \"FAILED: ... first bad record <id>: ...\".\n" \
"Exit status: 0 only if every check passed, 1 otherwise.\n" \
"\n" \
"Example:\n" \
"  sealbench-sink --db central.db export > chain.jsonl\n" \
"  %1$s --keys keys/ --photos photos/ --expect-last 1042 chain.jsonl\n"
/* clang-format on */

static void usage(FILE *f)
{
	fprintf(f, USAGE_TEXT, get_prog_name());
}

static void parse_args(int argc, char **argv, struct verify_cfg *cfg)
{
	static const struct option longopts[] = {
		{"keys", required_argument, NULL, 'k'},
		{"pubkey", required_argument, NULL, 'K'},
		{"photos", required_argument, NULL, 'P'},
		{"outbox", required_argument, NULL, 'o'},
		{"expect-last", required_argument, NULL, 'l'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "k:K:P:o:l:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			cfg->keys_dir = optarg;
			break;
		case 'K':
			cfg->pubkey = optarg;
			break;
		case 'P':
			cfg->photos = optarg;
			break;
		case 'o':
			cfg->outbox = optarg;
			break;
		case 'l':
			cfg->expect_last =
				parse_uint_or_die("--expect-last", optarg, 1, RECORD_SEQ_MAX);
			break;
		case 'q':
			cfg->quiet = true;
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
	if (!cfg->keys_dir == !cfg->pubkey)
		die("give --keys DIR or --pubkey FILE (one of them): without the station's key "
		    "nothing can be verified");
	if (optind < argc)
		cfg->input = argv[optind++];
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (cfg->outbox && cfg->input)
		die("--outbox and an input file exclude each other");
	if (cfg->outbox && cfg->photos)
		die("--photos applies to JSON lines input; an outbox holds its photos");
	if (!cfg->outbox && !cfg->input)
		cfg->input = "-";
}

int main(int argc, char **argv)
{
	struct verify_cfg cfg = {0};
	struct verify v = {.cfg = &cfg};

	parse_args(argc, argv, &cfg);
	v.chains = calloc(STATIONS_MAX, sizeof(*v.chains));
	if (!v.chains)
		die("out of memory");
	if (cfg.outbox)
		read_outbox(&v);
	else
		read_lines(&v);
	check_end(&v);

	if (v.records == 0 && !v.bad) {
		printf("FAILED: no records\n");
		free(v.chains);
		return EXIT_FAILURE;
	}
	if (v.bad) {
		printf("FAILED: %llu records, %llu bad; first bad record %s: %s\n",
		       (unsigned long long)v.records, (unsigned long long)v.bad, v.first_bad,
		       v.first_reason);
	} else {
		printf("ok: %llu records from %zu station%s, all signatures and links good; "
		       "%llu photos checked",
		       (unsigned long long)v.records, v.nchains, v.nchains == 1 ? "" : "s",
		       (unsigned long long)v.photos_checked);
		if (v.photos_pruned)
			printf(", %llu pruned after central's ack",
			       (unsigned long long)v.photos_pruned);
		if (v.photos_unchecked)
			printf(", %llu not checked (no --photos)",
			       (unsigned long long)v.photos_unchecked);
		putchar('\n');
	}
	free(v.chains);
	return v.bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
