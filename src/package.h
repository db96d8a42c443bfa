/* SPDX-License-Identifier: MIT */
/*
 * src/package.h - what the station knows about one package and its order, as plain data.
 *
 * Filled by the pipeline (src/pipeline.c) step by step, judged by src/rules.c, turned into the
 * evidence record by src/record.c. Fixed-size fields (named limits, no allocation per
 * package, STYLE 16); strings are NUL-terminated, "" means absent. Weights in grams, lengths in
 * millimetres, money in minor units (cents), times as wall-clock ms (UTC) for the record.
 */
#ifndef SEALBENCH_SRC_PACKAGE_H
#define SEALBENCH_SRC_PACKAGE_H

#include <stdbool.h>
#include <stdint.h>

#define PKG_ID_MAX 64        /* order IDs, tracking numbers, badge IDs, box codes */
#define PKG_NAME_MAX 96      /* address lines */
#define PKG_SKUS_MAX 32      /* SKUs per order */
#define PKG_RULES_MAX 16     /* rules evaluated per package */
#define PKG_DETAIL_MAX 160   /* one rule's detail text */
#define PKG_CHECKS_MAX 24    /* failed address checks carried (src/address.c has 18) */
#define PKG_SHA256_HEX 65    /* 64 hex digits + NUL */

struct pkg_address {
	char name[PKG_NAME_MAX];
	char street[PKG_NAME_MAX];
	char city[PKG_NAME_MAX];
	char state[PKG_ID_MAX];
	char postal_code[PKG_ID_MAX];
	char country[4]; /* ISO 3166-1 alpha-2 */
};

struct pkg_sku {
	char sku[PKG_ID_MAX];
	unsigned qty;
};

/** Order context: from central (MQTT request/response), the local cache, or absent. */
enum order_source {
	ORDER_SRC_NONE = 0, /* no answer yet / offline: record says "pending" */
	ORDER_SRC_CENTRAL,  /* answered by central for this package */
	ORDER_SRC_CACHE,    /* from the local cache */
	_ORDER_SRC_MAX,
};

struct order_ctx {
	char order_id[PKG_ID_MAX];
	char tracking[PKG_ID_MAX];
	char carrier[PKG_ID_MAX];
	char service[PKG_ID_MAX];
	bool signature; /* the service includes signature confirmation */
	int64_t declared_value_cents;
	char currency[4];
	int32_t declared_weight_g; /* 0 = not declared */
	struct pkg_sku skus[PKG_SKUS_MAX];
	unsigned n_skus;
	struct pkg_address address;
	uint32_t declared_length_mm, declared_width_mm, declared_height_mm; /* 0 = not declared */
	bool first_time_buyer;
	bool vip;
	/* upstream address validation, carried as given */
	bool has_upstream_av;
	bool upstream_av_pass;
	char upstream_av_failed[PKG_CHECKS_MAX][PKG_ID_MAX];
	unsigned n_upstream_av_failed;
};

enum rule_result {
	RULE_PASS = 0,
	RULE_WARN,  /* recorded, does not block */
	RULE_BLOCK, /* no seal without relabel/rescan or a lead override */
	RULE_SKIP,  /* not applicable / not enough data */
	_RULE_RESULT_MAX,
};

struct rule_eval {
	char rule[PKG_ID_MAX]; /* "signature_threshold", "photo_required", ... */
	enum rule_result result;
	char detail[PKG_DETAIL_MAX];
};

/** What the label scans gave (src/label.c): the 1D tracking barcode and/or the 2D label. */
struct pkg_label {
	char tracking[PKG_ID_MAX];
	char carrier[PKG_ID_MAX]; /* "UPS", "FedEx", ...; "" unknown */
	char kind[PKG_ID_MAX];    /* label_kind_to_string(), or "site_pattern" */
	char check[16];           /* "ok", "none" (format has no check digit) */
	char service_code[PKG_ID_MAX];
	/* from a 2D label (ISO/IEC 15434 format 01, GS1 420/421); "" = not on the label */
	bool two_d;
	char postal_code[PKG_ID_MAX];
	char country[4];
	char service_class[PKG_ID_MAX];
};

/** The station's own address checks (src/address.c). */
struct pkg_addr_checks {
	bool done;
	bool pass;
	char failed[PKG_CHECKS_MAX][PKG_ID_MAX];
	unsigned n_failed;
};

struct pkg_box {
	char code[PKG_ID_MAX]; /* catalog code, e.g. "BOX-M" */
	char type[PKG_ID_MAX]; /* packaging type name, e.g. "carton" */
	uint32_t length_mm, width_mm, height_mm;
	uint32_t tare_g;
};

/** Wall-clock (UTC ms) of each step; 0 = step did not happen. */
struct pkg_times {
	uint64_t started_ms;  /* first scan of the package */
	uint64_t order_ms;    /* order slip scanned */
	uint64_t label_ms;    /* label scanned */
	uint64_t box_ms;      /* packaging scanned */
	uint64_t weighed_ms;  /* stable weight accepted */
	uint64_t photo_ms;    /* photo taken */
	uint64_t sealed_ms;   /* record committed */
};

struct pkg_override {
	bool present;
	char lead_id[PKG_ID_MAX];
	char reason[PKG_DETAIL_MAX];
	char rules[PKG_DETAIL_MAX]; /* comma-separated rules overridden */
	uint64_t at_ms;
};

struct package {
	char packer_id[PKG_ID_MAX];
	char order_id[PKG_ID_MAX]; /* as scanned from the order slip, "" if none */
	struct pkg_label label;
	enum order_source order_src;
	struct order_ctx order; /* valid when order_src != ORDER_SRC_NONE */
	struct pkg_box box;
	bool has_weight;
	int32_t gross_g;    /* scale reading */
	int32_t measured_g; /* gross - tare */
	uint32_t dim_weight_g;
	uint32_t billable_g;
	char dim_rule[PKG_ID_MAX]; /* "ups-daily@2016-12-26", or "divisor:5000"; "" = none */
	bool charge_correction;    /* declared vs measured predicts a billing adjustment */
	struct pkg_addr_checks addr;
	bool photo_required;
	char photo_reasons[PKG_DETAIL_MAX];
	bool has_photo;
	char photo_sha256[PKG_SHA256_HEX];
	uint32_t photo_bytes;
	unsigned photo_width, photo_height;
	bool flag_high_value, flag_first_time_buyer, flag_vip, flag_repeat_lane;
	struct rule_eval rules[PKG_RULES_MAX];
	unsigned n_rules;
	struct pkg_override override;
	struct pkg_times t;
	bool clock_synced;
	char voids[PKG_ID_MAX]; /* a void record: the id of the record it voids */
};

/** @brief Reset a package to empty. */
void package_reset(struct package *p);

/** @brief "pass" / "warn" / "block" / "skip". */
const char *rule_result_to_string(enum rule_result r);

/** @brief "none" (pending) / "central" / "cache". */
const char *order_source_to_string(enum order_source s);

#endif
