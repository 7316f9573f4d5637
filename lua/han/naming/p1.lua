-- han.naming.p1: the reading of a DSMR P1 (or IEC 62056-21 mode D) telegram from
-- core.p1's values and layout key (docs/core-api.md), with the field names of the
-- catalogue (han.naming.fields). What each code means is data: the catalogue's fields
-- by C.D.E, the unit scaling per kind, the vendor flags and the M-Bus channel codes. A
-- layout is read from its key once and compiled (han.naming) into a function that
-- builds the reading from the values.
local naming = require("han.naming")
local fields = require("han.naming.fields")
local time = require("han.time")

local type, tonumber = type, tonumber
local find, match, gsub, sub, upper, char, format = string.find, string.match,
  string.gsub, string.sub, string.upper, string.char, string.format
local epoch = time.epoch

local M = {}

-- The maker by the identification's 3-letter flag: one table for every protocol.
M.vendors = require("han.naming.profiles").makers

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
-- catalogue's quantities, and the codes whose P1 meaning is P1's own: the meter id by
-- rank (96.1.1 is the meter type in DLMS lists), the lists.
M.names = {
  ["96.1.1"] = id(1), ["96.1.0"] = id(2), ["42.0.0"] = id(3), ["96.1.255"] = id(4),
  ["99.97.0"] = q(nil, "list"),              -- power-failure log
  ["98.1.0"] = q(nil, "list"),               -- Belgian monthly peaks
}
for cde, field in pairs(fields.by_cde) do
  local kind = fields.kind[field]
  if M.units[kind] or fields.only[field] == "p1" or kind == "clock" then
    M.names[cde] = M.names[cde] or q(field, kind)
  end
end

-- Tariff registers, and the totals they add up to when the meter sends none.
local TARIFFS = fields.tariffs

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
-- or UNKNOWN. IEC 62056-21 meters often leave out A-B ("1.8.0") and write C = 96 as
-- the letter C ("C.1.0", the meter number); a *F other than 255 is a past value.
local UNKNOWN = {}
local function classify(code)
  local a, b, cde = match(code, "^(%d+)-(%d+):(.*)$")
  local c, d, e, rest = match(cde or code, "^(%w+)%.(%d+)%.(%d+)(.*)$")
  c = c == "C" and 96 or tonumber(c)
  if not c or (rest ~= "" and rest ~= "*255") then return UNKNOWN end
  cde = c .. "." .. tonumber(d) .. "." .. tonumber(e)
  b = tonumber(b)
  if a and tonumber(a) == 0 and b >= 1 then
    local ch = M.channel[cde]
    if not ch or b > MAX_CHANNEL then return UNKNOWN end
    return { kind = ch.role, channel = b, rank = ch.rank }
  end
  return M.names[cde] or UNKNOWN
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



-- The power-failure log (count)(code)(time)(seconds)... as {time =, duration =}s.
local function failures(v, zone)
  if type(v[1]) ~= "number" or type(v[2]) ~= "string" then return nil end
  local out = {}
  for i = 3, #v - 1, 2 do
    local t, s = v[i], v[i + 1]
    out[#out + 1] = { time = type(t) == "table" and epoch(t, zone) or nil,
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
    out[#out + 1] = { start = type(s) == "table" and epoch(s, zone) or nil,
      time = type(t) == "table" and epoch(t, zone) or nil,
      value = type(x) == "number" and x or nil }
  end
  return out
end

M.names["99.97.0"].list = failures
M.names["98.1.0"].list = peaks

-- The list a telegram is, by where it came from (han.decode's opts.protocol, which
-- han.reader and han.d0 pass on): a DSMR P1 port, or an IEC 62056-21 (D0) one.
M.lists = { d0 = "D0" }

-- IEC 62056-21 meters send their clock as two lines, the date (0.9.2) and the time of
-- day (0.9.1), each as digits (YYMMDD, or with a century digit first: 1230601 is
-- 2023-06-01; hhmmss) or printed ("21-01-04", "23:16:43"): the parts of P1's
-- 0-0:1.0.0 (YYMMDDhhmmssX), read into the same time table, its zone opts.zone.
M.names["0.9.2"] = { kind = "clock_part", part = "date" }
M.names["0.9.1"] = { kind = "clock_part", part = "time" }
local CENTURY = { [6] = 2000, [7] = 1900 }     -- by the date's digits; the 7th adds 100s

-- A clock part's digits: a whole number, or digits with - or : between them.
local function digits(v)
  if type(v) == "number" then
    return v >= 0 and v < 1e7 and v == math.floor(v) and format("%06d", v) or nil
  end
  if type(v) ~= "string" then return nil end
  v = gsub(v, "^(%d%d)[-:](%d%d)[-:](%d%d)$", "%1%2%3")
  return match(v, "^%d%d%d%d%d%d%d?$")
end

local function d0_clock(date, day_time)
  date, day_time = digits(date), digits(day_time)
  if not date or not day_time or #day_time ~= 6 then return nil end
  local n = #date
  local y = CENTURY[n] + tonumber(sub(date, 1, n - 4))
  return { year = y, month = tonumber(sub(date, n - 3, n - 2)), day = tonumber(sub(date, -2)),
    hour = tonumber(sub(day_time, 1, 2)), min = tonumber(sub(day_time, 3, 4)),
    sec = tonumber(sub(day_time, 5, 6)) }
end

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
    return { value = v[2], time = epoch(first, zone) }
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
    return v[#v], type(t) == "table" and epoch(t, zone) or nil, unit or v[#v - 1]
  end
  if type(v) == "table" then
    -- a (time)(value) whose time does not parse ("150701190000x"): the value stands
    if v.value == nil and v[3] == nil and type(v[2]) == "number" then return v[2], nil, unit end
    return v.value, v.time, unit
  end
  return v, nil, unit
end

-- What the M-Bus channels 1..ch_max of the telegram being read say (scratch, cleared
-- when a reading starts): device type, and the preferred reading in m3.
local ch_type, ch_volume, ch_time, ch_rank, ch_max = {}, {}, {}, {}, 0

-- An M-Bus channel's device type, reading or profile (entry e, value v with its unit),
-- noted for gas(): v as obis keeps it.
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

-- The channels forgotten: each telegram starts with none (the last may have raised).
local function clear_channels()
  for n = 1, ch_max do
    ch_type[n], ch_volume[n], ch_time[n], ch_rank[n] = nil, nil, nil, nil
  end
  ch_max = 0
end

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

-- The tariff in force: a string of digits, as a number.
local function tariff_of(v)
  return type(v) == "string" and match(v, "^%d+$") and tonumber(v) or nil
end

-- Totals from the tariff registers when the meter sends none.
local function totals(r)
  for i = 1, #TARIFFS do
    local t = TARIFFS[i]
    if r[t.total] == nil then
      local f = t.fields
      local a, b, c, d = r[f[1]], r[f[2]], r[f[3]], r[f[4]]
      if a or b or c or d then r[t.total] = (a or 0) + (b or 0) + (c or 0) + (d or 0) end
    end
  end
end

------------------------------------------------------------------------------------
-- Compiling a layout

-- The objects of a layout key: ident, and per object {code =, kinds = "nts...", unit =
-- the unit of its last group that has one, first = its first value's index}; a code
-- sent twice is read once, at its later place (the later line wins).
local function objects(key)
  local ident = match(key, "^/([^\n]*)\n")
  local list, last, leaf = {}, {}, 0
  for line in key:gmatch("\n([^\n]+)") do
    local code = match(line, "^[^(]*")
    local o = { code = code, first = leaf + 1, kinds = {} }
    for g in line:gmatch("%((.-)%)") do
      leaf = leaf + 1
      o.kinds[#o.kinds + 1] = sub(g, 1, 1)
      local unit = match(g, "^.%*(.*)$")
      if unit then o.unit = unit end
    end
    list[#list + 1] = o
    last[code] = #list
  end
  local out = {}
  for i, o in ipairs(list) do
    if last[o.code] == i then out[#out + 1] = o end
  end
  return ident, out
end

local function compile(key)
  local ident, objs = objects(key)
  local c = naming.compiler("han.naming.chunk")()
  local K = c.const
  c.pre("local zone = opts and opts.zone")
  c.pre("clear()")
  c.field("list", "opts and lists[opts.protocol] or " .. K("P1"))
  local maker = vendor(ident)
  if maker then c.field("vendor", K(maker)) end
  c.field("meter_type", K(ident))
  local units = {}
  for _, o in ipairs(objs) do
    if o.unit then units[#units + 1] = "[" .. K(o.code) .. "] = " .. K(o.unit) end
  end
  c.field("units", "{ " .. table.concat(units, ", ") .. " }")
  local ids, clock = {}, {}
  for _, o in ipairs(objs) do
    local e, one = classify(o.code), #o.kinds == 1 and o.kinds[1]
    local v = "v[" .. o.first .. "]"
    if not one then
      local parts = {}
      for i = 1, #o.kinds do parts[i] = "v[" .. (o.first + i - 1) .. "]" end
      v = "{ " .. table.concat(parts, ", ") .. " }"
    end
    local kind, obv = e.kind, v
    if #o.kinds == 2 and o.kinds[1] == "t" and o.kinds[2] == "n" and kind ~= "type"
      and kind ~= "id" and kind ~= "text" and kind ~= "tariff" then
      -- (time)(number), as converted() makes it, without the list in between
      v = format("{ value = v[%d], time = epoch(v[%d], zone) }", o.first + 1, o.first)
      obv = v
    elseif not one and (e.scale or kind == nil or kind == "list" or kind == "clock") then
      obv = "converted(" .. v .. ", " .. K(e) .. ", zone)"
    end
    if e.scale then
      local x = one == "n" and e.scale[o.unit or ""]
      if x == 0 then
        c.number(e.field, v)
      elseif x then
        c.number(e.field, "scaled(" .. v .. ", " .. format("%d", x) .. ")")
      end
    elseif kind == "id" then
      if one == "s" then ids[#ids + 1] = { e.rank, #ids, v } end
    elseif kind == "text" then
      if one == "s" then c.field(e.field, v) end
    elseif kind == "tariff" then
      c.field("tariff", "tariff_of(" .. v .. ")")
    elseif kind == "clock" then
      if one == "t" then
        c.field("time_fields", v)
        c.field("meter_time", "epoch(" .. v .. ", zone)")
      end
    elseif kind == "clock_part" then
      if one then clock[e.part] = v end
    elseif kind == "type" or kind == "reading" or kind == "profile" then
      obv = "note(" .. K(e) .. ", " .. v .. ", " .. (o.unit and K(o.unit) or "nil") .. ", zone)"
    end
    c.obis(o.code, obv)
  end
  if clock.date and clock.time then
    c.pre("local tf = d0_clock(", clock.date, ", ", clock.time, ")")
    c.field("time_fields", "tf")
    c.field("meter_time", "tf and epoch(tf, zone)")
  end
  -- The meter id: the string of the lowest rank that is not empty.
  table.sort(ids, function(a, b) return a[1] < b[1] or a[1] == b[1] and a[2] < b[2] end)
  if #ids > 0 then
    local picks = {}
    for i, cand in ipairs(ids) do picks[i] = format("(%s ~= \"\" and %s)", cand[3], cand[3]) end
    c.line("local id = ", table.concat(picks, " or "))
    c.line("if id then r.meter_id = meter_id(id) end")
  end
  c.line("totals(r)")
  c.line("gas(r)")
  c.line("if opts and opts.scale then scale(r, opts.scale) end")
  c.line("return r")
  return c.compile("v, opts", { converted = converted, scaled = scaled, epoch = epoch,
    note = note_channel, clear = clear_channels, gas = gas, totals = totals,
    tariff_of = tariff_of, meter_id = meter_id, scale = naming.apply_scale,
    lists = M.lists, d0_clock = d0_clock })
end

-- name(core, s [, opts]) -> the reading of a telegram, or nil, message, code.
-- opts.zone: the zone of the meter's clock (default Europe/Oslo: CET, as in every P1
-- country but Lithuania); opts.scale as for han.decode.
function M.name(core, s, opts)
  local v, key, code = core.p1(s)
  if not v then return nil, key, code end
  local l = naming.layouts[key]
  if not l then l = naming.keep(key, { fn = compile(key) }) end
  return l.fn(v, opts)
end

return M
