/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "drivers/lights/lights_proto.h"

static const struct {
	unsigned bit;
	const char *name;
} bit_names[] = {
	{LIGHT_RED, "red"},
	{LIGHT_AMBER, "amber"},
	{LIGHT_GREEN, "green"},
	{LIGHT_BUZZER, "buzzer"},
};

#define N_BITS (sizeof(bit_names) / sizeof(bit_names[0]))

const char *lights_proto_bit_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < N_BITS; i++) {
		if (bit_names[i].bit == bit)
			return bit_names[i].name;
	}
	return NULL;
}

int lights_proto_format_mask(unsigned mask, char *buf, size_t size)
{
	size_t i, o = 0, n;

	if (!buf || size < LIGHTS_MASK_TEXT_MAX || (mask & ~LIGHTS_MASK_ALL))
		return -EINVAL;
	if (!mask) {
		strcpy(buf, "off");
		return 0;
	}
	for (i = 0; i < N_BITS; i++) {
		if (!(mask & bit_names[i].bit))
			continue;
		if (o)
			buf[o++] = ',';
		n = strlen(bit_names[i].name);
		memcpy(buf + o, bit_names[i].name, n);
		o += n;
	}
	buf[o] = '\0';
	return 0;
}

int lights_proto_parse_mask(const char *s, unsigned *ret)
{
	unsigned mask = 0;
	size_t i, len;

	if (!s || !ret)
		return -EINVAL;
	if (!strcmp(s, "off")) {
		*ret = 0;
		return 0;
	}
	for (;;) {
		len = strcspn(s, ",");
		for (i = 0; i < N_BITS; i++) {
			if (strlen(bit_names[i].name) == len && !strncmp(s, bit_names[i].name, len))
				break;
		}
		if (i == N_BITS)
			return -EBADMSG;
		mask |= bit_names[i].bit;
		if (!s[len])
			break;
		s += len + 1;
	}
	*ret = mask;
	return 0;
}
