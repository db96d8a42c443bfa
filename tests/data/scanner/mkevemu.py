#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the SYNTHETIC evemu captures under tests/data/scanner/ and tests/data/badge/.

They are built from the key codes of linux/input-event-codes.h and the HID usages of a USB
keyboard (MSC_SCAN), the way a keyboard-wedge scanner types: one press and one release per
character, each followed by SYN_REPORT, a few milliseconds apart. Replace them with
evemu-record captures of real devices as those become available (keep the file names and the
tests' expectations, or update both in one commit).

Usage: tests/data/scanner/mkevemu.py   (run from the repository root; rewrites the files)
"""
import os

EV_SYN, EV_KEY, EV_MSC = 0, 1, 4
SYN_REPORT, SYN_DROPPED = 0, 3
MSC_SCAN = 4

KEY = dict(ESC=1, MINUS=12, EQUAL=13, BACKSPACE=14, TAB=15, LEFTBRACE=26, RIGHTBRACE=27,
           ENTER=28, LEFTCTRL=29, SEMICOLON=39, APOSTROPHE=40, GRAVE=41, LEFTSHIFT=42,
           BACKSLASH=43, COMMA=51, DOT=52, SLASH=53, RIGHTSHIFT=54, KPASTERISK=55,
           LEFTALT=56, SPACE=57, CAPSLOCK=58, NUMLOCK=69, KPMINUS=74, KPPLUS=78, KPDOT=83,
           KPENTER=96, RIGHTCTRL=97, KPSLASH=98, RIGHTALT=100, UP=103, F1=59, F2=60, F3=61,
           F4=62, F5=63)
for i, c in enumerate("1234567890"):
    KEY[c] = 2 + i
for row, first in (("qwertyuiop", 16), ("asdfghjkl", 30), ("zxcvbnm", 44)):
    for i, c in enumerate(row):
        KEY[c] = first + i
KP = {"7": 71, "8": 72, "9": 73, "4": 75, "5": 76, "6": 77, "1": 79, "2": 80, "3": 81, "0": 82}

# HID keyboard usages (page 7) for MSC_SCAN, where a wedge reports them.
USAGE = {KEY[c]: 0x04 + i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")}
USAGE.update({KEY[c]: 0x1e + i for i, c in enumerate("1234567890")})
USAGE.update({KEY["ENTER"]: 0x28, KEY["TAB"]: 0x2b, KEY["SPACE"]: 0x2c, KEY["MINUS"]: 0x2d,
              KEY["EQUAL"]: 0x2e, KEY["LEFTBRACE"]: 0x2f, KEY["RIGHTBRACE"]: 0x30,
              KEY["BACKSLASH"]: 0x31, KEY["SEMICOLON"]: 0x33, KEY["APOSTROPHE"]: 0x34,
              KEY["GRAVE"]: 0x35, KEY["COMMA"]: 0x36, KEY["DOT"]: 0x37, KEY["SLASH"]: 0x38,
              KEY["CAPSLOCK"]: 0x39, KEY["LEFTCTRL"]: 0xe0, KEY["LEFTSHIFT"]: 0xe1,
              KEY["LEFTALT"]: 0xe2, KEY["RIGHTCTRL"]: 0xe4, KEY["RIGHTSHIFT"]: 0xe5,
              KEY["RIGHTALT"]: 0xe6, KEY["KPENTER"]: 0x58, KEY["KPSLASH"]: 0x54,
              KEY["KPASTERISK"]: 0x55, KEY["KPMINUS"]: 0x56, KEY["KPPLUS"]: 0x57,
              KEY["KPDOT"]: 0x63, KEY["F1"]: 0x3a, KEY["F2"]: 0x3b, KEY["F3"]: 0x3c})
USAGE.update({v: 0x59 + (int(k) - 1) % 10 if k != "0" else 0x62 for k, v in KP.items()})

SHIFTED = {'!': '1', '@': '2', '#': '3', '$': '4', '%': '5', '^': '6', '&': '7', '*': '8',
           '(': '9', ')': '0', '_': 'MINUS', '+': 'EQUAL', '{': 'LEFTBRACE', '}': 'RIGHTBRACE',
           ':': 'SEMICOLON', '"': 'APOSTROPHE', '~': 'GRAVE', '|': 'BACKSLASH', '<': 'COMMA',
           '>': 'DOT', '?': 'SLASH'}
PLAIN = {'-': 'MINUS', '=': 'EQUAL', '[': 'LEFTBRACE', ']': 'RIGHTBRACE', ';': 'SEMICOLON',
         "'": 'APOSTROPHE', '`': 'GRAVE', '\\': 'BACKSLASH', ',': 'COMMA', '.': 'DOT',
         '/': 'SLASH', ' ': 'SPACE', '\t': 'TAB'}
KPCHAR = {'+': 'KPPLUS', '-': 'KPMINUS', '*': 'KPASTERISK', '/': 'KPSLASH', '.': 'KPDOT'}


class Capture:
    """Events with a running clock in microseconds (a wedge types a key every ~4 ms)."""

    def __init__(self, t0_us=1_000_000, step_us=2000):
        self.t = t0_us
        self.step = step_us
        self.lines = []

    def ev(self, typ, code, value):
        self.lines.append((self.t, typ, code, value))

    def key(self, code, value):
        if code in USAGE and value != 2:
            self.ev(EV_MSC, MSC_SCAN, 0x70000 + USAGE[code])
        self.ev(EV_KEY, code, value)
        self.ev(EV_SYN, SYN_REPORT, 0)
        self.t += self.step

    def tap(self, code, mods=()):
        for m in mods:
            self.key(KEY[m], 1)
        self.key(code, 1)
        self.key(code, 0)
        for m in reversed(mods):
            self.key(KEY[m], 0)

    def gap(self, ms):
        self.t += ms * 1000

    def drop(self):
        self.ev(EV_SYN, SYN_DROPPED, 0)
        self.t += self.step

    def text(self, s, shift="LEFTSHIFT", ctrl="ctrl", fkeys=None, caps=False, keypad=False):
        """Type @s. ctrl: how control bytes are typed: ctrl (Ctrl+^ with Shift), ctrl6
        (Ctrl+6 without Shift), altnum, fkeys (with the fkeys dict byte -> key name)."""
        for ch in s:
            o = ord(ch)
            if o < 0x20 and ch != '\t':
                if ctrl == "altnum":
                    self.key(KEY["LEFTALT"], 1)
                    for d in "%04d" % o:
                        self.tap(KP[d])
                    self.key(KEY["LEFTALT"], 0)
                elif ctrl == "fkeys":
                    self.tap(KEY[fkeys[o]])
                else:
                    base = {0x1b: 'LEFTBRACE', 0x1c: 'BACKSLASH', 0x1d: 'RIGHTBRACE',
                            0x1e: '6', 0x1f: 'MINUS', 0x00: '2'}.get(o)
                    if base is None:
                        self.tap(KEY[chr(o + 0x60)], ("LEFTCTRL",))
                    elif o in (0x1e, 0x1f, 0x00) and ctrl == "ctrl":
                        self.tap(KEY[base], ("LEFTCTRL", "LEFTSHIFT"))
                    else:
                        self.tap(KEY[base], ("LEFTCTRL",))
            elif keypad and (ch.isdigit() or ch in KPCHAR):
                self.tap(KP[ch] if ch.isdigit() else KEY[KPCHAR[ch]])
            elif ch.isalpha():
                upper = ch.isupper()
                if caps:
                    upper = not upper
                self.tap(KEY[ch.lower()], (shift,) if upper else ())
            elif ch.isdigit():
                self.tap(KEY[ch])
            elif ch in SHIFTED:
                self.tap(KEY[SHIFTED[ch]], (shift,))
            else:
                self.tap(KEY[PLAIN[ch]])

    def enter(self, kp=False):
        self.tap(KEY["KPENTER" if kp else "ENTER"])

    def write(self, path, name, legend, decode="evdev"):
        with open(path, "w") as f:
            f.write("# EVEMU 1.3\n")
            f.write("# SYNTHETIC capture, generated by tests/data/scanner/mkevemu.py from the\n")
            f.write("# key codes of linux/input-event-codes.h; not recorded from a device.\n")
            f.write("# Replace it with an evemu-record capture of a real device.\n")
            for line in legend.strip().splitlines():
                f.write("# %s\n" % line)
            # the sealbench-decode arguments for tests/regress.sh (golden FILE.chk)
            f.write("# Decode: %s\n" % decode)
            f.write("N: %s\n" % name)
            f.write("I: 0003 0c2e 0b61 0110\n")
            for t, typ, code, value in self.lines:
                f.write("E: %d.%06d %04x %04x %d\n" % (t // 1000000, t % 1000000, typ, code, value))


def main():
    sd, bd = "tests/data/scanner", "tests/data/badge"
    scanner = "Synthetic Honeywell-style barcode scanner (keyboard wedge, US layout)"

    c = Capture()
    c.text("".join(chr(i) for i in range(0x20, 0x7f)))
    c.enter()
    c.write(os.path.join(sd, "us-keymap.evemu"), scanner,
            "Every printable ASCII character 0x20..0x7e (left Shift), then Enter.")

    c = Capture()
    c.text("HELLO World_ {1+1=2}!", shift="RIGHTSHIFT")
    c.enter()
    c.write(os.path.join(sd, "shift-right.evemu"), scanner,
            "Capitals and shifted symbols typed with the right Shift key.")

    c = Capture()
    c.tap(KEY["CAPSLOCK"])
    c.text("ABCdef123-", caps=True)
    c.tap(KEY["CAPSLOCK"])
    c.enter()
    c.gap(300)
    c.text("xyz")
    c.enter()
    c.write(os.path.join(sd, "capslock.evemu"), scanner,
            "The scanner toggles Caps Lock itself around a scan ('ABCdef123-'), then 'xyz'.")

    c = Capture()
    c.text("0123456789+-*/.", keypad=True)
    c.enter(kp=True)
    c.write(os.path.join(sd, "keypad.evemu"), scanner,
            "Digits and operators on the numeric keypad, keypad Enter as terminator.")

    label = "[)>\x1e01\x1d961Z12345678\x1dUPSN\x1d123X45\x1d\x1e\x04"
    c = Capture()
    c.text(label, ctrl="ctrl")
    c.enter()
    c.gap(300)
    c.text(label, ctrl="ctrl6")
    c.enter()
    c.write(os.path.join(sd, "iso15434-ctrl.evemu"), scanner,
            "An ISO/IEC 15434 label: RS as Ctrl+Shift+6, GS as Ctrl+], EOT as Ctrl+D;\n"
            "then the same label with RS as Ctrl+6 (no Shift).")

    c = Capture()
    c.text(label, ctrl="fkeys", fkeys={0x1d: "F1", 0x1e: "F2", 0x04: "F3"})
    c.enter()
    c.write(os.path.join(sd, "iso15434-fkeys.evemu"), scanner,
            "The same label with GS, RS, EOT sent as F1, F2, F3.",
            decode="evdev --fkeys F1=GS,F2=RS,F3=EOT")

    c = Capture()
    c.text(label, ctrl="altnum")
    c.enter()
    c.write(os.path.join(sd, "iso15434-altnum.evemu"), scanner,
            "The same label with GS, RS, EOT sent as Alt+0029, Alt+0030, Alt+0004.")

    c = Capture()
    c.text("]d2010001234567890510ABC\x1d21XYZ")
    c.enter()
    c.gap(300)
    c.text("]C1ORD-77")
    c.enter()
    c.gap(300)
    c.text("ORD-78")
    c.enter()
    c.write(os.path.join(sd, "aim.evemu"), scanner,
            "AIM identifiers: a GS1 DataMatrix (]d2) with a GS, a Code 128 (]C1), then a scan\n"
            "without one.")

    c = Capture()
    c.text("12345")
    c.gap(500)
    c.text("ORD-1")
    c.enter()
    c.write(os.path.join(sd, "gap-abort.evemu"), scanner,
            "A half-typed scan, 500 ms of silence, then a whole scan: the first is aborted.")

    c = Capture()
    c.text("ABC")
    c.gap(500)
    c.text("DEF")
    c.write(os.path.join(sd, "gap-end.evemu"), scanner,
            "A scanner configured without a terminator: two scans separated by silence.",
            decode="evdev --terminator none")

    c = Capture()
    c.text("ABCD")
    c.drop()
    c.text("EF")
    c.enter()
    c.gap(300)
    c.text("GOOD")
    c.enter()
    c.write(os.path.join(sd, "syn-dropped.evemu"), scanner,
            "The kernel buffer overflowed mid-scan (SYN_DROPPED): that scan is rejected, the\n"
            "next one ('GOOD') is not.")

    c = Capture()
    c.enter()                       # bare Enter: no scan
    c.key(KEY["a"], 1)
    c.key(KEY["a"], 2)              # autorepeat: ignored
    c.key(KEY["a"], 0)
    c.tap(KEY["UP"])                # types nothing
    c.tap(KEY["F5"])                # unmapped F-key
    c.tap(KEY["NUMLOCK"])
    c.tap(KEY["x"], ("LEFTALT",))   # Alt+letter: not typing
    c.text("b")
    c.enter()
    c.write(os.path.join(sd, "noise.evemu"), scanner,
            "A bare Enter, an autorepeat, an arrow key, F5, Num Lock and Alt+x around 'ab'.")

    reader = "Synthetic 125 kHz RFID reader (keyboard, US layout)"
    c = Capture(step_us=1000)
    c.text("0012345678")
    c.enter()
    c.gap(400)
    c.text("04A1B2C3")
    c.enter()
    c.gap(400)
    c.text("9" * 70)
    c.enter()
    c.gap(400)
    c.text("00123")
    c.gap(400)
    c.text("0087654321")
    c.enter()
    c.write(os.path.join(bd, "rfid-kbd.evemu"), reader,
            "Badges typed as a keyboard: '0012345678', '04A1B2C3', a 70-digit burst (too long),\n"
            "a half-typed '00123' cut by silence, then '0087654321'.",
            decode="evdev --badge")


if __name__ == "__main__":
    main()
