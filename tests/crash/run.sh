#!/bin/sh
# SPDX-License-Identifier: MIT
# The durability suites (tests/crash/README.md) against one build directory.
# Usage: tests/crash/run.sh BUILD_DIR [COUNT]
#   without COUNT: make test's counts (300 power cuts, one round of I/O faults, 200 kills);
#   with COUNT (make soak: 10000): COUNT power cuts, COUNT kills, and rounds of the I/O-fault
#   cycle until at least COUNT fault cases have run.
# Prints one line per suite and "crash: N passed, N failed".
set -u
build=${1:-build-asan}
count=${2:-}
PYTHON=${PYTHON:-/usr/bin/python3}
cuts=300; kills=200; rounds=1
if [ -n "$count" ]; then
	cuts=$count; kills=$count
	rounds=$(( (count + 699) / 700 ))	# about 740 fault cases per round
fi
pass=0; fail=0; failed=
suite() {
	name=$1; shift
	echo "=== $name"
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed="$failed $name"; fi
}
suite crash_powercut "$build/tests/crash_powercut" --cuts "$cuts"
suite crash_iofault "$build/tests/crash_iofault" -r "$rounds"
suite crash_diskfull "$build/tests/crash_diskfull"
suite crash_quarantine "$build/tests/crash_quarantine"
suite crash_kill "$PYTHON" tests/crash/kill_test.py --bin "$build" --kills "$kills"
[ -n "$failed" ] && echo "failing crash suites:$failed"
echo "crash: $pass passed, $fail failed"
[ "$fail" = 0 ]
