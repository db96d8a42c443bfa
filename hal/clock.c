/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <sys/timex.h>
#include <time.h>

#include "hal/clock.h"

static uint64_t (*override_now_ns)(void);
static uint64_t (*override_wall_ms)(void);
static bool (*override_synced)(void);

void clock_set_override(uint64_t (*now_ns)(void), uint64_t (*wall_ms)(void), bool (*synced)(void))
{
	override_now_ns = now_ns;
	override_wall_ms = wall_ms;
	override_synced = synced;
}

uint64_t clock_now_ns(void)
{
	struct timespec ts;

	if (override_now_ns)
		return override_now_ns();
	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t clock_wall_ms(void)
{
	struct timespec ts;

	if (override_wall_ms)
		return override_wall_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / NSEC_PER_MSEC;
}

bool clock_is_synced(void)
{
	struct timex tx = { 0 };
	int r;

	if (override_synced)
		return override_synced();
	r = adjtimex(&tx);
	if (r < 0 || r == TIME_ERROR)
		return false;
	return !(tx.status & STA_UNSYNC);
}

int clock_format_rfc3339(uint64_t wall_ms, char *buf, size_t len)
{
	time_t secs = (time_t)(wall_ms / 1000u);
	struct tm tm;
	int n;

	if (len < CLOCK_RFC3339_LEN || !gmtime_r(&secs, &tm))
		return -EINVAL;
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (unsigned)(wall_ms % 1000u));
	return (n > 0 && (size_t)n < len) ? 0 : -EINVAL;
}
