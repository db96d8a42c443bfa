/* SPDX-License-Identifier: MIT */
/*
 * drivers/badge/badge.c - the badge reader class layer: registry, life cycle, NULL checks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/badge/badge.h"
#include "drivers/badge/badge_proto.h"

extern const struct badge_ops badge_sim_ops;
extern const struct badge_ops badge_evdev_ops;
extern const struct badge_ops badge_wiegand_ops;

/* Registry (STYLE 9); the sim backend is always compiled in. The wiegand backend is too: built
 * without libgpiod, hal/gpio returns -EOPNOTSUPP and so does its open(). */
static const struct badge_ops *const badge_backends[] = {
	&badge_evdev_ops,
	&badge_wiegand_ops,
	&badge_sim_ops,
	NULL,
};

static const struct badge_ops *lookup(const char *name)
{
	size_t i;

	for (i = 0; name && badge_backends[i]; i++) {
		if (!strcmp(badge_backends[i]->name, name))
			return badge_backends[i];
	}
	return NULL;
}

bool badge_backend_exists(const char *name)
{
	return lookup(name) != NULL;
}

int badge_open(const struct badge_cfg *cfg, struct badge **ret)
{
	const struct badge_ops *ops;
	struct badge *b;
	int r;

	if (!cfg || !ret)
		return -EINVAL;
	ops = lookup(cfg->backend);
	if (!ops)
		return -ENOENT;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ops = ops;
	b->cfg = *cfg;
	b->cfg.backend[sizeof(b->cfg.backend) - 1] = '\0';
	b->cfg.device[sizeof(b->cfg.device) - 1] = '\0';
	b->cfg.chip[sizeof(b->cfg.chip) - 1] = '\0';
	b->cfg.formats[sizeof(b->cfg.formats) - 1] = '\0';
	r = ops->open(b);
	if (r < 0)
		goto err_close;
	b->model[sizeof(b->model) - 1] = '\0';
	*ret = b;
	return 0;

err_close:
	ops->close(b); /* backends accept half-open handles */
	free(b);
	return r;
}

void badge_close(struct badge *b)
{
	if (!b)
		return;
	b->ops->close(b);
	free(b);
}

int badge_get_fd(const struct badge *b)
{
	if (!b)
		return -EINVAL;
	return b->ops->get_fd(b);
}

int badge_on_readable(struct badge *b, struct badge_read *ret)
{
	if (!b || !ret)
		return -EINVAL;
	return b->ops->on_readable(b, ret);
}

const char *badge_get_model(const struct badge *b)
{
	return b ? b->model : "";
}

int badge_check_cfg(const struct badge_cfg *cfg)
{
	unsigned formats;

	if (!cfg || !memchr(cfg->backend, '\0', sizeof(cfg->backend)) ||
	    !memchr(cfg->formats, '\0', sizeof(cfg->formats)))
		return -EINVAL;
	if (badge_proto_parse_formats(cfg->formats, &formats) < 0 ||
	    cfg->gap_ms > BADGE_WIEGAND_GAP_MS_MAX || cfg->key_timeout_ms > BADGE_KEY_TIMEOUT_MS_MAX)
		return -EINVAL;
	if (!strcmp(cfg->backend, "wiegand") &&
	    (cfg->d0 < 0 || cfg->d1 < 0 || cfg->d0 == cfg->d1 ||
	     !(cfg->chip[0] || cfg->device[0])))
		return -EINVAL;
	return 0;
}
