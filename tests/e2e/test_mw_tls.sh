#!/usr/bin/env bash
# tests/e2e/test_mw_tls.sh - SIP over mutual TLS between the CSCFs (Mw), and its trust rule
# played by an attacker.
#
# The lab runs with a copy of deploy/lab/*.conf (IMS_LAB_CONF) in which the I-CSCF and the
# S-CSCF listen on TLS 5061 with sip.tls_verify_clients (a peer that connects must present
# a certificate of the lab CA), name themselves by their TLS URI (sip.own_uri_tls: the
# S-CSCF's Service-Route and Server-Name, the I-CSCF's routes), and trust the P-CSCF and
# each other only over such a connection ("127.0.0.10;tls" in sip.trusted_peers). The
# P-CSCF sends REGISTER to the I-CSCF on transport=tls; the I-CSCF to the S-CSCF likewise.
# The P-CSCF itself keeps Gm TLS without client certificates (its UEs have none), so what
# the S-CSCF sends to it (Path) stays on UDP and the P-CSCF trusts that by address.
#
# Checked: registrations and a MESSAGE go through; the capture shows REGISTER and MESSAGE
# on 5061 only (no plain SIP between P-, I- and S-CSCF), decoded by tshark from TLS with
# the session keys, with standard handshakes and no malformed packet. Then the attacker
# (tests/tools/sipsend): from the P-CSCF's own address over UDP (its address alone is no
# longer enough: 403 at the S-CSCF and the I-CSCF); over TLS with no certificate, and with
# a certificate of a foreign CA (the handshake fails, no SIP answer); with a certificate of
# the lab CA but from an address outside the trust domain (403). A control: the same
# request with the P-CSCF's certificate from its address is taken (401 challenge).
set -u
shopt -s lastpipe   # `... | attack`: the answers stay in this shell (ATTACK_OUT)
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init mw_tls
e2e_require tshark openssl jq curl

R=$E2E_REALM
PCSCF=127.0.0.10:5060
SEND=$E2E_BIN/sipsend
CONF=$E2E_RUN/conf
PKI=$E2E_RUN/pki
EVIL_PKI=$E2E_RUN/evil-pki
E2E_CAP_FILTER='net 127.0.0.0/24 and (port 5060 or port 5061 or port 3868 or port 5868 or port 8080)'

# ---- the lab's configuration, with TLS on Mw ----
rm -rf "$CONF"
cp -r "$E2E_ROOT/deploy/lab" "$CONF"
scscf_tls="sip:scscf.$R:5061;transport=tls"
icscf_tls="sip:icscf.$R:5061;transport=tls"
# mw_tls FILE TRUSTED...: the node listens on TLS too, verifies its peers' certificates,
# names itself by its TLS URI and trusts the given addresses over verified TLS only
mw_tls() {
    local f=$1 a
    shift
    sed -i 's/^transports = udp,tcp$/transports = udp,tcp,tls\ntls_verify_clients = yes\nown_uri_tls = yes/' "$f"
    for a in "$@"; do
        sed -i "/^trusted_peers = /s/\\b${a//./\\.}\\b\\([,]\\|\$\\)/$a;tls\\1/" "$f"
    done
}
mw_tls "$CONF/icscf.conf" 127.0.0.10 127.0.0.30
mw_tls "$CONF/scscf.conf" 127.0.0.10 127.0.0.20
sed -i "s|^scscfs = .*|scscfs = $scscf_tls|" "$CONF/icscf.conf"
sed -i "s|^\\[scscf\\]\$|[scscf]\nname = $scscf_tls\nicscf = $icscf_tls|" "$CONF/scscf.conf"
sed -i "s|^icscf = .*|icscf = $icscf_tls|" "$CONF/pcscf.conf"
export IMS_LAB_CONF=$CONF

ue() {   # NAME USER ADDR:PORT ARGS...: the project's UE registers USER through the P-CSCF
    local name=$1 user=$2 bind=$3
    shift 3
    timeout 40 "$E2E_BIN/ue" --proxy "$PCSCF" --bind "$bind" --impu "sip:$user@$R" \
        --impi "$user@$R" --password "$user-secret" --algorithm MD5 "$@" \
        >"$E2E_RUN/$name.out" 2>&1
}
out() { cat "$E2E_RUN/$1.out" 2>/dev/null; }

register_req() {   # CALL-ID TRANSPORT SENT-BY: a REGISTER for alice as a P-CSCF forwards it
    printf 'REGISTER sip:%s SIP/2.0\n' "$R"
    printf 'Via: SIP/2.0/%s %s;branch=z9hG4bK-%s;rport\n' "$2" "$3" "$1"
    printf 'Via: SIP/2.0/UDP 127.0.0.150:5070;branch=z9hG4bK-ue-%s\n' "$1"
    printf 'Max-Forwards: 69\nFrom: <sip:alice@%s>;tag=%s\nTo: <sip:alice@%s>\n' "$R" "$1" "$R"
    printf 'Call-ID: %s@mw-attack\nCSeq: 1 REGISTER\nContact: <sip:alice@127.0.0.150:5070>\n' "$1"
    printf 'Expires: 600\nPath: <sip:term@127.0.0.10:5060;lr>\n'
    printf 'Require: path\nSupported: path\nP-Visited-Network-ID: %s\n' "$R"
    printf 'P-Charging-Vector: icid-value=%s\n' "$1"
    printf 'Authorization: Digest username="alice@%s", realm="%s", uri="sip:%s", nonce="", response=""\n' \
        "$R" "$R" "$R"
    printf '\n'
}
orig_invite() {   # CALL-ID TRANSPORT SENT-BY: an INVITE of alice as the P-CSCF sends it (;orig)
    printf 'INVITE sip:bob@%s SIP/2.0\n' "$R"
    printf 'Via: SIP/2.0/%s %s;branch=z9hG4bK-%s;rport\n' "$2" "$3" "$1"
    printf 'Route: <%s;lr;orig>\n' "sip:127.0.0.30:5061;transport=tls"
    printf 'Max-Forwards: 69\nFrom: <sip:alice@%s>;tag=%s\nTo: <sip:bob@%s>\n' "$R" "$1" "$R"
    printf 'Call-ID: %s@mw-attack\nCSeq: 1 INVITE\nContact: <sip:alice@127.0.0.150:5070>\n' "$1"
    printf 'P-Asserted-Identity: <sip:alice@%s>\n\n' "$R"
}
# attack NAME FROM TO ARGS...: the request on stdin, sipsend's output in ATTACK_OUT
attack() {
    local name=$1 from=$2 to=$3
    shift 3
    timeout 20 "$SEND" "$@" --from "$from" --to "$to" --wait 4000 - >"$E2E_RUN/$name.out" 2>&1
    ATTACK_OUT=$(tr -d '\r' <"$E2E_RUN/$name.out")
}
final_of() { printf '%s\n' "$ATTACK_OUT" | grep '^SIP/2.0 [2-6]' | tail -n 1; }
status_of() { final_of | awk '{print $2}'; }

cap_start mw_tls
step "the lab with TLS on Mw (I-CSCF and S-CSCF: mutual TLS, each other and the P-CSCF trusted over it)"
check "deploy/lab.sh start" lab_start
check_match "the I-CSCF listens on 5061 with mutual TLS" \
    'listening on 127\.0\.0\.20:5061/tls \(mutual TLS' "$(cat "$E2E_RUN/icscf/icscf.log")"
check_match "the S-CSCF names itself by its TLS URI (Service-Route)" \
    'Service-Route <sip:127\.0\.0\.30:5061;transport=tls;lr;orig>' \
    "$(cat "$E2E_RUN/scscf/scscf.log")"

step "registrations and a MESSAGE through P-CSCF -> I-CSCF -> S-CSCF over TLS"
check "bob registers" ue reg-bob bob 127.0.0.141:5402
ue msg-alice alice 127.0.0.140:5401 --stay 3000 --message "sip:bob@$R" &
ue_pid=$!
ue stay-bob bob 127.0.0.141:5402 --stay 6000
wait $ue_pid
check_match "alice registers and her MESSAGE to bob is answered 200" '^message: 200' \
    "$(out msg-alice)"
check_match "... bob's UE got it" '^request MESSAGE via' "$(out stay-bob)"

step "the attacker at the I-CSCF and the S-CSCF"
# a control first: the P-CSCF's certificate from the P-CSCF's address is trusted
register_req ctl TLS 127.0.0.10:5061 | attack ctl 127.0.0.10:0 127.0.0.20:5061 --tls --cert "$PKI/pcscf.crt" \
    --key "$PKI/pcscf.key" --ca "$PKI/ca.crt"
check_eq "control: REGISTER over TLS with the P-CSCF's certificate from its address: 401" \
    401 "$(status_of)"

register_req u1 UDP 127.0.0.10:5998 | attack u1 127.0.0.10:5998 127.0.0.20:5060
check_eq "REGISTER over UDP from the P-CSCF's address (its address alone): 403" 403 \
    "$(status_of)"
check_match "... with a Warning" '^Warning: 399 127\.0\.0\.20 .*not a trusted peer' \
    "$ATTACK_OUT"
orig_invite u2 UDP 127.0.0.10:5998 | attack u2 127.0.0.10:5998 127.0.0.30:5060
check_eq "INVITE ;orig over UDP to the S-CSCF from the P-CSCF's address: 403" 403 \
    "$(status_of)"

register_req t1 TLS 127.0.0.10:5061 | attack t1 127.0.0.10:0 127.0.0.20:5061 --tls --ca "$PKI/ca.crt"
check_match "REGISTER over TLS without a certificate: the I-CSCF ends the handshake" \
    '^tls: (handshake failed|closed by the peer)' "$ATTACK_OUT"
check_eq "... and no SIP answer" "" "$(final_of)"
orig_invite t2 TLS 127.0.0.10:5061 | attack t2 127.0.0.10:0 127.0.0.30:5061 --tls --ca "$PKI/ca.crt"
check_match "INVITE ;orig over TLS without a certificate: the S-CSCF ends the handshake" \
    '^tls: (handshake failed|closed by the peer)' "$ATTACK_OUT"
check_eq "... and no SIP answer" "" "$(final_of)"

IMS_PKI_CA_NAME="not the lab CA" "$E2E_ROOT/deploy/pki.sh" "$EVIL_PKI" pcscf >/dev/null
register_req t3 TLS 127.0.0.10:5061 | attack t3 127.0.0.10:0 127.0.0.20:5061 --tls --cert "$EVIL_PKI/pcscf.crt" \
    --key "$EVIL_PKI/pcscf.key"
check_match "REGISTER over TLS with a 'pcscf' certificate of another CA: handshake ended" \
    '^tls: (handshake failed|closed by the peer)' "$ATTACK_OUT"
check_eq "... and no SIP answer" "" "$(final_of)"
orig_invite t4 TLS 127.0.0.10:5061 | attack t4 127.0.0.10:0 127.0.0.30:5061 --tls \
    --cert "$EVIL_PKI/pcscf.crt" --key "$EVIL_PKI/pcscf.key"
check_match "INVITE ;orig to the S-CSCF with that certificate: handshake ended" \
    '^tls: (handshake failed|closed by the peer)' "$ATTACK_OUT"
check_eq "... and no SIP answer" "" "$(final_of)"

# the test AS's certificate is the lab CA's, but 127.0.0.150 is a UE's address
register_req t5 TLS 127.0.0.150:5061 | attack t5 127.0.0.150:0 127.0.0.20:5061 --tls --cert "$PKI/as.crt" \
    --key "$PKI/as.key" --ca "$PKI/ca.crt"
check_eq "REGISTER over TLS with a lab certificate from a UE's address: 403" 403 \
    "$(status_of)"
orig_invite t6 TLS 127.0.0.150:5061 | attack t6 127.0.0.150:0 127.0.0.30:5061 --tls --cert "$PKI/as.crt" \
    --key "$PKI/as.key" --ca "$PKI/ca.crt"
check_eq "INVITE ;orig over TLS with a lab certificate from a UE's address: 403" 403 \
    "$(status_of)"

step "the capture"
check "tshark writes out the capture" cap_stop
n() { cap_count "$E2E_CAP_FILE" "$1"; }
check_eq "no plain SIP request from the P-CSCF to the I- and S-CSCF (but the attacker's, port 5998)" \
    0 "$(n 'sip.Method && !tls && ip.src == 127.0.0.10 && udp.srcport != 5998 && (ip.dst == 127.0.0.20 || ip.dst == 127.0.0.30)')"
check_eq "no plain SIP between the I- and S-CSCF (scscf.icscf is a TLS URI too)" 0 \
    "$(n 'sip && !tls && ((ip.src == 127.0.0.20 && ip.dst == 127.0.0.30) || (ip.src == 127.0.0.30 && ip.dst == 127.0.0.20))')"
reg_tls=$(n 'tcp.dstport == 5061 && ip.dst == 127.0.0.30 && ip.src == 127.0.0.20 && sip.Method == "REGISTER"')
check "REGISTERs I-CSCF -> S-CSCF decoded from TLS ($reg_tls)" test "$reg_tls" -ge 2
reg_p=$(n 'tcp.dstport == 5061 && ip.dst == 127.0.0.20 && ip.src == 127.0.0.10 && sip.Method == "REGISTER"')
check "REGISTERs P-CSCF -> I-CSCF decoded from TLS ($reg_p)" test "$reg_p" -ge 2
msg_tls=$(n 'tcp.dstport == 5061 && ip.dst == 127.0.0.30 && ip.src == 127.0.0.10 && sip.Method == "MESSAGE"')
check "alice's MESSAGE P-CSCF -> S-CSCF (Service-Route) decoded from TLS ($msg_tls)" \
    test "$msg_tls" -ge 1
msg_ic=$(n 'tcp.dstport == 5061 && ip.src == 127.0.0.30 && ip.dst == 127.0.0.20 && sip.Method == "MESSAGE"')
check "... and on to the I-CSCF of bob's network (scscf.icscf) over TLS ($msg_ic)" \
    test "$msg_ic" -ge 1
check_eq "the CSCFs' own Vias over TLS name their TLS port, not 5060" 0 \
    "$(n 'sip.Via matches "SIP/2.0/TLS 127\\.0\\.0\\.(10|20|30):5060"')"
cr=$(n 'tcp.srcport == 5061 && ip.src == 127.0.0.30 && tls.handshake.type == 13')
check "the S-CSCF asks its clients for a certificate (CertificateRequest: $cr)" test "$cr" -ge 1
check_eq "no malformed packet, no expert error" "" "$(cap_problems "$E2E_CAP_FILE")"

step "the end"
check "deploy/lab.sh stop" lab_stop
e2e_finish
