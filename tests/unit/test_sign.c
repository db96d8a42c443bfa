/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_sign.c - Ed25519 keys and signatures (src/sign.c) and signed records
 * (record_sign/record_verify in src/record.c).
 *
 * Known answers come from RFC 8032 section 7.1 (TEST 1 and TEST 2) and, for the record
 * format, from firmware/schema/CANONICAL.md's worked example (computed independently with
 * Python's "cryptography"), so the C code, the document and other languages agree. Key files
 * are real files in a mkdtemp() directory: modes, the create-once rule, leftovers of a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "src/record.h"
#include "src/sign.h"

/* RFC 8032 7.1 TEST 1: empty message. */
#define T1_SECRET "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define T1_PUBLIC "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define T1_SIG                                                                                     \
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970" \
	"1cf9b46bd25bf5f0595bbe24655141438e7a100b"
#define T1_PUBLIC_B64 "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

/* RFC 8032 7.1 TEST 2: one byte, 0x72. */
#define T2_SECRET "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
#define T2_PUBLIC "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
#define T2_SIG                                                                                     \
	"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613" \
	"d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"

/* CANONICAL.md's worked example: signed bytes and published bytes under TEST 1's key. */
#define EX_SIGNED "{\"schema\":\"sealbench.evidence/1\",\"id\":\"st01-0000000001\",\"seq\":1}"
#define EX_PUBLISHED                                                                         \
	"{\"schema\":\"sealbench.evidence/1\",\"id\":\"st01-0000000001\",\"seq\":1,\"sig\":" \
	"\"zUzqhD1xi9yb0VYFks8BB7iptVwJr75c72K8PZTfZh819KgslJKRRXa84Z7vA5DsDR6UrVXrhzcHw2cX" \
	"3/5fDQ==\"}"

/* The test directory's name ("/tmp/test_sign.XXXXXX"), and room for paths inside it. */
#define TEST_DIR_MAX  64
#define TEST_PATH_MAX (TEST_DIR_MAX + 64)

struct fixture {
	char dir[TEST_DIR_MAX];
	char key[TEST_DIR_MAX + 16];
};

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_sign.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->key, sizeof(f->key), "%s/station.key", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return (size_t)n;
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* ---- RFC 8032 known answers ------------------------------------------------------------ */

static void check_vector(const char *secret_hex, const char *public_hex, const uint8_t *msg,
			 size_t len, const char *sig_hex)
{
	uint8_t secret[SIGN_PUBKEY_BYTES], pub[SIGN_PUBKEY_BYTES], want_pub[SIGN_PUBKEY_BYTES];
	uint8_t sig[SIGN_SIG_BYTES], want_sig[SIGN_SIG_BYTES];
	struct sign_key *k = NULL;

	unhex(secret_hex, secret, sizeof(secret));
	unhex(public_hex, want_pub, sizeof(want_pub));
	unhex(sig_hex, want_sig, sizeof(want_sig));
	assert_int_equal(sign_key_from_raw(secret, &k), 0);
	assert_int_equal(sign_key_get_pubkey(k, pub), 0);
	assert_memory_equal(pub, want_pub, sizeof(pub));
	assert_int_equal(sign_key_sign(k, msg, len, sig), 0);
	assert_memory_equal(sig, want_sig, sizeof(sig));
	assert_int_equal(sign_verify(pub, msg, len, sig), 0);

	/* one flipped bit anywhere in the signature or the key fails */
	for (size_t i = 0; i < sizeof(sig) * 8; i += 7) {
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(sign_verify(pub, msg, len, sig), -EBADMSG);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	for (size_t i = 0; i < sizeof(pub) * 8; i += 5) {
		pub[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(sign_verify(pub, msg, len, sig), -EBADMSG);
		pub[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	sign_key_free(k);
}

static void test_rfc8032(void **state)
{
	static const uint8_t m2[] = {0x72};
	uint8_t secret[SIGN_PUBKEY_BYTES], sig[SIGN_SIG_BYTES];
	char b64[SIGN_PUBKEY_B64_MAX];
	struct sign_key *k = NULL;

	(void)state;
	check_vector(T1_SECRET, T1_PUBLIC, (const uint8_t *)"", 0, T1_SIG);
	check_vector(T2_SECRET, T2_PUBLIC, m2, sizeof(m2), T2_SIG);

	/* the message matters: TEST 2's signature does not verify the empty message */
	unhex(T2_SECRET, secret, sizeof(secret));
	assert_int_equal(sign_key_from_raw(secret, &k), 0);
	assert_int_equal(sign_key_sign(k, m2, sizeof(m2), sig), 0);
	assert_int_equal(sign_key_get_pubkey_b64(k, b64, sizeof(b64)), 0);
	assert_int_equal(strlen(b64), SIGN_PUBKEY_B64_LEN);
	sign_key_free(k);
	k = NULL;

	unhex(T1_SECRET, secret, sizeof(secret));
	assert_int_equal(sign_key_from_raw(secret, &k), 0);
	assert_int_equal(sign_key_get_pubkey_b64(k, b64, sizeof(b64)), 0);
	assert_string_equal(b64, T1_PUBLIC_B64);
	assert_int_equal(sign_key_get_pubkey_b64(k, b64, SIGN_PUBKEY_B64_LEN), -ENOBUFS);
	assert_string_equal(b64, T1_PUBLIC_B64);
	sign_key_free(k);

	assert_int_equal(sign_key_sign(NULL, "", 0, sig), -EINVAL);
	assert_int_equal(sign_verify(NULL, "", 0, sig), -EINVAL);
	sign_key_free(NULL);
}

/* ---- base64 ---------------------------------------------------------------------------- */

static void test_b64(void **state)
{
	uint8_t pub[SIGN_PUBKEY_BYTES], raw[SIGN_SIG_BYTES], back[SIGN_SIG_BYTES];
	char text[SIGN_SIG_B64_MAX], bad[SIGN_SIG_B64_MAX + 8];
	static const struct {
		const char *legend;
		const char *text;
	} rejects[] = {
		{"empty", ""},
		{"one short", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		{"one long", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=="},
		{"newline", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo\n"},
		{"leading space", " 1qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
		{"inner space", "11qYAYKxCrfVS/7TyWQHOg7 cvPapiMlrwIaaPcHURo="},
		{"url alphabet", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
		{"no padding, filled", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURoA"},
		{"spare bits set", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURp="},
		{"padding inside", "11qYAYKxCrfVS/7TyWQHOg7hcvPa=iMlrwIaaPcHURo="},
	};

	(void)state;
	assert_int_equal(sign_b64_decode(T1_PUBLIC_B64, pub, sizeof(pub)), 0);
	unhex(T1_PUBLIC, raw, SIGN_PUBKEY_BYTES);
	assert_memory_equal(pub, raw, sizeof(pub));
	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		memset(pub, 0xa5, sizeof(pub));
		if (sign_b64_decode(rejects[i].text, pub, sizeof(pub)) != -EINVAL)
			fail_msg("accepted: %s", rejects[i].legend);
		for (size_t j = 0; j < sizeof(pub); j++)
			assert_int_equal(pub[j], 0xa5); /* untouched */
	}

	/* every byte value round-trips through a signature-sized buffer */
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 37 + 11);
	assert_int_equal(sign_b64_encode(raw, sizeof(raw), text, sizeof(text)), 0);
	assert_int_equal(strlen(text), SIGN_SIG_B64_LEN);
	assert_int_equal(sign_b64_decode(text, back, sizeof(back)), 0);
	assert_memory_equal(raw, back, sizeof(raw));
	assert_int_equal(sign_b64_encode(raw, sizeof(raw), text, SIGN_SIG_B64_LEN), -ENOBUFS);
	/* the same text is too long for fewer bytes, and too short for more */
	assert_int_equal(sign_b64_decode(text, back, SIGN_PUBKEY_BYTES), -EINVAL);
	assert_int_equal(sign_b64_decode(text, back, 0), -EINVAL);
	snprintf(bad, sizeof(bad), "%s", text);
	bad[SIGN_SIG_B64_LEN - 3] = 'B'; /* "..xB==": spare bits of the last character */
	if (strcmp(bad, text) != 0)
		assert_int_equal(sign_b64_decode(bad, back, sizeof(back)), -EINVAL);
}

/* ---- key files ------------------------------------------------------------------------- */

static void test_key_create_and_reload(void **state)
{
	struct fixture *f = *state;
	uint8_t pub1[SIGN_PUBKEY_BYTES], pub2[SIGN_PUBKEY_BYTES];
	uint8_t s1[SIGN_SIG_BYTES], s2[SIGN_SIG_BYTES];
	struct sign_key *k1 = NULL, *k2 = NULL;
	char pem[4096], tmp[TEST_PATH_MAX];
	bool created = false;
	mode_t old;

	/* a restrictive umask must not change the key's mode, a lax one neither */
	old = umask(0777);
	assert_int_equal(sign_key_load_or_create(f->key, &k1, &created), 0);
	umask(old);
	assert_true(created);
	assert_int_equal(file_mode(f->key), 0600);
	read_file(f->key, pem, sizeof(pem));
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->key);
	assert_int_equal(access(tmp, F_OK), -1);

	assert_int_equal(sign_key_load_or_create(f->key, &k2, &created), 0);
	assert_false(created);
	assert_int_equal(sign_key_get_pubkey(k1, pub1), 0);
	assert_int_equal(sign_key_get_pubkey(k2, pub2), 0);
	assert_memory_equal(pub1, pub2, sizeof(pub1));
	/* deterministic: the reloaded key makes the same signature */
	assert_int_equal(sign_key_sign(k1, "abc", 3, s1), 0);
	assert_int_equal(sign_key_sign(k2, "abc", 3, s2), 0);
	assert_memory_equal(s1, s2, sizeof(s1));
	assert_int_equal(sign_verify(pub2, "abc", 3, s1), 0);
	sign_key_free(k2);
	k2 = NULL;

	/* plain load sees the same key */
	assert_int_equal(sign_key_load(f->key, &k2), 0);
	assert_int_equal(sign_key_get_pubkey(k2, pub2), 0);
	assert_memory_equal(pub1, pub2, sizeof(pub1));
	sign_key_free(k2);
	sign_key_free(k1);
}

static void test_key_permissions(void **state)
{
	struct fixture *f = *state;
	static const mode_t lax[] = {0640, 0604, 0610, 0601, 0660, 0644, 0700 | 0020};
	uint8_t pub1[SIGN_PUBKEY_BYTES], pub2[SIGN_PUBKEY_BYTES];
	struct sign_key *k = NULL, *none = NULL;
	bool created = false;

	assert_int_equal(sign_key_load_or_create(f->key, &k, &created), 0);
	assert_int_equal(sign_key_get_pubkey(k, pub1), 0);
	sign_key_free(k);
	k = NULL;
	for (size_t i = 0; i < sizeof(lax) / sizeof(lax[0]); i++) {
		assert_int_equal(chmod(f->key, lax[i]), 0);
		assert_int_equal(sign_key_load(f->key, &none), -EPERM);
		/* refused, and certainly not replaced by a new key */
		assert_int_equal(sign_key_load_or_create(f->key, &none, &created), -EPERM);
		assert_null(none);
	}
	/* 0400 (read-only for the owner) is fine, and it is still the same key */
	assert_int_equal(chmod(f->key, 0400), 0);
	assert_int_equal(sign_key_load_or_create(f->key, &k, &created), 0);
	assert_false(created);
	assert_int_equal(sign_key_get_pubkey(k, pub2), 0);
	assert_memory_equal(pub1, pub2, sizeof(pub1));
	sign_key_free(k);
}

static void test_key_bad_files(void **state)
{
	struct fixture *f = *state;
	char path[TEST_PATH_MAX], big[8192];
	struct sign_key *k = NULL;
	EVP_PKEY *ec;
	FILE *fp;

	/* the directory must exist: -ENOENT, and nothing is created */
	snprintf(path, sizeof(path), "%s/missing/station.key", f->dir);
	assert_int_equal(sign_key_load_or_create(path, &k, NULL), -ENOENT);
	assert_int_equal(sign_key_load(path, &k), -ENOENT);

	/* not PEM */
	write_file(f->key, "hello\n", 6, 0600);
	assert_int_equal(sign_key_load(f->key, &k), -EINVAL);
	assert_int_equal(sign_key_load_or_create(f->key, &k, NULL), -EINVAL);
	/* empty */
	write_file(f->key, "", 0, 0600);
	assert_int_equal(sign_key_load(f->key, &k), -EINVAL);
	/* too large for a key file */
	memset(big, 'A', sizeof(big));
	write_file(f->key, big, sizeof(big), 0600);
	assert_int_equal(sign_key_load(f->key, &k), -EFBIG);
	/* a key, but not Ed25519 */
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	fp = fopen(f->key, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, ec, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	EVP_PKEY_free(ec);
	assert_int_equal(chmod(f->key, 0600), 0);
	assert_int_equal(sign_key_load(f->key, &k), -EINVAL);
	/* a directory where the key should be */
	snprintf(path, sizeof(path), "%s/dir.key", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(sign_key_load(path, &k), -EINVAL);
	assert_null(k);
}

static void test_key_crash_leftover(void **state)
{
	struct fixture *f = *state;
	char tmp[TEST_PATH_MAX], target[TEST_PATH_MAX];
	struct sign_key *k = NULL;
	bool created = false;

	/* half a PEM from a power cut during the first start: removed, a whole key made */
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->key);
	write_file(tmp, "-----BEGIN PRIV", 15, 0600);
	assert_int_equal(sign_key_load_or_create(f->key, &k, &created), 0);
	assert_true(created);
	assert_int_equal(access(tmp, F_OK), -1);
	sign_key_free(k);
	k = NULL;

	/* a symlink planted at the temp name is not written through */
	assert_int_equal(unlink(f->key), 0);
	snprintf(target, sizeof(target), "%s/target", f->dir);
	write_file(target, "keep", 4, 0644);
	assert_int_equal(symlink(target, tmp), 0);
	assert_int_equal(sign_key_load_or_create(f->key, &k, &created), 0);
	assert_true(created);
	{
		char buf[16];

		read_file(target, buf, sizeof(buf));
		assert_string_equal(buf, "keep");
	}
	sign_key_free(k);
}

/* ---- public key files ------------------------------------------------------------------ */

static void test_pubkey_files(void **state)
{
	struct fixture *f = *state;
	uint8_t pub[SIGN_PUBKEY_BYTES], other[SIGN_PUBKEY_BYTES], got[SIGN_PUBKEY_BYTES];
	char path[TEST_PATH_MAX], text[128];

	unhex(T1_PUBLIC, pub, sizeof(pub));
	unhex(T2_PUBLIC, other, sizeof(other));
	snprintf(path, sizeof(path), "%s/st01.pub", f->dir);
	assert_int_equal(sign_pubkey_save(path, pub), 0);
	assert_int_equal(file_mode(path), 0644);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, T1_PUBLIC_B64 "\n");
	assert_int_equal(sign_pubkey_load(path, got), 0);
	assert_memory_equal(got, pub, sizeof(pub));

	/* never replaced: the first key registered stays */
	assert_int_equal(sign_pubkey_save(path, other), -EEXIST);
	assert_int_equal(sign_pubkey_load(path, got), 0);
	assert_memory_equal(got, pub, sizeof(pub));

	/* without the newline is fine; anything else is not a key file */
	write_file(path, T1_PUBLIC_B64, strlen(T1_PUBLIC_B64), 0644);
	assert_int_equal(sign_pubkey_load(path, got), 0);
	write_file(path, T1_PUBLIC_B64 "\r\n", strlen(T1_PUBLIC_B64) + 2, 0644);
	assert_int_equal(sign_pubkey_load(path, got), -EINVAL);
	write_file(path, T1_PUBLIC_B64 "\n\n", strlen(T1_PUBLIC_B64) + 2, 0644);
	assert_int_equal(sign_pubkey_load(path, got), -EINVAL);
	write_file(path, "", 0, 0644);
	assert_int_equal(sign_pubkey_load(path, got), -EINVAL);
	snprintf(path, sizeof(path), "%s/nobody.pub", f->dir);
	assert_int_equal(sign_pubkey_load(path, got), -ENOENT);
}

/* ---- signed records -------------------------------------------------------------------- */

static struct sign_key *t1_key(void)
{
	uint8_t secret[SIGN_PUBKEY_BYTES];
	struct sign_key *k = NULL;

	unhex(T1_SECRET, secret, sizeof(secret));
	assert_int_equal(sign_key_from_raw(secret, &k), 0);
	return k;
}

static void test_record_sign_known_answer(void **state)
{
	struct sign_key *k = t1_key();
	uint8_t pub[SIGN_PUBKEY_BYTES];
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(record_sign(k, EX_SIGNED, strlen(EX_SIGNED), &out, &len), 0);
	assert_int_equal(len, strlen(EX_SIGNED) + RECORD_SIG_OVERHEAD);
	assert_int_equal(strlen(out), len);
	assert_string_equal(out, EX_PUBLISHED);
	assert_int_equal(sign_key_get_pubkey(k, pub), 0);
	assert_int_equal(record_verify(out, len, pub), 0);
	free(out);
	sign_key_free(k);
}

static void test_record_verify_rejects(void **state)
{
	static const char rec[] = "{\"a\":\"hello\",\"n\":[1,2,{\"b\":null}],\"t\":true}";
	uint8_t pub[SIGN_PUBKEY_BYTES], other_pub[SIGN_PUBKEY_BYTES];
	struct sign_key *k = t1_key(), *other = NULL;
	char *out = NULL, *copy, *wrapped = NULL;
	size_t len = 0, wlen = 0;

	(void)state;
	assert_int_equal(sign_key_get_pubkey(k, pub), 0);
	assert_int_equal(sign_key_generate(&other), 0);
	assert_int_equal(sign_key_get_pubkey(other, other_pub), 0);
	assert_int_equal(record_sign(k, rec, strlen(rec), &out, &len), 0);
	assert_int_equal(record_verify(out, len, pub), 0);
	/* the published record ends with the signature member, and starts with the signed
	 * bytes without their closing brace */
	assert_memory_equal(out, rec, strlen(rec) - 1);
	assert_memory_equal(out + strlen(rec) - 1, RECORD_SIG_MEMBER, strlen(RECORD_SIG_MEMBER));

	/* another station's key */
	assert_int_equal(record_verify(out, len, other_pub), -EBADMSG);

	/* every single-byte change anywhere is caught */
	copy = malloc(len + 1);
	assert_non_null(copy);
	for (size_t i = 0; i < len; i++) {
		int r;

		memcpy(copy, out, len + 1);
		copy[i] = copy[i] == 'x' ? 'y' : 'x';
		r = record_verify(copy, len, pub);
		if (r != -EBADMSG && r != -ENOMSG)
			fail_msg("byte %zu changed: record_verify() = %d", i, r);
	}
	/* truncated by any amount */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(record_verify(out, n, pub), -ENOMSG);
	/* reformatted: a space before the closing brace, a newline at the end */
	memcpy(copy, out, len - 1);
	memcpy(copy + len - 1, " }", 2);
	assert_int_equal(record_verify(copy, len + 1, pub), -ENOMSG);
	free(copy);

	/* unsigned */
	assert_int_equal(record_verify(rec, strlen(rec), pub), -ENOMSG);

	/* a signed part that carries its own "sig" is not a canonical record, even though the
	 * signature over it is good */
	{
		static const char dup[] = "{\"sig\":\"x\",\"a\":1}";

		assert_int_equal(record_sign(k, dup, strlen(dup), &wrapped, &wlen), 0);
		assert_int_equal(record_verify(wrapped, wlen, pub), -ENOMSG);
		free(wrapped);
		wrapped = NULL;
	}
	/* a signed part that is not one JSON object */
	{
		static const char two[] = "{\"a\":1}{\"b\":2}";

		assert_int_equal(record_sign(k, two, strlen(two), &wrapped, &wlen), 0);
		assert_int_equal(record_verify(wrapped, wlen, pub), -ENOMSG);
		free(wrapped);
		wrapped = NULL;
	}

	/* record_sign input checks; outputs untouched */
	wlen = 0;
	assert_int_equal(record_sign(k, "{}", 2, &wrapped, &wlen), -EINVAL);
	assert_int_equal(record_sign(k, "[1]", 3, &wrapped, &wlen), -EINVAL);
	assert_int_equal(record_sign(k, "", 0, &wrapped, &wlen), -EINVAL);
	assert_int_equal(record_sign(k, "{\"a\":1", 6, &wrapped, &wlen), -EINVAL);
	assert_int_equal(record_sign(NULL, rec, strlen(rec), &wrapped, &wlen), -EINVAL);
	assert_null(wrapped);
	assert_int_equal(wlen, 0);
	assert_int_equal(record_verify(NULL, 0, pub), -EINVAL);
	assert_int_equal(record_verify(out, len, NULL), -EINVAL);

	free(out);
	sign_key_free(other);
	sign_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032),
		cmocka_unit_test(test_b64),
		cmocka_unit_test_setup_teardown(test_key_create_and_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_crash_leftover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pubkey_files, setup, teardown),
		cmocka_unit_test(test_record_sign_known_answer),
		cmocka_unit_test(test_record_verify_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
