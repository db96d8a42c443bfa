/* SPDX-License-Identifier: MIT */
/*
 * src/label.c - barcode scan classification and shipping-label data (see label.h).
 *
 * The problem: a packer scans whatever is on the box. The scanner hands us bytes with no
 * type: a 1D carrier number, a GS1-128 element string (with or without the AIM symbology
 * identifier and the FNC1 separators, which scanners transmit as GS), or the contents of a
 * 2D label (UPS MaxiCode, carrier PDF417) in an ISO/IEC 15434 envelope. We decide by shape
 * first (envelope, symbology, separators, length, prefix), then verify the check digit of
 * the one format the shape points to. Shapes that two carriers share are split by prefix or
 * by the check digit itself, in the fixed order documented in label.h; nothing is decided by
 * "whichever check happens to pass" except the three 20-digit variants, whose sums differ
 * mod 10 so that at most one can pass.
 *
 * Sources for the algorithms and the test numbers in tests/unit/test_label.c: GS1 General
 * Specifications (mod 10, AI table, AIM "]C1"), UPU S10 (weights 8,6,4,2,3,5,9,7), the UPS
 * 1Z modified mod 10 (letters A=2 ... I=0 ... Z=7, even positions doubled), FedEx Express
 * mod 11 (3,1,7), FedEx Ground/96 mod 10 over the 15-digit Ground number, USPS IMpb (GS1 mod
 * 10 over the 9x tracking number, not the 420 routing), DHL Express mod 7, ANSI MH10.8.3 /
 * UPS MaxiCode field order (postal code, country, class, tracking, SCAC, shipper, pickup day,
 * shipment ID, n/x, weight, address validation, street, city, state).
 *
 * Everything is bounded by the input length and the fixed buffers in struct label; there is
 * no allocation except in label_to_json().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "src/label.h"

#define GS  0x1d /* group separator; also how scanners transmit GS1 FNC1 */
#define RS  0x1e /* record separator */
#define EOT 0x04 /* end of transmission: 15434 trailer */

/* The 14 positional fields of a 15434 format 01 message (UPS MaxiCode order). */
enum f01 {
	F01_POSTAL,
	F01_COUNTRY,
	F01_CLASS,
	F01_TRACKING,
	F01_SCAC,
	F01_SHIPPER,
	F01_PICKUP_DAY,
	F01_SHIPMENT_ID,
	F01_PACKAGE_NX,
	F01_WEIGHT,
	F01_ADDR_VALID,
	F01_STREET,
	F01_CITY,
	F01_STATE,
	_F01_MAX,
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static char to_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool is_alnum_ci(char c)
{
	return is_digit(c) || is_upper(to_upper(c));
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

static bool starts(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && memcmp(s, prefix, p) == 0;
}

/*
 * GS1 mod 10 check digit for the data digits @pre followed by @d (weights 3,1,3,... from the
 * rightmost data digit). Callers have checked that every byte is a digit.
 */
static int gs1_check2(const char *pre, size_t npre, const char *d, size_t nd)
{
	unsigned sum = 0, w = 3;
	size_t i;

	for (i = nd; i-- > 0; w = 4 - w)
		sum += (unsigned)(d[i] - '0') * w;
	for (i = npre; i-- > 0; w = 4 - w)
		sum += (unsigned)(pre[i] - '0') * w;
	return (int)((10 - sum % 10) % 10);
}

/* @d is all digits, the last one being the check digit. */
static bool gs1_ok(const char *d, size_t n)
{
	return n >= 2 && gs1_check2("", 0, d, n - 1) == d[n - 1] - '0';
}

static enum label_check verdict(bool ok)
{
	return ok ? LABEL_CHECK_OK : LABEL_CHECK_BAD;
}

/* ---- text copying ---------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), 0 if none (C0 controls count as valid). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq(s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

/*
 * Copy @n bytes of label text into @dst (@size bytes, always NUL-terminated). Valid UTF-8 is
 * kept; otherwise the bytes are read as Latin-1 (the MaxiCode default character set) and
 * converted. Control characters (C0, DEL, C1) become '?'. Truncates on a character boundary.
 */
static void copy_text(struct label *l, char *dst, size_t size, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	bool utf8 = utf8_valid(s, n);
	size_t i = 0, o = 0, k;
	unsigned char c;

	while (i < n) {
		c = s[i];
		k = utf8 ? utf8_seq(s + i, n - i) : 1;
		if (c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80 && c < 0xa0)) {
			l->warnings |= LABEL_W_CONTROL;
			if (o + 1 >= size)
				goto truncated;
			dst[o++] = '?';
		} else if (utf8 || c < 0x80) {
			if (o + k >= size)
				goto truncated;
			memcpy(dst + o, s + i, k);
			o += k;
		} else {
			if (o + 2 >= size)
				goto truncated;
			dst[o++] = (char)(0xc0 | c >> 6);
			dst[o++] = (char)(0x80 | (c & 0x3f));
		}
		i += k;
	}
	dst[o] = '\0';
	return;
truncated:
	dst[o] = '\0';
	l->warnings |= LABEL_W_TRUNCATED;
}

/* Set a field from one of our own constant strings. */
static void set_str(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s);
}

/* Copy an ASCII number (already validated) upper-cased. */
static void set_upper(char *dst, size_t size, const char *s, size_t n)
{
	size_t i;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		dst[i] = to_upper(s[i]);
	dst[n] = '\0';
}

/* ---- tables ---------------------------------------------------------------------------- */

/*
 * UPS 1Z service characters (positions 9-10). UPS does not publish this table; it is the
 * community-maintained one (jkeen/tracking_number_data) and UPS reuses codes per account, so
 * the names are a display hint and the "signature" entries only a hint (LABEL_SIG_HINT).
 */
static const struct {
	char code[3];
	bool signature;
	const char *name;
} ups_services[] = {
	{"01", false, "Next Day Air"},
	{"02", false, "2nd Day Air"},
	{"03", false, "Ground"},
	{"12", false, "3 Day Select"},
	{"13", false, "Next Day Air Saver"},
	{"15", false, "Next Day Air Early"},
	{"22", false, "Ground Returns Plus, 3 attempts"},
	{"32", false, "Next Day Air Early, COD"},
	{"33", false, "Next Day Air Early, Saturday, COD"},
	{"41", false, "Next Day Air Early, Saturday"},
	{"42", true, "Ground, signature required"},
	{"44", false, "Next Day Air, Saturday"},
	{"66", false, "Worldwide Express"},
	{"72", false, "Ground, COD"},
	{"78", false, "Ground Returns Plus, 1 attempt"},
	{"90", false, "Ground Returns"},
	{"A0", true, "Next Day Air Early, adult signature"},
	{"A1", true, "Next Day Air Early, Saturday, adult signature"},
	{"A2", true, "Next Day Air, adult signature"},
	{"A8", true, "Ground, adult signature"},
	{"A9", true, "Next Day Air Early, adult signature, COD"},
	{"AA", true, "Next Day Air Early, Saturday, adult signature, COD"},
};

/* UPU S10 service indicator, first letter (S10 annex; the rest are operator-assigned). */
static const char *s10_service(char c)
{
	switch (c) {
	case 'C':
		return "Parcel";
	case 'E':
		return "EMS";
	case 'L':
		return "Letter post express";
	case 'R':
		return "Registered";
	case 'V':
		return "Insured";
	default:
		return "";
	}
}

/* Standard Carrier Alpha Codes seen on 15434 format 01 labels. */
static const struct {
	const char *scac;
	const char *carrier;
} scacs[] = {
	{"UPSN", "UPS"},
	{"FDEG", "FedEx"},
	{"FDEN", "FedEx"},
	{"USPS", "USPS"},
};

/* ISO 3166-1 numeric -> alpha-2 for the destinations a station ships to most. */
static const struct {
	char num[4];
	char alpha2[3];
} countries[] = {
	{"016", "AS"}, {"032", "AR"}, {"036", "AU"}, {"040", "AT"}, {"056", "BE"}, {"076", "BR"},
	{"100", "BG"}, {"124", "CA"}, {"152", "CL"}, {"156", "CN"}, {"158", "TW"}, {"170", "CO"},
	{"191", "HR"}, {"196", "CY"}, {"203", "CZ"}, {"208", "DK"}, {"233", "EE"}, {"246", "FI"},
	{"250", "FR"}, {"276", "DE"}, {"300", "GR"}, {"316", "GU"}, {"344", "HK"}, {"348", "HU"},
	{"352", "IS"}, {"356", "IN"}, {"360", "ID"}, {"372", "IE"}, {"376", "IL"}, {"380", "IT"},
	{"392", "JP"}, {"410", "KR"}, {"428", "LV"}, {"438", "LI"}, {"440", "LT"}, {"442", "LU"},
	{"458", "MY"}, {"470", "MT"}, {"484", "MX"}, {"492", "MC"}, {"528", "NL"}, {"554", "NZ"},
	{"578", "NO"}, {"580", "MP"}, {"581", "UM"}, {"608", "PH"}, {"616", "PL"}, {"620", "PT"},
	{"630", "PR"}, {"642", "RO"}, {"682", "SA"}, {"702", "SG"}, {"703", "SK"}, {"704", "VN"},
	{"705", "SI"}, {"710", "ZA"}, {"724", "ES"}, {"752", "SE"}, {"756", "CH"}, {"764", "TH"},
	{"784", "AE"}, {"792", "TR"}, {"804", "UA"}, {"826", "GB"}, {"840", "US"}, {"850", "VI"},
};

const char *label_country_alpha2(const char *num)
{
	size_t i;

	if (!num)
		return NULL;
	for (i = 0; i < sizeof(countries) / sizeof(countries[0]); i++)
		if (memcmp(countries[i].num, num, 3) == 0)
			return countries[i].alpha2;
	return NULL;
}

/*
 * GS1 application identifiers a parcel label uses, plus the common product ones so that a
 * mixed string parses through. @prefix matches the start of the AI; @ai_len is the AI's
 * length (the 31nn-36nn measures are 4-digit AIs whose last digit is the decimal point).
 * @fixed: predefined data length, or 0 for variable length up to @max (ended by GS or the
 * end of data).
 */
struct ai_def {
	const char *prefix;
	uint8_t ai_len;
	uint8_t fixed;
	uint8_t max;
	bool numeric;
	bool check; /* last digit is a GS1 mod 10 check digit */
	const char *name;
};

static const struct ai_def ai_defs[] = {
	{"00", 2, 18, 18, true, true, "sscc"},
	{"01", 2, 14, 14, true, true, "gtin"},
	{"02", 2, 14, 14, true, true, "content_gtin"},
	{"10", 2, 0, 20, false, false, "batch"},
	{"11", 2, 6, 6, true, false, "prod_date"},
	{"12", 2, 6, 6, true, false, "due_date"},
	{"13", 2, 6, 6, true, false, "pack_date"},
	{"15", 2, 6, 6, true, false, "best_before"},
	{"16", 2, 6, 6, true, false, "sell_by"},
	{"17", 2, 6, 6, true, false, "expiry"},
	{"20", 2, 2, 2, true, false, "variant"},
	{"21", 2, 0, 20, false, false, "serial"},
	{"22", 2, 0, 20, false, false, "cpv"},
	{"30", 2, 0, 8, true, false, "var_count"},
	{"310", 4, 6, 6, true, false, "net_weight_kg"},
	{"320", 4, 6, 6, true, false, "net_weight_lb"},
	{"330", 4, 6, 6, true, false, "gross_weight_kg"},
	{"340", 4, 6, 6, true, false, "gross_weight_lb"},
	{"31", 4, 6, 6, true, false, "measure"},
	{"32", 4, 6, 6, true, false, "measure"},
	{"33", 4, 6, 6, true, false, "measure"},
	{"34", 4, 6, 6, true, false, "measure"},
	{"35", 4, 6, 6, true, false, "measure"},
	{"36", 4, 6, 6, true, false, "measure"},
	{"37", 2, 0, 8, true, false, "count"},
	{"400", 3, 0, 30, false, false, "order_number"},
	{"401", 3, 0, 30, false, false, "ginc"},
	{"402", 3, 17, 17, true, true, "gsin"},
	{"403", 3, 0, 30, false, false, "routing_code"},
	{"410", 3, 13, 13, true, true, "ship_to_gln"},
	{"411", 3, 13, 13, true, true, "bill_to_gln"},
	{"412", 3, 13, 13, true, true, "purchased_from_gln"},
	{"413", 3, 13, 13, true, true, "ship_for_gln"},
	{"414", 3, 13, 13, true, true, "location_gln"},
	{"415", 3, 13, 13, true, true, "pay_to_gln"},
	{"416", 3, 13, 13, true, true, "production_gln"},
	{"417", 3, 13, 13, true, true, "party_gln"},
	{"420", 3, 0, 20, false, false, "ship_to_postal"},
	{"421", 3, 0, 12, false, false, "ship_to_postal_iso"},
	{"422", 3, 3, 3, true, false, "origin_country"},
	{"90", 2, 0, 30, false, false, "mutually_agreed"},
	{"91", 2, 0, 90, false, false, "internal"},
	{"92", 2, 0, 90, false, false, "internal"},
	{"93", 2, 0, 90, false, false, "internal"},
	{"94", 2, 0, 90, false, false, "internal"},
	{"95", 2, 0, 90, false, false, "internal"},
	{"96", 2, 0, 90, false, false, "internal"},
	{"97", 2, 0, 90, false, false, "internal"},
	{"98", 2, 0, 90, false, false, "internal"},
	{"99", 2, 0, 90, false, false, "internal"},
};

/* The AI at the start of s[0..n): first table match in order (specific before family). */
static const struct ai_def *ai_match(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(ai_defs) / sizeof(ai_defs[0]); i++) {
		const struct ai_def *d = &ai_defs[i];

		if (n >= d->ai_len && starts(s, n, d->prefix) && all_digits(s, d->ai_len))
			return d;
	}
	return NULL;
}

/* The definition for a complete AI string (the parenthesised form). */
static const struct ai_def *ai_exact(const char *ai, size_t n)
{
	const struct ai_def *d = ai_match(ai, n);

	return d && d->ai_len == n ? d : NULL;
}

/* ANSI MH10.8.2 data identifiers we name; all others are kept unnamed. */
static const char *di_name(const char *di)
{
	static const struct {
		const char *di;
		const char *name;
	} dis[] = {
		{"J", "license_plate"},	 {"1J", "license_plate"}, {"2J", "license_plate"},
		{"3J", "license_plate"}, {"4J", "license_plate"}, {"5J", "license_plate"},
		{"6J", "license_plate"}, {"K", "customer_order"}, {"P", "customer_part"},
		{"1P", "supplier_part"}, {"Q", "quantity"},	  {"S", "serial"},
	};
	size_t i;

	for (i = 0; i < sizeof(dis) / sizeof(dis[0]); i++)
		if (strcmp(dis[i].di, di) == 0)
			return dis[i].name;
	return NULL;
}

/* ---- tracking numbers ------------------------------------------------------------------ */

static void set_tracking(struct label *l, enum label_kind k, enum label_check c,
			 const char *carrier, const char *num, size_t n)
{
	l->tracking_kind = k;
	l->check = c;
	set_str(l->carrier, sizeof(l->carrier), carrier);
	set_upper(l->tracking, sizeof(l->tracking), num, n);
	l->fields |= LABEL_F_TRACKING;
}

/* UPS: "1Z" + 6 shipper + 2 service + 7 package + 1 check; letters map A=2 ... I=0 ... */
static bool try_ups(const char *s, size_t n, struct label *l)
{
	unsigned sum = 0, v;
	size_t i;

	if (n != 18 || s[0] != '1' || to_upper(s[1]) != 'Z')
		return false;
	for (i = 2; i < 18; i++)
		if (!is_alnum_ci(s[i]))
			return false;
	for (i = 2; i < 17; i++) {
		char c = to_upper(s[i]);

		v = is_digit(c) ? (unsigned)(c - '0') : (unsigned)(c - 'A' + 2) % 10;
		sum += (i - 2) % 2 ? 2 * v : v;
	}
	set_tracking(l, LABEL_UPS_1Z,
		     verdict(is_digit(s[17]) && (10 - sum % 10) % 10 == (unsigned)(s[17] - '0')),
		     "UPS", s, n);
	set_upper(l->service_code, sizeof(l->service_code), s + 8, 2);
	for (i = 0; i < sizeof(ups_services) / sizeof(ups_services[0]); i++) {
		if (memcmp(ups_services[i].code, l->service_code, 2) == 0) {
			set_str(l->service, sizeof(l->service), ups_services[i].name);
			if (ups_services[i].signature)
				l->signature = LABEL_SIG_HINT;
		}
	}
	return true;
}

/* UPU S10: 2 letters, 8 digits, check, 2 letters (the issuing country). */
static bool try_s10(const char *s, size_t n, struct label *l)
{
	static const unsigned w[8] = {8, 6, 4, 2, 3, 5, 9, 7};
	unsigned sum = 0, c;
	size_t i;

	if (n != 13 || !is_upper(to_upper(s[0])) || !is_upper(to_upper(s[1])) ||
	    !all_digits(s + 2, 9) || !is_upper(to_upper(s[11])) || !is_upper(to_upper(s[12])))
		return false;
	for (i = 0; i < 8; i++)
		sum += (unsigned)(s[2 + i] - '0') * w[i];
	c = 11 - sum % 11;
	if (c == 10)
		c = 0;
	else if (c == 11)
		c = 5;
	set_tracking(l, LABEL_UPU_S10, verdict(c == (unsigned)(s[10] - '0')), "UPU", s, n);
	set_upper(l->service_code, sizeof(l->service_code), s, 2);
	set_str(l->service, sizeof(l->service), s10_service(l->service_code[0]));
	set_upper(l->issuer_country, sizeof(l->issuer_country), s + 11, 2);
	return true;
}

/* FedEx Express: weights 3,1,7 (repeating) over the first 11 digits, mod 11, 10 -> 0. */
static bool fedex_mod11(const char *d, size_t nd, char check)
{
	static const unsigned w[3] = {1, 3, 7}; /* from the rightmost data digit */
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < nd; i++)
		sum += (unsigned)(d[nd - 1 - i] - '0') * w[i % 3];
	return sum % 11 % 10 == (unsigned)(check - '0');
}

/* DHL Express: the first 9 digits as a number, mod 7. */
static bool dhl_ok(const char *d)
{
	unsigned r = 0;
	size_t i;

	for (i = 0; i < 9; i++)
		r = (r * 10 + (unsigned)(d[i] - '0')) % 7;
	return r == (unsigned)(d[9] - '0');
}

/* 9[1-5] + 20 or 24 digits: the USPS IMpb tracking number (check over all of it). */
static bool impb_shape(const char *s, size_t n)
{
	return (n == 22 || n == 26) && s[0] == '9' && s[1] >= '1' && s[1] <= '5' &&
	       all_digits(s, n);
}

static void set_impb(struct label *l, const char *s, size_t n)
{
	set_tracking(l, LABEL_USPS_IMPB, verdict(gs1_ok(s, n)), "USPS", s, n);
	set_upper(l->service_code, sizeof(l->service_code), s + 2, 3); /* service type code */
}

/* All-digit carrier numbers without separators. */
static bool try_digits(const char *s, size_t n, struct label *l)
{
	if (!all_digits(s, n))
		return false;
	switch (n) {
	case 10:
		set_tracking(l, LABEL_DHL_EXPRESS, verdict(dhl_ok(s)), "DHL", s, n);
		l->weak = true;
		return true;
	case 12:
		set_tracking(l, LABEL_FEDEX_EXPRESS_12, verdict(fedex_mod11(s, 11, s[11])), "FedEx",
			     s, n);
		l->weak = true;
		return true;
	case 15:
		set_tracking(l, LABEL_FEDEX_GROUND_15, verdict(gs1_ok(s, n)), "FedEx", s, n);
		l->weak = true;
		return true;
	case 18:
		set_tracking(l, LABEL_SSCC18, verdict(gs1_ok(s, n)), "", s, n);
		l->weak = true;
		return true;
	case 20: {
		char c = s[19];

		l->weak = true;
		if (gs1_check2("", 0, s, 19) == c - '0')
			set_tracking(l, LABEL_USPS_20, LABEL_CHECK_OK, "USPS", s, n);
		else if (gs1_check2("91", 2, s, 19) == c - '0')
			set_tracking(l, LABEL_USPS_IMPB, LABEL_CHECK_OK, "USPS", s, n);
		else if (gs1_check2("92", 2, s, 19) == c - '0')
			set_tracking(l, LABEL_FEDEX_SMARTPOST_20, LABEL_CHECK_OK, "FedEx", s, n);
		else /* shared by USPS and FedEx SmartPost: no carrier named */
			set_tracking(l, LABEL_USPS_20, LABEL_CHECK_BAD, "", s, n);
		return true;
	}
	case 22:
		if (starts(s, n, "96")) {
			/* the check covers the 15-digit Ground number at the end */
			set_tracking(l, LABEL_FEDEX_96_22, verdict(gs1_ok(s + 7, 15)), "FedEx",
				     s + 7, 15);
			memcpy(l->number, s, n);
			l->number[n] = '\0';
			memcpy(l->service_code, s + 4, 3);
			l->service_code[3] = '\0';
			return true;
		}
		if (impb_shape(s, n)) {
			set_impb(l, s, n);
			return true;
		}
		return false;
	case 26:
		if (impb_shape(s, n)) {
			set_impb(l, s, n);
			return true;
		}
		return false;
	case 34:
		if (starts(s, n, "96") || starts(s, n, "100")) {
			bool ok = fedex_mod11(s + 20, 13, s[33]);

			/* digits 21-22 zero: the last 12 are the Express tracking number */
			if (s[20] == '0' && s[21] == '0')
				set_tracking(l, LABEL_FEDEX_34, verdict(ok), "FedEx", s + 22, 12);
			else
				set_tracking(l, LABEL_FEDEX_34, verdict(ok), "FedEx", s + 20, 14);
			memcpy(l->number, s, n);
			l->number[n] = '\0';
			return true;
		}
		return false;
	default:
		return false;
	}
}

/* Classify one whole number (no separators); fills the tracking part of @l. */
static bool classify_number(const char *s, size_t n, struct label *l)
{
	return try_ups(s, n, l) || try_s10(s, n, l) || try_digits(s, n, l);
}

/*
 * "420" + ZIP5 or ZIP9 + IMpb tracking, all digits, no separator (scanners that drop FNC1,
 * or a human-readable copy). The split is where the rest has the IMpb shape; ZIP9 first.
 */
static bool try_impb_routed(const char *s, size_t n, struct label *l)
{
	static const size_t zips[2] = {9, 5};
	size_t i, z, fallback = 0;

	if (!starts(s, n, "420") || !all_digits(s, n))
		return false;
	for (i = 0; i < 2; i++) {
		z = zips[i];
		if (n <= 3 + z || !impb_shape(s + 3 + z, n - 3 - z))
			continue;
		if (!fallback)
			fallback = z;
		if (gs1_ok(s + 3 + z, n - 3 - z))
			break;
	}
	z = i < 2 ? zips[i] : fallback;
	if (!z)
		return false;
	set_impb(l, s + 3 + z, n - 3 - z);
	copy_text(l, l->postal_code, sizeof(l->postal_code), s + 3, z);
	l->fields |= LABEL_F_POSTAL;
	memcpy(l->number, s, n);
	l->number[n] = '\0';
	l->kind = LABEL_USPS_IMPB;
	return true;
}

/* ---- GS1 element strings --------------------------------------------------------------- */

static struct label_element *add_element(struct label *l, const char *id, size_t idn, const char *v,
					 size_t vn, bool di)
{
	struct label_element *e;

	if (l->n_elements >= LABEL_ELEMENTS_MAX) {
		l->warnings |= LABEL_W_TOO_MANY;
		return NULL;
	}
	e = &l->elements[l->n_elements++];
	memset(e, 0, sizeof(*e));
	copy_text(l, e->id, sizeof(e->id), id, idn);
	copy_text(l, e->value, sizeof(e->value), v, vn);
	e->is_di = di;
	return e;
}

/* Validate and keep one AI value. */
static void gs1_element(struct label *l, const struct ai_def *d, const char *ai, size_t ain,
			const char *v, size_t vn)
{
	struct label_element *e;

	if (d && ((d->fixed && vn != d->fixed) || vn > d->max || vn == 0 ||
		  (d->numeric && !all_digits(v, vn)))) {
		l->warnings |= LABEL_W_BAD_FIELD;
		return;
	}
	if (!d && vn == 0) {
		l->warnings |= LABEL_W_BAD_FIELD;
		return;
	}
	e = add_element(l, ai, ain, v, vn, false);
	if (e && d && d->check)
		e->check = verdict(gs1_ok(v, vn));
}

/* FNC1/GS-separated element string. Stops at an AI it does not know. */
static void gs1_parse(const char *s, size_t n, struct label *l)
{
	size_t i = 0, vn;
	const struct ai_def *d;

	while (i < n) {
		if (s[i] == GS) {
			i++;
			continue;
		}
		d = ai_match(s + i, n - i);
		if (!d) {
			l->warnings |= LABEL_W_GS1_UNKNOWN_AI;
			return;
		}
		if (d->fixed) {
			vn = n - i - d->ai_len;
			if (vn > d->fixed)
				vn = d->fixed;
		} else {
			for (vn = 0; i + d->ai_len + vn < n && s[i + d->ai_len + vn] != GS; vn++)
				;
		}
		gs1_element(l, d, s + i, d->ai_len, s + i + d->ai_len, vn);
		i += d->ai_len + vn;
	}
}

/* "(00)123...(420)12345": the human-readable form; AIs delimit themselves. */
static void gs1_parse_hri(const char *s, size_t n, struct label *l)
{
	size_t i = 0, a, v;

	while (i < n && s[i] == '(') {
		for (a = i + 1; a < n && is_digit(s[a]); a++)
			;
		if (a >= n || s[a] != ')' || a - i - 1 < 2 || a - i - 1 > 4) {
			l->warnings |= LABEL_W_BAD_FIELD;
			return;
		}
		for (v = a + 1; v < n && s[v] != '('; v++)
			;
		gs1_element(l, ai_exact(s + i + 1, a - i - 1), s + i + 1, a - i - 1, s + a + 1,
			    v - a - 1);
		i = v;
	}
	if (i < n)
		l->warnings |= LABEL_W_BAD_FIELD;
}

static bool is_hri(const char *s, size_t n)
{
	size_t a;

	if (n < 4 || s[0] != '(')
		return false;
	for (a = 1; a < n && is_digit(s[a]); a++)
		;
	return a < n && s[a] == ')' && a >= 3 && a <= 5;
}

static void set_country_num(struct label *l, const char *num)
{
	const char *a2 = label_country_alpha2(num);

	memcpy(l->country_num, num, 3);
	l->country_num[3] = '\0';
	set_str(l->country, sizeof(l->country), a2 ? a2 : "");
	l->fields |= LABEL_F_COUNTRY;
}

/* What the elements say about the shipment. The first tracking number found wins. */
static void gs1_derive(struct label *l)
{
	char buf[LABEL_FIELD_MAX + LABEL_CODE_MAX];
	struct label_element *e;
	size_t i, vn;
	int r;

	for (i = 0; i < l->n_elements; i++) {
		e = &l->elements[i];
		if (e->is_di)
			continue;
		vn = strlen(e->value);
		if (strcmp(e->id, "00") == 0 && !(l->fields & LABEL_F_TRACKING)) {
			set_tracking(l, LABEL_SSCC18, e->check, "", e->value, vn);
		} else if (strcmp(e->id, "420") == 0 && !(l->fields & LABEL_F_COUNTRY)) {
			/* 421 (postal code with its country) wins over 420 */
			set_str(l->postal_code, sizeof(l->postal_code), e->value);
			l->fields |= LABEL_F_POSTAL;
		} else if (strcmp(e->id, "421") == 0 && vn > 3 && all_digits(e->value, 3)) {
			set_country_num(l, e->value);
			set_str(l->postal_code, sizeof(l->postal_code), e->value + 3);
			l->fields |= LABEL_F_POSTAL;
		} else if (e->id[0] == '9' && e->id[1] >= '1' && e->id[1] <= '6' && !e->id[2] &&
			   !(l->fields & LABEL_F_TRACKING)) {
			/* the carriers' own AIs: USPS channel 91-95, FedEx 96 */
			r = snprintf(buf, sizeof(buf), "%s%s", e->id, e->value);
			if (r > 0 && (size_t)r < sizeof(buf) && try_digits(buf, (size_t)r, l) &&
			    l->tracking_kind != LABEL_USPS_IMPB &&
			    l->tracking_kind != LABEL_FEDEX_96_22 &&
			    l->tracking_kind != LABEL_FEDEX_34) {
				/* a plain digit run that only happens to fit another length */
				memset(l->tracking, 0, sizeof(l->tracking));
				memset(l->number, 0, sizeof(l->number));
				memset(l->carrier, 0, sizeof(l->carrier));
				memset(l->service_code, 0, sizeof(l->service_code));
				l->tracking_kind = LABEL_UNKNOWN;
				l->check = LABEL_CHECK_NONE;
				l->weak = false;
				l->fields &= ~(unsigned)LABEL_F_TRACKING;
			}
		}
	}
	if (l->tracking_kind == LABEL_USPS_IMPB && l->kind != LABEL_ISO15434)
		l->kind = LABEL_USPS_IMPB;
}

/* ---- ISO/IEC 15434 --------------------------------------------------------------------- */

/* Parse an unsigned decimal of at most @max_digits digits. */
static bool parse_uint(const char *s, size_t n, size_t max_digits, unsigned *ret)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > max_digits || !all_digits(s, n))
		return false;
	for (i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	*ret = v;
	return true;
}

/* "12", "10.1", "7.25": hundredths; more than 2 decimals are cut (not rounded). */
static bool parse_weight(const char *s, size_t n, uint32_t *ret)
{
	const char *dot = memchr(s, '.', n);
	size_t ni = dot ? (size_t)(dot - s) : n, nf = dot ? n - ni - 1 : 0;
	unsigned whole = 0, frac = 0;

	if (ni == 0 || !parse_uint(s, ni, 7, &whole) ||
	    (dot && (nf == 0 || !all_digits(dot + 1, nf))))
		return false;
	if (nf >= 1)
		frac = (unsigned)(dot[1] - '0') * 10;
	if (nf >= 2)
		frac += (unsigned)(dot[2] - '0');
	*ret = whole * 100 + frac;
	return true;
}

static void bad_field(struct label *l)
{
	l->warnings |= LABEL_W_BAD_FIELD;
}

static void f01_field(struct label *l, unsigned idx, const char *v, size_t n)
{
	unsigned a, b;
	const char *slash;
	size_t i;

	if (n == 0)
		return; /* empty: absent */
	switch (idx) {
	case F01_POSTAL:
		copy_text(l, l->postal_code, sizeof(l->postal_code), v, n);
		l->fields |= LABEL_F_POSTAL;
		break;
	case F01_COUNTRY:
		if (n == 3 && all_digits(v, 3)) {
			set_country_num(l, v);
		} else if (n == 2 && is_upper(v[0]) && is_upper(v[1])) {
			memcpy(l->country, v, 2);
			l->country[2] = '\0';
			l->fields |= LABEL_F_COUNTRY;
		} else {
			goto bad;
		}
		break;
	case F01_CLASS:
		if (n >= sizeof(l->service_class))
			goto bad;
		copy_text(l, l->service_class, sizeof(l->service_class), v, n);
		l->fields |= LABEL_F_SERVICE_CLASS;
		break;
	case F01_TRACKING:
		if (!classify_number(v, n, l)) {
			/* e.g. UPS MaxiCode's 10-character "1Z" + 8: nothing to verify */
			copy_text(l, l->tracking, sizeof(l->tracking), v, n);
			l->fields |= LABEL_F_TRACKING;
		}
		l->weak = false; /* the envelope says it is a tracking number */
		break;
	case F01_SCAC:
		if (n >= sizeof(l->scac))
			goto bad;
		copy_text(l, l->scac, sizeof(l->scac), v, n);
		l->fields |= LABEL_F_SCAC;
		break;
	case F01_SHIPPER:
		copy_text(l, l->shipper, sizeof(l->shipper), v, n);
		l->fields |= LABEL_F_SHIPPER;
		break;
	case F01_PICKUP_DAY:
		if (!parse_uint(v, n, 3, &a) || a < 1 || a > 366)
			goto bad;
		l->pickup_day = (uint16_t)a;
		l->fields |= LABEL_F_PICKUP_DAY;
		break;
	case F01_SHIPMENT_ID:
		copy_text(l, l->shipment_id, sizeof(l->shipment_id), v, n);
		l->fields |= LABEL_F_SHIPMENT_ID;
		break;
	case F01_PACKAGE_NX:
		slash = memchr(v, '/', n);
		i = slash ? (size_t)(slash - v) : 0;
		if (!slash || !parse_uint(v, i, 5, &a) ||
		    !parse_uint(slash + 1, n - i - 1, 5, &b) || a > UINT16_MAX || b > UINT16_MAX)
			goto bad;
		l->package_n = (uint16_t)a;
		l->package_x = (uint16_t)b;
		l->fields |= LABEL_F_PACKAGE_NX;
		break;
	case F01_WEIGHT:
		if (n >= sizeof(l->weight) || !parse_weight(v, n, &l->weight_x100))
			goto bad;
		memcpy(l->weight, v, n);
		l->weight[n] = '\0';
		l->fields |= LABEL_F_WEIGHT;
		break;
	case F01_ADDR_VALID:
		if (n != 1 || (v[0] != 'Y' && v[0] != 'N'))
			goto bad;
		l->address_validated = v[0] == 'Y';
		l->fields |= LABEL_F_ADDR_VALID;
		break;
	case F01_STREET:
		copy_text(l, l->street, sizeof(l->street), v, n);
		l->fields |= LABEL_F_STREET;
		break;
	case F01_CITY:
		copy_text(l, l->city, sizeof(l->city), v, n);
		l->fields |= LABEL_F_CITY;
		break;
	case F01_STATE:
		copy_text(l, l->state, sizeof(l->state), v, n);
		l->fields |= LABEL_F_STATE;
		break;
	default:
		l->extra_fields++;
		l->warnings |= LABEL_W_EXTRA_FIELDS;
		break;
	}
	return;
bad:
	bad_field(l);
}

/* The GS-separated fields of a format 01 body (after the version). */
static void f01_body(const char *s, size_t n, struct label *l)
{
	size_t start = 0, i;
	unsigned idx = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == GS) {
			f01_field(l, idx, s + start, i - start);
			if (idx < _F01_MAX)
				idx++;
			start = i + 1;
		}
	}
}

/* MH10.8.2 data identifiers: up to 3 digits and one upper-case letter, then the data. */
static void f06_body(const char *s, size_t n, struct label *l)
{
	size_t start = 0, i, d;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != GS)
			continue;
		if (i > start) {
			for (d = start; d < i && d - start < 3 && is_digit(s[d]); d++)
				;
			if (d < i && is_upper(s[d]) && i > d + 1)
				add_element(l, s + start, d + 1 - start, s + d + 1, i - d - 1,
					    true);
			else
				bad_field(l);
		}
		start = i + 1;
	}
}

/* One format segment: 2-digit format, GS, data (no RS/EOT inside). */
static void f15434_segment(const char *s, size_t n, struct label *l)
{
	unsigned fmt;

	if (n < 3 || !is_digit(s[0]) || !is_digit(s[1]) || s[2] != GS) {
		l->warnings |= LABEL_W_BAD_HEADER;
		return;
	}
	fmt = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	if (fmt < 32)
		l->formats |= 1u << fmt;
	s += 3;
	n -= 3;
	switch (fmt) {
	case 1:
		if (n >= 2 && is_digit(s[0]) && is_digit(s[1])) {
			memcpy(l->format01_version, s, 2);
			l->format01_version[2] = '\0';
			s += 2;
			n -= 2;
		}
		f01_body(s, n, l);
		break;
	case 5:
		gs1_parse(s, n, l);
		gs1_derive(l);
		break;
	case 6:
		f06_body(s, n, l);
		break;
	default:
		break; /* recorded in formats, contents not interpreted */
	}
}

/* s starts with "[)>". */
static void parse_15434(const char *s, size_t n, struct label *l)
{
	size_t i = 3, end;

	l->kind = LABEL_ISO15434;
	if (i >= n || s[i] != RS) {
		l->warnings |= LABEL_W_BAD_HEADER;
		return;
	}
	while (i < n && s[i] == RS) {
		i++;
		if (i < n && s[i] == EOT)
			break;
		for (end = i; end < n && s[end] != RS && s[end] != EOT; end++)
			;
		f15434_segment(s + i, end - i, l);
		i = end;
	}
	if (i >= n || s[i] != EOT)
		l->warnings |= LABEL_W_NO_TRAILER;
}

/*
 * A UPS MaxiCode whose envelope the scanner dropped: postal GS 3-digit country GS 3-digit
 * class GS ... Recognised only by that exact shape.
 */
static bool maxicode_bare(const char *s, size_t n)
{
	const char *g1 = memchr(s, GS, n), *g2, *g3;

	if (!g1 || g1 == s)
		return false;
	g2 = memchr(g1 + 1, GS, n - (size_t)(g1 + 1 - s));
	if (!g2 || g2 - g1 != 4 || !all_digits(g1 + 1, 3))
		return false;
	g3 = memchr(g2 + 1, GS, n - (size_t)(g2 + 1 - s));
	return g3 && g3 - g2 == 4 && all_digits(g2 + 1, 3);
}

static void finish(struct label *l)
{
	size_t i;

	/* a carrier from the SCAC when the tracking number did not name one */
	if (!l->carrier[0] && l->scac[0]) {
		for (i = 0; i < sizeof(scacs) / sizeof(scacs[0]); i++)
			if (strcmp(scacs[i].scac, l->scac) == 0)
				set_str(l->carrier, sizeof(l->carrier), scacs[i].carrier);
	}
	if (l->kind == LABEL_UNKNOWN && l->tracking_kind != LABEL_UNKNOWN)
		l->kind = l->tracking_kind;
}

static bool gs1_symbology(const char *sym)
{
	static const char *const ids[] = {"C1", "e0", "d2", "Q3", "J1"};
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strcmp(sym, ids[i]) == 0)
			return true;
	return false;
}

int label_parse(const char *scan, size_t len, struct label *ret)
{
	const char *s = scan;
	size_t n = len;
	bool gs1 = false;
	struct label *l = ret;

	if (!ret || (!scan && len))
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	if (!n)
		return 0;
	while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	/* AIM symbology identifier "]" + letter + modifier */
	if (n >= 3 && s[0] == ']' && (is_upper(s[1]) || (s[1] >= 'a' && s[1] <= 'z')) &&
	    is_alnum_ci(s[2])) {
		l->symbology[0] = s[1];
		l->symbology[1] = s[2];
		gs1 = gs1_symbology(l->symbology);
		s += 3;
		n -= 3;
	}
	if (starts(s, n, "[)>")) {
		parse_15434(s, n, l);
		goto out;
	}
	if (n && s[0] == GS) {
		gs1 = true;
		s++;
		n--;
	}
	if (!memchr(s, GS, n)) {
		if (try_impb_routed(s, n, l))
			goto out;
		if (!gs1 && !(n == 20 && starts(s, n, "00") && all_digits(s, n)) &&
		    classify_number(s, n, l))
			goto out;
	}
	if (is_hri(s, n)) {
		gs1_parse_hri(s, n, l);
		gs1_derive(l);
		if (l->n_elements && l->kind == LABEL_UNKNOWN)
			l->kind = LABEL_GS1;
		goto out;
	}
	if (!gs1 && maxicode_bare(s, n)) {
		l->kind = LABEL_ISO15434;
		l->formats |= 1u << 1;
		f01_body(s, n, l);
		goto out;
	}
	if (gs1 || (memchr(s, GS, n) && ai_match(s, n)) ||
	    (n == 20 && starts(s, n, "00") && all_digits(s, n))) {
		gs1_parse(s, n, l);
		gs1_derive(l);
		if (l->n_elements && l->kind == LABEL_UNKNOWN)
			l->kind = LABEL_GS1;
	}
out:
	finish(l);
	return 0;
}

/* ---- names and JSON -------------------------------------------------------------------- */

const char *label_kind_to_string(enum label_kind k)
{
	static const char *const names[_LABEL_KIND_MAX] = {
		[LABEL_UNKNOWN] = "unknown",
		[LABEL_UPS_1Z] = "ups_1z",
		[LABEL_FEDEX_EXPRESS_12] = "fedex_express_12",
		[LABEL_FEDEX_GROUND_15] = "fedex_ground_15",
		[LABEL_FEDEX_96_22] = "fedex_96_22",
		[LABEL_FEDEX_34] = "fedex_34",
		[LABEL_FEDEX_SMARTPOST_20] = "fedex_smartpost_20",
		[LABEL_USPS_IMPB] = "usps_impb",
		[LABEL_USPS_20] = "usps_20",
		[LABEL_DHL_EXPRESS] = "dhl_express",
		[LABEL_UPU_S10] = "upu_s10",
		[LABEL_SSCC18] = "sscc18",
		[LABEL_GS1] = "gs1",
		[LABEL_ISO15434] = "iso15434",
	};

	return (int)k >= 0 && k < _LABEL_KIND_MAX ? names[k] : NULL;
}

const char *label_check_to_string(enum label_check c)
{
	static const char *const names[_LABEL_CHECK_MAX] = {
		[LABEL_CHECK_NONE] = "none",
		[LABEL_CHECK_OK] = "ok",
		[LABEL_CHECK_BAD] = "bad",
	};

	return (int)c >= 0 && c < _LABEL_CHECK_MAX ? names[c] : NULL;
}

const char *label_sig_to_string(enum label_sig s)
{
	static const char *const names[_LABEL_SIG_MAX] = {
		[LABEL_SIG_UNKNOWN] = "unknown",
		[LABEL_SIG_HINT] = "hint",
	};

	return (int)s >= 0 && s < _LABEL_SIG_MAX ? names[s] : NULL;
}

static const char *const field_names[] = {
	"postal_code",	     "country",	   "service_class", "tracking",	  "scac",
	"shipper",	     "pickup_day", "shipment_id",   "package_nx", "weight",
	"address_validated", "street",	   "city",	    "state",
};

static const char *const warning_names[] = {
	"truncated", "control_chars", "too_many_elements", "gs1_unknown_ai",
	"bad_field", "no_trailer",    "extra_fields",	   "bad_header",
};

/* cJSON builder that remembers the first allocation failure. */
struct jb {
	bool oom;
};

static void jb_check(struct jb *b, const void *p)
{
	if (!p)
		b->oom = true;
}

static void j_str(struct jb *b, cJSON *o, const char *key, const char *v)
{
	if (v && v[0])
		jb_check(b, cJSON_AddStringToObject(o, key, v));
}

static void j_num(struct jb *b, cJSON *o, const char *key, double v)
{
	jb_check(b, cJSON_AddNumberToObject(o, key, v));
}

static cJSON *j_obj(struct jb *b, cJSON *parent, const char *key)
{
	cJSON *o = cJSON_AddObjectToObject(parent, key);

	jb_check(b, o);
	return o;
}

static cJSON *j_arr(struct jb *b, cJSON *parent, const char *key)
{
	cJSON *a = cJSON_AddArrayToObject(parent, key);

	jb_check(b, a);
	return a;
}

static void j_push(struct jb *b, cJSON *arr, cJSON *item)
{
	if (!item || !arr || !cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		b->oom = true;
	}
}

static const char *element_name(const struct label_element *e)
{
	const struct ai_def *d;

	if (e->is_di)
		return di_name(e->id);
	d = ai_exact(e->id, strlen(e->id));
	return d ? d->name : NULL;
}

static void json_body(struct jb *b, cJSON *root, const struct label *l)
{
	cJSON *o, *a, *e;
	size_t i;

	j_str(b, root, "kind", label_kind_to_string(l->kind));
	j_str(b, root, "tracking_kind", label_kind_to_string(l->tracking_kind));
	j_str(b, root, "check", label_check_to_string(l->check));
	jb_check(b, cJSON_AddBoolToObject(root, "weak", l->weak));
	j_str(b, root, "carrier", l->carrier);
	j_str(b, root, "tracking", l->tracking);
	j_str(b, root, "number", l->number);
	j_str(b, root, "service_code", l->service_code);
	j_str(b, root, "service", l->service);
	j_str(b, root, "signature", label_sig_to_string(l->signature));
	j_str(b, root, "issuer_country", l->issuer_country);
	j_str(b, root, "symbology", l->symbology);

	if (l->fields &
	    (LABEL_F_POSTAL | LABEL_F_COUNTRY | LABEL_F_STREET | LABEL_F_CITY | LABEL_F_STATE)) {
		o = j_obj(b, root, "ship_to");
		if (o) {
			j_str(b, o, "postal_code", l->postal_code);
			j_str(b, o, "country", l->country);
			j_str(b, o, "country_num", l->country_num);
			j_str(b, o, "street", l->street);
			j_str(b, o, "city", l->city);
			j_str(b, o, "state", l->state);
		}
	}
	if (l->fields &
	    (LABEL_F_SERVICE_CLASS | LABEL_F_SCAC | LABEL_F_SHIPPER | LABEL_F_PICKUP_DAY |
	     LABEL_F_SHIPMENT_ID | LABEL_F_PACKAGE_NX | LABEL_F_WEIGHT | LABEL_F_ADDR_VALID)) {
		o = j_obj(b, root, "transport");
		if (o) {
			j_str(b, o, "service_class", l->service_class);
			j_str(b, o, "scac", l->scac);
			j_str(b, o, "shipper", l->shipper);
			if (l->fields & LABEL_F_PICKUP_DAY)
				j_num(b, o, "pickup_day", l->pickup_day);
			j_str(b, o, "shipment_id", l->shipment_id);
			if (l->fields & LABEL_F_PACKAGE_NX) {
				j_num(b, o, "package_n", l->package_n);
				j_num(b, o, "package_x", l->package_x);
			}
			j_str(b, o, "weight", l->weight);
			if (l->fields & LABEL_F_ADDR_VALID)
				jb_check(b, cJSON_AddBoolToObject(o, "address_validated",
								  l->address_validated));
		}
	}
	if (l->formats) {
		o = j_obj(b, root, "iso15434");
		a = o ? j_arr(b, o, "formats") : NULL;
		for (i = 0; a && i < 32; i++)
			if (l->formats & (1u << i))
				j_push(b, a, cJSON_CreateNumber((double)i));
		if (o) {
			j_str(b, o, "version", l->format01_version);
			if (l->extra_fields)
				j_num(b, o, "extra_fields", l->extra_fields);
		}
	}
	if (l->n_elements) {
		a = j_arr(b, root, "elements");
		for (i = 0; a && i < l->n_elements && i < LABEL_ELEMENTS_MAX; i++) {
			const struct label_element *el = &l->elements[i];

			e = cJSON_CreateObject();
			j_push(b, a, e);
			if (b->oom)
				break;
			j_str(b, e, "type", el->is_di ? "di" : "ai");
			j_str(b, e, "id", el->id);
			j_str(b, e, "name", element_name(el));
			jb_check(b, cJSON_AddStringToObject(e, "value", el->value));
			if (el->check != LABEL_CHECK_NONE)
				j_str(b, e, "check", label_check_to_string(el->check));
		}
	}
	a = j_arr(b, root, "fields");
	for (i = 0; a && i < sizeof(field_names) / sizeof(field_names[0]); i++)
		if (l->fields & (1u << i))
			j_push(b, a, cJSON_CreateString(field_names[i]));
	a = j_arr(b, root, "warnings");
	for (i = 0; a && i < sizeof(warning_names) / sizeof(warning_names[0]); i++)
		if (l->warnings & (1u << i))
			j_push(b, a, cJSON_CreateString(warning_names[i]));
}

int label_to_json(const struct label *l, char **ret)
{
	struct jb b = {false};
	cJSON *root;
	char *text;

	if (!l || !ret)
		return -EINVAL;
	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	json_body(&b, root, l);
	text = b.oom ? NULL : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	*ret = text;
	return 0;
}

/* ---- escapes --------------------------------------------------------------------------- */

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int label_unescape(const char *in, char *out, size_t size, size_t *ret_len)
{
	static const struct {
		const char *name;
		char byte;
	} names[] = {{"FNC1", GS}, {"EOT", EOT}, {"GS", GS}, {"RS", RS}};
	size_t o = 0, i, k;
	char c;
	int h, lo;

	if (!in || !out || !ret_len)
		return -EINVAL;
	for (i = 0; in[i]; i++) {
		c = in[i];
		if (c == '\\') {
			c = in[++i];
			switch (c) {
			case '\\':
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
				h = hexval(in[i + 1]);
				lo = h < 0 ? -1 : hexval(in[i + 2]);
				if (lo < 0)
					return -EINVAL;
				c = (char)(h << 4 | lo);
				i += 2;
				break;
			default:
				for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
					size_t nl = strlen(names[k].name);

					if (strncmp(in + i, names[k].name, nl) == 0) {
						c = names[k].byte;
						i += nl - 1;
						break;
					}
				}
				if (k == sizeof(names) / sizeof(names[0]))
					return -EINVAL;
				break;
			}
		}
		if (o >= size)
			return -ENOBUFS;
		out[o++] = c;
	}
	*ret_len = o;
	return 0;
}
