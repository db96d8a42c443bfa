/* SPDX-License-Identifier: MIT */
/*
 * tests/crash/crashcheck.c - workload, ledger and reboot check for the durability suites.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "tests/crash/crashcheck.h"

/* A report line: kind, seq, hash. */
#define CC_LINE_MAX   128
#define CC_LEDGER_MIN 256
#define CC_ID_MAX     64
#define CC_QUOTA      (1024ull * 1024 * 1024)

static void sha256_hex(const void *data, size_t len, char out[OUTBOX_HASH_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32)
		abort();
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

uint64_t cc_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

void cc_ledger_done(struct cc_ledger *l)
{
	if (!l)
		return;
	free(l->e);
	*l = (struct cc_ledger){0};
}

static struct cc_entry *ledger_at(struct cc_ledger *l, uint64_t seq)
{
	if (seq >= l->cap) {
		uint64_t cap = l->cap ? l->cap : CC_LEDGER_MIN;
		struct cc_entry *e;

		while (cap <= seq)
			cap *= 2;
		e = realloc(l->e, cap * sizeof(*e));
		if (!e)
			return NULL;
		memset(e + l->cap, 0, (cap - l->cap) * sizeof(*e));
		l->e = e;
		l->cap = cap;
	}
	return &l->e[seq];
}

/*
 * State changes (outbox_mark_sent, outbox_ack) are committed without a sync of their own: they
 * are durable once a later put's synced commit ("P") or a clean close ("C") has happened.
 */
static void promote(struct cc_ledger *l)
{
	for (uint64_t i = 1; i < l->cap; i++) {
		if (l->e[i].pending > l->e[i].state)
			l->e[i].state = l->e[i].pending;
	}
}

int cc_ledger_read(struct cc_ledger *l, int fd)
{
	FILE *f = fdopen(dup(fd), "r");
	char line[CC_LINE_MAX];
	int r = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char kind = 0, hash[OUTBOX_HASH_HEX] = "";
		unsigned long long seq = 0;
		struct cc_entry *e;
		int n = sscanf(line, "%c %llu %64s", &kind, &seq, hash);

		if (n < 2 || (seq == 0 && kind != 'C') || (kind == 'P' && n != 3)) {
			r = -EPROTO;
			break;
		}
		if (kind == 'E') {
			l->end_calls = seq;
			continue;
		}
		if (kind == 'C') {
			promote(l);
			continue;
		}
		e = ledger_at(l, seq);
		if (!e) {
			r = -ENOMEM;
			break;
		}
		switch (kind) {
		case 'P':
			/* the same seq acknowledged again with other bytes: the first one was lost
			 */
			if (e->put && strcmp(e->hash, hash) != 0 && !l->reused_seq)
				l->reused_seq = seq;
			e->put = true;
			memcpy(e->hash, hash, sizeof(e->hash));
			if (seq > l->max_put)
				l->max_put = seq;
			promote(l); /* its synced commit carried every earlier state change */
			break;
		case 'S':
			if (e->pending < OUTBOX_SENT)
				e->pending = OUTBOX_SENT;
			break;
		case 'A':
			e->pending = OUTBOX_ACKED;
			break;
		default:
			r = -EPROTO;
			break;
		}
		if (r < 0)
			break;
	}
	fclose(f);
	/* EOF: the child is gone; what it changed after its last P or C may or may not be there */
	for (uint64_t i = 1; i < l->cap; i++)
		l->e[i].pending = l->e[i].state;
	return r;
}

void cc_report(int fd, char kind, uint64_t seq, const char *hash)
{
	char line[CC_LINE_MAX];
	int n = snprintf(line, sizeof(line), "%c %" PRIu64 " %s\n", kind, seq, hash ? hash : "-");

	if (fd < 0)
		return;

	/* a pipe write of < PIPE_BUF bytes is atomic and complete, or the test is broken */
	if (n <= 0 || write(fd, line, (size_t)n) != n)
		abort();
}

int cc_put_next(struct outbox *ob, uint64_t *rng, size_t photo_len, int report_fd)
{
	uint64_t seq = outbox_get_next_seq(ob);
	char json[CC_JSON_MAX], id[CC_ID_MAX], hash[OUTBOX_HASH_HEX], psha[OUTBOX_HASH_HEX];
	char pad[CC_PAD_MAX + 1];
	size_t pad_len = (size_t)(cc_rand(rng) % CC_PAD_MAX);
	uint8_t *photo = NULL;
	int r;

	for (size_t i = 0; i < pad_len; i++)
		pad[i] = (char)('a' + cc_rand(rng) % 26);
	pad[pad_len] = '\0';
	snprintf(id, sizeof(id), CC_STATION "-%010" PRIu64, seq);
	snprintf(json, sizeof(json),
		 "{\"id\":\"%s\",\"seq\":%" PRIu64 ",\"prev\":\"%s\",\"pad\":\"%s\"}", id, seq,
		 outbox_get_last_hash(ob), pad);
	if (photo_len) {
		photo = malloc(photo_len);
		if (!photo)
			return -ENOMEM;
		for (size_t i = 0; i < photo_len; i++)
			photo[i] = (uint8_t)cc_rand(rng);
		sha256_hex(photo, photo_len, psha);
	}
	r = outbox_put(ob,
		       &(struct outbox_put_req){.seq = seq,
						.id = id,
						.json = json,
						.json_len = strlen(json),
						.photo = photo,
						.photo_len = photo_len,
						.photo_sha256 = photo ? psha : NULL,
						.tracking = id,
						.created_ms = seq},
		       hash);
	free(photo);
	if (r == 0 && report_fd >= 0)
		cc_report(report_fd, 'P', seq, hash);
	return r;
}

static int fail(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, CC_WHY_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

static int raw_integrity(const char *path, char *why)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int r = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fail(why, "sqlite3_open: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		fail(why, "integrity_check: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		fail(why, "integrity_check: %s", sqlite3_column_text(st, 0));
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

/* Walk every row: seq, hash, prev, photo, ledger. */
static int check_rows(const char *path, const struct cc_ledger *l, uint64_t *ret_last,
		      char *ret_last_hash, uint64_t *ret_unacked_bytes, char *why)
{
	static const char sql[] = "SELECT r.seq, r.state, r.hash, r.json, r.photo_sha256, p.photo,"
				  " r.bytes, r.photo_kept, r.photo_sha256 IS NOT NULL"
				  " FROM records AS r LEFT JOIN photos AS p ON p.seq = r.seq"
				  " ORDER BY r.seq";
	char prev[OUTBOX_HASH_HEX], want[OUTBOX_HASH_HEX];
	uint64_t expect = 1, unacked = 0, seq = 0;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	int rc, r = -1;

	memset(prev, '0', 64);
	prev[64] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail(why, "rows: %s", sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *hash = (const char *)sqlite3_column_text(st, 2);
		const char *json = (const char *)sqlite3_column_text(st, 3);
		const char *psha = (const char *)sqlite3_column_text(st, 4);
		const char *p;
		int state = sqlite3_column_int(st, 1);

		seq = (uint64_t)sqlite3_column_int64(st, 0);
		if (seq != expect) {
			fail(why, "seq %" PRIu64 " where %" PRIu64 " was expected (gap)", seq,
			     expect);
			goto out;
		}
		expect++;
		sha256_hex(json, (size_t)sqlite3_column_bytes(st, 3), want);
		if (!hash || strcmp(hash, want) != 0) {
			fail(why, "seq %" PRIu64 ": hash is not SHA-256(json)", seq);
			goto out;
		}
		p = strstr(json, "\"prev\":\"");
		if (!p || strncmp(p + 8, prev, 64) != 0) {
			fail(why, "seq %" PRIu64 ": prev does not link to seq %" PRIu64, seq,
			     seq - 1);
			goto out;
		}
		/*
		 * A photo is in `photos` exactly while the row keeps it; an unacked record with
		 * a photo keeps it (only prune drops photos, and only of acked records).
		 */
		if ((sqlite3_column_type(st, 5) == SQLITE_NULL) == (sqlite3_column_int(st, 7) == 1) ||
		    (sqlite3_column_int(st, 7) && !sqlite3_column_int(st, 8)) ||
		    (state < OUTBOX_ACKED &&
		     sqlite3_column_int(st, 7) != sqlite3_column_int(st, 8))) {
			fail(why, "seq %" PRIu64 ": photo_kept %d, photo %s", seq,
			     sqlite3_column_int(st, 7),
			     sqlite3_column_type(st, 5) == SQLITE_NULL ? "missing" : "present");
			goto out;
		}
		if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
			sha256_hex(sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5),
				   want);
			if (!psha || strcmp(psha, want) != 0) {
				fail(why, "seq %" PRIu64 ": photo does not match its SHA-256", seq);
				goto out;
			}
		}
		if (seq < l->cap && l->e[seq].put) {
			if (strcmp(l->e[seq].hash, hash) != 0) {
				fail(why,
				     "seq %" PRIu64 ": not the record outbox_put() acknowledged",
				     seq);
				goto out;
			}
			if (state < l->e[seq].state) {
				fail(why, "seq %" PRIu64 ": state %d, but %d was acknowledged", seq,
				     state, l->e[seq].state);
				goto out;
			}
		}
		if (state < OUTBOX_ACKED)
			unacked += (uint64_t)sqlite3_column_int64(st, 6);
		memcpy(prev, hash, sizeof(prev));
	}
	if (rc != SQLITE_DONE) {
		fail(why, "rows: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (expect - 1 < l->max_put) {
		fail(why, "seq %" PRIu64 " was acknowledged, the database ends at %" PRIu64,
		     l->max_put, expect - 1);
		goto out;
	}
	*ret_last = expect - 1;
	memcpy(ret_last_hash, prev, OUTBOX_HASH_HEX);
	*ret_unacked_bytes = unacked;
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

int cc_verify(const char *path, const struct cc_ledger *l, char *why)
{
	struct outbox_cfg cfg = {.path = path, .quota_bytes = CC_QUOTA};
	struct outbox_stats stats;
	char last_hash[OUTBOX_HASH_HEX];
	struct outbox *ob = NULL;
	uint64_t last = 0, unacked = 0;
	int r;

	if (l->reused_seq)
		return fail(why,
			    "seq %" PRIu64 " was acknowledged twice with different records:"
			    " the first one was lost",
			    l->reused_seq);
	if (raw_integrity(path, why) < 0)
		return -1;
	if (check_rows(path, l, &last, last_hash, &unacked, why) < 0)
		return -1;
	r = outbox_open(&cfg, &ob);
	if (r < 0)
		return fail(why, "outbox_open after the reboot: %s", strerror(-r));
	r = outbox_check(ob, OUTBOX_CHECK_FULL);
	if (r < 0) {
		fail(why, "outbox_check(FULL): %s", strerror(-r));
		goto err;
	}
	if (outbox_get_next_seq(ob) != last + 1 || strcmp(outbox_get_last_hash(ob), last_hash)) {
		fail(why, "chain head after reopen: next seq %" PRIu64 ", expected %" PRIu64,
		     outbox_get_next_seq(ob), last + 1);
		goto err;
	}
	r = outbox_get_stats(ob, &stats);
	if (r < 0 || stats.unacked_bytes != unacked) {
		fail(why, "stats: %s, unacked bytes %" PRIu64 " vs %" PRIu64, strerror(-r),
		     stats.unacked_bytes, unacked);
		goto err;
	}
	outbox_close(ob);
	return 0;
err:
	outbox_close(ob);
	return -1;
}

void cc_mkdtemp(char *buf, size_t size, const char *tag)
{
	if (snprintf(buf, size, "/tmp/sealbench-%s-XXXXXX", tag) >= (int)size || !mkdtemp(buf))
		abort();
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

void cc_rmtree(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
