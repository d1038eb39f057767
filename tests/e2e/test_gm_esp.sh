#!/usr/bin/env bash
# tests/e2e/test_gm_esp.sh - the ESP data path of the P-CSCF's IPsec code (pcscf/ipsec.c,
# through tests/tools/xfrm): two network namespaces, "ue" (10.99.0.160) and "pcscf"
# (10.99.0.10), joined by a veth pair; the four transport-mode SAs and policies of TS 33.203
# 7.1 installed on both sides with the P-CSCF's own netlink messages (UE port_uc 5160 ->
# P-CSCF port_ps 5063, P-CSCF port_pc 5062 -> UE port_us 5161, and the way back of each),
# hmac-sha-1-96 with aes-cbc; then UDP datagrams both ways: they arrive, and on the wire
# there is ESP only, no UDP of those ports. The SAs are removed at the end.
#
# Then sec-agree end to end: a P-CSCF (pcscf.ipsec = required) in the "pcscf" namespace on
# 10.99.0.10, its I-CSCF a stand-in of the home network (a small UDP responder on
# 10.99.0.10:5070 that challenges with the AKA vector of TS 35.208 test set 1, ck and ik in
# the WWW-Authenticate, and accepts the answer); a UE (tests/tools/ue --ipsec) in the "ue"
# namespace with that set's K and OPc (alice's): its 401 carries the P-CSCF's
# Security-Server, both sides install their SAs, the protected REGISTER goes from the UE's
# port-c to the P-CSCF's port-s (5063) and is accepted; a MESSAGE of the stand-in reaches
# the UE from the P-CSCF's port-c (5062) at the UE's port-s; on the wire ESP only after the
# 401; after the UE's de-registration the P-CSCF's SAs are gone.
#
# That second part was written where the kernel has no ESP: it has never run (PEERS.md).
#
# Runs only where the kernel has ESP: on this lab's machines (no ESP, PEERS.md) it says so
# and is skipped.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init gm_esp
e2e_require ip python3 tshark

XFRM=$E2E_BIN/xfrm
check "the xfrm tool is built" test -x "$XFRM"
state=$("$XFRM" probe 2>&1)
rc=$?
log "the P-CSCF's ESP probe: $state"
[ $rc -eq 3 ] && e2e_skip "the kernel cannot carry ESP here: $state"
[ $rc -eq 0 ] || { fail "the ESP probe ran" "$state"; e2e_finish; }

UE=10.99.0.160
PC=10.99.0.10
NS_UE=esp-ue-$$
NS_PC=esp-pc-$$
IK=0102030405060708090a0b0c0d0e0f10
CK=000102030405060708090a0b0c0d0e0f
ns() { ip netns exec "$@"; }
e2e_at_cleanup "ip netns del $NS_UE 2>/dev/null; ip netns del $NS_PC 2>/dev/null"
check "two namespaces joined by a veth pair" bash -c "
    ip netns add $NS_UE && ip netns add $NS_PC &&
    ip link add esp-ue type veth peer name esp-pc &&
    ip link set esp-ue netns $NS_UE && ip link set esp-pc netns $NS_PC &&
    ip -n $NS_UE addr add $UE/24 dev esp-ue && ip -n $NS_PC addr add $PC/24 dev esp-pc &&
    ip -n $NS_UE link set esp-ue up && ip -n $NS_PC link set esp-pc up &&
    ip -n $NS_UE link set lo up && ip -n $NS_PC link set lo up"

# the four SAs: SPIs of the P-CSCF 0x3001 (pc) 0x3002 (ps), of the UE 0x2001 (uc) 0x2002 (us)
sas() {   # $1 add|del: each SA on both sides, inbound on the receiver, outbound on the sender
    local op=$1 ok=0
    while read -r src dst spi rx; do
        local tx=$NS_UE rxns=$NS_PC
        [ "$rx" = ue ] && tx=$NS_PC rxns=$NS_UE
        ns "$tx" "$XFRM" "$op" "$src" "$dst" "$spi" out sha1 aes $IK $CK || ok=1
        ns "$rxns" "$XFRM" "$op" "$src" "$dst" "$spi" in sha1 aes $IK $CK || ok=1
    done <<SAS
$UE:5160 $PC:5063 0x3002 pc
$PC:5062 $UE:5161 0x2002 ue
$UE:5161 $PC:5062 0x3001 pc
$PC:5063 $UE:5160 0x2001 ue
SAS
    return $ok
}
check "the SAs and policies installed with the P-CSCF's netlink messages" sas add

echo_server() {   # $1 namespace $2 address $3 port: prints the first datagram received
    ns "$1" timeout 10 python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$2', $3))
data, peer = s.recvfrom(2048)
print(data.decode(), peer[0], peer[1])"
}
send() {   # $1 namespace $2 from-address $3 from-port $4 to-address $5 to-port $6 text
    ns "$1" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$2', $3))
s.sendto(b'$6', ('$4', $5))"
}

ns "$NS_PC" timeout 15 tshark -i esp-pc -w "$E2E_RUN/esp.pcapng" -q >"$E2E_RUN/tshark.log" 2>&1 &
TSHARK=$!
sleep 2
echo_server "$NS_PC" $PC 5063 >"$E2E_RUN/at-pcscf.out" &
SRV=$!
sleep 0.5
send "$NS_UE" $UE 5160 $PC 5063 "REGISTER-protected"
wait $SRV
check_eq "UE port_uc -> P-CSCF port_ps arrived through the SAs" \
    "REGISTER-protected $UE 5160" "$(cat "$E2E_RUN/at-pcscf.out")"
echo_server "$NS_UE" $UE 5161 >"$E2E_RUN/at-ue.out" &
SRV=$!
sleep 0.5
send "$NS_PC" $PC 5062 $UE 5161 "INVITE-protected"
wait $SRV
check_eq "P-CSCF port_pc -> UE port_us arrived through the SAs" \
    "INVITE-protected $PC 5062" "$(cat "$E2E_RUN/at-ue.out")"
sleep 1
kill -INT $TSHARK 2>/dev/null
wait $TSHARK
check_match "ESP on the wire" '^[1-9]' \
    "$(tshark -r "$E2E_RUN/esp.pcapng" -Y esp 2>/dev/null | wc -l)"
check_eq "no UDP of the protected ports in the clear" 0 \
    "$(tshark -r "$E2E_RUN/esp.pcapng" -Y 'udp.port in {5160 5161 5062 5063}' 2>/dev/null | wc -l)"
check "the SAs and policies removed" sas del
check_eq "no SA left in the P-CSCF's namespace" "" "$(ip -n "$NS_PC" xfrm state)"

# ---- sec-agree through the P-CSCF (pcscf/sas.c) ----
step "sec-agree: a UE registers over the P-CSCF's protected ports"
mkdir -p "$E2E_RUN/pcscf"
cat >"$E2E_RUN/pcscf/pcscf.conf" <<CONF
[node]
name = pcscf.$E2E_REALM
address = $PC
domain = $E2E_REALM
state_dir = $E2E_RUN/pcscf

[log]
level = debug
file = $E2E_RUN/pcscf/pcscf.log

[sip]
transports = udp
trusted_peers = $PC

[pcscf]
icscf = sip:$PC:5070
reg_subscribe_expires = 0
ipsec = required
ipsec_port_c = 5062
ipsec_port_s = 5063
CONF
ns "$NS_PC" python3 "$E2E_ROOT/tests/e2e/scenarios/esp_core.py" $PC "$E2E_REALM" \
    >"$E2E_RUN/core.out" 2>&1 &
CORE=$!
ns "$NS_PC" "$E2E_BIN/pcscf" --config "$E2E_RUN/pcscf/pcscf.conf" \
    --pidfile "$E2E_RUN/pcscf/pcscf.pid" >"$E2E_RUN/pcscf/pcscf.out" 2>&1 </dev/null &
PCSCF=$!
e2e_at_cleanup "kill $PCSCF $CORE 2>/dev/null"
listening() {   # $1 port: some UDP socket of the P-CSCF's namespace is bound to it
    ip netns exec "$NS_PC" ss -Hlun "sport = :$1" | grep -q .
}
for _ in $(seq 75); do   # python can take seconds to start on a loaded machine
    listening 5070 && listening 5063 && break
    sleep 0.2
done
check "the stand-in of the home network listens" listening 5070
check "the P-CSCF started with pcscf.ipsec = required" kill -0 $PCSCF
check_match "it bound the protected ports" "protected client port 5062, server port 5063" \
    "$(cat "$E2E_RUN/pcscf/pcscf.log" "$E2E_RUN/pcscf/pcscf.out" 2>/dev/null)"
ns "$NS_PC" timeout 30 tshark -i esp-pc -w "$E2E_RUN/secagree.pcapng" -q \
    >"$E2E_RUN/tshark2.log" 2>&1 &
TSHARK=$!
sleep 2
# --bind: the UE's port-s 5180, its port-c 5181
ns "$NS_UE" timeout 25 "$E2E_BIN/ue" --proxy $PC:5060 --bind $UE:5180 \
    --impu "sip:alice@$E2E_REALM" --impi "alice@$E2E_REALM" \
    --k 465b5ce8b199b49faa5f0a2ee238a6bc --opc cd63cb71954a9f4e48a5994e37a02baf \
    --ipsec "$XFRM" --stay 4000 --unregister >"$E2E_RUN/ue.out" 2>&1
UE_RC=$?
wait $CORE
sleep 1
kill -INT $TSHARK 2>/dev/null
wait $TSHARK
UE_OUT=$(cat "$E2E_RUN/ue.out")
check_match "the 401 carried the P-CSCF's Security-Server" \
    '^security-server: ipsec-3gpp;.*port-c=5062;port-s=5063' "$UE_OUT"
check_eq "the UE installed its four SAs" 4 "$(grep -c '^ipsec: add .*: ok' "$E2E_RUN/ue.out")"
check_contains "the protected REGISTER was accepted" "got 200 OK" "$UE_OUT"
check_match "the MESSAGE reached the UE from the P-CSCF's port-c" \
    "^request MESSAGE source $PC:5062" "$UE_OUT"
check_contains "the core got the UE's 200 to its MESSAGE" "core: message 200 OK" \
    "$(cat "$E2E_RUN/core.out")"
check_eq "the UE registered and de-registered (exit status)" 0 "$UE_RC"
check_match "ESP on the wire" '^[1-9]' \
    "$(tshark -r "$E2E_RUN/secagree.pcapng" -Y esp 2>/dev/null | wc -l)"
# (the first REGISTER and its 401 go unprotected between the UE's 5180 and 5060)
check_eq "no SIP on the protected ports in the clear" 0 \
    "$(tshark -r "$E2E_RUN/secagree.pcapng" -Y 'udp.port in {5181 5062 5063}' \
        2>/dev/null | wc -l)"
sleep 2   # the P-CSCF removes the SAs when the de-REGISTER's transaction ends
check_eq "the P-CSCF removed its SAs after the de-registration" "" \
    "$(ip -n "$NS_PC" xfrm state)"
e2e_finish
