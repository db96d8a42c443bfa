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
