#!/usr/bin/env bash
# tests/e2e/test_crash.sh - the S-CSCF, the HSS and the OCS each killed (SIGKILL) at a random
# moment under load and restarted: nothing they confirmed is lost (issue 13).
#
#   S-CSCF  sipp registers bulk users through the P-CSCF (Digest, scscf.db_sync = normal,
#           the default); the S-CSCF is killed once it has confirmed a random number of
#           them and started again at once; sipp goes on. Every user sipp got a 200 OK
#           for, before or after the kill, is registered afterwards: in the restarted
#           S-CSCF's database, in its /metrics and at the HSS (reg_state). A user confirmed
#           before the kill can be there only because the restart read it back.
#   HSS     (restarted with hss.db_sync = full, so that the sync thread runs too) diamcli
#           sends each of its users an AKA MAR, a SAR (REGISTRATION) and more AKA MARs; the
#           HSS is killed mid-way. After the restart every user whose SAA said success is
#           registered (database and REST API), and the next vector of every user has a
#           higher SQN than every vector answered before the kill (none reused).
#   OCS     diamcli runs Ro sessions (CCR-I 60 s, CCR-U 60 s used + 60 s, CCR-T 30 s used)
#           on prepaid accounts and sends ACR EVENTs to the CDF; the OCS is killed mid-way.
#           After the restart every account's balance and reservation match the last CCA
#           it got (or the request in flight at the kill, whose answer never came), and
#           every ACR answered DIAMETER_SUCCESS is in the CDF.
#
# Each daemon is started again as deploy/lab.sh starts it (same state folder). The load
# sizes keep the test under ~3 minutes on 2 busy cores; the kill comes at a random point
# of the load (a random number of answers), and the test checks that there were answers
# both before it and after it (or, for the HSS and OCS, requests left unanswered).
. "$(dirname "$0")/../lib/e2e.sh"

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
NREG=2400            # users registered through the S-CSCF (user00001..)
RATE=200             # their registrations per second
HSS_FROM=2401        # the HSS's diamcli users: user02401..
HSS_USERS=160
OCS_USERS=150
AKA_K=626f622d6c61622d6b65792d30303031     # bob's K and OPc (the bulk users have them)
AKA_OPC=43323b985271beddb44cbf7214364a41
e2e_init crash
e2e_require sipp jq curl sqlite3

# the daemon $1 (address $2) started again as deploy/lab.sh starts it, with the
# environment overrides $3...; waits for /health ok
restart() {
    local name=$1 dir=$E2E_RUN/$1 addr=$2
    shift 2
    # as the lab starts it (its Diameter TLS credentials), with the extra environment
    ( [ $# -gt 0 ] && export "$@"; lab_start_one "$name" ) >>"$E2E_RUN/$name.restart" 2>&1 ||
        return 1
    local deadline=$((SECONDS + 40))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(curl -s --max-time 2 "http://$addr:8080/health" | jq -r .status 2>/dev/null)" = ok ] &&
            return 0
        sleep 0.2
    done
    return 1
}

# SIGTERM the daemon $1 of this lab and wait for its end
stop_daemon() {
    local pid
    pid=$(cat "$E2E_RUN/$1/$1.pid")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

# SIGKILL the daemon $1 of this lab; prints its pid
kill_daemon() {
    local pid
    pid=$(cat "$E2E_RUN/$1/$1.pid")
    kill -KILL "$pid" && echo "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}


# read-only query $2 on the database of daemon $1 (it keeps running: WAL readers see every
# committed transaction)
dbq() {
    sqlite3 -readonly "$E2E_RUN/$1/$1.db" "$2"
}

# diamcli to daemon $1 as $2 with script $3 and more arguments; it replaces the calling
# (sub)shell, so that `(diam ...) &` gives diamcli's own pid in $!
diam() {
    local peer=$1 id=$2 script=$3
    shift 3
    exec "$E2E_BIN/diamcli" --peer "$peer.$R@${E2E_ADDR[$peer]}" --identity "$id.$R" \
        --address 127.0.1.12 --script "$script" --timeout-ms 3000 "$@"
}

# wait until file $1 has $2 lines (answers) or process $3 has ended
wait_lines() {
    while [ "$(wc -l <"$1")" -lt "$2" ] && kill -0 "$3" 2>/dev/null; do sleep 0.02; done
}

# a random number in [$1, $2)
between() {
    echo $(($1 + RANDOM % ($2 - $1)))
}

step "the lab starts with $((NREG + HSS_USERS)) bulk users"
# the UEs of the load share one address (sipp -t un: a port each): no bound per source
export IMS_PCSCF_MAX_BINDINGS=$((NREG + 1000)) IMS_PCSCF_MAX_BINDINGS_PER_SOURCE=0
if ! IMS_LAB_BULK=$((NREG + HSS_USERS)) check "deploy/lab.sh start" lab_start; then
    e2e_finish
fi

# ---------------------------------------------------------------------------------------------
step "S-CSCF: SIGKILL under a registration load ($NREG users at $RATE/s, UE -> P-CSCF)"
dir=$E2E_RUN/sipp-reg
mkdir -p "$dir"
{ echo SEQUENTIAL; seq -f 'user%05g' 1 "$NREG"; } >"$dir/users.csv"
(cd "$dir" && exec sipp -sf "$SCEN/crash_reg.xml" -t un -i 127.0.0.110 -p 5070 \
    -inf users.csv -r "$RATE" -m "$NREG" -l 600 -max_socket $((NREG + 100)) -key domain "$R" \
    -auth_uri "$R" -recv_timeout 4000 -timeout 90s -nostdin -trace_logs -trace_err \
    "${E2E_ADDR[pcscf]}:5060" >sipp.out 2>&1) &
sipp_pid=$!
e2e_at_cleanup "kill $sipp_pid 2>/dev/null"
# the kill: once the S-CSCF has confirmed a random number of the registrations
target=$(between $((NREG / 10)) $((NREG / 4)))
while kill -0 "$sipp_pid" 2>/dev/null; do
    done_ok=$(curl -s "http://${E2E_ADDR[scscf]}:8080/metrics" |
              awk '/^scscf_register_total\{outcome="registered"\}/ { print $2 }')
    [ "${done_ok:-0}" -ge "$target" ] && break
    sleep 0.05
done
killed=$(kill_daemon scscf)
log "S-CSCF (pid $killed) killed after ${done_ok:-0} registrations (target $target)"
cp "$E2E_RUN/scscf/scscf.db"* "$dir/" 2>/dev/null   # what the restart will read
check "the S-CSCF starts again at once" restart scscf "${E2E_ADDR[scscf]}"
wait "$sipp_pid"
registered=$(sed -n 's/^registered //p' "$dir"/*_logs.log | sort -u)
nreg=$(printf '%s\n' "$registered" | grep -c .)
restored=$(sed -n 's/.*msg="scscf: \([0-9]*\) registration set(s).*restored.*/\1/p' \
    "$E2E_RUN/scscf/scscf.log" | tail -n 1)
snap=$(sqlite3 -readonly "$dir/scscf.db" "SELECT count(DISTINCT aor) FROM contact" 2>&1)
log "200 OK for $nreg of $NREG users; the restart read back ${restored:-?} sets" \
    "(the database at the kill held $snap)"
snap_users=$(sqlite3 -readonly "$dir/scscf.db" "SELECT DISTINCT aor FROM contact" |
             sed 's/^sip://; s/@.*//' | sort -u)
after=$(comm -23 <(printf '%s\n' "$registered") <(printf '%s\n' "$snap_users") | grep -c .)
if [ "${restored:-0}" -gt 0 ] && [ "$after" -gt 0 ]; then
    pass "the kill came mid-load: $restored sets registered before it, $after users after"
else
    fail "the kill came mid-load" "restored ${restored:-?} sets, $after users registered after"
fi
check_eq "the restart read back what the database held at the kill" "$snap" "${restored:-?}"
bound=$(dbq scscf "SELECT DISTINCT aor FROM contact" | sed 's/^sip://; s/@.*//' | sort -u)
lost=$(comm -23 <(printf '%s\n' "$registered") <(printf '%s\n' "$bound"))
check_eq "every user the S-CSCF confirmed with a 200 OK is registered there after the restart" \
    "" "$(printf '%s' "$lost" | head -n 20)"
at_hss=$(dbq hss "SELECT identity FROM impu WHERE reg_state = 1" | sed 's/^sip://; s/@.*//' |
         sort -u)
lost=$(comm -23 <(printf '%s\n' "$registered") <(printf '%s\n' "$at_hss"))
check_eq "... and registered at the HSS" "" "$(printf '%s' "$lost" | head -n 20)"
http_get "http://${E2E_ADDR[scscf]}:8080/metrics"
bindings=$(awk '/^scscf_bindings / { print $2 }' <<<"$HTTP_BODY")
if [ "${bindings:-0}" -ge "$nreg" ]; then
    pass "the restarted S-CSCF counts them all in /metrics (scscf_bindings $bindings)"
else
    fail "the restarted S-CSCF counts them all in /metrics" \
        "scscf_bindings ${bindings:-absent}, $nreg users confirmed"
fi

# ---------------------------------------------------------------------------------------------
step "HSS: SIGKILL under MAR (AKA) and SAR load ($HSS_USERS users), hss.db_sync = full"
dir=$E2E_RUN/hss-load
mkdir -p "$dir"
# the default (normal) went through the S-CSCF's part; here the answers wait for the disk
stop_daemon hss
check "the HSS starts again with hss.db_sync = full" restart hss "${E2E_ADDR[hss]}" \
    IMS_HSS_DB_SYNC=full
check_match "... and says so" 'synced to disk \(hss.db_sync = full\)' \
    "$(grep 'subscriber database' "$E2E_RUN/hss/hss.log" | tail -n 1)"
MAR='{"cmd":"MAR","avps":{"User-Name":"user%05n@'$R'","Public-Identity":"sip:user%05n@'$R'","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"Digest-AKAv1-MD5"},"Server-Name":"sip:crash.'$R':5060"}}'
{
    echo "$MAR"
    echo '{"cmd":"SAR","session_id":"crash-sar-%05n","avps":{"User-Name":"user%05n@'$R'","Public-Identity":"sip:user%05n@'$R'","Server-Name":"sip:crash.'$R':5060","Server-Assignment-Type":1,"User-Data-Already-Available":0}}'
    for _ in $(seq 40); do echo "$MAR"; done
} >"$dir/load.script"
(diam hss crash1 "$dir/load.script" --users "$HSS_USERS" --from "$HSS_FROM" --concurrency 8 \
    >"$dir/before.jsonl" 2>"$dir/before.err") &
load_pid=$!
e2e_at_cleanup "kill $load_pid 2>/dev/null"
target=$(between $((HSS_USERS * 42 / 8)) $((HSS_USERS * 42 / 2)))
wait_lines "$dir/before.jsonl" "$target" "$load_pid"
synced=$(curl -s "http://${E2E_ADDR[hss]}:8080/metrics" |
         awk '/^hss_db_synced_answers_total / { print $2 }')
killed=$(kill_daemon hss)
sleep 0.3
kill -KILL "$load_pid" 2>/dev/null
wait "$load_pid" 2>/dev/null
answered=$(jq -c 'select(.result == 2001)' "$dir/before.jsonl" | grep -c .)
log "HSS (pid $killed) killed after $answered successful answers (target $target)"
if [ "$answered" -gt 0 ] && [ "$answered" -lt $((HSS_USERS * 42)) ]; then
    pass "the kill came mid-load ($answered of $((HSS_USERS * 42)) requests answered)"
else
    fail "the kill came mid-load" "$answered of $((HSS_USERS * 42)) answered"
fi
check_match "answers waited for the sync thread before the kill ($synced)" '^[1-9][0-9]*$' \
    "$synced"
check "the HSS starts again" restart hss "${E2E_ADDR[hss]}" IMS_HSS_DB_SYNC=full

# the last vector each user got before the kill: "user sqn"
sqn_of() {   # $1 RAND|AUTN (hex:...) -> the SQN it carries
    local h=${1#hex:}
    "$E2E_BIN/aka" check --k "$AKA_K" --opc "$AKA_OPC" --rand "${h:0:32}" --autn "${h:32:32}" |
        sed -n 's/^sqn=\([0-9a-f]*\).*/\1/p'
}
jq -r 'select(.result == 2001 and .answer["SIP-Auth-Data-Item"] != null) |
       "\(.answer["User-Name"]) \(.answer["SIP-Auth-Data-Item"]["SIP-Authenticate"])"' \
    "$dir/before.jsonl" | awk '{ last[$1] = $2 } END { for (u in last) print u, last[u] }' |
    sort >"$dir/last-vector"
echo "$MAR" >"$dir/after.script"
(diam hss crash2 "$dir/after.script" --users "$HSS_USERS" --from "$HSS_FROM" --concurrency 8 \
    >"$dir/after.jsonl" 2>"$dir/after.err")
jq -r 'select(.result == 2001) |
       "\(.answer["User-Name"]) \(.answer["SIP-Auth-Data-Item"]["SIP-Authenticate"])"' \
    "$dir/after.jsonl" | sort >"$dir/next-vector"
reused=
nusers=0
while read -r user before after; do
    nusers=$((nusers + 1))
    s1=$(sqn_of "$before")
    s2=$(sqn_of "$after")
    if [ -z "$s1" ] || [ -z "$s2" ] || [ $((16#$s2)) -le $((16#$s1)) ]; then
        reused+="$user: SQN ${s1:-?} before the kill, ${s2:-?} after"$'\n'
    fi
done < <(join "$dir/last-vector" "$dir/next-vector")
log "$nusers users had a vector before the kill"
check_match "users with a vector before the kill" '^[1-9][0-9]*$' "$nusers"
check_eq "every user's next vector has a higher SQN than any before the kill (none reused)" \
    "" "$(printf '%s' "$reused" | head -n 20)"
sar_ok=$(jq -r 'select(.result == 2001 and (.answer["Session-Id"] // "" | startswith("crash-sar-")))
               | .answer["Session-Id"]' "$dir/before.jsonl" | sed 's/^crash-sar-/user/' | sort -u)
nsar=$(printf '%s\n' "$sar_ok" | grep -c .)
at_hss=$(dbq hss "SELECT identity FROM impu WHERE reg_state = 1" | sed 's/^sip://; s/@.*//' |
         sort -u)
lost=$(comm -23 <(printf '%s\n' "$sar_ok") <(printf '%s\n' "$at_hss"))
check_match "SAAs answered before the kill" '^[1-9][0-9]*$' "$nsar"
check_eq "every registration an SAA confirmed is kept (database)" "" \
    "$(printf '%s' "$lost" | head -n 20)"
one=$(printf '%s\n' "$sar_ok" | tail -n 1)
out=$("$E2E_ROOT"/hss/hssctl --url "http://${E2E_ADDR[hss]}:8080" --token ims-lab-token impu "sip:$one@$R" \
      2>&1)
check_match "... and the REST API says $one is registered" '"reg_state": *"registered"' "$out"

# ---------------------------------------------------------------------------------------------
step "OCS: SIGKILL under Ro sessions and Rf records ($OCS_USERS accounts)"
dir=$E2E_RUN/ocs-load
mkdir -p "$dir"
BALANCE=100000
jq -n --argjson n "$OCS_USERS" --arg r "$R" --argjson b "$BALANCE" '{accounts:
    [range(1; $n + 1) | ("crash" + ("0000" + tostring)[-5:]) as $u |
     {name: $u, type: "prepaid", balance: $b, identities: ["sip:\($u)@\($r)"]}]}' \
    >"$dir/seed.json"
check "$OCS_USERS prepaid accounts of $BALANCE cents" \
    curl -sf -X POST -H 'Authorization: Bearer ims-lab-token' \
    -H 'Content-Type: application/json' --data-binary "@$dir/seed.json" \
    "http://${E2E_ADDR[ocs]}:8080/api/v1/seed"
INFO='"Service-Information":{"IMS-Information":{"Event-Type":{"SIP-Method":"INVITE"},"Node-Functionality":0,"Role-Of-Node":0,"Called-Party-Address":"sip:bob@'$R'","IMS-Charging-Identifier":"crash-%n"}}'
CCR='"Auth-Application-Id":4,"Service-Context-Id":"32260@3gpp.org"'
cat >"$dir/ro.script" <<SCRIPT
{"cmd":"CCR","session_id":"crash-ro-%05n","avps":{$CCR,"CC-Request-Type":1,"CC-Request-Number":0,"Subscription-Id":{"Subscription-Id-Type":2,"Subscription-Id-Data":"sip:crash%05n@$R"},"Multiple-Services-Credit-Control":{"Requested-Service-Unit":{"CC-Time":60},"Rating-Group":1},$INFO}}
{"cmd":"CCR","session":"keep","avps":{$CCR,"CC-Request-Type":2,"CC-Request-Number":1,"Multiple-Services-Credit-Control":{"Requested-Service-Unit":{"CC-Time":60},"Used-Service-Unit":{"CC-Time":60},"Rating-Group":1}}}
{"cmd":"CCR","session":"keep","avps":{$CCR,"CC-Request-Type":3,"CC-Request-Number":2,"Multiple-Services-Credit-Control":{"Used-Service-Unit":{"CC-Time":30},"Rating-Group":1}}}
SCRIPT
ACR='"Acct-Application-Id":3,"Service-Context-Id":"32260@3gpp.org"'
for i in $(seq 12); do
    echo "{\"cmd\":\"ACR\",\"session_id\":\"crash-rf-%05n-$i\",\"avps\":{$ACR,\"Accounting-Record-Type\":1,\"Accounting-Record-Number\":0,$INFO}}"
done >"$dir/rf.script"
(diam ocs crash3 "$dir/ro.script" --users "$OCS_USERS" --concurrency 4 \
    >"$dir/ro.jsonl" 2>"$dir/ro.err") &
ro_pid=$!
(diam ocs crash4 "$dir/rf.script" --users "$OCS_USERS" --concurrency 4 \
    >"$dir/rf.jsonl" 2>"$dir/rf.err") &
rf_pid=$!
e2e_at_cleanup "kill $ro_pid $rf_pid 2>/dev/null"
target=$(between $((OCS_USERS * 3 / 8)) $((OCS_USERS * 3 / 2)))
wait_lines "$dir/ro.jsonl" "$target" "$ro_pid"
killed=$(kill_daemon ocs)
sleep 0.3
kill -KILL "$ro_pid" "$rf_pid" 2>/dev/null
wait "$ro_pid" "$rf_pid" 2>/dev/null
ro_ok=$(jq -c 'select(.result == 2001)' "$dir/ro.jsonl" | grep -c .)
rf_ok=$(jq -c 'select(.result == 2001)' "$dir/rf.jsonl" | grep -c .)
log "OCS (pid $killed) killed after $ro_ok successful CCAs (target $target) and $rf_ok ACAs"
if [ "$ro_ok" -gt 0 ] && [ "$ro_ok" -lt $((OCS_USERS * 3)) ] && [ "$rf_ok" -gt 0 ] &&
    [ "$rf_ok" -lt $((OCS_USERS * 12)) ]; then
    pass "the kill came mid-load (of $((OCS_USERS * 3)) CCRs and $((OCS_USERS * 12)) ACRs)"
else
    fail "the kill came mid-load" "$ro_ok CCAs, $rf_ok ACAs successful"
fi
check "the OCS starts again" restart ocs "${E2E_ADDR[ocs]}"

# the last step each session got a success for: "crashNNNNN k" (k = 1 I, 2 U, 3 T)
jq -r 'select(.result == 2001) | "\(.answer["Session-Id"]) \(.answer["CC-Request-Number"] + 1)"' \
    "$dir/ro.jsonl" | sed 's/^crash-ro-/crash/' |
    awk '{ if ($2 > k[$1]) k[$1] = $2 } END { for (u in k) print u, k[u] }' | sort >"$dir/acked"
# every account as the API shows it: "name debited reserved" (64 a page)
off=0
: >"$dir/accounts"
while :; do
    page=$(curl -s -H 'Authorization: Bearer ims-lab-token' \
           "http://${E2E_ADDR[ocs]}:8080/api/v1/accounts?offset=$off&limit=64")
    jq -r --argjson b "$BALANCE" '.items[] | select(.name | startswith("crash")) |
        "\(.name) \($b - .balance) \(.reserved)"' <<<"$page" >>"$dir/accounts"
    [ "$(json_get "$page" '.items | length')" = 64 ] || break
    off=$((off + 64))
done
# (debited, reserved) in cents after step k (voice: 1 cent a second in the lab): what the
# last CCA confirmed, or the step after it (its request was in flight at the kill)
bad=$(awk 'NR == FNR { k[$1] = $2; next }
           BEGIN { s[0] = "0 0"; s[1] = "0 60"; s[2] = "60 60"; s[3] = "90 0"; s[4] = "-" }
           { n++; i = k[$1] + 0; now = $2 " " $3
             if (now != s[i] && now != s[i + 1])
                 printf "%s: last CCA for step %d, now debited/reserved %s\n", $1, i, now }
           END { if (n != '"$OCS_USERS"') print "only " n " accounts listed" }' \
      "$dir/acked" "$dir/accounts")
n=$(grep -c . "$dir/acked")
log "$n accounts had a successful CCA before the kill"
check_eq "every account's balance and reservation match its confirmed CCAs" "" \
    "$(printf '%s' "$bad" | head -n 20)"
acked=$(jq -r 'select(.result == 2001) | .answer["Session-Id"]' "$dir/rf.jsonl" | sort -u)
cdrs=$(dbq ocs "SELECT session_id FROM cdrs WHERE session_id LIKE 'crash-rf-%'" | sort -u)
lost=$(comm -23 <(printf '%s\n' "$acked") <(printf '%s\n' "$cdrs"))
check_eq "every ACR answered DIAMETER_SUCCESS before the kill is in the CDF" "" \
    "$(printf '%s' "$lost" | head -n 20)"

step "the lab stops"
check "deploy/lab.sh stop" lab_stop
e2e_finish
