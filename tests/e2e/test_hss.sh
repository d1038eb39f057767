#!/usr/bin/env bash
# tests/e2e/test_hss.sh - the HSS on the wire: Cx and Sh answers to a Diameter client, the
# provisioning API, the documents against their schemas, a clean capture.
#
# The lab is started (and seeded with the LAB.md subscribers) by deploy/lab.sh; requests
# come from diamcli scripts (one connection, requests in order); AKA vectors are checked
# with the UE-side tool (tests/tools/aka.c).
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init hss
e2e_require jq xmllint tshark curl

R=$E2E_REALM
HSS=hss.$R@127.0.0.40
ALICE=alice@$R
BOB=bob@$R
CAROL=carol@$R
CTL=("$E2E_ROOT/hss/hssctl" --url http://127.0.0.40:8080 --token ims-lab-token)
PKI=$E2E_RUN/pki   # the lab PKI that deploy/lab.sh makes

# run a diamcli script (stdin) as $1 (an identity in the home realm), staying connected $2 ms
# after the last answer; prints one answer per line
diam() {
    timeout 60 "$E2E_BIN/diamcli" --peer "$HSS" --identity "$1.$R" --address 127.0.1.10 \
        --script - --linger-ms "${2:-0}" 2>>"$E2E_RUN/diamcli-$1.err"
}

# the same as the lab's application server (hss.sh_peers): as.$R from its address 127.0.0.90,
# over TLS with its certificate of the lab PKI (its session keys go to the capture's key log)
as_diam() {
    SSLKEYLOGFILE=$E2E_RUN/tls-keys.log timeout 60 "$E2E_BIN/diamcli" --peer "$HSS" \
        --identity "as.$R" --address 127.0.0.90 --tls-cert "$PKI/as.crt" \
        --tls-key "$PKI/as.key" --tls-ca "$PKI/ca.crt" --tls-dh "$PKI/dh.pem" \
        --script - --linger-ms "${1:-0}" 2>>"$E2E_RUN/diamcli-as.err"
}

# line $2 of answers $1 -> "result experimental"
res() { sed -n "${2}p" <<<"$1" | jq -r '"\(.result) \(.experimental)"'; }
field() { sed -n "${2}p" <<<"$1" | jq -r "$3"; }

md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }

cap_start hss
step "the lab starts and the HSS is seeded with the LAB.md subscribers"
check "deploy/lab.sh start" lab_start
out=$("${CTL[@]}" get alice 2>&1)
check_eq "hssctl get alice: the IMPUs of LAB.md" \
    "sip:alice@$R tel:+15550100001" "$(jq -r '[.impus[].identity] | join(" ")' <<<"$out")"

# ---------------------------------------------------------------------------------------------
step "Cx: UAR, MAR, SAR, LIR"
cx=$(diam cx-client <<EOF
{"cmd":"UAR","avps":{"User-Name":"$ALICE","Public-Identity":"sip:alice@$R","Visited-Network-Identifier":"$R","User-Authorization-Type":0}}
{"cmd":"UAR","avps":{"User-Name":"nobody@$R","Public-Identity":"sip:nobody@$R","Visited-Network-Identifier":"$R"}}
{"cmd":"UAR","avps":{"User-Name":"$BOB","Public-Identity":"sip:alice@$R","Visited-Network-Identifier":"$R"}}
{"cmd":"UAR","avps":{"User-Name":"$ALICE","Public-Identity":"sip:alice@$R","Visited-Network-Identifier":"visited.example.org"}}
{"cmd":"UAR","avps":{"User-Name":"$ALICE","Public-Identity":"sip:alice@$R","Visited-Network-Identifier":"$R","User-Authorization-Type":1}}
{"cmd":"MAR","avps":{"User-Name":"$ALICE","Public-Identity":"sip:alice@$R","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"SIP Digest"},"Server-Name":"sip:scscf.$R:5060"}}
{"cmd":"MAR","avps":{"User-Name":"$BOB","Public-Identity":"sip:bob@$R","SIP-Number-Auth-Items":3,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"Digest-AKAv1-MD5"},"Server-Name":"sip:scscf.$R:5060"}}
{"cmd":"MAR","avps":{"User-Name":"$ALICE","Public-Identity":"sip:alice@$R","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"Early-IMS-Security"},"Server-Name":"sip:scscf.$R:5060"}}
{"cmd":"SAR","avps":{"User-Name":"$ALICE","Public-Identity":"sip:alice@$R","Server-Name":"sip:scscf.$R:5060","Server-Assignment-Type":1,"User-Data-Already-Available":0}}
{"cmd":"UAR","avps":{"User-Name":"$ALICE","Public-Identity":"tel:+15550100001","Visited-Network-Identifier":"$R"}}
{"cmd":"LIR","avps":{"Public-Identity":"tel:+15550100001"}}
{"cmd":"LIR","avps":{"Public-Identity":"sip:carol@$R"}}
{"cmd":"LIR","avps":{"Public-Identity":"sip:nobody@$R"}}
{"cmd":"SAR","avps":{"User-Name":"$ALICE","Public-Identity":"sip:alice@$R","Server-Name":"sip:scscf.$R:5060","Server-Assignment-Type":5,"User-Data-Already-Available":1}}
{"cmd":"LIR","avps":{"Public-Identity":"sip:alice@$R"}}
EOF
)
check_eq "15 answers" 15 "$(grep -c '^{' <<<"$cx")"
check_eq "UAR alice: DIAMETER_FIRST_REGISTRATION (2001, experimental)" "2001 true" "$(res "$cx" 1)"
check_eq "UAR alice: no Server-Name, no Server-Capabilities (she needs none)" "false null" \
    "$(field "$cx" 1 '(.answer | has("Server-Capabilities")) as $c | "\($c) \(.answer["Server-Name"])"')"
check_eq "UAR unknown user: DIAMETER_ERROR_USER_UNKNOWN" "5001 true" "$(res "$cx" 2)"
check_eq "UAR bob's IMPI with alice's IMPU: DIAMETER_ERROR_IDENTITIES_DONT_MATCH" "5002 true" \
    "$(res "$cx" 3)"
check_eq "UAR from another network: DIAMETER_ERROR_ROAMING_NOT_ALLOWED" "5004 true" \
    "$(res "$cx" 4)"
check_eq "UAR de-registration while not registered: DIAMETER_ERROR_IDENTITY_NOT_REGISTERED" \
    "5003 true" "$(res "$cx" 5)"
check_eq "MAR SIP Digest: DIAMETER_SUCCESS" "2001 false" "$(res "$cx" 6)"
check_eq "MAR SIP Digest: realm, qop and HA1 = MD5(IMPI:realm:password)" \
    "$R auth $(md5 "$ALICE:$R:alice-secret")" \
    "$(field "$cx" 6 '.answer["SIP-Auth-Data-Item"]["SIP-Digest-Authenticate"] | "\(.["Digest-Realm"]) \(.["Digest-QoP"]) \(.["Digest-HA1"])"')"
check_eq "MAR AKAv1 for bob: 3 vectors numbered 1..3" "3 1,2,3" \
    "$(field "$cx" 7 '"\(.answer["SIP-Number-Auth-Items"]) \([.answer["SIP-Auth-Data-Item"][]["SIP-Item-Number"]] | map(tostring) | join(","))"')"
# each vector as a USIM with bob's K and OP sees it: MAC-A right, AMF 3830, SQN rising
sqns=()
for i in 0 1 2; do
    item=$(field "$cx" 7 ".answer[\"SIP-Auth-Data-Item\"][$i]")
    auth=$(jq -r '.["SIP-Authenticate"]' <<<"$item" | sed 's/^hex://')
    ue=$("$E2E_BIN/aka" check --k 626f622d6c61622d6b65792d30303031 \
         --op 696d732d6c61622d6f702d3030303031 --rand "${auth:0:32}" --autn "${auth:32:32}")
    rc=$?
    check_eq "bob's vector $((i + 1)): AUTN verifies on the UE side" 0 "$rc"
    check_eq "bob's vector $((i + 1)): XRES, CK, IK are the UE's RES, CK, IK" \
        "$(jq -r '"\(.["SIP-Authorization"]) \(.["Confidentiality-Key"]) \(.["Integrity-Key"])"' <<<"$item" | sed 's/hex://g')" \
        "$(sed -E 's/.* res=([0-9a-f]+) ck=([0-9a-f]+) ik=([0-9a-f]+)/\1 \2 \3/' <<<"$ue")"
    check_eq "bob's vector $((i + 1)): AMF 3830" "amf=3830" "$(grep -o 'amf=[0-9a-f]*' <<<"$ue")"
    sqns+=("$(grep -o 'sqn=[0-9a-f]*' <<<"$ue" | cut -d= -f2)")
done
check_eq "bob's SQNs rise by 32" "$(printf '%012x %012x' $((16#${sqns[0]} + 32)) $((16#${sqns[0]} + 64)))" \
    "${sqns[1]} ${sqns[2]}"
check_eq "MAR with a scheme the user has not: DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED" \
    "5006 true" "$(res "$cx" 8)"
check_eq "SAR REGISTRATION: DIAMETER_SUCCESS" "2001 false" "$(res "$cx" 9)"
field "$cx" 9 '.answer["User-Data"]' >"$E2E_RUN/user-data.xml"
check "SAR User-Data validates against CxDataType.xsd" \
    xmllint --noout --schema "$E2E_ROOT/tests/data/CxDataType.xsd" "$E2E_RUN/user-data.xml"
check_eq "User-Data: alice's private identity and her implicit set" \
    "$ALICE sip:alice@$R tel:+15550100001" \
    "$(xmllint --xpath 'concat(/IMSSubscription/PrivateID, " ", //PublicIdentity[1]/Identity, " ", //PublicIdentity[2]/Identity)' "$E2E_RUN/user-data.xml")"
check_eq "SAR: Charging-Information names the CDF of the lab" \
    "aaa://ocs.$R:3868;transport=tcp" \
    "$(field "$cx" 9 '.answer["Charging-Information"]["Primary-Charging-Collection-Function-Name"]')"
check_eq "UAR for the tel: IMPU of the registered set: SUBSEQUENT_REGISTRATION + S-CSCF" \
    "2002 true sip:scscf.$R:5060" "$(field "$cx" 10 '"\(.result) \(.experimental) \(.answer["Server-Name"])"')"
check_eq "LIR tel:+15550100001: the S-CSCF" "2001 false sip:scscf.$R:5060" \
    "$(field "$cx" 11 '"\(.result) \(.experimental) \(.answer["Server-Name"])"')"
check_eq "LIR carol (not registered, no unregistered services): IDENTITY_NOT_REGISTERED" \
    "5003 true" "$(res "$cx" 12)"
check_eq "LIR unknown identity: USER_UNKNOWN" "5001 true" "$(res "$cx" 13)"
check_eq "SAR USER_DEREGISTRATION: DIAMETER_SUCCESS, no User-Data" "2001 false null" \
    "$(field "$cx" 14 '"\(.result) \(.experimental) \(.answer["User-Data"])"')"
check_eq "LIR alice after de-registration: IDENTITY_NOT_REGISTERED" "5003 true" \
    "$(res "$cx" 15)"

# ---------------------------------------------------------------------------------------------
step "Cx: AKA re-synchronisation (AUTS)"
# a UE whose SQN is far ahead of the HSS: it answers the challenge with AUTS for its SQN
first=$(diam cx-client <<EOF
{"cmd":"MAR","avps":{"User-Name":"$ALICE","Public-Identity":"sip:alice@$R","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"Digest-AKAv1-MD5"},"Server-Name":"sip:scscf.$R:5060"}}
EOF
)
auth=$(field "$first" 1 '.answer["SIP-Auth-Data-Item"]["SIP-Authenticate"]' | sed 's/^hex://')
rand=${auth:0:32}
K=465b5ce8b199b49faa5f0a2ee238a6bc
OPC=cd63cb71954a9f4e48a5994e37a02baf
auts=$("$E2E_BIN/aka" auts --k $K --opc $OPC --rand "$rand" --sqn 000000100000)
bad=${auts:0:27}$(printf '%x' $(((16#${auts:27:1} + 1) % 16)))
second=$(diam cx-client <<EOF
{"cmd":"MAR","avps":{"User-Name":"$ALICE","Public-Identity":"sip:alice@$R","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"Digest-AKAv1-MD5","SIP-Authorization":"hex:$rand$auts"},"Server-Name":"sip:scscf.$R:5060"}}
{"cmd":"MAR","avps":{"User-Name":"$ALICE","Public-Identity":"sip:alice@$R","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"Digest-AKAv1-MD5","SIP-Authorization":"hex:$rand$bad"},"Server-Name":"sip:scscf.$R:5060"}}
EOF
)
check_eq "MAR with RAND|AUTS: DIAMETER_SUCCESS" "2001 false" "$(res "$second" 1)"
auth=$(field "$second" 1 '.answer["SIP-Auth-Data-Item"]["SIP-Authenticate"]' | sed 's/^hex://')
ue=$("$E2E_BIN/aka" check --k $K --opc $OPC --rand "${auth:0:32}" --autn "${auth:32:32}")
check_eq "the new vector carries the UE's SQN + 32" "sqn=000000100020" \
    "$(grep -o 'sqn=[0-9a-f]*' <<<"$ue")"
check_eq "a corrupted AUTS is refused: DIAMETER_AUTHORIZATION_REJECTED" "5003 false" \
    "$(res "$second" 2)"
check_match "the HSS logs the re-synchronisation" \
    "re-synchronised: SQN [0-9a-f]+ -> 000000100000" "$(cat "$E2E_RUN/hss/hss.log")"

# ---------------------------------------------------------------------------------------------
step "Sh (the lab's AS over TLS): UDR, PUR with sequence numbers, SNR and PNR"
sh=$(as_diam <<EOF
{"cmd":"UDR","avps":{"User-Identity":{"Public-Identity":"sip:bob@$R"},"Data-Reference":[10,11,12,17,16]}}
{"cmd":"PUR","avps":{"User-Identity":{"Public-Identity":"sip:bob@$R"},"Data-Reference":0,"User-Data-29.329":"<Sh-Data><RepositoryData><ServiceIndication>lab-service</ServiceIndication><SequenceNumber>0</SequenceNumber><ServiceData><cfg mode=\"a\">one</cfg></ServiceData></RepositoryData></Sh-Data>"}}
{"cmd":"PUR","avps":{"User-Identity":{"Public-Identity":"sip:bob@$R"},"Data-Reference":0,"User-Data-29.329":"<Sh-Data><RepositoryData><ServiceIndication>lab-service</ServiceIndication><SequenceNumber>0</SequenceNumber><ServiceData>x</ServiceData></RepositoryData></Sh-Data>"}}
{"cmd":"PUR","avps":{"User-Identity":{"Public-Identity":"sip:bob@$R"},"Data-Reference":0,"User-Data-29.329":"<Sh-Data><RepositoryData><ServiceIndication>lab-service</ServiceIndication><SequenceNumber>1</SequenceNumber><ServiceData><cfg mode=\"b\">two</cfg></ServiceData></RepositoryData></Sh-Data>"}}
{"cmd":"UDR","avps":{"User-Identity":{"Public-Identity":"sip:bob@$R"},"Data-Reference":0,"Service-Indication":"lab-service"}}
{"cmd":"UDR","avps":{"User-Identity":{"Public-Identity":"sip:nobody@$R"},"Data-Reference":11}}
{"cmd":"SNR","avps":{"User-Identity":{"Public-Identity":"sip:bob@$R"},"Data-Reference":11,"Subs-Req-Type":0,"Send-Data-Indication":1}}
{"cmd":"UDR","avps":{"User-Identity":{"MSISDN":"hex:5155100000f2"},"Data-Reference":10}}
EOF
)
check_eq "8 answers" 8 "$(grep -c '^{' <<<"$sh")"
check_eq "UDR bob: DIAMETER_SUCCESS" "2001 false" "$(res "$sh" 1)"
field "$sh" 1 '.answer["User-Data-29.329"]' >"$E2E_RUN/sh-data.xml"
check "UDR Sh-Data validates against ShDataType.xsd" \
    xmllint --noout --schema "$E2E_ROOT/tests/data/ShDataType.xsd" "$E2E_RUN/sh-data.xml"
# bob was challenged (MAR) above and has not registered: AUTHENTICATION_PENDING (3)
check_eq "Sh-Data: identities, MSISDN, user state AUTHENTICATION_PENDING, CCF" \
    "sip:bob@$R tel:+15550100002 15550100002 3 aaa://ocs.$R:3868;transport=tcp" \
    "$(xmllint --xpath 'concat(//IMSPublicIdentity[1], " ", //IMSPublicIdentity[2], " ", //MSISDN, " ", //IMSUserState, " ", //PrimaryChargingCollectionFunctionName)' "$E2E_RUN/sh-data.xml")"
check_eq "PUR creating with sequence 0: success" "2001 false" "$(res "$sh" 2)"
check_eq "PUR with the stored sequence: DIAMETER_ERROR_TRANSPARENT_DATA_OUT_OF_SYNC" \
    "5105 true" "$(res "$sh" 3)"
check_eq "PUR with the stored sequence + 1: success" "2001 false" "$(res "$sh" 4)"
field "$sh" 5 '.answer["User-Data-29.329"]' >"$E2E_RUN/repo.xml"
check "UDR RepositoryData validates against ShDataType.xsd" \
    xmllint --noout --schema "$E2E_ROOT/tests/data/ShDataType.xsd" "$E2E_RUN/repo.xml"
check_eq "UDR RepositoryData: sequence 1, the AS's data kept verbatim" \
    '1 <cfg mode="b">two</cfg>' \
    "$(xmllint --xpath 'string(//SequenceNumber)' "$E2E_RUN/repo.xml") $(sed -E 's/.*<ServiceData>(.*)<\/ServiceData>.*/\1/' "$E2E_RUN/repo.xml")"
check_eq "UDR unknown user: DIAMETER_ERROR_USER_UNKNOWN" "5001 true" "$(res "$sh" 6)"
check_eq "SNR IMSUserState with data: success and the current state" "2001 false 3" \
    "$(field "$sh" 7 '"\(.result) \(.experimental) \(.answer["User-Data-29.329"] | capture("<IMSUserState>(?<s>[0-9])") | .s)"')"
check_eq "UDR by MSISDN (TBCD 15550100002): bob's identities" "2001 sip:bob@$R" \
    "$(field "$sh" 8 '"\(.result) \(.answer["User-Data-29.329"] | capture("<IMSPublicIdentity>(?<i>[^<]*)") | .i)"')"

# the subscribed AS stays connected while bob registers: the HSS notifies it (PNR)
as_diam 15000 >"$E2E_RUN/notify.json" <<EOF &
{"cmd":"SNR","avps":{"User-Identity":{"Public-Identity":"sip:bob@$R"},"Data-Reference":[11,12],"Subs-Req-Type":0}}
EOF
npid=$!
# wait until the AS has subscribed (its connection opens within ~4 s)
for _ in $(seq 150); do
    [ -s "$E2E_RUN/notify.json" ] && break
    sleep 0.1
done
check_eq "the AS subscribed to bob's user state and S-CSCF" "2001" \
    "$(jq -r .result "$E2E_RUN/notify.json" 2>/dev/null)"
reg=$(diam cx-client <<EOF
{"cmd":"SAR","avps":{"User-Name":"$BOB","Public-Identity":"sip:bob@$R","Server-Name":"sip:scscf.$R:5060","Server-Assignment-Type":1,"User-Data-Already-Available":1}}
EOF
)
wait $npid
check_eq "SAR REGISTRATION for bob" "2001 false" "$(res "$reg" 1)"
m=$(curl -s http://127.0.0.40:8080/metrics)
check_match "the HSS sent PNRs (hss_sh_notifications_total >= 1)" \
    '^hss_sh_notifications_total [1-9]' "$m"

# ---------------------------------------------------------------------------------------------
step "provisioning API"
doc=$(cat <<EOF
{"name":"dave","impis":[{"identity":"dave@$R","password":"dave-secret"}],
 "impus":[{"identity":"sip:dave@$R"}],"profiles":[{"name":"default","ifcs":[
   {"priority":1,"trigger":{"spt":[{"method":"INVITE"}]},"as":{"server_name":"sip:as.$R"}}]}]}
EOF
)
printf '%s\n' "$doc" >"$E2E_RUN/dave.json"
check "hssctl put dave" "${CTL[@]}" put "$E2E_RUN/dave.json"
check_eq "hssctl get dave: his iFC" "sip:as.$R" \
    "$("${CTL[@]}" get dave | jq -r '.profiles[0].ifcs[0].as.server_name')"
bad=$(curl -s -o /dev/stdout -w ' %{http_code}' -X PUT -H "Authorization: Bearer ims-lab-token" \
      -d "{\"name\":\"eve\",\"impis\":[{\"identity\":\"eve@$R\",\"k\":\"00\"}],\"impus\":[]}" \
      http://127.0.0.40:8080/api/v1/subscribers/eve)
check_match "a bad K is refused with 400 naming the field" '"field":"impis\[0\]\.k".* 400$' "$bad"
noauth=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.40:8080/api/v1/subscribers)
check_eq "no bearer token: 401" 401 "$noauth"
dave=$(diam cx-client <<EOF
{"cmd":"SAR","avps":{"User-Name":"dave@$R","Public-Identity":"sip:dave@$R","Server-Name":"sip:scscf.$R:5060","Server-Assignment-Type":1,"User-Data-Already-Available":0}}
EOF
)
check_eq "SAR dave: his provisioned iFC in the User-Data" "2001 sip:as.$R" \
    "$(field "$dave" 1 '"\(.result) \(.answer["User-Data"] | capture("<ServerName>(?<s>[^<]*)") | .s)"')"
check "hssctl delete dave" "${CTL[@]}" delete dave
check_eq "dave is gone: 404" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer ims-lab-token' http://127.0.0.40:8080/api/v1/subscribers/dave)"

# ---------------------------------------------------------------------------------------------
step "capture"
cap_stop
cap=$E2E_RUN/hss.pcapng
check_eq "no malformed packet, no expert error" "" "$(cap_problems "$cap")"
check_eq "UAR, MAR, SAR, LIR, UDR, PUR, SNR, PNR on the wire" "yes yes yes yes yes yes yes yes" \
    "$(for c in 300 303 301 302 306 307 308 309; do [ "$(cap_count "$cap" "diameter.cmd.code == $c")" -gt 0 ] && printf 'yes ' || printf 'no(%s) ' $c; done | sed 's/ $//')"

lab_stop
e2e_finish
