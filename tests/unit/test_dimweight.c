/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_dimweight.c - dimensional/billable weight and the effective-dated rules file.
 *
 * Every expectation is computed by hand in the row's comment: 1 in = 25.4 mm, 1 lb =
 * 453.59237 g, dimensions rounded as the rule says, the quotient rounded up to the increment,
 * grams to the nearest gram. The computations run against the shipped data file
 * (firmware/dimweight.conf, found from $SEALBENCH_SRCDIR or the current directory), so a data
 * edit that changes a published divisor shows up here. Loader errors are exact
 * "file:line: message" texts against files written into a mkdtemp() directory.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "src/dimweight.h"

#define TEST_PATH_MAX 1024
#define TEST_MSG_MAX  (DIMWEIGHT_ERR_MAX + TEST_PATH_MAX)
/** The mkdtemp() directory name ("/tmp/sealbench-test-dimweight-XXXXXX"). */
#define TMPDIR_MAX 64
/** A file body generated for the "too many rules" case: 65 sections of ~120 bytes. */
#define BIG_FILE_MAX 16384

static uint64_t day(const char *ymd)
{
	uint64_t ms = 0;

	assert_int_equal(dimweight_parse_date(ymd, &ms), 0);
	return ms;
}

static const char *shipped_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("SEALBENCH_SRCDIR");

	snprintf(path, sizeof(path), "%s/firmware/dimweight.conf", env && *env ? env : ".");
	if (access(path, R_OK) != 0)
		fail_msg("%s not found (run from the project root or set SEALBENCH_SRCDIR)", path);
	return path;
}

static int shipped_setup(void **state)
{
	struct dimweight_table *t = NULL;
	char err[DIMWEIGHT_ERR_MAX] = "";

	if (dimweight_load(shipped_path(), &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = t;
	return 0;
}

static int shipped_teardown(void **state)
{
	dimweight_free(*state);
	return 0;
}

/* ---- dates -------------------------------------------------------------------------------- */

static void test_dates(void **state)
{
	uint64_t ms = 42;

	(void)state;
	assert_int_equal(dimweight_parse_date("1970-01-01", &ms), 0);
	assert_int_equal(ms, 0);
	/* python3: datetime(2026,7,12,tzinfo=utc).timestamp() * 1000 */
	assert_int_equal(day("2026-07-12"), 1783814400000ULL);
	assert_int_equal(day("2000-02-29"), 951782400000ULL); /* 2000 is a leap year */
	assert_int_equal(day("2024-12-31"), 1735603200000ULL);
	ms = 42;
	assert_int_equal(dimweight_parse_date("1900-02-28", &ms), -EINVAL); /* before 1970 */
	assert_int_equal(dimweight_parse_date("2100-02-29", &ms), -EINVAL); /* 2100 is not */
	assert_int_equal(dimweight_parse_date("2023-02-29", &ms), -EINVAL);
	assert_int_equal(dimweight_parse_date("2024-13-01", &ms), -EINVAL);
	assert_int_equal(dimweight_parse_date("2024-04-31", &ms), -EINVAL);
	assert_int_equal(dimweight_parse_date("2024-00-10", &ms), -EINVAL);
	assert_int_equal(dimweight_parse_date("2024-1-01", &ms), -EINVAL);
	assert_int_equal(dimweight_parse_date("2024-01-01 ", &ms), -EINVAL);
	assert_int_equal(dimweight_parse_date("2024/01/01", &ms), -EINVAL);
	assert_int_equal(ms, 42); /* untouched on error */
}

/* ---- the shipped rules, hand-computed ----------------------------------------------------- */

struct calc_case {
	const char *legend;
	const char *carrier, *service, *date;
	uint32_t l, w, h;
	int32_t actual_g;
	int expect_ret;
	const char *rule_id;
	bool dim_applies;
	uint64_t dim_milli, actual_milli, billable_milli;
	uint32_t dim_g, billable_g;
	uint32_t dims_milli[3];
	uint64_t volume_milli;
};

static const struct calc_case calc_cases[] = {
	/* 508 x 381 x 254 mm = 20 x 15 x 10 in exactly; 3000 in^3 / 139 = 21.58 -> 22 lb.
	 * 7257 g / 453.59237 = 15.9989 -> 16 lb. Billable 22 lb = 9979.03214 g -> 9979 g. */
	{"UPS daily 2025, 20x15x10 in",
	 "UPS",
	 "Ground",
	 "2025-03-01",
	 508,
	 381,
	 254,
	 7257,
	 0,
	 "ups-daily@2016-12-26",
	 true,
	 22000,
	 16000,
	 22000,
	 9979,
	 9979,
	 {20000, 15000, 10000},
	 3000000},
	/* Same box under the 2014-12-29 version: 3000 / 166 = 18.07 -> 19 lb = 8618.255 g. */
	{"UPS daily 2016 uses 166",
	 "UPS",
	 "Next Day Air",
	 "2016-06-01",
	 508,
	 381,
	 254,
	 7257,
	 0,
	 "ups-daily@2014-12-29",
	 true,
	 19000,
	 16000,
	 19000,
	 8618,
	 8618,
	 {20000, 15000, 10000},
	 3000000},
	/* 300/25.4 = 11.81 -> 12, 200/25.4 = 7.87 -> 8, 150/25.4 = 5.91 -> 6: 576 in^3 / 139 =
	 * 4.14 -> 5 lb (2267.96 -> 2268 g). Actual 3000 g = 6.61 -> 7 lb = 3175.147 -> 3175 g:
	 * the actual weight is billable. */
	{"UPS nearest-inch rounding, actual wins",
	 "ups",
	 "2nd Day Air",
	 "2025-03-01",
	 300,
	 200,
	 150,
	 3000,
	 0,
	 "ups-daily@2016-12-26",
	 true,
	 5000,
	 7000,
	 7000,
	 2268,
	 3175,
	 {12000, 8000, 6000},
	 576000},
	/* Half-inch edges: 38 mm = 1.496 in -> 1, 39 mm = 1.535 in -> 2, 64 mm = 2.52 -> 3;
	 * 1 x 2 x 3 = 6 in^3 / 139 = 0.04 -> 1 lb = 454 g; 0 g actual -> 0 lb. */
	{"UPS half-inch rounding edges",
	 "UPS",
	 "Ground",
	 "2025-03-01",
	 38,
	 39,
	 64,
	 0,
	 0,
	 "ups-daily@2016-12-26",
	 true,
	 1000,
	 0,
	 1000,
	 454,
	 454,
	 {1000, 2000, 3000},
	 6000},
	/* 610/25.4 = 24.02 -> 24, 457/25.4 = 17.99 -> 18, 305/25.4 = 12.01 -> 12: 5184 in^3 /
	 * 139 = 37.29 -> 38 lb = 17236.51 -> 17237 g. Actual 5000 g = 11.02 -> 12 lb. */
	{"FedEx 2017+, 139",
	 "FedEx",
	 "FedEx Ground",
	 "2024-12-31",
	 610,
	 457,
	 305,
	 5000,
	 0,
	 "fedex@2017-01-02",
	 true,
	 38000,
	 12000,
	 38000,
	 17237,
	 17237,
	 {24000, 18000, 12000},
	 5184000},
	/* FedEx 2016: 5184 / 166 = 31.23 -> 32 lb = 14514.956 -> 14515 g. */
	{"FedEx 2016, 166",
	 "FEDEX",
	 "Express Saver",
	 "2016-01-01",
	 610,
	 457,
	 305,
	 5000,
	 0,
	 "fedex@2015-01-05",
	 true,
	 32000,
	 12000,
	 32000,
	 14515,
	 14515,
	 {24000, 18000, 12000},
	 5184000},
	/* USPS 2025: 305 mm = 12.008 in -> 12: 12^3 = 1728 in^3, not above 1728: no dimensional
	 * weight. Actual 1000 g = 2.2 -> 3 lb = 1360.777 -> 1361 g. */
	{"USPS 2025, exactly 1 ft^3: no dim weight",
	 "USPS",
	 "Priority Mail",
	 "2025-06-01",
	 305,
	 305,
	 305,
	 1000,
	 0,
	 "usps@2019-06-23",
	 false,
	 0,
	 3000,
	 3000,
	 0,
	 1361,
	 {12000, 12000, 12000},
	 1728000},
	/* USPS 2025: 330 mm = 12.99 -> 13: 13 x 12 x 12 = 1872 > 1728; 1872 / 166 = 11.28 ->
	 * 12 lb = 5443.108 -> 5443 g. */
	{"USPS 2025, above 1 ft^3",
	 "USPS",
	 "USPS Ground Advantage",
	 "2025-06-01",
	 330,
	 305,
	 305,
	 1000,
	 0,
	 "usps@2019-06-23",
	 true,
	 12000,
	 3000,
	 12000,
	 5443,
	 5443,
	 {13000, 12000, 12000},
	 1872000},
	/* USPS from 2026-07-12: fractions up, 305 mm = 12.008 -> 13: 2197 in^3 > 1728; / 139 =
	 * 15.81 -> 16 lb = 7257.478 -> 7257 g. The same box as two rows up, a different rule. */
	{"USPS 2026-07-12, fractions up and 139",
	 "USPS",
	 "Priority Mail Express",
	 "2026-07-12",
	 305,
	 305,
	 305,
	 1000,
	 0,
	 "usps@2026-07-12",
	 true,
	 16000,
	 3000,
	 16000,
	 7257,
	 7257,
	 {13000, 13000, 13000},
	 2197000},
	/* The day before: still the 2019 version. */
	{"USPS 2026-07-11, the 2019 version",
	 "USPS",
	 "Priority Mail",
	 "2026-07-11",
	 305,
	 305,
	 305,
	 1000,
	 0,
	 "usps@2019-06-23",
	 false,
	 0,
	 3000,
	 3000,
	 0,
	 1361,
	 {12000, 12000, 12000},
	 1728000},
	/* No USPS rule before 2019-06-23 (zones are not modelled), none for Media Mail. */
	{"USPS before 2019-06-23: no rule",
	 "USPS",
	 "Priority Mail",
	 "2019-06-22",
	 305,
	 305,
	 305,
	 1000,
	 -ENOENT,
	 NULL,
	 false,
	 0,
	 0,
	 0,
	 0,
	 0,
	 {0, 0, 0},
	 0},
	{"USPS Media Mail: no rule",
	 "USPS",
	 "Media Mail",
	 "2025-06-01",
	 305,
	 305,
	 305,
	 1000,
	 -ENOENT,
	 NULL,
	 false,
	 0,
	 0,
	 0,
	 0,
	 0,
	 {0, 0, 0},
	 0},
	{"unknown carrier: no rule",
	 "Acme Freight",
	 "Ground",
	 "2025-06-01",
	 305,
	 305,
	 305,
	 1000,
	 -ENOENT,
	 NULL,
	 false,
	 0,
	 0,
	 0,
	 0,
	 0,
	 {0, 0, 0},
	 0},
	/* DHL metric: 40 x 30 x 20 cm = 24000 cm^3 / 5000 = 4.8 kg -> 5.0 kg (0.5 kg steps).
	 * Actual 3200 g = 3.2 kg -> 3.5 kg. */
	{"DHL metric 5000, 0.5 kg steps",
	 "DHL",
	 "Express Worldwide",
	 "2025-01-01",
	 400,
	 300,
	 200,
	 3200,
	 0,
	 "dhl-express@2016-01-01",
	 true,
	 5000,
	 3500,
	 5000,
	 5000,
	 5000,
	 {40000, 30000, 20000},
	 24000000},
	/* DHL, no dimension rounding: 41.5 x 30.5 x 20.5 cm = 25947.875 cm^3 / 5000 = 5.19 kg ->
	 * 5.5 kg. */
	{"DHL exact dimensions",
	 "dhl",
	 "Express 12:00",
	 "2025-01-01",
	 415,
	 305,
	 205,
	 1000,
	 0,
	 "dhl-express@2016-01-01",
	 true,
	 5500,
	 1000,
	 5500,
	 5500,
	 5500,
	 {41500, 30500, 20500},
	 25947875},
	/* DHL, actual heavier: 10 x 10 x 10 cm = 1000 / 5000 = 0.2 -> 0.5 kg; actual 2001 g ->
	 * 2.5 kg. */
	{"DHL actual wins",
	 "DHL",
	 "Express Worldwide",
	 "2025-01-01",
	 100,
	 100,
	 100,
	 2001,
	 0,
	 "dhl-express@2016-01-01",
	 true,
	 500,
	 2500,
	 2500,
	 500,
	 2500,
	 {10000, 10000, 10000},
	 1000000},
	/* No dimensions: billed on the actual weight alone. 1 g -> 1 lb. */
	{"no dimensions",
	 "UPS",
	 "Ground",
	 "2025-03-01",
	 0,
	 0,
	 0,
	 1,
	 0,
	 "ups-daily@2016-12-26",
	 false,
	 0,
	 1000,
	 1000,
	 0,
	 454,
	 {0, 0, 0},
	 0},
	/* Errors */
	{"some dimensions zero",
	 "UPS",
	 "Ground",
	 "2025-03-01",
	 100,
	 0,
	 100,
	 1,
	 -EINVAL,
	 NULL,
	 false,
	 0,
	 0,
	 0,
	 0,
	 0,
	 {0, 0, 0},
	 0},
	{"negative weight",
	 "UPS",
	 "Ground",
	 "2025-03-01",
	 100,
	 100,
	 100,
	 -1,
	 -EINVAL,
	 NULL,
	 false,
	 0,
	 0,
	 0,
	 0,
	 0,
	 {0, 0, 0},
	 0},
	{"dimension above the limit",
	 "UPS",
	 "Ground",
	 "2025-03-01",
	 DIMWEIGHT_DIM_MAX_MM + 1,
	 100,
	 100,
	 1,
	 -ERANGE,
	 NULL,
	 false,
	 0,
	 0,
	 0,
	 0,
	 0,
	 {0, 0, 0},
	 0},
};

static void test_calc(void **state)
{
	const struct dimweight_table *t = *state;

	for (size_t i = 0; i < sizeof(calc_cases) / sizeof(calc_cases[0]); i++) {
		const struct calc_case *c = &calc_cases[i];
		struct dimweight_result r;
		int ret;

		memset(&r, 0x5a, sizeof(r));
		ret = dimweight_compute(t, c->carrier, c->service, day(c->date), c->l, c->w, c->h,
					c->actual_g, &r);
		if (ret != c->expect_ret)
			fail_msg("%s: returned %d, expected %d", c->legend, ret, c->expect_ret);
		if (ret < 0) {
			/* untouched on error */
			assert_int_equal(((unsigned char *)&r)[0], 0x5a);
			continue;
		}
		if (strcmp(r.rule_id, c->rule_id) != 0 || r.dim_applies != c->dim_applies ||
		    r.dim_milli != c->dim_milli || r.actual_milli != c->actual_milli ||
		    r.billable_milli != c->billable_milli || r.dim_weight_g != c->dim_g ||
		    r.billable_g != c->billable_g || r.volume_milli != c->volume_milli ||
		    memcmp(r.dims_milli, c->dims_milli, sizeof(r.dims_milli)) != 0)
			fail_msg("%s: got rule %s applies %d dim %" PRIu64 " actual %" PRIu64
				 " billable %" PRIu64
				 " milli, dim %u g billable %u g, dims %u %u %u"
				 " volume %" PRIu64,
				 c->legend, r.rule_id, r.dim_applies, r.dim_milli, r.actual_milli,
				 r.billable_milli, r.dim_weight_g, r.billable_g, r.dims_milli[0],
				 r.dims_milli[1], r.dims_milli[2], r.volume_milli);
		assert_int_equal(r.dim_is_billable, r.dim_milli > r.actual_milli);
		assert_non_null(strstr(r.rule_id, r.effective));
		assert_true(strlen(r.source) > 20);
	}
}

static void test_shipped_rules_have_sources(void **state)
{
	const struct dimweight_table *t = *state;

	assert_true(dimweight_count(t) >= 7);
	for (unsigned i = 0; i < dimweight_count(t); i++) {
		const struct dimweight_rule *r = dimweight_get(t, i);

		assert_non_null(r);
		assert_true(strlen(r->source) > 40);
	}
	assert_null(dimweight_get(t, dimweight_count(t)));
}

/* ---- declared vs measured ----------------------------------------------------------------- */

static void test_compare(void **state)
{
	const struct dimweight_table *t = *state;
	const uint64_t d = day("2025-03-01");
	struct dimweight_parcel decl = {0, 0, 0, 4535}, meas = {508, 381, 254, 4600};
	struct dimweight_compare c;

	/* Declared 4535 g, no dimensions: 9.998 lb -> 10 lb = 4536 g. Measured 20x15x10 in:
	 * 22 lb dim (9979 g), actual 4600 g = 10.14 -> 11 lb. 22 - 10 = 12 increments, 5443 g. */
	assert_int_equal(dimweight_compare(t, "UPS", "Ground", d, &decl, &meas, &c), 0);
	assert_int_equal(c.declared.billable_g, 4536);
	assert_false(c.declared.dim_applies);
	assert_int_equal(c.measured.billable_g, 9979);
	assert_int_equal(c.billable_diff_g, 5443);
	assert_int_equal(c.increments_diff, 12);
	assert_true(c.correction_predicted);

	/* Declared with dimensions 300x200x150 (12x8x6 in: 576/139 -> 5 lb) and 2000 g (4.41 ->
	 * 5 lb); measured 2100 g (4.63 -> 5 lb): the same 5 lb, no correction. */
	decl = (struct dimweight_parcel){300, 200, 150, 2000};
	meas = (struct dimweight_parcel){300, 200, 150, 2100};
	assert_int_equal(dimweight_compare(t, "UPS", "Ground", d, &decl, &meas, &c), 0);
	assert_int_equal(c.billable_diff_g, 0);
	assert_int_equal(c.increments_diff, 0);
	assert_false(c.correction_predicted);

	/* Measured 2300 g = 5.07 lb -> 6 lb: one increment over, 2722 - 2268 = 454 g. */
	meas.weight_g = 2300;
	assert_int_equal(dimweight_compare(t, "UPS", "Ground", d, &decl, &meas, &c), 0);
	assert_int_equal(c.billable_diff_g, 454);
	assert_int_equal(c.increments_diff, 1);
	assert_true(c.correction_predicted);

	/* Over-declared: 10 lb declared, 5 lb measured: negative, no correction predicted. */
	decl = (struct dimweight_parcel){0, 0, 0, 4535};
	meas = (struct dimweight_parcel){300, 200, 150, 2100};
	assert_int_equal(dimweight_compare(t, "UPS", "Ground", d, &decl, &meas, &c), 0);
	assert_int_equal(c.increments_diff, -5);
	assert_int_equal(c.billable_diff_g, 2268 - 4536);
	assert_false(c.correction_predicted);

	/* DHL 0.5 kg steps: declared 2.0 kg, measured 40x30x20 cm (5.0 kg dim), 2.1 kg:
	 * 10 - 4 = 6 increments of 0.5 kg, 3000 g. */
	decl = (struct dimweight_parcel){0, 0, 0, 2000};
	meas = (struct dimweight_parcel){400, 300, 200, 2100};
	assert_int_equal(dimweight_compare(t, "DHL", "Express", d, &decl, &meas, &c), 0);
	assert_int_equal(c.increments_diff, 6);
	assert_int_equal(c.billable_diff_g, 3000);
	assert_true(c.correction_predicted);

	assert_int_equal(dimweight_compare(t, "Acme", "Ground", d, &decl, &meas, &c), -ENOENT);
	decl.weight_g = -5;
	assert_int_equal(dimweight_compare(t, "DHL", "Express", d, &decl, &meas, &c), -EINVAL);
	assert_int_equal(dimweight_compare(t, "DHL", "Express", d, NULL, &meas, &c), -EINVAL);
}

/* ---- loader: files written here ----------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

struct tmp {
	char dir[TMPDIR_MAX];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/sealbench-test-dimweight-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static void write_file(const char *path, const char *content, size_t len)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A complete rule body, to build the cases from. */
#define RULE(name, date, carrier, services, divisor) \
	"[" name " @ " date "]\n"                    \
	"carrier = " carrier "\n"                    \
	"services = " services "\n"                  \
	"units = imperial\n"                         \
	"divisor = " divisor "\n"                    \
	"round_dimensions = nearest\n"               \
	"weight_increment = 1\n"                     \
	"source = test\n"

struct load_case {
	const char *legend;
	const char *body;
	int expect_ret;
	const char *expect_err; /* after "PATH"; NULL when the load succeeds */
};

static const struct load_case load_cases[] = {
	{"minimal rule", RULE("r", "2020-01-01", "UPS", "*", "139"), 0, NULL},
	{"BOM and comments", "\xEF\xBB\xBF# c\n; c\n" RULE("r", "2020-01-01", "UPS", "*", "139"), 0,
	 NULL},
	{"empty file", "", -EINVAL, ": no rules (expected [NAME @ YYYY-MM-DD] sections)"},
	{"only comments", "# nothing\n", -EINVAL,
	 ": no rules (expected [NAME @ YYYY-MM-DD] sections)"},
	{"key outside a section", "carrier = UPS\n", -EINVAL,
	 ":1: key 'carrier' outside a [NAME @ YYYY-MM-DD] section"},
	{"section without date", "# x\n[ups]\n", -EINVAL,
	 ":2: section [ups] is not [NAME @ YYYY-MM-DD]"},
	{"bad date", "[ups @ 2021-02-29]\n", -EINVAL,
	 ":1: [ups @ 2021-02-29]: '2021-02-29' is not a date (YYYY-MM-DD, from 1970)"},
	{"empty name", "[ @ 2021-02-01]\n", -EINVAL,
	 ":1: [ @ 2021-02-01]: rule name must be 1 to 47 characters"},
	{"bad name", "[u/p @ 2021-02-01]\n", -EINVAL,
	 ":1: [u/p @ 2021-02-01]: rule name may hold only letters, digits, '.', '-', '_'"},
	{"indented header", "  [r @ 2021-02-01]\n", -EINVAL,
	 ":1: section header must start at the beginning of the line"},
	{"syntax error", "[r @ 2020-01-01]\ncarrier = UPS\nthis is not a key\n", -EINVAL,
	 ":3: syntax error (expected 'key = value' or '[section]')"},
	{"unknown key", "[r @ 2020-01-01]\ncarrier = UPS\ndivsor = 139\n", -EINVAL,
	 ":3: unknown key 'divsor' in [r @ 2020-01-01]"},
	{"duplicate key", "[r @ 2020-01-01]\nunits = metric\ncarrier = A\nunits = imperial\n",
	 -EINVAL, ":4: duplicate key 'units' (first set on line 2)"},
	{"missing key at the header's line",
	 "# a\n[r @ 2020-01-01]\ncarrier = UPS\nunits = metric\n", -EINVAL,
	 ":2: [r @ 2020-01-01]: missing required key 'divisor'"},
	{"missing key, next section", "[r @ 2020-01-01]\ncarrier = UPS\n[s @ 2020-01-01]\n",
	 -EINVAL, ":1: [r @ 2020-01-01]: missing required key 'units'"},
	{"bad units", "[r @ 2020-01-01]\nunits = furlongs\n", -EINVAL,
	 ":2: units: 'furlongs' is not imperial or metric"},
	{"divisor zero", "[r @ 2020-01-01]\ndivisor = 0\n", -EINVAL,
	 ":2: divisor: '0' is not a number from 1 to 20000 (at most 3 decimals)"},
	{"divisor 4 decimals", "[r @ 2020-01-01]\ndivisor = 138.4001\n", -EINVAL,
	 ":2: divisor: '138.4001' is not a number from 1 to 20000 (at most 3 decimals)"},
	{"divisor negative", "[r @ 2020-01-01]\ndivisor = -139\n", -EINVAL,
	 ":2: divisor: '-139' is not a number from 1 to 20000 (at most 3 decimals)"},
	{"divisor too big", "[r @ 2020-01-01]\ndivisor = 20000.001\n", -EINVAL,
	 ":2: divisor: '20000.001' is not a number from 1 to 20000 (at most 3 decimals)"},
	{"divisor trailing dot", "[r @ 2020-01-01]\ndivisor = 139.\n", -EINVAL,
	 ":2: divisor: '139.' is not a number from 1 to 20000 (at most 3 decimals)"},
	{"increment zero", "[r @ 2020-01-01]\nweight_increment = 0\n", -EINVAL,
	 ":2: weight_increment: '0' is not a number from 0.001 to 100 (at most 3 decimals)"},
	{"bad rounding", "[r @ 2020-01-01]\nround_dimensions = down\n", -EINVAL,
	 ":2: round_dimensions: 'down' is not nearest, up or none"},
	{"bad threshold", "[r @ 2020-01-01]\napplies_above = -1\n", -EINVAL,
	 ":2: applies_above: '-1' is not a whole number from 0 to 100000000"},
	{"empty carrier", "[r @ 2020-01-01]\ncarrier =\n", -EINVAL,
	 ":2: carrier: must be 1 to 63 characters"},
	{"too many services", "[r @ 2020-01-01]\nservices = a,b,c,d,e,f,g,h,i\n", -EINVAL,
	 ":2: services: more than 8 patterns"},
	{"duplicate version",
	 RULE("r", "2020-01-01", "UPS", "*", "139") RULE("r", "2020-01-01", "UPS", "*", "166"),
	 -EINVAL, ":9: duplicate rule [r @ 2020-01-01] (first on line 1)"},
	{"carrier differs between versions",
	 RULE("r", "2020-01-01", "UPS", "*", "139") RULE("r", "2021-01-01", "FedEx", "*", "166"),
	 -EINVAL, ":9: [r @ 2021-01-01]: carrier 'FedEx' differs from 'UPS' of rule r on line 1"},
	{"services differ between versions",
	 RULE("r", "2020-01-01", "UPS", "*", "139") RULE("r", "2021-01-01", "UPS", "G*", "166"),
	 -EINVAL, ":9: [r @ 2021-01-01]: services differ from those of rule r on line 1"},
	{"NUL byte", "[r @ 2020-01-01]\ncarrier = U\0PS\n", -EINVAL,
	 ":2: NUL byte in the file (not a text file?)"},
};

static void run_load_case(const struct tmp *t, const struct load_case *c, size_t len)
{
	char path[TEST_PATH_MAX], err[DIMWEIGHT_ERR_MAX] = "", want[TEST_MSG_MAX];
	struct dimweight_table *tab = (struct dimweight_table *)&path; /* sentinel */
	int ret;

	snprintf(path, sizeof(path), "%s/rules.conf", t->dir);
	write_file(path, c->body, len);
	ret = dimweight_load(path, &tab, err, sizeof(err));
	if (ret != c->expect_ret)
		fail_msg("%s: returned %d (%s), expected %d", c->legend, ret, err, c->expect_ret);
	if (ret == 0) {
		assert_int_equal(dimweight_count(tab), 1);
		dimweight_free(tab);
		return;
	}
	assert_ptr_equal(tab, (struct dimweight_table *)&path); /* untouched */
	snprintf(want, sizeof(want), "%s%s", path, c->expect_err);
	if (strcmp(err, want) != 0)
		fail_msg("%s:\n got  '%s'\n want '%s'", c->legend, err, want);
}

static void test_load_errors(void **state)
{
	const struct tmp *t = *state;

	for (size_t i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
		const struct load_case *c = &load_cases[i];
		/* the NUL case has a NUL inside: its length is the literal's */
		size_t len = strcmp(c->legend, "NUL byte") == 0
				     ? sizeof("[r @ 2020-01-01]\ncarrier = U\0PS\n") - 1
				     : strlen(c->body);

		run_load_case(t, c, len);
	}
}

static void test_load_limits(void **state)
{
	const struct tmp *t = *state;
	char path[TEST_PATH_MAX], err[DIMWEIGHT_ERR_MAX], want[TEST_MSG_MAX];
	char *big = malloc(BIG_FILE_MAX);
	struct dimweight_table *tab = NULL;
	size_t used = 0;

	assert_non_null(big);
	snprintf(path, sizeof(path), "%s/big.conf", t->dir);

	/* 65 rule sections: the 65th header is refused at its line (8 lines per rule) */
	for (int i = 0; i <= DIMWEIGHT_RULES_MAX; i++)
		used += (size_t)snprintf(big + used, BIG_FILE_MAX - used,
					 RULE("r%d", "2020-01-01", "UPS", "*", "139"), i);
	write_file(path, big, used);
	assert_int_equal(dimweight_load(path, &tab, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:%d: more than %d rule sections", path,
		 DIMWEIGHT_RULES_MAX * 8 + 1, DIMWEIGHT_RULES_MAX);
	assert_string_equal(err, want);

	/* exactly 64 load */
	used = 0;
	for (int i = 0; i < DIMWEIGHT_RULES_MAX; i++)
		used += (size_t)snprintf(big + used, BIG_FILE_MAX - used,
					 RULE("r%d", "2020-01-01", "UPS", "*", "139"), i);
	write_file(path, big, used);
	assert_int_equal(dimweight_load(path, &tab, err, sizeof(err)), 0);
	assert_int_equal(dimweight_count(tab), DIMWEIGHT_RULES_MAX);
	dimweight_free(tab);

	/* a line longer than inih's buffer (198 characters + newline) */
	used = (size_t)snprintf(big, BIG_FILE_MAX, "[r @ 2020-01-01]\nsource = ");
	memset(big + used, 'x', 300);
	used += 300;
	big[used++] = '\n';
	write_file(path, big, used);
	assert_int_equal(dimweight_load(path, &tab, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: line longer than 198 characters", path);
	assert_string_equal(err, want);

	/* a source longer than DIMWEIGHT_SOURCE_MAX over continuation lines */
	used = (size_t)snprintf(big, BIG_FILE_MAX, "[r @ 2020-01-01]\n");
	for (int i = 0; i < 6; i++) {
		used += (size_t)snprintf(big + used, BIG_FILE_MAX - used, "%s",
					 i ? "  " : "source = ");
		memset(big + used, 'y', 100);
		used += 100;
		big[used++] = '\n';
	}
	write_file(path, big, used);
	assert_int_equal(dimweight_load(path, &tab, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:7: source: longer than %d characters", path,
		 DIMWEIGHT_SOURCE_MAX - 1);
	assert_string_equal(err, want);
	free(big);

	/* a missing file: the open error, not -EINVAL */
	snprintf(path, sizeof(path), "%s/none.conf", t->dir);
	assert_int_equal(dimweight_load(path, &tab, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	dimweight_free(NULL);
}

/* Continuation lines and repeated keys append; defaults apply. */
static void test_load_values(void **state)
{
	const struct tmp *t = *state;
	static const char body[] = "[r @ 2020-01-01]\n"
				   "carrier = DHL\n"
				   "services = Express*, Economy\n"
				   "services = *Select\n"
				   "units = metric\n"
				   "divisor = 138.4\n"
				   "round_dimensions = up\n"
				   "weight_increment = 0.5 ; inline comment\n"
				   "source = first part,\n"
				   "  second part\n";
	char path[TEST_PATH_MAX], err[DIMWEIGHT_ERR_MAX] = "";
	struct dimweight_table *tab = NULL;
	const struct dimweight_rule *r;

	snprintf(path, sizeof(path), "%s/v.conf", t->dir);
	write_file(path, body, strlen(body));
	assert_int_equal(dimweight_load(path, &tab, err, sizeof(err)), 0);
	r = dimweight_get(tab, 0);
	assert_string_equal(r->id, "r@2020-01-01");
	assert_string_equal(r->effective, "2020-01-01");
	assert_int_equal(r->effective_ms, day("2020-01-01"));
	assert_int_equal(r->n_services, 3);
	assert_string_equal(r->services[0], "Express*");
	assert_string_equal(r->services[1], "Economy");
	assert_string_equal(r->services[2], "*Select");
	assert_int_equal(r->units, DIMWEIGHT_METRIC);
	assert_int_equal(r->divisor_milli, 138400);
	assert_int_equal(r->round_dims, DIMWEIGHT_ROUND_UP);
	assert_int_equal(r->increment_milli, 500);
	assert_int_equal(r->applies_above, 0);
	assert_string_equal(r->source, "first part, second part");
	assert_int_equal(r->line, 1);
	assert_ptr_equal(dimweight_find(tab, "dhl", "express worldwide", day("2020-01-01")), r);
	assert_ptr_equal(dimweight_find(tab, "DHL", "Parcel Select", day("2020-01-01")), r);
	assert_null(dimweight_find(tab, "DHL", "Other", day("2020-01-01")));
	assert_null(dimweight_find(tab, "DHL", "Economy", day("2019-12-31") + 86399999));
	dimweight_free(tab);
}

/* Selection: service-specific NAMEs first; a NAME without a version in force yet falls
 * through to the next; the latest version in force wins regardless of file order. */
static void test_selection(void **state)
{
	const struct tmp *t = *state;
	static const char body[] = RULE("ups-saver", "2024-01-01", "UPS", "*Ground Saver*", "166")
		RULE("ups", "2020-01-01", "UPS", "*", "139")
			RULE("ups", "2010-01-01", "UPS", "*", "194")
				RULE("ups", "2015-01-01", "UPS", "*", "166");
	char path[TEST_PATH_MAX], err[DIMWEIGHT_ERR_MAX] = "";
	struct dimweight_table *tab = NULL;
	const struct dimweight_rule *r;

	snprintf(path, sizeof(path), "%s/s.conf", t->dir);
	write_file(path, body, strlen(body));
	assert_int_equal(dimweight_load(path, &tab, err, sizeof(err)), 0);
	assert_int_equal(dimweight_count(tab), 4);

	r = dimweight_find(tab, "UPS", "UPS Ground Saver", day("2025-01-01"));
	assert_non_null(r);
	assert_string_equal(r->id, "ups-saver@2024-01-01");
	/* before the saver rule exists: the catch-all's version in force */
	r = dimweight_find(tab, "UPS", "UPS Ground Saver", day("2023-12-31"));
	assert_string_equal(r->id, "ups@2020-01-01");
	r = dimweight_find(tab, "UPS", "Ground", day("2016-06-01"));
	assert_string_equal(r->id, "ups@2015-01-01");
	r = dimweight_find(tab, "UPS", "Ground", day("2012-06-01"));
	assert_string_equal(r->id, "ups@2010-01-01");
	/* the very first millisecond of a version's day, and the last one before it */
	r = dimweight_find(tab, "UPS", "Ground", day("2020-01-01"));
	assert_string_equal(r->id, "ups@2020-01-01");
	r = dimweight_find(tab, "UPS", "Ground", day("2020-01-01") - 1);
	assert_string_equal(r->id, "ups@2015-01-01");
	assert_null(dimweight_find(tab, "UPS", "Ground", day("2009-12-31")));
	assert_null(dimweight_find(tab, "FedEx", "Ground", day("2025-01-01")));
	assert_null(dimweight_find(NULL, "UPS", "Ground", day("2025-01-01")));
	assert_non_null(dimweight_find(tab, "UPS", NULL, day("2025-01-01"))); /* "" matches '*' */
	dimweight_free(tab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test_setup_teardown(test_calc, shipped_setup, shipped_teardown),
		cmocka_unit_test_setup_teardown(test_shipped_rules_have_sources, shipped_setup,
						shipped_teardown),
		cmocka_unit_test_setup_teardown(test_compare, shipped_setup, shipped_teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_limits, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_values, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_selection, tmp_setup, tmp_teardown),
	};

	return cmocka_run_group_tests_name("dimweight", tests, NULL, NULL);
}
