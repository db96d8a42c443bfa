/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the dimensional-weight rules loader (src/dimweight.c), and the
 * arithmetic on whatever rules it accepts. The input is written to a memfd and loaded
 * through /proc/self/fd, the same path the daemon takes (inih reading a FILE). Any input must
 * give 0 or -EINVAL with a "path:..." error text, never a crash, leak or sanitizer report;
 * every accepted rule must compute for any parcel within the documented limits.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "src/dimweight.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parcels every accepted rule must handle: none, tiny, typical, the largest allowed. */
static const struct dimweight_parcel parcels[] = {
	{0, 0, 0, 0},
	{1, 1, 1, 1},
	{508, 381, 254, 7257},
	{DIMWEIGHT_DIM_MAX_MM, DIMWEIGHT_DIM_MAX_MM, DIMWEIGHT_DIM_MAX_MM, 1000000},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dimweight_table *t = NULL;
	char err[DIMWEIGHT_ERR_MAX] = "";
	char path[64];
	int fd, r;

	fd = memfd_create("fuzz-dimweight", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = dimweight_load(path, &t, err, sizeof(err));
	assert(r == 0 || (r == -EINVAL && strncmp(err, path, strlen(path)) == 0));
	if (r == 0) {
		assert(dimweight_count(t) >= 1 && dimweight_count(t) <= DIMWEIGHT_RULES_MAX);
		for (unsigned i = 0; i < dimweight_count(t); i++) {
			const struct dimweight_rule *rule = dimweight_get(t, i);

			for (size_t j = 0; j < sizeof(parcels) / sizeof(parcels[0]); j++) {
				const struct dimweight_parcel *p = &parcels[j];
				struct dimweight_result res;
				int e = dimweight_apply(rule, p->l_mm, p->w_mm, p->h_mm,
							p->weight_g, &res);

				/* grams may exceed 32 bits only with extreme data (tiny divisor) */
				assert(e == 0 || e == -ERANGE);
				if (e == 0) {
					assert(res.billable_milli >= res.actual_milli);
					assert(res.billable_milli >= res.dim_milli);
					assert(res.billable_milli % rule->increment_milli == 0);
				}
			}
			(void)dimweight_find(t, rule->carrier, "Ground", rule->effective_ms);
		}
		dimweight_free(t);
	}
	close(fd);
	return 0;
}
