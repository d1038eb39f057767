#!/usr/bin/env python3
"""sipi_peer.py - a SIP-I peer (ITU-T Q.1912.5 profile C) calling through the MGCF, for e2e

    sipi_peer.py --bind IP:PORT --to IP:PORT --number DIGITS --pai URI [options]

Sends an INVITE tel:+DIGITS over UDP whose body is multipart/mixed: the SDP offer and an
ISUP IAM (application/ISUP;version=itu-t92+) built here from --calling, --cpc and --hop
(octets written by hand after ITU-T Q.763; tshark checks them in the e2e test), or the SDP
alone with --no-isup. Prints one line per response: "rx <status> isup=<types> sdp=<yes|no>"
(the ISUP message types found in its application/ISUP parts), and "rx <status> rel isup=12
cause=<cause>" for a REL among them; on a 2xx sends the ACK,
sends an INFO with an encapsulated SUS or RES (network initiated) for each --info item
("sus", "res", "sus-required": handling=required; "sus-user", "res-user": subscriber
initiated; "text": a text/plain body) and prints
"info <status>", waits --hold seconds, sends a BYE with an encapsulated REL of --bye-cause
(no Reason header), and prints "bye <status>". Requests of the MGCF in the dialog are
answered 200 (an INFO: --info-status, after --info-delay seconds) and printed: "rx INFO
isup=13 sus=1" (the SUS/RES indicator), "rx BYE isup=12 cause=102" (the encapsulated REL's
cause); its BYE ends the call (exit 0). Exit status 0
when the call was answered and the BYE answered 200, 2 when the INVITE failed (its final
status is printed), 1 otherwise.
"""
import argparse
import random
import socket
import sys
import time

SDP = ("v=0\r\no=peer 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
       "m=audio 16100 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n")
BOUNDARY = "sipi-peer-b1"


def bcd(digits):
    """Q.763 address signals: two per octet, the first in the low nibble; filler 0"""
    out = bytearray()
    for i in range(0, len(digits), 2):
        lo = int(digits[i])
        hi = int(digits[i + 1]) if i + 1 < len(digits) else 0
        out.append(hi << 4 | lo)
    return bytes(out)


def number(digits, octet2):
    """A called or calling party number: odd/even + international (4), octet 2, digits"""
    return bytes([(0x80 if len(digits) % 2 else 0) | 0x04, octet2]) + bcd(digits)


def iam(called, calling, cpc, hop):
    """IAM (Q.763 Table 32): NCI 0, FCI ISUP all the way + ISDN access, CPC, TMR 3.1 kHz,
    called party number (INN not allowed, E.164); optional: calling party number
    (presentation allowed, network provided), hop counter"""
    cd = number(called, 0x80 | 0x10)
    cg = number(calling, 0x10 | 0x03)
    opt = bytes([0x0a, len(cg)]) + cg
    if hop is not None:
        opt += bytes([0x3d, 1, hop])
    opt += b"\x00"
    fixed = bytes([0x01, 0x00, 0x20, 0x01, cpc, 0x03])
    return fixed + bytes([2, 1 + len(cd) + 1]) + bytes([len(cd)]) + cd + opt


def rel(cause):
    """REL (Q.763 Table 39): cause indicators, location user (0), ITU coding; no options"""
    return bytes([0x0c, 0x02, 0x00, 0x02, 0x80, 0x80 | cause])


def sus_res(kind, user=False):
    """SUS (0x0d) or RES (0x0e), Q.763 Table 38: suspend/resume indicators network
    initiated (1) or, with @user, ISDN subscriber initiated (0); no optional parameter
    (pointer 0)"""
    return bytes([0x0d if kind == "sus" else 0x0e, 0x00 if user else 0x01, 0x00])


def isup_parts(hdrs, body):
    """The application/ISUP parts (octets) of a multipart body"""
    ctype = hdrs.get("content-type", [""])[0]
    if not ctype.lower().startswith("multipart/mixed"):
        return []
    b = ctype.split("boundary=", 1)[1].split(";")[0].strip('"').encode()
    out = []
    for part in body.split(b"\r\n--" + b):
        part = part[len(b"--" + b):] if part.startswith(b"--" + b) else part
        phead, _, pdata = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if b"application/isup" in phead.lower() and pdata:
            out.append(pdata)
    return out


def describe(data):
    """ "isup=12 cause=102" for a REL, "isup=13 sus=1" for a SUS or RES"""
    if not data:
        return "isup=-"
    text = "isup=%d" % data[0]
    if data[0] == 0x0c and len(data) >= 6:
        text += " cause=%d" % (data[5] & 0x7f)
    elif data[0] in (0x0d, 0x0e) and len(data) >= 2:
        text += " sus=%d" % (data[1] & 0x01)
    return text


INFO_ANSWER = {"status": 200, "delay": 0.0, "seen": set()}   # --info-status, --info-delay


def answer(s, data, peer):
    """200 to a request of the MGCF (to an INFO: --info-status after --info-delay), the
    request printed; True for a BYE"""
    first, hdrs, body = parse(data)
    method = first.split()[0]
    parts = isup_parts(hdrs, body)
    print("rx %s %s" % (method, describe(parts[0] if parts else b"")), flush=True)
    if method == "ACK":
        return False
    status = 200
    if method == "INFO":
        via = hdrs.get("via", [""])[0]
        if via not in INFO_ANSWER["seen"]:     # a retransmission is answered at once
            INFO_ANSWER["seen"].add(via)
            time.sleep(INFO_ANSWER["delay"])
        status = INFO_ANSWER["status"]
    resp = "SIP/2.0 %d %s\r\n" % (status, "OK" if status == 200 else "Refused") + "".join(
        "%s: %s\r\n" % (n, v) for n in ("via", "from", "to", "call-id", "cseq")
        for v in hdrs.get(n, [])) + "Content-Length: 0\r\n\r\n"
    s.sendto(resp.encode(), peer)
    return method == "BYE"


def multipart(parts):
    body = b""
    for headers, data in parts:
        body += b"--" + BOUNDARY.encode() + b"\r\n" + headers.encode() + b"\r\n" + data + b"\r\n"
    return body + b"--" + BOUNDARY.encode() + b"--\r\n"


def isup_part(data, handling):
    return ("Content-Type: application/ISUP;version=itu-t92+\r\n"
            "Content-Disposition: signal;handling=%s\r\n" % handling, data)


def message(start, headers, body, ctype):
    head = start + "\r\n" + "".join(h + "\r\n" for h in headers)
    if body:
        head += "Content-Type: %s\r\nMIME-Version: 1.0\r\n" % ctype
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return head.encode() + body


def parse(data):
    """(first line, {lower-case name: [values]}, body)"""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], hdrs, body


def isup_types(hdrs, body):
    """The ISUP message types of the application/ISUP parts of a multipart body"""
    ctype = hdrs.get("content-type", [""])[0]
    if not ctype.lower().startswith("multipart/mixed"):
        return []
    b = ctype.split("boundary=", 1)[1].split(";")[0].strip('"').encode()
    types = []
    for part in body.split(b"\r\n--" + b)[0:]:
        part = part[len(b"--" + b):] if part.startswith(b"--" + b) else part
        phead, _, pdata = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if b"application/isup" in phead.lower() and pdata:
            types.append(pdata[0])
    return types


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--number", required=True)
    ap.add_argument("--pai", required=True)
    ap.add_argument("--calling", default="19995550199")
    ap.add_argument("--cpc", type=int, default=0x0f)
    ap.add_argument("--hop", type=int, default=10)
    ap.add_argument("--handling", default="optional")
    ap.add_argument("--no-isup", action="store_true")
    ap.add_argument("--bye-cause", type=int, default=31)
    ap.add_argument("--hold", type=float, default=1.0)
    ap.add_argument("--info", action="append", default=[])
    ap.add_argument("--wait", type=float, default=15.0)
    ap.add_argument("--info-status", type=int, default=200)
    ap.add_argument("--info-delay", type=float, default=0.0)
    a = ap.parse_args()
    INFO_ANSWER.update(status=a.info_status, delay=a.info_delay)
    ip, port = a.bind.split(":")
    to = (a.to.split(":")[0], int(a.to.split(":")[1]))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, int(port)))
    s.settimeout(0.5)
    tag, callid = "p%d" % random.randrange(1 << 30), "sipi-%d@%s" % (random.randrange(1 << 30), ip)
    sdp = SDP.format(ip=ip).encode()
    if a.no_isup:
        body, ctype = sdp, "application/sdp"
    else:
        body = multipart([("Content-Type: application/sdp\r\n", sdp),
                          isup_part(iam(a.number, a.calling, a.cpc, a.hop), a.handling)])
        ctype = "multipart/mixed;boundary=" + BOUNDARY
    via = "Via: SIP/2.0/UDP %s:%s;rport;branch=z9hG4bK-%d" % (ip, port, random.randrange(1 << 30))
    base = ["From: <%s>;tag=%s" % (a.pai, tag), "Call-ID: " + callid,
            "Max-Forwards: 70", "Contact: <sip:peer@%s:%s>" % (ip, port)]
    s.sendto(message("INVITE tel:+%s SIP/2.0" % a.number,
                     [via, "To: <tel:+%s>" % a.number, "CSeq: 1 INVITE",
                      "P-Asserted-Identity: <%s>" % a.pai] + base, body, ctype), to)
    deadline, final, to_hdr, contact = time.time() + a.wait, None, None, None
    while final is None and time.time() < deadline:
        try:
            data, _ = s.recvfrom(65536)
        except socket.timeout:
            continue
        first, hdrs, rbody = parse(data)
        if not first.startswith("SIP/2.0"):
            continue
        status = int(first.split()[1])
        print("rx %d isup=%s sdp=%s" % (status, ",".join(str(t) for t in isup_types(hdrs, rbody))
                                        or "-", "yes" if b"v=0" in rbody else "no"), flush=True)
        for part in isup_parts(hdrs, rbody):
            if part[0] == 0x0c:
                print("rx %d rel %s" % (status, describe(part)), flush=True)
        if status >= 200:
            final, to_hdr = status, hdrs.get("to", [""])[0]
            contact = hdrs.get("contact", ["<sip:%s:%d>" % to])[0].strip("<>").split(">")[0]
    if final is None:
        print("no final response", flush=True)
        return 1
    ack_via = via.rsplit("branch=", 1)[0] + "branch=z9hG4bK-%d" % random.randrange(1 << 30)
    if final >= 300:
        s.sendto(message("ACK tel:+%s SIP/2.0" % a.number,
                         [via, "To: " + to_hdr, "CSeq: 1 ACK"] + base, b"", ""), to)
        return 2
    s.sendto(message("ACK %s SIP/2.0" % contact,
                     [ack_via, "To: " + to_hdr, "CSeq: 1 ACK"] + base, b"", ""), to)
    cseq = 2
    for kind in a.info:
        if kind == "text":
            ibody, itype = b"hello\r\n", "text/plain"
        else:
            ibody = multipart([isup_part(sus_res(kind.split("-")[0], "-user" in kind),
                                         "required" if kind.endswith("-required")
                                         else a.handling)])
            itype = "multipart/mixed;boundary=" + BOUNDARY
        info_via = via.rsplit("branch=", 1)[0] + "branch=z9hG4bK-%d" % random.randrange(1 << 30)
        s.sendto(message("INFO %s SIP/2.0" % contact, [info_via, "To: " + to_hdr,
                                                      "CSeq: %d INFO" % cseq] + base,
                         ibody, itype), to)
        cseq += 1
        status = wait_response(s, "INFO", to)
        print("info %s" % status, flush=True)
    until = time.time() + a.hold
    while time.time() < until:
        try:
            data, src = s.recvfrom(65536)
        except socket.timeout:
            continue
        if not data.startswith(b"SIP/2.0") and answer(s, data, src):
            return 0                    # the MGCF hung up
    bye_via = via.rsplit("branch=", 1)[0] + "branch=z9hG4bK-%d" % random.randrange(1 << 30)
    bbody = multipart([isup_part(rel(a.bye_cause), a.handling)])
    s.sendto(message("BYE %s SIP/2.0" % contact,
                     [bye_via, "To: " + to_hdr, "CSeq: %d BYE" % cseq] + base,
                     bbody, "multipart/mixed;boundary=" + BOUNDARY), to)
    status = wait_response(s, "BYE", to)
    print("bye %s" % status, flush=True)
    return 0 if status == "200" else 1


def wait_response(s, method, to):
    """The final status of our request @method ("unanswered" after 5 s); requests of the
    MGCF meanwhile are answered"""
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            data, src = s.recvfrom(65536)
        except socket.timeout:
            continue
        first, hdrs, _ = parse(data)
        if not first.startswith("SIP/2.0"):
            answer(s, data, src)
        elif method in hdrs.get("cseq", [""])[0] and int(first.split()[1]) >= 200:
            return first.split()[1]
    return "unanswered"


if __name__ == "__main__":
    sys.exit(main())
