/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_record.c - the evidence record (src/record.c).
 *
 * Each test builds records from a package and reads them back with cJSON_Parse: values,
 * JSON types, keys that must be absent, escaping and UTF-8 repair, limits and error paths.
 * The schema is the other half of the contract: with SEALBENCH_RECORD_DIR set, every record
 * built successfully here is also signed (record_sign, with RFC 8032's TEST 1 key) and the
 * published bytes are written to that directory as NAME.json, and tests/validate_records.py
 * checks them against firmware/schema/evidence.schema.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "src/package.h"
#include "src/record.h"
#include "src/sign.h"

#define ZERO_HASH  "0000000000000000000000000000000000000000000000000000000000000000"
#define PREV_HASH  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define PHOTO_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* 2026-11-21T05:34:08.123Z */
#define T0 1795239248123ULL
/* 9999-12-31T23:59:59.999Z: the last time RFC 3339's four-digit year can carry */
#define T_LAST 253402300799999ULL

/* "\xef\xbf\xbd" is U+FFFD REPLACEMENT CHARACTER */
#define REPL "\xef\xbf\xbd"

/* Longest allocation sequence record_build() may need; a bound for the OOM sweep. */
#define OOM_SWEEP_MAX 100000

/* RFC 8032 section 7.1 TEST 1 secret key: the records' signing key here. */
static const uint8_t test_secret[SIGN_PUBKEY_BYTES] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};

/* Sign @json as a station publishes it, check it verifies; returns the published bytes. */
static char *sign_record(const char *json, size_t len, size_t *ret_len)
{
	uint8_t pub[SIGN_PUBKEY_BYTES];
	struct sign_key *key = NULL;
	char *out = NULL;
	size_t out_len = 0;

	assert_int_equal(sign_key_from_raw(test_secret, &key), 0);
	assert_int_equal(sign_key_get_pubkey(key, pub), 0);
	assert_int_equal(record_sign(key, json, len, &out, &out_len), 0);
	assert_int_equal(out_len, len + RECORD_SIG_OVERHEAD);
	/* the signed bytes are the built record: all of it but the closing brace comes first */
	assert_memory_equal(out, json, len - 1);
	assert_int_equal(record_verify(out, out_len, pub), 0);
	sign_key_free(key);
	*ret_len = out_len;
	return out;
}

/* File names for SEALBENCH_RECORD_DIR: "<dir>/<name>.json". */
#define RECORD_PATH_MAX PATH_MAX

static const struct record_station station_full = {
	.site = "wh-east.1",
	.station = "st01",
	.firmware_version = "0.1.0 (abc1234)",
	.scale_model = "CAS PD-II",
	.scanner_model = "Zebra DS2208",
	.camera_model = "Logitech C920",
	.badge_model = "HID ProxPoint Wiegand-26",
	.rules_version = "42",
};

/* Only what a station must have: no models, no rules version. */
static const struct record_station station_bare = {
	.site = "s",
	.station = "S_2",
	.firmware_version = "0.1.0",
};

/* Write one record for the schema check, when the make test flow asked for it. */
static void save_record(const char *name, const char *json, size_t len)
{
	const char *dir = getenv("SEALBENCH_RECORD_DIR");
	char path[RECORD_PATH_MAX];
	ssize_t n;
	int fd;

	if (!dir || !dir[0])
		return;
	assert_true(snprintf(path, sizeof(path), "%s/%s.json", dir, name) < (int)sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	n = write(fd, json, len);
	assert_int_equal(n, (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/*
 * Build, check the length contract and that the same input gives the same bytes, save for the
 * schema check, parse. Returns the parsed record (cJSON_Delete) and, if asked, the bytes (free).
 */
static cJSON *build(const struct record_station *st, const struct package *p, uint64_t seq,
		    const char *prev, const char *name, char **ret_json)
{
	char *json = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	cJSON *root;

	assert_int_equal(record_build(st, p, seq, prev, &json, &len), 0);
	assert_non_null(json);
	assert_int_equal(len, strlen(json));
	assert_int_equal(record_build(st, p, seq, prev, &again, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, json, len);
	free(again);

	{
		size_t slen = 0;
		char *published = sign_record(json, len, &slen);

		save_record(name, published, slen);
		free(published);
	}
	root = cJSON_Parse(json);
	assert_non_null(root);
	assert_true(cJSON_IsObject(root));
	if (ret_json)
		*ret_json = json;
	else
		free(json);
	return root;
}

static const cJSON *item(const cJSON *obj, const char *key)
{
	const cJSON *it;

	assert_true(cJSON_IsObject(obj));
	it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it)
		fail_msg("missing key \"%s\"", key);
	return it;
}

static void assert_absent(const cJSON *obj, const char *key)
{
	assert_true(cJSON_IsObject(obj));
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		fail_msg("key \"%s\" must be absent", key);
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *it = item(obj, key);

	assert_true(cJSON_IsString(it));
	return it->valuestring;
}

static double num(const cJSON *obj, const char *key)
{
	const cJSON *it = item(obj, key);

	assert_true(cJSON_IsNumber(it));
	return it->valuedouble;
}

static bool boolean(const cJSON *obj, const char *key)
{
	const cJSON *it = item(obj, key);

	assert_true(cJSON_IsBool(it));
	return cJSON_IsTrue(it);
}

#define BOOL(obj, key) boolean(obj, key)

static void set_str(char *dst, size_t cap, const char *s)
{
	assert_true(strlen(s) < cap);
	memcpy(dst, s, strlen(s) + 1);
}

#define SET(field, s) set_str(field, sizeof(field), s)

/* A package with every step done, a photo, a blocked rule and the lead's override. */
static void fill_full(struct package *p)
{
	struct order_ctx *o = &p->order;

	package_reset(p);
	SET(p->packer_id, "B-1001");
	SET(p->order_id, "ORD-778899");
	SET(p->label.tracking, "1Z999AA10123456784");
	SET(p->label.carrier, "ups");
	p->order_src = ORDER_SRC_CENTRAL;
	SET(o->order_id, "ORD-778899");
	SET(o->tracking, "1Z999AA10123456784");
	SET(o->carrier, "UPS");
	SET(o->service, "2nd Day Air");
	o->signature = false;
	o->declared_value_cents = 1234567890123LL; /* above 2^31 and cJSON's %d range */
	SET(o->currency, "USD");
	o->declared_weight_g = 1250;
	SET(o->skus[0].sku, "MUG-CERAMIC-01");
	o->skus[0].qty = 2;
	SET(o->skus[1].sku, "BOX-GIFT");
	o->skus[1].qty = 1;
	o->n_skus = 2;
	SET(o->address.name, "Ada Lovelace");
	SET(o->address.street, "12 St James's Square");
	SET(o->address.city, "London");
	SET(o->address.state, "LND");
	SET(o->address.postal_code, "SW1Y 4JH");
	SET(o->address.country, "GB");
	o->first_time_buyer = true;
	o->vip = false;
	o->has_upstream_av = true;
	o->upstream_av_pass = false;
	SET(o->upstream_av_failed[0], "postal_code_mismatch");
	SET(o->upstream_av_failed[1], "unit_missing");
	o->n_upstream_av_failed = 2;
	SET(p->box.code, "BOX-M");
	SET(p->box.type, "carton");
	p->box.length_mm = 400;
	p->box.width_mm = 300;
	p->box.height_mm = 200;
	p->box.tare_g = 180;
	p->has_weight = true;
	p->gross_g = 1460;
	p->measured_g = 1280;
	p->dim_weight_g = 4800;
	p->billable_g = 4800;
	p->photo_required = true;
	SET(p->photo_reasons, "fragile_sku,high_value");
	p->has_photo = true;
	SET(p->photo_sha256, PHOTO_HASH);
	p->photo_bytes = 183211;
	p->photo_width = 1920;
	p->photo_height = 1080;
	p->flag_high_value = true;
	p->flag_first_time_buyer = true;
	p->flag_vip = false;
	p->flag_repeat_lane = true;
	SET(p->rules[0].rule, "signature_threshold");
	p->rules[0].result = RULE_BLOCK;
	SET(p->rules[0].detail,
	    "declared 12345678901.23 USD >= 500.00 USD, service has no signature");
	SET(p->rules[1].rule, "photo_required");
	p->rules[1].result = RULE_PASS;
	SET(p->rules[1].detail, "photo taken");
	SET(p->rules[2].rule, "weight_tolerance");
	p->rules[2].result = RULE_WARN;
	SET(p->rules[2].detail, "measured 1280 g vs declared 1250 g");
	SET(p->rules[3].rule, "address_validation");
	p->rules[3].result = RULE_SKIP;
	p->n_rules = 4;
	p->override.present = true;
	SET(p->override.lead_id, "L-0007");
	SET(p->override.reason, "customer waived signature by phone");
	SET(p->override.rules, "signature_threshold");
	p->override.at_ms = T0 + 9000;
	p->t.started_ms = T0;
	p->t.order_ms = T0 + 1000;
	p->t.label_ms = T0 + 2000;
	p->t.box_ms = T0 + 3000;
	p->t.weighed_ms = T0 + 4000;
	p->t.photo_ms = T0 + 5000;
	p->t.sealed_ms = T0 + 10000;
	p->clock_synced = true;
}

/* A package sealed with nothing but a label scan while central was unreachable. */
static void fill_pending(struct package *p)
{
	package_reset(p);
	SET(p->packer_id, "B-1002");
	SET(p->order_id, "ORD-1");
	SET(p->label.tracking, "9400111899223344556677");
	SET(p->label.carrier, "usps");
	p->order_src = ORDER_SRC_NONE;
	/* stale context from an earlier package must not leak into the record */
	SET(p->order.order_id, "STALE");
	SET(p->order.carrier, "STALE");
	SET(p->order.service, "STALE");
	p->order.declared_value_cents = 999;
	p->order.declared_weight_g = 999;
	p->order.has_upstream_av = true;
	p->order.upstream_av_pass = true;
	p->has_weight = true;
	p->gross_g = 510;
	p->measured_g = 510;
	p->billable_g = 510;
	SET(p->rules[0].rule, "signature_threshold");
	p->rules[0].result = RULE_SKIP;
	SET(p->rules[0].detail, "order context pending");
	p->n_rules = 1;
	p->t.started_ms = T0;
	p->t.label_ms = T0;
	p->t.weighed_ms = T0 + 1500;
	p->t.sealed_ms = T0 + 1600;
	p->clock_synced = false;
}

static void test_format_id(void **state)
{
	char buf[RECORD_ID_MAX];
	char station[RECORD_ID_MAX];
	char small[16];

	(void)state;
	assert_int_equal(record_format_id("st01", 42, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "st01-0000000042");
	assert_int_equal(record_format_id("st01", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "st01-0000000000");
	assert_int_equal(record_format_id("st01", RECORD_SEQ_MAX, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "st01-9999999999");

	/* exact fit: 15 characters and the NUL */
	memset(small, 'Z', sizeof(small));
	assert_int_equal(record_format_id("st01", 7, small, 16), 0);
	assert_string_equal(small, "st01-0000000007");
	/* one byte short, and zero: -ENAMETOOLONG and the buffer untouched */
	memset(small, 'Z', sizeof(small));
	assert_int_equal(record_format_id("st01", 7, small, 15), -ENAMETOOLONG);
	assert_int_equal(small[0], 'Z');
	assert_int_equal(small[14], 'Z');
	assert_int_equal(record_format_id("st01", 7, small, 0), -ENAMETOOLONG);
	assert_int_equal(small[0], 'Z');

	/* eleven digits would break the fixed width of the ID */
	assert_int_equal(record_format_id("st01", RECORD_SEQ_MAX + 1, small, sizeof(small)),
			 -ERANGE);
	assert_int_equal(record_format_id("st01", UINT64_MAX, small, sizeof(small)), -ERANGE);
	assert_int_equal(small[0], 'Z');

	assert_int_equal(record_format_id(NULL, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(record_format_id("st01", 1, NULL, sizeof(buf)), -EINVAL);

	/* the longest station ID config.c allows (32) fits RECORD_ID_MAX with room to spare */
	memset(station, 'a', 32);
	station[32] = '\0';
	assert_int_equal(record_format_id(station, 1, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 43);
	/* RECORD_ID_MAX bounds the ID even in a larger buffer: 52 + 11 = 63 fits, 53 not */
	memset(station, 'b', 52);
	station[52] = '\0';
	assert_int_equal(record_format_id(station, 1, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), RECORD_ID_MAX - 1);
	memset(station, 'c', 53);
	station[53] = '\0';
	{
		char big[2 * RECORD_ID_MAX];

		memset(big, 'Z', sizeof(big));
		assert_int_equal(record_format_id(station, 1, big, sizeof(big)), -ENAMETOOLONG);
		assert_int_equal(big[0], 'Z');
	}
}

static void test_full_seal(void **state)
{
	static const char head[] =
		"{\"schema\":\"sealbench.evidence/1\",\"id\":\"st01-0000000042\","
		"\"kind\":\"seal\",\"site\":\"wh-east.1\",\"station\":\"st01\","
		"\"seq\":42,\"prev\":\"" PREV_HASH "\",\"packer\":{\"id\":\"B-1001\"},";
	const cJSON *order, *ship, *av, *up, *pk, *w, *ph, *rules, *res, *r, *ov, *fl, *t, *dev;
	struct package p;
	char *json;
	cJSON *root;

	(void)state;
	fill_full(&p);
	root = build(&station_full, &p, 42, PREV_HASH, "seal-full", &json);

	/* the leading keys in a fixed order, so the bytes are stable for the chain */
	assert_memory_equal(json, head, strlen(head));
	/* integers are printed digit for digit, never as 1.23e+12 */
	assert_non_null(strstr(json, "\"declared_value_cents\":1234567890123,"));
	assert_null(strchr(json, '\n'));

	assert_string_equal(str(root, "prev"), PREV_HASH);
	assert_absent(root, "voids");
	assert_absent(root, "sig");
	assert_string_equal(str(item(root, "packer"), "id"), "B-1001");

	order = item(root, "order");
	assert_string_equal(str(order, "order_id"), "ORD-778899");
	assert_string_equal(str(order, "source"), "central");
	assert_true(num(order, "declared_value_cents") == 1234567890123.0);
	assert_string_equal(str(order, "currency"), "USD");
	assert_true(num(order, "declared_weight_g") == 1250);
	assert_int_equal(cJSON_GetArraySize(item(order, "skus")), 2);
	assert_string_equal(str(cJSON_GetArrayItem(item(order, "skus"), 0), "sku"),
			    "MUG-CERAMIC-01");
	assert_true(num(cJSON_GetArrayItem(item(order, "skus"), 0), "qty") == 2);
	assert_string_equal(str(item(order, "address"), "street"), "12 St James's Square");
	assert_string_equal(str(item(order, "address"), "postal_code"), "SW1Y 4JH");
	assert_string_equal(str(item(order, "address"), "country"), "GB");
	assert_true(BOOL(order, "first_time_buyer"));
	assert_false(BOOL(order, "vip"));

	ship = item(root, "shipment");
	assert_string_equal(str(ship, "tracking"), "1Z999AA10123456784");
	assert_string_equal(str(ship, "carrier"), "UPS"); /* the order's, not the label's "ups" */
	assert_string_equal(str(ship, "service"), "2nd Day Air");
	assert_false(BOOL(ship, "signature"));

	av = item(root, "address_validation");
	assert_string_equal(str(av, "result"), "fail");
	assert_int_equal(cJSON_GetArraySize(item(av, "failed")), 2);
	assert_string_equal(cJSON_GetArrayItem(item(av, "failed"), 1)->valuestring, "unit_missing");
	up = item(av, "upstream");
	assert_string_equal(str(up, "result"), "fail");
	assert_string_equal(cJSON_GetArrayItem(item(up, "failed"), 0)->valuestring,
			    "postal_code_mismatch");

	pk = item(root, "packaging");
	assert_string_equal(str(pk, "code"), "BOX-M");
	assert_string_equal(str(pk, "type"), "carton");
	assert_true(num(pk, "length_mm") == 400 && num(pk, "width_mm") == 300 &&
		    num(pk, "height_mm") == 200 && num(pk, "tare_g") == 180);

	w = item(root, "weight");
	assert_true(num(w, "declared_g") == 1250);
	assert_true(num(w, "gross_g") == 1460);
	assert_true(num(w, "measured_g") == 1280);
	assert_true(num(w, "dim_weight_g") == 4800);
	assert_true(num(w, "billable_g") == 4800);

	ph = item(root, "photo");
	assert_string_equal(str(ph, "sha256"), PHOTO_HASH);
	assert_true(num(ph, "bytes") == 183211);
	assert_true(num(ph, "width") == 1920 && num(ph, "height") == 1080);
	assert_string_equal(str(ph, "content_type"), "image/jpeg");
	assert_true(BOOL(ph, "required"));
	assert_string_equal(str(ph, "reasons"), "fragile_sku,high_value");

	rules = item(root, "rules");
	assert_string_equal(str(rules, "version"), "42");
	res = item(rules, "results");
	assert_int_equal(cJSON_GetArraySize(res), 4);
	r = cJSON_GetArrayItem(res, 0);
	assert_string_equal(str(r, "rule"), "signature_threshold");
	assert_string_equal(str(r, "result"), "block");
	assert_string_equal(str(cJSON_GetArrayItem(res, 1), "result"), "pass");
	assert_string_equal(str(cJSON_GetArrayItem(res, 2), "result"), "warn");
	r = cJSON_GetArrayItem(res, 3);
	assert_string_equal(str(r, "result"), "skip");
	assert_absent(r, "detail"); /* "" is absent */

	ov = item(root, "override");
	assert_string_equal(str(ov, "lead_id"), "L-0007");
	assert_string_equal(str(ov, "reason"), "customer waived signature by phone");
	assert_string_equal(str(ov, "rules"), "signature_threshold");
	assert_string_equal(str(ov, "at"), "2026-11-21T05:34:17.123Z");

	fl = item(root, "flags");
	assert_true(BOOL(fl, "high_value"));
	assert_true(BOOL(fl, "first_time_buyer"));
	assert_false(BOOL(fl, "vip"));
	assert_true(BOOL(fl, "repeat_lane"));

	t = item(root, "times");
	assert_string_equal(str(t, "started"), "2026-11-21T05:34:08.123Z");
	assert_string_equal(str(t, "order_scanned"), "2026-11-21T05:34:09.123Z");
	assert_string_equal(str(t, "label_scanned"), "2026-11-21T05:34:10.123Z");
	assert_string_equal(str(t, "packaging_scanned"), "2026-11-21T05:34:11.123Z");
	assert_string_equal(str(t, "weighed"), "2026-11-21T05:34:12.123Z");
	assert_string_equal(str(t, "photo"), "2026-11-21T05:34:13.123Z");
	assert_string_equal(str(t, "sealed"), "2026-11-21T05:34:18.123Z");
	assert_true(BOOL(root, "clock_synced"));

	dev = item(root, "devices");
	assert_string_equal(str(dev, "scale"), "CAS PD-II");
	assert_string_equal(str(dev, "scanner"), "Zebra DS2208");
	assert_string_equal(str(dev, "camera"), "Logitech C920");
	assert_string_equal(str(dev, "badge"), "HID ProxPoint Wiegand-26");
	assert_string_equal(str(root, "firmware"), "0.1.0 (abc1234)");

	cJSON_Delete(root);
	free(json);
}

static void test_pending_order(void **state)
{
	const cJSON *order, *ship, *av, *w;
	struct package p;
	cJSON *root;

	(void)state;
	fill_pending(&p);
	root = build(&station_bare, &p, 1, ZERO_HASH, "seal-pending", NULL);

	assert_string_equal(str(root, "id"), "S_2-0000000001");
	assert_true(num(root, "seq") == 1);
	assert_string_equal(str(root, "prev"), ZERO_HASH);
	order = item(root, "order");
	assert_string_equal(str(order, "order_id"), "ORD-1"); /* the scanned slip */
	assert_string_equal(str(order, "source"), "pending");
	assert_absent(order, "declared_value_cents");
	assert_absent(order, "currency");
	assert_absent(order, "declared_weight_g");
	assert_absent(order, "skus");
	assert_absent(order, "address");
	assert_absent(order, "first_time_buyer");
	assert_absent(order, "vip");

	ship = item(root, "shipment");
	assert_string_equal(str(ship, "tracking"), "9400111899223344556677");
	assert_string_equal(str(ship, "carrier"), "usps"); /* the label's guess */
	assert_absent(ship, "service");
	assert_absent(ship, "signature"); /* unknown, not false */

	av = item(root, "address_validation");
	assert_string_equal(str(av, "result"), "unknown");
	assert_true(cJSON_IsArray(item(av, "failed")));
	assert_int_equal(cJSON_GetArraySize(item(av, "failed")), 0);
	assert_absent(av, "upstream");

	w = item(root, "weight");
	assert_absent(w, "declared_g");
	assert_true(num(w, "gross_g") == 510);
	assert_absent(w, "dim_weight_g");
	assert_true(num(w, "billable_g") == 510);

	assert_absent(root, "packaging");
	assert_true(cJSON_IsNull(item(root, "photo")));
	assert_true(cJSON_IsNull(item(root, "override")));
	assert_absent(item(root, "rules"), "version");
	assert_false(BOOL(root, "clock_synced"));
	assert_absent(item(root, "times"), "order_scanned");
	assert_absent(item(root, "times"), "packaging_scanned");
	assert_absent(item(root, "times"), "photo");
	/* station_bare names no devices: the object is there, empty */
	assert_int_equal(cJSON_GetArraySize(item(root, "devices")), 0);
	assert_false(BOOL(item(root, "flags"), "high_value"));
	cJSON_Delete(root);
}

static void test_no_box(void **state)
{
	const cJSON *w, *ship;
	struct package p;
	cJSON *root;

	(void)state;
	fill_full(&p);
	memset(&p.box, 0, sizeof(p.box));
	p.t.box_ms = 0;
	p.dim_weight_g = 0;
	p.billable_g = 1280;
	p.order.declared_weight_g = 0; /* not declared */
	p.order.has_upstream_av = true;
	p.order.upstream_av_pass = true;
	p.order.n_upstream_av_failed = 0;
	p.has_photo = false;
	p.photo_required = false;
	p.photo_reasons[0] = '\0';
	p.t.photo_ms = 0;
	p.label.tracking[0] = '\0'; /* no label scanned: the order's tracking */
	p.t.label_ms = 0;
	p.order.signature = true;
	p.rules[0].result = RULE_PASS;
	p.override.present = false;
	root = build(&station_full, &p, 43, PREV_HASH, "seal-no-box", NULL);

	assert_absent(root, "packaging");
	assert_absent(item(root, "times"), "packaging_scanned");
	assert_absent(item(root, "order"), "declared_weight_g");
	w = item(root, "weight");
	assert_absent(w, "declared_g");
	assert_absent(w, "dim_weight_g");
	assert_true(num(w, "billable_g") == 1280);
	assert_true(cJSON_IsNull(item(root, "photo")));
	assert_true(cJSON_IsNull(item(root, "override")));
	assert_string_equal(str(item(root, "address_validation"), "result"), "pass");
	assert_int_equal(cJSON_GetArraySize(item(item(root, "address_validation"), "failed")), 0);
	ship = item(root, "shipment");
	assert_string_equal(str(ship, "tracking"), "1Z999AA10123456784");
	assert_true(BOOL(ship, "signature"));
	cJSON_Delete(root);

	/* a dimensioner without a catalog scan: dimensions but no code */
	p.box.length_mm = 310;
	p.box.width_mm = 220;
	p.box.height_mm = 95;
	p.dim_weight_g = 1300;
	p.billable_g = 1300;
	root = build(&station_full, &p, 44, PREV_HASH, "seal-dimensioner", NULL);
	assert_absent(item(root, "packaging"), "code");
	assert_absent(item(root, "packaging"), "type");
	assert_true(num(item(root, "packaging"), "height_mm") == 95);
	assert_true(num(item(root, "packaging"), "tare_g") == 0);
	cJSON_Delete(root);

	/* no weight at all (a lead sealed without the scale): weight is an empty object */
	memset(&p.box, 0, sizeof(p.box));
	p.has_weight = false;
	p.dim_weight_g = 0;
	p.billable_g = 0;
	p.t.weighed_ms = 0;
	root = build(&station_full, &p, 45, PREV_HASH, "seal-no-weight", NULL);
	assert_int_equal(cJSON_GetArraySize(item(root, "weight")), 0);
	cJSON_Delete(root);
}

static void test_void(void **state)
{
	struct package p;
	cJSON *root;

	(void)state;
	/* the minimum: which record, who, when */
	package_reset(&p);
	SET(p.packer_id, "L-0007");
	SET(p.voids, "st01-0000000042");
	p.t.sealed_ms = T0 + 60000;
	root = build(&station_full, &p, 46, PREV_HASH, "void-minimal", NULL);
	assert_string_equal(str(root, "kind"), "void");
	assert_string_equal(str(root, "voids"), "st01-0000000042");
	assert_string_equal(str(root, "id"), "st01-0000000046");
	assert_string_equal(str(item(root, "packer"), "id"), "L-0007");
	assert_string_equal(str(item(root, "times"), "sealed"), "2026-11-21T05:35:08.123Z");
	assert_int_equal(cJSON_GetArraySize(item(root, "times")), 1);
	assert_false(BOOL(root, "clock_synced"));
	assert_string_equal(str(root, "firmware"), "0.1.0 (abc1234)");
	assert_absent(root, "order");
	assert_absent(root, "shipment");
	assert_absent(root, "address_validation");
	assert_absent(root, "packaging");
	assert_absent(root, "weight");
	assert_absent(root, "photo");
	assert_absent(root, "rules");
	assert_absent(root, "override");
	assert_absent(root, "flags");
	cJSON_Delete(root);

	/* a void that says why and what: the lead's override and the shipment it cancels */
	SET(p.order_id, "ORD-778899");
	SET(p.label.tracking, "1Z999AA10123456784");
	p.override.present = true;
	SET(p.override.lead_id, "L-0007");
	SET(p.override.reason, "packed into the wrong box, repacked as S_2-0000000048");
	p.override.at_ms = T0 + 59000;
	p.clock_synced = true;
	SET(p.voids, "S_2-0000000042");
	root = build(&station_bare, &p, 47, PREV_HASH, "void-with-override", NULL);
	assert_string_equal(str(root, "voids"), "S_2-0000000042");
	assert_string_equal(str(item(root, "order"), "order_id"), "ORD-778899");
	assert_string_equal(str(item(root, "order"), "source"), "pending");
	assert_string_equal(str(item(root, "shipment"), "tracking"), "1Z999AA10123456784");
	assert_string_equal(str(item(root, "override"), "rules"), "");
	assert_string_equal(str(item(root, "override"), "at"), "2026-11-21T05:35:07.123Z");
	assert_absent(root, "photo");
	assert_absent(root, "flags");
	cJSON_Delete(root);
}

static void sha256_hex(const char *data, size_t len, char hex[PKG_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	assert_int_equal(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, 32);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* A chain as the station makes it: build, sign, and the next prev is the SHA-256 of the
 * published (signed) bytes. */
static void test_signed_chain(void **state)
{
	char prev[PKG_SHA256_HEX] = ZERO_HASH, name[32];
	struct package p;
	uint64_t seq;

	(void)state;
	for (seq = 1; seq <= 3; seq++) {
		char *json = NULL, *published;
		size_t len = 0, plen = 0;
		cJSON *root, *signed_root;

		fill_full(&p);
		if (seq == 3) {
			package_reset(&p);
			SET(p.packer_id, "L-0007");
			SET(p.voids, "st01-0000000002");
			p.t.sealed_ms = T0 + 60000;
		}
		assert_int_equal(record_build(&station_full, &p, seq, prev, &json, &len), 0);
		published = sign_record(json, len, &plen);
		snprintf(name, sizeof(name), "chain-%u", (unsigned)seq);
		save_record(name, published, plen);

		/* the published record is the built one plus "sig", nothing else changed */
		root = cJSON_Parse(json);
		signed_root = cJSON_Parse(published);
		assert_non_null(root);
		assert_non_null(signed_root);
		assert_string_equal(str(signed_root, "prev"), prev);
		assert_int_equal(strlen(str(signed_root, "sig")), SIGN_SIG_B64_LEN);
		cJSON_DeleteItemFromObjectCaseSensitive(signed_root, "sig");
		assert_true(cJSON_Compare(root, signed_root, true));
		cJSON_Delete(signed_root);
		cJSON_Delete(root);

		sha256_hex(published, plen, prev);
		free(published);
		free(json);
	}
}

static void test_strings(void **state)
{
	const cJSON *addr, *skus;
	struct package p;
	char *json;
	cJSON *root;

	(void)state;
	fill_full(&p);
	SET(p.order.address.name, "Jo \"Quote\" O'Neil \\ back/slash");
	SET(p.order.address.street, "Tab\there\nnew\rline\x01\x1f\x7f");
	SET(p.order.address.city,
	    "Z\xc3\xbcrich \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xe2\x80\xa8");
	SET(p.order.address.state, "\xff\xfe");	      /* not UTF-8 at all */
	SET(p.order.address.postal_code, "\xc0\xaf"); /* overlong "/" */
	SET(p.order.skus[0].sku, "A\xed\xa0\x80Z");   /* UTF-16 surrogate */
	SET(p.order.skus[1].sku, "\xf4\x90\x80\x80"); /* above U+10FFFF */
	SET(p.order.order_id, "AB\xe2\x82");	      /* truncated sequence */
	SET(p.rules[0].detail, "\xe2\x82\xac 500 \xe2\x89\xa4 \xe2\x82\xac 12345678901");
	SET(p.override.reason, "</script><b>&amp;</b>\\u0000");
	root = build(&station_full, &p, 50, PREV_HASH, "seal-strings", &json);

	/* cJSON escapes quotes, backslashes and control characters */
	assert_non_null(strstr(json, "Jo \\\"Quote\\\" O'Neil \\\\ back/slash"));
	assert_non_null(strstr(json, "Tab\\there\\nnew\\rline\\u0001\\u001f\x7f"));
	addr = item(item(root, "order"), "address");
	assert_string_equal(str(addr, "name"), "Jo \"Quote\" O'Neil \\ back/slash");
	assert_string_equal(str(addr, "street"), "Tab\there\nnew\rline\x01\x1f\x7f");
	/* valid UTF-8 is carried byte for byte */
	assert_string_equal(str(addr, "city"),
			    "Z\xc3\xbcrich \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xe2\x80\xa8");
	/* each byte that is not part of well-formed UTF-8 becomes U+FFFD */
	assert_string_equal(str(addr, "state"), REPL REPL);
	assert_string_equal(str(addr, "postal_code"), REPL REPL);
	skus = item(item(root, "order"), "skus");
	assert_string_equal(str(cJSON_GetArrayItem(skus, 0), "sku"), "A" REPL REPL REPL "Z");
	assert_string_equal(str(cJSON_GetArrayItem(skus, 1), "sku"), REPL REPL REPL REPL);
	assert_string_equal(str(item(root, "order"), "order_id"), "AB" REPL REPL);
	assert_string_equal(
		str(cJSON_GetArrayItem(item(item(root, "rules"), "results"), 0), "detail"),
		"\xe2\x82\xac 500 \xe2\x89\xa4 \xe2\x82\xac 12345678901");
	assert_string_equal(str(item(root, "override"), "reason"), "</script><b>&amp;</b>\\u0000");
	cJSON_Delete(root);
	free(json);
}

/* Fill a field to its last byte with a repeated UTF-8 character (or raw byte) plus padding. */
static void fill_field(char *dst, size_t cap, const char *unit)
{
	size_t u = strlen(unit), o = 0;

	while (o + u <= cap - 1) {
		memcpy(dst + o, unit, u);
		o += u;
	}
	while (o < cap - 1)
		dst[o++] = 'x';
	dst[o] = '\0';
}

#define FILL(field, unit) fill_field(field, sizeof(field), unit)

static void test_max_length(void **state)
{
	const cJSON *order, *res, *failed;
	struct package p;
	char expect[PKG_DETAIL_MAX * 3];
	unsigned i;
	cJSON *root;

	(void)state;
	fill_full(&p);
	FILL(p.packer_id, "\xc3\xa9"); /* é: 31 of them and an x */
	FILL(p.order_id, "9");
	FILL(p.label.tracking, "T");
	FILL(p.order.order_id, "\xe6\x97\xa5");
	FILL(p.order.tracking, "t");
	FILL(p.order.carrier, "C");
	FILL(p.order.service, "S");
	FILL(p.order.currency, "E");
	FILL(p.order.address.name, "\xf0\x9f\x98\x80");
	FILL(p.order.address.street, "s");
	FILL(p.order.address.city, "c");
	FILL(p.order.address.state, "st");
	FILL(p.order.address.postal_code, "0");
	FILL(p.order.address.country, "G");
	for (i = 0; i < PKG_SKUS_MAX; i++) {
		FILL(p.order.skus[i].sku, "K");
		p.order.skus[i].qty = UINT_MAX;
	}
	p.order.n_skus = PKG_SKUS_MAX;
	for (i = 0; i < PKG_CHECKS_MAX; i++)
		FILL(p.order.upstream_av_failed[i], "f");
	p.order.n_upstream_av_failed = PKG_CHECKS_MAX;
	p.order.declared_value_cents = 9007199254740991LL; /* 2^53 - 1 */
	p.order.declared_weight_g = INT32_MAX;
	FILL(p.box.code, "b");
	FILL(p.box.type, "y");
	p.box.length_mm = UINT32_MAX;
	p.box.width_mm = UINT32_MAX;
	p.box.height_mm = UINT32_MAX;
	p.box.tare_g = UINT32_MAX;
	p.gross_g = INT32_MIN; /* a scale can read below zero; the record says what it read */
	p.measured_g = INT32_MIN;
	p.dim_weight_g = UINT32_MAX;
	p.billable_g = UINT32_MAX;
	p.photo_bytes = UINT32_MAX;
	p.photo_width = UINT_MAX;
	p.photo_height = UINT_MAX;
	FILL(p.photo_reasons, "r");
	for (i = 0; i < PKG_RULES_MAX; i++) {
		FILL(p.rules[i].rule, "n");
		p.rules[i].result = (enum rule_result)(i % _RULE_RESULT_MAX);
		/* every byte invalid: the sanitised text is three times as long */
		FILL(p.rules[i].detail, "\xff");
	}
	p.n_rules = PKG_RULES_MAX;
	FILL(p.override.lead_id, "L");
	FILL(p.override.reason, "\xe2\x82\xac");
	FILL(p.override.rules, "R");
	p.t.sealed_ms = T_LAST;
	p.override.at_ms = T_LAST;
	root = build(&station_full, &p, RECORD_SEQ_MAX, PREV_HASH, "seal-max-length", NULL);

	assert_string_equal(str(root, "id"), "st01-9999999999");
	assert_true(num(root, "seq") == (double)RECORD_SEQ_MAX);
	assert_string_equal(str(item(root, "packer"), "id"), p.packer_id);
	assert_int_equal(strlen(str(item(root, "packer"), "id")), PKG_ID_MAX - 1);
	order = item(root, "order");
	assert_string_equal(str(order, "order_id"), p.order.order_id);
	assert_string_equal(str(item(order, "address"), "name"), p.order.address.name);
	assert_string_equal(str(item(order, "address"), "country"), "GGG");
	assert_int_equal(cJSON_GetArraySize(item(order, "skus")), PKG_SKUS_MAX);
	assert_true(num(cJSON_GetArrayItem(item(order, "skus"), PKG_SKUS_MAX - 1), "qty") ==
		    (double)UINT_MAX);
	assert_true(num(order, "declared_value_cents") == 9007199254740991.0);
	failed = item(item(root, "address_validation"), "failed");
	assert_int_equal(cJSON_GetArraySize(failed), PKG_CHECKS_MAX);
	assert_true(num(item(root, "weight"), "gross_g") == (double)INT32_MIN);
	assert_true(num(item(root, "packaging"), "tare_g") == (double)UINT32_MAX);
	res = item(item(root, "rules"), "results");
	assert_int_equal(cJSON_GetArraySize(res), PKG_RULES_MAX);
	expect[0] = '\0';
	for (i = 0; i < PKG_DETAIL_MAX - 1; i++)
		strcat(expect, REPL);
	assert_string_equal(str(cJSON_GetArrayItem(res, PKG_RULES_MAX - 1), "detail"), expect);
	assert_string_equal(str(item(root, "override"), "reason"), p.override.reason);
	assert_string_equal(str(item(root, "times"), "sealed"), "9999-12-31T23:59:59.999Z");
	cJSON_Delete(root);
}

/* record_build() must fail with @err and leave the out-parameters alone. */
static void expect_fail(const struct record_station *st, const struct package *p, uint64_t seq,
			const char *prev, int err)
{
	char sentinel[] = "untouched";
	char *json = sentinel;
	size_t len = 12345;

	assert_int_equal(record_build(st, p, seq, prev, &json, &len), err);
	assert_ptr_equal(json, sentinel);
	assert_int_equal(len, 12345);
}

static void test_refused(void **state)
{
	struct record_station st = station_full;
	struct package p;
	char *json;
	size_t len;

	(void)state;
	fill_full(&p);
	assert_int_equal(record_build(NULL, &p, 1, PREV_HASH, &json, &len), -EINVAL);
	assert_int_equal(record_build(&st, NULL, 1, PREV_HASH, &json, &len), -EINVAL);
	assert_int_equal(record_build(&st, &p, 1, NULL, &json, &len), -EINVAL);
	assert_int_equal(record_build(&st, &p, 1, PREV_HASH, NULL, &len), -EINVAL);
	assert_int_equal(record_build(&st, &p, 1, PREV_HASH, &json, NULL), -EINVAL);

	/* sequence numbers start at 1 and have ten digits */
	expect_fail(&st, &p, 0, PREV_HASH, -EINVAL);
	expect_fail(&st, &p, RECORD_SEQ_MAX + 1, PREV_HASH, -ERANGE);

	/* the chain link: exactly 64 lowercase hex digits */
	expect_fail(&st, &p, 1, "", -EINVAL);
	expect_fail(&st, &p, 1, ZERO_HASH "0", -EINVAL);
	expect_fail(&st, &p, 1, &ZERO_HASH[1], -EINVAL); /* 63 digits */
	expect_fail(&st, &p, 1, "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
		    -EINVAL);

	/* station identity */
	st.station = "st/01"; /* an MQTT topic separator */
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	st.station = "";
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	st.station = "abcdefghijklmnopqrstuvwxyz0123456"; /* 33 */
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	st.station = NULL;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	st = station_full;
	st.site = "wh+east";
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	st = station_full;
	st.firmware_version = NULL;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	st.firmware_version = "";
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	st = station_full;

	/* fields that are not NUL-terminated: caught up front and where they are added */
	memset(p.packer_id, 'a', sizeof(p.packer_id));
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	memset(p.rules[1].detail, 'd', sizeof(p.rules[1].detail));
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	memset(p.photo_sha256, 'a', sizeof(p.photo_sha256));
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);

	/* required facts */
	fill_full(&p);
	p.packer_id[0] = '\0';
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.t.sealed_ms = 0;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.t.weighed_ms = T_LAST + 1; /* year 10000 does not fit RFC 3339 */
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);

	/* a blocked package is sealed only over an override */
	fill_full(&p);
	p.override.present = false;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.override.lead_id[0] = '\0';
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.override.at_ms = 0;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);

	/* photo facts */
	fill_full(&p);
	SET(p.photo_sha256, "xyz");
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.photo_bytes = 0;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.photo_height = 0;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);

	/* enums, counts, money */
	fill_full(&p);
	p.order_src = _ORDER_SRC_MAX;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.rules[2].result = _RULE_RESULT_MAX;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.rules[2].rule[0] = '\0';
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.n_rules = PKG_RULES_MAX + 1;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.order.n_skus = PKG_SKUS_MAX + 1;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.order.n_upstream_av_failed = PKG_CHECKS_MAX + 1;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.order.declared_value_cents = -1;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.order.declared_value_cents = 9007199254740992LL; /* 2^53: not exact in every reader */
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	fill_full(&p);
	p.order.declared_weight_g = -5;
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);

	/* a void must name a record ID */
	fill_full(&p);
	SET(p.voids, "st01-42");
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	SET(p.voids, "st/1-0000000042");
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	SET(p.voids, "-0000000042");
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
	memset(p.voids, '1', sizeof(p.voids));
	expect_fail(&st, &p, 1, PREV_HASH, -EINVAL);
}

/* cJSON allocation hooks that fail once a budget is spent. */
static unsigned long alloc_budget;

static void *budget_malloc(size_t sz)
{
	if (!alloc_budget)
		return NULL;
	alloc_budget--;
	return malloc(sz);
}

static void test_out_of_memory(void **state)
{
	cJSON_Hooks hooks = {.malloc_fn = budget_malloc, .free_fn = free};
	char sentinel[] = "untouched";
	unsigned long budget;
	struct package p;
	char *json;
	size_t len;
	int r = -ENOMEM;

	(void)state;
	fill_full(&p);
	cJSON_InitHooks(&hooks);
	/* every allocation in turn fails: -ENOMEM each time, nothing leaks (ASan), then success */
	for (budget = 0; budget < OOM_SWEEP_MAX && r == -ENOMEM; budget++) {
		json = sentinel;
		len = 7;
		alloc_budget = budget;
		r = record_build(&station_full, &p, 42, PREV_HASH, &json, &len);
		if (r == -ENOMEM) {
			assert_ptr_equal(json, sentinel);
			assert_int_equal(len, 7);
		}
	}
	cJSON_InitHooks(NULL);
	assert_int_equal(r, 0);
	assert_true(budget > 10); /* the sweep did walk through the build */
	assert_int_equal(len, strlen(json));
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_id),     cmocka_unit_test(test_full_seal),
		cmocka_unit_test(test_pending_order), cmocka_unit_test(test_no_box),
		cmocka_unit_test(test_void),	      cmocka_unit_test(test_strings),
		cmocka_unit_test(test_max_length),    cmocka_unit_test(test_refused),
		cmocka_unit_test(test_out_of_memory),  cmocka_unit_test(test_signed_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
