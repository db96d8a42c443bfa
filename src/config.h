/* SPDX-License-Identifier: MIT */
/*
 * src/config.h - the two configuration files, validated against schema tables.
 *
 * Board file (boards/<board>/board.conf): flat `class.key = value`, data only: which backend
 * serves each device class and its resources (STYLE 1).
 *
 * Station config (/etc/sealbench/station.conf): INI sections [station], [mqtt], [outbox],
 * [rules], [scan], plus named sections [carrier NAME] and [box CODE] for the catalogs.
 *
 * Both are parsed with inih and checked against one schema table each (key, type, range,
 * required). An unknown key, a wrong type, a value out of range, a duplicate key or a missing
 * required key is an error "file:line: message" and the daemon does not start.
 */
#ifndef SEALBENCH_SRC_CONFIG_H
#define SEALBENCH_SRC_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/badge/badge.h"
#include "drivers/camera/camera.h"
#include "drivers/lights/lights.h"
#include "drivers/scale/scale.h"
#include "drivers/scanner/scanner.h"
#include "drivers/trigger/trigger.h"
#include "src/address.h"
#include "src/package.h"

/** Room for "file:line: message" error texts. */
#define CONFIG_ERR_MAX 512
#define CONFIG_PATH_MAX 256
#define CONFIG_LIST_MAX 32     /* entries in one comma-separated list */
#define CONFIG_CARRIERS_MAX 16 /* [carrier NAME] sections */
#define CONFIG_BOXES_MAX 64    /* [box CODE] sections */
#define CONFIG_PATTERN_MAX 128 /* one regular expression */

struct dimweight_table;

struct board_cfg {
	char path[CONFIG_PATH_MAX];
	struct scale_cfg scale;
	struct scanner_cfg scanner;
	struct badge_cfg badge;
	struct camera_cfg camera;
	struct lights_cfg lights;
	struct trigger_cfg trigger; /* optional: trigger.backend "" = no pedal / photo-eye */
	/* line of each class's ".device" key (else its ".backend" key), for "file:line" in
	 * device-open errors */
	unsigned scale_line, scanner_line, badge_line, camera_line, lights_line, trigger_line;
};

struct carrier_cfg {
	char name[PKG_ID_MAX];                /* [carrier NAME] */
	char pattern_src[CONFIG_PATTERN_MAX]; /* tracking-number regex (POSIX ERE) */
	regex_t pattern;
	char signature_services[CONFIG_LIST_MAX][PKG_ID_MAX]; /* services with signature */
	unsigned n_signature_services;
};

struct box_cfg {
	char code[PKG_ID_MAX]; /* [box CODE] */
	char type[PKG_ID_MAX];
	uint32_t length_mm, width_mm, height_mm;
	uint32_t tare_g;
};

enum policy {
	POLICY_WARN = 0,
	POLICY_BLOCK,
	_POLICY_MAX,
};

struct rules_cfg {
	char version[PKG_ID_MAX];
	int64_t signature_threshold_cents; /* declared value >= this needs signature; 0 = off */
	int64_t high_value_cents;          /* flag + photo; 0 = off */
	bool photo_always;
	bool photo_high_value;
	char fragile_skus[CONFIG_LIST_MAX][PKG_ID_MAX]; /* fnmatch(3) globs */
	unsigned n_fragile_skus;
	char repeat_loss_lanes[CONFIG_LIST_MAX][PKG_ID_MAX]; /* "CARRIER:postal-glob" */
	unsigned n_repeat_loss_lanes;
	unsigned weight_tolerance_pct;
	unsigned weight_tolerance_min_g;
	enum policy weight_policy;
	enum policy address_policy;
	char lead_badges[CONFIG_LIST_MAX][PKG_ID_MAX];
	unsigned n_lead_badges;
	uint32_t dim_divisor; /* mm^3 per gram (cm^3/kg), e.g. 5000; 0 = no dim weight */
	/* the carriers' effective-dated dimensional-weight rules ([station] dimweight_file);
	 * NULL = none: dim_divisor applies to every carrier */
	struct dimweight_table *dimweight;
	char label_charset_src[16];
	enum addr_charset label_charset; /* what the label printer can print */
};

struct station_cfg {
	char path[CONFIG_PATH_MAX];
	/* [station] */
	char site[33];
	char station[33];
	char data_dir[CONFIG_PATH_MAX];
	char dimweight_file[CONFIG_PATH_MAX]; /* resolved against the config file's directory */
	char key_path[CONFIG_PATH_MAX]; /* "" = <data_dir>/station.key (resolved by sealbenchd) */
	/* the leads' public keys, "<lead>.pub" each (src/bundle.h); "" = signed rules bundles
	 * are not accepted (the config topics are not subscribed) */
	char lead_keys_dir[CONFIG_PATH_MAX];
	unsigned session_idle_s;
	unsigned package_timeout_s;
	unsigned order_timeout_ms;
	unsigned photo_timeout_ms;
	unsigned weigh_min_g; /* readings below this are "nothing on the scale" */
	/* [mqtt] */
	char mqtt_host[CONFIG_PATH_MAX];
	unsigned mqtt_port;
	unsigned mqtt_keepalive_s;
	unsigned mqtt_chunk_size;
	unsigned mqtt_inflight;
	unsigned mqtt_ack_timeout_s;
	/* TLS: "" = plain TCP. Relative paths are resolved against the config file's directory.
	 * tls_cert and tls_key go together and need tls_ca. */
	char mqtt_tls_ca[CONFIG_PATH_MAX];
	char mqtt_tls_cert[CONFIG_PATH_MAX];
	char mqtt_tls_key[CONFIG_PATH_MAX];
	/* [outbox] */
	uint64_t outbox_quota_mb;
	unsigned photo_retention_days;
	/* [rules] */
	struct rules_cfg rules;
	/* [scan] */
	char order_pattern_src[CONFIG_PATTERN_MAX];
	regex_t order_pattern;
	char box_pattern_src[CONFIG_PATTERN_MAX];
	regex_t box_pattern;
	char void_code[PKG_ID_MAX];
	char badge_out_code[PKG_ID_MAX];
	char reprint_code[PKG_ID_MAX];       /* show the last seal's result again */
	char lead_override_code[PKG_ID_MAX]; /* asks for a lead badge on a block */
	char badge_pattern_src[CONFIG_PATTERN_MAX]; /* badges printed as barcodes; "" = none */
	regex_t badge_pattern;
	/* [station] trigger_action: what a pedal / photo-eye press does */
	char trigger_action[16]; /* "none" | "accept" (take the stable weight on the scale) */
	/* catalogs */
	struct carrier_cfg carriers[CONFIG_CARRIERS_MAX];
	unsigned n_carriers;
	struct box_cfg boxes[CONFIG_BOXES_MAX];
	unsigned n_boxes;
	bool compiled; /* patterns compiled: station_cfg_done() has work to do */
};

/**
 * @brief Load and validate a board file.
 * @param run_dir relative device paths are resolved against it (NULL: the board file's dir).
 * @param err receives "file:line: message" on failure (CONFIG_ERR_MAX bytes is enough).
 * @return 0 and *ret filled; -ENOENT file missing; -EINVAL invalid content; -errno.
 */
int board_cfg_load(const char *path, const char *run_dir, struct board_cfg *ret, char *err,
		   size_t errlen);

/**
 * @brief Load and validate a station config. Compiles the patterns.
 * @return 0 and *ret (release with station_cfg_done()); -ENOENT; -EINVAL; -errno. On failure
 *         *ret holds nothing that needs releasing.
 */
int station_cfg_load(const char *path, struct station_cfg *ret, char *err, size_t errlen);

/**
 * @brief A station config with its rules and catalogs replaced by a rules bundle's text.
 *
 * Everything of @p base but [rules], the [carrier NAME] and the [box CODE] sections is kept;
 * those come from @p text alone (a [rules] key the text leaves out takes its default, as in a
 * station config; [rules] version is required). A [bundle] section is skipped (it is the
 * header src/bundle.c reads); any other section is an error. Patterns are compiled and the
 * dim-weight data is loaded again for the result, so it shares nothing with @p base.
 * @param name names the text in errors ("name:line: message"), e.g. "bundle site/7".
 * @return 0 and *ret (release with station_cfg_done()); -EINVAL with the message in @p err;
 *         -ENOMEM. @p ret is untouched on failure.
 */
int station_cfg_overlay(const struct station_cfg *base, const char *name, const char *text,
			size_t len, struct station_cfg *ret, char *err, size_t errlen);

/** @brief Free the compiled patterns. Safe on a zeroed or already-released config. */
void station_cfg_done(struct station_cfg *cfg);

/** @brief Look up a box by code. @return the box (borrowed from @p cfg) or NULL. */
const struct box_cfg *station_cfg_find_box(const struct station_cfg *cfg, const char *code);

/** @brief The carrier whose pattern matches a tracking number, or NULL. Borrowed. */
const struct carrier_cfg *station_cfg_match_carrier(const struct station_cfg *cfg,
						    const char *tracking);

/** @brief Whether a badge is on the lead list. */
bool station_cfg_is_lead(const struct station_cfg *cfg, const char *badge);

#endif
