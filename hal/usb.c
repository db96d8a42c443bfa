/* SPDX-License-Identifier: MIT */
/*
 * hal/usb.c - the libusb seam (hal/usb.h). Built without WITH_LIBUSB, the pure helpers remain
 * and everything that needs libusb returns -EOPNOTSUPP.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "hal/usb.h"

#ifdef WITH_LIBUSB
#include <libusb.h>
#endif

#define USB_DT_HID    0x21
#define USB_DT_REPORT 0x22
/* HID descriptor: bLength, bDescriptorType, bcdHID (2), bCountryCode, bNumDescriptors, then
 * (bDescriptorType, wDescriptorLength) per class descriptor. */
#define HID_DESC_FIXED 6
#define HID_DESC_ENTRY 3

int hal_usb_hid_desc_report_len(const uint8_t *extra, size_t len, uint16_t *ret_len)
{
	size_t i = 0, k, n;

	if (!extra || !ret_len)
		return -EINVAL;
	while (i + 2 <= len) {
		uint8_t blen = extra[i];

		if (blen < 2 || i + blen > len)
			return -EBADMSG;
		if (extra[i + 1] == USB_DT_HID) {
			if (blen < HID_DESC_FIXED)
				return -EBADMSG;
			n = extra[i + 5];
			if (HID_DESC_FIXED + n * HID_DESC_ENTRY > blen)
				return -EBADMSG;
			for (k = 0; k < n; k++) {
				const uint8_t *e = extra + i + HID_DESC_FIXED + k * HID_DESC_ENTRY;

				if (e[0] == USB_DT_REPORT) {
					*ret_len = (uint16_t)(e[1] | e[2] << 8);
					return 0;
				}
			}
			return -ENOENT;
		}
		i += blen;
	}
	return i == len ? -ENOENT : -EBADMSG;
}

int hal_usb_sysfs_name(uint8_t bus, const uint8_t *ports, unsigned n_ports, uint8_t config,
		       uint8_t iface, char *buf, size_t len)
{
	size_t off;
	unsigned i;
	int n;

	if (!ports || !buf || n_ports == 0 || n_ports > HAL_USB_PORTS_MAX)
		return -EINVAL;
	n = snprintf(buf, len, "%u-%u", bus, ports[0]);
	if (n < 0 || (size_t)n >= len)
		return -ENOBUFS;
	off = (size_t)n;
	for (i = 1; i < n_ports; i++) {
		n = snprintf(buf + off, len - off, ".%u", ports[i]);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOBUFS;
		off += (size_t)n;
	}
	n = snprintf(buf + off, len - off, ":%u.%u", config, iface);
	if (n < 0 || (size_t)n >= len - off)
		return -ENOBUFS;
	return 0;
}

#ifdef WITH_LIBUSB

int hal_usb_errno(int e)
{
	switch (e) {
	case LIBUSB_SUCCESS:
		return 0;
	case LIBUSB_ERROR_IO:
		return -EIO;
	case LIBUSB_ERROR_INVALID_PARAM:
		return -EINVAL;
	case LIBUSB_ERROR_ACCESS:
		return -EACCES;
	case LIBUSB_ERROR_NO_DEVICE:
		return -ENODEV;
	case LIBUSB_ERROR_NOT_FOUND:
		return -ENOENT;
	case LIBUSB_ERROR_BUSY:
		return -EBUSY;
	case LIBUSB_ERROR_TIMEOUT:
		return -ETIMEDOUT;
	case LIBUSB_ERROR_OVERFLOW:
		return -EOVERFLOW;
	case LIBUSB_ERROR_PIPE:
		return -EPIPE;
	case LIBUSB_ERROR_INTERRUPTED:
		return -EINTR;
	case LIBUSB_ERROR_NO_MEM:
		return -ENOMEM;
	case LIBUSB_ERROR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	default:
		return e > 0 ? e : -EIO;
	}
}

struct hal_usb {
	libusb_context *ctx;
	int epfd;
	int tfd; /* only when libusb does not handle its timeouts in its fds */
	bool hotplug_on;
	libusb_hotplug_callback_handle hotplug;
	void (*hotplug_cb)(void *userdata, bool arrived);
	void *hotplug_ud;
};

struct hal_usb_dev {
	struct hal_usb *u;
	libusb_device_handle *h;
	uint8_t iface, ep_in, ep_out;
	uint16_t in_packet;
	bool claimed;
	bool reattach;		    /* we detached a kernel driver */
	struct libusb_transfer *in; /* the reading transfer, NULL when idle */
	bool in_busy;		    /* submitted, not yet handed back */
	unsigned writes_busy;	    /* report writes in flight */
	bool gone;
	hal_usb_in_cb in_cb;
	void *in_ud;
};

static uint32_t ep_events(short ev)
{
	return (ev & POLLIN ? EPOLLIN : 0) | (ev & POLLOUT ? EPOLLOUT : 0);
}

static void LIBUSB_CALL pollfd_added(int fd, short events, void *ud)
{
	struct hal_usb *u = ud;
	struct epoll_event ev = {.events = ep_events(events), .data.fd = fd};

	/* Nowhere to report a failure from a notifier; EEXIST is harmless, ENOMEM would show
	 * up as a scale that stops reading. */
	if (epoll_ctl(u->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno == EEXIST)
		(void)epoll_ctl(u->epfd, EPOLL_CTL_MOD, fd, &ev);
}

static void LIBUSB_CALL pollfd_removed(int fd, void *ud)
{
	struct hal_usb *u = ud;

	(void)epoll_ctl(u->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int hal_usb_new(struct hal_usb **ret)
{
	const struct libusb_pollfd **fds;
	struct epoll_event ev = {.events = EPOLLIN};
	struct hal_usb *u;
	size_t i;
	int r;

	if (!ret)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->epfd = u->tfd = -1;
	r = hal_usb_errno(libusb_init(&u->ctx));
	if (r < 0) {
		u->ctx = NULL;
		goto err_free;
	}
	u->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (u->epfd < 0) {
		r = -errno;
		goto err_free;
	}
	libusb_set_pollfd_notifiers(u->ctx, pollfd_added, pollfd_removed, u);
	fds = libusb_get_pollfds(u->ctx);
	if (!fds) {
		r = -ENOMEM;
		goto err_free;
	}
	for (i = 0; fds[i]; i++)
		pollfd_added(fds[i]->fd, fds[i]->events, u);
	libusb_free_pollfds(fds);
	if (!libusb_pollfds_handle_timeouts(u->ctx)) {
		u->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (u->tfd < 0) {
			r = -errno;
			goto err_free;
		}
		ev.data.fd = u->tfd;
		if (epoll_ctl(u->epfd, EPOLL_CTL_ADD, u->tfd, &ev) < 0) {
			r = -errno;
			goto err_free;
		}
	}
	*ret = u;
	return 0;

err_free:
	hal_usb_free(u);
	return r;
}

void hal_usb_free(struct hal_usb *u)
{
	if (!u)
		return;
	if (u->ctx) {
		if (u->hotplug_on)
			libusb_hotplug_deregister_callback(u->ctx, u->hotplug);
		libusb_set_pollfd_notifiers(u->ctx, NULL, NULL, NULL);
		libusb_exit(u->ctx);
	}
	if (u->tfd >= 0)
		close(u->tfd);
	if (u->epfd >= 0)
		close(u->epfd);
	free(u);
}

int hal_usb_get_fd(const struct hal_usb *u)
{
	return u ? u->epfd : -EINVAL;
}

/* Re-arm our timerfd from libusb's next timeout (only when libusb needs it). */
static void arm_timeout(struct hal_usb *u)
{
	struct itimerspec its = {0};
	struct timeval tv;
	uint64_t ticks;

	if (u->tfd < 0)
		return;
	(void)!read(u->tfd, &ticks, sizeof(ticks));
	if (libusb_get_next_timeout(u->ctx, &tv) == 1) {
		its.it_value.tv_sec = tv.tv_sec;
		its.it_value.tv_nsec = tv.tv_usec * 1000L;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1; /* due now; 0 would disarm */
	}
	(void)timerfd_settime(u->tfd, 0, &its, NULL);
}

int hal_usb_handle_events(struct hal_usb *u)
{
	struct timeval zero = {0, 0};
	int r;

	if (!u)
		return -EINVAL;
	r = hal_usb_errno(libusb_handle_events_timeout_completed(u->ctx, &zero, NULL));
	arm_timeout(u);
	return r == -EINTR ? 0 : r;
}

static int fill_info(libusb_device *dev, const struct libusb_config_descriptor *cfg,
		     const struct libusb_interface_descriptor *id, struct hal_usb_hid_info *info)
{
	struct libusb_device_descriptor dd;
	int i, n, r;

	memset(info, 0, sizeof(*info));
	r = hal_usb_errno(libusb_get_device_descriptor(dev, &dd));
	if (r < 0)
		return r;
	info->vid = dd.idVendor;
	info->pid = dd.idProduct;
	info->bus = libusb_get_bus_number(dev);
	info->addr = libusb_get_device_address(dev);
	n = libusb_get_port_numbers(dev, info->ports, HAL_USB_PORTS_MAX);
	info->n_ports = n > 0 ? (unsigned)n : 0;
	info->config = cfg->bConfigurationValue;
	info->iface = id->bInterfaceNumber;
	info->subclass = id->bInterfaceSubClass;
	info->protocol = id->bInterfaceProtocol;
	for (i = 0; i < id->bNumEndpoints; i++) {
		const struct libusb_endpoint_descriptor *ep = &id->endpoint[i];

		if ((ep->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) !=
		    LIBUSB_TRANSFER_TYPE_INTERRUPT)
			continue;
		if (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) {
			if (!info->ep_in) {
				info->ep_in = ep->bEndpointAddress;
				info->in_packet = ep->wMaxPacketSize;
			}
		} else if (!info->ep_out) {
			info->ep_out = ep->bEndpointAddress;
		}
	}
	if (!info->ep_in)
		return -ENOENT; /* not a usable HID interface */
	if (hal_usb_hid_desc_report_len(id->extra, (size_t)id->extra_length,
					&info->report_desc_len) < 0)
		return -ENOENT;
	if (info->n_ports)
		(void)hal_usb_sysfs_name(info->bus, info->ports, info->n_ports, info->config,
					 info->iface, info->sysfs_name, sizeof(info->sysfs_name));
	return 0;
}

int hal_usb_hid_enumerate(struct hal_usb *u, uint16_t vid, uint16_t pid,
			  bool (*cb)(const struct hal_usb_hid_info *info, void *userdata),
			  void *userdata)
{
	struct hal_usb_hid_info info;
	libusb_device **list;
	ssize_t n, i;
	int visited = 0, k, a;
	bool stop = false;

	if (!u || !cb)
		return -EINVAL;
	n = libusb_get_device_list(u->ctx, &list);
	if (n < 0)
		return hal_usb_errno((int)n);
	for (i = 0; i < n && !stop; i++) {
		struct libusb_config_descriptor *cfg;
		struct libusb_device_descriptor dd;

		if (libusb_get_device_descriptor(list[i], &dd) < 0)
			continue;
		if ((vid && dd.idVendor != vid) || (pid && dd.idProduct != pid))
			continue;
		if (libusb_get_active_config_descriptor(list[i], &cfg) < 0)
			continue;
		for (k = 0; k < cfg->bNumInterfaces && !stop; k++) {
			for (a = 0; a < cfg->interface[k].num_altsetting && !stop; a++) {
				const struct libusb_interface_descriptor *id =
					&cfg->interface[k].altsetting[a];

				if (id->bInterfaceClass != LIBUSB_CLASS_HID)
					continue;
				if (fill_info(list[i], cfg, id, &info) < 0)
					continue;
				visited++;
				stop = cb(&info, userdata);
			}
		}
		libusb_free_config_descriptor(cfg);
	}
	libusb_free_device_list(list, 1);
	return visited;
}

/*
 * usbhid binds an interface and creates a child "0003:VVVV:PPPP.NNNN" (bus type 3 = USB) in the
 * interface's sysfs directory; it holds the report descriptor the kernel read at probe time.
 */
#define SYSFS_USB	     "/sys/bus/usb/devices/"
#define SYSFS_PATH_MAX	     192
#define HID_CHILD_PREFIX_MAX 16

static int read_sysfs_report_desc(const struct hal_usb_hid_info *info, uint8_t *buf, size_t len)
{
	char dir[SYSFS_PATH_MAX], path[SYSFS_PATH_MAX], want[HID_CHILD_PREFIX_MAX];
	struct dirent *e;
	DIR *d;
	ssize_t n;
	int fd = -1;

	if (!info->sysfs_name[0])
		return -ENOENT;
	n = snprintf(dir, sizeof(dir), SYSFS_USB "%s", info->sysfs_name);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENOENT;
	snprintf(want, sizeof(want), "0003:%04X:%04X.", info->vid, info->pid);
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, want, strlen(want)))
			continue;
		n = snprintf(path, sizeof(path), "%s/%s/report_descriptor", dir, e->d_name);
		if (n > 0 && (size_t)n < sizeof(path))
			fd = open(path, O_RDONLY | O_CLOEXEC);
		break;
	}
	closedir(d);
	if (fd < 0)
		return -ENOENT; /* no kernel driver bound: ask the device */
	do {
		n = read(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	return (int)n;
}

int hal_usb_hid_read_report_desc(struct hal_usb *u, const struct hal_usb_hid_info *info,
				 uint8_t *buf, size_t len)
{
	libusb_device_handle *h;
	libusb_device **list;
	libusb_device *dev = NULL;
	ssize_t n, i;
	int r;

	if (!u || !info || !buf)
		return -EINVAL;
	r = read_sysfs_report_desc(info, buf, len);
	if (r != -ENOENT)
		return r;
	n = libusb_get_device_list(u->ctx, &list);
	if (n < 0)
		return hal_usb_errno((int)n);
	for (i = 0; i < n; i++) {
		if (libusb_get_bus_number(list[i]) == info->bus &&
		    libusb_get_device_address(list[i]) == info->addr)
			dev = list[i];
	}
	r = dev ? hal_usb_errno(libusb_open(dev, &h)) : -ENOENT;
	libusb_free_device_list(list, 1);
	if (r < 0)
		return r;
	if (len > info->report_desc_len)
		len = info->report_desc_len;
	r = hal_usb_errno(libusb_control_transfer(
		h, LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_STANDARD | LIBUSB_RECIPIENT_INTERFACE,
		LIBUSB_REQUEST_GET_DESCRIPTOR, USB_DT_REPORT << 8, info->iface, buf, (uint16_t)len,
		HAL_USB_CTRL_TIMEOUT_MS));
	libusb_close(h);
	return r;
}
static libusb_device *find_dev(libusb_device **list, ssize_t n, const struct hal_usb_hid_info *info)
{
	ssize_t i;

	for (i = 0; i < n; i++) {
		if (libusb_get_bus_number(list[i]) == info->bus &&
		    libusb_get_device_address(list[i]) == info->addr)
			return list[i];
	}
	return NULL;
}

int hal_usb_dev_open(struct hal_usb *u, const struct hal_usb_hid_info *info,
		     struct hal_usb_dev **ret)
{
	struct hal_usb_dev *d;
	libusb_device **list;
	libusb_device *dev;
	ssize_t n;
	int r;

	if (!u || !info || !ret)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->u = u;
	d->iface = info->iface;
	d->ep_in = info->ep_in;
	d->ep_out = info->ep_out;
	d->in_packet = info->in_packet ? info->in_packet : 64;
	n = libusb_get_device_list(u->ctx, &list);
	if (n < 0) {
		r = hal_usb_errno((int)n);
		goto err_free;
	}
	dev = find_dev(list, n, info);
	r = dev ? hal_usb_errno(libusb_open(dev, &d->h)) : -ENODEV;
	libusb_free_device_list(list, 1);
	if (r < 0)
		goto err_free;
	r = libusb_kernel_driver_active(d->h, d->iface);
	if (r == 1) {
		r = hal_usb_errno(libusb_detach_kernel_driver(d->h, d->iface));
		if (r < 0)
			goto err_close;
		d->reattach = true;
	} else if (r < 0 && r != LIBUSB_ERROR_NOT_SUPPORTED) {
		r = hal_usb_errno(r);
		goto err_close;
	}
	r = hal_usb_errno(libusb_claim_interface(d->h, d->iface));
	if (r < 0)
		goto err_close;
	d->claimed = true;
	*ret = d;
	return 0;

err_close:
	hal_usb_dev_close(d);
	return r;
err_free:
	free(d);
	return r;
}

static void LIBUSB_CALL in_done(struct libusb_transfer *t)
{
	struct hal_usb_dev *d = t->user_data;

	d->in_busy = false;
	switch (t->status) {
	case LIBUSB_TRANSFER_COMPLETED:
		d->in_cb(d->in_ud, t->buffer, (size_t)t->actual_length, 0);
		break;
	case LIBUSB_TRANSFER_CANCELLED:
		return; /* closing */
	case LIBUSB_TRANSFER_NO_DEVICE:
		d->gone = true;
		d->in_cb(d->in_ud, NULL, 0, -ENODEV);
		return;
	case LIBUSB_TRANSFER_STALL:
		d->in_cb(d->in_ud, NULL, 0, -EPIPE);
		break;
	default: /* ERROR, TIMED_OUT, OVERFLOW */
		d->in_cb(d->in_ud, NULL, 0, -EIO);
		break;
	}
	if (d->gone)
		return;
	if (libusb_submit_transfer(t) == 0) {
		d->in_busy = true;
	} else {
		d->gone = true;
		d->in_cb(d->in_ud, NULL, 0, -ENODEV);
	}
}

int hal_usb_dev_start_in(struct hal_usb_dev *d, hal_usb_in_cb cb, void *userdata)
{
	uint8_t *buf;
	int r;

	if (!d || !cb)
		return -EINVAL;
	if (d->in)
		return -EALREADY;
	if (d->gone)
		return -ENODEV;
	d->in = libusb_alloc_transfer(0);
	buf = malloc(d->in_packet);
	if (!d->in || !buf) {
		free(buf);
		libusb_free_transfer(d->in);
		d->in = NULL;
		return -ENOMEM;
	}
	d->in_cb = cb;
	d->in_ud = userdata;
	libusb_fill_interrupt_transfer(d->in, d->h, d->ep_in, buf, d->in_packet, in_done, d, 0);
	d->in->flags = LIBUSB_TRANSFER_FREE_BUFFER;
	r = hal_usb_errno(libusb_submit_transfer(d->in));
	if (r < 0) {
		libusb_free_transfer(d->in);
		d->in = NULL;
		return r;
	}
	d->in_busy = true;
	return 0;
}

static void LIBUSB_CALL write_done(struct libusb_transfer *t)
{
	struct hal_usb_dev *d = t->user_data;

	d->writes_busy--;
	if (t->status == LIBUSB_TRANSFER_NO_DEVICE)
		d->gone = true;
	libusb_free_transfer(t); /* FREE_BUFFER frees the data too */
}

/** Largest report we write (HID full-speed interrupt packets are at most 64 bytes; the
 * control path allows more, but no scale needs it). */
#define REPORT_WRITE_MAX 64

int hal_usb_dev_write_report(struct hal_usb_dev *d, enum hal_usb_report_type type, uint8_t id,
			     const uint8_t *data, size_t len)
{
	size_t total = len + (id ? 1 : 0);
	struct libusb_transfer *t;
	uint8_t *buf, *payload;
	bool intr;
	int r;

	if (!d || (!data && len))
		return -EINVAL;
	if (d->gone)
		return -ENODEV;
	if (total > REPORT_WRITE_MAX)
		return -EMSGSIZE;
	intr = type == HAL_USB_REPORT_OUTPUT && d->ep_out;
	t = libusb_alloc_transfer(0);
	buf = malloc(LIBUSB_CONTROL_SETUP_SIZE + total);
	if (!t || !buf) {
		free(buf);
		libusb_free_transfer(t);
		return -ENOMEM;
	}
	payload = intr ? buf : buf + LIBUSB_CONTROL_SETUP_SIZE;
	if (id)
		payload[0] = id;
	if (len)
		memcpy(payload + (id ? 1 : 0), data, len);
	if (intr) {
		libusb_fill_interrupt_transfer(t, d->h, d->ep_out, buf, (int)total, write_done, d,
					       HAL_USB_CTRL_TIMEOUT_MS);
	} else {
		/* HID class SET_REPORT: wValue = type << 8 | id, wIndex = interface. */
		libusb_fill_control_setup(buf,
					  LIBUSB_ENDPOINT_OUT | LIBUSB_REQUEST_TYPE_CLASS |
						  LIBUSB_RECIPIENT_INTERFACE,
					  0x09, (uint16_t)(type << 8 | id), d->iface,
					  (uint16_t)total);
		libusb_fill_control_transfer(t, d->h, buf, write_done, d, HAL_USB_CTRL_TIMEOUT_MS);
	}
	t->flags = LIBUSB_TRANSFER_FREE_BUFFER;
	r = hal_usb_errno(libusb_submit_transfer(t));
	if (r < 0) {
		libusb_free_transfer(t);
		if (r == -ENODEV)
			d->gone = true;
		return r;
	}
	d->writes_busy++;
	return 0;
}

void hal_usb_dev_close(struct hal_usb_dev *d)
{
	struct timeval tv = {0, 10000};
	uint64_t waited_ms = 0;

	if (!d)
		return;
	if (d->in_busy && libusb_cancel_transfer(d->in) < 0)
		d->in_busy = false; /* already done or device gone: nothing will come back */
	/* Cancelled transfers must come back through the event loop before they are freed. */
	while ((d->in_busy || d->writes_busy) && waited_ms < HAL_USB_CANCEL_TIMEOUT_MS) {
		libusb_handle_events_timeout_completed(d->u->ctx, &tv, NULL);
		waited_ms += 10;
	}
	if (d->in && !d->in_busy)
		libusb_free_transfer(d->in);
	/* else: leaked on purpose; freeing a transfer libusb still owns is worse */
	if (d->h) {
		if (d->claimed)
			(void)libusb_release_interface(d->h, d->iface);
		if (d->reattach && !d->gone)
			(void)libusb_attach_kernel_driver(d->h, d->iface);
		libusb_close(d->h);
	}
	free(d);
}

static int LIBUSB_CALL hotplug_cb(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event ev,
				  void *ud)
{
	struct hal_usb *u = ud;

	(void)ctx, (void)dev;
	u->hotplug_cb(u->hotplug_ud, ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED);
	return 0; /* stay registered */
}

int hal_usb_hotplug(struct hal_usb *u, uint16_t vid, uint16_t pid,
		    void (*cb)(void *userdata, bool arrived), void *userdata)
{
	int r;

	if (!u || !cb)
		return -EINVAL;
	if (u->hotplug_on)
		return -EALREADY;
	if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG))
		return -EOPNOTSUPP;
	u->hotplug_cb = cb;
	u->hotplug_ud = userdata;
	r = hal_usb_errno(libusb_hotplug_register_callback(
		u->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
		vid ? vid : LIBUSB_HOTPLUG_MATCH_ANY, pid ? pid : LIBUSB_HOTPLUG_MATCH_ANY,
		LIBUSB_HOTPLUG_MATCH_ANY, hotplug_cb, u, &u->hotplug));
	if (r < 0)
		return r;
	u->hotplug_on = true;
	return 0;
}

#else /* !WITH_LIBUSB: the pure helpers above only */

int hal_usb_errno(int e)
{
	return e >= 0 ? e : -EIO;
}

int hal_usb_new(struct hal_usb **ret)
{
	(void)ret;
	return -EOPNOTSUPP;
}

void hal_usb_free(struct hal_usb *u)
{
	(void)u;
}

int hal_usb_get_fd(const struct hal_usb *u)
{
	(void)u;
	return -EOPNOTSUPP;
}

int hal_usb_handle_events(struct hal_usb *u)
{
	(void)u;
	return -EOPNOTSUPP;
}

int hal_usb_hid_enumerate(struct hal_usb *u, uint16_t vid, uint16_t pid,
			  bool (*cb)(const struct hal_usb_hid_info *info, void *userdata),
			  void *userdata)
{
	(void)u, (void)vid, (void)pid, (void)cb, (void)userdata;
	return -EOPNOTSUPP;
}

int hal_usb_hid_read_report_desc(struct hal_usb *u, const struct hal_usb_hid_info *info,
				 uint8_t *buf, size_t len)
{
	(void)u, (void)info, (void)buf, (void)len;
	return -EOPNOTSUPP;
}

int hal_usb_dev_open(struct hal_usb *u, const struct hal_usb_hid_info *info,
		     struct hal_usb_dev **ret)
{
	(void)u, (void)info, (void)ret;
	return -EOPNOTSUPP;
}

void hal_usb_dev_close(struct hal_usb_dev *d)
{
	(void)d;
}

int hal_usb_dev_start_in(struct hal_usb_dev *d, hal_usb_in_cb cb, void *userdata)
{
	(void)d, (void)cb, (void)userdata;
	return -EOPNOTSUPP;
}

int hal_usb_dev_write_report(struct hal_usb_dev *d, enum hal_usb_report_type type, uint8_t id,
			     const uint8_t *data, size_t len)
{
	(void)d, (void)type, (void)id, (void)data, (void)len;
	return -EOPNOTSUPP;
}

int hal_usb_hotplug(struct hal_usb *u, uint16_t vid, uint16_t pid,
		    void (*cb)(void *userdata, bool arrived), void *userdata)
{
	(void)u, (void)vid, (void)pid, (void)cb, (void)userdata;
	return -EOPNOTSUPP;
}

#endif
