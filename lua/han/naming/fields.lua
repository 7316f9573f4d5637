-- han.naming.fields: the field catalogue, the one table that says what every reading
-- field (and every capacity report field) is: its OBIS code(s) by C.D.E (A and B differ
-- between vendors for the same quantity: Aidon 1.0.1.7.0.255, Kamstrup 1.1.1.7.0.255),
-- its kind, unit and label, and the Home Assistant classes and LogicMachine datatype the
-- outputs give it. The namer, han.decode's options, han.lm, han.mqtt, han.hourly,
-- han.capacity and `han watch` all read it.
--
-- Kinds: power (W, var), energy (kWh, kvarh), current (A), voltage (V), factor (power
-- factor), volume (m3), text (strings), id (the meter id), clock (the meter's
-- date-time), tariff, time (an epoch), capacity (han.capacity's figures, kW or kWh),
-- frequency (Hz), net (a power sent signed, import positive: the namer gives it as the
-- import and export fields it names in han.naming.sml, never as itself), flag (true or
-- false: a Home Assistant binary sensor, a LogicMachine boolean).
local M = {}

-- The Home Assistant device and state class of each unit.
local HA = {
  W = { "power", "measurement" }, kW = { "power", "measurement" },
  var = { "reactive_power", "measurement" },
  A = { "current", "measurement" }, V = { "voltage", "measurement" },
  kWh = { "energy", "total_increasing" }, kvarh = { nil, "total_increasing" },
  m3 = { "gas", "total_increasing" }, Hz = { "frequency", "measurement" },
  s = {}, [""] = { nil, "measurement" },
}

-- The rows, one a line: field | kind | unit | label | C.D.E codes | the one protocol whose
-- codes mean it (DSMR's version and tariff codes are other objects in DLMS lists). Text,
-- read where needed: controllers count their heap.
local ROWS = [[
list                    | text     |       | List                       | 0.2.129             |
vendor                  | text     |       | Vendor                     |                     |
meter_id                | id       |       | Meter id                   | 96.1.0 0.0.5 42.0.0 |
meter_type              | text     |       | Meter type                 | 96.1.7 96.1.1       |
dsmr_version            | text     |       | DSMR version               | 0.2.8               | p1
meter_time              | clock    |       | Meter time                 | 1.0.0               |
tariff                  | tariff   |       | Tariff                     | 96.14.0             | p1
manufacturer            | text     |       | Manufacturer               | 96.50.1 199.130.3   | sml
pin_locked              | flag     |       | PIN locked                 |                     |
power_import            | power    | W     | Power import               | 1.7.0               |
power_export            | power    | W     | Power export               | 2.7.0               |
reactive_import         | power    | var   | Reactive power import      | 3.7.0               |
reactive_export         | power    | var   | Reactive power export      | 4.7.0               |
energy_import           | energy   | kWh   | Energy import              | 1.8.0               |
energy_export           | energy   | kWh   | Energy export              | 2.8.0               |
reactive_energy_import  | energy   | kvarh | Reactive energy import     | 3.8.0               |
reactive_energy_export  | energy   | kvarh | Reactive energy export     | 4.8.0               |
power_factor            | factor   |       | Power factor               | 13.7.0              |
power_net               | net      | W     | Net power                  | 16.7.0              |
power_net_l1            | net      | W     | Net power L1               | 36.7.0              |
power_net_l2            | net      | W     | Net power L2               | 56.7.0              |
power_net_l3            | net      | W     | Net power L3               | 76.7.0              |
frequency               | frequency | Hz   | Frequency                  | 14.7.0              |
gas_volume              | volume   | m3    | Gas volume                 |                     |
gas_time                | time     | s     | Gas meter time             |                     |
current_l1              | current  | A     | Current L1                 | 31.7.0              |
current_l2              | current  | A     | Current L2                 | 51.7.0              |
current_l3              | current  | A     | Current L3                 | 71.7.0              |
voltage_l1              | voltage  | V     | Voltage L1                 | 32.7.0              |
voltage_l2              | voltage  | V     | Voltage L2                 | 52.7.0              |
voltage_l3              | voltage  | V     | Voltage L3                 | 72.7.0              |
power_import_l1         | power    | W     | Power import L1            | 21.7.0              |
power_import_l2         | power    | W     | Power import L2            | 41.7.0              |
power_import_l3         | power    | W     | Power import L3            | 61.7.0              |
power_export_l1         | power    | W     | Power export L1            | 22.7.0              |
power_export_l2         | power    | W     | Power export L2            | 42.7.0              |
power_export_l3         | power    | W     | Power export L3            | 62.7.0              |
reactive_import_l1      | power    | var   | Reactive power import L1   | 23.7.0              |
reactive_import_l2      | power    | var   | Reactive power import L2   | 43.7.0              |
reactive_import_l3      | power    | var   | Reactive power import L3   | 63.7.0              |
reactive_export_l1      | power    | var   | Reactive power export L1   | 24.7.0              |
reactive_export_l2      | power    | var   | Reactive power export L2   | 44.7.0              |
reactive_export_l3      | power    | var   | Reactive power export L3   | 64.7.0              |
power_factor_l1         | factor   |       | Power factor L1            | 33.7.0              |
power_factor_l2         | factor   |       | Power factor L2            | 53.7.0              |
power_factor_l3         | factor   |       | Power factor L3            | 73.7.0              |
energy_import_t1        | energy   | kWh   | Energy import tariff 1     | 1.8.1               |
energy_import_t2        | energy   | kWh   | Energy import tariff 2     | 1.8.2               |
energy_import_t3        | energy   | kWh   | Energy import tariff 3     | 1.8.3               |
energy_import_t4        | energy   | kWh   | Energy import tariff 4     | 1.8.4               |
energy_export_t1        | energy   | kWh   | Energy export tariff 1     | 2.8.1               |
energy_export_t2        | energy   | kWh   | Energy export tariff 2     | 2.8.2               |
energy_export_t3        | energy   | kWh   | Energy export tariff 3     | 2.8.3               |
energy_export_t4        | energy   | kWh   | Energy export tariff 4     | 2.8.4               |
capacity_energy         | capacity | kWh   | Energy this period         |                     |
capacity_projected      | capacity | kW    | Projected period power     |                     |
capacity_mean           | capacity | kW    | Capacity mean              |                     |
capacity_projected_mean | capacity | kW    | Projected capacity mean    |                     |
capacity_previous_mean  | capacity | kW    | Last month's capacity mean |                     |
capacity_tier           | capacity |       | Capacity tier              |                     |
capacity_projected_tier | capacity |       | Projected capacity tier    |                     |
capacity_tier_limit     | capacity | kW    | Capacity tier limit        |                     |
capacity_month          | capacity |       | Capacity month             |                     |
capacity_peak_1         | capacity | kW    | Capacity peak 1            |                     |
capacity_peak_2         | capacity | kW    | Capacity peak 2            |                     |
capacity_peak_3         | capacity | kW    | Capacity peak 3            |                     |
capacity_peak_4         | capacity | kW    | Capacity peak 4            |                     |
capacity_peak_5         | capacity | kW    | Capacity peak 5            |                     |
capacity_estimated      | capacity |       | Estimated capacity peaks   |                     |
capacity_high_mean      | capacity | kW    | High-load capacity mean    |                     |
capacity_high_peak_1    | capacity | kW    | High-load capacity peak    |                     |
capacity_year_mean      | capacity | kW    | 12-month capacity mean     |                     |
capacity_meter_peak     | capacity | kW    | Meter's month peak         |                     |
capacity_meter_peak_time | capacity | s    | Meter's month peak time    |                     |
capacity_period_start   | capacity | s     | Period start               |                     |
capacity_period_end     | capacity | s     | Period end                 |                     |
capacity_forecast       | capacity | kWh   | Period forecast            |                     |
capacity_forecast_avg   | capacity | kWh   | Period forecast (average)  |                     |
capacity_target         | capacity | kW    | Capacity target            |                     |
capacity_budget         | capacity | kWh   | Period budget              |                     |
capacity_headroom       | capacity | kW    | Capacity headroom          |                     |
guard_shed              | capacity |       | Shed loads                 |                     |
]]

-- Kept without the padding that aligns the columns above (the literal itself goes with
-- this chunk once it has run).
ROWS = "\n" .. ROWS:gsub(" *| *", "|"):gsub(" +\n", "\n")

-- Each row as (field, kind, unit, label, codes, only), codes a string of C.D.E.
local function rows()
  return ROWS:gmatch("([%w_]+)|(%w+)|(%w*)|([^|]*)|([%d. ]*)|(%w*)\n")
end

-- The tariff registers, and the totals they add up to when a meter sends none.
M.tariffs = {
  { total = "energy_import", fields = { "energy_import_t1", "energy_import_t2",
    "energy_import_t3", "energy_import_t4" } },
  { total = "energy_export", fields = { "energy_export_t1", "energy_export_t2",
    "energy_export_t3", "energy_export_t4" } },
}

-- What the namer reads at every start, kept small (controllers count their heap):
-- C.D.E -> field, field -> the one protocol whose codes mean it.
M.by_cde, M.only = {}, {}
for field, _, _, _, codes, only in rows() do
  M.only[field] = only ~= "" and only or nil
  for cde in codes:gmatch("[%d.]+") do M.by_cde[cde] = field end
end

-- field -> kind, each read from ROWS when first asked for: a meter's lists name a few
-- of the fields.
M.kind = setmetatable({}, { __index = function(kinds, field)
  local kind = type(field) == "string" and field:find("^[%w_]+$")
    and ROWS:match("\n" .. field .. "|(%w+)|")
  if not kind then return nil end
  kinds[field] = kind
  return kind
end })

-- The four registers an hourly list closes an hour with (han.hourly, han.mqtt).
M.registers = { "energy_import", "energy_export", "reactive_energy_import",
  "reactive_energy_export" }

-- What a value of each numeric kind may be, in the reading's unit: a meter's number
-- outside it (a NaN or an infinity, a negative register, a power beyond 10 MW) is no
-- measurement, and the namer refuses it (r.errors says so) and keeps the rest.
M.range = { power = { -1e7, 1e7 }, energy = { 0, 1e15 }, voltage = { 0, 1000 },
  current = { -1e4, 1e4 }, factor = { -1e15, 1e15 }, frequency = { 0, 1000 } }

-- The kinds opts.scale multiplies (power covers reactive power, energy the reactive
-- registers and the tariff registers).
M.scalable = { power = true, energy = true, current = true, voltage = true }

local STRING = { text = true, id = true }

-- Counts, whole numbers on a LogicMachine.
local WHOLE = { capacity_tier = true, capacity_projected_tier = true, guard_shed = true }

-- A period's figures that go up and down (a forecast, a budget) are energy, but no total
-- Home Assistant could add up: no state class.
local NO_STATE = { capacity_forecast = true, capacity_forecast_avg = true,
  capacity_budget = true }

-- Fields whose names end in a name the user gives, by prefix: guard_shed_<load> is true
-- while han.guard keeps that load off (a binary sensor in Home Assistant, a 1-bit object
-- on a LogicMachine). Looked up, not listed: made on each use.
local FAMILIES = {
  { prefix = "guard_shed_", kind = "capacity", label = "Shed ", datatype = "bool",
    ha_component = "binary_sensor" },
}

local function family_field(field)
  if type(field) ~= "string" then return nil end
  for _, f in ipairs(FAMILIES) do
    local name = field:sub(#f.prefix + 1)
    if field:sub(1, #f.prefix) == f.prefix and name ~= "" then
      return { field = field, kind = f.kind, unit = "", label = f.label .. name, obis = {},
        datatype = f.datatype, ha_component = f.ha_component }
    end
  end
end

-- What the outputs read, made on first use (a decoder that publishes nothing never
-- pays for it):
-- fields: field -> {field =, kind =, unit =, label =, obis = {C.D.E, ...}, only =,
--   ha_class =, ha_state = (Home Assistant's device and state class), datatype = the
--   LogicMachine datatype (nil: an epoch, not an output by default), ha_component =
--   "binary_sensor" for true/false fields (else a sensor)}; fields of FAMILIES too
-- of_kind: kind -> {field, ...}
local made = {}
made.fields = function()
  local t = {}
  for field, kind, unit, label, codes, only in rows() do
    local ha = kind ~= "flag" and (HA[unit] or HA[""]) or {}
    local string_valued = STRING[kind] or field == "capacity_month"
    local obis = {}
    for cde in codes:gmatch("[%d.]+") do obis[#obis + 1] = cde end
    t[field] = { field = field, kind = kind, unit = unit, label = label, obis = obis,
      only = only ~= "" and only or nil,
      ha_class = not string_valued and ha[1] or nil,
      ha_state = not string_valued and kind ~= "time" and not NO_STATE[field] and ha[2] or nil,
      datatype = not (kind == "clock" or kind == "time" or unit == "s")
        and (string_valued and "string" or kind == "flag" and "bool"
          or WHOLE[field] and "uint32" or "float32") or nil,
      ha_component = kind == "flag" and "binary_sensor" or nil }
  end
  return setmetatable(t, { __index = function(_, field) return family_field(field) end })
end
made.of_kind = function()
  local t = {}
  for field, kind in rows() do
    local list = t[kind] or {}
    list[#list + 1] = field
    t[kind] = list
  end
  return t
end

return setmetatable(M, { __index = function(_, k)
  local make = made[k]
  if not make then return nil end
  local v = make()
  rawset(M, k, v)
  return v
end })
