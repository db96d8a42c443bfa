/* SPDX-License-Identifier: MIT */
/*
 * hal/usb.h - the libusb seam: a context whose fds the loop can watch as ONE fd, HID interface
 * discovery, open/claim with kernel-driver detach and re-attach, asynchronous interrupt
 * transfers, report writes and hotplug. libusb types stay inside hal/usb.c.
 *
 * One fd: libusb runs on several fds (usbfs device fds, its event and timer fds) that come
 * and go. hal_usb_new() creates an epoll fd and keeps libusb's pollfds in it with
 * libusb_set_pollfd_notifiers(); when libusb cannot fold its timeouts into its own fds
 * (libusb_pollfds_handle_timeouts() == 0, not the case on Linux), a timerfd armed from
 * libusb_get_next_timeout() joins them. hal_usb_get_fd() returns that epoll fd; when it polls
 * readable, call hal_usb_handle_events(), which never blocks. Completions and hotplug
 * notices are delivered from inside hal_usb_handle_events() only.
 *
 * Blocking: only hal_usb_dev_open() (one control transfer for the report descriptor when no
 * kernel driver is bound, HAL_USB_CTRL_TIMEOUT_MS at most) and hal_usb_dev_close() (waits up
 * to HAL_USB_CANCEL_TIMEOUT_MS for cancelled transfers to come back) may wait; both run at
 * open/close time, never in steady state.
 *
 * Returns 0 / -errno (libusb codes mapped once, in hal_usb_errno()); never logs.
 */
#ifndef SEALBENCH_HAL_USB_H
#define SEALBENCH_HAL_USB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest hub chain (USB 3 allows 7 tiers below the root). */
#define HAL_USB_PORTS_MAX 7
/** "B-P.P.P.P.P.P.P:C.I" fits. */
#define HAL_USB_SYSFS_NAME_MAX 48
/** Timeout of the control transfers made at open time. */
#define HAL_USB_CTRL_TIMEOUT_MS 500
/** How long close waits for cancelled transfers to be handed back. */
#define HAL_USB_CANCEL_TIMEOUT_MS 500
/** Largest HID report descriptor we read (the HID descriptor's length field is 16-bit, but
 * real scale descriptors are a few hundred bytes). */
#define HAL_USB_REPORT_DESC_MAX 4096

struct hal_usb;
struct hal_usb_dev;

/** A HID interface found by hal_usb_hid_enumerate(). */
struct hal_usb_hid_info {
	uint16_t vid, pid;
	uint8_t bus, addr;
	uint8_t ports[HAL_USB_PORTS_MAX]; /* port chain from the root hub */
	unsigned n_ports;
	uint8_t config;		    /* bConfigurationValue the interface belongs to */
	uint8_t iface;		    /* bInterfaceNumber */
	uint8_t subclass, protocol; /* 1/1 boot keyboard, 1/2 boot mouse */
	uint8_t ep_in;		    /* interrupt IN endpoint address (mandatory for HID) */
	uint8_t ep_out;		    /* interrupt OUT endpoint address, 0 when none */
	uint16_t in_packet;	    /* wMaxPacketSize of ep_in */
	uint16_t report_desc_len;   /* from the HID class descriptor */
	char sysfs_name[HAL_USB_SYSFS_NAME_MAX]; /* "1-1.2:1.0" */
};

/**
 * @brief Map a LIBUSB_ERROR_* code to -errno (e.g. NO_DEVICE -> -ENODEV, ACCESS -> -EACCES,
 * BUSY -> -EBUSY, TIMEOUT -> -ETIMEDOUT, NOT_SUPPORTED -> -EOPNOTSUPP, other -> -EIO).
 * Non-negative values are returned unchanged.
 */
int hal_usb_errno(int libusb_err);

/**
 * @brief Find the HID report descriptor length in an interface's class-specific descriptor
 * bytes (libusb's interface "extra"): the HID descriptor (type 0x21) lists its class
 * descriptors; the report descriptor is type 0x22. Pure.
 * @return 0 and *ret_len; -ENOENT no HID descriptor or no report descriptor entry;
 *         -EBADMSG truncated.
 */
int hal_usb_hid_desc_report_len(const uint8_t *extra, size_t len, uint16_t *ret_len);

/**
 * @brief The sysfs name of an interface, "<bus>-<p1>.<p2>...:<config>.<iface>". Pure.
 * @return 0; -ENOBUFS @p len too small; -EINVAL no ports.
 */
int hal_usb_sysfs_name(uint8_t bus, const uint8_t *ports, unsigned n_ports, uint8_t config,
		       uint8_t iface, char *buf, size_t len);

/**
 * @brief Create a libusb context and its epoll fd.
 * @return 0 and *ret (free with hal_usb_free()); -ENOMEM; -EIO / -ENOENT when libusb cannot
 *         start (no usbfs, e.g. in a container).
 */
int hal_usb_new(struct hal_usb **ret);
/** @brief Free the context. Every device must be closed first. Accepts NULL. */
void hal_usb_free(struct hal_usb *u);
/** @brief The epoll fd to watch for EPOLLIN. Borrowed: do not close; valid until free. */
int hal_usb_get_fd(const struct hal_usb *u);
/**
 * @brief Handle whatever libusb has pending, without blocking. Callbacks run from here.
 * @return 0; -errno from libusb.
 */
int hal_usb_handle_events(struct hal_usb *u);

/**
 * @brief Call @p cb for every HID interface of every attached device whose VID/PID match
 * (0 = any). The info is valid during the call only. @p cb returns true to stop.
 * @return the number of interfaces visited; -errno.
 */
int hal_usb_hid_enumerate(struct hal_usb *u, uint16_t vid, uint16_t pid,
			  bool (*cb)(const struct hal_usb_hid_info *info, void *userdata),
			  void *userdata);

/**
 * @brief Read an interface's HID report descriptor without disturbing a bound kernel driver:
 * from sysfs when usbhid holds the interface (a keyboard wedge must never lose its driver
 * just because we looked), else with a GET_DESCRIPTOR control transfer.
 * @param buf receives up to @p len bytes.
 * @return the number of bytes; -ENOENT device gone; -EACCES; -errno.
 */
int hal_usb_hid_read_report_desc(struct hal_usb *u, const struct hal_usb_hid_info *info,
				 uint8_t *buf, size_t len);

/**
 * @brief Open the device, detach the kernel driver from the interface (remembering to
 * re-attach it at close) and claim the interface.
 * @return 0 and *ret (close with hal_usb_dev_close()); -ENODEV gone; -EACCES no permission
 *         (udev rule missing); -EBUSY another program holds it; -errno.
 */
int hal_usb_dev_open(struct hal_usb *u, const struct hal_usb_hid_info *info,
		     struct hal_usb_dev **ret);

/**
 * @brief Cancel transfers, release the interface, re-attach the kernel driver we detached,
 * close. Accepts NULL and devices that were unplugged.
 */
void hal_usb_dev_close(struct hal_usb_dev *d);

/**
 * Completion of an interrupt IN transfer: @p status 0 with the bytes (borrowed for the call),
 * -ENODEV when the device went away (no more calls follow), -EIO / -EPIPE for a failed
 * transfer (the transfer is resubmitted).
 */
typedef void (*hal_usb_in_cb)(void *userdata, const uint8_t *data, size_t len, int status);

/**
 * @brief Start reading the interrupt IN endpoint continuously (submit; resubmit on completion).
 * @return 0; -EALREADY; -ENODEV; -errno.
 */
int hal_usb_dev_start_in(struct hal_usb_dev *d, hal_usb_in_cb cb, void *userdata);

enum hal_usb_report_type {
	HAL_USB_REPORT_OUTPUT = 2, /* HID report types as used by SET_REPORT */
	HAL_USB_REPORT_FEATURE = 3,
};

/**
 * @brief Send a report asynchronously (fire and forget): an output report goes to the
 * interrupt OUT endpoint when the interface has one, else (and for feature reports) as a
 * SET_REPORT control transfer. @p id 0 means the device uses no report IDs.
 * @return 0 when submitted; -ENODEV; -EMSGSIZE @p len too large; -errno.
 */
int hal_usb_dev_write_report(struct hal_usb_dev *d, enum hal_usb_report_type type, uint8_t id,
			     const uint8_t *data, size_t len);

/**
 * @brief Ask for hotplug notices for VID/PID (0 = any): @p cb(userdata, arrived) runs from
 * hal_usb_handle_events(). It must not open devices itself; set a flag and act afterwards.
 * @return 0; -EOPNOTSUPP when libusb has no hotplug support here; -EALREADY; -errno.
 */
int hal_usb_hotplug(struct hal_usb *u, uint16_t vid, uint16_t pid,
		    void (*cb)(void *userdata, bool arrived), void *userdata);

#endif
