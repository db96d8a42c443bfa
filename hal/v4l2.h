/* SPDX-License-Identifier: MIT */
/*
 * hal/v4l2.h - Video4Linux2 capture devices: capability query, format negotiation and
 * enumeration, mmap streaming I/O (REQBUFS / QUERYBUF / QBUF / DQBUF / STREAMON / STREAMOFF).
 *
 * Single-planar capture only (V4L2_BUF_TYPE_VIDEO_CAPTURE): what UVC webcams, most CSI
 * bridges and the vivid test driver offer. The fd is non-blocking: hal_v4l2_dequeue()
 * returns -EAGAIN when no frame is done. No policy (which format, how many frames, when to
 * stream) and no logging; every call returns 0 or -errno. A device that was unplugged
 * answers -ENODEV from then on; close it and open the path again when it is back.
 *
 * Ownership: a hal_v4l2 owns its fd and its buffer mappings. A dequeued buffer's memory is
 * borrowed from the handle and stays valid until hal_v4l2_unmap_buffers() or
 * hal_v4l2_close(); the device writes into it again once it is queued.
 */
#ifndef SEALBENCH_HAL_V4L2_H
#define SEALBENCH_HAL_V4L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Buffers a handle can map: more only add latency for a one-photo-at-a-time user. */
#define HAL_V4L2_BUFFERS_MAX 8
/** Sizes of the text fields of struct v4l2_capability / v4l2_fmtdesc (kernel ABI). */
#define HAL_V4L2_DRIVER_MAX 16
#define HAL_V4L2_CARD_MAX 32
#define HAL_V4L2_BUS_MAX 32
#define HAL_V4L2_DESC_MAX 32
/** Room for a fourcc as text ("MJPG") and its NUL. */
#define HAL_V4L2_FOURCC_TEXT 5

/** A fourcc code as V4L2 builds it (v4l2_fourcc() in linux/videodev2.h). */
#define HAL_V4L2_FOURCC(a, b, c, d)                                                             \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define HAL_V4L2_PIX_YUYV HAL_V4L2_FOURCC('Y', 'U', 'Y', 'V')
#define HAL_V4L2_PIX_MJPEG HAL_V4L2_FOURCC('M', 'J', 'P', 'G')
#define HAL_V4L2_PIX_JPEG HAL_V4L2_FOURCC('J', 'P', 'E', 'G')
#define HAL_V4L2_PIX_NV12 HAL_V4L2_FOURCC('N', 'V', '1', '2')

/** What VIDIOC_QUERYCAP said about the node (NUL-terminated copies). */
struct hal_v4l2_info {
	char driver[HAL_V4L2_DRIVER_MAX]; /* "uvcvideo", "vivid" */
	char card[HAL_V4L2_CARD_MAX];     /* the product name: "HD Pro Webcam C920" */
	char bus_info[HAL_V4L2_BUS_MAX];  /* "usb-0000:00:14.0-1" */
	uint32_t device_caps;             /* this node's V4L2_CAP_* */
	bool capture;                     /* single-planar video capture */
	bool streaming;                   /* streaming I/O (mmap) */
};

/** A negotiated format (single plane). */
struct hal_v4l2_format {
	uint32_t fourcc;
	unsigned width, height;
	unsigned bytesperline; /* 0 for compressed formats */
	size_t sizeimage;      /* largest frame the driver will hand over */
};

/** One VIDIOC_ENUM_FMT entry. */
struct hal_v4l2_fmtdesc {
	uint32_t fourcc;
	char description[HAL_V4L2_DESC_MAX];
	bool compressed;
	bool emulated; /* converted in software by libv4l, not by the camera */
};

/** One VIDIOC_ENUM_FRAMESIZES entry: discrete (min == max, step 0) or a stepwise range. */
struct hal_v4l2_frmsize {
	bool discrete;
	unsigned min_width, max_width, step_width;
	unsigned min_height, max_height, step_height;
};

/** A dequeued buffer. */
struct hal_v4l2_buf {
	unsigned index;
	const uint8_t *data;   /* the mapping; borrowed (see header) */
	size_t bytesused;      /* what the driver said it wrote (may be 0 or the whole buffer) */
	size_t length;         /* the mapping's size */
	uint64_t timestamp_ns; /* the driver's timestamp */
	bool ts_monotonic;     /* timestamp_ns is CLOCK_MONOTONIC (else unknown clock) */
	uint32_t sequence;     /* frame counter; gaps mean dropped frames */
	bool error;            /* V4L2_BUF_FLAG_ERROR: the data may be corrupt */
};

struct hal_v4l2;

/**
 * @brief Open @p path non-blocking and query its capabilities.
 * @return 0 and *ret (close with hal_v4l2_close()); -ENOENT no such node; -ENOTTY not a V4L2
 *         device; -EOPNOTSUPP a V4L2 node that cannot capture with streaming I/O (e.g. a UVC
 *         metadata node); -ENOMEM; another -errno from open()/ioctl().
 */
int hal_v4l2_open(const char *path, struct hal_v4l2 **ret);

/** @brief Stop streaming, unmap the buffers, close the fd. Accepts NULL. */
void hal_v4l2_close(struct hal_v4l2 *v);

/** @brief The device fd (borrowed; do not close). Polls readable when a frame is done. */
int hal_v4l2_get_fd(const struct hal_v4l2 *v);

/** @brief The capabilities read at open (borrowed, valid until close). */
const struct hal_v4l2_info *hal_v4l2_get_info(const struct hal_v4l2 *v);

/**
 * @brief VIDIOC_ENUM_FMT for capture. @return 0 and *ret; -ENOENT past the last index; -errno.
 */
int hal_v4l2_enum_format(struct hal_v4l2 *v, unsigned index, struct hal_v4l2_fmtdesc *ret);

/**
 * @brief VIDIOC_ENUM_FRAMESIZES for @p fourcc.
 * @return 0 and *ret; -ENOENT past the last index (or the driver does not enumerate sizes);
 *         -errno.
 */
int hal_v4l2_enum_size(struct hal_v4l2 *v, uint32_t fourcc, unsigned index,
		       struct hal_v4l2_frmsize *ret);

/**
 * @brief VIDIOC_S_FMT with @p want (fourcc, width, height; other fields ignored, progressive
 * field order asked for). Drivers adjust what they cannot do: compare @p ret_got with what
 * you asked. Not allowed while buffers are mapped (-EBUSY).
 * @return 0 and *ret_got; -EBUSY; -errno.
 */
int hal_v4l2_set_format(struct hal_v4l2 *v, const struct hal_v4l2_format *want,
			struct hal_v4l2_format *ret_got);

/** @brief VIDIOC_G_FMT. @return 0 and *ret; -errno. */
int hal_v4l2_get_format(struct hal_v4l2 *v, struct hal_v4l2_format *ret);

/**
 * @brief VIDIOC_REQBUFS (mmap) for @p count buffers, then QUERYBUF and mmap each.
 * @param count 2..HAL_V4L2_BUFFERS_MAX; the driver may grant more or fewer (the grant is
 *        capped at HAL_V4L2_BUFFERS_MAX).
 * @return the number of buffers mapped (>= 2); -EINVAL bad count; -ENOMEM fewer than two
 *         granted; -EBUSY already mapped; -errno.
 */
int hal_v4l2_map_buffers(struct hal_v4l2 *v, unsigned count);

/** @brief Stop streaming, unmap and free the buffers (REQBUFS 0). Safe without buffers. */
void hal_v4l2_unmap_buffers(struct hal_v4l2 *v);

/** @brief VIDIOC_QBUF of one mapped buffer. @return 0; -EINVAL bad index; -errno. */
int hal_v4l2_queue(struct hal_v4l2 *v, unsigned index);

/**
 * @brief VIDIOC_DQBUF: take the oldest done buffer.
 * @return 0 and *ret (the buffer stays dequeued until hal_v4l2_queue()); -EAGAIN none done;
 *         -ENODEV unplugged; -EPIPE not streaming; -errno.
 */
int hal_v4l2_dequeue(struct hal_v4l2 *v, struct hal_v4l2_buf *ret);

/** @brief VIDIOC_STREAMON. Queue buffers first. @return 0 or -errno. */
int hal_v4l2_stream_on(struct hal_v4l2 *v);

/**
 * @brief VIDIOC_STREAMOFF. Every buffer is dequeued by it (queue them again before the next
 * stream_on). @return 0 or -errno.
 */
int hal_v4l2_stream_off(struct hal_v4l2 *v);

/** @brief Whether the handle is streaming. */
bool hal_v4l2_is_streaming(const struct hal_v4l2 *v);

/** @brief @p fourcc as four printable characters in @p buf (non-printables as '.'). */
const char *hal_v4l2_fourcc_str(uint32_t fourcc, char buf[HAL_V4L2_FOURCC_TEXT]);

#endif
