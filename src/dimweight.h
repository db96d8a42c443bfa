/* SPDX-License-Identifier: MIT */
/*
 * src/dimweight.h - dimensional and billable weight from effective-dated carrier rules.
 *
 * Carriers change divisors and rounding with a date; the station must judge a package by the
 * rule in force on its ship date, and the record must say which rule that was. So the rules
 * are data (firmware/dimweight.conf, one INI section per rule version, with its source), and
 * a new divisor is a new section with a new effective date, never a code change.
 *
 * Arithmetic is integer-only and exact: 1 in = 25.4 mm = 127/5 mm and 1 lb = 453.59237 g =
 * 45359237/100000 g are used as exact ratios (dimweight.c documents every rounding step).
 * Results are exact in thousandths of the rule's weight unit ("milli": 1/1000 lb, or 1 g for
 * kg), and in grams rounded to the nearest gram (half up).
 *
 * File format (inih; '#' or ';' starts a comment line; a ';' after a blank ends a value):
 *
 *   [NAME @ YYYY-MM-DD]        one version of rule NAME, in force from 00:00 UTC that day
 *   carrier = UPS              carrier name, compared case-insensitively (required)
 *   services = *               comma-separated fnmatch(3) globs, case-insensitive ("*")
 *   units = imperial           imperial (in, lb) | metric (cm, kg) (required)
 *   divisor = 139              in^3/lb or cm^3/kg, 1..20000, up to 3 decimals (required)
 *   round_dimensions = nearest each dimension to a whole in/cm: nearest (half up) | up |
 *                              none (required)
 *   weight_increment = 1       billing increment in lb/kg, 0.001..100, up to 3 decimals;
 *                              actual and dimensional weight are rounded up to it (required)
 *   applies_above = 1728       dimensional weight only when the volume (in^3/cm^3, after
 *                              dimension rounding) is above this; 0 = always (0)
 *   source = ...               where the numbers come from (required; continues on
 *                              indented lines or repeated keys)
 *
 * Selection: rules are tried in the order their NAME first appears in the file; the first
 * NAME whose carrier and services match and that has a version in force on the date wins,
 * with its latest such version. Put service-specific rules above a carrier's catch-all.
 */
#ifndef SEALBENCH_SRC_DIMWEIGHT_H
#define SEALBENCH_SRC_DIMWEIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/package.h"

#define DIMWEIGHT_RULES_MAX	64    /* rule versions per file (a cap, STYLE 16) */
#define DIMWEIGHT_NAME_MAX	48    /* NAME in [NAME @ date] */
#define DIMWEIGHT_ID_MAX	64    /* "NAME@YYYY-MM-DD" */
#define DIMWEIGHT_DATE_MAX	11    /* "YYYY-MM-DD" + NUL */
#define DIMWEIGHT_SERVICES_MAX	8     /* service globs per rule */
#define DIMWEIGHT_SOURCE_MAX	512   /* source text, continued over several lines */
#define DIMWEIGHT_ERR_MAX	512   /* room for "path:line: message" */
#define DIMWEIGHT_PATH_MAX	256   /* data file path kept in the table */
#define DIMWEIGHT_DIM_MAX_MM	4000  /* longest dimension accepted (keeps 64-bit math exact) */
#define DIMWEIGHT_DIVISOR_MAX	20000 /* largest divisor (IATA is 6000 cm^3/kg) */
#define DIMWEIGHT_INCREMENT_MAX 100   /* largest billing increment, lb or kg */

enum dimweight_units {
	DIMWEIGHT_IMPERIAL = 0, /* inches, pounds */
	DIMWEIGHT_METRIC,	/* centimetres, kilograms */
	_DIMWEIGHT_UNITS_MAX,
};

enum dimweight_round {
	DIMWEIGHT_ROUND_NONE = 0, /* exact dimensions */
	DIMWEIGHT_ROUND_NEAREST,  /* to the nearest whole in/cm, .5 up */
	DIMWEIGHT_ROUND_UP,	  /* any fraction up to the next whole in/cm */
	_DIMWEIGHT_ROUND_MAX,
};

/** One rule version as loaded. */
struct dimweight_rule {
	char name[DIMWEIGHT_NAME_MAX];
	char id[DIMWEIGHT_ID_MAX];	    /* "NAME@YYYY-MM-DD" */
	char effective[DIMWEIGHT_DATE_MAX]; /* "YYYY-MM-DD" */
	uint64_t effective_ms;		    /* 00:00 UTC of that day, ms since the epoch */
	char carrier[PKG_ID_MAX];
	char services[DIMWEIGHT_SERVICES_MAX][PKG_ID_MAX];
	unsigned n_services;
	enum dimweight_units units;
	uint32_t divisor_milli; /* divisor x 1000 */
	enum dimweight_round round_dims;
	uint32_t increment_milli; /* billing increment x 1000, in lb or kg */
	uint32_t applies_above;	  /* in^3 or cm^3; 0 = always */
	char source[DIMWEIGHT_SOURCE_MAX];
	unsigned line; /* line of the section header */
};

struct dimweight_table; /* opaque */

/** Result of one computation. Strings are copies (valid after the table is freed). */
struct dimweight_result {
	char rule_id[DIMWEIGHT_ID_MAX];
	char effective[DIMWEIGHT_DATE_MAX];
	char source[DIMWEIGHT_SOURCE_MAX];
	char unit[3];		  /* "lb" or "kg": the unit of the *_milli fields */
	uint32_t dims_milli[3];	  /* L, W, H as used (after rounding), 1/1000 in or cm */
	uint64_t volume_milli;	  /* their product, 1/1000 in^3 or cm^3, rounded down */
	bool dim_applies;	  /* volume above the rule's threshold */
	uint64_t dim_milli;	  /* dimensional weight after rounding, 0 when !dim_applies */
	uint64_t actual_milli;	  /* actual weight rounded up to the increment */
	uint64_t billable_milli;  /* the greater of the two */
	uint32_t increment_milli; /* the rule's billing increment */
	uint32_t dim_weight_g;	  /* dim_milli in grams (nearest, half up) */
	uint32_t actual_billed_g; /* actual_milli in grams */
	uint32_t billable_g;	  /* billable_milli in grams */
	bool dim_is_billable;	  /* billable came from the dimensional weight */
};

/** Declared (from the order) or measured (at the station) parcel. */
struct dimweight_parcel {
	uint32_t l_mm, w_mm, h_mm; /* all 0 = no dimensions */
	int32_t weight_g;
};

/** Declared vs measured: will the carrier's audit correct the charge? */
struct dimweight_compare {
	struct dimweight_result declared;
	struct dimweight_result measured;
	int64_t billable_diff_g;   /* measured - declared billable weight, grams */
	int64_t increments_diff;   /* measured - declared, in whole billing increments */
	bool correction_predicted; /* measured billable is at least one increment higher */
};

/**
 * @brief Load a rules file.
 * @param ret the table; free with dimweight_free(). Untouched on error.
 * @param err "path:line: message" (or "path: message") on error.
 * @return 0, -EINVAL (syntax, schema or value error, described in @p err), -ENOMEM, or the
 *         negative errno of opening the file.
 */
int dimweight_load(const char *path, struct dimweight_table **ret, char *err, size_t errlen);

/** @brief Free a table; NULL is fine. */
void dimweight_free(struct dimweight_table *t);

/** @brief Number of rule versions in the table. */
unsigned dimweight_count(const struct dimweight_table *t);

/** @brief Rule version @p i in file order; NULL when out of range. Borrowed from the table. */
const struct dimweight_rule *dimweight_get(const struct dimweight_table *t, unsigned i);

/**
 * @brief The rule in force for a carrier and service on a date (see "Selection" above).
 * @return the rule (borrowed from the table) or NULL when none applies.
 */
const struct dimweight_rule *dimweight_find(const struct dimweight_table *t, const char *carrier,
					    const char *service, uint64_t date_ms);

/**
 * @brief Dimensional and billable weight of one parcel under one rule.
 * @param l_mm,w_mm,h_mm dimensions; all three 0 = unknown (no dimensional weight).
 * @param actual_g actual weight, >= 0.
 * @return 0; -EINVAL for NULL arguments, a negative weight, or some but not all dimensions 0;
 *         -ERANGE for a dimension above DIMWEIGHT_DIM_MAX_MM or a result above UINT32_MAX g.
 *         @p ret untouched on error.
 */
int dimweight_apply(const struct dimweight_rule *rule, uint32_t l_mm, uint32_t w_mm, uint32_t h_mm,
		    int32_t actual_g, struct dimweight_result *ret);

/**
 * @brief dimweight_find() + dimweight_apply().
 * @return as dimweight_apply(), and -ENOENT when no rule applies (no dimensional weight for
 *         that carrier/service/date: bill the actual weight).
 */
int dimweight_compute(const struct dimweight_table *t, const char *carrier, const char *service,
		      uint64_t date_ms, uint32_t l_mm, uint32_t w_mm, uint32_t h_mm,
		      int32_t actual_g, struct dimweight_result *ret);

/**
 * @brief Declared vs measured billable weight under the rule in force.
 *        A declared parcel without dimensions is billed on its weight alone (what the label
 *        was bought for); the measured one on its weight and dimensions.
 * @return as dimweight_compute().
 */
int dimweight_compare(const struct dimweight_table *t, const char *carrier, const char *service,
		      uint64_t date_ms, const struct dimweight_parcel *declared,
		      const struct dimweight_parcel *measured, struct dimweight_compare *ret);

/**
 * @brief Parse "YYYY-MM-DD" (1970..9999) to 00:00 UTC in ms since the epoch.
 * @return 0 or -EINVAL.
 */
int dimweight_parse_date(const char *s, uint64_t *ret_ms);

#endif
