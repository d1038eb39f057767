#!/usr/bin/env bash
# tests/e2e/test_bgcf.sh - PSTN breakout through the BGCF (TS 23.228 5.19, TS 24.229 5.6):
# alice (sipp, registered through the P-CSCF) calls numbers that are no home user; the S-CSCF
# sends them to the BGCF, which routes them by its table to a gateway.
#
# Stand-ins play the gateways (the MGCF and other networks are not under test here): sipp
# UASs and tests/tools/as on third-party addresses of LAB.md (127.0.1.x), put in the table
# at run time through the REST API. Checked: the REST API (token, the field named in
# errors, configuration routes read-only, a change live at once and kept across a restart of
# the BGCF); the lab's own route (+1999 to the MGCF); a call to a gateway, record-routed,
# with its ACR START/STOP at the CDF (Node-Functionality BGCF, the call's ICID); failover
# past a 503, a dead address and a silent gateway to the fourth route; no failover past a
# callee's 486; every route dead (500 with a Warning listing them); no route (404 with a
# Warning, an ACR EVENT with the ICID); a breakout from outside the trust domain (403);
# without Record-Route (bgcf.record_route = no) an ACR EVENT for an answered call; a capture
# that decodes cleanly.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init bgcf
e2e_require sipp jq tshark curl timeout

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
SEND=$E2E_BIN/sipsend
PCSCF=127.0.0.10:5060
BGCF=127.0.0.50:5060
API=http://127.0.0.50:8080/api/v1
OCS_API=http://127.0.0.80:8080/api/v1
TOKEN=ims-lab-token
ALICE=(127.0.0.150 5501)
EVIL=127.0.0.151                      # not in the BGCF's sip.trusted_peers
GW1=127.0.1.1 GW2=127.0.1.2 GW503=127.0.1.3 DEAD=127.0.1.4 DEAD2=127.0.1.7
GW486=127.0.1.5 GWNEVER=127.0.1.6 GWSILENT=127.0.1.8
export IMS_BGCF_ROUTE_TIMEOUT_MS=2000  # a silent gateway is given up after 2 s here

if [ ! -x "$SEND" ] || [ ! -x "$E2E_BIN/as" ]; then
    fail "binaries built: $SEND or $E2E_BIN/as missing" "run: make"
    e2e_finish
fi

sipp_ue() {   # NAME ADDR PORT SCENARIO ARGS... : one sipp run, logs in the run folder
    local name=$1 addr=$2 port=$3 scen=$4
    shift 4
    (cd "$E2E_RUN" && timeout 40 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "$addr" -p "$port" \
        -timeout 30s -timeout_error -key domain "$R" -trace_err -error_file "$name.err" \
        -trace_logs -log_file "$name.log" -trace_msg -message_file "$name.msg" "$@" \
        >"$name.out" 2>&1)
}

gateway() {   # NAME ADDR [SCENARIO [args]]: a sipp UAS standing in for a gateway on ADDR:5060
    local name=$1 addr=$2 scen=${3:-call_uas.xml}
    shift 2
    [ $# -gt 0 ] && shift
    sipp_ue "$name" "$addr" 5060 "$scen" "$@" &
    eval "GW_$name=$!"
    sleep 0.3
}
gateway_ok() {   # NAME: the stand-in ended its scenario well
    local pid
    eval "pid=\${GW_$1}"
    wait "$pid"
}

AS_PIDS=()
as_gw() {   # NAME ADDR CODE: tests/tools/as answering every request with CODE
    "$E2E_BIN/as" --bind "$2:5060" --mode "uas:$3" --name "$1" >"$E2E_RUN/as-$1.out" 2>&1 &
    AS_PIDS+=($!)
}
as_stop() {
    local p
    for p in "${AS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${AS_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    AS_PIDS=()
}
trap 'as_stop; e2e__on_exit $?' EXIT

caller() {   # NAME SCENARIO TARGET [args]: alice calls
    local name=$1 scen=$2 target=$3
    shift 3
    sipp_ue "$name" "${ALICE[@]}" "$scen" -key from alice -key target "$target" "$@" "$PCSCF"
}
logline() { cat "$E2E_RUN/$1.log" 2>/dev/null; }
bgcf_log() { cat "$E2E_RUN/bgcf/bgcf.log" 2>/dev/null; }

api() {   # METHOD PATH [BODY] [TOKEN|none]: sets API_CODE and API_BODY
    local out auth="Authorization: Bearer ${4:-$TOKEN}"
    [ "${4:-}" = none ] && auth="X-No-Token: 1"
    out=$(curl -s --max-time 10 -X "$1" -H "$auth" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} -w '\n%{http_code}' "$API/$2")
    API_CODE=${out##*$'\n'}
    API_BODY=${out%$'\n'*}
}
route() {   # ID PREFIX NEXT-HOP PRIORITY: PUT a route of the API; 0 when created or replaced
    api PUT "routes/$1" "{\"prefix\":\"$2\",\"next_hop\":\"$3\",\"kind\":\"mgcf\",\"priority\":$4,\"weight\":10}"
    [ "$API_CODE" = 201 ] || [ "$API_CODE" = 200 ]
}
ocs() { curl -s --max-time 10 -H "Authorization: Bearer $TOKEN" "$OCS_API/$1"; }
wait_cdr() {   # QUERY JQ-SELECT: until a CDR of the query matches (10 s at most); prints it
    local i hit
    for i in $(seq 1 50); do
        hit=$(ocs "$1" | jq -c "[.items[] | select($2)] | first // empty")
        [ -n "$hit" ] && { printf '%s\n' "$hit"; return 0; }
        sleep 0.2
    done
    return 1
}

raw() {   # NAME FROM: $E2E_RUN/NAME.sip as written to the BGCF from FROM; answers in RAW_OUT
    "$SEND" --from "$2" --to "$BGCF" --wait 4000 "$E2E_RUN/$1.sip" >"$E2E_RUN/$1.out" 2>&1
    RAW_OUT=$(tr -d '\r' <"$E2E_RUN/$1.out")
}
raw_invite() {   # CALL-ID SENT-BY TARGET: an INVITE as the S-CSCF would send it
    printf 'INVITE %s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\n' "$3" "$2" "$1"
    printf 'Max-Forwards: 69\nFrom: <sip:alice@%s>;tag=t-%s\nTo: <%s>\n' "$R" "$1" "$3"
    printf 'Call-ID: %s@bgcf-test\nCSeq: 1 INVITE\nContact: <sip:alice@%s>\n' "$1" "$2"
    printf 'P-Asserted-Identity: <sip:alice@%s>\n' "$R"
    printf 'P-Charging-Vector: icid-value=bgcftest%s;orig-ioi=%s\n\n' "$1" "$R"
}

cap_start bgcf
step "the lab"
check "deploy/lab.sh start" lab_start
t_start=$(date +%s)
check "alice registers (Digest) from ${ALICE[0]}:${ALICE[1]}" \
    sipp_ue reg-alice "${ALICE[@]}" reg_digest.xml -s alice -au "alice@$R" -ap alice-secret \
    -auth_uri "$R" -key impi "alice@$R" -key expires 600 "$PCSCF"

# ---------------------------------------------------------------------------------------------
step "REST API"
api GET routes "" none
check_eq "no token: 401" 401 "$API_CODE"
api GET routes "" wrong-token
check_eq "a wrong token: 401" 401 "$API_CODE"
api GET routes
check_eq "the token of bgcf.api_token: 200" 200 "$API_CODE"
check_eq "the lab's route from bgcf.routes: +1999 to the MGCF, read-only" \
    "pstn +1999 sip:mgcf.$R:5060 mgcf config" \
    "$(json_get "$API_BODY" '.routes[] | select(.id == "pstn") | "\(.id) \(.prefix) \(.next_hop) \(.kind) \(.source)"')"
api PUT routes/bad '{"prefix":"1999","next_hop":"sip:127.0.1.1"}'
check_eq "a prefix without '+': 400 naming prefix" "400 prefix" \
    "$API_CODE $(json_get "$API_BODY" .field)"
api PUT routes/bad '{"prefix":"+1999","next_hop":"http://127.0.1.1/"}'
check_eq "a next hop that is no SIP URI: 400 naming next_hop" "400 next_hop" \
    "$API_CODE $(json_get "$API_BODY" .field)"
api PUT routes/bad '{"prefix":"+1999","next_hop":"sip:127.0.1.1","colour":"red"}'
check_eq "an unknown member: 400 naming it" "400 colour" "$API_CODE $(json_get "$API_BODY" .field)"
api PUT routes/bad '{"prefix":"+1999","next_hop":"sip:127.0.1.1","weight":70000}'
check_eq "a weight out of range: 400 naming weight" "400 weight" \
    "$API_CODE $(json_get "$API_BODY" .field)"
api PUT routes/bad '{"prefix":"+1999","next_hop":"sip:127.0.0.50:5060"}'
check_eq "a next hop that is the BGCF itself (a loop): 400 naming next_hop" "400 next_hop" \
    "$API_CODE $(json_get "$API_BODY" .field)"
api PUT routes/bad '{"prefix":'
check_eq "a body that is not JSON: 400" 400 "$API_CODE"
api PUT routes/pstn '{"prefix":"+1999","next_hop":"sip:127.0.1.1"}'
check_eq "the configuration's route cannot be changed here: 409 naming id" "409 id" \
    "$API_CODE $(json_get "$API_BODY" .field)"
api DELETE routes/pstn
check_eq "... nor deleted: 409" 409 "$API_CODE"
api DELETE routes/nothing
check_eq "deleting a route that does not exist: 404" 404 "$API_CODE"
api POST routes '{}'
check_eq "POST on the collection: 405" 405 "$API_CODE"
api GET routes/bad
check_eq "nothing of the refused requests was kept" 404 "$API_CODE"
api GET "lookup?target=tel:%2B1-999-444-0000"
check_eq "lookup: tel:+1-999-444-0000 goes to the MGCF" "pstn sip:mgcf.$R:5060" \
    "$(json_get "$API_BODY" '.routes | map("\(.id) \(.next_hop)") | join(",")')"
api GET "lookup?target=tel:%2B8885550100"
check_eq "lookup: tel:+8885550100 has no route" 0 "$(json_get "$API_BODY" '.routes | length')"

# ---------------------------------------------------------------------------------------------
step "the lab's route: tel:+1999... to the MGCF"
raw_invite m1 127.0.0.90:5999 "tel:+19994440000" >"$E2E_RUN/mgcf1.sip"
raw mgcf1 127.0.0.90:5999
check_match "an INVITE from the trust domain (the test AS address) gets a final answer" \
    '^SIP/2.0 [2-6][0-9][0-9] ' "$RAW_OUT"
check_match "the BGCF sent it to the MGCF (route pstn)" \
    "INVITE to tel:\+19994440000: route pstn \(mgcf sip:mgcf\.$R:5060\)" "$(bgcf_log)"

# ---------------------------------------------------------------------------------------------
step "a breakout through a gateway put in the table by the API"
check "PUT routes/gw-test: +19995550 to $GW1 (created, live at once)" \
    route gw-test +19995550 "sip:$GW1:5060" 1
check_eq "... 201 Created, source api" "201 api" "$API_CODE $(json_get "$API_BODY" .source)"
gateway gw1 "$GW1"
check "alice calls tel:+19995550100, talks, hangs up" \
    caller call1 call_uac.xml "tel:+19995550100" -d 1000
check "the stand-in gateway: INVITE, 180, 200, ACK, BYE" gateway_ok gw1
check_match "it got the INVITE for the number, with an ICID" \
    '^invited: INVITE tel:\+19995550100 .*icid-value=' "$(logline gw1)"
check_match "the BGCF record-routed (it stays in the dialog for charging)" \
    '^Record-Route: <sip:127\.0\.0\.50:5060;lr>' "$(tr -d '\r' <"$E2E_RUN/gw1.msg")"
ICID1=$(logline gw1 | sed -n 's/.*icid-value=\([^; ]*\).*/\1/p' | head -n 1)
cdr=$(wait_cdr "cdrs?icid=$ICID1" ".node == \"bgcf.$R\" and .status == \"closed\"")
check_eq "the CDF closed a session CDR of the BGCF (Node-Functionality 5, originating) with the call's ICID" \
    "session 5 0 BYE tel:+19995550100" \
    "$(json_get "$cdr" '"\(.record) \(.node_functionality) \(.role_of_node) \(.method) \(.called)"')"

# ---------------------------------------------------------------------------------------------
step "failover: a 503, a dead address, a silent gateway, then the fourth route"
check "fo-a: +19995551 to a gateway answering 503 (priority 1)" \
    route fo-a +19995551 "sip:$GW503:5060" 1
check "fo-b: to an address where nothing listens (priority 2)" \
    route fo-b +19995551 "sip:$DEAD:5060" 2
check "fo-c: to a gateway that never answers (priority 3)" \
    route fo-c +19995551 "sip:$GWSILENT:5060" 3
check "fo-d: to a working gateway (priority 4)" route fo-d +19995551 "sip:$GW2:5060" 4
as_gw gw503 "$GW503" 503
"$E2E_BIN/as" --bind "$GWSILENT:5060" --mode silent --name gwsilent \
    >"$E2E_RUN/as-gwsilent.out" 2>&1 &
AS_PIDS+=($!)
gateway gw2 "$GW2"
t0=$SECONDS
check "alice calls tel:+19995551000: the call goes through" \
    caller call2 call_uac.xml "tel:+19995551000"
check "the fourth route's gateway answered it" gateway_ok gw2
check_match "the 503 gateway was tried first" "as=gw503 method=INVITE ruri=tel:\+19995551000" \
    "$(cat "$E2E_RUN/as-gw503.out")"
check_match "the silent one was tried too" "as=gwsilent method=INVITE ruri=tel:\+19995551000" \
    "$(cat "$E2E_RUN/as-gwsilent.out")"
check "... and given up after bgcf.route_timeout_ms (2 s here; the call took $((SECONDS - t0)) s)" \
    test $((SECONDS - t0)) -ge 2
check_match "the BGCF logged the 503 of fo-a" \
    "route fo-a \(sip:$GW503:5060\) for tel:\+19995551000: 503" "$(bgcf_log)"
check_match "... the failure of fo-b" \
    "route fo-b \(sip:$DEAD:5060\) for tel:\+19995551000: (transport error|no response)" \
    "$(bgcf_log)"
check_match "... the silence of fo-c" \
    "route fo-c \(sip:$GWSILENT:5060\) for tel:\+19995551000: no response" "$(bgcf_log)"
http_get http://127.0.0.50:8080/metrics
check_match "bgcf_failover_total counts the three" '^bgcf_failover_total [3-9]' "$HTTP_BODY"

step "no failover past the callee's own answer"
check "busy-a: +19995552 to a gateway answering 486 (priority 1)" \
    route busy-a +19995552 "sip:$GW486:5060" 1
check "busy-b: another gateway (priority 2)" route busy-b +19995552 "sip:$GWNEVER:5060" 2
as_gw gw486 "$GW486" 486
as_gw gwnever "$GWNEVER" 200
sleep 0.3
check "alice calls tel:+19995552000" caller call3 call_uac_fail.xml "tel:+19995552000"
check_match "486 reaches alice" '^status: 486' "$(logline call3)"
check_eq "the second route was not tried" "" "$(grep "^as=" "$E2E_RUN/as-gwnever.out")"

step "every route fails"
check "dead-a: +19995553 to an address where nothing listens" \
    route dead-a +19995553 "sip:$DEAD:5060" 1
check "dead-b: to another one" route dead-b +19995553 "sip:$DEAD2:5060" 2
check "alice calls tel:+19995553000" caller call4 call_uac_fail.xml "tel:+19995553000"
check_match "500 with the BGCF's Warning naming both routes" \
    '^status: 500 warning: +399 127\.0\.0\.50 "no breakout route could take the request: dead-a \([a-z ]+\), dead-b \([a-z ]+\)"' \
    "$(logline call4)"

# ---------------------------------------------------------------------------------------------
step "no route"
t_noroute=$(date +%s)
check "alice calls tel:+8885550100 (no home user, no route)" \
    caller call5 call_uac_fail.xml "tel:+8885550100"
check_match "404 with the BGCF's Warning saying so" \
    '^status: 404 warning: +399 127\.0\.0\.50 "no breakout route for tel:\+8885550100"' \
    "$(logline call5)"
CALL5=$(sed -n 's/^Call-ID: *//p' "$E2E_RUN/call5.msg" | head -n 1 | tr -d '\r')
cdr5=$(wait_cdr "cdrs?subscriber=tel:%2B8885550100&from=$((t_noroute - 1))" \
    ".node == \"bgcf.$R\"")
check_eq "the CDF got an ACR EVENT of the BGCF for it: Cause-Code 404" \
    "event 5 INVITE 404" \
    "$(json_get "$cdr5" '"\(.record) \(.node_functionality) \(.method) \(.cause)"')"
ICID5=$(json_get "$cdr5" .icid)

# ---------------------------------------------------------------------------------------------
step "trust: the BGCF serves the trust domain only"
raw_invite e1 "$EVIL:5160" "tel:+19995550100" >"$E2E_RUN/evil1.sip"
raw evil1 "$EVIL:5160"
check_match "an INVITE from outside sip.trusted_peers: 403 with a Warning" \
    '^Warning: 399 127\.0\.0\.50 "INVITE from 127\.0\.0\.151:5160/udp: not a trusted peer of this BGCF"' \
    "$RAW_OUT"
check_match "... 403 Forbidden" '^SIP/2\.0 403 Forbidden' "$RAW_OUT"
printf 'OPTIONS sip:%s SIP/2.0\nVia: SIP/2.0/UDP %s:5161;branch=z9hG4bK-o1\nMax-Forwards: 70\nFrom: <sip:x@%s>;tag=o1\nTo: <sip:%s>\nCall-ID: o1@bgcf-test\nCSeq: 1 OPTIONS\n\n' \
    "$BGCF" "$EVIL" "$R" "$BGCF" >"$E2E_RUN/evil2.sip"
raw evil2 "$EVIL:5161"
check_match "an OPTIONS to the BGCF itself is answered to anybody (it goes nowhere)" \
    '^SIP/2\.0 200 ' "$RAW_OUT"

# ---------------------------------------------------------------------------------------------
step "changes are live at once and kept across a restart"
api DELETE routes/gw-test
check_eq "DELETE routes/gw-test: 200" 200 "$API_CODE"
api GET "lookup?target=tel:%2B19995550100"
check_eq "tel:+19995550100 falls back to the lab's +1999 at once" pstn \
    "$(json_get "$API_BODY" '.routes[0].id')"
pid=$(cat "$E2E_RUN/bgcf/bgcf.pid" 2>/dev/null)
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "the BGCF stopped" bash -c "! kill -0 $pid 2>/dev/null"
export IMS_BGCF_RECORD_ROUTE=no       # the BGCF started again leaves the dialogs (below)
check "... and starts again (deploy/lab.sh start)" lab_start
api GET routes
check_eq "the API's routes are back, the deleted one is not" \
    "busy-a busy-b dead-a dead-b fo-a fo-b fo-c fo-d pstn" \
    "$(json_get "$API_BODY" '[.routes[].id] | sort | join(" ")')"
check_eq "... with what was put" "sip:$GW2:5060 4 10 api" \
    "$(json_get "$API_BODY" '.routes[] | select(.id == "fo-d") | "\(.next_hop) \(.priority) \(.weight) \(.source)"')"
as_stop

step "bgcf.record_route = no (set for the restart): one ACR EVENT per session attempt"
check "norr: +19995554 to $GW2" route norr +19995554 "sip:$GW2:5060" 1
# the gateway hangs up: sipp sends every message of a call to where its INVITE came from (the
# BGCF), which passes the BYE on along its Route set; the caller's BYE would reach the
# gateway from the S-CSCF and sipp would answer it to the BGCF
gateway gw3 "$GW2" call_uas_bye.xml -d 500
t_norr=$(date +%s)
check "alice calls tel:+19995554000; the gateway answers and hangs up" \
    caller call6 call_uac_wait.xml "tel:+19995554000"
check "the gateway: INVITE, 180, 200, ACK, BYE, 200" gateway_ok gw3
check_eq "the BGCF did not record-route" "" \
    "$(tr -d '\r' <"$E2E_RUN/gw3.msg" | grep '^Record-Route: <sip:127\.0\.0\.50')"
cdr6=$(wait_cdr "cdrs?subscriber=tel:%2B19995554000&from=$((t_norr - 1))" \
    ".node == \"bgcf.$R\"")
check_eq "the CDF got an ACR EVENT of the BGCF for the answered INVITE" "event 5 INVITE" \
    "$(json_get "$cdr6" '"\(.record) \(.node_functionality) \(.method)"')"

# ---------------------------------------------------------------------------------------------
step "the wire"
cap_stop
cap=$E2E_CAP_FILE
check_eq "no malformed packet, no expert error" "" "$(cap_problems "$cap")"
check "the INVITE for tel:+19994440000 went from the BGCF to the MGCF" test \
    "$(cap_count "$cap" 'ip.src == 127.0.0.50 && ip.dst == 127.0.0.70 && sip.Method == "INVITE" && sip.r-uri == "tel:+19994440000"')" -ge 1
check_eq "nothing of the untrusted INVITE left the BGCF" 0 \
    "$(cap_count "$cap" 'ip.src == 127.0.0.50 && sip.Call-ID == "e1@bgcf-test" && sip.Method == "INVITE"')"
check "the BYE of the first call passed the BGCF" test \
    "$(cap_count "$cap" "ip.src == 127.0.0.50 && ip.dst == $GW1 && sip.Method == \"BYE\"")" -ge 1
acrs=$(cap_tshark "$cap" -Y 'diameter.cmd.code == 271 && diameter.flags.request == 1 && diameter.Node-Functionality == 5' \
    -T fields -e diameter.Accounting-Record-Type -e diameter.IMS-Charging-Identifier 2>/dev/null)
check_match "ACR START (2) of the BGCF with the first call's ICID" "^2[[:space:]]+$ICID1\$" "$acrs"
check_match "ACR STOP (4) of the BGCF with the first call's ICID" "^4[[:space:]]+$ICID1\$" "$acrs"
icid5=$(tshark -r "$cap" -Y "sip.Call-ID == \"$CALL5\" && ip.dst == 127.0.0.50 && sip.Method == \"INVITE\"" \
    -T fields -e sip.P-Charging-Vector 2>/dev/null | sed -n 's/.*icid-value=\([^;]*\).*/\1/p' | head -n 1)
check_eq "the EVENT of the 404 carries the ICID of the INVITE the BGCF received" "$icid5" "$ICID5"
check_match "... ACR EVENT (1) of the BGCF on the wire" "^1[[:space:]]+$ICID5\$" "$acrs"

lab_stop
e2e_finish
