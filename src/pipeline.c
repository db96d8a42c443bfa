/* SPDX-License-Identifier: MIT */
/*
 * The capture state machine (see the diagram in pipeline.h).
 *
 * Rules of thumb that shape every handler below:
 * - An input that does not fit the current step is rejected with IND_REJECT and a text that
 *   says what to do instead; the state does not change (a stray scan never corrupts a package).
 * - Every wait is bounded: order context (order_timeout_ms, then "pending"), photo
 *   (photo_timeout_ms, then "camera failed"), a package (package_timeout_s, then dropped) and
 *   a session (session_idle_s, then badge-out). One timer, armed at the earliest deadline.
 * - A weight is accepted only after the scale has been seen (nearly) empty since the last
 *   accepted weight, so the previous box left on the scale is never weighed twice.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/clock.h"
#include "src/label.h"
#include "src/log.h"
#include "src/pipeline.h"
#include "src/record.h"
#include "src/rules.h"

/** Retry delay after a failed seal (storage error): the package is kept meanwhile. */
#define SEAL_RETRY_NS (2 * NSEC_PER_SEC)
/** Longest indicator text we build (the display class truncates further). */
#define TEXT_MAX 128
/** Initial photo buffer: a 1080p JPEG at q85 is ~300 KB; grows once if a camera needs more. */
#define PHOTO_BUF_INITIAL (512u * 1024u)

/** Longest scan judged: a PDF417 label carries ~1.1 KB of 15434 data (= SCANNER_SCAN_MAX). */
#define SCAN_MAX 2048

enum scan_kind {
	SCAN_UNKNOWN,
	SCAN_ORDER,
	SCAN_LABEL,     /* a tracking number (1D), or a 2D label that carries a complete one */
	SCAN_LABEL_2D,  /* a 2D label without a complete tracking number (UPS MaxiCode) */
	SCAN_BAD_CHECK, /* looks like a carrier's number, check digit wrong */
	SCAN_BOX,
	SCAN_VOID,
	SCAN_BADGE_OUT,
	SCAN_REPRINT,  /* show the last seal's result again */
	SCAN_OVERRIDE, /* a lead is coming: ask for the badge */
	SCAN_BADGE,    /* a badge printed as a barcode ([scan] badge_pattern) */
};

struct pipeline {
	const struct station_cfg *cfg;
	const struct pipeline_ops *ops;
	void *ud;

	enum pipeline_state state;
	char packer[PKG_ID_MAX];
	struct package pkg;

	uint64_t token;      /* current order lookup; answers with another token are stale */
	bool lookup_pending; /* asked, no answer yet */
	uint64_t lookup_started_ns;
	bool scale_cleared; /* seen below weigh_min_g since the last accepted weight */
	int32_t last_g;     /* the last reading, for a pedal press */
	bool last_stable;
	bool seal_failed;   /* the last seal attempt failed; retry on a timer */

	/*
	 * The package's photo is photo_data: the caller's bytes while pipeline_on_photo() runs
	 * (borrowed: a photo sealed in that call is never copied), our own photo buffer once
	 * the package has to wait past the call (blocked, seal retry).
	 */
	const uint8_t *photo_data;
	uint8_t *photo;
	size_t photo_len, photo_cap;

	/*
	 * The duplicate check's answer for dup_tracking, asked when the label is scanned: only
	 * this station's own seals write the outbox, and none can happen while this package is
	 * in hand, so the answer still holds at the seal and the lookup stays out of the
	 * packer's wait between the weight and the green light.
	 */
	char dup_tracking[PKG_ID_MAX];
	bool dup_sealed;

	uint64_t activity_ns;   /* last packer input */
	uint64_t pkg_start_ns;  /* first scan of the current package */
	uint64_t step_deadline; /* ORDER_WAIT / PHOTO / seal retry deadline, 0 = none */

	char last_sealed[RECORD_ID_MAX];
	uint64_t n_sealed, n_rejected;

	char scan[SCAN_MAX + 1];  /* the scan being judged, NUL-terminated */
	struct label label;       /* what src/label.c made of it */
	const char *site_carrier; /* a [carrier NAME] whose pattern matched, else NULL */
};

/* Copy a string, cutting it to fit (callers check lengths where a cut would matter). */
static void strcopy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static const char *const state_names[] = {
	[PL_NO_PACKER] = "no_packer", [PL_READY] = "ready",         [PL_SCANNING] = "scanning",
	[PL_PACKAGING] = "packaging", [PL_WEIGHING] = "weighing",   [PL_ORDER_WAIT] = "order_wait",
	[PL_PHOTO] = "photo",         [PL_BLOCKED] = "blocked",
};

static const char *const ind_names[] = {
	[IND_IDLE] = "idle",       [IND_READY] = "ready",     [IND_WAIT] = "wait",
	[IND_BUSY] = "busy",       [IND_SEALED] = "sealed",   [IND_BLOCKED] = "blocked",
	[IND_REJECT] = "reject",   [IND_FAULT] = "fault",
};

const char *pipeline_state_to_string(enum pipeline_state s)
{
	return (unsigned)s < _PL_STATE_MAX ? state_names[s] : "invalid";
}

const char *indication_to_string(enum indication ind)
{
	return (unsigned)ind < _IND_MAX ? ind_names[ind] : "invalid";
}

static void indicate(struct pipeline *p, enum indication ind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void indicate(struct pipeline *p, enum indication ind, const char *fmt, ...)
{
	char text[TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p->ops->indicate(p->ud, ind, text);
}

static const char *pkg_name(const struct pipeline *p)
{
	if (p->pkg.order_id[0])
		return p->pkg.order_id;
	if (p->pkg.order.order_id[0])
		return p->pkg.order.order_id;
	if (p->pkg.voids[0])
		return p->pkg.voids;
	return p->pkg.label.tracking;
}

static const char *first_block_detail(const struct package *pkg)
{
	for (unsigned i = 0; i < pkg->n_rules; i++)
		if (pkg->rules[i].result == RULE_BLOCK)
			return pkg->rules[i].detail;
	return "blocked";
}

/* The steady signal of the current step. */
static void show_step(struct pipeline *p)
{
	switch (p->state) {
	case PL_NO_PACKER:
		indicate(p, IND_IDLE, "Badge in");
		break;
	case PL_READY:
		if (!p->ops->can_seal(p->ud))
			indicate(p, IND_FAULT, "Storage full: cannot seal, call a lead");
		else
			indicate(p, IND_READY, "%s: scan order or label", p->packer);
		break;
	case PL_SCANNING:
		indicate(p, IND_WAIT, "%s: scan shipping label", pkg_name(p));
		break;
	case PL_PACKAGING:
		indicate(p, IND_WAIT, "%s: scan box", pkg_name(p));
		break;
	case PL_WEIGHING:
		if (p->scale_cleared)
			indicate(p, IND_WAIT, "%s: place package on scale", pkg_name(p));
		else
			indicate(p, IND_WAIT, "%s: clear the scale, then place package", pkg_name(p));
		break;
	case PL_ORDER_WAIT:
		indicate(p, IND_BUSY, "%s: fetching order", pkg_name(p));
		break;
	case PL_PHOTO:
		indicate(p, IND_BUSY, "%s: photo, hold still", pkg_name(p));
		break;
	case PL_BLOCKED:
		if (p->seal_failed)
			indicate(p, IND_FAULT, "%s: NOT sealed, storage error; retrying",
				 pkg_name(p));
		else
			indicate(p, IND_BLOCKED, "BLOCKED %s: %s", pkg_name(p),
				 first_block_detail(&p->pkg));
		break;
	case _PL_STATE_MAX:
		break;
	}
}

static void reject(struct pipeline *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reject(struct pipeline *p, const char *fmt, ...)
{
	char text[TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p->n_rejected++;
	log_info("pipeline", "rejected in %s: %s", state_names[p->state], text);
	p->ops->indicate(p->ud, IND_REJECT, text);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

static void rearm(struct pipeline *p)
{
	uint64_t d = 0;

	if (p->state == PL_READY)
		d = p->activity_ns + (uint64_t)p->cfg->session_idle_s * NSEC_PER_SEC;
	else if (p->state != PL_NO_PACKER && !p->seal_failed)
		d = p->pkg_start_ns + (uint64_t)p->cfg->package_timeout_s * NSEC_PER_SEC;
	d = earliest(d, p->step_deadline);
	p->ops->arm_timer(p->ud, d);
}

static void set_state(struct pipeline *p, enum pipeline_state s)
{
	if (p->state != s)
		log_debug("pipeline", "%s -> %s", state_names[p->state], state_names[s]);
	p->state = s;
	if (s != PL_ORDER_WAIT && s != PL_PHOTO && !(s == PL_BLOCKED && p->seal_failed))
		p->step_deadline = 0;
	show_step(p);
	rearm(p);
}

static void drop_package(struct pipeline *p)
{
	package_reset(&p->pkg);
	p->lookup_pending = false;
	p->token++; /* any answer still on its way is now stale */
	p->seal_failed = false;
	p->dup_tracking[0] = '\0';
	p->photo_data = NULL;
	p->photo_len = 0;
	p->step_deadline = 0;
}

int pipeline_new(const struct station_cfg *cfg, const struct pipeline_ops *ops, void *ud,
		 struct pipeline **ret)
{
	struct pipeline *p;

	assert(cfg && ops && ret);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->photo = malloc(PHOTO_BUF_INITIAL);
	if (!p->photo) {
		free(p);
		return -ENOMEM;
	}
	p->photo_cap = PHOTO_BUF_INITIAL;
	p->cfg = cfg;
	p->ops = ops;
	p->ud = ud;
	p->state = PL_NO_PACKER;
	p->scale_cleared = true;
	show_step(p);
	*ret = p;
	return 0;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	free(p->photo);
	free(p);
}

static void start_session(struct pipeline *p, const char *badge, uint64_t now_ns)
{
	snprintf(p->packer, sizeof(p->packer), "%s", badge);
	p->activity_ns = now_ns;
	log_info("pipeline", "packer %s badged in", badge);
	set_state(p, PL_READY);
}

static void end_session(struct pipeline *p, const char *why)
{
	log_info("pipeline", "packer %s session ended (%s)", p->packer, why);
	drop_package(p);
	p->packer[0] = '\0';
	set_state(p, PL_NO_PACKER);
}

static void lookup(struct pipeline *p, uint64_t now_ns)
{
	p->token++;
	p->lookup_pending = true;
	p->lookup_started_ns = now_ns;
	p->pkg.order_src = ORDER_SRC_NONE;
	p->ops->order_lookup(p->ud, p->token, p->pkg.order_id, p->pkg.label.tracking);
}

static void do_seal(struct pipeline *p, uint64_t now_ns)
{
	char id[RECORD_ID_MAX] = "";
	int r;

	p->pkg.t.sealed_ms = clock_wall_ms();
	p->pkg.clock_synced = clock_is_synced();
	snprintf(p->pkg.packer_id, sizeof(p->pkg.packer_id), "%s", p->packer);
	r = p->ops->seal(p->ud, &p->pkg, p->pkg.has_photo ? p->photo_data : NULL,
			 p->pkg.has_photo ? p->photo_len : 0, id);
	if (r < 0) {
		log_err("pipeline", "seal of %s failed: %s; package kept, retrying", pkg_name(p),
			strerror(-r));
		p->seal_failed = true;
		p->step_deadline = now_ns + SEAL_RETRY_NS;
		set_state(p, PL_BLOCKED);
		return;
	}
	p->n_sealed++;
	if (p->pkg.voids[0]) {
		char voided[PKG_ID_MAX];

		snprintf(voided, sizeof(voided), "%s", p->pkg.voids);
		log_info("pipeline", "voided %s with %s", voided, id);
		p->last_sealed[0] = '\0'; /* a void is not itself voidable */
		drop_package(p);
		p->activity_ns = now_ns;
		p->state = PL_READY;
		indicate(p, IND_SEALED, "Voided %s", voided);
	} else {
		snprintf(p->last_sealed, sizeof(p->last_sealed), "%s", id);
		log_info("pipeline", "sealed %s as %s", pkg_name(p), id);
		drop_package(p);
		p->activity_ns = now_ns;
		p->state = PL_READY;
		indicate(p, IND_SEALED, "Sealed %s", id);
	}
	rearm(p);
}

/* Whether the package's tracking number was sealed before (asked once per number). */
static bool tracking_sealed(struct pipeline *p)
{
	const char *t = p->pkg.label.tracking;

	if (!t[0])
		return false;
	if (strcmp(t, p->dup_tracking) != 0) {
		p->dup_sealed = p->ops->tracking_sealed(p->ud, t);
		strcopy(p->dup_tracking, sizeof(p->dup_tracking), t);
	}
	return p->dup_sealed;
}

/* Weighed: wait for the order, take the photo, judge, seal or block. Re-entered as each
 * awaited answer arrives. */
static void advance(struct pipeline *p, uint64_t now_ns)
{
	unsigned blocks;

	if (p->lookup_pending) {
		uint64_t d = p->lookup_started_ns + (uint64_t)p->cfg->order_timeout_ms * NSEC_PER_MSEC;

		if (now_ns < d) {
			p->step_deadline = d;
			set_state(p, PL_ORDER_WAIT);
			return;
		}
		log_notice("pipeline", "%s: no order context in %u ms, sealing as pending",
			   pkg_name(p), p->cfg->order_timeout_ms);
		p->lookup_pending = false;
		p->token++;
	}
	if (rules_photo_required(&p->cfg->rules, &p->pkg) && !p->pkg.has_photo &&
	    p->state != PL_PHOTO) {
		int r = p->ops->capture(p->ud);

		if (r == 0) {
			p->step_deadline = now_ns + (uint64_t)p->cfg->photo_timeout_ms * NSEC_PER_MSEC;
			set_state(p, PL_PHOTO);
			return;
		}
		log_warn("pipeline", "%s: camera capture failed: %s", pkg_name(p), strerror(-r));
	}
	blocks = rules_evaluate(&p->cfg->rules, &p->pkg, tracking_sealed(p));
	if (blocks && !p->pkg.override.present) {
		log_notice("pipeline", "%s blocked: %s", pkg_name(p), first_block_detail(&p->pkg));
		set_state(p, PL_BLOCKED);
		return;
	}
	do_seal(p, now_ns);
}

/* What a scan is. Exact command codes and the site's order and box patterns come first: a
 * 10- or 12-digit order ID would otherwise pass for a DHL or FedEx number (the label parser
 * calls those formats "weak"). Then the carriers' formats with their check digits; a wrong
 * check digit is its own answer, never a guess. Last, the site's own [carrier] patterns for
 * carriers the parser does not know. */
static enum scan_kind classify(struct pipeline *p, const char *text, size_t len)
{
	const struct station_cfg *cfg = p->cfg;
	const struct carrier_cfg *c;
	const struct label *l = &p->label;

	p->site_carrier = NULL;
	if (strcmp(text, cfg->void_code) == 0)
		return SCAN_VOID;
	if (strcmp(text, cfg->badge_out_code) == 0)
		return SCAN_BADGE_OUT;
	if (strcmp(text, cfg->reprint_code) == 0)
		return SCAN_REPRINT;
	if (strcmp(text, cfg->lead_override_code) == 0)
		return SCAN_OVERRIDE;
	if (cfg->badge_pattern_src[0] && len < PKG_ID_MAX &&
	    regexec(&cfg->badge_pattern, text, 0, NULL, 0) == 0)
		return SCAN_BADGE;
	if (regexec(&cfg->order_pattern, text, 0, NULL, 0) == 0)
		return SCAN_ORDER;
	if (regexec(&cfg->box_pattern, text, 0, NULL, 0) == 0)
		return SCAN_BOX;
	if (label_parse(text, len, &p->label) == 0 && l->tracking_kind != LABEL_UNKNOWN) {
		if (l->check == LABEL_CHECK_BAD)
			return SCAN_BAD_CHECK;
		if (l->tracking[0] && strlen(l->tracking) < PKG_ID_MAX &&
		    (l->check == LABEL_CHECK_OK || l->kind == l->tracking_kind))
			return SCAN_LABEL;
	}
	if (label_parse(text, len, &p->label) == 0 && l->kind == LABEL_ISO15434 &&
	    (l->postal_code[0] || l->country[0]))
		return SCAN_LABEL_2D;
	c = station_cfg_match_carrier(cfg, text);
	if (c && len < PKG_ID_MAX) {
		p->site_carrier = c->name;
		return SCAN_LABEL;
	}
	return SCAN_UNKNOWN;
}

static void void_last(struct pipeline *p, uint64_t now_ns)
{
	char voided[RECORD_ID_MAX];

	if (!p->last_sealed[0]) {
		reject(p, "Nothing to void");
		return;
	}
	snprintf(voided, sizeof(voided), "%s", p->last_sealed);
	drop_package(p);
	snprintf(p->pkg.voids, sizeof(p->pkg.voids), "%s", voided);
	p->pkg.t.started_ms = clock_wall_ms();
	p->pkg_start_ns = now_ns;
	do_seal(p, now_ns);
}

/* Take what the label scan gave: the tracking number (a complete one), and from a 2D label
 * the ship-to postal code, country and class of service. */
static void set_label(struct pipeline *p, enum scan_kind k)
{
	struct pkg_label *pl = &p->pkg.label;
	const struct label *l = &p->label;

	if (p->site_carrier) {
		strcopy(pl->tracking, sizeof(pl->tracking), p->scan);
		snprintf(pl->carrier, sizeof(pl->carrier), "%s", p->site_carrier);
		snprintf(pl->kind, sizeof(pl->kind), "site_pattern");
		snprintf(pl->check, sizeof(pl->check), "none");
		pl->service_code[0] = '\0';
	} else if (k == SCAN_LABEL) {
		snprintf(pl->tracking, sizeof(pl->tracking), "%s", l->tracking);
		snprintf(pl->carrier, sizeof(pl->carrier), "%s", l->carrier);
		snprintf(pl->kind, sizeof(pl->kind), "%s", label_kind_to_string(l->tracking_kind));
		snprintf(pl->check, sizeof(pl->check), "%s", label_check_to_string(l->check));
		snprintf(pl->service_code, sizeof(pl->service_code), "%s", l->service_code);
	}
	if (!p->site_carrier && l->kind == LABEL_ISO15434) {
		pl->two_d = true;
		strcopy(pl->postal_code, sizeof(pl->postal_code), l->postal_code);
		snprintf(pl->country, sizeof(pl->country), "%s", l->country);
		snprintf(pl->service_class, sizeof(pl->service_class), "%s", l->service_class);
		if (!pl->carrier[0])
			snprintf(pl->carrier, sizeof(pl->carrier), "%s", l->carrier);
	}
	p->pkg.t.label_ms = clock_wall_ms();
	tracking_sealed(p); /* now, not while the packer waits for the light */
}

/* A 2D label for the package in hand: its tracking number, if complete, must be the one
 * scanned. @return true when it was taken. */
static bool merge_2d(struct pipeline *p, enum scan_kind k)
{
	if (k == SCAN_LABEL && p->label.kind != LABEL_ISO15434)
		return false;
	if (k == SCAN_LABEL && p->pkg.label.tracking[0] &&
	    strcmp(p->label.tracking, p->pkg.label.tracking) != 0) {
		reject(p, "This 2D label is for %s, not %s", p->label.tracking,
		       p->pkg.label.tracking);
		return true;
	}
	set_label(p, k);
	show_step(p);
	return true;
}

static void start_package(struct pipeline *p, uint64_t now_ns)
{
	drop_package(p);
	p->pkg_start_ns = now_ns;
	p->pkg.t.started_ms = clock_wall_ms();
}

static void scan_ready(struct pipeline *p, enum scan_kind k, const char *text, uint64_t now_ns)
{
	if (k == SCAN_VOID) {
		void_last(p, now_ns);
		return;
	}
	if (k == SCAN_BADGE_OUT) {
		end_session(p, "badge-out code");
		return;
	}
	if (!p->ops->can_seal(p->ud)) {
		reject(p, "Storage full: cannot seal, call a lead");
		return;
	}
	if (k == SCAN_ORDER) {
		start_package(p, now_ns);
		strcopy(p->pkg.order_id, sizeof(p->pkg.order_id), text);
		p->pkg.t.order_ms = clock_wall_ms();
		lookup(p, now_ns);
		set_state(p, PL_SCANNING);
	} else if (k == SCAN_LABEL) {
		start_package(p, now_ns);
		set_label(p, k);
		lookup(p, now_ns);
		set_state(p, PL_PACKAGING);
	} else if (k == SCAN_LABEL_2D) {
		reject(p, "Scan the label's tracking barcode first");
	} else {
		reject(p, "Scan the order slip or the shipping label first");
	}
}

static void scan_in_package(struct pipeline *p, enum scan_kind k, const char *text,
			    uint64_t now_ns)
{
	if (k == SCAN_VOID) {
		log_info("pipeline", "package %s voided before sealing", pkg_name(p));
		drop_package(p);
		set_state(p, PL_READY);
		indicate(p, IND_REJECT, "Package cancelled");
		return;
	}
	if (k == SCAN_BADGE_OUT) {
		reject(p, "Finish or void the package first");
		return;
	}
	switch (p->state) {
	case PL_SCANNING:
		if (k == SCAN_LABEL) {
			set_label(p, k);
			/* the lookup by order ID is still on its way, or answered: keep it */
			set_state(p, PL_PACKAGING);
		} else if (k == SCAN_ORDER) {
			reject(p, "Order %s already scanned: scan its shipping label", pkg_name(p));
		} else {
			reject(p, "Scan the shipping label first");
		}
		return;
	case PL_PACKAGING:
	case PL_WEIGHING:
		if (k == SCAN_BOX) {
			const struct box_cfg *b = station_cfg_find_box(p->cfg, text);

			if (!b) {
				reject(p, "Unknown box %s: not in the catalog", text);
				return;
			}
			snprintf(p->pkg.box.code, sizeof(p->pkg.box.code), "%s", b->code);
			snprintf(p->pkg.box.type, sizeof(p->pkg.box.type), "%s", b->type);
			p->pkg.box.length_mm = b->length_mm;
			p->pkg.box.width_mm = b->width_mm;
			p->pkg.box.height_mm = b->height_mm;
			p->pkg.box.tare_g = b->tare_g;
			p->pkg.t.box_ms = clock_wall_ms();
			set_state(p, PL_WEIGHING);
		} else if (k == SCAN_ORDER && !p->pkg.order_id[0]) {
			strcopy(p->pkg.order_id, sizeof(p->pkg.order_id), text);
			p->pkg.t.order_ms = clock_wall_ms();
			show_step(p);
		} else if ((k == SCAN_LABEL || k == SCAN_LABEL_2D) && merge_2d(p, k)) {
			/* the 2D part of the label: postal code, country, service class */
		} else if (k == SCAN_LABEL) {
			reject(p, "Label already scanned for %s: scan the box", pkg_name(p));
		} else {
			reject(p, p->state == PL_PACKAGING ? "Scan the box" : "Place the package on the scale");
		}
		return;
	case PL_BLOCKED:
		if (k == SCAN_LABEL && !p->seal_failed) {
			/* relabel: new tracking number, ask central again, judge again */
			log_info("pipeline", "%s relabelled %s -> %s", pkg_name(p),
				 p->pkg.label.tracking, text);
			p->pkg.label = (struct pkg_label){ 0 };
			set_label(p, k);
			p->pkg.override = (struct pkg_override){ 0 };
			lookup(p, now_ns);
			advance(p, now_ns);
		} else if (p->seal_failed) {
			reject(p, "Not sealed yet: storage error, retrying");
		} else {
			reject(p, "Blocked: %s (relabel, void, or lead badge)",
			       first_block_detail(&p->pkg));
		}
		return;
	case PL_ORDER_WAIT:
	case PL_PHOTO:
		reject(p, "Wait: the station is working");
		return;
	default:
		return;
	}
}

/* Codes that mean the same at every step: badges on barcodes, reprint, override prompt.
 * @return true when handled. */
static bool scan_anywhere(struct pipeline *p, enum scan_kind k, uint64_t now_ns)
{
	switch (k) {
	case SCAN_BADGE:
		pipeline_on_badge(p, p->scan, now_ns);
		return true;
	case SCAN_REPRINT:
		if (p->state != PL_READY)
			reject(p, "Finish or void the package first");
		else if (!p->last_sealed[0])
			reject(p, "Nothing sealed yet in this session");
		else
			indicate(p, IND_SEALED, "Sealed %s", p->last_sealed);
		return true;
	case SCAN_OVERRIDE:
		if (p->state == PL_BLOCKED && !p->seal_failed)
			indicate(p, IND_BLOCKED, "Lead: badge now to override %s", pkg_name(p));
		else
			reject(p, "Nothing to override");
		return true;
	default:
		return false;
	}
}

void pipeline_on_scan(struct pipeline *p, const char *text, size_t len, uint64_t now_ns)
{
	enum scan_kind k;

	if (len == 0 || len > SCAN_MAX || memchr(text, '\0', len)) {
		reject(p, "Unreadable or too long barcode (%zu bytes)", len);
		rearm(p);
		return;
	}
	memcpy(p->scan, text, len);
	p->scan[len] = '\0';
	k = classify(p, p->scan, len);
	if (p->state == PL_NO_PACKER) {
		if (k == SCAN_BADGE)
			pipeline_on_badge(p, p->scan, now_ns);
		else
			reject(p, "Badge in first");
		return;
	}
	p->activity_ns = now_ns;
	if (scan_anywhere(p, k, now_ns)) {
		/* handled */
	} else if ((k == SCAN_ORDER || k == SCAN_BOX) && len >= PKG_ID_MAX) {
		reject(p, "Barcode too long for an order or box code (%zu characters)", len);
	} else if (k == SCAN_UNKNOWN) {
		reject(p, "Unknown barcode '%.40s'", p->scan);
	} else if (k == SCAN_BAD_CHECK) {
		reject(p, "Looks like %s %s, but the check digit is wrong: rescan",
		       p->label.carrier[0] ? p->label.carrier : "a tracking number",
		       p->label.tracking);
	} else if (p->state == PL_READY) {
		scan_ready(p, k, p->scan, now_ns);
	} else {
		scan_in_package(p, k, p->scan, now_ns);
	}
	rearm(p);
}

void pipeline_on_trigger(struct pipeline *p, uint64_t now_ns)
{
	if (strcmp(p->cfg->trigger_action, "accept") != 0)
		return;
	if (p->state != PL_WEIGHING) {
		reject(p, "Pedal: nothing to accept at this step");
		return;
	}
	if (!p->last_stable || p->last_g < (int32_t)p->cfg->weigh_min_g) {
		reject(p, "Pedal: wait for a stable weight on the scale");
		return;
	}
	log_info("pipeline", "%s: pedal accepts %d g on the scale", pkg_name(p), (int)p->last_g);
	p->scale_cleared = true;
	pipeline_on_weight(p, p->last_g, true, now_ns);
}

void pipeline_on_badge(struct pipeline *p, const char *id, uint64_t now_ns)
{
	bool lead = station_cfg_is_lead(p->cfg, id);

	if (p->state == PL_NO_PACKER) {
		start_session(p, id, now_ns);
		return;
	}
	p->activity_ns = now_ns;
	if (p->state == PL_BLOCKED && lead && !p->seal_failed) {
		char names[PKG_DETAIL_MAX];

		rules_blocking_names(&p->pkg, names, sizeof(names));
		p->pkg.override.present = true;
		snprintf(p->pkg.override.lead_id, sizeof(p->pkg.override.lead_id), "%s", id);
		snprintf(p->pkg.override.reason, sizeof(p->pkg.override.reason),
			 "lead badge override at the station");
		snprintf(p->pkg.override.rules, sizeof(p->pkg.override.rules), "%s", names);
		p->pkg.override.at_ms = clock_wall_ms();
		log_notice("pipeline", "lead %s overrode %s on %s", id, names, pkg_name(p));
		do_seal(p, now_ns);
		return;
	}
	if (p->state == PL_READY) {
		if (strcmp(id, p->packer) == 0)
			end_session(p, "badge-out");
		else {
			log_info("pipeline", "packer %s replaces %s", id, p->packer);
			start_session(p, id, now_ns);
		}
		return;
	}
	if (lead && p->state != PL_BLOCKED)
		reject(p, "Lead %s: nothing to override", id);
	else
		reject(p, "Finish or void the package first");
	rearm(p);
}

void pipeline_on_weight(struct pipeline *p, int32_t grams, bool stable, uint64_t now_ns)
{
	bool was_cleared = p->scale_cleared;

	p->last_g = grams;
	p->last_stable = stable;
	if (grams < (int32_t)p->cfg->weigh_min_g) {
		p->scale_cleared = true;
		if (!was_cleared && p->state == PL_WEIGHING)
			show_step(p);
		return;
	}
	if (p->state != PL_WEIGHING || !stable || !p->scale_cleared)
		return;
	p->activity_ns = now_ns;
	p->scale_cleared = false;
	p->pkg.has_weight = true;
	p->pkg.gross_g = grams;
	p->pkg.measured_g = grams - (int32_t)p->pkg.box.tare_g;
	/* dimensional and billable weight need the carrier and service: rules_evaluate() */
	p->pkg.t.weighed_ms = clock_wall_ms();
	advance(p, now_ns);
}

void pipeline_on_photo(struct pipeline *p, const uint8_t *jpeg, size_t len, unsigned width,
		       unsigned height, uint64_t now_ns)
{
	if (p->state != PL_PHOTO)
		return; /* late photo after a timeout: the package moved on */
	p->step_deadline = 0;
	if (jpeg && len) {
		/* Room to keep it if the package has to wait, made now: keeping cannot fail. */
		if (len > p->photo_cap) {
			uint8_t *n = realloc(p->photo, len);

			if (!n) {
				jpeg = NULL;
				goto out;
			}
			p->photo = n;
			p->photo_cap = len;
		}
		p->photo_data = jpeg; /* borrowed until this call returns */
		p->photo_len = len;
		p->pkg.has_photo = true;
		p->pkg.photo_bytes = (uint32_t)len;
		p->pkg.photo_width = width;
		p->pkg.photo_height = height;
		p->pkg.t.photo_ms = clock_wall_ms();
	}
out:
	if (!jpeg)
		log_warn("pipeline", "%s: no photo from the camera", pkg_name(p));
	/* state stays PL_PHOTO so advance() does not capture again; it seals or blocks */
	advance(p, now_ns);
	/* Not sealed in this call (blocked, seal failed): keep our own copy from now on. */
	if (p->pkg.has_photo && p->photo_data == jpeg && jpeg) {
		memcpy(p->photo, jpeg, p->photo_len);
		p->photo_data = p->photo;
	}
}

void pipeline_on_order(struct pipeline *p, uint64_t token, const struct order_ctx *ctx,
		       enum order_source src, uint64_t now_ns)
{
	if (token != p->token || !p->lookup_pending)
		return;
	p->lookup_pending = false;
	if (ctx) {
		p->pkg.order = *ctx;
		p->pkg.order_src = src;
	}
	if (p->state == PL_ORDER_WAIT)
		advance(p, now_ns);
}

void pipeline_on_timer(struct pipeline *p, uint64_t now_ns)
{
	if (p->step_deadline && now_ns >= p->step_deadline) {
		p->step_deadline = 0;
		if (p->state == PL_ORDER_WAIT) {
			advance(p, now_ns);
		} else if (p->state == PL_PHOTO) {
			log_warn("pipeline", "%s: photo timed out after %u ms", pkg_name(p),
				 p->cfg->photo_timeout_ms);
			advance(p, now_ns);
		} else if (p->state == PL_BLOCKED && p->seal_failed) {
			p->seal_failed = false;
			do_seal(p, now_ns);
		}
		return;
	}
	if (p->state == PL_READY &&
	    now_ns >= p->activity_ns + (uint64_t)p->cfg->session_idle_s * NSEC_PER_SEC) {
		end_session(p, "idle timeout");
		return;
	}
	if (p->state > PL_READY && !p->seal_failed &&
	    now_ns >= p->pkg_start_ns + (uint64_t)p->cfg->package_timeout_s * NSEC_PER_SEC) {
		log_notice("pipeline", "package %s dropped after %u s without a seal", pkg_name(p),
			   p->cfg->package_timeout_s);
		drop_package(p);
		p->activity_ns = now_ns;
		set_state(p, PL_READY);
		indicate(p, IND_REJECT, "Package timed out: start again");
		return;
	}
	rearm(p);
}

void pipeline_refresh(struct pipeline *p)
{
	show_step(p);
}

enum pipeline_state pipeline_get_state(const struct pipeline *p)
{
	return p->state;
}

const char *pipeline_get_packer(const struct pipeline *p)
{
	return p->packer;
}

const struct package *pipeline_get_package(const struct pipeline *p)
{
	return &p->pkg;
}

const char *pipeline_get_last_sealed(const struct pipeline *p)
{
	return p->last_sealed;
}

void pipeline_get_counts(const struct pipeline *p, uint64_t *ret_sealed, uint64_t *ret_rejected)
{
	if (ret_sealed)
		*ret_sealed = p->n_sealed;
	if (ret_rejected)
		*ret_rejected = p->n_rejected;
}
