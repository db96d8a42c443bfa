/* SPDX-License-Identifier: MIT */
#include <cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/clock.h"
#include "src/bundle.h"
#include "src/ev.h"
#include "src/indicator.h"
#include "src/log.h"
#include "src/mqtt.h"
#include "src/order.h"
#include "src/outbox.h"
#include "src/pipeline.h"
#include "src/record.h"
#include "src/sign.h"
#include "src/station.h"

/** Room a seal needs under the quota: a record plus a large photo. */
#define SEAL_HEADROOM_BYTES (4ull * 1024 * 1024)
/** Status is published at most this often; changes in between are folded together. */
#define STATUS_MIN_INTERVAL_NS (1 * NSEC_PER_SEC)
/** Photos of acknowledged records are pruned this often. */
#define PRUNE_INTERVAL_NS (3600ull * NSEC_PER_SEC)
/** While the station cannot seal (quota, disk full), storage is looked at this often, so the
 * red light clears by itself when space comes back. */
#define STORAGE_RETRY_NS (5 * NSEC_PER_SEC)
/** The full outbox integrity check (every page, every hash: seconds on a big outbox) runs
 * first this long after start, then daily, and only while no packer is badged in. */
#define FULL_CHECK_FIRST_NS (600ull * NSEC_PER_SEC)
#define FULL_CHECK_EVERY_NS (86400ull * NSEC_PER_SEC)
#define FULL_CHECK_BUSY_RETRY_NS (600ull * NSEC_PER_SEC)
/** Room for the error text shown in the status. */
#define LAST_ERROR_MAX 160
/** A device that went away is re-opened after this, doubling up to the cap (unplug/replug). */
#define REOPEN_MIN_NS (1 * NSEC_PER_SEC)
#define REOPEN_MAX_NS (30 * NSEC_PER_SEC)
/** Room for where the rules in force come from: "station.conf" or "site bundle 7". */
#define RULES_SOURCE_MAX BUNDLE_NAME_MAX
/** Room for a device model string in the record. */
#define MODEL_MAX 64

enum dev { DEV_SCALE, DEV_SCANNER, DEV_BADGE, DEV_CAMERA, _DEV_MAX };

static const char *const dev_names[_DEV_MAX] = {
	[DEV_SCALE] = "scale", [DEV_SCANNER] = "scanner", [DEV_BADGE] = "badge",
	[DEV_CAMERA] = "camera",
};

struct station {
	struct station_parts parts;
	struct mqtt_link *link;
	struct pipeline *pl;
	struct indicator *ind;
	struct order_cache *orders;
	struct record_station rs;

	struct ev_source *io[_DEV_MAX];
	struct ev_source *trigger_io;
	bool dev_down[_DEV_MAX];
	char model[_DEV_MAX][MODEL_MAX]; /* copied: a closed device's own string is gone */
	bool owns_devices;
	struct ev_source *reopen_timer;
	uint64_t reopen_delay_ns;
	struct ev_source *pl_timer;
	struct ev_source *status_timer;
	struct ev_source *prune_timer;
	bool status_dirty;
	bool storage_full; /* can_seal() said no last time it was asked */
	struct ev_source *storage_timer;
	struct ev_source *check_timer;
	bool capture_pending;
	uint64_t capture_ns; /* when the pending capture was asked for */
	char last_error[LAST_ERROR_MAX];
	char pubkey_b64[SIGN_PUBKEY_B64_MAX]; /* announced in the status */

	/* signed rules bundles (src/bundle.h); NULL store = [station] lead_keys_dir unset */
	struct bundle_trust trust;
	struct bundle_store *bundles;
	struct station_cfg *checked_cfg; /* built by check_bundle() for the bundle on offer */
	struct station_cfg *pending_cfg; /* accepted, waits for the package in progress */
	char pending_name[BUNDLE_NAME_MAX];
	struct ev_source *bundle_timer;
	char rules_source[RULES_SOURCE_MAX];
	char bundle_rejected[BUNDLE_ERR_MAX]; /* the last refusal, for the status */
};

static void set_error(struct station *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void apply_if_between(struct station *st);

static void status_changed(struct station *st)
{
	if (st->status_dirty)
		return;
	st->status_dirty = true;
	ev_timer_arm_in(st->status_timer, STATUS_MIN_INTERVAL_NS);
}

static void set_error(struct station *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->last_error, sizeof(st->last_error), fmt, ap);
	va_end(ap);
	status_changed(st);
}

/* ---- pipeline ops ---------------------------------------------------------------------- */

static void op_indicate(void *ud, enum indication ind, const char *text)
{
	struct station *st = ud;

	indicator_show(st->ind, ind, text);
	log_info("station", "[%s] %s", indication_to_string(ind), text);
	status_changed(st);
	/* a rules bundle waiting for the package to end: apply it from the loop, not from
	 * inside the pipeline's call */
	if (st->pending_cfg)
		ev_timer_arm_in(st->bundle_timer, 1);
}

static int op_capture(void *ud)
{
	struct station *st = ud;
	int r;

	if (!st->parts.camera || st->dev_down[DEV_CAMERA])
		return -ENODEV;
	r = camera_capture(st->parts.camera);
	if (r == 0) {
		st->capture_pending = true;
		st->capture_ns = clock_now_ns();
	}
	return r;
}

static void op_order_lookup(void *ud, uint64_t token, const char *order_id, const char *tracking)
{
	struct station *st = ud;
	const struct order_ctx *cached = order_cache_get(st->orders, order_id, tracking);
	cJSON *req;
	char *json;
	int r = -ENOTCONN;

	if (cached) {
		pipeline_on_order(st->pl, token, cached, ORDER_SRC_CACHE, clock_now_ns());
		return;
	}
	if (!st->link || !mqtt_link_is_connected(st->link)) {
		/* offline: the package goes on with what the label gave ("pending") */
		pipeline_on_order(st->pl, token, NULL, ORDER_SRC_NONE, clock_now_ns());
		return;
	}
	req = cJSON_CreateObject();
	if (req && cJSON_AddStringToObject(req, "order_id", order_id) &&
	    cJSON_AddStringToObject(req, "tracking", tracking) &&
	    cJSON_AddStringToObject(req, "station", st->parts.cfg->station)) {
		json = cJSON_PrintUnformatted(req);
		if (json) {
			r = mqtt_link_request_order(st->link, token, json);
			cJSON_free(json);
		}
	}
	cJSON_Delete(req);
	if (r < 0) {
		log_notice("station", "order request failed: %s", strerror(-r));
		pipeline_on_order(st->pl, token, NULL, ORDER_SRC_NONE, clock_now_ns());
	}
}

static bool op_tracking_sealed(void *ud, const char *tracking)
{
	struct station *st = ud;
	bool seen = false;
	int r = outbox_has_tracking(st->parts.outbox, tracking, &seen);

	if (r < 0)
		log_warn("station", "duplicate check for %s failed: %s", tracking, strerror(-r));
	return seen;
}

static int sha256_hex(const uint8_t *data, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	for (unsigned i = 0; i < mdlen; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	return 0;
}

static int op_seal(void *ud, struct package *p, const uint8_t *photo, size_t photo_len,
		   char *ret_id)
{
	struct station *st = ud;
	struct outbox *ob = st->parts.outbox;
	uint64_t seq = outbox_get_next_seq(ob);
	char id[RECORD_ID_MAX];
	char *json = NULL, *signed_json = NULL;
	size_t len = 0, signed_len = 0;
	int r;

	if (photo) {
		r = sha256_hex(photo, photo_len, p->photo_sha256);
		if (r < 0)
			return r;
	}
	r = record_format_id(st->parts.cfg->station, seq, id, sizeof(id));
	if (r < 0)
		return r;
	r = record_build(&st->rs, p, seq, outbox_get_last_hash(ob), &json, &len);
	if (r < 0)
		return r;
	/* the outbox stores, hashes (next prev) and publishes the signed bytes */
	r = record_sign(st->parts.key, json, len, &signed_json, &signed_len);
	free(json);
	if (r < 0) {
		set_error(st, "cannot sign record %s: %s", id, strerror(-r));
		return r;
	}
	json = signed_json;
	len = signed_len;
	r = outbox_put(ob,
		       &(struct outbox_put_req){
			       .seq = seq,
			       .id = id,
			       .json = json,
			       .json_len = len,
			       .photo = photo,
			       .photo_len = photo_len,
			       .photo_sha256 = photo ? p->photo_sha256 : NULL,
			       .tracking = p->voids[0] ? "" : p->label.tracking,
			       .created_ms = p->t.sealed_ms,
		       },
		       NULL);
	free(json);
	if (r < 0) {
		set_error(st, "outbox: cannot store record %s: %s", id, strerror(-r));
		return r;
	}
	memcpy(ret_id, id, strlen(id) + 1);
	if (st->link)
		mqtt_link_kick(st->link);
	status_changed(st);
	return 0;
}

/* Room under the outbox quota and on the file system (WAL + checkpoint need twice). */
static bool storage_ok(struct station *st)
{
	return outbox_has_room(st->parts.outbox, SEAL_HEADROOM_BYTES) &&
	       outbox_check_space(st->parts.outbox, SEAL_HEADROOM_BYTES) == 0;
}

static bool op_can_seal(void *ud)
{
	struct station *st = ud;
	bool was_full = st->storage_full;

	st->storage_full = !storage_ok(st);
	if (st->storage_full && !was_full) {
		set_error(st, "storage: outbox quota or disk full; new seals refused until space "
			      "returns");
		ev_timer_arm_in(st->storage_timer, STORAGE_RETRY_NS);
	}
	return !st->storage_full;
}

static void op_arm_timer(void *ud, uint64_t deadline_ns)
{
	struct station *st = ud;

	/* The pipeline speaks hal clock time; the timerfd runs on the kernel's CLOCK_MONOTONIC,
	 * which is the same clock outside tests. */
	if (deadline_ns)
		ev_timer_arm(st->pl_timer, deadline_ns);
	else
		ev_timer_disarm(st->pl_timer);
}

static const struct pipeline_ops station_pipeline_ops = {
	.indicate = op_indicate,
	.capture = op_capture,
	.order_lookup = op_order_lookup,
	.tracking_sealed = op_tracking_sealed,
	.seal = op_seal,
	.can_seal = op_can_seal,
	.arm_timer = op_arm_timer,
};

/* ---- devices --------------------------------------------------------------------------- */

static void close_device(struct station *st, enum dev d)
{
	ev_source_free(st->io[d]);
	st->io[d] = NULL;
	switch (d) {
	case DEV_SCALE:
		scale_close(st->parts.scale);
		st->parts.scale = NULL;
		break;
	case DEV_SCANNER:
		scanner_close(st->parts.scanner);
		st->parts.scanner = NULL;
		break;
	case DEV_BADGE:
		badge_close(st->parts.badge);
		st->parts.badge = NULL;
		break;
	case DEV_CAMERA:
		camera_close(st->parts.camera);
		st->parts.camera = NULL;
		st->capture_pending = false;
		break;
	case _DEV_MAX:
		break;
	}
}

/* The board file's device path of @p d ("" when the backend needs none, e.g. USB HID). */
static const char *dev_path(const struct station *st, enum dev d)
{
	const struct board_cfg *b = st->parts.board;

	if (!b)
		return "";
	switch (d) {
	case DEV_SCALE:
		return b->scale.device;
	case DEV_SCANNER:
		return b->scanner.device;
	case DEV_BADGE:
		return b->badge.device;
	case DEV_CAMERA:
		return b->camera.device;
	case _DEV_MAX:
		break;
	}
	return "";
}

/* The device stopped (unplugged, I/O error): close it, say so, and try to open it again
 * from the board file on a backoff timer. The station keeps sealing what it can. */
static void device_failed(struct station *st, enum dev d, int err)
{
	const char *path = dev_path(st, d);

	log_err("station", "%s%s%s%s stopped: %s; re-opening it every few seconds", dev_names[d],
		*path ? " (" : "", path, *path ? ")" : "", strerror(-err));
	close_device(st, d);
	st->dev_down[d] = true;
	set_error(st, "%s%s%s: %s", dev_names[d], *path ? " " : "", path, strerror(-err));
	if (st->parts.board && !st->reopen_delay_ns) {
		st->reopen_delay_ns = REOPEN_MIN_NS;
		ev_timer_arm_in(st->reopen_timer, st->reopen_delay_ns);
	}
}

/* A decode error drops one message and goes on; anything else stops the device. */
static bool transient(int r)
{
	return r == -EBADMSG || r == -EMSGSIZE || r == -EILSEQ || r == -EPROTO;
}

static int on_scale(struct ev_source *s, int fd, uint32_t revents, void *userdata)
{
	struct station *st = userdata;
	struct scale_reading rd;
	int r;

	(void)s, (void)fd, (void)revents;
	while ((r = scale_on_readable(st->parts.scale, &rd)) != -EAGAIN) {
		if (r == 0) {
			if (rd.status == SCALE_OK)
				pipeline_on_weight(st->pl, rd.grams, rd.stable, rd.t_ns);
		} else if (transient(r)) {
			log_debug("station", "scale: dropped a reading: %s", strerror(-r));
		} else {
			device_failed(st, DEV_SCALE, r);
			break;
		}
	}
	return 0;
}

static int on_scanner(struct ev_source *s, int fd, uint32_t revents, void *userdata)
{
	struct station *st = userdata;
	struct scanner_scan *scan;
	int r;

	(void)s, (void)fd, (void)revents;
	/* a scan or badge may start a package: pending rules first (apply_if_between) */
	apply_if_between(st);
	/* 2 KB: keep it off the stack of the loop */
	scan = malloc(sizeof(*scan));
	if (!scan)
		return -ENOMEM;
	while ((r = scanner_on_readable(st->parts.scanner, scan)) != -EAGAIN) {
		if (r == 0) {
			pipeline_on_scan(st->pl, scan->text, scan->len, scan->t_ns);
		} else if (transient(r)) {
			log_notice("station", "scanner: dropped a scan: %s", strerror(-r));
		} else {
			device_failed(st, DEV_SCANNER, r);
			break;
		}
	}
	free(scan);
	return 0;
}

static int on_badge(struct ev_source *s, int fd, uint32_t revents, void *userdata)
{
	struct station *st = userdata;
	struct badge_read b;
	int r;

	(void)s, (void)fd, (void)revents;
	/* a scan or badge may start a package: pending rules first (apply_if_between) */
	apply_if_between(st);
	while ((r = badge_on_readable(st->parts.badge, &b)) != -EAGAIN) {
		if (r == 0) {
			pipeline_on_badge(st->pl, b.id, b.t_ns);
		} else if (transient(r)) {
			log_notice("station", "badge: dropped a read: %s", strerror(-r));
		} else {
			device_failed(st, DEV_BADGE, r);
			break;
		}
	}
	return 0;
}

static int on_camera(struct ev_source *s, int fd, uint32_t revents, void *userdata)
{
	struct station *st = userdata;
	struct camera_photo ph;
	int r;

	(void)s, (void)fd, (void)revents;
	while ((r = camera_on_readable(st->parts.camera, &ph)) != -EAGAIN) {
		if (r < 0) {
			/* The photo failed (timeout, unplug, bad frames): this package gets no
			 * photo. The camera's fd stays valid and the next capture re-opens the
			 * device, so the watch stays. One error per wake-up: no spinning. */
			const char *path = dev_path(st, DEV_CAMERA);

			log_warn("station", "camera%s%s: %s", *path ? " " : "", path, strerror(-r));
			set_error(st, "camera%s%s: %s", *path ? " " : "", path, strerror(-r));
			if (st->capture_pending) {
				st->capture_pending = false;
				pipeline_on_photo(st->pl, NULL, 0, 0, 0, clock_now_ns());
			}
			break;
		}
		if (!st->capture_pending || ph.t_ns < st->capture_ns)
			continue; /* not asked for, or taken before this request: drop it */
		st->capture_pending = false;
		pipeline_on_photo(st->pl, ph.jpeg, ph.len, ph.width, ph.height, clock_now_ns());
	}
	return 0;
}

static int watch(struct station *st, enum dev d, int fd, ev_io_cb cb);

/* The pedal / photo-eye: a press goes to the pipeline ([station] trigger_action); releases
 * and bounces (debounced in the class) do nothing. */
static int on_trigger(struct ev_source *s, int fd, uint32_t revents, void *userdata)
{
	struct station *st = userdata;
	struct trigger_event e;
	int r;

	(void)fd, (void)revents;
	while ((r = trigger_on_readable(st->parts.trigger, &e)) != -EAGAIN) {
		if (r == 0) {
			if (e.pressed)
				pipeline_on_trigger(st->pl, e.t_ns);
		} else if (!transient(r)) {
			log_err("station", "trigger stopped: %s", strerror(-r));
			set_error(st, "trigger: %s", strerror(-r));
			ev_source_free(s);
			st->trigger_io = NULL;
			break;
		}
	}
	return 0;
}

static void copy_model(struct station *st, enum dev d, const char *model)
{
	snprintf(st->model[d], sizeof(st->model[d]), "%s", model ? model : "");
}

static int reopen(struct station *st, enum dev d)
{
	const struct board_cfg *b = st->parts.board;
	int r = -ENODEV;

	switch (d) {
	case DEV_SCALE:
		r = scale_open(&b->scale, &st->parts.scale);
		if (r == 0) {
			copy_model(st, d, scale_get_model(st->parts.scale));
			r = watch(st, d, scale_get_fd(st->parts.scale), on_scale);
		}
		break;
	case DEV_SCANNER:
		r = scanner_open(&b->scanner, &st->parts.scanner);
		if (r == 0) {
			copy_model(st, d, scanner_get_model(st->parts.scanner));
			r = watch(st, d, scanner_get_fd(st->parts.scanner), on_scanner);
		}
		break;
	case DEV_BADGE:
		r = badge_open(&b->badge, &st->parts.badge);
		if (r == 0) {
			copy_model(st, d, badge_get_model(st->parts.badge));
			r = watch(st, d, badge_get_fd(st->parts.badge), on_badge);
		}
		break;
	case DEV_CAMERA:
		r = camera_open(&b->camera, &st->parts.camera);
		if (r == 0) {
			copy_model(st, d, camera_get_model(st->parts.camera));
			r = watch(st, d, camera_get_fd(st->parts.camera), on_camera);
		}
		break;
	case _DEV_MAX:
		break;
	}
	if (r < 0)
		close_device(st, d);
	return r;
}

static int on_reopen_timer(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	struct station *st = userdata;
	bool still_down = false;

	(void)now_ns;
	for (int d = 0; d < _DEV_MAX; d++) {
		int r;

		if (!st->dev_down[d])
			continue;
		r = reopen(st, (enum dev)d);
		if (r < 0) {
			log_debug("station", "%s still away: %s", dev_names[d], strerror(-r));
			still_down = true;
			continue;
		}
		st->dev_down[d] = false;
		log_notice("station", "%s is back", dev_names[d]);
		status_changed(st);
	}
	if (!still_down) {
		st->reopen_delay_ns = 0;
		st->last_error[0] = '\0';
		pipeline_refresh(st->pl);
		return 0;
	}
	st->reopen_delay_ns *= 2;
	if (st->reopen_delay_ns > REOPEN_MAX_NS)
		st->reopen_delay_ns = REOPEN_MAX_NS;
	ev_timer_arm_in(s, st->reopen_delay_ns);
	return 0;
}

/* ---- timers and status ----------------------------------------------------------------- */

static int on_pl_timer(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	struct station *st = userdata;

	(void)s;
	pipeline_on_timer(st->pl, now_ns);
	return 0;
}

static int publish_status(struct station *st)
{
	struct outbox_stats os = { 0 };
	cJSON *root, *devs;
	char *json;
	int r = -ENOMEM;

	outbox_get_stats(st->parts.outbox, &os);
	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	devs = cJSON_AddObjectToObject(root, "devices");
	if (!devs)
		goto out;
	cJSON_AddBoolToObject(root, "online", true);
	cJSON_AddStringToObject(root, "site", st->parts.cfg->site);
	cJSON_AddStringToObject(root, "station", st->parts.cfg->station);
	cJSON_AddStringToObject(root, "firmware", st->rs.firmware_version);
	cJSON_AddStringToObject(root, "pubkey", st->pubkey_b64);
	cJSON_AddStringToObject(root, "packer", pipeline_get_packer(st->pl));
	cJSON_AddStringToObject(root, "state", pipeline_state_to_string(pipeline_get_state(st->pl)));
	cJSON_AddNumberToObject(root, "outbox_depth", (double)os.unacked);
	cJSON_AddNumberToObject(root, "outbox_bytes", (double)os.unacked_bytes);
	cJSON_AddNumberToObject(root, "last_seq", (double)os.last_seq);
	cJSON_AddStringToObject(root, "rules_version", st->parts.cfg->rules.version);
	cJSON_AddStringToObject(root, "rules_source", st->rules_source);
	if (st->bundles) {
		const struct bundle *bs = bundle_store_get(st->bundles, BUNDLE_SITE);
		const struct bundle *bt = bundle_store_get(st->bundles, BUNDLE_STATION);

		cJSON_AddNumberToObject(root, "bundle_site", bs ? (double)bs->version : 0);
		cJSON_AddNumberToObject(root, "bundle_station", bt ? (double)bt->version : 0);
		cJSON_AddStringToObject(root, "bundle_pending", st->pending_name);
		cJSON_AddStringToObject(root, "bundle_rejected", st->bundle_rejected);
	}
	for (int d = 0; d < _DEV_MAX; d++)
		cJSON_AddStringToObject(devs, dev_names[d], st->dev_down[d] ? "down" : "ok");
	cJSON_AddStringToObject(root, "last_error", st->last_error);
	json = cJSON_PrintUnformatted(root);
	if (json) {
		r = mqtt_link_set_status(st->link, json);
		cJSON_free(json);
	}
out:
	cJSON_Delete(root);
	return r == -ENOTCONN ? 0 : r;
}

static int on_status_timer(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	struct station *st = userdata;

	(void)s, (void)now_ns;
	st->status_dirty = false;
	if (!st->link)
		return 0;
	return publish_status(st);
}

static int on_prune_timer(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	struct station *st = userdata;
	int r;

	(void)now_ns;
	r = outbox_prune(st->parts.outbox, clock_wall_ms());
	if (r > 0)
		log_info("station", "pruned %d photos past retention", r);
	ev_timer_arm_in(s, PRUNE_INTERVAL_NS);
	return r < 0 ? r : 0;
}

/* Storage was full: look again; clear the red light by itself when space is back. */
static int on_storage_timer(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	struct station *st = userdata;

	(void)now_ns;
	if (!st->storage_full)
		return 0;
	if (!storage_ok(st)) {
		ev_timer_arm_in(s, STORAGE_RETRY_NS);
		return 0;
	}
	log_notice("station", "storage has room again: sealing resumes");
	st->storage_full = false;
	st->last_error[0] = '\0';
	status_changed(st);
	pipeline_refresh(st->pl);
	return 0;
}

/* The full integrity check reads the whole outbox: only while nobody is packing. A damaged
 * outbox stops the daemon so that the next start moves it aside (outbox_open_or_quarantine)
 * and says so; systemd restarts it. */
static int on_check_timer(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	struct station *st = userdata;
	int r;

	(void)now_ns;
	if (pipeline_get_state(st->pl) != PL_NO_PACKER) {
		ev_timer_arm_in(s, FULL_CHECK_BUSY_RETRY_NS);
		return 0;
	}
	r = outbox_check(st->parts.outbox, OUTBOX_CHECK_FULL);
	if (r == -EBADMSG) {
		log_err("station", "OUTBOX DAMAGED (full integrity check): stopping so that the "
				   "restart moves it aside and starts a fresh one");
		ev_exit(st->parts.ev, STATION_EXIT_OUTBOX_DAMAGED);
		return 0;
	}
	if (r < 0)
		log_warn("station", "outbox integrity check could not run: %s", strerror(-r));
	ev_timer_arm_in(s, FULL_CHECK_EVERY_NS);
	return 0;
}

void station_report_error(struct station *st, const char *text)
{
	set_error(st, "%s", text);
}

/* ---- signed rules bundles (src/bundle.h) ----------------------------------------------- */

static void cfg_destroy(struct station_cfg *cfg)
{
	if (!cfg)
		return;
	station_cfg_done(cfg);
	free(cfg);
}

/* bundle_store_offer()'s content check: the bundle must read as our rules and catalogs. The
 * config it builds is kept for apply_bundle(), so the text is parsed once. */
static int check_bundle(void *userdata, const struct bundle *b, char *err, size_t errlen)
{
	struct station *st = userdata;
	struct station_cfg *cfg = malloc(sizeof(*cfg));
	int r;

	if (!cfg)
		return -ENOMEM;
	r = station_cfg_overlay(st->parts.cfg, b->name, b->text, b->text_len, cfg, err, errlen);
	if (r < 0) {
		free(cfg);
		return r;
	}
	cfg_destroy(st->checked_cfg);
	st->checked_cfg = cfg;
	return 0;
}

static bool between_packages(const struct station *st)
{
	enum pipeline_state s = pipeline_get_state(st->pl);

	return s == PL_NO_PACKER || s == PL_READY;
}

/* Put the pending rules in force, in place: the pipeline and the record builder hold the
 * config by pointer, and this runs between two loop events, never inside a package. */
static void apply_pending(struct station *st)
{
	struct station_cfg *cfg = st->pending_cfg;

	station_cfg_done(st->parts.cfg);
	*st->parts.cfg = *cfg;
	free(cfg);
	st->pending_cfg = NULL;
	snprintf(st->rules_source, sizeof(st->rules_source), "%s", st->pending_name);
	st->pending_name[0] = '\0';
	log_notice("station", "rules now from %s (rules version %s, %u carriers, %u boxes)",
		   st->rules_source, st->parts.cfg->rules.version, st->parts.cfg->n_carriers,
		   st->parts.cfg->n_boxes);
	status_changed(st);
}

/* Before the station reads the next scan or badge (which may start a package), and from the
 * timer: the pending rules go in force if no package is in progress. */
static void apply_if_between(struct station *st)
{
	if (st->pending_cfg && between_packages(st))
		apply_pending(st);
}

/* Armed by op_indicate(): the pipeline shows every change of state, so the end of the
 * package in progress always comes through here (no polling while a bundle waits). */
static int on_bundle_timer(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	(void)s, (void)now_ns;
	apply_if_between(userdata);
	return 0;
}

/* Make @p cfg (owned) the rules to apply as soon as no package is in progress. */
static void set_pending(struct station *st, struct station_cfg *cfg, const char *name)
{
	cfg_destroy(st->pending_cfg);
	st->pending_cfg = cfg;
	snprintf(st->pending_name, sizeof(st->pending_name), "%s", name);
	if (between_packages(st)) {
		apply_pending(st);
		return;
	}
	log_notice("station", "%s accepted: it applies when the package in progress ends", name);
	status_changed(st);
}

static void cb_config(void *userdata, bool station_scope, const void *payload, size_t len)
{
	struct station *st = userdata;
	enum bundle_scope scope = station_scope ? BUNDLE_STATION : BUNDLE_SITE;
	const struct bundle *b = NULL;
	char err[BUNDLE_ERR_MAX] = "";
	int r;

	if (!st->bundles)
		return;
	if (len == 0) {
		/* a retained message cleared on the broker: what the station keeps stays */
		log_info("station", "%s config topic is empty; the kept rules stay in force",
			 bundle_scope_to_string(scope));
		return;
	}
	r = bundle_store_offer(st->bundles, scope, payload, len, clock_wall_ms(), check_bundle, st,
			       &b, err, sizeof(err));
	if (r == BUNDLE_SAME)
		return;
	if (r < 0) {
		cfg_destroy(st->checked_cfg);
		st->checked_cfg = NULL;
		log_warn("station", "rules bundle REFUSED, the rules in force stay: %s", err);
		snprintf(st->bundle_rejected, sizeof(st->bundle_rejected), "%s", err);
		status_changed(st);
		return;
	}
	log_notice("station", "%s from lead %s accepted and kept", b->name, b->lead);
	if (scope == BUNDLE_SITE && bundle_store_get(st->bundles, BUNDLE_STATION)) {
		/* the station's own bundle outranks the site's: kept for when that one goes */
		log_notice("station", "%s stays in force over %s",
			   bundle_store_get(st->bundles, BUNDLE_STATION)->name, b->name);
		cfg_destroy(st->checked_cfg);
		st->checked_cfg = NULL;
		status_changed(st);
		return;
	}
	set_pending(st, st->checked_cfg, b->name);
	st->checked_cfg = NULL;
}

/* At start: the kept bundles (station's own first), applied before the first package. A kept
 * bundle that no longer reads as config (the station's own config changed under it) is loud,
 * and the station runs on the next one, or on station.conf. */
static int load_bundles(struct station *st)
{
	struct station_cfg *cfg = st->parts.cfg;
	char err[BUNDLE_ERR_MAX] = "";
	int r;

	snprintf(st->rules_source, sizeof(st->rules_source), "station.conf");
	if (!cfg->lead_keys_dir[0])
		return 0;
	st->trust = (struct bundle_trust){
		.keys_dir = cfg->lead_keys_dir, .site = cfg->site, .station = cfg->station,
	};
	r = bundle_store_open(cfg->data_dir, &st->trust, &st->bundles, err, sizeof(err));
	if (r < 0)
		return r;
	if (err[0]) {
		log_err("station", "%s", err);
		set_error(st, "%s", err);
	}
	for (int sc = BUNDLE_STATION; sc >= BUNDLE_SITE; sc--) {
		const struct bundle *b = bundle_store_get(st->bundles, (enum bundle_scope)sc);

		if (!b)
			continue;
		err[0] = '\0';
		if (check_bundle(st, b, err, sizeof(err)) == 0) {
			set_pending(st, st->checked_cfg, b->name);
			st->checked_cfg = NULL;
			if (b->expires_ms <= clock_wall_ms())
				log_warn("station", "%s has expired; it stays in force until a lead "
					 "publishes a newer one", b->name);
			return 0;
		}
		log_err("station", "kept %s cannot be applied: %s", b->name, err);
		set_error(st, "kept %s cannot be applied: %s", b->name, err);
	}
	return 0;
}

/* ---- link callbacks -------------------------------------------------------------------- */

static void cb_connection(void *userdata, bool up, const char *reason)
{
	struct station *st = userdata;

	if (!up)
		set_error(st, "mqtt: %s", reason ? reason : "disconnected");
	status_changed(st);
}

static void cb_acked(void *userdata, const char *id)
{
	struct station *st = userdata;

	log_debug("station", "central acknowledged %s", id);
	status_changed(st);
	/* Space may have come back under the quota: re-show the step only then. An ack arrives
	 * milliseconds after a seal; refreshing on every ack would cut the "Sealed" signal. */
	if (st->storage_full && storage_ok(st)) {
		st->storage_full = false;
		st->last_error[0] = '\0';
		ev_timer_disarm(st->storage_timer);
		pipeline_refresh(st->pl);
	}
	/* the idle path: checkpoint the WAL here (after a delivery), never inside a seal */
	if (between_packages(st))
		outbox_checkpoint(st->parts.outbox);
}

static void cb_order_response(void *userdata, uint64_t corr, const char *json, size_t len)
{
	struct station *st = userdata;
	struct order_ctx *o = calloc(1, sizeof(*o));
	int r;

	if (!o)
		return;
	r = order_parse_json(json, len, o);
	if (r == 0) {
		order_cache_put(st->orders, o);
		pipeline_on_order(st->pl, corr, o, ORDER_SRC_CENTRAL, clock_now_ns());
	} else {
		if (r != -ENOENT)
			log_warn("station", "malformed order context from central: %s", strerror(-r));
		pipeline_on_order(st->pl, corr, NULL, ORDER_SRC_NONE, clock_now_ns());
	}
	free(o);
}

/* The link's own errors (a PUBACK or SUBACK refused by the broker's ACL, a TLS failure): not
 * silent successes, they show in the status. */
static void cb_link_error(void *userdata, const char *text)
{
	struct station *st = userdata;

	set_error(st, "mqtt: %s", text);
}

static const struct mqtt_link_callbacks link_cbs = {
	.on_connection = cb_connection,
	.on_acked = cb_acked,
	.on_order_response = cb_order_response,
	.on_error = cb_link_error,
};

/* the same, and the config topics: only with lead keys to check bundles against */
static const struct mqtt_link_callbacks link_cbs_bundles = {
	.on_connection = cb_connection,
	.on_acked = cb_acked,
	.on_order_response = cb_order_response,
	.on_error = cb_link_error,
	.on_config = cb_config,
};

const struct mqtt_link_callbacks *station_link_callbacks(const struct station *st)
{
	return st->bundles ? &link_cbs_bundles : &link_cbs;
}

/* ---- life ------------------------------------------------------------------------------ */

static int watch(struct station *st, enum dev d, int fd, ev_io_cb cb)
{
	if (fd < 0)
		return 0; /* a device without an fd (e.g. none configured) */
	return ev_add_io(st->parts.ev, fd, EPOLLIN, cb, st, &st->io[d]);
}

int station_new(const struct station_parts *parts, struct station **ret)
{
	struct station *st = calloc(1, sizeof(*st));
	struct ev *ev = parts->ev;
	int r;

	if (!st)
		return -ENOMEM;
	st->parts = *parts;
	r = sign_key_get_pubkey_b64(parts->key, st->pubkey_b64, sizeof(st->pubkey_b64));
	if (r < 0)
		goto err;
	st->rs = (struct record_station){
		.site = parts->cfg->site,
		.station = parts->cfg->station,
		.firmware_version = parts->firmware_version,
		.scale_model = st->model[DEV_SCALE],
		.scanner_model = st->model[DEV_SCANNER],
		.camera_model = st->model[DEV_CAMERA],
		.badge_model = st->model[DEV_BADGE],
		.rules_version = parts->cfg->rules.version,
	};
	copy_model(st, DEV_SCALE, parts->scale ? scale_get_model(parts->scale) : "");
	copy_model(st, DEV_SCANNER, parts->scanner ? scanner_get_model(parts->scanner) : "");
	copy_model(st, DEV_BADGE, parts->badge ? badge_get_model(parts->badge) : "");
	copy_model(st, DEV_CAMERA, parts->camera ? camera_get_model(parts->camera) : "");
	r = order_cache_new(ORDER_CACHE_MAX, &st->orders);
	if (r < 0)
		goto err;
	r = indicator_new(ev, parts->lights, &st->ind);
	if (r < 0)
		goto err;
	r = ev_add_timer(ev, on_pl_timer, st, &st->pl_timer);
	if (r < 0)
		goto err;
	r = ev_add_timer(ev, on_status_timer, st, &st->status_timer);
	if (r < 0)
		goto err;
	r = ev_add_timer(ev, on_prune_timer, st, &st->prune_timer);
	if (r < 0)
		goto err;
	r = ev_add_timer(ev, on_reopen_timer, st, &st->reopen_timer);
	if (r < 0)
		goto err;
	r = ev_add_timer(ev, on_storage_timer, st, &st->storage_timer);
	if (r < 0)
		goto err;
	r = ev_add_timer(ev, on_check_timer, st, &st->check_timer);
	if (r < 0)
		goto err;
	r = ev_add_timer(ev, on_bundle_timer, st, &st->bundle_timer);
	if (r < 0)
		goto err;
	r = pipeline_new(parts->cfg, &station_pipeline_ops, st, &st->pl);
	if (r < 0)
		goto err;
	r = load_bundles(st);
	if (r < 0)
		goto err;
	r = watch(st, DEV_SCALE, parts->scale ? scale_get_fd(parts->scale) : -1, on_scale);
	r = r ?: watch(st, DEV_SCANNER, parts->scanner ? scanner_get_fd(parts->scanner) : -1,
		       on_scanner);
	r = r ?: watch(st, DEV_BADGE, parts->badge ? badge_get_fd(parts->badge) : -1, on_badge);
	r = r ?: watch(st, DEV_CAMERA, parts->camera ? camera_get_fd(parts->camera) : -1,
		       on_camera);
	if (r < 0)
		goto err;
	if (parts->trigger) {
		r = ev_add_io(ev, trigger_get_fd(parts->trigger), EPOLLIN, on_trigger, st,
			      &st->trigger_io);
		if (r < 0)
			goto err;
	}
	ev_timer_arm_in(st->prune_timer, NSEC_PER_SEC);
	ev_timer_arm_in(st->check_timer, FULL_CHECK_FIRST_NS);
	st->owns_devices = true;
	*ret = st;
	return 0;
err:
	station_free(st);
	return r;
}

void station_free(struct station *st)
{
	if (!st)
		return;
	for (int d = 0; d < _DEV_MAX; d++) {
		if (st->owns_devices)
			close_device(st, (enum dev)d);
		else
			ev_source_free(st->io[d]);
	}
	ev_source_free(st->trigger_io);
	if (st->owns_devices)
		trigger_close(st->parts.trigger);
	ev_source_free(st->reopen_timer);
	ev_source_free(st->storage_timer);
	ev_source_free(st->check_timer);
	ev_source_free(st->bundle_timer);
	cfg_destroy(st->pending_cfg);
	cfg_destroy(st->checked_cfg);
	bundle_store_free(st->bundles);
	pipeline_free(st->pl);
	ev_source_free(st->prune_timer);
	ev_source_free(st->status_timer);
	ev_source_free(st->pl_timer);
	indicator_free(st->ind); /* turns the lamps off: before the lights are closed */
	if (st->owns_devices)
		lights_close(st->parts.lights);
	order_cache_free(st->orders);
	free(st);
}

void station_set_link(struct station *st, struct mqtt_link *link)
{
	st->link = link;
	/* now, not after STATUS_MIN_INTERVAL: the link sends it on CONNACK, before the outbox
	 * replay, so central learns the key (pubkey) before the first record */
	if (link)
		publish_status(st);
}

struct pipeline *station_get_pipeline(struct station *st)
{
	return st->pl;
}
