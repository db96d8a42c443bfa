/* SPDX-License-Identifier: MIT */
/*
 * drivers/lights/lights.c - the indicator class layer: registry, life cycle, NULL checks,
 * the last-mask cache (unchanged sets never reach the backend) and text truncation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/lights/lights.h"
#include "drivers/lights/lights_proto.h"

extern const struct lights_ops lights_sim_ops;
extern const struct lights_ops lights_gpio_ops;

/* Registry (STYLE 9); the sim backend is always compiled in. */
static const struct lights_ops *const lights_backends[] = {
	&lights_sim_ops,
#ifdef WITH_LIBGPIOD2
	&lights_gpio_ops,
#endif
	NULL,
};

static const struct lights_ops *lookup(const char *name)
{
	size_t i;

	for (i = 0; name && lights_backends[i]; i++) {
		if (!strcmp(lights_backends[i]->name, name))
			return lights_backends[i];
	}
	return NULL;
}

bool lights_backend_exists(const char *name)
{
	return lookup(name) != NULL;
}

int lights_open(const struct lights_cfg *cfg, struct lights **ret)
{
	const struct lights_ops *ops;
	struct lights *l;
	int r;

	if (!cfg || !ret)
		return -EINVAL;
	ops = lookup(cfg->backend);
	if (!ops)
		return -ENOENT;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->ops = ops;
	l->cfg = *cfg;
	l->cfg.backend[sizeof(l->cfg.backend) - 1] = '\0';
	l->cfg.device[sizeof(l->cfg.device) - 1] = '\0';
	l->cfg.chip[sizeof(l->cfg.chip) - 1] = '\0';
	r = ops->open(l);
	if (r < 0)
		goto err_close;
	/* Start from a known state: everything off, so the cache below tells the truth. */
	r = ops->set(l, 0);
	if (r < 0)
		goto err_close;
	l->mask = 0;
	l->model[sizeof(l->model) - 1] = '\0';
	*ret = l;
	return 0;

err_close:
	ops->close(l); /* backends accept half-open handles */
	free(l);
	return r;
}

void lights_close(struct lights *l)
{
	if (!l)
		return;
	l->ops->close(l);
	free(l);
}

int lights_set(struct lights *l, unsigned mask)
{
	int r;

	if (!l || (mask & ~LIGHTS_MASK_ALL))
		return -EINVAL;
	if (mask == l->mask)
		return 0;
	r = l->ops->set(l, mask);
	if (r < 0)
		return r;
	l->mask = mask;
	return 0;
}

int lights_text(struct lights *l, const char *line)
{
	char buf[LIGHTS_TEXT_MAX + 1];
	size_t n;

	if (!l || !line)
		return -EINVAL;
	if (!l->ops->text)
		return -EOPNOTSUPP;
	/* One display line: stop at a line break, and cut long text on a UTF-8 boundary. */
	n = strcspn(line, "\r\n");
	if (n > LIGHTS_TEXT_MAX) {
		n = LIGHTS_TEXT_MAX;
		while (n > 0 && ((unsigned char)line[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(buf, line, n);
	buf[n] = '\0';
	return l->ops->text(l, buf);
}

unsigned lights_get_mask(const struct lights *l)
{
	return l ? l->mask : 0;
}

int lights_get_fd(const struct lights *l)
{
	if (!l || !l->ops->get_fd)
		return -1;
	return l->ops->get_fd(l);
}

const char *lights_get_model(const struct lights *l)
{
	return l ? l->model : "";
}
