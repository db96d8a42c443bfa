/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_jpeg.c - hal/jpeg: YUYV encoding (decoded back with TurboJPEG and checked
 * pixel by pixel), buffer reuse, argument checks, and the JPEG probe on whole, padded,
 * truncated and tricky inputs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <turbojpeg.h>

#include "hal/jpeg.h"

/** Largest test frame, in bytes of YUYV or of decoded RGB. */
#define FRAME_MAX (640 * 480 * 3)

static uint8_t frame[FRAME_MAX];
static uint8_t pixels[FRAME_MAX];

/* Fill a width x height YUYV frame with one colour. */
static void fill_yuyv(unsigned w, unsigned h, uint8_t y, uint8_t u, uint8_t v)
{
	size_t i;

	for (i = 0; i < (size_t)w * h / 2; i++) {
		frame[4 * i] = y;
		frame[4 * i + 1] = u;
		frame[4 * i + 2] = y;
		frame[4 * i + 3] = v;
	}
}

/* Decode @p jpeg to @p pf pixels in `pixels`; check its size. */
static void decode(const uint8_t *jpeg, size_t len, unsigned w, unsigned h, int pf)
{
	tjhandle d = tjInitDecompress();
	int jw, jh, sub, cs;

	assert_non_null(d);
	assert_int_equal(tjDecompressHeader3(d, jpeg, len, &jw, &jh, &sub, &cs), 0);
	assert_int_equal(jw, w);
	assert_int_equal(jh, h);
	assert_int_equal(sub, TJSAMP_420);
	assert_true((size_t)w * h * tjPixelSize[pf] <= sizeof(pixels));
	assert_int_equal(tjDecompress2(d, jpeg, len, pixels, (int)w, 0, (int)h, pf, 0), 0);
	tjDestroy(d);
}

static void encode_gray_levels(void **state)
{
	/* Studio range in, full range out: 16 is black, 235 white, 126 mid grey. */
	static const struct {
		uint8_t y;
		int want;
	} rows[] = {{16, 0}, {235, 255}, {126, 128}, {0, 0}, {255, 255}};
	struct hal_jpeg *j;
	const uint8_t *jpeg;
	size_t len, i, k;

	(void)state;
	assert_int_equal(hal_jpeg_new(&j), 0);
	for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		fill_yuyv(64, 48, rows[k].y, 128, 128);
		assert_int_equal(
			hal_jpeg_encode_yuyv(j, frame, 64 * 48 * 2, 64, 48, 95, &jpeg, &len), 0);
		decode(jpeg, len, 64, 48, TJPF_GRAY);
		for (i = 0; i < 64 * 48; i++)
			assert_in_range(pixels[i], rows[k].want > 2 ? rows[k].want - 2 : 0,
					rows[k].want + 2);
	}
	hal_jpeg_free(j);
}

static void encode_full_range(void **state)
{
	struct hal_jpeg *j;
	const uint8_t *jpeg;
	size_t len, i;

	(void)state;
	assert_int_equal(hal_jpeg_new(&j), 0);
	hal_jpeg_set_full_range(j, true);
	fill_yuyv(32, 32, 100, 128, 128);
	assert_int_equal(hal_jpeg_encode_yuyv(j, frame, 32 * 32 * 2, 32, 32, 95, &jpeg, &len), 0);
	decode(jpeg, len, 32, 32, TJPF_GRAY);
	for (i = 0; i < 32 * 32; i++)
		assert_in_range(pixels[i], 98, 102);
	hal_jpeg_free(j);
}

static void encode_red(void **state)
{
	struct hal_jpeg *j;
	const uint8_t *jpeg;
	size_t len, i;

	(void)state;
	assert_int_equal(hal_jpeg_new(&j), 0);
	/* BT.601 studio-range pure red: Y 81, Cb 90, Cr 240. */
	fill_yuyv(64, 64, 81, 90, 240);
	assert_int_equal(hal_jpeg_encode_yuyv(j, frame, 64 * 64 * 2, 64, 64, 95, &jpeg, &len), 0);
	decode(jpeg, len, 64, 64, TJPF_RGB);
	for (i = 0; i < 64 * 64; i++) {
		assert_in_range(pixels[3 * i], 235, 255);
		assert_in_range(pixels[3 * i + 1], 0, 20);
		assert_in_range(pixels[3 * i + 2], 0, 20);
	}
	hal_jpeg_free(j);
}

static void encode_sizes_and_reuse(void **state)
{
	static const unsigned sizes[][2] = {{2, 1}, {6, 5}, {18, 7}, {640, 480}};
	const uint8_t *jpeg, *first = NULL;
	struct hal_jpeg *j;
	size_t len, k;

	(void)state;
	assert_int_equal(hal_jpeg_new(&j), 0);
	assert_int_equal(hal_jpeg_reserve(j, 640, 480), 0);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		unsigned w = sizes[k][0], h = sizes[k][1];

		fill_yuyv(w, h, 128, 128, 128);
		assert_int_equal(
			hal_jpeg_encode_yuyv(j, frame, (size_t)w * h * 2, w, h, 85, &jpeg, &len),
			0);
		decode(jpeg, len, w, h, TJPF_GRAY);
		/* Reserved once: the output buffer is the same every time. */
		if (!first)
			first = jpeg;
		assert_ptr_equal(jpeg, first);
	}
	hal_jpeg_free(j);
}

static void encode_bad_args(void **state)
{
	const uint8_t *jpeg = (const uint8_t *)"untouched";
	size_t len = 12345;
	struct hal_jpeg *j;

	(void)state;
	assert_int_equal(hal_jpeg_new(&j), 0);
	fill_yuyv(64, 48, 128, 128, 128);
	assert_int_equal(hal_jpeg_encode_yuyv(j, frame, 64 * 48 * 2, 63, 48, 85, &jpeg, &len),
			 -EINVAL);
	assert_int_equal(hal_jpeg_encode_yuyv(j, frame, 64 * 48 * 2, 64, 48, 0, &jpeg, &len),
			 -EINVAL);
	assert_int_equal(hal_jpeg_encode_yuyv(j, frame, 64 * 48 * 2, 64, 48, 101, &jpeg, &len),
			 -EINVAL);
	assert_int_equal(hal_jpeg_encode_yuyv(j, frame, 64 * 48 * 2 - 1, 64, 48, 85, &jpeg, &len),
			 -EINVAL);
	assert_int_equal(hal_jpeg_encode_yuyv(j, frame, sizeof(frame), HAL_JPEG_DIM_MAX + 2, 1, 85,
					      &jpeg, &len),
			 -EINVAL);
	assert_int_equal(hal_jpeg_encode_yuyv(j, frame, 64 * 48 * 2, 64, 0, 85, &jpeg, &len),
			 -EINVAL);
	assert_int_equal(hal_jpeg_encode_yuyv(NULL, frame, 64 * 48 * 2, 64, 48, 85, &jpeg, &len),
			 -EINVAL);
	assert_string_equal((const char *)jpeg, "untouched");
	assert_int_equal(len, 12345);
	assert_int_equal(hal_jpeg_reserve(j, 0, 10), -EINVAL);
	assert_string_not_equal(hal_jpeg_last_error(j), "no error");
	hal_jpeg_free(j);
	hal_jpeg_free(NULL);
}

/* A real JPEG to probe: 40x30 grey, copied into `frame` (hal_jpeg reuses its buffer). */
static size_t make_jpeg(struct hal_jpeg *j)
{
	static uint8_t yuyv[40 * 30 * 2];
	const uint8_t *jpeg;
	size_t len, i;

	for (i = 0; i < sizeof(yuyv); i++)
		yuyv[i] = (uint8_t)(i * 7);
	assert_int_equal(hal_jpeg_encode_yuyv(j, yuyv, sizeof(yuyv), 40, 30, 80, &jpeg, &len), 0);
	assert_true(len + 64 <= sizeof(frame));
	memcpy(frame, jpeg, len);
	return len;
}

static void probe_whole_and_padded(void **state)
{
	struct hal_jpeg *j;
	unsigned w = 0, h = 0;
	size_t len, got = 0;

	(void)state;
	assert_int_equal(hal_jpeg_new(&j), 0);
	len = make_jpeg(j);
	assert_int_equal(hal_jpeg_probe(j, frame, len, &w, &h, &got), 0);
	assert_int_equal(w, 40);
	assert_int_equal(h, 30);
	assert_int_equal(got, len);
	/* V4L2-style zero padding after the EOI: the true length is reported. */
	memset(frame + len, 0, 64);
	got = 0;
	assert_int_equal(hal_jpeg_probe(j, frame, len + 64, &w, &h, &got), 0);
	assert_int_equal(got, len);
	/* Outs are optional. */
	assert_int_equal(hal_jpeg_probe(j, frame, len, NULL, NULL, NULL), 0);
	hal_jpeg_free(j);
}

static void probe_rejects(void **state)
{
	static const uint8_t garbage[] = "hello, not a jpeg";
	static const uint8_t soi_only[] = {0xFF, 0xD8, 0xFF, 0xD9};
	unsigned w = 7, h = 7;
	struct hal_jpeg *j;
	size_t len, got = 7;

	(void)state;
	assert_int_equal(hal_jpeg_new(&j), 0);
	len = make_jpeg(j);
	assert_int_equal(hal_jpeg_probe(j, garbage, sizeof(garbage), &w, &h, &got), -EBADMSG);
	assert_int_equal(hal_jpeg_probe(j, garbage, 0, &w, &h, &got), -EBADMSG);
	assert_int_equal(hal_jpeg_probe(j, soi_only, sizeof(soi_only), &w, &h, &got), -EBADMSG);
	/* Truncated: no EOI, or cut mid-scan, or cut inside the headers. */
	assert_int_equal(hal_jpeg_probe(j, frame, len - 2, &w, &h, &got), -EBADMSG);
	assert_int_equal(hal_jpeg_probe(j, frame, len / 2, &w, &h, &got), -EBADMSG);
	assert_int_equal(hal_jpeg_probe(j, frame, 30, &w, &h, &got), -EBADMSG);
	assert_int_equal(hal_jpeg_probe(j, NULL, len, &w, &h, &got), -EINVAL);
	/* Failures leave the outs alone. */
	assert_int_equal(w, 7);
	assert_int_equal(h, 7);
	assert_int_equal(got, 7);
	hal_jpeg_free(j);
}

static void probe_eoi_before_scan_does_not_count(void **state)
{
	/* An APP1 segment whose payload holds FF D9 (as an EXIF thumbnail's end does). */
	static const uint8_t app1[] = {0xFF, 0xE1, 0x00, 0x06, 'x', 'y', 0xFF, 0xD9};
	static uint8_t buf[sizeof(frame)];
	struct hal_jpeg *j;
	size_t len, n, got;

	(void)state;
	assert_int_equal(hal_jpeg_new(&j), 0);
	len = make_jpeg(j);
	buf[0] = 0xFF;
	buf[1] = 0xD8;
	memcpy(buf + 2, app1, sizeof(app1));
	memcpy(buf + 2 + sizeof(app1), frame + 2, len - 2);
	n = len + sizeof(app1);
	assert_int_equal(hal_jpeg_probe(j, buf, n, NULL, NULL, &got), 0);
	assert_int_equal(got, n);
	/* Without its own EOI the frame is truncated, whatever FFD9 sits in APP1. */
	assert_int_equal(hal_jpeg_probe(j, buf, n - 2, NULL, NULL, &got), -EBADMSG);
	hal_jpeg_free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encode_gray_levels),
		cmocka_unit_test(encode_full_range),
		cmocka_unit_test(encode_red),
		cmocka_unit_test(encode_sizes_and_reuse),
		cmocka_unit_test(encode_bad_args),
		cmocka_unit_test(probe_whole_and_padded),
		cmocka_unit_test(probe_rejects),
		cmocka_unit_test(probe_eoi_before_scan_does_not_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
