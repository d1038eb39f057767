#!/usr/bin/env bash
# tests/e2e/test_ocs.sh - the OCS on the wire: Ro credit control (ECUR, IEC, FUI, errors,
# concurrency, timeouts), an attacker's numbers (huge units, refunds, too many sessions),
# Rf accounting into CDRs (one per node, durations, duplicates, timeout), CDR export (a row
# of long quoted fields), the REST API, a restart that keeps every balance, reservation and
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
# 8 s, CDR export every 2 s; and at most 20 credit-control sessions open at once.
export IMS_OCS_VALIDITY_TIME=3 IMS_OCS_RESERVATION_TIMEOUT=8 IMS_CDF_ROTATION=2
export IMS_OCS_MAX_SESSIONS=20

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

api_says() {   # JQ-FILTER METHOD PATH [BODY] -> "<HTTP status> <filter's value>"
    local body
    api "${@:2}" >"$E2E_RUN/api.out"
    body=$(jq -r "$1" "$E2E_RUN/api.out")
    echo "$API_CODE $body"
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
check_eq "the rating table has the 5 lab rates (2 of the MRF)" 5 "$(api GET rates | jq '.items | length')"

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
step "an attacker's numbers: huge units never raise a balance, nothing overflows (issue 12)"
big() {   # $1 units (decimal digits, up to 2^64-1) $2 Requested-Action $3 user (alice)
    ccr 4 0 "sip:${3:-alice}@$R" "\"Requested-Action\":$2,\"Requested-Service-Unit\":{\"CC-Service-Specific-Units\":\"$1\"},$MESSAGE_INFO"
}
before=$(acct alice)
out=$(diam <<EOF
{"cmd":"CCR","session_id":"huge-1","avps":$(big 18446744073709551615 0)}
{"cmd":"CCR","session_id":"huge-2","avps":$(big 9223372036854775808 0)}
{"cmd":"CCR","session_id":"huge-3","avps":$(big 4611686018427387905 0)}
{"cmd":"CCR","session_id":"huge-4","avps":$(big 18446744073709551615 1)}
{"cmd":"CCR","session_id":"huge-5","avps":$(big 4611686018427387905 2)}
{"cmd":"CCR","session_id":"huge-6","avps":$(big 2147483648 3)}
EOF
)
check_eq "CCR-EVENT of 2^64-1, 2^63, 2^62+1 units (debit, refund, check, price): 5004 x6" \
    "5004 5004 5004 5004 5004 5004" "$(jq -r .result <<<"$out" | paste -sd' ')"
check_eq "the Error-Message names Requested-Service-Unit" \
    "Requested-Service-Unit: CC-Service-Specific-Units above 2147483647" \
    "$(line "$out" 1 | jq -r '.answer["Error-Message"]')"
check_eq "alice: balance and reservations unchanged" "$before" "$(acct alice)"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"huge-7","avps":$(big 2147483647 0)}
{"cmd":"CCR","session_id":"huge-8","avps":$(big 2147483647 3)}
{"cmd":"CCR","session_id":"huge-9","avps":$(big 2147483647 1)}
{"cmd":"CCR","session_id":"huge-10","avps":$(big 1 1 carol)}
EOF
)
check_eq "the most units (2^31-1): debit 4012, price 21474836470 cents, refund 5004" \
    "4012 21474836470 5004" \
    "$(res "$out" 1) $(line "$out" 2 | jq -r '.answer["Cost-Information"]["Unit-Value"]["Value-Digits"]') $(res "$out" 3)"
check_eq "a refund to carol, whom Ro never charged: 5004, balance still 0" "5004 0 0" \
    "$(res "$out" 4) $(acct carol)"
check_eq "alice unchanged again" "$before" "$(acct alice)"
refundable=$(api GET accounts/alice | jq .refundable)
check_match "alice's refundable is what Ro charged her ($refundable)" '^[1-9][0-9]*$' "$refundable"

step "huge Used-Service-Units: charged the grant at most; two of 2^63 do not wrap to 0"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"huge-usu","avps":$(ccr 1 0 "sip:alice@$R" "$(mscc 4294967295 ""),$INVITE_INFO")}
EOF
)
granted=$(line "$out" 1 | jq -r '.answer["Multiple-Services-Credit-Control"]["Granted-Service-Unit"]["CC-Time"]')
check_eq "CCR-I asking 2^32-1 s: granted what the credit covers (${before% *} s)" \
    "2001 ${before% *}" "$(res "$out" 1) $granted"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"huge-usu","avps":$(ccr 2 1 "" '"Multiple-Services-Credit-Control":{"Rating-Group":1,"Requested-Service-Unit":{"CC-Time":30},"Used-Service-Unit":[{"CC-Time":4294967295},{"CC-Time":4294967295}]}')}
{"cmd":"CCR","session_id":"huge-usu","avps":$(ccr 3 2 "" '"Multiple-Services-Credit-Control":{"Rating-Group":1,"Used-Service-Unit":{"CC-Time":4294967295}}')}
EOF
)
check_eq "CCR-U reporting 2 x (2^32-1) s: charged the grant, 0 left: no new grant (4012)" \
    "4012 4012 0 0" \
    "$(res "$out" 1) $(line "$out" 1 | jq -r '.answer["Multiple-Services-Credit-Control"]["Result-Code"]') $(acct alice)"
check_eq "CCR-T reporting 2^32-1 s more: nothing more charged" "2001 0 0" \
    "$(res "$out" 2) $(acct alice)"
api POST accounts/alice/topup '{"amount":100}' >/dev/null
out=$(diam <<EOF
{"cmd":"CCR","session_id":"huge-usu2","avps":$(ccr 1 0 "sip:alice@$R" "$(mscc 30 ""),$INVITE_INFO")}
{"cmd":"CCR","session":"keep","avps":$(ccr 3 1 "" '"Multiple-Services-Credit-Control":{"Rating-Group":1,"Used-Service-Unit":[{"CC-Service-Specific-Units":"9223372036854775808"},{"CC-Service-Specific-Units":"9223372036854775808"}]}')}
EOF
)
check_eq "CCR-I 30 s, CCR-T reporting 2^63 + 2^63 units: charged the 30 s granted" \
    "2001 2001 70 0" "$(res "$out" 1) $(res "$out" 2) $(acct alice)"
api POST accounts/alice/topup "{\"amount\":$((${before% *} - 70))}" >/dev/null
check_eq "alice topped up to her balance before" "$before" "$(acct alice)"

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
step "ocs.max_sessions (20 here): CCR-INITIALs past it get DIAMETER_TOO_BUSY, counted"
sleep 1.5   # the gauges are read every second
http_get http://127.0.0.80:8080/metrics
open_before=$(sed -n 's/^ocs_ro_sessions_open \([0-9]*\)$/\1/p' <<<"$HTTP_BODY")
check_match "ocs_ro_sessions_open is in /metrics ($open_before)" '^[0-9]+$' "$open_before"
out=$(diam --users 25 --concurrency 5 <<EOF
{"cmd":"CCR","session_id":"busy-%n","avps":$(ccr 1 0 "sip:bob@$R" "$(mscc 10 ""),$INVITE_INFO")}
EOF
)
ok=$(jq -s '[.[] | select(.result == 2001)] | length' <<<"$out")
busy=$(jq -s '[.[] | select(.result == 3004)] | length' <<<"$out")
check_eq "25 CCR-I for bob: $((20 - open_before)) granted, the rest DIAMETER_TOO_BUSY" \
    "$((20 - open_before)) $((5 + open_before))" "$ok $busy"
check_eq "the refusal says why" "credit-control sessions are open (ocs.max_sessions)" \
    "$(jq -rs '[.[] | select(.result == 3004)][0].answer["Error-Message"]' <<<"$out" | sed 's/^[0-9]* //')"
http_get http://127.0.0.80:8080/metrics
check_match "ocs_ro_busy_total counts them" "^ocs_ro_busy_total $busy\$" "$HTTP_BODY"
check_match "ocs_ro_answers_total{result=\"3004\"} too" \
    "^ocs_ro_answers_total\\{result=\"3004\"\\} $busy\$" "$HTTP_BODY"
out=$(diam --users 25 --concurrency 5 <<EOF
{"cmd":"CCR","session_id":"busy-%n","avps":$(ccr 3 1 "" "$(mscc "" 1)")}
EOF
)
check_eq "the granted ones terminate (the refused ones are unknown: 5002)" \
    "$((20 - open_before)) $((5 + open_before))" \
    "$(jq -s '[.[] | select(.result == 2001)] | length' <<<"$out") $(jq -s '[.[] | select(.result == 5002)] | length' <<<"$out")"
out=$(diam <<EOF
{"cmd":"CCR","session_id":"busy-after","avps":$(ccr 1 0 "sip:bob@$R" "$(mscc 10 ""),$INVITE_INFO")}
{"cmd":"CCR","session_id":"busy-after","avps":$(ccr 3 1 "" "$(mscc "" 1)")}
EOF
)
check_eq "room again: a new session is granted" "2001 2001" "$(res "$out" 1) $(res "$out" 2)"

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

step "a CDR of long quoted fields is exported whole, its quotes doubled"
q250=$(printf '\\"%.0s' $(seq 250))
q120=$(printf '\\"%.0s' $(seq 120))
out=$(diam <<EOF
{"cmd":"ACR","session_id":"long-$$","avps":{"Acct-Application-Id":3,"Accounting-Record-Type":1,"Accounting-Record-Number":0,"Service-Information":{"IMS-Information":{"Event-Type":{"SIP-Method":"MESSAGE"},"Role-Of-Node":0,"Node-Functionality":6,"Calling-Party-Address":"$q250","Called-Party-Address":"$q250","IMS-Charging-Identifier":"icid-long-$$","Inter-Operator-Identifier":{"Originating-IOI":"$q120","Terminating-IOI":"$q120"}}}}}
EOF
)
check_eq "ACR EVENT with 250 quotes in each address: success" 2001 "$(res "$out" 1)"

step "CDR export files (cdf.rotation 2 s here)"
sleep 3
csv=$(ls "$E2E_RUN"/ocs/cdr/cdr-*.csv 2>/dev/null | head -n 1)
check "a CSV export file exists" test -n "$csv"
check_eq "the exports hold each closed CDR of the call once (CSV lines with the ICID)" 4 \
    "$(cat "$E2E_RUN"/ocs/cdr/cdr-*.csv 2>/dev/null | grep -c "\"$icid\"")"
check_eq "and the JSON exports too" 4 \
    "$(cat "$E2E_RUN"/ocs/cdr/cdr-*.json 2>/dev/null | jq -s "[.[][] | select(.icid == \"$icid\")] | length")"
check_eq "the long row: one CSV record of the header's width, 250 quotes in calling and called" \
    "1 22 250 250 120" \
    "$(python3 - "$E2E_RUN"/ocs/cdr/cdr-*.csv <<PY
import csv, sys
rows = [r for f in sys.argv[1:] for r in csv.reader(open(f, newline=''))]
head = rows[0]
mine = [r for r in rows if len(r) > 1 and r[1] == 'icid-long-$$']
r = mine[0] if mine else [''] * 22
print(len(mine), len(r), r[head.index('calling')].count('"'), r[head.index('called')].count('"'),
      r[head.index('originating_ioi')].count('"'))
PY
)"
check_eq "no temporary export file left" "" \
    "$(ls "$E2E_RUN"/ocs/cdr | grep -v -e '\.csv$' -e '\.json$')"

# ---------------------------------------------------------------------------------------------
step "REST API: validation names the field, the token is required"
api POST accounts '{"name":"x y","identities":["sip:x@'$R'"]}' >/dev/null
check_eq "bad name: 400" 400 "$API_CODE"
check_eq "bad identity: 400 naming identities[1]" "400 identities[1]" \
    "$(api_says .field POST accounts '{"name":"zed","identities":["sip:z@'$R'","z"]}')"
check_eq "identity of another account: 409" "409" \
    "$(api POST accounts '{"name":"zed","identities":["sip:alice@'$R'"]}' >/dev/null; echo "$API_CODE")"
check_eq "top-up without amount: 400 naming amount" "400 amount" \
    "$(api_says .field POST accounts/alice/topup '{}')"
check_eq "rate with unit 'minute': 400 naming unit" "400 unit" \
    "$(api_says .field POST rates '{"service":"voice","prefix":"+44","unit":"minute","price":2}')"
check_eq "rate priced past 10^8: 400 naming price" "400 price" \
    "$(api_says .field POST rates '{"service":"voice","prefix":"+44","unit":"second","price":100000001}')"
check_eq "rate priced below 0: 400 naming price" "400 price" \
    "$(api_says .field POST rates '{"service":"voice","prefix":"+44","unit":"second","price":-1}')"
check_eq "account with a balance past 10^12: 400 naming balance" "400 balance" \
    "$(api_says .field POST accounts '{"name":"zed","balance":1000000000001,"identities":["sip:z@'$R'"]}')"
check_eq "top-up of 0, -1, 10^12+1, 2^63-1 or 1e20: 400 naming amount" \
    "400 amount|400 amount|400 amount|400 amount|400 amount" \
    "$(for n in 0 -1 1000000000001 9223372036854775807 1e20; do api_says .field POST accounts/carol/topup '{"amount":'$n'}'; done | paste -sd'|')"
check_match "top-up of 2^63 (past what the JSON parser holds): 400, too big an integer" \
    '^400 .*too big integer' \
    "$(api_says .error POST accounts/carol/topup '{"amount":9223372036854775808}')"
api POST accounts '{"name":"rich","type":"prepaid","balance":1000000000000,"identities":["sip:rich@'$R'"]}' >/dev/null
curl -s -o /dev/null --max-time 300 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data '{"amount":1000000000000}' $(for _ in $(seq 999); do printf '%s ' "$API/accounts/rich/topup"; done)
check_eq "999 top-ups of 10^12 bring rich to 10^15, the most a balance holds" \
    "1000000000000000 0" "$(acct rich)"
check_eq "one cent more: 400 naming amount, balance unchanged" "400 amount 1000000000000000 0" \
    "$(api_says .field POST accounts/rich/topup '{"amount":1}') $(acct rich)"
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
check_match "ocs_cdrs_exported_total counts the exports" '^ocs_cdrs_exported_total [1-9]' "$HTTP_BODY"
check_match "ocs_cdrs counts the CDRs (a counter, not a count of the table)" '^ocs_cdrs [1-9]' "$HTTP_BODY"

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
unset IMS_OCS_VALIDITY_TIME IMS_OCS_RESERVATION_TIMEOUT IMS_CDF_ROTATION IMS_OCS_MAX_SESSIONS
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
