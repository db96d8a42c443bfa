/* SPDX-License-Identifier: MIT */
/*
 * src/record.h - the evidence record (schema "sealbench.evidence/1", firmware/schema/).
 *
 * record_build() turns a sealed package into one JSON object (cJSON, unformatted). The bytes
 * it returns are exactly the bytes stored in the outbox, hashed into the chain and published;
 * nothing re-serialises them later. Integers in grams and millimetres; times RFC 3339 UTC with
 * milliseconds.
 *
 * Signing (firmware/schema/CANONICAL.md): the bytes record_build() returns are the SIGNED
 * bytes. record_sign() makes the PUBLISHED record from them by inserting
 * ,"sig":"<base64 Ed25519 signature>" before the final '}'; a verifier gets the signed bytes
 * back by removing exactly that (record_verify()), byte for byte, without re-serialising.
 * The published bytes are what the outbox stores and sends, and "prev" is the hex SHA-256 of
 * the previous record's PUBLISHED bytes (signature included).
 */
#ifndef SEALBENCH_SRC_RECORD_H
#define SEALBENCH_SRC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "src/package.h"
#include "src/sign.h"

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

/** What record_sign() inserts before the final '}', then the base64 signature and a '"'. */
#define RECORD_SIG_MEMBER ",\"sig\":\""
/** Bytes record_sign() adds: RECORD_SIG_MEMBER, SIGN_SIG_B64_LEN characters and '"'. */
#define RECORD_SIG_OVERHEAD (sizeof(RECORD_SIG_MEMBER) - 1 + SIGN_SIG_B64_LEN + 1)

/**
 * @brief Sign a record built by record_build(): the published record is @p json with
 *        RECORD_SIG_MEMBER, the base64 Ed25519 signature over all @p len bytes of @p json,
 *        and '"' inserted before its final '}'.
 * @param json a non-empty JSON object without a "sig" member, as record_build() makes them.
 * @param ret_json receives a malloc'd NUL-terminated string (free()); untouched on failure.
 * @param ret_len receives its length, @p len + RECORD_SIG_OVERHEAD.
 * @return 0; -EINVAL a NULL argument or @p json not ending in a non-empty object's '}';
 *         -ENOMEM; -EIO signing failed.
 */
int record_sign(const struct sign_key *key, const char *json, size_t len, char **ret_json,
		size_t *ret_len);

/**
 * @brief Verify a published record against the station's public key.
 *
 * Checks that @p json ends with RECORD_SIG_MEMBER, SIGN_SIG_B64_LEN characters of canonical
 * base64 and "\"}"; that the signed bytes (the record without that member) are a JSON object
 * with no other "sig" member; and the Ed25519 signature over them.
 * @return 0 good; -ENOMSG no signature in that exact form (unsigned, reformatted, truncated);
 *         -EBADMSG the signature does not verify with @p pub (altered bytes, other key);
 *         -EINVAL a NULL argument; -ENOMEM.
 */
int record_verify(const char *json, size_t len, const uint8_t pub[SIGN_PUBKEY_BYTES]);

#endif
