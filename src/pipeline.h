/* SPDX-License-Identifier: MIT */
/*
 * src/pipeline.h - the capture state machine for one packing station.
 *
 * Why a state machine: a packer does one thing at a time, but the devices deliver whatever
 * they see (a scan at the wrong step, a weight while scanning, a badge mid-package). Each
 * input is judged against the current step: it advances the package, is rejected with a clear
 * indicator signal (and no change of state), or is ignored. The machine knows nothing of fds,
 * devices or MQTT: inputs are function calls, outputs go through struct pipeline_ops, time
 * comes in as now_ns. That makes every path testable without hardware (tests/unit).
 *
 *   NO_PACKER --badge--> READY --order/label scan--> SCANNING --label--> PACKAGING
 *   PACKAGING --box scan--> WEIGHING --stable weight--> (ORDER_WAIT) --> (PHOTO) --> rules
 *   rules --pass--> seal --> READY           rules --block--> BLOCKED
 *   BLOCKED --lead badge--> seal (override recorded) | --new label--> re-judge | --void--> READY
 *   any package step --void code--> READY (package dropped, nothing sealed)
 *   READY --void code--> a void record for the last sealed one
 *   READY --badge-out code / same badge / idle timeout--> NO_PACKER
 */
#ifndef SEALBENCH_SRC_PIPELINE_H
#define SEALBENCH_SRC_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/config.h"
#include "src/package.h"

enum pipeline_state {
	PL_NO_PACKER = 0,
	PL_READY,
	PL_SCANNING,   /* order slip scanned, waiting for the label */
	PL_PACKAGING,  /* label scanned, waiting for the box */
	PL_WEIGHING,   /* waiting for a stable weight */
	PL_ORDER_WAIT, /* weighed, waiting for the order context (bounded) */
	PL_PHOTO,      /* waiting for the camera */
	PL_BLOCKED,    /* a rule blocks the seal */
	_PL_STATE_MAX,
};

/** What the packer sees; src/indicator.c turns it into lamps, buzzer and text. */
enum indication {
	IND_IDLE = 0, /* no packer: amber, "Badge in" */
	IND_READY,    /* green steady */
	IND_WAIT,     /* amber steady: waiting for the packer's next step */
	IND_BUSY,     /* amber blinking: the station is working (order lookup, photo) */
	IND_SEALED,   /* green + short double beep */
	IND_BLOCKED,  /* red steady + long tone */
	IND_REJECT,   /* red flash + error beep, then back to the current step's signal */
	IND_FAULT,    /* red blinking: the station cannot seal (storage full, device fault) */
	_IND_MAX,
};

/** Outputs of the machine. All mandatory. Called synchronously from pipeline_*(). */
struct pipeline_ops {
	/** Show @p ind with a short text line (borrowed for the call). */
	void (*indicate)(void *ud, enum indication ind, const char *text);
	/** Ask for one photo; the answer is pipeline_on_photo(). @return 0 or -errno. */
	int (*capture)(void *ud);
	/**
	 * Ask for the order context of @p order_id / @p tracking (either may be "").
	 * The answer is pipeline_on_order() with the same @p token.
	 */
	void (*order_lookup)(void *ud, uint64_t token, const char *order_id, const char *tracking);
	/** Whether a sealed record already carries @p tracking. */
	bool (*tracking_sealed)(void *ud, const char *tracking);
	/**
	 * Commit the package durably (record + photo). Returns only after the commit.
	 * @param ret_id receives the record ID (RECORD_ID_MAX bytes).
	 * @return 0, or -errno (nothing sealed; the machine shows a fault and keeps the package).
	 */
	int (*seal)(void *ud, struct package *p, const uint8_t *photo, size_t photo_len,
		    char *ret_id);
	/** Whether the store has room for another record (quota, disk). */
	bool (*can_seal)(void *ud);
	/** Arm the machine's single timer at monotonic @p deadline_ns (0 = disarm). */
	void (*arm_timer)(void *ud, uint64_t deadline_ns);
};

struct pipeline;

/**
 * @brief Create the machine. @p cfg is borrowed and must outlive it.
 * @return 0 and *ret (free with pipeline_free()), -ENOMEM.
 */
int pipeline_new(const struct station_cfg *cfg, const struct pipeline_ops *ops, void *ud,
		 struct pipeline **ret);
void pipeline_free(struct pipeline *p);

/* Inputs. Each returns nothing: a wrong input is an indication, not an error. */
void pipeline_on_badge(struct pipeline *p, const char *id, uint64_t now_ns);
void pipeline_on_scan(struct pipeline *p, const char *text, size_t len, uint64_t now_ns);
void pipeline_on_weight(struct pipeline *p, int32_t grams, bool stable, uint64_t now_ns);
/** A photo (borrowed for the call; copied if kept), or NULL when the capture failed. */
void pipeline_on_photo(struct pipeline *p, const uint8_t *jpeg, size_t len, unsigned width,
		       unsigned height, uint64_t now_ns);
/** Order context for @p token; @p ctx NULL = not available (offline, timeout, not found). */
void pipeline_on_order(struct pipeline *p, uint64_t token, const struct order_ctx *ctx,
		       enum order_source src, uint64_t now_ns);
/**
 * A pedal / photo-eye press ([station] trigger_action). "accept": at the weighing step, take
 * the stable weight on the scale even if the scale was not seen empty since the last seal (a
 * box re-weighed in place); otherwise the press is rejected with a hint.
 */
void pipeline_on_trigger(struct pipeline *p, uint64_t now_ns);
/** The timer armed through ops->arm_timer fired. */
void pipeline_on_timer(struct pipeline *p, uint64_t now_ns);
/** Storage or devices changed health: re-show the current step (clears a fault). */
void pipeline_refresh(struct pipeline *p);

enum pipeline_state pipeline_get_state(const struct pipeline *p);
const char *pipeline_state_to_string(enum pipeline_state s);
const char *indication_to_string(enum indication ind);
/** @brief Current packer ("" when none). Borrowed. */
const char *pipeline_get_packer(const struct pipeline *p);
/** @brief The package being built (read-only view for status and tests). */
const struct package *pipeline_get_package(const struct pipeline *p);
/** @brief ID of the last sealed record ("" none). */
const char *pipeline_get_last_sealed(const struct pipeline *p);
/** @brief Counters: sealed records (including voids), rejected inputs. */
void pipeline_get_counts(const struct pipeline *p, uint64_t *ret_sealed, uint64_t *ret_rejected);

#endif
