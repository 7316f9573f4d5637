-- The OBIS codes han names, keyed by C.D.E: A and B differ between vendors for the same
-- quantity (Aidon 1.0.1.7.0.255, Kamstrup 1.1.1.7.0.255). `kind` says how a value
-- scales: power (W, var), energy (kWh, kvarh), current (A), voltage (V), factor (power
-- factor, no unit), text (strings), clock (the meter's date-time).
local M = {}

local function q(field, kind) return { field = field, kind = kind } end

M.by_cde = {
  ["0.2.129"] = q("list", "text"),          -- list version id
  ["96.1.0"] = q("meter_id", "text"),       -- Aidon, Kaifa
  ["0.0.5"] = q("meter_id", "text"),        -- Kamstrup
  ["42.0.0"] = q("meter_id", "text"),       -- logical device name (Landis+Gyr E570)
  ["96.1.7"] = q("meter_type", "text"),     -- Aidon, Kaifa
  ["96.1.1"] = q("meter_type", "text"),     -- Kamstrup
  ["1.0.0"] = q("meter_time", "clock"),     -- 0.0.1.0.0.255; Kamstrup 0.1.1.0.0.255
  ["1.7.0"] = q("power_import", "power"),
  ["2.7.0"] = q("power_export", "power"),
  ["3.7.0"] = q("reactive_import", "power"),
  ["4.7.0"] = q("reactive_export", "power"),
  ["31.7.0"] = q("current_l1", "current"),
  ["51.7.0"] = q("current_l2", "current"),
  ["71.7.0"] = q("current_l3", "current"),
  ["32.7.0"] = q("voltage_l1", "voltage"),
  ["52.7.0"] = q("voltage_l2", "voltage"),
  ["72.7.0"] = q("voltage_l3", "voltage"),
  ["1.8.0"] = q("energy_import", "energy"),
  ["2.8.0"] = q("energy_export", "energy"),
  ["3.8.0"] = q("reactive_energy_import", "energy"),
  ["4.8.0"] = q("reactive_energy_export", "energy"),
  -- per phase (Swedish and Danish lists)
  ["21.7.0"] = q("power_import_l1", "power"),
  ["41.7.0"] = q("power_import_l2", "power"),
  ["61.7.0"] = q("power_import_l3", "power"),
  ["22.7.0"] = q("power_export_l1", "power"),
  ["42.7.0"] = q("power_export_l2", "power"),
  ["62.7.0"] = q("power_export_l3", "power"),
  ["23.7.0"] = q("reactive_import_l1", "power"),
  ["43.7.0"] = q("reactive_import_l2", "power"),
  ["63.7.0"] = q("reactive_import_l3", "power"),
  ["24.7.0"] = q("reactive_export_l1", "power"),
  ["44.7.0"] = q("reactive_export_l2", "power"),
  ["64.7.0"] = q("reactive_export_l3", "power"),
  ["13.7.0"] = q("power_factor", "factor"),
  ["33.7.0"] = q("power_factor_l1", "factor"),
  ["53.7.0"] = q("power_factor_l2", "factor"),
  ["73.7.0"] = q("power_factor_l3", "factor"),
}

-- The unit of each numeric kind in readings.
M.units = { power = "W", energy = "kWh", current = "A", voltage = "V" }

-- The power of ten that turns a COSEM unit (the enum of a stream's scaler/unit pair)
-- into the reading's unit: Wh, VAh and varh become kWh, kVAh and kvarh.
M.unit_exponent = { [30] = -3, [31] = -3, [32] = -3 }

-- The fields of each kind that has a unit, for options that scale a whole kind.
M.fields_of = {}
for kind in pairs(M.units) do M.fields_of[kind] = {} end
for _, entry in pairs(M.by_cde) do
  local list = M.fields_of[entry.kind]
  if list then list[#list + 1] = entry.field end
end

-- "A.B.C.D.E.F" and "C.D.E" of 6 raw bytes.
function M.code(raw)
  local a, b, c, d, e, f = raw:byte(1, 6)
  return a .. "." .. b .. "." .. c .. "." .. d .. "." .. e .. "." .. f, c .. "." .. d .. "." .. e
end

-- The 6 raw bytes of "A.B.C.D.E.F".
function M.raw(code)
  local a, b, c, d, e, f = code:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then error("bad OBIS code '" .. tostring(code) .. "'", 2) end
  return string.char(tonumber(a), tonumber(b), tonumber(c), tonumber(d), tonumber(e),
    tonumber(f))
end

return M
