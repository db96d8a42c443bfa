/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "src/inifile.h"

/** Room for one error message before the "path:line: " prefix. */
#define INIFILE_MSG_MAX 512

void inifile_fail(struct inifile *f, unsigned line, const char *fmt, ...)
{
	char msg[INIFILE_MSG_MAX];
	va_list ap;

	if (f->failed)
		return; /* the first error is the one worth reading */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->failed_line = line;
	if (line)
		snprintf(f->err, f->errlen, "%s:%u: %s", f->path, line, msg);
	else
		snprintf(f->err, f->errlen, "%s: %s", f->path, msg);
	f->failed = true;
}

static int section_header(struct inifile *f, const char *line)
{
	const char *p = line, *end;
	char name[INIFILE_SECTION_MAX];

	if (f->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* inih skips a UTF-8 BOM on the first line */
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '[')
		return 0;
	/* inih reads an indented line after a key as a continuation of its value: a header must
	 * start the line so that both readings agree */
	if (p != line && (p[-1] == ' ' || p[-1] == '\t')) {
		inifile_fail(f, f->line, "section header must start at the beginning of the line");
		return -EINVAL;
	}
	end = strchr(p, ']');
	if (!end)
		return 0; /* inih reports the syntax error */
	if ((size_t)(end - p - 1) >= sizeof(name)) {
		inifile_fail(f, f->line, "section name longer than %zu characters",
			     sizeof(name) - 1);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(end - p - 1), p + 1);
	if (!f->on_section) {
		inifile_fail(f, f->line, "sections are not used in %s ([%s])",
			     f->no_sections ? f->no_sections : "this file", name);
		return -EINVAL;
	}
	return f->on_section(f, name);
}

/* fgets() for inih, counting lines, and refusing what fgets would silently mangle: a NUL
 * byte (a binary file) and a line longer than inih's buffer (it would be split in two). */
static char *counting_reader(char *str, int num, void *stream)
{
	struct inifile *f = stream;
	int i = 0, ch = EOF;

	if (f->failed)
		return NULL;
	while (i < num - 1 && (ch = getc(f->fp)) != EOF) {
		if (ch == '\0') {
			inifile_fail(f, f->line + 1, "NUL byte in the file (not a text file?)");
			return NULL;
		}
		str[i++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (i == 0)
		return NULL;
	str[i] = '\0';
	f->line++;
	if (i == num - 1 && ch != '\n' && (ch = getc(f->fp)) != EOF) {
		inifile_fail(f, f->line, "line longer than %d characters", num - 2);
		return NULL;
	}
	if (section_header(f, str) < 0)
		return NULL;
	return str;
}

int inifile_parse(struct inifile *f, ini_handler handler, void *user)
{
	int r;

	f->line = 0;
	f->failed = false;
	f->failed_line = 0;
	if (f->data && !f->len) {
		f->fp = NULL; /* fmemopen() refuses a zero-length buffer: an empty text */
		return 0;
	}
	f->fp = f->data ? fmemopen((void *)f->data, f->len, "r") : fopen(f->path, "re");
	if (!f->fp) {
		r = -errno;
		snprintf(f->err, f->errlen, "%s: %s", f->path, strerror(errno));
		return r;
	}
	r = ini_parse_stream(counting_reader, f, handler, user);
	fclose(f->fp);
	f->fp = NULL;
	/* inih goes on after a syntax error and returns its line; a later handler error must not
	 * hide it: report whichever came first */
	if (r > 0 && (!f->failed || (f->failed_line && (unsigned)r < f->failed_line))) {
		f->failed = false;
		inifile_fail(f, (unsigned)r, "syntax error (expected 'key = value' or '[section]')");
	}
	if (r < 0 && !f->failed)
		inifile_fail(f, 0, "cannot parse (out of memory)");
	return f->failed ? -EINVAL : 0;
}
