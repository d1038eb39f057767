#!/usr/bin/env bash
# tests/e2e/test_gm_security.sh - the UE's edge of the network (issue 16): SIP over TLS at the
# P-CSCF (5061) and IPsec sec-agree (RFC 3329, TS 33.203, TS 24.229).
#
# TLS: alice's UE (tests/tools/ue.c) registers over TLS with AKA, checking the P-CSCF's
# certificate against the lab CA; it sends a MESSAGE to herself (out over TLS, back to her
# over the same TLS connection), subscribes to her reg event (a dialog record-routed twice
# by the P-CSCF, RFC 5658: the TLS entry she sees, the core's entry with her flow token),
# gets the S-CSCF's NOTIFY over her connection, ends the subscription within the dialog and
# de-registers. The capture (with the session keys of the P-CSCF, tests/lib/sslkeylog.so)
# shows one TLS connection, opened by the UE, none opened by the P-CSCF towards her, and the
# SIP inside decodes cleanly.
#
# IPsec: this P-CSCF has pcscf.ipsec = optional in the lab. Whether the kernel has ESP is
# read from /health ("ipsec"): without ESP, a UE that requires sec-agree is refused (494
# with a Warning), one that only supports it registers without it (no Security-Server);
# with ESP, the UE gets a Security-Server with the P-CSCF's SPIs and ports. The ESP data
# path itself (SAs installed, traffic on the protected ports) runs in network namespaces
# where the kernel has ESP, and is skipped with the reason elsewhere.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init gm_security
e2e_require tshark jq curl

R=$E2E_REALM
PCSCF=127.0.0.10
ALICE_IP=127.0.0.160
SUBS=$E2E_ROOT/deploy/lab/subscribers.json
ALICE_K=$(jq -r '.subscribers[] | select(.name=="alice") | .impis[0].k' "$SUBS")
ALICE_OPC=$(jq -r '.subscribers[] | select(.name=="alice") | .impis[0].opc' "$SUBS")
# SIP over UDP, TCP and TLS of the lab (the mark knock of cap_stop is on 8080)
E2E_CAP_FILTER='net 127.0.0.0/24 and (port 5060 or port 5061 or port 8080)'

alice_ue() {   # NAME PORT ARGS...: alice's UE with her USIM, output in the run folder
    local name=$1 port=$2
    shift 2
    timeout 60 "$E2E_BIN/ue" --bind "${UE_IP:-$ALICE_IP}:$port" --impu "sip:alice@$R" --impi "alice@$R" \
        --k "$ALICE_K" --opc "$ALICE_OPC" --algorithm AKAv1-MD5 "$@" >"$E2E_RUN/$name.out" 2>&1
    local rc=$?
    echo "exit status $rc" >>"$E2E_RUN/$name.out"
    return $rc
}

cap_start gm_security
step "the lab (the P-CSCF listens on 5061/tls with the lab PKI's certificate)"
check "deploy/lab.sh start" lab_start
http_get "http://$PCSCF:8080/health"
check_match "/health lists the TLS listener" '"name":"127.0.0.10:5061/tls"' "$HTTP_BODY"
IPSEC_STATE=$(json_get "$HTTP_BODY" '.peers[] | select(.name == "ipsec") | .state')

step "a UE over TLS: registration, MESSAGE both ways, a dialog, de-registration"
check "alice registers over TLS (AKA), the P-CSCF's certificate verified against the lab CA" \
    alice_ue tls 5160 --proxy "$PCSCF:5061" --transport tls --ca "$E2E_RUN/pki/ca.crt" \
    --stay 4000 --message "sip:alice@$R" --subscribe --unregister
OUT=$(cat "$E2E_RUN/tls.out")
check_match "the P-CSCF registered her flow as her TLS connection" \
    "alice@$R registered from $ALICE_IP:[0-9]+/tls" "$(cat "$E2E_RUN/pcscf/pcscf.log")"
check_contains "her MESSAGE (out over TLS) was answered 200" "message: 200" "$OUT"
check_match "... and came back to her over her TLS connection" \
    "^request MESSAGE via tls from $PCSCF:5061" "$OUT"
check_contains "her SUBSCRIBE to her reg event was accepted" "subscribe: 200" "$OUT"
RR=$(printf '%s\n' "$OUT" | sed -n 's/^record-route: //p')
check_match "her route set starts with the P-CSCF's TLS entry, with her dialog token" \
    "^<sip:$PCSCF:5061;transport=tls;lr;icid=[0-9a-f]+;ue=[0-9a-f]{16}>, " "$RR"
check_match "... then the P-CSCF's entry for the core, with her flow token (RFC 5658)" \
    "^<[^>]*>, <sip:$PCSCF:5060;lr;icid=[0-9a-f]+;ft=73[0-9a-f]+>" "$RR"
check_match "the S-CSCF's NOTIFY reached her over her TLS connection (the Record-Route's flow)" \
    "^request NOTIFY via tls from $PCSCF:5061" "$OUT"
check_contains "her un-SUBSCRIBE within the dialog (the P-CSCF's two entries) was accepted" \
    "unsubscribe: 200" "$OUT"
check_match "she de-registered" '^got 200' "$(tail -n 5 "$E2E_RUN/tls.out")"

step "a TLS client that does not trust the P-CSCF's CA is refused by itself"
IMS_PKI_CA_NAME="another CA" "$E2E_ROOT/deploy/pki.sh" "$E2E_RUN/otherpki" ue >/dev/null 2>&1
UE_IP=127.0.0.161 alice_ue tls-untrusted 5162 --proxy "$PCSCF:5061" --transport tls \
    --ca "$E2E_RUN/otherpki/ca.crt" --rounds 1
check_match "a UE with another CA does not register (certificate not verified)" \
    '^got (5[0-9][0-9]|408)' "$(cat "$E2E_RUN/tls-untrusted.out")"

step "IPsec sec-agree (pcscf.ipsec = optional)"
log "the P-CSCF's /health says ipsec: ${IPSEC_STATE:-(nothing)}"
check_match "/health says whether IPsec can be used" '^(available|unavailable \()' \
    "$IPSEC_STATE"
if [ -n "$(ip xfrm state 2>&1 >/dev/null)" ] || ! ip xfrm state add src 127.0.0.1 \
    dst 127.0.0.1 proto esp spi 0x7e000001 mode transport auth-trunc 'hmac(sha1)' \
    0x0000000000000000000000000000000000000000 96 enc 'ecb(cipher_null)' "" 2>/dev/null; then
    check_eq "this kernel has no ESP: /health says so" "unavailable (no ESP in this kernel)" \
        "$IPSEC_STATE"
    check_match "... and so does the P-CSCF's log at start" \
        'IPsec unavailable \(no ESP in this kernel\)' "$(cat "$E2E_RUN/pcscf/pcscf.log")"
else
    ip xfrm state delete src 127.0.0.1 dst 127.0.0.1 proto esp spi 0x7e000001 2>/dev/null
    check_eq "this kernel has ESP: /health says available" "available" "$IPSEC_STATE"
fi
alice_ue sa-required 5170 --proxy "$PCSCF:5060" --sec-agree --require --rounds 1
OUT=$(cat "$E2E_RUN/sa-required.out")
check_contains "a UE that requires sec-agree is refused: 420 (it is not agreed here)" \
    "got 420 Bad Extension" "$OUT"
check_match "... with a Warning saying why" \
    '^warning: sec-agree \(IPsec\) is required by the UE but not available here: ' "$OUT"
check_eq "... and it is not registered (no binding of its port)" "" \
    "$(grep "registered from $ALICE_IP:5170/" "$E2E_RUN/pcscf/pcscf.log")"
check "a UE that only offers sec-agree registers without it" \
    alice_ue sa-offered 5172 --proxy "$PCSCF:5060" --sec-agree
check_eq "... its 401 had no Security-Server" "" \
    "$(grep '^security-server:' "$E2E_RUN/sa-offered.out")"

step "the capture: one TLS connection, opened by the UE; the SIP inside decodes cleanly"
check "tshark wrote the capture" cap_stop
CAP=$E2E_CAP_FILE
check_eq "the P-CSCF opened no connection towards the UE" 0 \
    "$(cap_count "$CAP" "ip.src == $PCSCF && ip.dst == $ALICE_IP && tcp.flags.syn == 1 && tcp.flags.ack == 0")"
check_eq "the UE opened one TLS connection (reused for every request both ways)" 1 \
    "$(cap_count "$CAP" "ip.src == $ALICE_IP && tcp.dstport == 5061 && tcp.flags.syn == 1 && tcp.flags.ack == 0")"
check_match "REGISTER, MESSAGE, SUBSCRIBE and NOTIFY decoded from TLS on 5061" '^4$' \
    "$(cap_tshark "$CAP" -Y 'tls && tcp.port == 5061 && sip.Method' -T fields -e sip.Method \
        2>/dev/null | tr ',' '\n' | sort -u | grep -cxE 'REGISTER|MESSAGE|SUBSCRIBE|NOTIFY')"
check_eq "no malformed packet or expert error (TLS and SIP)" "" "$(cap_problems "$CAP")"
check_match "the UEs' Security-Client reached the P-CSCF" '^[1-9]' \
    "$(cap_count "$CAP" "ip.dst == $PCSCF && sip.Security-Client")"
check_eq "... no Security-Client or sec-agree left the P-CSCF towards the I-CSCF" 0 \
    "$(cap_count "$CAP" "ip.src == $PCSCF && ip.dst == 127.0.0.20 && (sip.Security-Client || sip.Proxy-Require contains \"sec-agree\" || sip.Require contains \"sec-agree\")")"

step "the lab stops cleanly"
check "deploy/lab.sh stop exits 0" lab_stop
check_eq "pcscf: no level=error line" "" \
    "$(grep 'level=error' "$E2E_RUN/pcscf/pcscf.log" 2>/dev/null | head -n 5)"
e2e_finish
