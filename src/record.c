/* SPDX-License-Identifier: MIT */
/*
 * src/record.c - the evidence record, schema "sealbench.evidence/1".
 *
 * The contract is firmware/schema/evidence.schema.json; tests/unit/test_record.c runs every
 * record built here through it. Three rules shape this file:
 *
 *  - The bytes returned are final: they are stored, hashed into the chain and published as
 *    they are. So every record must be valid JSON *and* valid against the schema. Inputs the
 *    record cannot carry (a malformed hash, an unterminated field, a blocked seal without an
 *    override, ...) are refused with -EINVAL instead of producing a record central rejects.
 *  - Free text from scanners, central and config (order IDs, names, rule details) is carried
 *    as given, except bytes that are not UTF-8: JSON text must be UTF-8, so each such byte
 *    becomes U+FFFD. Control characters, quotes and backslashes are escaped by cJSON.
 *  - Integers are printed from the C value (cJSON raw numbers). cJSON keeps numbers as
 *    doubles and prints large ones as "1e+15"; money and sequence numbers must stay exact.
 *
 * "" means absent (src/package.h): empty optional strings are left out of the record.
 *
 * Signing (record_sign/record_verify, firmware/schema/CANONICAL.md) works on bytes, never on
 * a re-serialised tree: the signed bytes are the record as built here; the signature goes in
 * as the last member, a fixed-form suffix any language can strip again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hal/clock.h"
#include "src/record.h"

/* Digits of the sequence number in a record ID (RECORD_SEQ_MAX is the largest). */
#define SEQ_DIGITS 10

/* Site and station IDs: topic segments and the prefix of record IDs (config.c checks them). */
#define SHORT_ID_MAX 32

/* Longest text taken from the station description (models, versions), NUL included. */
#define STATION_TEXT_MAX PKG_DETAIL_MAX

/* Longest text field of a package, NUL included: PKG_DETAIL_MAX is the widest array. */
#define TEXT_IN_MAX PKG_DETAIL_MAX

/* U+FFFD REPLACEMENT CHARACTER in UTF-8, and its length. */
#define UTF8_REPLACEMENT     "\xef\xbf\xbd"
#define UTF8_REPLACEMENT_LEN (sizeof(UTF8_REPLACEMENT) - 1)

/* Worst case after sanitising: every byte invalid, each replaced by U+FFFD. */
#define TEXT_OUT_MAX (UTF8_REPLACEMENT_LEN * (TEXT_IN_MAX - 1) + 1)

/* "-9223372036854775808" and NUL, rounded up. */
#define INT_TEXT_MAX 24

/* Largest integer every JSON consumer reads exactly (IEEE-754 double, 2^53 - 1). */
#define JSON_SAFE_INT_MAX 9007199254740991LL

/* SHA-256 as lowercase hex, without the NUL. */
#define SHA256_HEX_LEN (PKG_SHA256_HEX - 1)

/* Builder state: the first error sticks, later helpers do nothing (like ferror()). */
struct builder {
	int err;
	char text[TEXT_OUT_MAX];
};

static void fail(struct builder *b, int err)
{
	if (!b->err)
		b->err = err;
}

/*
 * Add @p item under @p key. Every key is a string literal, so it is referenced, not copied
 * (cJSON_AddItemToObjectCS): a record has ~90 members, and one malloc + strlen + free less
 * per member is a sixth of record_build() (make bench). The printed bytes are the same.
 * @return @p item, or NULL (b->err set, @p item freed) when it or the add failed.
 */
static cJSON *attach(struct builder *b, cJSON *obj, const char *key, cJSON *item)
{
	if (!item || !cJSON_AddItemToObjectCS(obj, key, item)) {
		cJSON_Delete(item);
		fail(b, -ENOMEM);
		return NULL;
	}
	return item;
}

/* Length of the well-formed UTF-8 sequence at @s (@n bytes left), 0 when ill-formed
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		len = 2;
	else if (c < 0xf0)
		len = 3;
	else if (c < 0xf5)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

/*
 * The text of a field of at most @cap bytes (NUL included), as valid UTF-8. Returns @s itself
 * when it is already valid, else a copy in b->text; NULL (and b->err set) when @s has no NUL
 * within @cap, which only a caller bug produces.
 */
static const char *clean_text(struct builder *b, const char *s, size_t cap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strnlen(s, cap), i = 0, o = 0, n;
	bool valid = true;

	if (len == cap || cap > TEXT_IN_MAX) {
		fail(b, -EINVAL);
		return NULL;
	}
	while (i < len && valid) {
		n = utf8_seq_len(u + i, len - i);
		valid = n != 0;
		i += n;
	}
	if (valid)
		return s;
	for (i = 0; i < len; i += n) {
		n = utf8_seq_len(u + i, len - i);
		if (n) {
			memcpy(b->text + o, s + i, n);
			o += n;
		} else {
			memcpy(b->text + o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
			o += UTF8_REPLACEMENT_LEN;
			n = 1;
		}
	}
	b->text[o] = '\0';
	return b->text;
}

/* Add "key": text. @cap is the size of the array @s lives in. */
static void add_text(struct builder *b, cJSON *obj, const char *key, const char *s, size_t cap)
{
	const char *t;

	if (b->err)
		return;
	t = clean_text(b, s, cap);
	if (t)
		attach(b, obj, key, cJSON_CreateString(t));
}

/* Add "key": text unless the text is "" (absent). */
static void add_text_opt(struct builder *b, cJSON *obj, const char *key, const char *s, size_t cap)
{
	if (s && s[0])
		add_text(b, obj, key, s, cap);
}

/* Append text to an array. */
static void push_text(struct builder *b, cJSON *arr, const char *s, size_t cap)
{
	const char *t;

	if (b->err)
		return;
	t = clean_text(b, s, cap);
	if (t && !cJSON_AddItemToArray(arr, cJSON_CreateString(t)))
		fail(b, -ENOMEM);
}

static void add_i64(struct builder *b, cJSON *obj, const char *key, int64_t v)
{
	char num[INT_TEXT_MAX];

	if (b->err)
		return;
	snprintf(num, sizeof(num), "%" PRId64, v);
	attach(b, obj, key, cJSON_CreateRaw(num));
}

static void add_u64(struct builder *b, cJSON *obj, const char *key, uint64_t v)
{
	char num[INT_TEXT_MAX];

	if (b->err)
		return;
	snprintf(num, sizeof(num), "%" PRIu64, v);
	attach(b, obj, key, cJSON_CreateRaw(num));
}

static void add_bool(struct builder *b, cJSON *obj, const char *key, bool v)
{
	if (!b->err)
		attach(b, obj, key, cJSON_CreateBool(v));
}

static void add_const(struct builder *b, cJSON *obj, const char *key, const char *s)
{
	if (!b->err)
		attach(b, obj, key, cJSON_CreateString(s));
}

static void add_null(struct builder *b, cJSON *obj, const char *key)
{
	if (!b->err)
		attach(b, obj, key, cJSON_CreateNull());
}

static cJSON *add_object(struct builder *b, cJSON *obj, const char *key)
{
	if (b->err)
		return NULL;
	return attach(b, obj, key, cJSON_CreateObject());
}

static cJSON *add_array(struct builder *b, cJSON *obj, const char *key)
{
	if (b->err)
		return NULL;
	return attach(b, obj, key, cJSON_CreateArray());
}

/* Append a new object to an array. */
static cJSON *push_object(struct builder *b, cJSON *arr)
{
	cJSON *o;

	if (b->err)
		return NULL;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		fail(b, -ENOMEM);
		return NULL;
	}
	return o;
}

/* Add "key": RFC 3339 UTC ms time. Times that do not fit the format (after 9999) are -EINVAL. */
static void add_time(struct builder *b, cJSON *obj, const char *key, uint64_t wall_ms)
{
	char ts[CLOCK_RFC3339_LEN];
	int r;

	if (b->err)
		return;
	r = clock_format_rfc3339(wall_ms, ts, sizeof(ts));
	if (r < 0 || strlen(ts) != CLOCK_RFC3339_LEN - 1) {
		fail(b, -EINVAL);
		return;
	}
	attach(b, obj, key, cJSON_CreateString(ts));
}

static void add_time_opt(struct builder *b, cJSON *obj, const char *key, uint64_t wall_ms)
{
	if (wall_ms)
		add_time(b, obj, key, wall_ms);
}

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < SHA256_HEX_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[SHA256_HEX_LEN] == '\0';
}

/* Site and station IDs: 1..32 of [A-Za-z0-9._-] (they are MQTT topic segments). */
static bool is_short_id(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i == SHORT_ID_MAX)
			return false;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	}
	return i > 0;
}

/* A record ID as record_format_id() makes them, of at most @cap bytes. */
static bool is_record_id(const char *s, size_t cap)
{
	char station[SHORT_ID_MAX + 1];
	size_t len = strnlen(s, cap), i;

	if (len == cap || len < SEQ_DIGITS + 2 || len > SHORT_ID_MAX + 1 + SEQ_DIGITS)
		return false;
	for (i = len - SEQ_DIGITS; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	if (s[len - SEQ_DIGITS - 1] != '-')
		return false;
	memcpy(station, s, len - SEQ_DIGITS - 1);
	station[len - SEQ_DIGITS - 1] = '\0';
	return is_short_id(station);
}

/* A borrowed string from struct record_station: NULL or "" when @required is false. */
static bool station_text_ok(const char *s, bool required)
{
	if (!s || !s[0])
		return !required;
	return strnlen(s, STATION_TEXT_MAX) < STATION_TEXT_MAX;
}

static bool is_seal(const struct package *p)
{
	return p->voids[0] == '\0';
}

static bool has_order(const struct package *p)
{
	return p->order_src != ORDER_SRC_NONE;
}

/* What record_build() refuses up front: values the schema would reject. Strings are checked
 * for termination where they are added. */
static int check_input(const struct record_station *st, const struct package *p, uint64_t seq,
		       const char *prev_hash)
{
	unsigned i;

	if (!is_short_id(st->site) || !is_short_id(st->station))
		return -EINVAL;
	if (!station_text_ok(st->firmware_version, true) ||
	    !station_text_ok(st->scale_model, false) ||
	    !station_text_ok(st->scanner_model, false) ||
	    !station_text_ok(st->camera_model, false) || !station_text_ok(st->badge_model, false) ||
	    !station_text_ok(st->rules_version, false))
		return -EINVAL;
	if (seq == 0)
		return -EINVAL;
	if (seq > RECORD_SEQ_MAX)
		return -ERANGE;
	if (!is_hex64(prev_hash))
		return -EINVAL;
	if (!p->packer_id[0] || !p->t.sealed_ms)
		return -EINVAL;
	if (!is_seal(p) && !is_record_id(p->voids, sizeof(p->voids)))
		return -EINVAL;
	if ((unsigned)p->order_src >= _ORDER_SRC_MAX)
		return -EINVAL;
	if (has_order(p)) {
		if (p->order.declared_value_cents < 0 ||
		    p->order.declared_value_cents > JSON_SAFE_INT_MAX ||
		    p->order.declared_weight_g < 0 || p->order.n_skus > PKG_SKUS_MAX ||
		    p->order.n_upstream_av_failed > PKG_CHECKS_MAX)
			return -EINVAL;
	}
	if (p->n_rules > PKG_RULES_MAX)
		return -EINVAL;
	for (i = 0; i < p->n_rules; i++) {
		if ((unsigned)p->rules[i].result >= _RULE_RESULT_MAX || !p->rules[i].rule[0])
			return -EINVAL;
		/* a blocked package is sealed only over a lead's override (DESIGN "rules") */
		if (is_seal(p) && p->rules[i].result == RULE_BLOCK && !p->override.present)
			return -EINVAL;
	}
	if (p->has_photo) {
		if (strnlen(p->photo_sha256, sizeof(p->photo_sha256)) == sizeof(p->photo_sha256) ||
		    !is_hex64(p->photo_sha256) || !p->photo_bytes || !p->photo_width ||
		    !p->photo_height)
			return -EINVAL;
	}
	if (p->override.present && (!p->override.lead_id[0] || !p->override.at_ms))
		return -EINVAL;
	return 0;
}

static void add_order(struct builder *b, cJSON *root, const struct package *p)
{
	const struct order_ctx *o = &p->order;
	const struct pkg_address *a = &o->address;
	cJSON *order, *skus, *sku, *addr;
	unsigned i;

	order = add_object(b, root, "order");
	/* central's (or the cache's) order ID is authoritative; the scanned slip is the fallback */
	if (has_order(p) && o->order_id[0])
		add_text(b, order, "order_id", o->order_id, sizeof(o->order_id));
	else
		add_text_opt(b, order, "order_id", p->order_id, sizeof(p->order_id));
	add_const(b, order, "source", order_source_to_string(p->order_src));
	if (!has_order(p))
		return;
	add_i64(b, order, "declared_value_cents", o->declared_value_cents);
	add_text_opt(b, order, "currency", o->currency, sizeof(o->currency));
	if (o->declared_weight_g > 0)
		add_i64(b, order, "declared_weight_g", o->declared_weight_g);
	skus = add_array(b, order, "skus");
	for (i = 0; i < o->n_skus; i++) {
		sku = push_object(b, skus);
		add_text(b, sku, "sku", o->skus[i].sku, sizeof(o->skus[i].sku));
		add_u64(b, sku, "qty", o->skus[i].qty);
	}
	addr = add_object(b, order, "address");
	add_text_opt(b, addr, "name", a->name, sizeof(a->name));
	add_text_opt(b, addr, "street", a->street, sizeof(a->street));
	add_text_opt(b, addr, "city", a->city, sizeof(a->city));
	add_text_opt(b, addr, "state", a->state, sizeof(a->state));
	add_text_opt(b, addr, "postal_code", a->postal_code, sizeof(a->postal_code));
	add_text_opt(b, addr, "country", a->country, sizeof(a->country));
	add_bool(b, order, "first_time_buyer", o->first_time_buyer);
	add_bool(b, order, "vip", o->vip);
}

static bool has_shipment(const struct package *p)
{
	return p->label.tracking[0] || p->label.carrier[0] ||
	       (has_order(p) &&
		(p->order.tracking[0] || p->order.carrier[0] || p->order.service[0]));
}

static void add_shipment(struct builder *b, cJSON *root, const struct package *p)
{
	const struct order_ctx *o = &p->order;
	cJSON *ship;

	ship = add_object(b, root, "shipment");
	/* the label on the box is what the carrier scans; the order's tracking is the fallback */
	if (p->label.tracking[0])
		add_text(b, ship, "tracking", p->label.tracking, sizeof(p->label.tracking));
	else if (has_order(p))
		add_text_opt(b, ship, "tracking", o->tracking, sizeof(o->tracking));
	/* the order names the service bought; the label pattern only guesses the carrier */
	if (has_order(p) && o->carrier[0])
		add_text(b, ship, "carrier", o->carrier, sizeof(o->carrier));
	else
		add_text_opt(b, ship, "carrier", p->label.carrier, sizeof(p->label.carrier));
	if (p->label.kind[0]) {
		const struct pkg_label *l = &p->label;
		cJSON *lb = add_object(b, ship, "label");

		add_text(b, lb, "kind", l->kind, sizeof(l->kind));
		add_text(b, lb, "check", l->check, sizeof(l->check));
		add_text_opt(b, lb, "service_code", l->service_code, sizeof(l->service_code));
		if (l->two_d) {
			cJSON *td = add_object(b, lb, "two_d");

			add_text_opt(b, td, "postal_code", l->postal_code, sizeof(l->postal_code));
			add_text_opt(b, td, "country", l->country, sizeof(l->country));
			add_text_opt(b, td, "service_class", l->service_class,
				     sizeof(l->service_class));
		}
	}
	if (!has_order(p))
		return; /* service and signature are unknown until the order context arrives */
	add_text_opt(b, ship, "service", o->service, sizeof(o->service));
	add_bool(b, ship, "signature", o->signature);
}

static void add_check_list(struct builder *b, cJSON *obj, const char *key,
			   const char (*codes)[PKG_ID_MAX], unsigned n)
{
	cJSON *arr = add_array(b, obj, key);
	unsigned i;

	for (i = 0; i < n; i++)
		push_text(b, arr, codes[i], PKG_ID_MAX);
}

/*
 * "result"/"failed" are the station's verdict: its own checks (src/address.c) when it could run
 * them, else the upstream validation carried with the order, else "unknown"; "source" says
 * which. The upstream result is always carried alongside, as given.
 */
static void add_address_validation(struct builder *b, cJSON *root, const struct package *p)
{
	const struct order_ctx *o = &p->order;
	bool upstream = has_order(p) && o->has_upstream_av;
	cJSON *av, *up;

	av = add_object(b, root, "address_validation");
	if (p->addr.done) {
		add_const(b, av, "result", p->addr.pass ? "pass" : "fail");
		add_check_list(b, av, "failed", p->addr.failed, p->addr.n_failed);
		add_const(b, av, "source", "station");
	} else if (upstream) {
		add_const(b, av, "result", o->upstream_av_pass ? "pass" : "fail");
		add_check_list(b, av, "failed", o->upstream_av_failed, o->n_upstream_av_failed);
		add_const(b, av, "source", "upstream");
	} else {
		add_const(b, av, "result", "unknown");
		add_array(b, av, "failed");
		add_const(b, av, "source", "none");
	}
	if (!upstream)
		return;
	up = add_object(b, av, "upstream");
	add_const(b, up, "result", o->upstream_av_pass ? "pass" : "fail");
	add_check_list(b, up, "failed", o->upstream_av_failed, o->n_upstream_av_failed);
}

static bool has_box(const struct package *p)
{
	const struct pkg_box *x = &p->box;

	/* a catalog scan gives a code; a dimensioner gives dimensions only */
	return x->code[0] || x->length_mm || x->width_mm || x->height_mm;
}

static void add_packaging(struct builder *b, cJSON *root, const struct package *p)
{
	const struct pkg_box *x = &p->box;
	cJSON *pk;

	pk = add_object(b, root, "packaging");
	add_text_opt(b, pk, "code", x->code, sizeof(x->code));
	add_text_opt(b, pk, "type", x->type, sizeof(x->type));
	add_u64(b, pk, "length_mm", x->length_mm);
	add_u64(b, pk, "width_mm", x->width_mm);
	add_u64(b, pk, "height_mm", x->height_mm);
	add_u64(b, pk, "tare_g", x->tare_g);
}

static int32_t declared_g(const struct package *p)
{
	return has_order(p) ? p->order.declared_weight_g : 0;
}

static void add_weight(struct builder *b, cJSON *root, const struct package *p)
{
	cJSON *w;

	if (!is_seal(p) && !p->has_weight && !declared_g(p) && !p->dim_weight_g && !p->billable_g)
		return;
	w = add_object(b, root, "weight");
	if (declared_g(p) > 0)
		add_i64(b, w, "declared_g", declared_g(p));
	if (p->has_weight) {
		add_i64(b, w, "gross_g", p->gross_g);
		add_i64(b, w, "measured_g", p->measured_g);
	}
	if (p->dim_weight_g)
		add_u64(b, w, "dim_weight_g", p->dim_weight_g);
	if (p->billable_g)
		add_u64(b, w, "billable_g", p->billable_g);
	add_text_opt(b, w, "dim_rule", p->dim_rule, sizeof(p->dim_rule));
	if (p->charge_correction)
		add_bool(b, w, "charge_correction_predicted", true);
}

static void add_photo(struct builder *b, cJSON *root, const struct package *p)
{
	cJSON *ph;

	if (!p->has_photo) {
		if (is_seal(p))
			add_null(b, root, "photo");
		return;
	}
	ph = add_object(b, root, "photo");
	add_const(b, ph, "sha256", p->photo_sha256);
	add_u64(b, ph, "bytes", p->photo_bytes);
	add_u64(b, ph, "width", p->photo_width);
	add_u64(b, ph, "height", p->photo_height);
	add_const(b, ph, "content_type", "image/jpeg");
	add_bool(b, ph, "required", p->photo_required);
	add_text_opt(b, ph, "reasons", p->photo_reasons, sizeof(p->photo_reasons));
}

static void add_rules(struct builder *b, cJSON *root, const struct record_station *st,
		      const struct package *p)
{
	cJSON *rules, *results, *r;
	unsigned i;

	if (!is_seal(p) && !p->n_rules)
		return;
	rules = add_object(b, root, "rules");
	add_text_opt(b, rules, "version", st->rules_version, STATION_TEXT_MAX);
	results = add_array(b, rules, "results");
	for (i = 0; i < p->n_rules; i++) {
		const struct rule_eval *e = &p->rules[i];

		r = push_object(b, results);
		add_text(b, r, "rule", e->rule, sizeof(e->rule));
		add_const(b, r, "result", rule_result_to_string(e->result));
		add_text_opt(b, r, "detail", e->detail, sizeof(e->detail));
	}
}

static void add_override(struct builder *b, cJSON *root, const struct package *p)
{
	const struct pkg_override *ov = &p->override;
	cJSON *o;

	if (!ov->present) {
		if (is_seal(p))
			add_null(b, root, "override");
		return;
	}
	o = add_object(b, root, "override");
	add_text(b, o, "lead_id", ov->lead_id, sizeof(ov->lead_id));
	add_text(b, o, "reason", ov->reason, sizeof(ov->reason));
	add_text(b, o, "rules", ov->rules, sizeof(ov->rules));
	add_time(b, o, "at", ov->at_ms);
}

static void add_flags(struct builder *b, cJSON *root, const struct package *p)
{
	cJSON *f = add_object(b, root, "flags");

	add_bool(b, f, "high_value", p->flag_high_value);
	add_bool(b, f, "first_time_buyer", p->flag_first_time_buyer);
	add_bool(b, f, "vip", p->flag_vip);
	add_bool(b, f, "repeat_lane", p->flag_repeat_lane);
}

static void add_times(struct builder *b, cJSON *root, const struct package *p)
{
	const struct pkg_times *t = &p->t;
	cJSON *o = add_object(b, root, "times");

	add_time_opt(b, o, "started", t->started_ms);
	add_time_opt(b, o, "order_scanned", t->order_ms);
	add_time_opt(b, o, "label_scanned", t->label_ms);
	add_time_opt(b, o, "packaging_scanned", t->box_ms);
	add_time_opt(b, o, "weighed", t->weighed_ms);
	add_time_opt(b, o, "photo", t->photo_ms);
	add_time(b, o, "sealed", t->sealed_ms);
}

static void add_devices(struct builder *b, cJSON *root, const struct record_station *st)
{
	cJSON *d = add_object(b, root, "devices");

	add_text_opt(b, d, "scale", st->scale_model, STATION_TEXT_MAX);
	add_text_opt(b, d, "scanner", st->scanner_model, STATION_TEXT_MAX);
	add_text_opt(b, d, "camera", st->camera_model, STATION_TEXT_MAX);
	add_text_opt(b, d, "badge", st->badge_model, STATION_TEXT_MAX);
}

int record_format_id(const char *station, uint64_t seq, char *buf, size_t len)
{
	char id[RECORD_ID_MAX];
	int n;

	if (!station || !buf)
		return -EINVAL;
	if (seq > RECORD_SEQ_MAX)
		return -ERANGE;
	n = snprintf(id, sizeof(id), "%s-%0*" PRIu64, station, SEQ_DIGITS, seq);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(id) || (size_t)n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, id, (size_t)n + 1);
	return 0;
}

int record_build(const struct record_station *st, const struct package *p, uint64_t seq,
		 const char *prev_hash, char **ret_json, size_t *ret_len)
{
	struct builder b = {0};
	char id[RECORD_ID_MAX];
	cJSON *root, *packer;
	char *printed, *json;
	size_t len;
	int r;

	if (!st || !p || !prev_hash || !ret_json || !ret_len || !st->site || !st->station)
		return -EINVAL;
	r = check_input(st, p, seq, prev_hash);
	if (r < 0)
		return r;
	r = record_format_id(st->station, seq, id, sizeof(id));
	if (r < 0)
		return r;

	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	add_const(&b, root, "schema", RECORD_SCHEMA);
	add_const(&b, root, "id", id);
	add_const(&b, root, "kind", is_seal(p) ? "seal" : "void");
	add_const(&b, root, "site", st->site);
	add_const(&b, root, "station", st->station);
	add_u64(&b, root, "seq", seq);
	add_const(&b, root, "prev", prev_hash);
	if (!is_seal(p))
		add_const(&b, root, "voids", p->voids);
	packer = add_object(&b, root, "packer");
	add_text(&b, packer, "id", p->packer_id, sizeof(p->packer_id));
	if (is_seal(p) || p->order_id[0] || has_order(p))
		add_order(&b, root, p);
	if (is_seal(p) || has_shipment(p))
		add_shipment(&b, root, p);
	if (is_seal(p))
		add_address_validation(&b, root, p);
	if (has_box(p))
		add_packaging(&b, root, p);
	add_weight(&b, root, p);
	add_photo(&b, root, p);
	add_rules(&b, root, st, p);
	add_override(&b, root, p);
	if (is_seal(p))
		add_flags(&b, root, p);
	add_times(&b, root, p);
	add_bool(&b, root, "clock_synced", p->clock_synced);
	add_devices(&b, root, st);
	add_text(&b, root, "firmware", st->firmware_version, STATION_TEXT_MAX);
	if (b.err) {
		r = b.err;
		goto err_root;
	}

	printed = cJSON_PrintUnformatted(root);
	if (!printed) {
		r = -ENOMEM;
		goto err_root;
	}
	/* copy into plain malloc memory: the caller frees with free() whatever cJSON's hooks are */
	len = strlen(printed);
	json = malloc(len + 1);
	if (!json) {
		r = -ENOMEM;
		goto err_printed;
	}
	memcpy(json, printed, len + 1);
	cJSON_free(printed);
	cJSON_Delete(root);
	*ret_json = json;
	*ret_len = len;
	return 0;

err_printed:
	cJSON_free(printed);
err_root:
	cJSON_Delete(root);
	return r;
}

/* ---- signatures ------------------------------------------------------------------------ */

/* Length of the published suffix: RECORD_SIG_MEMBER, the signature text, '"' and '}'. */
#define SIG_SUFFIX_LEN (RECORD_SIG_OVERHEAD + 1)

int record_sign(const struct sign_key *key, const char *json, size_t len, char **ret_json,
		size_t *ret_len)
{
	uint8_t sig[SIGN_SIG_BYTES];
	char sig_b64[SIGN_SIG_B64_MAX];
	size_t out_len, o;
	char *out;
	int r;

	if (!key || !json || !ret_json || !ret_len)
		return -EINVAL;
	/* a non-empty object: "{...}" with something between the braces */
	if (len < 3 || json[0] != '{' || json[len - 1] != '}' || json[len - 2] == '{')
		return -EINVAL;
	r = sign_key_sign(key, json, len, sig);
	if (r < 0)
		return r;
	r = sign_b64_encode(sig, sizeof(sig), sig_b64, sizeof(sig_b64));
	if (r < 0)
		return r;
	out_len = len + RECORD_SIG_OVERHEAD;
	out = malloc(out_len + 1);
	if (!out)
		return -ENOMEM;
	o = len - 1;
	memcpy(out, json, o);
	memcpy(out + o, RECORD_SIG_MEMBER, sizeof(RECORD_SIG_MEMBER) - 1);
	o += sizeof(RECORD_SIG_MEMBER) - 1;
	memcpy(out + o, sig_b64, SIGN_SIG_B64_LEN);
	o += SIGN_SIG_B64_LEN;
	out[o++] = '"';
	out[o++] = '}';
	out[o] = '\0';
	*ret_json = out;
	*ret_len = out_len;
	return 0;
}

/* Whether the signed bytes are one JSON object without a top-level "sig" member. */
static int signed_part_ok(const char *signed_json, size_t len)
{
	const char *end = NULL;
	const cJSON *it;
	cJSON *root;
	int r = 0;

	/* out of memory also lands here: then the record is refused now and checked again
	 * when it comes back */
	root = cJSON_ParseWithLengthOpts(signed_json, len, &end, false);
	if (!root)
		return -ENOMSG;
	if (!cJSON_IsObject(root) || end != signed_json + len)
		r = -ENOMSG;
	cJSON_ArrayForEach(it, root)
	{
		if (it->string && strcmp(it->string, "sig") == 0)
			r = -ENOMSG;
	}
	cJSON_Delete(root);
	return r;
}

int record_verify(const char *json, size_t len, const uint8_t pub[SIGN_PUBKEY_BYTES])
{
	char sig_b64[SIGN_SIG_B64_MAX];
	uint8_t sig[SIGN_SIG_BYTES];
	size_t member, signed_len;
	char *signed_json;
	int r;

	if (!json || !pub)
		return -EINVAL;
	/* ...,"sig":"<88 base64>"} : the signed record is at least "{x}" before it */
	if (len < SIG_SUFFIX_LEN + 2 || json[len - 1] != '}' || json[len - 2] != '"')
		return -ENOMSG;
	member = len - SIG_SUFFIX_LEN;
	if (memcmp(json + member, RECORD_SIG_MEMBER, sizeof(RECORD_SIG_MEMBER) - 1) != 0)
		return -ENOMSG;
	memcpy(sig_b64, json + member + sizeof(RECORD_SIG_MEMBER) - 1, SIGN_SIG_B64_LEN);
	sig_b64[SIGN_SIG_B64_LEN] = '\0';
	if (sign_b64_decode(sig_b64, sig, sizeof(sig)) < 0)
		return -ENOMSG;

	/* the signed bytes: everything before the member, and the closing brace */
	signed_len = member + 1;
	signed_json = malloc(signed_len + 1);
	if (!signed_json)
		return -ENOMEM;
	memcpy(signed_json, json, member);
	signed_json[member] = '}';
	signed_json[signed_len] = '\0';
	r = signed_part_ok(signed_json, signed_len);
	if (r == 0)
		r = sign_verify(pub, signed_json, signed_len, sig);
	free(signed_json);
	return r;
}
