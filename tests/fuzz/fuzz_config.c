/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the station config and board file loaders (src/config.c). The input is
 * written to a memfd and loaded through /proc/self/fd, the same path the daemon takes (inih
 * reading a FILE). The first byte picks the loader. Any input must give 0 or -EINVAL with an
 * error text, never a crash, leak or sanitizer report.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct station_cfg st;
	static struct board_cfg b;
	char err[CONFIG_ERR_MAX] = "";
	char path[64];
	int fd, r;

	if (size < 1)
		return 0;
	fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (data[0] & 1) {
		r = board_cfg_load(path, "/run/sealbench", &b, err, sizeof(err));
		assert(r == 0 || (r == -EINVAL && err[0]));
	} else {
		r = station_cfg_load(path, &st, err, sizeof(err));
		assert(r == 0 || (r == -EINVAL && err[0]));
		if (r == 0)
			station_cfg_done(&st);
	}
	close(fd);
	return 0;
}
