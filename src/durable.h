/* SPDX-License-Identifier: MIT */
/*
 * src/durable.h - small files that must survive a power cut whole or not at all.
 *
 * The station key, the public key files and the kept rules bundles are written the same way:
 * a temporary "<path>.tmp" (O_EXCL, O_NOFOLLOW: a planted symlink is not written through),
 * write, fsync, move into place, fsync of the directory. A power cut leaves the old file or
 * the new one, never a torn one. They are read back whole and bounded
 * (durable_read_bounded()). The outbox is sqlite's business, not this.
 */
#ifndef SEALBENCH_SRC_DURABLE_H
#define SEALBENCH_SRC_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/**
 * @brief Write @p path with exactly @p data, durably, with mode @p mode (umask ignored).
 * @param replace false: never replace an existing file (-EEXIST; renameat2 RENAME_NOREPLACE,
 *        or link() where the file system lacks it); true: replace it atomically (rename).
 * @return 0; -EEXIST; -ENAMETOOLONG; -errno of open/write/fsync/rename. On failure the
 *         temporary file is removed and @p path is as it was.
 */
int durable_write_file(const char *path, const void *data, size_t len, mode_t mode,
		       bool replace);

/** @brief fsync the directory holding @p path (a new or removed name in it). @return 0/-errno. */
int durable_sync_parent(const char *path);

/**
 * @brief Read the whole of @p fd into @p buf, at most @p cap bytes (retries EINTR).
 * @param ret_len receives the length read; untouched on failure.
 * @return 0; -EFBIG the file holds more than @p cap bytes; -errno of read().
 */
int durable_read_bounded(int fd, char *buf, size_t cap, size_t *ret_len);

#endif
