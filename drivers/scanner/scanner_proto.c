/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "drivers/scanner/scanner_proto.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int scanner_proto_unescape(const char *in, size_t len, char *out, size_t out_max, size_t *ret_len)
{
	size_t i, o = 0;
	int hi, lo;
	char c;

	if (!in || !out || !ret_len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		c = in[i];
		if (c == '\\') {
			if (++i == len)
				return -EBADMSG;
			switch (in[i]) {
			case '\\':
				c = '\\';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'x':
				if (len - i < 3)
					return -EBADMSG;
				hi = hexval(in[i + 1]);
				lo = hexval(in[i + 2]);
				if (hi < 0 || lo < 0)
					return -EBADMSG;
				c = (char)(hi << 4 | lo);
				i += 2;
				break;
			default:
				return -EBADMSG;
			}
		}
		if (o == out_max)
			return -EMSGSIZE;
		out[o++] = c;
	}
	out[o] = '\0';
	*ret_len = o;
	return 0;
}
