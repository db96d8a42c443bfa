/* SPDX-License-Identifier: MIT */
/*
 * drivers/scale/scale_usbhid.c - USB HID POS scales through libusb: board.conf
 * scale.backend = usbhid (only built WITH_LIBUSB).
 *
 * Finding the scale: every HID interface (optionally only scale.usb_vid / scale.usb_pid) whose
 * report descriptor has an application collection on usage page 0x8D (Scale) and an input
 * report with ID 3 is a scale; no VID:PID list to maintain. Boot keyboards and mice are
 * skipped without being touched, and descriptors are read from sysfs while usbhid holds an
 * interface, so a keyboard-wedge scanner never loses its driver because we looked.
 *
 * Reading: the kernel driver is detached (re-attached at close), the interface claimed, and
 * an interrupt IN transfer stays submitted. The first data report after open is discarded:
 * scales answer the first poll with whatever they measured last (stale, sometimes from before
 * the last zero). Reports are decoded by scale_proto_hid_reading() (exact integer grams).
 *
 * ONE fd: libusb's fds live in hal/usb's epoll fd; that fd and this backend's timerfd sit in a
 * second private epoll fd, which get_fd() returns. The timer (every scale.poll_ms):
 *   - repeats the last OK reading when the scale has sent nothing new for poll_ms, since many
 *     HID scales only report on change and the class stability filter needs readings that
 *     keep coming to confirm a settled weight;
 *   - while the scale is unplugged and libusb has no hotplug support, looks for it again
 *     (at most every USBHID_RESCAN_MS).
 *
 * Unplug/replug: when the IN transfer ends with "no device" the device is closed and one
 * SCALE_FAULT reading (grams 0) is reported, so nobody keeps a stale weight; readings resume
 * when the scale comes back (libusb hotplug arrival, or the rescan above). The backend does
 * NOT return -ENODEV for an unplug: the station would stop watching it for good.
 *
 * Zero: through the output report carrying Zero Scale (0x8D:0x80) when the descriptor has one,
 * else through that feature report, else scale_tare() says -EOPNOTSUPP.
 */
#ifdef WITH_LIBUSB

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "drivers/scale/scale.h"
#include "drivers/scale/scale_proto.h"
#include "hal/clock.h"
#include "hal/fifo.h"
#include "hal/usb.h"

/** Decoded reports waiting for on_readable(); more than this between two loop turns means
 * the loop is stuck, and the oldest readings matter least. */
#define USBHID_QUEUE_MAX 16
/** Rescan period while unplugged when libusb cannot tell us about arrivals. */
#define USBHID_RESCAN_MS 1000
/** HID boot interface subclass and its keyboard / mouse protocols. */
#define HID_SUBCLASS_BOOT     1
#define HID_PROTOCOL_KEYBOARD 1
#define HID_PROTOCOL_MOUSE    2

struct usbhid_item {
	int r; /* 0: rd is a reading; <0: an error to return once */
	struct scale_reading rd;
};

struct scale_usbhid {
	struct hal_usb *usb;
	struct hal_usb_dev *dev; /* NULL while unplugged */
	struct hal_usb_hid_info info;
	struct scale_hid_desc desc;
	int tfd;	/* hold / rescan timer */
	int epfd;	/* hal_usb's fd + tfd */
	bool hotplug;	/* libusb reports arrivals */
	bool rescan;	/* something arrived: look for the scale */
	bool left;	/* the IN transfer said "no device" */
	bool stale;	/* drop the next data report */
	bool have_last; /* last is a repeatable OK reading */
	struct scale_reading last;
	uint64_t last_ns;   /* when the scale last sent a report */
	uint64_t rescan_ns; /* last rescan while unplugged */
	struct usbhid_item q[USBHID_QUEUE_MAX];
	unsigned q_head, q_len;
	uint8_t *desc_buf; /* HAL_USB_REPORT_DESC_MAX bytes, allocated at open */
	struct scale *s;
};

static void push(struct scale_usbhid *p, int r, const struct scale_reading *rd)
{
	struct usbhid_item *it;

	if (p->q_len == USBHID_QUEUE_MAX) { /* drop the oldest */
		p->q_head = (p->q_head + 1) % USBHID_QUEUE_MAX;
		p->q_len--;
	}
	it = &p->q[(p->q_head + p->q_len) % USBHID_QUEUE_MAX];
	it->r = r;
	if (rd)
		it->rd = *rd;
	p->q_len++;
}

static void on_report(void *ud, const uint8_t *data, size_t len, int status)
{
	struct scale_usbhid *p = ud;
	struct scale_hid_data hd;
	struct scale_reading rd = {0};
	int r;

	if (status == -ENODEV) {
		p->left = true;
		return;
	}
	if (status < 0) {
		push(p, -EPROTO, NULL); /* a failed transfer: one report lost */
		return;
	}
	if (len == 0 || data[0] != SCALE_HID_REPORT_ID_DATA)
		return; /* status / attribute reports: nothing to say */
	p->last_ns = clock_now_ns();
	if (p->stale) {
		p->stale = false;
		return;
	}
	r = scale_proto_hid_parse(data, len, &hd);
	if (r == 0)
		r = scale_proto_hid_reading(&hd, &rd);
	if (r < 0) {
		push(p, -EBADMSG, NULL);
		return;
	}
	rd.t_ns = p->last_ns;
	p->last = rd;
	p->have_last = rd.status == SCALE_OK;
	push(p, 0, &rd);
}

/* Enumeration callback: is this interface a scale? Leaves info/desc in p when it is. */
static bool pick(const struct hal_usb_hid_info *info, void *ud)
{
	struct scale_usbhid *p = ud;
	struct scale_hid_desc d;
	int n;

	if (info->subclass == HID_SUBCLASS_BOOT &&
	    (info->protocol == HID_PROTOCOL_KEYBOARD || info->protocol == HID_PROTOCOL_MOUSE))
		return false;
	n = hal_usb_hid_read_report_desc(p->usb, info, p->desc_buf, HAL_USB_REPORT_DESC_MAX);
	if (n <= 0 || scale_proto_hid_scan(p->desc_buf, (size_t)n, &d) < 0)
		return false;
	if (!d.is_scale || !d.has_data_report)
		return false;
	p->info = *info;
	p->desc = d;
	return true;
}

/* Find a scale and start reading it. @return 0; -ENODEV none attached; -errno. */
static int attach(struct scale_usbhid *p)
{
	int r;

	memset(&p->info, 0, sizeof(p->info));
	r = hal_usb_hid_enumerate(p->usb, (uint16_t)p->s->cfg.usb_vid, (uint16_t)p->s->cfg.usb_pid,
				  pick, p);
	if (r < 0)
		return r;
	if (!p->info.ep_in)
		return -ENODEV;
	r = hal_usb_dev_open(p->usb, &p->info, &p->dev);
	if (r < 0)
		return r;
	p->stale = true;
	p->left = false;
	p->have_last = false;
	r = hal_usb_dev_start_in(p->dev, on_report, p);
	if (r < 0) {
		hal_usb_dev_close(p->dev);
		p->dev = NULL;
		return r;
	}
	snprintf(p->s->model, sizeof(p->s->model), "USB HID scale %04x:%04x", p->info.vid,
		 p->info.pid);
	return 0;
}

static void on_hotplug(void *ud, bool arrived)
{
	struct scale_usbhid *p = ud;

	if (arrived)
		p->rescan = true;
	/* departures are seen by the IN transfer ("no device"), which knows it is ours */
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int usbhid_open(struct scale *s)
{
	struct itimerspec its = {0};
	struct scale_usbhid *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->tfd = p->epfd = -1;
	p->s = s;
	s->priv = p;
	p->desc_buf = malloc(HAL_USB_REPORT_DESC_MAX);
	if (!p->desc_buf)
		return -ENOMEM;
	r = hal_usb_new(&p->usb);
	if (r < 0)
		return r;
	r = attach(p);
	if (r < 0)
		return r; /* no scale at start-up is a configuration error worth stopping for */
	r = hal_usb_hotplug(p->usb, (uint16_t)s->cfg.usb_vid, (uint16_t)s->cfg.usb_pid, on_hotplug,
			    p);
	p->hotplug = r == 0;
	p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->tfd < 0)
		return -errno;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0)
		return -errno;
	r = add_fd(p->epfd, hal_usb_get_fd(p->usb));
	if (r < 0)
		return r;
	r = add_fd(p->epfd, p->tfd);
	if (r < 0)
		return r;
	its.it_value.tv_sec = its.it_interval.tv_sec = s->cfg.poll_ms / 1000;
	its.it_value.tv_nsec = its.it_interval.tv_nsec = (long)(s->cfg.poll_ms % 1000) * 1000000L;
	if (timerfd_settime(p->tfd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

static void usbhid_close(struct scale *s)
{
	struct scale_usbhid *p = s->priv;

	if (!p)
		return;
	hal_usb_dev_close(p->dev);
	hal_usb_free(p->usb);
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->tfd >= 0)
		close(p->tfd);
	free(p->desc_buf);
	free(p);
	s->priv = NULL;
}

static int usbhid_get_fd(const struct scale *s)
{
	const struct scale_usbhid *p = s->priv;

	return p->epfd;
}

static void on_tick(struct scale_usbhid *p, uint64_t now)
{
	struct scale_reading rd;

	if (p->dev && p->have_last && now - p->last_ns >= p->s->cfg.poll_ms * NSEC_PER_MSEC &&
	    p->q_len == 0) {
		rd = p->last;
		rd.t_ns = now; /* "still the same" as of now */
		push(p, 0, &rd);
	}
	if (!p->dev && !p->hotplug && now - p->rescan_ns >= USBHID_RESCAN_MS * NSEC_PER_MSEC) {
		p->rescan_ns = now;
		p->rescan = true;
	}
}

static int usbhid_on_readable(struct scale *s, struct scale_reading *ret)
{
	struct scale_usbhid *p = s->priv;
	struct usbhid_item *it;
	struct scale_reading fault = {.status = SCALE_FAULT};
	uint64_t ticks;
	int r;

	if (p->q_len == 0) {
		r = hal_usb_handle_events(p->usb);
		if (r < 0)
			return r;
		if (hal_read(p->tfd, &ticks, sizeof(ticks)) == sizeof(ticks))
			on_tick(p, clock_now_ns());
		if (p->left && p->dev) {
			hal_usb_dev_close(p->dev); /* outside the libusb callback */
			p->dev = NULL;
			p->have_last = false;
			p->q_len = 0;
			fault.t_ns = clock_now_ns();
			push(p, 0, &fault);
		}
		if (p->rescan && !p->dev)
			(void)attach(p); /* not there yet, or not a scale: keep waiting */
		p->rescan = false;
	}
	if (p->q_len == 0)
		return -EAGAIN;
	it = &p->q[p->q_head];
	p->q_head = (p->q_head + 1) % USBHID_QUEUE_MAX;
	p->q_len--;
	if (it->r < 0)
		return it->r;
	*ret = it->rd;
	return 0;
}

/** Largest zero report we build (HID full-speed reports fit 64 bytes). */
#define USBHID_ZERO_REPORT_MAX 64

static int usbhid_tare(struct scale *s)
{
	struct scale_usbhid *p = s->priv;
	uint8_t data[USBHID_ZERO_REPORT_MAX] = {0};
	const struct scale_hid_desc *d = &p->desc;
	size_t len = d->zero_report_bytes;

	if (d->zero == SCALE_HID_ZERO_NONE)
		return -EOPNOTSUPP;
	if (!p->dev)
		return -ENODEV;
	if (len > sizeof(data) || d->zero_bit / 8 >= len)
		return -EOPNOTSUPP; /* a descriptor we do not understand well enough */
	data[d->zero_bit / 8] = (uint8_t)(1u << (d->zero_bit % 8));
	return hal_usb_dev_write_report(p->dev,
					d->zero == SCALE_HID_ZERO_OUTPUT ? HAL_USB_REPORT_OUTPUT
									 : HAL_USB_REPORT_FEATURE,
					d->zero_report_id, data, len);
}

const struct scale_ops scale_usbhid_ops = {
	.name = "usbhid",
	.open = usbhid_open,
	.close = usbhid_close,
	.get_fd = usbhid_get_fd,
	.on_readable = usbhid_on_readable,
	.tare = usbhid_tare,
};

#endif /* WITH_LIBUSB */
