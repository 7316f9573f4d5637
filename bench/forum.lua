-- The baseline han is measured against: a Kamstrup list-1 decoder written the way the
-- forum thread that started the project does it (verify the length, flags and CRC, then
-- read values at fixed offsets into a table). Two CRC variants from the thread: the bit
-- loop and the 256-entry table. Uses the `bit` library like the controller does
-- (LuaBitOp on Lua 5.1, built in on LuaJIT).
--
-- M.parse is the thread's code as posted: a substring per field (b:sub, then :byte).
-- M.parse_bytes is the honest version of the same decoder, what a careful forum poster
-- writes: the same checks and the same table out, but every value read at its fixed
-- offset with a local string.byte and the table CRC run over the frame in place. The
-- performance floors (bench/README.md) are ratios against parse_bytes.
local bit = require("bit")
local band, bxor, rshift, lshift = bit.band, bit.bxor, bit.rshift, bit.lshift

local M = {}

function M.crc16_bitwise(data)
  local crc = 0xFFFF
  for i = 1, #data do
    crc = bxor(crc, data:byte(i))
    for _ = 1, 8 do
      local k = band(crc, 1)
      crc = rshift(crc, 1)
      if k ~= 0 then crc = bxor(crc, 0x8408) end
    end
  end
  return bxor(crc, 0xFFFF)
end

-- The same CRC with the thread's 256-entry table, built here instead of pasted.
local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if band(c, 1) ~= 0 then c = bxor(rshift(c, 1), 0x8408) else c = rshift(c, 1) end
  end
  crc_table[i + 1] = c
end

function M.crc16_table(v)
  local crc = 0xFFFF
  for i = 1, #v do
    local j = band(bxor(v:byte(i), crc), 0xFF)
    crc = band(bxor(crc_table[j + 1], rshift(crc, 8)), 0xFFFF)
  end
  return bxor(crc, 0xFFFF)
end

local function uint16(b)
  if #b ~= 2 then return end
  return lshift(b:byte(1), 8) + b:byte(2)
end

local function uint32(b)
  if #b ~= 4 then return end
  return b:byte(1) * 2 ^ 24 + lshift(b:byte(2), 16) + lshift(b:byte(3), 8) + b:byte(4)
end

local weekdays = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" }

local function date_time(b)
  if #b ~= 12 then return end
  local t = {}
  t.year = uint16(b:sub(1, 2))
  t.month = b:byte(3)
  t.day = b:byte(4)
  t.wday = weekdays[b:byte(5)]
  t.hour = b:byte(6)
  t.min = b:byte(7)
  t.sec = b:byte(8)
  return t
end

-- parse(frame, crc16) -> table, or nil: the 228-byte Kamstrup 10 s list only.
function M.parse(b, crc16)
  if #b ~= 228 then return end
  if b:byte(1) ~= 0x7E or b:byte(-1) ~= 0x7E then return end
  local check_sum = lshift(b:byte(-2), 8) + b:byte(-3)
  if check_sum ~= crc16(b:sub(2, -4)) then return end
  if b:sub(34, 47) ~= "Kamstrup_V0001" then return end
  local t = {}
  t.time = date_time(b:sub(18, 29))
  t.version = "Kamstrup_V0001"
  t.id = b:sub(58, 73)
  t.type = b:sub(84, 101)
  t.P = { imp = uint32(b:sub(111, 114)), exp = uint32(b:sub(124, 127)) }
  t.Q = { imp = uint32(b:sub(137, 140)), exp = uint32(b:sub(150, 153)) }
  t.I = { uint32(b:sub(163, 166)) / 100, uint32(b:sub(176, 179)) / 100,
    uint32(b:sub(189, 192)) / 100 }
  t.U = { uint16(b:sub(202, 203)), uint16(b:sub(213, 214)), uint16(b:sub(224, 225)) }
  return t
end

-- The honest variant. Locals for everything the loops touch; no substring but the
-- strings the table holds (meter id and type).
local byte, sub, find = string.byte, string.sub, string.find

-- CRC-16/X-25 of b[i .. j] with the 256-entry table, read in place.
local function crc16_bytes(b, i, j)
  local crc = 0xFFFF
  for k = i, j do
    crc = bxor(crc_table[band(bxor(byte(b, k), crc), 0xFF) + 1], rshift(crc, 8))
  end
  return bxor(crc, 0xFFFF)
end
M.crc16_bytes = crc16_bytes

local function u16(b, i)
  local x, y = byte(b, i, i + 1)
  return x * 256 + y
end

local function u32(b, i)
  local w, x, y, z = byte(b, i, i + 3)
  return ((w * 256 + x) * 256 + y) * 256 + z
end

-- parse_bytes(frame) -> table, or nil: the 228-byte Kamstrup 10 s list only, the table
-- M.parse gives.
function M.parse_bytes(b)
  local n = #b
  if n ~= 228 then return end
  if byte(b, 1) ~= 0x7E or byte(b, n) ~= 0x7E then return end
  local lo, hi = byte(b, n - 2, n - 1)
  if hi * 256 + lo ~= crc16_bytes(b, 2, n - 3) then return end
  if find(b, "Kamstrup_V0001", 34, true) ~= 34 then return end
  local year, month, day, wday, hour, min, sec = u16(b, 18), byte(b, 20, 25)
  return {
    time = { year = year, month = month, day = day, wday = weekdays[wday], hour = hour,
      min = min, sec = sec },
    version = "Kamstrup_V0001",
    id = sub(b, 58, 73),
    type = sub(b, 84, 101),
    P = { imp = u32(b, 111), exp = u32(b, 124) },
    Q = { imp = u32(b, 137), exp = u32(b, 150) },
    I = { u32(b, 163) / 100, u32(b, 176) / 100, u32(b, 189) / 100 },
    U = { u16(b, 202), u16(b, 213), u16(b, 224) },
  }
end

return M
