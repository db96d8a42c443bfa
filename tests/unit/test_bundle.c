/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_bundle.c - signed rules bundles (src/bundle.c) and the config overlay they
 * are applied through (station_cfg_overlay in src/config.c).
 *
 * Real keys (OpenSSL), real files in a mkdtemp() directory: the lead key directory, the
 * station's kept bundles. Every refusal the issue names is made on purpose and checked by its
 * error code: forged, wrong key, unknown lead, expired, rolled back, wrong site, wrong
 * station, truncated (every prefix of an envelope), oversized, malformed header.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
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

#include "src/bundle.h"
#include "src/config.h"
#include "src/sign.h"

#define TEST_DIR_MAX  64
#define TEST_PATH_MAX (TEST_DIR_MAX + 64)
#define TEXT_MAX      4096

/* 2026-11-21T00:00:00Z: "now" for the tests; bundles are issued before it. */
#define NOW_MS 1795219200000ull

#define RULES                                                                                   \
	"[rules]\n"                                                                             \
	"version = R-test\n"                                                                    \
	"signature_threshold_cents = 10000\n"                                                   \
	"fragile_skus = GLASS-*, VASE-*\n"                                                      \
	"lead_badges = L-9001\n"                                                                \
	"\n"                                                                                    \
	"[carrier UPS]\n"                                                                       \
	"pattern = ^1Z[0-9A-Z]{16}$\n"                                                          \
	"\n"                                                                                    \
	"[box BOX-S]\n"                                                                         \
	"dims_mm = 300x200x100\n"

struct fixture {
	char dir[TEST_DIR_MAX];
	char keys[TEST_PATH_MAX];
	char data[TEST_PATH_MAX];
	struct sign_key *lead;  /* L-9001, its .pub in keys/ */
	struct sign_key *other; /* a key nobody trusts */
	struct bundle_trust trust;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char pub_path[TEST_PATH_MAX + 16];
	uint8_t pub[SIGN_PUBKEY_BYTES];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_bundle.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->dir);
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	assert_int_equal(mkdir(f->keys, 0755), 0);
	assert_int_equal(mkdir(f->data, 0755), 0);
	assert_int_equal(sign_key_generate(&f->lead), 0);
	assert_int_equal(sign_key_generate(&f->other), 0);
	assert_int_equal(sign_key_get_pubkey(f->lead, pub), 0);
	snprintf(pub_path, sizeof(pub_path), "%s/L-9001.pub", f->keys);
	assert_int_equal(sign_pubkey_save(pub_path, pub), 0);
	f->trust = (struct bundle_trust){ .keys_dir = f->keys, .site = "wh1", .station = "st01" };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sign_key_free(f->lead);
	sign_key_free(f->other);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A signed envelope: header fields as given, RULES (or @p rules) as the body. */
static char *make(const struct sign_key *key, const char *site, const char *stations,
		  uint64_t version, const char *expires, const char *lead, const char *rules)
{
	char text[TEXT_MAX], err[BUNDLE_ERR_MAX] = "";
	char *json = NULL;
	int r;

	snprintf(text, sizeof(text),
		 "[bundle]\nschema = sealbench.bundle/1\nsite = %s\nstations = %s\n"
		 "version = %" PRIu64 "\nissued = 2026-11-01T08:00:00Z\nexpires = %s\nlead = %s\n\n%s",
		 site, stations, version, expires, lead, rules ? rules : RULES);
	r = bundle_sign(text, key, &json, err, sizeof(err));
	if (r < 0)
		fail_msg("bundle_sign: %d %s", r, err);
	return json;
}

static char *good(const struct fixture *f, uint64_t version)
{
	return make(f->lead, "wh1", "*", version, "2027-01-01T00:00:00Z", "L-9001", NULL);
}

static int check(const struct fixture *f, const char *json, char *err, size_t errlen)
{
	struct bundle *b = NULL;
	int r = bundle_parse(json, strlen(json), BUNDLE_SITE, &b, err, errlen);

	if (r == 0)
		r = bundle_verify(b, &f->trust, NOW_MS, true, err, errlen);
	bundle_free(b);
	return r;
}

static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	char *json = make(f->lead, "wh1", "st01, st02", 7, "2027-01-01T00:00:00.500Z", "L-9001",
			  NULL);
	char err[BUNDLE_ERR_MAX] = "";
	struct bundle *b = NULL;

	assert_int_equal(bundle_parse(json, strlen(json), BUNDLE_STATION, &b, err, sizeof(err)),
			 0);
	assert_int_equal(b->version, 7);
	assert_string_equal(b->site, "wh1");
	assert_string_equal(b->lead, "L-9001");
	assert_false(b->all_stations);
	assert_int_equal(b->n_stations, 2);
	assert_string_equal(b->stations[1], "st02");
	assert_int_equal(b->issued_ms, 1793520000000ull);
	assert_int_equal(b->expires_ms, 1798761600500ull);
	assert_string_equal(b->name, "station bundle 7");
	assert_non_null(strstr(b->text, "[carrier UPS]"));
	assert_int_equal(bundle_verify(b, &f->trust, NOW_MS, true, err, sizeof(err)), 0);
	bundle_free(b);
	free(json);
}

static void test_forged_and_wrong_key(void **state)
{
	struct fixture *f = *state;
	char err[BUNDLE_ERR_MAX] = "";
	char *json = good(f, 3), *p;

	/* one digit of the threshold changed after signing */
	p = strstr(json, "10000");
	assert_non_null(p);
	p[0] = '9';
	assert_int_equal(check(f, json, err, sizeof(err)), -EKEYREJECTED);
	assert_non_null(strstr(err, "signature"));
	free(json);

	/* a well-formed bundle naming L-9001, signed with someone else's key */
	json = make(f->other, "wh1", "*", 3, "2027-01-01T00:00:00Z", "L-9001", NULL);
	assert_int_equal(check(f, json, err, sizeof(err)), -EKEYREJECTED);
	free(json);

	/* a lead whose key the station does not have */
	json = make(f->other, "wh1", "*", 3, "2027-01-01T00:00:00Z", "L-6666", NULL);
	assert_int_equal(check(f, json, err, sizeof(err)), -ENOKEY);
	assert_non_null(strstr(err, "L-6666"));
	free(json);

	/* the signature itself altered (still valid base64 of 64 bytes) */
	json = good(f, 3);
	p = strstr(json, "\"sig\":\"");
	assert_non_null(p);
	p[7] = p[7] == 'A' ? 'B' : 'A';
	assert_int_equal(check(f, json, err, sizeof(err)), -EKEYREJECTED);
	free(json);
}

static void test_scope_and_expiry(void **state)
{
	struct fixture *f = *state;
	char err[BUNDLE_ERR_MAX] = "";
	char *json;

	json = make(f->lead, "wh2", "*", 3, "2027-01-01T00:00:00Z", "L-9001", NULL);
	assert_int_equal(check(f, json, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "wh2"));
	free(json);
	json = make(f->lead, "wh1", "st02,st03", 3, "2027-01-01T00:00:00Z", "L-9001", NULL);
	assert_int_equal(check(f, json, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "st01"));
	free(json);
	json = make(f->lead, "wh1", "st02,st01", 3, "2027-01-01T00:00:00Z", "L-9001", NULL);
	assert_int_equal(check(f, json, err, sizeof(err)), 0);
	free(json);
	/* expired one millisecond before now; at exactly the expiry it is expired too */
	json = make(f->lead, "wh1", "*", 3, "2026-11-20T23:59:59.999Z", "L-9001", NULL);
	assert_int_equal(check(f, json, err, sizeof(err)), -EKEYEXPIRED);
	assert_non_null(strstr(err, "expired"));
	free(json);
	json = make(f->lead, "wh1", "*", 3, "2026-11-21T00:00:00Z", "L-9001", NULL);
	assert_int_equal(check(f, json, err, sizeof(err)), -EKEYEXPIRED);
	free(json);
}

static void test_truncated_and_oversized(void **state)
{
	struct fixture *f = *state;
	char err[BUNDLE_ERR_MAX];
	char *json = good(f, 3);
	size_t len = strlen(json);
	struct bundle *b;
	char *big;

	/* every proper prefix of the envelope is refused, none crashes */
	for (size_t n = 0; n < len; n++) {
		int r;

		b = NULL;
		r = bundle_parse(json, n, BUNDLE_SITE, &b, err, sizeof(err));
		if (r == 0)
			r = bundle_verify(b, &f->trust, NOW_MS, true, err, sizeof(err));
		bundle_free(b);
		if (r == 0)
			fail_msg("a %zu-byte prefix of %zu was accepted", n, len);
	}
	free(json);

	big = malloc(BUNDLE_PAYLOAD_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', BUNDLE_PAYLOAD_MAX + 1);
	assert_int_equal(bundle_parse(big, BUNDLE_PAYLOAD_MAX + 1, BUNDLE_SITE, &b, err,
				      sizeof(err)),
			 -EMSGSIZE);
	free(big);
	/* not JSON, JSON but no envelope, a NUL byte */
	assert_int_equal(bundle_parse("hello", 5, BUNDLE_SITE, &b, err, sizeof(err)), -EBADMSG);
	assert_int_equal(bundle_parse("{\"schema\":\"sealbench.bundle/1\"}", 31, BUNDLE_SITE, &b,
				      err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(bundle_parse("{}\0{}", 5, BUNDLE_SITE, &b, err, sizeof(err)), -EBADMSG);
}

static void test_bad_headers(void **state)
{
	struct fixture *f = *state;
	static const char *const texts[] = {
		"[rules]\nversion = x\n", /* no header first */
		"[bundle]\nschema = sealbench.bundle/2\nsite = wh1\nstations = *\nversion = 1\n"
		"issued = 2026-11-01T00:00:00Z\nexpires = 2027-01-01T00:00:00Z\nlead = L-9001\n",
		"[bundle]\nschema = sealbench.bundle/1\nsite = wh1\nstations = *\nversion = 0\n"
		"issued = 2026-11-01T00:00:00Z\nexpires = 2027-01-01T00:00:00Z\nlead = L-9001\n",
		"[bundle]\nschema = sealbench.bundle/1\nsite = wh1\nstations = *\nversion = 1\n"
		"issued = 2026-11-01T00:00:00Z\nexpires = 2027-02-30T00:00:00Z\nlead = L-9001\n",
		"[bundle]\nschema = sealbench.bundle/1\nsite = wh1\nstations = *\nversion = 1\n"
		"issued = 2026-11-01T00:00:00Z\nlead = L-9001\n", /* no expires */
		"[bundle]\nschema = sealbench.bundle/1\nsite = wh1\nstations = *\nversion = 1\n"
		"issued = 2026-11-01T00:00:00Z\nexpires = 2026-10-01T00:00:00Z\nlead = L-9001\n",
		"[bundle]\nschema = sealbench.bundle/1\nsite = wh/1\nstations = *\nversion = 1\n"
		"issued = 2026-11-01T00:00:00Z\nexpires = 2027-01-01T00:00:00Z\nlead = L-9001\n",
		"[bundle]\nschema = sealbench.bundle/1\nsite = wh1\nsite = wh2\nstations = *\n"
		"version = 1\nissued = 2026-11-01T00:00:00Z\nexpires = 2027-01-01T00:00:00Z\n"
		"lead = L-9001\n",
		"[bundle]\nschema = sealbench.bundle/1\nsite = wh1\nstations = st01,,st02\n"
		"version = 1\nissued = 2026-11-01T00:00:00Z\nexpires = 2027-01-01T00:00:00Z\n"
		"lead = L-9001\n",
	};
	char err[BUNDLE_ERR_MAX];
	char *json = NULL;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		err[0] = '\0';
		assert_int_equal(bundle_sign(texts[i], f->lead, &json, err, sizeof(err)), -EBADMSG);
		assert_true(err[0] != '\0');
	}
}

static int overlay(const struct station_cfg *base, const char *name, const char *text,
		   struct station_cfg *out, char err[CONFIG_ERR_MAX])
{
	return station_cfg_overlay(base, name, text, strlen(text), out, err, CONFIG_ERR_MAX);
}

static void test_overlay(void **state)
{
	struct fixture *f = *state;
	static struct station_cfg base, out;
	char path[TEST_PATH_MAX + 16], err[CONFIG_ERR_MAX] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "%s/station.conf", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("[station]\nsite = wh1\nid = st01\ndata_dir = /tmp\nlead_keys_dir = keys\n"
	      "[rules]\nversion = local\nhigh_value_cents = 5\nlead_badges = L-1\n"
	      "[carrier FDX]\npattern = ^[0-9]{12}$\n",
	      fp);
	fclose(fp);
	assert_int_equal(station_cfg_load(path, &base, err, sizeof(err)), 0);
	/* relative to the config file */
	assert_string_equal(base.lead_keys_dir, f->keys);

	assert_int_equal(station_cfg_overlay(&base, "site bundle 3", RULES, strlen(RULES), &out,
					     err, sizeof(err)),
			 0);
	assert_string_equal(out.site, "wh1");
	assert_string_equal(out.station, "st01");
	assert_string_equal(out.rules.version, "R-test");
	assert_int_equal(out.rules.signature_threshold_cents, 10000);
	assert_int_equal(out.rules.high_value_cents, 0); /* not in the bundle: default */
	assert_int_equal(out.rules.n_fragile_skus, 2);
	assert_true(station_cfg_is_lead(&out, "L-9001"));
	assert_false(station_cfg_is_lead(&out, "L-1"));
	assert_int_equal(out.n_carriers, 1);
	assert_non_null(station_cfg_match_carrier(&out, "1Z999AA10123456784"));
	assert_null(station_cfg_match_carrier(&out, "123456789012"));
	assert_non_null(station_cfg_find_box(&out, "BOX-S"));
	/* the base is untouched and still works after the overlay is released */
	station_cfg_done(&out);
	assert_string_equal(base.rules.version, "local");
	assert_non_null(station_cfg_match_carrier(&base, "123456789012"));

	/* a bundle may not set the station's own sections; [rules] version is required */
	assert_int_equal(overlay(&base, "site bundle 4", "[rules]\nversion = x\n[mqtt]\nport = 1\n",
				 &out, err),
			 -EINVAL);
	assert_non_null(strstr(err, "site bundle 4:3: [mqtt] cannot be set"));
	assert_int_equal(overlay(&base, "b", "[rules]\nhigh_value_cents = 1\n", &out, err),
			 -EINVAL);
	assert_non_null(strstr(err, "version"));
	assert_int_equal(overlay(&base, "b", "[carrier X]\npattern = (\n[rules]\nversion = v\n",
				 &out, err),
			 -EINVAL);
	assert_non_null(strstr(err, "regular expression"));
	station_cfg_done(&base);
}

static int refuse(void *ud, const struct bundle *b, char *err, size_t errlen)
{
	(void)ud;
	snprintf(err, errlen, "%s: refused by the content check", b->name);
	return -EINVAL;
}

static int accept_all(void *ud, const struct bundle *b, char *err, size_t errlen)
{
	(void)b, (void)err, (void)errlen;
	(*(unsigned *)ud)++;
	return 0;
}

static void test_store(void **state)
{
	struct fixture *f = *state;
	struct bundle_store *s = NULL;
	const struct bundle *b = NULL;
	char err[BUNDLE_ERR_MAX] = "", path[TEST_PATH_MAX + 32];
	char *v3 = good(f, 3), *v2 = good(f, 2), *v4 = good(f, 4), *v3b;
	unsigned checks = 0;
	struct stat sb;
	FILE *fp;

	v3b = make(f->lead, "wh1", "*", 3, "2027-02-01T00:00:00Z", "L-9001", NULL);
	assert_int_equal(bundle_store_open(f->data, &f->trust, &s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_null(bundle_store_effective(s));

	/* the content check refuses: nothing kept */
	assert_int_equal(bundle_store_offer(s, BUNDLE_SITE, v3, strlen(v3), NOW_MS, refuse, NULL,
					    &b, err, sizeof(err)),
			 -EINVAL);
	assert_null(bundle_store_get(s, BUNDLE_SITE));
	snprintf(path, sizeof(path), "%s/bundle-site.json", f->data);
	assert_int_equal(stat(path, &sb), -1);

	assert_int_equal(bundle_store_offer(s, BUNDLE_SITE, v3, strlen(v3), NOW_MS, accept_all,
					    &checks, &b, err, sizeof(err)),
			 0);
	assert_int_equal(b->version, 3);
	assert_int_equal(checks, 1);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((size_t)sb.st_size, strlen(v3));
	/* the retained re-delivery: nothing happens, no check runs */
	assert_int_equal(bundle_store_offer(s, BUNDLE_SITE, v3, strlen(v3), NOW_MS, accept_all,
					    &checks, &b, err, sizeof(err)),
			 BUNDLE_SAME);
	assert_int_equal(checks, 1);
	/* rolled back; the same version with other content */
	assert_int_equal(bundle_store_offer(s, BUNDLE_SITE, v2, strlen(v2), NOW_MS, accept_all,
					    &checks, &b, err, sizeof(err)),
			 -ESTALE);
	assert_non_null(strstr(err, "rolled back"));
	assert_int_equal(bundle_store_offer(s, BUNDLE_SITE, v3b, strlen(v3b), NOW_MS, accept_all,
					    &checks, &b, err, sizeof(err)),
			 -ESTALE);
	assert_int_equal(bundle_store_get(s, BUNDLE_SITE)->version, 3);
	/* a forged one changes nothing either */
	v4[strlen(v4) / 2] ^= 1;
	assert_true(bundle_store_offer(s, BUNDLE_SITE, v4, strlen(v4), NOW_MS, accept_all,
				       &checks, &b, err, sizeof(err)) < 0);
	free(v4);
	v4 = good(f, 4);
	assert_int_equal(bundle_store_offer(s, BUNDLE_SITE, v4, strlen(v4), NOW_MS, accept_all,
					    &checks, &b, err, sizeof(err)),
			 0);
	/* the station's own bundle outranks the site's */
	assert_int_equal(bundle_store_offer(s, BUNDLE_STATION, v2, strlen(v2), NOW_MS, accept_all,
					    &checks, &b, err, sizeof(err)),
			 0);
	assert_int_equal(bundle_store_effective(s)->scope, BUNDLE_STATION);
	bundle_store_free(s);

	/* after a restart: both kept, and a rollback is still refused */
	s = NULL;
	assert_int_equal(bundle_store_open(f->data, &f->trust, &s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(bundle_store_get(s, BUNDLE_SITE)->version, 4);
	assert_int_equal(bundle_store_get(s, BUNDLE_STATION)->version, 2);
	assert_int_equal(bundle_store_offer(s, BUNDLE_SITE, v3, strlen(v3), NOW_MS, accept_all,
					    &checks, &b, err, sizeof(err)),
			 -ESTALE);
	bundle_store_free(s);

	/* a kept file damaged on disk: moved aside (kept), loudly, the other scope stays */
	fp = fopen(path, "r+");
	assert_non_null(fp);
	fseek(fp, 100, SEEK_SET);
	fputc('#', fp);
	fclose(fp);
	s = NULL;
	assert_int_equal(bundle_store_open(f->data, &f->trust, &s, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "no longer verifies"));
	assert_null(bundle_store_get(s, BUNDLE_SITE));
	assert_int_equal(bundle_store_get(s, BUNDLE_STATION)->version, 2);
	snprintf(path, sizeof(path), "%s/bundle-site.json.rejected", f->data);
	assert_int_equal(stat(path, &sb), 0);
	bundle_store_free(s);
	free(v2);
	free(v3);
	free(v3b);
	free(v4);
}

/* A bundle kept while valid stays in force after it expires (no fall-back by the calendar),
 * but a new one that is already expired is refused. */
static void test_expired_kept(void **state)
{
	struct fixture *f = *state;
	struct bundle_store *s = NULL;
	const struct bundle *b;
	char err[BUNDLE_ERR_MAX] = "";
	char *v5 = make(f->lead, "wh1", "*", 5, "2026-11-22T00:00:00Z", "L-9001", NULL);

	assert_int_equal(bundle_store_open(f->data, &f->trust, &s, err, sizeof(err)), 0);
	assert_int_equal(bundle_store_offer(s, BUNDLE_SITE, v5, strlen(v5), NOW_MS, NULL, NULL,
					    &b, err, sizeof(err)),
			 0);
	bundle_store_free(s);
	s = NULL;
	/* bundle_store_open() does not look at the clock */
	assert_int_equal(bundle_store_open(f->data, &f->trust, &s, err, sizeof(err)), 0);
	assert_int_equal(bundle_store_effective(s)->version, 5);
	bundle_store_free(s);
	free(v5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_and_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_and_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_kept, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
