/* SPDX-License-Identifier: MIT */
/*
 * hal/evdev.h - Linux input devices (/dev/input/event*) for keyboard-wedge scanners and
 * RFID readers that type.
 *
 * Opens the node non-blocking, switches its timestamps to CLOCK_MONOTONIC (EVIOCSCLOCKID; the
 * kernel's default is CLOCK_REALTIME, which jumps when NTP steps the clock) so they can be
 * compared with our timers, and grabs it (EVIOCGRAB) so the keystrokes of a scan do not also
 * land in a console or a desktop session. Reads batches of events and converts them to a
 * layout-independent struct (struct input_event's time fields differ between 32- and 64-bit
 * time ABIs). Returns -errno; never logs.
 *
 * Hotplug: when the device goes away, read() fails with ENODEV; hal_evdev_read() reports that
 * (and end-of-file, which only a non-evdev stand-in can produce) as -ENODEV.
 */
#ifndef SEALBENCH_HAL_EVDEV_H
#define SEALBENCH_HAL_EVDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Room for the device name (EVIOCGNAME); the kernel's names are well under this. */
#define HAL_EVDEV_NAME_MAX 128

/** One input event, timestamp in nanoseconds of the clock set at open (CLOCK_MONOTONIC). */
struct hal_evdev_event {
	uint64_t t_ns;
	uint16_t type;  /* EV_KEY, EV_SYN, EV_MSC, ... (linux/input-event-codes.h) */
	uint16_t code;  /* KEY_A, SYN_REPORT, ... */
	int32_t value;  /* EV_KEY: 0 release, 1 press, 2 autorepeat */
};

/** Identity of an input device, for the evidence record and sealbench-devices. */
struct hal_evdev_id {
	char name[HAL_EVDEV_NAME_MAX]; /* EVIOCGNAME, NUL-terminated */
	uint16_t bustype;              /* BUS_USB, BUS_BLUETOOTH, ... */
	uint16_t vendor;
	uint16_t product;
	uint16_t version;
};

/**
 * @brief Open an input device node.
 * @param path "/dev/input/by-id/usb-...-event-kbd".
 * @param grab take the device exclusively (EVIOCGRAB).
 * @return the fd (the caller releases it with hal_evdev_close()); -ENOENT no such node (not
 *         plugged in); -EACCES; -ENOTTY the node is not an input device; -EBUSY another
 *         process holds the grab; other -errno.
 */
int hal_evdev_open(const char *path, bool grab);

/** @brief Release the grab and close @p fd. Accepts a negative fd (does nothing). */
void hal_evdev_close(int fd);

/**
 * @brief Read the device identity.
 * @return 0 and *ret; -errno with *ret untouched.
 */
int hal_evdev_get_id(int fd, struct hal_evdev_id *ret);

/**
 * @brief Read the pending events (call after the fd polled readable, until -EAGAIN).
 * @param buf receives up to @p max events (max >= 1).
 * @return the number of events stored (>= 1); -EAGAIN none pending; -ENODEV the device is
 *         gone (unplugged; also end-of-file); -EIO a partial event; other -errno.
 */
int hal_evdev_read(int fd, struct hal_evdev_event *buf, size_t max);

/**
 * @brief Test seam: replace ioctl() for the calls above (SQLite aSyscall[] style), so a test
 * can stand a FIFO in for an input node. The function returns 0 or -1 with errno set, like
 * ioctl(). NULL restores the real ioctl(). Not thread-safe; set it before opening.
 */
void hal_evdev_set_ioctl_override(int (*fn)(int fd, unsigned long req, void *arg));

#endif
