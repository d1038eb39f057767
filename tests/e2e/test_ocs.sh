#!/usr/bin/env bash
# tests/e2e/test_ocs.sh - the OCS on the wire: Ro credit control (ECUR, IEC, FUI, errors,
# concurrency, timeouts), Rf accounting into CDRs (one per node, durations, duplicates,
# timeout), CDR export, the REST API, a restart that keeps every balance, reservation and
# CDR, and a capture that tshark decodes without a malformed packet.
#
# The lab (deploy/lab.sh) seeds the OCS with deploy/lab/charging.json: alice prepaid 800
# cents, bob postpaid, carol prepaid 0; voice 1 cent/s, +1999 voice 5 cents/s, MESSAGE 10
# cents. The first lab runs with short timers (environment overrides of ocs.conf); the
# OCS is then restarted with the lab's own timers.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init ocs
e2e_require jq tshark curl

R=$E2E_REALM
OCS=ocs.$R@127.0.0.80
API=http://127.0.0.80:8080/api/v1
TOKEN=ims-lab-token
NTP_OFFSET=2208988800
NCLI=0

# Short timers for the first lab: Validity-Time 3 s, a silent reservation released after
# 8 s, CDR export every 2 s.
export IMS_OCS_VALIDITY_TIME=3 IMS_OCS_RESERVATION_TIMEOUT=8 IMS_CDF_ROTATION=2

# diam [ARGS...] < script: one diamcli run (its own client identity), one answer per line
diam() {
    NCLI=$((NCLI + 1))
    timeout 60 "$E2E_BIN/diamcli" --peer "$OCS" --identity "client$NCLI.$R" \
        --address 127.0.1.10 --script - "$@" 2>>"$E2E_RUN/diamcli.err"
}

api() {   # METHOD PATH [BODY] -> body; API_CODE is the HTTP status
    local out
    out=$(curl -s --max-time 10 -X "$1" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} -w '\n%{http_code}' "$API/$2")
    API_CODE=${out##*$'\n'}
    printf '%s' "${out%$'\n'*}"
}

acct() {   # NAME -> "balance reserved"
    api GET "accounts/$1" | jq -r '"\(.balance) \(.reserved)"'
}

line() { sed -n "${2}p" <<<"$1"; }
res() { line "$1" "$2" | jq -r '.result'; }
ntp() { printf 'hex:%08x' $(($1 + NTP_OFFSET)); }

# CCR AVPs: $1 type, $2 number, $3 subscriber URI (or ""), $4 extra JSON fields
ccr() {
    local sub=""
    [ -n "$3" ] && sub="\"Subscription-Id\":{\"Subscription-Id-Type\":2,\"Subscription-Id-Data\":\"$3\"},"
    printf '{"Auth-Application-Id":4,"Service-Context-Id":"32260@3gpp.org",%s"CC-Request-Type":%d,"CC-Request-Number":%d%s}' \
        "$sub" "$1" "$2" "${4:+,$4}"
}
INVITE_INFO='"Service-Information":{"IMS-Information":{"Event-Type":{"SIP-Method":"INVITE"},"Role-Of-Node":0,"Node-Functionality":6,"Called-Party-Address":"sip:bob@'$R'"}}'
MESSAGE_INFO='"Service-Information":{"IMS-Information":{"Event-Type":{"SIP-Method":"MESSAGE"},"Role-Of-Node":0,"Node-Functionality":6,"Called-Party-Address":"sip:bob@'$R'"}}'
mscc() {   # $1 requested seconds ("" none) $2 used seconds ("" none)
    local m='"Rating-Group":1'
    [ -n "$1" ] && m+=",\"Requested-Service-Unit\":{\"CC-Time\":$1}"
    [ -n "$2" ] && m+=",\"Used-Service-Unit\":{\"CC-Time\":$2}"
    printf '"Multiple-Services-Credit-Control":{%s}' "$m"
}

cap_start ocs
step "the lab starts; the OCS is seeded with the LAB.md charging accounts"
lab_start
check_eq "deploy/lab.sh start" 0 $?
check_eq "alice: prepaid, 800 cents, nothing reserved" "prepaid 800 0" \
    "$(api GET accounts/alice | jq -r '"\(.type) \(.balance) \(.reserved)"')"
check_eq "bob postpaid, carol prepaid with 0" "postpaid prepaid 0" \
    "$(echo "$(api GET accounts/bob | jq -r .type) $(api GET accounts/carol | jq -r '"\(.type) \(.balance)"')")"
check_eq "the rating table has the 3 lab rates" 3 "$(api GET rates | jq '.items | length')"

# ---------------------------------------------------------------------------------------------
step "Ro ECUR: INITIAL reserves, UPDATE charges and reserves again, TERMINATION charges"
out=$(diam <<EOF
{"cmd":"CCR","avps":$(ccr 1 0 "sip:alice@$R" "$(mscc 120 ""),$INVITE_INFO")}
EOF
)
check_eq "CCR-I: DIAMETER_SUCCESS" 2001 "$(res "$out" 1)"
check_eq "CCR-I: 120 s granted with Validity-Time 3 in the MSCC (result 2001)" "120 3 2001" \
    "$(line "$out" 1 | jq -r '.answer["Multiple-Services-Credit-Control"] | "\(.["Granted-Service-Unit"]["CC-Time"]) \(.["Validity-Time"]) \(.["Result-Code"])"')"
sid=$(line "$out" 1 | jq -r '.answer["Session-Id"]')
check_eq "alice after CCR-I: 120 reserved" "800 120" "$(acct alice)"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"$sid","avps":$(ccr 2 1 "" "$(mscc 120 100)")}
{"cmd":"CCR","session_id":"$sid","avps":$(ccr 3 2 "" "$(mscc "" 30)")}
EOF
)
check_eq "CCR-U and CCR-T: DIAMETER_SUCCESS" "2001 2001" "$(res "$out" 1) $(res "$out" 2)"
check_eq "CCR-U: 120 s granted again" 120 \
    "$(line "$out" 1 | jq -r '.answer["Multiple-Services-Credit-Control"]["Granted-Service-Unit"]["CC-Time"]')"
check_eq "alice after CCR-T: 100 + 30 s charged, nothing reserved" "670 0" "$(acct alice)"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"$sid","avps":$(ccr 2 3 "" "$(mscc 60 10)")}
EOF
)
check_eq "CCR-U of the terminated session: DIAMETER_UNKNOWN_SESSION_ID" 5002 "$(res "$out" 1)"

step "Ro without MSCC: the request's own RSU/USU; +1999 rated at 5 cents per second"
out=$(diam <<EOF
{"cmd":"CCR","avps":$(ccr 1 0 "tel:+15550100001" '"Requested-Service-Unit":{"CC-Time":10},"Service-Information":{"IMS-Information":{"Event-Type":{"SIP-Method":"INVITE"},"Node-Functionality":6,"Called-Party-Address":"tel:+19995550000"}}')}
{"cmd":"CCR","session":"keep","avps":$(ccr 3 1 "" '"Used-Service-Unit":{"CC-Time":4}')}
EOF
)
check_eq "CCR-I (tel: subscription): 10 s granted at top level" "2001 10" \
    "$(line "$out" 1 | jq -r '"\(.result) \(.answer["Granted-Service-Unit"]["CC-Time"])"')"
check_eq "alice: 4 s x 5 cents charged" "650 0" "$(acct alice)"

# ---------------------------------------------------------------------------------------------
step "Ro IEC: a MESSAGE debited directly, once even when the CCR-EVENT is repeated"
ev="$(ccr 4 0 "sip:alice@$R" "\"Requested-Action\":0,\"Requested-Service-Unit\":{\"CC-Service-Specific-Units\":1},$MESSAGE_INFO")"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"iec-msg-1","avps":$ev}
{"cmd":"CCR","session_id":"iec-msg-1","avps":$ev}
EOF
)
check_eq "CCR-EVENT twice: DIAMETER_SUCCESS twice" "2001 2001" "$(res "$out" 1) $(res "$out" 2)"
check_eq "CCR-EVENT: 1 unit granted, Cost-Information 10 cents (EUR 978, exponent -2)" \
    "1 10 -2 978" "$(line "$out" 1 | jq -r '.answer | "\(.["Granted-Service-Unit"]["CC-Service-Specific-Units"]) \(.["Cost-Information"]["Unit-Value"]["Value-Digits"]) \(.["Cost-Information"]["Unit-Value"]["Exponent"]) \(.["Cost-Information"]["Currency-Code"])"')"
check_eq "alice: 10 cents debited once" "640 0" "$(acct alice)"
out=$(diam <<EOF
{"cmd":"CCR","avps":$(ccr 4 0 "sip:alice@$R" "\"Requested-Action\":2,$MESSAGE_INFO")}
{"cmd":"CCR","avps":$(ccr 4 0 "sip:carol@$R" "\"Requested-Action\":2,$MESSAGE_INFO")}
{"cmd":"CCR","avps":$(ccr 4 0 "sip:alice@$R" "\"Requested-Action\":3,$MESSAGE_INFO")}
{"cmd":"CCR","avps":$(ccr 4 0 "sip:carol@$R" "\"Requested-Action\":0,$MESSAGE_INFO")}
EOF
)
check_eq "CHECK_BALANCE: alice ENOUGH_CREDIT (0), carol NO_CREDIT (1)" "0 1" \
    "$(line "$out" 1 | jq -r '.answer["Check-Balance-Result"]') $(line "$out" 2 | jq -r '.answer["Check-Balance-Result"]')"
check_eq "PRICE_ENQUIRY: 10 cents" 10 \
    "$(line "$out" 3 | jq -r '.answer["Cost-Information"]["Unit-Value"]["Value-Digits"]')"
check_eq "IEC for carol (no credit): DIAMETER_CREDIT_LIMIT_REACHED" 4012 "$(res "$out" 4)"
check_eq "alice and carol unchanged by checks and refusals" "640 0 0 0" \
    "$(acct alice) $(acct carol)"

# ---------------------------------------------------------------------------------------------
step "Ro refusals: no credit, unknown user, no rate, malformed requests"
out=$(diam <<EOF
{"cmd":"CCR","avps":$(ccr 1 0 "sip:carol@$R" "$(mscc 60 ""),$INVITE_INFO")}
{"cmd":"CCR","avps":$(ccr 1 0 "sip:nobody@$R" "$(mscc 60 ""),$INVITE_INFO")}
{"cmd":"CCR","avps":$(ccr 4 0 "sip:alice@$R" '"Requested-Action":0,"Service-Information":{"IMS-Information":{"Event-Type":{"SIP-Method":"SUBSCRIBE"},"Node-Functionality":6}}')}
{"cmd":"CCR","avps":$(ccr 1 0 "" "$(mscc 60 ""),$INVITE_INFO")}
{"cmd":"CCR","avps":$(ccr 7 0 "sip:alice@$R" "")}
EOF
)
check_eq "carol's call: DIAMETER_CREDIT_LIMIT_REACHED (4012)" 4012 "$(res "$out" 1)"
check_eq "unknown subscriber: DIAMETER_USER_UNKNOWN (5030)" 5030 "$(res "$out" 2)"
check_eq "a service without rate: DIAMETER_RATING_FAILED (5031)" 5031 "$(res "$out" 3)"
check_eq "CCR-I without Subscription-Id: DIAMETER_MISSING_AVP naming it" \
    "5005 Subscription-Id is required" \
    "$(line "$out" 4 | jq -r '"\(.result) \(.answer["Error-Message"])"')"
check_eq "CC-Request-Type 7: DIAMETER_INVALID_AVP_VALUE" 5004 "$(res "$out" 5)"
check_eq "carol: nothing reserved by the refusal" "0 0" "$(acct carol)"

# ---------------------------------------------------------------------------------------------
step "Final-Unit-Indication: the last 30 s of credit, then no more"
api POST accounts '{"name":"dave","type":"prepaid","balance":30,"identities":["sip:dave@'$R'"]}' >/dev/null
check_eq "POST /accounts dave: 201" 201 "$API_CODE"
out=$(diam <<EOF
{"cmd":"CCR","avps":$(ccr 1 0 "sip:dave@$R" "$(mscc 60 ""),$INVITE_INFO")}
{"cmd":"CCR","session":"keep","avps":$(ccr 2 1 "" "$(mscc 60 30)")}
{"cmd":"CCR","session":"keep","avps":$(ccr 3 2 "" "$(mscc "" 0)")}
EOF
)
check_eq "CCR-I: 30 s granted with Final-Unit-Action TERMINATE (0)" "2001 30 0" \
    "$(line "$out" 1 | jq -r '"\(.result) \(.answer["Multiple-Services-Credit-Control"] | "\(.["Granted-Service-Unit"]["CC-Time"]) \(.["Final-Unit-Indication"]["Final-Unit-Action"])")"')"
check_eq "CCR-U after the final units: MSCC DIAMETER_CREDIT_LIMIT_REACHED, no grant" \
    "4012 null" "$(line "$out" 2 | jq -r '.answer["Multiple-Services-Credit-Control"] | "\(.["Result-Code"]) \(.["Granted-Service-Unit"])"')"
check_eq "CCR-T: success; dave charged 30, balance 0" "2001 0 0" "$(res "$out" 3) $(acct dave)"

# ---------------------------------------------------------------------------------------------
step "concurrent sessions on one account never overdraw it"
api POST accounts '{"name":"erin","type":"prepaid","balance":100,"identities":["sip:erin@'$R'"]}' >/dev/null
out=$(diam --users 10 --concurrency 10 <<EOF
{"cmd":"CCR","session_id":"conc-%n","avps":$(ccr 1 0 "sip:erin@$R" "$(mscc 30 ""),$INVITE_INFO")}
EOF
)
granted=$(jq -s '[.[] | .answer["Multiple-Services-Credit-Control"]["Granted-Service-Unit"]["CC-Time"] // 0] | add' <<<"$out")
check_eq "10 CCR-I of 30 s on 100 cents: 100 s granted in all" 100 "$granted"
check_eq "3 x 30 s, 1 x 10 s, 6 refused (4012)" "3 1 6" \
    "$(jq -s '[([.[] | select(.answer["Multiple-Services-Credit-Control"]["Granted-Service-Unit"]["CC-Time"] == 30)] | length), ([.[] | select(.answer["Multiple-Services-Credit-Control"]["Granted-Service-Unit"]["CC-Time"] == 10)] | length), ([.[] | select(.result == 4012)] | length)] | map(tostring) | join(" ")' <<<"$out" | tr -d '"')"
check_eq "erin: 100 reserved of 100" "100 100" "$(acct erin)"
out=$(diam --users 10 --concurrency 10 <<EOF
{"cmd":"CCR","session_id":"conc-%n","avps":$(ccr 3 1 "" "$(mscc "" 45)")}
EOF
)
check_eq "every session terminates (10 answers; the refused ones are unknown: 5002)" 10 \
    "$(grep -c '^{' <<<"$out")"
check_eq "erin: reported use past the grants is not charged: balance 0, never below" "0 0" \
    "$(acct erin)"

# ---------------------------------------------------------------------------------------------
step "a reservation whose session never ends is released after ocs.reservation_timeout"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"lost-ro-1","avps":$(ccr 1 0 "sip:alice@$R" "$(mscc 60 ""),$INVITE_INFO")}
EOF
)
check_eq "CCR-I: 60 s reserved" "2001 640 60" "$(res "$out" 1) $(acct alice)"
sleep 10
check_eq "10 s later (timeout 8 s): released, nothing charged" "640 0" "$(acct alice)"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"lost-ro-1","avps":$(ccr 3 1 "" "$(mscc "" 10)")}
EOF
)
check_eq "CCR-T of the released session: DIAMETER_UNKNOWN_SESSION_ID" 5002 "$(res "$out" 1)"

# ---------------------------------------------------------------------------------------------
step "Rf: START, INTERIM, STOP from two nodes of one call -> one CDR per node, same ICID"
t0=$(($(date +%s) - 60))
icid="icid-e2e-$$"
ims() {   # $1 node functionality, $2 extra JSON fields of IMS-Information
    printf '"Service-Information":{"IMS-Information":{"Event-Type":{"SIP-Method":"%s"},"Role-Of-Node":%d,"Node-Functionality":%d,"Calling-Party-Address":"sip:alice@%s","Called-Party-Address":"sip:bob@%s","IMS-Charging-Identifier":"%s","Inter-Operator-Identifier":{"Originating-IOI":"%s","Terminating-IOI":"%s"}%s}}' \
        "${3:-INVITE}" 0 "$1" "$R" "$R" "$icid" "$R" "$R" "${2:+,$2}"
}
acr() {   # $1 record type $2 number $3 node functionality $4 extra IMS-Information fields
          # $5 SIP method (INVITE)
    printf '{"Acct-Application-Id":3,"Accounting-Record-Type":%d,"Accounting-Record-Number":%d,"Event-Timestamp":"%s",%s}' \
        "$1" "$2" "$(ntp "$((t0 + 10 * $2))")" "$(ims "$3" "$4" "${5:-INVITE}")"
}
START_TS="\"Time-Stamps\":{\"SIP-Request-Timestamp\":\"$(ntp "$t0")\",\"SIP-Response-Timestamp\":\"$(ntp "$((t0 + 3))")\"},\"SDP-Media-Component\":{\"SDP-Media-Name\":\"audio 4000 RTP/AVP 0\"}"
STOP_TS="\"Time-Stamps\":{\"SIP-Request-Timestamp\":\"$(ntp "$((t0 + 45))")\"},\"Cause-Code\":-1"
for node in scscf pcscf; do
    fn=$([ $node = scscf ] && echo 6 || echo 1)
    out=$(timeout 60 "$E2E_BIN/diamcli" --peer "$OCS" --identity "$node-e2e.$R" \
        --address 127.0.1.10 --script - 2>>"$E2E_RUN/diamcli.err" <<EOF
{"cmd":"ACR","session_id":"call-$$-$node","avps":$(acr 2 0 "$fn" "$START_TS")}
{"cmd":"ACR","session_id":"call-$$-$node","avps":$(acr 3 1 "$fn" "")}
{"cmd":"ACR","session_id":"call-$$-$node","avps":$(acr 4 2 "$fn" "$STOP_TS")}
{"cmd":"ACR","session_id":"call-$$-$node","avps":$(acr 4 2 "$fn" "$STOP_TS")}
EOF
)
    check_eq "$node: START, INTERIM, STOP and the STOP again: ACA success x4" \
        "2001 2001 2001 2001" "$(jq -r .result <<<"$out" | paste -sd' ')"
    check_eq "$node: the ACA echoes type and number; START's gives Acct-Interim-Interval" \
        "2 0 300 4 2" "$(line "$out" 1 | jq -r '.answer | "\(.["Accounting-Record-Type"]) \(.["Accounting-Record-Number"]) \(.["Acct-Interim-Interval"])"') $(line "$out" 3 | jq -r '.answer | "\(.["Accounting-Record-Type"]) \(.["Accounting-Record-Number"])"')"
done
cdrs=$(api GET "cdrs?icid=$icid")
check_eq "GET /cdrs?icid=: 2 CDRs, one per node" \
    "pcscf-e2e.$R scscf-e2e.$R" "$(jq -r '[.items[].node] | sort | join(" ")' <<<"$cdrs")"
check_eq "both closed, 42 s (answer at t0+3 to BYE at t0+45), 1 interim, not doubled" \
    "closed 42 1|closed 42 1" "$(jq -r '[.items[] | "\(.status) \(.duration) \(.interims)"] | join("|")' <<<"$cdrs")"
check_eq "calling, called, IOIs, media and cause kept" \
    "sip:alice@$R sip:bob@$R $R audio 4000 RTP/AVP 0 -1" \
    "$(jq -r '.items[0] | "\(.calling) \(.called) \(.originating_ioi) \(.media) \(.cause)"' <<<"$cdrs")"
check_eq "GET /cdrs?subscriber=alice finds them" 2 \
    "$(api GET "cdrs?subscriber=alice&from=$((t0 - 1))" | jq "[.items[] | select(.icid == \"$icid\")] | length")"

step "Rf EVENT (MESSAGE) and a session without STOP closed by timeout"
out=$(diam <<EOF
{"cmd":"ACR","session_id":"msg-$$","avps":$(acr 1 0 6 "" MESSAGE)}
{"cmd":"ACR","session_id":"lost-$$","avps":{"Acct-Application-Id":3,"Accounting-Record-Type":2,"Accounting-Record-Number":0,"Acct-Interim-Interval":1,$(ims 6 "$START_TS")}}
{"cmd":"ACR","avps":{"Acct-Application-Id":3,"Accounting-Record-Type":9,"Accounting-Record-Number":0}}
EOF
)
check_eq "EVENT and START: success; Accounting-Record-Type 9: DIAMETER_INVALID_AVP_VALUE" \
    "2001 2001 5004" "$(jq -r .result <<<"$out" | paste -sd' ')"
check_eq "the EVENT is a closed event CDR" "event closed MESSAGE" \
    "$(api GET "cdrs?icid=$icid" | jq -r '.items[] | select(.session_id == "msg-'$$'") | "\(.record) \(.status) \(.method)"')"
sleep 5
check_eq "the START without STOP (interval 1 s, 3 missed): closed incomplete" "incomplete" \
    "$(api GET "cdrs?icid=$icid" | jq -r '.items[] | select(.session_id == "lost-'$$'") | .status')"

step "CDR export files (cdf.rotation 2 s here)"
sleep 3
csv=$(ls "$E2E_RUN"/ocs/cdr/cdr-*.csv 2>/dev/null | head -n 1)
check "a CSV export file exists" test -n "$csv"
check_eq "the exports hold each closed CDR of the call once (CSV lines with the ICID)" 4 \
    "$(cat "$E2E_RUN"/ocs/cdr/cdr-*.csv 2>/dev/null | grep -c "\"$icid\"")"
check_eq "and the JSON exports too" 4 \
    "$(cat "$E2E_RUN"/ocs/cdr/cdr-*.json 2>/dev/null | jq -s "[.[][] | select(.icid == \"$icid\")] | length")"

# ---------------------------------------------------------------------------------------------
step "REST API: validation names the field, the token is required"
api POST accounts '{"name":"x y","identities":["sip:x@'$R'"]}' >/dev/null
check_eq "bad name: 400" 400 "$API_CODE"
check_eq "bad identity: 400 naming identities[1]" "400 identities[1]" \
    "$(api POST accounts '{"name":"zed","identities":["sip:z@'$R'","z"]}' | jq -r .field | sed "s/^/$API_CODE /")"
check_eq "identity of another account: 409" "409" \
    "$(api POST accounts '{"name":"zed","identities":["sip:alice@'$R'"]}' >/dev/null; echo "$API_CODE")"
check_eq "top-up without amount: 400 naming amount" "400 amount" \
    "$(api POST accounts/alice/topup '{}' | jq -r .field | sed "s/^/$API_CODE /")"
check_eq "rate with unit 'minute': 400 naming unit" "400 unit" \
    "$(api POST rates '{"service":"voice","prefix":"+44","unit":"minute","price":2}' | jq -r .field | sed "s/^/$API_CODE /")"
check_eq "without the token: 401" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$API/accounts/alice")"
api POST accounts/carol/topup '{"amount":25}' >/dev/null
check_eq "top-up carol by 25" "200 25 0" "$API_CODE $(acct carol)"

step "metrics"
http_get http://127.0.0.80:8080/metrics
check_match "ocs_ro_requests_total counts CCR-INITIAL" '^ocs_ro_requests_total\{type="initial"\} [1-9]' "$HTTP_BODY"
check_match "ocs_ro_answers_total counts 4012" '^ocs_ro_answers_total\{result="4012"\} [1-9]' "$HTTP_BODY"
check_match "ocs_rf_duplicates_total counts the repeated STOPs" '^ocs_rf_duplicates_total [1-9]' "$HTTP_BODY"
check_match "ocs_rf_handling_seconds histogram" '^ocs_rf_handling_seconds_count [1-9]' "$HTTP_BODY"

# ---------------------------------------------------------------------------------------------
step "restart: balances, reservations and CDRs survive"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"restart-1","avps":$(ccr 1 0 "sip:alice@$R" "$(mscc 50 ""),$INVITE_INFO")}
{"cmd":"ACR","session_id":"restart-acr-1","avps":$(acr 2 0 6 "$START_TS")}
EOF
)
check_eq "CCR-I (50 s) and ACR START before the restart" "2001 2001" \
    "$(res "$out" 1) $(res "$out" 2)"
before_acct=$(acct alice)
before_cdrs=$(api GET "cdrs?limit=1000" | jq '.items | length')
pid=$(cat "$E2E_RUN/ocs/ocs.pid")
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "the OCS stopped on SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
unset IMS_OCS_VALIDITY_TIME IMS_OCS_RESERVATION_TIMEOUT IMS_CDF_ROTATION
lab_start
check_eq "deploy/lab.sh start brings the OCS back (seeding keeps balances)" 0 $?
check_eq "alice: same balance and reservation after the restart" "$before_acct" "$(acct alice)"
check_eq "the same CDRs after the restart" "$before_cdrs" \
    "$(api GET "cdrs?limit=1000" | jq '.items | length')"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"restart-1","avps":$(ccr 3 1 "" "$(mscc "" 20)")}
{"cmd":"ACR","session_id":"restart-acr-1","avps":$(acr 4 1 6 "$STOP_TS")}
EOF
)
check_eq "the session goes on: CCR-T and ACR STOP succeed" "2001 2001" \
    "$(res "$out" 1) $(res "$out" 2)"
check_eq "alice: 20 s charged, the rest released" \
    "$(( ${before_acct% *} - 20 )) 0" "$(acct alice)"
check_eq "its CDR is closed with 42 s" "closed 42" \
    "$(api GET "cdrs?icid=$icid&limit=1000" | jq -r '.items[] | select(.session_id == "restart-acr-1") | "\(.status) \(.duration)"')"

# ---------------------------------------------------------------------------------------------
step "the charging clients of common/ (chargecli): ACRs kept while the OCS is down, then delivered; Ro failure handling"
charge() {   # $1 name, the rest: chargecli arguments after the peer
    local name=$1
    shift
    timeout 90 "$E2E_BIN/chargecli" --peer "$OCS" --identity "chargecli-$name.$R" \
        --address 127.0.1.12 "$@" 2>>"$E2E_RUN/chargecli-$name.err"
}
pid=$(cat "$E2E_RUN/ocs/ocs.pid")
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
charge rf rf --spool "$E2E_RUN/rf-spool.db" --sessions 3 --wait-s 60 --icid "spool-$$" \
    >"$E2E_RUN/chargecli-rf.out" &
rfpid=$!
check_eq "OCS down, CCFH TERMINATE: the call is refused" terminate \
    "$(charge ro1 ro --subscriber "sip:alice@$R" --ccfh terminate | jq -r .decision)"
check_eq "OCS down, CCFH CONTINUE: one retry, then the call goes on uncharged" continue \
    "$(charge ro2 ro --subscriber "sip:alice@$R" --ccfh continue | jq -r .decision)"
check_eq "OCS down, CCFH RETRY_AND_TERMINATE: one retry, then refused" terminate \
    "$(charge ro3 ro --subscriber "sip:alice@$R" --ccfh retry_and_terminate | jq -r .decision)"
check "the Rf client still holds its records (10 ACRs spooled, retried)" kill -0 "$rfpid"
lab_start
check_eq "deploy/lab.sh start brings the OCS back" 0 $?
before_acct=$(acct alice)
wait "$rfpid"
check_eq "every spooled ACR delivered once the OCS is back (chargecli exit 0, none pending)" \
    "0 0" "$? $(jq -r .pending "$E2E_RUN/chargecli-rf.out")"
check_eq "3 sessions: closed CDRs of 42 s with their INTERIM; the EVENT too" \
    "spool-$$ closed 0 0|spool-$$-1 closed 42 1|spool-$$-2 closed 42 1|spool-$$-3 closed 42 1" \
    "$(for i in "" -1 -2 -3; do api GET "cdrs?icid=spool-$$$i" | jq -r '.items[] | "\(.icid) \(.status) \(.duration) \(.interims)"'; done | paste -sd'|')"
out=$(charge ro4 ro --subscriber "sip:alice@$R" --ccfh terminate --used 20)
check_eq "OCS up: granted 60 s, then the termination" "granted 60|granted 0" \
    "$(jq -r '"\(.decision) \(.granted_time)"' <<<"$out" | paste -sd'|')"
check_eq "alice charged the 20 s reported" "$(( ${before_acct% *} - 20 )) 0" "$(acct alice)"

# ---------------------------------------------------------------------------------------------
step "the capture: every Ro and Rf message decodes cleanly"
cap_stop
lab_stop
check_eq "no malformed packets or expert errors" "" "$(cap_problems "$E2E_CAP_FILE")"
ccrs=$(cap_count "$E2E_CAP_FILE" 'diameter.cmd.code == 272 && diameter.flags.request == 1')
acrs=$(cap_count "$E2E_CAP_FILE" 'diameter.cmd.code == 271 && diameter.flags.request == 1')
check_match "CCRs captured ($ccrs)" '^[0-9]{2,}$' "$ccrs"
check_match "ACRs captured ($acrs)" '^[0-9]{2,}$' "$acrs"
check_eq "tshark decodes MSCC, IMS-Information and Cost-Information" "yes yes yes" \
    "$(for f in diameter.Multiple-Services-Credit-Control diameter.IMS-Information diameter.Cost-Information; do [ "$(cap_count "$E2E_CAP_FILE" "$f")" -gt 0 ] && echo yes || echo no; done | paste -sd' ')"

e2e_finish
