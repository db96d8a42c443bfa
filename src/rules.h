/* SPDX-License-Identifier: MIT */
/*
 * src/rules.h - the leads' rules, evaluated on a package (pure functions).
 *
 * Two calls because the photo decision comes before the photo: rules_photo_required() after
 * weighing (is a photo needed?), rules_evaluate() before sealing (every rule, with result and
 * detail, into p->rules; the flags into p->flag_*). The full rule set (dimensional weight
 * data, address checks, label parsing) grows with issue 4; each rule is one function here.
 */
#ifndef SEALBENCH_SRC_RULES_H
#define SEALBENCH_SRC_RULES_H

#include <stdbool.h>

#include "src/config.h"
#include "src/package.h"

/**
 * @brief Decide whether the package needs a photo; sets p->photo_required and
 *        p->photo_reasons (comma-separated: "always", "fragile:SKU", "high_value",
 *        "repeat_lane", "order_pending").
 * @return p->photo_required.
 */
bool rules_photo_required(const struct rules_cfg *cfg, struct package *p);

/**
 * @brief Evaluate every rule into p->rules / p->n_rules and set the priority flags.
 * @param tracking_sealed_before whether another sealed record already carries the tracking.
 * @return the number of blocking results (0 = may seal).
 */
unsigned rules_evaluate(const struct rules_cfg *cfg, struct package *p,
			bool tracking_sealed_before);

/** @brief Comma-separated names of the blocking rules into @p buf ("" when none). */
void rules_blocking_names(const struct package *p, char *buf, size_t len);

/** @brief Dimensional weight in grams: L*W*H (mm^3) / divisor, rounded up; 0 when off. */
uint32_t rules_dim_weight_g(uint32_t l_mm, uint32_t w_mm, uint32_t h_mm, uint32_t divisor);

#endif
