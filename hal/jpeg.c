/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "hal/jpeg.h"

/** Room for a copy of TurboJPEG's error text (its own buffer is per handle, reused). */
#define JPEG_ERR_MAX 128

struct hal_jpeg {
	tjhandle enc;
	tjhandle dec;
	unsigned char *out; /* tjAlloc()ed, out_size bytes: tjBufSize() worst case */
	unsigned long out_size;
	uint8_t *planes; /* I420 scratch: Y, then U, then V */
	size_t planes_size;
	bool full_range; /* YUYV input already uses 0..255 (else BT.601 studio range) */
	char err[JPEG_ERR_MAX];
};

static void set_err(struct hal_jpeg *j, const char *msg)
{
	size_t n = strlen(msg);

	if (n >= sizeof(j->err))
		n = sizeof(j->err) - 1;
	memcpy(j->err, msg, n);
	j->err[n] = '\0';
}

int hal_jpeg_new(struct hal_jpeg **ret)
{
	struct hal_jpeg *j;

	if (!ret)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->enc = tjInitCompress();
	if (!j->enc)
		goto err_free;
	j->dec = tjInitDecompress();
	if (!j->dec)
		goto err_enc;
	*ret = j;
	return 0;

err_enc:
	tjDestroy(j->enc);
err_free:
	free(j);
	return -ENOMEM;
}

void hal_jpeg_free(struct hal_jpeg *j)
{
	if (!j)
		return;
	tjFree(j->out);
	free(j->planes);
	if (j->dec)
		tjDestroy(j->dec);
	if (j->enc)
		tjDestroy(j->enc);
	free(j);
}

static bool dims_ok(unsigned width, unsigned height)
{
	return width >= 2 && width % 2 == 0 && width <= HAL_JPEG_DIM_MAX && height >= 1 &&
	       height <= HAL_JPEG_DIM_MAX;
}

/* Bytes of the I420 planes: full-size Y, then U and V at half width and half height. */
static size_t planes_size(unsigned width, unsigned height)
{
	size_t cw = width / 2, ch = (height + 1) / 2;

	return (size_t)width * height + 2 * cw * ch;
}

int hal_jpeg_reserve(struct hal_jpeg *j, unsigned width, unsigned height)
{
	unsigned long need_out;
	size_t need_planes;

	if (!j || !dims_ok(width, height)) {
		if (j)
			set_err(j, "frame size out of range");
		return -EINVAL;
	}
	need_out = tjBufSize((int)width, (int)height, TJSAMP_420);
	if (need_out == (unsigned long)-1) {
		set_err(j, "frame size out of range");
		return -EINVAL;
	}
	if (need_out > j->out_size) {
		unsigned char *out = tjAlloc((int)need_out);

		if (!out)
			goto err_nomem;
		tjFree(j->out);
		j->out = out;
		j->out_size = need_out;
	}
	need_planes = planes_size(width, height);
	if (need_planes > j->planes_size) {
		uint8_t *p = malloc(need_planes);

		if (!p)
			goto err_nomem;
		free(j->planes);
		j->planes = p;
		j->planes_size = need_planes;
	}
	return 0;

err_nomem:
	set_err(j, "out of memory");
	return -ENOMEM;
}

/*
 * Columns of chroma (pairs of pixels) converted per block. A constant trip count lets gcc's
 * -O2 vectoriser (the "very cheap" cost model: no epilogue) and clang turn the block into
 * SIMD code; the row's last cw % CONV_BLOCK columns take the same code one at a time.
 */
#define CONV_BLOCK 16u

/* Clamp to 0..255 in 16-bit lanes (SSE2 and NEON have 16-bit min/max; 32-bit would widen). */
static inline uint8_t clamp_u8(int16_t t)
{
	int16_t lo = t < 0 ? (int16_t)0 : t;

	return (uint8_t)(lo > 255 ? (int16_t)255 : lo);
}

/*
 * Studio (limited) range to the full range JFIF expects: Y 16..235 -> 0..255 (x 298/256),
 * Cb/Cr 16..240 around 128 -> 0..255 (x 291/256), rounded, clamped. Written so that every
 * intermediate fits 16 bits: d * 298 = d * 256 + d * 42, and d * 256 passes the shift
 * unchanged, so (d * 298 + 128) >> 8 == d + ((d * 42 + 128) >> 8) exactly (chroma: 291 =
 * 256 + 35); |d * 42| <= 10038 and |d * 35| <= 4480. Same bytes as the 32-bit formula for
 * all 256 inputs (checked exhaustively when this was written).
 */
static inline uint8_t expand_luma(int v)
{
	int16_t d = (int16_t)(v - 16);

	return clamp_u8((int16_t)(d + (int16_t)((int16_t)(d * 42 + 128) >> 8)));
}

static inline uint8_t expand_chroma(int v)
{
	int16_t d = (int16_t)(v - 128);

	return clamp_u8((int16_t)(d + (int16_t)((int16_t)(d * 35 + 128) >> 8) + 128));
}

/* Columns [x0, x1) of a pair of YUYV rows (see convert_pair()). */
static inline void convert_cols(const uint8_t *restrict r0, const uint8_t *restrict r1,
				size_t x0, size_t x1, bool full_range, uint8_t *restrict y0,
				uint8_t *restrict y1, uint8_t *restrict u, uint8_t *restrict v)
{
	size_t x;

	if (full_range) {
		for (x = x0; x < x1; x++) {
			y0[2 * x] = r0[4 * x];
			y0[2 * x + 1] = r0[4 * x + 2];
			y1[2 * x] = r1[4 * x];
			y1[2 * x + 1] = r1[4 * x + 2];
			u[x] = (uint8_t)((r0[4 * x + 1] + r1[4 * x + 1] + 1) >> 1);
			v[x] = (uint8_t)((r0[4 * x + 3] + r1[4 * x + 3] + 1) >> 1);
		}
		return;
	}
	for (x = x0; x < x1; x++) {
		y0[2 * x] = expand_luma(r0[4 * x]);
		y0[2 * x + 1] = expand_luma(r0[4 * x + 2]);
		y1[2 * x] = expand_luma(r1[4 * x]);
		y1[2 * x + 1] = expand_luma(r1[4 * x + 2]);
		u[x] = expand_chroma((r0[4 * x + 1] + r1[4 * x + 1] + 1) >> 1);
		v[x] = expand_chroma((r0[4 * x + 3] + r1[4 * x + 3] + 1) >> 1);
	}
}

/* One block of CONV_BLOCK columns: the constant bounds are what gets vectorised. */
static void convert_block(const uint8_t *restrict r0, const uint8_t *restrict r1,
			  bool full_range, uint8_t *restrict y0, uint8_t *restrict y1,
			  uint8_t *restrict u, uint8_t *restrict v)
{
	if (full_range)
		convert_cols(r0, r1, 0, CONV_BLOCK, true, y0, y1, u, v);
	else
		convert_cols(r0, r1, 0, CONV_BLOCK, false, y0, y1, u, v);
}

/* One pair of YUYV rows to two luma rows and one chroma row (chroma averaged vertically). */
static void convert_pair(const uint8_t *restrict r0, const uint8_t *restrict r1, size_t cw,
			 bool full_range, uint8_t *restrict y0, uint8_t *restrict y1,
			 uint8_t *restrict u, uint8_t *restrict v)
{
	size_t x, blocks = cw - cw % CONV_BLOCK;

	for (x = 0; x < blocks; x += CONV_BLOCK)
		convert_block(r0 + 4 * x, r1 + 4 * x, full_range, y0 + 2 * x, y1 + 2 * x, u + x,
			      v + x);
	convert_cols(r0, r1, blocks, cw, full_range, y0, y1, u, v);
}

/* The last row of an odd height: its chroma stands alone. */
static void convert_last(const uint8_t *restrict r0, size_t cw, bool full_range,
			 uint8_t *restrict y0, uint8_t *restrict u, uint8_t *restrict v)
{
	size_t x;

	for (x = 0; x < cw; x++) {
		y0[2 * x] = full_range ? r0[4 * x] : expand_luma(r0[4 * x]);
		y0[2 * x + 1] = full_range ? r0[4 * x + 2] : expand_luma(r0[4 * x + 2]);
		u[x] = full_range ? r0[4 * x + 1] : expand_chroma(r0[4 * x + 1]);
		v[x] = full_range ? r0[4 * x + 3] : expand_chroma(r0[4 * x + 3]);
	}
}

/*
 * YUYV rows (Y0 U Y1 V per pixel pair) to I420 planes, two rows at a time, in plain indexed
 * loops over restrict pointers that the compiler can vectorise.
 */
static void yuyv_to_i420(const uint8_t *src, unsigned width, unsigned height, bool full_range,
			 uint8_t *py, uint8_t *pu, uint8_t *pv)
{
	size_t cw = width / 2, stride = (size_t)width * 2;
	unsigned y;

	for (y = 0; y + 1 < height; y += 2) {
		convert_pair(src + (size_t)y * stride, src + (size_t)(y + 1) * stride, cw,
			     full_range, py + (size_t)y * width, py + (size_t)(y + 1) * width,
			     pu + (size_t)(y / 2) * cw, pv + (size_t)(y / 2) * cw);
	}
	if (height % 2) {
		convert_last(src + (size_t)y * stride, cw, full_range, py + (size_t)y * width,
			     pu + (size_t)(y / 2) * cw, pv + (size_t)(y / 2) * cw);
	}
}

void hal_jpeg_set_full_range(struct hal_jpeg *j, bool full_range)
{
	if (j)
		j->full_range = full_range;
}

/* Sizes of the I420 planes in j->planes: Y, then U, then V. */
static size_t i420_ysize(unsigned width, unsigned height)
{
	return (size_t)width * height;
}

static size_t i420_csize(unsigned width, unsigned height)
{
	return (size_t)(width / 2) * ((height + 1) / 2);
}

/* Compress the I420 frame in j->planes into j->out (the encoders' common tail). */
static int compress_i420(struct hal_jpeg *j, unsigned width, unsigned height, unsigned quality,
			 const uint8_t **ret_jpeg, size_t *ret_len)
{
	const unsigned char *planes[3] = {
		j->planes,
		j->planes + i420_ysize(width, height),
		j->planes + i420_ysize(width, height) + i420_csize(width, height),
	};
	int strides[3] = { (int)width, (int)(width / 2), (int)(width / 2) };
	unsigned char *out = j->out;
	unsigned long out_len = j->out_size;

	/* The buffer holds tjBufSize(): NOREALLOC makes TurboJPEG fail rather than swap it. */
	if (tjCompressFromYUVPlanes(j->enc, planes, (int)width, strides, (int)height, TJSAMP_420,
				    &out, &out_len, (int)quality, TJFLAG_NOREALLOC) < 0) {
		set_err(j, tjGetErrorStr2(j->enc));
		return -EIO;
	}
	*ret_jpeg = out;
	*ret_len = out_len;
	return 0;
}

int hal_jpeg_encode_yuyv(struct hal_jpeg *j, const uint8_t *yuyv, size_t len, unsigned width,
			 unsigned height, unsigned quality, const uint8_t **ret_jpeg,
			 size_t *ret_len)
{
	uint8_t *u;
	int r;

	if (!j || !yuyv || !ret_jpeg || !ret_len)
		return -EINVAL;
	if (quality < 1 || quality > 100 || !dims_ok(width, height) ||
	    len < (size_t)width * height * 2) {
		set_err(j, "bad quality, frame size or frame length");
		return -EINVAL;
	}
	r = hal_jpeg_reserve(j, width, height);
	if (r < 0)
		return r;

	u = j->planes + i420_ysize(width, height);
	yuyv_to_i420(yuyv, width, height, j->full_range, j->planes, u, u + i420_csize(width, height));
	return compress_i420(j, width, height, quality, ret_jpeg, ret_len);
}

/* NV12 to I420: luma row by row (expanded unless full range), U/V pairs split into planes. */
static void nv12_to_i420(const uint8_t *src, unsigned width, unsigned height, bool full_range,
			 uint8_t *restrict py, uint8_t *restrict pu, uint8_t *restrict pv)
{
	size_t ysize = (size_t)width * height, cw = width / 2, ch = (height + 1) / 2, i;
	const uint8_t *uv = src + ysize;

	if (full_range) {
		memcpy(py, src, ysize);
		for (i = 0; i < cw * ch; i++) {
			pu[i] = uv[2 * i];
			pv[i] = uv[2 * i + 1];
		}
		return;
	}
	for (i = 0; i < ysize; i++)
		py[i] = expand_luma(src[i]);
	for (i = 0; i < cw * ch; i++) {
		pu[i] = expand_chroma(uv[2 * i]);
		pv[i] = expand_chroma(uv[2 * i + 1]);
	}
}

int hal_jpeg_encode_nv12(struct hal_jpeg *j, const uint8_t *nv12, size_t len, unsigned width,
			 unsigned height, unsigned quality, const uint8_t **ret_jpeg,
			 size_t *ret_len)
{
	uint8_t *u;
	int r;

	if (!j || !nv12 || !ret_jpeg || !ret_len)
		return -EINVAL;
	if (quality < 1 || quality > 100 || !dims_ok(width, height) ||
	    len < (size_t)width * height + (size_t)width * ((height + 1) / 2)) {
		set_err(j, "bad quality, frame size or frame length");
		return -EINVAL;
	}
	r = hal_jpeg_reserve(j, width, height);
	if (r < 0)
		return r;

	u = j->planes + i420_ysize(width, height);
	nv12_to_i420(nv12, width, height, j->full_range, j->planes, u, u + i420_csize(width, height));
	return compress_i420(j, width, height, quality, ret_jpeg, ret_len);
}

/* Read a big-endian segment length at @p pos; @return it, or 0 when it does not fit. */
static size_t seg_len(const uint8_t *buf, size_t len, size_t pos)
{
	size_t n;

	if (len - pos < 2)
		return 0;
	n = (size_t)buf[pos] << 8 | buf[pos + 1];
	if (n < 2 || n > len - pos)
		return 0;
	return n;
}

/* SOI, then marker segments up to and including the first SOS header. */
static int skip_to_scan(const uint8_t *buf, size_t len, size_t *ret_pos)
{
	size_t pos = 2, n;
	uint8_t m;

	if (len < 4 || buf[0] != 0xFF || buf[1] != 0xD8)
		return -EBADMSG;
	for (;;) {
		if (pos >= len || buf[pos] != 0xFF)
			return -EBADMSG;
		while (pos < len && buf[pos] == 0xFF)
			pos++; /* fill bytes */
		if (pos >= len)
			return -EBADMSG;
		m = buf[pos++];
		if (m == 0xD8 || m == 0xD9 || m == 0x00)
			return -EBADMSG;
		if (m == 0x01 || (m >= 0xD0 && m <= 0xD7))
			continue; /* TEM, RSTn: no length */
		n = seg_len(buf, len, pos);
		if (!n)
			return -EBADMSG;
		pos += n;
		if (m == 0xDA) {
			*ret_pos = pos;
			return 0;
		}
	}
}

int hal_jpeg_frame_end(const uint8_t *buf, size_t len, size_t *ret_len)
{
	size_t pos, n;
	uint8_t m;
	int r;

	if (!buf || !ret_len)
		return -EINVAL;
	r = skip_to_scan(buf, len, &pos);
	if (r < 0)
		return r;
	for (;;) {
		/*
		 * Entropy-coded data: a 0xFF is stuffed (FF 00), a restart marker, or fill.
		 * memchr() jumps to the next 0xFF (SIMD in libc): a 300 KB photo has one every
		 * few hundred bytes (make bench: MJPEG camera stage 191 -> 65 us at 280 KB).
		 */
		while (pos + 1 < len) {
			const uint8_t *ff = memchr(buf + pos, 0xFF, len - 1 - pos);

			if (!ff) {
				pos = len - 1;
				break;
			}
			pos = (size_t)(ff - buf);
			m = buf[pos + 1];
			if (m == 0x00 || (m >= 0xD0 && m <= 0xD7)) {
				pos += 2;
				continue;
			}
			if (m == 0xFF) {
				pos++;
				continue;
			}
			break;
		}
		if (pos + 1 >= len)
			return -EBADMSG; /* no EOI: truncated */
		m = buf[pos + 1];
		pos += 2;
		if (m == 0xD9) {
			*ret_len = pos;
			return 0;
		}
		if (m == 0xD8 || m == 0x01)
			return -EBADMSG;
		/* A segment between scans (DHT, DQT, DRI, COM, APPn, the next SOS). */
		n = seg_len(buf, len, pos);
		if (!n)
			return -EBADMSG;
		pos += n;
	}
}

int hal_jpeg_probe(struct hal_jpeg *j, const uint8_t *buf, size_t len, unsigned *ret_width,
		   unsigned *ret_height, size_t *ret_len)
{
	int w, h, subsamp, colorspace;
	size_t end = 0;

	if (!j || !buf)
		return -EINVAL;
	if (hal_jpeg_frame_end(buf, len, &end) < 0) {
		set_err(j, "no SOI, a broken marker chain, or no EOI after the scan (truncated)");
		return -EBADMSG;
	}
	if (tjDecompressHeader3(j->dec, buf, end, &w, &h, &subsamp, &colorspace) < 0) {
		set_err(j, tjGetErrorStr2(j->dec));
		return -EBADMSG;
	}
	if (w <= 0 || h <= 0) {
		set_err(j, "zero-sized frame");
		return -EBADMSG;
	}
	if (ret_width)
		*ret_width = (unsigned)w;
	if (ret_height)
		*ret_height = (unsigned)h;
	if (ret_len)
		*ret_len = end;
	return 0;
}

const char *hal_jpeg_last_error(const struct hal_jpeg *j)
{
	if (!j)
		return "no handle";
	return j->err[0] ? j->err : "no error";
}
