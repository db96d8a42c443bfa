/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_usb.c - hal/usb without a USB device: the pure descriptor helpers
 * (table-driven), the libusb error mapping, and the context/epoll plumbing where libusb can
 * start (it cannot without usbfs, e.g. in a container: that case is skipped with a reason).
 * Opening, claiming, kernel-driver detach/re-attach, transfers and hotplug need a device and
 * run in the VM rig (USB gadget / dummy_hcd), not here.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hal/usb.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void hid_desc_table(void **state)
{
	static const struct {
		const char *legend;
		uint8_t b[24];
		size_t n;
		int r;
		uint16_t len;
	} rows[] = {
		{"HID descriptor, one report descriptor",
		 {9, 0x21, 0x11, 0x01, 0, 1, 0x22, 0x41, 0x00},
		 9,
		 0,
		 0x41},
		{"16-bit length", {9, 0x21, 0x11, 0x01, 0, 1, 0x22, 0x34, 0x12}, 9, 0, 0x1234},
		{"physical descriptor first",
		 {12, 0x21, 0x11, 0x01, 0, 2, 0x23, 0x10, 0x00, 0x22, 0x50, 0x00},
		 12,
		 0,
		 0x50},
		{"after another class descriptor",
		 {3, 0x24, 0, 9, 0x21, 0x11, 0x01, 0, 1, 0x22, 0x41, 0x00},
		 12,
		 0,
		 0x41},
		{"no report descriptor listed",
		 {9, 0x21, 0x11, 0x01, 0, 1, 0x23, 1, 0},
		 9,
		 -ENOENT,
		 0},
		{"no HID descriptor", {3, 0x24, 0}, 3, -ENOENT, 0},
		{"empty", {0}, 0, -ENOENT, 0},
		{"count beyond length",
		 {9, 0x21, 0x11, 0x01, 0, 2, 0x22, 0x41, 0x00},
		 9,
		 -EBADMSG,
		 0},
		{"truncated", {9, 0x21, 0x11, 0x01}, 4, -EBADMSG, 0},
		{"zero bLength", {0, 0x21}, 2, -EBADMSG, 0},
		{"short HID descriptor", {4, 0x21, 0x11, 0x01}, 4, -EBADMSG, 0},
	};
	uint16_t len;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		len = 0xbeef;
		r = hal_usb_hid_desc_report_len(rows[i].b, rows[i].n, &len);
		if (r != rows[i].r)
			fail_msg("%s: %d, want %d", rows[i].legend, r, rows[i].r);
		if (r == 0 && len != rows[i].len)
			fail_msg("%s: length %#x", rows[i].legend, len);
		if (r != 0 && len != 0xbeef)
			fail_msg("%s: out-param touched", rows[i].legend);
	}
}

static void sysfs_name_table(void **state)
{
	static const uint8_t p1[] = {1}, p3[] = {1, 4, 2};
	static const uint8_t p7[HAL_USB_PORTS_MAX] = {1, 2, 3, 4, 5, 6, 7};
	char buf[HAL_USB_SYSFS_NAME_MAX];

	(void)state;
	assert_int_equal(hal_usb_sysfs_name(1, p1, 1, 1, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1-1:1.0");
	assert_int_equal(hal_usb_sysfs_name(3, p3, 3, 1, 2, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "3-1.4.2:1.2");
	assert_int_equal(hal_usb_sysfs_name(255, p7, 7, 255, 255, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "255-1.2.3.4.5.6.7:255.255");
	assert_int_equal(hal_usb_sysfs_name(1, p3, 3, 1, 0, buf, 8), -ENOBUFS);
	assert_int_equal(hal_usb_sysfs_name(1, p1, 0, 1, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(hal_usb_sysfs_name(1, p1, 8, 1, 0, buf, sizeof(buf)), -EINVAL);
}

static void errno_map(void **state)
{
	(void)state;
	assert_int_equal(hal_usb_errno(0), 0);
	assert_int_equal(hal_usb_errno(7), 7); /* byte counts pass through */
#ifdef WITH_LIBUSB
	assert_int_equal(hal_usb_errno(-4), -ENODEV);	   /* LIBUSB_ERROR_NO_DEVICE */
	assert_int_equal(hal_usb_errno(-3), -EACCES);	   /* LIBUSB_ERROR_ACCESS */
	assert_int_equal(hal_usb_errno(-6), -EBUSY);	   /* LIBUSB_ERROR_BUSY */
	assert_int_equal(hal_usb_errno(-7), -ETIMEDOUT);   /* LIBUSB_ERROR_TIMEOUT */
	assert_int_equal(hal_usb_errno(-9), -EPIPE);	   /* LIBUSB_ERROR_PIPE */
	assert_int_equal(hal_usb_errno(-12), -EOPNOTSUPP); /* LIBUSB_ERROR_NOT_SUPPORTED */
	assert_int_equal(hal_usb_errno(-99), -EIO);	   /* LIBUSB_ERROR_OTHER */
#endif
}

static bool count_cb(const struct hal_usb_hid_info *info, void *ud)
{
	(void)info;
	(*(unsigned *)ud)++;
	return false;
}

static void context_plumbing(void **state)
{
	struct hal_usb *u = NULL;
	struct pollfd p;
	unsigned n = 0;
	int r;

	(void)state;
	hal_usb_free(NULL);
	hal_usb_dev_close(NULL);
	r = hal_usb_new(&u);
	if (r < 0) {
		assert_null(u);
		printf("# skip: libusb cannot start here (%s); the VM rig covers it\n",
		       strerror(-r));
		skip();
	}
	assert_true(hal_usb_get_fd(u) >= 0);
	/* Nothing pending: the epoll fd is quiet and handling events does not block. */
	p.fd = hal_usb_get_fd(u);
	p.events = POLLIN;
	assert_true(poll(&p, 1, 0) >= 0);
	assert_int_equal(hal_usb_handle_events(u), 0);
	r = hal_usb_hid_enumerate(u, 0, 0, count_cb, &n);
	assert_true(r >= 0);
	assert_int_equal((unsigned)r, n);
	hal_usb_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hid_desc_table),
		cmocka_unit_test(sysfs_name_table),
		cmocka_unit_test(errno_map),
		cmocka_unit_test(context_plumbing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
