/* SPDX-License-Identifier: MIT */
/*
 * drivers/camera/camera_proto.c - pure helpers of the V4L2 camera backend (camera_proto.h).
 */
#include <errno.h>
#include <string.h>

#include "drivers/camera/camera_proto.h"
#include "hal/jpeg.h"

uint32_t camera_proto_fourcc(enum camera_format f)
{
	switch (f) {
	case CAMERA_FMT_YUYV:
		return HAL_V4L2_PIX_YUYV;
	case CAMERA_FMT_MJPEG:
		return HAL_V4L2_PIX_MJPEG;
	case CAMERA_FMT_NV12:
		return HAL_V4L2_PIX_NV12;
	default:
		return 0;
	}
}

enum camera_format camera_proto_format_from_fourcc(uint32_t fourcc)
{
	switch (fourcc) {
	case HAL_V4L2_PIX_YUYV:
		return CAMERA_FMT_YUYV;
	case HAL_V4L2_PIX_MJPEG:
	case HAL_V4L2_PIX_JPEG:
		return CAMERA_FMT_MJPEG;
	case HAL_V4L2_PIX_NV12:
		return CAMERA_FMT_NV12;
	default:
		return _CAMERA_FMT_INVALID;
	}
}

size_t camera_proto_row_bytes(enum camera_format f, unsigned width)
{
	switch (f) {
	case CAMERA_FMT_YUYV:
		return (size_t)width * 2;
	case CAMERA_FMT_NV12:
		return width;
	default:
		return 0;
	}
}

size_t camera_proto_frame_bytes(enum camera_format f, unsigned width, unsigned height,
				size_t stride)
{
	if (!stride)
		stride = camera_proto_row_bytes(f, width);
	switch (f) {
	case CAMERA_FMT_YUYV:
		return stride * height;
	case CAMERA_FMT_NV12:
		return stride * (height + (height + 1) / 2);
	default:
		return 0;
	}
}

int camera_proto_check_format(enum camera_format want_fmt, unsigned want_w, unsigned want_h,
			      const struct hal_v4l2_format *got)
{
	enum camera_format f;

	if (!got || camera_proto_fourcc(want_fmt) == 0)
		return -EINVAL;
	f = camera_proto_format_from_fourcc(got->fourcc);
	if (f != want_fmt)
		return -EPROTONOSUPPORT;
	if (got->width != want_w || got->height != want_h)
		return -ERANGE;
	if (f == CAMERA_FMT_MJPEG)
		return got->sizeimage > 0 ? 0 : -EBADMSG;
	if (got->bytesperline < camera_proto_row_bytes(f, got->width))
		return -EBADMSG;
	if (got->sizeimage < camera_proto_frame_bytes(f, got->width, got->height,
						      got->bytesperline))
		return -EBADMSG;
	return 0;
}

int camera_proto_mjpeg_trim(const uint8_t *buf, size_t bytesused, size_t length,
			    size_t *ret_len)
{
	if (!buf || !ret_len)
		return -EINVAL;
	return hal_jpeg_frame_end(buf, bytesused && bytesused <= length ? bytesused : length,
				  ret_len);
}

enum camera_proto_verdict camera_proto_judge(const struct camera_proto_stream *s,
					     const struct hal_v4l2_buf *b, size_t *ret_len)
{
	size_t payload, need;

	if (b->error)
		return CAMERA_PROTO_CORRUPT;
	if (b->ts_monotonic && b->timestamp_ns < s->request_ns)
		return CAMERA_PROTO_STALE;
	if (s->format == CAMERA_FMT_MJPEG) {
		if (camera_proto_mjpeg_trim(b->data, b->bytesused, b->length, &payload) < 0)
			return CAMERA_PROTO_CORRUPT;
		*ret_len = payload;
		return CAMERA_PROTO_USE;
	}
	payload = b->bytesused && b->bytesused <= b->length ? b->bytesused : b->length;
	need = camera_proto_frame_bytes(s->format, s->width, s->height, s->stride);
	if (!need || payload < need)
		return CAMERA_PROTO_CORRUPT;
	*ret_len = need;
	return CAMERA_PROTO_USE;
}

ssize_t camera_proto_repack(enum camera_format f, unsigned width, unsigned height, size_t stride,
			    const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_size)
{
	size_t row = camera_proto_row_bytes(f, width), rows, i;

	if (!row || !src || !dst || stride < row)
		return -EINVAL;
	if (dst_size < camera_proto_frame_bytes(f, width, height, 0))
		return -EINVAL;
	if (src_len < camera_proto_frame_bytes(f, width, height, stride))
		return -EBADMSG;
	rows = f == CAMERA_FMT_NV12 ? height + (height + 1) / 2 : height;
	for (i = 0; i < rows; i++)
		memcpy(dst + i * row, src + i * stride, row);
	return (ssize_t)(rows * row);
}
