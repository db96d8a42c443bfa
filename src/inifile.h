/* SPDX-License-Identifier: MIT */
/*
 * src/inifile.h - reading a `key = value` file with inih, the way every sealbench loader does.
 *
 * inih does the lexing. This adds what both our loaders (src/config.c, src/dimweight.c) need
 * and inih does not give: the line number of every key (our reader counts lines), refusal of
 * NUL bytes and of lines longer than inih's buffer (it would split them silently), section
 * headers handed to the loader as they are read (inih only passes a section's name with each
 * key, so a header without keys, or two adjacent headers of the same name, would be
 * invisible), a UTF-8 BOM skipped like inih does, and one "path:line: message" error where
 * the first problem wins (inih goes on after a syntax error and reports it only at the end).
 */
#ifndef SEALBENCH_SRC_INIFILE_H
#define SEALBENCH_SRC_INIFILE_H

#include <ini.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/** Longest section name handed to on_section (header text between the brackets). */
#define INIFILE_SECTION_MAX 128

/** One file being read. Fill path, err, errlen, on_section; the rest is the reader's. */
struct inifile {
	const char *path;
	char *err; /* receives "path:line: message" (or "path: message") */
	size_t errlen;
	/**
	 * Called for each "[name]" header as it is read, before the keys that follow it.
	 * @return 0, or -EINVAL after inifile_fail(). NULL: a header is an error.
	 */
	int (*on_section)(struct inifile *f, const char *name);
	const char *no_sections; /* with on_section NULL: "board files" in the error text */
	/* optional: read these bytes instead of the file at path (path names them in errors,
	 * e.g. "bundle site/7") */
	const char *data;
	size_t len;

	unsigned line;        /* the line being handled (1-based) */
	bool failed;          /* an error is recorded; reading stops */
	unsigned failed_line; /* its line, 0 when not at a line */
	FILE *fp;
};

/**
 * @brief Record an error "path:line: message" (line 0: "path: message"). The first one wins:
 *        later calls are ignored.
 */
void inifile_fail(struct inifile *f, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * @brief Read f->path (or f->data / f->len when data is set) with inih, calling @p handler(user, section, name, value) per key.
 *        The handler records problems with inifile_fail() and returns 0 to stop.
 * @return 0; -errno when the file cannot be opened; -EINVAL for any content error. f->err
 *         holds the message on failure.
 */
int inifile_parse(struct inifile *f, ini_handler handler, void *user);

#endif
