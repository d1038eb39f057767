#!/usr/bin/env bash
# tests/e2e/test_foundation.sh - the foundation, end to end, on the loopback lab of LAB.md.
#
# Starts a capture and the lab (run/e2e-foundation), then checks: /health and /metrics of
# the eight daemons and the MRB; Diameter peers open on both sides (CER/CEA done); SIP
# OPTIONS answered 200 over UDP and TCP; INVITE, REGISTER and MESSAGE answered 501 with a
# Warning by the nodes that do not handle them yet (403 from the P-CSCF for a UE that is not
# registered, from the MRF for an INVITE from outside its trust domain, and from the MRB for
# any of them from outside its trust domain); Cx, Sh and
# Ro requests answered DIAMETER_COMMAND_UNSUPPORTED and counted; a broken configuration
# refused with exit status 2 and file:line:key; --version, --help, --check; the capture
# decodes cleanly and holds the SIP and Diameter sent; SIGTERM stops every daemon cleanly.
#
# Needs `make` first (build/bin) and the tools of `mk/deps.sh test`; run it alone or through
# tests/e2e/run.sh (make e2e). Nothing else may listen on 127.0.0.10-80 and 127.0.0.65 (a
# lab of yours in run/lab must be stopped first: make lab-stop).
set -u

# shellcheck source=tests/lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init foundation
e2e_require jq curl tshark sipsak sipp pgrep ss timeout awk

SCEN=$E2E_ROOT/tests/e2e/scenarios
UE=127.0.0.110                  # the UE address of LAB.md used by sipp
UE_PORT=5100                    # sipp's local port, one new port per run

# What a node answers instead of 501 now that it handles the method, for a UE that is not
# registered: a status (the scenarios <method>_<status>.xml), or "-" when the request is not
# sent here (the node's own test covers it: test_pcscf.sh, the I-CSCF's REGISTER handling).
# The MRF, the MRB and the MGCF take requests from their trust domain only: the UE's get 403
# (test_mrfc.sh, test_pstn.sh). The IBCF refuses what comes neither from a peer network nor
# from a node of the home network (a UE), unless it is addressed to the IBCF itself (INVITE
# and MESSAGE here: 501).
declare -A HANDLED=([pcscf-INVITE]=403 [pcscf-MESSAGE]=403 [pcscf-REGISTER]=- [mrfc-INVITE]=403
                    [icscf-REGISTER]=- [scscf-REGISTER]=- [mrb-INVITE]=403
                    [mrb-REGISTER]=403 [mrb-MESSAGE]=403 [ibcf-REGISTER]=403
                    [mgcf-INVITE]=403 [mgcf-REGISTER]=403 [mgcf-MESSAGE]=403)
expected_status() {   # $1 daemon $2 method -> 501, another status, or -
    echo "${HANDLED[$1-$2]:-501}"
}

missing=()
for d in "${E2E_DAEMONS[@]}" diamcli; do
    [ -x "$E2E_BIN/$d" ] || missing+=("$d")
done
if [ ${#missing[@]} -gt 0 ]; then
    fail "binaries built: ${missing[*]} missing in $E2E_BIN" "run: make"
    e2e_finish
fi

re() {   # $1 text -> the same text as a literal extended regular expression
    printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'
}

metric() {   # $1 /metrics text $2 series as rendered (name or name{labels}) -> value / absent
    printf '%s\n' "$1" | awk -v s="$2" '$1 == s { print $2; f = 1; exit } END { if (!f) print "absent" }'
}

delta() {   # $1 before $2 after -> after - before (or "absent")
    if [ "$1" = absent ] || [ "$2" = absent ]; then
        echo absent
    else
        awk -v a="$1" -v b="$2" 'BEGIN { printf "%g", b - a }'
    fi
}

declare -A METRICS_BEFORE
metrics_of() {   # $1 daemon -> /metrics text (empty when unreachable)
    http_get "http://${E2E_ADDR[$1]}:8080/metrics" && printf '%s' "$HTTP_BODY"
}

# ---------------------------------------------------------------------------------------------
step "capture"
if cap_start foundation 2>"$E2E_RUN/cap-start.err"; then
    pass "tshark captures on lo: $E2E_CAP_FILTER"
else
    fail "tshark captures on lo" "$(cat "$E2E_RUN/cap-start.err")"
fi

# ---------------------------------------------------------------------------------------------
step "the lab starts (deploy/lab.sh start)"
lab_start
rc=$?
if ! check_eq "deploy/lab.sh start exits 0" 0 "$rc"; then
    log "the lab did not start (see above): the remaining checks would only repeat that"
    e2e_finish
fi
check_match "it prints the table header" '^FUNCTION +ADDRESS +PORTS +HEALTH +PID$' "$LAB_OUT"
for d in "${E2E_DAEMONS[@]}"; do
    case $d in
        hss | ocs) ports='diameter:5868/tls\+3868/tcp' ;;
        pcscf) ports='sip:5060/udp\+tcp\+5061/tls' ;;
        *) ports='sip:5060/udp\+tcp' ;;
    esac
    check_match "table: $d at ${E2E_ADDR[$d]}, health ok, a pid" \
        "^$d +$(re "${E2E_ADDR[$d]}") +$ports http:8080 +ok +[0-9]+$" "$LAB_OUT"
done

# ---------------------------------------------------------------------------------------------
step "/health of every daemon"
for d in "${E2E_DAEMONS[@]}"; do
    a=${E2E_ADDR[$d]}
    http_get "http://$a:8080/health"
    check_eq "$d /health: HTTP 200, application/json" "200 application/json" \
        "$HTTP_CODE $HTTP_TYPE"
    check_eq "$d /health: status, daemon, version, type of uptime_s" \
        "ok $d $E2E_VERSION number" \
        "$(json_get "$HTTP_BODY" '"\(.status) \(.daemon) \(.version) \(.uptime_s|type)"')"
    check_eq "$d /health: 0 <= uptime_s < 120" true \
        "$(json_get "$HTTP_BODY" '.uptime_s >= 0 and .uptime_s < 120')"

    # SIP listeners
    want=
    if [[ " ${E2E_SIP_DAEMONS[*]} " == *" $d "* ]]; then
        want="$a:5060/tcp listening, $a:5060/udp listening"
        [ "$d" = pcscf ] && want+=", $a:5061/tls listening"   # SIP over TLS on Gm
    fi
    check_eq "$d /health: SIP listeners" "$want" "$(json_get "$HTTP_BODY" \
        '[.peers[] | select(.kind == "sip-listener") | "\(.name) \(.state)"] | sort | join(", ")')"

    # Diameter: the configured peers of a client are open over TLS (CER/CEA done)
    want=
    for p in ${E2E_DIAM_PEERS[$d]:-}; do
        want+="${want:+, }$p.$E2E_REALM@${E2E_ADDR[$p]}:5868 out tls open"
    done
    # and a server lists its configured clients (each with its address), connected and
    # open; the hss also its application server (127.0.0.90), not connected
    for c in $(printf '%s\n' "${!E2E_DIAM_PEERS[@]}" as | sort); do
        [ "$c" = as ] && [ "$d" = hss ] &&
            want+="${want:+, }as.$E2E_REALM@127.0.0.90 in tls closed"
        [[ " ${E2E_DIAM_PEERS[$c]:-} " == *" $d "* ]] &&
            want+="${want:+, }$c.$E2E_REALM@${E2E_ADDR[$c]} in tls open"
    done
    check_eq "$d /health: configured Diameter peers" "$want" "$(json_get "$HTTP_BODY" \
        '[.peers[] | select(.kind == "diameter" and .configured)
          | "\(.name)@\(.address) \(.direction) \(.transport) \(.state)"] | sort
          | join(", ")')"
    check_eq "$d /health: no other Diameter peer connected" "" "$(json_get "$HTTP_BODY" \
        '[.peers[] | select(.kind == "diameter" and (.configured | not))
          | "\(.name) \(.state)"] | sort | join(", ")')"
    # the lab-only acceptance of 127.0.1.0/24 peers is said in /health
    want=
    [ "$d" = hss ] || [ "$d" = ocs ] && want="diameter: accepts any peer matching *.$E2E_REALM@127.0.1.0/24 (diameter.accept_peers): lab only"
    check_eq "$d /health: warnings" "$want" "$(json_get "$HTTP_BODY" '.warnings | join(" | ")')"
done

# ---------------------------------------------------------------------------------------------
step "/metrics of every daemon"
for d in "${E2E_DAEMONS[@]}"; do
    http_get "http://${E2E_ADDR[$d]}:8080/metrics"
    check_eq "$d /metrics: HTTP 200" 200 "$HTTP_CODE"
    check_match "$d /metrics: Content-Type text/plain" '^text/plain(;|$)' "$HTTP_TYPE"
    check_contains "$d /metrics: ims_build_info" \
        "ims_build_info{daemon=\"$d\",version=\"$E2E_VERSION\"} 1" "$HTTP_BODY"
    check_match "$d /metrics: process_resident_memory_bytes > 0" \
        '^process_resident_memory_bytes [1-9][0-9]*(\.[0-9]+)?(e\+[0-9]+)?$' "$HTTP_BODY"
    METRICS_BEFORE[$d]=$HTTP_BODY
done

# ---------------------------------------------------------------------------------------------
step "SIP OPTIONS: 200 over UDP and TCP (sipsak)"
for d in "${E2E_SIP_DAEMONS[@]}"; do
    for t in udp tcp; do
        out=$(timeout 15 sipsak -vv -E "$t" -s "sip:${E2E_ADDR[$d]}:5060" 2>&1)
        rc=$?
        printf '%s\n' "$out" >"$E2E_RUN/sipsak-options-$d-$t.log"
        if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q '^SIP/2.0 200 OK'; then
            pass "$d OPTIONS over $t: 200 OK"
        else
            fail "$d OPTIONS over $t: 200 OK" "sipsak exit status $rc (0: 200 received)" \
                "$(printf '%s\n' "$out" | tail -n 15)"
        fi
    done
done

# ---------------------------------------------------------------------------------------------
step "SIP INVITE, REGISTER, MESSAGE: 501 (or the node's answer) with a Warning over UDP and TCP (sipp)"
N501=0
N403=0
for d in "${E2E_SIP_DAEMONS[@]}"; do
    a=${E2E_ADDR[$d]}
    for m in INVITE REGISTER MESSAGE; do
        st=$(expected_status "$d" "$m")
        [ "$st" = - ] && continue
        [ "$st" = 501 ] && N501=$((N501 + 2))
        [ "$st" = 403 ] && N403=$((N403 + 2))
        for t in u1 t1; do
            tr=$([ $t = u1 ] && echo udp || echo tcp)
            base=$E2E_RUN/sipp-$d-$m-$tr
            UE_PORT=$((UE_PORT + 1))
            (cd "$E2E_RUN" && timeout 30 sipp -sf "$SCEN/${m,,}_$st.xml" -m 1 -nostdin \
                -t "$t" -i "$UE" -p "$UE_PORT" -timeout 10s -timeout_error \
                -trace_err -error_file "$base.err" -trace_logs -log_file "$base.log" \
                "$a:5060" >"$base.out" 2>&1)
            rc=$?
            warning=$(sed -n 's/^Warning: *//p' "$base.log" 2>/dev/null | head -n 1)
            if [ $rc -eq 0 ] && printf '%s\n' "$warning" | \
                grep -Eq "^399 $(re "$a") \"$m [^\"]+\"$"; then
                pass "$d $m over $tr: $st, Warning: $warning"
            else
                fail "$d $m over $tr: $st with Warning: 399 $a \"$m ...\"" \
                    "sipp exit status $rc (0: the scenario passed); Warning seen: '$warning'" \
                    "$(tail -n 10 "$base.err" 2>/dev/null)"
            fi
        done
    done
done

step "SIP counters in /metrics"
for d in "${E2E_SIP_DAEMONS[@]}"; do
    after=$(metrics_of "$d")
    got=
    for s in 'ims_sip_requests_total{method="OPTIONS"}' 'ims_sip_requests_total{method="INVITE"}' \
             'ims_sip_requests_total{method="REGISTER"}' 'ims_sip_requests_total{method="MESSAGE"}' \
             'ims_sip_responses_total{class="2xx"}' 'ims_sip_responses_total{class="4xx"}' \
             'ims_sip_responses_total{class="5xx"}'; do
        got+="${got:+ }$(delta "$(metric "${METRICS_BEFORE[$d]}" "$s")" "$(metric "$after" "$s")")"
    done
    want="2"
    n4=0
    n5=0
    for m in INVITE REGISTER MESSAGE; do
        st=$(expected_status "$d" "$m")
        want+=" $([ "$st" = - ] && echo 0 || echo 2)"
        [ "$st" = 403 ] && n4=$((n4 + 2))
        [ "$st" = 501 ] && n5=$((n5 + 2))
    done
    check_eq "$d: requests OPTIONS INVITE REGISTER MESSAGE, responses 2xx 4xx 5xx (increase)" \
        "$want 2 $n4 $n5" "$got"
done

# ---------------------------------------------------------------------------------------------
step "Diameter requests: unhandled commands get DIAMETER_COMMAND_UNSUPPORTED; the OCS answers CCR and ACR (diamcli)"
# one client per request, all at once (each spends a few seconds before its connection
# opens), each with its own Diameter identity: a server refuses a second connection from an
# identity it already has open
declare -A DREQ=(
    [hss-PPR]="hss PPR {\"User-Name\":\"alice@$E2E_REALM\",\"Destination-Host\":\"hss.$E2E_REALM\"}"
    [hss-PNR]="hss PNR {\"User-Identity\":{\"Public-Identity\":\"sip:alice@$E2E_REALM\"},\"User-Data-29.329\":\"<Sh-Data/>\",\"Destination-Host\":\"hss.$E2E_REALM\"}"
    [ocs-CCR]="ocs CCR {\"Service-Context-Id\":\"32260@3gpp.org\",\"CC-Request-Type\":1,\"CC-Request-Number\":0,\"Auth-Application-Id\":4}"
    [ocs-ACR]="ocs ACR {\"Accounting-Record-Type\":1,\"Accounting-Record-Number\":0,\"Acct-Application-Id\":3}"
)
# the result each request gets: the CCR lacks Subscription-Id (the OCS says which AVP is
# missing); the ACR is a complete EVENT record
declare -A DWANT=([hss-PPR]="3001 DIAMETER_COMMAND_UNSUPPORTED"
                  [hss-PNR]="3001 DIAMETER_COMMAND_UNSUPPORTED"
                  [ocs-CCR]="5005 DIAMETER_MISSING_AVP" [ocs-ACR]="2001 DIAMETER_SUCCESS")
declare -A DPID
for k in "${!DREQ[@]}"; do
    read -r srv cmd avps <<<"${DREQ[$k]}"
    timeout 20 "$E2E_BIN/diamcli" --peer "$srv.$E2E_REALM@${E2E_ADDR[$srv]}" --cmd "$cmd" \
        --identity "diamcli-${k,,}.$E2E_REALM" --avps "$avps" --expect "${DWANT[$k]%% *}" >"$E2E_RUN/diamcli-$k.json" 2>"$E2E_RUN/diamcli-$k.err" &
    DPID[$k]=$!
done
for k in $(printf '%s\n' "${!DREQ[@]}" | sort); do
    wait "${DPID[$k]}"
    rc=$?
    read -r srv cmd avps <<<"${DREQ[$k]}"
    ans=$(head -n 1 "$E2E_RUN/diamcli-$k.json")
    got=$(json_get "$ans" '"\(.result) \(.experimental) \(.name) \(.answer["Origin-Host"]) \(.answer["Result-Code"])"')
    read -r code name <<<"${DWANT[$k]}"
    if [ $rc -eq 0 ]; then
        check_eq "$cmd to $srv: answer $code from $srv" \
            "$code false $name $srv.$E2E_REALM $code" "$got"
    else
        fail "$cmd to $srv: answer $code from $srv" "diamcli exit status $rc (124: timeout)" \
            "answer: $ans" "$(tail -n 10 "$E2E_RUN/diamcli-$k.err")"
    fi
done

step "Diameter counters in /metrics"
for d in hss ocs; do
    after=$(metrics_of "$d")
    case $d in
        hss) series=(ims_diameter_unsupported_total
                     'ims_diameter_messages_total{command="PPR",direction="in"}'
                     'ims_diameter_messages_total{command="PPA",direction="out"}'
                     'ims_diameter_messages_total{command="PNR",direction="in"}'
                     'ims_diameter_messages_total{command="PNA",direction="out"}')
             want="2 1 1 1 1" ;;
        ocs) series=(ims_diameter_unsupported_total
                     'ims_diameter_messages_total{command="CCR",direction="in"}'
                     'ims_diameter_messages_total{command="CCA",direction="out"}'
                     'ims_diameter_messages_total{command="ACR",direction="in"}'
                     'ims_diameter_messages_total{command="ACA",direction="out"}')
             want="0 1 1 1 1" ;;
    esac
    got=
    for s in "${series[@]}"; do
        got+="${got:+ }$(delta "$(metric "${METRICS_BEFORE[$d]}" "$s")" "$(metric "$after" "$s")")"
    done
    check_eq "$d: increase of ${series[*]}" "$want" "$got"
    [ "$d" = hss ] && check_match "$d: ims_diameter_unsupported_total > 0" \
        '^ims_diameter_unsupported_total [1-9][0-9]*$' "$after"
done

# ---------------------------------------------------------------------------------------------
step "configuration: a broken file is refused, the lab's files pass --check"
mkdir -p "$E2E_RUN/broken"
for d in "${E2E_DAEMONS[@]}"; do
    conf=$E2E_ROOT/deploy/lab/$d.conf
    bad=$E2E_RUN/broken/$d.conf
    case $d in hss | ocs) sec=diameter ;; *) sec=sip ;; esac
    sed "/^\[$sec\]\$/a bogus = 1" "$conf" >"$bad"
    line=$(grep -n '^bogus = 1$' "$bad" | cut -d: -f1)
    err=$(timeout 10 "$E2E_BIN/$d" --config "$bad" 2>&1 >/dev/null)
    rc=$?
    want="$d: configuration error: $bad:$line: unknown key 'bogus' in section [$sec]"
    if [ $rc -eq 2 ] && [[ $err == *"$bad:$line:"*bogus* ]]; then
        pass "$d: 'bogus = 1' in [$sec] (line $line): exit 2, $err"
    else
        fail "$d: 'bogus = 1' in [$sec]: exit 2 and an error naming file, line and key" \
            "exit status $rc (124: still running after 10 s)" "stderr: $err" \
            "expected like: $want"
    fi
    out=$(timeout 10 "$E2E_BIN/$d" --check --config "$conf" 2>&1)
    rc=$?
    check_eq "$d --check --config deploy/lab/$d.conf" \
        "0 $d: configuration $conf is valid" "$rc $out"
done

# ---------------------------------------------------------------------------------------------
step "--version, --help, a bad option"
for d in "${E2E_DAEMONS[@]}"; do
    out=$("$E2E_BIN/$d" --version 2>&1)
    check_eq "$d --version" "0 $d (ims-core) $E2E_VERSION" "$? $out"
    out=$("$E2E_BIN/$d" --help 2>/dev/null)
    rc=$?
    if [ $rc -eq 0 ] && [[ $(head -n 1 <<<"$out") == "$d - "* ]] &&
        grep -Fxq "usage: $d --config FILE [--pidfile FILE]" <<<"$out" &&
        grep -Fxq "  [node]" <<<"$out"; then
        pass "$d --help: exit 0, summary, usage, configuration keys"
    else
        fail "$d --help: exit 0, summary, usage, configuration keys" "exit status $rc" \
            "$(head -n 12 <<<"$out")"
    fi
    "$E2E_BIN/$d" --no-such-option >/dev/null 2>&1
    check_eq "$d --no-such-option: exit status 2" 2 "$?"
done

# ---------------------------------------------------------------------------------------------
step "the capture"
cap=$E2E_CAP_FILE
if [ -n "$E2E_CAP_PID" ]; then
    cap_stop
    check_eq "tshark stops on SIGINT with status 0" 0 "$?"
    problems=$(cap_problems "$cap")
    check_eq "no malformed packet, no expert error" "" "$problems"
    sip=$(cap_count "$cap" sip)
    diam=$(cap_count "$cap" diameter)
    http=$(cap_count "$cap" http)
    check_eq "SIP, Diameter and HTTP decoded" "sip>0 diameter>0 http>0" \
        "sip$([ "$sip" -gt 0 ] && echo '>0' || echo "=$sip") diameter$([ "$diam" -gt 0 ] && echo '>0' || echo "=$diam") http$([ "$http" -gt 0 ] && echo '>0' || echo "=$http")"
    # exact counts of what this test sent
    check_eq "SIP: OPTIONS requests (${#E2E_SIP_DAEMONS[@]} nodes x udp, tcp)" \
        $((2 * ${#E2E_SIP_DAEMONS[@]})) \
        "$(cap_count "$cap" 'sip.Method == "OPTIONS"')"
    check_eq "SIP: 501 responses (nodes x methods not handled x udp, tcp)" "$N501" \
        "$(cap_count "$cap" 'sip.Status-Code == 501')"
    check_eq "SIP: 501 responses carrying a Warning" "$N501" \
        "$(cap_count "$cap" 'sip.Status-Code == 501 && sip.Warning')"
    check_eq "SIP: 403 responses of the P-CSCF (INVITE, MESSAGE), the MRF (INVITE), the MRB and the MGCF (INVITE, REGISTER, MESSAGE) and the IBCF (REGISTER) to an untrusted UE x udp, tcp, with a Warning" \
        "$N403 $N403" "$(cap_count "$cap" 'sip.Status-Code == 403 && (ip.src == 127.0.0.10 || ip.src == 127.0.0.55 || ip.src == 127.0.0.60 || ip.src == 127.0.0.65 || ip.src == 127.0.0.70)') $(cap_count "$cap" 'sip.Status-Code == 403 && sip.Warning')"
    # every connection opened with a successful CER/CEA, from exactly the expected peers (a
    # connection retried by freeDiameter adds a pair, which is legitimate)
    cer=$(cap_count "$cap" 'diameter.cmd.code == 257 && diameter.flags.request == 1')
    cea=$(cap_count "$cap" 'diameter.cmd.code == 257 && diameter.flags.request == 0 && diameter.Result-Code == 2001')
    check_eq "Diameter: each CER answered by a CEA with 2001" "$cer" "$cea"
    origins=$(cap_tshark "$cap" -Y 'diameter.cmd.code == 257 && diameter.flags.request == 1' \
              -T fields -e diameter.Origin-Host 2>/dev/null | sort -u | tr '\n' ' ')
    want_origins=$(printf '%s\n' bgcf ibcf icscf mgcf mrfc pcscf scscf diamcli-hss-ppr \
                   diamcli-hss-pnr diamcli-ocs-ccr diamcli-ocs-acr | sed "s/\$/.$E2E_REALM/" | sort | tr '\n' ' ')
    check_eq "Diameter: CERs from the 7 clients and the 4 diamcli runs" "$want_origins" "$origins"
    check_eq "Diameter: PPR, PNR, CCR, ACR with their application ids (Cx, Sh, Ro, Rf)" \
        "1 1 1 1" \
        "$(cap_count "$cap" 'diameter.cmd.code == 305 && diameter.applicationId == 16777216 && diameter.flags.request == 1') $(cap_count "$cap" 'diameter.cmd.code == 309 && diameter.applicationId == 16777217 && diameter.flags.request == 1') $(cap_count "$cap" 'diameter.cmd.code == 272 && diameter.applicationId == 4 && diameter.flags.request == 1') $(cap_count "$cap" 'diameter.cmd.code == 271 && diameter.applicationId == 3 && diameter.flags.request == 1')"
    check_eq "Diameter: answers with Result-Code 3001 (PPA, PNA), E bit set (RFC 6733 7.1.3)" "2 2" \
        "$(cap_count "$cap" 'diameter.flags.request == 0 && diameter.Result-Code == 3001') $(cap_count "$cap" 'diameter.flags.request == 0 && diameter.Result-Code == 3001 && diameter.flags.error == 1')"
else
    fail "the capture ran (see above)"
fi

# ---------------------------------------------------------------------------------------------
step "the lab stops cleanly (deploy/lab.sh stop, SIGTERM)"
lab_stop
rc=$?
check_eq "deploy/lab.sh stop: exit 0 and its report" \
    "0 lab: stopped ${#E2E_DAEMONS[@]} daemon(s) and 2 test peer(s); logs and state left in $E2E_RUN/" \
    "$rc $LAB_OUT"
left=$(lab_pids)
check_eq "no daemon of this run left (pgrep -f '--pidfile $E2E_RUN/')" "" "$left"
[ -n "$left" ] && ps -o pid,args -p "$(tr '\n' ',' <<<"$left" | sed 's/,$//')"
listeners=$(ss -Hlntu 2>/dev/null | awk '$5 ~ /^127\.0\.0\.([1-8]0|55|65):(5060|3868|8080)$/ {print $1, $5}')
check_eq "no listener left on the lab addresses" "" "$listeners"
for d in "${E2E_DAEMONS[@]}"; do
    f=$E2E_RUN/$d/$d.log
    check_eq "$d log: 'stopping on signal' then 'stopped'" \
        "msg=\"$d stopping on signal\" msg=\"$d stopped\"" \
        "$(grep -o "msg=\"$d stopp[a-z ]*\"" "$f" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
    check_eq "$d log: no level=error line" "" "$(grep 'level=error' "$f" 2>/dev/null | head -n 5)"
    check_eq "$d: nothing on stdout/stderr ($d.out)" "" "$(head -c 2000 "$E2E_RUN/$d/$d.out" 2>/dev/null)"
done

e2e_finish
