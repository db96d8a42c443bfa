/* SPDX-License-Identifier: MIT */
/*
 * drivers/scanner/scanner_proto.c - the scanner decoders: sim escapes, board options, AIM
 * prefix, keyboard wedge (evdev), serial stream, evemu lines. Pure: no fd, no clock, no
 * allocation.
 */
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers/scanner/scanner_proto.h"

/** Longest accepted key timeout or gap: a minute is already far beyond any scanner. */
#define SCANNER_TIMEOUT_MS_MAX 60000

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int scanner_proto_unescape(const char *in, size_t len, char *out, size_t out_max, size_t *ret_len)
{
	size_t i, o = 0;
	int hi, lo;
	char c;

	if (!in || !out || !ret_len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		c = in[i];
		if (c == '\\') {
			if (++i == len)
				return -EBADMSG;
			switch (in[i]) {
			case '\\':
				c = '\\';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'x':
				if (len - i < 3)
					return -EBADMSG;
				hi = hexval(in[i + 1]);
				lo = hexval(in[i + 2]);
				if (hi < 0 || lo < 0)
					return -EBADMSG;
				c = (char)(hi << 4 | lo);
				i += 2;
				break;
			default:
				return -EBADMSG;
			}
		}
		if (o == out_max)
			return -EMSGSIZE;
		out[o++] = c;
	}
	out[o] = '\0';
	*ret_len = o;
	return 0;
}

/* ---- options ------------------------------------------------------------------------- */

/* ASCII only: the locale-dependent <ctype.h> classes and negative chars do not mix. */
static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* A cfg string field, checked for its terminating NUL. */
static const char *cfg_str(const char *field, size_t size)
{
	return memchr(field, '\0', size) ? field : NULL;
}

/* Next token of a ','- or blank-separated list; @return its length, 0 at the end. */
static size_t next_token(const char **p)
{
	size_t n = 0;

	while (**p && is_sep(**p))
		(*p)++;
	while ((*p)[n] && !is_sep((*p)[n]))
		n++;
	return n;
}

static bool token_is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && !strncasecmp(tok, word, n);
}

/* The names of the C0 control characters, by value, and DEL. */
static const char *const ctrl_names[32] = {
	"NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF",
	"VT", "FF", "CR", "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK",
	"SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
};

/* A byte value: a control name or 0xNN. @return 0..255, -EINVAL. */
static int parse_byte(const char *s, size_t n)
{
	int hi, lo;
	size_t i;

	for (i = 0; i < 32; i++) {
		if (token_is(s, n, ctrl_names[i]))
			return (int)i;
	}
	if (token_is(s, n, "DEL"))
		return 0x7f;
	if (n == 4 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		hi = hexval(s[2]);
		lo = hexval(s[3]);
		if (hi >= 0 && lo >= 0)
			return hi << 4 | lo;
	}
	return -EINVAL;
}

int scanner_proto_parse_fkeys(const char *text, int16_t ret[SCANNER_FKEYS_N])
{
	int16_t map[SCANNER_FKEYS_N];
	const char *p = text, *eq;
	unsigned key;
	size_t n, i;
	int v;

	if (!text || !ret)
		return -EINVAL;
	for (i = 0; i < SCANNER_FKEYS_N; i++)
		map[i] = -1;
	while ((n = next_token(&p)) > 0) {
		eq = memchr(p, '=', n);
		if (!eq || (p[0] != 'F' && p[0] != 'f'))
			return -EINVAL;
		key = 0;
		for (i = 1; p + i < eq; i++) {
			if (!is_digit(p[i]) || i > 2)
				return -EINVAL;
			key = key * 10 + (unsigned)(p[i] - '0');
		}
		if (key < 1 || key > SCANNER_FKEYS_N)
			return -EINVAL;
		v = parse_byte(eq + 1, n - (size_t)(eq + 1 - p));
		if (v < 0)
			return v;
		map[key - 1] = (int16_t)v;
		p += n;
	}
	memcpy(ret, map, sizeof(map));
	return 0;
}

int scanner_proto_parse_opts(const struct scanner_cfg *cfg, bool serial, struct scanner_opts *ret)
{
	const char *ctrl, *fkeys, *aim, *term, *p;
	struct scanner_opts o;
	bool none = false;
	unsigned ms;
	size_t n, i;
	int r;

	if (!cfg || !ret)
		return -EINVAL;
	ctrl = cfg_str(cfg->ctrl_map, sizeof(cfg->ctrl_map));
	fkeys = cfg_str(cfg->fkeys, sizeof(cfg->fkeys));
	aim = cfg_str(cfg->aim, sizeof(cfg->aim));
	term = cfg_str(cfg->terminator, sizeof(cfg->terminator));
	if (!ctrl || !fkeys || !aim || !term)
		return -EINVAL;
	memset(&o, 0, sizeof(o));
	for (i = 0; i < SCANNER_FKEYS_N; i++)
		o.fkeys[i] = -1;
	if (*fkeys) {
		r = scanner_proto_parse_fkeys(fkeys, o.fkeys);
		if (r < 0)
			return r;
	}

	p = ctrl;
	if (!*p)
		o.ctrl_map = SCANNER_CTRL_CTRL | SCANNER_CTRL_ALTNUM | (*fkeys ? SCANNER_CTRL_FKEYS : 0);
	while ((n = next_token(&p)) > 0) {
		if (token_is(p, n, "ctrl"))
			o.ctrl_map |= SCANNER_CTRL_CTRL;
		else if (token_is(p, n, "fkeys"))
			o.ctrl_map |= SCANNER_CTRL_FKEYS;
		else if (token_is(p, n, "altnum"))
			o.ctrl_map |= SCANNER_CTRL_ALTNUM;
		else if (token_is(p, n, "none"))
			none = true;
		else
			return -EINVAL;
		p += n;
	}
	if (none && o.ctrl_map)
		return -EINVAL;
	if ((o.ctrl_map & SCANNER_CTRL_FKEYS) && !*fkeys)
		return -EINVAL;

	if (!*aim || !strcasecmp(aim, "strip"))
		o.aim = SCANNER_AIM_STRIP;
	else if (!strcasecmp(aim, "keep"))
		o.aim = SCANNER_AIM_KEEP;
	else if (!strcasecmp(aim, "off"))
		o.aim = SCANNER_AIM_OFF;
	else
		return -EINVAL;

	if (!strcasecmp(term, "none"))
		o.term = SCANNER_TERM_NONE;
	else if (!serial && (!*term || !strcasecmp(term, "enter") || !strcasecmp(term, "cr") ||
			     !strcasecmp(term, "lf") || !strcasecmp(term, "crlf")))
		o.term = SCANNER_TERM_ENTER;
	else if (serial && (!*term || !strcasecmp(term, "cr") || !strcasecmp(term, "enter")))
		o.term = SCANNER_TERM_CR;
	else if (serial && !strcasecmp(term, "lf"))
		o.term = SCANNER_TERM_LF;
	else if (serial && !strcasecmp(term, "crlf"))
		o.term = SCANNER_TERM_CRLF;
	else
		return -EINVAL;

	ms = serial ? cfg->gap_ms : cfg->key_timeout_ms;
	if (!ms)
		ms = serial ? SCANNER_GAP_MS_DEFAULT : SCANNER_KEY_TIMEOUT_MS_DEFAULT;
	if (ms > SCANNER_TIMEOUT_MS_MAX)
		return -EINVAL;
	o.timeout_ns = (uint64_t)ms * 1000000ULL;
	*ret = o;
	return 0;
}

void scanner_proto_aim(struct scanner_scan *scan, enum scanner_aim_mode mode)
{
	scan->aim[0] = '\0';
	if (mode == SCANNER_AIM_OFF || scan->len < 3 || scan->text[0] != ']' ||
	    !is_alpha(scan->text[1]) || !(is_alpha(scan->text[2]) || is_digit(scan->text[2])))
		return;
	memcpy(scan->aim, scan->text, 3);
	scan->aim[3] = '\0';
	if (mode == SCANNER_AIM_STRIP) {
		memmove(scan->text, scan->text + 3, scan->len - 3 + 1);
		scan->len -= 3;
	}
}

/* ---- keyboard wedge ------------------------------------------------------------------- */

/** Keycodes covered by the character tables (KEY_KPCOMMA is the highest typing key). */
#define WEDGE_KEYS 128

/* US layout, Shift up and down. 0 = types nothing. The keypad types the same either way. */
static const char keymap_plain[WEDGE_KEYS] = {
	[KEY_1] = '1', [KEY_2] = '2', [KEY_3] = '3', [KEY_4] = '4', [KEY_5] = '5',
	[KEY_6] = '6', [KEY_7] = '7', [KEY_8] = '8', [KEY_9] = '9', [KEY_0] = '0',
	[KEY_MINUS] = '-', [KEY_EQUAL] = '=', [KEY_TAB] = '\t',
	[KEY_Q] = 'q', [KEY_W] = 'w', [KEY_E] = 'e', [KEY_R] = 'r', [KEY_T] = 't',
	[KEY_Y] = 'y', [KEY_U] = 'u', [KEY_I] = 'i', [KEY_O] = 'o', [KEY_P] = 'p',
	[KEY_LEFTBRACE] = '[', [KEY_RIGHTBRACE] = ']',
	[KEY_A] = 'a', [KEY_S] = 's', [KEY_D] = 'd', [KEY_F] = 'f', [KEY_G] = 'g',
	[KEY_H] = 'h', [KEY_J] = 'j', [KEY_K] = 'k', [KEY_L] = 'l',
	[KEY_SEMICOLON] = ';', [KEY_APOSTROPHE] = '\'', [KEY_GRAVE] = '`',
	[KEY_BACKSLASH] = '\\',
	[KEY_Z] = 'z', [KEY_X] = 'x', [KEY_C] = 'c', [KEY_V] = 'v', [KEY_B] = 'b',
	[KEY_N] = 'n', [KEY_M] = 'm',
	[KEY_COMMA] = ',', [KEY_DOT] = '.', [KEY_SLASH] = '/', [KEY_SPACE] = ' ',
	[KEY_KPASTERISK] = '*', [KEY_KPMINUS] = '-', [KEY_KPPLUS] = '+', [KEY_KPDOT] = '.',
	[KEY_KPSLASH] = '/', [KEY_KPEQUAL] = '=', [KEY_KPCOMMA] = ',',
	[KEY_KP0] = '0', [KEY_KP1] = '1', [KEY_KP2] = '2', [KEY_KP3] = '3', [KEY_KP4] = '4',
	[KEY_KP5] = '5', [KEY_KP6] = '6', [KEY_KP7] = '7', [KEY_KP8] = '8', [KEY_KP9] = '9',
};

static const char keymap_shift[WEDGE_KEYS] = {
	[KEY_1] = '!', [KEY_2] = '@', [KEY_3] = '#', [KEY_4] = '$', [KEY_5] = '%',
	[KEY_6] = '^', [KEY_7] = '&', [KEY_8] = '*', [KEY_9] = '(', [KEY_0] = ')',
	[KEY_MINUS] = '_', [KEY_EQUAL] = '+', [KEY_TAB] = '\t',
	[KEY_Q] = 'Q', [KEY_W] = 'W', [KEY_E] = 'E', [KEY_R] = 'R', [KEY_T] = 'T',
	[KEY_Y] = 'Y', [KEY_U] = 'U', [KEY_I] = 'I', [KEY_O] = 'O', [KEY_P] = 'P',
	[KEY_LEFTBRACE] = '{', [KEY_RIGHTBRACE] = '}',
	[KEY_A] = 'A', [KEY_S] = 'S', [KEY_D] = 'D', [KEY_F] = 'F', [KEY_G] = 'G',
	[KEY_H] = 'H', [KEY_J] = 'J', [KEY_K] = 'K', [KEY_L] = 'L',
	[KEY_SEMICOLON] = ':', [KEY_APOSTROPHE] = '"', [KEY_GRAVE] = '~',
	[KEY_BACKSLASH] = '|',
	[KEY_Z] = 'Z', [KEY_X] = 'X', [KEY_C] = 'C', [KEY_V] = 'V', [KEY_B] = 'B',
	[KEY_N] = 'N', [KEY_M] = 'M',
	[KEY_COMMA] = '<', [KEY_DOT] = '>', [KEY_SLASH] = '?', [KEY_SPACE] = ' ',
	[KEY_KPASTERISK] = '*', [KEY_KPMINUS] = '-', [KEY_KPPLUS] = '+', [KEY_KPDOT] = '.',
	[KEY_KPSLASH] = '/', [KEY_KPEQUAL] = '=', [KEY_KPCOMMA] = ',',
	[KEY_KP0] = '0', [KEY_KP1] = '1', [KEY_KP2] = '2', [KEY_KP3] = '3', [KEY_KP4] = '4',
	[KEY_KP5] = '5', [KEY_KP6] = '6', [KEY_KP7] = '7', [KEY_KP8] = '8', [KEY_KP9] = '9',
};

/* The keypad digit of @p code, or -1. */
static int kp_digit(unsigned code)
{
	switch (code) {
	case KEY_KP0:
		return 0;
	case KEY_KP1:
		return 1;
	case KEY_KP2:
		return 2;
	case KEY_KP3:
		return 3;
	case KEY_KP4:
		return 4;
	case KEY_KP5:
		return 5;
	case KEY_KP6:
		return 6;
	case KEY_KP7:
		return 7;
	case KEY_KP8:
		return 8;
	case KEY_KP9:
		return 9;
	default:
		return -1;
	}
}

/* F1..F24 as 0..23, or -1. */
static int fkey_index(unsigned code)
{
	if (code >= KEY_F1 && code <= KEY_F10)
		return (int)(code - KEY_F1);
	if (code == KEY_F11 || code == KEY_F12)
		return 10 + (int)(code - KEY_F11);
	if (code >= KEY_F13 && code <= KEY_F24)
		return 12 + (int)(code - KEY_F13);
	return -1;
}

/*
 * What Ctrl+key types on a terminal (the ASCII control block): Ctrl+@ NUL, Ctrl+A..Z
 * 0x01..0x1A, Ctrl+[ ESC, Ctrl+\ FS, Ctrl+] GS, Ctrl+^ RS, Ctrl+_ US. Wedges differ on
 * whether they add Shift for ^ _ @, so both forms are accepted. @return the byte, or -1.
 */
static int ctrl_char(unsigned code)
{
	char c = code < WEDGE_KEYS ? keymap_plain[code] : 0;

	if (c >= 'a' && c <= 'z')
		return c - 'a' + 1;
	switch (code) {
	case KEY_2:
	case KEY_SPACE:
		return 0x00;
	case KEY_LEFTBRACE:
		return 0x1b;
	case KEY_BACKSLASH:
		return 0x1c;
	case KEY_RIGHTBRACE:
		return 0x1d;
	case KEY_6:
		return 0x1e;
	case KEY_MINUS:
		return 0x1f;
	default:
		return -1;
	}
}

static bool wedge_pending(const struct scanner_wedge *w)
{
	return w->len || w->overflow || w->skipping || w->altnum_digits;
}

static void wedge_reset_scan(struct scanner_wedge *w)
{
	w->len = 0;
	w->overflow = false;
	w->skipping = false;
	w->altnum = 0;
	w->altnum_digits = 0;
}

static void wedge_reset_mods(struct scanner_wedge *w)
{
	w->shift_l = w->shift_r = false;
	w->ctrl_l = w->ctrl_r = false;
	w->alt_l = w->alt_r = false;
}

void scanner_wedge_init(struct scanner_wedge *w, const struct scanner_opts *opts)
{
	memset(w, 0, sizeof(*w));
	w->opts = *opts;
}

static void wedge_emit(struct scanner_wedge *w, int c)
{
	if (w->skipping || w->overflow)
		return;
	if (w->len == SCANNER_SCAN_MAX) {
		w->overflow = true;
		return;
	}
	w->buf[w->len++] = (char)c;
}

/* Hand the scan out and start the next one. */
static void wedge_take(struct scanner_wedge *w, uint64_t t_ns, struct scanner_scan *ret)
{
	memcpy(ret->text, w->buf, w->len);
	ret->text[w->len] = '\0';
	ret->len = w->len;
	ret->t_ns = t_ns;
	scanner_proto_aim(ret, w->opts.aim);
	w->stats.scans++;
	wedge_reset_scan(w);
}

/* Enter / keypad Enter. */
static int wedge_terminate(struct scanner_wedge *w, uint64_t t_ns, struct scanner_scan *ret)
{
	if (w->skipping) {
		wedge_reset_scan(w);
		return -EAGAIN;
	}
	if (w->overflow) {
		wedge_reset_scan(w);
		w->stats.overflows++;
		return -EMSGSIZE;
	}
	w->altnum = 0;
	w->altnum_digits = 0;
	if (!w->len)
		return -EAGAIN; /* a bare Enter */
	wedge_take(w, t_ns, ret);
	return 0;
}

/* Alt went up: an Alt+keypad code is complete. */
static void wedge_altnum_done(struct scanner_wedge *w)
{
	if (!w->altnum_digits)
		return;
	if (w->altnum <= 0xff)
		wedge_emit(w, (int)w->altnum);
	else
		w->stats.unmapped++;
	w->altnum = 0;
	w->altnum_digits = 0;
}

static int wedge_key(struct scanner_wedge *w, const struct hal_evdev_event *ev,
		     struct scanner_scan *ret)
{
	bool down = ev->value == 1, shift;
	unsigned code = ev->code;
	int c, d, f;

	if (ev->value == 2)
		return -EAGAIN; /* autorepeat: a wedge never holds a key that long on purpose */
	w->last_ns = ev->t_ns;
	switch (code) {
	case KEY_LEFTSHIFT:
		w->shift_l = down;
		return -EAGAIN;
	case KEY_RIGHTSHIFT:
		w->shift_r = down;
		return -EAGAIN;
	case KEY_LEFTCTRL:
		w->ctrl_l = down;
		return -EAGAIN;
	case KEY_RIGHTCTRL:
		w->ctrl_r = down;
		return -EAGAIN;
	case KEY_LEFTALT:
	case KEY_RIGHTALT:
		if (code == KEY_LEFTALT)
			w->alt_l = down;
		else
			w->alt_r = down;
		if (!w->alt_l && !w->alt_r)
			wedge_altnum_done(w);
		return -EAGAIN;
	default:
		break;
	}
	if (!down)
		return -EAGAIN;
	if (code == KEY_CAPSLOCK) {
		w->caps = !w->caps;
		return -EAGAIN;
	}
	if (code == KEY_NUMLOCK || code == KEY_SCROLLLOCK)
		return -EAGAIN;
	if (code == KEY_ENTER || code == KEY_KPENTER)
		return wedge_terminate(w, ev->t_ns, ret);

	if (w->alt_l || w->alt_r) {
		d = kp_digit(code);
		if (d >= 0 && (w->opts.ctrl_map & SCANNER_CTRL_ALTNUM)) {
			/* saturate: anything above 0xff is rejected when Alt goes up */
			if (w->altnum <= 0xff)
				w->altnum = w->altnum * 10 + (unsigned)d;
			w->altnum_digits++;
		} else {
			w->stats.unmapped++;
		}
		return -EAGAIN;
	}
	f = fkey_index(code);
	if (f >= 0) {
		if ((w->opts.ctrl_map & SCANNER_CTRL_FKEYS) && w->opts.fkeys[f] >= 0)
			wedge_emit(w, w->opts.fkeys[f]);
		else
			w->stats.unmapped++;
		return -EAGAIN;
	}
	if (w->ctrl_l || w->ctrl_r) {
		c = (w->opts.ctrl_map & SCANNER_CTRL_CTRL) ? ctrl_char(code) : -1;
		if (c >= 0)
			wedge_emit(w, c);
		else
			w->stats.unmapped++;
		return -EAGAIN;
	}
	shift = w->shift_l || w->shift_r;
	c = code < WEDGE_KEYS ? keymap_plain[code] : 0;
	if (c >= 'a' && c <= 'z' && w->caps)
		shift = !shift;
	if (code < WEDGE_KEYS && shift)
		c = keymap_shift[code];
	if (c)
		wedge_emit(w, c);
	else
		w->stats.unmapped++;
	return -EAGAIN;
}

static int wedge_feed(struct scanner_wedge *w, const struct hal_evdev_event *ev,
		      struct scanner_scan *ret)
{
	if (ev->type == EV_SYN && ev->code == SYN_DROPPED) {
		/* Events are lost up to the next SYN_REPORT: the scan being typed is
		 * incomplete whatever follows, and key releases may be among the lost. */
		w->stats.syn_dropped++;
		wedge_reset_scan(w);
		wedge_reset_mods(w);
		w->in_drop = true;
		w->skipping = true;
		w->last_ns = ev->t_ns;
		return -EPROTO;
	}
	if (ev->type == EV_SYN && ev->code == SYN_REPORT && w->in_drop) {
		w->in_drop = false;
		wedge_reset_mods(w);
		return -EAGAIN;
	}
	if (ev->type != EV_KEY || w->in_drop)
		return -EAGAIN;
	return wedge_key(w, ev, ret);
}

int scanner_wedge_expire(struct scanner_wedge *w, uint64_t now_ns, struct scanner_scan *ret)
{
	if (!wedge_pending(w) || now_ns <= w->last_ns || now_ns - w->last_ns <= w->opts.timeout_ns)
		return -EAGAIN;
	if (w->skipping) {
		wedge_reset_scan(w);
		return -EAGAIN;
	}
	if (w->overflow) {
		wedge_reset_scan(w);
		w->stats.overflows++;
		return -EMSGSIZE;
	}
	if (w->opts.term == SCANNER_TERM_NONE && w->len) {
		w->altnum = 0;
		w->altnum_digits = 0;
		wedge_take(w, w->last_ns, ret);
		return 0;
	}
	wedge_reset_scan(w);
	w->stats.timeouts++;
	return -EBADMSG;
}

uint64_t scanner_wedge_deadline(const struct scanner_wedge *w)
{
	return wedge_pending(w) ? w->last_ns + w->opts.timeout_ns + 1 : 0;
}

int scanner_wedge_run(struct scanner_wedge *w, const struct hal_evdev_event *evs, size_t n,
		      size_t *pos, struct scanner_scan *ret)
{
	const struct hal_evdev_event *ev;
	int r;

	while (*pos < n) {
		ev = &evs[*pos];
		/* A gap before this key ends the previous scan first; the key stays unread. */
		if (ev->type == EV_KEY && !w->in_drop) {
			r = scanner_wedge_expire(w, ev->t_ns, ret);
			if (r != -EAGAIN)
				return r;
		}
		(*pos)++;
		r = wedge_feed(w, ev, ret);
		if (r != -EAGAIN)
			return r;
	}
	return -EAGAIN;
}

/* ---- serial stream -------------------------------------------------------------------- */

void scanner_stream_init(struct scanner_stream *s, const struct scanner_opts *opts)
{
	memset(s, 0, sizeof(*s));
	s->opts = *opts;
}

static bool stream_pending(const struct scanner_stream *s)
{
	return s->len || s->overflow;
}

static void stream_reset(struct scanner_stream *s)
{
	s->len = 0;
	s->overflow = false;
}

static void stream_put(struct scanner_stream *s, char c)
{
	if (s->overflow)
		return;
	/* One byte beyond the maximum for a CR that a following LF may still remove. */
	if (s->len < SCANNER_SCAN_MAX || (s->len == SCANNER_SCAN_MAX && c == '\r'))
		s->buf[s->len++] = c;
	else
		s->overflow = true;
}

static int stream_finish(struct scanner_stream *s, uint64_t t_ns, struct scanner_scan *ret)
{
	if (s->overflow || s->len > SCANNER_SCAN_MAX) {
		stream_reset(s);
		s->stats.overflows++;
		return -EMSGSIZE;
	}
	if (!s->len)
		return -EAGAIN; /* a bare terminator */
	memcpy(ret->text, s->buf, s->len);
	ret->text[s->len] = '\0';
	ret->len = s->len;
	ret->t_ns = t_ns;
	scanner_proto_aim(ret, s->opts.aim);
	s->stats.scans++;
	stream_reset(s);
	return 0;
}

int scanner_stream_expire(struct scanner_stream *s, uint64_t now_ns, struct scanner_scan *ret)
{
	if (!stream_pending(s) || now_ns <= s->last_ns || now_ns - s->last_ns <= s->opts.timeout_ns)
		return -EAGAIN;
	if (s->opts.term == SCANNER_TERM_NONE || s->overflow)
		return stream_finish(s, s->last_ns, ret);
	stream_reset(s);
	s->stats.timeouts++;
	return -EBADMSG;
}

uint64_t scanner_stream_deadline(const struct scanner_stream *s)
{
	return stream_pending(s) ? s->last_ns + s->opts.timeout_ns + 1 : 0;
}

int scanner_stream_feed(struct scanner_stream *s, const char *data, size_t n, uint64_t now_ns,
			size_t *ret_used, struct scanner_scan *ret)
{
	bool prev_cr;
	size_t i;
	char c;
	int r;

	*ret_used = 0;
	r = scanner_stream_expire(s, now_ns, ret);
	if (r != -EAGAIN)
		return r;
	for (i = 0; i < n; i++) {
		c = data[i];
		s->last_ns = now_ns;
		prev_cr = s->after_cr;
		s->after_cr = c == '\r';
		r = -EAGAIN;
		switch (s->opts.term) {
		case SCANNER_TERM_CR:
		case SCANNER_TERM_ENTER:
			if (c == '\r')
				r = stream_finish(s, now_ns, ret);
			else if (!(c == '\n' && prev_cr))
				stream_put(s, c);
			break;
		case SCANNER_TERM_LF:
		case SCANNER_TERM_CRLF:
			if (c == '\n' && (prev_cr || s->opts.term == SCANNER_TERM_LF)) {
				if (prev_cr && !s->overflow && s->len && s->buf[s->len - 1] == '\r')
					s->len--;
				r = stream_finish(s, now_ns, ret);
			} else {
				stream_put(s, c);
			}
			break;
		case SCANNER_TERM_NONE:
			stream_put(s, c);
			break;
		}
		if (r != -EAGAIN) {
			*ret_used = i + 1;
			return r;
		}
	}
	*ret_used = n;
	return -EAGAIN;
}

/* ---- evemu files ---------------------------------------------------------------------- */

int scanner_proto_evemu_line(const char *line, struct hal_evdev_event *ret)
{
	unsigned long long sec, usec = 0, scale = 100000;
	unsigned long type, code;
	const char *p;
	char *end;
	long value;

	if (!line || !ret)
		return -EINVAL;
	if (strncmp(line, "E:", 2))
		return -ENOMSG;
	p = line + 2;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!is_digit(*p))
		return -EBADMSG;
	errno = 0;
	sec = strtoull(p, &end, 10);
	if (errno || *end != '.')
		return -EBADMSG;
	/* evemu prints %06lu microseconds; accept 1..6 fraction digits */
	for (p = end + 1; is_digit(*p) && scale; p++, scale /= 10)
		usec += (unsigned long long)(*p - '0') * scale;
	if (p == end + 1 || is_digit(*p) || sec > UINT64_MAX / 1000000000ULL - 1)
		return -EBADMSG;
	type = strtoul(p, &end, 16);
	if (end == p || *p == '-' || type > 0xffff)
		return -EBADMSG;
	p = end;
	code = strtoul(p, &end, 16);
	if (end == p || *p == '-' || code > 0xffff)
		return -EBADMSG;
	p = end;
	errno = 0;
	value = strtol(p, &end, 10);
	if (end == p || errno || value < INT32_MIN || value > INT32_MAX)
		return -EBADMSG;
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end && *end != '#')
		return -EBADMSG;
	ret->t_ns = sec * 1000000000ULL + usec * 1000ULL;
	ret->type = (uint16_t)type;
	ret->code = (uint16_t)code;
	ret->value = (int32_t)value;
	return 0;
}
