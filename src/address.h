/* SPDX-License-Identifier: MIT */
/*
 * src/address.h - address checks at the station: offline, deterministic, table-driven.
 *
 * The station cannot ask an address-validation service while a packer waits, and must not
 * depend on one: these checks need only the order's address, the carrier and service, and
 * what the 2D label says. Each failure has a stable code (below) that lands in the evidence
 * record and the exception queue's triage; the detail text is for people and may change.
 *
 * Check codes (ADDR_* macros below hold the exact strings):
 *   unprintable_chars, invalid_utf8            a field the label printer cannot print
 *   missing_name, missing_street, missing_city,
 *   missing_postal, missing_country, missing_state
 *   country_invalid                             not an ISO 3166-1 alpha-2 code
 *   postal_format                               postal code not in the country's format
 *   state_invalid                               US state, CA province, AU state not known
 *   zip_state_mismatch                          US ZIP's 3-digit prefix is not the state's
 *   postal_state_mismatch                       CA postal district / AU postcode vs province
 *   military_inconsistent                       APO/FPO/DPO city without AA/AE/AP or reverse
 *   po_box_refused, apo_refused                 carrier/service does not deliver there
 *   label_order_postal_mismatch,
 *   label_order_country_mismatch                the 2D label ships somewhere else
 *
 * Pure functions; no allocation; no logging.
 */
#ifndef SEALBENCH_SRC_ADDRESS_H
#define SEALBENCH_SRC_ADDRESS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "src/package.h"

/** Longest check code ("label_order_country_mismatch", 28) + NUL, rounded up. */
#define ADDR_CODE_MAX 32
/** At least the number of distinct check codes, so no failure is ever dropped. */
#define ADDR_CHECKS_MAX 24
/** Human-readable details of all failures; long enough for every check to say a sentence. */
#define ADDR_DETAIL_MAX 512

#define ADDR_UNPRINTABLE	   "unprintable_chars"
#define ADDR_INVALID_UTF8	   "invalid_utf8"
#define ADDR_MISSING_NAME	   "missing_name"
#define ADDR_MISSING_STREET	   "missing_street"
#define ADDR_MISSING_CITY	   "missing_city"
#define ADDR_MISSING_POSTAL	   "missing_postal"
#define ADDR_MISSING_COUNTRY	   "missing_country"
#define ADDR_MISSING_STATE	   "missing_state"
#define ADDR_COUNTRY_INVALID	   "country_invalid"
#define ADDR_POSTAL_FORMAT	   "postal_format"
#define ADDR_STATE_INVALID	   "state_invalid"
#define ADDR_ZIP_STATE		   "zip_state_mismatch"
#define ADDR_POSTAL_STATE	   "postal_state_mismatch"
#define ADDR_MILITARY_INCONSISTENT "military_inconsistent"
#define ADDR_PO_BOX_REFUSED	   "po_box_refused"
#define ADDR_APO_REFUSED	   "apo_refused"
#define ADDR_LABEL_POSTAL	   "label_order_postal_mismatch"
#define ADDR_LABEL_COUNTRY	   "label_order_country_mismatch"

/** Characters the label printer can print (its code page). Input text is UTF-8. */
enum addr_charset {
	ADDR_CHARSET_ASCII = 0, /* U+0020..U+007E */
	ADDR_CHARSET_LATIN1,	/* ASCII + U+00A0..U+00FF (ISO 8859-1) */
	ADDR_CHARSET_CP1252,	/* Latin-1 + the 27 Windows-1252 characters at 0x80..0x9F */
	_ADDR_CHARSET_MAX,
	_ADDR_CHARSET_INVALID = -EINVAL,
};

/** Default: most thermal label printers' Latin-1 / Windows-1252 code pages agree on it. */
#define ADDR_CHARSET_DEFAULT ADDR_CHARSET_LATIN1

/**
 * Whether a carrier's service delivers to PO boxes and to military (APO/FPO/DPO) addresses.
 * Carrier and service are fnmatch(3) globs, matched case-insensitively; the first row whose
 * globs both match decides. No matching row: the check is not applied (unknown carrier).
 */
struct addr_carrier_policy {
	const char *carrier;
	const char *service;
	bool po_box;	    /* delivers to PO boxes */
	bool military;	    /* delivers to APO/FPO/DPO */
	const char *source; /* why we believe it: publication, year */
};

/** What the 2D label (ISO/IEC 15434 in MaxiCode/PDF417) says about the destination. */
struct addr_label_info {
	char postal_code[PKG_ID_MAX]; /* "" = not on the label */
	/* ISO 3166-1 alpha-2 ("US"), alpha-3 ("USA") or numeric ("840", as MaxiCode carries it);
	 * "" = not on the label */
	char country[PKG_ID_MAX];
};

struct addr_opts {
	enum addr_charset charset;
	/* carrier policy table; NULL = the built-in one (address_default_policies()) */
	const struct addr_carrier_policy *policies;
	size_t n_policies;
};

struct addr_result {
	bool pass; /* no check failed */
	char failed[ADDR_CHECKS_MAX][ADDR_CODE_MAX];
	unsigned n_failed;
	char detail[ADDR_DETAIL_MAX]; /* "code: why; code: why" in the order of failed[] */
	bool po_box;		      /* the street line is a PO box */
	bool military;		      /* an APO/FPO/DPO address */
	/* upstream validation carried alongside, as the order context gave it (never merged into
	 * pass/failed: those are the station's own checks) */
	bool has_upstream;
	bool upstream_pass;
	char upstream_failed[PKG_CHECKS_MAX][PKG_ID_MAX];
	unsigned n_upstream_failed;
};

/**
 * @brief Run every address check.
 * @param a the order's ship-to address (UTF-8).
 * @param carrier carrier name ("UPS", "FedEx", "USPS", ...); NULL or "" skips the carrier
 *        policy checks.
 * @param service service name; NULL is "".
 * @param label postal code and country from the 2D label; NULL skips the label/order checks.
 * @param opts NULL = defaults (ADDR_CHARSET_DEFAULT, built-in carrier policies).
 * @param ret the result; untouched on error.
 * @return 0 when the checks ran (pass or fail is in @p ret), -EINVAL for NULL @p a / @p ret
 *         or an invalid charset.
 */
int address_check_opts(const struct pkg_address *a, const char *carrier, const char *service,
		       const struct addr_label_info *label, const struct addr_opts *opts,
		       struct addr_result *ret);

/** @brief address_check_opts() with default options. */
int address_check(const struct pkg_address *a, const char *carrier, const char *service,
		  const struct addr_label_info *label, struct addr_result *ret);

/**
 * @brief Check an order's address with its own carrier and service, and carry the order's
 *        upstream validation result into @p ret (has_upstream, upstream_*).
 * @return as address_check_opts(); -EINVAL for NULL @p o.
 */
int address_check_order(const struct order_ctx *o, const struct addr_label_info *label,
			const struct addr_opts *opts, struct addr_result *ret);

/**
 * @brief Whether an address line names a PO box ("PO Box 12", "P.O. Box", "Post Office Box",
 *        "POB 7", "Box 12", "Postfach 10 01 23", "GPO Box", "Locked Bag" ...). Rural-route
 *        and military boxes ("RR 2 Box 15", "PSC 802 Box 74") and words that merely contain
 *        "box" ("Boxwood Rd", "Box Elder St") are not PO boxes.
 */
bool address_is_po_box(const char *line);

/** @brief Whether the address is an APO/FPO/DPO one (city APO/FPO/DPO or state AA/AE/AP). */
bool address_is_military(const struct pkg_address *a);

/**
 * @brief Check a postal code's format for a country (ISO alpha-2, case-insensitive).
 * @return 1 valid, 0 invalid, -ENOENT when the country's format is not known here.
 */
int address_postal_format_ok(const char *country, const char *postal);

/**
 * @brief Whether a US ZIP code's 3-digit prefix belongs to the state (USPS 2-letter code,
 *        including DC, territories and the military AA/AE/AP).
 * @return 1 yes, 0 no, -EINVAL when the ZIP has no 3 leading digits or the state is unknown.
 */
int address_zip_state_ok(const char *zip, const char *state);

/**
 * @brief Whether @p s (UTF-8) is printable in @p cs.
 * @param bad_cp set to the first offending code point (or -1 for invalid UTF-8) when false;
 *        may be NULL.
 * @param bad_off set to its byte offset; may be NULL.
 */
bool address_printable(const char *s, enum addr_charset cs, long *bad_cp, size_t *bad_off);

/** @brief The built-in carrier policy table; @p ret_n gets its length. Static, never freed. */
const struct addr_carrier_policy *address_default_policies(size_t *ret_n);

/** @brief "ascii" / "latin1" / "cp1252". */
const char *addr_charset_to_string(enum addr_charset cs);

/** @brief Parse "ascii", "latin1" (or "iso-8859-1"), "cp1252" (or "windows-1252").
 *  @return the charset or _ADDR_CHARSET_INVALID. */
enum addr_charset addr_charset_from_string(const char *s);

#endif
