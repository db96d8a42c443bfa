/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/fifo.h"

/*
 * Create the FIFO when nothing is at @p path, then open it O_RDWR. The type is checked before
 * open() (opening a device node or a regular file read-write could have side effects) and again
 * on the fd (the path may have been swapped in between).
 */
static int fifo_open(const char *path)
{
	struct stat st;
	int fd;

	if (!path || !*path)
		return -EINVAL;
	if (mkfifo(path, HAL_FIFO_MODE) < 0 && errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISFIFO(st.st_mode))
		return -EEXIST;
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return -EEXIST;
	}
	return fd;
}

int hal_fifo_open_read(const char *path)
{
	return fifo_open(path);
}

int hal_fifo_open_write(const char *path)
{
	return fifo_open(path);
}

ssize_t hal_read(int fd, void *buf, size_t n)
{
	ssize_t r;

	do {
		r = read(fd, buf, n);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

ssize_t hal_write(int fd, const void *buf, size_t n)
{
	ssize_t r;

	do {
		r = write(fd, buf, n);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int hal_fifo_lines_open(struct hal_fifo_lines *fl, const char *path, char *storage, size_t size)
{
	int fd;

	fl->fd = -1;
	linebuf_init(&fl->lb, storage, size);
	fd = hal_fifo_open_read(path);
	if (fd < 0)
		return fd;
	fl->fd = fd;
	return 0;
}

void hal_fifo_lines_close(struct hal_fifo_lines *fl)
{
	if (fl->fd >= 0)
		close(fl->fd);
	fl->fd = -1;
}

int hal_fifo_lines_next(struct hal_fifo_lines *fl, const char **ret_line, size_t *ret_len)
{
	for (;;) {
		size_t room;
		ssize_t n;
		char *dst;
		int r;

		r = linebuf_pop(&fl->lb, ret_line, ret_len);
		if (r != -EAGAIN)
			return r; /* a line, or -EMSGSIZE */
		room = linebuf_room(&fl->lb, &dst);
		n = hal_read(fl->fd, dst, room);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EAGAIN; /* no EOF on an O_RDWR FIFO; be safe anyway */
		linebuf_commit(&fl->lb, (size_t)n);
	}
}
