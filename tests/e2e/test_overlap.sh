#!/usr/bin/env bash
# tests/e2e/test_overlap.sh - overlap signalling from the PSTN at the MGCF (issue 14; TS
# 29.163 7.2.3.2.1, ITU-T Q.764 2.1.2): the lab's PSTN switch (tests/tools/pstn) calls alice
# in overlap, an IAM with part of her number then SAMs; the MGCF collects the digits and
# sends one INVITE (en bloc) to the I-CSCF once the number is complete.
#
# The MGCF runs with mgcf.overlap on, 11 to 15 digits, T35 3 s and the digit timer 1.5 s.
# Checked: the overlap keys refused at start when they do not fit together; a call whose
# last SAM ends in ST rings alice at once after that SAM; one without ST (11 digits, short of
# the 15 that would complete it) after the digit timer; a number left at 6 digits released
# by T35 with cause 28 and no INVITE; the PSTN's REL while dialling (RLC, T35 stopped); an
# IAM en bloc (11 digits) still rings alice; a capture in which tshark dissects the SAMs
# (ISUP type 2, subsequent number) with no malformed field.
set -u
. "$(dirname "$0")/../lib/e2e.sh"
e2e_init overlap
e2e_require sipp tshark timeout

R=$E2E_REALM
SCEN=$E2E_ROOT/tests/e2e/scenarios
LUA=(-X "lua_script:$E2E_ROOT/tests/lib/m3ua_tcp.lua")
PCSCF=127.0.0.10:5060
ALICE=(127.0.0.160 5601)
ALICE_RTP=16000
MGCF_LOG=$E2E_RUN/mgcf/mgcf.log

export IMS_MGCF_OVERLAP=yes
export IMS_MGCF_OVERLAP_MIN_DIGITS=11
export IMS_MGCF_OVERLAP_MAX_DIGITS=15
export IMS_MGCF_T35_MS=3000           # Q.764: 15 to 20 s
export IMS_MGCF_OVERLAP_DIGIT_MS=1500
E2E_CAP_FILTER='net 127.0.0.0/24 and (port 5060 or port 2905)'

for b in pstn mgw mgcf; do
    if [ ! -x "$E2E_BIN/$b" ]; then
        fail "binaries built: $E2E_BIN/$b missing" "run: make"
        e2e_finish
    fi
done

sipp_ue() {   # NAME SCENARIO ARGS... : one sipp run as alice, logs in the run folder
    local name=$1 scen=$2
    shift 2
    (cd "$E2E_RUN" && timeout 60 sipp -sf "$SCEN/$scen" -m 1 -nostdin -i "${ALICE[0]}" \
        -p "${ALICE[1]}" -mp "$ALICE_RTP" -timeout 50s -timeout_error -key domain "$R" \
        -trace_err -error_file "$name.err" -trace_logs -log_file "$name.log" \
        -trace_msg -message_file "$name.msg" "$@" >"$name.out" 2>&1)
}
logline() { cat "$E2E_RUN/$1.log" 2>/dev/null; }
ms_of() {   # the log line's time (ts=...T12:34:56.789...) in ms of the day
    sed -n 's/.*T\([0-9][0-9]\):\([0-9][0-9]\):\([0-9][0-9]\)\.\([0-9][0-9][0-9]\).*/\1 \2 \3 \4/p' |
        head -n 1 | awk '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'
}
# dial NAME CALLED: a PSTN switch (the previous one stopped) dials CALLED (IAM/SAM/...[F])
dial() {
    pstn_restart "$E2E_RUN/pstn-$1.out" --originate-delay 1500 --sam-ms 400 \
        --originate "$2,19995550123,1000"
}
# overlap_call NAME CALLED: alice's UE waits, the PSTN switch dials CALLED
overlap_call() {
    local uas
    sipp_ue "$1" call_uas.xml &
    uas=$!
    sleep 0.5
    dial "$1" "$2"
    wait "$uas"
}

step "configuration: the overlap keys are checked at start, together"
CONF=$E2E_ROOT/deploy/lab/mgcf.conf
mkdir -p "$E2E_RUN/badconf"
refused() {   # ENV...: the MGCF started with the lab's file and ENV; its error lines, exit status
    env "$@" IMS_DIAMETER_TLS=no IMS_NODE_STATE_DIR="$E2E_RUN/badconf" \
        timeout 10 "$E2E_BIN/mgcf" --config "$CONF" >"$E2E_RUN/badconf/out" 2>&1
    echo "exit $?"
    sed -n 's/.*level=error daemon=mgcf msg="\(.*\)"$/\1/p; s/^\(mgcf: configuration error: .*\)/\1/p' \
        "$E2E_RUN/badconf/out"
}
check_match "overlap_min_digits above overlap_max_digits: the MGCF stops, naming both" \
    "^exit 1 $CONF: mgcf.overlap_min_digits \(12\) is more than mgcf.overlap_max_digits \(11\) " \
    "$(refused IMS_MGCF_OVERLAP_MIN_DIGITS=12 IMS_MGCF_OVERLAP_MAX_DIGITS=11 | tr '\n' ' ')"
check_match "overlap_digit_ms not below t35_ms: the MGCF stops, naming both" \
    "^exit 1 $CONF: mgcf.overlap_digit_ms \(3000\) must be shorter than mgcf.t35_ms \(3000\) " \
    "$(refused IMS_MGCF_OVERLAP_DIGIT_MS=3000 | tr '\n' ' ')"
check_match "t35_ms below 1 s: refused as out of range" \
    "^exit 2 .*mgcf.t35_ms: 500 is out of range 1000..60000" \
    "$(refused IMS_MGCF_T35_MS=500 | tr '\n' ' ')"

cap_start overlap
step "the lab, the MGCF with overlap signalling on"
check "deploy/lab.sh start" lab_start
check "the MGCF's association is active and the MGW in service" \
    log_wait_for "$MGCF_LOG" 0 "MGW 127\.0\.0\.101:2944 in service" 30
check_match "the MGCF logged its overlap settings" \
    'overlap signalling from the PSTN: 11 to 15 digits, T35 3000 ms, digit timer 1500 ms' \
    "$(cat "$MGCF_LOG")"
register() {
    local try
    for try in 1 2; do
        sipp_ue reg-alice reg_digest.xml -s alice -au "alice@$R" -auth_uri "$R" -ap alice-secret \
            -key impi "alice@$R" -key expires 600 "$PCSCF" && return 0
        sleep 1
    done
    return 1
}
check "alice registers (Digest)" register

# ---------------------------------------------------------------------------------------------
step "overlap with ST: IAM 1555, SAM 0100, SAM 001 + ST"
l=$(log_mark "$MGCF_LOG")
check "alice's UE: INVITE, 180, 200, ACK, then the PSTN's BYE" overlap_call ov1 1555/0100/001F
check_match "the INVITE reached alice for her whole number" 'called= *<tel:\+15550100001>' \
    "$(logline ov1)"
out=$(tr '\n' ' ' <"$E2E_RUN/pstn-ov1.out")
check_match "the PSTN switch: IAM, two SAMs, then ACM, ANM" \
    'tx IAM cic=[0-9]+ called=1555 .*tx SAM cic=[0-9]+ digits=0100 .*tx SAM cic=[0-9]+ digits=001F .*rx ACM .*rx ANM' \
    "$out"
ov=$(log_since "$MGCF_LOG" "$l")
check_match "the MGCF: the number incomplete at the IAM, T35 running" \
    "called number '1555' incomplete \(fewer than overlap_min_digits\): a SAM awaited \(T35\)" "$ov"
check_match "... complete with the ST, then the INVITE to the I-CSCF" \
    'called number 15550100001 complete \(ST\).*INVITE tel:\+15550100001 from <tel:\+19995550123> sent to sip:icscf' \
    "$(tr '\n' ' ' <<<"$ov")"
t_sam=$(grep 'rx ISUP SAM 001F' <<<"$ov" | ms_of)
t_inv=$(grep 'INVITE tel:+15550100001 from' <<<"$ov" | ms_of)
check "... the INVITE within 1 s of the last SAM (no digit timer: ST)" \
    test -n "$t_sam" -a -n "$t_inv" -a "$((t_inv - t_sam))" -ge 0 -a "$((t_inv - t_sam))" -lt 1000

# ---------------------------------------------------------------------------------------------
step "overlap without ST: IAM 15, SAM 5501, SAM 00001 (11 digits of at most 15)"
l=$(log_mark "$MGCF_LOG")
check "alice's UE: INVITE, 180, 200, ACK, then the PSTN's BYE" overlap_call ov2 15/5501/00001
check_match "the INVITE reached alice for her whole number" 'called= *<tel:\+15550100001>' \
    "$(logline ov2)"
ov=$(log_since "$MGCF_LOG" "$l")
check_match "the MGCF: 11 digits, no ST: the digit timer, then the number as it is" \
    "called number '15550100001' incomplete \(no ST\): a SAM awaited \(Tdigits\).*no SAM within the digit timer: the called number 15550100001 goes as it is.*INVITE tel:\+15550100001 from" \
    "$(tr '\n' ' ' <<<"$ov")"
t_sam=$(grep 'rx ISUP SAM 00001' <<<"$ov" | ms_of)
t_inv=$(grep 'INVITE tel:+15550100001 from' <<<"$ov" | ms_of)
check "... the INVITE 1.5 s (the digit timer) after the last SAM" \
    test -n "$t_sam" -a -n "$t_inv" -a "$((t_inv - t_sam))" -ge 1400 -a "$((t_inv - t_sam))" -lt 3000

# ---------------------------------------------------------------------------------------------
step "an incomplete number: IAM 1555, SAM 01, then nothing: T35, REL cause 28"
l=$(log_mark "$MGCF_LOG")
dial ov3 1555/01
check "the PSTN switch: REL with cause 28 (invalid number format), RLC sent" \
    log_wait_for "$E2E_RUN/pstn-ov3.out" 0 '^rx REL cic=[0-9]+ cause=28 ' 15
check_match "... after the IAM and the SAM" \
    'tx IAM cic=[0-9]+ called=1555 .*tx SAM cic=[0-9]+ digits=01 .*rx REL .*tx RLC' \
    "$(tr '\n' ' ' <"$E2E_RUN/pstn-ov3.out")"
ov=$(log_since "$MGCF_LOG" "$l")
check_match "the MGCF: T35 expired with 155501, released with cause 28" \
    "T35 expired, the called number '155501' incomplete: released \(cause 28" "$ov"
check_eq "... and no INVITE for it" "" "$(grep 'INVITE tel:+155501 ' <<<"$ov")"
t_sam=$(grep 'rx ISUP SAM 01:' <<<"$ov" | ms_of)
t_rel=$(grep 'T35 expired' <<<"$ov" | ms_of)
check "... 3 s (T35) after the SAM" \
    test -n "$t_sam" -a -n "$t_rel" -a "$((t_rel - t_sam))" -ge 2900 -a "$((t_rel - t_sam))" -lt 5000

# ---------------------------------------------------------------------------------------------
step "the PSTN gives up while dialling: IAM 1555, SAM 01, then its REL"
l=$(log_mark "$MGCF_LOG")
dial ov5 1555/01/R
check "the PSTN switch: its REL (cause 16) answered RLC" \
    log_wait_for "$E2E_RUN/pstn-ov5.out" 0 '^rx RLC cic=' 15
sleep 3.5                             # T35 (3 s from the SAM) would have run out by now
ov=$(log_since "$MGCF_LOG" "$l")
check_match "the MGCF: the REL during the collection answered RLC" \
    'rx ISUP SAM 01: .*rx ISUP REL cause=16 .*tx ISUP RLC' "$(tr '\n' ' ' <<<"$ov")"
check_eq "... no INVITE and no T35 expiry for that call" "" \
    "$(grep -E 'INVITE tel:|T35 expired' <<<"$ov")"

# ---------------------------------------------------------------------------------------------
step "en bloc still works: an IAM with all 11 digits"
l=$(log_mark "$MGCF_LOG")
check "alice's UE: INVITE, 180, 200, ACK, then the PSTN's BYE" overlap_call ov4 15550100001
check_match "the INVITE reached alice" 'called= *<tel:\+15550100001>' "$(logline ov4)"
kill "$PSTN_PID" 2>/dev/null
wait "$PSTN_PID" 2>/dev/null

# ---------------------------------------------------------------------------------------------
step "the wire"
cap_stop
cap=$E2E_CAP_FILE
check_eq "no malformed packet, no expert error (SIP, ISUP over M3UA)" "" \
    "$(cap_tshark "$cap" "${LUA[@]}" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null)"
sams=$(cap_tshark "$cap" "${LUA[@]}" -Y 'isup.message_type == 2' -T fields \
    -e isup.subsequent_number 2>/dev/null | tr '\n' ' ')
check_eq "tshark dissects 6 SAMs (ISUP message type 2)" 6 \
    "$(cap_tshark "$cap" "${LUA[@]}" -Y 'isup.message_type == 2' 2>/dev/null | wc -l)"
check_eq "... with their subsequent numbers, the ST as F (isup.subsequent_number)" \
    "0100 001F 5501 00001 01 01 " "$sams"

lab_stop
e2e_finish
