/* SPDX-License-Identifier: MIT */
/*
 * tools/common.c - die() and parse helpers for the tools. Not a stable interface.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common.h"

#ifndef SEALBENCH_VERSION
#define SEALBENCH_VERSION "unknown"
#endif
#ifndef SEALBENCH_GIT
#define SEALBENCH_GIT "unknown"
#endif

const char *get_prog_name(void)
{
	/* glibc sets this from argv[0] before main() (errno.h, _GNU_SOURCE). */
	return program_invocation_short_name;
}

static void vdie(int err, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0), noreturn));

static void vdie(int err, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", get_prog_name());
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	exit(EXIT_FAILURE);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(0, fmt, ap);
}

void die_perror(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vdie(err, fmt, ap);
}

void die_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(err < 0 ? -err : err, fmt, ap);
}

uint64_t parse_uint_or_die(const char *what, const char *s, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		die("%s: '%s' is not a non-negative decimal number", what, s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		die("%s: '%s' is not a non-negative decimal number", what, s);
	if (v < min || v > max)
		die("%s: %llu is out of range [%llu, %llu]", what, v, (unsigned long long)min,
		    (unsigned long long)max);
	return v;
}

void print_version(void)
{
	printf("%s (sealbench) %s %s\n", get_prog_name(), SEALBENCH_VERSION, SEALBENCH_GIT);
}
