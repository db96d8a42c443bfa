/* SPDX-License-Identifier: MIT */
/*
 * drivers/badge/badge_proto.c - Wiegand frame assembly from edges and format decoding.
 * Pure: no fd, no clock, no allocation.
 *
 * Bit positions below count from 0 = the first bit received, as in the HID format sheets.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/badge/badge_proto.h"

/* Bit @p p of an @p n-bit frame. */
static unsigned bit_at(uint64_t raw, unsigned n, unsigned p)
{
	return (unsigned)(raw >> (n - 1 - p)) & 1u;
}

/* Bits @p from .. @p from + @p len - 1 as a number, first bit most significant. */
static uint64_t field(uint64_t raw, unsigned n, unsigned from, unsigned len)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < len; i++)
		v = v << 1 | bit_at(raw, n, from + i);
	return v;
}

/* Number of ones at positions from..to (inclusive), modulo 2. */
static unsigned ones(uint64_t raw, unsigned n, unsigned from, unsigned to)
{
	unsigned p, c = 0;

	for (p = from; p <= to; p++)
		c ^= bit_at(raw, n, p);
	return c;
}

/* Even parity: the parity bit makes the count of ones over it and its range even. */
static bool even_ok(uint64_t raw, unsigned n, unsigned pbit, unsigned from, unsigned to)
{
	return (ones(raw, n, from, to) ^ bit_at(raw, n, pbit)) == 0;
}

static bool odd_ok(uint64_t raw, unsigned n, unsigned pbit, unsigned from, unsigned to)
{
	return (ones(raw, n, from, to) ^ bit_at(raw, n, pbit)) == 1;
}

/*
 * Corporate 1000 35-bit: bit 1 is even parity over bits 2..33 except every third one
 * (p % 3 == 1), bit 34 is odd parity over bits 1..32 except p % 3 == 0, and bit 0 is odd
 * parity over the whole frame.
 */
static bool c1000_ok(uint64_t raw)
{
	unsigned p, a = 0, b = 0;

	for (p = 2; p <= 33; p++) {
		if (p % 3 != 1)
			a ^= bit_at(raw, 35, p);
	}
	for (p = 1; p <= 32; p++) {
		if (p % 3 != 0)
			b ^= bit_at(raw, 35, p);
	}
	return (a ^ bit_at(raw, 35, 1)) == 0 && (b ^ bit_at(raw, 35, 34)) == 1 &&
	       ones(raw, 35, 0, 34) == 1;
}

void badge_proto_wiegand_decode(uint64_t raw, unsigned nbits, unsigned formats,
				struct badge_wiegand_frame *ret)
{
	enum badge_wiegand_format f = BADGE_WIEGAND_UNKNOWN;

	memset(ret, 0, sizeof(*ret));
	ret->nbits = nbits;
	ret->raw = raw;
	switch (nbits) {
	case 26:
		f = BADGE_WIEGAND_H10301;
		break;
	case 34:
		f = BADGE_WIEGAND_H10306;
		break;
	case 35:
		f = BADGE_WIEGAND_C1000_35;
		break;
	case 37:
		f = BADGE_WIEGAND_H10304;
		break;
	default:
		break;
	}
	if (f == BADGE_WIEGAND_UNKNOWN || !(formats & (1u << f)))
		return;
	ret->format = f;
	switch (f) {
	case BADGE_WIEGAND_H10301:
		ret->facility = (uint32_t)field(raw, 26, 1, 8);
		ret->card = field(raw, 26, 9, 16);
		ret->parity_ok = even_ok(raw, 26, 0, 1, 12) && odd_ok(raw, 26, 25, 13, 24);
		break;
	case BADGE_WIEGAND_H10306:
		ret->facility = (uint32_t)field(raw, 34, 1, 16);
		ret->card = field(raw, 34, 17, 16);
		ret->parity_ok = even_ok(raw, 34, 0, 1, 16) && odd_ok(raw, 34, 33, 17, 32);
		break;
	case BADGE_WIEGAND_C1000_35:
		ret->facility = (uint32_t)field(raw, 35, 2, 12);
		ret->card = field(raw, 35, 14, 20);
		ret->parity_ok = c1000_ok(raw);
		break;
	case BADGE_WIEGAND_H10304:
		ret->facility = (uint32_t)field(raw, 37, 1, 16);
		ret->card = field(raw, 37, 17, 19);
		ret->parity_ok = even_ok(raw, 37, 0, 1, 18) && odd_ok(raw, 37, 36, 18, 35);
		break;
	case BADGE_WIEGAND_UNKNOWN:
	case _BADGE_WIEGAND_MAX:
		break;
	}
	ret->valid = ret->parity_ok;
}

const char *badge_proto_wiegand_format_name(enum badge_wiegand_format f)
{
	switch (f) {
	case BADGE_WIEGAND_H10301:
		return "H10301";
	case BADGE_WIEGAND_H10306:
		return "H10306";
	case BADGE_WIEGAND_C1000_35:
		return "C1000-35";
	case BADGE_WIEGAND_H10304:
		return "H10304";
	case BADGE_WIEGAND_UNKNOWN:
	case _BADGE_WIEGAND_MAX:
		break;
	}
	return "unknown";
}

int badge_proto_parse_formats(const char *text, unsigned *ret)
{
	unsigned set = 0;
	const char *p;
	char *end;
	long v;

	if (!text || !ret)
		return -EINVAL;
	for (p = text; *p;) {
		if (*p == ',' || *p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = strtol(p, &end, 10);
		if (*end && *end != ',' && *end != ' ' && *end != '\t')
			return -EINVAL;
		switch (v) {
		case 26:
			set |= 1u << BADGE_WIEGAND_H10301;
			break;
		case 34:
			set |= 1u << BADGE_WIEGAND_H10306;
			break;
		case 35:
			set |= 1u << BADGE_WIEGAND_C1000_35;
			break;
		case 37:
			set |= 1u << BADGE_WIEGAND_H10304;
			break;
		default:
			return -EINVAL;
		}
		p = end;
	}
	*ret = set ? set : BADGE_WIEGAND_FORMATS_ALL;
	return 0;
}

int badge_proto_wiegand_id(const struct badge_wiegand_frame *f, char *buf, size_t len)
{
	int n;

	if (!f || !buf || !f->valid)
		return -EINVAL;
	n = snprintf(buf, len, "%" PRIu32 "-%" PRIu64, f->facility, f->card);
	if (n < 0 || (size_t)n >= len)
		return -ENOBUFS;
	return 0;
}

/* ---- frame assembly ------------------------------------------------------------------- */

void badge_wiegand_init(struct badge_wiegand *w, uint64_t gap_ns, unsigned formats)
{
	memset(w, 0, sizeof(*w));
	w->gap_ns = gap_ns;
	w->formats = formats;
}

/* End the frame being received; @return 0 and *ret, -EAGAIN when no bit came. */
static int wiegand_end(struct badge_wiegand *w, struct badge_wiegand_frame *ret)
{
	bool had_bits = w->nbits > 0;
	unsigned kept;

	w->active = false;
	if (had_bits) {
		kept = w->nbits < BADGE_WIEGAND_BITS_MAX ? w->nbits : BADGE_WIEGAND_BITS_MAX;
		badge_proto_wiegand_decode(w->raw, w->nbits, w->formats, ret);
		/* an overrun keeps only the first 64 bits: no format fits it */
		if (w->nbits > kept)
			ret->format = BADGE_WIEGAND_UNKNOWN;
		ret->corrupt = w->corrupt || w->nbits > kept;
		ret->valid = ret->valid && !ret->corrupt && ret->format != BADGE_WIEGAND_UNKNOWN;
		ret->t_ns = w->first_ns;
		ret->end_ns = w->last_ns;
		if (ret->valid)
			w->stats.frames++;
		else if (w->corrupt)
			w->stats.corrupt++;
		else if (ret->format == BADGE_WIEGAND_UNKNOWN)
			w->stats.bad_length++;
		else
			w->stats.bad_parity++;
	}
	w->raw = 0;
	w->nbits = 0;
	w->corrupt = false;
	return had_bits ? 0 : -EAGAIN;
}

int badge_wiegand_expire(struct badge_wiegand *w, uint64_t now_ns, struct badge_wiegand_frame *ret)
{
	if (!w->active || now_ns <= w->last_ns || now_ns - w->last_ns <= w->gap_ns)
		return -EAGAIN;
	return wiegand_end(w, ret);
}

uint64_t badge_wiegand_deadline(const struct badge_wiegand *w)
{
	return w->active ? w->last_ns + w->gap_ns + 1 : 0;
}

static void wiegand_edge(struct badge_wiegand *w, const struct badge_wiegand_edge *e)
{
	unsigned line = e->line ? 1 : 0;

	if (!w->active) {
		w->active = true;
		w->first_ns = e->t_ns;
	}
	w->last_ns = e->t_ns;
	if (e->lost)
		w->corrupt = true;
	if (e->rising) {
		w->low[line] = false;
		return;
	}
	if (w->low[!line])
		w->corrupt = true; /* both lines low: wiring or noise */
	w->low[line] = true;
	if (w->nbits < BADGE_WIEGAND_BITS_MAX)
		w->raw = w->raw << 1 | line;
	w->nbits++;
}

int badge_wiegand_run(struct badge_wiegand *w, const struct badge_wiegand_edge *edges, size_t n,
		      size_t *pos, struct badge_wiegand_frame *ret)
{
	int r;

	while (*pos < n) {
		/* A gap before this edge ends the previous frame; the edge stays unread. */
		r = badge_wiegand_expire(w, edges[*pos].t_ns, ret);
		if (r == 0)
			return 0;
		wiegand_edge(w, &edges[*pos]);
		(*pos)++;
	}
	return -EAGAIN;
}

int badge_proto_wiegand_line(const char *line, unsigned *ret_offset, uint64_t *ret_t_ns,
			     bool *ret_rising)
{
	unsigned long off;
	unsigned long long us;
	const char *p = line;
	char *end;
	bool rising;
	size_t n;

	if (!line || !ret_offset || !ret_t_ns || !ret_rising)
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#' || *p == '\n' || *p == '\r')
		return -ENOMSG;
	if (*p < '0' || *p > '9')
		return -EBADMSG;
	errno = 0;
	off = strtoul(p, &end, 10);
	if (errno || end == p || off > 1023 || (*end != ' ' && *end != '\t'))
		return -EBADMSG;
	p = end;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return -EBADMSG;
	us = strtoull(p, &end, 10);
	if (errno || end == p || us > UINT64_MAX / 1000ULL || (*end != ' ' && *end != '\t'))
		return -EBADMSG;
	p = end;
	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, " \t\r\n#");
	if (n == 7 && !strncmp(p, "falling", 7))
		rising = false;
	else if (n == 6 && !strncmp(p, "rising", 6))
		rising = true;
	else
		return -EBADMSG;
	p += n;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p && *p != '#')
		return -EBADMSG;
	*ret_offset = (unsigned)off;
	*ret_t_ns = us * 1000ULL;
	*ret_rising = rising;
	return 0;
}
