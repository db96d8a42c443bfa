/* SPDX-License-Identifier: MIT */
/*
 * src/record.h - the evidence record (schema "sealbench.evidence/1", firmware/schema/).
 *
 * record_build() turns a sealed package into one JSON object (cJSON, unformatted). The bytes
 * it returns are exactly the bytes stored in the outbox, hashed into the chain and published;
 * nothing re-serialises them later. Integers in grams and millimetres; times RFC 3339 UTC with
 * milliseconds; "prev" is the hex SHA-256 of the previous record's bytes.
 */
#ifndef SEALBENCH_SRC_RECORD_H
#define SEALBENCH_SRC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "src/package.h"

#define RECORD_SCHEMA "sealbench.evidence/1"
/** "<station>-<10-digit seq>": station IDs are at most 32 characters (config.c checks). */
#define RECORD_ID_MAX 64
/** Largest sequence number: the ID carries exactly 10 digits (sequences start at 1). */
#define RECORD_SEQ_MAX 9999999999ULL

/** Station identity and devices, constant for the life of the daemon. Borrowed strings. */
struct record_station {
	const char *site;
	const char *station;
	const char *firmware_version;
	const char *scale_model;
	const char *scanner_model;
	const char *camera_model;
	const char *badge_model;
	const char *rules_version; /* version of the rules the package was judged by */
};

/**
 * @brief Format a record ID: "<station>-<seq as 10 digits>", e.g. "st01-0000000042".
 * Formats only; record_build() is what checks the station ID's characters.
 * @return 0; -ENAMETOOLONG when it does not fit @p len or RECORD_ID_MAX (@p buf untouched);
 *         -ERANGE when @p seq > RECORD_SEQ_MAX; -EINVAL on a NULL argument.
 */
int record_format_id(const char *station, uint64_t seq, char *buf, size_t len);

/**
 * @brief Build the record JSON for a sealed (or void) package.
 * @param prev_hash hex SHA-256 of the previous record (64 '0's for the first).
 * @param ret_json receives a malloc'd NUL-terminated string; the caller frees it with free().
 * @param ret_len receives strlen(*ret_json).
 * @return 0; -ENOMEM; -ERANGE when @p seq > RECORD_SEQ_MAX; -EINVAL on a NULL argument or a
 *         package the record cannot carry, so that every record built is valid against the
 *         schema: site/station not 1..32 of [A-Za-z0-9._-]; no firmware version; station
 *         strings of PKG_DETAIL_MAX bytes or more; prev_hash (or, with a photo, the photo
 *         hash) not 64 lowercase hex; photo bytes/width/height 0; seq 0; no packer; sealed_ms
 *         0 or any time after 9999; a package string without its NUL; an enum or count out of
 *         range; an empty rule name; a declared value < 0 or > 2^53 - 1; a declared weight
 *         < 0; an override without lead or time; "voids" not a record ID; a BLOCK rule on a
 *         seal without an override. Bytes that are not UTF-8 become U+FFFD (not an error).
 *         *ret_json and *ret_len are untouched on failure.
 */
int record_build(const struct record_station *st, const struct package *p, uint64_t seq,
		 const char *prev_hash, char **ret_json, size_t *ret_len);

#endif
