/* SPDX-License-Identifier: MIT */
/*
 * hal/v4l2.c - single-planar V4L2 capture with mmap streaming I/O (see hal/v4l2.h).
 *
 * The sequence is the one the V4L2 specification gives for streaming capture: QUERYCAP,
 * S_FMT, REQBUFS(mmap), QUERYBUF + mmap per buffer, QBUF all, STREAMON, then DQBUF/QBUF on
 * poll readiness, STREAMOFF, munmap, REQBUFS(0). Every ioctl is retried on EINTR, and this
 * file is where ioctl's -1/errno becomes -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hal/v4l2.h"

struct hal_v4l2_map {
	void *start;
	size_t length;
};

struct hal_v4l2 {
	int fd;
	struct hal_v4l2_info info;
	struct hal_v4l2_map bufs[HAL_V4L2_BUFFERS_MAX];
	unsigned n_bufs;
	bool requested; /* REQBUFS granted buffers (even if mapping failed half way) */
	bool streaming;
};

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/* Copy a fixed-size, maybe unterminated kernel string. */
static void copy_str(char *dst, size_t size, const uint8_t *src, size_t src_size)
{
	size_t n = strnlen((const char *)src, src_size);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int hal_v4l2_open(const char *path, struct hal_v4l2 **ret)
{
	struct v4l2_capability cap;
	struct hal_v4l2 *v;
	uint32_t caps;
	int r;

	if (!path || !ret)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (v->fd < 0) {
		r = -errno;
		goto err;
	}
	memset(&cap, 0, sizeof(cap));
	r = xioctl(v->fd, VIDIOC_QUERYCAP, &cap);
	if (r < 0) {
		if (r == -EINVAL)
			r = -ENOTTY; /* some non-V4L2 character devices answer EINVAL */
		goto err;
	}
	caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
	copy_str(v->info.driver, sizeof(v->info.driver), cap.driver, sizeof(cap.driver));
	copy_str(v->info.card, sizeof(v->info.card), cap.card, sizeof(cap.card));
	copy_str(v->info.bus_info, sizeof(v->info.bus_info), cap.bus_info, sizeof(cap.bus_info));
	v->info.device_caps = caps;
	v->info.capture = caps & V4L2_CAP_VIDEO_CAPTURE;
	v->info.streaming = caps & V4L2_CAP_STREAMING;
	if (!v->info.capture || !v->info.streaming) {
		r = -EOPNOTSUPP;
		goto err;
	}
	*ret = v;
	return 0;

err:
	hal_v4l2_close(v);
	return r;
}

void hal_v4l2_close(struct hal_v4l2 *v)
{
	if (!v)
		return;
	hal_v4l2_unmap_buffers(v);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
}

int hal_v4l2_get_fd(const struct hal_v4l2 *v)
{
	return v ? v->fd : -EINVAL;
}

const struct hal_v4l2_info *hal_v4l2_get_info(const struct hal_v4l2 *v)
{
	return v ? &v->info : NULL;
}

int hal_v4l2_enum_format(struct hal_v4l2 *v, unsigned index, struct hal_v4l2_fmtdesc *ret)
{
	struct v4l2_fmtdesc d;
	int r;

	if (!v || !ret)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	d.index = index;
	d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	r = xioctl(v->fd, VIDIOC_ENUM_FMT, &d);
	if (r == -EINVAL)
		return -ENOENT;
	if (r < 0)
		return r;
	ret->fourcc = d.pixelformat;
	copy_str(ret->description, sizeof(ret->description), d.description,
		 sizeof(d.description));
	ret->compressed = d.flags & V4L2_FMT_FLAG_COMPRESSED;
	ret->emulated = d.flags & V4L2_FMT_FLAG_EMULATED;
	return 0;
}

int hal_v4l2_enum_size(struct hal_v4l2 *v, uint32_t fourcc, unsigned index,
		       struct hal_v4l2_frmsize *ret)
{
	struct v4l2_frmsizeenum s;
	int r;

	if (!v || !ret)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	s.index = index;
	s.pixel_format = fourcc;
	r = xioctl(v->fd, VIDIOC_ENUM_FRAMESIZES, &s);
	if (r == -EINVAL || r == -ENOTTY)
		return -ENOENT;
	if (r < 0)
		return r;
	if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
		ret->discrete = true;
		ret->min_width = ret->max_width = s.discrete.width;
		ret->min_height = ret->max_height = s.discrete.height;
		ret->step_width = ret->step_height = 0;
		return 0;
	}
	/* STEPWISE and CONTINUOUS (step 1) share the layout; only index 0 exists. */
	ret->discrete = false;
	ret->min_width = s.stepwise.min_width;
	ret->max_width = s.stepwise.max_width;
	ret->step_width = s.stepwise.step_width;
	ret->min_height = s.stepwise.min_height;
	ret->max_height = s.stepwise.max_height;
	ret->step_height = s.stepwise.step_height;
	return 0;
}

static void from_pix(const struct v4l2_pix_format *pix, struct hal_v4l2_format *ret)
{
	ret->fourcc = pix->pixelformat;
	ret->width = pix->width;
	ret->height = pix->height;
	ret->bytesperline = pix->bytesperline;
	ret->sizeimage = pix->sizeimage;
}

int hal_v4l2_set_format(struct hal_v4l2 *v, const struct hal_v4l2_format *want,
			struct hal_v4l2_format *ret_got)
{
	struct v4l2_format f;
	int r;

	if (!v || !want || !ret_got)
		return -EINVAL;
	if (v->requested)
		return -EBUSY;
	memset(&f, 0, sizeof(f));
	f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	f.fmt.pix.pixelformat = want->fourcc;
	f.fmt.pix.width = want->width;
	f.fmt.pix.height = want->height;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	r = xioctl(v->fd, VIDIOC_S_FMT, &f);
	if (r < 0)
		return r;
	from_pix(&f.fmt.pix, ret_got);
	return 0;
}

int hal_v4l2_get_format(struct hal_v4l2 *v, struct hal_v4l2_format *ret)
{
	struct v4l2_format f;
	int r;

	if (!v || !ret)
		return -EINVAL;
	memset(&f, 0, sizeof(f));
	f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	r = xioctl(v->fd, VIDIOC_G_FMT, &f);
	if (r < 0)
		return r;
	from_pix(&f.fmt.pix, ret);
	return 0;
}

int hal_v4l2_map_buffers(struct hal_v4l2 *v, unsigned count)
{
	struct v4l2_requestbuffers req;
	struct v4l2_buffer b;
	unsigned i, granted;
	void *p;
	int r;

	if (!v || count < 2 || count > HAL_V4L2_BUFFERS_MAX)
		return -EINVAL;
	if (v->requested)
		return -EBUSY;
	memset(&req, 0, sizeof(req));
	req.count = count;
	req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	req.memory = V4L2_MEMORY_MMAP;
	r = xioctl(v->fd, VIDIOC_REQBUFS, &req);
	if (r < 0)
		return r;
	v->requested = true;
	granted = req.count < HAL_V4L2_BUFFERS_MAX ? req.count : HAL_V4L2_BUFFERS_MAX;
	if (granted < 2) {
		r = -ENOMEM;
		goto err;
	}
	for (i = 0; i < granted; i++) {
		memset(&b, 0, sizeof(b));
		b.index = i;
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.memory = V4L2_MEMORY_MMAP;
		r = xioctl(v->fd, VIDIOC_QUERYBUF, &b);
		if (r < 0)
			goto err;
		p = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, b.m.offset);
		if (p == MAP_FAILED) {
			r = -errno;
			goto err;
		}
		v->bufs[i].start = p;
		v->bufs[i].length = b.length;
		v->n_bufs = i + 1;
	}
	return (int)granted;

err:
	hal_v4l2_unmap_buffers(v);
	return r;
}

void hal_v4l2_unmap_buffers(struct hal_v4l2 *v)
{
	struct v4l2_requestbuffers req;
	unsigned i;

	if (!v)
		return;
	if (v->streaming)
		hal_v4l2_stream_off(v);
	for (i = 0; i < v->n_bufs; i++)
		munmap(v->bufs[i].start, v->bufs[i].length);
	v->n_bufs = 0;
	if (v->requested) {
		memset(&req, 0, sizeof(req));
		req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		req.memory = V4L2_MEMORY_MMAP;
		xioctl(v->fd, VIDIOC_REQBUFS, &req); /* fails after an unplug; nothing to undo */
		v->requested = false;
	}
}

int hal_v4l2_queue(struct hal_v4l2 *v, unsigned index)
{
	struct v4l2_buffer b;

	if (!v || index >= v->n_bufs)
		return -EINVAL;
	memset(&b, 0, sizeof(b));
	b.index = index;
	b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	b.memory = V4L2_MEMORY_MMAP;
	return xioctl(v->fd, VIDIOC_QBUF, &b);
}

int hal_v4l2_dequeue(struct hal_v4l2 *v, struct hal_v4l2_buf *ret)
{
	struct v4l2_buffer b;
	int r;

	if (!v || !ret)
		return -EINVAL;
	if (!v->streaming)
		return -EPIPE; /* vb2 would say EINVAL; say what it means */
	memset(&b, 0, sizeof(b));
	b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	b.memory = V4L2_MEMORY_MMAP;
	r = xioctl(v->fd, VIDIOC_DQBUF, &b);
	if (r < 0)
		return r;
	if (b.index >= v->n_bufs)
		return -EIO; /* cannot happen with a sane driver; never index past our maps */
	ret->index = b.index;
	ret->data = v->bufs[b.index].start;
	ret->length = v->bufs[b.index].length;
	ret->bytesused = b.bytesused;
	ret->timestamp_ns = (uint64_t)b.timestamp.tv_sec * 1000000000ULL +
			    (uint64_t)b.timestamp.tv_usec * 1000ULL;
	ret->ts_monotonic = (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) ==
			    V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
	ret->sequence = b.sequence;
	ret->error = b.flags & V4L2_BUF_FLAG_ERROR;
	return 0;
}

int hal_v4l2_stream_on(struct hal_v4l2 *v)
{
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	int r;

	if (!v)
		return -EINVAL;
	if (v->streaming)
		return 0;
	r = xioctl(v->fd, VIDIOC_STREAMON, &type);
	if (r < 0)
		return r;
	v->streaming = true;
	return 0;
}

int hal_v4l2_stream_off(struct hal_v4l2 *v)
{
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

	if (!v)
		return -EINVAL;
	/* Streaming is over for us even when the ioctl fails (an unplugged device). */
	v->streaming = false;
	return xioctl(v->fd, VIDIOC_STREAMOFF, &type);
}

bool hal_v4l2_is_streaming(const struct hal_v4l2 *v)
{
	return v && v->streaming;
}

const char *hal_v4l2_fourcc_str(uint32_t fourcc, char buf[HAL_V4L2_FOURCC_TEXT])
{
	unsigned i;

	for (i = 0; i < 4; i++) {
		char c = (char)((fourcc >> (8 * i)) & 0xff);

		buf[i] = c >= 0x20 && c < 0x7f ? c : '.';
	}
	buf[4] = '\0';
	return buf;
}
