-- han.luacore: the han.core contract (docs/core-api.md) in pure Lua, for controllers
-- where the C module cannot be installed. Same values, same error strings.
--
-- Numbers: on Lua 5.3/5.4 integer types come out as integers and floats as floats; a
-- u64 above 2^63 - 1 is a float. On 5.1/5.2/LuaJIT every number is a double: 32-bit
-- values are exact, 64-bit ones beyond 2^53 are rounded to the nearest double (one
-- rounding, as C's conversion does).
--
-- Bit operations are needed only by the CRC. They are picked once, at load time: the
-- native operators on 5.3+, `bit32` on 5.2, `bit` (LuaBitOp, as on LogicMachine) on
-- 5.1/LuaJIT, and arithmetic with small xor tables where no bit library exists.
local byte, sub, format, floor = string.byte, string.sub,
  string.format, math.floor

local M = {}

------------------------------------------------------------------------------------
-- CRC-16/X-25 (HDLC) and CRC-16/ARC (P1) over s[i..j]: a byte table, eight bytes per
-- string.byte call.

local T = {}   -- T[b + 1]: the classic byte table of the reflected polynomial 0x8408
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    local low = c % 2
    c = floor(c / 2)
    if low == 1 then
      -- c ~ 0x8408 without a bit library: c < 0x8000 here, so flip bits 15, 10 and 3
      c = c + 0x8000
      c = (floor(c / 1024) % 2 == 1) and c - 1024 or c + 1024
      c = (floor(c / 8) % 2 == 1) and c - 8 or c + 8
    end
  end
  T[i + 1] = c
end

-- ARC[b + 1]: the same for CRC-16/ARC (reflected 0xA001, init 0, no final xor) of P1
local ARC = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    local low = c % 2
    c = floor(c / 2)
    if low == 1 then   -- c ~ 0xA001: flip bits 15, 13 and 0
      c = c + 0x8000
      c = (floor(c / 8192) % 2 == 1) and c - 8192 or c + 8192
      c = (c % 2 == 1) and c - 1 or c + 1
    end
  end
  ARC[i + 1] = c
end

local crc_range, arc_range

-- 16-bit xor from two 4-bit xor tables, for Lua 5.1 without a bit library (and to
-- build the tables below whatever the runtime); any number of arguments.
local X4 = {}
for a = 0, 15 do
  for b = 0, 15 do
    local r, p, x, y = 0, 1, a, b
    for _ = 1, 4 do
      if x % 2 ~= y % 2 then r = r + p end
      x, y, p = floor(x / 2), floor(y / 2), p * 2
    end
    X4[a * 16 + b + 1] = r
  end
end
local function arithmetic_bxor(a, b, ...)
  local r, p = 0, 1
  for _ = 1, 4 do
    r = r + X4[(a % 16) * 16 + b % 16 + 1] * p
    a, b, p = floor(a / 16), floor(b / 16), p * 16
  end
  if ... then return arithmetic_bxor(r, ...) end
  return r
end

-- Slicing by 8: S[k][x] is the CRC register after byte x followed by k zero bytes, so
-- that eight bytes cost one table lookup each and two xor calls in all.
local function slices(tab)
  local S = { [0] = tab }
  for k = 1, 7 do
    local prev, t = S[k - 1], {}
    for x = 1, 256 do
      local v = prev[x]
      t[x] = arithmetic_bxor(tab[v % 256 + 1], floor(v / 256))
    end
    S[k] = t
  end
  return S
end

local function crc_with(bxor, tab, init, xorout)
  local S = slices(tab)
  local T0, T1, T2, T3, T4, T5, T6, T7 = S[0], S[1], S[2], S[3], S[4], S[5], S[6], S[7]
  return function(s, i, j)
    local crc = init
    local k = i
    while k + 7 <= j do
      local a, b, c, d, e, f, g, h = byte(s, k, k + 7)
      local w = bxor(crc, a + b * 256)
      local lo = w % 256
      crc = bxor(T7[lo + 1], T6[(w - lo) / 256 + 1], T5[c + 1], T4[d + 1], T3[e + 1],
        T2[f + 1], T1[g + 1], T0[h + 1])
      k = k + 8
    end
    while k <= j do
      local w = bxor(crc, byte(s, k))
      local lo = w % 256
      crc = bxor(T0[lo + 1], (w - lo) / 256)
      k = k + 1
    end
    return bxor(crc, xorout) % 65536
  end
end

-- Native operators exist only from 5.3 on; older parsers must never see them.
local native = _VERSION >= "Lua 5.3" and load and load([[
  local S, byte, init, xorout = ...
  local T0, T1, T2, T3, T4, T5, T6, T7 = S[0], S[1], S[2], S[3], S[4], S[5], S[6], S[7]
  return function(s, i, j)
    local crc = init
    local k = i
    while k + 7 <= j do
      local a, b, c, d, e, f, g, h = byte(s, k, k + 7)
      local w = crc ~ (a | b << 8)
      crc = T7[(w & 0xFF) + 1] ~ T6[(w >> 8) + 1] ~ T5[c + 1] ~ T4[d + 1] ~ T3[e + 1]
        ~ T2[f + 1] ~ T1[g + 1] ~ T0[h + 1]
      k = k + 8
    end
    while k <= j do
      crc = T0[((crc ~ byte(s, k)) & 0xFF) + 1] ~ (crc >> 8)
      k = k + 1
    end
    return crc ~ xorout
  end]])

-- LuaJIT: its FFI reads the bytes and 16-bit tables without the checks of string.byte
-- and Lua tables, and `bit` compiles to machine operations.
local ffi = rawget(_G, "jit") and (function()
  local ok, lib = pcall(require, "ffi")
  return ok and lib or nil
end)()
local function crc_ffi(bit, tab, init, xorout)
  local S, t = slices(tab), {}
  for k = 0, 7 do
    t[k] = ffi.new("uint16_t[256]")
    for x = 0, 255 do t[k][x] = S[k][x + 1] end
  end
  local T0, T1, T2, T3, T4, T5, T6, T7 = t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
  local bxor, band, rshift, cast = bit.bxor, bit.band, bit.rshift, ffi.cast
  return function(s, i, j)
    local b = cast("const uint8_t *", s) - 1   -- b[k] is byte k of s
    local crc = init
    local k = i
    while k + 7 <= j do
      local w = bxor(crc, b[k], b[k + 1] * 256)
      crc = bxor(T7[band(w, 255)], T6[rshift(w, 8)], T5[b[k + 2]], T4[b[k + 3]],
        T3[b[k + 4]], T2[b[k + 5]], T1[b[k + 6]], T0[b[k + 7]])
      k = k + 8
    end
    while k <= j do
      crc = bxor(T0[band(bxor(crc, b[k]), 255)], rshift(crc, 8))
      k = k + 1
    end
    return band(bxor(crc, xorout), 0xFFFF)
  end
end

local function pick_crc(bitlib, tab, init, xorout)
  if native then return native(slices(tab), byte, init, xorout) end
  if ffi and bitlib and bitlib.band and bitlib.rshift then
    return crc_ffi(bitlib, tab, init, xorout)
  end
  return crc_with(bitlib and bitlib.bxor or arithmetic_bxor, tab, init, xorout)
end

do
  local lib = rawget(_G, "bit32")
  if not lib and not native then
    local ok, b = pcall(require, "bit")
    lib = ok and type(b) == "table" and b.bxor and b or nil
  end
  crc_range = pick_crc(lib, T, 0xFFFF, 0xFFFF)
  -- P1's tables (32 KiB on Lua 5.1) are built with the first telegram
  local arc
  arc_range = function(s, i, j)
    arc = arc or pick_crc(lib, ARC, 0, 0)
    return arc(s, i, j)
  end
end

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

------------------------------------------------------------------------------------
-- HDLC frames

-- One address field from position p: value and next position, or nil, err.
-- `n` is how many bytes are in (a streaming candidate may be short): "more" then.
local function address(s, p, limit, n)
  local v = 0
  for _ = 1, 4 do
    if p > limit then return nil, "bad address" end
    if p > n then return nil, "more" end
    local b = byte(s, p)
    v = v * 256 + b
    p = p + 1
    if b % 2 == 1 then return v, p end
  end
  return nil, "bad address"
end

-- Addresses, control and HCS of a frame of length `len` of which n bytes are in.
-- Returns dest, src, control, p (the first byte after control) or nil, err.
local function head(s, len, n)
  local limit = len - 1
  local dest, p = address(s, 4, limit, n)
  if not dest then return nil, p end
  local src
  src, p = address(s, p, limit, n)
  if not src then return nil, p end
  if p > limit then return nil, "bad address" end
  if p > n then return nil, "more" end
  local control = byte(s, p)
  p = p + 1
  if p == len then return dest, src, control, p end
  if p + 2 > len then return nil, "bad length" end
  if p + 1 > n then return nil, "more" end
  local lo, hi = byte(s, p, p + 1)
  if lo + hi * 256 ~= crc_range(s, 2, p - 1) then return nil, "bad HCS" end
  return dest, src, control, p
end

local function parse_frame(s)
  local n = #s
  if n < 1 or byte(s, 1) ~= 0x7E then return nil, "no opening flag" end
  if n < 3 then return nil, "truncated" end
  local f1, f2 = byte(s, 2, 3)
  if floor(f1 / 16) ~= 0xA then return nil, "bad format" end
  local len = (f1 % 8) * 256 + f2
  if len < 7 then return nil, "bad length" end
  if n < len + 2 then return nil, "truncated" end
  if n > len + 2 then return nil, "bad length" end
  if byte(s, len + 2) ~= 0x7E then return nil, "no closing flag" end
  local dest, src, control, p = head(s, len, n)
  if not dest then return nil, src end
  local lo, hi = byte(s, len, len + 1)
  if lo + hi * 256 ~= crc_range(s, 2, len - 1) then return nil, "bad FCS" end
  -- the information field's first and last positions (an empty range when none)
  if p == len then return f1 * 256 + f2, len, dest, src, control, len + 1, len end
  return f1 * 256 + f2, len, dest, src, control, p + 2, len - 1
end

function M.frame(s)
  if type(s) ~= "string" then error("bad argument #1 to 'frame' (string expected)", 2) end
  local fmt, len, dest, src, control, first, last = parse_frame(s)
  if not fmt then return nil, len end
  return { format = fmt, segmented = floor(fmt / 2048) % 2 == 1, length = len,
    dest = dest, src = src, control = control, info = sub(s, first, last) }
end

------------------------------------------------------------------------------------
-- Data-notification: lua/han/luawalk.lua walks the A-XDR body

local walk = require("han.luawalk")
local datetime, take, give, record, value = walk.datetime, walk.take, walk.give,
  walk.walk, walk.value
M.null = walk.null

-- The header of the notification in s[p..n] (LLC optional): the positions of the body,
-- of the header's date-time bytes (false when none) and of the APDU; or nil, err.
local function header(s, p, n)
  if p <= n and byte(s, p) == 0xE6 then
    if n - p + 1 < 3 then return nil, "bad LLC" end
    local _, b2, b3 = byte(s, p, p + 2)
    if (b2 ~= 0xE6 and b2 ~= 0xE7) or b3 ~= 0 then return nil, "bad LLC" end
    p = p + 3
  end
  if p > n then return nil, "truncated data" end
  local tag = byte(s, p)
  if tag ~= 0x0F then return nil, format("unsupported APDU 0x%02X", tag) end
  if n - p < 4 then return nil, "truncated data" end
  local apdu = p
  p = p + 5
  if p > n then return nil, "truncated data" end
  local dt = byte(s, p)
  if dt == 0x00 then return p + 1, false, apdu end
  if dt == 0x0C or dt == 0x19 then
    if n - p < 12 then return nil, "truncated data" end
    return p + 13, p + 1, apdu
  elseif dt == 0x09 then
    if p + 1 > n then return nil, "truncated data" end
    if byte(s, p + 1) ~= 0x0C then return nil, "bad date-time" end
    if n - p - 1 < 12 then return nil, "truncated data" end
    return p + 14, p + 2, apdu
  end
  return nil, "bad date-time"
end

-- The notification of s (a frame or an APDU): the first and last positions of its
-- body, the header's date-time position, the HDLC frame's dest, src and control, the
-- APDU's position; or nil, err.
local function notification(s)
  local first, last, dest, src, control = 1, #s, nil, nil, nil
  if byte(s, 1) == 0x7E then
    local fmt, len
    fmt, len, dest, src, control, first, last = parse_frame(s)
    if not fmt then return nil, len end
    if floor(fmt / 2048) % 2 == 1 then return nil, "segmented frame" end
  end
  local p, at, apdu = header(s, first, last)
  if not p then return nil, at end
  return p, last, at, dest, src, control, apdu
end

-- The body s[p..last] recorded in rec: the number of records, or nil, err.
local function body(s, p, last, rec)
  local count, q = record(s, p, last, rec)
  if not count then return nil, q end
  if q <= last then return nil, "trailing data" end
  return count
end

function M.decode(s)
  if type(s) ~= "string" then error("bad argument #1 to 'decode' (string expected)", 2) end
  local rec = take()
  local first, last, at, dest, src, control, apdu = notification(s)
  local count, err = nil, last
  if first then count, err = body(s, first, last, rec) end
  if not count then
    give(rec, 0)
    return nil, err
  end
  local a, b, c, d = byte(s, apdu + 1, apdu + 4)
  local r = { dest = dest, src = src, control = control,
    invoke_id = ((a * 256 + b) * 256 + c) * 256 + d, time = at and datetime(s, at) or nil,
    body = (value(s, rec.K, rec.V, rec.W, 1, M.null)) }
  give(rec, count)
  return r
end

------------------------------------------------------------------------------------
-- Streaming framer: the reference algorithm of the contract, on positions in the
-- string of bytes not yet resolved (`pending`) instead of byte by byte.

local Framer = {}
Framer.__index = Framer

local find, match = string.find, string.match
local MAX_SEGMENTS, P1_MAX, P1_LINE = 65536, 16384, 2048

-- The protocol each start byte opens a candidate of, and what each mode hunts for.
local START = { [0x7E] = "hdlc", [0x68] = "mbus", [0x2F] = "p1" }
local HUNT = { hdlc = "\126", mbus = "h", p1 = "/", auto = "[\126h/]" }

function M.framer(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'framer' (table expected)", 2)
  end
  local protocol = opts and opts.protocol
  if protocol == nil then protocol = "hdlc" end
  if not HUNT[protocol] then error("bad protocol (hdlc, mbus, p1 or auto expected)", 2) end
  return setmetatable({
    protocol = protocol,  -- "auto" until the first good frame
    kind = "hdlc",        -- the candidate's protocol
    cr_lf = opts and opts.cr_lf and true or false,
    held_cr = false,
    pending = "",       -- bytes from the candidate's start on
    cand = false,       -- a candidate is open at pending's first byte
    flag_counted = false,
    need = 0,
    p1_seen = 1, p1_line = 1,   -- P1: bytes examined, where the current line starts
    queue = {}, head = 0, tail = 0,
    seg = {}, seg_len = 0, seg_seq = 0,
    st = { bytes_in = 0, bytes_framed = 0, bytes_discarded = 0, frames_ok = 0,
      bad_hcs = 0, bad_fcs = 0, bad_length = 0, segments_joined = 0 },
  }, Framer)
end

local function enqueue(f, s)
  f.tail = f.tail + 1
  f.queue[f.tail] = s
end

-- Keep one payload of a segmented message; `last` queues the joined message.
local function join(f, data, last)
  local st = f.st
  if f.seg_len + #data > MAX_SEGMENTS then
    st.bad_length = st.bad_length + 1
    f.seg, f.seg_len = {}, 0
    return
  end
  f.seg[#f.seg + 1] = data
  f.seg_len = f.seg_len + #data
  if last then
    st.segments_joined = st.segments_joined + #f.seg
    enqueue(f, table.concat(f.seg))
    f.seg, f.seg_len = {}, 0
  end
end

-- Each examiner looks at the candidate s[at..n] and says what it is:
--   nil (it needs more bytes); "fail", counter; "good", its last position;
--   "skip", where it now starts, counter (the bytes before are discarded).
-- Each deliver queues a good frame or keeps it as a segment.

local head_errors = { ["bad address"] = "bad_length", ["bad length"] = "bad_length",
  ["bad HCS"] = "bad_hcs" }

local function hdlc_examine(f, s, at, n)
  local have = n - at + 1
  if have < 2 then return nil end
  if byte(s, at + 1) == 0x7E then return "skip", at + 1 end      -- a repeated flag
  if have < 3 then return nil end
  local f1, f2 = byte(s, at + 1, at + 2)
  if floor(f1 / 16) ~= 0xA then return "fail" end
  local len = (f1 % 8) * 256 + f2
  if len < 7 then return "fail", "bad_length" end
  f.need = len + 2
  local ok, err = head(sub(s, at, at + 15), len, have < len + 2 and have or len + 2)
  if not ok and err ~= "more" then return "fail", head_errors[err] end
  if have < len + 2 then return nil end
  local last = at + len + 1
  if byte(s, last) ~= 0x7E then return "fail", "bad_length" end
  local lo, hi = byte(s, last - 2, last - 1)
  if lo + hi * 256 ~= crc_range(s, at + 1, last - 3) then return "fail", "bad_fcs" end
  return "good", last
end

local function hdlc_deliver(f, frame)
  local segmented = floor(byte(frame, 2) / 8) % 2 == 1
  if not segmented and #f.seg == 0 then return enqueue(f, frame) end
  local _, _, _, _, _, first, last = parse_frame(frame)
  join(f, sub(frame, first, last), not segmented)
end

-- 68 L L 68 C A CI data CS 16: L + 6 bytes, L counting C through the last data byte.
local function mbus_examine(_, s, at, n)
  local have = n - at + 1
  if have < 2 then return nil end
  local L = byte(s, at + 1)
  if have < 3 then return nil end
  if byte(s, at + 2) ~= L then return "fail" end      -- a 68 that starts nothing
  if have < 4 then return nil end
  if byte(s, at + 3) ~= 0x68 then return "fail" end
  if L < 3 then return "fail", "bad_length" end
  if have < 7 then return nil end
  -- a transport segment needs room for STSAP and DTSAP
  if byte(s, at + 6) <= 0x1F and L < 5 then return "fail", "bad_length" end
  if have < L + 5 then return nil end
  local sum = 0
  for i = at + 4, at + L + 3 do sum = sum + byte(s, i) end
  if sum % 256 ~= byte(s, at + L + 4) then return "fail", "bad_fcs" end
  if have < L + 6 then return nil end
  if byte(s, at + L + 5) ~= 0x16 then return "fail", "bad_length" end
  return "good", at + L + 5
end

-- Whole, or the user data joined with the other DLMS transport segments (CI 00-1F:
-- low nibble the sequence number, 0x10 the last segment).
local function mbus_deliver(f, frame)
  local ci = byte(frame, 7)
  if ci > 0x1F then return enqueue(f, frame) end      -- not segmented: unwrap's job
  local seq, last = ci % 16, ci >= 0x10
  if #f.seg > 0 and seq ~= (f.seg_seq + 1) % 16 then
    f.st.bad_length = f.st.bad_length + 1             -- a segment was lost
    f.seg, f.seg_len = {}, 0
  end
  if last and #f.seg == 0 then return enqueue(f, frame) end   -- one-frame message
  f.seg_seq = seq
  join(f, sub(frame, 10, -3), last)
end

local function letter(c) return (c >= 65 and c <= 90) or (c >= 97 and c <= 122) end

-- "/" + a 3-letter maker code ... the LF after the line starting with "!". Positions k
-- count from the "/"; the look resumes after the p1_seen bytes already examined.
local function p1_examine(f, s, at, n)
  local have = n - at + 1
  local k = f.p1_seen
  while k < 4 do                                      -- else a stray "/"
    if k >= have then
      f.p1_seen = k
      return nil
    end
    if not letter(byte(s, at + k)) then return "fail" end
    k = k + 1
  end
  while k < have do
    local ls = f.p1_line
    local c = byte(s, at + ls - 1)
    if k + 1 == ls and c == 0x2F then                 -- a telegram starts: this one is cut
      return "skip", at + ls - 1, "bad_length"
    end
    if c == 0x21 then
      -- the "!" line ends at its LF or its 7th byte, unless the telegram bound comes first
      local e = ls + 6
      local lf = find(s, "\n", at + ls, true)
      if lf and lf - at + 1 < e then e = lf - at + 1 end
      local stop = e <= P1_MAX and e or P1_MAX + 1
      if stop > have then
        f.p1_seen = ls - 1                            -- look at the whole line again
        return nil
      end
      if stop > P1_MAX then return "fail", "bad_length" end
      local line = sub(s, at + ls - 1, at + e - 1)
      if line == "!\r\n" then return "good", at + e - 1 end
      local crc = match(line, "^!(%x%x%x%x)\r\n$")
      if crc and tonumber(crc, 16) == arc_range(s, at, at + ls - 1) then
        return "good", at + e - 1
      end
      return "fail", "bad_fcs"
    end
    -- an ordinary line runs to its LF, unless a bound is crossed first
    local stop = ls + P1_LINE
    if stop > P1_MAX + 1 then stop = P1_MAX + 1 end
    local lf = find(s, "\n", at + k, true)
    lf = lf and lf - at + 1
    if lf and lf < stop then
      k, f.p1_line = lf, lf + 1
    elseif stop <= have then
      return "fail", "bad_length"
    else
      k = have
    end
  end
  f.p1_seen = k
  return nil
end

local examine = { hdlc = hdlc_examine, mbus = mbus_examine, p1 = p1_examine }
local deliver = { hdlc = hdlc_deliver, mbus = mbus_deliver, p1 = enqueue }

-- Examine pending until it needs more bytes. `at` walks through pending; pending is cut
-- once at the end, so a large push costs no copying per frame.
local function scan(f)
  local st = f.st
  local s = f.pending
  local n = #s
  local at = 1
  while true do
    if not f.cand then
      local mode = f.protocol
      local start = find(s, HUNT[mode], at, mode ~= "auto")
      if not start then
        st.bytes_discarded = st.bytes_discarded + n - at + 1
        at = n + 1
        break
      end
      st.bytes_discarded = st.bytes_discarded + start - at
      at = start
      f.cand, f.kind, f.flag_counted, f.need = true, START[byte(s, at)], false, 0
      f.p1_seen, f.p1_line = 1, 1
    end
    local kind = f.kind
    local what, x, counter = examine[kind](f, s, at, n)
    if what == nil then break end
    if what == "fail" then           -- the hunt resumes one byte after the start
      if x then st[x] = st[x] + 1 end
      if not f.flag_counted then st.bytes_discarded = st.bytes_discarded + 1 end
      f.flag_counted, f.cand = false, false
      at = at + 1
    elseif what == "skip" then
      if counter then st[counter] = st[counter] + 1 end
      st.bytes_discarded = st.bytes_discarded + x - at - (f.flag_counted and 1 or 0)
      f.flag_counted, f.need, f.p1_seen, f.p1_line = false, 0, 1, 1
      at = x
    else                             -- good: s[at..x]
      st.frames_ok = st.frames_ok + 1
      st.bytes_framed = st.bytes_framed + x - at + 1 - (f.flag_counted and 1 or 0)
      f.protocol = kind              -- "auto" settles on the first good frame
      deliver[kind](f, sub(s, at, x))
      if kind == "hdlc" then         -- the closing flag may open the next frame
        at, f.flag_counted, f.need = x, true, 0
      else
        at, f.cand, f.flag_counted = x + 1, false, false
      end
    end
  end
  f.pending = sub(s, at)
end

function Framer:push(s)
  if type(s) ~= "string" then error("bad argument #1 to 'push' (string expected)", 2) end
  local st = self.st
  st.bytes_in = st.bytes_in + #s
  if self.cr_lf then
    if self.held_cr then s = "\13" .. s end
    local dropped
    s, dropped = s:gsub("\13\n", "\n")
    st.bytes_discarded = st.bytes_discarded + dropped
    self.held_cr = byte(s, -1) == 13
    if self.held_cr then s = sub(s, 1, -2) end
  end
  self.pending = self.pending .. s
  scan(self)
  return self.tail - self.head
end

function Framer:pop()
  if self.head == self.tail then return nil end
  self.head = self.head + 1
  local s = self.queue[self.head]
  self.queue[self.head] = nil
  if self.head == self.tail then self.head, self.tail = 0, 0 end
  return s
end

function Framer:frames(s)
  self:push(s)
  return self.pop, self
end

local function buffered(f)
  return #f.pending - (f.flag_counted and 1 or 0) + (f.held_cr and 1 or 0)
end

function Framer:missing()
  local n = #self.pending
  if n == 0 then return 1 end
  local kind = self.kind
  if kind == "p1" then return 1 end                   -- no length field
  if kind == "mbus" then return n < 2 and 1 or byte(self.pending, 2) + 6 - n end
  if n < 3 then return 3 - n end
  return self.need - n
end

function Framer:stats()
  local st = self.st
  return { bytes_in = st.bytes_in, bytes_framed = st.bytes_framed,
    bytes_discarded = st.bytes_discarded, bytes_buffered = buffered(self),
    frames_ok = st.frames_ok, bad_hcs = st.bad_hcs, bad_fcs = st.bad_fcs,
    bad_length = st.bad_length, segments_joined = st.segments_joined,
    protocol = self.protocol }
end

function Framer:reset()
  local st = self.st
  st.bytes_discarded = st.bytes_discarded + buffered(self)
  self.pending, self.cand, self.flag_counted, self.need = "", false, false, 0
  self.held_cr = false
  self.seg, self.seg_len = {}, 0
end

function Framer:__tostring()
  return format("han.framer (%d waiting, %d buffered)", self.tail - self.head,
    buffered(self))
end

------------------------------------------------------------------------------------
-- AES-128-GCM (lua/han/gcm.lua does the arithmetic)

-- loaded on first use: controllers reading plain Norwegian meters never pay for it
local gcm_module
local function gcm_new(key)
  gcm_module = gcm_module or require("han.gcm")
  return gcm_module.new(key)
end

-- Keys and system titles: `len` raw bytes or 2 * len hex digits. Misuse raises.
local function bytes_from(k, name, len)
  if type(k) == "string" then
    if #k == len then return k end
    if #k == 2 * len and not k:find("[^%x]") then
      return (k:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
    end
  end
  error(format("bad %s (%d bytes or %d hex digits expected)", name, len, 2 * len), 3)
end
M.bytes_from = bytes_from

local function check_iv(iv)
  if type(iv) ~= "string" or #iv ~= 12 then error("bad argument #2 (12-byte IV expected)", 3) end
end

function M.gcm_encrypt(key, iv, pt, aad)
  local g = gcm_new(bytes_from(key, "key", 16))
  check_iv(iv)
  if type(pt) ~= "string" then error("bad argument #3 to 'gcm_encrypt' (string expected)", 2) end
  local ct = g:ctr(iv, pt)
  return ct, g:tag(iv, aad or "", ct)
end

function M.gcm_decrypt(key, iv, ct, aad, tag)
  local g = gcm_new(bytes_from(key, "key", 16))
  check_iv(iv)
  if type(ct) ~= "string" or type(aad) ~= "string" or type(tag) ~= "string" then
    error("bad argument to 'gcm_decrypt' (strings expected)", 2)
  end
  if #tag < 1 or #tag > 16 then error("bad argument #5 (1 to 16 bytes expected)", 2) end
  if not gcm_module.equal(sub(g:tag(iv, aad, ct), 1, #tag), tag) then
    return nil, "authentication failed"
  end
  return g:ctr(iv, ct)
end

-- core.unwrap: lua/han/luaunwrap.lua, built on first use
local unwrap
function M.unwrap(s, keys)
  unwrap = unwrap or require("han.luaunwrap").new(M, walk.ber)
  return unwrap(s, keys)
end

M.p1 = require("han.luap1").new(arc_range)

-- core.reading: lua/han/luareading.lua names the recorded values; a body laid out as
-- one seen before is read by lua/han/luareplay.lua.
local name = require("han.luareading").name
local replay = require("han.luareplay")
function M.reading(s, plan)
  if type(s) ~= "string" then error("bad argument #1 to 'reading' (string expected)", 2) end
  if type(plan) ~= "table" then error("bad argument #2 to 'reading' (table expected)", 2) end
  local p, last, at, _, src = notification(s)
  if not p then return nil, last end
  local rec = take()
  local r, P, learn = replay.reading(s, p, last, plan, src, at, rec)
  if r then
    give(rec, 1)
    return r, P
  end
  local count, err = body(s, p, last, rec)
  if not count then
    give(rec, 0)
    return nil, err
  end
  local steps = learn and rec.steps
  if steps then steps.n = 0 end
  r, P = name(s, rec, plan, src, at, steps)
  if r and steps then replay.learn(s, p, last, rec, count, plan, src, P) end
  give(rec, count)
  return r, P
end

return M
