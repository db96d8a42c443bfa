/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_label.c - barcode classification and label data (src/label.c).
 *
 * Three kinds of vectors:
 *  - the sample files (tests/data/labels/, one scan per line: kind, check, tracking,
 *    escaped scan), which double as the fuzz seed corpus;
 *  - published valid numbers per carrier, each corrupted at every position the check digit
 *    covers (one digit +1): every corruption must give LABEL_CHECK_BAD with the same kind;
 *  - field-level assertions on 15434 and GS1 payloads, limits, garbage and the API contract.
 * Fixtures are found relative to the project root: $SEALBENCH_SRCDIR, else the current
 * directory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "src/label.h"

/** One decoded sample scan: the longest line in the sample files is well under this. */
#define SCAN_MAX 2048
/** One line of a sample file. */
#define LINE_MAX_LEN 4096

static char srcdir[PATH_MAX];

/* The project root: $SEALBENCH_SRCDIR, or "." when the fixtures are found from here. */
static const char *root(void)
{
	char probe[PATH_MAX + sizeof("/tests/data/labels")];
	const char *env = getenv("SEALBENCH_SRCDIR");
	struct stat st;

	if (srcdir[0])
		return srcdir;
	snprintf(srcdir, sizeof(srcdir), "%s", env && *env ? env : ".");
	snprintf(probe, sizeof(probe), "%s/tests/data/labels", srcdir);
	if (stat(probe, &st) != 0 || !S_ISDIR(st.st_mode))
		fail_msg("fixtures not found at %s (run from the project root or set "
			 "SEALBENCH_SRCDIR)",
			 probe);
	return srcdir;
}

/* Parse an escaped scan; the result must satisfy the invariants every label has. */
static void parse_esc(const char *esc, struct label *l)
{
	char buf[SCAN_MAX];
	size_t n;

	assert_int_equal(label_unescape(esc, buf, sizeof(buf), &n), 0);
	memset(l, 0x5a, sizeof(*l));
	assert_int_equal(label_parse(buf, n, l), 0);
}

/* Every string in the struct is terminated inside its buffer; enums in range. */
static void check_invariants(const struct label *l)
{
	unsigned i;

	assert_non_null(label_kind_to_string(l->kind));
	assert_non_null(label_kind_to_string(l->tracking_kind));
	assert_non_null(label_check_to_string(l->check));
	assert_non_null(label_sig_to_string(l->signature));
	assert_true(memchr(l->carrier, 0, sizeof(l->carrier)) != NULL);
	assert_true(memchr(l->tracking, 0, sizeof(l->tracking)) != NULL);
	assert_true(memchr(l->number, 0, sizeof(l->number)) != NULL);
	assert_true(memchr(l->service_code, 0, sizeof(l->service_code)) != NULL);
	assert_true(memchr(l->service, 0, sizeof(l->service)) != NULL);
	assert_true(memchr(l->postal_code, 0, sizeof(l->postal_code)) != NULL);
	assert_true(memchr(l->street, 0, sizeof(l->street)) != NULL);
	assert_true(memchr(l->city, 0, sizeof(l->city)) != NULL);
	assert_true(memchr(l->state, 0, sizeof(l->state)) != NULL);
	assert_true(memchr(l->shipper, 0, sizeof(l->shipper)) != NULL);
	assert_true(memchr(l->shipment_id, 0, sizeof(l->shipment_id)) != NULL);
	assert_true(l->n_elements <= LABEL_ELEMENTS_MAX);
	for (i = 0; i < l->n_elements; i++) {
		assert_true(memchr(l->elements[i].id, 0, sizeof(l->elements[i].id)) != NULL);
		assert_true(memchr(l->elements[i].value, 0, sizeof(l->elements[i].value)) != NULL);
	}
	/* a tracking number is present exactly when the field bit says so */
	assert_int_equal(l->tracking[0] != '\0', (l->fields & LABEL_F_TRACKING) != 0);
}

/* ---- sample files ---------------------------------------------------------------------- */

static unsigned run_sample_file(const char *path)
{
	char line[LINE_MAX_LEN], kind[32], check[16], tracking[LABEL_NUMBER_MAX + 8];
	unsigned lineno = 0, n = 0;
	struct label l;
	FILE *f = fopen(path, "re");
	int off;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		off = 0;
		if (sscanf(line, "%31s %15s %47s %n", kind, check, tracking, &off) != 3 || !off)
			fail_msg("%s:%u: malformed sample line", path, lineno);
		parse_esc(line + off, &l);
		check_invariants(&l);
		if (strcmp(label_kind_to_string(l.kind), kind) != 0 ||
		    strcmp(label_check_to_string(l.check), check) != 0 ||
		    strcmp(l.tracking, strcmp(tracking, "-") == 0 ? "" : tracking) != 0)
			fail_msg("%s:%u: got %s %s '%s', want %s %s %s", path, lineno,
				 label_kind_to_string(l.kind), label_check_to_string(l.check),
				 l.tracking, kind, check, tracking);
		n++;
	}
	fclose(f);
	return n;
}

static void test_sample_files(void **state)
{
	char dir[PATH_MAX + 32], path[2 * PATH_MAX];
	unsigned files = 0, lines = 0;
	struct dirent *de;
	DIR *d;
	size_t len;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/data/labels", root());
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".txt") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		lines += run_sample_file(path);
		files++;
	}
	closedir(d);
	assert_true(files >= 7);
	assert_true(lines >= 100);
}

/* ---- published numbers, corrupted at every checked position ---------------------------- */

struct published {
	const char *number;
	enum label_kind kind;
	size_t first, last; /* positions covered by the check digit (inclusive), 0-based */
};

/*
 * Published valid numbers (sources in tests/data/labels/). Corrupting a covered position by
 * +1 (mod 10, or the next letter) must be detected. Prefix positions that decide the format
 * ("1Z", "96", channel "9x", the S10 letters) are left alone: changing them changes the kind.
 */
static const struct published published[] = {
	{"1Z999AA10123456784", LABEL_UPS_1Z, 2, 17},
	{"1Z5R89390357567127", LABEL_UPS_1Z, 2, 17},
	{"1Z879E930346834440", LABEL_UPS_1Z, 2, 17},
	{"1Z410E7W0392751591", LABEL_UPS_1Z, 2, 17},
	{"1Z8V92A70367203024", LABEL_UPS_1Z, 2, 17},
	{"986578788855", LABEL_FEDEX_EXPRESS_12, 0, 11},
	{"477179081230", LABEL_FEDEX_EXPRESS_12, 0, 11},
	{"799531274483", LABEL_FEDEX_EXPRESS_12, 0, 11},
	{"790535312317", LABEL_FEDEX_EXPRESS_12, 0, 11},
	{"974367662710", LABEL_FEDEX_EXPRESS_12, 0, 11},
	{"012345678983", LABEL_FEDEX_EXPRESS_12, 0, 11},
	{"041441760228964", LABEL_FEDEX_GROUND_15, 0, 14},
	{"568283610012000", LABEL_FEDEX_GROUND_15, 0, 14},
	{"568283610012734", LABEL_FEDEX_GROUND_15, 0, 14},
	{"9611020987654312345672", LABEL_FEDEX_96_22, 7, 21},
	{"1001921334250001000300779017972697", LABEL_FEDEX_34, 20, 33},
	{"1001921380360001000300639585804382", LABEL_FEDEX_34, 20, 33},
	{"9622001560001234567100794808390594", LABEL_FEDEX_34, 20, 33},
	{"9505511069605048600624", LABEL_USPS_IMPB, 2, 21},
	{"9101123456789000000013", LABEL_USPS_IMPB, 2, 21},
	{"9400111201080805483016", LABEL_USPS_IMPB, 2, 21},
	{"9361289878700317633795", LABEL_USPS_IMPB, 2, 21},
	{"9405803699300124287899", LABEL_USPS_IMPB, 2, 21},
	{"92748931507708513018050063", LABEL_USPS_IMPB, 2, 25},
	{"420221539101026837331000039521", LABEL_USPS_IMPB, 10, 29},
	{"4201002334249200190132607600833457", LABEL_USPS_IMPB, 14, 33},
	{"3318810025", LABEL_DHL_EXPRESS, 0, 9},
	{"8487135506", LABEL_DHL_EXPRESS, 0, 9},
	{"1099255990", LABEL_DHL_EXPRESS, 0, 9},
	{"3821724944", LABEL_DHL_EXPRESS, 0, 9},
	{"RB123456785GB", LABEL_UPU_S10, 2, 10},
	{"AA473124829GB", LABEL_UPU_S10, 2, 10},
	{"376104250021234569", LABEL_SSCC18, 0, 17},
	{"106141411234567897", LABEL_SSCC18, 0, 17},
};

/*
 * Corruptions the published algorithms cannot see, and which must therefore still pass (we
 * implement the carriers' algorithms, not better ones): FedEx folds a mod-11 remainder of 10
 * into check digit 0, so a change that moves the remainder between 0 and 10 is invisible; S10
 * folds 11 - r = 10 into 0 and 11 into 5 (r = 6 and r = 0 both give 5).
 */
static const struct {
	const char *number;
	size_t pos;
} blind_spots[] = {
	{"974367662710", 1},  {"974367662710", 4},  {"974367662710", 7},
	{"974367662710", 10}, {"RB123456785GB", 7},
};

static bool blind_spot(const char *number, size_t pos)
{
	size_t i;

	for (i = 0; i < sizeof(blind_spots) / sizeof(blind_spots[0]); i++)
		if (strcmp(blind_spots[i].number, number) == 0 && blind_spots[i].pos == pos)
			return true;
	return false;
}

static char bump(char c)
{
	if (c >= '0' && c <= '9')
		return c == '9' ? '0' : (char)(c + 1);
	return c == 'Z' ? 'A' : (char)(c + 1);
}

static void test_published_corrupted(void **state)
{
	char buf[LABEL_NUMBER_MAX];
	struct label l;
	size_t i, p, n;

	(void)state;
	for (i = 0; i < sizeof(published) / sizeof(published[0]); i++) {
		const struct published *t = &published[i];

		n = strlen(t->number);
		assert_int_equal(label_parse(t->number, n, &l), 0);
		if (l.tracking_kind != t->kind || l.check != LABEL_CHECK_OK)
			fail_msg("%s: got %s/%s", t->number, label_kind_to_string(l.tracking_kind),
				 label_check_to_string(l.check));
		for (p = t->first; p <= t->last; p++) {
			memcpy(buf, t->number, n + 1);
			buf[p] = bump(buf[p]);
			assert_int_equal(label_parse(buf, n, &l), 0);
			if (l.tracking_kind != t->kind ||
			    l.check !=
				    (blind_spot(t->number, p) ? LABEL_CHECK_OK : LABEL_CHECK_BAD))
				fail_msg("%s corrupted at %zu (%s): got %s/%s", t->number, p, buf,
					 label_kind_to_string(l.tracking_kind),
					 label_check_to_string(l.check));
		}
	}
}

/* The three 20-digit variants: a valid one, corrupted, is BAD or (documented) another kind. */
static void test_twenty_digits(void **state)
{
	static const struct {
		const char *number;
		enum label_kind kind;
		const char *carrier;
	} t[] = {
		{"03071790000523483741", LABEL_USPS_20, "USPS"},
		{"71123456789123456787", LABEL_USPS_20, "USPS"},
		{"71969010756003077385", LABEL_USPS_IMPB, "USPS"},
		{"61299998820821171811", LABEL_FEDEX_SMARTPOST_20, "FedEx"},
	};
	char buf[32];
	struct label l;
	size_t i, p;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(label_parse(t[i].number, 20, &l), 0);
		assert_int_equal(l.kind, t[i].kind);
		assert_int_equal(l.check, LABEL_CHECK_OK);
		assert_string_equal(l.carrier, t[i].carrier);
		assert_true(l.weak);
		for (p = 0; p < 20; p++) {
			memcpy(buf, t[i].number, 21);
			buf[p] = bump(buf[p]);
			assert_int_equal(label_parse(buf, 20, &l), 0);
			/* never the same kind with a passing check */
			assert_false(l.kind == t[i].kind && l.check == LABEL_CHECK_OK);
			if (l.check == LABEL_CHECK_BAD)
				assert_string_equal(l.carrier, "");
		}
	}
}

/* ---- single-number details ------------------------------------------------------------- */

static void test_ups_service(void **state)
{
	struct label l;

	(void)state;
	parse_esc("1Z999AA10123456784", &l);
	assert_string_equal(l.carrier, "UPS");
	assert_string_equal(l.service_code, "01");
	assert_string_equal(l.service, "Next Day Air");
	assert_int_equal(l.signature, LABEL_SIG_UNKNOWN);
	assert_false(l.weak);
	/* community table "A8": only a hint, never a verdict */
	parse_esc("1Z999AA1A812345678", &l);
	assert_int_equal(l.kind, LABEL_UPS_1Z);
	assert_int_equal(l.check, LABEL_CHECK_OK);
	assert_string_equal(l.service_code, "A8");
	assert_string_equal(l.service, "Ground, adult signature");
	assert_int_equal(l.signature, LABEL_SIG_HINT);
	/* the check character must be a digit */
	parse_esc("1Z999AA1A81234567X", &l);
	assert_int_equal(l.kind, LABEL_UPS_1Z);
	assert_int_equal(l.check, LABEL_CHECK_BAD);
	parse_esc("1Z5R89390357567127", &l);
	assert_string_equal(l.service_code, "03");
	assert_string_equal(l.service, "Ground");
	/* unknown service code: the raw code, no name, no hint */
	parse_esc("1Z999AA1ZZ12345675", &l);
	assert_int_equal(l.check, LABEL_CHECK_OK);
	assert_string_equal(l.service_code, "ZZ");
	assert_string_equal(l.service, "");
	assert_int_equal(l.signature, LABEL_SIG_UNKNOWN);
}

static void test_fedex_fields(void **state)
{
	struct label l;

	(void)state;
	parse_esc("9611020987654312345672", &l);
	assert_string_equal(l.number, "9611020987654312345672");
	assert_string_equal(l.tracking, "987654312345672");
	assert_string_equal(l.service_code, "020");
	assert_false(l.weak);
	parse_esc("1001921334250001000300779017972697", &l);
	assert_string_equal(l.number, "1001921334250001000300779017972697");
	assert_string_equal(l.tracking, "779017972697");
	parse_esc("986578788855", &l);
	assert_true(l.weak);
	assert_string_equal(l.number, "");
}

static void test_s10_fields(void **state)
{
	struct label l;

	(void)state;
	parse_esc("EE100010005US", &l);
	assert_int_equal(l.kind, LABEL_UPU_S10);
	assert_string_equal(l.carrier, "UPU");
	assert_string_equal(l.service_code, "EE");
	assert_string_equal(l.service, "EMS");
	assert_string_equal(l.issuer_country, "US");
	parse_esc("rb123456785gb", &l);
	assert_int_equal(l.check, LABEL_CHECK_OK);
	assert_string_equal(l.tracking, "RB123456785GB");
	assert_string_equal(l.service, "Registered");
}

static void test_impb_fields(void **state)
{
	struct label l;

	(void)state;
	parse_esc("4201002334249200190132607600833457", &l);
	assert_int_equal(l.kind, LABEL_USPS_IMPB);
	assert_string_equal(l.postal_code, "100233424");
	assert_string_equal(l.tracking, "9200190132607600833457");
	assert_string_equal(l.number, "4201002334249200190132607600833457");
	assert_string_equal(l.service_code, "001");
	assert_true(l.fields & LABEL_F_POSTAL);
	assert_false(l.fields & LABEL_F_COUNTRY);
	/* ZIP5 routing, with FNC1 separators and the AIM identifier */
	parse_esc("]C14202215\\GS9400111201080805483016", &l);
	assert_int_equal(l.kind, LABEL_USPS_IMPB);
	assert_string_equal(l.symbology, "C1");
	assert_string_equal(l.postal_code, "2215");
	assert_int_equal(l.n_elements, 2);
	assert_string_equal(l.elements[0].id, "420");
	assert_string_equal(l.elements[1].id, "94");
	assert_string_equal(l.elements[1].value, "00111201080805483016");
}

/* ---- GS1 ------------------------------------------------------------------------------- */

static void test_gs1_elements(void **state)
{
	struct label l;

	(void)state;
	parse_esc("]d2\\FNC100376104250021234569420123456789\\GS421276D-10115\\GS400PO-4711"
		  "\\GS3302001250\\GS4020614141000000001210ABC\\GS17251231",
		  &l);
	check_invariants(&l);
	assert_int_equal(l.kind, LABEL_GS1);
	assert_int_equal(l.tracking_kind, LABEL_SSCC18);
	assert_int_equal(l.check, LABEL_CHECK_OK);
	assert_string_equal(l.tracking, "376104250021234569");
	assert_string_equal(l.symbology, "d2");
	/* 421 (with its country) wins over 420 */
	assert_string_equal(l.postal_code, "D-10115");
	assert_string_equal(l.country_num, "276");
	assert_string_equal(l.country, "DE");
	assert_int_equal(l.n_elements, 8);
	assert_string_equal(l.elements[0].id, "00");
	assert_int_equal(l.elements[0].check, LABEL_CHECK_OK);
	assert_string_equal(l.elements[1].id, "420");
	assert_string_equal(l.elements[1].value, "123456789");
	assert_string_equal(l.elements[2].id, "421");
	assert_string_equal(l.elements[3].id, "400");
	assert_string_equal(l.elements[3].value, "PO-4711");
	assert_string_equal(l.elements[4].id, "3302");
	assert_string_equal(l.elements[4].value, "001250");
	assert_string_equal(l.elements[5].id, "402");
	assert_int_equal(l.elements[5].check, LABEL_CHECK_OK);
	assert_string_equal(l.elements[6].id, "10");
	assert_string_equal(l.elements[6].value, "ABC");
	assert_string_equal(l.elements[7].id, "17");
	assert_int_equal(l.elements[7].check, LABEL_CHECK_NONE);
	assert_int_equal(l.warnings, 0);
}

static void test_gs1_errors(void **state)
{
	struct label l;

	(void)state;
	/* unknown AI: the parse stops there, what came before is kept */
	parse_esc("]C100376104250021234569777712", &l);
	assert_int_equal(l.kind, LABEL_GS1);
	assert_int_equal(l.n_elements, 1);
	assert_true(l.warnings & LABEL_W_GS1_UNKNOWN_AI);
	/* wrong SSCC check digit */
	parse_esc("]C100376104250021234560", &l);
	assert_int_equal(l.tracking_kind, LABEL_SSCC18);
	assert_int_equal(l.check, LABEL_CHECK_BAD);
	assert_int_equal(l.elements[0].check, LABEL_CHECK_BAD);
	/* fixed-length AI cut short, non-numeric numeric AI, over-long variable AI */
	parse_esc("]C1003761042500", &l);
	assert_int_equal(l.n_elements, 0);
	assert_true(l.warnings & LABEL_W_BAD_FIELD);
	assert_int_equal(l.kind, LABEL_UNKNOWN);
	parse_esc("]C1422ABC\\GS400OK", &l);
	assert_int_equal(l.n_elements, 1);
	assert_string_equal(l.elements[0].id, "400");
	assert_true(l.warnings & LABEL_W_BAD_FIELD);
	parse_esc("]C14001234567890123456789012345678901\\GS401X", &l);
	assert_int_equal(l.n_elements, 1);
	assert_string_equal(l.elements[0].id, "401");
	/* human-readable form keeps AIs it does not know (they delimit themselves) */
	parse_esc("(00)376104250021234569(8004)ABC(420)90210", &l);
	assert_int_equal(l.kind, LABEL_GS1);
	assert_int_equal(l.n_elements, 3);
	assert_string_equal(l.elements[1].id, "8004");
	assert_string_equal(l.postal_code, "90210");
	/* the value runs to the next "(": 20 characters are not an SSCC */
	parse_esc("(00)376104250021234569)x", &l);
	assert_int_equal(l.n_elements, 0);
	assert_int_equal(l.kind, LABEL_UNKNOWN);
	assert_true(l.warnings & LABEL_W_BAD_FIELD);
	/* a GS1 symbology is GS1 even around digits that look like a FedEx number */
	parse_esc("]C1003761042500", &l);
	assert_int_equal(l.tracking_kind, LABEL_UNKNOWN);
}

static void test_gs1_too_many(void **state)
{
	char esc[1024];
	struct label l;
	int i, o = 0;

	(void)state;
	o += snprintf(esc + o, sizeof(esc) - (size_t)o, "]C1");
	for (i = 0; i < LABEL_ELEMENTS_MAX + 4; i++)
		o += snprintf(esc + o, sizeof(esc) - (size_t)o, "10LOT%d\\GS", i);
	parse_esc(esc, &l);
	check_invariants(&l);
	assert_int_equal(l.n_elements, LABEL_ELEMENTS_MAX);
	assert_true(l.warnings & LABEL_W_TOO_MANY);
	assert_string_equal(l.elements[LABEL_ELEMENTS_MAX - 1].value, "LOT15");
}

/* ---- ISO/IEC 15434 --------------------------------------------------------------------- */

static const char maxicode[] =
	"[)>\\RS01\\GS96152382802\\GS840\\GS001\\GS1Z00004951\\GSUPSN\\GS06X610\\GS159"
	"\\GS1234567\\GS1/1\\GS\\GSY\\GS634 ALPHA DR\\GSPITTSBURGH\\GSPA\\RS\\EOT";

static void test_15434_maxicode(void **state)
{
	struct label l;

	(void)state;
	parse_esc(maxicode, &l);
	check_invariants(&l);
	assert_int_equal(l.kind, LABEL_ISO15434);
	assert_int_equal(l.formats, 1u << 1);
	assert_string_equal(l.format01_version, "96");
	assert_string_equal(l.postal_code, "152382802");
	assert_string_equal(l.country_num, "840");
	assert_string_equal(l.country, "US");
	assert_string_equal(l.service_class, "001");
	assert_string_equal(l.tracking, "1Z00004951");
	assert_int_equal(l.tracking_kind, LABEL_UNKNOWN);
	assert_int_equal(l.check, LABEL_CHECK_NONE);
	assert_string_equal(l.scac, "UPSN");
	assert_string_equal(l.carrier, "UPS");
	assert_string_equal(l.shipper, "06X610");
	assert_int_equal(l.pickup_day, 159);
	assert_string_equal(l.shipment_id, "1234567");
	assert_int_equal(l.package_n, 1);
	assert_int_equal(l.package_x, 1);
	assert_false(l.fields & LABEL_F_WEIGHT);
	assert_true(l.fields & LABEL_F_ADDR_VALID);
	assert_true(l.address_validated);
	assert_string_equal(l.street, "634 ALPHA DR");
	assert_string_equal(l.city, "PITTSBURGH");
	assert_string_equal(l.state, "PA");
	assert_int_equal(l.fields, LABEL_F_POSTAL | LABEL_F_COUNTRY | LABEL_F_SERVICE_CLASS |
					   LABEL_F_TRACKING | LABEL_F_SCAC | LABEL_F_SHIPPER |
					   LABEL_F_PICKUP_DAY | LABEL_F_SHIPMENT_ID |
					   LABEL_F_PACKAGE_NX | LABEL_F_ADDR_VALID |
					   LABEL_F_STREET | LABEL_F_CITY | LABEL_F_STATE);
	assert_int_equal(l.warnings, 0);
}

static void test_15434_full_1z_and_weight(void **state)
{
	struct label l;

	(void)state;
	parse_esc("[)>\\RS01\\GS96841706672\\GS840\\GS002\\GS1Z999AA10123456784\\GSUPSN\\GS999AA1"
		  "\\GS032\\GS\\GS2/3\\GS10.25\\GSN\\GS1 MAIN ST\\GSBOISE\\GSID\\RS\\EOT",
		  &l);
	assert_int_equal(l.kind, LABEL_ISO15434);
	assert_int_equal(l.tracking_kind, LABEL_UPS_1Z);
	assert_int_equal(l.check, LABEL_CHECK_OK);
	assert_string_equal(l.service_code, "01");
	assert_false(l.weak);
	assert_int_equal(l.package_n, 2);
	assert_int_equal(l.package_x, 3);
	assert_string_equal(l.weight, "10.25");
	assert_int_equal(l.weight_x100, 1025);
	assert_false(l.address_validated);
	assert_true(l.fields & LABEL_F_ADDR_VALID);
	assert_false(l.fields & LABEL_F_SHIPMENT_ID);
	/* the same with a corrupted tracking number: looks like UPS, check digit wrong */
	parse_esc("[)>\\RS01\\GS96841706672\\GS840\\GS002\\GS1Z999AA10123456794\\GSUPSN\\RS\\EOT",
		  &l);
	assert_int_equal(l.tracking_kind, LABEL_UPS_1Z);
	assert_int_equal(l.check, LABEL_CHECK_BAD);
	/* a FedEx number under a FedEx SCAC; a 12-digit inside an envelope is not weak */
	parse_esc("[)>\\RS01\\GS0238017\\GS840\\GS020\\GS794808390594\\GSFDEG\\RS\\EOT", &l);
	assert_int_equal(l.tracking_kind, LABEL_FEDEX_EXPRESS_12);
	assert_string_equal(l.carrier, "FedEx");
	assert_false(l.weak);
	assert_string_equal(l.format01_version, "02");
}

static void test_15434_partial(void **state)
{
	struct label l;

	(void)state;
	/* trailing fields and the trailer missing: what is there is kept */
	parse_esc("[)>\\RS01\\GS96W1T1JY\\GS826\\GS066\\GS1Z12345675", &l);
	check_invariants(&l);
	assert_int_equal(l.kind, LABEL_ISO15434);
	assert_int_equal(l.fields, LABEL_F_POSTAL | LABEL_F_COUNTRY | LABEL_F_SERVICE_CLASS |
					   LABEL_F_TRACKING);
	assert_string_equal(l.country, "GB");
	assert_string_equal(l.carrier, ""); /* no SCAC, tracking not a full 1Z */
	assert_true(l.warnings & LABEL_W_NO_TRAILER);
	/* primary message only */
	parse_esc("]U2[)>\\RS01\\GS96V6B4Y8\\GS124\\GS011\\GS", &l);
	assert_string_equal(l.symbology, "U2");
	assert_string_equal(l.postal_code, "V6B4Y8");
	assert_string_equal(l.country, "CA");
	assert_false(l.fields & LABEL_F_TRACKING);
	/* unknown country number: numeric kept, no alpha-2 */
	parse_esc("[)>\\RS01\\GS961234\\GS999\\GS001\\RS\\EOT", &l);
	assert_string_equal(l.country_num, "999");
	assert_string_equal(l.country, "");
	assert_true(l.fields & LABEL_F_COUNTRY);
	/* alpha-2 country as some PDF417 labels write it */
	parse_esc("[)>\\RS01\\GS9612345\\GSDE\\GS001\\RS\\EOT", &l);
	assert_string_equal(l.country, "DE");
	assert_string_equal(l.country_num, "");
}

static void test_15434_bad_fields(void **state)
{
	struct label l;

	(void)state;
	parse_esc("[)>\\RS01\\GS96123\\GSUSA1\\GS00000001\\GS1Z00004951\\GSUPSNX1234\\GS1\\GS400"
		  "\\GS\\GS1-1\\GS10,5\\GSMAYBE\\GS\\GS\\GS\\GSextra1\\GSextra2\\RS\\EOT",
		  &l);
	check_invariants(&l);
	assert_true(l.warnings & LABEL_W_BAD_FIELD);
	assert_true(l.warnings & LABEL_W_EXTRA_FIELDS);
	assert_int_equal(l.extra_fields, 2);
	assert_int_equal(l.fields, LABEL_F_POSTAL | LABEL_F_TRACKING | LABEL_F_SHIPPER);
	assert_int_equal(l.pickup_day, 0);
	assert_string_equal(l.scac, "");
	/* bad headers */
	parse_esc("[)>", &l);
	assert_int_equal(l.kind, LABEL_ISO15434);
	assert_true(l.warnings & LABEL_W_BAD_HEADER);
	parse_esc("[)>\\RSxx\\GS\\RS\\EOT", &l);
	assert_true(l.warnings & LABEL_W_BAD_HEADER);
	assert_int_equal(l.formats, 0);
	parse_esc("[)>\\RS\\EOT", &l);
	assert_int_equal(l.warnings, 0);
	assert_int_equal(l.fields, 0);
}

static void test_15434_formats_05_06(void **state)
{
	struct label l;

	(void)state;
	parse_esc("[)>\\RS05\\GS00376104250021234569\\GS42127610115\\RS06\\GS1JUN043325711MH8034"
		  "\\GS15KPO-4711\\GSP4711-A\\GSQ2\\GSbad\\GS\\RS12\\GSignored\\RS\\EOT",
		  &l);
	check_invariants(&l);
	assert_int_equal(l.kind, LABEL_ISO15434);
	assert_int_equal(l.formats, (1u << 5) | (1u << 6) | (1u << 12));
	assert_int_equal(l.tracking_kind, LABEL_SSCC18);
	assert_int_equal(l.check, LABEL_CHECK_OK);
	assert_string_equal(l.postal_code, "10115");
	assert_string_equal(l.country, "DE");
	assert_int_equal(l.n_elements, 6);
	assert_false(l.elements[1].is_di);
	assert_true(l.elements[2].is_di);
	assert_string_equal(l.elements[2].id, "1J");
	assert_string_equal(l.elements[2].value, "UN043325711MH8034");
	assert_string_equal(l.elements[3].id, "15K");
	assert_string_equal(l.elements[4].id, "P");
	assert_string_equal(l.elements[5].id, "Q");
	assert_string_equal(l.elements[5].value, "2");
	assert_true(l.warnings & LABEL_W_BAD_FIELD); /* "bad": no data identifier */
	/* an IMpb inside format 05 leaves the kind at ISO15434 */
	parse_esc("[)>\\RS05\\GS4202215\\GS9400111201080805483016\\RS\\EOT", &l);
	assert_int_equal(l.kind, LABEL_ISO15434);
	assert_int_equal(l.tracking_kind, LABEL_USPS_IMPB);
	assert_string_equal(l.carrier, "USPS");
}

static void test_15434_headerless(void **state)
{
	struct label l;

	(void)state;
	parse_esc("152382802\\GS840\\GS001\\GS1Z999AA10123456784\\GSUPSN\\GS06X610\\GS159", &l);
	assert_int_equal(l.kind, LABEL_ISO15434);
	assert_int_equal(l.tracking_kind, LABEL_UPS_1Z);
	assert_int_equal(l.pickup_day, 159);
	assert_string_equal(l.format01_version, "");
	/* not that shape: not a MaxiCode */
	parse_esc("ABC\\GS84\\GS001\\GSX", &l);
	assert_int_equal(l.kind, LABEL_UNKNOWN);
}

static void test_text_handling(void **state)
{
	char big[1200];
	struct label l;
	int o;

	(void)state;
	/* Latin-1 (the MaxiCode default) becomes UTF-8; valid UTF-8 is kept as it is */
	parse_esc(
		"[)>\\RS01\\GS9680331\\GS276\\GS001\\GS\\GS\\GS\\GS\\GS\\GS\\GS\\GS\\GSSTRA\\xdfE 1"
		"\\GSM\\xdcNCHEN\\GS\\RS\\EOT",
		&l);
	assert_string_equal(l.street, "STRA\xc3\x9f"
				      "E 1");
	assert_string_equal(l.city, "M\xc3\x9cNCHEN");
	assert_int_equal(l.warnings, 0);
	parse_esc("[)>\\RS01\\GS9680331\\GS276\\GS001\\GS\\GS\\GS\\GS\\GS\\GS\\GS\\GS\\GS\\GS"
		  "M\\xc3\\x9cNCHEN\\RS\\EOT",
		  &l);
	assert_string_equal(l.city, "M\xc3\x9cNCHEN");
	/* control bytes and NULs inside a field */
	parse_esc("[)>\\RS01\\GS96123\\x00X\\x07\\GS840\\RS\\EOT", &l);
	assert_string_equal(l.postal_code, "123?X?");
	assert_true(l.warnings & LABEL_W_CONTROL);
	/* an over-long street is cut at the buffer, on a character boundary */
	o = snprintf(big, sizeof(big), "[)>\\RS01\\GS96123\\GS840\\GS001");
	o += snprintf(big + o, sizeof(big) - (size_t)o, "\\GS\\GS\\GS\\GS\\GS\\GS\\GS\\GS\\GS");
	while (o < 900)
		o += snprintf(big + o, sizeof(big) - (size_t)o, "\\xe9");
	snprintf(big + o, sizeof(big) - (size_t)o, "\\RS\\EOT");
	parse_esc(big, &l);
	check_invariants(&l);
	assert_true(l.warnings & LABEL_W_TRUNCATED);
	assert_int_equal(strlen(l.street), LABEL_FIELD_MAX - 2); /* 47 two-byte characters */
	assert_int_equal((unsigned char)l.street[0], 0xc3);
	assert_int_equal((unsigned char)l.street[1], 0xa9);
}

/* ---- garbage, limits, contract --------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_garbage(void **state)
{
	/* bytes the parser treats specially, so that random input reaches the deep paths */
	static const char alphabet[] = "0123456789Z1AZ[)>]C(\x1d\x1e\x04/.Y\x00\xff\xc3";
	char buf[512];
	struct label l;
	size_t n, i;
	int iter;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		n = rng() % sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] =
				(iter & 1) ? (char)rng() : alphabet[rng() % (sizeof(alphabet) - 1)];
		if (iter % 3 == 0 && n > 6)
			memcpy(buf,
			       "[)>\x1e"
			       "01\x1d",
			       7);
		assert_int_equal(label_parse(buf, n, &l), 0);
		check_invariants(&l);
	}
}

static void test_max_length(void **state)
{
	const size_t n = 1u << 20;
	char *buf = malloc(n);
	struct label l;

	(void)state;
	assert_non_null(buf);
	memset(buf, '7', n);
	assert_int_equal(label_parse(buf, n, &l), 0);
	assert_int_equal(l.kind, LABEL_UNKNOWN);
	memcpy(buf, "]C1", 3); /* one GS1 AI "77.." unknown */
	assert_int_equal(label_parse(buf, n, &l), 0);
	assert_true(l.warnings & LABEL_W_GS1_UNKNOWN_AI);
	memcpy(buf, "]C110", 5); /* batch far over its 20 characters */
	assert_int_equal(label_parse(buf, n, &l), 0);
	assert_true(l.warnings & LABEL_W_BAD_FIELD);
	memset(buf, '\x1d', n);
	memcpy(buf,
	       "[)>\x1e"
	       "06\x1d",
	       7);
	assert_int_equal(label_parse(buf, n, &l), 0);
	assert_int_equal(l.kind, LABEL_ISO15434);
	memset(buf, 'A', n);
	memcpy(buf,
	       "[)>\x1e"
	       "01\x1d"
	       "96",
	       9);
	assert_int_equal(label_parse(buf, n, &l), 0);
	assert_true(l.warnings & LABEL_W_TRUNCATED);
	free(buf);
}

static void test_embedded_nul(void **state)
{
	static const char scan[] = "1Z999AA10123456784\0garbage";
	struct label l;

	(void)state;
	/* the length counts, not the NUL: 26 bytes are not a UPS number */
	assert_int_equal(label_parse(scan, sizeof(scan) - 1, &l), 0);
	assert_int_equal(l.kind, LABEL_UNKNOWN);
	assert_int_equal(label_parse(scan, 18, &l), 0);
	assert_int_equal(l.kind, LABEL_UPS_1Z);
}

static void test_contract(void **state)
{
	struct label l, before;

	(void)state;
	memset(&l, 0x5a, sizeof(l));
	memcpy(&before, &l, sizeof(l));
	assert_int_equal(label_parse(NULL, 3, &l), -EINVAL);
	assert_memory_equal(&l, &before, sizeof(l));
	assert_int_equal(label_parse("x", 1, NULL), -EINVAL);
	assert_int_equal(label_parse(NULL, 0, &l), 0);
	assert_int_equal(l.kind, LABEL_UNKNOWN);
	assert_int_equal(l.fields, 0);
	assert_null(label_kind_to_string(_LABEL_KIND_MAX));
	assert_null(label_kind_to_string(_LABEL_KIND_INVALID));
	assert_null(label_check_to_string(_LABEL_CHECK_MAX));
	assert_null(label_sig_to_string(_LABEL_SIG_MAX));
	assert_string_equal(label_country_alpha2("840"), "US");
	assert_string_equal(label_country_alpha2("826"), "GB");
	assert_string_equal(label_country_alpha2("036"), "AU");
	assert_string_equal(label_country_alpha2("392"), "JP");
	assert_null(label_country_alpha2("999"));
	assert_null(label_country_alpha2(NULL));
}

static void test_unescape(void **state)
{
	char out[16];
	size_t n = 99;

	(void)state;
	assert_int_equal(label_unescape("a\\GSb\\RS\\EOT\\FNC1\\x00\\x7f\\\\\\n\\r\\t", out,
					sizeof(out), &n),
			 0);
	assert_int_equal(n, 12);
	assert_memory_equal(out,
			    "a\x1d"
			    "b\x1e\x04\x1d\x00\x7f\\\n\r\t",
			    12);
	n = 99;
	assert_int_equal(label_unescape("\\x4", out, sizeof(out), &n), -EINVAL);
	assert_int_equal(label_unescape("\\xZZ", out, sizeof(out), &n), -EINVAL);
	assert_int_equal(label_unescape("\\q", out, sizeof(out), &n), -EINVAL);
	assert_int_equal(label_unescape("abc\\", out, sizeof(out), &n), -EINVAL);
	assert_int_equal(label_unescape("0123456789abcdefX", out, sizeof(out), &n), -ENOBUFS);
	assert_int_equal(n, 99);
	assert_int_equal(label_unescape(NULL, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(label_unescape("", out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
}

static void test_json(void **state)
{
	const cJSON *ship, *tr, *fields, *warnings, *el;
	struct label l;
	cJSON *root;
	char *text = NULL;

	(void)state;
	assert_int_equal(label_to_json(NULL, &text), -EINVAL);
	parse_esc(maxicode, &l);
	assert_int_equal(label_to_json(&l, NULL), -EINVAL);
	assert_int_equal(label_to_json(&l, &text), 0);
	root = cJSON_Parse(text);
	assert_non_null(root);
	assert_string_equal(cJSON_GetObjectItem(root, "kind")->valuestring, "iso15434");
	assert_string_equal(cJSON_GetObjectItem(root, "check")->valuestring, "none");
	assert_string_equal(cJSON_GetObjectItem(root, "carrier")->valuestring, "UPS");
	assert_string_equal(cJSON_GetObjectItem(root, "tracking")->valuestring, "1Z00004951");
	assert_null(cJSON_GetObjectItem(root, "number"));
	ship = cJSON_GetObjectItem(root, "ship_to");
	assert_string_equal(cJSON_GetObjectItem(ship, "country")->valuestring, "US");
	assert_string_equal(cJSON_GetObjectItem(ship, "city")->valuestring, "PITTSBURGH");
	tr = cJSON_GetObjectItem(root, "transport");
	assert_int_equal(cJSON_GetObjectItem(tr, "pickup_day")->valueint, 159);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(tr, "address_validated")));
	assert_null(cJSON_GetObjectItem(tr, "weight"));
	fields = cJSON_GetObjectItem(root, "fields");
	assert_int_equal(cJSON_GetArraySize(fields), 13);
	warnings = cJSON_GetObjectItem(root, "warnings");
	assert_int_equal(cJSON_GetArraySize(warnings), 0);
	assert_int_equal(
		cJSON_GetArrayItem(
			cJSON_GetObjectItem(cJSON_GetObjectItem(root, "iso15434"), "formats"), 0)
			->valueint,
		1);
	cJSON_Delete(root);
	free(text);

	parse_esc("]C100376104250021234560777712", &l);
	assert_int_equal(label_to_json(&l, &text), 0);
	root = cJSON_Parse(text);
	assert_non_null(root);
	assert_string_equal(cJSON_GetObjectItem(root, "kind")->valuestring, "gs1");
	assert_string_equal(cJSON_GetObjectItem(root, "check")->valuestring, "bad");
	el = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "elements"), 0);
	assert_string_equal(cJSON_GetObjectItem(el, "type")->valuestring, "ai");
	assert_string_equal(cJSON_GetObjectItem(el, "id")->valuestring, "00");
	assert_string_equal(cJSON_GetObjectItem(el, "name")->valuestring, "sscc");
	assert_string_equal(cJSON_GetObjectItem(el, "check")->valuestring, "bad");
	assert_string_equal(
		cJSON_GetArrayItem(cJSON_GetObjectItem(root, "warnings"), 0)->valuestring,
		"gs1_unknown_ai");
	cJSON_Delete(root);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_files),
		cmocka_unit_test(test_published_corrupted),
		cmocka_unit_test(test_twenty_digits),
		cmocka_unit_test(test_ups_service),
		cmocka_unit_test(test_fedex_fields),
		cmocka_unit_test(test_s10_fields),
		cmocka_unit_test(test_impb_fields),
		cmocka_unit_test(test_gs1_elements),
		cmocka_unit_test(test_gs1_errors),
		cmocka_unit_test(test_gs1_too_many),
		cmocka_unit_test(test_15434_maxicode),
		cmocka_unit_test(test_15434_full_1z_and_weight),
		cmocka_unit_test(test_15434_partial),
		cmocka_unit_test(test_15434_bad_fields),
		cmocka_unit_test(test_15434_formats_05_06),
		cmocka_unit_test(test_15434_headerless),
		cmocka_unit_test(test_text_handling),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_max_length),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_contract),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
