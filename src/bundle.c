/* SPDX-License-Identifier: MIT */
/*
 * The leads' signed rules bundles. Why a text with a header and not JSON rules: the rules are
 * the station config's own sections, read by the same schema table (src/config.c), so a lead
 * writes them exactly as in station.conf and every key, range and default has one home. The
 * signature covers the text byte for byte: nothing is canonicalised, nothing re-encoded.
 */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hal/clock.h"
#include "src/bundle.h"
#include "src/durable.h"
#include "src/inifile.h"
#include "src/sign.h"

/** Path of a file in the store's directory. */
#define BUNDLE_PATH_MAX (PATH_MAX + 32)

static const char *const scope_names[_BUNDLE_SCOPE_MAX] = {
	[BUNDLE_SITE] = "site",
	[BUNDLE_STATION] = "station",
};

const char *bundle_scope_to_string(enum bundle_scope s)
{
	return (unsigned)s < _BUNDLE_SCOPE_MAX ? scope_names[s] : "?";
}

static bool id_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= BUNDLE_ID_MAX)
		return false;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (RFC 3339, UTC) into Unix ms. Strict: one text per instant. */
static int parse_utc(const char *v, uint64_t *ret)
{
	struct tm tm = { 0 };
	unsigned ms = 0;
	int n = 0, n2 = 0;
	time_t t;

	if (sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -EINVAL;
	if (v[n] == '.') {
		if (sscanf(v + n + 1, "%3u%n", &ms, &n2) != 1 || n2 != 3)
			return -EINVAL;
		n += 4;
	}
	if (strcmp(v + n, "Z") != 0)
		return -EINVAL;
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	{
		struct tm check = tm;

		t = timegm(&tm);
		/* timegm() normalises 31 February into March: refuse what it had to move */
		if (t == (time_t)-1 || tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon)
			return -EINVAL;
	}
	*ret = (uint64_t)t * 1000 + ms;
	return 0;
}

/* ---- the [bundle] header ------------------------------------------------------------- */

enum hkey { H_SCHEMA, H_SITE, H_STATIONS, H_VERSION, H_ISSUED, H_EXPIRES, H_LEAD, _H_MAX };

static const char *const hkey_names[_H_MAX] = {
	[H_SCHEMA] = "schema", [H_SITE] = "site",	[H_STATIONS] = "stations",
	[H_VERSION] = "version", [H_ISSUED] = "issued", [H_EXPIRES] = "expires",
	[H_LEAD] = "lead",
};

struct header_ctx {
	struct inifile in; /* first: on_section gets it back */
	struct bundle *b;
	unsigned seen[_H_MAX];
	unsigned n_headers; /* [bundle] sections */
	bool in_header;
	bool any_section;
};

static int header_section(struct inifile *f, const char *name)
{
	struct header_ctx *c = (struct header_ctx *)f;

	if (!c->any_section && strcmp(name, "bundle") != 0) {
		inifile_fail(f, f->line, "the text must start with its [bundle] header, not [%s]",
			     name);
		return -EINVAL;
	}
	c->any_section = true;
	c->in_header = strcmp(name, "bundle") == 0;
	if (c->in_header && ++c->n_headers > 1) {
		inifile_fail(f, f->line, "a second [bundle] header");
		return -EINVAL;
	}
	return 0;
}

static int parse_stations(struct header_ctx *c, const char *v)
{
	struct bundle *b = c->b;
	const char *p = v;

	if (strcmp(v, "*") == 0) {
		b->all_stations = true;
		return 0;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char id[BUNDLE_ID_MAX];

		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof(id)) {
			inifile_fail(&c->in, c->in.line, "stations: empty or over-long entry in '%s'", v);
			return -EINVAL;
		}
		memcpy(id, p, n);
		id[n] = '\0';
		if (!id_ok(id)) {
			inifile_fail(&c->in, c->in.line, "stations: '%s' is not a station ID", id);
			return -EINVAL;
		}
		if (b->n_stations >= BUNDLE_STATIONS_MAX) {
			inifile_fail(&c->in, c->in.line, "stations: more than %d", BUNDLE_STATIONS_MAX);
			return -EINVAL;
		}
		memcpy(b->stations[b->n_stations++], id, n + 1);
		if (!end)
			break;
		p = end + 1;
	}
	if (b->n_stations == 0) {
		inifile_fail(&c->in, c->in.line, "stations: '*' or a list of station IDs");
		return -EINVAL;
	}
	return 0;
}

static int header_key(struct header_ctx *c, enum hkey k, const char *v)
{
	struct bundle *b = c->b;
	char *end;

	switch (k) {
	case H_SCHEMA:
		if (strcmp(v, BUNDLE_SCHEMA) != 0) {
			inifile_fail(&c->in, c->in.line, "schema '%s': this station reads %s", v,
				     BUNDLE_SCHEMA);
			return -EINVAL;
		}
		return 0;
	case H_SITE:
	case H_LEAD:
		if (!id_ok(v)) {
			inifile_fail(&c->in, c->in.line, "%s '%s': 1 to 32 of letters, digits, '.', "
				     "'-', '_'", hkey_names[k], v);
			return -EINVAL;
		}
		snprintf(k == H_SITE ? b->site : b->lead, BUNDLE_ID_MAX, "%s", v);
		return 0;
	case H_STATIONS:
		return parse_stations(c, v);
	case H_VERSION:
		errno = 0;
		b->version = strtoull(v, &end, 10);
		if (errno || end == v || *end || *v == '-' || *v == '+' || b->version == 0) {
			inifile_fail(&c->in, c->in.line, "version '%s': a whole number from 1 up", v);
			return -EINVAL;
		}
		return 0;
	case H_ISSUED:
	case H_EXPIRES:
		if (parse_utc(v, k == H_ISSUED ? &b->issued_ms : &b->expires_ms) < 0) {
			inifile_fail(&c->in, c->in.line, "%s '%s': a UTC time like "
				     "2026-12-31T18:00:00Z", hkey_names[k], v);
			return -EINVAL;
		}
		return 0;
	case _H_MAX:
		break;
	}
	return -EINVAL;
}

static int header_handler(void *user, const char *section, const char *name, const char *value)
{
	struct header_ctx *c = user;

	(void)section;
	if (c->in.failed)
		return 0;
	if (!c->any_section) {
		inifile_fail(&c->in, c->in.line, "key '%s' before the [bundle] header", name);
		return 0;
	}
	if (!c->in_header)
		return 1; /* rules and catalogs: src/config.c reads them */
	for (int k = 0; k < _H_MAX; k++) {
		if (strcmp(name, hkey_names[k]) != 0)
			continue;
		if (c->seen[k]) {
			inifile_fail(&c->in, c->in.line, "duplicate key '%s' (first set on line %u)",
				     name, c->seen[k]);
			return 0;
		}
		c->seen[k] = c->in.line;
		return header_key(c, (enum hkey)k, value) < 0 ? 0 : 1;
	}
	inifile_fail(&c->in, c->in.line, "unknown key '%s' in [bundle]", name);
	return 0;
}

static int parse_header(struct bundle *b, const char *name, char *err, size_t errlen)
{
	struct header_ctx c = {
		.in = { .path = name, .err = err, .errlen = errlen, .on_section = header_section,
			.data = b->text, .len = b->text_len },
		.b = b,
	};

	if (inifile_parse(&c.in, header_handler, &c) < 0)
		return -EBADMSG;
	if (!c.n_headers) {
		snprintf(err, errlen, "%s: no [bundle] header", name);
		return -EBADMSG;
	}
	for (int k = 0; k < _H_MAX; k++) {
		if (!c.seen[k]) {
			snprintf(err, errlen, "%s: [bundle] is missing '%s'", name, hkey_names[k]);
			return -EBADMSG;
		}
	}
	if (b->expires_ms <= b->issued_ms) {
		snprintf(err, errlen, "%s: expires is not after issued", name);
		return -EBADMSG;
	}
	return 0;
}

/* ---- envelope ------------------------------------------------------------------------ */

void bundle_free(struct bundle *b)
{
	if (!b)
		return;
	free(b->text);
	free(b->payload);
	free(b);
}

int bundle_parse(const void *payload, size_t len, enum bundle_scope scope, struct bundle **ret,
		 char *err, size_t errlen)
{
	const char *where = bundle_scope_to_string(scope);
	struct bundle *b = NULL;
	cJSON *root = NULL;
	const cJSON *schema, *text, *sig;
	char name[BUNDLE_NAME_MAX];
	int r = -EBADMSG;

	if ((unsigned)scope >= _BUNDLE_SCOPE_MAX || (!payload && len))
		return -EINVAL;
	if (len > BUNDLE_PAYLOAD_MAX) {
		snprintf(err, errlen, "%s bundle: %zu bytes, larger than the %d accepted", where, len,
			 BUNDLE_PAYLOAD_MAX);
		return -EMSGSIZE;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->scope = scope;
	b->payload = malloc(len + 1);
	if (!b->payload) {
		r = -ENOMEM;
		goto err;
	}
	if (len)
		memcpy(b->payload, payload, len);
	b->payload[len] = '\0';
	b->payload_len = len;
	if (memchr(b->payload, '\0', len)) {
		snprintf(err, errlen, "%s bundle: a NUL byte in the payload", where);
		goto err;
	}
	root = cJSON_ParseWithOpts(b->payload, NULL, true);
	if (!root || !cJSON_IsObject(root)) {
		snprintf(err, errlen, "%s bundle: not a JSON envelope (%zu bytes; truncated?)", where,
			 len);
		goto err;
	}
	schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
	text = cJSON_GetObjectItemCaseSensitive(root, "bundle");
	sig = cJSON_GetObjectItemCaseSensitive(root, "sig");
	if (!cJSON_IsString(schema) || strcmp(schema->valuestring, BUNDLE_SCHEMA) != 0) {
		snprintf(err, errlen, "%s bundle: envelope schema is not \"%s\"", where,
			 BUNDLE_SCHEMA);
		goto err;
	}
	if (!cJSON_IsString(text) || !cJSON_IsString(sig)) {
		snprintf(err, errlen, "%s bundle: envelope needs string fields \"bundle\" and "
			 "\"sig\"", where);
		goto err;
	}
	if (sign_b64_decode(sig->valuestring, b->sig, sizeof(b->sig)) < 0) {
		snprintf(err, errlen, "%s bundle: \"sig\" is not the base64 of a 64-byte "
			 "signature", where);
		goto err;
	}
	b->text = strdup(text->valuestring);
	if (!b->text) {
		r = -ENOMEM;
		goto err;
	}
	b->text_len = strlen(b->text);
	snprintf(name, sizeof(name), "%s bundle", where);
	r = parse_header(b, name, err, errlen);
	if (r < 0)
		goto err;
	snprintf(b->name, sizeof(b->name), "%s bundle %" PRIu64, where, b->version);
	cJSON_Delete(root);
	*ret = b;
	return 0;
err:
	cJSON_Delete(root);
	bundle_free(b);
	return r;
}

int bundle_verify(const struct bundle *b, const struct bundle_trust *t, uint64_t now_ms,
		  bool check_expiry, char *err, size_t errlen)
{
	char path[BUNDLE_PATH_MAX];
	uint8_t pub[SIGN_PUBKEY_BYTES];
	bool ours = b->all_stations;
	char when[40];
	int r;

	if (!t->keys_dir || !t->keys_dir[0]) {
		snprintf(err, errlen, "%s: no lead keys configured ([station] lead_keys_dir)",
			 b->name);
		return -ENOKEY;
	}
	snprintf(path, sizeof(path), "%s/%s.pub", t->keys_dir, b->lead);
	r = sign_pubkey_load(path, pub);
	if (r == -ENOENT) {
		snprintf(err, errlen, "%s: signed by lead '%s', who has no key here (%s)", b->name,
			 b->lead, path);
		return -ENOKEY;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s: lead key %s: %s", b->name, path, strerror(-r));
		return r;
	}
	r = sign_verify(pub, b->text, b->text_len, b->sig);
	if (r == -EBADMSG) {
		snprintf(err, errlen, "%s: the signature is not lead '%s''s (forged, altered or "
			 "signed with another key)", b->name, b->lead);
		return -EKEYREJECTED;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s: signature check failed: %s", b->name, strerror(-r));
		return r;
	}
	if (strcmp(b->site, t->site) != 0) {
		snprintf(err, errlen, "%s: for site '%s', this is site '%s'", b->name, b->site,
			 t->site);
		return -EACCES;
	}
	for (unsigned i = 0; i < b->n_stations && !ours; i++)
		ours = strcmp(b->stations[i], t->station) == 0;
	if (!ours) {
		snprintf(err, errlen, "%s: not for station '%s' (stations = %s%s)", b->name,
			 t->station, b->stations[0], b->n_stations > 1 ? ", ..." : "");
		return -EACCES;
	}
	if (check_expiry && now_ms >= b->expires_ms) {
		if (clock_format_rfc3339(b->expires_ms, when, sizeof(when)) < 0)
			snprintf(when, sizeof(when), "%" PRIu64 " ms", b->expires_ms);
		snprintf(err, errlen, "%s: expired at %s", b->name, when);
		return -EKEYEXPIRED;
	}
	return 0;
}

int bundle_sign(const char *text, const struct sign_key *key, char **ret_json, char *err,
		size_t errlen)
{
	struct bundle b = { .text = (char *)text, .text_len = strlen(text) };
	char sig_b64[SIGN_SIG_B64_MAX];
	cJSON *root;
	char *json;
	int r;

	r = parse_header(&b, "bundle", err, errlen);
	if (r < 0)
		return r;
	r = sign_key_sign(key, text, b.text_len, b.sig);
	if (r == 0)
		r = sign_b64_encode(b.sig, sizeof(b.sig), sig_b64, sizeof(sig_b64));
	if (r < 0) {
		snprintf(err, errlen, "signing failed: %s", strerror(-r));
		return -EIO;
	}
	root = cJSON_CreateObject();
	if (!root || !cJSON_AddStringToObject(root, "schema", BUNDLE_SCHEMA) ||
	    !cJSON_AddStringToObject(root, "bundle", text) ||
	    !cJSON_AddStringToObject(root, "sig", sig_b64)) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!json)
		return -ENOMEM;
	if (strlen(json) > BUNDLE_PAYLOAD_MAX) {
		snprintf(err, errlen, "the signed bundle is %zu bytes, larger than the %d a station "
			 "accepts", strlen(json), BUNDLE_PAYLOAD_MAX);
		cJSON_free(json);
		return -EMSGSIZE;
	}
	/* cJSON's allocator is malloc (we never install hooks): free() works on it */
	*ret_json = json;
	return 0;
}

/* ---- the store ----------------------------------------------------------------------- */

/** Mode of the kept bundle files: they are signed public data. */
#define BUNDLE_FILE_MODE 0644

struct bundle_store {
	char dir[PATH_MAX];
	const struct bundle_trust *trust;
	struct bundle *b[_BUNDLE_SCOPE_MAX];
};

static int store_path(const struct bundle_store *s, enum bundle_scope scope, const char *suffix,
		      char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/bundle-%s.json%s", s->dir, scope_names[scope],
			     suffix) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Read a kept bundle file whole (bounded: nothing larger was ever kept). */
static int read_file(const char *path, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf;
	int r;

	if (fd < 0)
		return -errno;
	buf = malloc(BUNDLE_PAYLOAD_MAX);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	r = durable_read_bounded(fd, buf, BUNDLE_PAYLOAD_MAX, ret_len);
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}

/* Forget the bundle of @p scope; its file is moved aside to "<name>.rejected" (kept). */
static void bundle_store_drop(struct bundle_store *s, enum bundle_scope scope)
{
	char path[BUNDLE_PATH_MAX], aside[BUNDLE_PATH_MAX];

	if (!s || (unsigned)scope >= _BUNDLE_SCOPE_MAX)
		return;
	bundle_free(s->b[scope]);
	s->b[scope] = NULL;
	if (store_path(s, scope, "", path, sizeof(path)) < 0 ||
	    store_path(s, scope, ".rejected", aside, sizeof(aside)) < 0)
		return;
	if (rename(path, aside) == 0)
		durable_sync_parent(path);
}

int bundle_store_open(const char *dir, const struct bundle_trust *t, struct bundle_store **ret,
		      char *err, size_t errlen)
{
	struct bundle_store *s;
	char path[BUNDLE_PATH_MAX];
	char msg[BUNDLE_ERR_MAX];

	if (strlen(dir) >= sizeof(s->dir))
		return -ENAMETOOLONG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->trust = t;
	if (errlen)
		err[0] = '\0';
	for (int sc = 0; sc < _BUNDLE_SCOPE_MAX; sc++) {
		struct bundle *b = NULL;
		char *data = NULL;
		size_t len = 0;
		int r;

		r = store_path(s, (enum bundle_scope)sc, "", path, sizeof(path));
		if (r == 0)
			r = read_file(path, &data, &len);
		if (r == -ENOENT)
			continue;
		if (r == 0)
			r = bundle_parse(data, len, (enum bundle_scope)sc, &b, msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "cannot read it: %s", strerror(-r));
		free(data);
		/* an expired bundle stays in force until a newer one comes: falling back to older
		 * rules by the calendar would be a silent change */
		if (r == 0)
			r = bundle_verify(b, t, 0, false, msg, sizeof(msg));
		if (r == -ENOMEM) {
			bundle_free(b);
			bundle_store_free(s);
			return r;
		}
		if (r < 0) {
			bundle_free(b);
			if (!err[0] && errlen)
				snprintf(err, errlen, "kept %s bundle %s no longer verifies, moved aside "
					 "to %s.rejected: %s", scope_names[sc], path, path, msg);
			bundle_store_drop(s, (enum bundle_scope)sc);
			continue;
		}
		s->b[sc] = b;
	}
	*ret = s;
	return 0;
}

void bundle_store_free(struct bundle_store *s)
{
	if (!s)
		return;
	for (int sc = 0; sc < _BUNDLE_SCOPE_MAX; sc++)
		bundle_free(s->b[sc]);
	free(s);
}

int bundle_store_offer(struct bundle_store *s, enum bundle_scope scope, const void *payload,
		       size_t len, uint64_t now_ms, bundle_check_fn check, void *userdata,
		       const struct bundle **ret_b, char *err, size_t errlen)
{
	const struct bundle *cur;
	struct bundle *b = NULL;
	char path[BUNDLE_PATH_MAX];
	int r;

	if ((unsigned)scope >= _BUNDLE_SCOPE_MAX)
		return -EINVAL;
	cur = s->b[scope];
	/* a retained re-delivery of the bundle in force, byte for byte: nothing to do */
	if (cur && cur->payload_len == len && memcmp(cur->payload, payload, len) == 0) {
		if (ret_b)
			*ret_b = cur;
		return BUNDLE_SAME;
	}
	r = bundle_parse(payload, len, scope, &b, err, errlen);
	if (r == 0)
		r = bundle_verify(b, s->trust, now_ms, true, err, errlen);
	if (r == 0 && cur && b->version <= cur->version) {
		if (b->version < cur->version)
			snprintf(err, errlen, "%s: rolled back (version %" PRIu64 " is in force)",
				 b->name, cur->version);
		else
			snprintf(err, errlen, "%s: version %" PRIu64 " is in force with other "
				 "content; a new bundle needs a higher version", b->name, cur->version);
		r = -ESTALE;
	}
	if (r == 0 && check)
		r = check(userdata, b, err, errlen);
	if (r == 0)
		r = store_path(s, scope, "", path, sizeof(path));
	if (r == 0) {
		r = durable_write_file(path, b->payload, b->payload_len, BUNDLE_FILE_MODE, true);
		if (r < 0)
			snprintf(err, errlen, "%s: cannot keep it in %s: %s", b->name, path,
				 strerror(-r));
	}
	if (r < 0) {
		bundle_free(b);
		return r;
	}
	bundle_free(s->b[scope]);
	s->b[scope] = b;
	if (ret_b)
		*ret_b = b;
	return 0;
}

const struct bundle *bundle_store_get(const struct bundle_store *s, enum bundle_scope scope)
{
	return s && (unsigned)scope < _BUNDLE_SCOPE_MAX ? s->b[scope] : NULL;
}

const struct bundle *bundle_store_effective(const struct bundle_store *s)
{
	if (!s)
		return NULL;
	return s->b[BUNDLE_STATION] ? s->b[BUNDLE_STATION] : s->b[BUNDLE_SITE];
}
