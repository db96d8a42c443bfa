/* SPDX-License-Identifier: MIT */
/*
 * hal/clock.h - time sources.
 *
 * All internal time is uint64_t nanoseconds from CLOCK_MONOTONIC (STYLE 12). Wall-clock time
 * is used only for what goes into evidence records (UTC, milliseconds). Both sources can be
 * overridden by tests (SQLite aSyscall[] style).
 */
#ifndef SEALBENCH_HAL_CLOCK_H
#define SEALBENCH_HAL_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL

/** Length of "YYYY-MM-DDTHH:MM:SS.mmmZ" plus the terminating NUL. */
#define CLOCK_RFC3339_LEN 25

/** @brief CLOCK_MONOTONIC in nanoseconds. Never fails. */
uint64_t clock_now_ns(void);

/** @brief CLOCK_REALTIME in milliseconds since the Unix epoch (UTC). */
uint64_t clock_wall_ms(void);

/**
 * @brief Whether the kernel considers the wall clock synchronised (adjtimex, STA_UNSYNC clear).
 * @return true when an NTP daemon disciplines the clock.
 */
bool clock_is_synced(void);

/**
 * @brief Format a wall time as RFC 3339 UTC with milliseconds ("2026-11-21T05:34:08.123Z").
 * @param wall_ms milliseconds since the epoch.
 * @param buf receives the text; at least CLOCK_RFC3339_LEN bytes.
 * @return 0, or -EINVAL when @p len is too small.
 */
int clock_format_rfc3339(uint64_t wall_ms, char *buf, size_t len);

/**
 * @brief Test seam: replace the clock sources. NULL restores the system clock.
 * Not thread-safe; call before anything reads the clock.
 */
void clock_set_override(uint64_t (*now_ns)(void), uint64_t (*wall_ms)(void), bool (*synced)(void));

#endif
