-- han.hourly([opts]): books each hourly register set once, to the meter hour it closes.
-- Meters push the hourly list just after the hour it describes, and Aidon sometimes
-- pushes the same list twice. Feed every reading; the hourly ones come back once.
local M = {}

local Hourly = {}
Hourly.__index = Hourly

local REGISTERS = require("han.naming.fields").registers

-- opts.meters: how many meters' last hours to remember (default 16); beyond that the
-- memory starts over, so it stays bounded whatever ids a noisy line brings.
function M.new(opts)
  local meters = opts and opts.meters or 16
  if type(meters) ~= "number" or meters < 1 then
    error("bad option meters (a positive number expected)", 2)
  end
  return setmetatable({ last = {}, count = 0, max = meters, repeats = 0 }, Hourly)
end

-- push(reading) -> {hour=, meter_id=, meter_time=, energy_import=, energy_export=,
-- reactive_energy_import=, reactive_energy_export=} the first time a meter's hourly
-- list for an hour is seen; nil, "repeat" for an hour already reported (or older: a
-- meter's hours only go forward); nil for readings that are not hourly lists.
function Hourly:push(r)
  if type(r) ~= "table" then
    error("bad argument #1 to 'push' (reading expected, got " .. type(r) .. ")", 2)
  end
  local hour = r.hour
  if not hour then return nil end
  local id = r.meter_id or ""
  local last = self.last[id]
  if last and hour <= last then
    self.repeats = self.repeats + 1
    return nil, "repeat"
  end
  if not last then
    if self.count >= self.max then self.last, self.count = {}, 0 end
    self.count = self.count + 1
  end
  self.last[id] = hour
  local set = { hour = hour, meter_id = r.meter_id, meter_time = r.meter_time }
  for _, k in ipairs(REGISTERS) do set[k] = r[k] end
  return set
end

return M
