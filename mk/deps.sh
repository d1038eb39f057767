#!/usr/bin/env bash
# Install the Debian 12 packages the build and the tests need, or say exactly how to.
#   mk/deps.sh build   libraries and tools to compile the daemons
#   mk/deps.sh fuzz    the build packages plus clang and libFuzzer (make fuzz)
#   mk/deps.sh test    the above plus the peers and tools of the tests (make test runs
#                      a few seconds of each fuzz harness)
#   mk/deps.sh bench   the test packages plus linux-perf (profiles of bench/; not for CI)
# As root, missing packages are installed with apt-get; otherwise the script stops with
# the exact command to run.
set -euo pipefail

build_pkgs=(gcc make pkg-config libc6-dev
    libsofia-sip-ua-dev libfreediameter-dev freediameter-extensions
    libmicrohttpd-dev libjansson-dev libsqlite3-dev libssl-dev libgnutls28-dev openssl
    libspandsp-dev libsndfile1-dev espeak-ng sox libmnl-dev
    check libsubunit-dev curl
    python3)   # python3: the unit tests read the CDR export's CSV and JSON with it
test_pkgs=(sip-tester tshark kamailio kamailio-ims-modules kamailio-presence-modules
    freediameterd sipsak libxml2-utils jq sqlite3 openssl iproute2 procps psmisc
    strace)   # strace: bench/durability.sh counts the daemons' syncs to disk with it

# bench/: CPU profiles of the daemons under load (perf record); never needed by CI
bench_pkgs=(linux-perf)

# clang-14 with its sanitizer and libFuzzer runtimes (Debian 12)
fuzz_pkgs=(clang libfuzzer-14-dev libclang-rt-14-dev)

want=("${build_pkgs[@]}")
case "${1:-build}" in
fuzz) want+=("${fuzz_pkgs[@]}") ;;
test) want+=("${test_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
bench) want+=("${test_pkgs[@]}" "${fuzz_pkgs[@]}" "${bench_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "run: sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture; the default (no) is fine.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
