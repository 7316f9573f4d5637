-- han.naming.fields: the field catalogue, the one table that says what every reading
-- field (and every capacity report field) is: its OBIS code(s) by C.D.E (A and B differ
-- between vendors for the same quantity: Aidon 1.0.1.7.0.255, Kamstrup 1.1.1.7.0.255),
-- its kind, unit and label, and the Home Assistant classes and LogicMachine datatype the
-- outputs give it. The namer, han.decode's options, han.lm, han.mqtt, han.hourly,
-- han.capacity and `han watch` all read it.
--
-- Kinds: power (W, var), energy (kWh, kvarh), current (A), voltage (V), factor (power
-- factor), volume (m3), text (strings), id (the meter id), clock (the meter's
-- date-time), tariff, time (an epoch), capacity (han.capacity's figures, kW or kWh).
local M = {}

-- The Home Assistant device and state class of each unit.
local HA = {
  W = { "power", "measurement" }, kW = { "power", "measurement" },
  var = { "reactive_power", "measurement" },
  A = { "current", "measurement" }, V = { "voltage", "measurement" },
  kWh = { "energy", "total_increasing" }, kvarh = { nil, "total_increasing" },
  m3 = { "gas", "total_increasing" }, [""] = { nil, "measurement" },
}

-- The rows: field, kind, unit, label, C.D.E codes; `only`: the one protocol whose codes
-- mean it (DSMR's version and tariff codes are other objects in DLMS lists). Made by a
-- function, so that they take no memory between the two times they are read.
local function rows_of()
local rows = {
  { "list", "text", "", "List", { "0.2.129" } },
  { "vendor", "text", "", "Vendor" },
  { "meter_id", "id", "", "Meter id", { "96.1.0", "0.0.5", "42.0.0" } },
  { "meter_type", "text", "", "Meter type", { "96.1.7", "96.1.1" } },
  { "dsmr_version", "text", "", "DSMR version", { "0.2.8" }, only = "p1" },
  { "meter_time", "clock", "", "Meter time", { "1.0.0" } },
  { "tariff", "tariff", "", "Tariff", { "96.14.0" }, only = "p1" },
  { "power_import", "power", "W", "Power import", { "1.7.0" } },
  { "power_export", "power", "W", "Power export", { "2.7.0" } },
  { "reactive_import", "power", "var", "Reactive power import", { "3.7.0" } },
  { "reactive_export", "power", "var", "Reactive power export", { "4.7.0" } },
  { "energy_import", "energy", "kWh", "Energy import", { "1.8.0" } },
  { "energy_export", "energy", "kWh", "Energy export", { "2.8.0" } },
  { "reactive_energy_import", "energy", "kvarh", "Reactive energy import", { "3.8.0" } },
  { "reactive_energy_export", "energy", "kvarh", "Reactive energy export", { "4.8.0" } },
  { "power_factor", "factor", "", "Power factor", { "13.7.0" } },
  { "gas_volume", "volume", "m3", "Gas volume" },
  { "gas_time", "time", "s", "Gas meter time" },
  { "capacity_energy", "capacity", "kWh", "Energy this period" },
  { "capacity_projected", "capacity", "kW", "Projected period power" },
  { "capacity_mean", "capacity", "kW", "Capacity mean" },
  { "capacity_projected_mean", "capacity", "kW", "Projected capacity mean" },
  { "capacity_previous_mean", "capacity", "kW", "Last month's capacity mean" },
  { "capacity_tier", "capacity", "", "Capacity tier" },
  { "capacity_projected_tier", "capacity", "", "Projected capacity tier" },
  { "capacity_tier_limit", "capacity", "kW", "Capacity tier limit" },
  { "capacity_month", "capacity", "", "Capacity month" },
}
-- Per phase: C of phase 1, 2, 3.
local phases = {
  { "current", "current", "A", "Current", { 31, 51, 71 } },
  { "voltage", "voltage", "V", "Voltage", { 32, 52, 72 } },
  { "power_import", "power", "W", "Power import", { 21, 41, 61 } },
  { "power_export", "power", "W", "Power export", { 22, 42, 62 } },
  { "reactive_import", "power", "var", "Reactive power import", { 23, 43, 63 } },
  { "reactive_export", "power", "var", "Reactive power export", { 24, 44, 64 } },
  { "power_factor", "factor", "", "Power factor", { 33, 53, 73 } },
}
for _, p in ipairs(phases) do
  for i = 1, 3 do
    rows[#rows + 1] = { p[1] .. "_l" .. i, p[2], p[3], p[4] .. " L" .. i,
      { p[5][i] .. ".7.0" } }
  end
end
-- Tariff registers (P1's 1.8.1 .. 2.8.4).
for _, t in ipairs({ { "energy_import", 1, "Energy import" },
                      { "energy_export", 2, "Energy export" } }) do
  for i = 1, 4 do
    rows[#rows + 1] = { t[1] .. "_t" .. i, "energy", "kWh", t[3] .. " tariff " .. i,
      { t[2] .. ".8." .. i } }
  end
end
for i = 1, 3 do
  rows[#rows + 1] = { "capacity_peak_" .. i, "capacity", "kW", "Capacity peak " .. i }
end
return rows
end

-- The tariff registers, and the totals they add up to when a meter sends none.
M.tariffs = {
  { total = "energy_import", fields = { "energy_import_t1", "energy_import_t2",
    "energy_import_t3", "energy_import_t4" } },
  { total = "energy_export", fields = { "energy_export_t1", "energy_export_t2",
    "energy_export_t3", "energy_export_t4" } },
}

-- What the namer reads at every start, kept small (controllers count their heap):
-- C.D.E -> field, field -> kind, field -> the one protocol whose codes mean it.
M.by_cde, M.kind, M.only = {}, {}, {}
for _, row in ipairs(rows_of()) do
  local field = row[1]
  M.kind[field], M.only[field] = row[2], row.only
  for _, cde in ipairs(row[5] or {}) do M.by_cde[cde] = field end
end

-- The four registers an hourly list closes an hour with (han.hourly, han.mqtt).
M.registers = { "energy_import", "energy_export", "reactive_energy_import",
  "reactive_energy_export" }

-- What a value of each numeric kind may be, in the reading's unit: a meter's number
-- outside it (a NaN or an infinity, a negative register, a power beyond 10 MW) is no
-- measurement, and the namer refuses it (r.errors says so) and keeps the rest.
M.range = { power = { -1e7, 1e7 }, energy = { 0, 1e15 }, voltage = { 0, 1000 },
  current = { -1e4, 1e4 }, factor = { -1e15, 1e15 } }

-- The kinds opts.scale multiplies (power covers reactive power, energy the reactive
-- registers and the tariff registers).
M.scalable = { power = true, energy = true, current = true, voltage = true }

local STRING = { text = true, id = true }

-- What the outputs read, made on first use (a decoder that publishes nothing never
-- pays for it):
-- fields: field -> {field =, kind =, unit =, label =, obis = {C.D.E, ...}, only =,
--   ha_class =, ha_state = (Home Assistant's device and state class), datatype = the
--   LogicMachine datatype (nil: an epoch, not an output by default)}
-- of_kind: kind -> {field, ...}
local made = {}
made.fields = function()
  local t = {}
  for _, row in ipairs(rows_of()) do
    local field, kind, unit = row[1], row[2], row[3]
    local ha = HA[unit] or HA[""]
    local string_valued = STRING[kind] or field == "capacity_month"
    t[field] = { field = field, kind = kind, unit = unit, label = row[4],
      obis = row[5] or {}, only = row.only,
      ha_class = not string_valued and ha[1] or nil,
      ha_state = not string_valued and kind ~= "time" and ha[2] or nil,
      datatype = (kind == "clock" or kind == "time") and nil or string_valued and "string"
        or (field:find("tier$") and "uint32") or "float32" }
  end
  return t
end
made.of_kind = function()
  local t = {}
  for _, row in ipairs(rows_of()) do
    local list = t[row[2]] or {}
    list[#list + 1] = row[1]
    t[row[2]] = list
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
