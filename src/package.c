/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "src/package.h"

void package_reset(struct package *p)
{
	memset(p, 0, sizeof(*p));
}

const char *rule_result_to_string(enum rule_result r)
{
	static const char *const names[] = {
		[RULE_PASS] = "pass",
		[RULE_WARN] = "warn",
		[RULE_BLOCK] = "block",
		[RULE_SKIP] = "skip",
	};

	return (unsigned)r < _RULE_RESULT_MAX ? names[r] : "invalid";
}

const char *order_source_to_string(enum order_source s)
{
	static const char *const names[] = {
		[ORDER_SRC_NONE] = "pending",
		[ORDER_SRC_CENTRAL] = "central",
		[ORDER_SRC_CACHE] = "cache",
	};

	return (unsigned)s < _ORDER_SRC_MAX ? names[s] : "invalid";
}
