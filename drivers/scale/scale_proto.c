/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scale/scale_proto.h"

/** Most tokens a sim line may carry: grams, motion flag, status. */
#define SIM_TOKENS_MAX 3
/** Longest token kept for comparison ("stable", "motion", "fault" and digits fit). */
#define SIM_TOKEN_MAX 16

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Split @p line into at most SIM_TOKENS_MAX blank-separated tokens. @return count or -EBADMSG. */
static int tokenize(const char *line, char tok[SIM_TOKENS_MAX][SIM_TOKEN_MAX + 1])
{
	const char *p = skip_blanks(line);
	int n = 0;

	while (*p) {
		size_t len = strcspn(p, " \t");

		if (n == SIM_TOKENS_MAX || len > SIM_TOKEN_MAX)
			return -EBADMSG;
		memcpy(tok[n], p, len);
		tok[n][len] = '\0';
		n++;
		p = skip_blanks(p + len);
	}
	return n;
}

int scale_proto_parse_sim(const char *line, struct scale_reading *ret)
{
	char tok[SIM_TOKENS_MAX][SIM_TOKEN_MAX + 1];
	enum scale_status status = SCALE_OK;
	char *end;
	bool stable;
	long grams;
	int n;

	if (!line || !ret)
		return -EINVAL;
	n = tokenize(line, tok);
	if (n < 2)
		return -EBADMSG;

	errno = 0;
	grams = strtol(tok[0], &end, 10);
	if (errno || end == tok[0] || *end || grams < INT32_MIN || grams > INT32_MAX)
		return -EBADMSG;

	if (!strcmp(tok[1], "stable"))
		stable = true;
	else if (!strcmp(tok[1], "motion"))
		stable = false;
	else
		return -EBADMSG;

	if (n == 3) {
		if (!strcmp(tok[2], "over"))
			status = SCALE_OVER_LIMIT;
		else if (!strcmp(tok[2], "under"))
			status = SCALE_UNDER_ZERO;
		else if (!strcmp(tok[2], "fault"))
			status = SCALE_FAULT;
		else
			return -EBADMSG;
	}

	ret->grams = (int32_t)grams;
	ret->stable = stable;
	ret->status = status;
	return 0;
}

/* ---- names ---------------------------------------------------------------------------- */

static const char *const unit_names[_SCALE_UNIT_MAX] = {
	[SCALE_UNIT_NONE] = "units", [SCALE_UNIT_MG] = "mg",   [SCALE_UNIT_G] = "g",
	[SCALE_UNIT_KG] = "kg",	     [SCALE_UNIT_CT] = "ct",   [SCALE_UNIT_TAEL] = "tael",
	[SCALE_UNIT_GR] = "gr",	     [SCALE_UNIT_DWT] = "dwt", [SCALE_UNIT_TONNE] = "t",
	[SCALE_UNIT_TON] = "ton",    [SCALE_UNIT_OZT] = "ozt", [SCALE_UNIT_OZ] = "oz",
	[SCALE_UNIT_LB] = "lb",
};

const char *scale_unit_name(enum scale_unit u)
{
	return (int)u >= 0 && u < _SCALE_UNIT_MAX ? unit_names[u] : "?";
}

static const char *const status_names[_SCALE_STATUS_MAX] = {
	[SCALE_OK] = "ok",
	[SCALE_UNDER_ZERO] = "under_zero",
	[SCALE_OVER_LIMIT] = "over_limit",
	[SCALE_FAULT] = "fault",
	[SCALE_NEEDS_CALIBRATION] = "needs_calibration",
	[SCALE_NEEDS_REZERO] = "needs_rezero",
};

const char *scale_status_name(enum scale_status st)
{
	return (int)st >= 0 && st < _SCALE_STATUS_MAX ? status_names[st] : "?";
}

/* ---- exact conversion ----------------------------------------------------------------- */

/*
 * Grams per unit as an exact fraction num/den. Every definition is a terminating decimal
 * (the pound is 0.45359237 kg by the 1959 agreement; the grain is 1/7000 lb), so no unit
 * needs rounding before the one final rounding in scale_proto_to_grams().
 */
static const struct {
	int64_t num;
	int64_t den;
} unit_grams[_SCALE_UNIT_MAX] = {
	[SCALE_UNIT_MG] = {1, 1000},
	[SCALE_UNIT_G] = {1, 1},
	[SCALE_UNIT_KG] = {1000, 1},
	[SCALE_UNIT_CT] = {1, 5},
	[SCALE_UNIT_GR] = {6479891, 100000000},
	[SCALE_UNIT_DWT] = {155517384, 100000000},
	[SCALE_UNIT_TONNE] = {1000000, 1},
	[SCALE_UNIT_TON] = {90718474, 100},
	[SCALE_UNIT_OZT] = {311034768, 10000000},
	[SCALE_UNIT_OZ] = {28349523125LL, 1000000000},
	[SCALE_UNIT_LB] = {45359237, 100000},
};

/* Above this denominator the quotient of any numerator we build (< 2^96) rounds to 0. */
#define DEN_CAP ((unsigned __int128)1 << 100)

int scale_proto_to_grams(int64_t mantissa, int exp10, enum scale_unit unit, int32_t *ret_grams)
{
	unsigned __int128 n, d, q, rem, limit;
	bool neg = mantissa < 0;
	int i;

	if (!ret_grams)
		return -EINVAL;
	if ((int)unit < 0 || unit >= _SCALE_UNIT_MAX || unit_grams[unit].den == 0)
		return -EDOM;
	/* |mantissa| < 2^63 and num < 2^35: the product fits 98 bits. */
	n = (unsigned __int128)(neg ? -(uint64_t)mantissa : (uint64_t)mantissa) *
	    (uint64_t)unit_grams[unit].num;
	d = (uint64_t)unit_grams[unit].den;
	/* The largest magnitude that still rounds into int32 (INT32_MIN for negatives). */
	limit = (unsigned __int128)INT32_MAX + (neg ? 1 : 0);
	for (i = 0; i < exp10; i++) {
		if (n / d > limit)
			return -ERANGE;
		n *= 10; /* n <= (limit + 1) * d * 10 < 2^70: no overflow */
	}
	for (i = 0; i > exp10 && d < DEN_CAP; i--)
		d *= 10;
	if (d >= DEN_CAP) {
		*ret_grams = 0;
		return 0;
	}
	q = n / d;
	rem = n % d;
	if (rem >= d - rem) /* 2 * rem >= d without overflow: ties away from zero */
		q++;
	if (q > limit)
		return -ERANGE;
	*ret_grams = neg ? (int32_t)(-(int64_t)q) : (int32_t)q;
	return 0;
}

/* Most significant digits a weight may have (10^18 < 2^63). */
#define DECIMAL_DIGITS_MAX 18

int scale_proto_parse_decimal(const char *s, size_t len, int64_t *ret_mantissa, int *ret_exp10)
{
	const char *p = s, *end = s + len;
	int64_t m = 0;
	int digits = 0, exp10 = 0;
	bool neg = false, dot = false;

	if (!s || !ret_mantissa || !ret_exp10)
		return -EBADMSG;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	for (; p < end; p++) {
		if (*p == '.' && !dot) {
			dot = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		if (++digits > DECIMAL_DIGITS_MAX)
			return -EBADMSG;
		m = m * 10 + (*p - '0');
		if (dot)
			exp10--;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (digits == 0 || p != end)
		return -EBADMSG;
	*ret_mantissa = neg ? -m : m;
	*ret_exp10 = exp10;
	return 0;
}

/* ---- serial framing -------------------------------------------------------------------- */

static const char *const proto_names[_SCALE_PROTO_MAX] = {
	[SCALE_PROTO_MTSICS] = "mtsics",
	[SCALE_PROTO_SCP01] = "scp01",
};

enum scale_proto_id scale_proto_from_name(const char *name)
{
	int i;

	for (i = 0; name && i < _SCALE_PROTO_MAX; i++) {
		if (!strcmp(name, proto_names[i]))
			return (enum scale_proto_id)i;
	}
	return _SCALE_PROTO_INVALID;
}

const char *scale_proto_name(enum scale_proto_id p)
{
	return (int)p >= 0 && p < _SCALE_PROTO_MAX ? proto_names[p] : "?";
}

#define ETX 0x03

int scale_proto_frame(enum scale_proto_id p, const uint8_t *buf, size_t len)
{
	const uint8_t *t;
	size_t scan = len < SCALE_FRAME_MAX ? len : SCALE_FRAME_MAX;

	if (!buf || (int)p < 0 || p >= _SCALE_PROTO_MAX)
		return -EINVAL;
	t = memchr(buf, p == SCALE_PROTO_MTSICS ? '\n' : ETX, scan);
	if (t)
		return (int)(t - buf) + 1;
	return len >= SCALE_FRAME_MAX ? -EMSGSIZE : 0;
}

static const char *const requests[_SCALE_PROTO_MAX][_SCALE_REQ_MAX] = {
	[SCALE_PROTO_MTSICS] = {[SCALE_REQ_POLL] = "SI\r\n",
				[SCALE_REQ_ZERO] = "Z\r\n",
				[SCALE_REQ_IDENT] = "I2\r\n"},
	[SCALE_PROTO_SCP01] = {[SCALE_REQ_POLL] = "W\r", [SCALE_REQ_ZERO] = "Z\r"},
};

const char *scale_proto_request(enum scale_proto_id p, enum scale_proto_req r)
{
	if ((int)p < 0 || p >= _SCALE_PROTO_MAX || (int)r < 0 || r >= _SCALE_REQ_MAX)
		return NULL;
	return requests[p][r];
}

/* ---- MT-SICS ----------------------------------------------------------------------------- */

/*
 * MT-SICS (Mettler Toledo Standard Interface Command Set) answers every command with one or
 * more lines "<cmd> <status> [<value> <unit>]" CR LF:
 *   S / SI / SIR -> "S S <w> <u>" stable, "S D <w> <u>" dynamic (SI/SIR only), "S I" not
 *                   executable now (busy, or no stability within the timeout), "S +"
 *                   overload, "S -" underload
 *   Z            -> "Z A" zeroed, "Z I" not executed, "Z +" / "Z -" outside the zero range
 *   T            -> "T S <w> <u>" tared, "T I", "T +", "T -"
 *   I2 / I3      -> "I2 A \"text\""
 *   anything     -> "ES" syntax error, "ET" transmission error, "EL" logical error
 * Values are right-aligned in a 10-character field with the sign attached.
 */

static const struct {
	const char *text;
	enum scale_unit unit;
} mtsics_units[] = {
	{"g", SCALE_UNIT_G},	 {"kg", SCALE_UNIT_KG},	  {"mg", SCALE_UNIT_MG},
	{"ct", SCALE_UNIT_CT},	 {"lb", SCALE_UNIT_LB},	  {"oz", SCALE_UNIT_OZ},
	{"ozt", SCALE_UNIT_OZT}, {"dwt", SCALE_UNIT_DWT}, {"GN", SCALE_UNIT_GR},
	{"t", SCALE_UNIT_TONNE},
};

static int unit_from_text(const char *t, enum scale_unit *ret)
{
	size_t i;

	for (i = 0; i < sizeof(mtsics_units) / sizeof(mtsics_units[0]); i++) {
		if (!strcmp(t, mtsics_units[i].text)) {
			*ret = mtsics_units[i].unit;
			return 0;
		}
	}
	return -EBADMSG;
}

/* Copy [p, p+n) into a NUL-terminated buffer of @p size; -EBADMSG if it does not fit. */
static int copy_tok(char *dst, size_t size, const char *p, size_t n)
{
	if (n >= size)
		return -EBADMSG;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

static bool all_printable(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return false;
	}
	return true;
}

/* Parse "<value> <unit>" at [p, end) into grams and unit text. */
static int mtsics_weight(const char *p, const char *end, struct scale_mtsics_resp *m)
{
	const char *u;
	enum scale_unit unit;
	int64_t mant;
	int exp10, r;

	while (end > p && end[-1] == ' ')
		end--;
	u = end;
	while (u > p && u[-1] != ' ')
		u--;
	if (u == p || u == end)
		return -EBADMSG; /* need both a value and a unit */
	r = copy_tok(m->unit, sizeof(m->unit), u, (size_t)(end - u));
	if (r < 0)
		return r;
	if (unit_from_text(m->unit, &unit) < 0)
		return -EBADMSG;
	r = scale_proto_parse_decimal(p, (size_t)(u - p), &mant, &exp10);
	if (r < 0)
		return r;
	r = scale_proto_to_grams(mant, exp10, unit, &m->grams);
	if (r < 0)
		return r == -ERANGE ? r : -EBADMSG;
	m->has_weight = true;
	return 0;
}

int scale_proto_mtsics_parse(const char *line, size_t len, struct scale_mtsics_resp *ret)
{
	struct scale_mtsics_resp m = {0};
	const char *p, *end, *q;
	size_t n;
	int r;

	if (!line || !ret)
		return -EINVAL;
	end = line + len;
	while (end > line && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (end == line || !all_printable(line, (size_t)(end - line)))
		return -EBADMSG;
	p = line;
	q = memchr(p, ' ', (size_t)(end - p));
	n = q ? (size_t)(q - p) : (size_t)(end - p);
	if (copy_tok(m.cmd, sizeof(m.cmd), p, n) < 0)
		return -EBADMSG;
	for (q = m.cmd; *q; q++) {
		if (!((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')))
			return -EBADMSG;
	}
	p += n;

	/* Errors stand alone. */
	if (!strcmp(m.cmd, "ES") || !strcmp(m.cmd, "ET") || !strcmp(m.cmd, "EL")) {
		if (p != end)
			return -EBADMSG;
		*ret = m;
		return 0;
	}
	if (p == end || *p != ' ' || p + 1 == end)
		return -EBADMSG;
	m.status = p[1];
	p += 2;
	if (!strchr("SDAI+-BL", m.status))
		return -EBADMSG;
	if (p != end && *p != ' ')
		return -EBADMSG; /* the status is one character */

	if (!strcmp(m.cmd, "S") || !strcmp(m.cmd, "T")) {
		if (m.status == 'S' || (m.status == 'D' && m.cmd[0] == 'S')) {
			r = mtsics_weight(p, end, &m);
			if (r < 0)
				return r;
		} else if (strchr("I+-", m.status) && p == end) {
			/* no value */
		} else {
			return -EBADMSG;
		}
	} else if (!strcmp(m.cmd, "Z")) {
		if (!strchr("AI+-", m.status) || p != end)
			return -EBADMSG;
	} else if (m.cmd[0] == 'I' && m.status == 'A') {
		/* Identification: I2 A "text" */
		while (p < end && *p == ' ')
			p++;
		if (end - p < 2 || *p != '"' || end[-1] != '"')
			return -EBADMSG;
		if (copy_tok(m.text, sizeof(m.text), p + 1, (size_t)(end - p - 2)) < 0)
			return -EBADMSG;
	}
	/* Other commands (SIR's own echo lines, D, @ ...) are accepted as they are. */
	*ret = m;
	return 0;
}

/* MT-SICS response -> reading (see scale_proto_parse_frame()). */
static int mtsics_reading(const struct scale_mtsics_resp *m, struct scale_reading *ret)
{
	if (m->cmd[0] == 'E' && !m->status)
		return -EPROTO;
	if (!strcmp(m->cmd, "Z"))
		return m->status == 'A' ? -EAGAIN : -EPROTO;
	if (strcmp(m->cmd, "S"))
		return -EAGAIN; /* T S, I2 A ...: no reading */
	switch (m->status) {
	case 'S':
	case 'D':
		ret->grams = m->grams;
		ret->stable = m->status == 'S';
		ret->status = SCALE_OK;
		return 0;
	case '+':
		ret->grams = 0;
		ret->stable = false;
		ret->status = SCALE_OVER_LIMIT;
		return 0;
	case '-':
		ret->grams = 0;
		ret->stable = false;
		ret->status = SCALE_UNDER_ZERO;
		return 0;
	default:
		return -EAGAIN; /* S I: busy, ask again */
	}
}

/* ---- SCP-01 -------------------------------------------------------------------------- */

/*
 * NCI / Avery Weigh-Tronix SCP-01 ("NCI protocol"). Commands end with CR; answers are frames
 *   W -> LF <weight><unit> CR LF <status bytes> CR ETX
 *   S -> LF <status bytes> CR ETX          Z -> the same, after zeroing
 *   anything else -> LF ? CR ETX
 * Status bytes are printable: bits 4 and 5 are always 1 (0x30), bit 7 is parity.
 *   byte 1: b0 in motion, b1 at zero, b2 RAM error, b3 EEPROM error, b6 always 0
 *   byte 2: b0 under capacity, b1 over capacity, b2 ROM error, b3 faulty calibration,
 *           b6 "another byte follows"
 *   byte 3 (optional): b0-1 range (11 = high), b2 net weight, b3 initial zero error
 *   byte 4 (optional): b0 weight changed, b1 zero seen, b2 metric (kept raw, not decoded)
 * The weight field: sign, digits with the display's decimal point, then the unit (lb, kg,
 * oz, g), blank-padded. Over or under capacity frames may carry dashes instead of digits.
 */

#define SCP01_FIXED_BITS 0x30
#define SCP01_FLAGS_MASK 0x0f

static int scp01_status(const uint8_t *p, size_t n, struct scale_scp01_resp *m)
{
	size_t i;
	uint8_t b;

	if (n < 1 || n > SCALE_SCP01_STATUS_MAX)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		b = p[i] & 0x7f;
		if ((b & SCP01_FIXED_BITS) != SCP01_FIXED_BITS)
			return -EBADMSG;
		if (i == 0 && (b & 0x40))
			return -EBADMSG;
		m->status[i] = b;
	}
	m->n_status = (unsigned)n;
	b = m->status[0];
	m->flags |= (b & 1 ? SCP01_MOTION : 0) | (b & 2 ? SCP01_AT_ZERO : 0) |
		    (b & 4 ? SCP01_RAM_ERROR : 0) | (b & 8 ? SCP01_EEPROM_ERROR : 0);
	if (n >= 2) {
		b = m->status[1];
		m->flags |= (b & 1 ? SCP01_UNDER : 0) | (b & 2 ? SCP01_OVER : 0) |
			    (b & 4 ? SCP01_ROM_ERROR : 0) | (b & 8 ? SCP01_CAL_ERROR : 0);
	}
	if (n >= 3) {
		b = m->status[2];
		m->flags |= ((b & 3) == 3 ? SCP01_HIGH_RANGE : 0) | (b & 4 ? SCP01_NET : 0) |
			    (b & 8 ? SCP01_INIT_ZERO_ERROR : 0);
	}
	return 0;
}

static const struct {
	const char *text;
	enum scale_unit unit;
} scp01_units[] = {
	{"lb", SCALE_UNIT_LB},
	{"kg", SCALE_UNIT_KG},
	{"oz", SCALE_UNIT_OZ},
	{"g", SCALE_UNIT_G},
};

static int scp01_weight(const uint8_t *p, size_t n, struct scale_scp01_resp *m)
{
	const char *s = (const char *)p;
	size_t i, ulen = 0, vlen = n;
	int64_t mant;
	int exp10, r;

	if (!all_printable(s, n))
		return -EBADMSG;
	while (vlen && s[vlen - 1] == ' ')
		vlen--;
	for (i = 0; i < sizeof(scp01_units) / sizeof(scp01_units[0]); i++) {
		ulen = strlen(scp01_units[i].text);
		if (vlen > ulen && !memcmp(s + vlen - ulen, scp01_units[i].text, ulen)) {
			m->unit = scp01_units[i].unit;
			break;
		}
	}
	if (i == sizeof(scp01_units) / sizeof(scp01_units[0]))
		return -EBADMSG;
	r = scale_proto_parse_decimal(s, vlen - ulen, &mant, &exp10);
	if (r < 0)
		return r;
	r = scale_proto_to_grams(mant, exp10, m->unit, &m->grams);
	if (r < 0)
		return r;
	m->has_weight = true;
	return 0;
}

int scale_proto_scp01_parse(const uint8_t *frame, size_t len, struct scale_scp01_resp *ret)
{
	struct scale_scp01_resp m = {0};
	const uint8_t *p, *end, *cr1, *lf2;
	int r;

	if (!frame || !ret)
		return -EINVAL;
	p = memchr(frame, '\n', len);
	if (!p || len < 4 || frame[len - 1] != ETX || frame[len - 2] != '\r')
		return -EBADMSG;
	p++;
	end = frame + len - 2; /* the final CR */
	if (end - p == 1 && *p == '?') {
		m.kind = SCP01_UNRECOGNIZED;
		*ret = m;
		return 0;
	}
	cr1 = memchr(p, '\r', (size_t)(end - p));
	if (!cr1) {
		/* LF <status> CR ETX */
		m.kind = SCP01_STATUS;
		r = scp01_status(p, (size_t)(end - p), &m);
		if (r < 0)
			return r;
		*ret = m;
		return 0;
	}
	/* LF <weight> CR LF <status> CR ETX */
	lf2 = cr1 + 1;
	if (lf2 >= end || *lf2 != '\n')
		return -EBADMSG;
	m.kind = SCP01_WEIGHT;
	r = scp01_status(lf2 + 1, (size_t)(end - lf2 - 1), &m);
	if (r < 0)
		return r;
	r = scp01_weight(p, (size_t)(cr1 - p), &m);
	if (r == -ERANGE)
		return r;
	if (r < 0 && !(m.flags & (SCP01_OVER | SCP01_UNDER)))
		return -EBADMSG; /* dashes are fine only when the status explains them */
	*ret = m;
	return 0;
}

static int scp01_reading(const struct scale_scp01_resp *m, struct scale_reading *ret)
{
	enum scale_status st = SCALE_OK;

	if (m->kind == SCP01_UNRECOGNIZED)
		return -EPROTO;
	if (m->kind != SCP01_WEIGHT)
		return -EAGAIN;
	if (m->flags & (SCP01_RAM_ERROR | SCP01_EEPROM_ERROR | SCP01_ROM_ERROR))
		st = SCALE_FAULT;
	else if (m->flags & SCP01_CAL_ERROR)
		st = SCALE_NEEDS_CALIBRATION;
	else if (m->flags & SCP01_INIT_ZERO_ERROR)
		st = SCALE_NEEDS_REZERO;
	else if (m->flags & SCP01_OVER)
		st = SCALE_OVER_LIMIT;
	else if (m->flags & SCP01_UNDER)
		st = SCALE_UNDER_ZERO;
	ret->grams = m->has_weight ? m->grams : 0;
	ret->stable = !(m->flags & SCP01_MOTION);
	ret->status = st;
	return 0;
}

int scale_proto_parse_frame(enum scale_proto_id p, const uint8_t *frame, size_t len,
			    struct scale_reading *ret)
{
	struct scale_mtsics_resp m;
	struct scale_scp01_resp s;
	struct scale_reading rd = {0};
	int r;

	if (!frame || !ret)
		return -EINVAL;
	switch (p) {
	case SCALE_PROTO_MTSICS:
		r = scale_proto_mtsics_parse((const char *)frame, len, &m);
		if (r < 0)
			return -EBADMSG;
		r = mtsics_reading(&m, &rd);
		break;
	case SCALE_PROTO_SCP01:
		r = scale_proto_scp01_parse(frame, len, &s);
		if (r < 0)
			return -EBADMSG;
		r = scp01_reading(&s, &rd);
		break;
	default:
		return -EINVAL;
	}
	if (r < 0)
		return r;
	rd.t_ns = ret->t_ns;
	*ret = rd;
	return 0;
}

/* ---- USB HID POS ------------------------------------------------------------------------ */

int scale_proto_hid_parse(const uint8_t *report, size_t len, struct scale_hid_data *ret)
{
	if (!report || !ret)
		return -EINVAL;
	if (len < SCALE_HID_DATA_LEN || report[0] != SCALE_HID_REPORT_ID_DATA)
		return -EBADMSG;
	if (report[1] < SCALE_HID_FAULT || report[1] > SCALE_HID_NEEDS_REZERO)
		return -EBADMSG;
	ret->status = report[1];
	ret->unit = report[2];
	ret->exp10 = (int8_t)report[3];
	ret->raw = (uint16_t)(report[4] | report[5] << 8);
	return 0;
}

int scale_proto_hid_reading(const struct scale_hid_data *d, struct scale_reading *ret)
{
	static const enum scale_status map[] = {
		[SCALE_HID_FAULT] = SCALE_FAULT,
		[SCALE_HID_AT_ZERO] = SCALE_OK,
		[SCALE_HID_MOTION] = SCALE_OK,
		[SCALE_HID_STABLE] = SCALE_OK,
		[SCALE_HID_UNDER_ZERO] = SCALE_UNDER_ZERO,
		[SCALE_HID_OVER_LIMIT] = SCALE_OVER_LIMIT,
		[SCALE_HID_NEEDS_CALIBRATION] = SCALE_NEEDS_CALIBRATION,
		[SCALE_HID_NEEDS_REZERO] = SCALE_NEEDS_REZERO,
	};
	int32_t g;
	int r;

	if (!d || !ret)
		return -EINVAL;
	if (d->status < SCALE_HID_FAULT || d->status > SCALE_HID_NEEDS_REZERO)
		return -EBADMSG;
	r = scale_proto_to_grams(d->raw, d->exp10, (enum scale_unit)d->unit, &g);
	if (r < 0)
		return r;
	ret->grams = d->status == SCALE_HID_UNDER_ZERO ? -g : g;
	ret->stable = d->status == SCALE_HID_AT_ZERO || d->status == SCALE_HID_STABLE;
	ret->status = map[d->status];
	return 0;
}

/*
 * HID report descriptor scan. Items are a prefix byte (size in bits 0-1 where 3 means 4
 * bytes, type in bits 2-3, tag in bits 4-7) and 0..4 data bytes; 0xFE starts a long item.
 * We track what is needed to find the scale: the global usage page, report size, count and
 * ID (with push/pop), the local usages, the application collection's usage, and a running
 * bit offset per report ID and direction, to locate Zero Scale (0x8D:0x80) inside an output
 * or feature report.
 */

#define HID_TYPE_MAIN		   0
#define HID_TYPE_GLOBAL		   1
#define HID_TYPE_LOCAL		   2
#define HID_MAIN_INPUT		   0x8
#define HID_MAIN_OUTPUT		   0x9
#define HID_MAIN_COLLECTION	   0xA
#define HID_MAIN_FEATURE	   0xB
#define HID_MAIN_END_COLLECTION	   0xC
#define HID_GLOBAL_USAGE_PAGE	   0x0
#define HID_GLOBAL_REPORT_SIZE	   0x7
#define HID_GLOBAL_REPORT_ID	   0x8
#define HID_GLOBAL_REPORT_COUNT	   0x9
#define HID_GLOBAL_PUSH		   0xA
#define HID_GLOBAL_POP		   0xB
#define HID_LOCAL_USAGE		   0x0
#define HID_LOCAL_USAGE_MIN	   0x1
#define HID_LOCAL_USAGE_MAX	   0x2
#define HID_COLLECTION_APPLICATION 1
#define HID_MAIN_CONSTANT	   0x01
#define HID_USAGE_ZERO_SCALE	   ((uint32_t)SCALE_HID_USAGE_PAGE << 16 | 0x80)

/** Push/pop nesting we follow (the spec sets no limit; real descriptors use one or two). */
#define HID_STACK_MAX 4
/** Local usages kept per main item (the rest are ignored). */
#define HID_USAGES_MAX 32
/** Directions with report bit offsets: input, output, feature. */
#define HID_DIRS 3
/** Report IDs are one byte. */
#define HID_REPORT_IDS 256

struct hid_globals {
	uint32_t usage_page;
	uint32_t report_size;
	uint32_t report_count;
	uint32_t report_id;
};

struct hid_scan {
	struct hid_globals g, stack[HID_STACK_MAX];
	unsigned sp;
	uint32_t usages[HID_USAGES_MAX];
	unsigned n_usages;
	uint32_t umin, umax;
	bool has_range;
	unsigned depth;
	uint32_t bits[HID_DIRS][HID_REPORT_IDS];
};

static uint32_t full_usage(const struct hid_scan *h, uint32_t v, unsigned size)
{
	return size == 4 ? v : (h->g.usage_page << 16 | v);
}

/* Whether the main item's usage list puts Zero Scale at field index @p ret_idx. */
static bool find_zero(const struct hid_scan *h, uint32_t *ret_idx)
{
	unsigned i;

	for (i = 0; i < h->n_usages; i++) {
		if (h->usages[i] == HID_USAGE_ZERO_SCALE) {
			*ret_idx = i;
			return true;
		}
	}
	if (h->has_range && h->umin <= HID_USAGE_ZERO_SCALE && HID_USAGE_ZERO_SCALE <= h->umax) {
		*ret_idx = HID_USAGE_ZERO_SCALE - h->umin;
		return true;
	}
	return false;
}

static void main_item(struct hid_scan *h, unsigned tag, uint32_t v, struct scale_hid_desc *d)
{
	unsigned dir = tag == HID_MAIN_INPUT ? 0 : tag == HID_MAIN_OUTPUT ? 1 : 2;
	uint32_t *bits = &h->bits[dir][h->g.report_id & 0xff];
	uint32_t idx, width = h->g.report_size * h->g.report_count;
	enum scale_hid_zero kind =
		tag == HID_MAIN_OUTPUT ? SCALE_HID_ZERO_OUTPUT : SCALE_HID_ZERO_FEATURE;

	if (tag == HID_MAIN_INPUT && h->g.report_id == SCALE_HID_REPORT_ID_DATA && d->is_scale)
		d->has_data_report = true;
	if (tag != HID_MAIN_INPUT && !(v & HID_MAIN_CONSTANT) && find_zero(h, &idx) &&
	    d->zero != SCALE_HID_ZERO_OUTPUT) {
		if (idx >= h->g.report_count)
			idx = h->g.report_count ? h->g.report_count - 1 : 0;
		d->zero = kind;
		d->zero_report_id = (uint8_t)h->g.report_id;
		d->zero_bit = (uint16_t)(*bits + idx * h->g.report_size);
	}
	*bits += width;
}

int scale_proto_hid_scan(const uint8_t *desc, size_t len, struct scale_hid_desc *ret)
{
	struct scale_hid_desc d = {0};
	struct hid_scan *h;
	size_t i = 0, size;
	unsigned type, tag, k;
	uint32_t v, u;
	int r = -EBADMSG;

	if (!desc || !ret)
		return -EINVAL;
	h = calloc(1, sizeof(*h)); /* 3 KB of bit counters: not for the stack */
	if (!h)
		return -ENOMEM;
	while (i < len) {
		uint8_t pre = desc[i++];

		if (pre == 0xFE) { /* long item: size, tag, data */
			if (i + 2 > len || i + 2 + desc[i] > len)
				goto out;
			i += 2 + desc[i];
			continue;
		}
		size = (pre & 3) == 3 ? 4 : (pre & 3);
		type = (pre >> 2) & 3;
		tag = pre >> 4;
		if (i + size > len)
			goto out;
		for (v = 0, k = 0; k < size; k++)
			v |= (uint32_t)desc[i + k] << (8 * k);
		i += size;

		if (type == HID_TYPE_GLOBAL) {
			switch (tag) {
			case HID_GLOBAL_USAGE_PAGE:
				h->g.usage_page = v & 0xffff;
				break;
			case HID_GLOBAL_REPORT_SIZE:
				h->g.report_size = v;
				break;
			case HID_GLOBAL_REPORT_COUNT:
				h->g.report_count = v;
				break;
			case HID_GLOBAL_REPORT_ID:
				h->g.report_id = v & 0xff;
				break;
			case HID_GLOBAL_PUSH:
				if (h->sp == HID_STACK_MAX)
					goto out;
				h->stack[h->sp++] = h->g;
				break;
			case HID_GLOBAL_POP:
				if (h->sp == 0)
					goto out;
				h->g = h->stack[--h->sp];
				break;
			default:
				break;
			}
			continue;
		}
		if (type == HID_TYPE_LOCAL) {
			u = full_usage(h, v, (unsigned)size);
			if (tag == HID_LOCAL_USAGE && h->n_usages < HID_USAGES_MAX)
				h->usages[h->n_usages++] = u;
			else if (tag == HID_LOCAL_USAGE_MIN)
				h->umin = u, h->has_range = true;
			else if (tag == HID_LOCAL_USAGE_MAX)
				h->umax = u, h->has_range = true;
			continue;
		}
		if (type != HID_TYPE_MAIN)
			continue; /* reserved type */
		switch (tag) {
		case HID_MAIN_COLLECTION:
			if (h->depth == 0 && (v & 0xff) == HID_COLLECTION_APPLICATION) {
				u = h->n_usages ? h->usages[0] : h->has_range ? h->umin : 0;
				if (u >> 16 == SCALE_HID_USAGE_PAGE)
					d.is_scale = true;
			}
			h->depth++;
			break;
		case HID_MAIN_END_COLLECTION:
			if (h->depth == 0)
				goto out;
			h->depth--;
			break;
		case HID_MAIN_INPUT:
		case HID_MAIN_OUTPUT:
		case HID_MAIN_FEATURE:
			main_item(h, tag, v, &d);
			break;
		default:
			break;
		}
		/* Local items last until the next main item. */
		h->n_usages = 0;
		h->has_range = false;
		h->umin = h->umax = 0;
	}
	if (h->depth != 0)
		goto out;
	if (d.zero != SCALE_HID_ZERO_NONE)
		d.zero_report_bytes = (uint16_t)((h->bits[d.zero == SCALE_HID_ZERO_OUTPUT ? 1 : 2]
							 [d.zero_report_id] +
						  7) /
						 8);
	*ret = d;
	r = 0;
out:
	free(h);
	return r;
}
