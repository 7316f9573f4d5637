-- core.reading in Lua: the named reading of a data-notification under a plan (built
-- by han.decode from the OBIS table and the vendor profiles; docs/core-api.md describes
-- it). csrc/han_reading.c does the same walk in C without the intermediate tables; the
-- two give equal results, error strings included (spec/differential_spec.lua).
local time = require("han.time")
local fields, epoch = time.fields, time.epoch

local type, floor = type, math.floor

local M = {}

-- v * 10^x; a negative x divides, so that 2219 at -2 is the double nearest 22.19.
-- Exact powers up to 10^22; larger whole ones in steps of 10^22 (capped at 10^330),
-- so that C computes the very same doubles; fractions (hostile scalers) by `^`.
local pow10 = {}
for e = 0, 22 do pow10[e] = 10 ^ e end
local function scaled(v, x)
  if not (x < 0 or x > 0) then return v end
  local k = x < 0 and -x or x
  if floor(k) == k then
    if k > 330 then k = 330 end
    while k > 22 do
      if x < 0 then v = v / 1e22 else v = v * 1e22 end
      k = k - 22
    end
    if x < 0 then return v / pow10[k] end
    return v * pow10[k]
  end
  if x < 0 then return v / 10 ^ k end
  return v * 10 ^ k
end

-- Wh, VAh and varh (COSEM units 30, 31, 32) become kWh, kVAh and kvarh.
local UNIT_EXPONENT = { [30] = -3, [31] = -3, [32] = -3 }

local function is_code(v) return type(v) == "string" and #v == 6 end

-- han.time's zone table of a zone in numbers {offset, from, to, at, save} (plan.zone),
-- made once per plan.zone table.
local zones = setmetatable({}, { __mode = "k" })
local function zone_of(z)
  local t = zones[z]
  if not t then
    t = { offset = z[1] }
    if z[5] then t.dst = { from = z[2], to = z[3], at = z[4], save = z[5] } end
    zones[z] = t
  end
  return t
end

-- The hour an hourly list closes, the one before its clock's: when its time fields tf
-- show minute 0 and the reading has one of the fields in hourly (plan.hourly).
function M.hour(r, tf, hourly)
  local t = r.meter_time
  if not t or tf.min ~= 0 then return nil end
  for i = 1, #hourly do
    if r[hourly[i]] ~= nil then return t - (tf.sec or 0) - 3600 end
  end
end
local hour_of = M.hour

-- new(core, table_new) -> reading(n, plan): n is core.decode's table; table_new is
-- LuaJIT's table.new where the runtime has it.
function M.new(core, table_new)
  local null = core.null
  local function is_table(v) return type(v) == "table" and v ~= null end

  -- The entry of a raw code under plan profile P, asking the plan on a miss.
  local function entry(plan, P, raw)
    local e = P.memo[raw]
    if e == nil and is_code(raw) then e = plan.entry(P, raw) end
    return e
  end

  -- A value with no stream scaler, under entry e. Returns the value when it is the
  -- clock (decode keeps it aside), else nil.
  local function put(r, ob, e, v)
    ob[e[1]] = v
    local f = e[2]
    if not f then return nil end
    local x = e[3]
    if x then
      if type(v) == "number" then r[f] = scaled(v, x) end
    elseif e[4] then
      return v
    elseif type(v) == "string" then
      r[f] = v
    end
  end

  -- A value with the stream's own scaler and unit (su = {scaler, unit}).
  local function put_scaled(r, ob, e, v, su)
    local scaler = su[1]
    ob[e[1]] = scaled(v, scaler)
    if e[3] then r[e[2]] = scaled(v, scaler + (UNIT_EXPONENT[su[2]] or 0)) end
  end

  -- The list id a body carries and where its code/value pairs start (flat layouts).
  local function list_id(plan, body, shape)
    local first = body[1]
    if shape == "structures" then
      local e = entry(plan, plan.unknown, first[1])
      if e and e[2] == "list" and type(first[2]) == "string" then return first[2] end
    elseif shape == "pairs" then
      if not is_code(first) then
        if type(first) ~= "string" or #first == 12 then return nil, 2 end  -- 12: a clock
        return first, 2
      end
      local e = entry(plan, plan.unknown, first)
      if e[2] == "list" and type(body[2]) == "string" then return body[2], 1 end
      return nil, 1
    elseif body[2] ~= nil and type(first) == "string" then
      return first
    end
  end

  return function(n, plan)
    local body = n.body
    if not is_table(body) or body[1] == nil then
      return nil, "no values in the notification"
    end

    -- Four layouts: Aidon's array of {code, value[, {scaler, unit}]} structures;
    -- Kamstrup's (and OBIS-coded Kaifa's) flat [list id or clock,] code, value[,
    -- {scaler, unit}], ... with null-data for absent pairs; Kaifa's Norwegian bare
    -- values, meaning given by position; a push-object list {{class, code, attribute,
    -- index}, ...} whose values follow in its order, the list itself being the first
    -- (Landis+Gyr E570).
    local shape
    local head, count = body[1], #body
    if is_table(head) and is_table(head[1]) and is_code(head[1][2]) then
      shape = "descriptors"
    elseif is_table(head) then
      shape = "structures"
    elseif is_code(head) or is_code(body[2]) then
      shape = "pairs"
    else
      shape = "positions"
    end
    local id, start = list_id(plan, body, shape)
    local P = plan.lists[id]
    if not P and id == nil then
      if shape == "positions" then P = plan.bare else P = plan.sources[n.src] end
    end
    local known = P or plan.unknown

    local ob, r
    if table_new then   -- LuaJIT: tables with room for what comes
      ob = table_new(0, shape == "pairs" and floor(count / 2) or count)
      r = table_new(0, 24)
      r.obis = ob
    else
      -- Every field named in the constructor, so that Lua sizes the table once.
      ob = {}
      r = { obis = ob, list = nil, vendor = nil, meter_id = nil, meter_type = nil,
        power_import = nil, power_export = nil, reactive_import = nil, reactive_export = nil,
        current_l1 = nil, current_l2 = nil, current_l3 = nil,
        voltage_l1 = nil, voltage_l2 = nil, voltage_l3 = nil,
        energy_import = nil, energy_export = nil, reactive_energy_import = nil,
        reactive_energy_export = nil, meter_time = nil, time_fields = nil, hour = nil }
    end
    local clock
    if shape == "structures" then
      for i = 1, count do
        local item = body[i]
        if is_table(item) then
          local v = item[2]
          local e = entry(plan, known, item[1])
          if e and v ~= nil and v ~= null then
            local su = item[3]
            if is_table(su) and type(su[1]) == "number" and type(v) == "number" then
              put_scaled(r, ob, e, v, su)   -- the stream's own scaler and unit (Aidon)
            else
              clock = put(r, ob, e, v) or clock
            end
          end
        end
      end
    elseif shape == "pairs" then
      local i = start
      if start == 2 and not id then clock = head end
      while i <= count do
        local code, su = body[i], body[i + 2]
        if code == null then
          i = i + 1
        elseif is_table(su) and type(su[1]) == "number" then
          local v = body[i + 1]                 -- code, value, {scaler, unit} (EVN Kaifa)
          local e = entry(plan, known, code)
          if e and type(v) == "number" then put_scaled(r, ob, e, v, su) end
          i = i + 3
        else
          local v = body[i + 1]
          local e = entry(plan, known, code)
          if e and v ~= nil and v ~= null then clock = put(r, ob, e, v) or clock end
          i = i + 2
        end
      end
    elseif shape == "descriptors" then
      for i = 1, #head do
        local d, v = head[i], body[i]
        if is_table(d) and d[3] == 2 and v ~= nil and v ~= null then
          local e = entry(plan, known, d[2])
          if e then clock = put(r, ob, e, v) or clock end
        end
      end
    else
      local layout = P and P.layouts and P.layouts[count]
      if not layout then return nil, "unknown list layout (" .. count .. " values)" end
      for i = 1, count do
        local v = body[i]
        if v ~= null then clock = put(r, ob, layout[i], v) or clock end
      end
    end

    -- Lists 1 of Aidon and Kaifa (P+ only) carry no list id: their profile comes from
    -- their layout or HDLC source address.
    if P and id == nil and P.short == count then id = P.id end
    r.list = id
    -- Meter time: the clock register when the list has one, else the header's.
    if type(clock) == "string" then clock = fields(clock) end
    local tf = is_table(clock) and clock or n.time
    r.time_fields = tf
    if tf and plan.zone then r.meter_time = epoch(tf, zone_of(plan.zone), P and P.local_time) end
    if P then
      r.vendor = P.vendor
      local zero_absent = P.zero_absent
      if zero_absent then
        for i = 1, #zero_absent do
          local f = zero_absent[i]
          if r[f] == 0 then r[f] = nil end
        end
      end
    end
    if tf and plan.zone then r.hour = hour_of(r, tf, plan.hourly) end
    return r, P
  end
end

return M
