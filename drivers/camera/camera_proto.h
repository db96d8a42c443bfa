/* SPDX-License-Identifier: MIT */
/*
 * drivers/camera/camera_proto.h - the pure parts of the V4L2 camera backend: format
 * negotiation checks, the verdict on a dequeued buffer (stale, corrupt, usable), MJPEG
 * payload trimming and row repacking. No fds, no allocation: tests drive them with buffers.
 */
#ifndef SEALBENCH_DRIVERS_CAMERA_PROTO_H
#define SEALBENCH_DRIVERS_CAMERA_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "drivers/camera/camera.h"
#include "hal/v4l2.h"

/** @brief The V4L2 fourcc for @p f (MJPEG is "MJPG"), or 0 for an invalid format. */
uint32_t camera_proto_fourcc(enum camera_format f);

/** @brief Our format for a V4L2 fourcc ("MJPG" and "JPEG" are both MJPEG), or _CAMERA_FMT_INVALID. */
enum camera_format camera_proto_format_from_fourcc(uint32_t fourcc);

/** @brief Bytes of one packed row (YUYV: width * 2; NV12: width; MJPEG: 0). */
size_t camera_proto_row_bytes(enum camera_format f, unsigned width);

/**
 * @brief Bytes of a frame with rows of @p stride bytes (YUYV: stride * h; NV12: stride *
 * (h + (h + 1) / 2)). @p stride 0 means packed. 0 for MJPEG (its size varies per frame).
 */
size_t camera_proto_frame_bytes(enum camera_format f, unsigned width, unsigned height,
				size_t stride);

/**
 * @brief Check what VIDIOC_S_FMT settled on against the board file. The pixel format and the
 * size must be what the board file asks for: a camera that silently picks another size
 * would put photos of another geometry into the evidence, so we refuse at startup instead
 * (sealbench-devices lists what the camera offers).
 * @param want_fmt, want_w, want_h the board file's camera.format / width / height.
 * @param got the driver's answer.
 * @return 0; -EPROTONOSUPPORT the driver chose another pixel format; -ERANGE another size;
 *         -EBADMSG the driver's numbers cannot hold a frame (bytesperline below a packed row,
 *         sizeimage below a frame); -EINVAL bad arguments.
 */
int camera_proto_check_format(enum camera_format want_fmt, unsigned want_w, unsigned want_h,
			      const struct hal_v4l2_format *got);

/**
 * @brief Cut one MJPEG frame out of a V4L2 buffer: a valid @p bytesused is used as the
 * payload length, while 0 or more than @p length (a quirk of some UVC cameras on the first
 * buffer after STREAMON, which report the whole buffer) falls back to @p length. Then the
 * payload is cut just after the EOI that ends the first scan: the marker chain is walked
 * from SOI to SOS, the entropy-coded data is skipped (FF 00 stuffing, RSTn), and segments
 * between scans are skipped by their length, so padding or stale bytes of an earlier,
 * longer frame after the EOI never reach the photo.
 * @param ret_len the frame length, EOI included (untouched on failure).
 * @return 0; -EBADMSG no SOI, a broken marker chain, or no EOI (truncated frame); -EINVAL.
 */
int camera_proto_mjpeg_trim(const uint8_t *buf, size_t bytesused, size_t length,
			    size_t *ret_len);

/** What the backend does with a dequeued buffer. */
enum camera_proto_verdict {
	CAMERA_PROTO_USE = 0, /* deliver it */
	CAMERA_PROTO_STALE,   /* exposed before the request: requeue, wait for the next */
	CAMERA_PROTO_CORRUPT, /* flagged bad, truncated, not a JPEG: requeue, count */
};

/** The facts camera_proto_judge() needs about the stream. */
struct camera_proto_stream {
	enum camera_format format;
	unsigned width, height;
	size_t stride;       /* bytesperline, 0 = packed */
	uint64_t request_ns; /* CLOCK_MONOTONIC time of the capture request */
};

/**
 * @brief Judge a dequeued buffer.
 * @param ret_len the payload length to deliver (MJPEG: trimmed to the EOI; raw: the frame
 *        size at the stream's stride). Set only for CAMERA_PROTO_USE.
 * @return the verdict. A buffer without a CLOCK_MONOTONIC timestamp is never stale.
 */
enum camera_proto_verdict camera_proto_judge(const struct camera_proto_stream *s,
					     const struct hal_v4l2_buf *b, size_t *ret_len);

/**
 * @brief Copy a raw frame with padded rows (@p stride bytes each) into packed rows.
 * @param dst receives camera_proto_frame_bytes(f, w, h, 0) bytes; @p dst_size its room.
 * @return the packed length; -EINVAL MJPEG, a stride below a packed row, or @p dst too small;
 *         -EBADMSG @p src_len shorter than the padded frame.
 */
ssize_t camera_proto_repack(enum camera_format f, unsigned width, unsigned height, size_t stride,
			    const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_size);

#endif
