/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_address.c - the station's address checks, table-driven (gpsd test_packet.c
 * style: one row per quirk, legend first).
 *
 * Every check appears at least once failing and once passing; every country format has valid
 * and invalid examples; ZIP/state pairs include the ZIP codes that cross state lines; PO box
 * spellings are paired with the look-alikes that must not match.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "src/address.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/** Comma-joined failed codes of one result. */
#define CODES_MAX (ADDR_CHECKS_MAX * ADDR_CODE_MAX)

static void join_codes(const struct addr_result *r, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < r->n_failed; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
					 r->failed[i]);
}

static struct pkg_address addr(const char *name, const char *street, const char *city,
			       const char *state, const char *postal, const char *country)
{
	struct pkg_address a;

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	snprintf(a.street, sizeof(a.street), "%s", street);
	snprintf(a.city, sizeof(a.city), "%s", city);
	snprintf(a.state, sizeof(a.state), "%s", state);
	snprintf(a.postal_code, sizeof(a.postal_code), "%s", postal);
	snprintf(a.country, sizeof(a.country), "%s", country);
	return a;
}

/* ---- whole checks ------------------------------------------------------------------------- */

struct check_case {
	const char *legend;
	const char *name, *street, *city, *state, *postal, *country;
	const char *carrier, *service;
	const char *label_postal, *label_country; /* both NULL: no label */
	const char *expect;			  /* comma-joined codes in check order; "" = pass */
};

static const struct check_case check_cases[] = {
	{"valid US", "Jane Doe", "123 Main St", "Springfield", "IL", "62701", "US", "UPS", "Ground",
	 NULL, NULL, ""},
	{"valid US ZIP+4, blanks around", "Jane Doe", "123 Main St", "Springfield", " il ",
	 " 62701-1234 ", "US", "UPS", "Ground", NULL, NULL, ""},
	{"missing name", "", "123 Main St", "Springfield", "IL", "62701", "US", "UPS", "Ground",
	 NULL, NULL, ADDR_MISSING_NAME},
	{"blank street", "Jane Doe", "    ", "Springfield", "IL", "62701", "US", "UPS", "Ground",
	 NULL, NULL, ADDR_MISSING_STREET},
	{"missing city", "Jane Doe", "123 Main St", "", "IL", "62701", "US", "UPS", "Ground", NULL,
	 NULL, ADDR_MISSING_CITY},
	{"missing postal (US)", "Jane Doe", "123 Main St", "Springfield", "IL", "", "US", "UPS",
	 "Ground", NULL, NULL, ADDR_MISSING_POSTAL},
	{"missing postal (DE)", "Max Muster", "Hauptstr. 1", "Berlin", "", "", "DE", "DHL",
	 "Express", NULL, NULL, ADDR_MISSING_POSTAL},
	{"no postal needed (IE, Eircode optional)", "Sean Murphy", "1 Main St", "Galway", "", "",
	 "IE", "DHL", "Express", NULL, NULL, ""},
	{"unknown country: no format, no postal needed", "A B", "1 Road", "Town", "", "", "ZZ", "",
	 "", NULL, NULL, ""},
	{"missing country", "Jane Doe", "123 Main St", "Springfield", "IL", "62701", "", "UPS",
	 "Ground", NULL, NULL, ADDR_MISSING_COUNTRY},
	{"country not alpha-2", "Jane Doe", "123 Main St", "Springfield", "IL", "62701", "USA",
	 "UPS", "Ground", NULL, NULL, ADDR_COUNTRY_INVALID},
	{"country with a digit", "Jane Doe", "123 Main St", "Springfield", "IL", "62701", "U1",
	 "UPS", "Ground", NULL, NULL, ADDR_COUNTRY_INVALID},
	{"lower-case country is fine", "Jane Doe", "123 Main St", "Springfield", "IL", "62701",
	 "us", "UPS", "Ground", NULL, NULL, ""},
	{"missing state (US)", "Jane Doe", "123 Main St", "Springfield", "", "62701", "US", "UPS",
	 "Ground", NULL, NULL, ADDR_MISSING_STATE},
	{"no state needed (GB)", "John Smith", "10 Downing St", "London", "", "SW1A 2AA", "GB",
	 "UPS", "Standard", NULL, NULL, ""},
	{"US postal format", "Jane Doe", "123 Main St", "Springfield", "IL", "6270", "US", "UPS",
	 "Ground", NULL, NULL, ADDR_POSTAL_FORMAT},
	{"GB postal format", "John Smith", "10 Downing St", "London", "", "SW1A-2AA", "GB", "UPS",
	 "Standard", NULL, NULL, ADDR_POSTAL_FORMAT},
	{"unknown US state", "Jane Doe", "123 Main St", "Springfield", "XX", "62701", "US", "UPS",
	 "Ground", NULL, NULL, ADDR_STATE_INVALID},
	{"ZIP not in state", "Jane Doe", "123 Main St", "Springfield", "CA", "62701", "US", "UPS",
	 "Ground", NULL, NULL, ADDR_ZIP_STATE},
	{"ZIP crossing a state line (Texhoma OK/TX)", "Jane Doe", "1 Main St", "Texhoma", "TX",
	 "73949", "US", "UPS", "Ground", NULL, NULL, ""},
	{"valid CA", "Marie Roy", "24 Sussex Dr", "Ottawa", "ON", "K1A 0B1", "CA", "UPS",
	 "Standard", NULL, NULL, ""},
	{"CA lower case, no space", "Marie Roy", "24 Sussex Dr", "Ottawa", "on", "k1a0b1", "CA",
	 "UPS", "Standard", NULL, NULL, ""},
	{"CA postal code not in province", "Marie Roy", "24 Sussex Dr", "Ottawa", "BC", "K1A 0B1",
	 "CA", "UPS", "Standard", NULL, NULL, ADDR_POSTAL_STATE},
	{"CA NT/NU share X", "A B", "1 Rd", "Iqaluit", "NU", "X0A 0H0", "CA", "", "", NULL, NULL,
	 ""},
	{"CA unknown province", "Marie Roy", "24 Sussex Dr", "Ottawa", "QQ", "K1A 0B1", "CA", "UPS",
	 "Standard", NULL, NULL, ADDR_STATE_INVALID},
	{"CA missing province", "Marie Roy", "24 Sussex Dr", "Ottawa", "", "K1A 0B1", "CA", "UPS",
	 "Standard", NULL, NULL, ADDR_MISSING_STATE},
	{"valid AU", "Bruce Lee", "1 George St", "Sydney", "NSW", "2000", "AU", "DHL", "Express",
	 NULL, NULL, ""},
	{"AU postcode not in state", "Bruce Lee", "1 George St", "Sydney", "NSW", "3000", "AU",
	 "DHL", "Express", NULL, NULL, ADDR_POSTAL_STATE},
	{"AU ACT inside the NSW range", "Bruce Lee", "1 Rd", "Canberra", "ACT", "2600", "AU", "DHL",
	 "Express", NULL, NULL, ""},
	{"AU unknown state", "Bruce Lee", "1 George St", "Sydney", "XYZ", "2000", "AU", "DHL",
	 "Express", NULL, NULL, ADDR_STATE_INVALID},
	{"military, USPS", "SGT John Doe", "PSC 802 Box 74", "APO", "AE", "09499-0074", "US",
	 "USPS", "Priority Mail", NULL, NULL, ""},
	{"military, UPS refuses", "SGT John Doe", "PSC 802 Box 74", "APO", "AE", "09499-0074", "US",
	 "UPS", "Ground", NULL, NULL, ADDR_APO_REFUSED},
	{"military FPO AP, FedEx refuses", "Lt Jane Roe", "USS Nimitz", "FPO", "AP", "96620", "US",
	 "FedEx", "2Day", NULL, NULL, ADDR_APO_REFUSED},
	{"military via FedEx Ground Economy", "Lt Jane Roe", "Unit 2050 Box 4190", "APO", "AP",
	 "96278-2050", "US", "FedEx", "FedEx Ground Economy", NULL, NULL, ""},
	{"military, city APO with a civil state", "SGT John Doe", "PSC 802 Box 74", "APO", "NY",
	 "09499", "US", "USPS", "Priority Mail", NULL, NULL,
	 ADDR_ZIP_STATE "," ADDR_MILITARY_INCONSISTENT},
	{"military, AA state with a civil city", "SGT John Doe", "Unit 1 Box 2", "Miami", "AA",
	 "34001", "US", "USPS", "Priority Mail", NULL, NULL, ADDR_MILITARY_INCONSISTENT},
	{"PO box, UPS Ground refuses", "Jane Doe", "P.O. Box 123", "Springfield", "IL", "62705",
	 "US", "UPS", "Ground", NULL, NULL, ADDR_PO_BOX_REFUSED},
	{"PO box, UPS SurePost delivers", "Jane Doe", "P.O. Box 123", "Springfield", "IL", "62705",
	 "US", "UPS", "UPS SurePost", NULL, NULL, ""},
	{"PO box, USPS delivers", "Jane Doe", "PO BOX 123", "Springfield", "IL", "62705", "US",
	 "USPS", "Priority Mail", NULL, NULL, ""},
	{"PO box, FedEx Ground refuses", "Jane Doe", "Post Office Box 9", "Springfield", "IL",
	 "62705", "US", "FedEx", "FedEx Ground", NULL, NULL, ADDR_PO_BOX_REFUSED},
	{"PO box, FedEx Ground Economy delivers", "Jane Doe", "POB 9", "Springfield", "IL", "62705",
	 "US", "fedex", "ground economy", NULL, NULL, ""},
	{"PO box, DHL Express refuses", "Max Muster", "Postfach 10 01 23", "Berlin", "", "10115",
	 "DE", "DHL", "Express Worldwide", NULL, NULL, ADDR_PO_BOX_REFUSED},
	{"PO box, unknown carrier: not judged", "Jane Doe", "PO Box 1", "Springfield", "IL",
	 "62705", "US", "Acme", "Ground", NULL, NULL, ""},
	{"PO box, no carrier yet: not judged", "Jane Doe", "PO Box 1", "Springfield", "IL", "62705",
	 "US", NULL, NULL, NULL, NULL, ""},
	{"Boxwood Rd is not a PO box", "Jane Doe", "12 Boxwood Rd", "Springfield", "IL", "62705",
	 "US", "UPS", "Ground", NULL, NULL, ""},
	{"tab in the name", "Jane\tDoe", "123 Main St", "Springfield", "IL", "62701", "US", "UPS",
	 "Ground", NULL, NULL, ADDR_UNPRINTABLE},
	{"emoji in the street", "Jane Doe", "123 Main St \xF0\x9F\x93\xA6", "Springfield", "IL",
	 "62701", "US", "UPS", "Ground", NULL, NULL, ADDR_UNPRINTABLE},
	{"Latin-1 accents print", "Zo\xC3\xAB M\xC3\xBCller",
	 "Stra\xC3\x9F"
	 "e 1",
	 "K\xC3\xB6ln", "", "50667", "DE", "DHL", "Express", NULL, NULL, ""},
	{"Cyrillic does not print", "\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD", "Main St 1", "Berlin", "",
	 "10115", "DE", "DHL", "Express", NULL, NULL, ADDR_UNPRINTABLE},
	{"invalid UTF-8", "Jane \xFF", "123 Main St", "Springfield", "IL", "62701", "US", "UPS",
	 "Ground", NULL, NULL, ADDR_INVALID_UTF8},
	{"label agrees", "Jane Doe", "123 Main St", "Springfield", "IL", "62701", "US", "UPS",
	 "Ground", "62701", "US", ""},
	{"label numeric country and ZIP+4", "Jane Doe", "123 Main St", "Springfield", "IL", "62701",
	 "US", "UPS", "Ground", "627011234", "840", ""},
	{"label postal differs", "Jane Doe", "123 Main St", "Springfield", "IL", "62701", "US",
	 "UPS", "Ground", "62702", "USA", ADDR_LABEL_POSTAL},
	{"label country differs", "Jane Doe", "123 Main St", "Springfield", "IL", "62701", "US",
	 "UPS", "Ground", "62701", "124", ADDR_LABEL_COUNTRY},
	{"label ships elsewhere entirely", "Jane Doe", "123 Main St", "Springfield", "IL", "62701",
	 "US", "UPS", "Ground", "K1A0B1", "CA", ADDR_LABEL_COUNTRY "," ADDR_LABEL_POSTAL},
	{"label GB truncated to 6 (MaxiCode mode 3)", "John Smith", "10 Downing St", "London", "",
	 "SW1A 2AA", "GB", "UPS", "Standard", "SW1A2A", "826", ""},
	{"label CA case and space", "Marie Roy", "24 Sussex Dr", "Ottawa", "ON", "K1A 0B1", "CA",
	 "UPS", "Standard", "k1a0b1", "CAN", ""},
	{"label country we cannot map: not judged", "Jane Doe", "123 Main St", "Springfield", "IL",
	 "62701", "US", "UPS", "Ground", "62701", "999", ""},
	{"several at once, in check order", "", "PO Box 5", "Springfield", "IL", "627", "US", "UPS",
	 "Ground", "62701", "CA",
	 ADDR_MISSING_NAME "," ADDR_POSTAL_FORMAT "," ADDR_PO_BOX_REFUSED "," ADDR_LABEL_COUNTRY
			   "," ADDR_LABEL_POSTAL},
};

static void test_checks(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(check_cases); i++) {
		const struct check_case *c = &check_cases[i];
		struct pkg_address a =
			addr(c->name, c->street, c->city, c->state, c->postal, c->country);
		struct addr_label_info li;
		struct addr_result r;
		char got[CODES_MAX];

		memset(&li, 0, sizeof(li));
		if (c->label_postal)
			snprintf(li.postal_code, sizeof(li.postal_code), "%s", c->label_postal);
		if (c->label_country)
			snprintf(li.country, sizeof(li.country), "%s", c->label_country);
		assert_int_equal(address_check(&a, c->carrier, c->service,
					       c->label_postal || c->label_country ? &li : NULL,
					       &r),
				 0);
		join_codes(&r, got, sizeof(got));
		if (strcmp(got, c->expect) != 0)
			fail_msg("%s: failed '%s', expected '%s' (detail: %s)", c->legend, got,
				 c->expect, r.detail);
		assert_int_equal(r.pass, c->expect[0] == '\0');
		/* a failure always explains itself, a pass says nothing */
		if (r.pass)
			assert_string_equal(r.detail, "");
		else
			assert_non_null(strstr(r.detail, r.failed[0]));
	}
}

static void test_check_errors_and_details(void **state)
{
	struct pkg_address a = addr("Jane Doe", "PO Box 9", "Springfield", "IL", "62705", "US");
	struct addr_opts bad = {.charset = _ADDR_CHARSET_MAX};
	struct addr_result r;

	(void)state;
	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(address_check(NULL, "UPS", "Ground", NULL, &r), -EINVAL);
	assert_int_equal(address_check_opts(&a, "UPS", "Ground", NULL, &bad, &r), -EINVAL);
	assert_int_equal(((unsigned char *)&r)[0], 0x5a); /* untouched */
	assert_int_equal(address_check(&a, "UPS", "Ground", NULL, NULL), -EINVAL);

	assert_int_equal(address_check(&a, "UPS", "Ground", NULL, &r), 0);
	assert_true(r.po_box);
	assert_false(r.military);
	assert_string_equal(r.detail, "po_box_refused: UPS Ground does not deliver to PO boxes");
	assert_false(r.has_upstream);

	a = addr("Jane Doe", "1 Main St \xE2\x82\xAC", "Springfield", "IL", "62701", "US");
	assert_int_equal(address_check(&a, "UPS", "Ground", NULL, &r), 0);
	assert_string_equal(r.detail,
			    "unprintable_chars: street: U+20AC at byte 10 is not in latin1");
}

static void test_charset_option(void **state)
{
	/* the euro sign is in Windows-1252 only; the accent in Latin-1 and CP1252 */
	struct pkg_address euro =
		addr("A \xE2\x82\xAC", "1 Main St", "Springfield", "IL", "62701", "US");
	struct pkg_address accent =
		addr("Zo\xC3\xAB", "1 Main St", "Springfield", "IL", "62701", "US");
	struct addr_opts o = {.charset = ADDR_CHARSET_CP1252};
	struct addr_result r;

	(void)state;
	assert_int_equal(address_check_opts(&euro, "UPS", "Ground", NULL, &o, &r), 0);
	assert_true(r.pass);
	o.charset = ADDR_CHARSET_LATIN1;
	assert_int_equal(address_check_opts(&euro, "UPS", "Ground", NULL, &o, &r), 0);
	assert_false(r.pass);
	assert_int_equal(address_check_opts(&accent, "UPS", "Ground", NULL, &o, &r), 0);
	assert_true(r.pass);
	o.charset = ADDR_CHARSET_ASCII;
	assert_int_equal(address_check_opts(&accent, "UPS", "Ground", NULL, &o, &r), 0);
	assert_false(r.pass);
	assert_string_equal(r.failed[0], ADDR_UNPRINTABLE);

	assert_int_equal(addr_charset_from_string("ascii"), ADDR_CHARSET_ASCII);
	assert_int_equal(addr_charset_from_string("ISO-8859-1"), ADDR_CHARSET_LATIN1);
	assert_int_equal(addr_charset_from_string("windows-1252"), ADDR_CHARSET_CP1252);
	assert_int_equal(addr_charset_from_string("utf-8"), _ADDR_CHARSET_INVALID);
	assert_int_equal(addr_charset_from_string(NULL), _ADDR_CHARSET_INVALID);
	assert_string_equal(addr_charset_to_string(ADDR_CHARSET_CP1252), "cp1252");
}

static void test_policy_option(void **state)
{
	static const struct addr_carrier_policy site[] = {
		{"UPS", "*", true, false, "site contract: UPS delivers to PO boxes here"},
	};
	struct pkg_address po = addr("Jane Doe", "PO Box 9", "Springfield", "IL", "62705", "US");
	struct pkg_address apo = addr("SGT Doe", "PSC 802 Box 74", "APO", "AE", "09499", "US");
	struct addr_opts o = {.charset = ADDR_CHARSET_LATIN1, .policies = site, .n_policies = 1};
	const struct addr_carrier_policy *dflt;
	struct addr_result r;
	size_t n = 0;

	(void)state;
	assert_int_equal(address_check_opts(&po, "UPS", "Ground", NULL, &o, &r), 0);
	assert_true(r.pass);
	assert_int_equal(address_check_opts(&apo, "UPS", "Ground", NULL, &o, &r), 0);
	assert_string_equal(r.failed[0], ADDR_APO_REFUSED);
	/* the site table replaces the built-in one: USPS is unknown there, so not judged */
	assert_int_equal(address_check_opts(&po, "USPS", "Priority", NULL, &o, &r), 0);
	assert_true(r.pass);

	dflt = address_default_policies(&n);
	assert_non_null(dflt);
	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++)
		assert_true(dflt[i].source && strlen(dflt[i].source) > 10);
}

static void test_order_upstream(void **state)
{
	struct order_ctx o;
	struct addr_result r;

	(void)state;
	memset(&o, 0, sizeof(o));
	snprintf(o.carrier, sizeof(o.carrier), "UPS");
	snprintf(o.service, sizeof(o.service), "Ground");
	o.address = addr("Jane Doe", "PO Box 9", "Springfield", "IL", "62705", "US");
	o.has_upstream_av = true;
	o.upstream_av_pass = false;
	snprintf(o.upstream_av_failed[0], PKG_ID_MAX, "street_not_found");
	snprintf(o.upstream_av_failed[1], PKG_ID_MAX, "dpv_no_match");
	o.n_upstream_av_failed = 2;

	assert_int_equal(address_check_order(&o, NULL, NULL, &r), 0);
	assert_false(r.pass);
	assert_int_equal(r.n_failed, 1);
	assert_string_equal(r.failed[0], ADDR_PO_BOX_REFUSED); /* from the order's carrier */
	assert_true(r.has_upstream);
	assert_false(r.upstream_pass);
	assert_int_equal(r.n_upstream_failed, 2);
	assert_string_equal(r.upstream_failed[0], "street_not_found");
	assert_string_equal(r.upstream_failed[1], "dpv_no_match");

	/* upstream failure does not fail the station's own checks, nor the reverse */
	snprintf(o.service, sizeof(o.service), "SurePost");
	assert_int_equal(address_check_order(&o, NULL, NULL, &r), 0);
	assert_true(r.pass);
	assert_false(r.upstream_pass);

	o.has_upstream_av = false;
	assert_int_equal(address_check_order(&o, NULL, NULL, &r), 0);
	assert_false(r.has_upstream);
	assert_int_equal(r.n_upstream_failed, 0);
	assert_int_equal(address_check_order(NULL, NULL, NULL, &r), -EINVAL);
}

/* ---- postal formats ------------------------------------------------------------------------ */

struct postal_case {
	const char *country, *postal;
	int expect; /* 1 valid, 0 invalid, -ENOENT unknown country */
};

static const struct postal_case postal_cases[] = {
	{"US", "62701", 1},	  {"US", "62701-1234", 1}, {"US", "627011234", 1},
	{"US", "6270", 0},	  {"US", "62701-12", 0},   {"US", "ABCDE", 0},
	{"US", "62701 1234", 0},  {"us", "00501", 1},	   {"US", "", 0},
	{"CA", "K1A 0B1", 1},	  {"CA", "k1a0b1", 1},	   {"CA", "H0H 0H0", 1},
	{"CA", "D1A 0B1", 0},	  {"CA", "W1A 0B1", 0},	   {"CA", "K1A 0B", 0},
	{"CA", "K1A  0B1", 0},	  {"CA", "K1O 0B1", 0},	   {"CA", "11A 0B1", 0},
	{"GB", "SW1A 1AA", 1},	  {"GB", "sw1a1aa", 1},	   {"GB", "M1 1AE", 1},
	{"GB", "B33 8TH", 1},	  {"GB", "CR2 6XH", 1},	   {"GB", "DN55 1PT", 1},
	{"GB", "W1A 0AX", 1},	  {"GB", "EC1A 1BB", 1},   {"GB", "GIR 0AA", 1},
	{"GB", "QA1 1AA", 0},	  {"GB", "SW1A 1AC", 0},   {"GB", "SW1A-1AA", 0},
	{"GB", "12345", 0},	  {"GB", "SW1A 1A A", 0},  {"GB", "SW1 A1AA", 0},
	{"GB", "AJ1 1AA", 0},	  {"GB", "W1I 1AA", 0},	   {"DE", "10115", 1},
	{"DE", "01067", 1},	  {"DE", "00123", 0},	   {"DE", "1011", 0},
	{"FR", "75008", 1},	  {"FR", "20000", 1},	   {"FR", "97400", 1},
	{"FR", "7500", 0},	  {"FR", "2A004", 0},	   {"NL", "1012 AB", 1},
	{"NL", "1012AB", 1},	  {"NL", "1012 ab", 1},	   {"NL", "0123 AB", 0},
	{"NL", "1012 SS", 0},	  {"NL", "1012 A", 0},	   {"AU", "2000", 1},
	{"AU", "0800", 1},	  {"AU", "0200", 1},	   {"AU", "0100", 0},
	{"AU", "200", 0},	  {"JP", "100-0001", 1},   {"JP", "1000001", 1},
	{"JP", "100-001", 0},	  {"JP", "1000-001", 0},   {"AT", "1010", 1},
	{"AT", "0101", 0},	  {"AT", "10100", 0},	   {"BE", "1000", 1},
	{"BE", "0999", 0},	  {"BG", "1000", 1},	   {"BG", "100", 0},
	{"HR", "10000", 1},	  {"HR", "1000", 0},	   {"CY", "1010", 1},
	{"CY", "10100", 0},	  {"CZ", "110 00", 1},	   {"CZ", "11000", 1},
	{"CZ", "110-00", 0},	  {"DK", "1050", 1},	   {"DK", "105", 0},
	{"EE", "10111", 1},	  {"EE", "1011", 0},	   {"FI", "00100", 1},
	{"FI", "0010", 0},	  {"GR", "105 57", 1},	   {"GR", "10557", 1},
	{"GR", "1055", 0},	  {"HU", "1011", 1},	   {"HU", "10111", 0},
	{"IE", "D02 X285", 1},	  {"IE", "d02x285", 1},	   {"IE", "D6W 1234", 1},
	{"IE", "A65 F4E2", 1},	  {"IE", "B65 F4E2", 0},   {"IE", "D02 X28", 0},
	{"IE", "D02X 285", 0},	  {"IT", "00184", 1},	   {"IT", "0018", 0},
	{"LV", "LV-1010", 1},	  {"LV", "1010", 1},	   {"LV", "LV1010", 0},
	{"LV", "LV-101", 0},	  {"LT", "LT-01001", 1},   {"LT", "01001", 1},
	{"LT", "LT-0100", 0},	  {"LU", "L-1009", 1},	   {"LU", "1009", 1},
	{"LU", "L1009", 0},	  {"MT", "VLT 1117", 1},   {"MT", "vlt1117", 1},
	{"MT", "VL 1117", 0},	  {"PL", "00-950", 1},	   {"PL", "00950", 0},
	{"PT", "1000-001", 1},	  {"PT", "1000", 0},	   {"PT", "0000-001", 0},
	{"RO", "010011", 1},	  {"RO", "01001", 0},	   {"SK", "811 01", 1},
	{"SK", "81101", 1},	  {"SK", "8110", 0},	   {"SI", "1000", 1},
	{"SI", "SI-1000", 1},	  {"SI", "100", 0},	   {"ES", "28001", 1},
	{"ES", "52001", 1},	  {"ES", "53001", 0},	   {"ES", "00001", 0},
	{"SE", "111 22", 1},	  {"SE", "11122", 1},	   {"SE", "011 22", 0},
	{"ZZ", "12345", -ENOENT}, {"CH", "8001", -ENOENT},
};

static void test_postal_formats(void **state)
{
	static const char *const required[] = {
		"US", "CA", "GB", "DE", "FR", "NL", "AU", "JP", "AT", "BE", "BG",
		"HR", "CY", "CZ", "DK", "EE", "FI", "GR", "HU", "IE", "IT", "LV",
		"LT", "LU", "MT", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(postal_cases); i++) {
		const struct postal_case *c = &postal_cases[i];
		int got = address_postal_format_ok(c->country, c->postal);

		if (got != c->expect)
			fail_msg("%s '%s': got %d, expected %d", c->country, c->postal, got,
				 c->expect);
	}
	/* every required country has at least one valid and one invalid row */
	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		bool valid = false, invalid = false;

		for (size_t j = 0; j < ARRAY_SIZE(postal_cases); j++) {
			if (strcasecmp(postal_cases[j].country, required[i]) != 0)
				continue;
			valid |= postal_cases[j].expect == 1;
			invalid |= postal_cases[j].expect == 0;
		}
		if (!valid || !invalid)
			fail_msg("%s lacks a valid or an invalid example", required[i]);
	}
	assert_int_equal(address_postal_format_ok(NULL, "1"), -EINVAL);
}

/* ---- ZIP vs state ------------------------------------------------------------------------- */

struct zip_case {
	const char *zip, *state;
	int expect;
};

static const struct zip_case zip_cases[] = {
	{"10001", "NY", 1},	 {"90210", "CA", 1},	   {"60601", "IL", 1},
	{"77001", "TX", 1},	 {"73301", "TX", 1}, /* Austin IRS */
	{"73949", "TX", 1},	 {"73949", "OK", 1}, /* Texhoma, both */
	{"06390", "NY", 1},	 {"06390", "CT", 1}, /* Fishers Island */
	{"20001", "DC", 1},	 {"20101", "VA", 1},	   {"20601", "MD", 1},
	{"00601", "PR", 1},	 {"00801", "VI", 1},	   {"96910", "GU", 1},
	{"96799", "AS", 1},	 {"96960", "MH", 1},	   {"96950", "MP", 1},
	{"99501", "AK", 1},	 {"96801", "HI", 1},	   {"09001", "AE", 1},
	{"34001", "AA", 1},	 {"96201", "AP", 1},	   {"05501", "MA", 1},
	{"05601", "VT", 1},	 {"83414", "WY", 1},	   {"88901", "NV", 1},
	{"88510", "TX", 1},	 {"89439", "CA", 1},	   {"00501", "NY", 1},
	{"62701-1234", "IL", 1}, {"62701", "il", 1},	   {"42223", "TN", 1},
	{"10001", "NJ", 0},	 {"90210", "NV", 0},	   {"34001", "FL", 0},
	{"09001", "NY", 0},	 {"20001", "VA", 0},	   {"05501", "VT", 0},
	{"96201", "HI", 0},	 {"88510", "NM", 0},	   {"99501", "WA", 0},
	{"33101", "GA", 0},	 {"30301", "FL", 0},	   {"96910", "HI", 0},
	{"12", "NY", -EINVAL},	 {"10001", "XX", -EINVAL}, {"ABCDE", "NY", -EINVAL},
	{"10001", "", -EINVAL},
};

static void test_zip_state(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(zip_cases); i++) {
		const struct zip_case *c = &zip_cases[i];
		int got = address_zip_state_ok(c->zip, c->state);

		if (got != c->expect)
			fail_msg("%s %s: got %d, expected %d", c->zip, c->state, got, c->expect);
	}
	assert_int_equal(address_zip_state_ok(NULL, "NY"), -EINVAL);
}

/* ---- PO boxes ------------------------------------------------------------------------------ */

static const char *const po_boxes[] = {
	"PO Box 123",
	"P.O. Box 123",
	"P. O. Box 123",
	"PO BOX 123",
	"po box 123",
	"P.O.Box 123",
	"POBox 123",
	"POBOX123",
	"Post Office Box 123",
	"Post Office Drawer 5",
	"POB 123",
	"P.O.B. 123",
	"Box 123",
	"BOX #45",
	"P0 Box 9",
	"PO Drawer 5",
	"PO Bx 7",
	"Postfach 10 01 23",
	"GPO Box 1234",
	"Locked Bag 7",
	"Lock Box 12",
	"Lockbox 12",
	"Postbus 1234",
	"BP 123",
	"Boite Postale 12",
	"Apartado 45",
	"Casilla 12",
	"Caixa Postal 1234",
	"Casella Postale 5",
	"123 Main St PO Box 5",
	"PO Box",
	"P.O. BOX 12, SUITE 4",
};

static const char *const not_po_boxes[] = {
	"",
	"12 Boxwood Rd",
	"123 Box Elder St",
	"1 Post Office Square",
	"RR 2 Box 152",
	"Rural Route 2 Box 152",
	"HC 68 Box 23",
	"PSC 802 Box 74",
	"Unit 2050 Box 4190",
	"CMR 410 Box 1234",
	"77 Boxer St",
	"12 Poe Blvd",
	"PMB 123, 456 Main St",
	"BP Station 12",
	"Box Hill Rd 5",
	"5 Apartment Ln",
	"100 Shipping Box Ave",
	"Postal Way 5",
	"1 Pobst Ave",
	"Boxford Rd 9",
};

static void test_po_box(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(po_boxes); i++)
		if (!address_is_po_box(po_boxes[i]))
			fail_msg("'%s' should be a PO box", po_boxes[i]);
	for (size_t i = 0; i < ARRAY_SIZE(not_po_boxes); i++)
		if (address_is_po_box(not_po_boxes[i]))
			fail_msg("'%s' should not be a PO box", not_po_boxes[i]);
	assert_false(address_is_po_box(NULL));
}

static void test_military(void **state)
{
	struct pkg_address a = addr("A", "PSC 802 Box 74", "APO", "AE", "09499", "US");

	(void)state;
	assert_true(address_is_military(&a));
	a = addr("A", "USS Nimitz", " fpo ", "AP", "96620", "");
	assert_true(address_is_military(&a)); /* blank country: judged as US */
	a = addr("A", "1 Main", "Springfield", "AA", "34001", "US");
	assert_true(address_is_military(&a));
	a = addr("A", "1 Main", "Springfield", "IL", "62701", "US");
	assert_false(address_is_military(&a));
	a = addr("A", "1 Rue", "APO", "", "75008", "FR"); /* not in the US */
	assert_false(address_is_military(&a));
	assert_false(address_is_military(NULL));
}

/* ---- printable ------------------------------------------------------------------------------ */

struct print_case {
	const char *s;
	bool ascii, latin1, cp1252;
	long bad_cp; /* for latin1 when not printable; -1 = invalid UTF-8 */
	size_t bad_off;
};

static const struct print_case print_cases[] = {
	{"Jane Doe 123 #-/&'.,", true, true, true, 0, 0},
	{"", true, true, true, 0, 0},
	{"Zo\xC3\xAB", false, true, true, 0, 0},		      /* U+00EB */
	{"\xC2\xA0nbsp", false, true, true, 0, 0},		      /* U+00A0 */
	{"x\xE2\x82\xAC", false, false, true, 0x20AC, 1},	      /* euro */
	{"\xE2\x80\x9Cq\xE2\x80\x9D", false, false, true, 0x201C, 0}, /* curly quotes */
	{"\xCE\xA9", false, false, false, 0x3A9, 0},		      /* Greek Omega */
	{"ab\xF0\x9F\x93\xA6", false, false, false, 0x1F4E6, 2},      /* emoji */
	{"a\tb", false, false, false, 0x09, 1},
	{"a\nb", false, false, false, 0x0A, 1},
	{"a\x7f", false, false, false, 0x7F, 1},	  /* DEL */
	{"\xC2\x80", false, false, false, 0x80, 0},	  /* C1 control */
	{"\xC0\xAF", false, false, false, -1, 0},	  /* overlong '/' */
	{"ok\xED\xA0\x80", false, false, false, -1, 2},	  /* surrogate */
	{"\xC3", false, false, false, -1, 0},		  /* truncated */
	{"\xF4\x90\x80\x80", false, false, false, -1, 0}, /* above U+10FFFF */
	{"\xFF", false, false, false, -1, 0},
};

static void test_printable(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(print_cases); i++) {
		const struct print_case *c = &print_cases[i];
		long cp = 12345;
		size_t off = 999;
		bool ok;

		assert_int_equal(address_printable(c->s, ADDR_CHARSET_ASCII, NULL, NULL), c->ascii);
		assert_int_equal(address_printable(c->s, ADDR_CHARSET_CP1252, NULL, NULL),
				 c->cp1252);
		ok = address_printable(c->s, ADDR_CHARSET_LATIN1, &cp, &off);
		if (ok != c->latin1)
			fail_msg("row %zu: latin1 %d, expected %d", i, ok, c->latin1);
		if (!ok && (cp != c->bad_cp || off != c->bad_off))
			fail_msg("row %zu: bad U+%lX at %zu, expected U+%lX at %zu", i, cp, off,
				 c->bad_cp, c->bad_off);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_check_errors_and_details),
		cmocka_unit_test(test_charset_option),
		cmocka_unit_test(test_policy_option),
		cmocka_unit_test(test_order_upstream),
		cmocka_unit_test(test_postal_formats),
		cmocka_unit_test(test_zip_state),
		cmocka_unit_test(test_po_box),
		cmocka_unit_test(test_military),
		cmocka_unit_test(test_printable),
	};

	return cmocka_run_group_tests_name("address", tests, NULL, NULL);
}
