/* SPDX-License-Identifier: MIT */
/*
 * drivers/camera/camera_v4l2.c - the "v4l2" camera: a UVC webcam or any single-planar V4L2
 * capture node, mmap streaming, one frame per capture() request.
 *
 * Format: camera.format (yuyv | mjpeg | nv12) at camera.width x camera.height, set with
 * VIDIOC_S_FMT at open and checked (camera_proto_check_format): a camera that cannot do it
 * fails open with -EPROTONOSUPPORT (pixel format) or -ERANGE (size) rather than delivering
 * photos of another geometry. MJPEG frames go to the class byte for byte, cut at their EOI
 * (camera_proto_mjpeg_trim); raw frames with padded rows are repacked.
 *
 * Streaming policy: we stream only while a capture is pending. A station takes one photo
 * per package, seconds to minutes apart; streaming all the time would keep a USB
 * isochronous reservation and 30 wake-ups a second for nothing, and keep the camera's LED
 * lit. capture() starts the stream (STREAMON) if it is not running; the stream is stopped
 * when a frame is done that nobody asked for, i.e. one frame period after the last
 * request. The class asks for one more frame per warm-up frame it drops, so camera.warmup
 * counts frames of the fresh stream: set it to the frames the camera's auto exposure
 * needs after STREAMON (3..10 for common UVC webcams). Frames exposed before the request
 * (their kernel timestamp is older) are dropped here, so a photo never predates its
 * request. The photo's t_ns is the dequeue time (CLOCK_MONOTONIC), which is after the
 * request by construction.
 *
 * Why get_fd() is an epoll fd and not the video fd: vb2 reports EPOLLERR on a capture node
 * that is not streaming, so the bare video fd in the station's level-triggered loop would
 * spin while we are idle. Our fd is a private epoll set that holds the video fd only while
 * streaming, plus a timerfd for the capture timeout. It also stays the same fd when the
 * camera is unplugged and comes back, so the station's watch survives a replug.
 *
 * Timeout: each capture() arms camera.timeout_ms. If no usable frame comes in that time,
 * on_readable() returns -ETIMEDOUT and the device is closed; the next capture() opens it
 * again, so a wedged camera costs one photo, not the station.
 *
 * Unplug: any failing ioctl with ENODEV (or a stream error) closes the device and returns
 * -ENODEV (or the error) once; the next capture() reopens cfg.device (use the
 * /dev/v4l/by-id/ path: it follows the camera to its new /dev/videoN) and returns -ENODEV
 * while it is still missing.
 *
 * Frame lifetime (camera_ops.stable_frames): the class hands an MJPEG frame out as the photo
 * without copying it, so the mmap buffer it lives in must not be written or unmapped until
 * the next capture() or close(). Until then the buffer is "lent": it is not queued again
 * (the next on_readable() would otherwise give it back to the driver, which may fill it at
 * once), frames that arrive meanwhile stop the stream as unwanted ones always did (STREAMOFF
 * leaves the mapping and its bytes alone), and an error only stops the stream: the device
 * is closed (unmapped) at the next capture(), which reopens it. capture() ends the loan; the
 * buffer is queued again by the next on_readable() (or by STREAMON with all the others).
 * Not run here without a device: tests/vm (v4l2loopback) covers the v4l2 path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "drivers/camera/camera.h"
#include "drivers/camera/camera_proto.h"
#include "hal/clock.h"
#include "hal/v4l2.h"

/** Buffers asked for: one lent to the class, one being filled, two in the queue. */
#define CAMERA_V4L2_BUFFERS 4
/** Corrupt frames in a row (error flag, truncated JPEG) before a capture fails. */
#define CAMERA_V4L2_BAD_MAX 10

struct camera_v4l2 {
	int epfd; /* what get_fd() returns: video fd while streaming + timerfd */
	int tfd;  /* capture timeout */
	struct hal_v4l2 *dev; /* NULL while closed (unplugged, timed out) */
	struct camera_proto_stream stream;
	unsigned n_bufs;
	int held;	 /* buffer lent to the class, -1 none */
	bool lent;	 /* the last frame is out as a photo: no capture() since it was delivered */
	bool reopen;	 /* failed while a frame was lent: close and reopen at the next capture() */
	unsigned wanted; /* frames asked for and not yet delivered */
	unsigned bad;	 /* corrupt frames in a row */
	uint8_t *pack;	 /* repacked frame when the driver pads rows */
	size_t pack_size;
};

static int epoll_mod(struct camera_v4l2 *p, int op, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(p->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static void timer_arm(struct camera_v4l2 *p, uint64_t ms)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	timerfd_settime(p->tfd, 0, &its, NULL); /* cannot fail with a valid fd and value */
}

static void stream_stop(struct camera_v4l2 *p)
{
	if (!p->dev || !hal_v4l2_is_streaming(p->dev))
		return;
	epoll_mod(p, EPOLL_CTL_DEL, hal_v4l2_get_fd(p->dev));
	hal_v4l2_stream_off(p->dev); /* returns every buffer to us */
	p->held = -1;
}

static void dev_close(struct camera_v4l2 *p)
{
	stream_stop(p);
	hal_v4l2_close(p->dev);
	p->dev = NULL;
	p->held = -1;
}

/* S_FMT with the board file's format; MJPEG also under its other fourcc, "JPEG". */
static int negotiate(struct camera *c, struct hal_v4l2_format *ret)
{
	const struct camera_cfg *cfg = &c->cfg;
	struct camera_v4l2 *p = c->priv;
	struct hal_v4l2_format want = {
		.fourcc = camera_proto_fourcc(cfg->format),
		.width = cfg->width,
		.height = cfg->height,
	};
	int r;

	r = hal_v4l2_set_format(p->dev, &want, ret);
	if (r < 0)
		return r;
	r = camera_proto_check_format(cfg->format, cfg->width, cfg->height, ret);
	if (r == -EPROTONOSUPPORT && cfg->format == CAMERA_FMT_MJPEG) {
		want.fourcc = HAL_V4L2_PIX_JPEG;
		r = hal_v4l2_set_format(p->dev, &want, ret);
		if (r < 0)
			return r;
		r = camera_proto_check_format(cfg->format, cfg->width, cfg->height, ret);
	}
	return r;
}

static int dev_open(struct camera *c)
{
	struct camera_v4l2 *p = c->priv;
	struct hal_v4l2_format got;
	size_t packed;
	int r;

	r = hal_v4l2_open(c->cfg.device, &p->dev);
	if (r < 0)
		return r;
	snprintf(c->model, sizeof(c->model), "%s", hal_v4l2_get_info(p->dev)->card);
	r = negotiate(c, &got);
	if (r < 0)
		goto err;
	p->stream.format = c->cfg.format;
	p->stream.width = got.width;
	p->stream.height = got.height;
	p->stream.stride = got.bytesperline;
	packed = camera_proto_row_bytes(c->cfg.format, got.width);
	if (packed && got.bytesperline > packed) {
		size_t need = camera_proto_frame_bytes(c->cfg.format, got.width, got.height, 0);

		if (need > p->pack_size) {
			uint8_t *b = realloc(p->pack, need);

			if (!b) {
				r = -ENOMEM;
				goto err;
			}
			p->pack = b;
			p->pack_size = need;
		}
	}
	r = hal_v4l2_map_buffers(p->dev, CAMERA_V4L2_BUFFERS);
	if (r < 0)
		goto err;
	p->n_bufs = (unsigned)r;
	p->held = -1;
	return 0;

err:
	dev_close(p);
	return r;
}

static int stream_start(struct camera_v4l2 *p)
{
	unsigned i;
	int r;

	for (i = 0; i < p->n_bufs; i++) {
		r = hal_v4l2_queue(p->dev, i);
		if (r < 0)
			return r;
	}
	r = hal_v4l2_stream_on(p->dev);
	if (r < 0)
		return r;
	r = epoll_mod(p, EPOLL_CTL_ADD, hal_v4l2_get_fd(p->dev));
	if (r < 0) {
		hal_v4l2_stream_off(p->dev);
		return r;
	}
	p->held = -1;
	return 0;
}

static int v4l2_open(struct camera *c)
{
	struct camera_v4l2 *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->epfd = -1;
	p->tfd = -1;
	p->held = -1;
	c->priv = p;
	if (!c->cfg.device[0] || camera_proto_fourcc(c->cfg.format) == 0)
		return -EINVAL; /* the class calls close() */
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0)
		return -errno;
	p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->tfd < 0)
		return -errno;
	r = epoll_mod(p, EPOLL_CTL_ADD, p->tfd);
	if (r < 0)
		return r;
	return dev_open(c);
}

static void v4l2_close(struct camera *c)
{
	struct camera_v4l2 *p = c->priv;

	if (!p)
		return;
	dev_close(p);
	if (p->tfd >= 0)
		close(p->tfd);
	if (p->epfd >= 0)
		close(p->epfd);
	free(p->pack);
	free(p);
	c->priv = NULL;
}

static int v4l2_get_fd(const struct camera *c)
{
	const struct camera_v4l2 *p = c->priv;

	return p->epfd;
}

/* Start streaming, reopening the device first if it is closed or turns out to be gone. */
static int start(struct camera *c)
{
	struct camera_v4l2 *p = c->priv;
	int r, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (!p->dev) {
			r = dev_open(c);
			if (r < 0)
				return r == -ENOENT || r == -ENXIO ? -ENODEV : r;
		}
		r = stream_start(p);
		if (r == 0)
			return 0;
		dev_close(p); /* a node left over from before an unplug: open it again once */
		if (r != -ENODEV)
			return r;
	}
	return -ENODEV;
}

static int v4l2_capture(struct camera *c)
{
	struct camera_v4l2 *p = c->priv;
	int r;

	p->lent = false; /* the last photo is released: its buffer may be queued again */
	if (p->reopen) {
		p->reopen = false;
		dev_close(p);
	}
	if (p->wanted == 0)
		p->stream.request_ns = clock_now_ns();
	if (!p->dev || !hal_v4l2_is_streaming(p->dev)) {
		r = start(c);
		if (r < 0)
			return r;
	}
	p->wanted++;
	timer_arm(p, c->cfg.timeout_ms);
	return 0;
}

/*
 * The video fd is drained: take it out of our epoll set and put it back. epoll joins a file's
 * wait queues only at EPOLL_CTL_ADD, and some drivers' poll() joins its queue only when no
 * frame is ready (v4l2loopback 0.13: a writer that wrote before our STREAMON, or faster than
 * we read, leaves the capture side never woken again; every capture then times out).
 * Re-adding while drained makes such a driver join; vb2 drivers always join and are not
 * affected. One DEL + ADD per dequeue burst, only while streaming.
 */
static int rearm(struct camera_v4l2 *p)
{
	int fd = hal_v4l2_get_fd(p->dev);

	epoll_mod(p, EPOLL_CTL_DEL, fd);
	return epoll_mod(p, EPOLL_CTL_ADD, fd);
}

/* The request is over (delivered, failed or timed out). */
static void idle(struct camera_v4l2 *p)
{
	p->wanted = 0;
	p->bad = 0;
	timer_arm(p, 0);
}

static int fail(struct camera_v4l2 *p, int r)
{
	idle(p);
	if (p->lent) {
		stream_stop(p); /* keep the mapping: the lent frame lives in it */
		p->reopen = true;
		return r;
	}
	dev_close(p);
	return r;
}

static int deliver(struct camera *c, const struct hal_v4l2_buf *b, size_t len,
		   struct camera_frame *ret)
{
	struct camera_v4l2 *p = c->priv;
	const struct camera_proto_stream *s = &p->stream;
	const uint8_t *data = b->data;
	ssize_t n;

	if (p->pack) {
		n = camera_proto_repack(s->format, s->width, s->height, s->stride, b->data, len,
					p->pack, p->pack_size);
		if (n < 0)
			return (int)n;
		data = p->pack;
		len = (size_t)n;
	}
	ret->format = s->format;
	ret->data = data;
	ret->len = len;
	ret->width = s->width;
	ret->height = s->height;
	ret->t_ns = clock_now_ns();
	return 0;
}

static int v4l2_on_readable(struct camera *c, struct camera_frame *ret)
{
	struct camera_v4l2 *p = c->priv;
	struct hal_v4l2_buf b;
	uint64_t ticks;
	size_t len = 0;
	int r;

	if (p->dev && hal_v4l2_is_streaming(p->dev)) {
		if (p->held >= 0 && !p->lent) {
			r = hal_v4l2_queue(p->dev, (unsigned)p->held);
			p->held = -1;
			if (r < 0)
				return fail(p, r);
		}
		for (;;) {
			r = hal_v4l2_dequeue(p->dev, &b);
			if (r == -EAGAIN) {
				r = rearm(p);
				if (r < 0)
					return fail(p, r);
				break;
			}
			if (r < 0)
				return fail(p, r);
			if (p->wanted == 0 || p->lent) {
				/* nobody asked (a frame still owed while one is lent is
				 * unwanted too: the class asked for no frame since): stop until
				 * the next capture() */
				idle(p);
				stream_stop(p);
				break;
			}
			switch (camera_proto_judge(&p->stream, &b, &len)) {
			case CAMERA_PROTO_USE:
				r = deliver(c, &b, len, ret);
				if (r < 0) {
					hal_v4l2_queue(p->dev, b.index);
					return fail(p, r);
				}
				p->held = (int)b.index;
				p->lent = true;
				p->bad = 0;
				if (--p->wanted == 0)
					timer_arm(p, 0);
				return 0;
			case CAMERA_PROTO_CORRUPT:
				if (++p->bad >= CAMERA_V4L2_BAD_MAX) {
					stream_stop(p);
					idle(p);
					return -EBADMSG;
				}
				break;
			case CAMERA_PROTO_STALE:
				break;
			}
			r = hal_v4l2_queue(p->dev, b.index);
			if (r < 0)
				return fail(p, r);
		}
	}
	if (read(p->tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks) && p->wanted > 0)
		return fail(p, -ETIMEDOUT);
	return -EAGAIN;
}

const struct camera_ops camera_v4l2_ops = {
	.name = "v4l2",
	.stable_frames = true,
	.open = v4l2_open,
	.close = v4l2_close,
	.get_fd = v4l2_get_fd,
	.capture = v4l2_capture,
	.on_readable = v4l2_on_readable,
};
