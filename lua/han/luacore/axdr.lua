-- han.luacore.axdr: the A-XDR rules of han.luacore (docs/core-api.md, "A-XDR values") in one
-- walk that records the values in flat arrays, as csrc/axdr.c does in C.
-- core.notification builds its tables from the records (M.value), core.values its values
-- and layout key (M.values).
--
-- Record i of a walk: K[i] its kind, V[i] and W[i] what it holds:
--   "number", "boolean"  V = the value
--   "null"
--   "string"             V = first position, W = length
--   "bits"               V = first position, W = number of bits
--   "time"               V = first position, W = tag (0x19 date-time, 0x1A date, 0x1B time)
--   "list"               V = number of elements, W = the record after the last element;
--                        the elements are the records from i + 1 on
-- and T[i] the position of its tag (the layout key is cut there).
local byte, sub, floor = string.byte, string.sub, math.floor
local fail = require("han.luacore.errors").fail

local M = {}

M.null = setmetatable({}, { __tostring = function() return "null" end })
local null = M.null

-- LuaJIT's table.new(na, nh): a table with room for what comes; nil elsewhere.
local table_new = (function()
  local ok, fn = pcall(require, "table.new")
  return ok and type(fn) == "function" and fn or nil
end)()

local function field(b) if b ~= 0xFF then return b end end
local function year(y1, y2)
  local y = y1 * 256 + y2
  if y ~= 0xFFFF then return y end
end

-- The time table of the 12 date-time bytes at p; each table is made in one piece, with
-- room for its fields.
function M.datetime(s, p)
  local y1, y2, month, day, wday, hour, min, sec, hs, d1, d2, status = byte(s, p, p + 11)
  local dev = d1 * 256 + d2
  if dev == 0x8000 then dev = nil elseif dev > 0x8000 then dev = dev - 0x10000 end
  -- sized for the eight fields every meter sends; the two often left out are added
  local t = { year = year(y1, y2), month = field(month), day = field(day),
    wday = field(wday), hour = field(hour), min = field(min), sec = field(sec),
    status = field(status) }
  if hs ~= 0xFF then t.hundredths = hs end
  if dev then t.deviation = dev end
  return t
end
local function date(y1, y2, month, day, wday)
  return { year = year(y1, y2), month = field(month), day = field(day), wday = field(wday) }
end
local function clock(hour, min, sec, hundredths)
  return { hour = field(hour), min = field(min), sec = field(sec),
    hundredths = field(hundredths) }
end
local datetime = M.datetime

-- An IEEE 754 number from its first byte a (the sign), its exponent e and mantissa m:
-- emax the exponent of infinities and NaN, 2^mbits the mantissa's scale.
local function ieee(a, e, m, emax, mbits, bias)
  local sign = a >= 128 and -1 or 1
  if e == emax then
    if m ~= 0 then return 0 / 0 end
    return sign * (1 / 0)
  end
  if e == 0 then return sign * (m * 2.0 ^ (1 - bias - mbits)) end
  return sign * ((1 + m / 2 ^ mbits) * 2.0 ^ (e - bias))
end

local function float32(a, b, c, d)
  return ieee(a, (a % 128) * 2 + floor(b / 128), ((b % 128) * 256 + c) * 256 + d,
    255, 23, 127)
end

local function float64(a, b, c, d, e5, f, g, h)
  local m = (((((b % 16) * 256 + c) * 256 + d) * 256 + e5) * 256 + f) * 65536 + g * 256 + h
  return ieee(a, (a % 128) * 16 + floor(b / 16), m, 2047, 52, 1023)
end

-- The number of a fixed-size number tag but BCD from its bytes at p (the size is
-- checked; the walk reads u32 and u16 itself).
local function number(s, p, tag)
  if tag == 0x06 then
    local a, b, c, d = byte(s, p, p + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  elseif tag == 0x12 then
    local a, b = byte(s, p, p + 1)
    return a * 256 + b
  elseif tag == 0x11 or tag == 0x16 then
    return byte(s, p)
  elseif tag == 0x10 then
    local a, b = byte(s, p, p + 1)
    local v = a * 256 + b
    return v >= 0x8000 and v - 0x10000 or v
  elseif tag == 0x05 then
    local a, b, c, d = byte(s, p, p + 3)
    local v = ((a * 256 + b) * 256 + c) * 256 + d
    return v >= 0x80000000 and v - 0x100000000 or v
  elseif tag == 0x0F then
    local v = byte(s, p)
    return v >= 0x80 and v - 0x100 or v
  elseif tag == 0x14 or tag == 0x15 then
    local a, b, c, d, e, f, g, h = byte(s, p, p + 7)
    local hi = ((a * 256 + b) * 256 + c) * 256 + d
    local lo = ((e * 256 + f) * 256 + g) * 256 + h
    if tag == 0x14 and hi >= 0x80000000 then hi = hi - 0x100000000 end
    if hi >= 0x80000000 then return hi * 4294967296.0 + lo end -- beyond i64: a float
    return hi * 4294967296 + lo
  elseif tag == 0x17 then
    return float32(byte(s, p, p + 3))
  end
  return float64(byte(s, p, p + 7))
end
M.number = number

-- Sizes of the fixed-size tags, and the kind each records as.
local FIXED = { [0x03] = 1, [0x05] = 4, [0x06] = 4, [0x0D] = 1, [0x0F] = 1, [0x10] = 2,
  [0x11] = 1, [0x12] = 2, [0x14] = 8, [0x15] = 8, [0x16] = 1, [0x17] = 4, [0x18] = 8,
  [0x19] = 12, [0x1A] = 5, [0x1B] = 4 }
local TIME = { [0x19] = true, [0x1A] = true, [0x1B] = true }

local MAX_DEPTH = 16

-- A BER length at p: value and next position, or nil, err, code.
local function ber(s, p, n)
  if p > n then return fail("truncated_data") end
  local k = byte(s, p)
  if k < 0x80 then return k, p + 1 end
  if k == 0x80 or k > 0x84 then return fail("bad_ber") end
  k = k - 0x80
  if n - p < k then return fail("truncated_data") end
  local v = 0
  for q = p + 1, p + k do v = v * 256 + byte(s, q) end
  return v, p + 1 + k
end
M.ber = ber

-- The length after the tag at p (b1: the byte after it), when that many bytes follow,
-- and where they start; or nil, err, code.
local function length(s, p, n, b1)
  local len, q, code = b1, p + 2
  if p + 1 > n or len >= 0x80 then
    len, q, code = ber(s, p + 1, n)
    if not len then return nil, q, code end
  end
  if len > n - q + 1 then return fail("truncated_data") end
  return len, q
end

-- Records of one walk, reused: take() gives a free set, give() takes it back (a set
-- left out, by an error raised in between, is made anew). rec.parts: the runs of a
-- layout key (M.values).
local spare
function M.take()
  local rec = spare or { K = {}, V = {}, W = {}, T = {}, open = {}, left = {}, parts = {} }
  spare = nil
  return rec
end
function M.give(rec, count)
  if count < 1024 then spare = rec end   -- a huge body's records are not kept
end

-- Record the one value in s[p..n]: the number of records and the next position, or
-- nil, err, code. Iterative: open[d] is the record of the d-th open list, left[d] how many
-- elements its parent still had to come when it opened; rem counts the innermost's.
function M.walk(s, p, n, rec)
  local K, V, W, T, open, left = rec.K, rec.V, rec.W, rec.T, rec.open, rec.left
  local i, d, rem = 0, 0, 1
  while true do
    if d >= MAX_DEPTH then return fail("too_deep") end
    if p > n then return fail("truncated_data") end
    -- the tag and what may follow it, in one call: a BER length or a short number
    local tag, b1, b2, b3, b4 = byte(s, p, p + 4)
    local done = true   -- false when a list opens: its elements come next
    i = i + 1
    T[i] = p
    if tag == 0x09 or tag == 0x0A or tag == 0x0C then
      local len, q = b1, p + 2   -- a short length whose bytes are in: no call
      if not (len and len < 0x80 and len <= n - p - 1) then
        local code
        len, q, code = length(s, p, n, b1)
        if not len then return nil, q, code end
      end
      K[i], V[i], W[i] = "string", q, len
      p = q + len
    elseif tag == 0x06 then
      if p + 4 > n then return fail("truncated_data") end
      K[i], V[i] = "number", ((b1 * 256 + b2) * 256 + b3) * 256 + b4
      p = p + 5
    elseif tag == 0x12 then
      if p + 2 > n then return fail("truncated_data") end
      K[i], V[i] = "number", b1 * 256 + b2
      p = p + 3
    elseif tag == 0x02 or tag == 0x01 then
      local len, q, code = length(s, p, n, b1)   -- each element takes a byte at least
      if not len then return nil, q, code end
      K[i], V[i] = "list", len
      p = q
      if len > 0 then
        d = d + 1
        open[d], left[d], rem = i, rem, len
        done = false
      else
        W[i] = i + 1
      end
    elseif tag == 0x00 then
      K[i] = "null"
      p = p + 1
    elseif tag == 0x04 then
      local len, q, code = ber(s, p + 1, n)
      if not len then return nil, q, code end
      local size = floor(len / 8) + (len % 8 ~= 0 and 1 or 0)
      if size > n - q + 1 then return fail("truncated_data") end
      K[i], V[i], W[i] = "bits", q, len
      p = q + size
    else
      local size = FIXED[tag]
      if not size then return fail("unknown_type", tag) end
      p = p + 1
      if size > n - p + 1 then return fail("truncated_data") end
      if TIME[tag] then
        K[i], V[i], W[i] = "time", p, tag
      elseif tag == 0x03 then
        K[i], V[i] = "boolean", b1 ~= 0
      elseif tag == 0x0D then
        local hi, lo = floor(b1 / 16), b1 % 16
        if hi > 9 or lo > 9 then return fail("bad_bcd") end
        K[i], V[i] = "number", hi * 10 + lo
      else
        K[i], V[i] = "number", number(s, p, tag)
      end
      p = p + size
    end
    if done then
      rem = rem - 1
      while rem == 0 do   -- the value completes the innermost list, and maybe more
        if d == 0 then return i, p end
        W[open[d]] = i + 1
        rem = left[d] - 1
        d = d - 1
      end
    end
  end
end

-- The string of "0" and "1" of a bit-string at p.
local function bits(s, p, nbits)
  local out = {}
  for i = 0, nbits - 1 do
    local b = byte(s, p + floor(i / 8))
    out[i + 1] = floor(b / 2 ^ (7 - i % 8)) % 2 == 1 and "1" or "0"
  end
  return table.concat(out)
end

-- value(s, K, V, W, i, sentinel): the Lua value of record i, as core.notification gives it
-- (null-data as `sentinel`, the null of the core it is for), and the record after it.
local function value(s, K, V, W, i, sentinel)
  local k = K[i]
  if k == "number" or k == "boolean" then return V[i], i + 1 end
  if k == "string" then
    local q = V[i]
    return sub(s, q, q + W[i] - 1), i + 1
  end
  if k == "list" then
    local count = V[i]
    local t = table_new and table_new(count, 0) or {}
    local j = i + 1
    for e = 1, count do t[e], j = value(s, K, V, W, j, sentinel) end
    return t, j
  end
  if k == "null" then return sentinel, i + 1 end
  if k == "bits" then return bits(s, V[i], W[i]), i + 1 end
  local p, tag = V[i], W[i]
  if tag == 0x19 then return datetime(s, p), i + 1 end
  if tag == 0x1A then return date(byte(s, p, p + 4)), i + 1 end
  return clock(byte(s, p, p + 3)), i + 1
end
M.value = value

-- values(s, rec, count, last): the values of the `count` records of rec (a body ending
-- at `last`) that the body's layout key leaves out, in one table, and the key
-- (docs/core-api.md, core.values): the runs of key bytes, each cut where a value's
-- bytes are left out, joined once.
local concat = table.concat
function M.values(s, rec, count, last)
  local K, V, W, T, parts = rec.K, rec.V, rec.W, rec.T, rec.parts
  local v = table_new and table_new(count, 0) or {}
  local n, np = 0, 0
  local from, to = T[1], T[1]   -- the run of key bytes so far: s[from .. to - 1]
  for i = 1, count do
    local k, at = K[i], T[i]
    if at ~= to then
      np = np + 1
      parts[np] = sub(s, from, to - 1)
      from = at
    end
    if k == "number" then
      n = n + 1
      v[n] = V[i]
      to = at + 1
    elseif k == "string" then
      local q, len = V[i], W[i]
      if len == 12 and byte(s, at) == 0x09 then   -- a date-time: a value
        n = n + 1
        v[n] = sub(s, q, q + len - 1)
        to = q
      else
        to = q + len
      end
    elseif k == "list" then   -- its first element, or what follows an empty list
      to = i < count and T[i + 1] or last + 1
    elseif k == "null" then
      to = at + 1
    else
      n = n + 1
      v[n] = value(s, K, V, W, i, null)
      to = at + 1
    end
  end
  np = np + 1
  parts[np] = sub(s, from, to - 1)
  return v, concat(parts, "", 1, np)
end

return M
