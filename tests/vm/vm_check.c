/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vm_check.c - device checks that run inside the test VM (tests/vm/README.md)
 * against real kernel devices: our drivers, unmodified, through their class APIs.
 *
 *   vm-check scanner        uinput keyboard -> scanner "evdev" backend (scans, shifted
 *                           characters, a 15434 label with GS/RS/EOT typed as Ctrl keys, as
 *                           Alt+numpad codes and as F-keys, an overflowing burst that must be
 *                           rejected and counted)
 *   vm-check badge          uinput keyboard -> badge "evdev" backend
 *   vm-check camera         camera "v4l2" backend: vivid YUYV -> JPEG at 1280x720 and
 *                           1920x1080 (vivid's colour bars); MJPEG through v4l2loopback
 *                           byte-exact; camera.warmup frames counted against lockstep
 *                           loopback writes; a chosen image through vivid's HDMI output -> input
 *                           loopback; vivid's Disconnect mid-capture (-ENODEV) and recovery
 *   vm-check serial-scale   configfs ACM gadget on dummy_hcd: MT-SICS and SCP-01 (NCI)
 *                           responders on /dev/ttyGS0, the "serial-mtsics" and
 *                           "serial-scp01" backends on /dev/ttyACM0
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
#include <sys/mman.h>
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

/** How a keyboard types the control characters GS, RS and EOT (scanner.ctrl_map). */
enum ctl_mode {
	CTL_CTRL = 0, /* Ctrl+], Ctrl+^, Ctrl+D */
	CTL_ALTNUM,   /* Alt held + keypad digits: Alt+0029, Alt+0030, Alt+0004 */
	CTL_FKEYS,    /* F1, F2, F3 (scanner.fkeys = F1=GS,F2=RS,F3=EOT) */
};

struct vkbd {
	int fd;
	char event[64]; /* /dev/input/eventN */
	enum ctl_mode ctl;
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

/* A key pressed and released. */
static int vkbd_tap(struct vkbd *k, uint16_t code)
{
	int r = vkbd_key(k, code, 1);

	return r < 0 ? r : vkbd_key(k, code, 0);
}

/* GS, RS or EOT typed the CTL_ALTNUM or CTL_FKEYS way. */
static int vkbd_type_ctl(struct vkbd *k, unsigned char c)
{
	static const uint16_t kp[10] = {KEY_KP0, KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4,
					KEY_KP5, KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9};
	int r;

	if (k->ctl == CTL_FKEYS)
		return vkbd_tap(k, c == 0x1d ? KEY_F1 : c == 0x1e ? KEY_F2 : KEY_F3);
	r = vkbd_key(k, KEY_LEFTALT, 1);
	for (int div = 1000; div >= 1 && r == 0; div /= 10)
		r = vkbd_tap(k, kp[(c / div) % 10]);
	if (r == 0)
		r = vkbd_key(k, KEY_LEFTALT, 0);
	return r;
}

/* Type one character (press and release, with modifiers). */
static int vkbd_type_char(struct vkbd *k, unsigned char c)
{
	bool shift, ctrl;
	uint16_t code;
	int r;

	if (k->ctl != CTL_CTRL && (c == 0x1d || c == 0x1e || c == 0x04))
		return vkbd_type_ctl(k, c);
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

/* Reopen the scanner with the ctrl_map of @p mode and scan @p label typed that way. */
static void check_label_mode(struct vkbd *k, struct scanner **s, enum ctl_mode mode,
			     const char *label, size_t len)
{
	struct scanner_cfg cfg = {.backend = "evdev"};
	const char *name = mode == CTL_ALTNUM ? "scanner.label15434-altnum"
					      : "scanner.label15434-fkeys";
	int r;

	snprintf(cfg.device, sizeof(cfg.device), "%s", k->event);
	if (mode == CTL_ALTNUM) {
		snprintf(cfg.ctrl_map, sizeof(cfg.ctrl_map), "altnum");
	} else {
		snprintf(cfg.ctrl_map, sizeof(cfg.ctrl_map), "fkeys");
		snprintf(cfg.fkeys, sizeof(cfg.fkeys), "F1=GS,F2=RS,F3=EOT");
	}
	scanner_close(*s);
	*s = NULL;
	r = scanner_open(&cfg, s);
	if (r < 0) {
		report(false, name, "scanner_open(evdev, %s, ctrl_map %s): %s", k->event,
		       cfg.ctrl_map, strerror(-r));
		return;
	}
	k->ctl = mode;
	check_scan(k, *s, name, label, len);
	k->ctl = CTL_CTRL;
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
	/* The same label with GS/RS/EOT as Alt+numpad codes, then as F-keys (scanner.ctrl_map). */
	scanner_close(s);
	s = NULL;
	check_label_mode(&k, &s, CTL_ALTNUM, label, sizeof(label) - 1);
	check_label_mode(&k, &s, CTL_FKEYS, label, sizeof(label) - 1);
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

/*
 * Four cameras (tests/vm/guest.sh loads them):
 *   vivid-000-vid-cap   webcam input, vivid's colour bars: YUYV -> JPEG at two sizes
 *   v4l2loopback        "sealbench-vm-mjpeg": MJPEG frames written here come out byte-exact
 *   vivid-001-vid-cap   HDMI input connected to vivid-001-vid-out's HDMI output: a chosen
 *                       image written to the output comes back through the capture node
 *   vivid-002-vid-cap   webcam input unplugged mid-stream with vivid's Disconnect control
 */
#define VIVID_WEBCAM "vivid-000-vid-cap"
#define VIVID_HDMI_CAP "vivid-001-vid-cap"
#define VIVID_HDMI_OUT "vivid-001-vid-out"
#define VIVID_UNPLUG "vivid-002-vid-cap"
#define LOOPBACK_LABEL "sealbench-vm-mjpeg"

/* The V4L2 node whose sysfs name is exactly @p name. */
static int find_video(const char *name, char *path, size_t size)
{
	char got[VM_PATH_MAX], f[VM_PATH_MAX + 64];
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
		if (read_file(f, got, sizeof(got)) == 0 && !strcmp(got, name)) {
			snprintf(path, size, "/dev/%s", de->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

/* The capture node of the first vivid instance (webcam input, colour bars). */
static int find_vivid(char *path, size_t size)
{
	return find_video(VIVID_WEBCAM, path, size);
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/*
 * Set the V4L2 control called @p name on @p fd: to @p value, or for a menu control to the
 * item whose name contains @p item. On -ENOENT for a menu item, @p items (if not NULL) lists
 * the items there are.
 */
static int ctrl_set(int fd, const char *name, const char *item, int value, char *items,
		    size_t items_size)
{
	struct v4l2_queryctrl q = {.id = V4L2_CTRL_FLAG_NEXT_CTRL};
	struct v4l2_control c;

	while (xioctl(fd, VIDIOC_QUERYCTRL, &q) == 0) {
		if (!strcmp((const char *)q.name, name))
			break;
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	if (strcmp((const char *)q.name, name))
		return -ENOENT;
	if (item) {
		struct v4l2_querymenu m = {.id = q.id};
		bool found = false;

		if (items && items_size)
			items[0] = '\0';
		for (int i = q.minimum; i <= q.maximum && !found; i++) {
			m.index = (uint32_t)i;
			if (xioctl(fd, VIDIOC_QUERYMENU, &m) < 0)
				continue;
			if (strstr((const char *)m.name, item)) {
				value = i;
				found = true;
			} else if (items && items_size) {
				size_t n = strlen(items);

				snprintf(items + n, items_size - n, "%s\"%s\"", n ? ", " : "",
					 (const char *)m.name);
			}
		}
		if (!found)
			return -ENOENT;
	}
	c = (struct v4l2_control){.id = q.id, .value = value};
	return xioctl(fd, VIDIOC_S_CTRL, &c);
}

/* Something the check keeps doing while it waits for a photo (a frame writer). */
struct feeder {
	int fd;		 /* watched for @events; -1 none */
	uint32_t events; /* EPOLLIN or EPOLLOUT */
	int (*feed)(void *arg);
	void *arg;
};

/*
 * camera_capture(), then wait for the photo, feeding @p f meanwhile. @return 0 and *ret;
 * the camera's error (-ENODEV, -ETIMEDOUT, ...); -ETIMEDOUT when nothing came in
 * @p timeout_ms; a feeder error.
 */
static int take_photo(struct camera *c, const struct feeder *f, int timeout_ms,
		      struct camera_photo *ret)
{
	struct epoll_event ev[2];
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	int ep, r;

	r = camera_capture(c);
	if (r < 0)
		return r;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	ev[0] = (struct epoll_event){.events = EPOLLIN, .data.u32 = 0};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, camera_get_fd(c), &ev[0]) < 0)
		goto err_errno;
	if (f && f->fd >= 0) {
		ev[1] = (struct epoll_event){.events = f->events, .data.u32 = 1};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, f->fd, &ev[1]) < 0)
			goto err_errno;
	}
	for (r = -EAGAIN; r == -EAGAIN;) {
		uint64_t t = now_ms();
		int n;

		if (t >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		n = epoll_wait(ep, ev, 2, (int)(deadline - t));
		if (n < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		for (int i = 0; i < n && r == -EAGAIN; i++) {
			if (ev[i].data.u32 == 1) {
				int fr = f->feed(f->arg);

				if (fr < 0)
					r = fr;
				continue;
			}
			r = camera_on_readable(c, ret);
		}
	}
	close(ep);
	return r;
err_errno:
	r = -errno;
	close(ep);
	return r;
}

/* A photo must be a whole JPEG: SOI ... EOI. */
static bool is_jpeg(const struct camera_photo *p)
{
	return p->len >= 4 && p->jpeg[0] == 0xff && p->jpeg[1] == 0xd8 &&
	       p->jpeg[p->len - 2] == 0xff && p->jpeg[p->len - 1] == 0xd9;
}

/* Decode @p p to RGB (malloc'd into *ret_rgb). @return 0 or a FAIL already reported. */
static int decode_photo(const char *name, const struct camera_photo *p, uint8_t **ret_rgb)
{
	int w = 0, h = 0, ss = 0, cs = 0, r = -EBADMSG;
	uint8_t *rgb = NULL;
	tjhandle tj;

	tj = tjInitDecompress();
	if (!tj) {
		report(false, name, "tjInitDecompress failed");
		return -ENOMEM;
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
		free(rgb);
		goto out;
	}
	*ret_rgb = rgb;
	r = 0;
out:
	tjDestroy(tj);
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

/* The 8 bars of vivid's pattern at their centres. @return true when they match. */
static bool check_photo_content(const char *name, const struct camera_photo *p, bool quiet)
{
	uint8_t *rgb = NULL;
	int w = (int)p->width, h = (int)p->height;
	int bad = -1;

	if (decode_photo(name, p, &rgb) < 0)
		return false;
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
	if (bad < 0 && !quiet)
		report(true, name, "%dx%d JPEG, %zu bytes, 8 colour bars within %d", w, h, p->len,
		       VM_BAR_TOLERANCE);
	free(rgb);
	return bad < 0;
}

static void check_camera_size(const char *dev, unsigned width, unsigned height)
{
	struct camera_cfg cfg = {.backend = "v4l2", .format = CAMERA_FMT_YUYV, .width = width,
				 .height = height, .jpeg_quality = 85, .warmup_frames = 2,
				 .timeout_ms = VM_STEP_TIMEOUT_MS};
	struct camera_photo photo;
	struct camera *c = NULL;
	char name[64];
	uint64_t t0;
	int r;

	snprintf(name, sizeof(name), "camera.yuyv-%ux%u", width, height);
	snprintf(cfg.device, sizeof(cfg.device), "%.200s", dev);
	r = camera_open(&cfg, &c);
	if (r < 0) {
		report(false, name, "camera_open(v4l2, %s): %s", dev, strerror(-r));
		return;
	}
	t0 = now_ms();
	r = take_photo(c, NULL, 2 * VM_STEP_TIMEOUT_MS, &photo);
	if (r < 0) {
		report(false, name, "no photo from %s: %s", dev, strerror(-r));
	} else if (photo.passthrough || !is_jpeg(&photo)) {
		report(false, name, "not an encoded JPEG (passthrough %d, %zu bytes)",
		       photo.passthrough, photo.len);
	} else {
		printf("     %s: photo in %llu ms (model \"%s\")\n", name,
		       (unsigned long long)(now_ms() - t0), camera_get_model(c));
		check_photo_content(name, &photo, false);
	}
	camera_close(c);
}

/* ---- camera: MJPEG pass-through through v4l2loopback ---- */

#define MJPEG_W 640
#define MJPEG_H 480
/** Distinct JPEG frames the writer cycles through (a photo names the write it came from). */
#define MJPEG_FRAMES 6
/** Photos taken: even ones from buffers whose bytesused is the whole buffer. */
#define MJPEG_PHOTOS 4
/** The writer's frame period. */
#define MJPEG_PERIOD_MS 30
/** A COM segment holding an EOI marker, inserted after SOI: the end finder must skip it. */
static const uint8_t mjpeg_com[] = {0xff, 0xfe, 0x00, 0x0a, 's', 'b', 0xff, 0xd9, 'v', 'm',
				    0x00, 0x00};

struct mjpeg_writer {
	int fd;	 /* the loopback node, opened as its writer */
	int tfd; /* frame period */
	size_t sizeimage;
	uint8_t *frame[MJPEG_FRAMES];
	size_t len[MJPEG_FRAMES];
	uint8_t *padded;  /* sizeimage bytes: a frame, then stale bytes */
	bool pad;	  /* write whole buffers (bytesused = buffer size) */
	unsigned seq;	  /* writes so far */
	unsigned last_seq[MJPEG_FRAMES]; /* the write that last carried frame i (1-based) */
	int err;
};

/* MJPEG_FRAMES different JPEGs of different lengths, each with mjpeg_com after its SOI. */
static int mjpeg_frames(struct mjpeg_writer *w)
{
	static const int quality[MJPEG_FRAMES] = {92, 55, 80, 40, 97, 65};
	uint8_t *rgb;
	tjhandle tj;
	int r = 0;

	tj = tjInitCompress();
	rgb = malloc((size_t)MJPEG_W * MJPEG_H * 3);
	if (!tj || !rgb) {
		r = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < MJPEG_FRAMES && r == 0; i++) {
		unsigned char *jpeg = NULL;
		unsigned long len = 0;

		for (int y = 0; y < MJPEG_H; y++)
			for (int x = 0; x < MJPEG_W; x++) {
				uint8_t *px = rgb + ((size_t)y * MJPEG_W + (size_t)x) * 3;

				px[0] = (uint8_t)(x + 40 * i);
				px[1] = (uint8_t)(2 * y + 60 * i);
				px[2] = (uint8_t)((x ^ y) * (i + 1));
			}
		if (tjCompress2(tj, rgb, MJPEG_W, 0, MJPEG_H, TJPF_RGB, &jpeg, &len, TJSAMP_422,
				quality[i], 0) < 0) {
			r = -EIO;
			break;
		}
		w->len[i] = len + sizeof(mjpeg_com);
		w->frame[i] = malloc(w->len[i]);
		if (!w->frame[i]) {
			r = -ENOMEM;
		} else {
			memcpy(w->frame[i], jpeg, 2);
			memcpy(w->frame[i] + 2, mjpeg_com, sizeof(mjpeg_com));
			memcpy(w->frame[i] + 2 + sizeof(mjpeg_com), jpeg + 2, len - 2);
		}
		tjFree(jpeg);
	}
out:
	free(rgb);
	if (tj)
		tjDestroy(tj);
	return r;
}

static int mjpeg_write(void *arg)
{
	struct mjpeg_writer *w = arg;
	unsigned i = w->seq % MJPEG_FRAMES;
	const uint8_t *buf = w->frame[i];
	size_t len = w->len[i];
	uint64_t ticks;
	ssize_t n;

	if (read(w->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return -errno;
	if (w->pad && len <= w->sizeimage) {
		/* The rest of the buffer keeps what was there: pattern and older, longer frames. */
		memcpy(w->padded, buf, len);
		buf = w->padded;
		len = w->sizeimage;
	}
	n = write(w->fd, buf, len);
	if (n < 0)
		return w->err = -errno;
	w->seq++;
	w->last_seq[i] = w->seq;
	return 0;
}

static void mjpeg_writer_close(struct mjpeg_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->tfd >= 0)
		close(w->tfd);
	for (int i = 0; i < MJPEG_FRAMES; i++)
		free(w->frame[i]);
	free(w->padded);
}

/* Open the loopback node as its writer: MJPEG at MJPEG_W x MJPEG_H, one frame written. */
static int mjpeg_writer_open(struct mjpeg_writer *w, const char *dev)
{
	struct itimerspec its = {.it_interval = {.tv_nsec = MJPEG_PERIOD_MS * 1000000L},
				 .it_value = {.tv_nsec = MJPEG_PERIOD_MS * 1000000L}};
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT};
	int r;

	r = mjpeg_frames(w);
	if (r < 0)
		return r;
	w->fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	f.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
	f.fmt.pix.width = MJPEG_W;
	f.fmt.pix.height = MJPEG_H;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	f.fmt.pix.sizeimage = MJPEG_W * MJPEG_H * 2;
	r = xioctl(w->fd, VIDIOC_S_FMT, &f);
	if (r < 0)
		return r;
	w->sizeimage = f.fmt.pix.sizeimage;
	w->padded = malloc(w->sizeimage);
	if (!w->padded)
		return -ENOMEM;
	/* Stale bytes after every frame: EOI/SOI markers among them. */
	for (size_t i = 0; i < w->sizeimage; i++)
		w->padded[i] = (uint8_t[]){0xff, 0xd9, 0x00, 0xff, 0xd8, 0x5a}[i % 6];
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->tfd < 0 || timerfd_settime(w->tfd, 0, &its, NULL) < 0)
		return -errno;
	return mjpeg_write(w);
}

static void check_mjpeg(void)
{
	static const char name[] = "camera.mjpeg-passthrough";
	struct mjpeg_writer w = {.fd = -1, .tfd = -1};
	struct camera_cfg cfg = {.backend = "v4l2", .format = CAMERA_FMT_MJPEG, .width = MJPEG_W,
				 .height = MJPEG_H, .warmup_frames = 1,
				 .timeout_ms = VM_STEP_TIMEOUT_MS};
	struct feeder feed = {.events = EPOLLIN, .feed = mjpeg_write, .arg = &w};
	struct camera_photo p;
	struct camera *c = NULL;
	char dev[VM_PATH_MAX];
	size_t padded_len = 0, exact_len = 0;
	int r, exact = 0;

	r = find_video(LOOPBACK_LABEL, dev, sizeof(dev));
	if (r < 0) {
		report(false, name, "no v4l2loopback node \"%s\": %s", LOOPBACK_LABEL, strerror(-r));
		return;
	}
	r = mjpeg_writer_open(&w, dev);
	if (r < 0) {
		report(false, name, "writer on %s: %s", dev, strerror(-r));
		goto out;
	}
	feed.fd = w.tfd;
	snprintf(cfg.device, sizeof(cfg.device), "%.200s", dev);
	r = camera_open(&cfg, &c);
	if (r < 0) {
		report(false, name, "camera_open(v4l2, %s, mjpeg %dx%d): %s", dev, MJPEG_W, MJPEG_H,
		       strerror(-r));
		goto out;
	}
	for (int k = 0; k < MJPEG_PHOTOS; k++) {
		unsigned req_seq = w.seq;
		int i;

		w.pad = k % 2 == 0;
		r = take_photo(c, &feed, 2 * VM_STEP_TIMEOUT_MS, &p);
		if (r < 0) {
			report(false, name, "photo %d from %s: %s%s%s", k, dev, strerror(-r),
			       w.err ? ", writer: " : "", w.err ? strerror(-w.err) : "");
			goto out;
		}
		for (i = 0; i < MJPEG_FRAMES; i++)
			if (p.len == w.len[i] && !memcmp(p.jpeg, w.frame[i], p.len))
				break;
		if (i == MJPEG_FRAMES) {
			report(false, name, "photo %d (%zu bytes, passthrough %d) is none of the %d "
			       "frames written (%s bytesused)", k, p.len, p.passthrough,
			       MJPEG_FRAMES, w.pad ? "whole-buffer" : "exact");
			goto out;
		}
		if (!p.passthrough || p.width != MJPEG_W || p.height != MJPEG_H) {
			report(false, name, "photo %d: passthrough %d, %ux%u", k, p.passthrough,
			       p.width, p.height);
			goto out;
		}
		if (w.last_seq[i] <= req_seq) {
			report(false, name, "photo %d is frame %d of write %u, written before the "
			       "request (write %u)", k, i, w.last_seq[i], req_seq);
			goto out;
		}
		if (w.pad)
			padded_len = p.len;
		else
			exact_len = p.len;
		exact++;
	}
	report(exact == MJPEG_PHOTOS, name,
	       "%d photos from %s byte-exact (MJPEG %dx%d, memcmp), from buffers "
	       "with bytesused = the whole %zu-byte buffer (e.g. %zu bytes, stale bytes after "
	       "EOI cut) and = the frame (e.g. %zu bytes); an EOI inside a COM segment skipped; "
	       "each frame written after its request",
	       exact, dev, MJPEG_W, MJPEG_H, w.sizeimage, padded_len, exact_len);
out:
	camera_close(c);
	mjpeg_writer_close(&w);
}

/* ---- camera: warm-up frames counted against the loopback writer's frames ---- */

/** camera.warmup for the check: frames after the request that never become the photo. */
#define WARMUP_FRAMES 3
/** Rounds: the first on the stream started by the capture, the second after it stopped. */
#define WARMUP_ROUNDS 2

/* Which of the writer's frames @p p is, byte for byte. @return the index or -1. */
static int mjpeg_frame_of(const struct mjpeg_writer *w, const struct camera_photo *p)
{
	for (int i = 0; i < MJPEG_FRAMES; i++)
		if (p->len == w->len[i] && !memcmp(p->jpeg, w->frame[i], p->len))
			return i;
	return -1;
}

/** Wake-ups the camera may take to settle (take what is pending) before a write. */
#define WARMUP_SETTLE_MAX 8

/*
 * Let the camera take what is pending (frames from before the stream started) until its fd
 * is not readable, then one write, then wait for the camera to be woken and let it take the
 * frame: a frame that comes while the camera sleeps, as a real camera's do. @return
 * camera_on_readable()'s result (0: a photo, from the settling or the frame; -EAGAIN: none),
 * -EBUSY the camera stayed readable, -ETIMEDOUT it was not woken by the frame, a write error.
 */
static int warmup_step(struct camera *c, struct mjpeg_writer *w, struct camera_photo *p)
{
	int r, n;

	for (n = 0; (r = wait_readable(camera_get_fd(c), 0)) == 1; n++) {
		if (n == WARMUP_SETTLE_MAX)
			return -EBUSY;
		r = camera_on_readable(c, p);
		if (r != -EAGAIN)
			return r;
	}
	if (r < 0)
		return r;
	r = mjpeg_write(w);
	if (r < 0)
		return r;
	r = wait_readable(camera_get_fd(c), VM_STEP_TIMEOUT_MS);
	if (r <= 0)
		return r < 0 ? r : -ETIMEDOUT;
	return camera_on_readable(c, p);
}

/*
 * One round: a frame written before the stream starts (stale: must not count), the request,
 * then the writer and the camera in lockstep: one frame written, the camera woken, the frame
 * taken, and only then the next. The WARMUP_FRAMES frames after the request must give no
 * photo; the next one must be the photo, byte-exact. The frames of a round are distinct, so
 * a photo names the write it came from.
 */
static int warmup_round(const char *name, struct camera *c, struct mjpeg_writer *w, int round)
{
	struct camera_photo p;
	unsigned first;
	int r, i, want;

	r = camera_capture(c);
	if (r < 0) {
		report(false, name, "round %d: camera_capture: %s", round, strerror(-r));
		return r;
	}
	first = w->seq;
	for (int k = 0; k < WARMUP_FRAMES; k++) {
		r = warmup_step(c, w, &p);
		if (r == 0) {
			i = mjpeg_frame_of(w, &p);
			report(false, name, "round %d: a photo after %d of the %d warm-up frames "
			       "(frame %d of write %u; the frames after the request were writes "
			       "%u..)", round, k + 1, WARMUP_FRAMES, i, i >= 0 ? w->last_seq[i] : 0,
			       first + 1);
			return -EPROTO;
		}
		if (r != -EAGAIN) {
			report(false, name, "round %d: warm-up frame %d: %s%s%s", round, k + 1,
			       strerror(-r), w->err ? ", writer: " : "",
			       w->err ? strerror(-w->err) : "");
			return r;
		}
	}
	want = (int)(w->seq % MJPEG_FRAMES);
	r = warmup_step(c, w, &p);
	/* Not taken in that wake-up: wait for it (no more writes, so no later frame can come). */
	for (uint64_t end = now_ms() + VM_STEP_TIMEOUT_MS; r == -EAGAIN && now_ms() < end;) {
		r = wait_readable(camera_get_fd(c), (int)(end - now_ms()));
		if (r == 1)
			r = camera_on_readable(c, &p);
		else if (r == 0)
			r = -EAGAIN;
	}
	if (r < 0) {
		report(false, name, "round %d: no photo from write %u (the frame after %d warm-up "
		       "frames): %s", round, w->seq, WARMUP_FRAMES,
		       r == -EAGAIN ? "it was dropped too" : strerror(-r));
		return r;
	}
	i = mjpeg_frame_of(w, &p);
	if (i != want || !p.passthrough) {
		report(false, name, "round %d: the photo is frame %d (write %u), passthrough %d; "
		       "wanted frame %d of write %u, the one after %d warm-up frames", round, i,
		       i >= 0 ? w->last_seq[i] : 0, p.passthrough, want, w->seq, WARMUP_FRAMES);
		return -EPROTO;
	}
	return 0;
}

static void check_warmup(void)
{
	static const char name[] = "camera.warmup";
	struct mjpeg_writer w = {.fd = -1, .tfd = -1};
	struct camera_cfg cfg = {.backend = "v4l2", .format = CAMERA_FMT_MJPEG, .width = MJPEG_W,
				 .height = MJPEG_H, .warmup_frames = WARMUP_FRAMES,
				 .timeout_ms = VM_STEP_TIMEOUT_MS};
	struct camera_photo p;
	struct camera *c = NULL;
	char dev[VM_PATH_MAX];
	int r, round;

	r = find_video(LOOPBACK_LABEL, dev, sizeof(dev));
	if (r < 0) {
		report(false, name, "no v4l2loopback node \"%s\": %s", LOOPBACK_LABEL, strerror(-r));
		return;
	}
	/* The writer's own frame period is not used: every write here is one step. */
	r = mjpeg_writer_open(&w, dev);
	if (r < 0) {
		report(false, name, "writer on %s: %s", dev, strerror(-r));
		goto out;
	}
	snprintf(cfg.device, sizeof(cfg.device), "%.200s", dev);
	r = camera_open(&cfg, &c);
	if (r < 0) {
		report(false, name, "camera_open(v4l2, %s, mjpeg %dx%d, warmup %d): %s", dev,
		       MJPEG_W, MJPEG_H, WARMUP_FRAMES, strerror(-r));
		goto out;
	}
	for (round = 1; round <= WARMUP_ROUNDS; round++) {
		if (round > 1) {
			/* A frame nobody asked for: the backend stops its stream. */
			r = warmup_step(c, &w, &p);
			if (r != -EAGAIN) {
				report(false, name, "round %d: an unrequested frame gave %s", round,
				       r == 0 ? "a photo" : strerror(-r));
				goto out;
			}
			/* Written while the stream is off: older than the next request. */
			r = mjpeg_write(&w);
			if (r < 0) {
				report(false, name, "round %d: write: %s", round, strerror(-r));
				goto out;
			}
		}
		if (warmup_round(name, c, &w, round) < 0)
			goto out;
	}
	report(true, name, "camera.warmup = %d on %s (MJPEG %dx%d): in %d rounds (a fresh "
	       "stream each, a frame written before it), %d frames written one at a time after "
	       "the request, the camera woken for each: the first %d gave no photo, the photo is "
	       "the next frame, byte-exact", WARMUP_FRAMES, dev, MJPEG_W, MJPEG_H, WARMUP_ROUNDS,
	       WARMUP_FRAMES + 1, WARMUP_FRAMES);
out:
	camera_close(c);
	mjpeg_writer_close(&w);
}

/* ---- camera: a chosen image through vivid's HDMI output -> input loopback ---- */

#define HDMI_W 1280
#define HDMI_H 720
/** Output buffers kept queued, so the capture side always has one to loop. */
#define HDMI_OUT_BUFS 4
/** The image: a 4 x 4 grid of patches in these colours (none of them a colour bar). */
static const uint8_t hdmi_patches[16][3] = {
	{230, 30, 30},	{30, 200, 60},	{40, 60, 220},	{240, 200, 40},
	{120, 40, 160}, {20, 160, 170}, {250, 140, 0},	{90, 90, 90},
	{200, 200, 230}, {60, 30, 10},	{160, 220, 120}, {220, 100, 180},
	{10, 10, 60},	{140, 110, 70}, {255, 255, 255}, {30, 30, 30},
};
/** Patch centre, per channel, after YUYV -> JPEG -> RGB. */
#define HDMI_TOLERANCE 20
/** Mean absolute error over each patch's inner half. */
#define HDMI_MEAN_TOLERANCE 6

struct hdmi_out {
	int fd;
	unsigned n;
	void *map[HDMI_OUT_BUFS];
	size_t len[HDMI_OUT_BUFS];
	size_t bytesused;
	unsigned requeued;
};

static int hdmi_patch(int x, int y)
{
	return (y * 4 / HDMI_H) * 4 + x * 4 / HDMI_W;
}

/* The image as YUYV in BT.601 studio range (what the camera backend expects). */
static void hdmi_image(uint8_t *yuyv, size_t stride)
{
	for (int y = 0; y < HDMI_H; y++)
		for (int x = 0; x < HDMI_W; x += 2) {
			const uint8_t *c = hdmi_patches[hdmi_patch(x, y)];
			double r = c[0], g = c[1], b = c[2];
			uint8_t *px = yuyv + (size_t)y * stride + (size_t)x * 2;
			uint8_t yy = (uint8_t)(16.5 + (65.738 * r + 129.057 * g + 25.064 * b) / 256);

			px[0] = yy;
			px[1] = (uint8_t)(128.5 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256);
			px[2] = yy;
			px[3] = (uint8_t)(128.5 + (112.439 * r - 94.154 * g - 18.285 * b) / 256);
		}
}

/* CEA-861 1280x720p60 (the kernel's V4L2_DV_BT_CEA_1280X720P60, field by field). */
static void dv_720p60(struct v4l2_dv_timings *t)
{
	memset(t, 0, sizeof(*t));
	t->type = V4L2_DV_BT_656_1120;
	t->bt.width = HDMI_W;
	t->bt.height = HDMI_H;
	t->bt.polarities = V4L2_DV_HSYNC_POS_POL | V4L2_DV_VSYNC_POS_POL;
	t->bt.pixelclock = 74250000ULL;
	t->bt.hfrontporch = 110;
	t->bt.hsync = 40;
	t->bt.hbackporch = 220;
	t->bt.vfrontporch = 5;
	t->bt.vsync = 5;
	t->bt.vbackporch = 20;
	t->bt.standards = V4L2_DV_BT_STD_CEA861;
	t->bt.flags = V4L2_DV_FL_CAN_REDUCE_FPS | V4L2_DV_FL_IS_CE_VIDEO |
		      V4L2_DV_FL_HAS_CEA861_VIC;
	t->bt.cea861_vic = 4;
}

/* The output consumed a buffer: put it back in the queue (the image never changes). */
static int hdmi_feed(void *arg)
{
	struct hdmi_out *o = arg;
	struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
	int r;

	r = xioctl(o->fd, VIDIOC_DQBUF, &b);
	if (r == -EAGAIN)
		return 0;
	if (r < 0)
		return r;
	b.bytesused = (uint32_t)o->bytesused;
	o->requeued++;
	return xioctl(o->fd, VIDIOC_QBUF, &b);
}

static void hdmi_out_close(struct hdmi_out *o)
{
	int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;

	if (o->fd < 0)
		return;
	xioctl(o->fd, VIDIOC_STREAMOFF, &type);
	for (unsigned i = 0; i < o->n; i++)
		munmap(o->map[i], o->len[i]);
	close(o->fd);
	o->fd = -1;
}

/* Stream the image out of vivid's HDMI output (YUYV 720p, mmap buffers). */
static int hdmi_out_start(struct hdmi_out *o, const char *dev, char *why, size_t why_size)
{
	struct v4l2_dv_timings t;
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT};
	struct v4l2_requestbuffers req = {.count = HDMI_OUT_BUFS,
					  .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
					  .memory = V4L2_MEMORY_MMAP};
	int type = V4L2_BUF_TYPE_VIDEO_OUTPUT, r;

	dv_720p60(&t);
	o->fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (o->fd < 0)
		return -errno;
	if ((r = xioctl(o->fd, VIDIOC_S_DV_TIMINGS, &t)) < 0) {
		snprintf(why, why_size, "S_DV_TIMINGS 720p60 on %s", dev);
		return r;
	}
	f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	f.fmt.pix.width = HDMI_W;
	f.fmt.pix.height = HDMI_H;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	if ((r = xioctl(o->fd, VIDIOC_S_FMT, &f)) < 0) {
		snprintf(why, why_size, "S_FMT on %s", dev);
		return r;
	}
	if (f.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV || f.fmt.pix.width != HDMI_W ||
	    f.fmt.pix.height != HDMI_H) {
		snprintf(why, why_size, "%s took %ux%u", dev, f.fmt.pix.width, f.fmt.pix.height);
		return -ERANGE;
	}
	o->bytesused = f.fmt.pix.sizeimage;
	if ((r = xioctl(o->fd, VIDIOC_REQBUFS, &req)) < 0 || req.count < 2) {
		snprintf(why, why_size, "REQBUFS on %s", dev);
		return r < 0 ? r : -ENOMEM;
	}
	for (unsigned i = 0; i < req.count && i < HDMI_OUT_BUFS; i++) {
		struct v4l2_buffer b = {.index = i, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
					.memory = V4L2_MEMORY_MMAP};

		if ((r = xioctl(o->fd, VIDIOC_QUERYBUF, &b)) < 0)
			return r;
		o->map[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, o->fd,
				 b.m.offset);
		if (o->map[i] == MAP_FAILED)
			return -errno;
		o->len[i] = b.length;
		o->n = i + 1;
		hdmi_image(o->map[i], f.fmt.pix.bytesperline);
		b.bytesused = (uint32_t)o->bytesused;
		if ((r = xioctl(o->fd, VIDIOC_QBUF, &b)) < 0)
			return r;
	}
	if ((r = xioctl(o->fd, VIDIOC_STREAMON, &type)) < 0)
		snprintf(why, why_size, "STREAMON on %s", dev);
	return r;
}

/* Connect the HDMI input to the output, no OSD text over the looped video. */
static int hdmi_connect(const char *cap, char *why, size_t why_size)
{
	struct v4l2_dv_timings t;
	char items[VM_PATH_MAX];
	int fd, r;

	dv_720p60(&t);
	fd = open(cap, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = ctrl_set(fd, "HDMI 001-0 Is Connected To", "HDMI 001-0", 0, items, sizeof(items));
	if (r < 0) {
		snprintf(why, why_size, "control \"HDMI 001-0 Is Connected To\" on %.100s (items: %.400s)",
			 cap, items);
		goto out;
	}
	r = ctrl_set(fd, "OSD Text Mode", "None", 0, items, sizeof(items));
	if (r < 0) {
		snprintf(why, why_size, "control \"OSD Text Mode\" on %.100s (items: %.400s)", cap,
			 items);
		goto out;
	}
	r = xioctl(fd, VIDIOC_S_DV_TIMINGS, &t);
	if (r < 0)
		snprintf(why, why_size, "S_DV_TIMINGS 720p60 on %s", cap);
out:
	close(fd);
	return r;
}

/* Compare the decoded photo with the image patch by patch. */
static void hdmi_compare(const char *name, const struct camera_photo *p, const char *dev,
			 unsigned requeued)
{
	uint8_t *rgb = NULL;
	double worst_mean = 0;
	int worst_px = 0;

	if (p->width != HDMI_W || p->height != HDMI_H) {
		report(false, name, "photo is %ux%u, want %dx%d", p->width, p->height, HDMI_W,
		       HDMI_H);
		return;
	}
	if (decode_photo(name, p, &rgb) < 0)
		return;
	for (int k = 0; k < 16; k++) {
		int pw = HDMI_W / 4, ph = HDMI_H / 4, x0 = (k % 4) * pw, y0 = (k / 4) * ph;
		const uint8_t *want = hdmi_patches[k];
		const uint8_t *mid = rgb + ((size_t)(y0 + ph / 2) * HDMI_W + (size_t)(x0 + pw / 2)) * 3;
		long sum = 0, n = 0;

		for (int c = 0; c < 3; c++) {
			int d = abs((int)mid[c] - (int)want[c]);

			if (d > worst_px)
				worst_px = d;
		}
		for (int y = y0 + ph / 4; y < y0 + 3 * ph / 4; y++)
			for (int x = x0 + pw / 4; x < x0 + 3 * pw / 4; x++)
				for (int c = 0; c < 3; c++, n++)
					sum += abs((int)rgb[((size_t)y * HDMI_W + (size_t)x) * 3 + c] -
						   (int)want[c]);
		if ((double)sum / (double)n > worst_mean)
			worst_mean = (double)sum / (double)n;
		if (worst_px > HDMI_TOLERANCE || worst_mean > HDMI_MEAN_TOLERANCE) {
			report(false, name, "patch %d is %u,%u,%u at its centre (want %u,%u,%u), "
			       "mean error %.1f: not the injected image", k, mid[0], mid[1], mid[2],
			       want[0], want[1], want[2], (double)sum / (double)n);
			free(rgb);
			return;
		}
	}
	report(true, name, "16-patch image written to %s came back through %s: %ux%u JPEG, %zu "
	       "bytes, worst patch centre off by %d (<= %d), worst patch mean %.1f (<= %d); "
	       "%u output buffers requeued", VIVID_HDMI_OUT, dev, p->width, p->height, p->len,
	       worst_px, HDMI_TOLERANCE, worst_mean, HDMI_MEAN_TOLERANCE, requeued);
	free(rgb);
}

static void check_hdmi_inject(void)
{
	static const char name[] = "camera.hdmi-inject";
	struct camera_cfg cfg = {.backend = "v4l2", .format = CAMERA_FMT_YUYV, .width = HDMI_W,
				 .height = HDMI_H, .jpeg_quality = 90, .warmup_frames = 3,
				 .timeout_ms = VM_STEP_TIMEOUT_MS};
	struct hdmi_out o = {.fd = -1};
	struct feeder feed = {.events = EPOLLOUT, .feed = hdmi_feed, .arg = &o};
	char cap[VM_PATH_MAX], out[VM_PATH_MAX], why[VM_PATH_MAX * 2] = "";
	struct camera_photo p;
	struct camera *c = NULL;
	int r;

	if ((r = find_video(VIVID_HDMI_CAP, cap, sizeof(cap))) < 0 ||
	    (r = find_video(VIVID_HDMI_OUT, out, sizeof(out))) < 0) {
		report(false, name, "no %s / %s node: %s", VIVID_HDMI_CAP, VIVID_HDMI_OUT,
		       strerror(-r));
		return;
	}
	r = hdmi_connect(cap, why, sizeof(why));
	if (r < 0) {
		report(false, name, "%s: %s", why, strerror(-r));
		return;
	}
	r = hdmi_out_start(&o, out, why, sizeof(why));
	if (r < 0) {
		report(false, name, "output: %s: %s", why, strerror(-r));
		goto out;
	}
	feed.fd = o.fd;
	snprintf(cfg.device, sizeof(cfg.device), "%.200s", cap);
	r = camera_open(&cfg, &c);
	if (r < 0) {
		report(false, name, "camera_open(v4l2, %s, yuyv %dx%d): %s", cap, HDMI_W, HDMI_H,
		       strerror(-r));
		goto out;
	}
	r = take_photo(c, &feed, 2 * VM_STEP_TIMEOUT_MS, &p);
	if (r < 0)
		report(false, name, "no photo from %s: %s", cap, strerror(-r));
	else
		hdmi_compare(name, &p, cap, o.requeued);
out:
	camera_close(c);
	hdmi_out_close(&o);
}

/* ---- camera: unplugged mid-stream, then back ---- */

/* Press vivid's Disconnect button through a second handle, which is returned: the device
 * stays gone until every handle (this one too) is closed. */
static int vivid_disconnect(const char *dev)
{
	int fd, r;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = ctrl_set(fd, "Disconnect", NULL, 0, NULL, 0);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static void check_unplug(void)
{
	struct camera_cfg cfg = {.backend = "v4l2", .format = CAMERA_FMT_YUYV, .width = 640,
				 .height = 360, .jpeg_quality = 85, .warmup_frames = 2,
				 .timeout_ms = 3000};
	struct camera_photo p;
	struct camera *c = NULL;
	char dev[VM_PATH_MAX];
	int r, ctl = -1, frames = 0;
	uint64_t t0;

	r = find_video(VIVID_UNPLUG, dev, sizeof(dev));
	if (r < 0) {
		report(false, "camera.unplug", "no %s node: %s", VIVID_UNPLUG, strerror(-r));
		return;
	}
	snprintf(cfg.device, sizeof(cfg.device), "%.200s", dev);
	r = camera_open(&cfg, &c);
	if (r == 0)
		r = take_photo(c, NULL, 2 * VM_STEP_TIMEOUT_MS, &p);
	if (r < 0) {
		report(false, "camera.unplug", "no photo from %s before the unplug: %s", dev,
		       strerror(-r));
		goto out;
	}
	/* Mid-stream: a capture is pending and its first (warm-up) frame is in. */
	r = camera_capture(c);
	if (r == 0) {
		r = wait_readable(camera_get_fd(c), VM_STEP_TIMEOUT_MS);
		r = r > 0 ? camera_on_readable(c, &p) : r == 0 ? -ETIMEDOUT : r;
		frames = r == -EAGAIN;
	}
	if (r != -EAGAIN) {
		report(false, "camera.unplug", "capture on %s: want a warm-up frame first, got %s",
		       dev, r == 0 ? "the photo" : strerror(-r));
		goto out;
	}
	ctl = vivid_disconnect(dev);
	if (ctl < 0) {
		report(false, "camera.unplug", "vivid Disconnect control on %s: %s", dev,
		       strerror(-ctl));
		goto out;
	}
	t0 = now_ms();
	r = -EAGAIN;
	while (r == -EAGAIN) {
		int w = wait_readable(camera_get_fd(c), VM_STEP_TIMEOUT_MS);

		if (w <= 0) {
			r = w ? w : -ETIMEDOUT;
			break;
		}
		r = camera_on_readable(c, &p);
		frames += r == -EAGAIN;
	}
	report(r == -ENODEV, "camera.unplug",
	       "%s unplugged mid-capture (after %d frame): camera_on_readable -> %s (%s) in "
	       "%llu ms", dev, frames, r == -ENODEV ? "-ENODEV" : r == 0 ? "a photo" : "error",
	       r ? strerror(-r) : "want No such device", (unsigned long long)(now_ms() - t0));
	if (r != -ENODEV)
		goto out;
	/* Still gone: the next capture says so at once. */
	r = camera_capture(c);
	report(r == -ENODEV, "camera.unplug-absent",
	       "camera_capture while %s is gone -> %s (%s)", dev, r == -ENODEV ? "-ENODEV" :
	       r == 0 ? "0" : "error", r ? strerror(-r) : "want No such device");
	/* Back: vivid reconnects when its last handle closes. */
	close(ctl);
	ctl = -1;
	t0 = now_ms();
	r = take_photo(c, NULL, 2 * VM_STEP_TIMEOUT_MS, &p);
	if (r < 0) {
		report(false, "camera.replug", "no photo from %s after it came back: %s", dev,
		       strerror(-r));
	} else if (!is_jpeg(&p) || p.passthrough) {
		report(false, "camera.replug", "not an encoded JPEG (%zu bytes)", p.len);
	} else if (check_photo_content("camera.replug", &p, true)) {
		report(true, "camera.replug", "%s back: the same camera handle took a %ux%u photo "
		       "(colour bars checked) in %llu ms, no reopen by the caller", dev, p.width,
		       p.height, (unsigned long long)(now_ms() - t0));
	}
out:
	if (ctl >= 0)
		close(ctl);
	camera_close(c);
}

static int run_camera(void)
{
	char dev[VM_PATH_MAX];
	int r;

	r = find_vivid(dev, sizeof(dev));
	if (r < 0) {
		report(false, "camera.vivid", "no %s node: %s", VIVID_WEBCAM, strerror(-r));
	} else {
		check_camera_size(dev, 1280, 720);
		check_camera_size(dev, 1920, 1080);
	}
	check_mjpeg();
	check_warmup();
	check_hdmi_inject();
	check_unplug();
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

/*
 * The scale responders on ttyGS0 (the scale's side of the cable): in motion for a few polls,
 * then stable. MT-SICS: "SI" -> "S D ..." then "S S 1234.5 g", "I2" -> the model, "Z" -> "Z A".
 * SCP-01 (NCI): "W<CR>" -> LF weight CR LF status CR ETX, status "10" (motion) then "00"
 * (stable) at 2.50 lb, "Z<CR>" -> status "20" (at zero); anything else "?".
 */
struct responder {
	int fd;
	bool scp01;	/* SCP-01 frames end at CR; MT-SICS lines at LF */
	char line[VM_LINE_MAX];
	size_t len;
	unsigned polls;
	unsigned idents;
	unsigned zeros;
};

#define VM_MOTION_POLLS 3

static void mtsics_answer(struct responder *m, const char *cmd, char *out, size_t size)
{
	if (!strcmp(cmd, "SI")) {
		if (m->polls++ < VM_MOTION_POLLS)
			snprintf(out, size, "S D %10.1f g\r\n", 1000.0 + 50.0 * m->polls);
		else
			snprintf(out, size, "S S %10s g\r\n", "1234.5");
	} else if (!strcmp(cmd, "I2")) {
		m->idents++;
		snprintf(out, size, "I2 A \"XS204 Excellence 220 g\"\r\n");
	} else if (!strcmp(cmd, "Z")) {
		m->zeros++;
		snprintf(out, size, "Z A\r\n");
	} else {
		snprintf(out, size, "ES\r\n");
	}
}

static void scp01_answer(struct responder *m, const char *cmd, char *out, size_t size)
{
	if (!strcmp(cmd, "W")) {
		if (m->polls++ < VM_MOTION_POLLS)
			snprintf(out, size, "\n%6.2flb\r\n10\r\x03", 1.5 + 0.25 * m->polls);
		else
			snprintf(out, size, "\n%6.2flb\r\n00\r\x03", 2.5);
	} else if (!strcmp(cmd, "Z")) {
		m->zeros++;
		snprintf(out, size, "\n20\r\x03");
	} else {
		snprintf(out, size, "\n?\r\x03");
	}
}

static void responder_on_readable(struct responder *m)
{
	char buf[VM_LINE_MAX], out[VM_LINE_MAX];
	char end = m->scp01 ? '\r' : '\n';
	ssize_t n;

	while ((n = read(m->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != end) {
				if (buf[i] != '\n' && buf[i] != '\r' && m->len < sizeof(m->line) - 1)
					m->line[m->len++] = buf[i];
				continue;
			}
			m->line[m->len] = '\0';
			if (m->scp01)
				scp01_answer(m, m->line, out, sizeof(out));
			else
				mtsics_answer(m, m->line, out, sizeof(out));
			m->len = 0;
			if (write(m->fd, out, strlen(out)) < 0)
				perror("vm-check: ttyGS0 write");
		}
	}
}

/*
 * One serial scale backend against its responder on ttyGS0: readings in motion, then the
 * stable @p want_g grams. @p t0 is when the gadget was created (for the report).
 */
static void check_serial_proto(const char *name, const char *backend, bool scp01, int want_g,
			       const char *what, uint64_t t0)
{
	struct scale_cfg cfg = {.device = "/dev/ttyACM0", .poll_ms = 100, .stable_ms = 300};
	struct responder m = {.fd = -1, .scp01 = scp01};
	struct scale *s = NULL;
	struct scale_reading rd = {0};
	struct epoll_event ev[2];
	int ep = -1, r, in_motion = 0, stable = 0;
	uint64_t deadline;

	snprintf(cfg.backend, sizeof(cfg.backend), "%s", backend);
	m.fd = tty_raw("/dev/ttyGS0");
	if (m.fd < 0) {
		report(false, name, "open ttyGS0: %s", strerror(-m.fd));
		return;
	}
	tcflush(m.fd, TCIOFLUSH);
	r = scale_open(&cfg, &s);
	if (r < 0) {
		report(false, name, "scale_open(%s, ttyACM0): %s", backend, strerror(-r));
		goto out;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev[0] = (struct epoll_event){.events = EPOLLIN, .data.u32 = 0};
	ev[1] = (struct epoll_event){.events = EPOLLIN, .data.u32 = 1};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, m.fd, &ev[0]) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, scale_get_fd(s), &ev[1]) < 0) {
		report(false, name, "epoll: %s", strerror(errno));
		goto out;
	}
	deadline = now_ms() + 3 * VM_STEP_TIMEOUT_MS;
	while (!stable && now_ms() < deadline) {
		int n = epoll_wait(ep, ev, 2, (int)(deadline - now_ms()));

		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == 0) {
				responder_on_readable(&m);
				continue;
			}
			while ((r = scale_on_readable(s, &rd)) != -EAGAIN) {
				if (r < 0) {
					report(false, name, "scale_on_readable: %s", strerror(-r));
					goto out;
				}
				if (!rd.stable)
					in_motion++;
				else if (rd.grams == want_g && rd.status == SCALE_OK)
					stable = 1;
				else
					stable = -1;
			}
		}
	}
	if (stable != 1)
		report(false, name, "%s (%d readings in motion, last %d g, %u polls answered)",
		       stable ? "wrong stable reading" : "no stable reading", in_motion, rd.grams,
		       m.polls);
	else if (!scp01)
		report(in_motion >= 1 && m.idents >= 1, name,
		       "%d in-motion readings, then stable %d g (%s), I2 asked %u times, model "
		       "\"%s\", %llu ms", in_motion, want_g, what, m.idents, scale_get_model(s),
		       (unsigned long long)(now_ms() - t0));
	else
		report(in_motion >= 1, name,
		       "%d in-motion readings (status 10), then stable %d g (%s), %u polls, model "
		       "\"%s\", %llu ms", in_motion, want_g, what, m.polls, scale_get_model(s),
		       (unsigned long long)(now_ms() - t0));
out:
	if (ep >= 0)
		close(ep);
	scale_close(s);
	if (m.fd >= 0)
		close(m.fd);
}

static int run_serial_scale(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	int nl, r;
	uint64_t t0;

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
	check_serial_proto("scale.serial.mtsics", "serial-mtsics", false, 1235,
			   "1234.5 g rounded", t0);
	check_serial_proto("scale.serial.scp01", "serial-scp01", true, 1134,
			   "2.50 lb = 1133.98 g rounded", now_ms());
out:
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
 *   lights          -> "ok lights red=0|1 amber=… green=… buzzer=…" (gpio-sim line values)
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
		if (!strcmp(line, "lights")) {
			char v[4][8] = {""};

			r = 0;
			for (int i = GL_RED; i <= GL_BUZZER && r >= 0; i++)
				r = gsim_read(&g, i, "value", v[i], sizeof(v[i]));
			if (r >= 0) {
				printf("ok lights red=%s amber=%s green=%s buzzer=%s\n", v[GL_RED],
				       v[GL_AMBER], v[GL_GREEN], v[GL_BUZZER]);
				fflush(stdout);
				continue;
			}
		} else if (!arg) {
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
