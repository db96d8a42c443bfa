/* SPDX-License-Identifier: MIT */
/*
 * hal/jpeg.h - TurboJPEG (libjpeg-turbo 2.1 API) behind a small handle.
 *
 * One handle holds a compressor, a decompressor (header probes only), the planar scratch
 * buffer and the JPEG output buffer. Buffers are sized for the largest frame seen (or
 * reserved up front with hal_jpeg_reserve()) and reused, so encoding a photo of a known
 * size does not allocate.
 *
 * Not thread-safe: one handle per thread. No logging; hal_jpeg_last_error() tells why a call
 * failed.
 */
#ifndef SEALBENCH_HAL_JPEG_H
#define SEALBENCH_HAL_JPEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Largest width or height accepted (keeps TurboJPEG's int sizes far from overflow). */
#define HAL_JPEG_DIM_MAX 8192u

struct hal_jpeg;

/** @brief Create a handle. @return 0 and *ret (free with hal_jpeg_free()), -ENOMEM. */
int hal_jpeg_new(struct hal_jpeg **ret);

/** @brief Free the handle and its buffers. Accepts NULL. */
void hal_jpeg_free(struct hal_jpeg *j);

/**
 * @brief Size the buffers for frames up to @p width x @p height now, so that later encodes
 * of that size do not allocate.
 * @return 0, -EINVAL (zero, odd width, or above HAL_JPEG_DIM_MAX), -ENOMEM.
 */
int hal_jpeg_reserve(struct hal_jpeg *j, unsigned width, unsigned height);

/**
 * @brief Say whether YUYV input uses the full 0..255 range. The default (false) is the
 * BT.601 studio range V4L2 cameras deliver (Y 16..235, Cb/Cr 16..240), which the encoder
 * stretches to the full range JPEG (JFIF) viewers assume; without that, photos look grey.
 */
void hal_jpeg_set_full_range(struct hal_jpeg *j, bool full_range);

/**
 * @brief Encode a packed YUYV 4:2:2 frame (Y0 U Y1 V) as a baseline JPEG with 4:2:0 chroma.
 * @param yuyv the frame, rows of width * 2 bytes, no padding; @p len at least that times height.
 * @param width even, 2..HAL_JPEG_DIM_MAX; @p height 1..HAL_JPEG_DIM_MAX.
 * @param quality 1..100.
 * @param ret_jpeg receives the JPEG bytes, owned by @p j and valid until the next encode or
 *        hal_jpeg_free(); @p ret_len their length. Both untouched on failure.
 * @return 0; -EINVAL bad arguments or short frame; -ENOMEM; -EIO TurboJPEG failed.
 */
int hal_jpeg_encode_yuyv(struct hal_jpeg *j, const uint8_t *yuyv, size_t len, unsigned width,
			 unsigned height, unsigned quality, const uint8_t **ret_jpeg,
			 size_t *ret_len);

/**
 * @brief Encode an NV12 frame (a full-size Y plane, then one plane of interleaved U/V pairs at
 * half width and half height) as a baseline JPEG with 4:2:0 chroma. The chroma is
 * de-interleaved into the planar buffer and handed to TurboJPEG as YUV planes, so no chroma
 * is resampled. Range handling as for YUYV (hal_jpeg_set_full_range()).
 * @param nv12 the frame, rows of width bytes, no padding; @p len at least
 *        width * height + width * ((height + 1) / 2).
 * @param width even, 2..HAL_JPEG_DIM_MAX; @p height 1..HAL_JPEG_DIM_MAX.
 * @param quality 1..100.
 * @param ret_jpeg, ret_len as for hal_jpeg_encode_yuyv(); untouched on failure.
 * @return 0; -EINVAL bad arguments or short frame; -ENOMEM; -EIO TurboJPEG failed.
 */
int hal_jpeg_encode_nv12(struct hal_jpeg *j, const uint8_t *nv12, size_t len, unsigned width,
			 unsigned height, unsigned quality, const uint8_t **ret_jpeg,
			 size_t *ret_len);

/**
 * @brief Where the JPEG in @p buf ends: the marker chain is walked from SOI to SOS, the
 * entropy-coded data skipped (FF 00 stuffing, RSTn), segments between scans skipped by their
 * length, up to the EOI that ends the image. Bytes after it (V4L2 MJPEG padding, stale bytes
 * of an earlier, longer frame) never count; an FFD9 inside an EXIF thumbnail does not either.
 * Pure: no handle, no allocation.
 * @param ret_len the length up to and including the EOI (untouched on failure).
 * @return 0; -EBADMSG no SOI, a broken marker chain, or no EOI (truncated); -EINVAL.
 */
int hal_jpeg_frame_end(const uint8_t *buf, size_t len, size_t *ret_len);

/**
 * @brief Check that @p buf holds one whole JPEG: SOI, a marker chain up to the first scan
 * that TurboJPEG's header decoder accepts, and the EOI that ends it (hal_jpeg_frame_end()).
 * Padding after the EOI (V4L2 MJPEG buffers often carry some) is tolerated.
 * @param ret_width, ret_height the frame size; @p ret_len the length up to and including the
 *        EOI (<= @p len). All three untouched on failure; any may be NULL.
 * @return 0; -EBADMSG not a (complete) JPEG; -EINVAL NULL arguments.
 */
int hal_jpeg_probe(struct hal_jpeg *j, const uint8_t *buf, size_t len, unsigned *ret_width,
		   unsigned *ret_height, size_t *ret_len);

/** @brief Why the last call on @p j failed (static or handle-owned text, never NULL). */
const char *hal_jpeg_last_error(const struct hal_jpeg *j);

#endif
