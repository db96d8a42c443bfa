/* SPDX-License-Identifier: MIT */
/*
 * Patterns. Why these: a packer should tell the state from the corner of an eye and the ear
 * without reading. Green = go (ready, sealed), amber = the station waits for you (steady) or is
 * working (blinking), red = stop (steady: blocked by a rule; blinking: the station itself is in
 * trouble). Sealed is a short double beep, a rejected scan three quick beeps, a block one long
 * tone.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/clock.h"
#include "src/ev.h"
#include "src/indicator.h"
#include "src/log.h"

/** Steps in one pattern. */
#define STEPS_MAX 8

struct step {
	unsigned mask;
	unsigned ms; /* 0 = hold this step */
};

struct pattern {
	struct step steps[STEPS_MAX];
	unsigned n;
	bool repeat;    /* loop the steps (blinking) */
	bool transient; /* play once, then return to the last steady indication */
};

#define R LIGHT_RED
#define A LIGHT_AMBER
#define G LIGHT_GREEN
#define Z LIGHT_BUZZER

static const struct pattern patterns[_IND_MAX] = {
	[IND_IDLE] = { { { A, 0 } }, 1, false, false },
	[IND_READY] = { { { G, 0 } }, 1, false, false },
	[IND_WAIT] = { { { A, 0 } }, 1, false, false },
	[IND_BUSY] = { { { A, 250 }, { 0, 250 } }, 2, true, false },
	[IND_SEALED] = { { { G | Z, 80 }, { G, 80 }, { G | Z, 80 }, { G, 0 } }, 4, false, false },
	[IND_BLOCKED] = { { { R | Z, 700 }, { R, 0 } }, 2, false, false },
	[IND_REJECT] = { { { R | Z, 100 }, { R, 80 }, { R | Z, 100 }, { R, 80 }, { R | Z, 100 },
			   { R, 300 } },
			 6, false, true },
	[IND_FAULT] = { { { R | Z, 500 }, { 0, 500 }, { R, 500 }, { 0, 500 } }, 4, true, false },
};

struct indicator {
	struct lights *lights;
	struct ev_source *timer;
	enum indication playing;
	unsigned step;
	enum indication steady; /* last non-transient indication */
	char steady_text[LIGHTS_TEXT_MAX + 1];
	char text[LIGHTS_TEXT_MAX + 1];
};

static void apply(struct indicator *ind)
{
	const struct pattern *pat = &patterns[ind->playing];
	const struct step *st = &pat->steps[ind->step];
	int r;

	if (ind->lights) {
		r = lights_set(ind->lights, st->mask);
		if (r < 0)
			log_debug("indicator", "lights_set: %s", strerror(-r));
	}
	if (st->ms)
		ev_timer_arm_in(ind->timer, (uint64_t)st->ms * NSEC_PER_MSEC);
	else
		ev_timer_disarm(ind->timer);
}

static void set_text(struct indicator *ind, const char *text)
{
	int r;

	snprintf(ind->text, sizeof(ind->text), "%s", text);
	if (ind->lights) {
		r = lights_text(ind->lights, ind->text);
		if (r < 0 && r != -EOPNOTSUPP)
			log_debug("indicator", "lights_text: %s", strerror(-r));
	}
}

static int on_timer(struct ev_source *s, uint64_t now_ns, void *userdata)
{
	struct indicator *ind = userdata;
	const struct pattern *pat = &patterns[ind->playing];

	(void)s;
	(void)now_ns;
	ind->step++;
	if (ind->step >= pat->n) {
		if (pat->transient) {
			ind->playing = ind->steady;
			set_text(ind, ind->steady_text);
		}
		ind->step = 0;
		if (!pat->repeat && !pat->transient)
			return 0; /* the last step was a hold */
	}
	apply(ind);
	return 0;
}

int indicator_new(struct ev *ev, struct lights *lights, struct indicator **ret)
{
	struct indicator *ind = calloc(1, sizeof(*ind));
	int r;

	if (!ind)
		return -ENOMEM;
	r = ev_add_timer(ev, on_timer, ind, &ind->timer);
	if (r < 0) {
		free(ind);
		return r;
	}
	ind->lights = lights;
	ind->playing = ind->steady = IND_IDLE;
	*ret = ind;
	return 0;
}

void indicator_free(struct indicator *ind)
{
	if (!ind)
		return;
	if (ind->lights)
		lights_set(ind->lights, 0);
	ev_source_free(ind->timer);
	free(ind);
}

void indicator_show(struct indicator *ind, enum indication what, const char *text)
{
	if ((unsigned)what >= _IND_MAX)
		return;
	if (!patterns[what].transient) {
		ind->steady = what == IND_SEALED ? IND_READY : what;
		snprintf(ind->steady_text, sizeof(ind->steady_text), "%s", text);
	}
	ind->playing = what;
	ind->step = 0;
	set_text(ind, text);
	apply(ind);
}

enum indication indicator_get_current(const struct indicator *ind)
{
	return ind->steady;
}

const char *indicator_get_text(const struct indicator *ind)
{
	return ind->text;
}
