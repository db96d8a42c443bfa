/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale_proto.h - pure parsers for scale protocols (STYLE 2: bytes in, structs
 * out, no fd), so tests and tools reach them without a device.
 */
#ifndef SEALBENCH_DRIVERS_SCALE_PROTO_H
#define SEALBENCH_DRIVERS_SCALE_PROTO_H

#include <stddef.h>

#include "drivers/scale/scale.h"

/** Longest line of the sim protocol ("-2147483648 motion fault" is 24 bytes; slack for blanks). */
#define SCALE_SIM_LINE_MAX 64

/**
 * @brief Parse one line of the sim scale protocol: "<grams> <stable|motion> [over|under|fault]",
 * tokens separated by blanks, grams a decimal int32 ("1234 stable", "-5 motion",
 * "40000 motion over").
 * @param ret receives grams, stable and status (t_ns is left alone); untouched on failure.
 * @return 0; -EBADMSG malformed; -EINVAL NULL arguments.
 */
int scale_proto_parse_sim(const char *line, struct scale_reading *ret);

#endif
