-- han.p1: a DSMR P1 telegram (a core.p1 result) as a reading with the field names of
-- han's DLMS readings (README). What each code means is data: names by C.D.E, the
-- unit scaling per kind, the vendor flags and the M-Bus channel codes.
local obis = require("han.naming.obis")
local time = require("han.time")

local type, next, tonumber = type, next, tonumber
local find, match, gsub, sub, upper, char = string.find, string.match, string.gsub,
  string.sub, string.upper, string.char
local epoch = time.epoch

local M = {}

-- The maker by the identification's 3-letter flag (IEC 62056-21 manufacturer id;
-- a lower-case third letter only says the meter answers fast: "ISk" is Iskra). Grid
-- operators' flags (FLU Fluvius, ESO) name the operator; ELL is Ellevio's
-- Landis+Gyr E360.
M.vendors = {
  KFM = "Kaifa", ISK = "Iskra", KMP = "Kamstrup", XMX = "Landis+Gyr", LGF = "Landis+Gyr",
  ELL = "Landis+Gyr", SAG = "Sagemcom", FLU = "Fluvius", ADN = "Aidon", ESO = "ESO",
  ESY = "EasyMeter",
}

-- Powers of ten from a value's unit to the reading's unit (W and var, kWh and kvarh,
-- V, A), per kind; [""] is a value sent without a unit (P1's kW, kvar, kWh, kvarh).
-- An unknown unit leaves the field absent.
M.units = {
  power = { kW = 3, W = 0, kvar = 3, var = 0, kVAr = 3, VAr = 0, [""] = 3 },
  energy = { kWh = 0, Wh = -3, kvarh = 0, varh = -3, kVArh = 0, VArh = -3, [""] = 0 },
  voltage = { V = 0, [""] = 0 },
  current = { A = 0, [""] = 0 },
  factor = { [""] = 0 },
}

local function q(field, kind) return { field = field, kind = kind, scale = M.units[kind] } end
local function id(rank) return { field = "meter_id", kind = "id", rank = rank } end

-- The meter's own codes by C.D.E (A-B as sent; a *255 suffix is ignored): the
-- quantities as in DLMS lists (obis.lua), and what only P1 sends.
M.names = {
  ["0.2.8"] = q("dsmr_version", "text"),     -- 1-3:0.2.8
  ["1.0.0"] = q("meter_time", "clock"),
  ["96.1.1"] = id(1), ["96.1.0"] = id(2), ["42.0.0"] = id(3), ["96.1.255"] = id(4),
  ["96.14.0"] = q("tariff", "tariff"),
  ["99.97.0"] = q(nil, "list"),              -- power-failure log
  ["98.1.0"] = q(nil, "list"),               -- Belgian monthly peaks
}

for cde, def in pairs(obis.by_cde) do
  if M.units[def.kind] then M.names[cde] = q(def.field, def.kind) end
end

-- Tariff registers, and the totals they add up to when the meter sends none.
M.tariffs = {
  { "energy_import", "1.8.", "energy_import_t" },
  { "energy_export", "2.8.", "energy_export_t" },
}
for _, t in ipairs(M.tariffs) do
  local list = {}
  for i = 1, 4 do
    list[i] = t[3] .. i
    M.names[t[2] .. i] = q(t[3] .. i, "energy")
  end
  t.fields = list
end
local TARIFFS = M.tariffs

-- M-Bus channel codes (0-n:, n = 1..16): device type, and readings in order of
-- preference (24.2.1, 24.2.3, then the DSMR 2.2/3.0 profile 24.3.0).
M.channel = {
  ["24.1.0"] = { role = "type" },
  ["24.2.1"] = { role = "reading", rank = 1 },
  ["24.2.3"] = { role = "reading", rank = 2 },
  ["24.3.0"] = { role = "profile", rank = 3 },
}
local GAS = 3   -- M-Bus device type of a gas meter
local MAX_CHANNEL = 16

-- What a code is: an entry of names, {kind = role, channel = n, rank =} for M-Bus,
-- or UNKNOWN.
local UNKNOWN = {}
local function classify(code)
  local a, b, c, d, e, rest = match(code, "^(%d+)-(%d+):(%d+)%.(%d+)%.(%d+)(.*)$")
  if not a or (rest ~= "" and rest ~= "*255") then return UNKNOWN end
  local cde = tonumber(c) .. "." .. tonumber(d) .. "." .. tonumber(e)
  b = tonumber(b)
  if tonumber(a) == 0 and b >= 1 then
    local ch = M.channel[cde]
    if not ch or b > MAX_CHANNEL then return UNKNOWN end
    return { kind = ch.role, channel = b, rank = ch.rank }
  end
  return M.names[cde] or UNKNOWN
end

-- code -> classify(code), for every code met since the memo was last emptied: between
-- telegrams, once it holds 512 (hostile input), so that one telegram's codes all fit.
local memo, memo_n, MEMO_MAX = {}, 0, 512
local function entry(code)
  local e = classify(code)
  memo[code], memo_n = e, memo_n + 1
  return e
end
local function bound_memo()
  if memo_n >= MEMO_MAX then memo, memo_n = {}, 0 end
end

local POW10 = { [1] = 10, [2] = 100, [3] = 1000 }
for i = 4, 22 do POW10[i] = 10 ^ i end
local ROUND = 6755399441055744.0   -- 1.5 * 2^52: x + ROUND - ROUND is x rounded

-- v * 10^x, x ~= 0. Dividing keeps 230515 Wh the double nearest 230.515 kWh; a product
-- that misses an integer by rounding only is that integer (2.027 kW is 2027 W, not
-- 2027.0000000000002).
local function scaled(v, x)
  if x < 0 then return v / POW10[-x] end
  local r = v * POW10[x]
  if r > -2 ^ 51 and r < 2 ^ 51 then
    local i = r + ROUND - ROUND
    local d = r - i
    if d ~= 0 and (d < 0 and -d or d) <= (r < 0 and -r or r) * 1e-12 then return i end
  end
  return r
end
M.scaled = scaled   -- also where the Lua core names numbers (lua/han/luap1.lua)

-- time.epoch of core.p1's time tables, memoized per hour: an hour has one UTC offset
-- (checked: its first and last second are 3599 s apart), so a time is its hour's
-- epoch plus minutes and seconds. The key packs the two-digit fields and S/W; any
-- other table goes to time.epoch. hours[key]: epoch, false (no such time) or true
-- (an hour with a clock change: every time to time.epoch).
local STATUS_KEY = { [0] = 0, [0x80] = 1 }
local hours, hours_n, hours_zone = {}, 0, nil
local function stamp(t, zone)
  local y, mo, d, h, mi, s, st = t.year, t.month, t.day, t.hour, t.min, t.sec, t.status
  local sk = st == nil and 2 or STATUS_KEY[st]
  if not (sk and y >= 2000 and y < 2100 and mo < 100 and d < 100 and h < 100 and mi < 60
      and s < 60) then
    return epoch(t, zone)
  end
  if zone ~= hours_zone or hours_n >= 256 then
    hours, hours_n, hours_zone = {}, 0, zone
  end
  local key = ((((y - 2000) * 100 + mo) * 100 + d) * 100 + h) * 4 + sk
  local base = hours[key]
  if base == nil then
    local first = epoch({ year = y, month = mo, day = d, hour = h, min = 0, sec = 0,
      status = st }, zone)
    local last = first and epoch({ year = y, month = mo, day = d, hour = h, min = 59,
      sec = 59, status = st }, zone)
    base = first ~= nil and (last ~= first + 3599 or first)
    hours[key], hours_n = base, hours_n + 1
  end
  if base == true then return epoch(t, zone) end
  return base and base + mi * 60 + s or nil
end

-- The power-failure log (count)(code)(time)(seconds)... as {time =, duration =}s.
local function failures(v, zone)
  if type(v[1]) ~= "number" or type(v[2]) ~= "string" then return nil end
  local out = {}
  for i = 3, #v - 1, 2 do
    local t, s = v[i], v[i + 1]
    out[#out + 1] = { time = type(t) == "table" and stamp(t, zone) or nil,
      duration = type(s) == "number" and s or nil }
  end
  return out
end

-- Belgian peaks (count)(code)(code)(month start)(time)(kW)... as {start =, time =,
-- value =}s. Hungary's billing record under the same code starts with a time: kept.
local function peaks(v, zone)
  if type(v[1]) ~= "number" or type(v[2]) ~= "string" then return nil end
  local out = {}
  for i = 4, #v - 2, 3 do
    local s, t, x = v[i], v[i + 1], v[i + 2]
    out[#out + 1] = { start = type(s) == "table" and stamp(s, zone) or nil,
      time = type(t) == "table" and stamp(t, zone) or nil,
      value = type(x) == "number" and x or nil }
  end
  return out
end

M.names["99.97.0"].list = failures
M.names["98.1.0"].list = peaks

-- A multi-group value as the reading's obis keeps it: a time table stays, a list
-- of its code is rewritten, (time)(number) becomes {value =, time = epoch}.
local function converted(v, e, zone)
  local first = v[1]
  if first == nil then return v end   -- a time table, or converted before
  local list = e.list
  if list then
    local out = list(v, zone)
    if out then return out end
  end
  if v[3] == nil and type(first) == "table" and type(v[2]) == "number" then
    return { value = v[2], time = stamp(first, zone) }
  end
  return v
end

-- Hex-encoded ASCII ids are decoded; one-entry memo (a meter sends the same id).
local last_raw, last_id
local function meter_id(raw)
  if raw ~= last_raw then
    local s = raw
    if #raw % 2 == 0 and not find(raw, "[^0-9A-Fa-f]") then
      local text = gsub(raw, "..", function(h) return char(tonumber(h, 16)) end)
      if not find(text, "[^ -~]") then s = text end
    end
    last_raw, last_id = raw, s
  end
  return last_id
end
M.meter_id = meter_id   -- also where the Lua core names ids (lua/han/luap1.lua)

local last_ident, last_vendor
local function vendor(ident)
  if ident ~= last_ident then
    last_ident, last_vendor = ident, M.vendors[upper(sub(ident, 1, 3))]
  end
  return last_vendor
end

-- The channel reading a code gives: volume, time, unit.
local function gas_of(kind, v, unit, zone)
  if kind == "profile" then   -- (time)(status)(period)(n)(code)(unit) then the value
    if type(v) ~= "table" or v[1] == nil then return end
    local t = v[1]
    return v[#v], type(t) == "table" and stamp(t, zone) or nil, unit or v[#v - 1]
  end
  if type(v) == "table" then return v.value, v.time, unit end
  return v, nil, unit
end

-- What the M-Bus channels 1..ch_max of the telegram being read say (scratch, cleared
-- when a reading starts): device type, and the preferred reading in m3.
local ch_type, ch_volume, ch_time, ch_rank, ch_max = {}, {}, {}, {}, 0

-- An M-Bus channel's device type, reading or profile (entry e, value v with its unit),
-- noted for gas(): v as obis keeps it. Also where the Lua core names them
-- (lua/han/luap1.lua).
local function note_channel(e, v, unit, zone)
  local n, kind = e.channel, e.kind
  if n > ch_max then ch_max = n end
  if kind == "type" then
    ch_type[n] = v
    return v
  end
  if type(v) == "table" then v = converted(v, e, zone) end
  if not ch_volume[n] or e.rank < ch_rank[n] then
    local volume, at, u = gas_of(kind, v, unit, zone)
    if type(volume) == "number" and u == "m3" then
      ch_volume[n], ch_time[n], ch_rank[n] = volume, at, e.rank
    end
  end
  return v
end
M.note_channel = note_channel

-- The channels forgotten: each telegram starts with none (the last may have raised).
local function clear_channels()
  for n = 1, ch_max do
    ch_type[n], ch_volume[n], ch_time[n], ch_rank[n] = nil, nil, nil, nil
  end
  ch_max = 0
end
M.clear_channels = clear_channels

-- The gas meter's channel: the first of device type 3 with a reading in m3, else the
-- first reading in m3 of a channel that states no type. r.gas_volume and r.gas_time
-- from it, when there is one.
local function gas(r)
  local best
  for n = 1, ch_max do
    if ch_volume[n] then
      local ty = ch_type[n]
      if ty == GAS then
        best = n
        break
      end
      if ty == nil and not best then best = n end
    end
  end
  if best then r.gas_volume, r.gas_time = ch_volume[best], ch_time[best] end
end
M.gas = gas

-- A reading table, its fields named so that it is sized once: those a DSMR 5 telegram
-- fills, 32 (a power of two) with list, obis and units.
local function new_reading()
  return { list = nil, vendor = nil, meter_type = nil, meter_id = nil,
    dsmr_version = nil, power_import = nil, power_export = nil, power_import_l1 = nil,
    power_import_l2 = nil,
    power_import_l3 = nil, power_export_l1 = nil, power_export_l2 = nil,
    power_export_l3 = nil, voltage_l1 = nil, voltage_l2 = nil, voltage_l3 = nil,
    current_l1 = nil, current_l2 = nil, current_l3 = nil, energy_import = nil,
    energy_export = nil, energy_import_t1 = nil, energy_import_t2 = nil,
    energy_export_t1 = nil, energy_export_t2 = nil, tariff = nil, meter_time = nil,
    time_fields = nil, gas_volume = nil, gas_time = nil, obis = nil, units = nil }
end

local function codes_of(ob)
  local rest, n = {}, 0
  for code in next, ob do
    n = n + 1
    rest[n] = code
  end
  return rest
end

-- The reading r of the core.p1 result t, by the codes in rest (all of t.obis, or those
-- core.p1 did not name itself).
local function name(t, opts, r, rest)
  local zone = opts and opts.zone
  local units, ob = t.units, t.obis
  r.list, r.vendor, r.meter_type = "P1", vendor(t.ident), t.ident
  r.obis, r.units = ob, units
  clear_channels()
  local id_rank, id_raw = 5, nil
  for i = 1, #rest do
    local code = rest[i]
    local v = ob[code]
    local e = memo[code] or entry(code)
    local scale = e.scale
    if scale then   -- the many numeric fields first
      if tonumber(v) == v then   -- a number (cheaper than type() on 5.1; never NaN here)
        local x = scale[units[code] or ""]
        if x == 0 then r[e.field] = v elseif x then r[e.field] = scaled(v, x) end
      elseif type(v) == "table" then
        ob[code] = converted(v, e, zone)
      end
    else
      local kind = e.kind
      if kind == nil or kind == "list" then
        if type(v) == "table" then ob[code] = converted(v, e, zone) end
      elseif kind == "id" then   -- identifier codes hold strings: nothing to convert
        if e.rank < id_rank and type(v) == "string" and v ~= "" then
          id_rank, id_raw = e.rank, v
        end
      elseif kind == "text" then
        if type(v) == "string" then r[e.field] = v end
      elseif kind == "tariff" then
        r.tariff = type(v) == "string" and match(v, "^%d+$") and tonumber(v) or nil
      elseif kind == "clock" then
        if type(v) == "table" then
          if v.year then
            r.time_fields, r.meter_time = v, stamp(v, zone)
          elseif v[1] ~= nil then
            ob[code] = converted(v, e, zone)
          end
        end
      else   -- an M-Bus channel's device type, reading or profile
        ob[code] = note_channel(e, v, units[code], zone)
      end
    end
  end
  if id_raw then r.meter_id = meter_id(id_raw) end
  for i = 1, #TARIFFS do   -- totals from the tariffs when the meter sends none
    local tf = TARIFFS[i]
    if r[tf[1]] == nil then
      local f = tf.fields
      local a, b, c, d = r[f[1]], r[f[2]], r[f[3]], r[f[4]]
      if a or b or c or d then r[tf[1]] = (a or 0) + (b or 0) + (c or 0) + (d or 0) end
    end
  end
  gas(r)
  return r
end

-- reading(t [, opts]) -> the reading of a core.p1 result. t.obis and t.units become
-- the reading's obis and units: (time)(value) pairs and the lists are rewritten in
-- place (reading the same t again gives the same reading). opts.zone: the zone of the
-- meter's clock (default Europe/Oslo: CET, as in every P1 country but Lithuania).
function M.reading(t, opts)
  bound_memo()
  return name(t, opts, new_reading(), codes_of(t.obis))
end

-- decode(s, core [, opts [, zone]]) -> the reading of a telegram, or nil, err: the same
-- reading as reading(core.p1(s)) but for a quantity sent twice (each line is named in
-- turn here, the later wins). core.p1 gets the entries met so far and names what one
-- value gives (numbers, texts, tariff, ids, the M-Bus channels and the meter time by
-- `zone`, han.decode's plan.zone, when opts.zone does not say another) into t.named,
-- leaving the other codes in t.rest (docs/core-api.md). A telegram with codes new to the
-- memo is read again once they are in it: what it names must not depend on which
-- telegrams came before (the gas meter and the id are picked among all codes).
function M.decode(s, core, opts, zone)
  bound_memo()
  zone = not (opts and opts.zone) and zone or nil
  local t, err = core.p1(s, memo, zone)
  if not t then return nil, err end
  local known = memo_n
  local r = name(t, opts, t.named, t.rest)
  if memo_n == known then return r end
  t = core.p1(s, memo, zone)
  return name(t, opts, t.named, t.rest)
end

return M
