/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "hal/linebuf.h"

void linebuf_init(struct linebuf *lb, char *storage, size_t size)
{
	assert(lb && storage && size >= 2);
	lb->buf = storage;
	lb->size = size;
	linebuf_reset(lb);
}

void linebuf_reset(struct linebuf *lb)
{
	lb->start = 0;
	lb->end = 0;
	lb->scanned = 0;
	lb->discarding = false;
}

int linebuf_pop(struct linebuf *lb, const char **ret_line, size_t *ret_len)
{
	char *line, *nl;
	size_t len;

	for (;;) {
		line = lb->buf + lb->start;
		nl = memchr(line + lb->scanned, '\n', lb->end - lb->start - lb->scanned);
		if (!nl) {
			lb->scanned = lb->end - lb->start;
			if (lb->discarding) {
				/* Still inside the overlong line: drop what came so far. */
				linebuf_reset(lb);
				lb->discarding = true;
				return -EAGAIN;
			}
			if (lb->start == 0 && lb->end == lb->size) {
				/* Full of one line and no end in sight. */
				linebuf_reset(lb);
				lb->discarding = true;
				return -EMSGSIZE;
			}
			return -EAGAIN;
		}
		len = (size_t)(nl - line);
		lb->start += len + 1;
		lb->scanned = 0;
		if (lb->start == lb->end) {
			lb->start = 0;
			lb->end = 0;
		}
		if (lb->discarding) {
			/* The tail of the overlong line ends here; already reported. */
			lb->discarding = false;
			continue;
		}
		while (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		*ret_line = line;
		*ret_len = len;
		return 0;
	}
}

size_t linebuf_room(struct linebuf *lb, char **ret_ptr)
{
	if (lb->start > 0) {
		/* Move the partial line down; lines are short, so this is cheap. */
		memmove(lb->buf, lb->buf + lb->start, lb->end - lb->start);
		lb->end -= lb->start;
		lb->start = 0;
	}
	*ret_ptr = lb->buf + lb->end;
	return lb->size - lb->end;
}

void linebuf_commit(struct linebuf *lb, size_t n)
{
	assert(n <= lb->size - lb->end);
	lb->end += n;
}

size_t linebuf_feed(struct linebuf *lb, const void *data, size_t n)
{
	char *p;
	size_t room = linebuf_room(lb, &p);

	if (n > room)
		n = room;
	memcpy(p, data, n);
	linebuf_commit(lb, n);
	return n;
}
