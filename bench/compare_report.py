#!/usr/bin/env python3
"""bench/compare_report.py RUN_DIR - the report of bench/compare.sh.

Reads RUN_DIR/results.tsv (one line per step and chain) and RUN_DIR/meta.txt, writes
RUN_DIR/report.txt (plain-text tables and the ratio per workload) and RUN_DIR/report.html
(the same tables and inline SVG plots of latency and CPU against the offered load; no
external script or style). Standard library only.
"""
import html
import sys
from pathlib import Path

WORKLOAD_NAMES = {
    "reg": "registrations, SIP Digest (REGISTER, 401, REGISTER, 200)",
    "aka": "registrations, IMS-AKA (REGISTER, 401, REGISTER, 200)",
    "call": "calls (INVITE, 180, 200, ACK, hold, BYE, 200)",
}
LATENCY_NAMES = {
    "reg": "first REGISTER to 200, without the UE's 20 ms",
    "aka": "first REGISTER to 200, without the UE's 20 ms",
    "call": "INVITE to 200, without the callee's 20 ms between 180 and 200",
}
CHAIN_NAMES = {"ours": "ims-core", "kam": "Kamailio"}
COLOURS = {"ours": "#1f77b4", "kam": "#d62728"}


def parse_kv(text):
    """'a=1,b=2' -> {'a': 1.0, 'b': 2.0} (empty text -> {})."""
    out = {}
    for item in filter(None, text.split(",")):
        key, _, val = item.partition("=")
        try:
            out[key] = float(val)
        except ValueError:
            out[key] = 0.0
    return out


def load(run):
    """The rows of results.tsv as dicts with numbers, and meta.txt as a dict."""
    lines = (run / "results.tsv").read_text().splitlines()
    head = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        row = dict(zip(head, line.split("\t")))
        for key in ("step", "offered", "attempts", "completed", "completed_per_s", "failed",
                    "retrans", "sipp_cpu_pct", "tolerated"):
            row[key] = int(float(row.get(key) or 0))
        for key in ("p50_ms", "p90_ms", "p99_ms", "max_ms"):
            row[key] = float(row.get(key) or 0)
        row["cpu"] = parse_kv(row["cpu_pct"])
        row["mem"] = parse_kv(row["mem_kib"])
        rows.append(row)
    meta = {}
    if (run / "meta.txt").exists():
        for line in (run / "meta.txt").read_text().splitlines():
            key, _, val = line.partition("=")
            meta[key] = val
    return rows, meta


def zero_failure_rate(rows, workload, chain):
    """Highest completed rate of a step of this chain that held (0 when none did)."""
    held = [r["completed_per_s"] for r in rows
            if r["workload"] == workload and r["chain"] == chain and r["held"] == "yes"]
    return max(held) if held else 0


def ratio_text(ours, kam):
    if kam > 0:
        return f"{ours / kam:.2f}"
    return "n/a (Kamailio held no step)" if ours > 0 else "n/a (neither held a step)"


def workloads(rows):
    seen = []
    for r in rows:
        if r["workload"] not in seen:
            seen.append(r["workload"])
    return seen


def ratios(rows):
    """[(workload, ours zero-failure rate, Kamailio's, ratio text)]."""
    out = []
    for wl in workloads(rows):
        ours = zero_failure_rate(rows, wl, "ours")
        kam = zero_failure_rate(rows, wl, "kam")
        out.append((wl, ours, kam, ratio_text(ours, kam)))
    return out


def step_table(rows, workload):
    """Plain-text lines of the steps of one workload."""
    cols = ("step", "chain", "offered", "done/att", "per_s", "failed", "retrans", "p50",
            "p90", "p99", "max", "held", "cpu % of a core (daemons; sipp)",
            "memory KiB at the end")
    fmt = "{:<4} {:<8} {:>7} {:>13} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:<4}  {}  {}"
    lines = [fmt.format(*cols)]
    for r in rows:
        if r["workload"] != workload:
            continue
        cpu = " ".join(f"{k}={v:.0f}" for k, v in r["cpu"].items())
        cpu += f"; sipp={r['sipp_cpu_pct']}"
        mem = " ".join(f"{k}={v:.0f}" for k, v in r["mem"].items())
        failed = str(r["failed"])
        if r["tolerated"]:
            failed += f"+{r['tolerated']}r"
        lines.append(fmt.format(r["step"], CHAIN_NAMES.get(r["chain"], r["chain"]),
                                r["offered"], f"{r['completed']}/{r['attempts']}",
                                r["completed_per_s"], failed, r["retrans"], f"{r['p50_ms']:.0f}",
                                f"{r['p90_ms']:.0f}", f"{r['p99_ms']:.0f}", f"{r['max_ms']:.0f}",
                                r["held"], cpu, mem))
    return lines


def text_report(rows, meta):
    out = ["ims-core against Kamailio IMS: P-, I- and S-CSCF chains, the project's HSS behind both,",
           "the same sipp load alternated step by step in one run (bench/compare.sh)", ""]
    for key in ("start", "end", "cores", "commit", "load_start", "load_end", "charging",
                "admission", "transactions", "log_level", "kam_children", "seconds", "calls",
                "uas_failed", "crashed", "sipp", "kamailio"):
        if key in meta:
            out.append(f"  {key:<13} {meta[key]}")
    out += ["", "zero-failure rate per workload (highest completed rate of a step that held;",
            "ratio = ims-core / Kamailio):"]
    out.append(f"  {'workload':<9} {'ims-core/s':>10} {'Kamailio/s':>10}  ratio")
    for wl, ours, kam, rt in ratios(rows):
        out.append(f"  {wl:<9} {ours:>10} {kam:>10}  {rt}")
    for wl in workloads(rows):
        out += ["", f"{WORKLOAD_NAMES.get(wl, wl)}; latency (ms): {LATENCY_NAMES.get(wl, '')}"]
        out += ["  " + line for line in step_table(rows, wl)]
    out += ["", "held: nothing failed, every attempt completed, completed rate >= 95 % of the offer.",
            "failed 'N+Rr': R registrations tried again (a second challenge, or sipp's wrong",
            "AKA RES, PEERS.md): completed, not failures, their latency includes the tries;",
            "calls: a 180 that comes after its 200 is taken (reordered by UDP or proxy workers).",
            "cpu: % of one core over the step, per daemon (a Kamailio: all its processes);",
            "memory: RSS of our daemons, Pss summed over a Kamailio's processes (shared pool once)."]
    return "\n".join(out) + "\n"


def svg_plot(rows, workload, title, ylabel, value):
    """An inline SVG line plot of value(row) against the offered rate, one line per chain."""
    width, height, left, right, top, bottom = 460, 260, 60, 110, 30, 45
    pts = {}
    for r in rows:
        if r["workload"] == workload:
            pts.setdefault(r["chain"], []).append((r["offered"], value(r)))
    xs = [x for p in pts.values() for x, _ in p] or [0, 1]
    ys = [y for p in pts.values() for _, y in p] or [0, 1]
    xmin, xmax = 0, max(xs) * 1.05 or 1
    ymin, ymax = 0, max(ys) * 1.1 or 1

    def sx(x):
        return left + (x - xmin) / (xmax - xmin) * (width - left - right)

    def sy(y):
        return height - bottom - (y - ymin) / (ymax - ymin) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="11">',
             f'<text x="{width / 2 - 40}" y="16" font-size="13">{html.escape(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
             f'y2="{height - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>']
    for i in range(5):
        yv = ymin + (ymax - ymin) * i / 4
        xv = xmin + (xmax - xmin) * i / 4
        parts.append(f'<text x="{left - 6}" y="{sy(yv) + 4:.1f}" text-anchor="end">{yv:.0f}</text>')
        parts.append(f'<line x1="{left}" y1="{sy(yv):.1f}" x2="{width - right}" y2="{sy(yv):.1f}" '
                     f'stroke="#ddd"/>')
        parts.append(f'<text x="{sx(xv):.1f}" y="{height - bottom + 15}" '
                     f'text-anchor="middle">{xv:.0f}</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 8}" '
                 f'text-anchor="middle">offered per second</text>')
    parts.append(f'<text x="14" y="{(top + height - bottom) / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(top + height - bottom) / 2})">'
                 f'{html.escape(ylabel)}</text>')
    for n, (chain, p) in enumerate(sorted(pts.items(), key=lambda kv: kv[0] != "ours")):
        colour = COLOURS.get(chain, "black")
        p.sort()
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in p)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for x, y in p:
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 14 * n + 10
        parts.append(f'<line x1="{width - right + 10}" y1="{ly}" x2="{width - right + 28}" '
                     f'y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{width - right + 32}" y="{ly + 4}">'
                     f'{CHAIN_NAMES.get(chain, chain)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def html_report(rows, meta, text):
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>ims-core against Kamailio IMS (bench/compare.sh)</title>",
           "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
           "td,th{border:1px solid #bbb;padding:2px 6px;font-size:12px;text-align:right}"
           "th{background:#eee}td.l{text-align:left}pre{font-size:11px}</style></head><body>",
           "<h1>ims-core against Kamailio IMS: P-, I- and S-CSCF chains</h1>",
           "<p>The same sipp load on each chain in turn, step by step, in one run; the project's "
           "HSS behind both. Only the ratios compare: the machine is shared.</p>", "<table>"]
    for key, val in meta.items():
        out.append(f'<tr><th>{html.escape(key)}</th><td class="l">{html.escape(val)}</td></tr>')
    out += ["</table>", "<h2>Zero-failure rate per workload</h2>",
            "<table><tr><th>workload</th><th>ims-core /s</th><th>Kamailio /s</th>"
            "<th>ratio</th></tr>"]
    for wl, ours, kam, rt in ratios(rows):
        out.append(f'<tr><td class="l">{html.escape(WORKLOAD_NAMES.get(wl, wl))}</td>'
                   f"<td>{ours}</td><td>{kam}</td><td>{html.escape(rt)}</td></tr>")
    out.append("</table>")
    heads = ("step", "chain", "offered/s", "attempts", "completed", "completed/s", "failed",
             "retrans", "p50 ms", "p90 ms", "p99 ms", "max ms", "held", "CPU % (daemons)",
             "sipp CPU %", "memory KiB")
    for wl in workloads(rows):
        out.append(f"<h2>{html.escape(WORKLOAD_NAMES.get(wl, wl))}</h2>")
        out.append(f"<p>Latency: {html.escape(LATENCY_NAMES.get(wl, ''))}.</p>")
        out.append(svg_plot(rows, wl, "latency p99", "ms", lambda r: r["p99_ms"]))
        out.append(svg_plot(rows, wl, "latency p50", "ms", lambda r: r["p50_ms"]))
        out.append(svg_plot(rows, wl, "CPU of the chain (daemons)", "% of a core",
                            lambda r: sum(r["cpu"].values())))
        out.append(svg_plot(rows, wl, "completed per second", "per second",
                            lambda r: r["completed_per_s"]))
        out.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>")
        for r in rows:
            if r["workload"] != wl:
                continue
            cpu = " ".join(f"{k}={v:.0f}" for k, v in r["cpu"].items())
            mem = " ".join(f"{k}={v:.0f}" for k, v in r["mem"].items())
            failed = str(r["failed"]) + (f" (+{r['tolerated']} tries again)"
                                         if r["tolerated"] else "")
            cells = (r["step"], CHAIN_NAMES.get(r["chain"], r["chain"]), r["offered"],
                     r["attempts"], r["completed"], r["completed_per_s"], failed, r["retrans"],
                     f"{r['p50_ms']:.0f}", f"{r['p90_ms']:.0f}", f"{r['p99_ms']:.0f}",
                     f"{r['max_ms']:.0f}", r["held"], cpu, r["sipp_cpu_pct"], mem)
            out.append("<tr>" + "".join(
                f'<td{" class=l" if isinstance(c, str) and "=" in c else ""}>'
                f"{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        out.append("</table>")
    out += ["<h2>Plain text</h2>", f"<pre>{html.escape(text)}</pre>", "</body></html>"]
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 2:
        print("usage: compare_report.py RUN_DIR", file=sys.stderr)
        return 2
    run = Path(argv[1])
    try:
        rows, meta = load(run)
    except (OSError, IndexError) as err:
        print(f"compare_report: cannot read {run}/results.tsv: {err}", file=sys.stderr)
        return 1
    text = text_report(rows, meta)
    (run / "report.txt").write_text(text)
    (run / "report.html").write_text(html_report(rows, meta, text))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
