/* SPDX-License-Identifier: MIT */
/*
 * drivers/lights/lights_proto.h - the text form of a lights mask, shared by the sim backend
 * (which writes it) and tools/sealbench-sim (which reads it).
 *
 * A mask is "off" or a comma list in the fixed order red,amber,green,buzzer ("red,buzzer").
 * The sim backend's output lines are "light <mask>" and "text <line>".
 */
#ifndef SEALBENCH_DRIVERS_LIGHTS_PROTO_H
#define SEALBENCH_DRIVERS_LIGHTS_PROTO_H

#include <stddef.h>

#include "drivers/lights/lights.h"

/** Every bit a mask may carry. */
#define LIGHTS_MASK_ALL (LIGHT_RED | LIGHT_AMBER | LIGHT_GREEN | LIGHT_BUZZER)
/** Room for the longest mask text and its NUL. */
#define LIGHTS_MASK_TEXT_MAX sizeof("red,amber,green,buzzer")
/** Longest sim output line without its '\n': "text " and a full text line. */
#define LIGHTS_SIM_LINE_MAX (sizeof("text ") - 1 + LIGHTS_TEXT_MAX)

/**
 * @brief Write @p mask as text into @p buf.
 * @return 0; -EINVAL unknown bits, NULL or @p size below LIGHTS_MASK_TEXT_MAX.
 */
int lights_proto_format_mask(unsigned mask, char *buf, size_t size);

/**
 * @brief Parse "off" or a comma list of red, amber, green, buzzer (any order, no blanks).
 * @return 0 and *ret (untouched on failure); -EBADMSG; -EINVAL NULL arguments.
 */
int lights_proto_parse_mask(const char *s, unsigned *ret);

/** @brief The name of one bit ("red"), or NULL when @p bit is not exactly one known bit. */
const char *lights_proto_bit_name(unsigned bit);

#endif
