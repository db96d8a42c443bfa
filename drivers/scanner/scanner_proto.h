/* SPDX-License-Identifier: MIT */
/*
 * drivers/scanner/scanner_proto.h - pure helpers for scanner protocols (no fd).
 *
 * Three decoders live here, each a pure function or state machine so tests and
 * tools/sealbench-decode drive them without a device:
 *   - the sim protocol's escapes (scanner_proto_unescape);
 *   - the keyboard wedge (struct scanner_wedge): evdev key events in, scans out;
 *   - the serial stream (struct scanner_stream): bytes in, scans out;
 * plus the board-file options they share (struct scanner_opts), the AIM prefix split, and a
 * reader for evemu event files (the capture format of evemu-record).
 */
#ifndef SEALBENCH_DRIVERS_SCANNER_PROTO_H
#define SEALBENCH_DRIVERS_SCANNER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/scanner/scanner.h"
#include "hal/evdev.h"

/** Longest sim protocol line: a full-size scan with every byte written as \xHH. */
#define SCANNER_SIM_LINE_MAX (4 * SCANNER_SCAN_MAX)

/**
 * @brief Decode the C-style escapes of the sim scanner protocol, so a text line can carry the
 * control characters of ISO/IEC 15434 labels: \xHH (two hex digits), \\, \n, \r, \t. Other
 * bytes are copied as they are.
 * @param in, len the escaped text (need not be NUL-terminated).
 * @param out receives the bytes plus a terminating NUL (out_max + 1 bytes of room).
 * @param ret_len receives the decoded length (untouched on failure).
 * @return 0; -EBADMSG unknown or truncated escape; -EMSGSIZE more than @p out_max bytes;
 *         -EINVAL NULL arguments.
 */
int scanner_proto_unescape(const char *in, size_t len, char *out, size_t out_max, size_t *ret_len);

/* ---- options ------------------------------------------------------------------------- */

/** How a keyboard wedge types control characters (bit set; scanner.ctrl_map). */
enum scanner_ctrl {
	SCANNER_CTRL_CTRL = 1 << 0,   /* Ctrl+letter, Ctrl+] = GS, Ctrl+^ = RS, Ctrl+D = EOT */
	SCANNER_CTRL_FKEYS = 1 << 1,  /* function keys, through the scanner.fkeys table */
	SCANNER_CTRL_ALTNUM = 1 << 2, /* Alt held + keypad digits: Alt+0029 = GS */
};

/** What to do with an AIM symbology identifier ("]C1") at the start of a scan. */
enum scanner_aim_mode {
	SCANNER_AIM_STRIP = 0, /* move it to scan.aim, remove it from scan.text (default) */
	SCANNER_AIM_KEEP,      /* copy it to scan.aim, leave scan.text as sent */
	SCANNER_AIM_OFF,       /* no detection: scan.aim is always "" */
};

/** How a scan ends. */
enum scanner_term {
	SCANNER_TERM_ENTER = 0, /* evdev: the Enter or keypad-Enter key; a gap aborts a scan */
	SCANNER_TERM_CR,        /* serial: CR (a LF right after it is ignored) */
	SCANNER_TERM_LF,        /* serial: LF (a CR right before it is removed) */
	SCANNER_TERM_CRLF,      /* serial: CR LF; a lone CR or LF is data */
	SCANNER_TERM_NONE,      /* no terminator: a gap ends the scan */
};

/** F1..F24. */
#define SCANNER_FKEYS_N 24
/** Default evdev inter-key timeout: USB wedges type a key every 1-16 ms. */
#define SCANNER_KEY_TIMEOUT_MS_DEFAULT 100
/** Default serial gap: at 1200 baud a byte takes 8.3 ms. */
#define SCANNER_GAP_MS_DEFAULT 50

/** The parsed scanner.* options of the board file. */
struct scanner_opts {
	unsigned ctrl_map;                /* SCANNER_CTRL_* */
	int16_t fkeys[SCANNER_FKEYS_N];   /* F1..F24 -> byte 0..255, -1 unmapped */
	enum scanner_aim_mode aim;
	enum scanner_term term;
	uint64_t timeout_ns;              /* evdev key timeout or serial gap */
};

/**
 * @brief Parse and check the scanner.* options of @p cfg.
 * @param serial true for a serial backend (terminator cr|lf|crlf|none, default cr, timeout
 *        from gap_ms); false for a keyboard wedge (terminator enter|none, where cr/lf/crlf
 *        are accepted as "enter"; timeout from key_timeout_ms).
 * @return 0 and *ret; -EINVAL an unknown value (or "fkeys" without a table), *ret untouched.
 */
int scanner_proto_parse_opts(const struct scanner_cfg *cfg, bool serial, struct scanner_opts *ret);

/**
 * @brief Parse an F-key table "F1=GS,F2=RS,F3=EOT" (separators ',' or blanks; values are
 * ASCII control names NUL..US and DEL, or 0xNN).
 * @param ret receives SCANNER_FKEYS_N entries, -1 for keys not named.
 * @return 0; -EINVAL with @p ret untouched.
 */
int scanner_proto_parse_fkeys(const char *text, int16_t ret[SCANNER_FKEYS_N]);

/**
 * @brief Split an AIM symbology identifier off the front of @p scan according to @p mode:
 * "]" + a letter + a letter or digit. Sets scan->aim ("" when none) and, for
 * SCANNER_AIM_STRIP, removes the three bytes from scan->text.
 */
void scanner_proto_aim(struct scanner_scan *scan, enum scanner_aim_mode mode);

/* ---- keyboard wedge ------------------------------------------------------------------- */

/*
 * Why a state machine: a keyboard wedge turns each byte of a barcode into key presses, and
 * the byte only exists again once the modifiers around it are known (Shift for capitals, Ctrl
 * or Alt+keypad for the control characters of 2D labels). The decoder keeps the modifier
 * state, the Alt+numpad accumulator and the scan being typed; it decodes as a US keyboard with
 * Caps Lock off (the device is grabbed, so the host's Caps Lock LED means nothing; a Caps Lock
 * key typed by the scanner itself toggles the decoder's own state, letters only).
 *
 * A scan ends at Enter / keypad Enter. A gap longer than the timeout between key events
 * (measured on the events' kernel timestamps) aborts a half-typed scan, or ends it when the
 * scanner sends no terminator (SCANNER_TERM_NONE). SYN_DROPPED (the kernel's buffer
 * overflowed and events were lost) rejects the scan being typed: its remaining keys are
 * dropped up to the next terminator or gap.
 */

/** Counters (monotonic since init) for the station's health report and the decode tool. */
struct scanner_wedge_stats {
	unsigned long scans;       /* complete scans returned */
	unsigned long syn_dropped; /* SYN_DROPPED seen (a scan rejected) */
	unsigned long timeouts;    /* half-typed scans aborted by a gap */
	unsigned long overflows;   /* scans longer than SCANNER_SCAN_MAX dropped */
	unsigned long unmapped;    /* key presses that type nothing under the options */
};

struct scanner_wedge {
	struct scanner_opts opts;
	bool shift_l, shift_r, ctrl_l, ctrl_r, alt_l, alt_r, caps;
	unsigned altnum;        /* Alt+keypad value being typed */
	unsigned altnum_digits; /* digits typed so far */
	bool in_drop;           /* between SYN_DROPPED and the next SYN_REPORT */
	bool skipping;          /* dropping the rest of a rejected scan */
	bool overflow;          /* the scan outgrew SCANNER_SCAN_MAX */
	uint64_t last_ns;       /* timestamp of the last key event */
	size_t len;
	char buf[SCANNER_SCAN_MAX];
	struct scanner_wedge_stats stats;
};

/** @brief Start a decoder with @p opts (copied). */
void scanner_wedge_init(struct scanner_wedge *w, const struct scanner_opts *opts);

/**
 * @brief Decode a batch of events: call until -EAGAIN, passing the same batch and @p pos.
 * @param evs, n the events; *pos is the index of the next one to decode and advances.
 * @return 0 and *ret a complete scan; -EAGAIN every event consumed (nothing more yet);
 *         -EBADMSG a half-typed scan aborted by a gap; -EPROTO SYN_DROPPED, the scan being
 *         typed is rejected; -EMSGSIZE a scan longer than SCANNER_SCAN_MAX was dropped.
 *         After any return but -EAGAIN call again. *ret is untouched unless 0.
 */
int scanner_wedge_run(struct scanner_wedge *w, const struct hal_evdev_event *evs, size_t n,
		      size_t *pos, struct scanner_scan *ret);

/**
 * @brief The clock reached @p now_ns with no new event: end or abort a pending scan whose
 * last key is older than the timeout.
 * @return 0 and *ret (SCANNER_TERM_NONE); -EBADMSG aborted; -EMSGSIZE an overlong scan ended;
 *         -EAGAIN nothing due.
 */
int scanner_wedge_expire(struct scanner_wedge *w, uint64_t now_ns, struct scanner_scan *ret);

/** @brief When scanner_wedge_expire() has something to do (ns, same clock), 0 = never. */
uint64_t scanner_wedge_deadline(const struct scanner_wedge *w);

/* ---- serial stream -------------------------------------------------------------------- */

struct scanner_stream_stats {
	unsigned long scans;     /* complete scans returned */
	unsigned long timeouts;  /* partial scans dropped by a gap (terminated modes) */
	unsigned long overflows; /* scans longer than SCANNER_SCAN_MAX dropped */
};

/*
 * The serial decoder: bytes arrive in arbitrary chunks. A scan ends at the terminator (see
 * enum scanner_term); empty scans (a bare terminator) are skipped. With SCANNER_TERM_NONE a
 * silence longer than the gap ends the scan; with a terminator, the same silence in the middle
 * of a scan drops the partial bytes (line noise at plug-in, a scanner reset mid-send), so they
 * cannot glue onto the next scan. Arrival times are passed in (a tty has no timestamps).
 */
struct scanner_stream {
	struct scanner_opts opts;
	bool overflow;
	bool after_cr;    /* SCANNER_TERM_CR: the last byte ended a scan with CR */
	uint64_t last_ns; /* arrival of the last byte */
	size_t len;
	char buf[SCANNER_SCAN_MAX + 1]; /* + 1: a CR held back until the LF decides */
	struct scanner_stream_stats stats;
};

/** @brief Start a decoder with @p opts (copied). */
void scanner_stream_init(struct scanner_stream *s, const struct scanner_opts *opts);

/**
 * @brief Decode bytes that arrived at @p now_ns; call until every byte is used.
 * @param ret_used receives how many of the @p n bytes were consumed (possibly 0 when a gap
 *        before them ended or dropped a pending scan).
 * @return 0 and *ret a complete scan; -EAGAIN all bytes used, no scan complete; -EBADMSG a
 *         partial scan dropped by a gap; -EMSGSIZE an overlong scan dropped.
 */
int scanner_stream_feed(struct scanner_stream *s, const char *data, size_t n, uint64_t now_ns,
			size_t *ret_used, struct scanner_scan *ret);

/** @brief As scanner_wedge_expire(), for the serial stream. */
int scanner_stream_expire(struct scanner_stream *s, uint64_t now_ns, struct scanner_scan *ret);

/** @brief As scanner_wedge_deadline(), for the serial stream. */
uint64_t scanner_stream_deadline(const struct scanner_stream *s);

/* ---- evemu files ---------------------------------------------------------------------- */

/**
 * @brief Parse one line of an evemu-record file. Event lines look like
 * "E: 12.000345 0001 001e 0001	# EV_KEY / KEY_A 1" (seconds.microseconds, type and code in
 * hex, value in decimal); every other line ('#' comments, the N:/I:/P:/B:/A: device
 * description) carries no event.
 * @return 0 and *ret; -ENOMSG not an event line; -EBADMSG a malformed event line.
 */
int scanner_proto_evemu_line(const char *line, struct hal_evdev_event *ret);

#endif
