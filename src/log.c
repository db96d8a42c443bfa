/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "src/log.h"

static enum log_level max_level = LOG_LVL_INFO;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "err",   [LOG_LVL_WARN] = "warn",   [LOG_LVL_NOTICE] = "notice",
	[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

void log_set_level(enum log_level lvl)
{
	max_level = lvl;
}

int log_level_from_string(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i] && s && strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

void log_printf(enum log_level lvl, const char *module, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (lvl > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* "<N>" is the sd-daemon(3) level prefix: journald files the line at that priority. */
	fprintf(stderr, "<%d>%s: %s\n", (int)lvl, module, line);
}
