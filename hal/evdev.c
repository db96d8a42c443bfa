/* SPDX-License-Identifier: MIT */
/*
 * hal/evdev.c - input device nodes: open + clock + grab, identity, batched reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "hal/evdev.h"

/** Events read per read(2): a scan is a few hundred events; the rest comes next call. */
#define EVDEV_READ_BATCH 64

static int (*ioctl_override)(int fd, unsigned long req, void *arg);

void hal_evdev_set_ioctl_override(int (*fn)(int fd, unsigned long req, void *arg))
{
	ioctl_override = fn;
}

/* ioctl() with the test seam; @return 0 or -errno. */
static int do_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	r = ioctl_override ? ioctl_override(fd, req, arg) : ioctl(fd, req, arg);
	return r < 0 ? -errno : 0;
}

int hal_evdev_open(const char *path, bool grab)
{
	int clk = CLOCK_MONOTONIC;
	int fd, r;

	if (!path || !*path)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* EVIOCSCLOCKID doubles as the "is this an input node" check: ENOTTY otherwise. */
	r = do_ioctl(fd, EVIOCSCLOCKID, &clk);
	if (r < 0)
		goto err_close;
	if (grab) {
		r = do_ioctl(fd, EVIOCGRAB, (void *)1);
		if (r < 0)
			goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return r;
}

void hal_evdev_close(int fd)
{
	if (fd < 0)
		return;
	/* Closing releases the grab too; the explicit ungrab is for fds shared with a child. */
	(void)do_ioctl(fd, EVIOCGRAB, (void *)0);
	close(fd);
}

int hal_evdev_get_id(int fd, struct hal_evdev_id *ret)
{
	char name[HAL_EVDEV_NAME_MAX];
	struct input_id id;
	int r;

	if (fd < 0 || !ret)
		return -EINVAL;
	memset(name, 0, sizeof(name));
	r = do_ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name);
	if (r < 0)
		return r;
	r = do_ioctl(fd, EVIOCGID, &id);
	if (r < 0)
		return r;
	memcpy(ret->name, name, sizeof(ret->name));
	ret->name[sizeof(ret->name) - 1] = '\0';
	ret->bustype = id.bustype;
	ret->vendor = id.vendor;
	ret->product = id.product;
	ret->version = id.version;
	return 0;
}

int hal_evdev_read(int fd, struct hal_evdev_event *buf, size_t max)
{
	struct input_event raw[EVDEV_READ_BATCH];
	size_t want, n, i;
	ssize_t r;

	if (fd < 0 || !buf || !max)
		return -EINVAL;
	want = max < EVDEV_READ_BATCH ? max : EVDEV_READ_BATCH;
	do {
		r = read(fd, raw, want * sizeof(raw[0]));
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == ENODEV ? -ENODEV : -errno;
	if (r == 0)
		return -ENODEV;
	/* evdev hands out whole events only; anything else is not an input node. */
	if ((size_t)r % sizeof(raw[0]))
		return -EIO;
	n = (size_t)r / sizeof(raw[0]);
	for (i = 0; i < n; i++) {
		buf[i].t_ns = (uint64_t)raw[i].input_event_sec * 1000000000ULL +
			      (uint64_t)raw[i].input_event_usec * 1000ULL;
		buf[i].type = raw[i].type;
		buf[i].code = raw[i].code;
		buf[i].value = raw[i].value;
	}
	return (int)n;
}
