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

/* Registry (STYLE 9). The sim backend is always compiled in: boards/sim needs it. */
static const struct scale_ops *const scale_backends[] = {
	&scale_sim_ops,
	NULL,
};

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
	if (!s || !ret)
		return -EINVAL;
	return s->ops->on_readable(s, ret);
}

int scale_tare(struct scale *s)
{
	if (!s)
		return -EINVAL;
	if (!s->ops->tare)
		return -EOPNOTSUPP;
	return s->ops->tare(s);
}

const char *scale_get_model(const struct scale *s)
{
	return s ? s->model : "";
}
