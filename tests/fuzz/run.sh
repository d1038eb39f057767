#!/bin/sh
# tests/fuzz/run.sh - run the libFuzzer harnesses of a fuzz build for a set time each
#
#   tests/fuzz/run.sh <build-dir> <seconds> [harness...]
#
# Each harness <build-dir>/fuzz/<name> (all of them when none is named) runs for <seconds>
# from its committed seeds (tests/fuzz/corpus/<name>/) and the inputs it found before
# (<build-dir>/fuzz-corpus/<name>/, where new ones go). One line per harness with PASS or
# FAIL and the number of executions; a failing harness's log tail follows, and the input
# that failed is kept in <build-dir>/fuzz-artifacts/. Run from the top of the repository
# (some harnesses read the lab's seed documents). Exits non-zero when a harness fails.
#
# SPDX-License-Identifier: BSD-2-Clause

set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 <build-dir> <seconds> [harness...]" >&2
    exit 2
fi
build=$1
secs=$2
shift 2
if [ $# -eq 0 ]; then
    set -- $(cd "$build/fuzz" 2>/dev/null && ls)
fi
if [ $# -eq 0 ]; then
    echo "FAIL  no harness in $build/fuzz" >&2
    exit 1
fi

mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
failed=0
for name in "$@"; do
    bin=$build/fuzz/$name
    work=$build/fuzz-corpus/$name
    seeds=tests/fuzz/corpus/$name
    log=$build/fuzz-logs/$name.log
    mkdir -p "$work"
    if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
        printf 'FAIL  %-16s no harness %s or no seeds %s\n' "$name" "$bin" "$seeds"
        failed=$((failed + 1))
        continue
    fi
    "$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$name-" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    if [ $rc -eq 0 ] && [ -n "$execs" ]; then
        printf 'PASS  %-16s %10s executions in %s s (%s/s)\n' "$name" "$execs" "$secs" "$rate"
    else
        printf 'FAIL  %-16s exit %d after %s executions; log %s\n' "$name" "$rc" \
            "${execs:-?}" "$log"
        grep -a -E 'ERROR|SUMMARY|fuzz:|runtime error|Test unit written' "$log" | head -n 20 |
            sed 's/^/      /'
        failed=$((failed + 1))
    fi
done
[ $failed -eq 0 ]
