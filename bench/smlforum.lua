-- The SML baseline: a parser written the way they are posted in forums and home-automation
-- threads for German meters' IR heads. Find the start and end escape sequences, check the
-- transport CRC-16/X-25 with a 256-entry table and the `bit` library (LuaBitOp on Lua 5.1,
-- built in on LuaJIT), then walk the bytes: at each list entry (77 07 + the 6-byte OBIS
-- code) decode the TL of status, valTime, unit, scaler and value, and store the value
-- times 10^scaler by its code. Out: a table "1-0:1.8.0*255" -> number (or string).
local bit = require("bit")
local band, bxor, rshift = bit.band, bit.bxor, bit.rshift
local byte, sub, find, format = string.byte, string.sub, string.find, string.format

local M = {}

local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if band(c, 1) ~= 0 then c = bxor(rshift(c, 1), 0x8408) else c = rshift(c, 1) end
  end
  crc_table[i] = c
end

local function crc16(s, i, j)
  local crc = 0xFFFF
  for k = i, j do
    crc = bxor(crc_table[band(bxor(crc, byte(s, k)), 0xFF)], rshift(crc, 8))
  end
  return bxor(crc, 0xFFFF)
end

-- TL at p: type, length of the data (elements for a list), position of the data.
local function tl(s, p)
  local b = byte(s, p)
  local typ, len, n = band(rshift(b, 4), 7), band(b, 15), 1
  while band(b, 0x80) ~= 0 do
    p = p + 1
    b = byte(s, p)
    len = len * 16 + band(b, 15)
    n = n + 1
  end
  if typ ~= 7 then len = len - n end
  return typ, len, p + 1
end

-- Skip one element at p (lists recursively): the position after it.
local function skip(s, p)
  local typ, len, q = tl(s, p)
  if typ == 7 then
    for _ = 1, len do q = skip(s, q) end
    return q
  end
  return q + len
end

-- A number of len bytes at p (typ 5 signed, 6 unsigned).
local function number(s, p, len, typ)
  local v = 0
  for k = p, p + len - 1 do v = v * 256 + byte(s, k) end
  if typ == 5 and byte(s, p) >= 128 then v = v - 2 ^ (8 * len) end
  return v
end

-- parse(transmission) -> values, or nil
function M.parse(t)
  if sub(t, 1, 8) ~= "\27\27\27\27\1\1\1\1" then return end
  local e = find(t, "\27\27\27\27\26", 9, true)
  if not e or #t < e + 7 then return end
  local lo, hi = byte(t, e + 6, e + 7)
  if crc16(t, 1, e + 5) ~= lo + hi * 256 then return end
  local values = {}
  local i = 9
  while i < e do
    if byte(t, i) == 0x77 and byte(t, i + 1) == 0x07 then
      local a, b, c, d, f, g = byte(t, i + 2, i + 7)
      local code = format("%d-%d:%d.%d.%d*%d", a, b, c, d, f, g)
      local p = skip(t, skip(t, i + 8))          -- status, valTime
      local _, len, q = tl(t, p)                 -- unit
      p = q + len
      local scaler = 0
      local typ
      typ, len, q = tl(t, p)
      if len > 0 then scaler = number(t, q, len, typ) end
      p = q + len
      typ, len, q = tl(t, p)                     -- value
      if typ == 5 or typ == 6 then
        values[code] = number(t, q, len, typ) * 10 ^ scaler
      elseif typ == 0 then
        values[code] = sub(t, q, q + len - 1)
      end
      i = q + len
    else
      i = i + 1
    end
  end
  return values
end

return M
