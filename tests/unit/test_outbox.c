/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_outbox.c - the sqlite outbox against real database files in a mkdtemp()
 * directory: chain continuity across reopen, quota, row life (QUEUED -> SENT -> ACKED),
 * photo retention, corruption and permission errors, injected write failures (a second
 * connection holding the write lock, RLIMIT_FSIZE during COMMIT) and a 50,000-row reopen.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "hal/clock.h"
#include "src/outbox.h"

#define STATION		  "st01"
#define TEST_QUOTA	  (64u * 1024 * 1024)
#define TEST_RETENTION_MS 1000u
#define ZERO_HASH	  "0000000000000000000000000000000000000000000000000000000000000000"
/* Big enough for "<station>-<10 digits>" and a JSON test record. */
#define TEST_ID_MAX   64
#define TEST_JSON_MAX 256
/* Length of make_json()'s records: {"id":"st01-0000000001","prev":"<64 hex>"} */
#define REC_JSON_LEN (sizeof("{\"id\":\"" STATION "-0000000001\",\"prev\":\"\"}") - 1 + 64)
/* Photo sizes: a realistic JPEG, and one bigger than anything already in the files. */
#define LARGE_PHOTO_LEN (300u * 1024)
#define HUGE_PHOTO_LEN	(1024u * 1024)
/*
 * Rows for the reopen test. 50,000 as asked; they are written through a second connection in
 * one transaction (50,000 synced outbox_put() calls would take minutes on a real disk).
 */
#define BIG_ROWS	50000u
#define BIG_UNACKED	10u
#define BIG_OPEN_MAX_MS 3000.0

struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	struct outbox_cfg cfg;
	struct outbox *ob;
};

static uint64_t fake_wall_ms;

static uint64_t fake_wall(void)
{
	return fake_wall_ms;
}

static void sha256_hex(const void *data, size_t len, char out[OUTBOX_HASH_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static void fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < len);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/sealbench-outbox-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* a missing parent directory: outbox_open() creates it */
	fmt(f->path, sizeof(f->path), "%s/var/outbox.db", f->dir);
	f->cfg.path = f->path;
	f->cfg.quota_bytes = TEST_QUOTA;
	f->cfg.photo_retention_ms = TEST_RETENTION_MS;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	outbox_close(f->ob);
	clock_set_override(NULL, NULL, NULL);
	chmod(f->dir, 0700);
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void fx_open(struct fx *f)
{
	assert_null(f->ob);
	assert_int_equal(outbox_open(&f->cfg, &f->ob), 0);
	assert_non_null(f->ob);
}

static void fx_reopen(struct fx *f)
{
	outbox_close(f->ob);
	f->ob = NULL;
	fx_open(f);
}

static void make_id(uint64_t seq, char *buf)
{
	fmt(buf, TEST_ID_MAX, STATION "-%010llu", (unsigned long long)seq);
}

/* A chained test record: the JSON carries prev = outbox_get_last_hash(). */
static void make_json(struct outbox *ob, uint64_t seq, char *buf)
{
	char id[TEST_ID_MAX];

	make_id(seq, id);
	fmt(buf, TEST_JSON_MAX, "{\"id\":\"%s\",\"prev\":\"%s\"}", id, outbox_get_last_hash(ob));
}

/* outbox_put() of the next record, with an optional photo and tracking number. */
static int put_next(struct outbox *ob, const uint8_t *photo, size_t photo_len, const char *tracking,
		    char *ret_hash)
{
	uint64_t seq = outbox_get_next_seq(ob);
	char id[TEST_ID_MAX], json[TEST_JSON_MAX], psha[OUTBOX_HASH_HEX];
	struct outbox_put_req req = {
		.seq = seq,
		.id = id,
		.json = json,
		.photo = photo,
		.photo_len = photo_len,
		.photo_sha256 = photo ? psha : NULL,
		.tracking = tracking ? tracking : "",
		.created_ms = 1700000000000ull + seq,
	};

	make_id(seq, id);
	make_json(ob, seq, json);
	req.json_len = strlen(json);
	if (photo)
		sha256_hex(photo, photo_len, psha);
	return outbox_put(ob, &req, ret_hash);
}

static uint8_t *make_photo(size_t len, unsigned salt)
{
	uint8_t *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 31u + salt) ^ (i >> 8));
	return p;
}

/* Raw second connection, for inspection and fault injection. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 1000);
	return db;
}

/* Single integer from a query on a raw connection. */
static long long raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static void check_stats(struct outbox *ob, uint64_t unacked, uint64_t unacked_bytes, uint64_t total,
			uint64_t last_seq)
{
	struct outbox_stats s;

	assert_int_equal(outbox_get_stats(ob, &s), 0);
	assert_int_equal(s.unacked, unacked);
	assert_int_equal(s.unacked_bytes, unacked_bytes);
	assert_int_equal(s.total, total);
	assert_int_equal(s.last_seq, last_seq);
}

static void test_empty_open_creates_dirs(void **state)
{
	struct fx *f = *state;
	char sub[PATH_MAX];
	struct stat st;
	sqlite3 *db;

	fx_open(f);
	assert_int_equal(outbox_get_next_seq(f->ob), 1);
	assert_string_equal(outbox_get_last_hash(f->ob), ZERO_HASH);
	check_stats(f->ob, 0, 0, 0, 0);

	fmt(sub, sizeof(sub), "%s/var", f->dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0750);

	/* WAL, schema version recorded */
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM meta WHERE key = 'schema'"
				     " AND value = 'sealbench.outbox/2'"),
			 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_journal_mode"
				     " WHERE journal_mode = 'wal'"),
			 1);
	sqlite3_close(db);
}

static void test_put_chain_reopen(void **state)
{
	struct fx *f = *state;
	/* FIPS 180-2 test vector: SHA-256("abc") */
	static const char abc_hash[] =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	struct outbox_put_req req = {
		.seq = 1,
		.id = STATION "-0000000001",
		.json = "abc",
		.json_len = 3,
		.tracking = "",
		.created_ms = 1,
	};
	char hash[OUTBOX_HASH_HEX], h2[OUTBOX_HASH_HEX], h3[OUTBOX_HASH_HEX];
	char expect[OUTBOX_HASH_HEX], json[TEST_JSON_MAX];
	struct outbox_row row = {0};

	fx_open(f);
	assert_int_equal(outbox_put(f->ob, &req, hash), 0);
	assert_string_equal(hash, abc_hash);
	assert_string_equal(outbox_get_last_hash(f->ob), abc_hash);
	assert_int_equal(outbox_get_next_seq(f->ob), 2);

	/* record 2 chains to record 1; the hash is over the exact bytes */
	make_json(f->ob, 2, json);
	assert_non_null(strstr(json, abc_hash));
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, h2), 0);
	sha256_hex(json, strlen(json), expect);
	assert_string_equal(h2, expect);
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, h3), 0);
	assert_string_equal(outbox_get_last_hash(f->ob), h3);

	fx_reopen(f);
	assert_int_equal(outbox_get_next_seq(f->ob), 4);
	assert_string_equal(outbox_get_last_hash(f->ob), h3);
	check_stats(f->ob, 3, 3 + 2 * strlen(json), 3, 3);

	/* the stored row 3 carries prev = hash of row 2, and its own hash */
	assert_int_equal(outbox_next_unacked(f->ob, 2, &row), 0);
	assert_int_equal(row.seq, 3);
	assert_string_equal(row.hash, h3);
	assert_non_null(strstr(row.json, h2));
	sha256_hex(row.json, row.json_len, expect);
	assert_string_equal(expect, h3);
	outbox_row_done(&row);

	/* after reopen the chain continues from the stored head */
	make_json(f->ob, 4, json);
	assert_non_null(strstr(json, h3));
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	assert_int_equal(outbox_get_next_seq(f->ob), 5);
}

/* The sequence high-water mark: written before a number past it is used, kept when the
 * database goes (a quarantine moves it aside), so a fresh outbox never reuses a record ID. */
static void test_seq_high_water_mark(void **state)
{
	struct fx *f = *state;
	char mark[PATH_MAX + 8], aside[PATH_MAX + 8], text[32] = "";
	FILE *fp;

	fmt(mark, sizeof(mark), "%s.seq", f->path);
	fx_open(f);
	assert_int_equal(access(mark, F_OK), -1); /* nothing used yet, nothing reserved */
	for (int i = 0; i < 3; i++)
		assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	fp = fopen(mark, "r");
	assert_non_null(fp);
	assert_non_null(fgets(text, sizeof(text), fp));
	fclose(fp);
	assert_string_equal(text, "1000\n");
	outbox_close(f->ob);
	f->ob = NULL;

	/* the database moved aside (as a quarantine does): numbering goes on after the mark */
	fmt(aside, sizeof(aside), "%s.aside", f->path);
	assert_int_equal(rename(f->path, aside), 0);
	unlink(f->path); /* no -wal/-shm left behind after a clean close */
	fx_open(f);
	assert_int_equal(outbox_get_next_seq(f->ob), 1001);
	assert_string_equal(outbox_get_last_hash(f->ob), ZERO_HASH);
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	fp = fopen(mark, "r");
	assert_non_null(fp);
	assert_non_null(fgets(text, sizeof(text), fp));
	fclose(fp);
	assert_string_equal(text, "2000\n");
	fx_reopen(f);
	assert_int_equal(outbox_get_next_seq(f->ob), 1002);
	outbox_close(f->ob);
	f->ob = NULL;

	/* a mark that is not a number is ignored (loudly); the database's own head rules */
	fp = fopen(mark, "w");
	assert_non_null(fp);
	fputs("garbage", fp);
	fclose(fp);
	fx_open(f);
	assert_int_equal(outbox_get_next_seq(f->ob), 1002);
}

static void test_seq_mismatch(void **state)
{
	struct fx *f = *state;
	char hash[OUTBOX_HASH_HEX] = "untouched";
	struct outbox_put_req req = {
		.id = STATION "-0000000002",
		.json = "{}",
		.json_len = 2,
		.tracking = "",
	};

	fx_open(f);
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	strcpy(hash, "untouched");

	req.seq = 3; /* ahead */
	assert_int_equal(outbox_put(f->ob, &req, hash), -ESTALE);
	req.seq = 1; /* replay */
	req.id = STATION "-0000000001";
	assert_int_equal(outbox_put(f->ob, &req, hash), -ESTALE);
	assert_string_equal(hash, "untouched");
	assert_int_equal(outbox_get_next_seq(f->ob), 2);
	check_stats(f->ob, 1, REC_JSON_LEN, 1, 1);

	fx_reopen(f);
	check_stats(f->ob, 1, REC_JSON_LEN, 1, 1);
}

static void test_invalid_args(void **state)
{
	struct fx *f = *state;
	uint8_t photo[4] = {1, 2, 3, 4};
	char long_id[TEST_ID_MAX + 8];
	struct outbox_put_req ok = {
		.seq = 1,
		.id = STATION "-0000000001",
		.json = "{}",
		.json_len = 2,
	};
	struct outbox_put_req req;
	bool b;

	fx_open(f);
	req = ok;
	req.id = NULL;
	assert_int_equal(outbox_put(f->ob, &req, NULL), -EINVAL);
	req = ok;
	req.id = "";
	assert_int_equal(outbox_put(f->ob, &req, NULL), -EINVAL);
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	req = ok;
	req.id = long_id;
	assert_int_equal(outbox_put(f->ob, &req, NULL), -EINVAL);
	req = ok;
	req.json_len = 0;
	assert_int_equal(outbox_put(f->ob, &req, NULL), -EINVAL);
	req = ok;
	req.photo = photo;
	req.photo_len = sizeof(photo); /* no photo_sha256 */
	assert_int_equal(outbox_put(f->ob, &req, NULL), -EINVAL);
	req = ok;
	req.photo_len = 10; /* length without a photo */
	assert_int_equal(outbox_put(f->ob, &req, NULL), -EINVAL);
	assert_int_equal(outbox_put(f->ob, NULL, NULL), -EINVAL);
	assert_int_equal(outbox_ack(f->ob, NULL), -EINVAL);
	assert_int_equal(outbox_has_tracking(f->ob, NULL, &b), -EINVAL);
	assert_int_equal(outbox_next_unacked(f->ob, 0, NULL), -EINVAL);
	assert_int_equal(outbox_get_stats(f->ob, NULL), -EINVAL);
	check_stats(f->ob, 0, 0, 0, 0);

	/* NULL tracking is stored as "" */
	assert_int_equal(outbox_put(f->ob, &ok, NULL), 0);
	check_stats(f->ob, 1, 2, 1, 1);

	{
		struct outbox_cfg cfg = {0};
		struct outbox *ob = (struct outbox *)&cfg;

		assert_int_equal(outbox_open(&cfg, &ob), -EINVAL);
		assert_ptr_equal(ob, (struct outbox *)&cfg);
		assert_int_equal(outbox_open(NULL, &ob), -EINVAL);
	}
	outbox_close(NULL);
	outbox_row_done(NULL);
}

static void test_quota(void **state)
{
	struct fx *f = *state;
	char id[TEST_ID_MAX];
	char big[600], mid[500];
	struct outbox_put_req req = {.tracking = ""};

	memset(big, 'a', sizeof(big));
	memset(mid, 'b', sizeof(mid));
	f->cfg.quota_bytes = 1000;
	fx_open(f);
	assert_true(outbox_has_room(f->ob, 1000));
	assert_false(outbox_has_room(f->ob, 1001));

	req.seq = 1;
	make_id(1, id);
	req.id = id;
	req.json = big;
	req.json_len = sizeof(big);
	assert_int_equal(outbox_put(f->ob, &req, NULL), 0);
	assert_true(outbox_has_room(f->ob, 400));
	assert_false(outbox_has_room(f->ob, 401));

	req.seq = 2;
	make_id(2, id);
	req.json = mid;
	req.json_len = sizeof(mid);
	assert_int_equal(outbox_put(f->ob, &req, NULL), -ENOSPC);
	assert_int_equal(outbox_get_next_seq(f->ob), 2);
	check_stats(f->ob, 1, 600, 1, 1);

	/* a photo counts too: 300 + 101 > 400 */
	{
		uint8_t photo[101] = {0};
		char psha[OUTBOX_HASH_HEX];
		struct outbox_put_req r2 = req;

		sha256_hex(photo, sizeof(photo), psha);
		r2.json_len = 300;
		r2.photo = photo;
		r2.photo_len = sizeof(photo);
		r2.photo_sha256 = psha;
		assert_int_equal(outbox_put(f->ob, &r2, NULL), -ENOSPC);
	}

	/* central's ack frees the room */
	make_id(1, id);
	assert_int_equal(outbox_ack(f->ob, id), 0);
	assert_true(outbox_has_room(f->ob, 1000));
	make_id(2, id);
	assert_int_equal(outbox_put(f->ob, &req, NULL), 0);
	check_stats(f->ob, 1, 500, 2, 2);

	/* unacked bytes are reloaded at open */
	fx_reopen(f);
	assert_true(outbox_has_room(f->ob, 500));
	assert_false(outbox_has_room(f->ob, 501));
	check_stats(f->ob, 1, 500, 2, 2);
}

static void test_next_unacked_order(void **state)
{
	struct fx *f = *state;
	struct outbox_row row = {0};
	uint64_t seen[8];
	size_t n = 0;
	uint64_t after = 0;
	char id[TEST_ID_MAX];
	char hashes[6][OUTBOX_HASH_HEX];

	fx_open(f);
	assert_int_equal(outbox_next_unacked(f->ob, 0, &row), -ENOENT);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(put_next(f->ob, NULL, 0, NULL, hashes[i]), 0);
	make_id(2, id);
	assert_int_equal(outbox_ack(f->ob, id), 0);
	make_id(4, id);
	assert_int_equal(outbox_ack(f->ob, id), 0);
	assert_int_equal(outbox_mark_sent(f->ob, 3), 0);

	while (outbox_next_unacked(f->ob, after, &row) == 0) {
		assert_true(n < 8);
		seen[n++] = row.seq;
		make_id(row.seq, id);
		assert_string_equal(row.id, id);
		assert_string_equal(row.hash, hashes[row.seq]);
		assert_int_equal(row.state, row.seq == 3 ? OUTBOX_SENT : OUTBOX_QUEUED);
		assert_int_equal(row.json_len, strlen(row.json));
		assert_null(row.photo);
		assert_int_equal(row.photo_len, 0);
		assert_string_equal(row.photo_sha256, "");
		after = row.seq;
		outbox_row_done(&row);
		assert_null(row.json);
	}
	assert_int_equal(n, 3);
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 3);
	assert_int_equal(seen[2], 5);

	/* start in the middle; nothing after the end; ret untouched on -ENOENT */
	assert_int_equal(outbox_next_unacked(f->ob, 1, &row), 0);
	assert_int_equal(row.seq, 3);
	outbox_row_done(&row);
	row.seq = 77;
	assert_int_equal(outbox_next_unacked(f->ob, 5, &row), -ENOENT);
	assert_int_equal(row.seq, 77);
	assert_int_equal(outbox_next_unacked(f->ob, UINT64_MAX, &row), -ENOENT);
}

static void test_sent_ack_transitions(void **state)
{
	struct fx *f = *state;
	struct outbox_row row = {0};
	char id[TEST_ID_MAX];
	struct outbox_stats s;
	uint64_t bytes1;
	sqlite3 *db;

	fake_wall_ms = 5000;
	clock_set_override(NULL, fake_wall, NULL);
	fx_open(f);
	assert_int_equal(put_next(f->ob, NULL, 0, "1Z999AA10123456784", NULL), 0);
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	assert_int_equal(outbox_get_stats(f->ob, &s), 0);
	bytes1 = s.unacked_bytes / 2; /* both JSONs have the same length */

	/* QUEUED -> SENT, twice is a no-op */
	assert_int_equal(outbox_mark_sent(f->ob, 1), 0);
	assert_int_equal(outbox_mark_sent(f->ob, 1), 0);
	assert_int_equal(outbox_next_unacked(f->ob, 0, &row), 0);
	assert_int_equal(row.seq, 1);
	assert_int_equal(row.state, OUTBOX_SENT);
	outbox_row_done(&row);
	assert_int_equal(outbox_mark_sent(f->ob, 99), -ENOENT);

	/* -> ACKED once; bytes subtracted once; idempotent */
	make_id(1, id);
	fake_wall_ms = 6000;
	assert_int_equal(outbox_ack(f->ob, id), 0);
	check_stats(f->ob, 1, bytes1, 2, 2);
	fake_wall_ms = 7000;
	assert_int_equal(outbox_ack(f->ob, id), 0);
	check_stats(f->ob, 1, bytes1, 2, 2);
	/* a late PUBACK does not move an ACKED row back */
	assert_int_equal(outbox_mark_sent(f->ob, 1), 0);
	check_stats(f->ob, 1, bytes1, 2, 2);

	/* QUEUED -> ACKED directly (ack overtook the PUBACK) */
	make_id(2, id);
	assert_int_equal(outbox_ack(f->ob, id), 0);
	check_stats(f->ob, 0, 0, 2, 2);
	assert_int_equal(outbox_next_unacked(f->ob, 0, &row), -ENOENT);

	assert_int_equal(outbox_ack(f->ob, STATION "-0000000099"), -ENOENT);
	assert_int_equal(outbox_ack(f->ob, ""), -ENOENT);

	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT state FROM records WHERE seq = 1"), OUTBOX_ACKED);
	assert_int_equal(raw_int(db, "SELECT sent_ms FROM records WHERE seq = 1"), 5000);
	assert_int_equal(raw_int(db, "SELECT acked_ms FROM records WHERE seq = 1"), 6000);
	assert_int_equal(raw_int(db, "SELECT sent_ms IS NULL FROM records WHERE seq = 2"), 1);
	sqlite3_close(db);

	fx_reopen(f);
	check_stats(f->ob, 0, 0, 2, 2);
	assert_true(outbox_has_room(f->ob, TEST_QUOTA));
}

/*
 * A burst of state changes in one transaction (the MQTT link's settle): applied in order, each
 * with its own result; the quota follows the rows that left the unacked set, once each. A
 * burst that cannot commit applies nothing and leaves the quota where it was.
 */
static void test_settle_burst(void **state)
{
	struct fx *f = *state;
	char id1[TEST_ID_MAX], id2[TEST_ID_MAX], id3[TEST_ID_MAX];
	struct outbox_stats s;
	uint64_t quota_left, one;
	sqlite3 *db;

	fake_wall_ms = 5000;
	clock_set_override(NULL, fake_wall, NULL);
	fx_open(f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	assert_int_equal(outbox_get_stats(f->ob, &s), 0);
	one = s.unacked_bytes / 3; /* the three JSONs have the same length */
	make_id(1, id1);
	make_id(2, id2);
	make_id(3, id3);

	assert_int_equal(outbox_settle(f->ob, NULL, 0), 0);
	assert_int_equal(outbox_settle(f->ob, NULL, 1), -EINVAL);
	assert_int_equal(outbox_settle(NULL, NULL, 0), -EINVAL);
	{
		struct outbox_change burst[] = {
			{.seq = 1},		    /* QUEUED -> SENT */
			{.acked = true, .id = id2}, /* QUEUED -> ACKED: the ack overtook */
			{.seq = 2},		    /* late PUBACK: stays ACKED */
			{.acked = true, .id = id1}, /* SENT -> ACKED */
			{.acked = true, .id = id1}, /* again: idempotent, counted once */
			{.seq = 99, .result = 1},   /* unknown seq */
			/* unknown id */
			{.acked = true, .id = STATION "-0000000099", .result = 1},
			{.seq = 3}, /* QUEUED -> SENT */
		};
		static const int want[] = {0, 0, 0, 0, 0, -ENOENT, -ENOENT, 0};

		fake_wall_ms = 6000;
		assert_int_equal(outbox_settle(f->ob, burst, 8), 0);
		for (size_t i = 0; i < 8; i++)
			assert_int_equal(burst[i].result, want[i]);
	}
	check_stats(f->ob, 1, one, 3, 3);
	/* the in-memory quota moved by the two acked rows, once each */
	quota_left = TEST_QUOTA - one;
	assert_true(outbox_has_room(f->ob, quota_left));
	assert_false(outbox_has_room(f->ob, quota_left + 1));

	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT state FROM records WHERE seq = 1"), OUTBOX_ACKED);
	assert_int_equal(raw_int(db, "SELECT state FROM records WHERE seq = 2"), OUTBOX_ACKED);
	assert_int_equal(raw_int(db, "SELECT state FROM records WHERE seq = 3"), OUTBOX_SENT);
	assert_int_equal(raw_int(db, "SELECT sent_ms FROM records WHERE seq = 1"), 6000);
	assert_int_equal(raw_int(db, "SELECT sent_ms IS NULL FROM records WHERE seq = 2"), 1);
	assert_int_equal(raw_int(db, "SELECT acked_ms FROM records WHERE seq = 2"), 6000);

	/* Another writer holds the lock: the burst fails whole, nothing applied, quota kept. */
	sqlite3_busy_timeout(db, 0);
	raw_exec(db, "BEGIN IMMEDIATE");
	{
		struct outbox_change burst[] = {
			{.seq = 3},
			{.acked = true, .id = id3},
		};

		assert_int_equal(outbox_settle(f->ob, burst, 2), -EBUSY);
		assert_int_equal(burst[0].result, -EBUSY);
		assert_int_equal(burst[1].result, -EBUSY);
	}
	raw_exec(db, "ROLLBACK");
	check_stats(f->ob, 1, one, 3, 3);
	assert_false(outbox_has_room(f->ob, quota_left + 1));
	assert_int_equal(raw_int(db, "SELECT state FROM records WHERE seq = 3"), OUTBOX_SENT);
	/* a NULL id is a caller's bug: the whole burst is refused */
	{
		struct outbox_change burst[] = {
			{.acked = true, .id = id3},
			{.acked = true, .id = NULL},
		};

		assert_int_equal(outbox_settle(f->ob, burst, 2), -EINVAL);
	}
	assert_int_equal(raw_int(db, "SELECT state FROM records WHERE seq = 3"), OUTBOX_SENT);
	sqlite3_close(db);

	/* the outbox works on: the last row acked, the quota back to empty, across a reopen */
	{
		struct outbox_change c = {.acked = true, .id = id3};

		assert_int_equal(outbox_settle(f->ob, &c, 1), 0);
		assert_int_equal(c.result, 0);
	}
	check_stats(f->ob, 0, 0, 3, 3);
	assert_true(outbox_has_room(f->ob, TEST_QUOTA));
	fx_reopen(f);
	check_stats(f->ob, 0, 0, 3, 3);
}

static void test_prune(void **state)
{
	struct fx *f = *state;
	uint8_t *photo = make_photo(4096, 1);
	struct outbox_row row = {0};
	char id[TEST_ID_MAX];
	sqlite3 *db;

	clock_set_override(NULL, fake_wall, NULL);
	fx_open(f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(put_next(f->ob, photo, 4096, NULL, NULL), 0);
	assert_int_equal(outbox_prune(f->ob, UINT64_MAX / 2), 0); /* nothing acked yet */

	fake_wall_ms = 10000;
	make_id(1, id);
	assert_int_equal(outbox_ack(f->ob, id), 0);
	fake_wall_ms = 10500;
	make_id(2, id);
	assert_int_equal(outbox_ack(f->ob, id), 0);

	assert_int_equal(outbox_prune(f->ob, 500), 0); /* now < retention */
	assert_int_equal(outbox_prune(f->ob, 10999), 0);
	assert_int_equal(outbox_prune(f->ob, 11000), 1); /* 10000 + 1000 <= 11000 */
	assert_int_equal(outbox_prune(f->ob, 11000), 0);
	assert_int_equal(outbox_prune(f->ob, 11499), 0);
	assert_int_equal(outbox_prune(f->ob, 11500), 1);
	assert_int_equal(outbox_prune(f->ob, 99999999), 0); /* record 3 is unacked */

	/* the unacked record keeps its photo, byte-exact */
	assert_int_equal(outbox_next_unacked(f->ob, 0, &row), 0);
	assert_int_equal(row.seq, 3);
	assert_int_equal(row.photo_len, 4096);
	assert_memory_equal(row.photo, photo, 4096);
	outbox_row_done(&row);

	/* pruned rows keep JSON and the photo's hash */
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM records WHERE photo_kept = 0"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM records WHERE photo_kept = 0"
				     " AND length(photo_sha256) = 64 AND length(json) > 0"),
			 2);
	assert_int_equal(raw_int(db, "SELECT group_concat(seq) FROM photos"), 3);
	sqlite3_close(db);
	free(photo);
}

static void test_has_tracking(void **state)
{
	struct fx *f = *state;
	bool b = true;

	fx_open(f);
	assert_int_equal(outbox_has_tracking(f->ob, "1Z999AA10123456784", &b), 0);
	assert_false(b);
	assert_int_equal(put_next(f->ob, NULL, 0, "1Z999AA10123456784", NULL), 0);
	assert_int_equal(put_next(f->ob, NULL, 0, "", NULL), 0); /* e.g. a void record */
	assert_int_equal(outbox_has_tracking(f->ob, "1Z999AA10123456784", &b), 0);
	assert_true(b);
	assert_int_equal(outbox_has_tracking(f->ob, "1Z999AA10123456785", &b), 0);
	assert_false(b);
	b = true;
	assert_int_equal(outbox_has_tracking(f->ob, "", &b), 0);
	assert_false(b);

	/* still known after ack and reopen */
	assert_int_equal(outbox_ack(f->ob, STATION "-0000000001"), 0);
	fx_reopen(f);
	assert_int_equal(outbox_has_tracking(f->ob, "1Z999AA10123456784", &b), 0);
	assert_true(b);
}

static void test_large_photo(void **state)
{
	struct fx *f = *state;
	uint8_t *photo = make_photo(LARGE_PHOTO_LEN, 7);
	char psha[OUTBOX_HASH_HEX];
	struct outbox_row row = {0};

	sha256_hex(photo, LARGE_PHOTO_LEN, psha);
	fx_open(f);
	assert_int_equal(put_next(f->ob, photo, LARGE_PHOTO_LEN, NULL, NULL), 0);
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(outbox_next_unacked(f->ob, 0, &row), 0);
		assert_int_equal(row.photo_len, LARGE_PHOTO_LEN);
		assert_memory_equal(row.photo, photo, LARGE_PHOTO_LEN);
		assert_string_equal(row.photo_sha256, psha);
		outbox_row_done(&row);
		check_stats(f->ob, 1, LARGE_PHOTO_LEN + REC_JSON_LEN, 1, 1);
		fx_reopen(f);
	}
	free(photo);
}

/* The JSON of record @p seq in @p row, as put_next() wrote it (prev aside). */
static void check_row_json(const struct outbox_row *row, uint64_t seq)
{
	char id[TEST_ID_MAX], head[TEST_JSON_MAX];

	make_id(seq, id);
	fmt(head, sizeof(head), "{\"id\":\"%s\",\"prev\":\"", id);
	assert_int_equal(row->seq, seq);
	assert_int_equal(row->json_len, strlen(row->json));
	assert_int_equal(strncmp(row->json, head, strlen(head)), 0);
}

/*
 * A drain passes the same row again and again: its buffers are reused, a smaller photo fits
 * in the buffer of a larger one, a row without a photo has none, and every photo is
 * byte-exact whether its pages are in the WAL or, after a checkpoint, in the database file
 * (sqlite reads overflow pages straight into the buffer only from the file).
 */
static void test_row_reuse(void **state)
{
	struct fx *f = *state;
	uint8_t *large = make_photo(LARGE_PHOTO_LEN, 11);
	uint8_t *small = make_photo(4096, 12);
	uint8_t *large2 = make_photo(LARGE_PHOTO_LEN - 1, 13);
	struct outbox_row row = {0};
	uint8_t *buf;
	sqlite3 *db;

	fx_open(f);
	assert_int_equal(put_next(f->ob, large, LARGE_PHOTO_LEN, NULL, NULL), 0);
	assert_int_equal(put_next(f->ob, small, 4096, NULL, NULL), 0);
	db = raw_open(f->path); /* seq 1 and 2 into the file, 3 and 4 stay in the WAL */
	assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	assert_int_equal(put_next(f->ob, large2, LARGE_PHOTO_LEN - 1, NULL, NULL), 0);

	assert_int_equal(outbox_next_unacked(f->ob, 0, &row), 0);
	check_row_json(&row, 1);
	assert_int_equal(row.photo_len, LARGE_PHOTO_LEN);
	assert_memory_equal(row.photo, large, LARGE_PHOTO_LEN);
	buf = row.photo;

	assert_int_equal(outbox_next_unacked(f->ob, 1, &row), 0);
	check_row_json(&row, 2);
	assert_int_equal(row.photo_len, 4096);
	assert_ptr_equal(row.photo, buf); /* the same buffer, not a new one */
	assert_memory_equal(row.photo, small, 4096);

	assert_int_equal(outbox_next_unacked(f->ob, 2, &row), 0);
	check_row_json(&row, 3);
	assert_null(row.photo);
	assert_int_equal(row.photo_len, 0);
	assert_string_equal(row.photo_sha256, "");

	assert_int_equal(outbox_next_unacked(f->ob, 3, &row), 0);
	check_row_json(&row, 4);
	assert_int_equal(row.photo_len, LARGE_PHOTO_LEN - 1);
	assert_ptr_equal(row.photo, buf);
	assert_memory_equal(row.photo, large2, LARGE_PHOTO_LEN - 1);

	/* none left: no row in it, the buffers stay until outbox_row_done() (ASan: no leak) */
	assert_int_equal(outbox_next_unacked(f->ob, 4, &row), -ENOENT);
	assert_int_equal(row.json_len, 0);
	assert_null(row.photo);
	assert_int_equal(row.photo_len, 0);
	outbox_row_done(&row);
	assert_null(row.json);
	outbox_row_done(&row); /* twice is fine */
	free(large);
	free(small);
	free(large2);
}

/*
 * Checkpoints are the idle path's (outbox_checkpoint()), not the seal's: puts leave the WAL
 * alone past sqlite's usual 1000-page auto-checkpoint, until the 4096-page bound.
 */
static void test_checkpoint_idle_and_bound(void **state)
{
	struct fx *f = *state;
	uint8_t *photo = make_photo(LARGE_PHOTO_LEN, 3);
	char wal[PATH_MAX + 8];
	struct stat st;
	int pages, prev = 0, drops = 0;
	sqlite3 *db;

	assert_int_equal(outbox_checkpoint(NULL), -EINVAL);
	assert_int_equal(outbox_get_wal_pages(NULL), 0);
	fx_open(f);
	fmt(wal, sizeof(wal), "%s-wal", f->path);
	/* a small WAL is left for later: no I/O for a package or two */
	assert_int_equal(put_next(f->ob, photo, LARGE_PHOTO_LEN, NULL, NULL), 0);
	prev = outbox_get_wal_pages(f->ob);
	assert_true(prev > 0 && prev < 1024);
	assert_int_equal(outbox_checkpoint(f->ob), 0);
	assert_int_equal(outbox_get_wal_pages(f->ob), prev);
	/* 20 x 300 KB = ~1500 pages: past where sqlite would have checkpointed by itself */
	for (int i = 1; i < 20; i++) {
		assert_int_equal(put_next(f->ob, photo, LARGE_PHOTO_LEN, NULL, NULL), 0);
		pages = outbox_get_wal_pages(f->ob);
		assert_true(pages > prev);
		prev = pages;
	}
	assert_true(prev > 1000);
	/* the database file has not received the photos yet */
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(st.st_size < 20 * (off_t)LARGE_PHOTO_LEN);
	assert_int_equal(outbox_checkpoint(f->ob), 0);
	assert_int_equal(outbox_get_wal_pages(f->ob), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(st.st_size >= 20 * (off_t)LARGE_PHOTO_LEN);
	assert_int_equal(outbox_checkpoint(f->ob), 0); /* empty WAL: nothing to do */
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM photos"), 20);
	sqlite3_close(db);

	/* Nobody calls outbox_checkpoint(): the WAL still stays under the bound. */
	prev = 0;
	for (int i = 0; i < 70; i++) {
		assert_int_equal(put_next(f->ob, photo, LARGE_PHOTO_LEN, NULL, NULL), 0);
		pages = outbox_get_wal_pages(f->ob);
		assert_true(pages < 4096);
		if (pages < prev)
			drops++;
		prev = pages;
	}
	assert_true(drops >= 1);
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size <= (off_t)(4096 + 2 * LARGE_PHOTO_LEN / 4096 + 8) * 4120);
	check_stats(f->ob, 90, 90 * (LARGE_PHOTO_LEN + REC_JSON_LEN), 90, 90);
	fx_reopen(f);
	check_stats(f->ob, 90, 90 * (LARGE_PHOTO_LEN + REC_JSON_LEN), 90, 90);
	free(photo);
}

static void close_and_scribble(struct fx *f, off_t off, size_t len)
{
	uint8_t junk[8192];
	int fd;

	outbox_close(f->ob);
	f->ob = NULL;
	assert_true(len <= sizeof(junk));
	memset(junk, 0xa5, len);
	fd = open(f->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, len, off), (ssize_t)len);
	close(fd);
}

static void test_corrupt_header(void **state)
{
	struct fx *f = *state;
	struct outbox *ob = (struct outbox *)f; /* sentinel: must stay untouched */

	fx_open(f);
	for (int i = 0; i < 5; i++)
		assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	close_and_scribble(f, 0, 100);
	assert_int_equal(outbox_open(&f->cfg, &ob), -EIO);
	assert_ptr_equal(ob, (struct outbox *)f);
}

static void test_corrupt_pages(void **state)
{
	struct fx *f = *state;
	struct outbox *ob = (struct outbox *)f;
	uint8_t *photo = make_photo(64 * 1024, 3);

	fx_open(f);
	for (int i = 0; i < 5; i++)
		assert_int_equal(put_next(f->ob, photo, 64 * 1024, NULL, NULL), 0);
	/* pages 2 and 3 (default 4 KiB pages): table and index b-trees, header intact */
	close_and_scribble(f, 4096, 8192);
	assert_int_equal(outbox_open(&f->cfg, &ob), -EIO);
	assert_ptr_equal(ob, (struct outbox *)f);
	free(photo);
}

static void test_schema_too_new(void **state)
{
	struct fx *f = *state;
	struct outbox *ob = NULL;
	sqlite3 *db;

	fx_open(f);
	outbox_close(f->ob);
	f->ob = NULL;
	db = raw_open(f->path);
	raw_exec(db, "PRAGMA user_version = 99");
	sqlite3_close(db);
	assert_int_equal(outbox_open(&f->cfg, &ob), -EPROTO);
	assert_null(ob);
}

static void test_not_a_directory(void **state)
{
	struct fx *f = *state;
	struct outbox *ob = NULL;
	char file[PATH_MAX];
	int fd;

	fmt(file, sizeof(file), "%s/plainfile", f->dir);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	fmt(f->path, sizeof(f->path), "%s/plainfile/sub/outbox.db", f->dir);
	assert_int_equal(outbox_open(&f->cfg, &ob), -ENOTDIR);
	assert_null(ob);
	/* a directory where the database file should be */
	fmt(f->path, sizeof(f->path), "%s", f->dir);
	assert_int_equal(outbox_open(&f->cfg, &ob), -EISDIR);
	assert_null(ob);
}

/*
 * In a directory without write permission (@p ro): both a new file in it and a new
 * subdirectory must fail with -EACCES. Returns an exit code for the child.
 */
static int open_readonly_dir(struct fx *f, const char *ro)
{
	struct outbox *ob = NULL;
	int r;

	fmt(f->path, sizeof(f->path), "%s/outbox.db", ro);
	r = outbox_open(&f->cfg, &ob);
	if (r != -EACCES || ob)
		return 101;
	fmt(f->path, sizeof(f->path), "%s/new/outbox.db", ro);
	r = outbox_open(&f->cfg, &ob);
	if (r != -EACCES || ob)
		return 102;
	return 0;
}

static void test_readonly_dir(void **state)
{
	struct fx *f = *state;
	char ro[PATH_MAX];
	int status;
	pid_t pid;

	fmt(ro, sizeof(ro), "%s/ro", f->dir);
	assert_int_equal(mkdir(ro, 0555), 0);
	assert_int_equal(chmod(ro, 0555), 0);
	if (geteuid() != 0) {
		assert_int_equal(open_readonly_dir(f, ro), 0);
		return;
	}
	/* root ignores directory modes: check as an unprivileged user in a child */
	assert_int_equal(chmod(f->dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(77);
		_exit(open_readonly_dir(f, ro));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A second connection holding the write lock: put fails with -EBUSY, nothing moves. */
static void test_busy(void **state)
{
	struct fx *f = *state;
	char head[OUTBOX_HASH_HEX], hash[OUTBOX_HASH_HEX];
	sqlite3 *db;

	fx_open(f);
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	strcpy(head, outbox_get_last_hash(f->ob));

	db = raw_open(f->path);
	sqlite3_busy_timeout(db, 0);
	raw_exec(db, "BEGIN IMMEDIATE");
	assert_int_equal(put_next(f->ob, NULL, 0, "1Z999AA10123456784", hash), -EBUSY);
	assert_int_equal(outbox_get_next_seq(f->ob), 2);
	assert_string_equal(outbox_get_last_hash(f->ob), head);
	assert_int_equal(outbox_ack(f->ob, STATION "-0000000001"), -EBUSY);
	check_stats(f->ob, 1, REC_JSON_LEN, 1, 1); /* readers still work (WAL) */
	raw_exec(db, "ROLLBACK");
	sqlite3_close(db);

	{
		bool b = true;

		assert_int_equal(outbox_has_tracking(f->ob, "1Z999AA10123456784", &b), 0);
		assert_false(b);
	}
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, hash), 0);
	assert_int_equal(outbox_get_next_seq(f->ob), 3);
	fx_reopen(f);
	assert_string_equal(outbox_get_last_hash(f->ob), hash);
	check_stats(f->ob, 2, 2 * (REC_JSON_LEN), 2, 2);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

/*
 * The disk "fills" during COMMIT: RLIMIT_FSIZE below what the WAL needs for a 1 MiB photo.
 * The put must fail (never a false success), the chain must not move, and the same record
 * must go in once the space is back.
 */
static void test_commit_write_fails(void **state)
{
	struct fx *f = *state;
	uint8_t *photo = make_photo(HUGE_PHOTO_LEN, 9);
	char head[OUTBOX_HASH_HEX], hash[OUTBOX_HASH_HEX], wal[PATH_MAX];
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_sa;
	struct rlimit old_rl, rl;
	struct outbox_row row = {0};
	off_t limit;
	int r;

	fx_open(f);
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	strcpy(head, outbox_get_last_hash(f->ob));
	fmt(wal, sizeof(wal), "%s-wal", f->path);
	limit = file_size(f->path);
	if (file_size(wal) > limit)
		limit = file_size(wal);
	limit += 64 * 1024;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_rl), 0);
	rl = old_rl;
	rl.rlim_cur = (rlim_t)limit;
	assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	r = put_next(f->ob, photo, HUGE_PHOTO_LEN, NULL, hash);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_rl), 0);
	assert_int_equal(sigaction(SIGXFSZ, &old_sa, NULL), 0);

	assert_true(r == -ENOSPC || r == -EIO);
	assert_int_equal(outbox_get_next_seq(f->ob), 2);
	assert_string_equal(outbox_get_last_hash(f->ob), head);
	check_stats(f->ob, 1, REC_JSON_LEN, 1, 1);
	assert_int_equal(outbox_next_unacked(f->ob, 1, &row), -ENOENT);

	/* space is back: the same record goes in */
	assert_int_equal(put_next(f->ob, photo, HUGE_PHOTO_LEN, NULL, hash), 0);
	fx_reopen(f);
	assert_int_equal(outbox_get_next_seq(f->ob), 3);
	assert_string_equal(outbox_get_last_hash(f->ob), hash);
	assert_int_equal(outbox_next_unacked(f->ob, 1, &row), 0);
	assert_int_equal(row.photo_len, HUGE_PHOTO_LEN);
	assert_memory_equal(row.photo, photo, HUGE_PHOTO_LEN);
	outbox_row_done(&row);
	free(photo);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Append rows 2..BIG_ROWS through a second connection, chained, the last few unacked. */
static void bulk_fill(const char *path, const char *head, uint64_t *ret_unacked_bytes,
		      char *ret_last_hash)
{
	char prev[OUTBOX_HASH_HEX], hash[OUTBOX_HASH_HEX], id[TEST_ID_MAX], json[TEST_JSON_MAX];
	uint8_t photo[1024];
	char psha[OUTBOX_HASH_HEX];
	sqlite3_stmt *st = NULL, *ph = NULL;
	uint64_t unacked = 0;
	sqlite3 *db = raw_open(path);

	memset(photo, 0x5a, sizeof(photo));
	sha256_hex(photo, sizeof(photo), psha);
	strcpy(prev, head);
	raw_exec(db, "BEGIN");
	assert_int_equal(
		sqlite3_prepare_v2(db,
				   "INSERT INTO records(seq, id, state, created_ms, acked_ms, "
				   "bytes, hash, tracking,"
				   " photo_sha256, photo_len, json, photo_kept)"
				   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
				   -1, &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO photos(seq, photo) VALUES (?1, ?2)",
					    -1, &ph, NULL),
			 SQLITE_OK);
	for (uint64_t seq = 2; seq <= BIG_ROWS; seq++) {
		bool acked = seq <= BIG_ROWS - BIG_UNACKED;
		bool has_photo = seq % 100 == 0;
		size_t bytes;
		char trk[32];

		make_id(seq, id);
		fmt(json, sizeof(json), "{\"id\":\"%s\",\"prev\":\"%s\"}", id, prev);
		fmt(trk, sizeof(trk), "TRK%llu", (unsigned long long)seq);
		sha256_hex(json, strlen(json), hash);
		bytes = strlen(json) + (has_photo ? sizeof(photo) : 0);
		if (!acked)
			unacked += bytes;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 3, acked ? OUTBOX_ACKED : OUTBOX_QUEUED);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)seq);
		if (acked)
			sqlite3_bind_int64(st, 5, (sqlite3_int64)seq);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)bytes);
		sqlite3_bind_text(st, 7, hash, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 8, trk, -1, SQLITE_TRANSIENT);
		if (has_photo) {
			sqlite3_bind_text(st, 9, psha, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 10, sizeof(photo));
			sqlite3_bind_int64(ph, 1, (sqlite3_int64)seq);
			sqlite3_bind_blob(ph, 2, photo, sizeof(photo), SQLITE_STATIC);
			assert_int_equal(sqlite3_step(ph), SQLITE_DONE);
			sqlite3_reset(ph);
		} else {
			sqlite3_bind_null(st, 9);
			sqlite3_bind_int64(st, 10, 0);
		}
		sqlite3_bind_int(st, 12, has_photo);
		sqlite3_bind_text(st, 11, json, -1, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		strcpy(prev, hash);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(ph);
	raw_exec(db, "COMMIT");
	sqlite3_close(db);
	*ret_unacked_bytes = unacked;
	strcpy(ret_last_hash, prev);
}

/*
 * A state change writes a few small pages, never the photo again (schema v2: the photo has a
 * table of its own). With the photo in the records row, mark sent + ack wrote ~2 x 75 pages of
 * a 300 KB photo into the WAL.
 */
static void test_state_change_leaves_photo(void **state)
{
	struct fx *f = *state;
	uint8_t *photo = make_photo(LARGE_PHOTO_LEN, 11);
	char id[TEST_ID_MAX];
	int before;

	fx_open(f);
	assert_int_equal(put_next(f->ob, photo, LARGE_PHOTO_LEN, NULL, NULL), 0);
	before = outbox_get_wal_pages(f->ob);
	assert_true(before > (int)(LARGE_PHOTO_LEN / 4096));
	assert_int_equal(outbox_mark_sent(f->ob, 1), 0);
	make_id(1, id);
	assert_int_equal(outbox_ack(f->ob, id), 0);
	print_message("mark sent + ack: %d WAL pages\n", outbox_get_wal_pages(f->ob) - before);
	assert_true(outbox_get_wal_pages(f->ob) - before <= 8);
	/* the unsynced state changes are still what the next put and a reopen see */
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, NULL), 0);
	fx_reopen(f);
	check_stats(f->ob, 1, REC_JSON_LEN, 2, 2);
	assert_int_equal(outbox_check(f->ob, OUTBOX_CHECK_FULL), 0);
	free(photo);
}

/* A photo row that disappears or changes size behind the outbox's back is damage. */
static void test_photo_table_damage(void **state)
{
	struct fx *f = *state;
	uint8_t *photo = make_photo(LARGE_PHOTO_LEN, 5);
	sqlite3 *db;

	fx_open(f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(put_next(f->ob, i == 1 ? NULL : photo, i == 1 ? 0 : LARGE_PHOTO_LEN,
					  NULL, NULL),
				 0);
	assert_int_equal(outbox_check(f->ob, OUTBOX_CHECK_FULL), 0);
	outbox_close(f->ob);
	f->ob = NULL;

	/* the last record's photo shortened: the fast check at open sees it */
	db = raw_open(f->path);
	raw_exec(db, "UPDATE photos SET photo = substr(photo, 1, 1000) WHERE seq = 3");
	sqlite3_close(db);
	assert_int_equal(outbox_open(&f->cfg, &f->ob), -EIO);
	assert_null(f->ob);

	/* a record's photo gone (the full check; here also the tail the fast check reads) */
	db = raw_open(f->path);
	raw_exec(db, "UPDATE photos SET photo = zeroblob(307200) WHERE seq = 3"); /* 300 KiB */
	raw_exec(db, "DELETE FROM photos WHERE seq = 1");
	sqlite3_close(db);
	{
		char marker[PATH_MAX + 16];

		fmt(marker, sizeof(marker), "%s" OUTBOX_DAMAGED_SUFFIX, f->path);
		assert_int_equal(unlink(marker), 0); /* left by the failed open above */
	}
	assert_int_equal(outbox_open(&f->cfg, &f->ob), -EIO);
	assert_null(f->ob);

	/* a photo nobody keeps is damage too */
	outbox_close(f->ob);
	f->ob = NULL;
	{
		char marker[PATH_MAX + 16];

		fmt(marker, sizeof(marker), "%s" OUTBOX_DAMAGED_SUFFIX, f->path);
		assert_int_equal(unlink(marker), 0);
	}
	db = raw_open(f->path);
	raw_exec(db, "INSERT INTO photos(seq, photo) SELECT 1, photo FROM photos WHERE seq = 3");
	raw_exec(db, "UPDATE records SET photo_kept = 0 WHERE seq = 1");
	sqlite3_close(db);
	assert_int_equal(outbox_open(&f->cfg, &f->ob), -EIO); /* within the checked tail */
	assert_null(f->ob);
	free(photo);
}

/*
 * Schema v1 (photo in the records row, up to issue 7) as firmware of that time created it.
 * Kept verbatim: the migration must keep working on files written by it.
 */
static const char schema_v1[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
	"CREATE TABLE records (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
	" state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2),"
	" created_ms INTEGER NOT NULL, sent_ms INTEGER, acked_ms INTEGER, bytes INTEGER NOT NULL,"
	" hash TEXT NOT NULL, tracking TEXT NOT NULL DEFAULT '', photo_sha256 TEXT,"
	" photo_len INTEGER NOT NULL DEFAULT 0, json TEXT NOT NULL, photo BLOB);"
	"CREATE INDEX records_unacked ON records(seq, state, bytes) WHERE state < 2;"
	"CREATE INDEX records_tracking ON records(tracking);"
	"CREATE INDEX records_photo_acked ON records(acked_ms)"
	" WHERE state = 2 AND photo IS NOT NULL;"
	"INSERT INTO meta(key, value) VALUES ('schema', 'sealbench.outbox/1');"
	"PRAGMA user_version = 1;";

/* A v1 file: 1 acked with a photo, 2 acked without, 3 unacked with a photo; chained. */
static void make_v1(const char *path, const uint8_t *photo, size_t photo_len, char *ret_last)
{
	char id[TEST_ID_MAX], json[TEST_JSON_MAX], hash[OUTBOX_HASH_HEX], psha[OUTBOX_HASH_HEX];
	char prev[OUTBOX_HASH_HEX] = ZERO_HASH;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 NULL),
			 SQLITE_OK);
	raw_exec(db, "PRAGMA journal_mode = WAL");
	raw_exec(db, schema_v1);
	sha256_hex(photo, photo_len, psha);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT INTO records(seq, id, state, created_ms,"
					    " acked_ms, bytes, hash, photo_sha256, photo_len, json,"
					    " photo) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9,"
					    " ?10)",
					    -1, &st, NULL),
			 SQLITE_OK);
	for (uint64_t seq = 1; seq <= 3; seq++) {
		bool has = seq != 2, acked = seq != 3;

		make_id(seq, id);
		fmt(json, sizeof(json), "{\"id\":\"%s\",\"prev\":\"%s\"}", id, prev);
		sha256_hex(json, strlen(json), hash);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 3, acked ? OUTBOX_ACKED : OUTBOX_QUEUED);
		if (acked)
			sqlite3_bind_int64(st, 4, 1000);
		else
			sqlite3_bind_null(st, 4);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)(strlen(json) + (has ? photo_len : 0)));
		sqlite3_bind_text(st, 6, hash, -1, SQLITE_TRANSIENT);
		if (has) {
			sqlite3_bind_text(st, 7, psha, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 8, (sqlite3_int64)photo_len);
			sqlite3_bind_blob(st, 10, photo, (int)photo_len, SQLITE_STATIC);
		} else {
			sqlite3_bind_null(st, 7);
			sqlite3_bind_int64(st, 8, 0);
			sqlite3_bind_null(st, 10);
		}
		sqlite3_bind_text(st, 9, json, -1, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		strcpy(prev, hash);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	strcpy(ret_last, prev);
}

static void test_migrate_v1(void **state)
{
	struct fx *f = *state;
	uint8_t *photo = make_photo(LARGE_PHOTO_LEN, 9);
	struct outbox_row row = {0};
	char last[OUTBOX_HASH_HEX], sub[PATH_MAX];
	sqlite3 *db;

	fmt(sub, sizeof(sub), "%s/var", f->dir);
	assert_int_equal(mkdir(sub, 0750), 0);
	make_v1(f->path, photo, LARGE_PHOTO_LEN, last);
	fx_open(f);
	assert_int_equal(outbox_get_next_seq(f->ob), 4);
	assert_string_equal(outbox_get_last_hash(f->ob), last);
	check_stats(f->ob, 1, strlen("{\"id\":\"st01-0000000003\",\"prev\":\"\"}") + 64 +
				      LARGE_PHOTO_LEN,
		    3, 3);
	assert_int_equal(outbox_check(f->ob, OUTBOX_CHECK_FULL), 0);

	/* the unacked record's photo, byte-exact, from its new table */
	assert_int_equal(outbox_next_unacked(f->ob, 0, &row), 0);
	assert_int_equal(row.seq, 3);
	assert_int_equal(row.photo_len, LARGE_PHOTO_LEN);
	assert_memory_equal(row.photo, photo, LARGE_PHOTO_LEN);
	outbox_row_done(&row);

	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_table_info('records')"
				     " WHERE name = 'photo'"),
			 0);
	assert_int_equal(raw_int(db, "SELECT group_concat(seq) FROM photos"), 1); /* "1,3" */
	assert_int_equal(raw_int(db, "SELECT sum(seq) FROM photos"), 4);
	assert_int_equal(raw_int(db, "SELECT sum(seq) FROM records WHERE photo_kept = 1"), 4);
	sqlite3_close(db);

	/* prune works on the migrated file; the chain goes on */
	assert_int_equal(outbox_prune(f->ob, 1000 + TEST_RETENTION_MS), 1);
	assert_int_equal(put_next(f->ob, photo, LARGE_PHOTO_LEN, NULL, NULL), 0);
	fx_reopen(f);
	assert_int_equal(outbox_check(f->ob, OUTBOX_CHECK_FULL), 0);
	assert_int_equal(outbox_get_next_seq(f->ob), 5);
	free(photo);
}

static void test_reopen_many_rows(void **state)
{
	struct fx *f = *state;
	char last[OUTBOX_HASH_HEX], h[OUTBOX_HASH_HEX], json[TEST_JSON_MAX];
	struct outbox_row row = {0};
	uint64_t unacked_bytes;
	double t0, dt;
	sqlite3 *db;
	bool b;

	fx_open(f);
	assert_int_equal(put_next(f->ob, NULL, 0, "TRK1", NULL), 0);
	assert_int_equal(outbox_ack(f->ob, STATION "-0000000001"), 0);
	strcpy(h, outbox_get_last_hash(f->ob));
	outbox_close(f->ob);
	f->ob = NULL;

	bulk_fill(f->path, h, &unacked_bytes, last);

	t0 = now_ms();
	fx_open(f);
	dt = now_ms() - t0;
	print_message("open with %u rows: %.1f ms\n", BIG_ROWS, dt);
	assert_true(dt < BIG_OPEN_MAX_MS);

	assert_int_equal(outbox_get_next_seq(f->ob), BIG_ROWS + 1);
	assert_string_equal(outbox_get_last_hash(f->ob), last);
	check_stats(f->ob, BIG_UNACKED, unacked_bytes, BIG_ROWS, BIG_ROWS);

	/* the unacked scan starts at the first unacked row */
	assert_int_equal(outbox_next_unacked(f->ob, 0, &row), 0);
	assert_int_equal(row.seq, BIG_ROWS - BIG_UNACKED + 1);
	outbox_row_done(&row);
	assert_int_equal(outbox_has_tracking(f->ob, "TRK25000", &b), 0);
	assert_true(b);

	/* the chain continues */
	make_json(f->ob, BIG_ROWS + 1, json);
	assert_non_null(strstr(json, last));
	assert_int_equal(put_next(f->ob, NULL, 0, NULL, h), 0);
	sha256_hex(json, strlen(json), last);
	assert_string_equal(h, last);

	/* the whole chain, checked in SQL: every record's prev is its predecessor's hash */
	db = raw_open(f->path);
	assert_int_equal(
		raw_int(db, "SELECT count(*) FROM records r JOIN records p"
			    " ON p.seq = r.seq - 1 WHERE json_extract(r.json, '$.prev') = p.hash"),
		BIG_ROWS);
	assert_int_equal(outbox_check(f->ob, OUTBOX_CHECK_FULL), 0);
	/* a photo lost far from the tail: only the full check reads that far */
	raw_exec(db, "DELETE FROM photos WHERE seq = 100");
	sqlite3_close(db);
	assert_int_equal(outbox_check(f->ob, OUTBOX_CHECK_FAST), 0);
	assert_int_equal(outbox_check(f->ob, OUTBOX_CHECK_FULL), -EBADMSG);
	assert_int_equal(outbox_prune(f->ob, UINT64_MAX / 2),
			 (int)(BIG_ROWS - BIG_UNACKED) / 100 - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_open_creates_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_chain_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_high_water_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_unacked_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sent_ack_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle_burst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_change_leaves_photo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_photo_table_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_has_tracking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_photo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_row_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_idle_and_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_too_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_write_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_many_rows, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
