/* SPDX-License-Identifier: MIT */
/*
 * tools/sealbench-devices.c - list what is attached that a station can drive, with a
 * board-file snippet for each.
 *
 *   sealbench-devices [--json] [--root DIR]
 *
 * Looks at, without opening anything it does not need and without claiming any device:
 *   - HID scales: hidraw nodes whose report descriptor (sysfs) declares an application
 *     collection on usage page 0x8D (Scale, HID POS). No libusb needed to list them;
 *   - cameras: V4L2 nodes that can capture with streaming I/O, with their pixel formats
 *     and frame sizes (the node is opened for VIDIOC_QUERYCAP / ENUM_FMT / ENUM_FRAMESIZES);
 *   - scanners and badge readers that type: evdev devices whose key bitmap (sysfs) holds
 *     letters, digits and Enter, sorted by name into scanner / badge reader / keyboard;
 *   - GPIO chips (libgpiod), with their label and line count;
 *   - serial ports under /dev/serial/by-id (scales, scanners on RS-232 or USB-serial).
 *
 * --root DIR reads sysfs and /dev below DIR instead of /, so the tool can be tested on a
 * machine without any of these devices; the snippets still print the paths as seen from /.
 * Exit status: 0 (also when nothing is found), 1 on usage errors.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#ifdef WITH_LIBGPIOD2
#include <gpiod.h>
#endif

#include "hal/v4l2.h"
#include "tools/common.h"

/** Largest HID report descriptor (the HID spec's HID_MAX_DESCRIPTOR_SIZE). */
#define HID_DESC_MAX 4096
/** HID usage page of scales (HID Point of Sale usage tables). */
#define HID_PAGE_SCALE 0x8D
/** Longest sysfs text attribute we read (names, uevent). */
#define ATTR_MAX 4096
/** Longest snippet text. */
#define SNIPPET_MAX 1024
/** Frame sizes listed per pixel format. */
#define SIZES_MAX 64
/** Largest photo width the snippet proposes: evidence photos need no 4K (MQTT chunks). */
#define SNIPPET_WIDTH_MAX 1920
/** Warm-up frames proposed for a UVC camera's auto exposure after STREAMON. */
#define SNIPPET_WARMUP 5

static const char *root = "";

/* ---- small helpers ---------------------------------------------------------------------- */

/* "@root/@fmt..." into @p buf. @return false when it does not fit. */
static bool __attribute__((format(printf, 3, 4))) rpath(char *buf, size_t size, const char *fmt,
							 ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, size, "%s", root);
	if (n < 0 || (size_t)n >= size)
		return false;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, size - (size_t)n, fmt, ap);
	va_end(ap);
	return m >= 0 && (size_t)m < size - (size_t)n;
}

/* Read a whole small file. @return bytes read, or -errno. */
static ssize_t read_small(const char *path, void *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < size) {
		n = read(fd, (char *)buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

/* A sysfs text attribute, without its trailing newline. @return false when unreadable. */
static bool read_attr(const char *path, char *buf, size_t size)
{
	ssize_t n = read_small(path, buf, size - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return true;
}

/* The value of KEY= in a uevent file's text, copied to @p out ("" when absent). */
static void uevent_get(const char *uevent, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *p = uevent;

	out[0] = '\0';
	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, "\n");

			snprintf(out, size, "%.*s", (int)n, p + klen + 1);
			return;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in a directory that start with @p prefix, sorted the way people count
 * (video2 before video10). @return the count (the caller frees each name and the array with
 * free_names()), 0 when the directory is missing.
 */
static size_t list_dir(const char *dir, const char *prefix, char ***ret)
{
	char **names = NULL, **grown;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dp;

	*ret = NULL;
	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.' || strncmp(d->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown)
				die("out of memory");
			names = grown;
		}
		names[n] = strdup(d->d_name);
		if (!names[n])
			die("out of memory");
		n++;
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	*ret = names;
	return n;
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * The stable link in @p by_id_dir (below the root) that points at the node named @p node
 * ("video0", "event3"), as a path seen from / ("/dev/v4l/by-id/usb-..."); "" when none.
 * With @p suffix, only links ending in it count ("-event-kbd").
 */
static void find_link(const char *by_id_dir, const char *node, const char *suffix, char *out,
		      size_t size)
{
	char dir[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	char **names;
	size_t n, i, sl = suffix ? strlen(suffix) : 0;
	const char *base;
	ssize_t len;

	out[0] = '\0';
	if (!rpath(dir, sizeof(dir), "%s", by_id_dir))
		return;
	n = list_dir(dir, "", &names);
	for (i = 0; i < n && !out[0]; i++) {
		size_t nl = strlen(names[i]);

		if (sl && (nl < sl || strcmp(names[i] + nl - sl, suffix) != 0))
			continue;
		if ((size_t)snprintf(link, sizeof(link), "%s/%s", dir, names[i]) >= sizeof(link))
			continue;
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		base = strrchr(target, '/');
		base = base ? base + 1 : target;
		if (!strcmp(base, node))
			snprintf(out, size, "%s/%s", by_id_dir, names[i]);
	}
	free_names(names, n);
}

static cJSON *add_item(cJSON *arr)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(arr, o))
		die("out of memory");
	return o;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (!cJSON_AddStringToObject(o, k, v))
		die("out of memory");
}

static void add_num(cJSON *o, const char *k, double v)
{
	if (!cJSON_AddNumberToObject(o, k, v))
		die("out of memory");
}

/* Append printf output to a snippet buffer (silently cut at its end). */
static void __attribute__((format(printf, 3, 4))) snip(char *buf, size_t size, const char *fmt,
						       ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n >= size - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/* ---- HID scales --------------------------------------------------------------------------- */

/*
 * Walk a HID report descriptor (HID 1.11, 6.2.2) and say whether an application collection
 * has a usage on the Scale page. Short items: a prefix byte (size in bits 0-1, 3 meaning 4
 * bytes; type in bits 2-3: main, global, local; tag in bits 4-7) and 0..4 data bytes, little
 * endian. Long items (prefix 0xFE) carry their size in the next byte and are skipped. A
 * usage is 16 bits on the current usage page, or 32 bits with its own page in the high half.
 */
static bool hid_is_scale(const uint8_t *d, size_t len)
{
	uint32_t page = 0, usage_page = 0;
	bool have_usage = false;
	size_t pos = 0;

	while (pos < len) {
		uint8_t prefix = d[pos++];
		unsigned size, type, tag, i;
		uint32_t v = 0;

		if (prefix == 0xFE) { /* long item: bDataSize, bLongItemTag, data */
			if (len - pos < 2)
				return false;
			pos += 2 + d[pos];
			continue;
		}
		size = prefix & 3;
		if (size == 3)
			size = 4;
		type = (prefix >> 2) & 3;
		tag = prefix >> 4;
		if (len - pos < size)
			return false;
		for (i = 0; i < size; i++)
			v |= (uint32_t)d[pos + i] << (8 * i);
		pos += size;
		if (type == 1 && tag == 0) { /* global: Usage Page */
			page = v;
		} else if (type == 2 && tag == 0) { /* local: Usage */
			usage_page = size == 4 ? v >> 16 : page;
			have_usage = true;
		} else if (type == 0 && tag == 0xA) { /* main: Collection */
			if (v == 1 && have_usage && usage_page == HID_PAGE_SCALE)
				return true;
			have_usage = false; /* locals end with each main item */
		} else if (type == 0) {
			have_usage = false;
		}
	}
	return false;
}

static void scan_scales(cJSON *arr)
{
	char dir[PATH_MAX], path[PATH_MAX], uevent[ATTR_MAX];
	char name[256], id[64], snippet[SNIPPET_MAX];
	static uint8_t desc[HID_DESC_MAX];
	unsigned bus = 0, vid = 0, pid = 0;
	char **names;
	size_t n, i;
	ssize_t len;
	cJSON *o;

	if (!rpath(dir, sizeof(dir), "/sys/class/hidraw"))
		return;
	n = list_dir(dir, "hidraw", &names);
	for (i = 0; i < n; i++) {
		if (!rpath(path, sizeof(path), "/sys/class/hidraw/%s/device/report_descriptor",
			   names[i]))
			continue;
		len = read_small(path, desc, sizeof(desc));
		if (len <= 0 || !hid_is_scale(desc, (size_t)len))
			continue;
		uevent[0] = '\0';
		if (rpath(path, sizeof(path), "/sys/class/hidraw/%s/device/uevent", names[i]))
			read_attr(path, uevent, sizeof(uevent));
		uevent_get(uevent, "HID_NAME", name, sizeof(name));
		uevent_get(uevent, "HID_ID", id, sizeof(id));
		bus = vid = pid = 0;
		if (sscanf(id, "%x:%x:%x", &bus, &vid, &pid) != 3)
			bus = vid = pid = 0;

		o = add_item(arr);
		add_str(o, "node", names[i]);
		snprintf(path, sizeof(path), "/dev/%s", names[i]);
		add_str(o, "path", path);
		add_str(o, "name", name[0] ? name : "(unnamed)");
		snprintf(id, sizeof(id), "%04x:%04x", vid & 0xffff, pid & 0xffff);
		add_str(o, "usb_id", id);
		add_str(o, "bus", bus == 3 ? "usb" : bus == 5 ? "bluetooth" : "other");
		snprintf(id, sizeof(id), "HID usage page 0x%02X (Scale)", HID_PAGE_SCALE);
		add_str(o, "summary", id);

		snippet[0] = '\0';
		snip(snippet, sizeof(snippet), "# %s, USB %04x:%04x (%s)\n",
		     name[0] ? name : "HID scale", vid & 0xffff, pid & 0xffff, path);
		snip(snippet, sizeof(snippet), "scale.backend = usbhid\n");
		snip(snippet, sizeof(snippet), "scale.device = %s\n", path);
		snip(snippet, sizeof(snippet), "scale.usb_vid = %u\n", vid & 0xffff);
		snip(snippet, sizeof(snippet), "scale.usb_pid = %u\n", pid & 0xffff);
		add_str(o, "snippet", snippet);
	}
	free_names(names, n);
}

/* ---- cameras ------------------------------------------------------------------------------ */

static const char *our_format(uint32_t fourcc)
{
	switch (fourcc) {
	case HAL_V4L2_PIX_MJPEG:
	case HAL_V4L2_PIX_JPEG:
		return "mjpeg";
	case HAL_V4L2_PIX_YUYV:
		return "yuyv";
	case HAL_V4L2_PIX_NV12:
		return "nv12";
	default:
		return NULL;
	}
}

/* Rank for the snippet: MJPEG passes through (no encoding, full size at 30 fps on USB 2). */
static int format_rank(uint32_t fourcc)
{
	const char *f = our_format(fourcc);

	if (!f)
		return 0;
	return !strcmp(f, "mjpeg") ? 3 : !strcmp(f, "yuyv") ? 2 : 1;
}

struct cam_choice {
	int rank;
	uint32_t fourcc;
	unsigned w, h;
};

/* The formats and sizes of one open node into @p o; the best snippet choice into @p best. */
static void camera_formats(struct hal_v4l2 *v, cJSON *o, struct cam_choice *best)
{
	struct hal_v4l2_fmtdesc fd;
	struct hal_v4l2_frmsize fs;
	char cc[HAL_V4L2_FOURCC_TEXT], text[64];
	cJSON *fmts, *f, *sizes;
	unsigned i, j;

	fmts = cJSON_AddArrayToObject(o, "formats");
	if (!fmts)
		die("out of memory");
	for (i = 0; hal_v4l2_enum_format(v, i, &fd) == 0; i++) {
		f = add_item(fmts);
		add_str(f, "fourcc", hal_v4l2_fourcc_str(fd.fourcc, cc));
		add_str(f, "description", fd.description);
		if (our_format(fd.fourcc))
			add_str(f, "format", our_format(fd.fourcc));
		if (!cJSON_AddBoolToObject(f, "supported", our_format(fd.fourcc) != NULL) ||
		    !cJSON_AddBoolToObject(f, "emulated", fd.emulated))
			die("out of memory");
		sizes = cJSON_AddArrayToObject(f, "sizes");
		if (!sizes)
			die("out of memory");
		for (j = 0; j < SIZES_MAX && hal_v4l2_enum_size(v, fd.fourcc, j, &fs) == 0; j++) {
			unsigned w, h;

			if (fs.discrete)
				snprintf(text, sizeof(text), "%ux%u", fs.min_width, fs.min_height);
			else
				snprintf(text, sizeof(text), "%ux%u..%ux%u", fs.min_width,
					 fs.min_height, fs.max_width, fs.max_height);
			if (!cJSON_AddItemToArray(sizes, cJSON_CreateString(text)))
				die("out of memory");
			/* Largest size up to SNIPPET_WIDTH_MAX wide, best format first. */
			w = fs.max_width;
			h = fs.max_height;
			if (!fs.discrete && w > SNIPPET_WIDTH_MAX) {
				w = SNIPPET_WIDTH_MAX;
				h = SNIPPET_WIDTH_MAX * 9 / 16;
			}
			if (w > SNIPPET_WIDTH_MAX || fd.emulated || !our_format(fd.fourcc))
				continue;
			if (format_rank(fd.fourcc) > best->rank ||
			    (format_rank(fd.fourcc) == best->rank &&
			     (uint64_t)w * h > (uint64_t)best->w * best->h)) {
				best->rank = format_rank(fd.fourcc);
				best->fourcc = fd.fourcc;
				best->w = w;
				best->h = h;
			}
		}
	}
}

static void scan_cameras(cJSON *arr)
{
	char dir[PATH_MAX], path[PATH_MAX], name[256], link[PATH_MAX], snippet[SNIPPET_MAX];
	const struct hal_v4l2_info *info;
	struct cam_choice best;
	struct hal_v4l2 *v;
	char **names;
	size_t n, i;
	cJSON *o;
	int r;

	if (!rpath(dir, sizeof(dir), "/sys/class/video4linux"))
		return;
	n = list_dir(dir, "video", &names);
	for (i = 0; i < n; i++) {
		name[0] = '\0';
		if (rpath(path, sizeof(path), "/sys/class/video4linux/%s/name", names[i]))
			read_attr(path, name, sizeof(name));
		if (!rpath(path, sizeof(path), "/dev/%s", names[i]))
			continue;
		r = hal_v4l2_open(path, &v);
		if (r == -EOPNOTSUPP)
			continue; /* metadata or output node: nothing to capture from */
		o = add_item(arr);
		add_str(o, "node", names[i]);
		snprintf(path, sizeof(path), "/dev/%s", names[i]);
		add_str(o, "path", path);
		find_link("/dev/v4l/by-id", names[i], NULL, link, sizeof(link));
		if (link[0])
			add_str(o, "by_id", link);
		if (r < 0) {
			add_str(o, "name", name[0] ? name : "(unnamed)");
			snprintf(snippet, sizeof(snippet), "cannot query: %s", strerror(-r));
			add_str(o, "error", snippet);
			add_str(o, "summary", snippet);
			continue;
		}
		info = hal_v4l2_get_info(v);
		add_str(o, "name", info->card[0] ? info->card : name);
		add_str(o, "driver", info->driver);
		add_str(o, "bus_info", info->bus_info);
		snprintf(snippet, sizeof(snippet), "driver %s, %s", info->driver, info->bus_info);
		add_str(o, "summary", snippet);
		memset(&best, 0, sizeof(best));
		camera_formats(v, o, &best);
		hal_v4l2_close(v);

		snippet[0] = '\0';
		snip(snippet, sizeof(snippet), "# %s\n", info->card[0] ? info->card : name);
		snip(snippet, sizeof(snippet), "camera.backend = v4l2\n");
		snip(snippet, sizeof(snippet), "camera.device = %s\n", link[0] ? link : path);
		if (best.rank) {
			snip(snippet, sizeof(snippet), "camera.format = %s\n",
			     our_format(best.fourcc));
			snip(snippet, sizeof(snippet), "camera.width = %u\n", best.w);
			snip(snippet, sizeof(snippet), "camera.height = %u\n", best.h);
		} else {
			snip(snippet, sizeof(snippet),
			     "# no format sealbench reads (mjpeg, yuyv, nv12) at a usable size\n");
		}
		snip(snippet, sizeof(snippet), "camera.warmup = %u\n", SNIPPET_WARMUP);
		add_str(o, "snippet", snippet);
	}
	free_names(names, n);
}

/* ---- scanners and badge readers ----------------------------------------------------------- */

/* Keys a device must have to type a barcode: digits 1..0 (2..11), Enter (28), letters. */
#define KEYS_DIGITS 0x00000FFCUL
#define KEYS_ENTER (1UL << 28)
#define KEYS_QWERTY 0x03FF0000UL /* KEY_Q..KEY_P (16..25) */
#define KEYS_ASDF 0x7FC0000000ULL /* KEY_A..KEY_L (30..38) */

/*
 * Whether the sysfs key bitmap ("capabilities/key": hex words, most significant first, one
 * unsigned long each, unpadded) holds the typing keys. All of them are below bit 39, so only
 * the last word matters on a 64-bit kernel, the last two on a 32-bit one (assumed when this
 * tool is built 32-bit).
 */
static bool keys_type_text(const char *bitmap)
{
	unsigned long long words[2] = {0, 0}, low;
	const char *p = bitmap;
	size_t count = 0;
	char *end;

	while (*p) {
		unsigned long long w;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		errno = 0;
		w = strtoull(p, &end, 16);
		if (end == p || errno)
			return false;
		words[0] = words[1];
		words[1] = w;
		count++;
		p = end;
	}
	if (!count)
		return false;
	low = words[1];
	if (sizeof(long) == 4 && count > 1)
		low |= words[0] << 32;
	return (low & KEYS_DIGITS) == KEYS_DIGITS && (low & KEYS_ENTER) &&
	       (low & KEYS_QWERTY) == KEYS_QWERTY && (low & KEYS_ASDF) == KEYS_ASDF;
}

static bool name_has(const char *name, const char *const *words)
{
	size_t i;

	for (i = 0; words[i]; i++) {
		if (strcasestr(name, words[i]))
			return true;
	}
	return false;
}

static const char *const scanner_words[] = {
	"barcode", "bar code", "scanner", "scan", "honeywell", "zebra", "symbol", "datalogic",
	"newland", "metrologic", "opticon", "hand held", "handheld", "netum", "inateck", "eyoyo",
	"tera", "cino", "code reader", "qr", NULL,
};
static const char *const badge_words[] = {
	"rfid", "card reader", "ic reader", "id reader", "sycreader", "125khz", "13.56",
	"nfc", "mifare", "em4100", "badge", NULL,
};

static void scan_inputs(cJSON *arr)
{
	char dir[PATH_MAX], path[PATH_MAX], name[256], caps[ATTR_MAX], link[PATH_MAX];
	char snippet[SNIPPET_MAX], uevent[ATTR_MAX], id[64];
	unsigned long ev;
	const char *kind, *cls;
	char **names;
	size_t n, i;
	cJSON *o;

	if (!rpath(dir, sizeof(dir), "/sys/class/input"))
		return;
	n = list_dir(dir, "event", &names);
	for (i = 0; i < n; i++) {
		if (!rpath(path, sizeof(path), "/sys/class/input/%s/device/capabilities/ev",
			   names[i]) ||
		    !read_attr(path, caps, sizeof(caps)))
			continue;
		ev = strtoul(caps, NULL, 16);
		if (!(ev & (1UL << 1))) /* EV_KEY */
			continue;
		if (!rpath(path, sizeof(path), "/sys/class/input/%s/device/capabilities/key",
			   names[i]) ||
		    !read_attr(path, caps, sizeof(caps)) || !keys_type_text(caps))
			continue;
		name[0] = '\0';
		if (rpath(path, sizeof(path), "/sys/class/input/%s/device/name", names[i]))
			read_attr(path, name, sizeof(name));
		uevent[0] = id[0] = '\0';
		if (rpath(path, sizeof(path), "/sys/class/input/%s/device/uevent", names[i]) &&
		    read_attr(path, uevent, sizeof(uevent)))
			uevent_get(uevent, "PRODUCT", id, sizeof(id)); /* bus/vendor/product/version */
		if (name_has(name, badge_words)) {
			kind = "badge";
			cls = "badge";
		} else if (name_has(name, scanner_words)) {
			kind = "scanner";
			cls = "scanner";
		} else {
			kind = "keyboard";
			cls = "scanner";
		}
		find_link("/dev/input/by-id", names[i], "-event-kbd", link, sizeof(link));
		snprintf(path, sizeof(path), "/dev/input/%s", names[i]);

		o = add_item(arr);
		add_str(o, "node", names[i]);
		add_str(o, "path", path);
		if (link[0])
			add_str(o, "by_id", link);
		add_str(o, "name", name[0] ? name : "(unnamed)");
		add_str(o, "kind", kind);
		if (id[0])
			add_str(o, "product", id);
		add_str(o, "summary",
			!strcmp(kind, "keyboard")
				? "types text; a scanner or badge reader if it is not your keyboard"
				: !strcmp(kind, "badge") ? "types text; looks like a badge reader"
							 : "types text; looks like a barcode scanner");

		snippet[0] = '\0';
		snip(snippet, sizeof(snippet), "# %s\n", name[0] ? name : names[i]);
		if (!link[0])
			snip(snippet, sizeof(snippet),
			     "# no /dev/input/by-id link: the event number may change on replug\n");
		snip(snippet, sizeof(snippet), "%s.backend = evdev\n", cls);
		snip(snippet, sizeof(snippet), "%s.device = %s\n", cls, link[0] ? link : path);
		add_str(o, "snippet", snippet);
	}
	free_names(names, n);
}

/* ---- GPIO chips --------------------------------------------------------------------------- */

static void gpio_snippet(cJSON *o, const char *label, const char *path, size_t lines)
{
	char snippet[SNIPPET_MAX] = "";

	snip(snippet, sizeof(snippet), "# %s (%s, %zu lines; gpioinfo lists line names)\n",
	     label, path, lines);
	snip(snippet, sizeof(snippet), "lights.backend = gpio\n");
	snip(snippet, sizeof(snippet), "lights.chip = %s\n", label[0] ? label : path);
	snip(snippet, sizeof(snippet), "lights.active_low = false\n");
	snip(snippet, sizeof(snippet), "# lights.red = <line>\n# lights.amber = <line>\n");
	snip(snippet, sizeof(snippet), "# lights.green = <line>\n# lights.buzzer = <line>\n");
	snip(snippet, sizeof(snippet), "trigger.backend = gpio\n");
	snip(snippet, sizeof(snippet), "trigger.chip = %s\n", label[0] ? label : path);
	snip(snippet, sizeof(snippet), "# trigger.line = <line>\n");
	snip(snippet, sizeof(snippet), "trigger.active_low = true\ntrigger.pull_up = true\n");
	snip(snippet, sizeof(snippet), "trigger.debounce_ms = 20\n");
	add_str(o, "snippet", snippet);
}

static void scan_gpio(cJSON *arr)
{
	char dir[PATH_MAX], path[PATH_MAX], shown[PATH_MAX];
	char **names;
	size_t n, i;

	if (!rpath(dir, sizeof(dir), "/dev"))
		return;
	n = list_dir(dir, "gpiochip", &names);
	for (i = 0; i < n; i++) {
		if (!rpath(path, sizeof(path), "/dev/%s", names[i]))
			continue;
		snprintf(shown, sizeof(shown), "/dev/%s", names[i]);
#ifdef WITH_LIBGPIOD2
		{
			struct gpiod_chip_info *info = NULL;
			struct gpiod_chip *chip;
			cJSON *o;

			if (!gpiod_is_gpiochip_device(path))
				continue;
			chip = gpiod_chip_open(path);
			if (chip)
				info = gpiod_chip_get_info(chip);
			o = add_item(arr);
			add_str(o, "node", names[i]);
			add_str(o, "path", shown);
			if (!info) {
				add_str(o, "error", strerror(errno));
				add_str(o, "summary", strerror(errno));
			} else {
				add_str(o, "label", gpiod_chip_info_get_label(info));
				add_num(o, "lines", (double)gpiod_chip_info_get_num_lines(info));
				snprintf(dir, sizeof(dir), "label %s, %zu lines",
					 gpiod_chip_info_get_label(info),
					 gpiod_chip_info_get_num_lines(info));
				add_str(o, "summary", dir);
				add_str(o, "name", gpiod_chip_info_get_label(info));
				gpio_snippet(o, gpiod_chip_info_get_label(info), shown,
					     gpiod_chip_info_get_num_lines(info));
				gpiod_chip_info_free(info);
			}
			if (chip)
				gpiod_chip_close(chip);
		}
#else
		(void)arr;
		(void)gpio_snippet;
		(void)add_num;
#endif
	}
	free_names(names, n);
}

/* ---- serial ports ------------------------------------------------------------------------- */

static void scan_serial(cJSON *arr)
{
	char dir[PATH_MAX], path[PATH_MAX], target[PATH_MAX], shown[PATH_MAX];
	char snippet[SNIPPET_MAX];
	const char *base;
	char **names;
	size_t n, i;
	ssize_t len;
	cJSON *o;

	if (!rpath(dir, sizeof(dir), "/dev/serial/by-id"))
		return;
	n = list_dir(dir, "", &names);
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path))
			continue;
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		base = strrchr(target, '/');
		base = base ? base + 1 : target;
		snprintf(shown, sizeof(shown), "/dev/serial/by-id/%s", names[i]);

		o = add_item(arr);
		add_str(o, "node", base);
		add_str(o, "path", shown);
		add_str(o, "name", names[i]);
		snippet[0] = '\0';
		snip(snippet, sizeof(snippet),
		     "-> /dev/%s; what is on it cannot be told without talking to it", base);
		add_str(o, "summary", snippet);
		snippet[0] = '\0';
		snip(snippet, sizeof(snippet), "# %s (/dev/%s): a scale or a scanner\n", names[i],
		     base);
		snip(snippet, sizeof(snippet),
		     "# scale.backend = serial-mtsics   (or serial-scp01)\n"
		     "# scale.device = %s\n# scale.serial = 9600 8N1\n",
		     shown);
		snip(snippet, sizeof(snippet), "# scanner.backend = serial\n# scanner.device = %s\n",
		     shown);
		add_str(o, "snippet", snippet);
	}
	free_names(names, n);
}

/* ---- output ------------------------------------------------------------------------------- */

static const struct section {
	const char *key;
	const char *title;
	const char *none; /* where we looked */
	void (*scan)(cJSON *arr);
} sections[] = {
	{"scales", "HID scales (usage page 0x8D)", "no hidraw device with a Scale collection",
	 scan_scales},
	{"cameras", "Cameras (V4L2 capture)", "no V4L2 capture node", scan_cameras},
	{"inputs", "Scanners and badge readers (evdev keyboards)",
	 "no input device that types letters, digits and Enter", scan_inputs},
	{"gpiochips", "GPIO chips", "no /dev/gpiochip*", scan_gpio},
	{"serial", "Serial ports", "nothing under /dev/serial/by-id", scan_serial},
};

#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

static void print_text(const cJSON *all)
{
	const cJSON *arr, *it, *f, *s;
	const char *p, *nl;
	size_t i;

	for (i = 0; i < N_SECTIONS; i++) {
		arr = cJSON_GetObjectItemCaseSensitive(all, sections[i].key);
		printf("%s:\n", sections[i].title);
		if (!cJSON_GetArraySize(arr)) {
			printf("  none found (%s)\n\n", sections[i].none);
			continue;
		}
		cJSON_ArrayForEach(it, arr)
		{
			const cJSON *by_id = cJSON_GetObjectItemCaseSensitive(it, "by_id");

			printf("  %s  %s\n",
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "path")),
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name")));
			if (by_id)
				printf("    %s\n", cJSON_GetStringValue(by_id));
			printf("    %s\n",
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "summary")));
			cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(it, "formats"))
			{
				printf("    %s (%s)%s:",
				       cJSON_GetStringValue(
					       cJSON_GetObjectItemCaseSensitive(f, "fourcc")),
				       cJSON_GetStringValue(
					       cJSON_GetObjectItemCaseSensitive(f, "description")),
				       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "supported"))
					       ? ""
					       : " [not supported]");
				cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(f, "sizes"))
					printf(" %s", cJSON_GetStringValue(s));
				printf("\n");
			}
			p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "snippet"));
			if (p && *p) {
				printf("    board.conf:\n");
				for (; *p; p = nl + 1) {
					nl = strchr(p, '\n');
					if (!nl) {
						printf("      %s\n", p);
						break;
					}
					printf("      %.*s\n", (int)(nl - p), p);
				}
			}
			printf("\n");
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--json] [--root DIR]\n"
		"List the scales, cameras, scanners, badge readers, GPIO chips and serial ports\n"
		"a station can drive, with a board.conf snippet for each.\n"
		"  -j, --json      one JSON object on stdout\n"
		"  -r, --root DIR  read sysfs and /dev below DIR (tests)\n"
		"  -h, --help      this text\n"
		"  -v, --version   the version\n",
		get_prog_name());
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},   {"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},   {"version", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	bool json = false;
	cJSON *all, *arr;
	struct stat st;
	char *text;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "jr:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'r':
			root = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			print_version();
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(root, "/"))
		root = "";
	if (root[0] && (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)))
		die("--root %s: not a directory", root);

	all = cJSON_CreateObject();
	if (!all)
		die("out of memory");
	for (i = 0; i < N_SECTIONS; i++) {
		arr = cJSON_AddArrayToObject(all, sections[i].key);
		if (!arr)
			die("out of memory");
		sections[i].scan(arr);
	}
	if (json) {
		text = cJSON_PrintUnformatted(all);
		if (!text)
			die("out of memory");
		printf("%s\n", text);
		cJSON_free(text);
	} else {
		print_text(all);
	}
	cJSON_Delete(all);
	return fflush(stdout) == 0 ? 0 : 1;
}
