#!/bin/sh
# SPDX-License-Identifier: MIT
# make test's runner: every suite against one build directory, then one closing line
# "N passed, N failed" over the suites.
# Usage: tests/run-all.sh BUILD_DIR
set -u
build=${1:-build-asan}
PYTHON=${PYTHON:-/usr/bin/python3}
pass=0; fail=0; failed=
suite() {
	name=$1; shift
	echo "=== $name"
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed="$failed $name"; fi
}

# Unit tests (cmocka), each its own process.
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	suite "$(basename "$t")" "$t"
done

# Every record the record tests build must validate against the JSON Schema; the bad fixtures
# must not.
records=$(mktemp -d)
trap 'rm -rf "$records"' EXIT
suite schema-built sh -c "SEALBENCH_RECORD_DIR='$records' '$build/tests/test_record' >/dev/null &&
	'$PYTHON' tests/validate_records.py '$records' tests/data/records/good"
suite schema-bad "$PYTHON" tests/validate_records.py --expect-invalid tests/data/records/bad

# Recorded device traffic through the decoders, diffed against the golden outputs.
suite regress tests/regress.sh "$build"

# Durability: power cuts (crash VFS), I/O faults, disk full, quarantine, SIGKILL under load.
suite crash tests/crash/run.sh "$build"

# The benchmarks in their short mode: they run and write a table (no timing is asserted)
# whose header names the machine and the storage; then where make bench puts its files.
bench_short() {
	out=$("$PYTHON" tests/bench/run.py --short --bin "$build" \
		--bench "$build/bench/sealbench-bench" --out "$build/bench") || return 1
	printf '%s\n' "$out"
	f=$(printf '%s\n' "$out" | sed -n 's/^written to //p')
	[ -n "$f" ] && grep -q "^machine: " "$f" && grep -q "^storage (the bench's files" "$f"
}
suite bench-short bench_short
suite bench-run "$PYTHON" tests/bench/run_check.py

# arm64: unit tests cross-built and run under qemu-user (alignment, endianness, char sign).
suite arm64 make --no-print-directory test-arm64
# The Debian package: make deb, install into an overlay scratch root, start, purge.
suite package tests/package/run.sh

# Integration: real mosquitto, the sink, the daemon on the sim board.
[ -f tests/integration/sink_check.py ] &&
	suite sink "$PYTHON" tests/integration/sink_check.py --bin "$build"
suite integration "$PYTHON" tests/integration/run.py --bin "$build"
suite verify "$PYTHON" tests/integration/verify_check.py --bin "$build"
suite service "$PYTHON" tests/service/run.py "$build"

# The drivers and the whole daemon against real kernel devices (vivid, uinput, dummy_hcd
# gadgets, gpio-sim) in a qemu VM; a missing qemu or unprepared VM is a FAIL.
suite vm tests/vm/vm-test.sh "$build"

echo
[ -n "$failed" ] && echo "failing suites:$failed"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
