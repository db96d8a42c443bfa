/* SPDX-License-Identifier: MIT */
/*
 * drivers/camera/camera.c - the camera class layer: registry, life cycle, and the frame to
 * JPEG step that every backend shares.
 *
 * Why the class does the JPEG work: backends deliver what the sensor gives (raw YUYV or the
 * camera's own MJPEG), and the evidence record needs JPEG bytes whose SHA-256 is taken over
 * exactly what is stored. MJPEG frames are checked with a header decode and kept byte for
 * byte (only padding after the EOI marker is cut); YUYV and NV12 frames are encoded with
 * hal/jpeg.
 *
 * MJPEG without a copy: a backend that sets camera_ops.stable_frames promises that a frame's
 * bytes stay unchanged until its next capture() or close(), which is exactly the lifetime a
 * photo has (camera.h), so the photo is the backend's frame itself (trimmed at its EOI). For
 * other backends the class copies the frame into its own buffer. A 1080p MJPEG frame is
 * ~280 KB: the copy was a third of the class's time per photo (make bench).
 *
 * Capture state: camera_capture() arms one request. Frames that arrive while no request is
 * armed (leftovers from a streaming device) are drained and dropped, so the photo buffers
 * change only inside a request; that is what keeps a returned photo valid until the next
 * camera_capture(). The first cfg.warmup_frames frames of each request are dropped too (auto
 * exposure settles on the first frames of a cold sensor); the class asks the backend for one
 * more frame for each frame it drops.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers/camera/camera.h"
#include "hal/jpeg.h"

/** JPEG quality used when the board file leaves camera.quality at 0. */
#define CAMERA_JPEG_QUALITY_DEFAULT 85

extern const struct camera_ops camera_sim_ops;
extern const struct camera_ops camera_v4l2_ops;

/* Registry (STYLE 9); the sim backend is always compiled in. */
static const struct camera_ops *const camera_backends[] = {
	&camera_sim_ops,
	&camera_v4l2_ops,
	NULL,
};

/* Class-layer state, in camera->cls. */
struct camera_cls {
	struct hal_jpeg *jpeg; /* YUYV encoder and MJPEG header probe */
	uint8_t *copy;	       /* MJPEG photo copied out of the frame (!stable_frames only) */
	size_t copy_size;
	bool pending;  /* a capture was requested and not yet delivered */
	unsigned drop; /* warmup frames still to drop for this request */
};

static const struct camera_ops *lookup(const char *name)
{
	size_t i;

	for (i = 0; name && camera_backends[i]; i++) {
		if (!strcmp(camera_backends[i]->name, name))
			return camera_backends[i];
	}
	return NULL;
}

bool camera_backend_exists(const char *name)
{
	return lookup(name) != NULL;
}

enum camera_format camera_format_from_string(const char *s)
{
	if (s && !strcasecmp(s, "yuyv"))
		return CAMERA_FMT_YUYV;
	if (s && !strcasecmp(s, "mjpeg"))
		return CAMERA_FMT_MJPEG;
	if (s && !strcasecmp(s, "nv12"))
		return CAMERA_FMT_NV12;
	return _CAMERA_FMT_INVALID;
}

/* Grow-only buffer for MJPEG copies; sized at open for the common case. */
static int reserve_copy(struct camera_cls *cls, size_t len)
{
	uint8_t *p;

	if (len <= cls->copy_size)
		return 0;
	p = realloc(cls->copy, len);
	if (!p)
		return -ENOMEM;
	cls->copy = p;
	cls->copy_size = len;
	return 0;
}

static int cls_new(struct camera *c)
{
	struct camera_cls *cls;
	int r;

	cls = calloc(1, sizeof(*cls));
	if (!cls)
		return -ENOMEM;
	c->cls = cls;
	r = hal_jpeg_new(&cls->jpeg);
	if (r < 0)
		return r;
	if (c->cfg.width == 0 || c->cfg.height == 0)
		return 0; /* sizes come with the first frame */
	/* Allocate now so that taking photos does not (STYLE 16). A camera's MJPEG frame is
	 * smaller than the raw frame in practice; larger ones grow the buffer once. */
	if (c->cfg.format == CAMERA_FMT_YUYV || c->cfg.format == CAMERA_FMT_NV12)
		return hal_jpeg_reserve(cls->jpeg, c->cfg.width, c->cfg.height);
	if (c->ops->stable_frames)
		return 0; /* MJPEG photos are the backend's frames: nothing to copy into */
	return reserve_copy(cls, (size_t)c->cfg.width * c->cfg.height * 2);
}

static void cls_free(struct camera *c)
{
	struct camera_cls *cls = c->cls;

	if (!cls)
		return;
	hal_jpeg_free(cls->jpeg);
	free(cls->copy);
	free(cls);
	c->cls = NULL;
}

int camera_open(const struct camera_cfg *cfg, struct camera **ret)
{
	const struct camera_ops *ops;
	struct camera *c;
	int r;

	if (!cfg || !ret)
		return -EINVAL;
	ops = lookup(cfg->backend);
	if (!ops)
		return -ENOENT;
	if (cfg->format < 0 || cfg->format >= _CAMERA_FMT_MAX || cfg->jpeg_quality > 100)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ops = ops;
	c->cfg = *cfg;
	c->cfg.backend[sizeof(c->cfg.backend) - 1] = '\0';
	c->cfg.device[sizeof(c->cfg.device) - 1] = '\0';
	if (!c->cfg.jpeg_quality)
		c->cfg.jpeg_quality = CAMERA_JPEG_QUALITY_DEFAULT;
	if (!c->cfg.timeout_ms)
		c->cfg.timeout_ms = CAMERA_TIMEOUT_MS_DEFAULT;
	r = cls_new(c);
	if (r < 0)
		goto err_cls;
	r = ops->open(c);
	if (r < 0)
		goto err_close;
	c->model[sizeof(c->model) - 1] = '\0';
	*ret = c;
	return 0;

err_close:
	ops->close(c); /* backends accept half-open handles */
err_cls:
	cls_free(c);
	free(c);
	return r;
}

void camera_close(struct camera *c)
{
	if (!c)
		return;
	c->ops->close(c);
	cls_free(c);
	free(c);
}

int camera_get_fd(const struct camera *c)
{
	if (!c)
		return -EINVAL;
	return c->ops->get_fd(c);
}

int camera_capture(struct camera *c)
{
	struct camera_cls *cls;
	int r;

	if (!c)
		return -EINVAL;
	cls = c->cls;
	cls->pending = true;
	cls->drop = c->cfg.warmup_frames;
	r = c->ops->capture(c);
	if (r < 0)
		cls->pending = false;
	return r;
}

static int photo_from_mjpeg(struct camera *c, const struct camera_frame *f,
			    struct camera_photo *ret)
{
	struct camera_cls *cls = c->cls;
	unsigned w, h;
	size_t len;
	int r;

	if (hal_jpeg_probe(cls->jpeg, f->data, f->len, &w, &h, &len) < 0)
		return -EBADMSG;
	if (c->ops->stable_frames) {
		ret->jpeg = f->data; /* lent until the next capture()/close(), like the photo */
	} else {
		r = reserve_copy(cls, len);
		if (r < 0)
			return r;
		memcpy(cls->copy, f->data, len);
		ret->jpeg = cls->copy;
	}
	ret->len = len;
	ret->width = w;
	ret->height = h;
	ret->passthrough = true;
	ret->t_ns = f->t_ns;
	return 0;
}

static int photo_from_raw(struct camera *c, const struct camera_frame *f, struct camera_photo *ret)
{
	struct camera_cls *cls = c->cls;
	const uint8_t *jpeg;
	size_t len;
	int r;

	if (f->format == CAMERA_FMT_NV12)
		r = hal_jpeg_encode_nv12(cls->jpeg, f->data, f->len, f->width, f->height,
					 c->cfg.jpeg_quality, &jpeg, &len);
	else
		r = hal_jpeg_encode_yuyv(cls->jpeg, f->data, f->len, f->width, f->height,
					 c->cfg.jpeg_quality, &jpeg, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return -EBADMSG;
	ret->jpeg = jpeg;
	ret->len = len;
	ret->width = f->width;
	ret->height = f->height;
	ret->passthrough = false;
	ret->t_ns = f->t_ns;
	return 0;
}

int camera_on_readable(struct camera *c, struct camera_photo *ret)
{
	struct camera_frame frame = {0};
	struct camera_cls *cls;
	int r;

	if (!c || !ret)
		return -EINVAL;
	cls = c->cls;
	r = c->ops->on_readable(c, &frame);
	if (r < 0) {
		if (r != -EAGAIN)
			cls->pending = false; /* the request failed; camera_capture() again */
		return r;
	}
	if (!cls->pending)
		return -EAGAIN; /* nobody asked for this frame */
	if (cls->drop > 0) {
		cls->drop--;
		r = c->ops->capture(c);
		if (r < 0) {
			cls->pending = false;
			return r;
		}
		return -EAGAIN;
	}
	cls->pending = false;
	switch (frame.format) {
	case CAMERA_FMT_MJPEG:
		return photo_from_mjpeg(c, &frame, ret);
	case CAMERA_FMT_YUYV:
	case CAMERA_FMT_NV12:
		return photo_from_raw(c, &frame, ret);
	default:
		return -EBADMSG;
	}
}

const char *camera_get_model(const struct camera *c)
{
	return c ? c->model : "";
}
