-- The OBIS codes han names, keyed by C.D.E (A and B differ between vendors for the
-- same quantity). `kind` says how a value scales: power (W, var), energy (kWh, kvarh),
-- current (A), voltage (V), factor (power factor), text, clock.
local M = {}

local function q(field, kind) return { field = field, kind = kind } end

M.by_cde = {
  ["0.2.129"] = q("list", "text"),
  ["96.1.0"] = q("meter_id", "text"),       -- Aidon, Kaifa
  ["0.0.5"] = q("meter_id", "text"),        -- Kamstrup
  ["96.1.7"] = q("meter_type", "text"),     -- Aidon, Kaifa
  ["96.1.1"] = q("meter_type", "text"),     -- Kamstrup
  ["1.0.0"] = q("meter_time", "clock"),
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

-- The unit of each kind in readings, and the power of ten that turns a COSEM unit
-- (enum of the stream's scaler/unit pair) into it: Wh and varh become kWh and kvarh.
M.units = { power = "W", energy = "kWh", current = "A", voltage = "V" }
M.unit_exponent = { [30] = -3, [32] = -3, [31] = -3 }

-- "A.B.C.D.E.F" of 6 raw bytes, and the entry for its C.D.E (nil when unnamed).
-- Memoised by the raw bytes; the memo stops growing at a bound (hostile input).
local memo, memo_size = {}, 0

function M.lookup(raw)
  local hit = memo[raw]
  if hit then return hit end
  local a, b, c, d, e, f = raw:byte(1, 6)
  hit = {
    code = a .. "." .. b .. "." .. c .. "." .. d .. "." .. e .. "." .. f,
    entry = M.by_cde[c .. "." .. d .. "." .. e],
  }
  if memo_size < 512 then
    memo[raw], memo_size = hit, memo_size + 1
  end
  return hit
end

return M
