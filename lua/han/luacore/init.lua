-- han.luacore: the han.core contract (docs/core-api.md) in pure Lua, for controllers
-- where the C module cannot be installed. Same values, same error strings. One file per
-- part of the engine, as in csrc/: crc16, hdlc, axdr (the A-XDR walk), framer, unwrap,
-- aes (AES-128-GCM), p1, sml, and errors (every error's message and code).
--
-- Numbers: on Lua 5.3/5.4 integer types come out as integers and floats as floats; a
-- u64 above 2^63 - 1 is a float. On 5.1/5.2/LuaJIT every number is a double: 32-bit
-- values are exact, 64-bit ones beyond 2^53 are rounded to the nearest double (one
-- rounding, as C's conversion does).
local byte, sub, format, floor = string.byte, string.sub,
  string.format, math.floor
local crc16 = require("han.luacore.crc16")
local hdlc = require("han.luacore.hdlc")
local fail = require("han.luacore.errors").fail
local crc_range, arc_range = crc16.x25, crc16.arc
local parse_frame = hdlc.parse

local M = {}

-- string.sub-style index
local function posrelat(pos, n)
  if pos >= 0 then return pos end
  if -pos > n then return 0 end
  return n + pos + 1
end

function M.crc16(s, i, j)
  if type(s) ~= "string" then error("bad argument #1 to 'crc16' (string expected)", 2) end
  local n = #s
  i = posrelat(i or 1, n)
  j = posrelat(j or -1, n)
  if i < 1 then i = 1 end
  if j > n then j = n end
  if i > j then return 0 end
  return crc_range(s, i, j)
end

function M.frame(s)
  if type(s) ~= "string" then error("bad argument #1 to 'frame' (string expected)", 2) end
  local fmt, len, dest, src, control, first, last = parse_frame(s)
  if not fmt then return nil, len, dest end
  return { format = fmt, segmented = floor(fmt / 2048) % 2 == 1, length = len,
    dest = dest, src = src, control = control, info = sub(s, first, last) }
end

------------------------------------------------------------------------------------
-- Data-notification: lua/han/luacore/axdr.lua walks the A-XDR body

local walk = require("han.luacore.axdr")
local datetime, take, give, record, value = walk.datetime, walk.take, walk.give,
  walk.walk, walk.value
M.null = walk.null

-- The header of the notification in s[p..n] (LLC optional): the positions of the body,
-- of the header's date-time bytes (false when none) and of the APDU; or nil, err, code.
local function header(s, p, n)
  if p <= n and byte(s, p) == 0xE6 then
    if n - p + 1 < 3 then return fail("bad_llc") end
    local _, b2, b3 = byte(s, p, p + 2)
    if (b2 ~= 0xE6 and b2 ~= 0xE7) or b3 ~= 0 then return fail("bad_llc") end
    p = p + 3
  end
  if p > n then return fail("truncated_data") end
  local tag = byte(s, p)
  if tag ~= 0x0F then return fail("unsupported_apdu", tag) end
  if n - p < 4 then return fail("truncated_data") end
  local apdu = p
  p = p + 5
  if p > n then return fail("truncated_data") end
  local dt = byte(s, p)
  if dt == 0x00 then return p + 1, false, apdu end
  if dt == 0x09 then                -- an octet-string: its length byte must say 12
    if p + 1 > n then return fail("truncated_data") end
    if byte(s, p + 1) ~= 0x0C then return fail("bad_datetime") end
    p = p + 1
  elseif dt ~= 0x0C and dt ~= 0x19 then
    return fail("bad_datetime")
  end
  if n - p < 12 then return fail("truncated_data") end
  return p + 13, p + 1, apdu
end

-- The notification of s (a frame or an APDU): the first and last positions of its
-- body, the header's date-time position, the HDLC frame's dest, src and control, the
-- APDU's position; or nil, err, code.
local function locate(s)
  local first, last, dest, src, control = 1, #s, nil, nil, nil
  if byte(s, 1) == 0x7E then
    local fmt, len
    fmt, len, dest, src, control, first, last = parse_frame(s)
    if not fmt then return nil, len, dest end
    if floor(fmt / 2048) % 2 == 1 then return fail("segmented") end
  end
  local p, at, apdu = header(s, first, last)
  if not p then return nil, at, apdu end
  return p, last, at, dest, src, control, apdu
end

-- The notification of s walked into a record: the record, the number of records, then
-- as locate() from the last position on; or nil, err, code.
local function walked(s)
  local first, last, at, dest, src, control, apdu = locate(s)
  if not first then return nil, last, at end
  local rec = take()
  local count, q, code = record(s, first, last, rec)
  if count and q <= last then count, q, code = fail("trailing_data") end
  if not count then
    give(rec, 0)
    return nil, q, code
  end
  return rec, count, last, at, dest, src, control, apdu
end

function M.notification(s)
  if type(s) ~= "string" then
    error("bad argument #1 to 'notification' (string expected)", 2)
  end
  local rec, count, last, at, dest, src, control, apdu = walked(s)
  if not rec then return nil, count, last end
  local a, b, c, d = byte(s, apdu + 1, apdu + 4)
  local r = { dest = dest, src = src, control = control,
    invoke_id = ((a * 256 + b) * 256 + c) * 256 + d, time = at and datetime(s, at) or nil,
    body = (value(s, rec.K, rec.V, rec.W, 1, M.null)) }
  give(rec, count)
  return r
end

local leaves = walk.values
function M.values(s)
  if type(s) ~= "string" then error("bad argument #1 to 'values' (string expected)", 2) end
  local rec, count, last, at, _, src = walked(s)
  if not rec then return nil, count, last end
  local v, key = leaves(s, rec, count, last)
  give(rec, count)
  return v, key, at and datetime(s, at) or nil, src
end

-- core.framer, core.unwrap, core.p1 and core.sml are made with their first use: a
-- controller pays for the parts its meter needs.
local function on_first_use(name, make)
  local made
  M[name] = function(...)
    made = made or make()
    M[name] = made
    return made(...)
  end
end
on_first_use("framer", function() return require("han.luacore.framer").framer end)

------------------------------------------------------------------------------------
-- AES-128-GCM (lua/han/luacore/aes.lua does the arithmetic)

-- loaded on first use: controllers reading plain Norwegian meters never pay for it
local gcm_module

-- Keys and system titles: `len` raw bytes or 2 * len hex digits. Misuse raises.
local function bytes_from(k, name, len)
  if type(k) == "string" then
    if #k == len then return k end
    if #k == 2 * len and not k:find("[^%x]") then
      return (k:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
    end
  end
  error(format("bad %s (%d bytes or %d hex digits expected)", name, len, 2 * len), 0)
end
M.bytes_from = bytes_from

-- The GCM object of a key, once key and IV are checked.
local function gcm_for(key, iv)
  key = bytes_from(key, "key", 16)
  if type(iv) ~= "string" or #iv ~= 12 then error("bad argument #2 (12-byte IV expected)", 3) end
  gcm_module = gcm_module or require("han.luacore.aes")
  return gcm_module.new(key)
end

function M.gcm_encrypt(key, iv, pt, aad)
  local g = gcm_for(key, iv)
  if type(pt) ~= "string" then error("bad argument #3 to 'gcm_encrypt' (string expected)", 2) end
  local ct = g:ctr(iv, pt)
  return ct, g:tag(iv, aad or "", ct)
end

function M.gcm_decrypt(key, iv, ct, aad, tag)
  local g = gcm_for(key, iv)
  if type(ct) ~= "string" or type(aad) ~= "string" or type(tag) ~= "string" then
    error("bad argument to 'gcm_decrypt' (strings expected)", 2)
  end
  if #tag < 1 or #tag > 16 then error("bad argument #5 (1 to 16 bytes expected)", 2) end
  if not gcm_module.equal(sub(g:tag(iv, aad, ct), 1, #tag), tag) then
    return fail("auth_failed")
  end
  return g:ctr(iv, ct)
end

on_first_use("unwrap", function() return require("han.luacore.unwrap").new(M, walk.ber) end)
on_first_use("p1", function() return require("han.luacore.p1").new(arc_range) end)
on_first_use("sml", function() return require("han.luacore.sml").sml end)

return M