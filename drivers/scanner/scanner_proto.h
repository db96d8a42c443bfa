/* SPDX-License-Identifier: MIT */
/*
 * drivers/scanner/scanner_proto.h - pure helpers for scanner protocols (no fd).
 */
#ifndef SEALBENCH_DRIVERS_SCANNER_PROTO_H
#define SEALBENCH_DRIVERS_SCANNER_PROTO_H

#include <stddef.h>

#include "drivers/scanner/scanner.h"

/** Longest sim protocol line: a full-size scan with every byte written as \xHH. */
#define SCANNER_SIM_LINE_MAX (4 * SCANNER_SCAN_MAX)

/**
 * @brief Decode the C-style escapes of the sim scanner protocol, so a text line can carry the
 * control characters of ISO/IEC 15434 labels: \xHH (two hex digits), \\, \n, \r, \t. Other
 * bytes are copied as they are.
 * @param in, len the escaped text (need not be NUL-terminated).
 * @param out receives the bytes plus a terminating NUL (out_max + 1 bytes of room).
 * @param ret_len receives the decoded length (untouched on failure).
 * @return 0; -EBADMSG unknown or truncated escape; -EMSGSIZE more than @p out_max bytes;
 *         -EINVAL NULL arguments.
 */
int scanner_proto_unescape(const char *in, size_t len, char *out, size_t out_max, size_t *ret_len);

#endif
