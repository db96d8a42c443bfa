/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_camera.c - the V4L2 camera backend's pure parts (camera_proto.c: format
 * negotiation checks, buffer verdicts, MJPEG trimming, row repacking), NV12 support (hal/jpeg
 * encode round trip, the class through the sim backend), which frame a warm-up request
 * delivers, and the v4l2 backend's open path on nodes that are not cameras.
 *
 * Streaming against a real V4L2 driver (vivid) runs in the VM rig; here nothing needs a
 * kernel device. All waits are poll() with a timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <turbojpeg.h>

#include "drivers/camera/camera.h"
#include "drivers/camera/camera_proto.h"
#include "hal/jpeg.h"
#include "hal/v4l2.h"

/** How long a test waits for an fd that should become readable. */
#define WAIT_MS 2000
/** Room for the test JPEGs and frames (64 x 48 at most, plus padding). */
#define BUF_MAX (64 * 1024)

static char tmpdir[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/sealbench-camera-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* @p a then @p b into @p dst, which must hold them. */
static void join(char *dst, size_t size, const char *a, const char *b)
{
	int n = snprintf(dst, size, "%s%s", a, b);

	assert_true(n >= 0 && (size_t)n < size);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* A small real JPEG of one grey level (so frames differ by level). */
static size_t make_jpeg(uint8_t level, uint8_t *out, size_t size)
{
	static uint8_t rgb[32 * 16 * 3];
	unsigned char *jpeg = NULL;
	unsigned long len = 0;
	tjhandle enc = tjInitCompress();

	assert_non_null(enc);
	memset(rgb, level, sizeof(rgb));
	assert_int_equal(tjCompress2(enc, rgb, 32, 0, 16, TJPF_RGB, &jpeg, &len, TJSAMP_420, 90, 0),
			 0);
	assert_true(len <= size);
	memcpy(out, jpeg, len);
	tjFree(jpeg);
	tjDestroy(enc);
	return len;
}

/* ---- format negotiation ---- */

static void fourcc_mapping(void **state)
{
	char buf[HAL_V4L2_FOURCC_TEXT];

	(void)state;
	assert_int_equal(camera_proto_fourcc(CAMERA_FMT_YUYV), HAL_V4L2_PIX_YUYV);
	assert_int_equal(camera_proto_fourcc(CAMERA_FMT_MJPEG), HAL_V4L2_PIX_MJPEG);
	assert_int_equal(camera_proto_fourcc(CAMERA_FMT_NV12), HAL_V4L2_PIX_NV12);
	assert_int_equal(camera_proto_fourcc(_CAMERA_FMT_INVALID), 0);
	assert_int_equal(camera_proto_format_from_fourcc(HAL_V4L2_PIX_JPEG), CAMERA_FMT_MJPEG);
	assert_int_equal(camera_proto_format_from_fourcc(HAL_V4L2_FOURCC('H', '2', '6', '4')),
			 _CAMERA_FMT_INVALID);
	assert_string_equal(hal_v4l2_fourcc_str(HAL_V4L2_PIX_MJPEG, buf), "MJPG");
	assert_string_equal(hal_v4l2_fourcc_str(0x01020344, buf), "D...");
	assert_int_equal(camera_format_from_string("nv12"), CAMERA_FMT_NV12);
	assert_int_equal(camera_format_from_string("NV12"), CAMERA_FMT_NV12);
}

static void check_format_table(void **state)
{
	static const struct {
		const char *legend;
		enum camera_format want;
		unsigned w, h;
		struct hal_v4l2_format got;
		int expect;
	} rows[] = {
		{"yuyv exact", CAMERA_FMT_YUYV, 640, 480,
		 {HAL_V4L2_PIX_YUYV, 640, 480, 1280, 640 * 480 * 2}, 0},
		{"yuyv padded rows", CAMERA_FMT_YUYV, 640, 480,
		 {HAL_V4L2_PIX_YUYV, 640, 480, 1536, 1536 * 480}, 0},
		{"driver picked another format", CAMERA_FMT_YUYV, 640, 480,
		 {HAL_V4L2_PIX_MJPEG, 640, 480, 0, 100000}, -EPROTONOSUPPORT},
		{"driver picked another size", CAMERA_FMT_MJPEG, 1920, 1080,
		 {HAL_V4L2_PIX_MJPEG, 1280, 720, 0, 1843200}, -ERANGE},
		{"mjpeg under its JPEG fourcc", CAMERA_FMT_MJPEG, 1280, 720,
		 {HAL_V4L2_PIX_JPEG, 1280, 720, 0, 1843200}, 0},
		{"mjpeg without a buffer size", CAMERA_FMT_MJPEG, 1280, 720,
		 {HAL_V4L2_PIX_MJPEG, 1280, 720, 0, 0}, -EBADMSG},
		{"bytesperline below a row", CAMERA_FMT_YUYV, 640, 480,
		 {HAL_V4L2_PIX_YUYV, 640, 480, 640, 640 * 480 * 2}, -EBADMSG},
		{"sizeimage below a frame", CAMERA_FMT_YUYV, 640, 480,
		 {HAL_V4L2_PIX_YUYV, 640, 480, 1280, 1280 * 479}, -EBADMSG},
		{"nv12 exact", CAMERA_FMT_NV12, 640, 480,
		 {HAL_V4L2_PIX_NV12, 640, 480, 640, 640 * 720}, 0},
		{"nv12 short chroma plane", CAMERA_FMT_NV12, 640, 480,
		 {HAL_V4L2_PIX_NV12, 640, 480, 640, 640 * 480}, -EBADMSG},
		{"invalid wanted format", _CAMERA_FMT_INVALID, 640, 480,
		 {HAL_V4L2_PIX_YUYV, 640, 480, 1280, 640 * 480 * 2}, -EINVAL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r = camera_proto_check_format(rows[i].want, rows[i].w, rows[i].h, &rows[i].got);

		if (r != rows[i].expect)
			fail_msg("%s: got %d, want %d", rows[i].legend, r, rows[i].expect);
	}
	assert_int_equal(camera_proto_check_format(CAMERA_FMT_YUYV, 1, 1, NULL), -EINVAL);
	assert_int_equal(camera_proto_frame_bytes(CAMERA_FMT_NV12, 4, 3, 0), 4 * 3 + 4 * 2);
	assert_int_equal(camera_proto_frame_bytes(CAMERA_FMT_YUYV, 4, 3, 10), 30);
	assert_int_equal(camera_proto_frame_bytes(CAMERA_FMT_MJPEG, 4, 3, 0), 0);
}

/* ---- MJPEG trimming ---- */

static void mjpeg_trim_table(void **state)
{
	static uint8_t jpeg[BUF_MAX], buf[BUF_MAX];
	size_t jlen, len, sos = 0, i;

	(void)state;
	jlen = make_jpeg(0x40, jpeg, sizeof(jpeg) / 2);
	for (i = 2; i + 1 < jlen; i++) {
		if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA) {
			sos = i;
			break;
		}
	}
	assert_true(sos > 0);

	/* Exact payload. */
	assert_int_equal(camera_proto_mjpeg_trim(jpeg, jlen, jlen, &len), 0);
	assert_int_equal(len, jlen);

	/* The first-buffer quirk: bytesused = the whole buffer (or 0), zero padding after. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, jpeg, jlen);
	len = 0;
	assert_int_equal(camera_proto_mjpeg_trim(buf, sizeof(buf), sizeof(buf), &len), 0);
	assert_int_equal(len, jlen);
	len = 0;
	assert_int_equal(camera_proto_mjpeg_trim(buf, 0, sizeof(buf), &len), 0);
	assert_int_equal(len, jlen);
	len = 0;
	assert_int_equal(camera_proto_mjpeg_trim(buf, sizeof(buf) * 2, sizeof(buf), &len), 0);
	assert_int_equal(len, jlen);

	/* Stale bytes of an earlier, longer frame after the EOI, with an FFD9 of their own:
	 * cut at the first EOI after the scan, not the last FFD9 in the buffer. */
	memcpy(buf + jlen, jpeg + sos, jlen - sos);
	len = 0;
	assert_int_equal(camera_proto_mjpeg_trim(buf, 2 * jlen - sos, sizeof(buf), &len), 0);
	assert_int_equal(len, jlen);

	/* Truncated: no EOI. */
	assert_int_equal(camera_proto_mjpeg_trim(jpeg, jlen - 2, jlen, &len), -EBADMSG);
	assert_int_equal(camera_proto_mjpeg_trim(jpeg, sos + 3, jlen, &len), -EBADMSG);
	/* No SOI. */
	assert_int_equal(camera_proto_mjpeg_trim(jpeg + 2, jlen - 2, jlen - 2, &len), -EBADMSG);
	/* Not a JPEG. */
	memset(buf, 0xAB, 64);
	assert_int_equal(camera_proto_mjpeg_trim(buf, 64, 64, &len), -EBADMSG);
	assert_int_equal(camera_proto_mjpeg_trim(NULL, 64, 64, &len), -EINVAL);
}

static void mjpeg_trim_markers(void **state)
{
	/* Hand-made streams: an APP1 holding FFD9 (an EXIF thumbnail's end) before the scan,
	 * stuffed FF 00 and RST markers and fill bytes in the entropy data, a second scan with
	 * a DHT between the scans (progressive style). Only the real EOI ends the frame. */
	static const uint8_t s[] = {
		0xFF, 0xD8,                                     /* SOI */
		0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0x00, 0x00, /* APP1 with FFD9 inside */
		0xFF, 0xDA, 0x00, 0x04, 0x01, 0x02,             /* SOS */
		0x11, 0xFF, 0x00, 0x22, 0xFF, 0xD3, 0x33, 0xFF, 0xFF, 0x00, /* data */
		0xFF, 0xC4, 0x00, 0x05, 0xFF, 0xD9, 0x00,       /* DHT holding FF D9 */
		0xFF, 0xDA, 0x00, 0x03, 0x07,                   /* second SOS */
		0x44, 0x55,                                     /* data */
		0xFF, 0xD9,                                     /* EOI */
		0xFF, 0xD9, 0x00,                               /* junk after */
	};
	size_t len = 0;

	(void)state;
	assert_int_equal(camera_proto_mjpeg_trim(s, sizeof(s), sizeof(s), &len), 0);
	assert_int_equal(len, sizeof(s) - 3);
	/* A segment length running past the buffer. */
	assert_int_equal(camera_proto_mjpeg_trim(s, 28, 28, &len), -EBADMSG);
}

/* ---- buffer verdicts and repacking ---- */

static void judge_buffers(void **state)
{
	static uint8_t jpeg[BUF_MAX];
	static uint8_t raw[64 * 2 * 4];
	struct camera_proto_stream s = {
		.format = CAMERA_FMT_MJPEG, .width = 32, .height = 16, .request_ns = 1000};
	struct hal_v4l2_buf b = {0};
	size_t jlen, len = 0;

	(void)state;
	jlen = make_jpeg(0x90, jpeg, sizeof(jpeg));
	memset(jpeg + jlen, 0, 256);
	b.data = jpeg;
	b.length = jlen + 256;
	b.bytesused = b.length; /* the quirk */
	b.timestamp_ns = 2000;
	b.ts_monotonic = true;
	assert_int_equal(camera_proto_judge(&s, &b, &len), CAMERA_PROTO_USE);
	assert_int_equal(len, jlen);

	b.timestamp_ns = 999; /* exposed before the request */
	assert_int_equal(camera_proto_judge(&s, &b, &len), CAMERA_PROTO_STALE);
	b.ts_monotonic = false; /* an unknown clock cannot be compared: use it */
	assert_int_equal(camera_proto_judge(&s, &b, &len), CAMERA_PROTO_USE);
	b.error = true;
	assert_int_equal(camera_proto_judge(&s, &b, &len), CAMERA_PROTO_CORRUPT);
	b.error = false;
	b.bytesused = jlen - 10; /* truncated JPEG */
	assert_int_equal(camera_proto_judge(&s, &b, &len), CAMERA_PROTO_CORRUPT);

	/* Raw: the frame at the stream's stride must be there. */
	s.format = CAMERA_FMT_YUYV;
	s.width = 4;
	s.height = 4;
	s.stride = 16; /* 8 bytes of row, 8 of padding */
	b.data = raw;
	b.length = sizeof(raw);
	b.bytesused = 64;
	b.timestamp_ns = 5000;
	b.ts_monotonic = true;
	len = 0;
	assert_int_equal(camera_proto_judge(&s, &b, &len), CAMERA_PROTO_USE);
	assert_int_equal(len, 64);
	b.bytesused = 63;
	assert_int_equal(camera_proto_judge(&s, &b, &len), CAMERA_PROTO_CORRUPT);
	b.bytesused = 0; /* 0 means "whole buffer" */
	assert_int_equal(camera_proto_judge(&s, &b, &len), CAMERA_PROTO_USE);
}

static void repack_rows(void **state)
{
	uint8_t src[6 * 12], dst[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)i;
	/* YUYV 4x3, stride 12: rows of 8 bytes at 0, 12, 24. */
	assert_int_equal(camera_proto_repack(CAMERA_FMT_YUYV, 4, 3, 12, src, 36, dst, sizeof(dst)),
			 24);
	assert_memory_equal(dst, src, 8);
	assert_memory_equal(dst + 8, src + 12, 8);
	assert_memory_equal(dst + 16, src + 24, 8);
	/* NV12 4x3, stride 12: 3 luma rows + 2 chroma rows of 4 bytes. */
	assert_int_equal(camera_proto_repack(CAMERA_FMT_NV12, 4, 3, 12, src, 60, dst, sizeof(dst)),
			 20);
	assert_memory_equal(dst + 12, src + 36, 4);
	assert_memory_equal(dst + 16, src + 48, 4);
	/* Errors. */
	assert_int_equal(camera_proto_repack(CAMERA_FMT_NV12, 4, 3, 12, src, 59, dst, sizeof(dst)),
			 -EBADMSG);
	assert_int_equal(camera_proto_repack(CAMERA_FMT_YUYV, 4, 3, 6, src, 36, dst, sizeof(dst)),
			 -EINVAL);
	assert_int_equal(camera_proto_repack(CAMERA_FMT_YUYV, 4, 3, 12, src, 36, dst, 23), -EINVAL);
	assert_int_equal(camera_proto_repack(CAMERA_FMT_MJPEG, 4, 3, 12, src, 36, dst, 64), -EINVAL);
}

/* ---- NV12 ---- */

/* Decode to RGB into @p rgb; check size and subsampling. */
static void decode_rgb(const uint8_t *jpeg, size_t len, unsigned w, unsigned h, uint8_t *rgb)
{
	tjhandle d = tjInitDecompress();
	int jw, jh, sub, cs;

	assert_non_null(d);
	assert_int_equal(tjDecompressHeader3(d, jpeg, len, &jw, &jh, &sub, &cs), 0);
	assert_int_equal(jw, w);
	assert_int_equal(jh, h);
	assert_int_equal(sub, TJSAMP_420);
	assert_int_equal(tjDecompress2(d, jpeg, len, rgb, jw, 0, jh, TJPF_RGB, 0), 0);
	tjDestroy(d);
}

static void nv12_round_trip(void **state)
{
	enum { W = 32, H = 16 };
	static uint8_t nv12[W * H * 3 / 2], yuyv[W * H * 2];
	static uint8_t rgb_a[W * H * 3], rgb_b[W * H * 3];
	static uint8_t copy[BUF_MAX];
	const uint8_t *jpeg;
	struct hal_jpeg *j;
	size_t len, copy_len, x, y;

	(void)state;
	/* The same picture twice: a luma ramp with chroma constant over each 2x2 block, as
	 * NV12 and as YUYV (whose vertical chroma average then changes nothing). Both must
	 * give the same JPEG planes, hence the same pixels. */
	for (y = 0; y < H; y++) {
		for (x = 0; x < W; x++) {
			uint8_t luma = (uint8_t)(16 + (x * 7 + y * 5) % 220);
			uint8_t u = (uint8_t)(60 + x / 2 * 4), v = (uint8_t)(200 - y / 2 * 8);

			nv12[y * W + x] = luma;
			yuyv[y * W * 2 + x * 2] = luma;
			yuyv[y * W * 2 + x * 2 + 1] = x % 2 ? v : u;
			if (y % 2 == 0 && x % 2 == 0) {
				nv12[W * H + (y / 2) * W + x] = u;
				nv12[W * H + (y / 2) * W + x + 1] = v;
			}
		}
	}
	assert_int_equal(hal_jpeg_new(&j), 0);
	assert_int_equal(hal_jpeg_encode_nv12(j, nv12, sizeof(nv12), W, H, 95, &jpeg, &len), 0);
	assert_true(len <= sizeof(copy));
	memcpy(copy, jpeg, len);
	copy_len = len;
	decode_rgb(copy, copy_len, W, H, rgb_a);
	assert_int_equal(hal_jpeg_encode_yuyv(j, yuyv, sizeof(yuyv), W, H, 95, &jpeg, &len), 0);
	decode_rgb(jpeg, len, W, H, rgb_b);
	assert_int_equal(copy_len, len);
	assert_memory_equal(copy, jpeg, len);
	assert_memory_equal(rgb_a, rgb_b, sizeof(rgb_a));

	/* Argument checks: short frame, odd width, quality, NULLs. */
	assert_int_equal(hal_jpeg_encode_nv12(j, nv12, sizeof(nv12) - 1, W, H, 95, &jpeg, &len),
			 -EINVAL);
	assert_int_equal(hal_jpeg_encode_nv12(j, nv12, sizeof(nv12), W - 1, H, 95, &jpeg, &len),
			 -EINVAL);
	assert_int_equal(hal_jpeg_encode_nv12(j, nv12, sizeof(nv12), W, H, 0, &jpeg, &len), -EINVAL);
	assert_int_equal(hal_jpeg_encode_nv12(NULL, nv12, sizeof(nv12), W, H, 90, &jpeg, &len),
			 -EINVAL);
	/* Odd height: the last chroma row stands alone. */
	assert_int_equal(hal_jpeg_encode_nv12(j, nv12, W * 15 + W * 8, W, 15, 90, &jpeg, &len), 0);
	decode_rgb(jpeg, len, W, 15, rgb_a);
	hal_jpeg_free(j);
}

/* Capture through the class and wait; @return camera_on_readable()'s result. */
static int take_photo(struct camera *c, struct camera_photo *ph, unsigned *ret_drops)
{
	unsigned drops = 0;
	int r;

	assert_int_equal(camera_capture(c), 0);
	for (;;) {
		assert_true(readable(camera_get_fd(c), WAIT_MS));
		r = camera_on_readable(c, ph);
		if (r != -EAGAIN)
			break;
		drops++;
		assert_true(drops < 100);
	}
	if (ret_drops)
		*ret_drops = drops;
	return r;
}

/* BT.601 luma of one RGB pixel, in 0..255. */
static unsigned luma_at(const uint8_t *rgb, unsigned w, unsigned x, unsigned y)
{
	const uint8_t *p = rgb + ((size_t)y * w + x) * 3;

	return (299u * p[0] + 587u * p[1] + 114u * p[2]) / 1000u;
}

static void nv12_through_class(void **state)
{
	static uint8_t rgb[64 * 48 * 3];
	struct camera_cfg cfg = {.backend = "sim",
				 .format = CAMERA_FMT_NV12,
				 .width = 64,
				 .height = 48,
				 .jpeg_quality = 80};
	struct camera_photo ph;
	struct camera *c = NULL;

	(void)state;
	assert_int_equal(camera_open(&cfg, &c), 0);
	assert_int_equal(take_photo(c, &ph, NULL), 0);
	assert_false(ph.passthrough);
	assert_int_equal(ph.width, 64);
	assert_int_equal(ph.height, 48);
	decode_rgb(ph.jpeg, ph.len, 64, 48, rgb);
	/* The sim's luma ramps left to right: the right edge is brighter than the left. */
	assert_true(luma_at(rgb, 64, 60, 40) > luma_at(rgb, 64, 2, 40) + 100);
	camera_close(c);
}

/*
 * MJPEG pass-through without a copy: the sim backend's frames are stable, so the photo is
 * the backend's frame itself, and its bytes stay as they were until the next
 * camera_capture(), however often camera_on_readable() runs in between, also when a frame
 * owed to an earlier capture() comes in after the photo.
 */
static void mjpeg_photo_lent_until_capture(void **state)
{
	static uint8_t first[64 * 48 * 2];
	struct camera_cfg cfg = {.backend = "sim",
				 .format = CAMERA_FMT_MJPEG,
				 .width = 64,
				 .height = 48,
				 .jpeg_quality = 80};
	struct camera_photo ph, ph2;
	struct camera *c = NULL;
	size_t len;

	(void)state;
	assert_int_equal(camera_open(&cfg, &c), 0);
	assert_true(c->ops->stable_frames);
	/* two requests before the first frame is read: one frame is still owed after it */
	assert_int_equal(camera_capture(c), 0);
	assert_int_equal(take_photo(c, &ph, NULL), 0);
	assert_true(ph.passthrough);
	assert_true(ph.len <= sizeof(first));
	memcpy(first, ph.jpeg, ph.len);
	len = ph.len;
	/* the owed frame and the drain after it: no photo, and the lent bytes unchanged */
	while (readable(camera_get_fd(c), 0))
		assert_int_equal(camera_on_readable(c, &ph2), -EAGAIN);
	assert_int_equal(camera_on_readable(c, &ph2), -EAGAIN);
	assert_memory_equal(ph.jpeg, first, len);
	/* the next capture releases it: a new frame (the counter bars differ) */
	assert_int_equal(take_photo(c, &ph2, NULL), 0);
	assert_true(ph2.len != len || memcmp(ph2.jpeg, first, len) != 0);
	camera_close(c);
}

/* ---- warm-up: which frame a request delivers ---- */

static void warmup_counts_frames(void **state)
{
	static uint8_t frames[5][BUF_MAX / 8];
	size_t lens[5], i;
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct camera_cfg cfg = {.backend = "sim",
				 .format = CAMERA_FMT_MJPEG,
				 .width = 32,
				 .height = 16,
				 .warmup_frames = 2};
	struct camera_photo ph;
	struct camera *c = NULL;
	unsigned drops;

	(void)state;
	join(dir, sizeof(dir), tmpdir, "/warmup");
	assert_int_equal(mkdir(dir, 0700), 0);
	for (i = 0; i < 5; i++) {
		lens[i] = make_jpeg((uint8_t)(20 + 40 * i), frames[i], sizeof(frames[i]));
		snprintf(path, sizeof(path), "%s/%zu.jpg", dir, i);
		/* Frame 3 with V4L2-style zero padding: the photo is cut at its EOI. */
		memset(frames[i] + lens[i], 0, 64);
		write_file(path, frames[i], lens[i] + (i == 3 ? 64 : 0));
	}
	join(cfg.device, sizeof(cfg.device), dir, "");
	assert_int_equal(camera_open(&cfg, &c), 0);
	/* Request 1 consumes frames 0, 1 (warm-up) and delivers 2. */
	assert_int_equal(take_photo(c, &ph, &drops), 0);
	assert_int_equal(drops, 2);
	assert_int_equal(ph.len, lens[2]);
	assert_memory_equal(ph.jpeg, frames[2], lens[2]);
	/* Request 2 warms up again: 3, 4, then frame 0. */
	assert_int_equal(take_photo(c, &ph, &drops), 0);
	assert_int_equal(drops, 2);
	assert_int_equal(ph.len, lens[0]);
	assert_memory_equal(ph.jpeg, frames[0], lens[0]);
	assert_false(readable(camera_get_fd(c), 0));
	camera_close(c);

	/* No warm-up: frame 3 straight, trimmed to its EOI. */
	cfg.warmup_frames = 0;
	assert_int_equal(camera_open(&cfg, &c), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(take_photo(c, &ph, &drops), 0);
	assert_int_equal(take_photo(c, &ph, &drops), 0);
	assert_int_equal(drops, 0);
	assert_int_equal(ph.len, lens[3]);
	assert_memory_equal(ph.jpeg, frames[3], lens[3]);
	camera_close(c);
}

/* ---- the v4l2 backend without a camera ---- */

static void v4l2_open_errors(void **state)
{
	struct camera_cfg cfg = {.backend = "v4l2",
				 .format = CAMERA_FMT_MJPEG,
				 .width = 640,
				 .height = 480};
	struct hal_v4l2 *v = NULL;
	struct camera *c = NULL;

	(void)state;
	assert_true(camera_backend_exists("v4l2"));
	join(cfg.device, sizeof(cfg.device), tmpdir, "/no-video0");
	assert_int_equal(camera_open(&cfg, &c), -ENOENT);
	/* A character device that is not V4L2. */
	snprintf(cfg.device, sizeof(cfg.device), "/dev/null");
	assert_int_equal(camera_open(&cfg, &c), -ENOTTY);
	cfg.device[0] = '\0';
	assert_int_equal(camera_open(&cfg, &c), -EINVAL);
	assert_null(c);

	assert_int_equal(hal_v4l2_open("/dev/null", &v), -ENOTTY);
	assert_null(v);
	assert_int_equal(hal_v4l2_open(NULL, &v), -EINVAL);
	hal_v4l2_close(NULL);
	assert_int_equal(hal_v4l2_get_fd(NULL), -EINVAL);
	assert_null(hal_v4l2_get_info(NULL));
	assert_false(hal_v4l2_is_streaming(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fourcc_mapping),     cmocka_unit_test(check_format_table),
		cmocka_unit_test(mjpeg_trim_table),   cmocka_unit_test(mjpeg_trim_markers),
		cmocka_unit_test(judge_buffers),      cmocka_unit_test(repack_rows),
		cmocka_unit_test(nv12_round_trip),    cmocka_unit_test(nv12_through_class),
		cmocka_unit_test(warmup_counts_frames), cmocka_unit_test(v4l2_open_errors),
		cmocka_unit_test(mjpeg_photo_lent_until_capture),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
