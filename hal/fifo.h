/* SPDX-License-Identifier: MIT */
/*
 * hal/fifo.h - named pipes for the sim board, and read()/write() with -errno returns.
 *
 * The sim devices talk through FIFOs. Both ends are opened O_RDWR|O_NONBLOCK: a reader that is
 * also a writer never sees EOF when the last writer goes away (so the fd does not poll
 * readable forever after a feeder exits), and a writer that is also a reader never gets ENXIO
 * when nobody reads yet, nor SIGPIPE when the reader leaves. This is Linux behaviour (POSIX
 * leaves O_RDWR on a FIFO undefined), which is fine for a Linux-only project.
 *
 * No policy here: no logging, no directory creation, no retries beyond EINTR.
 */
#ifndef SEALBENCH_HAL_FIFO_H
#define SEALBENCH_HAL_FIFO_H

#include <stddef.h>
#include <sys/types.h>

#include "hal/linebuf.h"

/** Mode of a FIFO created by hal_fifo_open_read() / hal_fifo_open_write() (before umask). */
#define HAL_FIFO_MODE 0660

/**
 * @brief Open (creating it if missing) the FIFO at @p path for reading.
 *
 * The fd is O_RDWR|O_NONBLOCK|O_CLOEXEC: read() returns -EAGAIN when empty, never 0.
 * @return the fd (owned by the caller, close() it), -EEXIST when something that is not a FIFO
 *         exists at @p path (it is left alone), or another -errno from mkfifo()/open().
 */
int hal_fifo_open_read(const char *path);

/**
 * @brief Open (creating it if missing) the FIFO at @p path for writing.
 *
 * Same flags as hal_fifo_open_read(): write() never blocks and never fails with ENXIO or
 * EPIPE; when the pipe buffer is full (nobody reads) it returns -EAGAIN. Writes of up to
 * PIPE_BUF bytes are atomic (all or -EAGAIN).
 * @return the fd (owned by the caller), -EEXIST when @p path is not a FIFO, or -errno.
 */
int hal_fifo_open_write(const char *path);

/** @brief read(2), retried on EINTR. @return bytes read (0 at EOF), or -errno (-EAGAIN). */
ssize_t hal_read(int fd, void *buf, size_t n);

/** @brief write(2), retried on EINTR. @return bytes written (may be short), or -errno. */
ssize_t hal_write(int fd, const void *buf, size_t n);

/**
 * A FIFO read line by line: what every sim input device (scale, scanner, badge, trigger)
 * reads. Embed it in the backend's state with its storage (LINEBUF_STORAGE(longest line)).
 */
struct hal_fifo_lines {
	int fd; /* the FIFO, for epoll; -1 when not open */
	struct linebuf lb;
};

/**
 * @brief Open (creating if missing) the FIFO at @p path for reading, line by line.
 * @param storage, size the line buffer, owned by the caller, living as long as @p fl.
 * @return 0; -errno as hal_fifo_open_read() (fl->fd is -1 then; hal_fifo_lines_close() is
 *         still safe).
 */
int hal_fifo_lines_open(struct hal_fifo_lines *fl, const char *path, char *storage, size_t size);

/** @brief Close the FIFO. Safe after a failed open; call open before close. */
void hal_fifo_lines_close(struct hal_fifo_lines *fl);

/**
 * @brief The next complete line ('\n' and a trailing '\r' stripped), reading the FIFO as
 *        needed. Call until -EAGAIN after the fd polled readable.
 * @return 0 and *ret_line / *ret_len (NUL-terminated, but may contain NULs: use the length;
 *         borrowed until the next call); -EMSGSIZE an overlong line was dropped (call
 *         again); -EAGAIN nothing complete; -errno from read().
 */
int hal_fifo_lines_next(struct hal_fifo_lines *fl, const char **ret_line, size_t *ret_len);

#endif
