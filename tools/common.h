/* SPDX-License-Identifier: MIT */
/*
 * tools/common.h - small helpers shared by the sealbench-* tools.
 *
 * NOT A STABLE INTERFACE (libgpiod tools-common.h style): these exist so each tool's main() stays
 * short. Library code never exits; tools may, and these helpers are where they do.
 */
#ifndef SEALBENCH_TOOLS_COMMON_H
#define SEALBENCH_TOOLS_COMMON_H

#include <stdint.h>

/** @brief The tool's name as invoked, without the directory (borrowed, static). */
const char *get_prog_name(void);

/**
 * @brief Print "<prog>: <message>" on stderr and exit with status 1.
 * @param fmt printf-style format of the message (no trailing newline).
 */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/**
 * @brief Like die(), with ": <strerror(errno)>" appended.
 * @param fmt printf-style format of the message.
 */
void die_perror(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/**
 * @brief Like die(), with ": <strerror(-err)>" appended, for our 0 / -errno returns.
 * @param err a negative errno value.
 * @param fmt printf-style format of the message.
 */
void die_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/**
 * @brief Parse a decimal unsigned integer in [@p min, @p max], or die naming the option.
 * @param what the option name for the message, e.g. "--port".
 * @param s the text; the whole string must be digits (no sign, no spaces).
 * @return the value.
 */
uint64_t parse_uint_or_die(const char *what, const char *s, uint64_t min, uint64_t max);

/** @brief Print "<prog> (sealbench) <version> <git revision>" on stdout. */
void print_version(void);

#endif
