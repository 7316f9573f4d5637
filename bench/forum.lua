-- The baseline han is measured against: a Kamstrup list-1 decoder written the way the
-- forum thread that started the project does it (verify the length, flags and CRC, then
-- read values at fixed offsets into a table). Two CRC variants from the thread: the bit
-- loop and the 256-entry table. Uses the `bit` library like the controller does
-- (LuaBitOp on Lua 5.1, built in on LuaJIT).
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

return M
