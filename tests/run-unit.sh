#!/bin/sh
# tests/run-unit.sh - run every Check runner of one or more build directories
#
#   tests/run-unit.sh build build-san
#
# Runs each executable in <dir>/tests/ and prints one line per runner with PASS or FAIL
# (a failing runner's output follows its line). Exits non-zero when a runner fails, when a
# build directory has no runner, or when no directory is given. A directory whose name ends
# in "-san" is the ASan+UBSan build: leaks and undefined behaviour abort its runners.
#
# SPDX-License-Identifier: BSD-2-Clause

set -u

if [ $# -eq 0 ]; then
    echo "usage: $0 <build-dir>..." >&2
    exit 2
fi

CK_DEFAULT_TIMEOUT=30
export CK_DEFAULT_TIMEOUT

failed=0
total=0
log=$(mktemp "${TMPDIR:-/tmp}/run-unit.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT

for dir in "$@"; do
    found=0
    for runner in "$dir"/tests/*; do
        if [ ! -f "$runner" ] || [ ! -x "$runner" ]; then
            continue
        fi
        found=1
        total=$((total + 1))
        case "$dir" in
        *san|*san/)
            ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
                "$runner" >"$log" 2>&1
            ;;
        *)
            "$runner" >"$log" 2>&1
            ;;
        esac
        rc=$?
        if [ $rc -eq 0 ]; then
            printf 'PASS  %s\n' "$runner"
        else
            printf 'FAIL  %s (exit %d)\n' "$runner" "$rc"
            sed 's/^/      /' "$log"
            failed=$((failed + 1))
        fi
    done
    if [ $found -eq 0 ]; then
        printf 'FAIL  %s: no test runners in %s/tests\n' "$dir" "$dir"
        failed=$((failed + 1))
    fi
done

printf '%d runner(s), %d failed\n' "$total" "$failed"
[ $failed -eq 0 ]
