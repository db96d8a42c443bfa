/* SPDX-License-Identifier: MIT */
/*
 * drivers/scanner/scanner.c - the scanner class layer: registry, life cycle, NULL checks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/scanner/scanner.h"
#include "drivers/scanner/scanner_proto.h"
#include "hal/serial.h"

extern const struct scanner_ops scanner_sim_ops;
extern const struct scanner_ops scanner_evdev_ops;
extern const struct scanner_ops scanner_serial_ops;

/* Registry (STYLE 9); the sim backend is always compiled in. */
static const struct scanner_ops *const scanner_backends[] = {
	&scanner_evdev_ops,
	&scanner_serial_ops,
	&scanner_sim_ops,
	NULL,
};

static const struct scanner_ops *lookup(const char *name)
{
	size_t i;

	for (i = 0; name && scanner_backends[i]; i++) {
		if (!strcmp(scanner_backends[i]->name, name))
			return scanner_backends[i];
	}
	return NULL;
}

bool scanner_backend_exists(const char *name)
{
	return lookup(name) != NULL;
}

int scanner_open(const struct scanner_cfg *cfg, struct scanner **ret)
{
	const struct scanner_ops *ops;
	struct scanner *s;
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

void scanner_close(struct scanner *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s);
}

int scanner_get_fd(const struct scanner *s)
{
	if (!s)
		return -EINVAL;
	return s->ops->get_fd(s);
}

int scanner_on_readable(struct scanner *s, struct scanner_scan *ret)
{
	if (!s || !ret)
		return -EINVAL;
	return s->ops->on_readable(s, ret);
}

const char *scanner_get_model(const struct scanner *s)
{
	return s ? s->model : "";
}

int scanner_check_cfg(const struct scanner_cfg *cfg)
{
	struct hal_serial_cfg line;
	struct scanner_opts o;
	bool serial;
	int r;

	if (!cfg || !memchr(cfg->backend, '\0', sizeof(cfg->backend)) ||
	    !memchr(cfg->serial, '\0', sizeof(cfg->serial)))
		return -EINVAL;
	serial = !strcmp(cfg->backend, "serial");
	r = scanner_proto_parse_opts(cfg, serial, &o);
	if (r < 0)
		return r;
	if (serial && cfg->serial[0])
		return hal_serial_parse(cfg->serial, &line);
	return 0;
}
