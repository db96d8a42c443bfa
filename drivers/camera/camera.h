/* SPDX-License-Identifier: MIT */
/*
 * drivers/camera/camera.h - the camera device class.
 *
 * The station asks for a photo with camera_capture(); the backend delivers a frame when its
 * fd polls readable. The class layer turns the frame into JPEG bytes: MJPEG frames are kept
 * byte-for-byte (validated by a header decode), raw YUYV and NV12 frames are encoded with TurboJPEG
 * (hal/jpeg.h). The JPEG buffer is reused between photos (no per-package allocation).
 *
 * Ownership: a photo returned by camera_on_readable() belongs to the camera and stays valid
 * until the next camera_capture() or camera_close() (libgpiod edge-event buffer style).
 * Calling camera_on_readable() again in between (the station drains the fd until -EAGAIN)
 * does not invalidate it. An MJPEG photo may point straight into the backend's frame buffer
 * (no copy: see camera_ops.stable_frames); encoded photos point into the class's own buffer.
 */
#ifndef SEALBENCH_DRIVERS_CAMERA_H
#define SEALBENCH_DRIVERS_CAMERA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAMERA_DEVICE_MAX 256
#define CAMERA_BACKEND_MAX 32
#define CAMERA_MODEL_MAX 64

enum camera_format {
	CAMERA_FMT_YUYV = 0, /* packed 4:2:2, 2 bytes per pixel */
	CAMERA_FMT_MJPEG,    /* one JPEG per frame */
	CAMERA_FMT_NV12,     /* Y plane, then interleaved U/V at half size (4:2:0) */
	_CAMERA_FMT_MAX,
	_CAMERA_FMT_INVALID = -22,
};

struct camera_cfg {
	char backend[CAMERA_BACKEND_MAX]; /* board.conf camera.backend */
	char device[CAMERA_DEVICE_MAX];   /* board.conf camera.device ("" allowed for sim) */
	enum camera_format format;        /* board.conf camera.format: yuyv | mjpeg | nv12 */
	unsigned width, height;           /* board.conf camera.width / camera.height */
	unsigned jpeg_quality;            /* board.conf camera.quality, 1..100 (default 85) */
	unsigned warmup_frames;           /* board.conf camera.warmup, frames dropped first */
	unsigned timeout_ms;              /* board.conf camera.timeout_ms: a capture that gets no
					   * frame in this time fails with -ETIMEDOUT (v4l2; 0 =
					   * CAMERA_TIMEOUT_MS_DEFAULT) */
};

/** Capture timeout when the board file does not set camera.timeout_ms. */
#define CAMERA_TIMEOUT_MS_DEFAULT 4000

/**
 * A raw frame from a backend. Borrowed from the backend until its next on_readable/close, or
 * until its next capture/close when the backend sets camera_ops.stable_frames.
 * Raw formats are packed (rows of width * 2 bytes for YUYV, width bytes for NV12): a backend
 * whose device pads rows repacks them first.
 */
struct camera_frame {
	enum camera_format format;
	const uint8_t *data;
	size_t len;
	unsigned width, height;
	uint64_t t_ns;
};

/** A photo ready for the record. Borrowed from the camera (see header comment). */
struct camera_photo {
	const uint8_t *jpeg;
	size_t len;
	unsigned width, height;
	bool passthrough; /* true: the camera's own MJPEG bytes; false: encoded by us */
	uint64_t t_ns;
};

struct camera;

/*
 * capture() asks for one frame; the class calls it once per photo request and once more for
 * each warmup frame it drops, so a backend may deliver exactly one frame per call. Frames
 * delivered without a request are drained and dropped by the class.
 */
struct camera_ops {
	const char *name;
	/*
	 * true: a frame delivered by on_readable() keeps its bytes, unchanged, until the next
	 * capture() or close(), whatever else is called in between (on_readable() included), so
	 * the class lends MJPEG frames out as photos without copying them. false (the default):
	 * a frame is only valid until the next on_readable(), and the class copies MJPEG frames.
	 */
	bool stable_frames;
	int (*open)(struct camera *c);                                /* mandatory */
	void (*close)(struct camera *c);                              /* mandatory, half-open ok */
	int (*get_fd)(const struct camera *c);                        /* mandatory */
	int (*capture)(struct camera *c);                             /* mandatory: start one frame */
	int (*on_readable)(struct camera *c, struct camera_frame *ret); /* 0, -EAGAIN, -errno */
};

struct camera {
	const struct camera_ops *ops;
	struct camera_cfg cfg;
	void *priv;
	char model[CAMERA_MODEL_MAX];
	void *cls; /* class-layer state (JPEG encoder and buffer); not for backends */
};

/** @brief Open by cfg->backend. @return 0 and *ret, -ENOENT unknown backend, -errno. */
int camera_open(const struct camera_cfg *cfg, struct camera **ret);
void camera_close(struct camera *c);
int camera_get_fd(const struct camera *c);
/** @brief Ask for one photo; it arrives through camera_on_readable(). @return 0 or -errno. */
int camera_capture(struct camera *c);
/**
 * @brief Collect the photo after the fd polled readable.
 * @return 0 and *ret (borrowed, see header); -EAGAIN not yet; -EBADMSG the frame was not a
 *         valid JPEG / could not be encoded; -ENODEV unplugged; -errno.
 */
int camera_on_readable(struct camera *c, struct camera_photo *ret);
const char *camera_get_model(const struct camera *c);
bool camera_backend_exists(const char *name);
/** @brief "yuyv" / "mjpeg" / "nv12" to the enum. @return the format or _CAMERA_FMT_INVALID. */
enum camera_format camera_format_from_string(const char *s);

#endif
