#!/usr/bin/env bash
# tests/e2e/test_diameter_trust.sh - the Diameter servers (hss, ocs) as an attacker meets them.
#
# Trusted: the peers each server's configuration lists, each only from its address and over
# TLS with a certificate of the lab CA naming it; as a lab option, identities of the home
# realm from 127.0.1.0/24 (test clients, Kamailio) over plain TCP. Played here with diamcli
# (its --identity, --address, TLS and --origin-host options):
#   refused: an identity outside the realm; a realm identity from outside 127.0.1.0/24; a
#   configured identity from another address (plain and TLS); a configured peer over plain
#   TCP where TLS is required (DIAMETER_NO_COMMON_SECURITY); TLS with a certificate of
#   another CA; TLS with a lab certificate that names another identity;
#   not given: Sh data to a peer not in hss.sh_peers (also when it writes the AS's name in
#   Origin-Host); the plaintext password (Digest-MD5) to a peer not in hss.password_peers.
# And the normal flows: our CSCFs over TLS, the lab's AS over TLS gets Sh data, a peer
# listed in hss.password_peers gets the password; the capture decodes the TLS sessions with
# the lab's session keys (and not without them) and has no malformed packet.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init diameter_trust
e2e_require jq tshark curl openssl

R=$E2E_REALM
PKI=$E2E_RUN/pki           # the lab PKI that deploy/lab.sh makes
HSS=hss.$R@127.0.0.40
OCS=ocs.$R@127.0.0.80
tls_as() {   # TLS options with the certificate and key of $1 from PKI folder $2 (default PKI)
    local dir=${2:-$PKI}
    printf '%s\n' --tls-cert "$dir/$1.crt" --tls-key "$dir/$1.key" --tls-ca "$PKI/ca.crt" \
        --tls-dh "$PKI/dh.pem"
}

# try ID ADDRESS PEER [diamcli options...] < script: one diamcli run as ID from ADDRESS,
# giving up after 5 s without an open connection (exit 3); answers in TRY_OUT, status TRY_RC
try() {
    local id=$1 addr=$2 peer=$3
    shift 3
    TRY_OUT=$(SSLKEYLOGFILE=$E2E_RUN/tls-keys.log timeout 40 "$E2E_BIN/diamcli" \
        --peer "$peer" --identity "$id" --address "$addr" --open-timeout-ms 5000 \
        --script - "$@" 2>>"$E2E_RUN/diamcli-$id.err")
    TRY_RC=$?
}

# probe ID ADDRESS SERVER-ADDRESS [cerprobe options]: one raw CER; prints the CEA's
# Result-Code, or "error: ..." (cerprobe presents any certificate, checks nothing itself)
probe() {
    local id=$1 addr=$2 srv=$3 out
    shift 3
    out=$(SSLKEYLOGFILE=$E2E_RUN/tls-keys.log timeout 20 "$E2E_BIN/cerprobe" --peer "$srv" \
          --identity "$id" --address "$addr" "$@" 2>&1)
    jq -r 'if .error then "error: \(.error)" else .result end' <<<"$out" 2>/dev/null ||
        echo "bad output: $out"
}

res() { sed -n "${1}p" <<<"$TRY_OUT" | jq -r '"\(.result) \(.experimental)"'; }
field() { sed -n "${1}p" <<<"$TRY_OUT" | jq -r "$2"; }
log_of() { cat "$E2E_RUN/$1/$1.log" 2>/dev/null; }
metric() {   # $1 address $2 series -> value (0 when absent)
    local v
    v=$(curl -s "http://$1:8080/metrics" | awk -v s="$2" '$1 == s { print $2 }')
    echo "${v:-0}"
}

UDR_BOB='{"cmd":"UDR","avps":{"User-Identity":{"Public-Identity":"sip:bob@'$R'"},"Data-Reference":10}}'

# the test clients of 127.0.1.0/24 too
E2E_CAP_FILTER='(net 127.0.0.0/24 or net 127.0.1.0/24) and (port 3868 or port 5868 or port 8080)'
cap_start diameter_trust
step "the lab starts; the servers announce their lab-only acceptance of 127.0.1.0/24"
check "deploy/lab.sh start" lab_start
for d in hss ocs; do
    check_match "$d log: a warning that it accepts any peer of the realm from 127.0.1.0/24" \
        "level=warn .*accepts any peer matching \\*\\.$R@127\\.0\\.1\\.0/24 \\(diameter\\.accept_peers\\): lab only" \
        "$(log_of $d)"
    http_get "http://${E2E_ADDR[$d]}:8080/health"
    check_eq "$d /health: the same warning, status still ok" \
        "ok diameter: accepts any peer matching *.$R@127.0.1.0/24 (diameter.accept_peers): lab only" \
        "$(json_get "$HTTP_BODY" '"\(.status) \(.warnings | join(" | "))"')"
done

# ---------------------------------------------------------------------------------------------
step "trusted: our own clients over TLS, each from its address"
for c in icscf scscf; do
    check_match "hss log: $c accepted from ${E2E_ADDR[$c]} over TLS as a configured peer" \
        "accepted peer $c\\.$R from ${E2E_ADDR[$c]//./\\.} over TLS \\(configured in diameter\\.peers\\)" \
        "$(log_of hss)"
done
for c in pcscf scscf bgcf ibcf mrfc mgcf; do
    check_match "ocs log: $c accepted from ${E2E_ADDR[$c]} over TLS as a configured peer" \
        "accepted peer $c\\.$R from ${E2E_ADDR[$c]//./\\.} over TLS \\(configured in diameter\\.peers\\)" \
        "$(log_of ocs)"
done
mapfile -t TLS_AS < <(tls_as as)
try "as.$R" 127.0.0.90 "$HSS" "${TLS_AS[@]}" <<<"$UDR_BOB"
check_eq "the lab's AS (as.$R from 127.0.0.90, TLS, lab certificate): UDR answered 2001" \
    "0 2001 false" "$TRY_RC $(res 1)"
check_match "hss log: the AS accepted over TLS" \
    "accepted peer as\\.$R from 127\\.0\\.0\\.90 over TLS \\(configured" "$(log_of hss)"

# ---------------------------------------------------------------------------------------------
step "refused: foreign peers"
before_unknown=$(metric 127.0.0.40 'ims_diameter_peer_decisions_total{verdict="unknown"}')
try mme.epc.example.net 127.0.1.20 "$HSS" <<<"$UDR_BOB"
check_eq "HSS: an identity outside the realm (mme.epc.example.net from 127.0.1.20): no connection, no answer" \
    "3 " "$TRY_RC $TRY_OUT"
check_match "hss log: refused as an unknown identity" \
    "level=warn .*refused peer mme\\.epc\\.example\\.net from 127\\.0\\.1\\.20 over plain TCP: unknown identity" \
    "$(log_of hss)"
check "hss /metrics: ims_diameter_peer_decisions_total{verdict=\"unknown\"} went up" \
    test "$(metric 127.0.0.40 'ims_diameter_peer_decisions_total{verdict="unknown"}')" -gt \
    "$before_unknown"
try pgw.epc.example.net 127.0.1.20 "$OCS" <<EOF
{"cmd":"ACR","avps":{"Accounting-Record-Type":1,"Accounting-Record-Number":0,"Acct-Application-Id":3}}
EOF
check_eq "OCS: an identity outside the realm (pgw.epc.example.net): no connection, no answer" \
    "3 " "$TRY_RC $TRY_OUT"
check_match "ocs log: refused as an unknown identity" \
    "refused peer pgw\\.epc\\.example\\.net from 127\\.0\\.1\\.20 over plain TCP: unknown identity" \
    "$(log_of ocs)"

try intruder.$R 127.0.0.99 "$HSS" <<<"$UDR_BOB"
check_eq "HSS: an identity of the realm from outside 127.0.1.0/24 (intruder from 127.0.0.99): refused" \
    "3 " "$TRY_RC $TRY_OUT"
check_match "hss log: refused, the pattern allows it only from another address" \
    "refused peer intruder\\.$R from 127\\.0\\.0\\.99 over plain TCP: the identity is allowed only from another address" \
    "$(log_of hss)"

try "as.$R" 127.0.1.20 "$HSS" <<<"$UDR_BOB"
check_eq "HSS: the configured AS identity from another address (127.0.1.20, plain TCP): refused" \
    "3 " "$TRY_RC $TRY_OUT"
try "as.$R" 127.0.0.91 "$HSS" "${TLS_AS[@]}" <<<"$UDR_BOB"
check_eq "HSS: the configured AS identity from another address (127.0.0.91) with its own certificate: refused" \
    "3 " "$TRY_RC $TRY_OUT"
check_match "hss log: refused for its address (plain TCP from 127.0.1.20)" \
    "refused peer as\\.$R from 127\\.0\\.1\\.20 over plain TCP: the identity is allowed only from another address" \
    "$(log_of hss)"
check_match "hss log: refused for its address (TLS from 127.0.0.91)" \
    "refused peer as\\.$R from 127\\.0\\.0\\.91 over TLS: the identity is allowed only from another address" \
    "$(log_of hss)"
try "mgcf.$R" 127.0.1.20 "$OCS" <<EOF
{"cmd":"ACR","avps":{"Accounting-Record-Type":1,"Accounting-Record-Number":0,"Acct-Application-Id":3}}
EOF
check_eq "OCS: the MGCF's identity from 127.0.1.20: refused" "3 " "$TRY_RC $TRY_OUT"

# ---------------------------------------------------------------------------------------------
step "refused: the answers on the wire (raw CERs)"
check_eq "HSS: unknown identity: CEA DIAMETER_UNKNOWN_PEER (3010)" 3010 \
    "$(probe mme.epc.example.net 127.0.1.20 127.0.0.40)"
check_eq "HSS: the AS's identity from 127.0.1.20: 3010" 3010 "$(probe "as.$R" 127.0.1.20 127.0.0.40)"
check_eq "HSS: the AS from its address over plain TCP: DIAMETER_NO_COMMON_SECURITY (5017)" \
    5017 "$(probe "as.$R" 127.0.0.90 127.0.0.40)"
check_eq "OCS: a realm identity from outside 127.0.1.0/24: 3010" 3010 \
    "$(probe "intruder.$R" 127.0.0.99 127.0.0.80)"
check_eq "OCS: a test peer of 127.0.1.0/24 (the lab option): CEA 2001" 2001 \
    "$(probe "probe.$R" 127.0.1.20 127.0.0.80)"
check_eq "HSS: the AS over TLS with its lab certificate: CEA 2001" 2001 \
    "$(probe "as.$R" 127.0.0.90 127.0.0.40 --tls --cert "$PKI/as.crt" --key "$PKI/as.key")"

step "refused: plain TCP where TLS is required, TLS with a foreign or someone else's certificate"
try "as.$R" 127.0.0.90 "$HSS" <<<"$UDR_BOB"
check_eq "HSS: the AS from its address but over plain TCP: refused" "3 " "$TRY_RC $TRY_OUT"
check_match "hss log: plain TCP refused, TLS required" \
    "refused peer as\\.$R from 127\\.0\\.0\\.90 over plain TCP: plain TCP, but TLS is required" \
    "$(log_of hss)"

# (raw CERs from cerprobe: freeDiameter itself would not even start with these credentials)
IMS_PKI_CA_NAME="not the lab CA" "$E2E_ROOT/deploy/pki.sh" "$E2E_RUN/rogue" as >/dev/null
check_match "HSS: the AS's identity and address, TLS with a certificate of another CA: no CEA" \
    '^error: ' "$(probe "as.$R" 127.0.0.90 127.0.0.40 --tls --cert "$E2E_RUN/rogue/as.crt" \
                  --key "$E2E_RUN/rogue/as.key")"
check_match "hss log: the TLS handshake failed" "level=warn .*TLS handshake failed" "$(log_of hss)"
check_eq "HSS: TLS without a client certificate: no CEA" "error" \
    "$(probe "as.$R" 127.0.0.90 127.0.0.40 --tls | cut -d: -f1)"
check_eq "HSS: the AS's identity and address, TLS with the P-CSCF's lab certificate: CEA 3010" \
    3010 "$(probe "as.$R" 127.0.0.90 127.0.0.40 --tls --cert "$PKI/pcscf.crt" \
            --key "$PKI/pcscf.key")"
check_match "hss log: refused, the certificate names someone else" \
    "refused peer as\\.$R from 127\\.0\\.0\\.90 over TLS: its TLS certificate does not name its Origin-Host" \
    "$(log_of hss)"
for v in unknown address plain certificate; do
    check "hss /metrics: ims_diameter_peer_decisions_total{verdict=\"$v\"} > 0" \
        test "$(metric 127.0.0.40 "ims_diameter_peer_decisions_total{verdict=\"$v\"}")" -gt 0
done

# ---------------------------------------------------------------------------------------------
step "not given: Sh data to a peer not in hss.sh_peers"
try "as-client.$R" 127.0.1.10 "$HSS" <<EOF
$UDR_BOB
{"cmd":"PUR","avps":{"User-Identity":{"Public-Identity":"sip:bob@$R"},"Data-Reference":0,"User-Data-29.329":"<Sh-Data><RepositoryData><ServiceIndication>evil</ServiceIndication><SequenceNumber>0</SequenceNumber><ServiceData>x</ServiceData></RepositoryData></Sh-Data>"}}
{"cmd":"SNR","avps":{"User-Identity":{"Public-Identity":"sip:bob@$R"},"Data-Reference":11,"Subs-Req-Type":0,"Send-Data-Indication":1}}
EOF
check_eq "a lab test peer (accepted, not in sh_peers): 3 answers" 3 "$(grep -c '^{' <<<"$TRY_OUT")"
check_eq "UDR: DIAMETER_ERROR_USER_DATA_CANNOT_BE_READ, no User-Data" "5102 true null" \
    "$(res 1) $(field 1 '.answer["User-Data-29.329"]')"
check_eq "PUR: DIAMETER_ERROR_USER_DATA_CANNOT_BE_MODIFIED" "5103 true" "$(res 2)"
check_eq "SNR: DIAMETER_ERROR_USER_DATA_CANNOT_BE_NOTIFIED, no User-Data" "5104 true null" \
    "$(res 3) $(field 3 '.answer["User-Data-29.329"]')"
try "as-client.$R" 127.0.1.10 "$HSS" --origin-host "as.$R" <<<"$UDR_BOB"
check_eq "the same peer writing the AS's name in Origin-Host: still CANNOT_BE_READ" \
    "5102 true null" "$(res 1) $(field 1 '.answer["User-Data-29.329"]')"
check_match "hss log: the refusal names the connection's peer and the Origin-Host it wrote" \
    "level=warn .*sh: UDR from peer as-client\\.$R \\(Origin-Host as\\.$R\\) refused: the peer is not in hss\\.sh_peers" \
    "$(log_of hss)"

# ---------------------------------------------------------------------------------------------
step "not given: the plaintext password (Digest-MD5) to a peer not in hss.password_peers"
MAR_MD5='{"cmd":"MAR","avps":{"User-Name":"alice@'$R'","Public-Identity":"sip:alice@'$R'","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"Digest-MD5"},"Server-Name":"sip:scscf.'$R':5060"}}'
MAR_DIGEST='{"cmd":"MAR","avps":{"User-Name":"alice@'$R'","Public-Identity":"sip:alice@'$R'","SIP-Number-Auth-Items":1,"SIP-Auth-Data-Item":{"SIP-Authentication-Scheme":"SIP Digest"},"Server-Name":"sip:scscf.'$R':5060"}}'
try "cx-client.$R" 127.0.1.10 "$HSS" <<EOF
$MAR_MD5
$MAR_DIGEST
EOF
check_eq "MAR Digest-MD5: DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED, no SIP-Auth-Data-Item" \
    "5006 true null" "$(res 1) $(field 1 '.answer["SIP-Auth-Data-Item"]')"
check_eq "MAR SIP Digest from the same peer: served (HA1, no password)" "2001 false true" \
    "$(res 2) $(field 2 '.answer["SIP-Auth-Data-Item"]["SIP-Digest-Authenticate"]["Digest-HA1"] | length == 32')"
check_match "hss log: the refusal, with the peer" \
    "level=warn .*MAR for alice@$R from peer cx-client\\.$R .*plaintext password \\(Digest-MD5\\): refused, the peer is not in hss\\.password_peers" \
    "$(log_of hss)"

# the HSS again with one peer allowed (hss.password_peers from the environment)
pid=$(cat "$E2E_RUN/hss/hss.pid" 2>/dev/null)
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "the HSS stopped" bash -c "! kill -0 $pid 2>/dev/null"
restart=$(IMS_HSS_PASSWORD_PEERS="cx-legacy.$R" IMS_LAB_TLS_KEYLOG=$E2E_RUN/tls-keys.log \
          e2e_lab start 2>&1)
check_eq "the HSS restarts with hss.password_peers = cx-legacy.$R (the lab healthy again)" 0 "$?"
printf '%s\n' "$restart" >"$E2E_RUN/lab-restart.out"
check_match "hss log: it warns who may receive passwords" \
    "level=warn .*cx-legacy\\.$R may receive plaintext passwords" "$(log_of hss)"
try "cx-legacy.$R" 127.0.1.10 "$HSS" <<<"$MAR_MD5"
check_eq "a peer of hss.password_peers: MAR Digest-MD5 gives alice's password" \
    "2001 false alice-secret" \
    "$(res 1) $(field 1 '.answer["SIP-Auth-Data-Item"]["SIP-Authorization"]')"
try "cx-client.$R" 127.0.1.10 "$HSS" <<<"$MAR_MD5"
check_eq "another peer still gets DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED" "5006 true" "$(res 1)"

# ---------------------------------------------------------------------------------------------
step "the wire"
cap_stop
cap=$E2E_CAP_FILE
check_eq "no malformed packet, no expert error (TLS decoded with the lab's session keys)" "" \
    "$(cap_problems "$cap")"
check "TLS handshakes to the servers' port 5868 (ClientHello)" \
    test "$(cap_count "$cap" 'tls.handshake.type == 1 && tcp.dstport == 5868')" -ge 9
check "Diameter inside TLS decodes with the session keys (CER over 5868)" \
    test "$(cap_count "$cap" 'tcp.port == 5868 && diameter.cmd.code == 257')" -ge 7
check_eq "... and not without them (the Diameter of port 5868 is encrypted)" 0 \
    "$(tshark -r "$cap" -Y 'tcp.port == 5868 && diameter' 2>/dev/null | wc -l)"
check "UDR answered over TLS on the wire" \
    test "$(cap_count "$cap" 'tcp.port == 5868 && diameter.cmd.code == 306 && diameter.flags.request == 0 && diameter.Result-Code == 2001')" -ge 1
check "CEAs refusing with DIAMETER_UNKNOWN_PEER (3010)" \
    test "$(cap_count "$cap" 'diameter.cmd.code == 257 && diameter.flags.request == 0 && diameter.Result-Code == 3010')" -ge 5
check "a CEA refusing plain TCP with DIAMETER_NO_COMMON_SECURITY (5017)" \
    test "$(cap_count "$cap" 'diameter.cmd.code == 257 && diameter.flags.request == 0 && diameter.Result-Code == 5017')" -ge 1
# the connections of the refused identities (their CERs), and what answered them
streams=$(cap_tshark "$cap" -Y 'diameter.cmd.code == 257 && diameter.flags.request == 1' \
          -T fields -e tcp.stream -e diameter.Origin-Host 2>/dev/null |
          awk '$2 ~ /^(mme|pgw)\.epc\.example\.net$|^intruder\./ { printf "%s ", $1 }')
check "CERs of the refused identities on the wire" test -n "$streams"
check_eq "none of them got a CEA 2001" 0 \
    "$(cap_count "$cap" "tcp.stream in {$streams} && diameter.cmd.code == 257 && diameter.flags.request == 0 && diameter.Result-Code == 2001")"

lab_stop
e2e_finish
