/* SPDX-License-Identifier: MIT */
/*
 * Configuration loading. Why tables: every key the daemon accepts is listed exactly once below
 * with its type, range, default and whether it is required, so "unknown key", "wrong type",
 * "missing key" and the defaults all come from one place (STYLE 1), and the README's key
 * reference can be checked against it.
 *
 * inih does the lexing. Our reader wraps fgets to count lines, so every error names
 * "file:line" (inih only reports the line of the first handler failure, and the board file's
 * device lines are needed again later, when opening a device fails).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/config.h"
#include "src/dimweight.h"
#include "src/inifile.h"

enum ctype {
	T_STR,     /* char[size] */
	T_UINT,    /* unsigned */
	T_U64,     /* uint64_t */
	T_I64,     /* int64_t */
	T_INT,     /* int (GPIO line numbers, -1 = unused) */
	T_BOOL,    /* bool: true/false, yes/no, on/off, 1/0 */
	T_POLICY,  /* enum policy: warn | block */
	T_LIST,    /* char[CONFIG_LIST_MAX][PKG_ID_MAX] + unsigned count at off2 */
	T_CAMFMT,  /* enum camera_format: yuyv | mjpeg */
	T_BACKEND, /* char[size], must name a compiled-in backend of the class */
	T_DIMS,    /* "LxWxH" in mm into three uint32_t at off, off+4, off+8 */
};

struct key_schema {
	const char *section; /* NULL for the board file (flat keys) */
	const char *key;
	enum ctype type;
	bool required;
	size_t off;
	size_t size;  /* T_STR/T_BACKEND: buffer size */
	size_t off2;  /* T_LIST: offset of the count */
	int64_t min, max;
	const char *dflt; /* default as text, NULL = none */
	bool (*exists)(const char *name); /* T_BACKEND */
};

#define FLD(type, member) offsetof(type, member), sizeof(((type *)0)->member)

/* ---- board file ------------------------------------------------------------------------ */

#define B(key, t, req, member, mn, mx, d)                                                       \
	{ NULL, key, t, req, FLD(struct board_cfg, member), 0, mn, mx, d, NULL }
#define BB(key, member, fn)                                                                     \
	{ NULL, key, T_BACKEND, true, FLD(struct board_cfg, member), 0, 0, 0, NULL, fn }
/* an optional class: "" (the default) means the board has none */
#define BO(key, member, fn)                                                                     \
	{ NULL, key, T_BACKEND, false, FLD(struct board_cfg, member), 0, 0, 0, "", fn }

static const struct key_schema board_schema[] = {
	BB("scale.backend", scale.backend, scale_backend_exists),
	/* not required: a USB HID scale is found by its usage page, not a path */
	B("scale.device", T_STR, false, scale.device, 0, 0, ""),
	B("scale.baud", T_UINT, false, scale.baud, 0, 4000000, "0"),
	B("scale.serial", T_STR, false, scale.serial, 0, 0, ""),
	B("scale.poll_ms", T_UINT, false, scale.poll_ms, 0, 60000, "0"),
	B("scale.stable_band_g", T_UINT, false, scale.stable_band_g, 0, 100000, "0"),
	B("scale.stable_ms", T_UINT, false, scale.stable_ms, 0, 60000, "0"),
	B("scale.usb_vid", T_UINT, false, scale.usb_vid, 0, 65535, "0"),
	B("scale.usb_pid", T_UINT, false, scale.usb_pid, 0, 65535, "0"),
	BB("scanner.backend", scanner.backend, scanner_backend_exists),
	B("scanner.device", T_STR, true, scanner.device, 0, 0, NULL),
	B("scanner.baud", T_UINT, false, scanner.baud, 0, 4000000, "0"),
	B("scanner.ctrl_map", T_STR, false, scanner.ctrl_map, 0, 0, ""),
	B("scanner.fkeys", T_STR, false, scanner.fkeys, 0, 0, ""),
	B("scanner.aim", T_STR, false, scanner.aim, 0, 0, ""),
	B("scanner.terminator", T_STR, false, scanner.terminator, 0, 0, ""),
	B("scanner.key_timeout_ms", T_UINT, false, scanner.key_timeout_ms, 0, 60000, "0"),
	B("scanner.gap_ms", T_UINT, false, scanner.gap_ms, 0, 60000, "0"),
	B("scanner.serial", T_STR, false, scanner.serial, 0, 0, ""),
	BB("badge.backend", badge.backend, badge_backend_exists),
	/* not required: a Wiegand reader is two GPIO lines (badge.chip, badge.d0, badge.d1) */
	B("badge.device", T_STR, false, badge.device, 0, 0, ""),
	B("badge.chip", T_STR, false, badge.chip, 0, 0, ""),
	B("badge.d0", T_INT, false, badge.d0, -1, 1023, "-1"),
	B("badge.d1", T_INT, false, badge.d1, -1, 1023, "-1"),
	B("badge.gap_ms", T_UINT, false, badge.gap_ms, 0, 1000, "0"),
	B("badge.formats", T_STR, false, badge.formats, 0, 0, ""),
	B("badge.key_timeout_ms", T_UINT, false, badge.key_timeout_ms, 0, 60000, "0"),
	BB("camera.backend", camera.backend, camera_backend_exists),
	B("camera.device", T_STR, false, camera.device, 0, 0, ""),
	B("camera.format", T_CAMFMT, false, camera.format, 0, 0, "yuyv"),
	B("camera.width", T_UINT, false, camera.width, 16, 8192, "1280"),
	B("camera.height", T_UINT, false, camera.height, 16, 8192, "720"),
	B("camera.quality", T_UINT, false, camera.jpeg_quality, 1, 100, "85"),
	B("camera.warmup", T_UINT, false, camera.warmup_frames, 0, 120, "0"),
	B("camera.timeout_ms", T_UINT, false, camera.timeout_ms, 100, 60000, "4000"),
	BB("lights.backend", lights.backend, lights_backend_exists),
	B("lights.device", T_STR, false, lights.device, 0, 0, ""),
	B("lights.active_low", T_BOOL, false, lights.active_low, 0, 0, "false"),
	B("lights.red", T_INT, false, lights.red, -1, 1023, "-1"),
	B("lights.amber", T_INT, false, lights.amber, -1, 1023, "-1"),
	B("lights.green", T_INT, false, lights.green, -1, 1023, "-1"),
	B("lights.buzzer", T_INT, false, lights.buzzer, -1, 1023, "-1"),
	B("lights.chip", T_STR, false, lights.chip, 0, 0, ""),
	BO("trigger.backend", trigger.backend, trigger_backend_exists),
	B("trigger.device", T_STR, false, trigger.device, 0, 0, ""),
	B("trigger.chip", T_STR, false, trigger.chip, 0, 0, ""),
	B("trigger.line", T_INT, false, trigger.line, -1, 1023, "-1"),
	B("trigger.active_low", T_BOOL, false, trigger.active_low, 0, 0, "false"),
	B("trigger.pull_up", T_BOOL, false, trigger.pull_up, 0, 0, "false"),
	B("trigger.debounce_ms", T_UINT, false, trigger.debounce_ms, 0, 1000, "20"),
};

/* ---- station config -------------------------------------------------------------------- */

#define S(sec, key, t, req, member, mn, mx, d)                                                  \
	{ sec, key, t, req, FLD(struct station_cfg, member), 0, mn, mx, d, NULL }
#define SL(sec, key, member, count)                                                             \
	{ sec, key, T_LIST, false, FLD(struct station_cfg, member),                             \
	  offsetof(struct station_cfg, count), 0, 0, "", NULL }

static const struct key_schema station_schema[] = {
	S("station", "site", T_STR, true, site, 0, 0, NULL),
	S("station", "id", T_STR, true, station, 0, 0, NULL),
	S("station", "data_dir", T_STR, false, data_dir, 0, 0, "/var/lib/sealbench"),
	S("station", "dimweight_file", T_STR, false, dimweight_file, 0, 0, ""),
	S("station", "key_path", T_STR, false, key_path, 0, 0, ""),
	S("station", "lead_keys_dir", T_STR, false, lead_keys_dir, 0, 0, ""),
	S("station", "session_idle_s", T_UINT, false, session_idle_s, 10, 86400, "900"),
	S("station", "package_timeout_s", T_UINT, false, package_timeout_s, 10, 86400, "300"),
	S("station", "order_timeout_ms", T_UINT, false, order_timeout_ms, 50, 60000, "1500"),
	S("station", "photo_timeout_ms", T_UINT, false, photo_timeout_ms, 100, 60000, "5000"),
	S("station", "weigh_min_g", T_UINT, false, weigh_min_g, 1, 100000, "20"),
	S("mqtt", "host", T_STR, false, mqtt_host, 0, 0, "127.0.0.1"),
	S("mqtt", "port", T_UINT, false, mqtt_port, 1, 65535, "1883"),
	S("mqtt", "keepalive_s", T_UINT, false, mqtt_keepalive_s, 5, 3600, "30"),
	S("mqtt", "chunk_size", T_UINT, false, mqtt_chunk_size, 1024, 16777216, "65536"),
	S("mqtt", "inflight", T_UINT, false, mqtt_inflight, 1, 1000, "16"),
	S("mqtt", "ack_timeout_s", T_UINT, false, mqtt_ack_timeout_s, 1, 86400, "60"),
	S("mqtt", "tls_ca", T_STR, false, mqtt_tls_ca, 0, 0, ""),
	S("mqtt", "tls_cert", T_STR, false, mqtt_tls_cert, 0, 0, ""),
	S("mqtt", "tls_key", T_STR, false, mqtt_tls_key, 0, 0, ""),
	S("outbox", "quota_mb", T_U64, false, outbox_quota_mb, 1, 1048576, "512"),
	S("outbox", "photo_retention_days", T_UINT, false, photo_retention_days, 0, 3650, "30"),
	S("rules", "version", T_STR, true, rules.version, 0, 0, NULL),
	S("rules", "signature_threshold_cents", T_I64, false, rules.signature_threshold_cents, 0,
	  INT64_MAX, "0"),
	S("rules", "high_value_cents", T_I64, false, rules.high_value_cents, 0, INT64_MAX, "0"),
	S("rules", "photo_always", T_BOOL, false, rules.photo_always, 0, 0, "false"),
	S("rules", "photo_high_value", T_BOOL, false, rules.photo_high_value, 0, 0, "true"),
	SL("rules", "fragile_skus", rules.fragile_skus, rules.n_fragile_skus),
	SL("rules", "repeat_loss_lanes", rules.repeat_loss_lanes, rules.n_repeat_loss_lanes),
	S("rules", "weight_tolerance_pct", T_UINT, false, rules.weight_tolerance_pct, 0, 100, "10"),
	S("rules", "weight_tolerance_min_g", T_UINT, false, rules.weight_tolerance_min_g, 0, 100000,
	  "50"),
	S("rules", "weight_policy", T_POLICY, false, rules.weight_policy, 0, 0, "warn"),
	S("rules", "address_policy", T_POLICY, false, rules.address_policy, 0, 0, "warn"),
	SL("rules", "lead_badges", rules.lead_badges, rules.n_lead_badges),
	S("rules", "dim_divisor", T_UINT, false, rules.dim_divisor, 0, 1000000, "5000"),
	S("rules", "label_charset", T_STR, false, rules.label_charset_src, 0, 0, "latin1"),
	S("scan", "order_pattern", T_STR, false, order_pattern_src, 0, 0, "^ORD-[0-9A-Z-]+$"),
	S("scan", "box_pattern", T_STR, false, box_pattern_src, 0, 0, "^BOX-[0-9A-Z-]+$"),
	S("scan", "void_code", T_STR, false, void_code, 0, 0, "CMD-VOID"),
	S("scan", "badge_out_code", T_STR, false, badge_out_code, 0, 0, "CMD-BADGEOUT"),
	S("scan", "reprint_code", T_STR, false, reprint_code, 0, 0, "CMD-REPRINT"),
	S("scan", "lead_override_code", T_STR, false, lead_override_code, 0, 0, "CMD-OVERRIDE"),
	S("scan", "badge_pattern", T_STR, false, badge_pattern_src, 0, 0, ""),
	S("station", "trigger_action", T_STR, false, trigger_action, 0, 0, "accept"),
};

/* Named-section schemas: offsets are relative to the instance struct. */
#define C(key, t, req, member, d)                                                               \
	{ "carrier", key, t, req, FLD(struct carrier_cfg, member), 0, 0, 0, d, NULL }
static const struct key_schema carrier_schema[] = {
	C("pattern", T_STR, true, pattern_src, NULL),
	{ "carrier", "signature_services", T_LIST, false, FLD(struct carrier_cfg, signature_services),
	  offsetof(struct carrier_cfg, n_signature_services), 0, 0, "", NULL },
};

#define X(key, t, req, member, mn, mx, d)                                                       \
	{ "box", key, t, req, FLD(struct box_cfg, member), 0, mn, mx, d, NULL }
static const struct key_schema box_schema[] = {
	X("type", T_STR, false, type, 0, 0, "carton"),
	X("dims_mm", T_DIMS, true, length_mm, 0, 0, NULL),
	X("tare_g", T_UINT, false, tare_g, 0, 1000000, "0"),
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/** Keys per table; all tables are far smaller. */
#define SCHEMA_KEYS_MAX 64

struct parse_ctx {
	struct inifile in; /* first: on_section gets it back as the context */
	/* the table and object currently being filled */
	const struct key_schema *schema;
	size_t n_schema;
	void *base;
	unsigned seen[SCHEMA_KEYS_MAX]; /* line where each key was set, 0 = not yet */
	/* station config only */
	unsigned global_seen[SCHEMA_KEYS_MAX]; /* seen[] of station_schema (plain sections) */
	struct station_cfg *st;
	char section[PKG_ID_MAX * 2];
	bool overlay;      /* reading a rules bundle: only [rules], [carrier], [box] */
	bool skip_section; /* overlay: the [bundle] header, read by src/bundle.c */
	/* board only */
	struct board_cfg *board;
};

static bool parse_i64(const char *v, int64_t *ret)
{
	char *end;
	long long x;

	errno = 0;
	/* decimal, or hexadecimal with 0x (USB vendor/product IDs are written that way) */
	x = strtoll(v, &end, (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? 16 : 10);
	if (errno || end == v || *end)
		return false;
	*ret = x;
	return true;
}

static bool parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return true;
		}
	}
	return false;
}

static int parse_list(struct parse_ctx *c, const char *key, const char *v, char (*items)[PKG_ID_MAX],
		      unsigned *count)
{
	const char *p = v;

	/* Appends: a list may continue on indented lines or on a repeated key (inih's line
	 * buffer is ~200 characters, shorter than a long SKU list). */
	while (*p) {
		const char *start, *end;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		n = (size_t)(end - start);
		if (n >= PKG_ID_MAX) {
			inifile_fail(&c->in, c->in.line, "%s: list item '%.*s' longer than %d characters", key, (int)n,
			     start, PKG_ID_MAX - 1);
			return -EINVAL;
		}
		if (*count >= CONFIG_LIST_MAX) {
			inifile_fail(&c->in, c->in.line, "%s: more than %d list items", key, CONFIG_LIST_MAX);
			return -EINVAL;
		}
		memcpy(items[*count], start, n);
		items[*count][n] = '\0';
		(*count)++;
	}
	return 0;
}

static int set_value(struct parse_ctx *c, const struct key_schema *k, void *base, const char *v)
{
	char *dst = (char *)base + k->off;
	int64_t x;

	switch (k->type) {
	case T_STR:
	case T_BACKEND:
		if (strlen(v) >= k->size) {
			inifile_fail(&c->in, c->in.line, "%s: value longer than %zu characters", k->key, k->size - 1);
			return -EINVAL;
		}
		if (k->type == T_BACKEND && *v && !k->exists(v)) {
			inifile_fail(&c->in, c->in.line, "%s: no backend named '%s' in this build", k->key, v);
			return -EINVAL;
		}
		memcpy(dst, v, strlen(v) + 1);
		return 0;
	case T_UINT:
	case T_U64:
	case T_I64:
	case T_INT:
		if (!parse_i64(v, &x)) {
			inifile_fail(&c->in, c->in.line, "%s: '%s' is not an integer", k->key, v);
			return -EINVAL;
		}
		if ((k->min || k->max) && (x < k->min || x > k->max)) {
			inifile_fail(&c->in, c->in.line, "%s: %" PRId64 " is out of range %" PRId64 "..%" PRId64, k->key,
			     x, k->min, k->max);
			return -EINVAL;
		}
		if (k->type != T_INT && k->type != T_I64 && x < 0) {
			inifile_fail(&c->in, c->in.line, "%s: '%s' must not be negative", k->key, v);
			return -EINVAL;
		}
		if (k->type == T_UINT)
			*(unsigned *)dst = (unsigned)x;
		else if (k->type == T_U64)
			*(uint64_t *)dst = (uint64_t)x;
		else if (k->type == T_I64)
			*(int64_t *)dst = x;
		else
			*(int *)dst = (int)x;
		return 0;
	case T_BOOL:
		if (!parse_bool(v, (bool *)dst)) {
			inifile_fail(&c->in, c->in.line, "%s: '%s' is not a boolean (true/false)", k->key, v);
			return -EINVAL;
		}
		return 0;
	case T_POLICY:
		if (strcmp(v, "warn") == 0)
			*(enum policy *)dst = POLICY_WARN;
		else if (strcmp(v, "block") == 0)
			*(enum policy *)dst = POLICY_BLOCK;
		else {
			inifile_fail(&c->in, c->in.line, "%s: '%s' is not a policy (warn, block)", k->key, v);
			return -EINVAL;
		}
		return 0;
	case T_CAMFMT: {
		enum camera_format f = camera_format_from_string(v);

		if (f == _CAMERA_FMT_INVALID) {
			inifile_fail(&c->in, c->in.line, "%s: '%s' is not a camera format (yuyv, mjpeg)", k->key, v);
			return -EINVAL;
		}
		*(enum camera_format *)dst = f;
		return 0;
	}
	case T_LIST:
		return parse_list(c, k->key, v, (char(*)[PKG_ID_MAX])dst,
				  (unsigned *)((char *)base + k->off2));
	case T_DIMS: {
		unsigned l, w, h;
		char tail;

		if (sscanf(v, "%ux%ux%u%c", &l, &w, &h, &tail) != 3 || !l || !w || !h ||
		    l > 10000 || w > 10000 || h > 10000) {
			inifile_fail(&c->in, c->in.line, "%s: '%s' is not LxWxH in millimetres (e.g. 300x200x150)",
			     k->key, v);
			return -EINVAL;
		}
		((uint32_t *)dst)[0] = l;
		((uint32_t *)dst)[1] = w;
		((uint32_t *)dst)[2] = h;
		return 0;
	}
	}
	return -EINVAL;
}

/* Apply defaults and check required keys of the current table. */
static int finish_table(struct parse_ctx *c, const char *where)
{
	unsigned saved = c->in.line;

	for (size_t i = 0; i < c->n_schema; i++) {
		const struct key_schema *k = &c->schema[i];

		if (c->seen[i])
			continue;
		if (k->required) {
			if (k->section && where)
				inifile_fail(&c->in, 0, "[%s]: missing required key '%s'", where, k->key);
			else
				inifile_fail(&c->in, 0, "missing required key '%s'", k->key);
			return -EINVAL;
		}
		if (k->dflt) {
			c->in.line = 0;
			if (set_value(c, k, c->base, k->dflt) < 0)
				return -EINVAL;
		}
	}
	c->in.line = saved;
	memset(c->seen, 0, sizeof(c->seen));
	return 0;
}

static int set_key(struct parse_ctx *c, const char *section, const char *name, const char *value)
{
	for (size_t i = 0; i < c->n_schema; i++) {
		const struct key_schema *k = &c->schema[i];

		if (strcmp(k->key, name) != 0)
			continue;
		if (c->seen[i] && k->type != T_LIST) {
			inifile_fail(&c->in, c->in.line, "duplicate key '%s' (first set on line %u)", name, c->seen[i]);
			return -EINVAL;
		}
		if (!c->seen[i])
			c->seen[i] = c->in.line;
		return set_value(c, k, c->base, value);
	}
	if (section && *section)
		inifile_fail(&c->in, c->in.line, "unknown key '%s' in [%s]", name, section);
	else
		inifile_fail(&c->in, c->in.line, "unknown key '%s'", name);
	return -EINVAL;
}

/* ---- board ----------------------------------------------------------------------------- */

static int board_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	struct board_cfg *b = c->board;

	if (c->in.failed)
		return 0;
	(void)section; /* the reader refuses section headers in board files */
	if (set_key(c, NULL, name, value) < 0)
		return 0;
	if (strcmp(name, "scale.device") == 0 ||
	    (strcmp(name, "scale.backend") == 0 && !b->scale_line))
		b->scale_line = c->in.line;
	else if (strcmp(name, "scanner.device") == 0)
		b->scanner_line = c->in.line;
	else if (strcmp(name, "badge.device") == 0)
		b->badge_line = c->in.line;
	else if (strcmp(name, "camera.device") == 0)
		b->camera_line = c->in.line;
	else if (strcmp(name, "lights.device") == 0)
		b->lights_line = c->in.line;
	else if (strcmp(name, "trigger.device") == 0 || strcmp(name, "trigger.backend") == 0)
		b->trigger_line = b->trigger_line ? b->trigger_line : c->in.line;
	/* a class without a device key (Wiegand badge, GPIO lights) is named by its backend */
	else if (strcmp(name, "badge.backend") == 0 && !b->badge_line)
		b->badge_line = c->in.line;
	else if (strcmp(name, "lights.backend") == 0 && !b->lights_line)
		b->lights_line = c->in.line;
	else if (strcmp(name, "camera.backend") == 0 && !b->camera_line)
		b->camera_line = c->in.line;
	return 1;
}

static int resolve_path(struct parse_ctx *c, const char *key, char *path, size_t size,
			const char *dir)
{
	char buf[CONFIG_PATH_MAX * 2];

	if (!*path || path[0] == '/' || !dir)
		return 0;
	snprintf(buf, sizeof(buf), "%s/%s", dir, path);
	if (strlen(buf) >= size) {
		inifile_fail(&c->in, 0, "%s: resolved path '%s' is too long", key, buf);
		return -EINVAL;
	}
	memcpy(path, buf, strlen(buf) + 1);
	return 0;
}

int board_cfg_load(const char *path, const char *run_dir, struct board_cfg *ret, char *err,
		   size_t errlen)
{
	struct parse_ctx c = {
		.in = {.path = path, .err = err, .errlen = errlen, .no_sections = "board files"},
		.schema = board_schema,
		.n_schema = ARRAY_SIZE(board_schema),
	};
	struct board_cfg *b;
	char dir[CONFIG_PATH_MAX];
	int r;

	if (strlen(path) >= CONFIG_PATH_MAX) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	c.board = b;
	c.base = b;
	r = inifile_parse(&c.in, board_handler, &c);
	if (r == 0)
		r = finish_table(&c, NULL);
	if (r == 0) {
		const char *slash;

		if (run_dir) {
			snprintf(dir, sizeof(dir), "%s", run_dir);
		} else {
			slash = strrchr(path, '/');
			snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
				 slash ? path : ".");
		}
		r = resolve_path(&c, "scale.device", b->scale.device, SCALE_DEVICE_MAX, dir);
		r = r ?: resolve_path(&c, "scanner.device", b->scanner.device, SCANNER_DEVICE_MAX, dir);
		r = r ?: resolve_path(&c, "badge.device", b->badge.device, BADGE_DEVICE_MAX, dir);
		r = r ?: resolve_path(&c, "camera.device", b->camera.device, CAMERA_DEVICE_MAX, dir);
		r = r ?: resolve_path(&c, "lights.device", b->lights.device, LIGHTS_DEVICE_MAX, dir);
		r = r ?: resolve_path(&c, "trigger.device", b->trigger.device, TRIGGER_DEVICE_MAX,
				      dir);
	}
	if (r == 0 && !b->scale.device[0] && strcmp(b->scale.backend, "usbhid") != 0) {
		inifile_fail(&c.in, 0, "missing required key 'scale.device'");
		r = -EINVAL;
	}
	/* badge.device is optional only for a reader that is not a device node (Wiegand) */
	if (r == 0 && !b->badge.device[0] && strcmp(b->badge.backend, "wiegand") != 0) {
		inifile_fail(&c.in, 0, "missing required key 'badge.device'");
		r = -EINVAL;
	}
	/* the backends' own option checks, so a bad value stops the daemon here with a line */
	if (r == 0 && scanner_check_cfg(&b->scanner) < 0) {
		inifile_fail(&c.in, b->scanner_line,
		     "scanner (backend %s): invalid option (check scanner.ctrl_map, .fkeys, .aim, "
		     ".terminator, .serial)",
		     b->scanner.backend);
		r = -EINVAL;
	}
	if (r == 0 && badge_check_cfg(&b->badge) < 0) {
		inifile_fail(&c.in, b->badge_line,
		     "badge (backend %s): invalid option (wiegand needs badge.chip and distinct "
		     "badge.d0/badge.d1; check badge.formats)",
		     b->badge.backend);
		r = -EINVAL;
	}
	if (r == 0) {
		snprintf(b->path, sizeof(b->path), "%s", path);
		*ret = *b;
	}
	free(b);
	return r;
}

/* ---- station --------------------------------------------------------------------------- */

/*
 * What glibc's regcomp() would make of a pattern, roughly: it builds a token tree and copies a
 * repeated subexpression once per repetition, so stacked repetitions ("G+++...", which
 * fuzz_config found: 1.2 GB) or nested counts ("((a{60}){60}){60}") take gigabytes before it
 * returns. Scan patterns need neither. Refused: a repetition right after another, a count
 * above PATTERN_REPEAT_MAX, groups nested deeper than PATTERN_DEPTH_MAX, or more than
 * PATTERN_NODES_MAX atoms once the repetitions are written out. Syntax errors are left to
 * regcomp(), which names them. @return NULL (fine) or why the pattern is refused.
 */
#define PATTERN_REPEAT_MAX 64
#define PATTERN_DEPTH_MAX  16
#define PATTERN_NODES_MAX  4096

static const char *pattern_unsafe(const char *s)
{
	uint64_t size[PATTERN_DEPTH_MAX + 1] = { 0 }; /* atoms of each open group so far */
	uint64_t last = 0;			       /* atoms of what a repetition applies to */
	bool after_rep = false;
	int depth = 0;

	for (; *s; s++) {
		uint64_t atom = 1, times;
		unsigned long m, n;
		char *end;

		switch (*s) {
		case '\\':
			if (s[1])
				s++;
			break;
		case '[': /* a bracket expression is one atom: skip to its ']' */
			s++;
			if (*s == '^')
				s++;
			if (*s == ']')
				s++;
			while (*s && *s != ']') {
				if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
					char kind = s[1];

					for (s += 2; *s && !(*s == kind && s[1] == ']'); s++)
						;
					if (*s)
						s++;
				}
				if (*s)
					s++;
			}
			if (!*s)
				return NULL; /* unterminated: regcomp() says so */
			break;
		case '(':
			if (depth == PATTERN_DEPTH_MAX)
				return "groups nested too deeply";
			size[++depth] = 0;
			last = 0;
			after_rep = false;
			continue;
		case ')':
			if (depth > 0) {
				atom = size[depth] ? size[depth] : 1;
				depth--;
			}
			break;
		case '|':
			last = 0; /* the alternatives add up in the group's size */
			after_rep = false;
			continue;
		case '*':
		case '+':
		case '?':
		case '{':
			if (*s == '{') {
				m = strtoul(s + 1, &end, 10);
				if (end == s + 1)
					break; /* not a count: regcomp() decides */
				n = m;
				if (*end == ',')
					n = end[1] == '}' ? m + 1 : strtoul(end + 1, &end, 10);
				if (m > PATTERN_REPEAT_MAX || n > PATTERN_REPEAT_MAX)
					return "a repetition count above 64";
				times = (m > n ? m : n) + 1;
				end = strchr(s, '}');
				s = end ? end : s + strlen(s) - 1;
			} else {
				times = 2;
			}
			if (after_rep)
				return "a repetition of a repetition (write it once)";
			size[depth] += last * (times - 1);
			last *= times;
			after_rep = true;
			if (size[depth] > PATTERN_NODES_MAX)
				return "too large once its repetitions are written out";
			continue;
		default:
			break;
		}
		size[depth] += atom;
		last = atom;
		after_rep = false;
		if (size[depth] > PATTERN_NODES_MAX)
			return "too large once its repetitions are written out";
	}
	return NULL;
}

static int compile(struct parse_ctx *c, const char *what, const char *src, regex_t *re)
{
	const char *why;
	char msg[128];
	int r;

	if (!*src) {
		inifile_fail(&c->in, 0, "%s: empty pattern (it would match every scan)", what);
		return -EINVAL;
	}
	why = pattern_unsafe(src);
	if (why) {
		inifile_fail(&c->in, 0, "%s: regular expression '%s' refused: %s", what, src, why);
		return -EINVAL;
	}
	r = regcomp(re, src, REG_EXTENDED | REG_NOSUB);
	if (r) {
		regerror(r, re, msg, sizeof(msg));
		inifile_fail(&c->in, 0, "%s: bad regular expression '%s': %s", what, src, msg);
		return -EINVAL;
	}
	return 0;
}

/* Close the current section: defaults, required keys, compiled patterns. */
static int close_section(struct parse_ctx *c)
{
	struct station_cfg *st = c->st;

	if (!c->schema)
		return 0;
	if (finish_table(c, c->section) < 0)
		return -EINVAL;
	if (c->schema == carrier_schema) {
		struct carrier_cfg *cc = c->base;

		if (compile(c, cc->name, cc->pattern_src, &cc->pattern) < 0)
			return -EINVAL;
		st->n_carriers++;
	} else if (c->schema == box_schema) {
		st->n_boxes++;
	}
	c->schema = NULL;
	return 0;
}

static int open_section(struct parse_ctx *c, const char *section)
{
	struct station_cfg *st = c->st;
	const char *name;

	c->skip_section = false;
	if (c->overlay && strcmp(section, "bundle") == 0) {
		c->skip_section = true; /* its keys are src/bundle.c's */
		return 0;
	}
	if (c->overlay && strcmp(section, "rules") != 0 && strncmp(section, "carrier ", 8) != 0 &&
	    strncmp(section, "box ", 4) != 0) {
		inifile_fail(&c->in, c->in.line, "[%s] cannot be set by a rules bundle (only [rules], "
			     "[carrier NAME] and [box CODE]; the rest is the station's own config)",
			     section);
		return -EINVAL;
	}

	if (strncmp(section, "carrier ", 8) == 0 || strncmp(section, "box ", 4) == 0) {
		bool carrier = section[0] == 'c';

		name = section + (carrier ? 8 : 4);
		while (*name == ' ')
			name++;
		if (!*name || strlen(name) >= PKG_ID_MAX) {
			inifile_fail(&c->in, c->in.line, "[%s]: name missing or longer than %d", section,
			     PKG_ID_MAX - 1);
			return -EINVAL;
		}
		if (carrier) {
			if (st->n_carriers >= CONFIG_CARRIERS_MAX) {
				inifile_fail(&c->in, c->in.line, "more than %d [carrier] sections", CONFIG_CARRIERS_MAX);
				return -EINVAL;
			}
			for (unsigned i = 0; i < st->n_carriers; i++)
				if (strcmp(st->carriers[i].name, name) == 0) {
					inifile_fail(&c->in, c->in.line, "duplicate section [%s]", section);
					return -EINVAL;
				}
			c->base = &st->carriers[st->n_carriers];
			snprintf(st->carriers[st->n_carriers].name, PKG_ID_MAX, "%s", name);
			c->schema = carrier_schema;
			c->n_schema = ARRAY_SIZE(carrier_schema);
		} else {
			if (st->n_boxes >= CONFIG_BOXES_MAX) {
				inifile_fail(&c->in, c->in.line, "more than %d [box] sections", CONFIG_BOXES_MAX);
				return -EINVAL;
			}
			if (station_cfg_find_box(st, name)) {
				inifile_fail(&c->in, c->in.line, "duplicate section [%s]", section);
				return -EINVAL;
			}
			c->base = &st->boxes[st->n_boxes];
			snprintf(st->boxes[st->n_boxes].code, PKG_ID_MAX, "%s", name);
			c->schema = box_schema;
			c->n_schema = ARRAY_SIZE(box_schema);
		}
		return 0;
	}
	/* A plain section: keys come from station_schema filtered by section. Each plain section
	 * may appear once; its keys are checked when the whole file has been read. */
	for (size_t i = 0; i < ARRAY_SIZE(station_schema); i++) {
		if (strcmp(station_schema[i].section, section) == 0) {
			c->schema = NULL; /* handled by the global table */
			return 0;
		}
	}
	inifile_fail(&c->in, c->in.line, "unknown section [%s]", section);
	return -EINVAL;
}

static int station_section(struct inifile *f, const char *name)
{
	struct parse_ctx *c = (struct parse_ctx *)f;

	if (close_section(c) < 0 || open_section(c, name) < 0)
		return -EINVAL;
	snprintf(c->section, sizeof(c->section), "%s", name);
	return 0;
}

static int station_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;

	if (c->in.failed)
		return 0;
	if (!*section) {
		inifile_fail(&c->in, c->in.line, "key '%s' outside any section", name);
		return 0;
	}
	if (c->skip_section)
		return 1;
	if (c->schema) /* named catalog section */
		return set_key(c, section, name, value) < 0 ? 0 : 1;
	/* plain section: look up (section, key) in the global table */
	for (size_t i = 0; i < ARRAY_SIZE(station_schema); i++) {
		const struct key_schema *k = &station_schema[i];

		if (strcmp(k->section, section) || strcmp(k->key, name))
			continue;
		if (c->global_seen[i] && k->type != T_LIST) {
			inifile_fail(&c->in, c->in.line, "duplicate key '%s' (first set on line %u)", name,
			     c->global_seen[i]);
			return 0;
		}
		if (!c->global_seen[i])
			c->global_seen[i] = c->in.line;
		return set_value(c, k, c->st, value) < 0 ? 0 : 1;
	}
	inifile_fail(&c->in, c->in.line, "unknown key '%s' in [%s]", name, section);
	return 0;
}

/* The line a plain-section key was set on (0 when it took its default). */
static unsigned st_line(const struct parse_ctx *c, const char *section, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(station_schema); i++)
		if (!strcmp(station_schema[i].section, section) && !strcmp(station_schema[i].key, key))
			return c->global_seen[i];
	return 0;
}

/* Site and station IDs are parts of MQTT topics and of record IDs (record.h). */
static int check_id(struct parse_ctx *c, const char *key, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 32) {
		inifile_fail(&c->in, 0, "[station] %s '%s': must be 1 to 32 characters", key, v);
		return -EINVAL;
	}
	for (const char *p = v; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.')) {
			inifile_fail(&c->in, 0,
			     "[station] %s '%s': only letters, digits, '.', '-' and '_' (it is part of "
			     "MQTT topics and record IDs)",
			     key, v);
			return -EINVAL;
		}
	}
	return 0;
}

/* Resolve @p file (a [section] key's value) against the directory of the config file. */
static int resolve_against_config(struct parse_ctx *c, const char *key, char *file, size_t size)
{
	const char *slash = strrchr(c->in.path, '/');
	char buf[CONFIG_PATH_MAX * 2];

	if (!file[0] || file[0] == '/')
		return 0;
	snprintf(buf, sizeof(buf), "%.*s/%s", slash ? (int)(slash - c->in.path) : 1,
		 slash ? c->in.path : ".", file);
	if (strlen(buf) >= size) {
		inifile_fail(&c->in, 0, "%s: resolved path '%s' is too long", key, buf);
		return -EINVAL;
	}
	memcpy(file, buf, strlen(buf) + 1);
	return 0;
}

/* [mqtt] tls_*: a client certificate needs its key and the CA that checks the broker. */
static int check_tls(struct parse_ctx *c, struct station_cfg *st)
{
	int r;

	if (!st->mqtt_tls_cert[0] != !st->mqtt_tls_key[0]) {
		const char *set = st->mqtt_tls_cert[0] ? "tls_cert" : "tls_key";

		inifile_fail(&c->in, st_line(c, "mqtt", set), "%s is set but %s is not: a client certificate "
		     "needs its private key", set, st->mqtt_tls_cert[0] ? "tls_key" : "tls_cert");
		return -EINVAL;
	}
	if (st->mqtt_tls_cert[0] && !st->mqtt_tls_ca[0]) {
		inifile_fail(&c->in, st_line(c, "mqtt", "tls_cert"), "tls_cert needs tls_ca (the CA that signed "
		     "the broker's certificate)");
		return -EINVAL;
	}
	r = resolve_against_config(c, "tls_ca", st->mqtt_tls_ca, sizeof(st->mqtt_tls_ca));
	r = r ?: resolve_against_config(c, "tls_cert", st->mqtt_tls_cert, sizeof(st->mqtt_tls_cert));
	return r ?: resolve_against_config(c, "tls_key", st->mqtt_tls_key, sizeof(st->mqtt_tls_key));
}

/* Free what a half-built config holds: compiled patterns, the dim-weight table. regfree() of
 * a zeroed (never compiled) regex_t is a no-op. */
static void release(struct station_cfg *st)
{
	regfree(&st->order_pattern);
	regfree(&st->box_pattern);
	regfree(&st->badge_pattern);
	for (unsigned i = 0; i < st->n_carriers; i++)
		regfree(&st->carriers[i].pattern); /* compiled in close_section() */
	st->n_carriers = 0;
	dimweight_free(st->rules.dimweight);
	st->rules.dimweight = NULL;
}

/* Everything after the keys are read: IDs, patterns, enumerations, TLS paths, the dim-weight
 * data. @p path is the station config's path (relative files resolve against it); an overlay
 * (rules bundle) has its paths resolved already and no [mqtt] of its own. */
static int finish_station(struct parse_ctx *c, struct station_cfg *st, const char *path)
{
	int r = check_id(c, "id", st->station);

	if (r == 0)
		r = check_id(c, "site", st->site);
	if (r == 0 && compile(c, "[scan] order_pattern", st->order_pattern_src,
			      &st->order_pattern) < 0)
		r = -EINVAL;
	if (r == 0 &&
	    compile(c, "[scan] box_pattern", st->box_pattern_src, &st->box_pattern) < 0)
		r = -EINVAL;
	if (r == 0 && st->badge_pattern_src[0] &&
	    compile(c, "[scan] badge_pattern", st->badge_pattern_src, &st->badge_pattern) < 0)
		r = -EINVAL;
	if (r == 0 && strcmp(st->trigger_action, "none") != 0 &&
	    strcmp(st->trigger_action, "accept") != 0) {
		inifile_fail(&c->in, st_line(c, "station", "trigger_action"),
		     "trigger_action: '%s' is not one of none, accept", st->trigger_action);
		r = -EINVAL;
	}
	if (r == 0) {
		int cs = addr_charset_from_string(st->rules.label_charset_src);

		if (cs < 0) {
			inifile_fail(&c->in, st_line(c, "rules", "label_charset"),
			     "label_charset: '%s' is not one of ascii, latin1, cp1252",
			     st->rules.label_charset_src);
			r = -EINVAL;
		} else {
			st->rules.label_charset = (enum addr_charset)cs;
		}
	}
	if (r == 0 && !c->overlay)
		r = check_tls(c, st);
	if (r == 0 && !c->overlay)
		r = resolve_against_config(c, "lead_keys_dir", st->lead_keys_dir,
					   sizeof(st->lead_keys_dir));
	if (r == 0 && st->dimweight_file[0]) {
		char dwerr[CONFIG_ERR_MAX];

		if (!c->overlay)
			r = resolve_against_config(c, "dimweight_file", st->dimweight_file,
						   sizeof(st->dimweight_file));
		if (r == 0 && dimweight_load(st->dimweight_file, &st->rules.dimweight, dwerr,
					     sizeof(dwerr)) < 0) {
			/* the data file's own file:line message */
			snprintf(c->in.err, c->in.errlen, "%s (dimweight_file in %s)", dwerr, path);
			c->in.failed = true;
			r = -EINVAL;
		}
	}
	return r;
}

int station_cfg_load(const char *path, struct station_cfg *ret, char *err, size_t errlen)
{
	struct parse_ctx c = {
		.in = {.path = path, .err = err, .errlen = errlen, .on_section = station_section},
	};
	struct station_cfg *st;
	int r;

	if (strlen(path) >= CONFIG_PATH_MAX) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	c.st = st;
	/* Plain sections track their keys in global_seen[] over station_schema; catalog sections
	 * use seen[], reset per section. */
	r = inifile_parse(&c.in, station_handler, &c);
	if (r == 0)
		r = close_section(&c);
	if (r == 0) {
		memcpy(c.seen, c.global_seen, sizeof(c.seen));
		c.schema = station_schema;
		c.n_schema = ARRAY_SIZE(station_schema);
		c.base = st;
		r = finish_table(&c, NULL);
	}
	if (r == 0)
		r = finish_station(&c, st, path);
	if (r < 0) {
		release(st);
		free(st);
		return r;
	}
	snprintf(st->path, sizeof(st->path), "%s", path);
	st->compiled = true;
	*ret = *st;
	free(st);
	return 0;
}

void station_cfg_done(struct station_cfg *cfg)
{
	if (!cfg || !cfg->compiled)
		return;
	cfg->compiled = false;
	release(cfg);
}

int station_cfg_overlay(const struct station_cfg *base, const char *name, const char *text,
			size_t len, struct station_cfg *ret, char *err, size_t errlen)
{
	struct parse_ctx c = {
		.in = {.path = name, .err = err, .errlen = errlen, .on_section = station_section,
		       .data = text, .len = len},
		.overlay = true,
	};
	struct station_cfg *st;
	int r;

	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	/* the station's own settings stay; rules and catalogs come from the bundle alone, and
	 * nothing compiled is shared with @p base */
	memcpy(st, base, sizeof(*st));
	memset(&st->rules, 0, sizeof(st->rules));
	memset(st->carriers, 0, sizeof(st->carriers));
	memset(st->boxes, 0, sizeof(st->boxes));
	st->n_carriers = st->n_boxes = 0;
	memset(&st->order_pattern, 0, sizeof(st->order_pattern));
	memset(&st->box_pattern, 0, sizeof(st->box_pattern));
	memset(&st->badge_pattern, 0, sizeof(st->badge_pattern));
	st->compiled = false;
	c.st = st;
	r = inifile_parse(&c.in, station_handler, &c);
	if (r == 0)
		r = close_section(&c);
	if (r == 0) {
		/* defaults and required keys of [rules] only: the other plain sections keep the
		 * station's values */
		for (size_t i = 0; i < ARRAY_SIZE(station_schema); i++)
			c.seen[i] = strcmp(station_schema[i].section, "rules") ? 1 : c.global_seen[i];
		c.schema = station_schema;
		c.n_schema = ARRAY_SIZE(station_schema);
		c.base = st;
		r = finish_table(&c, "rules");
	}
	if (r == 0)
		r = finish_station(&c, st, base->path);
	if (r < 0) {
		release(st);
		free(st);
		return r;
	}
	st->compiled = true;
	*ret = *st;
	free(st);
	return 0;
}

const struct box_cfg *station_cfg_find_box(const struct station_cfg *cfg, const char *code)
{
	for (unsigned i = 0; i < cfg->n_boxes; i++)
		if (strcmp(cfg->boxes[i].code, code) == 0)
			return &cfg->boxes[i];
	return NULL;
}

const struct carrier_cfg *station_cfg_match_carrier(const struct station_cfg *cfg,
						    const char *tracking)
{
	for (unsigned i = 0; i < cfg->n_carriers; i++)
		if (regexec(&cfg->carriers[i].pattern, tracking, 0, NULL, 0) == 0)
			return &cfg->carriers[i];
	return NULL;
}

bool station_cfg_is_lead(const struct station_cfg *cfg, const char *badge)
{
	for (unsigned i = 0; i < cfg->rules.n_lead_badges; i++)
		if (strcmp(cfg->rules.lead_badges[i], badge) == 0)
			return true;
	return false;
}
