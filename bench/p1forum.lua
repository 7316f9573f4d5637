-- The P1 baseline: a DSMR telegram parser written the way they are posted in forums and
-- home-automation threads. Check the "/" that opens the telegram and the "!" line, the
-- CRC-16/ARC (reflected 0xA001, init 0, over "/" through "!") with a 256-entry table and
-- the `bit` library (LuaBitOp on Lua 5.1, built in on LuaJIT), then per line match the
-- OBIS code and its groups, take the last group as the value, split the unit at "*" and
-- tonumber the number. Out: a table code -> value (a number, or the group's text when it
-- is not one) and a table code -> unit.
local bit = require("bit")
local band, bxor, rshift = bit.band, bit.bxor, bit.rshift
local byte, sub, find, match, gmatch = string.byte, string.sub, string.find, string.match,
  string.gmatch

local M = {}

local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if band(c, 1) ~= 0 then c = bxor(rshift(c, 1), 0xA001) else c = rshift(c, 1) end
  end
  crc_table[i] = c
end

function M.crc16(s, i, j)
  local crc = 0
  for k = i, j do
    crc = bxor(crc_table[band(bxor(crc, byte(s, k)), 0xFF)], rshift(crc, 8))
  end
  return crc
end
local crc16 = M.crc16

-- parse(telegram) -> values, units, or nil
function M.parse(t)
  if byte(t, 1) ~= 47 then return end                      -- "/"
  local bang = find(t, "\n!", 1, true)
  if not bang then return end
  bang = bang + 1
  local stated = tonumber(sub(t, bang + 1, bang + 4), 16)
  if not stated or stated ~= crc16(t, 1, bang) then return end
  local values, units = {}, {}
  values.header = match(t, "^/([^\r\n]*)")
  for line in gmatch(sub(t, 1, bang - 1), "[^\r\n]+") do
    local code, groups = match(line, "^(%d+%-%d+:%d+%.%d+%.%d+)(%(.*%))$")
    if code then
      local last
      for g in gmatch(groups, "%(([^)]*)%)") do last = g end
      local value, unit = match(last, "^([^*]*)%*(.*)$")
      if not value then value = last end
      values[code] = tonumber(value) or value
      units[code] = unit
    end
  end
  return values, units
end

return M
