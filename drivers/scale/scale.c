/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale.c - the scale class layer: backend registry, handle life cycle and the
 * NULL checks and fallbacks (STYLE 8), so that backends stay minimal.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scale/scale.h"

/* Backends (each file exports exactly its ops table, STYLE 11). */
extern const struct scale_ops scale_sim_ops;
extern const struct scale_ops scale_serial_mtsics_ops;
extern const struct scale_ops scale_serial_scp01_ops;
#ifdef WITH_LIBUSB
extern const struct scale_ops scale_usbhid_ops;
#endif

/* Registry (STYLE 9). The sim backend is always compiled in: boards/sim needs it. */
static const struct scale_ops *const scale_backends[] = {
	&scale_serial_mtsics_ops,
	&scale_serial_scp01_ops,
#ifdef WITH_LIBUSB
	&scale_usbhid_ops,
#endif
	&scale_sim_ops,
	NULL,
};

/* ---- stability filter ---- */

void scale_filter_init(struct scale_filter *f, unsigned band_g, unsigned stable_ms)
{
	f->band_g = band_g ? band_g : SCALE_STABLE_BAND_G_DEFAULT;
	f->window_ns = (uint64_t)(stable_ms ? stable_ms : SCALE_STABLE_MS_DEFAULT) * 1000000ULL;
	scale_filter_reset(f);
}

void scale_filter_reset(struct scale_filter *f)
{
	f->running = false;
	f->min_g = 0;
	f->max_g = 0;
	f->since_ns = 0;
}

bool scale_filter_apply(struct scale_filter *f, struct scale_reading *rd)
{
	int32_t lo, hi;

	if (!rd->stable || rd->status != SCALE_OK) {
		scale_filter_reset(f);
		rd->stable = false;
		return false;
	}
	if (f->running) {
		lo = rd->grams < f->min_g ? rd->grams : f->min_g;
		hi = rd->grams > f->max_g ? rd->grams : f->max_g;
		/* int64: a run from INT32_MIN to INT32_MAX must not overflow the spread */
		if ((int64_t)hi - lo <= (int64_t)f->band_g && rd->t_ns >= f->since_ns) {
			f->min_g = lo;
			f->max_g = hi;
			rd->stable = rd->t_ns - f->since_ns >= f->window_ns;
			return rd->stable;
		}
	}
	/* A new run starts with this reading. */
	f->running = true;
	f->min_g = rd->grams;
	f->max_g = rd->grams;
	f->since_ns = rd->t_ns;
	rd->stable = false;
	return false;
}

static const struct scale_ops *lookup(const char *name)
{
	size_t i;

	for (i = 0; name && scale_backends[i]; i++) {
		if (!strcmp(scale_backends[i]->name, name))
			return scale_backends[i];
	}
	return NULL;
}

bool scale_backend_exists(const char *name)
{
	return lookup(name) != NULL;
}

int scale_open(const struct scale_cfg *cfg, struct scale **ret)
{
	const struct scale_ops *ops;
	struct scale *s;
	int r;

	if (!cfg || !ret)
		return -EINVAL;
	ops = lookup(cfg->backend);
	if (!ops)
		return -ENOENT;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->cfg = *cfg;
	s->cfg.backend[sizeof(s->cfg.backend) - 1] = '\0';
	s->cfg.device[sizeof(s->cfg.device) - 1] = '\0';
	s->cfg.serial[sizeof(s->cfg.serial) - 1] = '\0';
	/* Defaults for 0 are applied here, once, so every backend sees the effective values. */
	if (!s->cfg.stable_band_g)
		s->cfg.stable_band_g = SCALE_STABLE_BAND_G_DEFAULT;
	if (!s->cfg.stable_ms)
		s->cfg.stable_ms = SCALE_STABLE_MS_DEFAULT;
	if (!s->cfg.poll_ms)
		s->cfg.poll_ms = SCALE_POLL_MS_DEFAULT;
	scale_filter_init(&s->filter, s->cfg.stable_band_g, s->cfg.stable_ms);
	r = ops->open(s);
	if (r < 0)
		goto err_close;
	s->model[sizeof(s->model) - 1] = '\0';
	*ret = s;
	return 0;

err_close:
	ops->close(s); /* backends accept half-open handles */
	free(s);
	return r;
}

void scale_close(struct scale *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s);
}

int scale_get_fd(const struct scale *s)
{
	if (!s)
		return -EINVAL;
	return s->ops->get_fd(s);
}

int scale_on_readable(struct scale *s, struct scale_reading *ret)
{
	struct scale_reading rd;
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = s->ops->on_readable(s, &rd);
	if (r < 0) {
		if (r == -ENODEV)
			scale_filter_reset(&s->filter);
		return r;
	}
	if (!s->ops->stable_is_final)
		scale_filter_apply(&s->filter, &rd);
	*ret = rd;
	return 0;
}

int scale_tare(struct scale *s)
{
	if (!s)
		return -EINVAL;
	if (!s->ops->tare)
		return -EOPNOTSUPP;
	scale_filter_reset(&s->filter); /* the weight is about to jump */
	return s->ops->tare(s);
}

const char *scale_get_model(const struct scale *s)
{
	return s ? s->model : "";
}
