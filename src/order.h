/* SPDX-License-Identifier: MIT */
/*
 * src/order.h - order context: parse central's JSON answer, and a bounded local cache.
 *
 * The JSON shape (central's answer, and the demo sink's orders file):
 *   {"order_id","tracking","carrier","service","signature":bool,"declared_value_cents",
 *    "currency","declared_weight_g","declared_dims_mm":[L,W,H],"skus":[{"sku","qty"}],
 *    "address":{"name","street","city",
 *    "state","postal_code","country"},"flags":{"first_time_buyer","vip"},
 *    "address_validation":{"result":"pass"|"fail","failed":[...]}}
 * or {"error":"not_found"}.
 */
#ifndef SEALBENCH_SRC_ORDER_H
#define SEALBENCH_SRC_ORDER_H

#include <stddef.h>

#include "src/package.h"

/** Orders kept in the cache; a station packs a few thousand a day, a lookup is cheap. */
#define ORDER_CACHE_MAX 1024

/**
 * @brief Parse an order context.
 * @return 0 and *ret; -ENOENT for {"error":"not_found"}; -EINVAL malformed (wrong types,
 *         over-long strings, missing order_id). *ret untouched on error.
 */
int order_parse_json(const char *json, size_t len, struct order_ctx *ret);

struct order_cache;

/** @brief A cache of at most @p cap orders (oldest evicted). @return 0 / -ENOMEM. */
int order_cache_new(unsigned cap, struct order_cache **ret);
void order_cache_free(struct order_cache *c);
/** @brief Insert or replace (by order_id). */
void order_cache_put(struct order_cache *c, const struct order_ctx *o);
/** @brief Find by order_id (if non-empty) else by tracking. @return borrowed entry or NULL. */
const struct order_ctx *order_cache_get(const struct order_cache *c, const char *order_id,
					const char *tracking);

#endif
