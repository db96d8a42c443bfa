/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_order.c - central's order-context JSON (good, not found, malformed, limits)
 * and the bounded order cache (put, get by order ID or tracking, replace, eviction).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "src/order.h"

/** Room for the generated JSON documents below (33 SKUs is the largest). */
#define JSON_MAX 4096

static const char full_json[] =
	"{\"order_id\":\"ORD-1001\",\"tracking\":\"1Z999AA10123456784\",\"carrier\":\"UPS\","
	"\"service\":\"UPS-SIG\",\"signature\":true,\"declared_value_cents\":123456,"
	"\"currency\":\"EUR\",\"declared_weight_g\":1500,"
	"\"skus\":[{\"sku\":\"GLASS-1\",\"qty\":2},{\"sku\":\"BOOK-9\"}],"
	"\"address\":{\"name\":\"Ada Lovelace\",\"street\":\"1 Analytical "
	"Way\",\"city\":\"London\","
	"\"state\":\"LDN\",\"postal_code\":\"NW1 2DB\",\"country\":\"GB\"},"
	"\"flags\":{\"first_time_buyer\":true,\"vip\":false},"
	"\"address_validation\":{\"result\":\"fail\",\"failed\":[\"postal_code\",\"street\"]}}";

static int parse(const char *json, struct order_ctx *o)
{
	return order_parse_json(json, strlen(json), o);
}

static void test_parse_full(void **state)
{
	struct order_ctx o;

	(void)state;
	memset(&o, 0x5a, sizeof(o));
	assert_int_equal(parse(full_json, &o), 0);
	assert_string_equal(o.order_id, "ORD-1001");
	assert_string_equal(o.tracking, "1Z999AA10123456784");
	assert_string_equal(o.carrier, "UPS");
	assert_string_equal(o.service, "UPS-SIG");
	assert_true(o.signature);
	assert_int_equal(o.declared_value_cents, 123456);
	assert_string_equal(o.currency, "EUR");
	assert_int_equal(o.declared_weight_g, 1500);
	assert_int_equal(o.n_skus, 2);
	assert_string_equal(o.skus[0].sku, "GLASS-1");
	assert_int_equal(o.skus[0].qty, 2);
	assert_string_equal(o.skus[1].sku, "BOOK-9");
	assert_int_equal(o.skus[1].qty, 1); /* default */
	assert_string_equal(o.address.name, "Ada Lovelace");
	assert_string_equal(o.address.street, "1 Analytical Way");
	assert_string_equal(o.address.city, "London");
	assert_string_equal(o.address.state, "LDN");
	assert_string_equal(o.address.postal_code, "NW1 2DB");
	assert_string_equal(o.address.country, "GB");
	assert_true(o.first_time_buyer);
	assert_false(o.vip);
	assert_true(o.has_upstream_av);
	assert_false(o.upstream_av_pass);
	assert_int_equal(o.n_upstream_av_failed, 2);
	assert_string_equal(o.upstream_av_failed[0], "postal_code");
	assert_string_equal(o.upstream_av_failed[1], "street");
}

static void test_parse_minimal(void **state)
{
	struct order_ctx o;

	(void)state;
	memset(&o, 0x5a, sizeof(o));
	assert_int_equal(parse("{\"order_id\":\"ORD-1\"}", &o), 0);
	assert_string_equal(o.order_id, "ORD-1");
	/* everything else zeroed, not left from before */
	assert_string_equal(o.tracking, "");
	assert_string_equal(o.service, "");
	assert_false(o.signature);
	assert_int_equal(o.declared_value_cents, 0);
	assert_int_equal(o.declared_weight_g, 0);
	assert_int_equal(o.n_skus, 0);
	assert_string_equal(o.address.postal_code, "");
	assert_false(o.has_upstream_av);
	assert_int_equal(o.n_upstream_av_failed, 0);

	/* JSON nulls are "absent" for every optional member */
	assert_int_equal(parse("{\"order_id\":\"ORD-2\",\"tracking\":null,\"signature\":null,"
			       "\"declared_value_cents\":null,\"skus\":null,\"address\":null,"
			       "\"flags\":null,\"address_validation\":null}",
			       &o),
			 0);
	assert_string_equal(o.order_id, "ORD-2");
	assert_string_equal(o.tracking, "");

	/* a passing validation without a failed list */
	assert_int_equal(
		parse("{\"order_id\":\"ORD-3\",\"address_validation\":{\"result\":\"pass\"}}", &o),
		0);
	assert_true(o.has_upstream_av);
	assert_true(o.upstream_av_pass);
}

/* Only the first @p len bytes are parsed (the MQTT payload is not NUL-terminated). */
static void test_parse_length_bounded(void **state)
{
	static const char buf[] = "{\"order_id\":\"ORD-7\"}GARBAGE";
	struct order_ctx o;

	(void)state;
	assert_int_equal(order_parse_json(buf, sizeof("{\"order_id\":\"ORD-7\"}") - 1, &o), 0);
	assert_string_equal(o.order_id, "ORD-7");
	assert_int_equal(order_parse_json(buf, 5, &o), -EINVAL);
	/* trailing whitespace is fine */
	assert_int_equal(parse("{\"order_id\":\"ORD-8\"} \n", &o), 0);
	assert_string_equal(o.order_id, "ORD-8");
}

/*
 * Known bug (see the report): cJSON_ParseWithLength() stops after the first value and
 * order_parse_json() never checks what follows, so "{...}GARBAGE" (a truncated or
 * concatenated payload) is accepted as a valid order instead of -EINVAL.
 */
static void test_bug_trailing_garbage(void **state)
{
	static const char buf[] = "{\"order_id\":\"ORD-7\"}GARBAGE";
	struct order_ctx o;

	(void)state;
	assert_int_equal(order_parse_json(buf, sizeof(buf) - 1, &o), -EINVAL);
	assert_int_equal(parse("{\"order_id\":\"A\"}{\"order_id\":\"B\"}", &o), -EINVAL);
}

static void test_not_found(void **state)
{
	struct order_ctx o;

	(void)state;
	memset(&o, 0x5a, sizeof(o));
	assert_int_equal(parse("{\"error\":\"not_found\"}", &o), -ENOENT);
	assert_int_equal(((unsigned char *)&o)[0], 0x5a);
}

struct bad_case {
	const char *legend;
	const char *json;
};

static const struct bad_case bad_cases[] = {
	{"empty", ""},
	{"not JSON", "order ORD-1"},
	{"truncated", "{\"order_id\":\"ORD-1\""},
	{"array", "[{\"order_id\":\"ORD-1\"}]"},
	{"string", "\"ORD-1\""},
	{"missing order_id", "{\"tracking\":\"1Z\"}"},
	{"null order_id", "{\"order_id\":null}"},
	{"numeric order_id", "{\"order_id\":1001}"},
	{"tracking not a string", "{\"order_id\":\"O\",\"tracking\":[]}"},
	{"signature as a string", "{\"order_id\":\"O\",\"signature\":\"yes\"}"},
	{"value negative", "{\"order_id\":\"O\",\"declared_value_cents\":-1}"},
	{"value fractional", "{\"order_id\":\"O\",\"declared_value_cents\":12.5}"},
	{"value as a string", "{\"order_id\":\"O\",\"declared_value_cents\":\"100\"}"},
	{"value above 2^52", "{\"order_id\":\"O\",\"declared_value_cents\":4503599627370497}"},
	{"weight above INT32_MAX", "{\"order_id\":\"O\",\"declared_weight_g\":2147483648}"},
	{"weight negative", "{\"order_id\":\"O\",\"declared_weight_g\":-5}"},
	{"currency too long", "{\"order_id\":\"O\",\"currency\":\"EURO\"}"},
	{"skus not an array", "{\"order_id\":\"O\",\"skus\":{\"sku\":\"A\"}}"},
	{"sku item not an object", "{\"order_id\":\"O\",\"skus\":[\"A\"]}"},
	{"sku without sku", "{\"order_id\":\"O\",\"skus\":[{\"qty\":1}]}"},
	{"sku qty zero", "{\"order_id\":\"O\",\"skus\":[{\"sku\":\"A\",\"qty\":0}]}"},
	{"sku qty huge", "{\"order_id\":\"O\",\"skus\":[{\"sku\":\"A\",\"qty\":1000001}]}"},
	{"address not an object", "{\"order_id\":\"O\",\"address\":\"1 Main St\"}"},
	{"country too long", "{\"order_id\":\"O\",\"address\":{\"country\":\"GBRX\"}}"},
	{"flags not an object", "{\"order_id\":\"O\",\"flags\":[true]}"},
	{"vip not a bool", "{\"order_id\":\"O\",\"flags\":{\"vip\":1}}"},
	{"av not an object", "{\"order_id\":\"O\",\"address_validation\":\"pass\"}"},
	{"av without result", "{\"order_id\":\"O\",\"address_validation\":{}}"},
	{"av result unknown", "{\"order_id\":\"O\",\"address_validation\":{\"result\":\"maybe\"}}"},
	{"av failed not an array",
	 "{\"order_id\":\"O\",\"address_validation\":{\"result\":\"fail\",\"failed\":\"zip\"}}"},
	{"av failed item not a string",
	 "{\"order_id\":\"O\",\"address_validation\":{\"result\":\"fail\",\"failed\":[1]}}"},
	{"av failed, 25 checks (PKG_CHECKS_MAX + 1)",
	 "{\"order_id\":\"O\",\"address_validation\":{\"result\":\"fail\",\"failed\":"
	 "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\","
	 "\"n\",\"o\",\"p\",\"q\",\"r\",\"s\",\"t\",\"u\",\"v\",\"w\",\"x\",\"y\"]}}"},
};

static void test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct order_ctx o;
		int r;

		memset(&o, 0x5a, sizeof(o));
		r = parse(bad_cases[i].json, &o);
		if (r != -EINVAL)
			fail_msg("%s: got %d, want -EINVAL", bad_cases[i].legend, r);
		/* ret untouched on error */
		for (size_t j = 0; j < sizeof(o); j++)
			if (((unsigned char *)&o)[j] != 0x5a)
				fail_msg("%s: ret modified at byte %zu", bad_cases[i].legend, j);
	}
}

/* Each string field at its limit (size - 1) passes, one more fails. */
static void test_string_limits(void **state)
{
	static const struct {
		const char *pre, *post; /* the value goes between */
		size_t size;
	} fields[] = {
		{"{\"order_id\":\"", "\"}", PKG_ID_MAX},
		{"{\"order_id\":\"O\",\"tracking\":\"", "\"}", PKG_ID_MAX},
		{"{\"order_id\":\"O\",\"service\":\"", "\"}", PKG_ID_MAX},
		{"{\"order_id\":\"O\",\"skus\":[{\"sku\":\"", "\"}]}", PKG_ID_MAX},
		{"{\"order_id\":\"O\",\"address\":{\"street\":\"", "\"}}", PKG_NAME_MAX},
		{"{\"order_id\":\"O\",\"address\":{\"postal_code\":\"", "\"}}", PKG_ID_MAX},
		{"{\"order_id\":\"O\",\"address_validation\":{\"result\":\"fail\",\"failed\":[\"",
		 "\"]}}", PKG_ID_MAX},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char value[PKG_NAME_MAX + 1], json[JSON_MAX];
		struct order_ctx o;

		for (size_t len = fields[i].size - 1; len <= fields[i].size; len++) {
			int want = len < fields[i].size ? 0 : -EINVAL, r;

			memset(value, 'v', len);
			value[len] = '\0';
			snprintf(json, sizeof(json), "%s%s%s", fields[i].pre, value,
				 fields[i].post);
			r = parse(json, &o);
			if (r != want)
				fail_msg("field %zu, %zu characters: got %d, want %d", i, len, r,
					 want);
		}
	}
}

static void make_skus(char *json, size_t size, unsigned n)
{
	size_t off = (size_t)snprintf(json, size, "{\"order_id\":\"O\",\"skus\":[");

	for (unsigned i = 0; i < n; i++)
		off += (size_t)snprintf(json + off, size - off, "%s{\"sku\":\"S-%u\",\"qty\":%u}",
					i ? "," : "", i, i + 1);
	snprintf(json + off, size - off, "]}");
	assert_true(strlen(json) < size - 1);
}

static void test_sku_limit(void **state)
{
	char json[JSON_MAX];
	struct order_ctx o;

	(void)state;
	make_skus(json, sizeof(json), PKG_SKUS_MAX);
	assert_int_equal(parse(json, &o), 0);
	assert_int_equal(o.n_skus, PKG_SKUS_MAX);
	assert_string_equal(o.skus[PKG_SKUS_MAX - 1].sku, "S-31");
	assert_int_equal(o.skus[PKG_SKUS_MAX - 1].qty, PKG_SKUS_MAX);
	make_skus(json, sizeof(json), PKG_SKUS_MAX + 1);
	assert_int_equal(parse(json, &o), -EINVAL);
}

static void test_value_limits(void **state)
{
	struct order_ctx o;

	(void)state;
	assert_int_equal(parse("{\"order_id\":\"O\",\"declared_value_cents\":4503599627370496,"
			       "\"declared_weight_g\":2147483647}",
			       &o),
			 0);
	assert_int_equal(o.declared_value_cents, INT64_C(4503599627370496));
	assert_int_equal(o.declared_weight_g, INT32_MAX);
	/* 1.0e3 is an integer value, whatever its spelling */
	assert_int_equal(parse("{\"order_id\":\"O\",\"declared_weight_g\":1.0e3}", &o), 0);
	assert_int_equal(o.declared_weight_g, 1000);
}

/* ---- cache ----------------------------------------------------------------------------- */

static struct order_ctx mk(const char *id, const char *tracking, int64_t value)
{
	struct order_ctx o;

	memset(&o, 0, sizeof(o));
	snprintf(o.order_id, sizeof(o.order_id), "%s", id);
	snprintf(o.tracking, sizeof(o.tracking), "%s", tracking);
	o.declared_value_cents = value;
	return o;
}

static void test_cache_new_free(void **state)
{
	struct order_cache *c = (struct order_cache *)0x1;

	(void)state;
	assert_int_equal(order_cache_new(0, &c), -EINVAL);
	assert_ptr_equal(c, (struct order_cache *)0x1); /* untouched */
	assert_int_equal(order_cache_new(ORDER_CACHE_MAX, &c), 0);
	assert_non_null(c);
	assert_null(order_cache_get(c, "ORD-1", "1Z"));
	order_cache_free(c);
	order_cache_free(NULL);
}

static void test_cache_put_get(void **state)
{
	struct order_cache *c;
	const struct order_ctx *e;
	struct order_ctx a = mk("ORD-1", "1ZA", 100), b = mk("ORD-2", "1ZB", 200);

	(void)state;
	assert_int_equal(order_cache_new(8, &c), 0);
	order_cache_put(c, &a);
	order_cache_put(c, &b);
	/* the cache keeps its own copy */
	a.declared_value_cents = 999;

	e = order_cache_get(c, "ORD-1", NULL);
	assert_non_null(e);
	assert_int_equal(e->declared_value_cents, 100);
	e = order_cache_get(c, "ORD-2", "");
	assert_non_null(e);
	assert_string_equal(e->tracking, "1ZB");
	/* by tracking when there is no order ID */
	e = order_cache_get(c, "", "1ZA");
	assert_non_null(e);
	assert_string_equal(e->order_id, "ORD-1");
	e = order_cache_get(c, NULL, "1ZB");
	assert_non_null(e);
	assert_string_equal(e->order_id, "ORD-2");
	/* an order ID is authoritative: no fallback to the tracking number */
	assert_null(order_cache_get(c, "ORD-9", "1ZA"));
	assert_null(order_cache_get(c, "", "1ZC"));
	assert_null(order_cache_get(c, "", ""));
	assert_null(order_cache_get(c, NULL, NULL));
	order_cache_free(c);
}

static void test_cache_replace(void **state)
{
	struct order_cache *c;
	struct order_ctx a = mk("ORD-1", "1ZA", 100), a2 = mk("ORD-1", "1ZA2", 150),
			 b = mk("ORD-2", "1ZB", 200), d = mk("ORD-3", "1ZD", 300);

	(void)state;
	assert_int_equal(order_cache_new(2, &c), 0);
	order_cache_put(c, &a);
	order_cache_put(c, &b);
	/* replacing by order ID takes no new slot: both still there */
	order_cache_put(c, &a2);
	assert_int_equal(order_cache_get(c, "ORD-1", NULL)->declared_value_cents, 150);
	assert_non_null(order_cache_get(c, "ORD-2", NULL));
	/* the old tracking number no longer finds it */
	assert_null(order_cache_get(c, NULL, "1ZA"));
	assert_non_null(order_cache_get(c, NULL, "1ZA2"));
	/* full: the next new order evicts the oldest insert */
	order_cache_put(c, &d);
	assert_null(order_cache_get(c, "ORD-1", NULL));
	assert_non_null(order_cache_get(c, "ORD-2", NULL));
	assert_non_null(order_cache_get(c, "ORD-3", NULL));
	order_cache_free(c);
}

static void test_cache_eviction(void **state)
{
	struct order_cache *c;
	char id[PKG_ID_MAX], tr[PKG_ID_MAX];
	const unsigned cap = 4, total = 11;

	(void)state;
	assert_int_equal(order_cache_new(cap, &c), 0);
	for (unsigned i = 0; i < total; i++) {
		struct order_ctx o;

		snprintf(id, sizeof(id), "ORD-%u", i);
		snprintf(tr, sizeof(tr), "1Z%u", i);
		o = mk(id, tr, i);
		order_cache_put(c, &o);
	}
	/* exactly the last @cap inserts remain, oldest first out */
	for (unsigned i = 0; i < total; i++) {
		const struct order_ctx *e;

		snprintf(id, sizeof(id), "ORD-%u", i);
		snprintf(tr, sizeof(tr), "1Z%u", i);
		e = order_cache_get(c, id, NULL);
		if (i < total - cap) {
			assert_null(e);
			assert_null(order_cache_get(c, NULL, tr));
		} else {
			assert_non_null(e);
			assert_int_equal(e->declared_value_cents, i);
			assert_ptr_equal(order_cache_get(c, NULL, tr), e);
		}
	}
	order_cache_free(c);
}

/* A cache at its design size: fill twice over, every lookup still correct. */
static void test_cache_full_size(void **state)
{
	struct order_cache *c;
	char id[PKG_ID_MAX];

	(void)state;
	assert_int_equal(order_cache_new(ORDER_CACHE_MAX, &c), 0);
	for (unsigned i = 0; i < 2 * ORDER_CACHE_MAX; i++) {
		struct order_ctx o;

		snprintf(id, sizeof(id), "ORD-%u", i);
		o = mk(id, "", i);
		order_cache_put(c, &o);
	}
	snprintf(id, sizeof(id), "ORD-%u", ORDER_CACHE_MAX - 1);
	assert_null(order_cache_get(c, id, NULL));
	snprintf(id, sizeof(id), "ORD-%u", ORDER_CACHE_MAX);
	assert_non_null(order_cache_get(c, id, NULL));
	snprintf(id, sizeof(id), "ORD-%u", 2 * ORDER_CACHE_MAX - 1);
	assert_int_equal(order_cache_get(c, id, NULL)->declared_value_cents,
			 2 * ORDER_CACHE_MAX - 1);
	order_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_minimal),
		cmocka_unit_test(test_parse_length_bounded),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_string_limits),
		cmocka_unit_test(test_sku_limit),
		cmocka_unit_test(test_value_limits),
		cmocka_unit_test(test_cache_new_free),
		cmocka_unit_test(test_cache_put_get),
		cmocka_unit_test(test_cache_replace),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_cache_full_size),
		cmocka_unit_test(test_bug_trailing_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
