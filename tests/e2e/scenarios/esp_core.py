#!/usr/bin/env python3
# tests/e2e/scenarios/esp_core.py - the home network behind the P-CSCF of test_gm_esp.sh:
# a UDP responder that plays I-CSCF and S-CSCF for one UE's registration.
#
#   esp_core.py ADDRESS REALM        (listens on ADDRESS:5070, the P-CSCF is ADDRESS:5060)
#
# A REGISTER without a response is challenged with the AKA vector of TS 35.208 test set 1
# (K 465b5ce8..., OPc cd63cb71...: a UE with those keys accepts it), ck and ik in the
# WWW-Authenticate as an S-CSCF puts them for the P-CSCF (TS 24.229 5.4.1.2.1); one with a
# response is accepted (200 with its Contact, Path, P-Associated-URI; the response itself is
# not checked: this is a stand-in). After an accepted registration a MESSAGE goes to the UE
# along the P-CSCF's Path; its final answer is printed ("core: message 200 OK"). A
# de-registration (Expires: 0) ends it. Every step is one line on stdout.
#
# SPDX-License-Identifier: BSD-2-Clause
import base64
import re
import socket
import sys
import time

PC, REALM = sys.argv[1], sys.argv[2]
RAND = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
SQN, AK = bytes.fromhex("ff9bb4d0b607"), bytes.fromhex("aa689c648370")
AUTN = bytes(a ^ b for a, b in zip(SQN, AK)) + bytes.fromhex("b9b9") + \
    bytes.fromhex("4a9ffac354dfafb3")
NONCE = base64.b64encode(RAND + AUTN).decode()
CK, IK = "b40ba9a3c58b2a05bbf0d987b21bf8cb", "f769bcd751044604127672711c6d3441"

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((PC, 5070))
sock.settimeout(30)


def hdrs(msg, name):
    """The values of header @name (full name only) in @msg"""
    return [line.split(":", 1)[1].strip() for line in msg.split("\r\n")
            if line.lower().startswith(name.lower() + ":")]


def reply(msg, peer, status, extra):
    lines = ["SIP/2.0 " + status] + ["Via: " + v for v in hdrs(msg, "Via")]
    for h in ("From", "Call-ID", "CSeq"):
        lines.append(h + ": " + hdrs(msg, h)[0])
    lines.append("To: " + hdrs(msg, "To")[0] + ";tag=core1")
    text = "\r\n".join(lines + extra + ["Content-Length: 0", "", ""])
    sock.sendto(text.encode(), peer)


def send_message(path):
    uri = re.search(r"<([^>]*)>", path).group(1)
    msg = ("MESSAGE sip:alice@%s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s:5070;branch=z9hG4bKcore%d\r\n"
           "Route: <%s>\r\nFrom: <sip:core@%s>;tag=c1\r\nTo: <sip:alice@%s>\r\n"
           "Call-ID: core-msg-%d\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n"
           "Content-Length: 0\r\n\r\n") % (REALM, PC, int(time.time()), uri, REALM, REALM,
                                          int(time.time()))
    sock.sendto(msg.encode(), (PC, 5060))
    print("core: MESSAGE sent along " + uri, flush=True)


def main():
    while True:
        data, peer = sock.recvfrom(65535)
        msg = data.decode(errors="replace")
        if msg.startswith("SIP/2.0") and "MESSAGE" in " ".join(hdrs(msg, "CSeq")):
            print("core: message " + msg.split("\r\n")[0][8:], flush=True)
            continue
        if not msg.startswith("REGISTER"):
            continue
        auth = " ".join(hdrs(msg, "Authorization"))
        if not auth or 'response=""' in auth:
            print("core: challenge", flush=True)
            reply(msg, peer, "401 Unauthorized", [
                'WWW-Authenticate: Digest realm="%s", nonce="%s", algorithm=AKAv1-MD5, '
                'qop="auth", ck="%s", ik="%s"' % (REALM, NONCE, CK, IK)])
            continue
        expires = hdrs(msg, "Expires")
        path = hdrs(msg, "Path")[0]
        print("core: accepted expires=%s path=%s" % (expires[0] if expires else "?", path),
              flush=True)
        reply(msg, peer, "200 OK", ["Contact: " + hdrs(msg, "Contact")[0], "Path: " + path,
                                    "P-Associated-URI: <sip:alice@%s>" % REALM])
        if expires and expires[0] == "0":
            return
        send_message(path)


main()
