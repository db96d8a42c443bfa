/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/durable.h"

/* Suffix of the temporary file a new file is written to. */
#define TMP_SUFFIX ".tmp"

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory holding @path, so that a new name in it survives a power cut. */
int durable_sync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, r = 0;

	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Move @from to @to unless @to exists (-EEXIST). renameat2(RENAME_NOREPLACE) where the file
 * system has it, else link() + unlink(), which never replaces either. */
static int move_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -errno;
	if (link(from, to) < 0)
		return -errno;
	unlink(from);
	return 0;
}

/* A leftover "<path>.tmp" of an earlier crash is removed first. */
int durable_write_file(const char *path, const void *data, size_t len, mode_t mode,
		       bool replace)
{
	char tmp[PATH_MAX];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s" TMP_SUFFIX, path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* the umask may have taken bits away; the mode must be exactly @mode */
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		goto err_close;
	}
	r = write_all(fd, data, len);
	if (r < 0)
		goto err_close;
	if (fsync(fd) < 0) {
		r = -errno;
		goto err_close;
	}
	if (close(fd) < 0) {
		r = -errno;
		goto err_unlink;
	}
	r = replace ? (rename(tmp, path) < 0 ? -errno : 0) : move_noreplace(tmp, path);
	if (r < 0)
		goto err_unlink;
	return durable_sync_parent(path);

err_close:
	close(fd);
err_unlink:
	unlink(tmp);
	return r;
}

int durable_read_bounded(int fd, char *buf, size_t cap, size_t *ret_len)
{
	size_t len = 0;
	ssize_t n;

	for (;;) {
		char extra;

		if (len == cap) {
			/* full: one more byte means the file is too large */
			n = read(fd, &extra, 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n > 0)
				return -EFBIG;
			break;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
	return 0;
}
