-- han.naming.p1: the reading of a DSMR P1 (or IEC 62056-21 mode D) telegram from
-- core.p1's values and layout key (docs/core-api.md), with the field names of the
-- catalogue (han.naming.fields). What each code means is data: the catalogue's fields
-- by C.D.E, the unit scaling per kind, the vendor flags and the M-Bus channel codes. A
-- layout is read from its key once and compiled (han.naming) into a function that
-- builds the reading from the values.
local naming = require("han.naming")
local fields = require("han.naming.fields")
local time = require("han.time")

local type, tonumber, concat = type, tonumber, table.concat
local find, match, gsub, sub, upper, char, format = string.find, string.match,
  string.gsub, string.sub, string.upper, string.char, string.format
local epoch = time.epoch

local M = {}

-- The maker by the identification's 3-letter flag: one table for every protocol, taken
-- from the profiles as every namer reaches them (held weakly: han.naming.compiler).
M.vendors = naming.compiler("han.naming.profiles").makers

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

-- The expression of v * 10^x, x ~= 0, for the field `name`. Dividing keeps 230515 Wh
-- the double nearest 230.515 kWh; a product that misses an integer by rounding only is
-- that integer (2.027 kW is 2027 W, not 2027.0000000000002): statements before the
-- reading (c.pre) set a local of the field's name, declared once (in `declared`), to
-- x + 1.5 * 2^52 - 1.5 * 2^52, x rounded (below 2^51), or else to x.
local function scaled(c, declared, name, v, x)
  if x < 0 then return naming.scaled_expr(v, x) end
  if not declared[name] then
    declared[name] = true
    c.pre("local ", name)
  end
  c.pre("x = ", naming.scaled_expr(v, x), " ", name,
    " = x + 6755399441055744 - 6755399441055744")
  c.pre("if x == ", name, " or not (x > -2251799813685248 and x < 2251799813685248 and (x < ",
    name, " and ", name, " - x or x - ", name, ") <= (x < 0 and -x or x) * 1e-12) then ",
    name, " = x end")
  return name
end

------------------------------------------------------------------------------------
-- A layout's groups as Lua expressions over the values v. The key fixes each group's
-- kind (n a number, s a string, t a time table), so what a value's type decides is
-- decided when the layout is compiled, not for each telegram.

-- Group i of object o, when it is of kind k (t: a time, as its epoch), else nil.
local function group(o, i, k)
  if o.kinds[i] ~= k then return nil end
  local g = "v[" .. (o.first + i - 1) .. "]"
  return k == "t" and "epoch(" .. g .. ", zone)" or g
end

-- The expression of a list (count)(code)... whose records start at group `from`, one
-- group for each {name, kind} of `shape`: a record's name is there when its group is
-- of that kind. Nothing when the object does not start with a count and a code.
local function records(from, shape)
  return function(o)
    if o.kinds[1] ~= "n" or o.kinds[2] ~= "s" then return nil end
    local out = {}
    for i = from, #o.kinds - #shape + 1, #shape do
      local parts = {}
      for j, f in ipairs(shape) do
        local g = group(o, i + j - 1, f[2])
        if g then parts[#parts + 1] = f[1] .. " = " .. g end
      end
      out[#out + 1] = "{ " .. concat(parts, ", ") .. " }"
    end
    return "{ " .. concat(out, ", ") .. " }"
  end
end

-- The power-failure log (count)(code)(time)(seconds)... as {time =, duration =}s.
M.names["99.97.0"].list = records(3, { { "time", "t" }, { "duration", "n" } })
-- Belgian peaks (count)(code)(code)(month start)(time)(kW)... as {start =, time =,
-- value =}s. Hungary's billing record under the same code starts with a time: kept.
M.names["98.1.0"].list = records(4, { { "start", "t" }, { "time", "t" }, { "value", "n" } })

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

-- The tariff in force: a string of digits, as a number.
local function tariff_of(v)
  return type(v) == "string" and match(v, "^%d+$") and tonumber(v) or nil
end

-- The statements (c.line) that add up the tariff registers into their total when the
-- meter sends none (or it was refused). sent: the fields the layout gives.
local function totals(c, sent)
  for _, t in ipairs(TARIFFS) do
    local vars, regs, terms = {}, {}, {}
    for _, f in ipairs(t.fields) do
      if sent[f] then
        local a = "a" .. #vars + 1
        vars[#vars + 1], regs[#regs + 1], terms[#terms + 1] = a, "r." .. f, "(" .. a .. " or 0)"
      end
    end
    if #vars > 0 then
      -- the registers not sent add 0, which turns a sum of -0 into 0
      if #vars < #t.fields then terms[#terms + 1] = "0" end
      c.line("do local ", concat(vars, ", "), " = ", concat(regs, ", "), " if ",
        sent[t.total] and "r." .. t.total .. " == nil and " or "", "(", concat(vars, " or "),
        ") then r.", t.total, " = ", concat(terms, " + "), " end end")
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

-- The gas volume an M-Bus channel's reading or profile gives, as expressions: the
-- volume, its time (or nil) and the condition on the values under which it holds (or
-- nil: always); nothing when it can give none. o is the object, `pair` whether it is a
-- (time)(number) read as {value =, time =} (ob_entry: its expression in the obis table).
-- A reading counts in m3 only.
local function gas_reading(kind, o, pair, ob_entry)
  local n = #o.kinds
  if kind == "profile" then
    -- (time)(status)(period)(n)(code)(unit) then the value; its unit after the number,
    -- else the group before it (DSMR 2.2/3.0)
    if n < 2 or pair then return end
    local volume, named = group(o, n, "n"), not o.unit and group(o, n - 1, "s")
    if not volume or not (o.unit == "m3" or named) then return end
    return volume, group(o, 1, "t"), named and named .. ' == "m3"'
  end
  if o.unit ~= "m3" then return end
  if pair then return group(o, 2, "n"), ob_entry .. ".time" end
  -- one number, or a (time)(value) whose time does not parse ("150701190000x"): the
  -- value stands, without a time
  if n <= 2 then return group(o, n, "n") end
end

-- The statement that sets r.gas_volume and r.gas_time from the channels (by number:
-- {type = the device type's expression, false when it cannot be a number, readings =
-- {gas_reading's, with rank and order}}): the first channel of device type 3 with a
-- reading in m3, else the first reading in m3 of a channel that states no type; of a
-- channel's readings, the first by rank (then order) that holds.
local function gas_statement(channels)
  local typed, untyped = {}, {}
  for n = 1, MAX_CHANNEL do
    local ch = channels[n]
    if ch and ch.type ~= false then
      table.sort(ch.readings, function(a, b)
        return a.rank < b.rank or a.rank == b.rank and a.order < b.order
      end)
      local into, is_gas = ch.type and typed or untyped, ch.type and ch.type .. " == " .. GAS
      for _, g in ipairs(ch.readings) do
        local cond = is_gas and g.cond and is_gas .. " and " .. g.cond or is_gas or g.cond
        into[#into + 1] = { cond = cond, g = g }
      end
    end
  end
  for _, u in ipairs(untyped) do typed[#typed + 1] = u end
  local out = {}
  for _, clause in ipairs(typed) do
    local g = clause.g
    local set = "r.gas_volume = " .. g.volume .. (g.time and " r.gas_time = " .. g.time or "")
    if not clause.cond then
      out[#out + 1] = (#out == 0 and "do " or "else ") .. set
      break
    end
    out[#out + 1] = (#out == 0 and "if " or "elseif ") .. clause.cond .. " then " .. set
  end
  return #out > 0 and concat(out, "\n") .. " end" or nil
end

local function compile(key)
  local ident, objs = objects(key)
  local c = naming.compiler("han.naming.chunk")()
  local K = c.const
  c.pre("local zone = opts and opts.zone")
  c.field("list", "opts and lists[opts.protocol] or " .. K("P1"))
  local maker = vendor(ident)
  if maker then c.field("vendor", K(maker)) end
  c.field("meter_type", K(ident))
  local units = {}
  for _, o in ipairs(objs) do
    if o.unit then units[#units + 1] = "[" .. K(o.code) .. "] = " .. K(o.unit) end
  end
  c.field("units", "{ " .. concat(units, ", ") .. " }")
  local ids, clock, channels, sent, declared = {}, {}, {}, {}, {}
  for _, o in ipairs(objs) do
    local e, one = classify(o.code), #o.kinds == 1 and o.kinds[1]
    local v = "v[" .. o.first .. "]"
    if not one then
      local parts = {}
      for i = 1, #o.kinds do parts[i] = "v[" .. (o.first + i - 1) .. "]" end
      v = "{ " .. concat(parts, ", ") .. " }"
    end
    local kind, obv = e.kind, v
    -- (time)(number) as {value =, time =}, but for codes whose groups are text
    local pair = #o.kinds == 2 and o.kinds[1] == "t" and o.kinds[2] == "n" and kind ~= "type"
      and kind ~= "id" and kind ~= "text" and kind ~= "tariff"
    if pair then
      v = format("{ value = %s, time = %s }", group(o, 2, "n"), group(o, 1, "t"))
      obv = v
    elseif not one and e.list then
      obv = e.list(o) or v
    end
    if e.scale then
      local x = one == "n" and e.scale[o.unit or ""]
      if x then
        c.number(e.field, x == 0 and v or scaled(c, declared, e.field, v, x))
        sent[e.field] = true
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
      local ch = channels[e.channel] or { readings = {} }
      channels[e.channel] = ch
      if kind == "type" then
        ch.type = one == "n" and v   -- the later line wins, as in obis
      else
        local volume, at, cond = gas_reading(kind, o, pair, "ob[" .. K(o.code) .. "]")
        if volume then
          ch.readings[#ch.readings + 1] = { volume = volume, time = at, cond = cond,
            rank = e.rank, order = #ch.readings }
        end
      end
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
    c.line("local id = ", concat(picks, " or "))
    c.line("if id then r.meter_id = meter_id(id) end")
  end
  totals(c, sent)
  local gas = gas_statement(channels)
  if gas then c.line(gas) end
  c.line("if opts and opts.scale then scale(r, opts.scale) end")
  c.line("return r")
  return c.compile("v, opts", { epoch = epoch,
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
