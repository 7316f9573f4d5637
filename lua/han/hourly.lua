-- han.hourly(): books each hourly register set once, to the meter hour it closes.
-- Meters push the hourly list after the hour; Aidon sometimes pushes the same list
-- twice. Feed every reading; hourly ones come back once, repeats are flagged.
local M = {}

local Hourly = {}
Hourly.__index = Hourly

local REGISTERS = { "energy_import", "energy_export", "reactive_energy_import",
  "reactive_energy_export" }
local MAX_METERS = 16   -- memory stays bounded whatever ids a line brings

function M.new()
  return setmetatable({ last = {}, meters = 0, repeats = 0 }, Hourly)
end

-- push(reading) -> {hour=, meter_id=, meter_time=, energy_import=, ...} the first time
-- an hour's registers are seen; nil, "repeat" for the same hour again; nil for readings
-- that are not hourly lists.
function Hourly:push(r)
  if type(r) ~= "table" or not r.hour then return nil end
  local id = r.meter_id or ""
  local last = self.last[id]
  if last and r.hour <= last then
    self.repeats = self.repeats + 1
    return nil, "repeat"
  end
  if not last then
    if self.meters >= MAX_METERS then self.last, self.meters = {}, 0 end
    self.meters = self.meters + 1
  end
  self.last[id] = r.hour
  local set = { hour = r.hour, meter_id = r.meter_id, meter_time = r.meter_time }
  for _, k in ipairs(REGISTERS) do set[k] = r[k] end
  return set
end

return M
