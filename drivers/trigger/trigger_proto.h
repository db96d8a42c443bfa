/* SPDX-License-Identifier: MIT */
/*
 * drivers/trigger/trigger_proto.h - the debouncer, a pure state machine over timestamped
 * edges.
 *
 * Why this shape: mechanical contacts bounce for 1..20 ms, and a photo-eye flickers on a
 * shiny box edge. A level counts once it has held for the period. The kernel gives each
 * edge a timestamp, so "held" is measured between edge timestamps, not by when our loop
 * happened to run: an edge that proves the previous level held long enough settles it at
 * once, and only the last level of a burst needs a timer (trigger_debounce_deadline(), then
 * trigger_debounce_settle()). A change that reverts within the period is a glitch: counted,
 * never reported. With a period of 0 every change is reported at its edge.
 */
#ifndef SEALBENCH_DRIVERS_TRIGGER_PROTO_H
#define SEALBENCH_DRIVERS_TRIGGER_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/trigger/trigger.h"

struct trigger_debounce {
	uint64_t period_ns;
	bool stable;            /* the reported level */
	bool raw;               /* the last level seen */
	uint64_t raw_ns;        /* when it was first seen */
	bool pending;           /* raw differs from stable and has not held long enough yet */
	unsigned long glitches; /* changes that reverted within the period */
};

/** @brief Start at @p level (read from the line at open), nothing pending. */
void trigger_debounce_init(struct trigger_debounce *d, uint64_t period_ns, bool level);

/**
 * @brief Feed one edge: the input is at @p level since @p t_ns. Timestamps older than the
 * last edge are taken as the last edge's (the kernel delivers in order; a resync read may
 * not). An edge to the level already seen changes nothing.
 * @return 1 and *ret when a change became stable (the previous level held the period before
 *         this edge, or the period is 0); 0 otherwise (*ret untouched).
 */
int trigger_debounce_edge(struct trigger_debounce *d, bool level, uint64_t t_ns,
			  struct trigger_event *ret);

/** @brief When the pending level will have held long enough; 0 when nothing is pending. */
uint64_t trigger_debounce_deadline(const struct trigger_debounce *d);

/**
 * @brief Time has passed without an edge.
 * @return 1 and *ret when the pending level has held until @p now_ns; 0 otherwise.
 */
int trigger_debounce_settle(struct trigger_debounce *d, uint64_t now_ns,
			    struct trigger_event *ret);

#endif
