/* SPDX-License-Identifier: MIT */
/*
 * The rules. Each rule is one function that appends one result: "pass", "warn", "block" or
 * "skip" (not applicable, or not enough data to judge - a pending order context cannot pass a
 * value threshold, but it must not invent a block either; the photo rule covers that case by
 * requiring a photo when the contents are unknown).
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/clock.h"
#include "src/address.h"
#include "src/dimweight.h"
#include "src/rules.h"

static void add(struct package *p, const char *rule, enum rule_result res, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add(struct package *p, const char *rule, enum rule_result res, const char *fmt, ...)
{
	struct rule_eval *e;
	va_list ap;

	if (p->n_rules >= PKG_RULES_MAX)
		return;
	e = &p->rules[p->n_rules++];
	snprintf(e->rule, sizeof(e->rule), "%s", rule);
	e->result = res;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
}

/* snprintf that may cut: these texts are details for people, cut at the buffer's end. */
static void textf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void textf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void append_reason(char *buf, size_t len, const char *reason)
{
	size_t used = strlen(buf), n = strlen(reason), sep = used ? 1 : 0;

	/* Whole reasons only: a cut-off SKU in a record would be misleading. */
	if (used + sep + n + 1 > len)
		return;
	if (sep)
		buf[used++] = ',';
	memcpy(buf + used, reason, n + 1);
}

static bool has_ctx(const struct package *p)
{
	return p->order_src != ORDER_SRC_NONE;
}

static bool is_high_value(const struct rules_cfg *cfg, const struct package *p)
{
	return has_ctx(p) && cfg->high_value_cents > 0 &&
	       p->order.declared_value_cents >= cfg->high_value_cents;
}

static const char *fragile_sku(const struct rules_cfg *cfg, const struct package *p)
{
	if (!has_ctx(p))
		return NULL;
	for (unsigned i = 0; i < p->order.n_skus; i++)
		for (unsigned j = 0; j < cfg->n_fragile_skus; j++)
			if (fnmatch(cfg->fragile_skus[j], p->order.skus[i].sku, 0) == 0)
				return p->order.skus[i].sku;
	return NULL;
}

static const char *effective_carrier(const struct package *p)
{
	if (has_ctx(p) && p->order.carrier[0])
		return p->order.carrier;
	return p->label.carrier;
}

/* A repeat-loss lane is "CARRIER:postal-glob"; CARRIER may be "*". */
static bool on_repeat_lane(const struct rules_cfg *cfg, const struct package *p)
{
	const char *carrier = effective_carrier(p);
	const char *postal = has_ctx(p) ? p->order.address.postal_code : "";

	if (!*postal)
		return false;
	for (unsigned i = 0; i < cfg->n_repeat_loss_lanes; i++) {
		const char *lane = cfg->repeat_loss_lanes[i];
		const char *colon = strchr(lane, ':');
		char c[PKG_ID_MAX];

		if (!colon)
			continue;
		snprintf(c, sizeof(c), "%.*s", (int)(colon - lane), lane);
		if (fnmatch(c, carrier, FNM_CASEFOLD) == 0 && fnmatch(colon + 1, postal, 0) == 0)
			return true;
	}
	return false;
}

bool rules_photo_required(const struct rules_cfg *cfg, struct package *p)
{
	char reason[PKG_DETAIL_MAX];
	const char *sku;

	p->photo_reasons[0] = '\0';
	if (cfg->photo_always)
		append_reason(p->photo_reasons, sizeof(p->photo_reasons), "always");
	sku = fragile_sku(cfg, p);
	if (sku) {
		snprintf(reason, sizeof(reason), "fragile:%s", sku);
		append_reason(p->photo_reasons, sizeof(p->photo_reasons), reason);
	}
	if (cfg->photo_high_value && is_high_value(cfg, p))
		append_reason(p->photo_reasons, sizeof(p->photo_reasons), "high_value");
	if (on_repeat_lane(cfg, p))
		append_reason(p->photo_reasons, sizeof(p->photo_reasons), "repeat_lane");
	if (!has_ctx(p))
		append_reason(p->photo_reasons, sizeof(p->photo_reasons), "order_pending");
	p->photo_required = p->photo_reasons[0] != '\0';
	return p->photo_required;
}

static void rule_signature(const struct rules_cfg *cfg, struct package *p)
{
	const char *name = "signature_threshold";

	if (cfg->signature_threshold_cents <= 0)
		add(p, name, RULE_SKIP, "no threshold set");
	else if (!has_ctx(p))
		add(p, name, RULE_SKIP, "declared value unknown (order context pending)");
	else if (p->order.declared_value_cents < cfg->signature_threshold_cents)
		add(p, name, RULE_PASS, "declared %" PRId64 " < threshold %" PRId64,
		    p->order.declared_value_cents, cfg->signature_threshold_cents);
	else if (p->order.signature)
		add(p, name, RULE_PASS, "declared %" PRId64 " >= %" PRId64 ", service %s has signature",
		    p->order.declared_value_cents, cfg->signature_threshold_cents, p->order.service);
	else
		add(p, name, RULE_BLOCK,
		    "declared %" PRId64 " >= %" PRId64 " but service %s has no signature: relabel",
		    p->order.declared_value_cents, cfg->signature_threshold_cents,
		    p->order.service[0] ? p->order.service : "(unknown)");
}

static void rule_photo(struct package *p)
{
	if (!p->photo_required)
		add(p, "photo_required", RULE_SKIP, "no photo rule applies");
	else if (p->has_photo)
		add(p, "photo_required", RULE_PASS, "photo taken (%s)", p->photo_reasons);
	else
		add(p, "photo_required", RULE_BLOCK, "photo required (%s) but none taken",
		    p->photo_reasons);
}

static void rule_weight(const struct rules_cfg *cfg, struct package *p)
{
	int64_t declared, diff, tol;

	if (!has_ctx(p) || p->order.declared_weight_g <= 0) {
		add(p, "weight_tolerance", RULE_SKIP, "no declared weight");
		return;
	}
	declared = p->order.declared_weight_g;
	/* 64-bit: declared and measured are int32 each, their difference is not */
	diff = (int64_t)p->measured_g - declared;
	tol = declared * (int64_t)cfg->weight_tolerance_pct / 100;
	if (tol < (int64_t)cfg->weight_tolerance_min_g)
		tol = cfg->weight_tolerance_min_g;
	if (llabs(diff) <= tol)
		add(p, "weight_tolerance", RULE_PASS,
		    "measured %" PRId32 " g vs declared %" PRId64 " g (tolerance %" PRId64 " g)",
		    p->measured_g, declared, tol);
	else
		add(p, "weight_tolerance", cfg->weight_policy == POLICY_BLOCK ? RULE_BLOCK : RULE_WARN,
		    "measured %" PRId32 " g vs declared %" PRId64 " g: off by %+" PRId64
		    " g (tolerance %" PRId64 " g)",
		    p->measured_g, declared, diff, tol);
}

/* The station's own checks (src/address.c) on the order's address, against the carrier and
 * service and the 2D label; the upstream result is carried alongside in the record. The
 * label-vs-order codes are judged by label_order_match, not here. */
static bool is_label_code(const char *code)
{
	return strcmp(code, ADDR_LABEL_POSTAL) == 0 || strcmp(code, ADDR_LABEL_COUNTRY) == 0;
}

static void check_address(const struct rules_cfg *cfg, struct package *p)
{
	struct addr_label_info li = { 0 };
	struct addr_opts opts = { .charset = cfg->label_charset };
	struct addr_result *res;

	p->addr = (struct pkg_addr_checks){ 0 };
	if (!has_ctx(p))
		return;
	res = calloc(1, sizeof(*res));
	if (!res)
		return;
	snprintf(li.postal_code, sizeof(li.postal_code), "%s", p->label.postal_code);
	snprintf(li.country, sizeof(li.country), "%s", p->label.country);
	if (address_check_order(&p->order, p->label.two_d ? &li : NULL, &opts, res) == 0) {
		p->addr.done = true;
		p->addr.pass = res->pass;
		for (unsigned i = 0; i < res->n_failed && p->addr.n_failed < PKG_CHECKS_MAX; i++)
			snprintf(p->addr.failed[p->addr.n_failed++], PKG_ID_MAX, "%s",
				 res->failed[i]);
	}
	free(res);
}

/* An address fails when the station's own checks fail or when central's upstream validation
 * failed; either way the leads' address_policy decides warn or block. */
static void rule_address(const struct rules_cfg *cfg, struct package *p)
{
	char station[PKG_DETAIL_MAX] = "", upstream[PKG_DETAIL_MAX] = "";
	bool up_failed;

	if (!p->addr.done) {
		add(p, "address", RULE_SKIP, "no address to check (order context pending)");
		return;
	}
	for (unsigned i = 0; i < p->addr.n_failed; i++)
		if (!is_label_code(p->addr.failed[i]))
			append_reason(station, sizeof(station), p->addr.failed[i]);
	up_failed = p->order.has_upstream_av && !p->order.upstream_av_pass;
	for (unsigned i = 0; up_failed && i < p->order.n_upstream_av_failed; i++)
		append_reason(upstream, sizeof(upstream), p->order.upstream_av_failed[i]);
	if (!station[0] && !up_failed) {
		add(p, "address", RULE_PASS, "station checks passed%s",
		    p->order.has_upstream_av ? "; upstream validation passed" : "");
		return;
	}
	add(p, "address", cfg->address_policy == POLICY_BLOCK ? RULE_BLOCK : RULE_WARN, "%s%s%s%s%s",
	    station[0] ? "station checks failed: " : "", station,
	    station[0] && up_failed ? "; " : "", up_failed ? "upstream validation failed: " : "",
	    up_failed ? (upstream[0] ? upstream : "(no checks named)") : "");
}

static void rule_label_order(struct package *p)
{
	char why[PKG_DETAIL_MAX] = "";

	if (!has_ctx(p)) {
		add(p, "label_order_match", RULE_SKIP, "no order context to compare");
		return;
	}
	if (p->order.tracking[0] && p->label.tracking[0] &&
	    strcmp(p->order.tracking, p->label.tracking) != 0)
		textf(why, sizeof(why), "label %s but order %s ships as %s", p->label.tracking,
			 p->order.order_id, p->order.tracking);
	for (unsigned i = 0; !why[0] && i < p->addr.n_failed; i++)
		if (is_label_code(p->addr.failed[i]))
			textf(why, sizeof(why), "2D label ships to %s %s, order to %s %s",
				 p->label.country, p->label.postal_code, p->order.address.country,
				 p->order.address.postal_code);
	if (why[0])
		add(p, "label_order_match", RULE_BLOCK, "%s", why);
	else if (!p->label.tracking[0] || (!p->order.tracking[0] && !p->label.two_d))
		add(p, "label_order_match", RULE_SKIP, "nothing to compare");
	else
		add(p, "label_order_match", RULE_PASS, "label %s belongs to order %s",
		    p->label.tracking, p->order.order_id);
}

/* Dimensional and billable weight by the carrier's rule in force today (firmware/
 * dimweight.conf), else the station's flat divisor. Needs the carrier and service, which the
 * order context may bring after the weighing: so it is computed here, at judging time. */
static void compute_dim_weight(const struct rules_cfg *cfg, struct package *p)
{
	const char *carrier = effective_carrier(p);
	const char *service = has_ctx(p) ? p->order.service : "";
	struct dimweight_result res;
	const struct pkg_box *b = &p->box;

	p->dim_rule[0] = '\0';
	p->dim_weight_g = 0;
	p->billable_g = p->has_weight && p->gross_g > 0 ? (uint32_t)p->gross_g : 0;
	if (!b->length_mm || !p->has_weight)
		return;
	if (cfg->dimweight && carrier[0] &&
	    dimweight_compute(cfg->dimweight, carrier, service, clock_wall_ms(), b->length_mm,
			      b->width_mm, b->height_mm, p->gross_g, &res) == 0) {
		p->dim_weight_g = res.dim_weight_g;
		p->billable_g = res.billable_g;
		textf(p->dim_rule, sizeof(p->dim_rule), "%s@%s", res.rule_id, res.effective);
		return;
	}
	if (cfg->dim_divisor) {
		p->dim_weight_g = rules_dim_weight_g(b->length_mm, b->width_mm, b->height_mm,
						     cfg->dim_divisor);
		if (p->dim_weight_g > p->billable_g)
			p->billable_g = p->dim_weight_g;
		snprintf(p->dim_rule, sizeof(p->dim_rule), "divisor:%u", cfg->dim_divisor);
	}
}

/* Declared vs measured parcel: would the carrier's billing weight be higher than what the
 * shipper declared (a shipping charge correction on the invoice)? */
static void rule_dims(const struct rules_cfg *cfg, struct package *p)
{
	struct dimweight_parcel declared, measured;
	struct dimweight_compare *cmp;
	const char *carrier = effective_carrier(p);

	p->charge_correction = false;
	if (!has_ctx(p) || !p->order.declared_length_mm || !p->box.length_mm || !cfg->dimweight ||
	    !carrier[0]) {
		add(p, "dim_mismatch", RULE_SKIP, "no declared dimensions or no carrier rule");
		return;
	}
	declared = (struct dimweight_parcel){ p->order.declared_length_mm,
					      p->order.declared_width_mm,
					      p->order.declared_height_mm,
					      p->order.declared_weight_g };
	measured = (struct dimweight_parcel){ p->box.length_mm, p->box.width_mm, p->box.height_mm,
					      p->gross_g };
	cmp = calloc(1, sizeof(*cmp));
	if (!cmp)
		return;
	if (dimweight_compare(cfg->dimweight, carrier, p->order.service, clock_wall_ms(),
			      &declared, &measured, cmp) < 0) {
		add(p, "dim_mismatch", RULE_SKIP, "no dimensional-weight rule for %s %s", carrier,
		    p->order.service);
	} else if (cmp->correction_predicted) {
		p->charge_correction = true;
		add(p, "dim_mismatch", RULE_WARN,
		    "billable %" PRIu32 " g measured vs %" PRIu32 " g declared (+%" PRId64
		    " increments): charge correction likely",
		    cmp->measured.billable_g, cmp->declared.billable_g, cmp->increments_diff);
	} else {
		add(p, "dim_mismatch", RULE_PASS,
		    "billable %" PRIu32 " g measured vs %" PRIu32 " g declared",
		    cmp->measured.billable_g, cmp->declared.billable_g);
	}
	free(cmp);
}

static void rule_duplicate(struct package *p, bool sealed_before)
{
	if (!p->label.tracking[0])
		add(p, "duplicate_tracking", RULE_SKIP, "no tracking number");
	else if (sealed_before)
		add(p, "duplicate_tracking", RULE_BLOCK, "tracking %s was already sealed",
		    p->label.tracking);
	else
		add(p, "duplicate_tracking", RULE_PASS, "first seal of %s", p->label.tracking);
}

unsigned rules_evaluate(const struct rules_cfg *cfg, struct package *p,
			bool tracking_sealed_before)
{
	unsigned blocks = 0;

	p->n_rules = 0;
	compute_dim_weight(cfg, p);
	check_address(cfg, p);
	rule_signature(cfg, p);
	rule_photo(p);
	rule_weight(cfg, p);
	rule_dims(cfg, p);
	rule_address(cfg, p);
	rule_label_order(p);
	rule_duplicate(p, tracking_sealed_before);

	p->flag_high_value = is_high_value(cfg, p);
	p->flag_first_time_buyer = has_ctx(p) && p->order.first_time_buyer;
	p->flag_vip = has_ctx(p) && p->order.vip;
	p->flag_repeat_lane = on_repeat_lane(cfg, p);

	for (unsigned i = 0; i < p->n_rules; i++)
		if (p->rules[i].result == RULE_BLOCK)
			blocks++;
	return blocks;
}

void rules_blocking_names(const struct package *p, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < p->n_rules; i++)
		if (p->rules[i].result == RULE_BLOCK)
			append_reason(buf, len, p->rules[i].rule);
}

uint32_t rules_dim_weight_g(uint32_t l_mm, uint32_t w_mm, uint32_t h_mm, uint32_t divisor)
{
	uint64_t vol = (uint64_t)l_mm * w_mm * h_mm, g;

	if (!divisor)
		return 0;
	g = (vol + divisor - 1) / divisor;
	return g > UINT32_MAX ? UINT32_MAX : (uint32_t)g;
}
