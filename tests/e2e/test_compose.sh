#!/usr/bin/env bash
# tests/e2e/test_compose.sh - the docker-compose lab of deploy/ (deploy/README.md) end to end,
# on a Docker engine of the test's own (tests/lib/docker.sh, ../shared/CONTAINERS.md):
#
#   the images build (base image from debootstrap, cached); `up` starts the nine functions
#   in the order of their health checks and every one becomes healthy; from a UE container
#   sipp registers alice (Digest) and bob (IMS-AKA) and the HSS says both are registered at
#   the S-CSCF; /health and /metrics of every function answer from inside the lab network;
#   a re-created hss container keeps its database (named volume, seeded once); alice and
#   bob de-register; the swap: our S-CSCF replaced by Kamailio's
#   (docker-compose.kamailio-scscf.yml), the same registrations go through it and the HSS
#   has them again; `down -v` leaves no container, network or volume, and
#   the engine stops leaving nothing behind on the host.
#
# IMS_COMPOSE_CALL=0 leaves out the call alice -> bob (registrations only).
# The test is skipped (exit 77) only where no Docker engine can be started (not root, no
# packages, dockerd refused); under CI (CI=true) or IMS_COMPOSE_REQUIRE=1 that is a failure.
#
# Environment: IMS_COMPOSE_NET (the lab network's first three octets, default deploy/.env's),
# IMS_COMPOSE_CALL, IMS_COMPOSE_DOCKER_ROOT (engine cache, tests/lib/docker.sh).
set -u
# The images build from Debian's archive and the engine's bridge sits beside the machine's
# interfaces: this test needs the machine's network, not the tests' private namespace (it
# uses none of the lab's fixed addresses), so it goes back there (tests/e2e/run.sh)
if [ "${IMS_E2E_IN_NETNS:-}" = 1 ] && [ -n "${IMS_E2E_HOST_NETNS:-}" ]; then
    exec env -u IMS_E2E_HOST_NETNS nsenter --net="$IMS_E2E_HOST_NETNS" bash "$0" "$@"
fi
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
e2e_init compose

DEPLOY=$E2E_ROOT/deploy
R=$E2E_REALM
export COMPOSE_PROJECT_NAME=imslab-e2e
export LAB_NET=${IMS_COMPOSE_NET:-$(sed -n 's/^LAB_NET=//p' "$DEPLOY/.env")}
# shellcheck disable=SC2034 # both used by name (dc BASE_FILES ..., dc KAM_FILES ...)
BASE_FILES=(-f "$DEPLOY/docker-compose.yml")
KAM_FILES=(-f "$DEPLOY/docker-compose.yml" -f "$DEPLOY/docker-compose.kamailio-scscf.yml")
FUNCTIONS=(hss ocs scscf icscf pcscf bgcf ibcf mrfc mgcf)
CALL=${IMS_COMPOSE_CALL:-1}
COMPOSE_UP=0

stamp() {   # $1 what: the time since the start, for the report of cold and warm runs
    log "time: $1 at $(e2e_elapsed)s"
}

# dc SET ARGS...: docker-compose with the files of SET (BASE_FILES or KAM_FILES)
dc() {
    local -n files=$1
    shift
    docker-compose --ansi never "${files[@]}" "$@"
}

not_available() {   # $1 why: skip, or fail where an engine is required
    if [ "${CI:-}" = true ] || [ "${IMS_COMPOSE_REQUIRE:-0}" = 1 ]; then
        fail "a Docker engine can be started here (required under CI)" "$1"
        e2e_finish
    fi
    e2e_skip "no Docker engine can be started on this machine: $1"
}

compose_down() {   # for the cleanup: everything of both file sets, volumes too
    [ "$COMPOSE_UP" = 1 ] || return 0
    timeout 120 docker-compose --ansi never "${KAM_FILES[@]}" --profile ue down -v \
        --remove-orphans >>"$E2E_RUN/compose-down.out" 2>&1
    COMPOSE_UP=0
}

# states: "function=state ..." for every function, state healthy, starting, unhealthy,
# exited, ... or missing, from the engine's health checks (one docker ps)
states() {
    local lines f st out=
    lines=$(docker ps -a --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
        --format '{{.Label "com.docker.compose.service"}} {{.Status}}' 2>/dev/null)
    for f in "${FUNCTIONS[@]}"; do
        st=$(printf '%s\n' "$lines" | awk -v f="$f" '$1 == f { $1 = ""; print; exit }')
        case "$st" in
            *"(healthy)"*) st=healthy ;;
            *"(health: starting)"*) st=starting ;;
            *"(unhealthy)"*) st=unhealthy ;;
            "") st=missing ;;
            *) st=$(printf '%s' "$st" | awk '{ print tolower($1) }') ;;
        esac
        out+="$f=$st "
    done
    printf '%s\n' "${out% }"
}

# wait_healthy SECONDS: until the engine says every function is healthy; prints the states
wait_healthy() {
    local deadline=$((SECONDS + $1)) st
    while :; do
        st=$(states)
        [[ " $st" =~ ^(\ [a-z]+=healthy)+$ ]] && break
        [ $SECONDS -ge $deadline ] && break
        sleep 1
    done
    printf '%s\n' "$st"
}

# wait_ok SECONDS: until every function's own check (ims-health: GET /health says "ok")
# passes now, not only as the engine last saw it; prints the functions that are not ok
wait_ok() {
    local deadline=$((SECONDS + $1)) f id bad
    while :; do
        bad=
        for f in "${FUNCTIONS[@]}"; do
            id=$(docker ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
                --filter "label=com.docker.compose.service=$f")
            [ -n "$id" ] && docker exec "$id" ims-health >/dev/null 2>&1 || bad+="$f "
        done
        [ -z "$bad" ] || [ $SECONDS -ge $deadline ] && break
        sleep 1
    done
    printf '%s' "${bad% }"
}

compose_logs() {   # every container's log, into the run folder (while the lab is up)
    [ "$COMPOSE_UP" = 1 ] || return 0
    docker-compose --ansi never "${KAM_FILES[@]}" logs --no-color --timestamps \
        >"$E2E_RUN/compose.log" 2>&1
}

# ue SET ARGS...: a UE container of the lab (docker-compose run --rm ue ARGS)
ue() {
    local set=$1
    shift
    dc "$set" run --rm -e "UE_CALL=$CALL" ue "$@" 2>&1 | grep -v '^Creating .*_ue_run'
}

impu_state() {   # $1 identity -> "reg_state scscf" from the HSS's API (inside its container)
    dc BASE_FILES exec -T hss hssctl --url "http://$LAB_NET.40:8080" \
        --token ims-lab-token impu "$1" 2>/dev/null | jq -r '"\(.reg_state) \(.scscf)"'
}

# registration_checks LABEL OUTPUT SERVER-REGEX: the UE's output and the HSS agree
registration_checks() {
    local label=$1 out=$2 server=$3
    check_match "$label: alice registered with Digest from the UE container" \
        "^ue: alice registered \(digest\) .* server $server" "$out"
    check_match "$label: bob registered with IMS-AKA from the UE container" \
        "^ue: bob registered \(aka\) .* server $server" "$out"
    check_eq "$label: HSS: alice registered at the S-CSCF" "registered sip:scscf.$R:5060" \
        "$(impu_state "sip:alice@$R")"
    check_eq "$label: HSS: bob registered at the S-CSCF" "registered sip:scscf.$R:5060" \
        "$(impu_state "sip:bob@$R")"
    if [ "$CALL" = 1 ]; then
        check_match "$label: alice calls bob (answered, hung up)" \
            '^ue: alice called bob through .*answered' "$out"
    else
        check_match "$label: the UE says the call step is skipped" \
            '^ue: call step skipped \(UE_CALL=0\)' "$out"
        log "call step skipped (IMS_COMPOSE_CALL=0)"
    fi
}

# probe_checks LABEL OUTPUT [FUNCTION=DAEMON...]: /health and /metrics of every function
probe_checks() {
    local label=$1 out=$2 f d
    shift 2
    declare -A daemon=()
    for f in "${FUNCTIONS[@]}"; do daemon[$f]=$f; done
    for d in "$@"; do daemon[${d%%=*}]=${d#*=}; done
    for f in "${FUNCTIONS[@]}"; do
        check_match "$label: $f: /health 200 ok (${daemon[$f]}), /metrics 200 with samples" \
            "^probe: $f health=200 status=ok daemon=${daemon[$f]} metrics=200 samples=[1-9]" "$out"
    done
}

e2e_require jq curl flock
step "a Docker engine of the test's own"
engine_start || not_available "$ENGINE_WHY"
e2e_at_cleanup engine_stop
e2e_at_cleanup compose_down
ver=$(docker version -f '{{.Server.Version}}' 2>/dev/null)
pass "dockerd $ver answers on $ENGINE_SOCK (data in $ENGINE_ROOT)"
stamp "engine up"

step "images"
BASE_IMAGE=$("$DEPLOY/docker/base-image.sh" 2>"$E2E_RUN/base-image.err")
check "the Debian 12 base image (debootstrap, cached): ${BASE_IMAGE:-none}" \
    docker image inspect "${BASE_IMAGE:-none}" ||
    { cat "$E2E_RUN/base-image.err"; e2e_finish; }
export BASE_IMAGE
stamp "base image"
# containers an interrupted earlier run left in the cached engine (the check at the end
# counts every container of this engine)
docker container prune -f >/dev/null 2>&1
# the build stage gets a tag of its own, so that pruning the old images keeps its cache;
# --force-rm: a failed build leaves no container behind either
check "the build stage (make all in Debian 12)" docker build -q --force-rm --network host \
    --target build --build-arg "BASE=$BASE_IMAGE" -t ims-core-build:latest \
    -f "$DEPLOY/Dockerfile" "$E2E_ROOT"
check "docker-compose build: ims-core and the UE image" \
    dc BASE_FILES build -q --force-rm hss ue
check "docker-compose build: the Kamailio S-CSCF image" dc KAM_FILES build -q --force-rm scscf
docker image prune -f >/dev/null 2>&1   # the images of earlier builds
stamp "images built"

step "up: every function healthy, in the order of depends_on"
COMPOSE_UP=1
e2e_at_cleanup compose_logs
check "docker-compose up --no-start (network and containers)" \
    dc BASE_FILES up --no-start --no-build
engine_allow_bridge "${COMPOSE_PROJECT_NAME}_lab"
check "docker-compose up -d" dc BASE_FILES up -d --no-build
states=$(wait_healthy 90)
for f in "${FUNCTIONS[@]}"; do
    check_match "$f is healthy" "(^| )$f=healthy( |$)" "$states"
done
stamp "lab healthy"

step "registration from a UE container (sipp) through $(sed -n 's/^UE_ENTRY=//p' "$DEPLOY/.env")"
out=$(ue BASE_FILES demo)
printf '%s\n' "$out" >"$E2E_RUN/ue-demo.out"
printf '%s\n' "$out" | sed "s/^/[$E2E_NAME]      /"
registration_checks "ours" "$out" scscf
stamp "registrations"

step "health and metrics of every function, from inside the lab network"
out=$(ue BASE_FILES probe)
printf '%s\n' "$out" >"$E2E_RUN/ue-probe.out"
probe_checks "ours" "$out"

step "the hss keeps its database in its volume"
check "the hss container is re-created" \
    dc BASE_FILES up -d --no-build --no-deps --force-recreate hss
check_eq "every function's /health says ok again (the clients reconnect)" "" "$(wait_ok 60)"
check_match "the new hss container does not seed again" 'was seeded on .*kept as it is' \
    "$(dc BASE_FILES logs --no-color hss 2>&1)"
check_eq "HSS: alice is still registered (database kept)" "registered sip:scscf.$R:5060" \
    "$(impu_state "sip:alice@$R")"
check_eq "the named volumes of the hss database and the OCS's CDRs exist" \
    "${COMPOSE_PROJECT_NAME}_hss-db ${COMPOSE_PROJECT_NAME}_ocs-cdr" \
    "$(docker volume ls -q --filter "name=$COMPOSE_PROJECT_NAME" | sort | xargs)"
stamp "hss volume"

step "de-registration, so that the HSS learns the next registrations from the swapped S-CSCF"
out=$(ue BASE_FILES deregister alice bob)
printf '%s\n' "$out" >"$E2E_RUN/ue-deregister.out"
check_match "alice de-registers (Contact: *, Expires: 0)" '^ue: alice de-registered' "$out"
check_match "bob de-registers" '^ue: bob de-registered' "$out"
check_eq "HSS: alice not registered" "not_registered null" "$(impu_state "sip:alice@$R")"
check_eq "HSS: bob not registered" "not_registered null" "$(impu_state "sip:bob@$R")"

step "swap: Kamailio's S-CSCF in place of ours (docker-compose.kamailio-scscf.yml)"
check "docker-compose up -d with the override" dc KAM_FILES up -d --no-build
states=$(wait_healthy 90)
check_match "every function healthy, the S-CSCF being Kamailio" '^([a-z]+=healthy ?)+$' "$states"
check_eq "the scscf container runs the Kamailio image" ims-core-kamailio:latest \
    "$(docker inspect -f '{{.Config.Image}}' "$(dc KAM_FILES ps -q scscf)" 2>&1)"
check_eq "every function's /health says ok" "" "$(wait_ok 60)"
out=$(ue KAM_FILES demo)
printf '%s\n' "$out" >"$E2E_RUN/ue-demo-kamailio.out"
printf '%s\n' "$out" | sed "s/^/[$E2E_NAME]      /"
registration_checks "Kamailio S-CSCF" "$out" "Kamailio S-CSCF"
out=$(ue KAM_FILES probe)
printf '%s\n' "$out" >"$E2E_RUN/ue-probe-kamailio.out"
probe_checks "Kamailio S-CSCF" "$out" scscf=kamailio-scscf
stamp "swap"

step "down: nothing left running"
compose_logs
check "docker-compose down -v" dc KAM_FILES --profile ue down -v --remove-orphans
COMPOSE_UP=0
check_eq "no container left" "" "$(docker ps -aq)"
check_eq "no network of the lab left" "" \
    "$(docker network ls -q --filter "name=$COMPOSE_PROJECT_NAME")"
check_eq "no volume of the lab left" "" \
    "$(docker volume ls -q --filter "name=$COMPOSE_PROJECT_NAME")"
engine_stop
engine_host_check
stamp "down and engine stopped"

e2e_finish
