#!/bin/sh
# SPDX-License-Identifier: MIT
# Recorded-traffic regression (gpsd style): every capture under tests/data/<class>/ goes through
# sealbench-decode, and the output must equal the golden FILE.chk beside it.
#
# Usage: tests/regress.sh [--make] [BUILD_DIR]
#   --make     regenerate the .chk files instead of comparing (then review: git diff tests/data)
#   BUILD_DIR  where sealbench-decode is (default: build)
#
# A capture is a file under tests/data/<class>/ that has a FILE.chk, or a "# Decode: ARGS"
# header line (the sealbench-decode arguments before the file name), or is a scale capture
# (tests/data/scale/*.log, whose decoder follows from its "# Transport:" header). Scripts and
# READMEs are never captures. The arguments come from "# Decode:" when present, else from
# decoder_for(); a class without "# Decode:" headers adds its case there.
set -u
make_chk=0
if [ "${1:-}" = "--make" ]; then make_chk=1; shift; fi
build=${1:-build}
case "$build" in /*) ;; *) build="$(pwd)/$build" ;; esac
cd "$(dirname "$0")/.." || exit 2 # paths in the .chk files are relative to the project root
decode="$build/sealbench-decode"
[ -x "$decode" ] || { echo "regress: $decode not built" >&2; exit 2; }

# decode_args FILE -> the sealbench-decode arguments for FILE, or nothing
decode_args() {
	args=$(head -n 40 "$1" | sed -n 's/^# Decode: *//p' | head -n 1)
	if [ -n "$args" ]; then
		echo "$args"
		return
	fi
	transport=$(head -n 40 "$1" | sed -n 's/^# Transport: *//p' | head -n 1)
	case "$1:$transport" in
	tests/data/scale/*:serial*) echo "scale-serial" ;;
	tests/data/scale/*:usb-hid*) echo "scale-hid" ;;
	esac
}

pass=0; fail=0; made=0; failed=
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for f in tests/data/*/*; do
	[ -f "$f" ] || continue
	case "$f" in *.chk | *.py | *.md | *.sh) continue ;; esac
	args=$(decode_args "$f")
	case "$f" in tests/data/scale/*.log) want=1 ;; *) want=0 ;; esac
	[ -f "$f.chk" ] && want=1
	[ -n "$args" ] && want=1
	[ "$want" = 1 ] || continue
	if [ -z "$args" ]; then
		echo "regress: $f: no '# Decode:' header and no known decoder" >&2
		fail=$((fail + 1)); failed="$failed $f"
		continue
	fi
	# $args is split on purpose: it is a list of arguments.
	if ! "$decode" $args "$f" > "$tmp"; then
		echo "regress: $f: sealbench-decode $args failed" >&2
		fail=$((fail + 1)); failed="$failed $f"
		continue
	fi
	if [ "$make_chk" = 1 ]; then
		cp "$tmp" "$f.chk"
		made=$((made + 1))
	elif [ ! -f "$f.chk" ]; then
		echo "regress: $f: no $f.chk (make makeregress, then review it)" >&2
		fail=$((fail + 1)); failed="$failed $f"
	elif diff -u "$f.chk" "$tmp"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); failed="$failed $f"
	fi
done
if [ "$make_chk" = 1 ]; then
	echo "regress: $made .chk files written; review them with git diff tests/data"
	[ "$fail" = 0 ]
	exit
fi
[ -n "$failed" ] && echo "regress: failing:$failed"
echo "regress: $pass passed, $fail failed"
[ "$fail" = 0 ]
