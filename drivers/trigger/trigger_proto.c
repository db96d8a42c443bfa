/* SPDX-License-Identifier: MIT */
/*
 * drivers/trigger/trigger_proto.c - the edge debouncer (trigger_proto.h).
 */
#include "drivers/trigger/trigger_proto.h"

void trigger_debounce_init(struct trigger_debounce *d, uint64_t period_ns, bool level)
{
	d->period_ns = period_ns;
	d->stable = level;
	d->raw = level;
	d->raw_ns = 0;
	d->pending = false;
	d->glitches = 0;
}

/* The pending level held long enough: report it. */
static int commit(struct trigger_debounce *d, struct trigger_event *ret)
{
	d->pending = false;
	d->stable = d->raw;
	ret->pressed = d->raw;
	ret->t_ns = d->raw_ns;
	return 1;
}

int trigger_debounce_edge(struct trigger_debounce *d, bool level, uint64_t t_ns,
			  struct trigger_event *ret)
{
	int r = 0;

	if (t_ns < d->raw_ns)
		t_ns = d->raw_ns;
	if (level == d->raw)
		return 0;
	if (d->pending && t_ns - d->raw_ns >= d->period_ns)
		r = commit(d, ret); /* the previous level held: it counts */
	else if (d->pending)
		d->glitches++; /* it goes back before it counted */
	d->raw = level;
	d->raw_ns = t_ns;
	d->pending = d->raw != d->stable;
	if (d->pending && d->period_ns == 0 && r == 0)
		return commit(d, ret);
	return r;
}

uint64_t trigger_debounce_deadline(const struct trigger_debounce *d)
{
	if (!d->pending)
		return 0;
	return d->raw_ns + d->period_ns;
}

int trigger_debounce_settle(struct trigger_debounce *d, uint64_t now_ns,
			    struct trigger_event *ret)
{
	if (!d->pending || now_ns < d->raw_ns || now_ns - d->raw_ns < d->period_ns)
		return 0;
	return commit(d, ret);
}
