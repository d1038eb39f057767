#!/usr/bin/env python3
"""sipp_outcomes.py - what became of each call of a sipp run, from its message trace

    tests/lib/sipp_outcomes.py MESSAGES.log

MESSAGES.log is sipp's -trace_msg file (-message_file). Prints one line per call (Call-ID),
in the order the calls started:

    <first request sent> <last request sent> <its final response or -> <status or -> <call-id>

(times in epoch seconds). The outcome of a call is the final response (>= 200) to the last
request it sent, matched by CSeq (a challenged registration ends with the answer to its
second REGISTER; "-" when that request got none). Used by the end-to-end tests to say which
requests got an answer, which one, and how fast, in a given window of time.
"""
import re
import sys
import time
from datetime import datetime

# a message starts with a line of dashes and a time; sipp writes an unexpected message
# (a call's failure) under a line of dashes alone: it gets the time of the message before
HEADER = re.compile(r"^-{10,}(?: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+))?\s*$")
KIND = re.compile(r"^(?:\S+ message (sent|received)|Unexpected \S+ message (received))")


def epoch(stamp):
    d = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f")
    return time.mktime(d.timetuple()) + d.microsecond / 1e6


def blocks(path):
    """(epoch, 'sent'|'received', message lines) for each message of the trace"""
    when, kind, lines = None, None, []
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            m = HEADER.match(line)
            if m:
                if when is not None:
                    yield when, kind, lines
                when = epoch(m.group(1)) if m.group(1) else when
                kind, lines = None, []
                continue
            if kind is None:
                k = KIND.match(line)
                if k:
                    kind = k.group(1) or k.group(2)
                continue
            lines.append(line)
    if when is not None:
        yield when, kind, lines


def main():
    calls = {}
    order = []
    for when, kind, lines in blocks(sys.argv[1]):
        body = [l for l in lines if l.strip()]
        if not body:
            continue
        callid = next((l.split(":", 1)[1].strip() for l in body
                       if l.lower().startswith(("call-id:", "i:"))), None)
        if not callid:
            continue
        c = calls.get(callid)
        if c is None:
            c = calls[callid] = {"start": None, "last": None, "cseq": None, "end": None,
                                 "status": None}
            order.append(callid)
        first = body[0]
        cseq = next((l.split(":", 1)[1].split()[0] for l in body
                     if l.lower().startswith("cseq:")), None)
        if kind == "sent" and not first.startswith("SIP/2.0") and not first.startswith("ACK"):
            if c["start"] is None:
                c["start"] = when
            if cseq != c["cseq"]:    # a new request (not a retransmission)
                c["last"], c["cseq"], c["end"], c["status"] = when, cseq, None, None
        elif kind == "received" and first.startswith("SIP/2.0") and cseq == c["cseq"]:
            status = int(first.split()[1])
            if status >= 200 and c["status"] is None:
                c["end"], c["status"] = when, status
    for callid in order:
        c = calls[callid]
        if c["start"] is None:
            continue
        print("%.3f %.3f %s %s %s" % (c["start"], c["last"],
                                      "%.3f" % c["end"] if c["end"] else "-",
                                      c["status"] or "-", callid))


if __name__ == "__main__":
    main()
