#!/usr/bin/env bash
# tests/e2e/test_mgcf_wire.sh - what the MGCF's codecs put on the wire, dissected by tshark.
#
# build/bin/mgcf_wire writes two captures: M3UA over TCP port 2905 (an ASP and an SGP state
# machine coming up, ISUP of a group reset, an outgoing and an incoming call, blocking and a
# circuit reset, heartbeats, an ERR, ASP Down) and H.248.1 text over UDP port 2944 (a
# gateway's registration, an audit, a call's Add, Pending, Modify, Notify, Subtract with
# statistics, an error, response acks) and SIP-I over UDP 5060 (INVITE with SDP and IAM, 180
# with ACM, 200 with SDP and ANM, BYE with REL, in multipart/mixed). tshark must dissect every message as its protocol
# (M3UA over TCP through tests/lib/m3ua_tcp.lua, Wireshark registering M3UA on SCTP only)
# with no malformed field and no expert item above Note, and decode the fields written.
#
# No lab is started. Needs `make` first (build/bin/mgcf_wire) and tshark.
set -u

# shellcheck source=tests/lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init mgcf_wire
e2e_require tshark

LUA="-X lua_script:$E2E_ROOT/tests/lib/m3ua_tcp.lua"
M3UA=$E2E_RUN/m3ua.pcap
MEGACO=$E2E_RUN/megaco.pcap
SIPI=$E2E_RUN/sipi.pcap

problems() {   # $1 capture, then tshark options: packets malformed or with an expert item
    local f=$1      # above Note (Wireshark's own notes on ISUP and TCP are not problems)
    shift
    # shellcheck disable=SC2086
    tshark -r "$f" "$@" -Y '_ws.malformed || _ws.expert.severity > note' 2>/dev/null
}

fields() {   # $1 capture, $2 display filter, $3... fields: one line per packet
    local f=$1 filter=$2
    shift 2
    local args=()
    for x in "$@"; do
        args+=(-e "$x")
    done
    # shellcheck disable=SC2086
    tshark -r "$f" $LUA -Y "$filter" -T fields -E separator=' ' "${args[@]}" 2>/dev/null
}

step "the captures are written"
check "mgcf_wire writes m3ua.pcap, megaco.pcap and sipi.pcap" "$E2E_BIN/mgcf_wire" "$E2E_RUN"

step "M3UA over TCP with ISUP"
# shellcheck disable=SC2086
check_eq "no malformed packet, no expert item above Note" "" "$(problems "$M3UA" $LUA)"
# class/type: ASPSM 3 (1 ASPUP, 4 ASPUP_ACK, 3 BEAT, 6 BEAT_ACK, 2 ASPDN, 5 ASPDN_ACK), ASPTM 4
# (1 ASPAC, 3 ASPAC_ACK), MGMT 0 (1 NTFY, 0 ERR), Transfer 1 (1 DATA)
check_eq "M3UA messages in order" \
    "3/1 3/4 0/1 4/1 4/3 0/1$(printf ' 1/1%.0s' {1..18}) 3/3 3/6 4/3 0/0 3/2 3/5" \
    "$(fields "$M3UA" m3ua m3ua.message_class m3ua.message_type | tr ' ' '/' | tr '\n' ' ' |
       sed 's/ $//')"
check_eq "every DATA is ISUP (SI 5)" 18 "$(fields "$M3UA" 'm3ua && isup' frame.number | wc -l)"
check_eq "ISUP message types in order" \
    "23 41 1 6 44 9 12 16 1 7 12 16 19 21 20 22 18 16" \
    "$(fields "$M3UA" isup isup.message_type | tr '\n' ' ' | sed 's/ $//')"
check_eq "the IAM's numbers" "19995550123 15550100001" \
    "$(fields "$M3UA" 'isup.message_type == 1 && isup.cic == 5' isup.called isup.calling)"
check_eq "the incoming IAM's calling number is restricted" "1" \
    "$(fields "$M3UA" 'isup.message_type == 1 && isup.cic == 6' \
        isup.address_presentation_restricted_indicator)"
check_eq "REL causes (16 then 17)" "16 17" \
    "$(fields "$M3UA" 'isup.message_type == 12' isup.cause_indicator | tr '\n' ' ' | sed 's/ $//')"
check_eq "Protocol Data OPC and DPC of the MGCF's DATA" "1001 2002" \
    "$(fields "$M3UA" 'isup.message_type == 23' m3ua.protocol_data_opc m3ua.protocol_data_dpc)"
check_eq "the ERR says unexpected message" "6" \
    "$(fields "$M3UA" 'm3ua.message_type == 0' m3ua.error_code)"

step "H.248.1 text over UDP"
check_eq "no malformed packet, no expert item" "" \
    "$(tshark -r "$MEGACO" -Y '_ws.malformed || _ws.expert' 2>/dev/null)"
check_eq "17 messages dissected as MEGACO" 17 "$(tshark -r "$MEGACO" -Y megaco 2>/dev/null | wc -l)"
check_eq "transaction IDs" "1 1 2 2 3 3 3 4 4 5 5 6 6 7 7 6 8" \
    "$(tshark -r "$MEGACO" -Y megaco -T fields -e megaco.transid 2>/dev/null | tr '\n' ' ' |
       sed 's/ $//')"
check_eq "the SDP of the Add, the reply and the Modify are read" 4 \
    "$(tshark -r "$MEGACO" -Y sdp -T fields -e sdp.version 2>/dev/null | tr ',' '\n' | wc -l)"
check_match "the Subtract reply carries the RTP statistics" 'rtp/ps=2050' \
    "$(tshark -r "$MEGACO" -V -Y 'megaco.transid == 6' 2>/dev/null)"
check_match "the error 430 is read" '430' \
    "$(tshark -r "$MEGACO" -Y 'megaco.transid == 7' -T fields -e megaco.error_code 2>/dev/null)"

step "SIP-I: ISUP in SIP bodies (application/ISUP, Q.1912.5 profile C)"
check_eq "no malformed packet, no expert item above Note" "" "$(problems "$SIPI")"
check_eq "each SIP message carries its ISUP message (IAM, ACM, ANM, REL)" "1 6 9 12" \
    "$(fields "$SIPI" 'sip && isup' isup.message_type | tr '\n' ' ' | sed 's/ $//')"
check_eq "the INVITE's and the 200's SDP beside it" 2 "$(fields "$SIPI" 'sip && sdp' frame.number | wc -l)"
check_eq "the IAM's numbers and hop counter" "15550100001 19995550123 20" \
    "$(fields "$SIPI" 'isup.message_type == 1' isup.called isup.calling isup.hop_counter)"
check_eq "the REL's cause and location" "16 4" \
    "$(fields "$SIPI" 'isup.message_type == 12' isup.cause_indicator q931.cause_location)"
check_eq "Content-Disposition of the ISUP parts" \
    "signal;handling=optional signal;handling=optional signal;handling=optional signal;handling=required" \
    "$(tshark -r "$SIPI" -V 2>/dev/null | sed -n 's/^ *Content-Disposition: \([^\\]*\).*/\1/p' |
       tr '\n' ' ' | sed 's/ $//')"

e2e_finish
