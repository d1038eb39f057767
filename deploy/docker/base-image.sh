#!/bin/bash
# deploy/docker/base-image.sh - a Debian 12 base image made with debootstrap from this
# host's own apt mirror, for a Docker engine that cannot pull debian:bookworm-slim (no image
# registry). Prints the image's name; give it to the build as BASE_IMAGE (deploy/.env):
#
#   BASE_IMAGE=$(deploy/docker/base-image.sh) docker-compose -f deploy/docker-compose.yml build
#
# The image is ims-core/base:bookworm-<hash>, where the hash covers the recipe, the mirror
# and the apt settings copied into it; it is made only when the engine lacks it. The root
# file system is also kept as a tarball in the cache folder, so that a new engine (a new
# data-root) imports it in seconds instead of running debootstrap again.
#
# The image's apt uses the host's Debian mirror (and its security mirror, if any), and the
# host's Acquire settings for proxies and for the validity of Release files (a snapshot
# mirror has old Release files), so that apt-get inside the build works as on the host.
#
# Environment: DOCKER_HOST (the engine), IMS_BASE_CACHE (cache folder, default
# /var/cache/ims-core). Needs root (debootstrap) and the packages debootstrap and docker.io
# (or any docker CLI). Exit status 0 with the name on stdout; 1 with the reason on stderr.
#
# SPDX-License-Identifier: BSD-2-Clause
set -uo pipefail

PROG=base-image.sh
SUITE=bookworm
RECIPE="1 $SUITE minbase"   # change it when the recipe below changes
CACHE=${IMS_BASE_CACHE:-/var/cache/ims-core}

die() {
    echo "$PROG: $*" >&2
    exit 1
}

# every enabled "URI SUITE" pair of apt's sources (deb822 files and one-line lists)
apt_sources() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'function flush() {
                 if (uris != "" && types ~ /(^| )deb( |$)/ && enabled != "no")
                     { n = split(uris, u, " "); m = split(suites, s, " ");
                       for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j] }
                 uris = ""; suites = ""; types = ""; enabled = "" }
             /^[ \t]*$/ { flush(); next }
             /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
             /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
             /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
             /^Enabled:/ { sub(/^Enabled:[ \t]*/, ""); enabled = tolower($0) }
             END { flush() }' "$f"
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        sed -E 's/\[[^]]*\]//' | awk '$1 == "deb" { print $2, $3 }'
}

mirror_for() {   # $1 suite -> the first URI serving it
    apt_sources | awk -v s="$1" '$2 == s { print $1; exit }'
}

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
command -v docker >/dev/null || die "the docker command is missing: apt-get install docker.io"

mirror=$(mirror_for "$SUITE")
[ -n "$mirror" ] || die "no apt source of this host serves '$SUITE' (/etc/apt/sources.list*)"
security=$(mirror_for "$SUITE-security")
aptconf=$(apt-config dump 2>/dev/null |
    grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' || true)

hash=$(printf '%s\n' "$RECIPE" "$mirror" "$security" "$aptconf" | sha256sum | cut -c1-12)
image=ims-core/base:$SUITE-$hash
if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
fi

tarball=$CACHE/base-$SUITE-$hash.tar.gz
mkdir -p "$CACHE" || die "cannot create the cache folder $CACHE"
if [ ! -s "$tarball" ]; then
    root=$(mktemp -d "${TMPDIR:-/tmp}/ims-base.XXXXXX") || die "mktemp failed"
    trap 'rm -rf "$root"' EXIT
    echo "$PROG: debootstrap --variant=minbase $SUITE from $mirror (about 30 s)" >&2
    if ! debootstrap --variant=minbase "$SUITE" "$root/fs" "$mirror" >"$root/log" 2>&1; then
        tail -n 20 "$root/log" >&2
        die "debootstrap failed (above)"
    fi
    {
        echo "deb $mirror $SUITE main"
        echo "deb $mirror $SUITE-updates main"
        [ -n "$security" ] && echo "deb $security $SUITE-security main"
    } >"$root/fs/etc/apt/sources.list"
    if [ -n "$aptconf" ]; then
        printf '// from the host that made this image (%s)\n%s\n' "$PROG" "$aptconf" \
            >"$root/fs/etc/apt/apt.conf.d/90host"
    fi
    rm -rf "$root"/fs/var/cache/apt/archives/*.deb "$root"/fs/var/lib/apt/lists/*
    tar -C "$root/fs" -c . | gzip -1 >"$tarball.tmp" && mv "$tarball.tmp" "$tarball" ||
        die "cannot write $tarball"
fi
echo "$PROG: importing $tarball as $image" >&2
docker import - "$image" <"$tarball" >/dev/null || die "docker import of $tarball failed"
echo "$image"
