#!/usr/bin/env bash
# bench/soak.sh - registrations, re-registrations and calls at a steady rate for a long time:
# do the daemons' memory, file descriptors and transactions stay flat?
#
#   bench/soak.sh [-d SECONDS] [-i SECONDS] [-r REG_PER_S] [-c CALLS_PER_S] [-p PAUSE_MS]
#                 [-x EXPIRES] [-C CALLERS] [-e CALLEES] [-H HOLD_MS] [-S SETTLE_S]
#                 [-g MIB_PER_H] [-n]
#       -d  duration of the load (default 3600 s), -i  sampling interval (default 60 s)
#       -r  REGISTER procedures per second (default 100; 0: none): half of them are new
#           registrations, half their re-registrations PAUSE_MS (default 5000) later from
#           the same socket; the bindings expire EXPIRES (default 120) s after the last one
#       -c  calls per second (default 50; 0: none), CALLERS (4) sipps calling CALLEES (2000)
#           in turn, HOLD_MS (500) between the ACK and the BYE, charging on unless -n
#       -S  seconds between the end of the load and the last sample (default 40: sofia-sip's
#           transactions linger 32 s), -g  the growth of RSS per hour called GROWING (4 MiB)
#
# Give it half the load that the zero-failure rates bench/register.sh, bench/call.sh or
# bench/overload.sh measured on the same machine in the same session allow (machines and
# their load differ 2-3x: rates from elsewhere mean nothing). Both loads run at once and
# share the chain: half of each knee together is the whole of it, so with both give a
# quarter of each: e.g. bench/overload.sh -t call finds 100 calls/s, bench/overload.sh
# -t reg 200 registrations/s -> soak.sh -c 25 -r 50 (-r counts registrations and
# re-registrations together: register.sh's rate of one phase); with -c 0, -r 100.
#
# Registrations: one sipp (bench/scenarios/reg.xml, -t un: a UDP socket per UE, from
# 127.0.0.120) cycles through a pool of bulk users big enough that a user comes back only
# after its binding expired (REG/2 x (PAUSE + EXPIRES + 20 s) users): REGISTER -> 401 ->
# REGISTER -> 200, PAUSE_MS, the same again (the refresh); the binding then expires at the
# S-CSCF and the P-CSCF. Calls: as bench/call.sh (the callers and callees registered first,
# for the whole run; two answering sipps; INVITE, 180, 200, ACK, BYE through the chain).
#
# Every INTERVAL seconds, for each daemon (pcscf icscf scscf hss ocs): resident size (VmRSS),
# malloc's bytes in use (process_heap_inuse_bytes of /metrics), open file descriptors
# (/proc/PID/fd), SIP proxy transactions in flight (ims_sip_transactions_in_flight: those
# admission control bounds), Diameter requests in flight (ims_diameter_pending_requests,
# sent and not answered, plus ims_diameter_server_queue, received and waiting for a worker),
# the transactions sofia-sip holds (ims_sip_nta_server_transactions + client: those lingering
# after their end included; 0 for a build without these gauges; shown without a verdict:
# bindings expiring after the load make new ones) and
# with the load average, into run/bench-soak/soak.csv (one line per sample and daemon; phase
# "load" (the first before any load, 35 s after the callers' and callees' registrations,
# whose transactions linger 32 s), then "end" when the sipps are done and "settled"
# SETTLE_S later; each daemon's open files and /metrics at that point in
# run/bench-soak/<daemon>.fds, .metrics). Then
# run/bench-soak/soak.html: one plot per metric, a line per daemon (inline SVG drawn here:
# no network, no script), and a table per daemon: first sample (before the load), last
# (settled), max, and the slope of the second half of the load (least squares, per hour):
# the heap's taken with the transactions sofia-sip holds as a second variable (the heap
# follows them up and down with the load; what grows with time at the same transactions is
# the slope shown), RSS's less the growth of the heap's peak meanwhile (RSS keeps a peak).
# Verdict: RSS and heap are GROWING when that slope over the second half comes to more than
# 10 % of their value, or RSS's to more than MIB_PER_H per hour and more than 1 MiB in all
# (a short run extrapolates its slope to an hour: judge those slopes with care);
# transactions are FLAT only when the settled value is back at the first (the baseline), file descriptors when it
# is at most the first or what they were when the second half began (connections opened at
# their first use stay), otherwise NOT-BACK.
#
# Starts its own lab (run/bench-soak/lab, the lab configuration: admission control on, log
# level info unless BENCH_LOG_LEVEL says otherwise), in a network namespace of its own when
# it can (bench_netns). Needs sipp, jq, curl, ss, flock. Never run by make test or CI.
set -u
. "$(dirname "$0")/lib.sh"
bench_netns "$0" "$@"

DUR=3600
INTERVAL=60
REG=100
CALLS=50
PAUSE=5000
EXPIRES=120
CALLERS=4
CALLEES=2000
HOLD=500
SETTLE=40
GROW_MB=4
CHARGING=1
while getopts "d:i:r:c:p:x:C:e:H:S:g:nh" o; do
    case $o in
        d) DUR=$OPTARG ;;
        i) INTERVAL=$OPTARG ;;
        r) REG=$OPTARG ;;
        c) CALLS=$OPTARG ;;
        p) PAUSE=$OPTARG ;;
        x) EXPIRES=$OPTARG ;;
        C) CALLERS=$OPTARG ;;
        e) CALLEES=$OPTARG ;;
        H) HOLD=$OPTARG ;;
        S) SETTLE=$OPTARG ;;
        g) GROW_MB=$OPTARG ;;
        n) CHARGING=0 ;;
        *) sed -n '2,58p' "$0"; exit 2 ;;
    esac
done
for v in DUR INTERVAL REG CALLS PAUSE EXPIRES CALLERS CALLEES HOLD SETTLE GROW_MB; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: $v must be a whole number, not '${!v}'" >&2; exit 2; }
done
[ "$DUR" -ge 60 ] && [ "$INTERVAL" -ge 5 ] ||
    { echo "bench: at least 60 s of load (-d) and 5 s between samples (-i)" >&2; exit 2; }
[ "$EXPIRES" -ge 60 ] || { echo "bench: -x below the S-CSCF's min_expires (60)" >&2; exit 2; }
[ "$CALLERS" -ge 1 ] && [ "$CALLERS" -le 8 ] || { echo "bench: 1..8 callers" >&2; exit 2; }
[ "$REG" -gt 0 ] || [ "$CALLS" -gt 0 ] || { echo "bench: no load (-r 0 -c 0)" >&2; exit 2; }
bench_need "test" sipp jq curl ss flock
PCSCF=127.0.0.10:5060
FUNCS=(pcscf icscf scscf hss ocs)
declare -A ADDR=([pcscf]=127.0.0.10 [icscf]=127.0.0.20 [scscf]=127.0.0.30 [hss]=127.0.0.40
                 [ocs]=127.0.0.80)
PARTIES=0
[ "$CALLS" -gt 0 ] && PARTIES=$((CALLERS + CALLEES))
# a pool user comes back once its binding has expired (the registration sipp runs REG/2
# per second, each for PAUSE + EXPIRES seconds, 20 s to spare)
POOL=0
[ "$REG" -gt 0 ] && POOL=$(( (REG + 1) * (PAUSE / 1000 + EXPIRES + 20) / 2 ))
BULK=$((PARTIES + POOL))
# the registration sipp's UEs in flight at once (a socket each)
REG_OPEN=$(( (REG + 1) * (PAUSE / 1000 + 15) / 2 + 100 ))
PARTY_EXPIRES=$((DUR + SETTLE + 1800))

bench_init soak
bench_refuse_busy 127.0.0.10 127.0.0.20 127.0.0.30 127.0.0.40 127.0.0.80
CHG_TEXT=off
[ "$CHARGING" = 1 ] && CHG_TEXT=on
bench_log "soak: ${DUR}s of $REG REGISTER/s and $CALLS calls/s, a sample every ${INTERVAL}s," \
    "charging $CHG_TEXT, $BULK bulk users, load $(loadavg)"
[ -n "${BENCH_LOG_LEVEL:-}" ] && export IMS_LOG_LEVEL=$BENCH_LOG_LEVEL
export IMS_PCSCF_MAX_BINDINGS=$((BULK + REG_OPEN + 1000))
export IMS_PCSCF_MAX_BINDINGS_PER_SOURCE=0
# the callers and callees stay registered for the whole run
export IMS_SCSCF_MAX_EXPIRES=$PARTY_EXPIRES
[ "$CHARGING" = 0 ] && export IMS_CHARGING_CDF="" IMS_CHARGING_OCS=""
bench_lab_start "$BULK"
bench_log "lab started (run/bench-soak/lab)"
declare -A PIDS=()
for d in "${FUNCS[@]}"; do PIDS[$d]=$(pid_of_daemon $d); done

user() { bench_user "$1"; }

LOAD_PIDS=()
start_calls() {   # the callers: CALLS/CALLERS calls per second each, for DUR seconds
    local k m=$((CALLS * DUR / CALLERS)) dir
    for ((k = 0; k < CALLERS; k++)); do
        dir=$BENCH_RUN/calls/caller$k
        mkdir -p "$dir"
        (cd "$dir" && exec sipp -sf "$BENCH_SCEN/call_uac.xml" -t u1 -i "127.0.0.$((110 + k))" \
            -p 5070 -inf "$BENCH_RUN/targets-$k.csv" -key domain "$BENCH_REALM" \
            -key from "$(user $((k + 1)))" -r "$CALLS" -rp $((CALLERS * 1000)) -m "$m" \
            -l $((CALLS * 10 + 1000)) -d "$HOLD" -recv_timeout 10000 \
            -timeout $((DUR + 120))s -nostdin -trace_stat -fd "$INTERVAL" -stf stat.csv \
            -trace_err -error_file errors.log "$PCSCF" >sipp.out 2>&1) &
        LOAD_PIDS+=($!)
        bench_at_exit "kill $! 2>/dev/null"
    done
}

start_registrations() {   # the pool of UEs: REG/2 registrations per second, each refreshed
    local dir=$BENCH_RUN/registrations
    mkdir -p "$dir"
    { echo SEQUENTIAL; seq -f 'user%05g' $((PARTIES + 1)) "$BULK"; } >"$dir/users.csv"
    (cd "$dir" && exec sipp -sf "$BENCH_SCEN/reg.xml" -t un -i 127.0.0.120 -p 5070 \
        -inf users.csv -r "$REG" -rp 2000 -m $((REG * DUR / 2)) -l "$REG_OPEN" \
        -max_socket $((REG_OPEN + 100)) -d "$PAUSE" -key domain "$BENCH_REALM" \
        -key expires "$EXPIRES" -key alg ", algorithm=MD5" -auth_uri "$BENCH_REALM" \
        -recv_timeout 10000 -timeout $((DUR + 120))s -nostdin -trace_stat -fd "$INTERVAL" \
        -stf stat.csv -trace_err -error_file errors.log "$PCSCF" >sipp.out 2>&1) &
    LOAD_PIDS+=($!)
    bench_at_exit "kill $! 2>/dev/null"
}

CSV=$BENCH_RUN/soak.csv
sample() {   # SECONDS PHASE: one line per daemon into the CSV
    local d m load
    load=$(cut -d' ' -f1 /proc/loadavg)
    for d in "${FUNCS[@]}"; do
        m=$(curl -s --max-time 5 "http://${ADDR[$d]}:8080/metrics")
        printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$1" "$2" "$d" "$load" \
            "$(rss_kib "${PIDS[$d]}")" \
            "$(metric_sum process_heap_inuse_bytes <<<"$m" | awk '{ printf "%d", $1 / 1024 }')" \
            "$(fd_count "${PIDS[$d]}")" \
            "$(metric_sum ims_sip_transactions_in_flight <<<"$m")" \
            "$(metric_sum ims_diameter_pending_requests ims_diameter_server_queue <<<"$m")" \
            "$(metric_sum ims_sip_nta_server_transactions ims_sip_nta_client_transactions <<<"$m")"
    done >>"$CSV"
}

if [ "$CALLS" -gt 0 ]; then
    bench_calls_setup "$CALLERS" "$CALLEES" "$PARTY_EXPIRES" "$INTERVAL" || exit 1
    bench_log "registered $CALLEES callees and $CALLERS callers (expires $PARTY_EXPIRES s)"
    # the first sample is the baseline: the transactions of those registrations end first
    bench_log "waiting 35 s for their transactions to end (the baseline)"
    sleep 35
fi
echo "t_s,phase,daemon,load1,rss_kib,heap_kib,fds,sip_tx,diam_pending,nta_tx" >"$CSV"
T0=$SECONDS
sample 0 load
[ "$CALLS" -gt 0 ] && start_calls
[ "$REG" -gt 0 ] && start_registrations
bench_log "load started: $REG REGISTER/s ($POOL users in the pool), $CALLS calls/s"
next=$INTERVAL
while [ $((SECONDS - T0)) -lt "$DUR" ]; do
    [ "$next" -gt "$DUR" ] && next=$DUR
    [ $((SECONDS - T0)) -lt "$next" ] && sleep $((next - (SECONDS - T0)))
    sample $((SECONDS - T0)) load
    bench_log "$((SECONDS - T0))s: pcscf rss $(rss_kib "${PIDS[pcscf]}") KiB, load $(loadavg)"
    next=$((next + INTERVAL))
done
# the sipps end their last calls (at most PAUSE + a few retransmissions later)
deadline=$((SECONDS + PAUSE / 1000 + 60))
for p in "${LOAD_PIDS[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 1; done
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
done
sample $((SECONDS - T0)) end
bench_log "load done; waiting ${SETTLE}s for the transactions to end"
sleep "$SETTLE"
sample $((SECONDS - T0)) settled
# what is left for a look after the lab has stopped: open files and metrics of each daemon
for d in "${FUNCS[@]}"; do
    ls -l "/proc/${PIDS[$d]}/fd" >"$BENCH_RUN/$d.fds" 2>&1
    curl -s --max-time 5 "http://${ADDR[$d]}:8080/metrics" >"$BENCH_RUN/$d.metrics"
done

# ---- the table: per daemon and metric, first, last, max, slope of the second half ----
# stdout: one line per daemon and metric: daemon metric first last max slope_per_h verdict
verdicts() {
    awk -F, -v half="$((DUR / 2))" -v grow_kib="$((GROW_MB * 1024))" '
        NR == 1 {
            for (i = 5; i <= NF; i++) { name[i] = $i; col[$i] = i }
            nm = NF; next
        }
        {
            d = $3; if (!(d in seen)) { seen[d] = 1; order[++nd] = d }
            x = "nta_tx" in col ? $(col["nta_tx"]) + 0 : 0     # transactions held now
            if ($2 == "load") {   # the running peak of the heap, for RSS
                h = $(col["heap_kib"]) + 0
                if (!(d in hmax) || h > hmax[d]) hmax[d] = h
            }
            for (i = 5; i <= nm; i++) {
                k = d SUBSEP i; v = $i + 0
                if (!(k in first)) first[k] = v
                last[k] = v
                if (!(k in max) || v > max[k]) max[k] = v
                if ($2 == "load" && $1 >= half) {
                    y = name[i] == "rss_kib" ? v - hmax[d] : v
                    n[k]++; st[k] += $1; sy[k] += y; stt[k] += $1 * $1; sty[k] += $1 * y
                    sx[k] += x; sxx[k] += x * x; stx[k] += $1 * x; sxy[k] += x * y
                    if (!(k in t0)) { t0[k] = $1; v0[k] = v }
                    t1[k] = $1
                }
            }
        }
        # the slope per second of @k against time (least squares): for the heap, with the
        # transactions held at the same moment as a second variable, so that a heap that
        # follows the load up and down is not read as growth; for RSS, of what it holds
        # beyond the heap'"'"'s peak so far (RSS keeps a peak: a new one raises it)
        function slope(k, i,   m, ctt, cty, cxx, ctx, cxy, det, s) {
            m = n[k]
            ctt = stt[k] - st[k] * st[k] / m; cty = sty[k] - st[k] * sy[k] / m
            if (ctt <= 0) return ""
            s = cty / ctt
            if (name[i] == "heap_kib") {
                cxx = sxx[k] - sx[k] * sx[k] / m; ctx = stx[k] - st[k] * sx[k] / m
                cxy = sxy[k] - sx[k] * sy[k] / m
                det = ctt * cxx - ctx * ctx
                if (m >= 4 && cxx > 0 && det > 1e-9 * ctt * cxx)
                    s = (cty * cxx - cxy * ctx) / det
            }
            return s
        }
        END {
            for (j = 1; j <= nd; j++) for (i = 5; i <= nm; i++) {
                d = order[j]; k = d SUBSEP i; sl = "-"; verdict = "-"
                s = n[k] >= 2 ? slope(k, i) : ""
                if (s != "") {
                    sl = sprintf("%+.0f", s * 3600)
                    growth = s * (t1[k] - t0[k])
                    if (name[i] == "rss_kib" || name[i] == "heap_kib") {
                        verdict = "FLAT"
                        # 1 MiB: below it a short run sees the steps of the allocator
                        if (growth > 0.1 * v0[k] || (s * 3600 > grow_kib && growth > 1024))
                            verdict = "GROWING"
                    }
                }
                # transactions: back at the first; file descriptors: at the first, or at most
                # what they were when the second half began (a connection opened at its first
                # use stays)
                if (name[i] != "rss_kib" && name[i] != "heap_kib")
                    verdict = last[k] <= first[k] ||
                              (name[i] == "fds" && k in v0 && last[k] <= v0[k]) ? "FLAT" : "NOT-BACK"
                # nta transactions: shown, not judged (bindings that expire after the
                # load make new ones: the NOTIFYs of the S-CSCF)
                if (name[i] == "nta_tx")
                    verdict = "-"
                printf "%s %s %d %d %d %s %s\n", d, name[i], first[k], last[k], max[k], sl, verdict
            }
        }' "$CSV"
}
VERDICTS=$(verdicts)

sipp_total() {   # COLUMN FILE...: a sipp -trace_stat column summed over its runs
    local c=$1 f t=0
    shift
    for f in "$@"; do [ -f "$f" ] && t=$((t + $(sipp_stat "$f" "$c"))); done
    echo "$t"
}
REG_OK=$(sipp_total 'SuccessfulCall(C)' "$BENCH_RUN/registrations/stat.csv")
REG_FAILED=$(sipp_total 'FailedCall(C)' "$BENCH_RUN/registrations/stat.csv")
CALL_OK=$(sipp_total 'SuccessfulCall(C)' "$BENCH_RUN"/calls/caller*/stat.csv)
CALL_FAILED=$(sipp_total 'FailedCall(C)' "$BENCH_RUN"/calls/caller*/stat.csv)

report() {   # the text report (stdout)
    echo "soak benchmark: ${DUR} s of $REG REGISTER/s (registration + refresh, expires ${EXPIRES} s)"
    echo "and $CALLS calls/s (hold $HOLD ms, charging $CHG_TEXT) through P-CSCF, I-CSCF, S-CSCF"
    echo "date $(date -u +%FT%TZ), $(nproc) cores, commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null), log level ${IMS_LOG_LEVEL:-info (lab configuration)}, load average at the end $(loadavg)"
    echo "done: $REG_OK registrations with their refresh ($REG_FAILED failed), $CALL_OK calls ($CALL_FAILED failed)"
    echo "first: before the load; last: ${SETTLE} s after it; slope: least squares over the second"
    echo "half of the load, per hour (KiB/h for rss and heap); transactions must be back at their"
    echo "first value, fds at most at the first or at the one when the second half began"
    local d
    for d in "${FUNCS[@]}"; do
        echo
        printf '%-8s %-13s %10s %10s %10s %12s  %s\n' "$d" metric first last max 'slope/h' verdict
        awk -v d="$d" '$1 == d { printf "%-8s %-13s %10s %10s %10s %12s  %s\n", "", $2, $3, $4, $5, $6, $7 }' \
            <<<"$VERDICTS"
    done
    echo
    local bad
    bad=$(awk '$7 == "GROWING" || $7 == "NOT-BACK" { printf " %s/%s", $1, $2 }' <<<"$VERDICTS")
    echo "verdict: ${bad:+not flat:}${bad:-everything flat}"
}

# ---- the HTML page: one inline SVG plot per metric, a line per daemon ----
plots() {
    awk -F, -v dur="$DUR" '
        NR == 1 { for (i = 5; i <= NF; i++) name[i] = $i; nm = NF; next }
        {
            d = $3; if (!(d in seen)) { seen[d] = 1; order[++nd] = d }
            ns[d]++; t[d, ns[d]] = $1; if ($1 > tmax) tmax = $1
            for (i = 5; i <= nm; i++) v[d, ns[d], i] = $i + 0
        }
        END {
            split("#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e #8c564b", col, " ")
            title["rss_kib"] = "resident size (VmRSS), MiB"; scale["rss_kib"] = 1024
            title["heap_kib"] = "heap in use (malloc), MiB"; scale["heap_kib"] = 1024
            title["fds"] = "open file descriptors"; scale["fds"] = 1
            title["sip_tx"] = "SIP proxy transactions in flight"; scale["sip_tx"] = 1
            title["diam_pending"] = "Diameter requests in flight (sent + queued)"
            scale["diam_pending"] = 1
            title["nta_tx"] = "transactions sofia-sip holds (server + client, lingering included)"
            scale["nta_tx"] = 1
            W = 760; H = 280; L = 70; R = 110; T = 30; B = 40; pw = W - L - R; ph = H - T - B
            if (tmax <= 0) tmax = 1
            for (i = 5; i <= nm; i++) {
                m = name[i]; sc = scale[m] ? scale[m] : 1
                lo = ""; hi = ""
                for (j = 1; j <= nd; j++) for (s = 1; s <= ns[order[j]]; s++) {
                    y = v[order[j], s, i] / sc
                    if (lo == "" || y < lo) lo = y; if (hi == "" || y > hi) hi = y
                }
                if (lo > 0 && lo < hi / 2) lo = 0
                if (hi - lo < 1e-9) { hi = hi + 1; lo = lo > 1 ? lo - 1 : 0 }
                pad = (hi - lo) * 0.05; hi += pad; if (lo > 0) lo = (lo - pad > 0 ? lo - pad : 0)
                printf "<h2>%s</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", title[m] ? title[m] : m, W, H
                printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n", L, T, pw, ph
                for (g = 0; g <= 4; g++) {
                    yv = lo + (hi - lo) * g / 4; yy = T + ph - ph * g / 4
                    printf "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", L, L + pw, yy, yy
                    printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", L - 4, yy + 4, (hi - lo >= 10 ? sprintf("%.0f", yv) : sprintf("%.2f", yv))
                    xv = tmax * g / 4; xx = L + pw * g / 4
                    printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f s</text>\n", xx, T + ph + 16, xv
                }
                xe = L + pw * (dur < tmax ? dur : tmax) / tmax
                printf "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>", xe, xe, T, T + ph
                printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">end of load</text>\n", xe, T - 6
                for (j = 1; j <= nd; j++) {
                    d = order[j]; pts = ""
                    for (s = 1; s <= ns[d]; s++)
                        pts = pts sprintf("%.1f,%.1f ", L + pw * t[d, s] / tmax, T + ph - ph * (v[d, s, i] / sc - lo) / (hi - lo))
                    printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>\n", col[j], pts
                    printf "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>", L + pw + 10, L + pw + 30, T + 10 + 16 * j, T + 10 + 16 * j, col[j]
                    printf "<text x=\"%d\" y=\"%d\">%s</text>\n", L + pw + 35, T + 14 + 16 * j, d
                }
                printf "</svg>\n"
            }
        }' "$CSV"
}

REPORT=$(report)
{
    echo '<!DOCTYPE html><html><head><meta charset="utf-8"><title>ims-core soak</title>'
    echo '<style>body { font-family: sans-serif; margin: 2em } pre { font-size: 12px }</style>'
    echo '</head><body><h1>ims-core soak benchmark</h1>'
    printf '<pre>%s</pre>\n' "$(sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g' <<<"$REPORT")"
    plots
    echo '<p>Data: soak.csv (one line per sample and daemon).</p></body></html>'
} >"$BENCH_RUN/soak.html"

echo
echo "$REPORT"
echo
echo "samples: $CSV, plots: $BENCH_RUN/soak.html, sipp runs: $BENCH_RUN/"
