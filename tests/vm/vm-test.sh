#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make vm-test: boot the prepared test VM once and run every device check (tests/vm/guest.sh)
# against BUILD_DIR's programs. Prints each check's PASS/FAIL line and a closing
# "vm: N passed, N failed"; exits non-zero on any failure, a VM that did not come up, or a
# missing qemu (that is a failure, not a skip: make deps installs it).
#
# Usage: tests/vm/vm-test.sh [BUILD_DIR]        (VM_TIMEOUT seconds, default 240)
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
if [ ! -x "$build/vm/vm-check" ]; then
	echo "vm: FAIL: $build/vm/vm-check not built (make $build/vm/vm-check)"
	exit 1
fi
out=$(mktemp -d /tmp/sealbench-vm.XXXXXX)
t0=$(date +%s.%N)
"$here/run.sh" -t "${VM_TIMEOUT:-240}" "$out" "$here/guest.sh" "$build"
rc=$?
t1=$(date +%s.%N)
[ -f "$out/results" ] && cat "$out/results"
pass=$(grep -c '^PASS' "$out/results" 2>/dev/null)
fail=$(grep -c '^FAIL' "$out/results" 2>/dev/null)
secs=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')
echo "vm: ${pass:-0} passed, ${fail:-0} failed in $secs s (guest status $rc)"
if [ "$rc" != 0 ] || [ "${fail:-0}" != 0 ] || [ "${pass:-0}" = 0 ]; then
	echo "vm: console log: $out/console.log"
	exit 1
fi
rm -rf "$out"
exit 0
