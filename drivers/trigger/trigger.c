/* SPDX-License-Identifier: MIT */
/*
 * drivers/trigger/trigger.c - the trigger class layer: registry, life cycle, and the
 * debounce step every backend shares.
 *
 * Backends deliver raw edges (level + timestamp). The class feeds them to the debouncer
 * (trigger_proto.c) and keeps a timerfd armed at the debouncer's deadline, so the last
 * level of a burst is reported once it has held, without the station running a timer for
 * it. The fd the station polls is an epoll set of the backend fd and that timerfd.
 *
 * When the timer fires and the backend can read its line (get_level), the class compares
 * the line with the last edge: a mismatch means edges were lost (the kernel's event queue
 * overflowed under a chattering input), and the line's level is taken as a new edge at
 * that moment, so the reported state never stays wrong.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "drivers/trigger/trigger.h"
#include "drivers/trigger/trigger_proto.h"
#include "hal/clock.h"

extern const struct trigger_ops trigger_sim_ops;
extern const struct trigger_ops trigger_gpio_ops;

/* Registry (STYLE 9); the sim backend is always compiled in. */
static const struct trigger_ops *const trigger_backends[] = {
	&trigger_sim_ops,
#ifdef WITH_LIBGPIOD2
	&trigger_gpio_ops,
#endif
	NULL,
};

struct trigger_cls {
	int epfd;
	int tfd;
	uint64_t armed_ns; /* the deadline the timer is set to, 0 = disarmed */
	struct trigger_debounce db;
};

static const struct trigger_ops *lookup(const char *name)
{
	size_t i;

	for (i = 0; name && trigger_backends[i]; i++) {
		if (!strcmp(trigger_backends[i]->name, name))
			return trigger_backends[i];
	}
	return NULL;
}

bool trigger_backend_exists(const char *name)
{
	return lookup(name) != NULL;
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void cls_free(struct trigger *t)
{
	struct trigger_cls *cls = t->cls;

	if (!cls)
		return;
	if (cls->tfd >= 0)
		close(cls->tfd);
	if (cls->epfd >= 0)
		close(cls->epfd);
	free(cls);
	t->cls = NULL;
}

static int cls_new(struct trigger *t)
{
	struct trigger_cls *cls;

	cls = calloc(1, sizeof(*cls));
	if (!cls)
		return -ENOMEM;
	cls->epfd = -1;
	cls->tfd = -1;
	t->cls = cls;
	cls->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (cls->epfd < 0)
		return -errno;
	cls->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (cls->tfd < 0)
		return -errno;
	return add_fd(cls->epfd, cls->tfd);
}

int trigger_open(const struct trigger_cfg *cfg, struct trigger **ret)
{
	const struct trigger_ops *ops;
	struct trigger_cls *cls;
	struct trigger *t;
	int r, fd, level = 0;

	if (!cfg || !ret)
		return -EINVAL;
	ops = lookup(cfg->backend);
	if (!ops)
		return -ENOENT;
	if (cfg->debounce_ms > TRIGGER_DEBOUNCE_MS_MAX)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ops = ops;
	t->cfg = *cfg;
	t->cfg.backend[sizeof(t->cfg.backend) - 1] = '\0';
	t->cfg.device[sizeof(t->cfg.device) - 1] = '\0';
	t->cfg.chip[sizeof(t->cfg.chip) - 1] = '\0';
	r = cls_new(t);
	if (r < 0)
		goto err_cls;
	cls = t->cls;
	r = ops->open(t);
	if (r < 0)
		goto err_close;
	fd = ops->get_fd(t);
	if (fd >= 0) {
		r = add_fd(cls->epfd, fd);
		if (r < 0)
			goto err_close;
	}
	if (ops->get_level) {
		level = ops->get_level(t);
		if (level < 0) {
			r = level;
			goto err_close;
		}
	}
	trigger_debounce_init(&cls->db, (uint64_t)cfg->debounce_ms * NSEC_PER_MSEC, level);
	t->model[sizeof(t->model) - 1] = '\0';
	*ret = t;
	return 0;

err_close:
	ops->close(t); /* backends accept half-open handles */
err_cls:
	cls_free(t);
	free(t);
	return r;
}

void trigger_close(struct trigger *t)
{
	if (!t)
		return;
	t->ops->close(t);
	cls_free(t);
	free(t);
}

int trigger_get_fd(const struct trigger *t)
{
	const struct trigger_cls *cls;

	if (!t)
		return -EINVAL;
	cls = t->cls;
	return cls->epfd;
}

/* Point the timer at the debouncer's deadline (or disarm it). */
static void rearm(struct trigger_cls *cls)
{
	uint64_t dl = trigger_debounce_deadline(&cls->db);
	struct itimerspec its = {0};

	if (dl == cls->armed_ns)
		return;
	if (dl) {
		/* 0 would disarm: a deadline at the clock's origin is already past anyway. */
		its.it_value.tv_sec = (time_t)(dl / NSEC_PER_SEC);
		its.it_value.tv_nsec = (long)(dl % NSEC_PER_SEC);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(cls->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	cls->armed_ns = dl;
}

int trigger_on_readable(struct trigger *t, struct trigger_event *ret)
{
	struct trigger_cls *cls;
	struct trigger_edge e;
	uint64_t ticks, now, dl;
	int r, level;

	if (!t || !ret)
		return -EINVAL;
	cls = t->cls;
	for (;;) {
		r = t->ops->read_edge(t, &e);
		if (r == -EAGAIN)
			break;
		if (r < 0)
			return r;
		if (trigger_debounce_edge(&cls->db, e.level, e.t_ns, ret)) {
			rearm(cls);
			return 0;
		}
	}
	if (read(cls->tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
		cls->armed_ns = 0; /* expired: a one-shot timer is disarmed now */
	dl = trigger_debounce_deadline(&cls->db);
	now = clock_now_ns();
	if (dl && now >= dl) {
		if (t->ops->get_level) {
			level = t->ops->get_level(t);
			if (level < 0)
				return level;
			if (trigger_debounce_edge(&cls->db, level, now, ret)) {
				rearm(cls);
				return 0;
			}
		}
		if (trigger_debounce_settle(&cls->db, now, ret)) {
			rearm(cls);
			return 0;
		}
	}
	rearm(cls);
	return -EAGAIN;
}

bool trigger_is_pressed(const struct trigger *t)
{
	const struct trigger_cls *cls;

	if (!t)
		return false;
	cls = t->cls;
	return cls->db.stable;
}

unsigned long trigger_get_glitches(const struct trigger *t)
{
	const struct trigger_cls *cls;

	if (!t)
		return 0;
	cls = t->cls;
	return cls->db.glitches;
}

const char *trigger_get_model(const struct trigger *t)
{
	return t ? t->model : "";
}
