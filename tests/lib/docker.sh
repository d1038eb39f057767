# shellcheck shell=bash
# tests/lib/docker.sh - a Docker engine of the test's own (source it after tests/lib/e2e.sh).
#
#   engine_install            apt-get install the engine, compose v1 and debootstrap if
#                             missing; returns 1 with ENGINE_WHY set when it cannot
#   engine_start              starts dockerd (below) and waits until it answers; returns 1
#                             with ENGINE_WHY set when no engine can run here
#   engine_stop               stops it by its PID (TERM, then KILL after 20 s), unmounts and
#                             removes its run folder and the bridges it left; idempotent
#   engine_host_check         checks (check_eq) that the host is as before: no process, mount
#                             or bridge of the engine left, the forwarding sysctls unchanged
#                             (when no other engine runs on the machine to change them)
#   engine_allow_bridge NET   if the host's FORWARD chain drops bridged traffic (another
#                             engine's doing), lets the traffic of network NET through
#                             until engine_stop
#
# The engine follows ../shared/CONTAINERS.md with its own socket, exec-root, pid file and
# containerd namespace, so it never meets another engine on the machine, and with
# --iptables=false --ip-forward=false --ip-masq=false --bridge=none: it leaves the host's
# firewall and sysctls alone (the test's containers talk on their own bridge network only,
# and builds use the host's network). Its data-root is a cache kept between runs (images,
# so that a second run builds in seconds): $IMS_COMPOSE_DOCKER_ROOT, default
# /var/cache/ims-core/docker; delete the folder to start cold.
#
# Sets DOCKER_HOST for everything the test runs after engine_start.

ENGINE_RUN=${IMS_COMPOSE_ENGINE_RUN:-/run/ims-e2e-docker}
ENGINE_ROOT=${IMS_COMPOSE_DOCKER_ROOT:-/var/cache/ims-core/docker}
ENGINE_SOCK=$ENGINE_RUN/docker.sock
ENGINE_PID=
ENGINE_WHY=
ENGINE_BRIDGES=()
ENGINE_FWD_RULES=()
ENGINE_SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables
    net.bridge.bridge-nf-call-ip6tables)
declare -A ENGINE_SYSCTL0=()

engine_install() {
    local missing=() c
    for c in dockerd docker docker-compose debootstrap; do
        command -v "$c" >/dev/null 2>&1 || missing+=("$c")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        ENGINE_WHY="not root, and ${missing[*]} missing"
        ENGINE_WHY+=" (apt-get install docker.io docker-compose debootstrap)"
        return 1
    fi
    log "installing docker.io docker-compose debootstrap (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io \
            docker-compose debootstrap; } >"$E2E_RUN/engine-install.log" 2>&1; then
        ENGINE_WHY="apt-get install docker.io docker-compose debootstrap failed: $(tail -n 3 \
            "$E2E_RUN/engine-install.log" | tr '\n' ' ')"
        return 1
    fi
}

engine_start() {
    local s deadline
    if [ "$(id -u)" -ne 0 ]; then
        ENGINE_WHY="a Docker engine of the test's own needs root"
        return 1
    fi
    engine_install || return 1
    for s in "${ENGINE_SYSCTLS[@]}"; do
        ENGINE_SYSCTL0[$s]=$(sysctl -n "$s" 2>/dev/null)
    done
    if [ -S "$ENGINE_SOCK" ] || [ -e "$ENGINE_RUN/docker.pid" ]; then
        # left by a run that was killed: its engine is ours to stop (only if that pid is
        # still a dockerd on our socket)
        ENGINE_PID=$(cat "$ENGINE_RUN/docker.pid" 2>/dev/null)
        tr '\0' ' ' <"/proc/${ENGINE_PID:-0}/cmdline" 2>/dev/null |
            grep -q "dockerd .*unix://$ENGINE_SOCK" || ENGINE_PID=
        log "an engine of an earlier run was left in $ENGINE_RUN (pid ${ENGINE_PID:-?}):" \
            "stopping it"
        engine_stop
    fi
    mkdir -p "$ENGINE_RUN" "$ENGINE_ROOT" || {
        ENGINE_WHY="cannot create $ENGINE_RUN or $ENGINE_ROOT"
        return 1
    }
    dockerd --host="unix://$ENGINE_SOCK" --data-root="$ENGINE_ROOT" --exec-root="$ENGINE_RUN/exec" \
        --pidfile="$ENGINE_RUN/docker.pid" --containerd-namespace=ims-e2e \
        --containerd-plugins-namespace=ims-e2e-plugins --storage-driver=overlay2 \
        --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
        >"$E2E_RUN/dockerd.log" 2>&1 </dev/null &
    ENGINE_PID=$!
    export DOCKER_HOST=unix://$ENGINE_SOCK
    deadline=$((SECONDS + 30))
    while [ $SECONDS -lt $deadline ]; do
        docker version >/dev/null 2>&1 && return 0
        if ! kill -0 "$ENGINE_PID" 2>/dev/null; then
            wait "$ENGINE_PID" 2>/dev/null
            ENGINE_WHY="dockerd exited at start: $(grep -E 'level=(error|fatal)|failed' \
                "$E2E_RUN/dockerd.log" | tail -n 3 | tr '\n' ' ')"
            ENGINE_PID=
            return 1
        fi
        sleep 0.2
    done
    ENGINE_WHY="dockerd did not answer on $ENGINE_SOCK within 30 s"
    return 1
}

engine_allow_bridge() {   # $1 docker network name
    local id br
    id=$(docker network inspect -f '{{.Id}}' "$1" 2>/dev/null) || return 1
    br=br-${id:0:12}
    ENGINE_BRIDGES+=("$br")
    [ "$(sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null)" = 1 ] || return 0
    command -v iptables >/dev/null 2>&1 || return 0
    iptables -S FORWARD 2>/dev/null | grep -qx -- '-P FORWARD ACCEPT' && return 0
    log "the host's FORWARD chain does not accept by default: letting $br's traffic through"
    iptables -I FORWARD -i "$br" -o "$br" -j ACCEPT && ENGINE_FWD_RULES+=("$br")
}

engine_stop() {
    local pid=${ENGINE_PID:-} m br i
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "dockerd (pid $pid) ignored SIGTERM for 20 s: killing it"
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    fi
    ENGINE_PID=
    # its containerd (a child of dockerd) and shims end with it; their mounts may stay
    for m in $(awk -v r="$ENGINE_RUN/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
    rm -rf "$ENGINE_RUN"
    for br in "${ENGINE_FWD_RULES[@]}"; do
        iptables -D FORWARD -i "$br" -o "$br" -j ACCEPT 2>/dev/null
    done
    ENGINE_FWD_RULES=()
    for br in "${ENGINE_BRIDGES[@]}"; do
        ip link show "$br" >/dev/null 2>&1 && ip link delete "$br" 2>/dev/null
    done
    # the sysctls an engine may touch: back to what they were, unless another engine runs
    # on the machine (then a change is its own, and it needs it)
    [ -n "$(engine_others)" ] && return 0
    for m in "${!ENGINE_SYSCTL0[@]}"; do
        [ -n "${ENGINE_SYSCTL0[$m]}" ] || continue
        [ "$(sysctl -n "$m" 2>/dev/null)" = "${ENGINE_SYSCTL0[$m]}" ] ||
            sysctl -qw "$m=${ENGINE_SYSCTL0[$m]}"
    done
    return 0
}

engine_others() {   # the pids of the other Docker engines of the machine (not ours)
    pgrep -x dockerd 2>/dev/null | grep -vx -- "${ENGINE_PID:-0}"
}

engine_host_check() {
    local s br left=()
    check_eq "no process of the engine left (dockerd, containerd, shims, containers)" "" \
        "$(pgrep -af -- "$ENGINE_RUN|ims-e2e-docker|namespace ims-e2e" 2>/dev/null)"
    check_eq "no mount of the engine left" "" \
        "$(awk -v r="$ENGINE_RUN" 'index($2, r) == 1 { print $2 }' /proc/mounts)"
    for br in "${ENGINE_BRIDGES[@]}"; do
        ip link show "$br" >/dev/null 2>&1 && left+=("$br")
    done
    check_eq "no bridge of the engine left" "" "${left[*]}"
    if [ -n "$(engine_others)" ]; then
        log "another Docker engine runs on this machine (pid $(engine_others | tr '\n' ' '))):" \
            "the forwarding sysctls are its business, not compared"
        return 0
    fi
    for s in "${!ENGINE_SYSCTL0[@]}"; do
        check_eq "sysctl $s as before" "${ENGINE_SYSCTL0[$s]}" "$(sysctl -n "$s" 2>/dev/null)"
    done
}
