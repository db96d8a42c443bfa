/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vm_check.c - device checks that run inside the test VM (tests/vm/README.md)
 * against real kernel devices: our drivers, unmodified, through their class APIs.
 *
 *   vm-check scanner        uinput keyboard -> scanner "evdev" backend (scans, shifted
 *                           characters, a 15434 label through Ctrl mapping, an overflowing
 *                           burst that must be rejected and counted)
 *   vm-check badge          uinput keyboard -> badge "evdev" backend
 *   vm-check camera         vivid capture node -> camera "v4l2" backend, YUYV -> JPEG at
 *                           1280x720 and 1920x1080, content checked against vivid's colour bars
 *   vm-check serial-scale   configfs ACM gadget on dummy_hcd: an MT-SICS responder on
 *                           /dev/ttyGS0, the scale "serial-mtsics" backend on /dev/ttyACM0
 *   vm-check hid-scale      configfs HID POS scale gadget on a second dummy UDC, the scale
 *                           "usbhid" backend through libusb: stale first report, motion,
 *                           g/oz/lb with exponents, zero, unplug/replug (UDC unbind/bind)
 *   vm-check gpio           gpio-sim (built by tests/vm/prepare.sh): stack light read back in
 *                           sysfs, a bouncing pedal debounced, Wiegand frames as pulses
 *   vm-check devices DIR    the device server of the full-daemon run (tests/vm/e2e.py)
 *
 * Each check prints one "PASS name: detail" or "FAIL name: reason" line; the exit status is
 * the number of failed checks (0 = all passed). Everything waits on fds with timeouts.
 * Needs root and the modules loaded by tests/vm/guest.sh.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/netlink.h>
#include <linux/uinput.h>
#include <linux/videodev2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <endian.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "drivers/badge/badge.h"
#include "drivers/camera/camera.h"
#include "drivers/lights/lights.h"
#include "drivers/scale/scale.h"
#include "drivers/scale/scale_proto.h"
#include "drivers/scanner/scanner.h"
#include "drivers/scanner/scanner_io.h"
#include "drivers/trigger/trigger.h"

/** Room for a sysfs / configfs / dev path. */
#define VM_PATH_MAX 512
/** How long a step may take before the check fails (generous: TCG is slow). */
#define VM_STEP_TIMEOUT_MS 5000
/** Quiet time that ends the drain after the overflowing burst (longer than the key timeout). */
#define VM_QUIET_MS 400
/** Keys in the overflowing burst: far more events than evdev's 64-event client buffer. */
#define VM_BURST_KEYS 200
/** Room for one line of the MT-SICS dialogue. */
#define VM_LINE_MAX 128

static int failures;

static void report(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", ok ? "PASS" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait until @p fd is readable. @return 1 readable, 0 timeout, -errno. */
static int wait_readable(int fd, int timeout_ms)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int ep, n;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		n = -errno;
		close(ep);
		return n;
	}
	do
		n = epoll_wait(ep, &ev, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(ep);
	return n;
}

static int write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

static int read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

/* ---- uinput keyboard ---------------------------------------------------------------------- */

struct vkbd {
	int fd;
	char event[64]; /* /dev/input/eventN */
};

static int vkbd_create(struct vkbd *k, const char *name, uint16_t vid, uint16_t pid)
{
	struct uinput_setup us = {.id = {.bustype = BUS_USB, .vendor = vid, .product = pid,
					 .version = 1}};
	char sys[64], dir[VM_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r;

	k->fd = open("/dev/uinput", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		return -errno;
	if (ioctl(k->fd, UI_SET_EVBIT, EV_KEY) < 0)
		goto err_errno;
	for (int key = KEY_ESC; key <= KEY_F24; key++)
		if (ioctl(k->fd, UI_SET_KEYBIT, key) < 0)
			goto err_errno;
	snprintf(us.name, sizeof(us.name), "%s", name);
	if (ioctl(k->fd, UI_DEV_SETUP, &us) < 0 || ioctl(k->fd, UI_DEV_CREATE) < 0)
		goto err_errno;
	if (ioctl(k->fd, UI_GET_SYSNAME(sizeof(sys)), sys) < 0)
		goto err_errno;
	/* The event node exists once UI_DEV_CREATE returns (devtmpfs creates it in device_add). */
	snprintf(dir, sizeof(dir), "/sys/devices/virtual/input/%s", sys);
	d = opendir(dir);
	if (!d)
		goto err_errno;
	k->event[0] = '\0';
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "event", 5))
			snprintf(k->event, sizeof(k->event), "/dev/input/%.40s", de->d_name);
	closedir(d);
	if (!k->event[0]) {
		r = -ENODEV; /* evdev not loaded */
		goto err;
	}
	return 0;
err_errno:
	r = -errno;
err:
	close(k->fd);
	k->fd = -1;
	return r;
}

static void vkbd_destroy(struct vkbd *k)
{
	if (k->fd < 0)
		return;
	ioctl(k->fd, UI_DEV_DESTROY);
	close(k->fd);
	k->fd = -1;
}

static int vkbd_emit(struct vkbd *k, uint16_t type, uint16_t code, int32_t value)
{
	struct input_event ev = {.type = type, .code = code, .value = value};

	return write(k->fd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev) ? 0 : -errno;
}

static int vkbd_key(struct vkbd *k, uint16_t code, int32_t value)
{
	int r = vkbd_emit(k, EV_KEY, code, value);

	return r < 0 ? r : vkbd_emit(k, EV_SYN, SYN_REPORT, 0);
}

/* US layout: a character -> key code, shift, ctrl. @return 0 or -EINVAL. */
static int us_key(unsigned char c, uint16_t *code, bool *shift, bool *ctrl)
{
	static const char row_digits[] = "1234567890";
	static const char shifted_digits[] = "!@#$%^&*()";
	static const uint16_t digit_keys[] = {KEY_1, KEY_2, KEY_3, KEY_4, KEY_5,
					      KEY_6, KEY_7, KEY_8, KEY_9, KEY_0};
	static const uint16_t letter_keys[] = {
		KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H, KEY_I,
		KEY_J, KEY_K, KEY_L, KEY_M, KEY_N, KEY_O, KEY_P, KEY_Q, KEY_R,
		KEY_S, KEY_T, KEY_U, KEY_V, KEY_W, KEY_X, KEY_Y, KEY_Z};
	static const struct {
		char plain, shifted;
		uint16_t code;
	} punct[] = {
		{'-', '_', KEY_MINUS},     {'=', '+', KEY_EQUAL},      {'[', '{', KEY_LEFTBRACE},
		{']', '}', KEY_RIGHTBRACE}, {';', ':', KEY_SEMICOLON}, {'\'', '"', KEY_APOSTROPHE},
		{'`', '~', KEY_GRAVE},     {'\\', '|', KEY_BACKSLASH}, {',', '<', KEY_COMMA},
		{'.', '>', KEY_DOT},       {'/', '?', KEY_SLASH},      {' ', ' ', KEY_SPACE},
	};
	const char *p;

	*shift = false;
	*ctrl = false;
	if (c >= 'a' && c <= 'z') {
		*code = letter_keys[c - 'a'];
		return 0;
	}
	if (c >= 'A' && c <= 'Z') {
		*code = letter_keys[c - 'A'];
		*shift = true;
		return 0;
	}
	if (c && (p = strchr(row_digits, c))) {
		*code = digit_keys[p - row_digits];
		return 0;
	}
	if (c && (p = strchr(shifted_digits, c))) {
		*code = digit_keys[p - shifted_digits];
		*shift = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(punct) / sizeof(punct[0]); i++) {
		if (c == (unsigned char)punct[i].plain || c == (unsigned char)punct[i].shifted) {
			*code = punct[i].code;
			*shift = c == (unsigned char)punct[i].shifted && c != ' ';
			return 0;
		}
	}
	/* Control characters the way scanners type them in "ctrl" mode. */
	switch (c) {
	case '\n':
		*code = KEY_ENTER;
		return 0;
	case 0x1d: /* GS: Ctrl+] */
		*code = KEY_RIGHTBRACE;
		*ctrl = true;
		return 0;
	case 0x1e: /* RS: Ctrl+^ (Ctrl+Shift+6) */
		*code = KEY_6;
		*ctrl = true;
		*shift = true;
		return 0;
	case 0x04: /* EOT: Ctrl+D */
		*code = KEY_D;
		*ctrl = true;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Type one character (press and release, with modifiers). */
static int vkbd_type_char(struct vkbd *k, unsigned char c)
{
	bool shift, ctrl;
	uint16_t code;
	int r;

	r = us_key(c, &code, &shift, &ctrl);
	if (r < 0)
		return r;
	if (ctrl && (r = vkbd_key(k, KEY_LEFTCTRL, 1)) < 0)
		return r;
	if (shift && (r = vkbd_key(k, KEY_LEFTSHIFT, 1)) < 0)
		return r;
	if ((r = vkbd_key(k, code, 1)) < 0 || (r = vkbd_key(k, code, 0)) < 0)
		return r;
	if (shift && (r = vkbd_key(k, KEY_LEFTSHIFT, 0)) < 0)
		return r;
	if (ctrl && (r = vkbd_key(k, KEY_LEFTCTRL, 0)) < 0)
		return r;
	return 0;
}

/* ---- scanner ------------------------------------------------------------------------------ */

struct scan_result {
	int scans;     /* complete scans */
	int rejected;  /* -EPROTO (SYN_DROPPED) */
	int other_err; /* any other error */
	struct scanner_scan last;
};

/* Read every scan the scanner has now. */
static void scanner_drain(struct scanner *s, struct scan_result *res)
{
	struct scanner_scan scan;
	int r;

	for (;;) {
		r = scanner_on_readable(s, &scan);
		if (r == -EAGAIN)
			return;
		if (r == 0) {
			res->scans++;
			res->last = scan;
		} else if (r == -EPROTO) {
			res->rejected++;
		} else {
			res->other_err++;
			if (r == -ENODEV)
				return;
		}
	}
}

/* Type @p text + Enter the way a scanner does (as fast as the reader keeps up), wait for one
 * scan. */
static int scanner_type_scan(struct vkbd *k, struct scanner *s, const char *text, size_t len,
			     struct scan_result *res)
{
	uint64_t deadline;
	int r;

	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < len; i++) {
		r = vkbd_type_char(k, (unsigned char)text[i]);
		if (r < 0)
			return r;
		scanner_drain(s, res);
	}
	r = vkbd_type_char(k, '\n');
	if (r < 0)
		return r;
	deadline = now_ms() + VM_STEP_TIMEOUT_MS;
	while (res->scans + res->rejected + res->other_err == 0) {
		uint64_t t = now_ms();

		if (t >= deadline)
			return -ETIMEDOUT;
		r = wait_readable(scanner_get_fd(s), (int)(deadline - t));
		if (r < 0)
			return r;
		scanner_drain(s, res);
	}
	return 0;
}

static void check_scan(struct vkbd *k, struct scanner *s, const char *name, const char *text,
		       size_t len)
{
	struct scan_result res;
	int r;

	r = scanner_type_scan(k, s, text, len, &res);
	if (r < 0) {
		report(false, name, "typing/reading failed: %s", strerror(-r));
		return;
	}
	if (res.scans != 1 || res.rejected || res.other_err) {
		report(false, name, "%d scans, %d rejected, %d errors (want 1 scan)", res.scans,
		       res.rejected, res.other_err);
		return;
	}
	if (res.last.len != len || memcmp(res.last.text, text, len)) {
		report(false, name, "got %zu bytes \"%.*s\", want %zu bytes", res.last.len,
		       (int)res.last.len, res.last.text, len);
		return;
	}
	report(true, name, "%zu bytes exact", len);
}

static int run_scanner(void)
{
	static const char label[] = "[)>\x1e" "01\x1d" "96" "10115\x1d" "840\x1d" "003\x1d"
				    "1Z12345678\x1dUPSN\x1d" "123456\x1d" "245\x1d\x1d" "1/1\x1d"
				    "12.5\x1dY\x1d\x1d\x1dNY\x1e\x04";
	struct scanner_cfg cfg = {.backend = "evdev"};
	struct scan_result res = {0};
	struct vkbd k = {.fd = -1};
	struct scanner *s = NULL;
	unsigned long dropped;
	uint64_t t0;
	int r;

	r = vkbd_create(&k, "sealbench vm scanner", 0x05e0, 0x1200);
	if (r < 0) {
		report(false, "scanner.uinput", "cannot create a uinput keyboard: %s", strerror(-r));
		return 1;
	}
	snprintf(cfg.device, sizeof(cfg.device), "%s", k.event);
	r = scanner_open(&cfg, &s);
	if (r < 0) {
		report(false, "scanner.open", "scanner_open(evdev, %s): %s", k.event, strerror(-r));
		goto out;
	}
	report(true, "scanner.open", "%s grabbed, model \"%s\"", k.event, scanner_get_model(s));

	check_scan(&k, s, "scanner.plain", "1Z999AA10123456784", 18);
	check_scan(&k, s, "scanner.shifted", "Ab-C_d:E\"f|G~h{I}j<K>l?M!@#$%^&*()+",
		   strlen("Ab-C_d:E\"f|G~h{I}j<K>l?M!@#$%^&*()+"));
	check_scan(&k, s, "scanner.label15434", label, sizeof(label) - 1);

	/* The burst: VM_BURST_KEYS characters without reading, so evdev's client buffer
	 * overflows and the kernel queues SYN_DROPPED. The partial scan must be rejected. */
	for (int i = 0; i < VM_BURST_KEYS && r >= 0; i++)
		r = vkbd_type_char(&k, (unsigned char)('0' + i % 10));
	if (r >= 0)
		r = vkbd_type_char(&k, '\n');
	if (r < 0) {
		report(false, "scanner.overflow", "typing the burst: %s", strerror(-r));
		goto out;
	}
	/* Drain until the device has been quiet for VM_QUIET_MS (gap timer included). */
	t0 = now_ms();
	for (;;) {
		r = wait_readable(scanner_get_fd(s), VM_QUIET_MS);
		if (r <= 0 || now_ms() - t0 > VM_STEP_TIMEOUT_MS)
			break;
		scanner_drain(s, &res);
	}
	dropped = ((struct scanner_kbd *)s->priv)->wedge.stats.syn_dropped;
	report(res.rejected >= 1 && res.scans == 0 && dropped >= 1, "scanner.overflow",
	       "%d-key burst: %d rejected (-EPROTO), %d scans delivered, stats.syn_dropped %lu",
	       VM_BURST_KEYS, res.rejected, res.scans, dropped);
	/* And the next scan is clean again. */
	check_scan(&k, s, "scanner.after-overflow", "420902109400", 12);
out:
	scanner_close(s);
	vkbd_destroy(&k);
	return failures;
}

/* ---- badge -------------------------------------------------------------------------------- */

static int run_badge(void)
{
	struct badge_cfg cfg = {.backend = "evdev"};
	struct vkbd k = {.fd = -1};
	struct badge *b = NULL;
	struct badge_read rd;
	static const char id[] = "0004213377";
	uint64_t deadline;
	int r, got = 0;

	r = vkbd_create(&k, "sealbench vm rfid", 0xffff, 0x0035);
	if (r < 0) {
		report(false, "badge.uinput", "cannot create a uinput keyboard: %s", strerror(-r));
		return 1;
	}
	snprintf(cfg.device, sizeof(cfg.device), "%s", k.event);
	r = badge_open(&cfg, &b);
	if (r < 0) {
		report(false, "badge.read", "badge_open(evdev, %s): %s", k.event, strerror(-r));
		goto out;
	}
	for (size_t i = 0; i <= strlen(id) && r >= 0; i++)
		r = vkbd_type_char(&k, i < strlen(id) ? (unsigned char)id[i] : '\n');
	deadline = now_ms() + VM_STEP_TIMEOUT_MS;
	while (r >= 0 && !got && now_ms() < deadline) {
		r = wait_readable(badge_get_fd(b), VM_STEP_TIMEOUT_MS);
		if (r <= 0)
			break;
		while ((r = badge_on_readable(b, &rd)) != -EAGAIN) {
			if (r == 0)
				got++;
			else if (r != -EBADMSG)
				break;
		}
		r = 0;
	}
	if (!got)
		report(false, "badge.read", "no badge read (%s)", r < 0 ? strerror(-r) : "timeout");
	else
		report(!strcmp(rd.id, id), "badge.read", "read \"%s\", want \"%s\"", rd.id, id);
out:
	badge_close(b);
	vkbd_destroy(&k);
	return failures;
}

/* ---- camera ------------------------------------------------------------------------------- */

/* The vivid capture node: /sys/class/video4linux/video* whose name is "vivid-000-vid-cap". */
static int find_vivid(char *path, size_t size)
{
	char name[VM_PATH_MAX], f[VM_PATH_MAX + 64];
	struct dirent *de;
	DIR *d;
	int r = -ENODEV;

	d = opendir("/sys/class/video4linux");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "video", 5))
			continue;
		snprintf(f, sizeof(f), "/sys/class/video4linux/%s/name", de->d_name);
		if (read_file(f, name, sizeof(name)) == 0 && strstr(name, "vid-cap")) {
			snprintf(path, size, "/dev/%s", de->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

/* vivid's default test pattern is 75% colour bars: white, yellow, cyan, green, magenta, red,
 * blue, black (limited range scaled back to full by the YUV->RGB conversion). */
static const uint8_t vivid_bars[8][3] = {
	{191, 191, 191}, {191, 191, 0}, {0, 191, 191}, {0, 191, 0},
	{191, 0, 191},   {191, 0, 0},   {0, 0, 191},   {0, 0, 0},
};
/** Per-channel tolerance for a JPEG of a flat colour (chroma subsampling at bar edges is
 * avoided by sampling bar centres). */
#define VM_BAR_TOLERANCE 24

static void check_photo_content(const char *name, const struct camera_photo *p)
{
	int w = 0, h = 0, ss = 0, cs = 0;
	uint8_t *rgb = NULL;
	tjhandle tj;
	int bad = -1;

	tj = tjInitDecompress();
	if (!tj) {
		report(false, name, "tjInitDecompress failed");
		return;
	}
	if (tjDecompressHeader3(tj, p->jpeg, p->len, &w, &h, &ss, &cs) < 0) {
		report(false, name, "not a JPEG: %s", tjGetErrorStr2(tj));
		goto out;
	}
	if ((unsigned)w != p->width || (unsigned)h != p->height) {
		report(false, name, "JPEG is %dx%d, photo says %ux%u", w, h, p->width, p->height);
		goto out;
	}
	rgb = malloc((size_t)w * (size_t)h * 3);
	if (!rgb || tjDecompress2(tj, p->jpeg, p->len, rgb, w, 0, h, TJPF_RGB, 0) < 0) {
		report(false, name, "decode failed");
		goto out;
	}
	for (int bar = 0; bar < 8 && bad < 0; bar++) {
		int x = (2 * bar + 1) * w / 16, y = h / 2;
		const uint8_t *px = rgb + ((size_t)y * (size_t)w + (size_t)x) * 3;

		for (int c = 0; c < 3; c++)
			if (abs((int)px[c] - (int)vivid_bars[bar][c]) > VM_BAR_TOLERANCE)
				bad = bar;
		if (bad >= 0)
			report(false, name, "bar %d at (%d,%d) is %u,%u,%u, want %u,%u,%u", bar, x,
			       y, px[0], px[1], px[2], vivid_bars[bar][0], vivid_bars[bar][1],
			       vivid_bars[bar][2]);
	}
	if (bad < 0)
		report(true, name, "%dx%d JPEG, %zu bytes, 8 colour bars within %d", w, h, p->len,
		       VM_BAR_TOLERANCE);
out:
	free(rgb);
	tjDestroy(tj);
}

static void check_camera_size(const char *dev, unsigned width, unsigned height)
{
	struct camera_cfg cfg = {.backend = "v4l2", .format = CAMERA_FMT_YUYV, .width = width,
				 .height = height, .jpeg_quality = 85, .warmup_frames = 2,
				 .timeout_ms = VM_STEP_TIMEOUT_MS};
	struct camera_photo photo;
	struct camera *c = NULL;
	char name[64];
	uint64_t t0, deadline;
	int r;

	snprintf(name, sizeof(name), "camera.yuyv-%ux%u", width, height);
	snprintf(cfg.device, sizeof(cfg.device), "%.200s", dev);
	r = camera_open(&cfg, &c);
	if (r < 0) {
		report(false, name, "camera_open(v4l2, %s): %s", dev, strerror(-r));
		return;
	}
	t0 = now_ms();
	r = camera_capture(c);
	deadline = t0 + 2 * VM_STEP_TIMEOUT_MS;
	while (r >= 0) {
		uint64_t t = now_ms();

		if (t >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		r = wait_readable(camera_get_fd(c), (int)(deadline - t));
		if (r <= 0) {
			r = r ? r : -ETIMEDOUT;
			break;
		}
		r = camera_on_readable(c, &photo);
		if (r == 0)
			break;
		if (r == -EAGAIN)
			r = 0;
	}
	if (r < 0) {
		report(false, name, "no photo: %s", strerror(-r));
	} else if (photo.passthrough || photo.len < 4 || photo.jpeg[0] != 0xff ||
		   photo.jpeg[1] != 0xd8 || photo.jpeg[photo.len - 2] != 0xff ||
		   photo.jpeg[photo.len - 1] != 0xd9) {
		report(false, name, "not an encoded JPEG (passthrough %d, %zu bytes)",
		       photo.passthrough, photo.len);
	} else {
		printf("     %s: photo in %llu ms (model \"%s\")\n", name,
		       (unsigned long long)(now_ms() - t0), camera_get_model(c));
		check_photo_content(name, &photo);
	}
	camera_close(c);
}

static int run_camera(void)
{
	char dev[VM_PATH_MAX];
	int r;

	r = find_vivid(dev, sizeof(dev));
	if (r < 0) {
		report(false, "camera.vivid", "no vivid capture node: %s", strerror(-r));
		return 1;
	}
	check_camera_size(dev, 1280, 720);
	check_camera_size(dev, 1920, 1080);
	return failures;
}

/* ---- serial scale over CDC-ACM ------------------------------------------------------------ */

#define GADGET "/sys/kernel/config/usb_gadget/sbacm"

/* A configfs gadget with one ACM function, bound to the UDC @p udc. */
static int acm_gadget_create(const char *udc)
{
	static const struct {
		const char *path, *value;
	} files[] = {
		{GADGET "/idVendor", "0x0eb8"}, /* Mettler-Toledo */
		{GADGET "/idProduct", "0x2200"},
		{GADGET "/strings/0x409/manufacturer", "sealbench"},
		{GADGET "/strings/0x409/product", "vm MT-SICS scale"},
		{GADGET "/strings/0x409/serialnumber", "VM0001"},
	};
	int r;

	if (mkdir(GADGET, 0755) < 0 || mkdir(GADGET "/strings/0x409", 0755) < 0 ||
	    mkdir(GADGET "/configs/c.1", 0755) < 0 || mkdir(GADGET "/functions/acm.usb0", 0755) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if ((r = write_file(files[i].path, files[i].value)) < 0)
			return r;
	if (symlink(GADGET "/functions/acm.usb0", GADGET "/configs/c.1/acm.usb0") < 0)
		return -errno;
	return write_file(GADGET "/UDC", udc);
}

/* Wait for the kernel's "add" uevent of @p devname (e.g. "ttyACM0") on @p nl. */
static int wait_uevent_add(int nl, const char *devname, int timeout_ms)
{
	char buf[4096], want[64];
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	snprintf(want, sizeof(want), "DEVNAME=%s", devname);
	for (;;) {
		uint64_t t = now_ms();
		ssize_t n;
		int r;

		char node[64];

		/* The node may have come before we listened: devtmpfs creates it first. */
		snprintf(node, sizeof(node), "/dev/%s", devname);
		if (access(node, F_OK) == 0)
			return 0;
		if (t >= deadline)
			return -ETIMEDOUT;
		r = wait_readable(nl, (int)(deadline - t));
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		n = recv(nl, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strncmp(buf, "add@", 4))
			continue;
		for (char *p = buf; p < buf + n; p += strlen(p) + 1)
			if (!strcmp(p, want))
				return 0;
	}
}

/* Remove a configfs gadget made by acm_gadget_create() / hid_gadget_create(), so the next
 * check (or the full-daemon run) can make its own on the same UDC. Best effort. */
static void gadget_remove(const char *gadget, const char *function)
{
	char p[VM_PATH_MAX];

	snprintf(p, sizeof(p), "%s/UDC", gadget);
	write_file(p, "\n");
	snprintf(p, sizeof(p), "%s/configs/c.1/%s", gadget, function);
	unlink(p);
	snprintf(p, sizeof(p), "%s/configs/c.1", gadget);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/functions/%s", gadget, function);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/strings/0x409", gadget);
	rmdir(p);
	rmdir(gadget);
}

static int tty_raw(const char *path)
{
	struct termios t;
	int fd;

	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSANOW, &t);
	}
	return fd;
}

/* The MT-SICS responder's script: in motion for a few polls, then stable at 1234.5 g. */
struct mtsics {
	int fd;
	char line[VM_LINE_MAX];
	size_t len;
	unsigned polls;
	unsigned idents;
};

#define VM_MOTION_POLLS 3

static void mtsics_answer(struct mtsics *m, const char *cmd)
{
	char out[VM_LINE_MAX];

	if (!strcmp(cmd, "SI")) {
		if (m->polls++ < VM_MOTION_POLLS)
			snprintf(out, sizeof(out), "S D %10.1f g\r\n", 1000.0 + 50.0 * m->polls);
		else
			snprintf(out, sizeof(out), "S S %10s g\r\n", "1234.5");
	} else if (!strcmp(cmd, "I2")) {
		m->idents++;
		snprintf(out, sizeof(out), "I2 A \"XS204 Excellence 220 g\"\r\n");
	} else if (!strcmp(cmd, "Z")) {
		snprintf(out, sizeof(out), "Z A\r\n");
	} else {
		snprintf(out, sizeof(out), "ES\r\n");
	}
	if (write(m->fd, out, strlen(out)) < 0)
		perror("vm-check: ttyGS0 write");
}

static void mtsics_on_readable(struct mtsics *m)
{
	char buf[VM_LINE_MAX];
	ssize_t n;

	while ((n = read(m->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				m->line[m->len] = '\0';
				if (m->len && m->line[m->len - 1] == '\r')
					m->line[--m->len] = '\0';
				mtsics_answer(m, m->line);
				m->len = 0;
			} else if (m->len < sizeof(m->line) - 1) {
				m->line[m->len++] = buf[i];
			}
		}
	}
}

static int run_serial_scale(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	struct scale_cfg cfg = {.backend = "serial-mtsics", .device = "/dev/ttyACM0",
				.poll_ms = 100, .stable_ms = 300};
	struct mtsics m = {.fd = -1};
	struct scale *s = NULL;
	struct scale_reading rd;
	struct epoll_event ev[2];
	int nl, ep = -1, r, in_motion = 0, stable = 0;
	uint64_t t0, deadline;

	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (nl < 0 || bind(nl, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		report(false, "scale.serial.gadget", "uevent socket: %s", strerror(errno));
		return 1;
	}
	t0 = now_ms();
	r = acm_gadget_create("dummy_udc.0");
	if (r < 0) {
		report(false, "scale.serial.gadget", "configfs ACM gadget: %s", strerror(-r));
		goto out;
	}
	r = wait_uevent_add(nl, "ttyACM0", VM_STEP_TIMEOUT_MS);
	if (r == 0)
		r = wait_uevent_add(nl, "ttyGS0", VM_STEP_TIMEOUT_MS);
	if (r < 0) {
		report(false, "scale.serial.gadget", "ttyACM0/ttyGS0 did not appear: %s",
		       strerror(-r));
		goto out;
	}
	report(true, "scale.serial.gadget", "ttyACM0 <-> ttyGS0 enumerated in %llu ms",
	       (unsigned long long)(now_ms() - t0));
	m.fd = tty_raw("/dev/ttyGS0");
	if (m.fd < 0) {
		report(false, "scale.serial.mtsics", "open ttyGS0: %s", strerror(-m.fd));
		goto out;
	}
	r = scale_open(&cfg, &s);
	if (r < 0) {
		report(false, "scale.serial.mtsics", "scale_open(serial-mtsics, ttyACM0): %s",
		       strerror(-r));
		goto out;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev[0] = (struct epoll_event){.events = EPOLLIN, .data.u32 = 0};
	ev[1] = (struct epoll_event){.events = EPOLLIN, .data.u32 = 1};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, m.fd, &ev[0]) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, scale_get_fd(s), &ev[1]) < 0) {
		report(false, "scale.serial.mtsics", "epoll: %s", strerror(errno));
		goto out;
	}
	deadline = now_ms() + 3 * VM_STEP_TIMEOUT_MS;
	while (!stable && now_ms() < deadline) {
		int n = epoll_wait(ep, ev, 2, (int)(deadline - now_ms()));

		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == 0) {
				mtsics_on_readable(&m);
				continue;
			}
			while ((r = scale_on_readable(s, &rd)) != -EAGAIN) {
				if (r < 0) {
					report(false, "scale.serial.mtsics", "scale_on_readable: %s",
					       strerror(-r));
					goto out;
				}
				if (!rd.stable)
					in_motion++;
				else if (rd.grams == 1235 && rd.status == SCALE_OK)
					stable = 1;
				else
					stable = -1;
			}
		}
	}
	if (stable != 1)
		report(false, "scale.serial.mtsics", "%s (%d readings in motion, last %d g)",
		       stable ? "wrong stable reading" : "no stable reading", in_motion, rd.grams);
	else
		report(in_motion >= 1 && m.idents >= 1, "scale.serial.mtsics",
		       "%d in-motion readings, then stable 1235 g (1234.5 g rounded), I2 asked %u "
		       "times, model \"%s\", %llu ms",
		       in_motion, m.idents, scale_get_model(s),
		       (unsigned long long)(now_ms() - t0));
out:
	if (ep >= 0)
		close(ep);
	scale_close(s);
	if (m.fd >= 0)
		close(m.fd);
	close(nl);
	gadget_remove(GADGET, "acm.usb0");
	return failures;
}

/* ---- GPIO through gpio-sim ---------------------------------------------------------------- */

#define GSIM "/sys/kernel/config/gpio-sim/sb"
#define GSIM_LABEL "sealbench-vm"
/** Lines of the simulated chip: the stack light, the pedal, the Wiegand reader. */
enum { GL_RED, GL_AMBER, GL_GREEN, GL_BUZZER, GL_PEDAL, GL_D0, GL_D1, GL_COUNT };

struct gsim {
	char chip[64];		   /* /dev/gpiochipN */
	char sysfs[VM_PATH_MAX];   /* /sys/devices/platform/gpio-sim.N/gpiochipN */
};

static int gsim_create(struct gsim *g)
{
	char dev[64], chip[64];
	int r;

	if (mkdir(GSIM, 0755) < 0 || mkdir(GSIM "/bank0", 0755) < 0)
		return -errno;
	if ((r = write_file(GSIM "/bank0/num_lines", "7")) < 0 ||
	    (r = write_file(GSIM "/bank0/label", GSIM_LABEL)) < 0 ||
	    (r = write_file(GSIM "/live", "1")) < 0 ||
	    (r = read_file(GSIM "/dev_name", dev, sizeof(dev))) < 0 ||
	    (r = read_file(GSIM "/bank0/chip_name", chip, sizeof(chip))) < 0)
		return r;
	snprintf(g->chip, sizeof(g->chip), "/dev/%.50s", chip);
	snprintf(g->sysfs, sizeof(g->sysfs), "/sys/devices/platform/%.60s/%.60s", dev, chip);
	return 0;
}

/* Take the chip down again (best effort), so the next user can create it anew. */
static void gsim_remove(void)
{
	write_file(GSIM "/live", "0");
	rmdir(GSIM "/bank0");
	rmdir(GSIM);
}

static int gsim_read(const struct gsim *g, int line, const char *attr, char *buf, size_t size)
{
	char p[VM_PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/sim_gpio%d/%s", g->sysfs, line, attr);
	return read_file(p, buf, size);
}

/*
 * gpio-sim delivers each pull change as a simulated interrupt (irq_work, then gpiolib's
 * threaded handler reads the level): changes closer together than that latency merge into
 * one edge, and under TCG it can take milliseconds. So the generators below change a line,
 * then wait until the driver's fd is readable (the kernel queued the edge) and let the
 * driver read it, as the station would, before the next change: every edge arrives, with
 * its kernel timestamp, and no timing is guessed.
 */
/* Drive an input line from the outside: the simulated pull is what the line reads. */
static int gsim_pull(const struct gsim *g, int line, bool high)
{
	char p[VM_PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/sim_gpio%d/pull", g->sysfs, line);
	return write_file(p, high ? "pull-up" : "pull-down");
}

static void check_lights(const struct gsim *g)
{
	static const struct {
		unsigned mask;
		const char *want; /* red amber green buzzer */
	} steps[] = {
		{LIGHT_RED | LIGHT_GREEN, "1010"},
		{LIGHT_AMBER | LIGHT_BUZZER, "0101"},
		{0, "0000"},
	};
	struct lights_cfg cfg = {.backend = "gpio", .red = GL_RED, .amber = GL_AMBER,
				 .green = GL_GREEN, .buzzer = GL_BUZZER};
	struct lights *l = NULL;
	int r;

	/* By label, as boards/vm/board.conf names it (the others use the /dev path). */
	snprintf(cfg.chip, sizeof(cfg.chip), "%s", GSIM_LABEL);
	r = lights_open(&cfg, &l);
	if (r < 0) {
		report(false, "gpio.lights", "lights_open(gpio, %s): %s", GSIM_LABEL, strerror(-r));
		return;
	}
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char got[GL_BUZZER + 2] = "", v[16];

		r = lights_set(l, steps[i].mask);
		for (int line = GL_RED; r == 0 && line <= GL_BUZZER; line++) {
			r = gsim_read(g, line, "value", v, sizeof(v));
			got[line] = v[0];
		}
		if (r < 0 || strcmp(got, steps[i].want)) {
			report(false, "gpio.lights", "mask 0x%x: lines read \"%s\", want \"%s\"%s%s",
			       steps[i].mask, got, steps[i].want, r ? ": " : "", r ? strerror(-r) : "");
			lights_close(l);
			return;
		}
	}
	report(true, "gpio.lights", "red+green, amber+buzzer, off read back in sysfs (chip \"%s\")",
	       GSIM_LABEL);
	lights_close(l);
}

/* Wait up to @p timeout_ms for trigger events; count presses and releases. A negative
 * timeout: wait for the fd to become readable once (an edge queued), read, return. */
static void trigger_collect(struct trigger *t, int timeout_ms, int *pressed, int *released)
{
	bool once = timeout_ms < 0;
	uint64_t deadline = now_ms() + (uint64_t)(once ? VM_STEP_TIMEOUT_MS : timeout_ms);
	struct trigger_event ev;

	for (;;) {
		uint64_t now = now_ms();
		int r;

		if (now >= deadline)
			return;
		r = wait_readable(trigger_get_fd(t), (int)(deadline - now));
		if (r <= 0)
			return;
		while ((r = trigger_on_readable(t, &ev)) != -EAGAIN) {
			if (r < 0 && r != -EBADMSG)
				return;
			if (r == 0 && ev.pressed)
				(*pressed)++;
			else if (r == 0)
				(*released)++;
		}
		if (once)
			return;
	}
}

static void check_pedal(const struct gsim *g)
{
	struct trigger_cfg cfg = {.backend = "gpio", .line = GL_PEDAL, .active_low = true,
				  .pull_up = true, .debounce_ms = 30};
	struct trigger *t = NULL;
	int r, pressed = 0, released = 0;

	snprintf(cfg.chip, sizeof(cfg.chip), "%s", g->chip);
	r = trigger_open(&cfg, &t);
	if (r < 0) {
		report(false, "gpio.pedal", "trigger_open(gpio, %s:%d): %s", g->chip, GL_PEDAL,
		       strerror(-r));
		return;
	}
	/* A bouncing press (down, up, down: each change read before the next, all well inside
	 * the debounce period), then a clean release. */
	for (int i = 0; i < 3 && r >= 0; i++) {
		r = gsim_pull(g, GL_PEDAL, i == 1);
		if (r == 0)
			trigger_collect(t, -1, &pressed, &released);
	}
	if (r < 0) {
		report(false, "gpio.pedal", "pulling line %d: %s", GL_PEDAL, strerror(-r));
		goto out;
	}
	trigger_collect(t, VM_QUIET_MS, &pressed, &released);
	if (pressed != 1 || released != 0 || !trigger_is_pressed(t)) {
		report(false, "gpio.pedal", "bouncing press gave %d presses, %d releases", pressed,
		       released);
		goto out;
	}
	r = gsim_pull(g, GL_PEDAL, true);
	trigger_collect(t, VM_QUIET_MS, &pressed, &released);
	report(r == 0 && pressed == 1 && released == 1 && !trigger_is_pressed(t) &&
		       trigger_get_glitches(t) >= 1,
	       "gpio.pedal", "bouncing press -> 1 press (%lu glitches), release -> 1 release "
	       "(%d/%d)", trigger_get_glitches(t), pressed, released);
out:
	trigger_close(t);
}

/* Read what the badge reader has now. @return 0 or a hard error; counts reads and drops. */
static int badge_drain(struct badge *b, struct badge_read *rd, int *reads, int *bad)
{
	int k;

	while ((k = badge_on_readable(b, rd)) != -EAGAIN) {
		if (k == 0)
			(*reads)++;
		else if (k == -EBADMSG)
			(*bad)++;
		else
			return k;
	}
	return 0;
}

/* A Wiegand frame as pulses, as a reader sends it: a 0 bit pulls D0 low, a 1 bit D1, then
 * back high; each edge is read by the driver before the next (see above). */
static int wiegand_send(const struct gsim *g, struct badge *b, const char *bits,
			struct badge_read *rd, int *reads, int *bad)
{
	int r = 0;

	for (const char *p = bits; *p && r == 0; p++) {
		int line = *p == '1' ? GL_D1 : GL_D0;

		for (int high = 0; high < 2 && r == 0; high++) {
			r = gsim_pull(g, line, high);
			if (r == 0)
				r = wait_readable(badge_get_fd(b), VM_STEP_TIMEOUT_MS);
			r = r == 1 ? badge_drain(b, rd, reads, bad) : r == 0 ? -ETIMEDOUT : r;
		}
	}
	return r;
}

static void check_wiegand(const struct gsim *g, const char *name, const char *bits,
			  const char *want_id)
{
	struct badge_cfg cfg = {.backend = "wiegand", .d0 = GL_D0, .d1 = GL_D1};
	struct badge *b = NULL;
	struct badge_read rd;
	uint64_t deadline;
	int r, reads = 0, bad = 0;

	snprintf(cfg.chip, sizeof(cfg.chip), "%s", g->chip);
	r = badge_open(&cfg, &b);
	if (r < 0) {
		report(false, name, "badge_open(wiegand, %s): %s", g->chip, strerror(-r));
		return;
	}
	r = wiegand_send(g, b, bits, &rd, &reads, &bad);
	/* The frame ends after the gap (badge.gap_ms) without an edge. */
	deadline = now_ms() + VM_STEP_TIMEOUT_MS;
	while (r == 0 && reads + bad == 0 && now_ms() < deadline) {
		r = wait_readable(badge_get_fd(b), (int)(deadline - now_ms()));
		r = r == 1 ? badge_drain(b, &rd, &reads, &bad) : r == 0 ? -ETIMEDOUT : r;
	}
	if (r < 0) {
		report(false, name, "%s", strerror(-r));
		badge_close(b);
		return;
	}
	if (want_id)
		report(reads == 1 && !strcmp(rd.id, want_id), name,
		       "%zu bits as pulses -> %s \"%s\" (want \"%s\"), %d dropped", strlen(bits),
		       reads ? "read" : "no read", reads ? rd.id : "", want_id, bad);
	else
		report(reads == 0 && bad == 1, name, "%zu bits, bad parity -> %d rejected, %d read",
		       strlen(bits), bad, reads);
	badge_close(b);
}

static int run_gpio(void)
{
	struct gsim g;
	int r;

	r = gsim_create(&g);
	if (r < 0) {
		report(false, "gpio.sim", "gpio-sim chip: %s", strerror(-r));
		return 1;
	}
	/* gpio-sim lines start pulled down; the pedal (active low) and the Wiegand lines idle
	 * high, so pull them up before anything opens them (no edges at open). */
	r = gsim_pull(&g, GL_PEDAL, true);
	if (r == 0)
		r = gsim_pull(&g, GL_D0, true);
	if (r == 0)
		r = gsim_pull(&g, GL_D1, true);
	if (r < 0) {
		report(false, "gpio.sim", "idle pulls: %s", strerror(-r));
		return 1;
	}
	report(true, "gpio.sim", "%s, 7 lines (%s)", g.chip, g.sysfs);
	check_lights(&g);
	check_pedal(&g);
	/* H10301, facility 123, card 4567 (tests/data/badge/h10301.wiegand). */
	check_wiegand(&g, "gpio.wiegand26", "10111101100010001110101110", "123-4567");
	/* The same frame with its last (odd parity) bit flipped: the only difference from the
	 * frame above, so a rejection here is the parity check's. */
	check_wiegand(&g, "gpio.wiegand-parity", "10111101100010001110101111", NULL);
	gsim_remove();
	return failures;
}

/* ---- a udevd stand-in for libusb's hotplug ------------------------------------------------ */

/*
 * The guest runs no udevd, and libusb (built with its udev backend) keeps its device list from
 * udevd's netlink broadcasts: without them a replugged device is never seen again. Boards run
 * udevd, so the rig relays the kernel's uevents (netlink group 1) to the udev group (2) in
 * libudev's format: a "libudev" header with the MurmurHash2 of SUBSYSTEM and DEVTYPE (libudev
 * subscribers filter on them in a socket filter), then the kernel's KEY=VALUE list unchanged.
 * No rules run: it announces devices, it does not create links or load modules.
 */
#define UDEV_MONITOR_MAGIC 0xfeedcafe
#define UDEV_GROUP_KERNEL 1
#define UDEV_GROUP_UDEV 2
/** Largest uevent the kernel sends (UEVENT_BUFFER_SIZE is 2048). */
#define UEVENT_MAX 8192

struct udev_nl_header {
	char prefix[8];		/* "libudev" */
	uint32_t magic;		/* UDEV_MONITOR_MAGIC, big endian */
	uint32_t header_size;	/* sizeof(struct udev_nl_header) */
	uint32_t properties_off;
	uint32_t properties_len;
	uint32_t filter_subsystem_hash; /* big endian */
	uint32_t filter_devtype_hash;	/* big endian */
	uint32_t filter_tag_bloom_hi;
	uint32_t filter_tag_bloom_lo;
};

/* MurmurHash2 (Austin Appleby), seed 0: what libudev hashes filter strings with. */
static uint32_t murmur2(const char *str)
{
	const uint32_t m = 0x5bd1e995;
	size_t len = strlen(str);
	const unsigned char *d = (const unsigned char *)str;
	uint32_t h = (uint32_t)len;

	for (; len >= 4; d += 4, len -= 4) {
		uint32_t k;

		memcpy(&k, d, 4);
		k *= m;
		k ^= k >> 24;
		k *= m;
		h *= m;
		h ^= k;
	}
	/* The tail, as the reference's fall-through switch does it. */
	if (len >= 3)
		h ^= (uint32_t)d[2] << 16;
	if (len >= 2)
		h ^= (uint32_t)d[1] << 8;
	if (len >= 1) {
		h ^= d[0];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

/* Relay until killed (the child of start_udev_relay). */
static void udev_relay_loop(int in, int out)
{
	static char buf[UEVENT_MAX];
	struct sockaddr_nl dst = {.nl_family = AF_NETLINK, .nl_groups = UDEV_GROUP_UDEV};

	for (;;) {
		struct udev_nl_header h = {.prefix = "libudev",
					   .magic = htobe32(UDEV_MONITOR_MAGIC),
					   .header_size = sizeof(h)};
		struct iovec iov[2];
		struct msghdr msg = {.msg_name = &dst, .msg_namelen = sizeof(dst), .msg_iov = iov,
				     .msg_iovlen = 2};
		ssize_t n = recv(in, buf, sizeof(buf) - 1, 0);
		size_t off;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf[n] = '\0';
		if (!strstr(buf, "@/"))
			continue; /* not a kernel uevent */
		off = strlen(buf) + 1;
		if (off >= (size_t)n)
			continue;
		for (size_t p = off; p < (size_t)n; p += strlen(buf + p) + 1) {
			if (!strncmp(buf + p, "SUBSYSTEM=", 10))
				h.filter_subsystem_hash = htobe32(murmur2(buf + p + 10));
			else if (!strncmp(buf + p, "DEVTYPE=", 8))
				h.filter_devtype_hash = htobe32(murmur2(buf + p + 8));
		}
		h.properties_off = sizeof(h);
		h.properties_len = (uint32_t)((size_t)n - off);
		iov[0] = (struct iovec){.iov_base = &h, .iov_len = sizeof(h)};
		iov[1] = (struct iovec){.iov_base = buf + off, .iov_len = (size_t)n - off};
		/* ECONNREFUSED: nobody listens on the group right now; that is fine. */
		sendmsg(out, &msg, 0);
	}
}

/* Fork the relay; its sockets are bound before the fork, so no event after this is missed.
 * @return the child's pid (kill it with stop_udev_relay()), or -errno. */
static pid_t start_udev_relay(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = UDEV_GROUP_KERNEL};
	struct sockaddr_nl me = {.nl_family = AF_NETLINK};
	int in, out;
	pid_t pid;

	in = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	out = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (in < 0 || out < 0 || bind(in, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    bind(out, (struct sockaddr *)&me, sizeof(me)) < 0) {
		pid = -errno;
		goto out;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		udev_relay_loop(in, out);
		_exit(0);
	}
	if (pid < 0)
		pid = -errno;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return pid;
}

static void stop_udev_relay(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- USB HID POS scale gadget ------------------------------------------------------------- */

#define HID_GADGET "/sys/kernel/config/usb_gadget/sbhid"
#define HID_UDC "dummy_udc.1"
/** A Dymo M10 shipping scale's VID:PID. */
#define HID_VID 0x0922
#define HID_PID 0x8003

/*
 * Scale page 0x8D, application collection, input report ID 3: status, unit, exponent
 * (8 bits each) and a 16-bit weight; no output or feature reports (no_out_endpoint).
 */
static const uint8_t hid_scale_desc[] = {
	0x05, 0x8d, 0x09, 0x01, 0xa1, 0x01, 0x85, 0x03, 0x09, 0x32, 0xa1, 0x02, 0x15, 0x00,
	0x26, 0xff, 0x00, 0x75, 0x08, 0x95, 0x01, 0x09, 0x70, 0x81, 0x02, 0x09, 0x50, 0x81,
	0x02, 0x09, 0x41, 0x81, 0x02, 0x75, 0x10, 0x09, 0x40, 0x81, 0x02, 0xc0, 0xc0,
};

static int hid_gadget_create(void)
{
	char v[16];
	static const struct {
		const char *path, *value;
	} files[] = {
		{HID_GADGET "/strings/0x409/manufacturer", "sealbench"},
		{HID_GADGET "/strings/0x409/product", "vm HID POS scale"},
		{HID_GADGET "/strings/0x409/serialnumber", "VM0002"},
		{HID_GADGET "/functions/hid.usb0/protocol", "0"},
		{HID_GADGET "/functions/hid.usb0/subclass", "0"},
		{HID_GADGET "/functions/hid.usb0/report_length", "6"}, /* the ID byte included */
		{HID_GADGET "/functions/hid.usb0/no_out_endpoint", "1"},
	};
	int fd, r;

	if (mkdir(HID_GADGET, 0755) < 0 || mkdir(HID_GADGET "/strings/0x409", 0755) < 0 ||
	    mkdir(HID_GADGET "/configs/c.1", 0755) < 0 ||
	    mkdir(HID_GADGET "/functions/hid.usb0", 0755) < 0)
		return -errno;
	snprintf(v, sizeof(v), "0x%04x", HID_VID);
	if ((r = write_file(HID_GADGET "/idVendor", v)) < 0)
		return r;
	snprintf(v, sizeof(v), "0x%04x", HID_PID);
	if ((r = write_file(HID_GADGET "/idProduct", v)) < 0)
		return r;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if ((r = write_file(files[i].path, files[i].value)) < 0)
			return r;
	fd = open(HID_GADGET "/functions/hid.usb0/report_desc", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write(fd, hid_scale_desc, sizeof(hid_scale_desc)) == (ssize_t)sizeof(hid_scale_desc)
		    ? 0
		    : -EIO;
	close(fd);
	if (r < 0)
		return r;
	if (symlink(HID_GADGET "/functions/hid.usb0", HID_GADGET "/configs/c.1/hid.usb0") < 0)
		return -errno;
	return write_file(HID_GADGET "/UDC", HID_UDC);
}

/* One scripted report and the reading it must produce once stable (or a fault). */
struct hid_step {
	const char *what;
	uint8_t status, unit;
	int8_t exp10;
	uint16_t raw;
	int32_t want_grams;
	bool want_fault; /* an unplug step: expect SCALE_FAULT */
};

/* Motion, then stable, in grams, ounces and pounds with exponents, then zero. */
static const struct hid_step hid_steps[] = {
	{"motion g", 3, 2, 0, 480, 480, false},
	{"stable g", 4, 2, 0, 500, 500, false},
	{"stable oz 10^-1", 4, 11, -1, 4660, 13211, false}, /* 466.0 oz = 13210.88 g */
	{"stable lb 10^-2", 4, 12, -2, 1234, 5597, false},  /* 12.34 lb = 5597.33 g */
	{"at zero", 2, 2, 0, 0, 0, false},
};

struct hid_run {
	int hidg;
	struct scale *s;
	uint64_t deadline;
	unsigned readings; /* readings seen so far */
	bool saw_stale;    /* a reading carried the stale first report's weight */
};

/** The weight of the stale report sent first after open (must never surface). */
#define HID_STALE_RAW 9999

/* Send one report to /dev/hidg0 (waits until the host polls), then wait for the reading
 * @p st asks for, discarding in-motion readings. @return 0 or -errno; *ret the last reading. */
static int hid_step_run(struct hid_run *h, const struct hid_step *st, bool send,
			struct scale_reading *ret)
{
	uint8_t rep[6] = {3, st->status, st->unit, (uint8_t)st->exp10, (uint8_t)(st->raw & 0xff),
			  (uint8_t)(st->raw >> 8)};
	bool sent = !send;
	int r;

	for (;;) {
		uint64_t t = now_ms();
		struct epoll_event ev[2];
		int ep, n;

		if (t >= h->deadline)
			return -ETIMEDOUT;
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0)
			return -errno;
		ev[0] = (struct epoll_event){.events = EPOLLIN, .data.u32 = 1};
		epoll_ctl(ep, EPOLL_CTL_ADD, scale_get_fd(h->s), &ev[0]);
		if (!sent) {
			ev[1] = (struct epoll_event){.events = EPOLLOUT, .data.u32 = 0};
			epoll_ctl(ep, EPOLL_CTL_ADD, h->hidg, &ev[1]);
		}
		n = epoll_wait(ep, ev, 2, (int)(h->deadline - t));
		close(ep);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == 0) {
				if (write(h->hidg, rep, sizeof(rep)) == (ssize_t)sizeof(rep))
					sent = true;
				else if (errno != EAGAIN)
					return -errno;
				continue;
			}
			while ((r = scale_on_readable(h->s, ret)) != -EAGAIN) {
				if (r < 0)
					return r;
				h->readings++;
				if (ret->grams == HID_STALE_RAW)
					h->saw_stale = true;
				if (!sent)
					continue;
				if (st->want_fault) {
					if (ret->status == SCALE_FAULT)
						return 0;
				} else if (ret->status == SCALE_OK && ret->grams == st->want_grams &&
					   ret->stable == (st->status != SCALE_HID_MOTION)) {
					return 0;
				}
			}
		}
	}
}

static int run_hid_scale(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	struct scale_cfg cfg = {.backend = "usbhid", .usb_vid = HID_VID, .usb_pid = HID_PID,
				.poll_ms = 100, .stable_ms = 300};
	struct hid_run h = {.hidg = -1};
	struct scale_reading rd = {0};
	static const struct hid_step stale = {"stale first report", 4, 2, 0, HID_STALE_RAW, -1,
					      false};
	static const struct hid_step unplug = {"unplug", 0, 0, 0, 0, 0, true};
	static const struct hid_step replug = {"replug stable g", 4, 2, 0, 750, 750, false};
	uint64_t t0, deadline;
	pid_t relay;
	int nl, r;

	relay = start_udev_relay();
	if (relay < 0) {
		report(false, "scale.hid.gadget", "uevent relay: %s", strerror((int)-relay));
		return 1;
	}
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (nl < 0 || bind(nl, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		report(false, "scale.hid.gadget", "uevent socket: %s", strerror(errno));
		stop_udev_relay(relay);
		return 1;
	}
	t0 = now_ms();
	r = hid_gadget_create();
	if (r == 0)
		r = wait_uevent_add(nl, "hidg0", VM_STEP_TIMEOUT_MS);
	if (r == 0)
		r = wait_uevent_add(nl, "hidraw0", VM_STEP_TIMEOUT_MS);
	if (r < 0) {
		report(false, "scale.hid.gadget", "HID gadget / hidraw0: %s", strerror(-r));
		goto out;
	}
	report(true, "scale.hid.gadget", "%04x:%04x enumerated under usbhid in %llu ms", HID_VID,
	       HID_PID, (unsigned long long)(now_ms() - t0));
	h.hidg = open("/dev/hidg0", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (h.hidg < 0) {
		report(false, "scale.hid.open", "open /dev/hidg0: %s", strerror(errno));
		goto out;
	}
	r = scale_open(&cfg, &h.s);
	if (r < 0) {
		report(false, "scale.hid.open", "scale_open(usbhid %04x:%04x): %s", HID_VID, HID_PID,
		       strerror(-r));
		goto out;
	}
	report(true, "scale.hid.open", "model \"%s\"", scale_get_model(h.s));
	/* The first report after open is stale by design and must not surface as a reading:
	 * send it and watch for VM_QUIET_MS (the step itself can never match). */
	h.deadline = now_ms() + VM_QUIET_MS;
	r = hid_step_run(&h, &stale, true, &rd);
	if (r != -ETIMEDOUT || h.saw_stale) {
		report(false, "scale.hid.stale", "the stale first report was not discarded (%s, %u "
		       "readings)", r ? strerror(-r) : "matched", h.readings);
		goto out;
	}
	report(true, "scale.hid.stale", "first report (%d g) discarded, %u readings",
	       HID_STALE_RAW, h.readings);
	for (size_t i = 0; i < sizeof(hid_steps) / sizeof(hid_steps[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "scale.hid.%zu", i);
		h.deadline = now_ms() + VM_STEP_TIMEOUT_MS;
		r = hid_step_run(&h, &hid_steps[i], true, &rd);
		report(r == 0, name, "%s -> %s %d g%s%s", hid_steps[i].what,
		       rd.stable ? "stable" : "in motion", rd.grams, r ? ": " : "",
		       r ? strerror(-r) : "");
	}
	/* Unplug (unbind the UDC): one SCALE_FAULT reading; replug: readings resume. */
	h.deadline = now_ms() + VM_STEP_TIMEOUT_MS;
	r = write_file(HID_GADGET "/UDC", "\n"); /* an empty name unbinds */
	if (r == 0)
		r = hid_step_run(&h, &unplug, false, &rd);
	report(r == 0, "scale.hid.unplug", "UDC unbound -> %s%s",
	       r == 0 ? "SCALE_FAULT reading" : "no fault: ", r ? strerror(-r) : "");
	close(h.hidg);
	h.hidg = -1;
	t0 = now_ms();
	r = write_file(HID_GADGET "/UDC", HID_UDC);
	if (r == 0) {
		h.hidg = open("/dev/hidg0", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		r = h.hidg < 0 ? -errno : 0;
	}
	/* The backend finds the scale again (hotplug or its rescan) and discards one stale
	 * report after reopening, so send the weight again every VM_QUIET_MS until it shows. */
	deadline = now_ms() + 2 * VM_STEP_TIMEOUT_MS;
	while (r == 0) {
		h.deadline = now_ms() + VM_QUIET_MS;
		if (h.deadline > deadline)
			h.deadline = deadline;
		r = hid_step_run(&h, &replug, true, &rd);
		if (r != -ETIMEDOUT || now_ms() >= deadline)
			break;
		r = 0;
	}
	report(r == 0, "scale.hid.replug", "UDC rebound -> stable %d g after %llu ms%s%s", rd.grams,
	       (unsigned long long)(now_ms() - t0), r ? ": " : "", r ? strerror(-r) : "");
out:
	scale_close(h.s);
	if (h.hidg >= 0)
		close(h.hidg);
	close(nl);
	stop_udev_relay(relay);
	gadget_remove(HID_GADGET, "hid.usb0");
	return failures;
}

/* ---- the device server for the full-daemon run (tests/vm/e2e.py) -------------------------- */

/*
 * A scanner types at its own pace: real ones send a key every millisecond or so, and a burst
 * faster than the reader would overflow evdev's buffer (the scanner.overflow check does that
 * on purpose). Here the reader is another process, so the server keeps a scanner's pace on a
 * timerfd: this is the device's timing, not a wait for the code under test.
 */
#define SERVER_KEY_US 1500
/** Room for one command line on stdin. */
#define SERVER_LINE_MAX 4096

static int key_pace(void)
{
	struct itimerspec its = {.it_value = {.tv_nsec = SERVER_KEY_US * 1000L}};
	int fd, r;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
	if (r == 0) {
		r = wait_readable(fd, VM_STEP_TIMEOUT_MS);
		r = r == 1 ? 0 : r == 0 ? -ETIMEDOUT : r;
	}
	close(fd);
	return r;
}

static int server_type(struct vkbd *k, const char *text)
{
	int r = 0;

	for (const char *p = text; r == 0; p++) {
		r = vkbd_type_char(k, *p ? (unsigned char)*p : '\n');
		if (r == 0)
			r = key_pace();
		if (!*p)
			break;
	}
	return r;
}

/* One HID POS report: "weigh G stable|motion" (0 stable = at zero). Waits until the host
 * polls (the gadget holds one report). */
static int server_weigh(int hidg, long grams, bool stable)
{
	uint8_t rep[6] = {3, grams == 0 && stable ? 2 : stable ? 4 : 3, 2, 0,
			  (uint8_t)(grams & 0xff), (uint8_t)((grams >> 8) & 0xff)};
	struct epoll_event ev = {.events = EPOLLOUT};
	int ep, n;

	if (grams < 0 || grams > 0xffff)
		return -ERANGE;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	epoll_ctl(ep, EPOLL_CTL_ADD, hidg, &ev);
	n = epoll_wait(ep, &ev, 1, VM_STEP_TIMEOUT_MS);
	close(ep);
	if (n <= 0)
		return n < 0 ? -errno : -ETIMEDOUT;
	return write(hidg, rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : -errno;
}

static int link_dev(const char *run_dir, const char *name, const char *target)
{
	char p[VM_PATH_MAX];

	snprintf(p, sizeof(p), "%s/dev", run_dir);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(p, sizeof(p), "%s/dev/%s", run_dir, name);
	unlink(p);
	return symlink(target, p) < 0 ? -errno : 0;
}

/*
 * vm-check devices RUN_DIR: create every device of boards/vm/board.conf, link them under
 * RUN_DIR/dev (scanner, badge, camera),
 * print "ready", then act on stdin commands, one reply line each ("ok" or "error ..."):
 *   badge ID | scan TEXT | weigh GRAMS stable|motion
 * Ends at EOF.
 */
static int run_devices(const char *run_dir)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	struct vkbd scan = {.fd = -1}, badge = {.fd = -1};
	char cam[VM_PATH_MAX], line[SERVER_LINE_MAX];
	struct gsim g;
	pid_t relay = -1;
	int nl = -1, hidg = -1, r;

	r = gsim_create(&g);
	if (r == 0)
		r = gsim_pull(&g, GL_PEDAL, true);
	if (r == 0)
		r = gsim_pull(&g, GL_D0, true);
	if (r == 0)
		r = gsim_pull(&g, GL_D1, true);
	if (r == 0)
		r = vkbd_create(&scan, "sealbench vm scanner", 0x05e0, 0x1200);
	if (r == 0)
		r = vkbd_create(&badge, "sealbench vm rfid", 0xffff, 0x0035);
	if (r == 0)
		r = find_vivid(cam, sizeof(cam));
	if (r == 0)
		r = link_dev(run_dir, "scanner", scan.event);
	if (r == 0)
		r = link_dev(run_dir, "badge", badge.event);
	if (r == 0)
		r = link_dev(run_dir, "camera", cam);
	if (r == 0) {
		relay = start_udev_relay();
		r = relay < 0 ? (int)relay : 0;
	}
	if (r == 0) {
		nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
		if (nl < 0 || bind(nl, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			r = -errno;
	}
	if (r == 0)
		r = hid_gadget_create();
	if (r == 0)
		r = wait_uevent_add(nl, "hidg0", VM_STEP_TIMEOUT_MS);
	if (r == 0)
		r = wait_uevent_add(nl, "hidraw0", VM_STEP_TIMEOUT_MS);
	if (r == 0) {
		hidg = open("/dev/hidg0", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		r = hidg < 0 ? -errno : 0;
	}
	if (r < 0) {
		printf("error setting up the devices: %s\n", strerror(-r));
		goto out;
	}
	printf("ready scanner=%s badge=%s camera=%s chip=%s\n", scan.event, badge.event, cam,
	       g.chip);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char *arg;

		line[strcspn(line, "\n")] = '\0';
		arg = strchr(line, ' ');
		if (arg)
			*arg++ = '\0';
		if (!arg) {
			r = -EINVAL;
		} else if (!strcmp(line, "scan")) {
			r = server_type(&scan, arg);
		} else if (!strcmp(line, "badge")) {
			r = server_type(&badge, arg);
		} else if (!strcmp(line, "weigh")) {
			char *end;
			long grams = strtol(arg, &end, 10);

			r = server_weigh(hidg, grams, strstr(end, "stable") != NULL);
		} else {
			r = -EINVAL;
		}
		if (r < 0)
			printf("error %s %s: %s\n", line, arg ? arg : "", strerror(-r));
		else
			printf("ok\n");
		fflush(stdout);
	}
	r = 0;
out:
	if (hidg >= 0)
		close(hidg);
	if (nl >= 0)
		close(nl);
	stop_udev_relay(relay);
	gadget_remove(HID_GADGET, "hid.usb0");
	gsim_remove();
	vkbd_destroy(&badge);
	vkbd_destroy(&scan);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(void);
	} checks[] = {
		{"scanner", run_scanner},
		{"badge", run_badge},
		{"camera", run_camera},
		{"serial-scale", run_serial_scale},
		{"hid-scale", run_hid_scale},
		{"gpio", run_gpio},
	};

	if (argc == 3 && !strcmp(argv[1], "devices"))
		return run_devices(argv[2]);
	if (argc < 2) {
		fprintf(stderr, "usage: vm-check scanner|badge|camera|serial-scale|hid-scale|gpio...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		size_t j;

		for (j = 0; j < sizeof(checks) / sizeof(checks[0]); j++)
			if (!strcmp(argv[i], checks[j].name))
				break;
		if (j == sizeof(checks) / sizeof(checks[0])) {
			fprintf(stderr, "vm-check: unknown check %s\n", argv[i]);
			return 2;
		}
		checks[j].run();
	}
	return failures > 125 ? 125 : failures;
}
