/* SPDX-License-Identifier: MIT */
/*
 * hal/linebuf.h - a fixed-capacity line assembler for line-oriented byte streams.
 *
 * Bytes arrive in arbitrary chunks (a FIFO read may end mid-line, or hold several lines);
 * lines leave whole. A line ends with '\n'; trailing '\r's are stripped (CRLF senders). A
 * line longer than the capacity is reported once as -EMSGSIZE and its bytes are discarded up
 * to and including its '\n', so one runaway sender cannot wedge the stream.
 *
 * Pure: no fd, no allocation. The caller provides the storage (LINEBUF_STORAGE(max) bytes).
 *
 * Typical driver loop (after epoll said the fd is readable):
 *
 *	for (;;) {
 *		r = linebuf_pop(lb, &line, &len);
 *		if (r != -EAGAIN)
 *			return r;            (0: a line; -EMSGSIZE: one was dropped)
 *		room = linebuf_room(lb, &p);
 *		n = hal_read(fd, p, room);
 *		if (n <= 0)
 *			return n < 0 ? n : -EAGAIN;
 *		linebuf_commit(lb, n);
 *	}
 */
#ifndef SEALBENCH_HAL_LINEBUF_H
#define SEALBENCH_HAL_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

/** Storage for lines of up to @p max bytes: the line, plus its '\n' (replaced by a NUL). */
#define LINEBUF_STORAGE(max) ((max) + 1)

struct linebuf {
	char *buf;	 /* caller's storage */
	size_t size;	 /* bytes of storage */
	size_t start;	 /* first byte not yet popped */
	size_t end;	 /* one past the last byte held */
	size_t scanned;	 /* bytes from start already known to hold no '\n' */
	bool discarding; /* dropping the rest of an overlong line */
};

/**
 * @brief Initialise @p lb over @p storage (LINEBUF_STORAGE(max) bytes, at least 2).
 * The storage is borrowed for the life of @p lb.
 */
void linebuf_init(struct linebuf *lb, char *storage, size_t size);

/** @brief Forget every byte held (and any overlong line being discarded). */
void linebuf_reset(struct linebuf *lb);

/**
 * @brief Pop the next complete line.
 * @param ret_line receives the line, NUL-terminated, without '\n' and trailing '\r'. It may
 *        contain NULs: use @p ret_len. Borrowed: valid until the next call on @p lb.
 * @return 0 and the line in the outs; -EAGAIN no complete line (feed more; outs untouched);
 *         -EMSGSIZE a line longer than the capacity was dropped (call again).
 */
int linebuf_pop(struct linebuf *lb, const char **ret_line, size_t *ret_len);

/**
 * @brief Where the next bytes may be written, for reading straight from an fd.
 * Call after linebuf_pop() returned -EAGAIN: then at least one byte of room is guaranteed.
 * @return the free room in bytes (0 while a complete line or an overflow waits to be popped).
 */
size_t linebuf_room(struct linebuf *lb, char **ret_ptr);

/** @brief Account for @p n bytes written at the linebuf_room() pointer (n <= room). */
void linebuf_commit(struct linebuf *lb, size_t n);

/**
 * @brief Copy bytes in (linebuf_room() + memcpy + linebuf_commit()).
 * @return how many of the @p n bytes were taken; fewer than @p n when the storage is full:
 *         pop lines (or the -EMSGSIZE) and feed the rest.
 */
size_t linebuf_feed(struct linebuf *lb, const void *data, size_t n);

#endif
