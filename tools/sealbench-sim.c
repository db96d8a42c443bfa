/* SPDX-License-Identifier: MIT */
/*
 * tools/sealbench-sim.c - the station simulator: plays the packer at a sim board.
 *
 * sealbenchd on boards/sim reads its scale, scanner and badge from FIFOs and writes its stack
 * light and text display to another FIFO (drivers/<class>/<class>_sim.c give the line
 * formats). This tool writes the input lines ("badge P-17", "scan ...", "weigh 1250") and reads
 * the output lines, either from a scenario file that also states what the lights must do
 * ("expect green"), or interactively, or just to show the lights (watch).
 *
 * Expectations consume the light stream in order, like expect(1): lines that arrive while
 * the scenario is busy elsewhere are queued (up to SIM_PENDING_MAX), and each expect scans
 * forward from the line after the previous match. All waiting is poll() on the lights FIFO
 * and timerfds; nothing sleeps.
 *
 * What it prints is another matter: the FIFO carries every step of the station's patterns (the
 * text a moment before its light, both halves of each blink, each beep as buzzer on and off),
 * and a person perceives none of those steps. The display ("what the packer sees", below)
 * coalesces the stream into one line per settled change. It never touches the queue the
 * expectations read.
 */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "drivers/badge/badge.h"
#include "drivers/lights/lights.h"
#include "drivers/lights/lights_proto.h"
#include "drivers/scale/scale.h"
#include "drivers/scale/scale_proto.h"
#include "drivers/scanner/scanner.h"
#include "drivers/scanner/scanner_proto.h"
#include "hal/clock.h"
#include "hal/fifo.h"
#include "hal/linebuf.h"
#include "tools/common.h"

/** Default wait of an expect command, seconds (a station answers in well under a second). */
#define SIM_TIMEOUT_DEFAULT_S 5.0
/** Longest wait a command may ask for, seconds (one hour: a typo, not a test). */
#define SIM_TIMEOUT_MAX_S 3600.0
/** How long a write may wait for room in an input FIFO (a daemon that does not read). */
#define SIM_WRITE_TIMEOUT_MS 5000
/** Light lines kept for later expects; older ones are dropped (and counted) beyond this. */
#define SIM_PENDING_MAX 256
/** Longest command line: "scan " and a full escaped scan, with room for blanks. */
#define SIM_CMD_MAX (SCANNER_SIM_LINE_MAX + 64)

/* The display. The station's patterns (src/indicator.c) step every 80 to 700 ms. */
/** Quiet time on the lights FIFO after which what the bench shows is printed. */
#define SIM_SETTLE_MS 40
/** A lamp lit for less than this within a window (and dark at its end) was not seen. */
#define SIM_GLANCE_MS 40
/** A beep starting within this after the previous one ended is part of the same signal. */
#define SIM_BEEP_GAP_MS 150
/** A beep at least this long is a tone (the station's tones are 500 and 700 ms; the edges
 * reach us with a little jitter). */
#define SIM_TONE_MS 400
/** A lamp that comes back on within this after going out, under the same text, blinks; one
 * that has not changed for this long no longer does. */
#define SIM_BLINK_GAP_MS 1000
/** A window in which lamps only went out is held back this long: it may be the dark half of a
 * blink (the station's longest is 500 ms). */
#define SIM_BLINK_HOLD_MS 600
/** Longest wait for the display to settle before an action is shown and sent. */
#define SIM_SETTLE_MAX_MS 1000
/** The lamps of the stack light, top down (the buzzer is heard, not seen). */
#define SIM_LAMPS 3
/** Room for the sound column: "beep x4294967295" and its NUL. */
#define SIM_SOUND_MAX 20
/** The interactive prompt. */
#define SIM_PROMPT "sim> "

enum dev { DEV_SCALE, DEV_SCANNER, DEV_BADGE, DEV_LIGHTS, DEV_TRIGGER, N_DEVS };

static const char *const dev_names[N_DEVS] = {"scale", "scanner", "badge", "lights", "trigger"};

enum mode { MODE_SCENARIO, MODE_INTERACTIVE, MODE_WATCH };

static const unsigned lamp_bits[SIM_LAMPS] = {LIGHT_RED, LIGHT_AMBER, LIGHT_GREEN};

/* One display line: what a person took in during one window. */
struct view {
	unsigned lamps;	   /* lamps seen lit, blinking ones included */
	unsigned blinking; /* lamps seen blinking */
	unsigned beeps;	   /* buzzer on-edges */
	bool tone;	   /* one of them was long */
	char text[LIGHTS_TEXT_MAX + 1];
};

/* The display: the window being gathered, what is on screen, and the blink detector. */
struct display {
	bool open;		     /* lines arrived that are not shown yet */
	uint64_t last_ns;	     /* the window's last line */
	uint64_t since_ns;	     /* when the lamps last changed, or the window opened */
	uint64_t lit_ns[SIM_LAMPS];  /* how long each lamp was lit in the window */
	unsigned beeps;		     /* buzzer on-edges in the window */
	bool tone;		     /* one of them lasted SIM_TONE_MS */
	uint64_t buzz_on_ns;	     /* the buzzer's last on-edge */
	uint64_t buzz_off_ns;	     /* and its last off-edge */
	uint64_t edge_ns[SIM_LAMPS]; /* each lamp's last change */
	uint64_t off_ns[SIM_LAMPS];  /* when it last went out under this text; 0: not yet */
	bool blink[SIM_LAMPS];	     /* it came back on within SIM_BLINK_GAP_MS */
	struct view shown;	     /* the line on screen */
	bool shown_any;
	struct view held; /* lamps went out: shown at hold_until_ns unless they come back */
	bool holding;
	uint64_t hold_until_ns;
};

struct sim {
	/* options */
	const char *board_path;
	const char *dir;
	double timeout_s;
	unsigned verbose; /* 1: narrate the actions; 2: the checks too */
	bool flush;
	bool color;
	bool tty;    /* stdout is a terminal: the prompt may be redrawn */
	bool show;   /* print what the bench shows */
	bool prompt; /* the interactive prompt is the last thing on screen */

	/* board file */
	char backend[N_DEVS][64];
	char device[N_DEVS][PATH_MAX];
	int fd[N_DEVS]; /* opened on first use, -1 before */
	int tfd;	/* timerfd for deadlines */
	int dtfd;	/* timerfd for the display */

	/* light stream: assembler, queue for expects, what the packer sees now */
	struct linebuf lb;
	char lb_storage[LINEBUF_STORAGE(LIGHTS_SIM_LINE_MAX)];
	char pending[SIM_PENDING_MAX][LIGHTS_SIM_LINE_MAX + 1];
	size_t head, count;
	unsigned long lost;
	unsigned mask;
	char text[LIGHTS_TEXT_MAX + 1];
	bool seen_any;
	struct display disp;

	/* where we are, for messages */
	const char *where;
	unsigned lineno;
};

static const char *prog;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] --board FILE MODE [ARG]\n"
		"\n"
		"Play the packer at a station running on the sim board: present badges, scan\n"
		"barcodes and weigh boxes through the FIFOs the board file names, and watch the\n"
		"stack light, buzzer and text display that sealbenchd drives.\n"
		"\n"
		"Modes:\n"
		"  scenario FILE    run the commands in FILE; stop at the first one that fails\n"
		"  interactive      read commands from standard input and show the lights live\n"
		"  watch            only show the lights and the text display\n"
		"\n"
		"Options:\n"
		"  -b, --board FILE     board file (boards/sim/board.conf); the keys used are\n"
		"                       scale.device, scanner.device, badge.device, lights.device,\n"
		"                       trigger.device\n"
		"                       (relative paths are relative to the current directory)\n"
		"  -d, --dir DIR        put DIR in front of relative device paths\n"
		"  -t, --timeout SEC    default wait of expect commands (default %.0f)\n"
		"  -f, --flush          discard light lines written before the simulator started\n"
		"  -v, --verbose        narrate the packer's actions (\"> scan ORD-1\") and\n"
		"                       comments, and (scenario) show the bench; -vv: the\n"
		"                       checks (expect, expect-text, pause) too\n"
		"      --color=WHEN     colour the lamps: auto (default: on a terminal,\n"
		"                       unless NO_COLOR is set), always or never\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n"
		"\n"
		"Commands (one per line; blank lines are skipped, and so are lines starting\n"
		"with # except that -v prints them: a scenario can narrate itself):\n"
		"  badge ID                     present a badge (printable ASCII)\n"
		"  scan TEXT                    scan a barcode; TEXT may use the escapes \\xHH "
		"\\\\ \\n\n"
		"                               \\r \\t for control characters, e.g. a 2D label:\n"
		"                               scan [)>\\x1e01\\x1d96123456789\\x1d...\\x1e\\x04\n"
		"  weigh GRAMS [stable|motion]  put a weight on the scale (default stable); a "
		"third\n"
		"                               word over, under or fault sets the scale status\n"
		"  pedal                        press and release the foot pedal (trigger.device)\n"
		"  expect LIGHT [SEC]           wait until LIGHT is on: red, amber, green or "
		"buzzer,\n"
		"                               or \"off\" for all dark\n"
		"  expect-text TEXT [SEC]       wait until the display shows a line containing "
		"TEXT;\n"
		"                               quote it (\"Order 42\") when it ends with a "
		"number\n"
		"  pause MS                     wait MS milliseconds (the lights are still read)\n"
		"  quit                         interactive: leave (so does end of input)\n"
		"\n"
		"The bench is shown as a person sees it, one line each time the lights settle:\n"
		"the lamps that were lit (\"AMBER (blinking)\"), what was heard (\"beep\", \"beep\n"
		"beep\", \"beep x3\", \"tone\" for a long one) and the text display:\n"
		"  [ GREEN ]  beep beep   \"Sealed st01-0000000042\"\n"
		"\n"
		"Expectations read the light stream in order, like expect(1): each one looks at\n"
		"the lines after those the previous expectation consumed. Lines already queued in\n"
		"the FIFO when the simulator starts count too, unless --flush is given. Only one\n"
		"reader should watch the lights FIFO at a time.\n"
		"\n"
		"Examples:\n"
		"  %s -b boards/sim/board.conf watch\n"
		"  %s -b boards/sim/board.conf -v scenario happy.scn\n"
		"  printf 'badge P-17\\nweigh 1250\\nexpect green\\n' | \\\n"
		"      %s -b boards/sim/board.conf scenario /dev/stdin\n"
		"\n"
		"Exit status: 0 when the scenario completes, 1 when a command fails (reported as\n"
		"FILE:LINE: reason), 2 for usage errors.\n",
		prog, SIM_TIMEOUT_DEFAULT_S, prog, prog, prog);
}

static void __attribute__((format(printf, 1, 2), noreturn)) die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	exit(2);
}

static void disp_finish(struct sim *sim);

/* Report a failure at the current file:line. @return -1, for "return fail(...)". */
static int __attribute__((format(printf, 2, 3))) fail(struct sim *sim, const char *fmt, ...)
{
	va_list ap;

	disp_finish(sim); /* what the bench showed comes before what went wrong */
	fflush(stdout);
	if (sim->where)
		fprintf(stderr, "%s:%u: ", sim->where, sim->lineno);
	else
		fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* ---- board file ---- */

static int board_handler(void *user, const char *section, const char *name, const char *value)
{
	struct sim *sim = user;
	const char *dot = strchr(name, '.');
	size_t i, n;

	if (section[0] || !dot)
		return 1; /* not ours; sealbenchd validates the whole file */
	for (i = 0; i < N_DEVS; i++) {
		n = strlen(dev_names[i]);
		if ((size_t)(dot - name) != n || strncmp(name, dev_names[i], n))
			continue;
		if (!strcmp(dot + 1, "device")) {
			if (strlen(value) >= sizeof(sim->device[i]))
				return 0;
			strcpy(sim->device[i], value);
		} else if (!strcmp(dot + 1, "backend")) {
			if (strlen(value) >= sizeof(sim->backend[i]))
				return 0;
			strcpy(sim->backend[i], value);
		}
	}
	return 1;
}

static void load_board(struct sim *sim)
{
	char path[PATH_MAX];
	size_t i;
	int r;

	r = ini_parse(sim->board_path, board_handler, sim);
	if (r < 0) {
		fprintf(stderr, "%s: %s: cannot read: %s\n", prog, sim->board_path,
			strerror(errno));
		exit(1);
	}
	if (r > 0) {
		fprintf(stderr, "%s: %s:%d: malformed line (or value too long)\n", prog,
			sim->board_path, r);
		exit(1);
	}
	if (!sim->dir)
		return;
	for (i = 0; i < N_DEVS; i++) {
		if (!sim->device[i][0] || sim->device[i][0] == '/')
			continue;
		r = snprintf(path, sizeof(path), "%s/%s", sim->dir, sim->device[i]);
		if (r < 0 || (size_t)r >= sizeof(path)) {
			fprintf(stderr, "%s: %s/%s: path too long\n", prog, sim->dir,
				sim->device[i]);
			exit(1);
		}
		strcpy(sim->device[i], path);
	}
}

/* The fd of a device's FIFO, opened (and created) on first use. @return fd or -1 (reported). */
static int dev_fd(struct sim *sim, enum dev d)
{
	int fd;

	if (sim->fd[d] >= 0)
		return sim->fd[d];
	if (!sim->device[d][0])
		return fail(sim, "%s: %s.device is not set in %s", dev_names[d], dev_names[d],
			    sim->board_path);
	if (sim->backend[d][0] && strcmp(sim->backend[d], "sim"))
		return fail(sim,
			    "%s: %s.backend is \"%s\" in %s; only \"sim\" devices can be driven",
			    dev_names[d], dev_names[d], sim->backend[d], sim->board_path);
	fd = d == DEV_LIGHTS ? hal_fifo_open_read(sim->device[d])
			     : hal_fifo_open_write(sim->device[d]);
	if (fd < 0) {
		return fail(sim, "%s: %s: %s", dev_names[d], sim->device[d],
			    fd == -EEXIST ? "exists and is not a FIFO" : strerror(-fd));
	}
	sim->fd[d] = fd;
	return fd;
}

/* ---- what the packer sees ---- */

/*
 * The stream is shown in windows. A window opens with a line and closes once the FIFO has been
 * quiet for SIM_SETTLE_MS, or longer while a beep sounds (to tell a tone) or may be followed by
 * the next beep of its signal (SIM_BEEP_GAP_MS). Its line shows the lamps lit at its end or long
 * enough to be seen, the lamps blinking, the beeps counted by on-edge, and the text at its end.
 *
 * A line equal to the one on screen is not printed again; a soundless change in which lamps
 * only went out is held back for SIM_BLINK_HOLD_MS and dropped if they come back on (then they
 * blink: "AMBER (blinking)"), so the dark half of a blink never shows. A blinking alarm's sound
 * repeats with it; it is printed once. The times are those at which the lines are read, which is
 * close enough for a station on the same machine.
 */

static uint64_t ms_ns(unsigned ms)
{
	return (uint64_t)ms * NSEC_PER_MSEC;
}

static const char *lamp_color(unsigned bit)
{
	switch (bit) {
	case LIGHT_RED:
		return "\033[1;31m";
	case LIGHT_AMBER:
		return "\033[1;33m";
	case LIGHT_GREEN:
		return "\033[1;32m";
	default:
		return "\033[1m";
	}
}

/* Start a line of output: take the interactive prompt off the screen first. */
static void out_begin(struct sim *sim)
{
	if (sim->prompt)
		fputs(sim->tty ? "\r\033[K" : "\n", stdout);
}

/* End a line of output: put the prompt back. */
static void out_end(struct sim *sim)
{
	if (sim->prompt)
		fputs(SIM_PROMPT, stdout);
	fflush(stdout);
}

/* What was heard: "", "beep", "beep beep", "beep x3", "tone". */
static void format_sound(const struct view *v, char *buf, size_t size)
{
	if (!v->beeps)
		snprintf(buf, size, "%s", "");
	else if (v->beeps == 1)
		snprintf(buf, size, "%s", v->tone ? "tone" : "beep");
	else if (v->beeps == 2 && !v->tone)
		snprintf(buf, size, "%s", "beep beep");
	else
		snprintf(buf, size, "%s x%u", v->tone ? "tone" : "beep", v->beeps);
}

/* One line, as the packer sees the bench: [ GREEN ]  beep beep   "Sealed st01-0000000042" */
static void print_view(struct sim *sim, const struct view *v)
{
	const char *reset = sim->color ? "\033[0m" : "";
	char sound[SIM_SOUND_MAX];
	bool any = false;
	const char *name;
	size_t i;

	out_begin(sim);
	fputs("[ ", stdout);
	for (i = 0; i < SIM_LAMPS; i++) {
		if (!(v->lamps & lamp_bits[i]))
			continue;
		if (any)
			fputc(' ', stdout);
		fputs(sim->color ? lamp_color(lamp_bits[i]) : "", stdout);
		for (name = lights_proto_bit_name(lamp_bits[i]); *name; name++)
			fputc(*name - 'a' + 'A', stdout);
		if (v->blinking & lamp_bits[i])
			fputs(" (blinking)", stdout);
		fputs(reset, stdout);
		any = true;
	}
	if (!any)
		fputs("---", stdout);
	format_sound(v, sound, sizeof(sound));
	printf(" ]  %s%-4s%s   \"%s\"\n", v->beeps && sim->color ? lamp_color(LIGHT_BUZZER) : "",
	       sound, v->beeps ? reset : "", v->text);
	out_end(sim);
}

/* Add the time since the lamps last changed to those that are lit. */
static void disp_account(struct sim *sim, uint64_t now)
{
	struct display *d = &sim->disp;
	size_t i;

	for (i = 0; i < SIM_LAMPS; i++) {
		if (sim->mask & lamp_bits[i])
			d->lit_ns[i] += now - d->since_ns;
	}
	d->since_ns = now;
}

static void disp_open(struct sim *sim, uint64_t now)
{
	struct display *d = &sim->disp;

	if (d->open)
		return;
	d->open = true;
	memset(d->lit_ns, 0, sizeof(d->lit_ns));
	d->beeps = 0;
	d->tone = false;
	d->since_ns = now;
}

/* A "light" line: @p mask replaces sim->mask. */
static void disp_light(struct sim *sim, uint64_t now, unsigned mask)
{
	struct display *d = &sim->disp;
	unsigned on = mask & ~sim->mask, off = sim->mask & ~mask;
	size_t i;

	disp_open(sim, now);
	disp_account(sim, now);
	if (on & LIGHT_BUZZER) {
		d->beeps++;
		d->buzz_on_ns = now;
	}
	if (off & LIGHT_BUZZER) {
		if (d->beeps && now - d->buzz_on_ns >= ms_ns(SIM_TONE_MS))
			d->tone = true;
		d->buzz_off_ns = now;
	}
	for (i = 0; i < SIM_LAMPS; i++) {
		if (!((on | off) & lamp_bits[i]))
			continue;
		d->edge_ns[i] = now;
		if (off & lamp_bits[i]) {
			d->off_ns[i] = now;
		} else if (d->off_ns[i] && now - d->off_ns[i] <= ms_ns(SIM_BLINK_GAP_MS)) {
			d->blink[i] = true;
			d->holding = false; /* that dark spell was half a blink */
		}
	}
	d->last_ns = now;
}

/* A "text" line: @p text (@p len bytes) replaces sim->text. */
static void disp_text(struct sim *sim, uint64_t now, const char *text, size_t len)
{
	struct display *d = &sim->disp;

	disp_open(sim, now);
	if (len != strlen(sim->text) || memcmp(text, sim->text, len)) {
		/* A new message: whether a lamp blinks is judged afresh. */
		memset(d->off_ns, 0, sizeof(d->off_ns));
		memset(d->blink, 0, sizeof(d->blink));
		d->holding = false;
	}
	d->last_ns = now;
}

/* When the open window closes: after the settle time, and not in the middle of a signal. */
static uint64_t disp_window_end(const struct sim *sim)
{
	const struct display *d = &sim->disp;
	uint64_t end = d->last_ns + ms_ns(SIM_SETTLE_MS), t = 0;

	if (d->beeps && (sim->mask & LIGHT_BUZZER))
		t = d->buzz_on_ns + ms_ns(SIM_TONE_MS); /* long enough to call it a tone */
	else if (d->beeps)
		t = d->buzz_off_ns + ms_ns(SIM_BEEP_GAP_MS); /* the signal's next beep? */
	return t > end ? t : end;
}

/* When the first lamp on screen as blinking has been still for SIM_BLINK_GAP_MS; 0: none. */
static uint64_t disp_blink_end(const struct sim *sim)
{
	const struct display *d = &sim->disp;
	uint64_t end = 0, t;
	size_t i;

	for (i = 0; i < SIM_LAMPS; i++) {
		if (!(d->shown.blinking & lamp_bits[i]))
			continue;
		t = d->edge_ns[i] + ms_ns(SIM_BLINK_GAP_MS) + 1;
		if (!end || t < end)
			end = t;
	}
	return end;
}

/* What the bench shows now; @p window: what was seen and heard in the open window too. */
static void disp_view(const struct sim *sim, uint64_t now, bool window, struct view *v)
{
	const struct display *d = &sim->disp;
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < SIM_LAMPS; i++) {
		if (d->blink[i] && now - d->edge_ns[i] <= ms_ns(SIM_BLINK_GAP_MS))
			v->blinking |= lamp_bits[i];
		if ((sim->mask & lamp_bits[i]) || (v->blinking & lamp_bits[i]) ||
		    (window && d->lit_ns[i] >= ms_ns(SIM_GLANCE_MS)))
			v->lamps |= lamp_bits[i];
	}
	if (window) {
		v->beeps = d->beeps;
		v->tone = d->tone || (d->beeps && (sim->mask & LIGHT_BUZZER) &&
				      now - d->buzz_on_ns >= ms_ns(SIM_TONE_MS));
	}
	strcpy(v->text, sim->text);
}

/* Print @p v unless the packer would notice nothing new in it. */
static void disp_show(struct sim *sim, uint64_t now, const struct view *v)
{
	struct display *d = &sim->disp;
	const struct view *s = &d->shown;
	bool same_text = d->shown_any && !strcmp(v->text, s->text);
	bool same = same_text && v->lamps == s->lamps && v->blinking == s->blinking;

	if (same && (!v->beeps || (v->blinking && v->beeps == s->beeps && v->tone == s->tone))) {
		d->holding = false; /* back to what is on screen */
		return;
	}
	if (same_text && !v->beeps && v->blinking == s->blinking && !(v->lamps & ~s->lamps)) {
		/* Lamps only went out: show it only if they stay out. */
		if (!d->holding)
			d->hold_until_ns = now + ms_ns(SIM_BLINK_HOLD_MS);
		d->held = *v;
		d->holding = true;
		return;
	}
	d->holding = false;
	print_view(sim, v);
	d->shown = *v;
	d->shown_any = true;
}

static void disp_close(struct sim *sim, uint64_t now)
{
	struct view v;

	disp_account(sim, now);
	disp_view(sim, now, true, &v);
	sim->disp.open = false;
	disp_show(sim, now, &v);
}

/* The display's timer fired (or may have): close windows, end holds and blinks that are due. */
static void disp_tick(struct sim *sim, uint64_t now)
{
	struct display *d = &sim->disp;
	uint64_t t;
	struct view v;

	if (d->open && now >= disp_window_end(sim))
		disp_close(sim, now);
	if (d->holding && now >= d->hold_until_ns) {
		d->holding = false;
		print_view(sim, &d->held);
		d->shown = d->held;
	}
	t = d->open ? 0 : disp_blink_end(sim);
	if (t && now >= t) {
		disp_view(sim, now, false, &v);
		disp_show(sim, now, &v);
	}
}

/* Print the open window now (before a failure message, at exit). */
static void disp_finish(struct sim *sim)
{
	if (sim->show && sim->disp.open)
		disp_close(sim, clock_now_ns());
}

static int arm_timer(struct sim *sim, int fd, uint64_t deadline_ns)
{
	struct itimerspec its = {0};

	/* A zero it_value disarms; a deadline of 0 ns would never come from clock_now_ns(). */
	its.it_value.tv_sec = (time_t)(deadline_ns / NSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(deadline_ns % NSEC_PER_SEC);
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return fail(sim, "timerfd: %s", strerror(errno));
	return 0;
}

/* Arm the display's timer for its next due time, or disarm it. @return 0 or -1 (reported). */
static int disp_arm(struct sim *sim)
{
	const struct display *d = &sim->disp;
	uint64_t next = 0, t;

	if (!sim->show)
		return 0;
	if (d->open)
		next = disp_window_end(sim);
	if (d->holding && (!next || d->hold_until_ns < next))
		next = d->hold_until_ns;
	t = d->open ? 0 : disp_blink_end(sim);
	if (t && (!next || t < next))
		next = t;
	return arm_timer(sim, sim->dtfd, next);
}

/* ---- the light stream ---- */

/* A line from the lights FIFO: track the state, show it, queue it for expects. */
static void take_line(struct sim *sim, const char *line)
{
	uint64_t now = clock_now_ns();
	const char *text;
	unsigned mask;
	size_t n;

	if (!strncmp(line, "light ", 6) && !lights_proto_parse_mask(line + 6, &mask)) {
		if (sim->show)
			disp_light(sim, now, mask);
		sim->mask = mask;
	} else if (!strncmp(line, "text", 4) && (line[4] == ' ' || !line[4])) {
		text = line + 4 + !!line[4];
		n = strlen(text);
		if (n > LIGHTS_TEXT_MAX)
			n = LIGHTS_TEXT_MAX;
		if (sim->show)
			disp_text(sim, now, text, n);
		memcpy(sim->text, text, n);
		sim->text[n] = '\0';
	} else {
		if (sim->show) {
			out_begin(sim);
			printf("(unknown line on the lights FIFO: \"%s\")\n", line);
			out_end(sim);
		}
		return;
	}
	sim->seen_any = true;

	if (sim->count == SIM_PENDING_MAX) {
		sim->head = (sim->head + 1) % SIM_PENDING_MAX;
		sim->count--;
		sim->lost++;
	}
	n = (sim->head + sim->count) % SIM_PENDING_MAX;
	strcpy(sim->pending[n], line);
	sim->count++;
}

/* Drain the lights FIFO into the queue. @return 0, or -1 (reported). */
static int read_lights(struct sim *sim)
{
	const char *line;
	size_t len, room;
	ssize_t n;
	char *dst;
	int r;

	for (;;) {
		r = linebuf_pop(&sim->lb, &line, &len);
		if (r == 0) {
			take_line(sim, line);
			continue;
		}
		if (r == -EMSGSIZE) {
			if (sim->show) {
				out_begin(sim);
				printf("(overlong line on the lights FIFO dropped)\n");
				out_end(sim);
			}
			continue;
		}
		room = linebuf_room(&sim->lb, &dst);
		n = hal_read(sim->fd[DEV_LIGHTS], dst, room);
		if (n == -EAGAIN || n == 0)
			return 0;
		if (n < 0)
			return fail(sim, "lights: %s: %s", sim->device[DEV_LIGHTS],
				    strerror((int)-n));
		linebuf_commit(&sim->lb, (size_t)n);
	}
}

/*
 * Wait for the lights FIFO (and, when @p in_fd >= 0, for that fd) until @p deadline_ns
 * (0: no deadline), keeping the display up to date meanwhile.
 * @return 1 lights read, 2 @p in_fd readable, 3 the display changed (maybe), 0 deadline,
 * -1 error (reported).
 */
static int wait_io(struct sim *sim, uint64_t deadline_ns, int in_fd)
{
	struct pollfd pfd[4];
	uint64_t ticks;
	nfds_t n = 0;
	int r;

	if (arm_timer(sim, sim->tfd, deadline_ns) < 0 || disp_arm(sim) < 0)
		return -1;
	pfd[n++] = (struct pollfd){.fd = sim->tfd, .events = POLLIN};
	pfd[n++] = (struct pollfd){.fd = sim->fd[DEV_LIGHTS], .events = POLLIN};
	pfd[n++] = (struct pollfd){.fd = sim->dtfd, .events = POLLIN};
	if (in_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = in_fd, .events = POLLIN};
	do {
		r = poll(pfd, n, -1);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return fail(sim, "poll: %s", strerror(errno));
	/* Lines first: one that came in time may hold the display's window open. */
	if (pfd[1].revents && read_lights(sim) < 0)
		return -1;
	if (pfd[2].revents) {
		/* Nothing to read but the count of expirations; EAGAIN when it raced a re-arm. */
		if (read(sim->dtfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			return fail(sim, "timerfd: %s", strerror(errno));
		disp_tick(sim, clock_now_ns());
	}
	if (pfd[1].revents)
		return 1;
	if (n > 3 && pfd[3].revents)
		return 2;
	if (pfd[2].revents)
		return 3;
	return 0; /* the deadline's timerfd fired */
}

struct match {
	unsigned bit;	    /* expect: lamp bit, 0 for "off" */
	const char *substr; /* expect-text */
};

static bool line_matches(const char *line, const struct match *m)
{
	unsigned mask;

	if (m->substr)
		return !strncmp(line, "text", 4) && (line[4] == ' ' || !line[4]) &&
		       strstr(line + 4, m->substr);
	if (strncmp(line, "light ", 6) || lights_proto_parse_mask(line + 6, &mask))
		return false;
	return m->bit ? (mask & m->bit) != 0 : mask == 0;
}

/* Consume queued lines up to the first match. @return true when one matched. */
static bool consume_until(struct sim *sim, const struct match *m)
{
	const char *line;

	while (sim->count) {
		line = sim->pending[sim->head];
		sim->head = (sim->head + 1) % SIM_PENDING_MAX;
		sim->count--;
		if (line_matches(line, m))
			return true;
	}
	return false;
}

static int expect(struct sim *sim, const char *what, const struct match *m, double timeout_s)
{
	uint64_t deadline = clock_now_ns() + (uint64_t)(timeout_s * (double)NSEC_PER_SEC);
	char mask[LIGHTS_MASK_TEXT_MAX] = "";
	int r;

	if (dev_fd(sim, DEV_LIGHTS) < 0)
		return -1;
	for (;;) {
		if (read_lights(sim) < 0)
			return -1;
		if (consume_until(sim, m))
			return 0;
		r = wait_io(sim, deadline, -1);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
	}
	lights_proto_format_mask(sim->mask, mask, sizeof(mask));
	return fail(sim, "%s: not seen within %.1f s (lights now: %s, text now: \"%s\"%s%s)", what,
		    timeout_s, sim->seen_any ? mask : "nothing received yet", sim->text,
		    sim->lost ? ", some lines were lost: queue full" : "",
		    sim->seen_any ? "" : "; is sealbenchd running on this board?");
}

static int pause_ms(struct sim *sim, unsigned long ms)
{
	uint64_t deadline = clock_now_ns() + (uint64_t)ms * NSEC_PER_MSEC;
	struct pollfd pfd;
	int r;

	if (sim->fd[DEV_LIGHTS] >= 0) {
		while ((r = wait_io(sim, deadline, -1)) > 0)
			;
		return r;
	}
	/* No lights FIFO in use: wait on the timer alone. */
	if (arm_timer(sim, sim->tfd, deadline) < 0)
		return -1;
	pfd = (struct pollfd){.fd = sim->tfd, .events = POLLIN};
	while ((r = poll(&pfd, 1, -1)) < 0 && errno == EINTR)
		;
	return r < 0 ? fail(sim, "poll: %s", strerror(errno)) : 0;
}

/* ---- input devices ---- */

/* Write a whole line, waiting (bounded) for room when the daemon is slow to read. */
static int send_line(struct sim *sim, enum dev d, const char *text)
{
	uint64_t deadline = clock_now_ns() + SIM_WRITE_TIMEOUT_MS * NSEC_PER_MSEC;
	char buf[SIM_CMD_MAX + 2];
	size_t len = strlen(text), off = 0;
	struct pollfd pfd;
	uint64_t now;
	ssize_t n;
	int fd, r;

	fd = dev_fd(sim, d);
	if (fd < 0)
		return -1;
	if (len > SIM_CMD_MAX)
		return fail(sim, "%s: line too long", dev_names[d]);
	memcpy(buf, text, len);
	buf[len++] = '\n';
	while (off < len) {
		n = hal_write(fd, buf + off, len - off);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (n != -EAGAIN)
			return fail(sim, "%s: %s: %s", dev_names[d], sim->device[d],
				    strerror((int)-n));
		now = clock_now_ns();
		if (now >= deadline)
			return fail(sim, "%s: %s stays full: is sealbenchd reading it?",
				    dev_names[d], sim->device[d]);
		pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
		r = poll(&pfd, 1, (int)((deadline - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC));
		if (r < 0 && errno != EINTR)
			return fail(sim, "poll: %s", strerror(errno));
	}
	return 0;
}

/* ---- narration ---- */

/*
 * Before an action: let the display settle, so that what the bench showed is printed before
 * what the packer does next (bounded by SIM_SETTLE_MAX_MS: a station that never stops
 * talking does not stall the scenario). Only when the bench is shown. @return 0 or -1.
 */
static int settle(struct sim *sim)
{
	uint64_t deadline;
	int r;

	if (!sim->show || sim->fd[DEV_LIGHTS] < 0)
		return 0;
	if (read_lights(sim) < 0)
		return -1;
	deadline = clock_now_ns() + ms_ns(SIM_SETTLE_MAX_MS);
	while (sim->disp.open) {
		r = wait_io(sim, deadline, -1);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
	}
	disp_finish(sim);
	return 0;
}

/* Settle, then tell what the packer does ("> badge L-9001") when verbose. @return 0 or -1. */
static int __attribute__((format(printf, 2, 3))) narrate(struct sim *sim, const char *fmt, ...)
{
	va_list ap;

	if (settle(sim) < 0)
		return -1;
	if (!sim->verbose)
		return 0;
	out_begin(sim);
	fputs(sim->color ? "\033[1m> " : "> ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs(sim->color ? "\033[0m\n" : "\n", stdout);
	out_end(sim);
	return 0;
}

/* ---- commands ---- */

static char *skip_blanks(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
}

static int parse_timeout(struct sim *sim, const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0.0) || v > SIM_TIMEOUT_MAX_S)
		return fail(sim, "bad timeout \"%s\": seconds, above 0 and up to %.0f", s,
			    SIM_TIMEOUT_MAX_S);
	*ret = v;
	return 0;
}

/* Split off an optional trailing timeout: "TEXT [SEC]" (TEXT may be "quoted"). */
static int split_text_timeout(struct sim *sim, char *arg, char **ret_text, double *ret_timeout)
{
	char *end, *last;
	double v;

	*ret_timeout = sim->timeout_s;
	if (*arg == '"') {
		end = strchr(arg + 1, '"');
		if (!end)
			return fail(sim, "missing closing quote");
		*end = '\0';
		*ret_text = arg + 1;
		last = skip_blanks(end + 1);
		if (*last)
			return parse_timeout(sim, last, ret_timeout);
		return 0;
	}
	*ret_text = arg;
	last = strrchr(arg, ' ');
	if (!last)
		last = strrchr(arg, '\t');
	if (last) {
		errno = 0;
		v = strtod(last + 1, &end);
		if (!errno && end != last + 1 && !*end && v > 0.0 && v <= SIM_TIMEOUT_MAX_S) {
			*ret_timeout = v;
			*last = '\0';
			trim_end(arg);
		}
	}
	return 0;
}

static int cmd_badge(struct sim *sim, char *arg)
{
	size_t i, n = strlen(arg);

	if (!n || n > BADGE_ID_MAX)
		return fail(sim, "badge: an ID of 1 to %d characters is needed", BADGE_ID_MAX);
	for (i = 0; i < n; i++) {
		if (arg[i] < 0x20 || arg[i] > 0x7e)
			return fail(sim, "badge: IDs are printable ASCII");
	}
	if (narrate(sim, "badge %s", arg) < 0)
		return -1;
	return send_line(sim, DEV_BADGE, arg);
}

/* A press of the foot pedal (or a box breaking the photo-eye beam), then its release. */
static int cmd_pedal(struct sim *sim, char *arg)
{
	if (*arg)
		return fail(sim, "pedal: takes no argument");
	if (narrate(sim, "pedal") < 0)
		return -1;
	if (send_line(sim, DEV_TRIGGER, "press") < 0)
		return -1;
	return send_line(sim, DEV_TRIGGER, "release");
}

static int cmd_scan(struct sim *sim, char *arg)
{
	char decoded[SCANNER_SCAN_MAX + 1];
	size_t len;
	int r;

	if (!*arg)
		return fail(sim, "scan: the barcode text is missing");
	if (strlen(arg) > SCANNER_SIM_LINE_MAX)
		return fail(sim, "scan: longer than %d characters", SCANNER_SIM_LINE_MAX);
	r = scanner_proto_unescape(arg, strlen(arg), decoded, SCANNER_SCAN_MAX, &len);
	if (r == -EMSGSIZE)
		return fail(sim, "scan: more than %d bytes once unescaped", SCANNER_SCAN_MAX);
	if (r < 0)
		return fail(sim, "scan: bad escape (use \\xHH with two hex digits, \\\\, \\n, "
				 "\\r or \\t)");
	if (narrate(sim, "scan %s", arg) < 0)
		return -1;
	return send_line(sim, DEV_SCANNER, arg);
}

static int cmd_weigh(struct sim *sim, char *arg)
{
	static const char *const status[_SCALE_STATUS_MAX] = {
		[SCALE_OK] = "",
		[SCALE_UNDER_ZERO] = ", under zero",
		[SCALE_OVER_LIMIT] = ", over capacity",
		[SCALE_FAULT] = ", scale fault",
	};
	char line[SCALE_SIM_LINE_MAX + 1];
	struct scale_reading rd;
	char *sp = strpbrk(arg, " \t");
	int n;

	/* "GRAMS" alone means a stable reading. */
	n = snprintf(line, sizeof(line), "%s%s", arg, sp ? "" : " stable");
	if (n < 0 || (size_t)n >= sizeof(line) || scale_proto_parse_sim(line, &rd) < 0)
		return fail(sim,
			    "weigh: expected GRAMS [stable|motion] [over|under|fault], "
			    "got \"%s\"",
			    arg);
	if (narrate(sim, "weigh %ld g (%s%s)", (long)rd.grams, rd.stable ? "stable" : "moving",
		    (unsigned)rd.status < _SCALE_STATUS_MAX ? status[rd.status] : "") < 0)
		return -1;
	return send_line(sim, DEV_SCALE, line);
}

static int cmd_expect(struct sim *sim, char *arg)
{
	struct match m = {0};
	double timeout = sim->timeout_s;
	char what[64];
	char *sp;

	sp = strpbrk(arg, " \t");
	if (sp) {
		*sp = '\0';
		if (parse_timeout(sim, skip_blanks(sp + 1), &timeout) < 0)
			return -1;
	}
	if (strcmp(arg, "off")) {
		if (lights_proto_parse_mask(arg, &m.bit) < 0 || !m.bit || (m.bit & (m.bit - 1)))
			return fail(sim,
				    "expect: LIGHT is red, amber, green, buzzer or off, not "
				    "\"%s\"",
				    arg);
	}
	snprintf(what, sizeof(what), "expect %s", arg);
	return expect(sim, what, &m, timeout);
}

static int cmd_expect_text(struct sim *sim, char *arg)
{
	struct match m = {0};
	double timeout;
	char *text = NULL;

	if (split_text_timeout(sim, arg, &text, &timeout) < 0)
		return -1;
	if (!text || !*text)
		return fail(sim, "expect-text: the text to wait for is missing");
	m.substr = text;
	return expect(sim, "expect-text", &m, timeout);
}

static int cmd_pause(struct sim *sim, char *arg)
{
	unsigned long ms;
	char *end;

	errno = 0;
	ms = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' ||
	    ms > (unsigned long)(SIM_TIMEOUT_MAX_S * 1000))
		return fail(sim, "pause: expected milliseconds, got \"%s\"", arg);
	return pause_ms(sim, ms);
}

/* Run one command line. @return 0, 1 for "quit", -1 on failure (reported). */
static int run_command(struct sim *sim, char *line)
{
	static const struct {
		const char *name;
		int (*fn)(struct sim *sim, char *arg);
		bool check; /* a check, not something the packer does: narrated at -vv only */
	} cmds[] = {
		{"badge", cmd_badge, false},
		{"scan", cmd_scan, false},
		{"weigh", cmd_weigh, false},
		{"pedal", cmd_pedal, false},
		{"expect", cmd_expect, true},
		{"expect-text", cmd_expect_text, true},
		{"pause", cmd_pause, true},
	};
	char *verb, *arg;
	size_t i, n;

	trim_end(line);
	verb = skip_blanks(line);
	if (!*verb)
		return 0;
	if (*verb == '#') {
		/* The scenario's own narration (-v): "# package 3: high value, no signature". */
		if (!sim->verbose)
			return 0;
		if (settle(sim) < 0)
			return -1;
		out_begin(sim);
		printf("%s%s%s\n", sim->color ? "\033[2m" : "", verb, sim->color ? "\033[0m" : "");
		out_end(sim);
		return 0;
	}
	n = strcspn(verb, " \t");
	arg = skip_blanks(verb + n);
	if (n == 4 && !strncmp(verb, "quit", 4) && !*arg)
		return 1;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strlen(cmds[i].name) == n && !strncmp(verb, cmds[i].name, n)) {
			if (cmds[i].check && sim->verbose > 1) {
				out_begin(sim);
				printf("%s:%u: %s\n", sim->where, sim->lineno, verb);
				out_end(sim);
			}
			verb[n] = '\0';
			return cmds[i].fn(sim, arg) < 0 ? -1 : 0;
		}
	}
	verb[n] = '\0';
	return fail(sim, "unknown command \"%s\" (see %s --help)", verb, prog);
}

/* ---- modes ---- */

static int run_scenario(struct sim *sim, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return 1;
	}
	sim->where = path;
	while ((len = getline(&line, &cap, f)) >= 0) {
		sim->lineno++;
		if ((size_t)len > SIM_CMD_MAX + 1) {
			r = fail(sim, "line longer than %d characters", SIM_CMD_MAX);
			break;
		}
		r = run_command(sim, line);
		if (r != 0)
			break;
	}
	if (r == 0 && ferror(f))
		r = fail(sim, "read error: %s", strerror(errno));
	free(line);
	fclose(f);
	return r < 0 ? 1 : 0;
}

static int run_interactive(struct sim *sim)
{
	char storage[LINEBUF_STORAGE(SIM_CMD_MAX)];
	char cmd[SIM_CMD_MAX + 1];
	bool prompt = isatty(STDIN_FILENO), eof = false;
	struct linebuf lb;
	const char *line;
	size_t len, room;
	ssize_t n;
	char *dst;
	int r;

	sim->where = "<stdin>";
	linebuf_init(&lb, storage, sizeof(storage));
	if (prompt)
		fputs(SIM_PROMPT, stdout);
	sim->prompt = prompt;
	fflush(stdout);
	while (!eof) {
		r = wait_io(sim, 0, STDIN_FILENO);
		if (r < 0)
			return 1;
		if (r != 2)
			continue;
		sim->prompt = false; /* a line was entered: the cursor is on a fresh line */
		room = linebuf_room(&lb, &dst);
		n = hal_read(STDIN_FILENO, dst, room);
		if (n < 0 && n != -EAGAIN) {
			fprintf(stderr, "%s: stdin: %s\n", prog, strerror((int)-n));
			return 1;
		}
		if (n == 0) {
			eof = true;
			/* A last line without its newline still counts. */
			linebuf_feed(&lb, "\n", 1);
		} else if (n > 0) {
			linebuf_commit(&lb, (size_t)n);
		}
		while ((r = linebuf_pop(&lb, &line, &len)) != -EAGAIN) {
			sim->lineno++;
			if (r == -EMSGSIZE) {
				fail(sim, "line longer than %d characters", SIM_CMD_MAX);
				continue;
			}
			memcpy(cmd, line, len + 1);
			/* Errors are reported and the session goes on. */
			if (run_command(sim, cmd) == 1)
				return 0;
			if (prompt && !sim->prompt)
				fputs(SIM_PROMPT, stdout);
			sim->prompt = prompt;
			fflush(stdout);
		}
	}
	if (prompt)
		fputc('\n', stdout);
	sim->prompt = false;
	return 0;
}

static int run_watch(struct sim *sim)
{
	if (dev_fd(sim, DEV_LIGHTS) < 0)
		return 1;
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "%s: watching %s (Ctrl-C to stop)\n", prog,
			sim->device[DEV_LIGHTS]);
	for (;;) {
		if (wait_io(sim, 0, -1) < 0)
			return 1;
		sim->count = 0; /* nobody expects anything here */
	}
}

/* Long options without a short form. */
enum { OPT_COLOR = 256 };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"board", required_argument, NULL, 'b'},
		{"dir", required_argument, NULL, 'd'},
		{"timeout", required_argument, NULL, 't'},
		{"flush", no_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"color", required_argument, NULL, OPT_COLOR},
		{NULL, 0, NULL, 0},
	};
	static struct sim sim; /* large (the queue): keep it off the stack */
	const char *color = "auto";
	enum mode mode;
	const char *m;
	char *end;
	size_t i;
	int c, r;

	prog = get_prog_name();
	sim.timeout_s = SIM_TIMEOUT_DEFAULT_S;
	for (i = 0; i < N_DEVS; i++)
		sim.fd[i] = -1;
	while ((c = getopt_long(argc, argv, "+b:d:t:fvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			sim.board_path = optarg;
			break;
		case 'd':
			sim.dir = optarg;
			break;
		case 't':
			errno = 0;
			sim.timeout_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(sim.timeout_s > 0.0) ||
			    sim.timeout_s > SIM_TIMEOUT_MAX_S)
				die_usage("--timeout: seconds, above 0 and up to %.0f",
					  SIM_TIMEOUT_MAX_S);
			break;
		case 'f':
			sim.flush = true;
			break;
		case 'v':
			if (sim.verbose < 2)
				sim.verbose++;
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") && strcmp(optarg, "always") &&
			    strcmp(optarg, "never"))
				die_usage("--color: auto, always or never, not \"%s\"", optarg);
			color = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			print_version();
			return 0;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return 2;
		}
	}
	if (!sim.board_path)
		die_usage("--board FILE is required");
	if (optind >= argc)
		die_usage("a mode is required: scenario FILE, interactive or watch");
	m = argv[optind++];
	if (!strcmp(m, "scenario")) {
		mode = MODE_SCENARIO;
		if (optind != argc - 1)
			die_usage("scenario takes one FILE");
	} else if (!strcmp(m, "interactive") || !strcmp(m, "watch")) {
		mode = m[0] == 'i' ? MODE_INTERACTIVE : MODE_WATCH;
		if (optind != argc)
			die_usage("%s takes no argument", m);
	} else {
		die_usage("unknown mode \"%s\"", m);
	}

	load_board(&sim);
	sim.tty = isatty(STDOUT_FILENO);
	if (!strcmp(color, "auto"))
		sim.color = sim.tty && !getenv("NO_COLOR");
	else
		sim.color = !strcmp(color, "always");
	sim.show = mode != MODE_SCENARIO || sim.verbose;
	linebuf_init(&sim.lb, sim.lb_storage, sizeof(sim.lb_storage));
	sim.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sim.dtfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sim.tfd < 0 || sim.dtfd < 0) {
		fprintf(stderr, "%s: timerfd: %s\n", prog, strerror(errno));
		return 1;
	}

	/* Listen to the lights from the start, so that nothing said later is missed. */
	if (sim.device[DEV_LIGHTS][0] || mode != MODE_SCENARIO) {
		if (dev_fd(&sim, DEV_LIGHTS) < 0)
			return 1;
		if (sim.flush) {
			bool show = sim.show;

			sim.show = false;
			r = read_lights(&sim);
			sim.show = show;
			if (r < 0)
				return 1;
			sim.count = 0;
		}
	}

	switch (mode) {
	case MODE_SCENARIO:
		r = run_scenario(&sim, argv[optind]);
		break;
	case MODE_INTERACTIVE:
		r = run_interactive(&sim);
		break;
	default:
		r = run_watch(&sim);
		break;
	}
	disp_finish(&sim);
	for (i = 0; i < N_DEVS; i++) {
		if (sim.fd[i] >= 0)
			close(sim.fd[i]);
	}
	close(sim.tfd);
	close(sim.dtfd);
	return r;
}
