-- cfw.lua - let tshark dissect the Media Control Channel Framework (RFC 6230)
--
--   tshark -X lua_script:tests/lib/cfw.lua -r capture.pcap -Y cfw
--
-- Wireshark 4.0 has no dissector for CFW (it has MSCML, an older media server protocol, and
-- MSRP, whose framing differs). This script cuts the TCP byte stream of the control channel
-- port into CFW messages (start line and headers up to an empty line, then Content-Length
-- bytes of body, reassembled across segments), shows the start line and each header as
-- fields, and hands the body to Wireshark's own XML dissector (the msc-ivr and msc-mixer
-- documents). What breaks RFC 6230 section 9 is an expert item of severity error: a start
-- line that is not "CFW <transaction-id> <method|status>", a header line without a colon, a
-- Content-Length that is no number or longer than the bytes that follow the head, a body
-- without Content-Type. Set CFW_TCP_PORT in the environment for another port than 7563.
--
-- SPDX-License-Identifier: BSD-2-Clause

local proto = Proto("cfw", "Media Control Channel Framework")

local f = {
    tid = ProtoField.string("cfw.tid", "Transaction ID"),
    method = ProtoField.string("cfw.method", "Method"),
    status = ProtoField.uint16("cfw.status", "Status code"),
    header = ProtoField.string("cfw.header", "Header"),
    package = ProtoField.string("cfw.control_package", "Control-Package"),
    dialog = ProtoField.string("cfw.dialog_id", "Dialog-ID"),
    ctype = ProtoField.string("cfw.content_type", "Content-Type"),
    clen = ProtoField.uint32("cfw.content_length", "Content-Length"),
    keepalive = ProtoField.uint32("cfw.keep_alive", "Keep-Alive"),
    body = ProtoField.bytes("cfw.body", "Body"),
}
proto.fields = { f.tid, f.method, f.status, f.header, f.package, f.dialog, f.ctype, f.clen,
                 f.keepalive, f.body }

local e_bad = ProtoExpert.new("cfw.malformed", "Malformed CFW message",
                              expert.group.MALFORMED, expert.severity.ERROR)
proto.experts = { e_bad }

local xml = Dissector.get("xml")

-- offset of the byte after the empty line that ends the head, or nil
local function head_end(tvb, offset)
    local len = tvb:len()
    local s = tvb:raw(offset, len - offset)
    local a = s:find("\r\n\r\n", 1, true)
    if a then
        return offset + a + 3
    end
    return nil
end

local function one_message(tvb, pinfo, tree, offset, hend)
    local head = tvb:raw(offset, hend - offset)
    local lines = {}
    for line in head:gmatch("([^\r\n]*)\r\n") do
        lines[#lines + 1] = line
    end
    local clen = 0
    local item = tree:add(proto, tvb(offset, hend - offset))
    local start = lines[1] or ""
    item:append_text(": " .. start)
    local tid, what = start:match("^CFW ([%w%-%.!%%%*_%+`'~]+) ([%w%-]+)$")
    if not tid then
        tid, what = start:match("^CFW ([%w%-%.!%%%*_%+`'~]+) (%d%d%d) ")
    end
    if not tid then
        item:add_proto_expert_info(e_bad, "bad start line")
    else
        item:add(f.tid, tid)
        if what:match("^%d%d%d$") then
            item:add(f.status, tonumber(what))
        else
            item:add(f.method, what)
        end
    end
    local has_ctype = false
    local pos = offset + #start + 2
    for i = 2, #lines do
        local l = lines[i]
        if l ~= "" then
            local hrange = tvb(pos, #l)
            local name, value = l:match("^([%w%-]+):%s*(.-)%s*$")
            if not name then
                item:add(f.header, hrange, l):add_proto_expert_info(e_bad, "header without a colon")
            else
                item:add(f.header, hrange, l)
                local lname = name:lower()
                if lname == "content-length" then
                    local n = tonumber(value)
                    if not n or not value:match("^%d+$") then
                        item:add_proto_expert_info(e_bad, "bad Content-Length")
                    else
                        clen = n
                        item:add(f.clen, hrange, n)
                    end
                elseif lname == "content-type" then
                    has_ctype = true
                    item:add(f.ctype, hrange, value)
                elseif lname == "control-package" then
                    item:add(f.package, hrange, value)
                elseif lname == "dialog-id" then
                    item:add(f.dialog, hrange, value)
                elseif lname == "keep-alive" then
                    item:add(f.keepalive, hrange, tonumber(value) or 0)
                end
            end
        end
        pos = pos + #l + 2
    end
    return item, clen, has_ctype, start
end

function proto.dissector(tvb, pinfo, tree)
    local offset = 0
    local len = tvb:len()
    local infos = {}
    while offset < len do
        local hend = head_end(tvb, offset)
        if not hend then
            pinfo.desegment_offset = offset
            pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
            break
        end
        -- the Content-Length is needed before the message can be taken
        local head = tvb:raw(offset, hend - offset)
        local cl = tonumber(head:lower():match("[\r\n]content%-length:%s*(%d+)")) or 0
        if hend + cl > len then
            pinfo.desegment_offset = offset
            pinfo.desegment_len = hend + cl - len
            break
        end
        local item, clen, has_ctype, start = one_message(tvb, pinfo, tree, offset, hend)
        infos[#infos + 1] = start
        if clen > 0 then
            local body = tvb(hend, clen)
            item:add(f.body, body)
            if not has_ctype then
                item:add_proto_expert_info(e_bad, "a body without Content-Type")
            end
            xml:call(body:tvb(), pinfo, tree)
        end
        offset = hend + clen
    end
    if #infos > 0 then
        pinfo.cols.protocol = "CFW"
        pinfo.cols.info = table.concat(infos, ", ")
    end
    return offset
end

DissectorTable.get("tcp.port"):add(tonumber(os.getenv("CFW_TCP_PORT") or "7563"), proto)
-- the channels over TLS (RFC 6230 12), once tshark has the session keys
DissectorTable.get("tls.port"):add(tonumber(os.getenv("CFW_TLS_PORT") or "7564"), proto)
