#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every libFuzzer target in BUILD/fuzz for SECONDS each on its seed corpus.
# A crash, leak or sanitizer report fails the target; the reproducer is kept in BUILD/fuzz/.
# Usage: tests/run-fuzz.sh BUILD SECONDS
set -u
build=$1
secs=$2
pass=0; fail=0; failed=
for t in "$build"/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t" | sed 's/^fuzz_//')
	seeds=tests/fuzz/corpus/$name
	work=$(mktemp -d)
	echo "=== fuzz $name (${secs}s)"
	if [ -d "$seeds" ]; then set -- "$work" "$seeds"; else set -- "$work"; fi
	if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix="$build/fuzz/$name-" -print_final_stats=1 "$@" \
		>"$build/fuzz/$name.log" 2>&1; then
		pass=$((pass + 1))
		grep -E 'stat::number_of_executed_units' "$build/fuzz/$name.log" | sed 's/^/  /'
	else
		fail=$((fail + 1)); failed="$failed $name"
		tail -30 "$build/fuzz/$name.log"
	fi
	rm -rf "$work"
done
echo "fuzz: $pass passed, $fail failed"
[ -n "$failed" ] && echo "fuzz: failing:$failed"
[ "$fail" = 0 ]
