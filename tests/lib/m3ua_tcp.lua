-- m3ua_tcp.lua - let tshark dissect M3UA carried over TCP
--
--   tshark -X lua_script:tests/lib/m3ua_tcp.lua -r capture.pcap
--
-- RFC 4666 1.3.1 allows TCP under M3UA, on the same port 2905, but Wireshark 4.0 registers its
-- M3UA dissector for SCTP only (sctp.port 2905, PPI 3) and offers no "Decode As" for TCP.
-- This script cuts the TCP byte stream into M3UA messages by the length of their common header
-- (octets 4-7) and hands each to the built-in M3UA dissector, which hands DATA to MTP3 users
-- (ISUP for SI 5). Set M3UA_TCP_PORT in the environment for another port.
--
-- SPDX-License-Identifier: BSD-2-Clause

local m3ua = Dissector.get("m3ua")
local proto = Proto("m3ua_tcp", "M3UA over TCP")

local function message_length(tvb, pinfo, offset)
    return tvb(offset + 4, 4):uint()
end

local function one_message(tvb, pinfo, tree)
    return m3ua:call(tvb, pinfo, tree)
end

function proto.dissector(tvb, pinfo, tree)
    dissect_tcp_pdus(tvb, tree, 8, message_length, one_message)
    return tvb:len()
end

DissectorTable.get("tcp.port"):add(tonumber(os.getenv("M3UA_TCP_PORT") or "2905"), proto)
