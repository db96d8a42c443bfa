/* SPDX-License-Identifier: MIT */
/*
 * Dimensional and billable weight. The loader follows src/config.c: inih lexes, our reader
 * counts lines and sees section headers as they are read, so every error names "file:line",
 * and the first error is the one reported.
 *
 * Arithmetic (all unsigned 64-bit, every product overflow-checked; with the limits in
 * dimweight.h none can overflow, the checks guard the invariants):
 *
 *   dimension d in the rule's length unit, from millimetres m:
 *     imperial  nearest  d = floor((10 m + 127) / 254)     m / 25.4 = 5 m / 127, half up
 *               up       d = ceil(5 m / 127)
 *     metric    nearest  d = floor((m + 5) / 10)
 *               up       d = ceil(m / 10)
 *     none: no rounding; the volume is kept as the fraction V = Vn / Vd with
 *           Vd = 127^3 / 5^3 = 2048383 / 125 (imperial: Vn = 125 l w h, Vd = 2048383)
 *           or Vd = 1000 (metric: Vn = l w h in mm^3)
 *     rounded dimensions give Vn = dl dw dh, Vd = 1.
 *   threshold: dimensional weight applies when V > applies_above (Vn > applies_above Vd),
 *     or, with applies_above 0, whenever V > 0.
 *   dimensional weight in increments: n_dim = ceil(V / divisor / increment)
 *     = ceil(Vn 10^6 / (Vd divisor_milli increment_milli))
 *   actual weight in increments, from grams g:
 *     imperial  n_act = ceil(g 10^8 / (45359237 increment_milli))   g / 453.59237 lb
 *     metric    n_act = ceil(g / increment_milli)                    (1/1000 kg = 1 g)
 *   billable = max(n_dim, n_act) increments; milli-units = n x increment_milli.
 *   grams from milli-units u: imperial round(u 45359237 / 10^8), half up; metric g = u.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/dimweight.h"
#include "src/inifile.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/** 1 lb = 45359237 / 10^8 kg exactly, i.e. 45359237 / 10^5 g (the 1959 international pound). */
#define LB_G_NUM 45359237ULL
#define LB_G_DEN 100000ULL
/** 1 in = 127 / 5 mm exactly (the 1959 international inch); (127/5)^3 = 2048383 / 125. */
#define IN3_MM3_NUM 2048383ULL
#define IN3_MM3_DEN 125ULL
/** Largest applies_above: far above any parcel (a 4 m cube is 6.4e7 cm^3). */
#define APPLIES_ABOVE_MAX 100000000ULL
/** Section name room: "NAME @ YYYY-MM-DD" with some blanks. */
#define SECTION_MAX INIFILE_SECTION_MAX

struct dimweight_table {
	char path[DIMWEIGHT_PATH_MAX];
	struct dimweight_rule rules[DIMWEIGHT_RULES_MAX];
	unsigned n_rules;
};

/* ---- dates ------------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int dimweight_parse_date(const char *s, uint64_t *ret_ms)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y = 0, m, d, dim;

	if (!s || !ret_ms || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -EINVAL;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -EINVAL;
	for (int i = 0; i < 4; i++)
		y = y * 10 + (unsigned)(s[i] - '0');
	m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
	d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
	if (y < 1970 || m < 1 || m > 12 || d < 1)
		return -EINVAL;
	dim = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		dim = 29;
	if (d > dim)
		return -EINVAL;
	*ret_ms = (uint64_t)days_from_civil(y, m, d) * 86400000ULL;
	return 0;
}

/* ---- loader ------------------------------------------------------------------------------ */

enum key_id {
	K_CARRIER,
	K_SERVICES,
	K_UNITS,
	K_DIVISOR,
	K_ROUND_DIMS,
	K_INCREMENT,
	K_APPLIES_ABOVE,
	K_SOURCE,
	_K_MAX,
};

static const struct {
	const char *name;
	bool required;
	bool appends; /* may continue on indented lines or a repeated key */
} keys[_K_MAX] = {
	[K_CARRIER] = {"carrier", true, false},
	[K_SERVICES] = {"services", false, true},
	[K_UNITS] = {"units", true, false},
	[K_DIVISOR] = {"divisor", true, false},
	[K_ROUND_DIMS] = {"round_dimensions", true, false},
	[K_INCREMENT] = {"weight_increment", true, false},
	[K_APPLIES_ABOVE] = {"applies_above", false, false},
	[K_SOURCE] = {"source", true, true},
};

struct loader {
	struct inifile in; /* first: on_section gets it back as the loader */
	struct dimweight_table *t;
	struct dimweight_rule *cur; /* the section being filled, NULL before the first */
	char section[SECTION_MAX];
	unsigned seen[_K_MAX]; /* line each key of the current section was set on, 0 = not */
};

/* Decimal with at most 3 fractional digits, no sign or exponent, to thousandths. */
static bool parse_milli(const char *v, uint64_t *ret)
{
	uint64_t x = 0;
	unsigned int_digits = 0, frac = 0;
	const char *p = v;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (++int_digits > 9)
			return false;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	x *= 1000;
	if (*p == '.') {
		uint64_t scale = 100;

		p++;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++frac > 3)
				return false;
			x += (uint64_t)(*p - '0') * scale;
			scale /= 10;
		}
		if (!frac)
			return false;
	}
	if (*p || !int_digits)
		return false;
	*ret = x;
	return true;
}

static bool parse_uint(const char *v, uint64_t *ret)
{
	uint64_t x = 0;

	if (!*v)
		return false;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || p - v >= 12)
			return false;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	*ret = x;
	return true;
}

static void append_text(struct loader *l, const char *key, char *dst, size_t size, const char *v)
{
	size_t used = strlen(dst), n = strlen(v), sep = used ? 1 : 0;

	if (used + sep + n >= size) {
		inifile_fail(&l->in, l->in.line, "%s: longer than %zu characters", key, size - 1);
		return;
	}
	if (sep)
		dst[used++] = ' ';
	memcpy(dst + used, v, n + 1);
}

static void set_services(struct loader *l, struct dimweight_rule *r, const char *v)
{
	const char *p = v;

	while (*p) {
		const char *start, *end;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		n = (size_t)(end - start);
		if (n >= PKG_ID_MAX) {
			inifile_fail(&l->in, l->in.line, "services: pattern '%.*s' longer than %d characters",
			     (int)n, start, PKG_ID_MAX - 1);
			return;
		}
		if (r->n_services >= DIMWEIGHT_SERVICES_MAX) {
			inifile_fail(&l->in, l->in.line, "services: more than %d patterns", DIMWEIGHT_SERVICES_MAX);
			return;
		}
		memcpy(r->services[r->n_services], start, n);
		r->services[r->n_services][n] = '\0';
		r->n_services++;
	}
}

static void set_key(struct loader *l, enum key_id k, const char *v)
{
	struct dimweight_rule *r = l->cur;
	uint64_t x;

	switch (k) {
	case K_CARRIER:
		if (!*v || strlen(v) >= sizeof(r->carrier)) {
			inifile_fail(&l->in, l->in.line, "carrier: must be 1 to %zu characters",
			     sizeof(r->carrier) - 1);
			return;
		}
		memcpy(r->carrier, v, strlen(v) + 1);
		return;
	case K_SERVICES:
		set_services(l, r, v);
		return;
	case K_UNITS:
		if (strcmp(v, "imperial") == 0)
			r->units = DIMWEIGHT_IMPERIAL;
		else if (strcmp(v, "metric") == 0)
			r->units = DIMWEIGHT_METRIC;
		else
			inifile_fail(&l->in, l->in.line, "units: '%s' is not imperial or metric", v);
		return;
	case K_DIVISOR:
		if (!parse_milli(v, &x) || x < 1000 || x > DIMWEIGHT_DIVISOR_MAX * 1000ULL) {
			inifile_fail(&l->in, l->in.line,
			     "divisor: '%s' is not a number from 1 to %d (at most 3 decimals)", v,
			     DIMWEIGHT_DIVISOR_MAX);
			return;
		}
		r->divisor_milli = (uint32_t)x;
		return;
	case K_ROUND_DIMS:
		if (strcmp(v, "nearest") == 0)
			r->round_dims = DIMWEIGHT_ROUND_NEAREST;
		else if (strcmp(v, "up") == 0)
			r->round_dims = DIMWEIGHT_ROUND_UP;
		else if (strcmp(v, "none") == 0)
			r->round_dims = DIMWEIGHT_ROUND_NONE;
		else
			inifile_fail(&l->in, l->in.line, "round_dimensions: '%s' is not nearest, up or none", v);
		return;
	case K_INCREMENT:
		if (!parse_milli(v, &x) || x < 1 || x > DIMWEIGHT_INCREMENT_MAX * 1000ULL) {
			inifile_fail(&l->in, l->in.line,
			     "weight_increment: '%s' is not a number from 0.001 to %d (at most 3 "
			     "decimals)",
			     v, DIMWEIGHT_INCREMENT_MAX);
			return;
		}
		r->increment_milli = (uint32_t)x;
		return;
	case K_APPLIES_ABOVE:
		if (!parse_uint(v, &x) || x > APPLIES_ABOVE_MAX) {
			inifile_fail(&l->in, l->in.line, "applies_above: '%s' is not a whole number from 0 to %llu",
			     v, APPLIES_ABOVE_MAX);
			return;
		}
		r->applies_above = (uint32_t)x;
		return;
	case K_SOURCE:
		append_text(l, "source", r->source, sizeof(r->source), v);
		return;
	case _K_MAX:
		break;
	}
}

/* Check the finished section: required keys, and agreement with earlier versions. */
static void close_section(struct loader *l)
{
	struct dimweight_rule *r = l->cur;

	if (!r || l->in.failed)
		return;
	for (int k = 0; k < _K_MAX; k++) {
		if (keys[k].required && !l->seen[k]) {
			inifile_fail(&l->in, r->line, "[%s]: missing required key '%s'", l->section,
			     keys[k].name);
			return;
		}
	}
	if (!r->n_services) {
		snprintf(r->services[0], sizeof(r->services[0]), "*");
		r->n_services = 1;
	}
	for (unsigned i = 0; i + 1 < l->t->n_rules; i++) {
		const struct dimweight_rule *o = &l->t->rules[i];
		bool same = o->n_services == r->n_services;

		if (strcmp(o->name, r->name) != 0)
			continue;
		if (strcasecmp(o->carrier, r->carrier) != 0) {
			inifile_fail(&l->in, r->line,
			     "[%s]: carrier '%s' differs from '%s' of rule %s on line %u",
			     l->section, r->carrier, o->carrier, o->name, o->line);
			return;
		}
		for (unsigned j = 0; same && j < r->n_services; j++)
			same = strcmp(o->services[j], r->services[j]) == 0;
		if (!same) {
			inifile_fail(&l->in, r->line, "[%s]: services differ from those of rule %s on line %u",
			     l->section, o->name, o->line);
			return;
		}
	}
	l->cur = NULL;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static int open_section(struct loader *l, const char *sec)
{
	const char *at = strchr(sec, '@'), *p, *e, *name;
	struct dimweight_rule *r;
	char date[SECTION_MAX];
	size_t n;

	if (!at) {
		inifile_fail(&l->in, l->in.line, "section [%s] is not [NAME @ YYYY-MM-DD]", sec);
		return -EINVAL;
	}
	for (p = sec; *p == ' ' || *p == '\t'; p++)
		;
	for (e = at; e > p && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	n = (size_t)(e - p);
	if (!n || n >= DIMWEIGHT_NAME_MAX) {
		inifile_fail(&l->in, l->in.line, "[%s]: rule name must be 1 to %d characters", sec,
		     DIMWEIGHT_NAME_MAX - 1);
		return -EINVAL;
	}
	for (const char *q = p; q < e; q++) {
		if (!name_char(*q)) {
			inifile_fail(&l->in, l->in.line,
			     "[%s]: rule name may hold only letters, digits, '.', '-', '_'", sec);
			return -EINVAL;
		}
	}
	if (l->t->n_rules >= DIMWEIGHT_RULES_MAX) {
		inifile_fail(&l->in, l->in.line, "more than %d rule sections", DIMWEIGHT_RULES_MAX);
		return -EINVAL;
	}
	r = &l->t->rules[l->t->n_rules];
	memset(r, 0, sizeof(*r));
	memcpy(r->name, p, n);
	r->name[n] = '\0';
	name = p;
	for (p = at + 1; *p == ' ' || *p == '\t'; p++)
		;
	snprintf(date, sizeof(date), "%s", p);
	for (n = strlen(date); n && (date[n - 1] == ' ' || date[n - 1] == '\t'); n--)
		date[n - 1] = '\0';
	if (dimweight_parse_date(date, &r->effective_ms) < 0) {
		inifile_fail(&l->in, l->in.line, "[%s]: '%s' is not a date (YYYY-MM-DD, from 1970)", sec, date);
		return -EINVAL;
	}
	memcpy(r->effective, date, DIMWEIGHT_DATE_MAX);
	snprintf(r->id, sizeof(r->id), "%.*s@%s", (int)(e - name), name, date);
	r->line = l->in.line;
	r->round_dims = DIMWEIGHT_ROUND_NONE;
	for (unsigned i = 0; i < l->t->n_rules; i++) {
		const struct dimweight_rule *o = &l->t->rules[i];

		if (strcmp(o->name, r->name) == 0 && o->effective_ms == r->effective_ms) {
			inifile_fail(&l->in, l->in.line, "duplicate rule [%s] (first on line %u)", sec, o->line);
			return -EINVAL;
		}
	}
	l->t->n_rules++;
	l->cur = r;
	memset(l->seen, 0, sizeof(l->seen));
	snprintf(l->section, sizeof(l->section), "%s", sec);
	return 0;
}

/* A "[NAME @ date]" header, as the reader meets it: close the rule before, open the next. */
static int on_section(struct inifile *f, const char *name)
{
	struct loader *l = (struct loader *)f;

	close_section(l);
	if (l->in.failed)
		return -EINVAL;
	return open_section(l, name);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct loader *l = user;

	(void)section; /* the reader tracks sections as they are read */
	if (l->in.failed)
		return 0;
	if (!l->cur) {
		inifile_fail(&l->in, l->in.line, "key '%s' outside a [NAME @ YYYY-MM-DD] section", name);
		return 0;
	}
	for (int k = 0; k < _K_MAX; k++) {
		if (strcmp(keys[k].name, name) != 0)
			continue;
		if (l->seen[k] && !keys[k].appends) {
			inifile_fail(&l->in, l->in.line, "duplicate key '%s' (first set on line %u)", name,
			     l->seen[k]);
			return 0;
		}
		if (!l->seen[k])
			l->seen[k] = l->in.line;
		set_key(l, (enum key_id)k, value);
		return l->in.failed ? 0 : 1;
	}
	inifile_fail(&l->in, l->in.line, "unknown key '%s' in [%s]", name, l->section);
	return 0;
}

int dimweight_load(const char *path, struct dimweight_table **ret, char *err, size_t errlen)
{
	struct loader l = {
		.in = {.path = path, .err = err, .errlen = errlen, .on_section = on_section},
	};
	int r;

	if (!path || !ret || !err || !errlen)
		return -EINVAL;
	if (strlen(path) >= DIMWEIGHT_PATH_MAX) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	l.t = calloc(1, sizeof(*l.t));
	if (!l.t)
		return -ENOMEM;
	r = inifile_parse(&l.in, handler, &l);
	if (r < 0 && r != -EINVAL)
		goto err_free; /* cannot open: the message is in err */
	if (!l.in.failed)
		close_section(&l);
	if (!l.in.failed && !l.t->n_rules)
		inifile_fail(&l.in, 0, "no rules (expected [NAME @ YYYY-MM-DD] sections)");
	if (l.in.failed) {
		r = -EINVAL;
		goto err_free;
	}
	snprintf(l.t->path, sizeof(l.t->path), "%s", path);
	*ret = l.t;
	return 0;

err_free:
	free(l.t);
	return r;
}

void dimweight_free(struct dimweight_table *t)
{
	free(t);
}

unsigned dimweight_count(const struct dimweight_table *t)
{
	return t ? t->n_rules : 0;
}

const struct dimweight_rule *dimweight_get(const struct dimweight_table *t, unsigned i)
{
	return t && i < t->n_rules ? &t->rules[i] : NULL;
}

/* ---- selection --------------------------------------------------------------------------- */

static bool rule_matches(const struct dimweight_rule *r, const char *carrier, const char *service)
{
	if (strcasecmp(r->carrier, carrier) != 0)
		return false;
	for (unsigned i = 0; i < r->n_services; i++)
		if (fnmatch(r->services[i], service, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

const struct dimweight_rule *dimweight_find(const struct dimweight_table *t, const char *carrier,
					    const char *service, uint64_t date_ms)
{
	if (!t || !carrier)
		return NULL;
	if (!service)
		service = "";
	for (unsigned i = 0; i < t->n_rules; i++) {
		const struct dimweight_rule *best = NULL;
		bool first = true;

		/* visit each NAME once, at its first appearance */
		for (unsigned j = 0; j < i; j++)
			if (strcmp(t->rules[j].name, t->rules[i].name) == 0)
				first = false;
		if (!first || !rule_matches(&t->rules[i], carrier, service))
			continue;
		for (unsigned j = i; j < t->n_rules; j++) {
			const struct dimweight_rule *r = &t->rules[j];

			if (strcmp(r->name, t->rules[i].name) == 0 && r->effective_ms <= date_ms &&
			    (!best || r->effective_ms > best->effective_ms))
				best = r;
		}
		if (best)
			return best;
	}
	return NULL;
}

/* ---- arithmetic -------------------------------------------------------------------------- */

static bool mul(uint64_t a, uint64_t b, uint64_t *ret)
{
	return !__builtin_mul_overflow(a, b, ret);
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* One dimension in whole in/cm (rounded), or, for "none", millimetres unchanged. */
static uint64_t round_dim(const struct dimweight_rule *r, uint32_t mm)
{
	uint64_t m = mm;

	if (r->units == DIMWEIGHT_IMPERIAL) {
		if (r->round_dims == DIMWEIGHT_ROUND_NEAREST)
			return (10 * m + 127) / 254;
		if (r->round_dims == DIMWEIGHT_ROUND_UP)
			return ceil_div(5 * m, 127);
	} else {
		if (r->round_dims == DIMWEIGHT_ROUND_NEAREST)
			return (m + 5) / 10;
		if (r->round_dims == DIMWEIGHT_ROUND_UP)
			return ceil_div(m, 10);
	}
	return m;
}

/* Milli-units of the rule's weight unit to grams, nearest gram, half up. */
static bool milli_to_g(const struct dimweight_rule *r, uint64_t milli, uint32_t *ret)
{
	uint64_t g;

	if (r->units == DIMWEIGHT_METRIC) {
		g = milli;
	} else {
		if (!mul(milli, LB_G_NUM, &g))
			return false;
		g = (g + LB_G_DEN * 1000 / 2) / (LB_G_DEN * 1000);
	}
	if (g > UINT32_MAX)
		return false;
	*ret = (uint32_t)g;
	return true;
}

int dimweight_apply(const struct dimweight_rule *rule, uint32_t l_mm, uint32_t w_mm, uint32_t h_mm,
		    int32_t actual_g, struct dimweight_result *ret)
{
	const uint32_t mm[3] = {l_mm, w_mm, h_mm};
	struct dimweight_result res;
	uint64_t d[3], vn = 1, vd = 1, num, den, n_dim = 0, n_act, thr;
	bool none, any, all;

	if (!rule || !ret || actual_g < 0 || !rule->increment_milli || !rule->divisor_milli)
		return -EINVAL;
	any = l_mm || w_mm || h_mm;
	all = l_mm && w_mm && h_mm;
	if (any && !all)
		return -EINVAL;
	if (l_mm > DIMWEIGHT_DIM_MAX_MM || w_mm > DIMWEIGHT_DIM_MAX_MM ||
	    h_mm > DIMWEIGHT_DIM_MAX_MM)
		return -ERANGE;

	memset(&res, 0, sizeof(res));
	snprintf(res.rule_id, sizeof(res.rule_id), "%s", rule->id);
	snprintf(res.effective, sizeof(res.effective), "%s", rule->effective);
	snprintf(res.source, sizeof(res.source), "%s", rule->source);
	snprintf(res.unit, sizeof(res.unit), "%s", rule->units == DIMWEIGHT_IMPERIAL ? "lb" : "kg");
	res.increment_milli = rule->increment_milli;

	/* volume as the fraction vn / vd of in^3 or cm^3 */
	none = rule->round_dims == DIMWEIGHT_ROUND_NONE;
	for (int i = 0; i < 3; i++) {
		d[i] = round_dim(rule, mm[i]);
		/* dims as used, in 1/1000 in or cm: rounded ones exactly, exact ones rounded down
		 */
		if (!none)
			res.dims_milli[i] = (uint32_t)(d[i] * 1000);
		else if (rule->units == DIMWEIGHT_IMPERIAL)
			res.dims_milli[i] = (uint32_t)(d[i] * 5000 / 127);
		else
			res.dims_milli[i] = (uint32_t)(d[i] * 100);
		if (!mul(vn, d[i], &vn))
			return -ERANGE;
	}
	if (none && rule->units == DIMWEIGHT_IMPERIAL) {
		if (!mul(vn, IN3_MM3_DEN, &vn))
			return -ERANGE;
		vd = IN3_MM3_NUM;
	} else if (none) {
		vd = 1000;
	}
	if (!mul(vn, 1000, &num))
		return -ERANGE;
	res.volume_milli = num / vd;

	/* threshold: V > applies_above, i.e. vn > applies_above * vd */
	if (!mul(rule->applies_above, vd, &thr))
		return -ERANGE;
	res.dim_applies = any && vn > thr;
	if (res.dim_applies) {
		/* n_dim = ceil(vn * 10^6 / (vd * divisor_milli * increment_milli)) */
		if (!mul(vn, 1000000, &num) || !mul(vd, rule->divisor_milli, &den) ||
		    !mul(den, rule->increment_milli, &den))
			return -ERANGE;
		n_dim = ceil_div(num, den);
	}

	/* actual weight in increments */
	if (rule->units == DIMWEIGHT_IMPERIAL) {
		if (!mul((uint64_t)actual_g, 100000000ULL, &num) ||
		    !mul(LB_G_NUM, rule->increment_milli, &den))
			return -ERANGE;
		n_act = ceil_div(num, den);
	} else {
		n_act = ceil_div((uint64_t)actual_g, rule->increment_milli);
	}

	if (!mul(n_dim, rule->increment_milli, &res.dim_milli) ||
	    !mul(n_act, rule->increment_milli, &res.actual_milli))
		return -ERANGE;
	res.dim_is_billable = n_dim > n_act;
	res.billable_milli = res.dim_is_billable ? res.dim_milli : res.actual_milli;
	if (!milli_to_g(rule, res.dim_milli, &res.dim_weight_g) ||
	    !milli_to_g(rule, res.actual_milli, &res.actual_billed_g) ||
	    !milli_to_g(rule, res.billable_milli, &res.billable_g))
		return -ERANGE;
	*ret = res;
	return 0;
}

int dimweight_compute(const struct dimweight_table *t, const char *carrier, const char *service,
		      uint64_t date_ms, uint32_t l_mm, uint32_t w_mm, uint32_t h_mm,
		      int32_t actual_g, struct dimweight_result *ret)
{
	const struct dimweight_rule *r;

	if (!t || !carrier || !ret)
		return -EINVAL;
	r = dimweight_find(t, carrier, service, date_ms);
	if (!r)
		return -ENOENT;
	return dimweight_apply(r, l_mm, w_mm, h_mm, actual_g, ret);
}

int dimweight_compare(const struct dimweight_table *t, const char *carrier, const char *service,
		      uint64_t date_ms, const struct dimweight_parcel *declared,
		      const struct dimweight_parcel *measured, struct dimweight_compare *ret)
{
	const struct dimweight_rule *r;
	struct dimweight_compare c;
	int err;

	if (!t || !carrier || !declared || !measured || !ret)
		return -EINVAL;
	r = dimweight_find(t, carrier, service, date_ms);
	if (!r)
		return -ENOENT;
	memset(&c, 0, sizeof(c));
	err = dimweight_apply(r, declared->l_mm, declared->w_mm, declared->h_mm, declared->weight_g,
			      &c.declared);
	if (err < 0)
		return err;
	err = dimweight_apply(r, measured->l_mm, measured->w_mm, measured->h_mm, measured->weight_g,
			      &c.measured);
	if (err < 0)
		return err;
	c.billable_diff_g = (int64_t)c.measured.billable_g - (int64_t)c.declared.billable_g;
	/* both are whole multiples of the same increment */
	c.increments_diff = ((int64_t)(c.measured.billable_milli / r->increment_milli)) -
			    ((int64_t)(c.declared.billable_milli / r->increment_milli));
	c.correction_predicted = c.increments_diff > 0;
	*ret = c;
	return 0;
}
