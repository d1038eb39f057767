#!/usr/bin/env bash
# tests/e2e/run.sh - run every tests/e2e/test_*.sh in order, then a summary.
#
#   tests/e2e/run.sh                 all tests (what `make e2e` runs)
#   tests/e2e/run.sh foundation ...  only these (test_<name>.sh)
#
# Each test starts and stops its own lab in run/e2e-<name>/ (logs, captures and state stay
# there). A test that exits with status 77 could not run on this machine (it says why) and
# counts as skipped. Exit status 0 when no test failed, 1 otherwise.
set -u

cd "$(dirname "$0")/../.." || exit 1

# The tests use the fixed addresses of LAB.md. They run in a network namespace of their own
# (with a private /etc/hosts in a mount namespace), so a lab started with `make lab` keeps
# running untouched beside them, and two checkouts can test at once. IMS_E2E_NETNS=0 runs
# them in the machine's namespace instead (then one lab at a time: the lab lock).
if [ "${IMS_E2E_NETNS:-}" != 0 ] && [ "${IMS_E2E_IN_NETNS:-}" != 1 ]; then
    if [ "$(id -u)" -eq 0 ] && unshare -n -m true 2>/dev/null; then
        hosts=$(mktemp /tmp/ims-e2e-hosts.XXXXXX) && cp /etc/hosts "$hosts" || exit 1
        # the machine-wide lab lock is for labs in the machine's namespace: this one is private
        lock=$(mktemp /tmp/ims-e2e-lock.XXXXXX) || exit 1
        echo "e2e: running in a network namespace of its own (a lab of make lab stays up)"
        # a test that needs the machine's network (test_compose: Debian's archive, the
        # engine's bridges) goes back into it through this shell's namespace
        unshare -n -m --propagation private env IMS_E2E_IN_NETNS=1 IMS_LAB_LOCK="$lock" \
            IMS_E2E_HOST_NETNS="/proc/$$/ns/net" bash -c '
            ip link set lo up || exit 1
            mount --bind "$1" /etc/hosts || exit 1
            shift
            exec "$@"' e2e-netns "$hosts" "$PWD/tests/e2e/run.sh" "$@"
        rc=$?
        rm -f "$hosts" "$lock"
        exit $rc
    fi
    echo "e2e: no network namespace here (root and unshare are needed): the tests share the" \
         "machine's addresses; a running lab (make lab) must be stopped first (make lab-stop)"
fi

tests=()
if [ $# -gt 0 ]; then
    for n in "$@"; do
        n=${n#test_}
        n=${n%.sh}
        if [ ! -f "tests/e2e/test_$n.sh" ]; then
            echo "e2e: no test tests/e2e/test_$n.sh" >&2
            exit 2
        fi
        tests+=("tests/e2e/test_$n.sh")
    done
else
    for t in tests/e2e/test_*.sh; do
        [ -f "$t" ] && tests+=("$t")
    done
fi
if [ ${#tests[@]} -eq 0 ]; then
    echo "e2e: no tests/e2e/test_*.sh found" >&2
    exit 1
fi

start=$SECONDS
results=()
failed=0
skipped=0
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    name=${name#test_}
    echo "e2e: === $name ($t)"
    t0=$SECONDS
    bash "$t"
    rc=$?
    if [ $rc -eq 0 ]; then
        results+=("$(printf 'PASS  %-24s %4ss' "$name" $((SECONDS - t0)))")
    elif [ $rc -eq 77 ]; then
        skipped=$((skipped + 1))
        results+=("$(printf 'SKIP  %-24s %4ss  (it says why above)' "$name" $((SECONDS - t0)))")
    else
        failed=$((failed + 1))
        results+=("$(printf 'FAIL  %-24s %4ss  exit status %d; files in run/e2e-%s/' \
            "$name" $((SECONDS - t0)) "$rc" "$name")")
    fi
done

echo
echo "e2e: summary"
printf 'e2e:   %s\n' "${results[@]}"
echo "e2e: ${#tests[@]} test(s), $failed failed, $skipped skipped, $((SECONDS - start))s"
[ $failed -eq 0 ]
