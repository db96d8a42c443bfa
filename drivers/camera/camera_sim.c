/* SPDX-License-Identifier: MIT */
/*
 * drivers/camera/camera_sim.c - the "sim" camera: one synthetic frame per capture() request.
 *
 * The fd is an eventfd (semaphore mode): capture() adds one, on_readable() takes one and
 * delivers one frame of cfg->width x cfg->height in cfg->format:
 *   - YUYV: a deterministic test pattern that changes with every frame: a textured scene
 *     (luma and chroma ramps with fixed pseudo-random grain, so that a 1080p frame at q85
 *     encodes to ~300 KB like a real photo of a parcel, not the ~85 KB of a smooth ramp)
 *     drawn once at open into a buffer that is reused, and the frame counter as 16
 *     black/white bars across the top eighth, redrawn per frame (only those rows change);
 *   - MJPEG: the same pattern encoded to JPEG here, so the class layer sees a real camera
 *     JPEG to pass through;
 *   - NV12: the same pattern as a Y plane and the even rows' U/V pairs.
 * If cfg->device names a directory, MJPEG frames are instead the *.jpg / *.jpeg files in it,
 * in name order, cycling (recorded frames, STYLE 22). cfg->device "" selects the pattern.
 *
 * Frames are stable (camera_ops.stable_frames): a delivered frame's buffer is not written
 * again before the next capture(). A frame still owed for an older capture() that is taken
 * after a delivery (two captures asked for before the first frame was read) is the same
 * frame again, not a new one drawn over the lent buffer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/camera/camera.h"
#include "hal/clock.h"
#include "hal/fifo.h"
#include "hal/jpeg.h"

/** Largest synthetic frame side (a 4K sensor); keeps pattern buffers bounded. */
#define CAMERA_SIM_DIM_MAX 4096u
/** Largest recorded frame file: far above any real MJPEG frame, still a sane allocation. */
#define CAMERA_SIM_FILE_MAX (32u << 20)
/** Bars that show the frame counter in the pattern (one bit each, MSB first). */
#define PATTERN_BARS 16u
/** Luma grain of the scene: +-6 levels (1080p q85 4:2:0 encodes to ~300 KB). */
#define PATTERN_LUMA_GRAIN 6
/** Chroma grain of the scene: +-2 levels. */
#define PATTERN_CHROMA_GRAIN 2
/** Seed of the grain (xorshift32): every run and every station draws the same scene. */
#define PATTERN_SEED 0x2545F491u

/* Bytes of a packed NV12 frame. */
static size_t nv12_len(unsigned w, unsigned h)
{
	return (size_t)w * h + (size_t)w * ((h + 1) / 2);
}

struct camera_sim {
	int efd;
	uint32_t frame_no;
	bool lent;		    /* last_frame was delivered and no capture() came since */
	struct camera_frame last_frame; /* what the last on_readable() delivered */
	struct hal_jpeg *jpeg; /* MJPEG pattern encoder; header probe for recorded frames */
	uint8_t *yuyv;	       /* scene drawn at open, counter redrawn per frame; reused */
	uint8_t *nv12;	       /* the pattern as NV12 (format nv12 only) */
	/* directory mode */
	int dirfd;
	struct dirent **files;
	int n_files;
	int next;
	uint8_t *fbuf; /* one recorded frame */
	size_t fbuf_size;
};

static int is_jpeg_name(const struct dirent *d)
{
	const char *dot = strrchr(d->d_name, '.');

	return dot && d->d_name[0] != '.' &&
	       (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

/* List the frame files and size one buffer for the largest. */
static int open_dir(struct camera_sim *p, const char *path)
{
	size_t largest = 0;
	struct stat st;
	int i;

	p->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0)
		return -errno;
	p->n_files = scandir(path, &p->files, is_jpeg_name, alphasort);
	if (p->n_files < 0) {
		p->n_files = 0;
		return -errno;
	}
	for (i = 0; i < p->n_files; i++) {
		if (fstatat(p->dirfd, p->files[i]->d_name, &st, 0) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		if ((uintmax_t)st.st_size > CAMERA_SIM_FILE_MAX)
			return -EFBIG;
		if ((size_t)st.st_size > largest)
			largest = (size_t)st.st_size;
	}
	if (p->n_files == 0 || largest == 0)
		return -ENOENT;
	p->fbuf = malloc(largest);
	if (!p->fbuf)
		return -ENOMEM;
	p->fbuf_size = largest;
	return 0;
}

/* xorshift32: the grain generator (fast, deterministic, good enough for texture). */
static uint32_t grain_next(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* A ramp value plus grain in -amp..amp, kept inside the studio range lo..hi. */
static uint8_t grainy(int base, int amp, int lo, int hi, uint32_t *state)
{
	int v = base + (int)(grain_next(state) % (uint32_t)(2 * amp + 1)) - amp;

	return (uint8_t)(v < lo ? lo : v > hi ? hi : v);
}

/*
 * The scene, drawn once at open: luma ramps left to right, U top to bottom, V left to
 * right, each with grain. Studio range (Y 16..235, Cb/Cr 16..240), as a V4L2 camera sends.
 */
static void fill_scene(uint8_t *buf, unsigned w, unsigned h)
{
	uint32_t state = PATTERN_SEED;
	unsigned x, y;
	uint8_t *row;

	for (y = 0; y < h; y++) {
		row = buf + (size_t)y * w * 2;
		for (x = 0; x < w; x++) {
			row[2 * x] = grainy(16 + (int)(x * 219u / w), PATTERN_LUMA_GRAIN, 16, 235,
					    &state);
			/* Odd bytes alternate U (even pixel) and V (odd pixel). */
			row[2 * x + 1] = grainy(x % 2 ? (int)(x * 255u / w) : (int)(y * 255u / h),
						PATTERN_CHROMA_GRAIN, 16, 240, &state);
		}
	}
}

static int sim_open(struct camera *c)
{
	const struct camera_cfg *cfg = &c->cfg;
	struct camera_sim *p;
	struct stat st;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->efd = -1;
	p->dirfd = -1;
	c->priv = p;
	p->efd = eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0)
		return -errno; /* the class calls close() */
	if (cfg->format == CAMERA_FMT_MJPEG) {
		r = hal_jpeg_new(&p->jpeg);
		if (r < 0)
			return r;
	}
	strcpy(c->model, "sealbench sim camera");

	if (cfg->device[0]) {
		if (stat(cfg->device, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if (cfg->format != CAMERA_FMT_MJPEG)
			return -EINVAL; /* recorded frames are JPEG files */
		return open_dir(p, cfg->device);
	}

	if (cfg->width < 2 || cfg->width % 2 || cfg->width > CAMERA_SIM_DIM_MAX ||
	    cfg->height < 1 || cfg->height > CAMERA_SIM_DIM_MAX)
		return -EINVAL;
	p->yuyv = malloc((size_t)cfg->width * cfg->height * 2);
	if (!p->yuyv)
		return -ENOMEM;
	fill_scene(p->yuyv, cfg->width, cfg->height);
	if (cfg->format == CAMERA_FMT_NV12) {
		p->nv12 = malloc(nv12_len(cfg->width, cfg->height));
		if (!p->nv12)
			return -ENOMEM;
	}
	if (p->jpeg)
		return hal_jpeg_reserve(p->jpeg, cfg->width, cfg->height);
	return 0;
}

static void sim_close(struct camera *c)
{
	struct camera_sim *p = c->priv;
	int i;

	if (!p)
		return;
	for (i = 0; i < p->n_files; i++)
		free(p->files[i]);
	free(p->files);
	free(p->fbuf);
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p->yuyv);
	free(p->nv12);
	hal_jpeg_free(p->jpeg);
	if (p->efd >= 0)
		close(p->efd);
	free(p);
	c->priv = NULL;
}

static int sim_get_fd(const struct camera *c)
{
	const struct camera_sim *p = c->priv;

	return p->efd;
}

static int sim_capture(struct camera *c)
{
	struct camera_sim *p = c->priv;
	uint64_t one = 1;
	ssize_t n;

	n = hal_write(p->efd, &one, sizeof(one));
	if (n < 0)
		return (int)n;
	p->lent = false; /* the photo from the last frame is released: buffers may change */
	return 0;
}

/*
 * Per frame: the frame counter over the top eighth as PATTERN_BARS luma bars (white = 1);
 * the rest of the scene is left as drawn. Every frame differs, and the same counter always
 * gives the same bytes.
 */
static void draw_counter(uint8_t *buf, unsigned w, unsigned h, uint32_t frame_no)
{
	unsigned band = h / 8 ? h / 8 : 1, bar_w = w / PATTERN_BARS ? w / PATTERN_BARS : 1;
	unsigned x, y, bit;
	uint8_t *row, luma;

	for (y = 0; y < band; y++) {
		row = buf + (size_t)y * w * 2;
		for (x = 0; x < w; x++) {
			bit = x / bar_w;
			if (bit >= PATTERN_BARS)
				break;
			luma = (frame_no >> (PATTERN_BARS - 1 - bit)) & 1u ? 235 : 16;
			row[2 * x] = luma;
		}
	}
}

/* The pattern as NV12: every luma sample, and the chroma of the even rows. */
static void yuyv_to_nv12(const uint8_t *yuyv, unsigned w, unsigned h, uint8_t *nv12)
{
	uint8_t *uv = nv12 + (size_t)w * h;
	size_t x, y;

	for (y = 0; y < h; y++) {
		const uint8_t *row = yuyv + y * w * 2;

		for (x = 0; x < w; x++)
			nv12[y * w + x] = row[2 * x];
		if (y % 2)
			continue;
		for (x = 0; x < w / 2; x++) {
			uv[(y / 2) * w + 2 * x] = row[4 * x + 1];
			uv[(y / 2) * w + 2 * x + 1] = row[4 * x + 3];
		}
	}
}

static int read_file_frame(struct camera_sim *p, struct camera_frame *ret)
{
	const char *name = p->files[p->next]->d_name;
	unsigned w = 0, h = 0;
	size_t got = 0;
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	p->next = (p->next + 1) % p->n_files;
	fd = openat(p->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if ((uintmax_t)st.st_size > p->fbuf_size) {
		r = -EFBIG; /* replaced by a larger file since open */
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = hal_read(fd, p->fbuf + got, (size_t)st.st_size - got);
		if (n < 0) {
			r = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	/* Report the file's own size; a bad file is left for the class to reject. */
	hal_jpeg_probe(p->jpeg, p->fbuf, got, &w, &h, NULL);
	ret->format = CAMERA_FMT_MJPEG;
	ret->data = p->fbuf;
	ret->len = got;
	ret->width = w;
	ret->height = h;
	ret->t_ns = clock_now_ns();
out:
	close(fd);
	return r;
}

static int sim_on_readable(struct camera *c, struct camera_frame *ret)
{
	struct camera_sim *p = c->priv;
	const struct camera_cfg *cfg = &c->cfg;
	const uint8_t *jpeg;
	uint64_t v;
	size_t len;
	ssize_t n;
	int r;

	n = hal_read(p->efd, &v, sizeof(v));
	if (n < 0)
		return (int)n;
	if (p->lent) {
		*ret = p->last_frame; /* owed to an older capture(): the lent frame, unchanged */
		return 0;
	}
	if (p->n_files) {
		r = read_file_frame(p, ret);
		goto out;
	}

	p->frame_no++;
	draw_counter(p->yuyv, cfg->width, cfg->height, p->frame_no);
	if (cfg->format == CAMERA_FMT_YUYV) {
		ret->data = p->yuyv;
		ret->len = (size_t)cfg->width * cfg->height * 2;
	} else if (cfg->format == CAMERA_FMT_NV12) {
		yuyv_to_nv12(p->yuyv, cfg->width, cfg->height, p->nv12);
		ret->data = p->nv12;
		ret->len = nv12_len(cfg->width, cfg->height);
	} else {
		r = hal_jpeg_encode_yuyv(p->jpeg, p->yuyv, (size_t)cfg->width * cfg->height * 2,
					 cfg->width, cfg->height, cfg->jpeg_quality, &jpeg, &len);
		if (r < 0)
			return r;
		ret->data = jpeg;
		ret->len = len;
	}
	ret->format = cfg->format;
	ret->width = cfg->width;
	ret->height = cfg->height;
	ret->t_ns = clock_now_ns();
	r = 0;
out:
	if (r == 0) {
		p->last_frame = *ret;
		p->lent = true;
	}
	return r;
}

const struct camera_ops camera_sim_ops = {
	.name = "sim",
	.stable_frames = true,
	.open = sim_open,
	.close = sim_close,
	.get_fd = sim_get_fd,
	.capture = sim_capture,
	.on_readable = sim_on_readable,
};
