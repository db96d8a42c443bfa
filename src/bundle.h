/* SPDX-License-Identifier: MIT */
/*
 * src/bundle.h - the leads' signed rules bundles: parse, verify, keep (docs/bundles.md).
 *
 * A bundle is the text of the station config's [rules], [carrier NAME] and [box CODE]
 * sections with a [bundle] header (schema, site, stations, version, issued, expires, lead),
 * signed with the lead's Ed25519 key. It travels retained on sealbench/v1/{site}/config (the
 * site's bundle) or sealbench/v1/{site}/{station}/config (one station's) as a JSON envelope:
 *
 *   {"schema":"sealbench.bundle/1","bundle":"<the text>","sig":"<base64 Ed25519>"}
 *
 * The signature covers the UTF-8 bytes of "bundle" exactly. The lead's public key is
 * "<lead>.pub" in the station's lead_keys_dir (the format of src/sign.h).
 *
 * The station keeps the last good bundle of each scope in its data directory and applies the
 * station's own one when it has one, else the site's. A bundle is refused when it is
 * oversized, not an envelope (truncated), unsigned by a known lead key or signed by another
 * key, for another site or station, expired, or older than the one in force (rollback).
 *
 * Nothing here logs; errors are -errno values with a message for the status.
 */
#ifndef SEALBENCH_SRC_BUNDLE_H
#define SEALBENCH_SRC_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sign_key;

#define BUNDLE_SCHEMA "sealbench.bundle/1"
/** Largest payload accepted (the envelope); anything larger is refused unread. */
#define BUNDLE_PAYLOAD_MAX (256 * 1024)
/** Site, station and lead IDs: 1 to 32 of [A-Za-z0-9._-] (they name topics and files). */
#define BUNDLE_ID_MAX 33
/** Stations one bundle may name. */
#define BUNDLE_STATIONS_MAX 64
/** Room for a rejection message. */
#define BUNDLE_ERR_MAX 320
/** Room for a bundle's name in messages: "site bundle 18446744073709551615". */
#define BUNDLE_NAME_MAX 48

enum bundle_scope {
	BUNDLE_SITE = 0, /* sealbench/v1/{site}/config */
	BUNDLE_STATION,  /* sealbench/v1/{site}/{station}/config */
	_BUNDLE_SCOPE_MAX,
};

struct bundle {
	enum bundle_scope scope; /* the topic it came on */
	char name[BUNDLE_NAME_MAX]; /* "site bundle 7": for messages and file:line errors */
	/* [bundle] header */
	char site[BUNDLE_ID_MAX];
	bool all_stations; /* stations = * */
	char stations[BUNDLE_STATIONS_MAX][BUNDLE_ID_MAX];
	unsigned n_stations;
	uint64_t version;    /* >= 1, only goes up per scope */
	uint64_t issued_ms;  /* Unix ms, UTC */
	uint64_t expires_ms; /* Unix ms, UTC; not accepted at or after this */
	char lead[BUNDLE_ID_MAX];
	/* the signed text (NUL-terminated) and the payload exactly as received */
	char *text;
	size_t text_len;
	char *payload;
	size_t payload_len;
	uint8_t sig[64];
};

/** Who the station is and whom it trusts. */
struct bundle_trust {
	const char *keys_dir; /* "<lead>.pub" files */
	const char *site;
	const char *station;
};

/** @brief Scope name: "site" or "station". */
const char *bundle_scope_to_string(enum bundle_scope s);

/**
 * @brief Parse an envelope and its [bundle] header. The signature is not checked here.
 * @return 0 and *ret (bundle_free()); -EMSGSIZE larger than BUNDLE_PAYLOAD_MAX; -EBADMSG not
 *         an envelope (truncated, not JSON, fields missing or malformed) or a bad header;
 *         -ENOMEM. @p err names the problem.
 */
int bundle_parse(const void *payload, size_t len, enum bundle_scope scope, struct bundle **ret,
		 char *err, size_t errlen);

/**
 * @brief Check the signature, the scope and (when @p check_expiry) the expiry.
 * @return 0; -ENOKEY no "<lead>.pub" in the keys directory; -EKEYREJECTED the signature is
 *         not the lead's; -EACCES another site, or not for this station; -EKEYEXPIRED
 *         expired at @p now_ms; other -errno reading the key.
 */
int bundle_verify(const struct bundle *b, const struct bundle_trust *t, uint64_t now_ms,
		  bool check_expiry, char *err, size_t errlen);

/** @brief Free a bundle. Accepts NULL. */
void bundle_free(struct bundle *b);

/**
 * @brief Sign a bundle text (which must start with its [bundle] header) into an envelope.
 * @return 0 and *ret_json (NUL-terminated, free()); -EBADMSG the text is not a valid bundle
 *         (its header is checked like a station would); -ENOMEM; -EIO.
 */
int bundle_sign(const char *text, const struct sign_key *key, char **ret_json, char *err,
		size_t errlen);

/* ---- the station's store ------------------------------------------------------------- */

/** bundle_store_offer(): the bundle is the one in force already (a retained re-delivery). */
#define BUNDLE_SAME 1

struct bundle_store;

/**
 * Checks a verified bundle's content before it is kept (the station parses it as config).
 * @return 0, or a negative errno with the message in @p err.
 */
typedef int (*bundle_check_fn)(void *userdata, const struct bundle *b, char *err,
			       size_t errlen);

/**
 * @brief Open the store in @p dir: loads "bundle-site.json" and "bundle-station.json" when
 *        present and verifies them again (signature and scope; an expired one stays in force
 *        until a newer one arrives).
 * @param t borrowed, must outlive the store.
 * @param err receives a message when a stored bundle no longer verifies: the store opens
 *        without it, and the file is moved aside to "<name>.rejected" (kept, not deleted).
 * @return 0 and *ret; -ENOMEM; -errno reading the directory. A message in @p err with a 0
 *         return is a warning for the status.
 */
int bundle_store_open(const char *dir, const struct bundle_trust *t, struct bundle_store **ret,
		      char *err, size_t errlen);

/** @brief Free the store. Accepts NULL. */
void bundle_store_free(struct bundle_store *s);

/**
 * @brief A bundle arrived on a config topic: verify it, refuse a rollback, run @p check,
 *        and keep it (written to the directory, fsync'd) as the one in force for its scope.
 * @param ret_b receives the bundle now in force for the scope (borrowed from the store).
 * @return 0 accepted; BUNDLE_SAME already in force (nothing changes); -ESTALE an older
 *         version, or the same version with other content; the errors of bundle_parse(),
 *         bundle_verify() and @p check; -errno writing the file. @p err says why.
 */
int bundle_store_offer(struct bundle_store *s, enum bundle_scope scope, const void *payload,
		       size_t len, uint64_t now_ms, bundle_check_fn check, void *userdata,
		       const struct bundle **ret_b, char *err, size_t errlen);

/** @brief The bundle kept for @p scope, or NULL. Borrowed. */
const struct bundle *bundle_store_get(const struct bundle_store *s, enum bundle_scope scope);

/** @brief The bundle in force: the station's own, else the site's, else NULL. Borrowed. */
const struct bundle *bundle_store_effective(const struct bundle_store *s);

#endif
