/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_rules.c - every rule in every direction (pass / warn / block / skip), the
 * photo decision and its reasons, the priority flags and the dimensional weight rounding.
 *
 * The rules are pure functions of (rules_cfg, package), so each case builds both in memory:
 * a base config and a base package whose order context passes everything, then one change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "src/rules.h"

#define TRACKING       "1Z999AA10123456784"
#define OTHER_TRACKING "1Z999AA10123456793"

/* Every rule rules_evaluate() appends, in its order. */
static const char *const rule_names[] = {
	"signature_threshold", "photo_required",     "weight_tolerance", "address",
	"label_order_match",   "duplicate_tracking", "dim_mismatch",
};

static void base_cfg(struct rules_cfg *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->version, sizeof(c->version), "r-test");
	c->signature_threshold_cents = 50000;
	c->high_value_cents = 100000;
	c->photo_high_value = true;
	c->n_fragile_skus = 2;
	snprintf(c->fragile_skus[0], PKG_ID_MAX, "GLASS-*");
	snprintf(c->fragile_skus[1], PKG_ID_MAX, "VASE-??");
	c->n_repeat_loss_lanes = 2;
	snprintf(c->repeat_loss_lanes[0], PKG_ID_MAX, "ups:9*");
	snprintf(c->repeat_loss_lanes[1], PKG_ID_MAX, "*:100??");
	c->weight_tolerance_pct = 10;
	c->weight_tolerance_min_g = 50;
	c->weight_policy = POLICY_WARN;
	c->address_policy = POLICY_WARN;
	c->dim_divisor = 5000;
}

/* A package with an order context that passes every rule. */
static void base_pkg(struct package *p)
{
	package_reset(p);
	snprintf(p->packer_id, sizeof(p->packer_id), "P-100");
	snprintf(p->order_id, sizeof(p->order_id), "ORD-1001");
	snprintf(p->label.tracking, sizeof(p->label.tracking), TRACKING);
	snprintf(p->label.carrier, sizeof(p->label.carrier), "UPS");
	p->order_src = ORDER_SRC_CENTRAL;
	snprintf(p->order.order_id, sizeof(p->order.order_id), "ORD-1001");
	snprintf(p->order.tracking, sizeof(p->order.tracking), TRACKING);
	snprintf(p->order.carrier, sizeof(p->order.carrier), "UPS");
	snprintf(p->order.service, sizeof(p->order.service), "UPS-GROUND");
	p->order.declared_value_cents = 2500;
	p->order.declared_weight_g = 1000;
	p->order.n_skus = 1;
	snprintf(p->order.skus[0].sku, PKG_ID_MAX, "BOOK-1");
	p->order.skus[0].qty = 1;
	snprintf(p->order.address.name, PKG_NAME_MAX, "Ada Lovelace");
	snprintf(p->order.address.street, PKG_NAME_MAX, "1 Main St");
	snprintf(p->order.address.city, PKG_NAME_MAX, "Washington");
	snprintf(p->order.address.state, PKG_ID_MAX, "DC");
	snprintf(p->order.address.postal_code, PKG_ID_MAX, "20001");
	snprintf(p->order.address.country, sizeof(p->order.address.country), "US");
	p->order.has_upstream_av = true;
	p->order.upstream_av_pass = true;
	p->has_weight = true;
	p->gross_g = 1250;
	p->measured_g = 1000;
}

static const struct rule_eval *find_rule(const struct package *p, const char *name)
{
	static const struct rule_eval none = {.result = _RULE_RESULT_MAX};

	for (unsigned i = 0; i < p->n_rules; i++)
		if (strcmp(p->rules[i].rule, name) == 0)
			return &p->rules[i];
	fail_msg("rule %s not evaluated", name);
	return &none; /* not reached: fail_msg() does not return */
}

/* Evaluate (photo decision first, as the pipeline does) and check one rule. */
static unsigned judge(const struct rules_cfg *c, struct package *p, bool dup, const char *rule,
		      enum rule_result want, const char *want_detail)
{
	const struct rule_eval *e;
	unsigned blocks;

	rules_photo_required(c, p);
	blocks = rules_evaluate(c, p, dup);
	assert_int_equal(p->n_rules, sizeof(rule_names) / sizeof(rule_names[0]));
	e = find_rule(p, rule);
	if (e->result != want || (want_detail && strcmp(e->detail, want_detail) != 0))
		fail_msg("%s: got %s \"%s\", want %s \"%s\"", rule,
			 rule_result_to_string(e->result), e->detail, rule_result_to_string(want),
			 want_detail ? want_detail : "*");
	return blocks;
}

static void test_all_pass(void **state)
{
	struct rules_cfg c;
	struct package p;
	char names[PKG_DETAIL_MAX];

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	assert_false(rules_photo_required(&c, &p));
	assert_false(p.photo_required);
	assert_string_equal(p.photo_reasons, "");
	assert_int_equal(rules_evaluate(&c, &p, false), 0);
	for (size_t i = 0; i < sizeof(rule_names) / sizeof(rule_names[0]); i++)
		assert_non_null(find_rule(&p, rule_names[i]));
	assert_int_equal(find_rule(&p, "signature_threshold")->result, RULE_PASS);
	assert_int_equal(find_rule(&p, "photo_required")->result, RULE_SKIP);
	assert_int_equal(find_rule(&p, "weight_tolerance")->result, RULE_PASS);
	assert_int_equal(find_rule(&p, "address")->result, RULE_PASS);
	assert_int_equal(find_rule(&p, "label_order_match")->result, RULE_PASS);
	assert_int_equal(find_rule(&p, "duplicate_tracking")->result, RULE_PASS);
	rules_blocking_names(&p, names, sizeof(names));
	assert_string_equal(names, "");
	/* evaluating twice replaces, it does not append */
	assert_int_equal(rules_evaluate(&c, &p, false), 0);
	assert_int_equal(p.n_rules, 7); /* dim_mismatch joined with issue 4 */
}

static void test_signature_threshold(void **state)
{
	struct rules_cfg c;
	struct package p;

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	judge(&c, &p, false, "signature_threshold", RULE_PASS, "declared 2500 < threshold 50000");

	p.order.declared_value_cents = 49999;
	judge(&c, &p, false, "signature_threshold", RULE_PASS, "declared 49999 < threshold 50000");

	/* at the threshold: needs a signature service */
	p.order.declared_value_cents = 50000;
	assert_int_equal(judge(&c, &p, false, "signature_threshold", RULE_BLOCK,
			       "declared 50000 >= 50000 but service UPS-GROUND has no signature: "
			       "relabel"),
			 1);
	p.order.service[0] = '\0';
	judge(&c, &p, false, "signature_threshold", RULE_BLOCK,
	      "declared 50000 >= 50000 but service (unknown) has no signature: relabel");
	snprintf(p.order.service, sizeof(p.order.service), "UPS-SIG");
	p.order.signature = true;
	judge(&c, &p, false, "signature_threshold", RULE_PASS,
	      "declared 50000 >= 50000, service UPS-SIG has signature");

	/* pending order context: cannot judge the value, must not invent a block */
	p.order.signature = false;
	p.order_src = ORDER_SRC_NONE;
	judge(&c, &p, false, "signature_threshold", RULE_SKIP,
	      "declared value unknown (order context pending)");

	/* no threshold configured */
	p.order_src = ORDER_SRC_CACHE;
	c.signature_threshold_cents = 0;
	judge(&c, &p, false, "signature_threshold", RULE_SKIP, "no threshold set");
}

static void test_photo_rule(void **state)
{
	struct rules_cfg c;
	struct package p;

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	judge(&c, &p, false, "photo_required", RULE_SKIP, "no photo rule applies");

	snprintf(p.order.skus[0].sku, PKG_ID_MAX, "GLASS-7");
	assert_int_equal(judge(&c, &p, false, "photo_required", RULE_BLOCK,
			       "photo required (fragile:GLASS-7) but none taken"),
			 1);
	p.has_photo = true;
	assert_int_equal(
		judge(&c, &p, false, "photo_required", RULE_PASS, "photo taken (fragile:GLASS-7)"),
		0);
}

struct photo_case {
	const char *legend;
	void (*tweak)(struct rules_cfg *c, struct package *p);
	const char *reasons; /* "" = no photo */
};

static void tw_none(struct rules_cfg *c, struct package *p)
{
	(void)c;
	(void)p;
}

static void tw_always(struct rules_cfg *c, struct package *p)
{
	(void)p;
	c->photo_always = true;
}

static void tw_fragile_second_sku(struct rules_cfg *c, struct package *p)
{
	(void)c;
	p->order.n_skus = 3;
	snprintf(p->order.skus[1].sku, PKG_ID_MAX, "VASE-12");
	snprintf(p->order.skus[2].sku, PKG_ID_MAX, "GLASS-1");
}

static void tw_glob_no_match(struct rules_cfg *c, struct package *p)
{
	(void)c;
	snprintf(p->order.skus[0].sku, PKG_ID_MAX, "VASE-123"); /* ?? is exactly two */
}

static void tw_high_value(struct rules_cfg *c, struct package *p)
{
	(void)c;
	p->order.declared_value_cents = 100000;
	p->order.signature = true;
}

static void tw_high_value_no_photo_policy(struct rules_cfg *c, struct package *p)
{
	tw_high_value(c, p);
	c->photo_high_value = false;
}

static void tw_high_value_off(struct rules_cfg *c, struct package *p)
{
	tw_high_value(c, p);
	c->high_value_cents = 0;
}

static void tw_lane_order_carrier(struct rules_cfg *c, struct package *p)
{
	(void)c;
	snprintf(p->order.address.postal_code, PKG_ID_MAX, "94105"); /* "ups:9*", casefold */
}

static void tw_lane_label_carrier(struct rules_cfg *c, struct package *p)
{
	(void)c;
	p->order.carrier[0] = '\0'; /* falls back to the label's carrier */
	snprintf(p->order.address.postal_code, PKG_ID_MAX, "94105");
}

static void tw_lane_other_carrier(struct rules_cfg *c, struct package *p)
{
	(void)c;
	snprintf(p->order.carrier, sizeof(p->order.carrier), "DHL");
	snprintf(p->order.address.postal_code, PKG_ID_MAX, "94105");
}

static void tw_lane_wildcard(struct rules_cfg *c, struct package *p)
{
	(void)c;
	snprintf(p->order.carrier, sizeof(p->order.carrier), "DHL");
	snprintf(p->order.address.postal_code, PKG_ID_MAX, "10001"); /* "*:100??" */
}

static void tw_lane_no_colon(struct rules_cfg *c, struct package *p)
{
	c->n_repeat_loss_lanes = 1;
	snprintf(c->repeat_loss_lanes[0], PKG_ID_MAX, "94105");
	snprintf(p->order.address.postal_code, PKG_ID_MAX, "94105");
}

static void tw_pending(struct rules_cfg *c, struct package *p)
{
	(void)c;
	/* the order data is stale/absent: none of it may be used */
	p->order_src = ORDER_SRC_NONE;
	snprintf(p->order.skus[0].sku, PKG_ID_MAX, "GLASS-7");
	p->order.declared_value_cents = 900000;
	snprintf(p->order.address.postal_code, PKG_ID_MAX, "94105");
}

static void tw_everything(struct rules_cfg *c, struct package *p)
{
	c->photo_always = true;
	tw_fragile_second_sku(c, p);
	tw_high_value(c, p);
	tw_lane_order_carrier(c, p);
}

static void tw_always_pending(struct rules_cfg *c, struct package *p)
{
	c->photo_always = true;
	p->order_src = ORDER_SRC_NONE;
}

static const struct photo_case photo_cases[] = {
	{"nothing applies", tw_none, ""},
	{"photo_always", tw_always, "always"},
	{"first fragile SKU named", tw_fragile_second_sku, "fragile:VASE-12"},
	{"glob ?? is two characters", tw_glob_no_match, ""},
	{"high value at the threshold", tw_high_value, "high_value"},
	{"high value, photo_high_value off", tw_high_value_no_photo_policy, ""},
	{"high value rule off", tw_high_value_off, ""},
	{"repeat lane by the order's carrier", tw_lane_order_carrier, "repeat_lane"},
	{"repeat lane by the label's carrier", tw_lane_label_carrier, "repeat_lane"},
	{"other carrier, not a lane", tw_lane_other_carrier, ""},
	{"lane with carrier wildcard", tw_lane_wildcard, "repeat_lane"},
	{"lane without a colon is ignored", tw_lane_no_colon, ""},
	{"order pending", tw_pending, "order_pending"},
	{"every reason, in order", tw_everything, "always,fragile:VASE-12,high_value,repeat_lane"},
	{"always and pending", tw_always_pending, "always,order_pending"},
};

static void test_photo_reasons(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(photo_cases) / sizeof(photo_cases[0]); i++) {
		const struct photo_case *pc = &photo_cases[i];
		struct rules_cfg c;
		struct package p;
		bool req;

		base_cfg(&c);
		base_pkg(&p);
		snprintf(p.photo_reasons, sizeof(p.photo_reasons), "stale");
		pc->tweak(&c, &p);
		req = rules_photo_required(&c, &p);
		if (strcmp(p.photo_reasons, pc->reasons) != 0 || req != (pc->reasons[0] != '\0') ||
		    p.photo_required != req)
			fail_msg("%s: got %d \"%s\", want \"%s\"", pc->legend, req, p.photo_reasons,
				 pc->reasons);
	}
}

/* The longest SKU is carried whole next to every other reason. */
static void test_photo_reasons_long_sku(void **state)
{
	struct rules_cfg c;
	struct package p;
	char sku[PKG_ID_MAX];

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	c.photo_always = true;
	c.n_fragile_skus = 1;
	snprintf(c.fragile_skus[0], PKG_ID_MAX, "*");
	memset(sku, 'S', sizeof(sku) - 1);
	sku[sizeof(sku) - 1] = '\0';
	snprintf(p.order.skus[0].sku, PKG_ID_MAX, "%s", sku);
	tw_high_value(&c, &p);
	tw_lane_order_carrier(&c, &p);
	assert_true(rules_photo_required(&c, &p));
	/* "always" (6) + ",fragile:" + 63 + ",high_value" + ",repeat_lane" = 101 < 160: fits */
	assert_non_null(strstr(p.photo_reasons, sku));
	assert_true(strlen(p.photo_reasons) < sizeof(p.photo_reasons));
	assert_string_equal(p.photo_reasons + strlen(p.photo_reasons) - strlen(",repeat_lane"),
			    ",repeat_lane");
}

static void test_weight_tolerance(void **state)
{
	struct rules_cfg c;
	struct package p;

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	judge(&c, &p, false, "weight_tolerance", RULE_PASS,
	      "measured 1000 g vs declared 1000 g (tolerance 100 g)");
	/* exactly at the tolerance passes */
	p.measured_g = 1100;
	judge(&c, &p, false, "weight_tolerance", RULE_PASS,
	      "measured 1100 g vs declared 1000 g (tolerance 100 g)");
	p.measured_g = 900;
	judge(&c, &p, false, "weight_tolerance", RULE_PASS, NULL);
	/* one gram over: warn by default */
	p.measured_g = 1101;
	assert_int_equal(
		judge(&c, &p, false, "weight_tolerance", RULE_WARN,
		      "measured 1101 g vs declared 1000 g: off by +101 g (tolerance 100 g)"),
		0);
	p.measured_g = 850;
	judge(&c, &p, false, "weight_tolerance", RULE_WARN,
	      "measured 850 g vs declared 1000 g: off by -150 g (tolerance 100 g)");
	/* block policy */
	c.weight_policy = POLICY_BLOCK;
	assert_int_equal(judge(&c, &p, false, "weight_tolerance", RULE_BLOCK, NULL), 1);
	/* the minimum tolerance wins for light parcels: 10 % of 200 g is 20 g < 50 g */
	p.order.declared_weight_g = 200;
	p.measured_g = 250;
	judge(&c, &p, false, "weight_tolerance", RULE_PASS,
	      "measured 250 g vs declared 200 g (tolerance 50 g)");
	p.measured_g = 251;
	judge(&c, &p, false, "weight_tolerance", RULE_BLOCK,
	      "measured 251 g vs declared 200 g: off by +51 g (tolerance 50 g)");
	/* a box heavier than the reading (negative net weight) is judged, not skipped */
	p.measured_g = -30;
	judge(&c, &p, false, "weight_tolerance", RULE_BLOCK,
	      "measured -30 g vs declared 200 g: off by -230 g (tolerance 50 g)");
	/* nothing to compare */
	p.order.declared_weight_g = 0;
	judge(&c, &p, false, "weight_tolerance", RULE_SKIP, "no declared weight");
	p.order.declared_weight_g = 200;
	p.order_src = ORDER_SRC_NONE;
	judge(&c, &p, false, "weight_tolerance", RULE_SKIP, "no declared weight");
}

static void test_address(void **state)
{
	struct rules_cfg c;
	struct package p;

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	judge(&c, &p, false, "address", RULE_PASS,
	      "station checks passed; upstream validation passed");
	p.order.upstream_av_pass = false;
	judge(&c, &p, false, "address", RULE_WARN, "upstream validation failed: (no checks named)");
	p.order.n_upstream_av_failed = 2;
	snprintf(p.order.upstream_av_failed[0], PKG_ID_MAX, "postal_code");
	snprintf(p.order.upstream_av_failed[1], PKG_ID_MAX, "street");
	assert_int_equal(judge(&c, &p, false, "address", RULE_WARN,
			       "upstream validation failed: postal_code,street"),
			 0);
	c.address_policy = POLICY_BLOCK;
	assert_int_equal(judge(&c, &p, false, "address", RULE_BLOCK,
			       "upstream validation failed: postal_code,street"),
			 1);
	p.order.has_upstream_av = false;
	judge(&c, &p, false, "address", RULE_PASS, "station checks passed");
	/* the station's own checks: a ZIP outside the state, and a PO box UPS will not take */
	snprintf(p.order.address.postal_code, PKG_ID_MAX, "30301"); /* Atlanta, GA */
	snprintf(p.order.address.street, PKG_NAME_MAX, "PO Box 12");
	assert_int_equal(judge(&c, &p, false, "address", RULE_BLOCK,
			       "station checks failed: zip_state_mismatch,po_box_refused"),
			 1);
	p.order.has_upstream_av = true;
	assert_int_equal(judge(&c, &p, false, "address", RULE_BLOCK,
			       "station checks failed: zip_state_mismatch,po_box_refused; upstream "
			       "validation failed: postal_code,street"),
			 1);
	p.order_src = ORDER_SRC_NONE;
	judge(&c, &p, false, "address", RULE_SKIP, "no address to check (order context pending)");
}

static void test_label_order_match(void **state)
{
	struct rules_cfg c;
	struct package p;

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	judge(&c, &p, false, "label_order_match", RULE_PASS,
	      "label " TRACKING " belongs to order ORD-1001");
	snprintf(p.order.tracking, sizeof(p.order.tracking), OTHER_TRACKING);
	assert_int_equal(judge(&c, &p, false, "label_order_match", RULE_BLOCK,
			       "label " TRACKING " but order ORD-1001 ships as " OTHER_TRACKING),
			 1);
	p.order.tracking[0] = '\0';
	judge(&c, &p, false, "label_order_match", RULE_SKIP, "nothing to compare");
	snprintf(p.order.tracking, sizeof(p.order.tracking), OTHER_TRACKING);
	p.label.tracking[0] = '\0';
	judge(&c, &p, false, "label_order_match", RULE_SKIP, "nothing to compare");
	snprintf(p.label.tracking, sizeof(p.label.tracking), TRACKING);
	p.order_src = ORDER_SRC_NONE;
	judge(&c, &p, false, "label_order_match", RULE_SKIP, "no order context to compare");
	/* a 2D label (15434) ships to another postal code than the order */
	p.order_src = ORDER_SRC_CENTRAL;
	snprintf(p.order.tracking, sizeof(p.order.tracking), TRACKING);
	p.label.two_d = true;
	snprintf(p.label.postal_code, sizeof(p.label.postal_code), "94043");
	snprintf(p.label.country, sizeof(p.label.country), "US");
	assert_int_equal(judge(&c, &p, false, "label_order_match", RULE_BLOCK,
			       "2D label ships to US 94043, order to US 20001"),
			 1);
	snprintf(p.label.postal_code, sizeof(p.label.postal_code), "20001");
	judge(&c, &p, false, "label_order_match", RULE_PASS,
	      "label " TRACKING " belongs to order ORD-1001");
}

static void test_duplicate_tracking(void **state)
{
	struct rules_cfg c;
	struct package p;

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	judge(&c, &p, false, "duplicate_tracking", RULE_PASS, "first seal of " TRACKING);
	assert_int_equal(judge(&c, &p, true, "duplicate_tracking", RULE_BLOCK,
			       "tracking " TRACKING " was already sealed"),
			 1);
	p.label.tracking[0] = '\0';
	judge(&c, &p, true, "duplicate_tracking", RULE_SKIP, "no tracking number");
}

static void test_blocking_names_and_count(void **state)
{
	struct rules_cfg c;
	struct package p;
	char names[PKG_DETAIL_MAX], tiny[24];

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	p.order.declared_value_cents = 60000;				      /* signature block */
	snprintf(p.order.skus[0].sku, PKG_ID_MAX, "GLASS-1");		      /* photo block */
	snprintf(p.order.tracking, sizeof(p.order.tracking), OTHER_TRACKING); /* mismatch */
	rules_photo_required(&c, &p);
	assert_int_equal(rules_evaluate(&c, &p, true), 4);
	rules_blocking_names(&p, names, sizeof(names));
	assert_string_equal(
		names, "signature_threshold,photo_required,label_order_match,duplicate_tracking");
	/* whole names only in a short buffer */
	rules_blocking_names(&p, tiny, sizeof(tiny));
	assert_string_equal(tiny, "signature_threshold");
}

static void test_flags(void **state)
{
	struct rules_cfg c;
	struct package p;

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	rules_evaluate(&c, &p, false);
	assert_false(p.flag_high_value);
	assert_false(p.flag_first_time_buyer);
	assert_false(p.flag_vip);
	assert_false(p.flag_repeat_lane);

	p.order.declared_value_cents = 100000;
	p.order.signature = true;
	p.order.first_time_buyer = true;
	p.order.vip = true;
	snprintf(p.order.address.postal_code, PKG_ID_MAX, "94105");
	rules_evaluate(&c, &p, false);
	assert_true(p.flag_high_value);
	assert_true(p.flag_first_time_buyer);
	assert_true(p.flag_vip);
	assert_true(p.flag_repeat_lane);

	/* just below the high-value line */
	p.order.declared_value_cents = 99999;
	rules_evaluate(&c, &p, false);
	assert_false(p.flag_high_value);

	/* the same order data without a context source: no flags at all */
	p.order.declared_value_cents = 100000;
	p.order_src = ORDER_SRC_NONE;
	rules_evaluate(&c, &p, false);
	assert_false(p.flag_high_value);
	assert_false(p.flag_first_time_buyer);
	assert_false(p.flag_vip);
	assert_false(p.flag_repeat_lane);
}

static void test_dim_weight(void **state)
{
	(void)state;
	/* 300 x 200 x 150 mm = 9,000,000 mm^3 / 5000 = 1800 g exactly */
	assert_int_equal(rules_dim_weight_g(300, 200, 150, 5000), 1800);
	/* one mm^3 over rounds up to the next gram */
	assert_int_equal(rules_dim_weight_g(1, 1, 5001, 5000), 2);
	assert_int_equal(rules_dim_weight_g(1, 1, 4999, 5000), 1);
	assert_int_equal(rules_dim_weight_g(1, 1, 1, 5000), 1);
	assert_int_equal(rules_dim_weight_g(0, 200, 150, 5000), 0);
	/* divisor 0 switches dimensional weight off */
	assert_int_equal(rules_dim_weight_g(300, 200, 150, 0), 0);
	/* the largest box the config allows, no 32-bit overflow in the volume */
	assert_int_equal(rules_dim_weight_g(10000, 10000, 10000, 5000), 200000000u);
	assert_int_equal(rules_dim_weight_g(2000, 2000, 2000, 6000), 1333334u);
}

static void test_to_string(void **state)
{
	(void)state;
	assert_string_equal(rule_result_to_string(RULE_PASS), "pass");
	assert_string_equal(rule_result_to_string(RULE_WARN), "warn");
	assert_string_equal(rule_result_to_string(RULE_BLOCK), "block");
	assert_string_equal(rule_result_to_string(RULE_SKIP), "skip");
	assert_string_equal(rule_result_to_string(_RULE_RESULT_MAX), "invalid");
	assert_string_equal(order_source_to_string(ORDER_SRC_NONE), "pending");
	assert_string_equal(order_source_to_string(ORDER_SRC_CENTRAL), "central");
	assert_string_equal(order_source_to_string(ORDER_SRC_CACHE), "cache");
}

/*
 * Regression: the difference measured - declared does not fit int32_t when central declares
 * up to INT32_MAX (order_parse_json() accepts it) and the net weight is negative; it is
 * computed and printed in 64 bits (it was undefined behaviour in int32_t).
 */
static void test_weight_diff_64bit(void **state)
{
	struct rules_cfg c;
	struct package p;
	const struct rule_eval *e;

	(void)state;
	base_cfg(&c);
	base_pkg(&p);
	p.order.declared_weight_g = INT32_MAX;
	p.measured_g = -1000;
	rules_photo_required(&c, &p);
	rules_evaluate(&c, &p, false);
	e = find_rule(&p, "weight_tolerance");
	assert_int_equal(e->result, RULE_WARN);
	assert_non_null(strstr(e->detail, "off by -2147484647 g"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_pass),
		cmocka_unit_test(test_signature_threshold),
		cmocka_unit_test(test_photo_rule),
		cmocka_unit_test(test_photo_reasons),
		cmocka_unit_test(test_photo_reasons_long_sku),
		cmocka_unit_test(test_weight_tolerance),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_label_order_match),
		cmocka_unit_test(test_duplicate_tracking),
		cmocka_unit_test(test_blocking_names_and_count),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_dim_weight),
		cmocka_unit_test(test_to_string),
		cmocka_unit_test(test_weight_diff_64bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
