#!/bin/sh
# SPDX-License-Identifier: MIT
# Run cmocka unit test binaries; print one "N passed, N failed" summary line.
# Usage: tests/run-unit.sh BUILD test_binary...
set -u
build=$1; shift
pass=0; fail=0; failed=
for t in "$@"; do
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed="$failed $(basename "$t")"; fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" = 0 ] || { echo "unit: failing:$failed"; exit 1; }
