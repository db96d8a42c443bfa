/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_devices.c - tools/sealbench-devices against a fake root (sysfs and /dev
 * under a mkdtemp() directory, given with --root): HID scales found by their report
 * descriptor (short, extended-usage and long items; non-scale and broken descriptors
 * ignored), typing input devices sorted into scanner / badge reader / keyboard with their
 * by-id links, a V4L2 node that cannot be queried, serial ports by id, GPIO chip files that
 * are not chips, "none found" on an empty root, text and JSON output.
 *
 * The tool is run as a child with its output on a pipe, waited for with poll() and a
 * deadline. It is found next to the tests directory in the build tree (or $SEALBENCH_DEVICES).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

/** How long the tool may run. */
#define TOOL_WAIT_MS 15000
/** Largest output we keep. */
#define OUT_MAX 65536

static char tmpdir[PATH_MAX];
static char tool[PATH_MAX];
static char out[OUT_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static bool find_tool(void)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (getenv("SEALBENCH_DEVICES")) {
		snprintf(tool, sizeof(tool), "%s", getenv("SEALBENCH_DEVICES"));
		return access(tool, X_OK) == 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0'; /* BUILD/tests */
	if ((size_t)snprintf(tool, sizeof(tool), "%s/../sealbench-devices", exe) >= sizeof(tool))
		return false;
	return access(tool, X_OK) == 0;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/sealbench-devices-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	signal(SIGPIPE, SIG_IGN);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* "tmpdir/rel" into a static buffer (one of four, for nested calls). */
static const char *__attribute__((format(printf, 1, 2))) tp(const char *fmt, ...)
{
	static char bufs[4][PATH_MAX];
	static unsigned i;
	char *b = bufs[i++ % 4];
	va_list ap;
	int n, m;

	n = snprintf(b, PATH_MAX, "%s/", tmpdir);
	assert_true(n > 0 && n < PATH_MAX);
	va_start(ap, fmt);
	m = vsnprintf(b + n, PATH_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	assert_true(m >= 0 && m < PATH_MAX - n);
	return b;
}

/* mkdir -p of the parent directories of @p path. */
static void mkparents(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + strlen(tmpdir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0700) < 0)
			assert_int_equal(errno, EEXIST);
		*p = '/';
	}
}

static void put_file(const char *path, const void *data, size_t len)
{
	int fd;

	mkparents(path);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_text(const char *path, const char *text)
{
	put_file(path, text, strlen(text));
}

static void put_link(const char *path, const char *target)
{
	mkparents(path);
	assert_int_equal(symlink(target, path), 0);
}

/* Run the tool with @p a1, @p a2 (may be NULL); output into `out`. @return the exit status. */
static int run_tool(const char *a1, const char *a2, const char *a3)
{
	const char *argv[] = {tool, a1, a2, a3, NULL};
	struct timespec ts;
	uint64_t deadline, now;
	size_t got = 0;
	int p[2], status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(tool, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + TOOL_WAIT_MS;
	for (;;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		if (now >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail_msg("sealbench-devices did not finish within %d ms", TOOL_WAIT_MS);
		}
		if (poll(&pf, 1, (int)(deadline - now)) <= 0)
			continue;
		n = read(p[0], out + got, sizeof(out) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		assert_true(got < sizeof(out) - 1);
	}
	out[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#define SKIP_WITHOUT_TOOL()                                                                     \
	do {                                                                                    \
		if (!find_tool()) {                                                             \
			fprintf(stderr, "SKIP: sealbench-devices not built next to the tests "  \
					"(or $SEALBENCH_DEVICES)\n");                           \
			skip();                                                                 \
		}                                                                               \
	} while (0)

/* ---- the fake machine ---- */

/* A USB HID POS scale (Dymo-like): Usage Page (Scale), Usage (Weighing Device),
 * Collection (Application), a report, End Collection. */
static const uint8_t desc_scale[] = {
	0x05, 0x8D, 0x09, 0x01, 0xA1, 0x01, 0x85, 0x03, 0x09, 0x30, 0x15, 0x00, 0x25, 0x0C,
	0x75, 0x08, 0x95, 0x01, 0x81, 0x02, 0xC0,
};
/* A keyboard: Generic Desktop, Usage (Keyboard), Collection (Application). */
static const uint8_t desc_keyboard[] = {
	0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x05, 0x07, 0x19, 0xE0, 0x29, 0xE7,
	0x15, 0x00, 0x25, 0x01, 0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0xC0,
};
/* A long item first, then the scale usage as a 32-bit extended usage (page in the high
 * half) on a vendor page. */
static const uint8_t desc_scale_extended[] = {
	0xFE, 0x02, 0x10, 0xAA, 0xBB, 0x06, 0x00, 0xFF, 0x0B, 0x01, 0x00, 0x8D,
	0x00, 0xA1, 0x01, 0xC0,
};
/* The scale page, but only on a physical collection: not an application. */
static const uint8_t desc_physical[] = {0x05, 0x8D, 0x09, 0x01, 0xA1, 0x00, 0xC0};
/* Truncated inside an item. */
static const uint8_t desc_broken[] = {0x05, 0x8D, 0x0B, 0x01};

/* The key bitmap of a full PC keyboard (64-bit words, as the kernel prints them). */
static const char *const kbd_keys = "1000000000007 ff9f207ac14057ff febeffdfffefffff "
				    "fffffffffffffffe";

static void make_input(const char *node, const char *name, const char *ev, const char *keys)
{
	put_text(tp("root/sys/class/input/%s/device/name", node), name);
	put_text(tp("root/sys/class/input/%s/device/capabilities/ev", node), ev);
	put_text(tp("root/sys/class/input/%s/device/capabilities/key", node), keys);
	put_text(tp("root/sys/class/input/%s/device/uevent", node),
		 "PRODUCT=3/c2e/b61/111\nNAME=\"x\"\n");
}

static void make_root(void)
{
	put_file(tp("root/sys/class/hidraw/hidraw0/device/report_descriptor"), desc_scale,
		 sizeof(desc_scale));
	put_text(tp("root/sys/class/hidraw/hidraw0/device/uevent"),
		 "DRIVER=hid-generic\nHID_ID=0003:00000922:00008003\nHID_NAME=DYMO M10\n"
		 "HID_PHYS=usb-0000:00:14.0-2/input0\n");
	put_file(tp("root/sys/class/hidraw/hidraw1/device/report_descriptor"), desc_keyboard,
		 sizeof(desc_keyboard));
	put_file(tp("root/sys/class/hidraw/hidraw2/device/report_descriptor"),
		 desc_scale_extended, sizeof(desc_scale_extended));
	put_file(tp("root/sys/class/hidraw/hidraw3/device/report_descriptor"), desc_physical,
		 sizeof(desc_physical));
	put_file(tp("root/sys/class/hidraw/hidraw10/device/report_descriptor"), desc_broken,
		 sizeof(desc_broken));

	make_input("event3", "Honeywell Imaging & Mobility 1900", "120013", kbd_keys);
	put_link(tp("root/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd"), "../event3");
	put_link(tp("root/dev/input/by-id/usb-Honeywell_Imaging_1900-if01-event-mouse"),
		 "../event3");
	make_input("event4", "Power Button", "3", "10000000000000 0");
	make_input("event12", "Sycreader RFID Technology SYC ID&IC USB Reader", "120013",
		   kbd_keys);
	make_input("event5", "AT Translated Set 2 keyboard", "120013", kbd_keys);
	/* A mouse: keys, but no letters. */
	make_input("event6", "Logitech USB Optical Mouse", "17", "1f0000 0 0 0 0");

	put_text(tp("root/sys/class/video4linux/video0/name"), "Fake Cam");
	put_text(tp("root/dev/video0"), "not a device");
	put_link(tp("root/dev/v4l/by-id/usb-Fake_Cam-video-index0"), "../../video0");

	put_link(tp("root/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0"),
		 "../../ttyUSB0");
	put_text(tp("root/dev/gpiochip0"), "not a chip");
}

/* ---- tests ---- */

static const cJSON *item(const cJSON *arr, size_t i)
{
	const cJSON *it = cJSON_GetArrayItem(arr, (int)i);

	assert_non_null(it);
	return it;
}

static const char *str(const cJSON *o, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

	if (!s)
		fail_msg("no string \"%s\" in %s", key, cJSON_PrintUnformatted(o));
	return s;
}

static void fake_root_json(void **state)
{
	const cJSON *arr, *it;
	cJSON *all;

	(void)state;
	SKIP_WITHOUT_TOOL();
	make_root();
	assert_int_equal(run_tool("--json", "--root", tp("root")), 0);
	all = cJSON_Parse(out);
	if (!all)
		fail_msg("not JSON: %s", out);

	arr = cJSON_GetObjectItemCaseSensitive(all, "scales");
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	it = item(arr, 0);
	assert_string_equal(str(it, "path"), "/dev/hidraw0");
	assert_string_equal(str(it, "name"), "DYMO M10");
	assert_string_equal(str(it, "usb_id"), "0922:8003");
	assert_string_equal(str(it, "bus"), "usb");
	assert_non_null(strstr(str(it, "snippet"), "scale.backend = usbhid\n"));
	assert_non_null(strstr(str(it, "snippet"), "scale.device = /dev/hidraw0\n"));
	assert_non_null(strstr(str(it, "snippet"), "scale.usb_vid = 2338\n"));
	assert_non_null(strstr(str(it, "snippet"), "scale.usb_pid = 32771\n"));
	assert_string_equal(str(item(arr, 1), "path"), "/dev/hidraw2");
	assert_string_equal(str(item(arr, 1), "usb_id"), "0000:0000");

	arr = cJSON_GetObjectItemCaseSensitive(all, "cameras");
	assert_int_equal(cJSON_GetArraySize(arr), 1);
	it = item(arr, 0);
	assert_string_equal(str(it, "path"), "/dev/video0");
	assert_string_equal(str(it, "by_id"), "/dev/v4l/by-id/usb-Fake_Cam-video-index0");
	assert_string_equal(str(it, "name"), "Fake Cam");
	assert_non_null(strstr(str(it, "error"), "cannot query: "));

	/* Sorted as people count: event3, event5, event12; the power button and the mouse
	 * do not type. */
	arr = cJSON_GetObjectItemCaseSensitive(all, "inputs");
	assert_int_equal(cJSON_GetArraySize(arr), 3);
	it = item(arr, 0);
	assert_string_equal(str(it, "path"), "/dev/input/event3");
	assert_string_equal(str(it, "kind"), "scanner");
	assert_string_equal(str(it, "by_id"),
			    "/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd");
	assert_non_null(strstr(str(it, "snippet"),
			       "scanner.backend = evdev\nscanner.device = "
			       "/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd\n"));
	it = item(arr, 1);
	assert_string_equal(str(it, "path"), "/dev/input/event5");
	assert_string_equal(str(it, "kind"), "keyboard");
	it = item(arr, 2);
	assert_string_equal(str(it, "path"), "/dev/input/event12");
	assert_string_equal(str(it, "kind"), "badge");
	assert_non_null(strstr(str(it, "snippet"), "badge.device = /dev/input/event12\n"));
	assert_non_null(strstr(str(it, "snippet"), "may change on replug"));

	arr = cJSON_GetObjectItemCaseSensitive(all, "gpiochips");
	assert_int_equal(cJSON_GetArraySize(arr), 0); /* a plain file is no chip */

	arr = cJSON_GetObjectItemCaseSensitive(all, "serial");
	assert_int_equal(cJSON_GetArraySize(arr), 1);
	it = item(arr, 0);
	assert_string_equal(str(it, "path"),
			    "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0");
	assert_string_equal(str(it, "node"), "ttyUSB0");
	assert_non_null(strstr(str(it, "snippet"), "# scanner.backend = serial\n"));
	cJSON_Delete(all);
}

static void fake_root_text(void **state)
{
	(void)state;
	SKIP_WITHOUT_TOOL();
	/* fake_root_json built the tree. */
	assert_int_equal(run_tool("--root", tp("root"), NULL), 0);
	assert_non_null(strstr(out, "HID scales (usage page 0x8D):\n  /dev/hidraw0  DYMO M10\n"));
	assert_non_null(strstr(out, "      scale.backend = usbhid\n"));
	assert_non_null(strstr(out, "GPIO chips:\n  none found (no /dev/gpiochip*)\n"));
	assert_non_null(strstr(out, "    cannot query: "));
	assert_non_null(strstr(out, "/dev/input/event12  Sycreader"));
	assert_null(strstr(out, "Power Button"));
	assert_null(strstr(out, "hidraw3"));
}

static void empty_root(void **state)
{
	static const char *const sections[] = {"scales", "cameras", "inputs", "gpiochips",
					       "serial"};
	cJSON *all;
	size_t i;

	(void)state;
	SKIP_WITHOUT_TOOL();
	assert_int_equal(mkdir(tp("empty"), 0700), 0);
	assert_int_equal(run_tool("--root", tp("empty"), NULL), 0);
	for (i = 0; i < 5; i++) {
		const char *p = out;
		unsigned n = 0;

		while ((p = strstr(p, "  none found (")))
			p++, n++;
		assert_int_equal(n, 5);
	}
	assert_int_equal(run_tool("--json", "--root", tp("empty")), 0);
	all = cJSON_Parse(out);
	assert_non_null(all);
	for (i = 0; i < 5; i++) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(all, sections[i]);

		assert_true(cJSON_IsArray(arr));
		assert_int_equal(cJSON_GetArraySize(arr), 0);
	}
	cJSON_Delete(all);
}

static void usage_errors(void **state)
{
	(void)state;
	SKIP_WITHOUT_TOOL();
	assert_int_equal(run_tool("--root", tp("no-such-dir"), NULL), 1);
	assert_non_null(strstr(out, "not a directory"));
	assert_int_equal(run_tool("--bogus", NULL, NULL), 1);
	assert_non_null(strstr(out, "Usage:"));
	assert_int_equal(run_tool("extra", NULL, NULL), 1);
	assert_int_equal(run_tool("--help", NULL, NULL), 0);
	assert_non_null(strstr(out, "--root DIR"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fake_root_json),
		cmocka_unit_test(fake_root_text),
		cmocka_unit_test(empty_root),
		cmocka_unit_test(usage_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
