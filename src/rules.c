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

static void rule_address(const struct rules_cfg *cfg, struct package *p)
{
	char failed[PKG_DETAIL_MAX] = "";

	if (!has_ctx(p) || !p->order.has_upstream_av) {
		add(p, "address", RULE_SKIP, "no address validation result");
		return;
	}
	if (p->order.upstream_av_pass) {
		add(p, "address", RULE_PASS, "upstream validation passed");
		return;
	}
	for (unsigned i = 0; i < p->order.n_upstream_av_failed; i++)
		append_reason(failed, sizeof(failed), p->order.upstream_av_failed[i]);
	add(p, "address", cfg->address_policy == POLICY_BLOCK ? RULE_BLOCK : RULE_WARN,
	    "upstream validation failed: %s", failed[0] ? failed : "(no checks named)");
}

static void rule_label_order(struct package *p)
{
	if (!has_ctx(p) || !p->order.tracking[0] || !p->label.tracking[0])
		add(p, "label_order_match", RULE_SKIP, "nothing to compare");
	else if (strcmp(p->order.tracking, p->label.tracking) == 0)
		add(p, "label_order_match", RULE_PASS, "label %s belongs to order %s",
		    p->label.tracking, p->order.order_id);
	else
		add(p, "label_order_match", RULE_BLOCK, "label %s but order %s ships as %s",
		    p->label.tracking, p->order.order_id, p->order.tracking);
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
	rule_signature(cfg, p);
	rule_photo(p);
	rule_weight(cfg, p);
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
