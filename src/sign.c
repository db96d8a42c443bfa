/* SPDX-License-Identifier: MIT */
/*
 * src/sign.c - Ed25519 keys, signatures and their base64 texts, over OpenSSL libcrypto.
 *
 * Why the file handling is careful: the private key is the station's identity for as long as
 * the station lives (central registers its public key once). So:
 *  - a key file that group or other may access is refused, not "fixed": somebody made it
 *    that way and a human should look (ssh does the same with its identity files);
 *  - a new key is written next to its final name, synced, and moved into place without
 *    replacing anything, then the directory is synced: after a power cut there is either no
 *    key (and the next start makes one) or the whole key, never half a PEM; and a key that
 *    appeared meanwhile is never overwritten;
 *  - OpenSSL never prompts: an encrypted PEM is simply "not a key we can use" (-EINVAL).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "src/durable.h"
#include "src/sign.h"

/* Largest key file we read: an Ed25519 PKCS#8 PEM is 119 bytes; anything near this is not
 * one of ours. */
#define KEY_FILE_MAX 4096

/* Largest public key file: the base64 text, a newline, and room to notice a longer file. */
#define PUBKEY_FILE_MAX (SIGN_PUBKEY_B64_LEN + 2)

/* Largest byte string sign_b64_decode() takes: a signature. */
#define B64_BYTES_MAX SIGN_SIG_BYTES

/* Base64 text length of @n bytes (RFC 4648, padded). */
#define B64_LEN(n) (4 * (((n) + 2) / 3))

/* Mode of the private key file and of public key files. */
#define KEY_FILE_MODE	 0600
#define PUBKEY_FILE_MODE 0644

struct sign_key {
	EVP_PKEY *pkey;
	/*
	 * A signing context initialised once for pkey (EVP_DigestSignInit fetches the algorithm
	 * from the provider and builds its context: ~3 us of the ~50 us of a signature). Each
	 * signature signs with a copy of it, so the template itself is never used up and a const
	 * key may sign from several threads. NULL: the copy is not supported, init per call.
	 */
	EVP_MD_CTX *tmpl;
};

/* ---- files ----------------------------------------------------------------------------- */



/* ---- keys ------------------------------------------------------------------------------ */

/* OpenSSL's default would prompt on the terminal for an encrypted PEM: refuse instead. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static int key_wrap(EVP_PKEY *pkey, struct sign_key **ret)
{
	struct sign_key *k = calloc(1, sizeof(*k));

	if (!k) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	k->pkey = pkey;
	k->tmpl = EVP_MD_CTX_new();
	if (k->tmpl && EVP_DigestSignInit(k->tmpl, NULL, NULL, NULL, pkey) != 1) {
		ERR_clear_error();
		EVP_MD_CTX_free(k->tmpl);
		k->tmpl = NULL;
	}
	*ret = k;
	return 0;
}

static int key_from_pem(const char *pem, size_t len, struct sign_key **ret)
{
	EVP_PKEY *pkey;
	BIO *bio;

	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return -ENOMEM;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!pkey)
		return -EINVAL;
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}
	return key_wrap(pkey, ret);
}

int sign_key_load(const char *path, struct sign_key **ret)
{
	char pem[KEY_FILE_MAX];
	struct stat stbuf;
	size_t len = 0;
	int fd, r;

	if (!path || !ret)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &stbuf) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(stbuf.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (stbuf.st_mode & (S_IRWXG | S_IRWXO)) {
		r = -EPERM;
		goto out;
	}
	r = durable_read_bounded(fd, pem, sizeof(pem), &len);
	if (r == 0)
		r = key_from_pem(pem, len, ret);
	OPENSSL_cleanse(pem, sizeof(pem));
out:
	close(fd);
	return r;
}

int sign_key_generate(struct sign_key **ret)
{
	EVP_PKEY *pkey;

	if (!ret)
		return -EINVAL;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey) {
		ERR_clear_error();
		return -EIO;
	}
	return key_wrap(pkey, ret);
}

int sign_key_from_raw(const uint8_t secret[SIGN_PUBKEY_BYTES], struct sign_key **ret)
{
	EVP_PKEY *pkey;

	if (!secret || !ret)
		return -EINVAL;
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, secret, SIGN_PUBKEY_BYTES);
	if (!pkey) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return key_wrap(pkey, ret);
}

/* Write @key as a new PEM file at @path (-EEXIST when one is there already). */
static int key_store(const struct sign_key *key, const char *path)
{
	char *data = NULL;
	long len;
	BIO *bio;
	int r;

	/* secure-heap memory BIO: the PEM is cleansed when the BIO is freed */
	bio = BIO_new(BIO_s_secmem());
	if (!bio)
		return -ENOMEM;
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		ERR_clear_error();
		r = -EIO;
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || !data) {
		r = -EIO;
		goto out;
	}
	r = durable_write_file(path, data, (size_t)len, KEY_FILE_MODE, false);
out:
	BIO_free(bio);
	return r;
}

int sign_key_load_or_create(const char *path, struct sign_key **ret, bool *ret_created)
{
	struct sign_key *k = NULL;
	int r;

	if (!path || !ret)
		return -EINVAL;
	r = sign_key_load(path, &k);
	if (r != -ENOENT)
		goto out;
	r = sign_key_generate(&k);
	if (r < 0)
		return r;
	r = key_store(k, path);
	if (r == -EEXIST) {
		/* another process made one meanwhile: that one is the station's key */
		sign_key_free(k);
		k = NULL;
		r = sign_key_load(path, &k);
		goto out;
	}
	if (r < 0) {
		sign_key_free(k);
		return r;
	}
	*ret = k;
	if (ret_created)
		*ret_created = true;
	return 0;
out:
	if (r < 0)
		return r;
	*ret = k;
	if (ret_created)
		*ret_created = false;
	return 0;
}

void sign_key_free(struct sign_key *key)
{
	if (!key)
		return;
	EVP_MD_CTX_free(key->tmpl);
	EVP_PKEY_free(key->pkey);
	free(key);
}

int sign_key_get_pubkey(const struct sign_key *key, uint8_t ret[SIGN_PUBKEY_BYTES])
{
	uint8_t pub[SIGN_PUBKEY_BYTES];
	size_t len = sizeof(pub);

	if (!key || !ret)
		return -EINVAL;
	if (EVP_PKEY_get_raw_public_key(key->pkey, pub, &len) != 1 || len != sizeof(pub)) {
		ERR_clear_error();
		return -EIO;
	}
	memcpy(ret, pub, sizeof(pub));
	return 0;
}

int sign_key_get_pubkey_b64(const struct sign_key *key, char *buf, size_t len)
{
	uint8_t pub[SIGN_PUBKEY_BYTES];
	int r;

	if (!buf)
		return -EINVAL;
	r = sign_key_get_pubkey(key, pub);
	if (r < 0)
		return r;
	return sign_b64_encode(pub, sizeof(pub), buf, len);
}

/* ---- signatures ------------------------------------------------------------------------ */

int sign_key_sign(const struct sign_key *key, const void *data, size_t len,
		  uint8_t ret_sig[SIGN_SIG_BYTES])
{
	uint8_t sig[SIGN_SIG_BYTES];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx;
	int r = 0;

	if (!key || (!data && len) || !ret_sig)
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	/* Ed25519 is one-shot (PureEdDSA): no digest, the whole message at once */
	if ((key->tmpl ? EVP_MD_CTX_copy_ex(ctx, key->tmpl)
		       : EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey)) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, data ? data : (const void *)"", len) != 1 ||
	    siglen != sizeof(sig)) {
		ERR_clear_error();
		r = -EIO;
	}
	EVP_MD_CTX_free(ctx);
	if (r == 0)
		memcpy(ret_sig, sig, sizeof(sig));
	return r;
}

int sign_verify(const uint8_t pub[SIGN_PUBKEY_BYTES], const void *data, size_t len,
		const uint8_t sig[SIGN_SIG_BYTES])
{
	EVP_MD_CTX *ctx;
	EVP_PKEY *pkey;
	int r = 0;

	if (!pub || (!data && len) || !sig)
		return -EINVAL;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, SIGN_PUBKEY_BYTES);
	if (!pkey) {
		ERR_clear_error();
		return -EBADMSG;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestVerify(ctx, sig, SIGN_SIG_BYTES, data ? data : (const void *)"", len) != 1) {
		ERR_clear_error();
		r = -EBADMSG;
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return r;
}

/* ---- base64 ---------------------------------------------------------------------------- */

int sign_b64_encode(const uint8_t *data, size_t n, char *buf, size_t len)
{
	if (!data || !buf || n > INT_MAX / 2)
		return -EINVAL;
	if (len < B64_LEN(n) + 1)
		return -ENOBUFS;
	EVP_EncodeBlock((unsigned char *)buf, data, (int)n);
	return 0;
}

int sign_b64_decode(const char *s, uint8_t *ret, size_t n)
{
	uint8_t raw[B64_LEN(B64_BYTES_MAX) / 4 * 3];
	char again[B64_LEN(B64_BYTES_MAX) + 1];
	size_t want = B64_LEN(n);
	int m;

	if (!s || !ret || n == 0 || n > B64_BYTES_MAX)
		return -EINVAL;
	if (strnlen(s, want + 1) != want)
		return -EINVAL;
	m = EVP_DecodeBlock(raw, (const unsigned char *)s, (int)want);
	if (m < 0 || (size_t)m < n) {
		ERR_clear_error();
		return -EINVAL;
	}
	/* exactly one text per value: re-encode and compare (padding, spare bits, alphabet) */
	EVP_EncodeBlock((unsigned char *)again, raw, (int)n);
	if (memcmp(again, s, want) != 0)
		return -EINVAL;
	memcpy(ret, raw, n);
	return 0;
}

/* ---- public key files ------------------------------------------------------------------ */

int sign_pubkey_load(const char *path, uint8_t ret[SIGN_PUBKEY_BYTES])
{
	char text[PUBKEY_FILE_MAX + 1];
	size_t len = 0;
	int fd, r;

	if (!path || !ret)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = durable_read_bounded(fd, text, PUBKEY_FILE_MAX, &len);
	close(fd);
	if (r == -EFBIG)
		return -EINVAL;
	if (r < 0)
		return r;
	if (len && text[len - 1] == '\n')
		len--;
	if (len != SIGN_PUBKEY_B64_LEN)
		return -EINVAL;
	text[len] = '\0';
	return sign_b64_decode(text, ret, SIGN_PUBKEY_BYTES);
}

int sign_pubkey_save(const char *path, const uint8_t pub[SIGN_PUBKEY_BYTES])
{
	char text[SIGN_PUBKEY_B64_MAX + 1];
	int r;

	if (!path || !pub)
		return -EINVAL;
	r = sign_b64_encode(pub, SIGN_PUBKEY_BYTES, text, sizeof(text));
	if (r < 0)
		return r;
	text[SIGN_PUBKEY_B64_LEN] = '\n';
	return durable_write_file(path, text, SIGN_PUBKEY_B64_LEN + 1, PUBKEY_FILE_MODE, false);
}
