/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: order context from central (src/order.c). Central's answer arrives over
 * the network; any bytes must parse or be refused, and a parsed order must have a
 * NUL-terminated order_id and counts within their arrays.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "src/order.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct order_ctx o;
	int r;

	memset(&o, 0, sizeof(o));
	r = order_parse_json((const char *)data, size, &o);
	assert(r == 0 || r == -EINVAL || r == -ENOENT || r == -ENOMEM);
	if (r == 0) {
		assert(memchr(o.order_id, '\0', sizeof(o.order_id)));
		assert(o.n_skus <= PKG_SKUS_MAX);
		assert(o.n_upstream_av_failed <= PKG_CHECKS_MAX);
	}
	return 0;
}
