/* SPDX-License-Identifier: MIT */
/*
 * Address checks at the station. Why tables: every country format, every ZIP prefix range and
 * every carrier policy is one row below, so a wrong row is a one-line fix with a test row, and
 * the code that walks the tables stays small enough to fuzz exhaustively.
 *
 * Sources:
 * - US ZIP prefixes per state: the 3-digit prefix allocation of USPS Labeling List L002
 *   ("3-Digit ZIP Code Prefix Matrix", Domestic Mail Manual labeling lists, as revised through
 *   2024). Ranges are written per state; a prefix that is not allocated (e.g. 213) but lies
 *   inside a state's range is accepted for that state - this check catches a wrong state, not
 *   a nonexistent ZIP. ZIP codes that cross state lines are listed as extra rows.
 * - State and military codes: USPS Publication 28 "Postal Addressing Standards", appendix B
 *   (two-letter state and possession abbreviations) and section 237 (APO/FPO/DPO addresses
 *   with AA, AE, AP).
 * - Postal code formats: the national posts' published formats as summarised by the UPU
 *   "Postal addressing systems in member countries" sheets. Where a country writes a prefix
 *   ("LV-1010", "LT-01001", "L-1234") the bare number is accepted too.
 * - Canada's first letter by province: Canada Post "Addressing guidelines" (FSA map).
 * - Australia's postcode ranges by state: Australia Post postcode allocation (state/territory
 *   ranges, including the PO box ranges 1000-1999 NSW, 8000-8999 VIC, 9000-9999 QLD).
 * - Carrier policies: see carrier_policies[] below.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/address.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Every code must fit the result's fixed slots. */
_Static_assert(sizeof(ADDR_LABEL_COUNTRY) <= ADDR_CODE_MAX, "code longer than ADDR_CODE_MAX");
_Static_assert(sizeof(ADDR_LABEL_POSTAL) <= ADDR_CODE_MAX, "code longer than ADDR_CODE_MAX");
/* 18 codes exist; failed[] holds them all */
_Static_assert(ADDR_CHECKS_MAX >= 18, "ADDR_CHECKS_MAX below the number of check codes");

/** Normalised postal code / token work buffers: longer than any real postal code or word. */
#define NORM_MAX PKG_ID_MAX
/** Address line tokens kept for PO box detection (a street line has a handful). */
#define TOKENS_MAX 32
#define TOKEN_MAX  24

/* ---- small helpers ---------------------------------------------------------------------- */

static char up(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	c = up(c);
	return c >= 'A' && c <= 'Z';
}

/* Blank = only spaces and tabs (a field of blanks is as missing as an empty one). */
static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t')
			return false;
	return true;
}

/* Copy @s trimmed of blanks and upper-cased (ASCII) into @out. */
static void trim_upper(const char *s, char *out, size_t len)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = up(s[i]);
	out[n] = '\0';
}

/* Upper-cased, without spaces and hyphens: the form two postal codes are compared in. */
static void squeeze(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s && n + 1 < len; s++)
		if (*s != ' ' && *s != '\t' && *s != '-')
			out[n++] = up(*s);
	out[n] = '\0';
}

/* strchr() finds the terminator too: a NUL is in no set. */
static bool in_set(char c, const char *set)
{
	return c && strchr(set, c);
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* ---- result ------------------------------------------------------------------------------ */

static void add_fail(struct addr_result *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_fail(struct addr_result *r, const char *code, const char *fmt, ...)
{
	size_t used = strlen(r->detail);
	va_list ap;
	int n;

	for (unsigned i = 0; i < r->n_failed; i++)
		if (strcmp(r->failed[i], code) == 0)
			return; /* one entry per check */
	if (r->n_failed < ADDR_CHECKS_MAX)
		snprintf(r->failed[r->n_failed++], ADDR_CODE_MAX, "%s", code);
	r->pass = false;
	if (used + 1 >= sizeof(r->detail))
		return;
	n = snprintf(r->detail + used, sizeof(r->detail) - used, "%s%s: ", used ? "; " : "", code);
	if (n < 0 || (size_t)n >= sizeof(r->detail) - used)
		return;
	used += (size_t)n;
	va_start(ap, fmt);
	vsnprintf(r->detail + used, sizeof(r->detail) - used, fmt, ap);
	va_end(ap);
}

/* ---- character sets ---------------------------------------------------------------------- */

/* Windows-1252 0x80..0x9F as Unicode (the five undefined bytes are absent). */
static const uint16_t cp1252_extra[] = {
	0x20AC, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030,
	0x0160, 0x2039, 0x0152, 0x017D, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
	0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x017E, 0x0178,
};

static bool cp_printable(long cp, enum addr_charset cs)
{
	if (cp >= 0x20 && cp <= 0x7E)
		return true;
	if (cs == ADDR_CHARSET_ASCII)
		return false;
	if (cp >= 0xA0 && cp <= 0xFF)
		return true;
	if (cs == ADDR_CHARSET_LATIN1)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(cp1252_extra); i++)
		if (cp == cp1252_extra[i])
			return true;
	return false;
}

/* Strict UTF-8 decode of one code point (no overlongs, surrogates or > U+10FFFF).
 * @return its length in bytes, 0 when invalid. */
static size_t utf8_next(const unsigned char *s, long *ret_cp)
{
	unsigned c = s[0], n, i;
	long cp, min;

	if (c < 0x80) {
		*ret_cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*ret_cp = cp;
	return n;
}

bool address_printable(const char *s, enum addr_charset cs, long *bad_cp, size_t *bad_off)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t off = 0;

	while (p[off]) {
		long cp = -1;
		size_t n = utf8_next(p + off, &cp);

		if (!n || !cp_printable(cp, cs)) {
			if (bad_cp)
				*bad_cp = n ? cp : -1;
			if (bad_off)
				*bad_off = off;
			return false;
		}
		off += n;
	}
	return true;
}

const char *addr_charset_to_string(enum addr_charset cs)
{
	switch (cs) {
	case ADDR_CHARSET_ASCII:
		return "ascii";
	case ADDR_CHARSET_LATIN1:
		return "latin1";
	case ADDR_CHARSET_CP1252:
		return "cp1252";
	default:
		return "invalid";
	}
}

enum addr_charset addr_charset_from_string(const char *s)
{
	if (!s)
		return _ADDR_CHARSET_INVALID;
	if (strcasecmp(s, "ascii") == 0 || strcasecmp(s, "us-ascii") == 0)
		return ADDR_CHARSET_ASCII;
	if (strcasecmp(s, "latin1") == 0 || strcasecmp(s, "iso-8859-1") == 0)
		return ADDR_CHARSET_LATIN1;
	if (strcasecmp(s, "cp1252") == 0 || strcasecmp(s, "windows-1252") == 0)
		return ADDR_CHARSET_CP1252;
	return _ADDR_CHARSET_INVALID;
}

/* ---- countries ------------------------------------------------------------------------- */

/* The countries the label may name in any ISO 3166-1 form. MaxiCode (ISO/IEC 16023 modes 2
 * and 3) carries the numeric code, PDF417 label data usually alpha-2 or alpha-3. Others are
 * compared only when both sides give alpha-2. */
struct country_code {
	const char *a2, *a3, *num;
};

static const struct country_code countries[] = {
	{"AT", "AUT", "040"}, {"AU", "AUS", "036"}, {"BE", "BEL", "056"}, {"BG", "BGR", "100"},
	{"BR", "BRA", "076"}, {"CA", "CAN", "124"}, {"CH", "CHE", "756"}, {"CN", "CHN", "156"},
	{"CY", "CYP", "196"}, {"CZ", "CZE", "203"}, {"DE", "DEU", "276"}, {"DK", "DNK", "208"},
	{"EE", "EST", "233"}, {"ES", "ESP", "724"}, {"FI", "FIN", "246"}, {"FR", "FRA", "250"},
	{"GB", "GBR", "826"}, {"GR", "GRC", "300"}, {"GU", "GUM", "316"}, {"HK", "HKG", "344"},
	{"HR", "HRV", "191"}, {"HU", "HUN", "348"}, {"IE", "IRL", "372"}, {"IN", "IND", "356"},
	{"IS", "ISL", "352"}, {"IT", "ITA", "380"}, {"JP", "JPN", "392"}, {"KR", "KOR", "410"},
	{"LI", "LIE", "438"}, {"LT", "LTU", "440"}, {"LU", "LUX", "442"}, {"LV", "LVA", "428"},
	{"MT", "MLT", "470"}, {"MX", "MEX", "484"}, {"NL", "NLD", "528"}, {"NO", "NOR", "578"},
	{"NZ", "NZL", "554"}, {"PL", "POL", "616"}, {"PR", "PRI", "630"}, {"PT", "PRT", "620"},
	{"RO", "ROU", "642"}, {"SE", "SWE", "752"}, {"SG", "SGP", "702"}, {"SI", "SVN", "705"},
	{"SK", "SVK", "703"}, {"US", "USA", "840"}, {"VI", "VIR", "850"},
};

/* The label's country as alpha-2 into @out; false when it cannot be mapped. */
static bool country_to_a2(const char *in, char out[3])
{
	char c[NORM_MAX];

	trim_upper(in, c, sizeof(c));
	if (strlen(c) == 2 && is_alpha(c[0]) && is_alpha(c[1])) {
		memcpy(out, c, 3);
		return true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(countries); i++) {
		if (strcmp(c, countries[i].a3) == 0 || strcmp(c, countries[i].num) == 0) {
			memcpy(out, countries[i].a2, 3);
			return true;
		}
	}
	return false;
}

/* ---- postal code formats --------------------------------------------------------------- */

/*
 * Pattern language: '9' a digit, 'A' a letter, ' ' an optional single space, anything else
 * itself. Input is upper-cased first, so formats with letters are case-insensitive.
 */
static bool pat_match(const char *pat, const char *s)
{
	for (; *pat; pat++) {
		if (*pat == ' ') {
			if (*s == ' ')
				s++;
			continue;
		}
		if (!*s)
			return false;
		if (*pat == '9' ? !is_digit(*s) : *pat == 'A' ? !is_alpha(*s) : *pat != *s)
			return false;
		s++;
	}
	return !*s;
}

/* Extra per-country constraints beyond the shape (input: trimmed, upper-cased). */
static bool first_two_not_00(const char *s)
{
	return !(s[0] == '0' && s[1] == '0');
}

static bool first_not_0(const char *s)
{
	return s[0] != '0';
}

static bool es_province(const char *s)
{
	int p = (s[0] - '0') * 10 + (s[1] - '0');

	return p >= 1 && p <= 52; /* 01 Álava .. 52 Melilla */
}

static bool au_range(const char *s)
{
	/* 0200-0299 ACT, 0800-0999 NT, 1000-9999 the states (atoi: 4 digits by format) */
	int v = atoi(s);

	return (v >= 200 && v <= 299) || v >= 800;
}

static bool nl_letters(const char *s)
{
	const char *l = s + strlen(s) - 2;

	/* PostNL does not issue SA, SD and SS */
	return s[0] != '0' && strcmp(l, "SA") != 0 && strcmp(l, "SD") != 0 && strcmp(l, "SS") != 0;
}

/* Canada Post: letters D F I O Q U never appear; W and Z never first. */
static bool ca_valid(const char *s)
{
	char n[NORM_MAX];

	if (!pat_match("A9A 9A9", s))
		return false;
	squeeze(s, n, sizeof(n));
	if (in_set(n[0], "DFIOQUWZ") || in_set(n[2], "DFIOQU") || in_set(n[4], "DFIOQU"))
		return false;
	return true;
}

/* Royal Mail PAF: outward code A9, A99, AA9, AA99, A9A, AA9A + inward code 9AA; a space
 * between them is optional here; letter restrictions per position as Royal Mail publishes
 * them; GIR 0AA is the one historic exception. BFPO numbers are not postcodes. */
static bool gb_valid(const char *s)
{
	char n[NORM_MAX], out[8];
	const char *sp = strchr(s, ' ');
	size_t len, ol;

	squeeze(s, n, sizeof(n));
	len = strlen(n);
	if (len < 5 || len > 7)
		return false;
	/* at most one space, and only right before the inward code */
	if (sp && (strchr(sp + 1, ' ') || strlen(sp + 1) != 3))
		return false;
	if (strchr(s, '-'))
		return false;
	if (strcmp(n, "GIR0AA") == 0)
		return true;
	if (!is_digit(n[len - 3]) || !is_alpha(n[len - 2]) || !is_alpha(n[len - 1]) ||
	    in_set(n[len - 2], "CIKMOV") || in_set(n[len - 1], "CIKMOV"))
		return false;
	ol = len - 3;
	memcpy(out, n, ol);
	out[ol] = '\0';
	if (!is_alpha(out[0]) || in_set(out[0], "QVX"))
		return false;
	if (pat_match("A9", out) || pat_match("A99", out))
		return true;
	if (pat_match("AA9", out) || pat_match("AA99", out))
		return !in_set(out[1], "IJZ");
	if (pat_match("A9A", out))
		return in_set(out[2], "ABCDEFGHJKPSTUW");
	if (pat_match("AA9A", out))
		return !in_set(out[1], "IJZ") && in_set(out[3], "ABEHMNPRVWXY");
	return false;
}

/* Eircode: routing key (a letter of the set + 2 digits, or D6W) + 4-character unique
 * identifier from the same letters and digits; one optional space between. */
static bool ie_valid(const char *s)
{
	static const char set[] = "ACDEFHKNPRTVWXY";
	size_t len = strlen(s);
	char n[8];

	if (len == 8 && s[3] == ' ') {
		memcpy(n, s, 3);
		memcpy(n + 3, s + 4, 4);
	} else if (len == 7) {
		memcpy(n, s, 7);
	} else {
		return false;
	}
	n[7] = '\0';
	if (!(in_set(n[0], set) && is_digit(n[1]) && is_digit(n[2])) &&
	    !(n[0] == 'D' && n[1] == '6' && n[2] == 'W'))
		return false;
	for (int i = 3; i < 7; i++)
		if (!is_digit(n[i]) && !in_set(n[i], set))
			return false;
	return true;
}

struct postal_format {
	const char *country;
	const char *pats[3];	       /* any one matches; NULL-terminated */
	bool (*extra)(const char *s);  /* further constraint; NULL = none */
	bool (*custom)(const char *s); /* replaces pats[] when set */
	bool optional;		       /* the postal code may be absent */
	const char *example;	       /* for the detail text */
};

static const struct postal_format postal_formats[] = {
	{"US", {"99999", "99999-9999", "999999999"}, NULL, NULL, false, "12345 or 12345-6789"},
	{"CA", {NULL}, NULL, ca_valid, false, "K1A 0B1"},
	{"GB", {NULL}, NULL, gb_valid, false, "SW1A 1AA"},
	{"DE", {"99999"}, first_two_not_00, NULL, false, "10115"},
	{"FR", {"99999"}, NULL, NULL, false, "75008"},
	{"NL", {"9999 AA"}, nl_letters, NULL, false, "1012 AB"},
	{"AU", {"9999"}, au_range, NULL, false, "2000"},
	{"JP", {"999-9999", "9999999"}, NULL, NULL, false, "100-0001"},
	{"AT", {"9999"}, first_not_0, NULL, false, "1010"},
	{"BE", {"9999"}, first_not_0, NULL, false, "1000"},
	{"BG", {"9999"}, first_not_0, NULL, false, "1000"},
	{"HR", {"99999"}, first_not_0, NULL, false, "10000"},
	{"CY", {"9999"}, first_not_0, NULL, false, "1010"},
	{"CZ", {"999 99"}, first_not_0, NULL, false, "110 00"},
	{"DK", {"9999"}, first_not_0, NULL, false, "1050"},
	{"EE", {"99999"}, first_not_0, NULL, false, "10111"},
	{"FI", {"99999"}, NULL, NULL, false, "00100"},
	{"GR", {"999 99"}, first_not_0, NULL, false, "105 57"},
	{"HU", {"9999"}, first_not_0, NULL, false, "1011"},
	{"IE", {NULL}, NULL, ie_valid, true, "D02 X285"},
	{"IT", {"99999"}, NULL, NULL, false, "00184"},
	{"LV", {"LV-9999", "9999"}, NULL, NULL, false, "LV-1010"},
	{"LT", {"LT-99999", "99999"}, NULL, NULL, false, "LT-01001"},
	{"LU", {"L-9999", "9999"}, NULL, NULL, false, "L-1009"},
	{"MT", {"AAA 9999"}, NULL, NULL, false, "VLT 1117"},
	{"PL", {"99-999"}, NULL, NULL, false, "00-950"},
	{"PT", {"9999-999"}, first_not_0, NULL, false, "1000-001"},
	{"RO", {"999999"}, NULL, NULL, false, "010011"},
	{"SK", {"999 99"}, first_not_0, NULL, false, "811 01"},
	{"SI", {"SI-9999", "9999"}, NULL, NULL, false, "1000"},
	{"ES", {"99999"}, es_province, NULL, false, "28001"},
	{"SE", {"999 99"}, first_not_0, NULL, false, "111 22"},
};

static const struct postal_format *find_format(const char *country)
{
	for (size_t i = 0; i < ARRAY_SIZE(postal_formats); i++)
		if (strcasecmp(postal_formats[i].country, country) == 0)
			return &postal_formats[i];
	return NULL;
}

static bool format_ok(const struct postal_format *f, const char *postal)
{
	char s[NORM_MAX];
	const char *digits;

	if (strlen(postal) >= sizeof(s))
		return false;
	trim_upper(postal, s, sizeof(s));
	if (!*s || strstr(s, "  ") || strchr(s, '\t'))
		return false;
	if (f->custom)
		return f->custom(s);
	for (unsigned i = 0; i < ARRAY_SIZE(f->pats) && f->pats[i]; i++) {
		if (!pat_match(f->pats[i], s))
			continue;
		/* constraints look at the number, past a "LV-"-style prefix */
		digits = s;
		while (*digits && !is_digit(*digits))
			digits++;
		return !f->extra || f->extra(f->extra == nl_letters ? s : digits);
	}
	return false;
}

int address_postal_format_ok(const char *country, const char *postal)
{
	const struct postal_format *f;

	if (!country || !postal)
		return -EINVAL;
	f = find_format(country);
	if (!f)
		return -ENOENT;
	return format_ok(f, postal) ? 1 : 0;
}

/* ---- US states and ZIP prefixes -------------------------------------------------------- */

struct zip_range {
	const char state[3];
	uint16_t first, last; /* 3-digit prefixes, inclusive */
};

/* USPS Labeling List L002 prefix allocation, summarised per state; see the file comment. */
static const struct zip_range zip_ranges[] = {
	{"AL", 350, 369},
	{"AK", 995, 999},
	{"AZ", 850, 865},
	{"AR", 716, 729},
	{"CA", 900, 961},
	{"CO", 800, 816},
	{"CT", 60, 69},
	{"DE", 197, 199},
	{"DC", 200, 200},
	{"DC", 202, 205},
	{"DC", 569, 569},
	{"FL", 320, 339},
	{"FL", 341, 349},
	{"GA", 300, 319},
	{"GA", 398, 399},
	{"HI", 967, 968},
	{"ID", 832, 838},
	{"IL", 600, 629},
	{"IN", 460, 479},
	{"IA", 500, 528},
	{"KS", 660, 679},
	{"KY", 400, 427},
	{"LA", 700, 714},
	{"ME", 39, 49},
	{"MD", 206, 219},
	{"MA", 10, 27},
	{"MA", 55, 55},
	{"MI", 480, 499},
	{"MN", 550, 567},
	{"MS", 386, 397},
	{"MO", 630, 658},
	{"MT", 590, 599},
	{"NE", 680, 693},
	{"NV", 889, 898},
	{"NH", 30, 38},
	{"NJ", 70, 89},
	{"NM", 870, 884},
	{"NY", 5, 5},
	{"NY", 100, 149},
	{"NC", 270, 289},
	{"ND", 580, 588},
	{"OH", 430, 459},
	{"OK", 730, 732},
	{"OK", 734, 749},
	{"OR", 970, 979},
	{"PA", 150, 196},
	{"RI", 28, 29},
	{"SC", 290, 299},
	{"SD", 570, 577},
	{"TN", 370, 385},
	{"TX", 733, 733},
	{"TX", 750, 799},
	{"TX", 885, 885},
	{"UT", 840, 847},
	{"VT", 50, 54},
	{"VT", 56, 59},
	{"VA", 201, 201},
	{"VA", 220, 246},
	{"WA", 980, 994},
	{"WV", 247, 268},
	{"WI", 530, 549},
	{"WY", 820, 831},
	/* possessions and freely associated states (Publication 28 appendix B) */
	{"PR", 6, 7},
	{"PR", 9, 9},
	{"VI", 8, 8},
	{"GU", 969, 969},
	{"MP", 969, 969},
	{"PW", 969, 969},
	{"FM", 969, 969},
	{"MH", 969, 969},
	{"AS", 967, 967},
	/* military: AE 090-098 (Europe, Middle East, Africa, Canada), AA 340 (the Americas),
	 * AP 962-966 (Pacific) */
	{"AE", 90, 98},
	{"AA", 340, 340},
	{"AP", 962, 966},
	/* ZIP codes that cross a state line: Fishers Island NY 06390, Alta WY 83414, Fort
	 * Campbell KY/TN 42223, New Pine Creek OR/CA 97635, Fairview MT/ND 59221, Verdi NV/CA
	 * 89439, Texhoma OK/TX 73949, Yellowstone National Park WY/MT/ID 82190 */
	{"NY", 63, 63},
	{"WY", 834, 834},
	{"TN", 422, 422},
	{"CA", 976, 976},
	{"ND", 592, 592},
	{"CA", 894, 894},
	{"TX", 739, 739},
	{"MT", 821, 821},
	{"ID", 821, 821},
};

static bool us_state_known(const char *st)
{
	for (size_t i = 0; i < ARRAY_SIZE(zip_ranges); i++)
		if (strcmp(zip_ranges[i].state, st) == 0)
			return true;
	return false;
}

int address_zip_state_ok(const char *zip, const char *state)
{
	char st[NORM_MAX], z[NORM_MAX];
	unsigned prefix;

	if (!zip || !state)
		return -EINVAL;
	trim_upper(state, st, sizeof(st));
	trim_upper(zip, z, sizeof(z));
	if (!us_state_known(st) || !all_digits(z, 3) || strlen(z) < 3)
		return -EINVAL;
	prefix = (unsigned)((z[0] - '0') * 100 + (z[1] - '0') * 10 + (z[2] - '0'));
	for (size_t i = 0; i < ARRAY_SIZE(zip_ranges); i++)
		if (strcmp(zip_ranges[i].state, st) == 0 && prefix >= zip_ranges[i].first &&
		    prefix <= zip_ranges[i].last)
			return 1;
	return 0;
}

/* ---- Canada and Australia: postal code vs province/state ------------------------------ */

struct ca_fsa {
	char letter;
	const char *provinces; /* space-separated */
};

static const struct ca_fsa ca_fsas[] = {
	{'A', "NL"}, {'B', "NS"}, {'C', "PE"}, {'E', "NB"}, {'G', "QC"},    {'H', "QC"},
	{'J', "QC"}, {'K', "ON"}, {'L', "ON"}, {'M', "ON"}, {'N', "ON"},    {'P', "ON"},
	{'R', "MB"}, {'S', "SK"}, {'T', "AB"}, {'V', "BC"}, {'X', "NT NU"}, {'Y', "YT"},
};

static const char *const ca_provinces[] = {"AB", "BC", "MB", "NB", "NL", "NS", "NT",
					   "NU", "ON", "PE", "QC", "SK", "YT"};

struct au_range {
	const char *state;
	uint16_t first, last;
};

static const struct au_range au_ranges[] = {
	{"NSW", 1000, 2599}, {"NSW", 2619, 2899}, {"NSW", 2921, 2999}, {"ACT", 200, 299},
	{"ACT", 2600, 2618}, {"ACT", 2900, 2920}, {"VIC", 3000, 3999}, {"VIC", 8000, 8999},
	{"QLD", 4000, 4999}, {"QLD", 9000, 9999}, {"SA", 5000, 5999},  {"WA", 6000, 6999},
	{"TAS", 7000, 7999}, {"NT", 800, 999},
};

static bool in_list(const char *word, const char *list)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		if (strncmp(p, word, n) == 0 && (p[n] == ' ' || !p[n]))
			return true;
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
	}
	return false;
}

/* @return 1 consistent, 0 mismatch, -EINVAL unknown state (format already checked). */
static int ca_province_ok(const char *postal, const char *state)
{
	char st[NORM_MAX];
	size_t i;

	trim_upper(state, st, sizeof(st));
	for (i = 0; i < ARRAY_SIZE(ca_provinces); i++)
		if (strcmp(ca_provinces[i], st) == 0)
			break;
	if (i == ARRAY_SIZE(ca_provinces))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(ca_fsas); i++)
		if (ca_fsas[i].letter == up(postal[0]))
			return in_list(st, ca_fsas[i].provinces) ? 1 : 0;
	return 0;
}

static int au_state_ok(const char *postal, const char *state)
{
	char st[NORM_MAX];
	bool known = false;
	int v = atoi(postal);

	trim_upper(state, st, sizeof(st));
	for (size_t i = 0; i < ARRAY_SIZE(au_ranges); i++) {
		if (strcmp(au_ranges[i].state, st) != 0)
			continue;
		known = true;
		if (v >= au_ranges[i].first && v <= au_ranges[i].last)
			return 1;
	}
	return known ? 0 : -EINVAL;
}

/* ---- PO boxes and military addresses --------------------------------------------------- */

struct tokens {
	char t[TOKENS_MAX][TOKEN_MAX];
	unsigned n;
};

/* Split into upper-case runs of letters or of digits ("P.O.Box#12" -> P O BOX 12,
 * "POBOX12" -> POBOX 12); anything else, including non-ASCII bytes, separates. */
static void tokenize(const char *s, struct tokens *tk)
{
	size_t len = 0;
	int kind = 0, k; /* 1 letters, 2 digits */

	tk->n = 0;
	for (;; s++) {
		k = is_alpha(*s) ? 1 : is_digit(*s) ? 2 : 0;
		if (len && k != kind) {
			tk->t[tk->n][len] = '\0';
			tk->n++;
			len = 0;
			if (tk->n == TOKENS_MAX)
				return;
		}
		if (!*s)
			return;
		kind = k;
		if (k && len + 1 < TOKEN_MAX)
			tk->t[tk->n][len++] = up(*s);
	}
}

static bool tok_is(const struct tokens *tk, unsigned i, const char *w)
{
	return i < tk->n && strcmp(tk->t[i], w) == 0;
}

static bool tok_num(const struct tokens *tk, unsigned i)
{
	return i < tk->n && is_digit(tk->t[i][0]);
}

/* Words that make a following "BOX n" a rural-route or military box, not a PO box. */
static bool route_context(const struct tokens *tk, unsigned before)
{
	static const char *const words[] = {"RR",  "RURAL", "HC",  "HCR", "STAR",
					    "RFD", "PSC",   "CMR", "UNIT"};

	for (unsigned i = 0; i < before; i++)
		for (size_t j = 0; j < ARRAY_SIZE(words); j++)
			if (tok_is(tk, i, words[j]))
				return true;
	return false;
}

bool address_is_po_box(const char *line)
{
	static const char *const single[] = {"POBOX",	"POBX",	   "POSTBOX",	   "POSTFACH",
					     "POSTBUS", "LOCKBOX", "POSTOFFICEBOX"};
	/* two-word phrases; the second word is one of BOX/DRAWER/BAG/POSTALE/POSTAL */
	static const char *const pairs[][2] = {
		{"PO", "BOX"},	      {"PO", "BX"},	      {"PO", "DRAWER"},
		{"POST", "BOX"},      {"POSTAL", "BOX"},      {"POSTOFFICE", "BOX"},
		{"GPO", "BOX"},	      {"LOCKED", "BAG"},      {"LOCK", "BOX"},
		{"BOITE", "POSTALE"}, {"CASELLA", "POSTALE"}, {"CAIXA", "POSTAL"},
	};
	/* words that are a PO box only when a number follows ("BP 12", "Apartado 5") */
	static const char *const numbered[] = {"POB", "BP", "APARTADO", "CASILLA", "BOX"};
	struct tokens tk;

	if (!line)
		return false;
	tokenize(line, &tk);
	for (unsigned i = 0; i < tk.n; i++) {
		for (size_t j = 0; j < ARRAY_SIZE(single); j++)
			if (tok_is(&tk, i, single[j]))
				return true;
		for (size_t j = 0; j < ARRAY_SIZE(pairs); j++)
			if (tok_is(&tk, i, pairs[j][0]) && tok_is(&tk, i + 1, pairs[j][1]))
				return true;
		/* P O BOX, P 0 BOX, P O B, P O DRAWER, POST OFFICE BOX/DRAWER */
		if (tok_is(&tk, i, "P") && (tok_is(&tk, i + 1, "O") || tok_is(&tk, i + 1, "0")) &&
		    (tok_is(&tk, i + 2, "BOX") || tok_is(&tk, i + 2, "B") ||
		     tok_is(&tk, i + 2, "DRAWER") || tok_is(&tk, i + 2, "BX")))
			return true;
		if (tok_is(&tk, i, "P") && tok_is(&tk, i + 1, "OBOX"))
			return true;
		if (tok_is(&tk, i, "POST") && tok_is(&tk, i + 1, "OFFICE") &&
		    (tok_is(&tk, i + 2, "BOX") || tok_is(&tk, i + 2, "DRAWER")))
			return true;
		for (size_t j = 0; j < ARRAY_SIZE(numbered); j++) {
			if (!tok_is(&tk, i, numbered[j]) || !tok_num(&tk, i + 1))
				continue;
			if (strcmp(numbered[j], "BOX") == 0 && route_context(&tk, i))
				continue;
			return true;
		}
	}
	return false;
}

static bool military_city(const char *city)
{
	char c[NORM_MAX];

	trim_upper(city, c, sizeof(c));
	return strcmp(c, "APO") == 0 || strcmp(c, "FPO") == 0 || strcmp(c, "DPO") == 0;
}

static bool military_state(const char *state)
{
	char s[NORM_MAX];

	trim_upper(state, s, sizeof(s));
	return strcmp(s, "AA") == 0 || strcmp(s, "AE") == 0 || strcmp(s, "AP") == 0;
}

bool address_is_military(const struct pkg_address *a)
{
	if (!a)
		return false;
	if (*a->country && strcasecmp(a->country, "US") != 0)
		return false;
	return military_city(a->city) || military_state(a->state);
}

/* ---- carrier policies ------------------------------------------------------------------ */

/*
 * Who delivers to PO boxes and APO/FPO/DPO. First match wins, so services that hand the
 * package to USPS for the last mile come before their carrier's catch-all row.
 */
static const struct addr_carrier_policy carrier_policies[] = {
	{"USPS", "*", true, true,
	 "USPS Publication 28 (PO Box and APO/FPO/DPO are USPS delivery addresses)"},
	{"UPS", "*SurePost*", true, true,
	 "UPS Rate and Service Guide: SurePost final delivery by USPS (PO Box, APO/FPO/DPO)"},
	{"UPS", "*Ground Saver*", true, true,
	 "UPS Ground Saver (successor of SurePost, 2024): PO Box and APO/FPO/DPO accepted; "
	 "not re-verified after 2024"},
	{"UPS", "*Mail Innovations*", true, true,
	 "UPS Mail Innovations: USPS-delivered, PO Box and APO/FPO/DPO accepted"},
	{"UPS", "*", false, false, "UPS Rate and Service Guide: no delivery to PO boxes"},
	{"FedEx", "*Ground Economy*", true, true,
	 "FedEx Service Guide: Ground Economy (formerly SmartPost) delivers to PO Box and "
	 "APO/FPO/DPO via USPS"},
	{"FedEx", "*SmartPost*", true, true, "FedEx SmartPost (now Ground Economy), as above"},
	{"FedEx", "*", false, false, "FedEx Service Guide: no delivery to PO boxes"},
	{"DHL eCommerce", "*", true, true,
	 "DHL eCommerce (US): USPS final delivery, PO Box and APO/FPO accepted"},
	{"DHL*", "*", false, false, "DHL Express terms: no delivery to PO boxes"},
};

const struct addr_carrier_policy *address_default_policies(size_t *ret_n)
{
	if (ret_n)
		*ret_n = ARRAY_SIZE(carrier_policies);
	return carrier_policies;
}

static const struct addr_carrier_policy *find_policy(const struct addr_opts *o, const char *carrier,
						     const char *service)
{
	const struct addr_carrier_policy *t = o->policies;
	size_t n = o->n_policies;

	if (!t)
		t = address_default_policies(&n);
	for (size_t i = 0; i < n; i++)
		if (t[i].carrier && t[i].service &&
		    fnmatch(t[i].carrier, carrier, FNM_CASEFOLD) == 0 &&
		    fnmatch(t[i].service, service, FNM_CASEFOLD) == 0)
			return &t[i];
	return NULL;
}

/* ---- label vs order -------------------------------------------------------------------- */

/*
 * Postal codes are compared without spaces and hyphens, case-insensitively. US: the ZIP5
 * must agree; the +4 too when both sides have one that is not 0000 (MaxiCode mode 2 pads
 * an unknown +4 with zeros). Other countries: equal, or the label's code is the 6-character
 * truncation MaxiCode mode 3 allows (a 7-character UK postcode arrives as 6).
 */
static bool postal_equal(const char *country, const char *order, const char *label)
{
	char o[NORM_MAX], l[NORM_MAX];
	size_t ol, ll;

	squeeze(order, o, sizeof(o));
	squeeze(label, l, sizeof(l));
	ol = strlen(o);
	ll = strlen(l);
	if (strcasecmp(country, "US") == 0 && ol >= 5 && ll >= 5 && all_digits(o, 5) &&
	    all_digits(l, 5)) {
		if (strncmp(o, l, 5) != 0)
			return false;
		if (ol == 9 && ll == 9 && strcmp(o + 5, "0000") && strcmp(l + 5, "0000"))
			return strcmp(o + 5, l + 5) == 0;
		return true;
	}
	if (ll == 6 && ol > 6 && strncmp(o, l, 6) == 0)
		return true;
	return strcmp(o, l) == 0;
}

static void check_label(const struct pkg_address *a, const struct addr_label_info *label,
			struct addr_result *r)
{
	char lc[3];

	/* a label country we cannot map to alpha-2 is not judged (the record keeps both) */
	if (*label->country && *a->country && country_to_a2(label->country, lc)) {
		if (strcasecmp(lc, a->country) != 0)
			add_fail(r, ADDR_LABEL_COUNTRY, "label ships to %.8s, order to %.4s",
				 label->country, a->country);
	}
	if (*label->postal_code && *a->postal_code &&
	    !postal_equal(a->country, a->postal_code, label->postal_code))
		add_fail(r, ADDR_LABEL_POSTAL, "label postal code %.16s, order %.16s",
			 label->postal_code, a->postal_code);
}

/* ---- the checks ------------------------------------------------------------------------ */

static void check_printable(const struct pkg_address *a, enum addr_charset cs,
			    struct addr_result *r)
{
	const struct {
		const char *name, *v;
	} f[] = {
		{"name", a->name},   {"street", a->street},	      {"city", a->city},
		{"state", a->state}, {"postal_code", a->postal_code}, {"country", a->country},
	};

	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		long cp;
		size_t off;

		if (address_printable(f[i].v, cs, &cp, &off))
			continue;
		if (cp < 0)
			add_fail(r, ADDR_INVALID_UTF8, "%s: invalid UTF-8 at byte %zu", f[i].name,
				 off);
		else
			add_fail(r, ADDR_UNPRINTABLE, "%s: U+%04lX at byte %zu is not in %s",
				 f[i].name, cp, off, addr_charset_to_string(cs));
	}
}

static bool state_required(const char *country)
{
	return !strcasecmp(country, "US") || !strcasecmp(country, "CA") ||
	       !strcasecmp(country, "AU");
}

static void check_region(const struct pkg_address *a, struct addr_result *r)
{
	char st[NORM_MAX], p[NORM_MAX];
	bool ca;
	int ok;

	if (blank(a->state))
		return;
	trim_upper(a->state, st, sizeof(st));
	trim_upper(a->postal_code, p, sizeof(p));
	if (!strcasecmp(a->country, "US")) {
		if (!us_state_known(st)) {
			add_fail(r, ADDR_STATE_INVALID, "'%.8s' is not a USPS state code",
				 a->state);
			return;
		}
		if (address_postal_format_ok("US", p) == 1 && address_zip_state_ok(p, st) == 0)
			add_fail(r, ADDR_ZIP_STATE, "ZIP %.3s.. is not in %s", p, st);
		return;
	}
	if (strcasecmp(a->country, "CA") && strcasecmp(a->country, "AU"))
		return;
	ca = !strcasecmp(a->country, "CA");
	/* the state code is judged on its own first (-EINVAL = unknown code, whatever the
	 * postal code; the dummy postal codes only fill the argument) */
	ok = ca ? ca_province_ok("K", st) : au_state_ok("2000", st);
	if (ok < 0) {
		add_fail(r, ADDR_STATE_INVALID, "'%.8s' is not a %s code", a->state,
			 ca ? "province" : "state");
		return;
	}
	if (address_postal_format_ok(a->country, p) != 1)
		return;
	ok = ca ? ca_province_ok(p, st) : au_state_ok(p, st);
	if (ok == 0)
		add_fail(r, ADDR_POSTAL_STATE, "postal code %.8s is not in %.8s", p, st);
}

int address_check_opts(const struct pkg_address *a, const char *carrier, const char *service,
		       const struct addr_label_info *label, const struct addr_opts *opts,
		       struct addr_result *ret)
{
	struct addr_opts dflt = {.charset = ADDR_CHARSET_DEFAULT};
	const struct postal_format *f;
	struct addr_result r;
	bool country_ok;

	if (!a || !ret)
		return -EINVAL;
	if (!opts)
		opts = &dflt;
	if (opts->charset < 0 || opts->charset >= _ADDR_CHARSET_MAX)
		return -EINVAL;
	if (!carrier)
		carrier = "";
	if (!service)
		service = "";
	memset(&r, 0, sizeof(r));
	r.pass = true;

	check_printable(a, opts->charset, &r);

	/* required fields */
	if (blank(a->name))
		add_fail(&r, ADDR_MISSING_NAME, "no recipient name");
	if (blank(a->street))
		add_fail(&r, ADDR_MISSING_STREET, "no street line");
	if (blank(a->city))
		add_fail(&r, ADDR_MISSING_CITY, "no city");
	country_ok = false;
	if (blank(a->country)) {
		add_fail(&r, ADDR_MISSING_COUNTRY, "no country");
	} else if (strlen(a->country) != 2 || !is_alpha(a->country[0]) ||
		   !is_alpha(a->country[1])) {
		add_fail(&r, ADDR_COUNTRY_INVALID, "'%.4s' is not an ISO 3166-1 alpha-2 code",
			 a->country);
	} else {
		country_ok = true;
	}

	f = country_ok ? find_format(a->country) : NULL;
	if (blank(a->postal_code)) {
		if (f && !f->optional)
			add_fail(&r, ADDR_MISSING_POSTAL, "no postal code (required in %s)",
				 f->country);
	} else if (f && !format_ok(f, a->postal_code)) {
		add_fail(&r, ADDR_POSTAL_FORMAT, "'%.16s' is not a %s postal code (e.g. %s)",
			 a->postal_code, f->country, f->example);
	}
	if (country_ok && state_required(a->country) && blank(a->state))
		add_fail(&r, ADDR_MISSING_STATE, "no state/province (required in %.2s)",
			 a->country);
	if (country_ok)
		check_region(a, &r);

	/* PO boxes and military addresses */
	r.military = address_is_military(a);
	r.po_box = !r.military && address_is_po_box(a->street);
	if (r.military && !(military_city(a->city) && military_state(a->state)))
		add_fail(&r, ADDR_MILITARY_INCONSISTENT,
			 "APO/FPO/DPO needs city APO, FPO or DPO with state AA, AE or AP (got "
			 "%.8s %.4s)",
			 a->city, a->state);
	if (*carrier && (r.po_box || r.military)) {
		const struct addr_carrier_policy *p = find_policy(opts, carrier, service);

		if (p && r.po_box && !p->po_box)
			add_fail(&r, ADDR_PO_BOX_REFUSED,
				 "%.24s %.32s does not deliver to PO boxes", carrier, service);
		if (p && r.military && !p->military)
			add_fail(&r, ADDR_APO_REFUSED,
				 "%.24s %.32s does not deliver to APO/FPO/DPO", carrier, service);
	}

	if (label)
		check_label(a, label, &r);

	*ret = r;
	return 0;
}

int address_check(const struct pkg_address *a, const char *carrier, const char *service,
		  const struct addr_label_info *label, struct addr_result *ret)
{
	return address_check_opts(a, carrier, service, label, NULL, ret);
}

int address_check_order(const struct order_ctx *o, const struct addr_label_info *label,
			const struct addr_opts *opts, struct addr_result *ret)
{
	struct addr_result r;
	int err;

	if (!o || !ret)
		return -EINVAL;
	err = address_check_opts(&o->address, o->carrier, o->service, label, opts, &r);
	if (err < 0)
		return err;
	r.has_upstream = o->has_upstream_av;
	if (o->has_upstream_av) {
		r.upstream_pass = o->upstream_av_pass;
		r.n_upstream_failed = o->n_upstream_av_failed < PKG_CHECKS_MAX
					      ? o->n_upstream_av_failed
					      : PKG_CHECKS_MAX;
		for (unsigned i = 0; i < r.n_upstream_failed; i++)
			snprintf(r.upstream_failed[i], PKG_ID_MAX, "%.*s", PKG_ID_MAX - 1,
				 o->upstream_av_failed[i]);
	}
	*ret = r;
	return 0;
}
