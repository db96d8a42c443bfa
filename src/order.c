/* SPDX-License-Identifier: MIT */
#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/order.h"

static int get_str(const cJSON *obj, const char *key, char *dst, size_t size, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v || cJSON_IsNull(v))
		return required ? -EINVAL : 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
		return -EINVAL;
	memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int get_int(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	/* cJSON keeps numbers as double: integers beyond 2^53 cannot be represented exactly */
	if (!cJSON_IsNumber(v) || v->valuedouble < (double)min || v->valuedouble > (double)max ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return -EINVAL;
	*dst = (int64_t)v->valuedouble;
	return 0;
}

static int get_bool(const cJSON *obj, const char *key, bool *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return -EINVAL;
	*dst = cJSON_IsTrue(v);
	return 0;
}

static int parse(const cJSON *root, struct order_ctx *o)
{
	const cJSON *skus, *addr, *flags, *av;
	int64_t x = 0;
	int r;

	r = get_str(root, "order_id", o->order_id, sizeof(o->order_id), true);
	r = r ?: get_str(root, "tracking", o->tracking, sizeof(o->tracking), false);
	r = r ?: get_str(root, "carrier", o->carrier, sizeof(o->carrier), false);
	r = r ?: get_str(root, "service", o->service, sizeof(o->service), false);
	r = r ?: get_bool(root, "signature", &o->signature);
	r = r ?: get_int(root, "declared_value_cents", 0, INT64_C(1) << 52, &o->declared_value_cents);
	r = r ?: get_str(root, "currency", o->currency, sizeof(o->currency), false);
	if (r)
		return r;
	r = get_int(root, "declared_weight_g", 0, INT32_MAX, &x);
	if (r)
		return r;
	o->declared_weight_g = (int32_t)x;

	{
		const cJSON *dims = cJSON_GetObjectItemCaseSensitive(root, "declared_dims_mm");

		if (dims && !cJSON_IsNull(dims)) {
			uint32_t *dst[3] = { &o->declared_length_mm, &o->declared_width_mm,
					     &o->declared_height_mm };
			const cJSON *it;
			unsigned i = 0;

			if (!cJSON_IsArray(dims) || cJSON_GetArraySize(dims) != 3)
				return -EINVAL;
			cJSON_ArrayForEach(it, dims) {
				if (!cJSON_IsNumber(it) || it->valuedouble < 1 ||
				    it->valuedouble > 100000 ||
				    it->valuedouble != (double)(uint32_t)it->valuedouble)
					return -EINVAL;
				*dst[i++] = (uint32_t)it->valuedouble;
			}
		}
	}
	skus = cJSON_GetObjectItemCaseSensitive(root, "skus");
	if (skus && !cJSON_IsNull(skus)) {
		const cJSON *it;

		if (!cJSON_IsArray(skus) || cJSON_GetArraySize(skus) > PKG_SKUS_MAX)
			return -EINVAL;
		cJSON_ArrayForEach(it, skus) {
			struct pkg_sku *s = &o->skus[o->n_skus];
			int64_t qty = 1;

			if (!cJSON_IsObject(it) || get_str(it, "sku", s->sku, sizeof(s->sku), true) ||
			    get_int(it, "qty", 1, 1000000, &qty))
				return -EINVAL;
			s->qty = (unsigned)qty;
			o->n_skus++;
		}
	}
	addr = cJSON_GetObjectItemCaseSensitive(root, "address");
	if (addr && !cJSON_IsNull(addr)) {
		struct pkg_address *a = &o->address;

		if (!cJSON_IsObject(addr))
			return -EINVAL;
		r = get_str(addr, "name", a->name, sizeof(a->name), false);
		r = r ?: get_str(addr, "street", a->street, sizeof(a->street), false);
		r = r ?: get_str(addr, "city", a->city, sizeof(a->city), false);
		r = r ?: get_str(addr, "state", a->state, sizeof(a->state), false);
		r = r ?: get_str(addr, "postal_code", a->postal_code, sizeof(a->postal_code), false);
		r = r ?: get_str(addr, "country", a->country, sizeof(a->country), false);
		if (r)
			return r;
	}
	flags = cJSON_GetObjectItemCaseSensitive(root, "flags");
	if (flags && !cJSON_IsNull(flags)) {
		if (!cJSON_IsObject(flags))
			return -EINVAL;
		r = get_bool(flags, "first_time_buyer", &o->first_time_buyer);
		r = r ?: get_bool(flags, "vip", &o->vip);
		if (r)
			return r;
	}
	av = cJSON_GetObjectItemCaseSensitive(root, "address_validation");
	if (av && !cJSON_IsNull(av)) {
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(av, "result");
		const cJSON *failed = cJSON_GetObjectItemCaseSensitive(av, "failed");
		const cJSON *it;

		if (!cJSON_IsObject(av) || !cJSON_IsString(res) ||
		    (strcmp(res->valuestring, "pass") && strcmp(res->valuestring, "fail")))
			return -EINVAL;
		o->has_upstream_av = true;
		o->upstream_av_pass = strcmp(res->valuestring, "pass") == 0;
		if (failed && !cJSON_IsNull(failed)) {
			if (!cJSON_IsArray(failed) || cJSON_GetArraySize(failed) > PKG_CHECKS_MAX)
				return -EINVAL;
			cJSON_ArrayForEach(it, failed) {
				char *dst = o->upstream_av_failed[o->n_upstream_av_failed];

				if (!cJSON_IsString(it) || strlen(it->valuestring) >= PKG_ID_MAX)
					return -EINVAL;
				memcpy(dst, it->valuestring, strlen(it->valuestring) + 1);
				o->n_upstream_av_failed++;
			}
		}
	}
	return 0;
}

int order_parse_json(const char *json, size_t len, struct order_ctx *ret)
{
	struct order_ctx *o;
	const cJSON *err;
	const char *end = NULL;
	cJSON *root;
	int r;

	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!root)
		return -EINVAL;
	/* cJSON stops after the first value: anything but white space after it is garbage */
	while (end < json + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (!cJSON_IsObject(root) || end != json + len) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (err) {
		r = cJSON_IsString(err) && strcmp(err->valuestring, "not_found") == 0 ? -ENOENT
										       : -EINVAL;
		cJSON_Delete(root);
		return r;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	r = parse(root, o);
	if (r == 0)
		*ret = *o;
	free(o);
	cJSON_Delete(root);
	return r;
}

struct order_cache {
	unsigned cap, n, next; /* ring: next slot to overwrite when full */
	struct order_ctx *e;
};

int order_cache_new(unsigned cap, struct order_cache **ret)
{
	struct order_cache *c = calloc(1, sizeof(*c));

	if (!c || !cap)
		goto err;
	c->e = calloc(cap, sizeof(*c->e));
	if (!c->e)
		goto err;
	c->cap = cap;
	*ret = c;
	return 0;
err:
	free(c);
	return cap ? -ENOMEM : -EINVAL;
}

void order_cache_free(struct order_cache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c);
}

void order_cache_put(struct order_cache *c, const struct order_ctx *o)
{
	for (unsigned i = 0; i < c->n; i++) {
		if (strcmp(c->e[i].order_id, o->order_id) == 0) {
			c->e[i] = *o;
			return;
		}
	}
	if (c->n < c->cap) {
		c->e[c->n++] = *o;
		return;
	}
	c->e[c->next] = *o;
	c->next = (c->next + 1) % c->cap;
}

const struct order_ctx *order_cache_get(const struct order_cache *c, const char *order_id,
					const char *tracking)
{
	for (unsigned i = 0; i < c->n; i++) {
		if (order_id && *order_id) {
			if (strcmp(c->e[i].order_id, order_id) == 0)
				return &c->e[i];
		} else if (tracking && *tracking && strcmp(c->e[i].tracking, tracking) == 0) {
			return &c->e[i];
		}
	}
	return NULL;
}
