/* SPDX-License-Identifier: MIT */
/*
 * src/log.h - logging for src/ and firmware/ (hal/ and drivers/ do not log, STYLE 14).
 *
 * Lines go to stderr as "<level> <module>: message" (journald adds time stamps). The level
 * threshold is set once at start-up.
 */
#ifndef SEALBENCH_SRC_LOG_H
#define SEALBENCH_SRC_LOG_H

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARN = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/** @brief Set the most verbose level that is printed (default LOG_LVL_INFO). */
void log_set_level(enum log_level lvl);

/** @brief Parse "err", "warn", "notice", "info", "debug". @return the level or -EINVAL. */
int log_level_from_string(const char *s);

/** @brief Print one line at @p lvl, tagged with @p module. */
void log_printf(enum log_level lvl, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(mod, ...) log_printf(LOG_LVL_ERR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_printf(LOG_LVL_WARN, mod, __VA_ARGS__)
#define log_notice(mod, ...) log_printf(LOG_LVL_NOTICE, mod, __VA_ARGS__)
#define log_info(mod, ...) log_printf(LOG_LVL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_printf(LOG_LVL_DEBUG, mod, __VA_ARGS__)

#endif
