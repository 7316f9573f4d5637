-- core.reading in Lua: the named reading of a data-notification under a plan (built
-- by han.decode from the OBIS table and the vendor profiles; docs/core-api.md describes
-- it), from the records of han.luawalk's walk, as csrc/han_reading.c names csrc/axdr.c's:
-- no body tables, and a known code costs no string. The two give equal results, error
-- strings included (spec/differential_spec.lua).
local time = require("han.time")
local walk = require("han.luacore.axdr")
local fields, epoch, hour_of, zone_of = time.fields, time.epoch, time.hour,
  time.zone_of_numbers

local type, floor, byte = type, math.floor, string.byte

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

-- Per plan profile, the entries met so far by the number of their 6 code bytes (as
-- the C core keeps its cache), emptied when full: hostile input brings new codes.
local CACHE_MAX = 512
local caches = setmetatable({}, { __mode = "k" })
local function cache_of(P)
  local c = caches[P]
  if not c then
    c = { n = 0 }
    caches[P] = c
  end
  return c
end

-- name(s, rec, plan, src, at [, steps]): rec holds han.luawalk's records of the body of
-- the notification in s (and the core's null), src is the HDLC source address, at the
-- position of the header's date-time bytes (or false). With steps, what each value
-- became is noted there for han.luareplay (M.replay below names a frame of the same
-- layout from them):
--   steps.n, and for step k: steps[k] the record, steps.e[k] its entry, steps.how[k]
--   PUT (a value), SCALED (a number with the stream's scaler[k] and unit[k]) or CLOCK
--   (the clock before the pairs); steps.fixed the list id's record (the profile
--   depends on its bytes, though it may be a value too), or nil.
local PUT, SCALED, CLOCK = 1, 2, 3
do
  local value, datetime, table_new, number = walk.value, walk.datetime, walk.table_new,
    walk.number

  -- Records (K, V, W as han.luawalk writes them); i may be nil: an absent element.
  local function is_string(K, i)
    local k = K[i]
    return k == "string" or k == "bits"
  end
  local function is_code(K, W, i) return is_string(K, i) and W[i] == 6 end
  local function after(K, W, i)
    if K[i] == "list" then return W[i] end
    return i + 1
  end
  -- The record of element e (from 1) of the list at i, or nil.
  local function child(K, V, W, i, e)
    if K[i] ~= "list" or V[i] < e then return nil end
    local j = i + 1
    for _ = 2, e do j = after(K, W, j) end
    return j
  end
  -- A list whose first element is a number: the {scaler, unit} of the value before.
  local function is_scaler_unit(K, V, i)
    return K[i] == "list" and V[i] > 0 and K[i + 1] == "number"
  end

  -- The entry of the code at record i under plan profile P (cache: P's cache), asking
  -- the plan on a miss; nil when i is no code or the entry no table.
  local function entry(plan, P, cache, s, K, V, W, i)
    if W[i] ~= 6 then return nil end
    local k, key = K[i], nil
    if k == "string" then
      local q = V[i]
      local a, b, c, d, e, f = byte(s, q, q + 5)
      key = ((((a * 256 + b) * 256 + c) * 256 + d) * 256 + e) * 256 + f
      local hit = cache[key]
      if hit then return hit end
    elseif k ~= "bits" then
      return nil
    end
    local raw = value(s, K, V, W, i)
    local e = P.memo[raw]
    if e == nil then e = plan.entry(P, raw) end
    if type(e) ~= "table" then return nil end
    if key then
      if cache.n >= CACHE_MAX then
        cache = { n = 0 }
        caches[P] = cache
      end
      cache[key], cache.n = e, cache.n + 1
    end
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

  -- The number v with the stream's own scaler and unit u.
  local function put_scaled(r, ob, e, v, scaler, u)
    ob[e[1]] = scaled(v, scaler)
    if e[3] then r[e[2]] = scaled(v, scaler + (UNIT_EXPONENT[u] or 0)) end
  end

  local function note(steps, i, e, how, scaler, u)
    local k = steps.n + 1
    steps[k], steps.e[k], steps.how[k], steps.scaler[k], steps.unit[k] = i, e, how, scaler, u
    steps.n = k
  end
  -- Put the value at record v under e (the clock is returned), noting the step.
  local function put_at(s, K, V, W, null, r, ob, e, v, steps)
    if steps then note(steps, v, e, PUT) end
    return put(r, ob, e, value(s, K, V, W, v, null))
  end
  -- Put the number at record v with the scaler and unit of the list at record su,
  -- noting the step.
  local function put_scaled_at(K, V, W, r, ob, e, v, su, steps)
    local scaler, u = V[su + 1], nil
    if V[su] > 1 then
      u = after(K, W, su + 1)
      u = K[u] == "number" and V[u] or nil
    end
    if steps then note(steps, v, e, SCALED, scaler, u) end
    put_scaled(r, ob, e, V[v], scaler, u)
  end

  -- The reading's tables; nob: room for the obis table.
  local function tables(nob)
    if table_new then   -- LuaJIT: tables with room for what comes
      local ob, r = table_new(0, nob), table_new(0, 24)
      r.obis = ob
      return ob, r
    end
    -- Every field named in the constructor, so that Lua sizes the table once.
    local ob = {}
    return ob, { obis = ob, list = nil, vendor = nil, meter_id = nil, meter_type = nil,
      power_import = nil, power_export = nil, reactive_import = nil, reactive_export = nil,
      current_l1 = nil, current_l2 = nil, current_l3 = nil,
      voltage_l1 = nil, voltage_l2 = nil, voltage_l3 = nil,
      energy_import = nil, energy_export = nil, reactive_energy_import = nil,
      reactive_energy_export = nil, meter_time = nil, time_fields = nil, hour = nil }
  end

  -- What every reading gets once its values are in: list id, meter time, vendor.
  local function close(s, r, P, id, clock, plan, at)
    r.list = id
    -- Meter time: the clock register when the list has one, else the header's.
    if type(clock) == "string" then clock = fields(clock) end
    local tf = type(clock) == "table" and clock or at and datetime(s, at) or nil
    r.time_fields = tf
    local zone = tf and type(plan.zone) == "table" and zone_of(plan.zone)
    if zone then r.meter_time = epoch(tf, zone, P and P.local_time) end
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
    if zone then r.hour = hour_of(r, tf, plan.hourly) end
    return r, P
  end

  function M.name(s, rec, plan, src, at, steps)
    local K, V, W, null = rec.K, rec.V, rec.W, rec.null
    local count = V[1]
    if K[1] ~= "list" or count == 0 then return nil, "no values in the notification" end

    -- Four layouts: Aidon's array of {code, value[, {scaler, unit}]} structures;
    -- Kamstrup's (and OBIS-coded Kaifa's) flat [list id or clock,] code, value[,
    -- {scaler, unit}], ... with null-data for absent pairs; Kaifa's Norwegian bare
    -- values, meaning given by position; a push-object list {{class, code, attribute,
    -- index}, ...} whose values follow in its order, the list itself being the first
    -- (Landis+Gyr E570). head, second: the records of the first two elements.
    local head, second = 2, count > 1 and after(K, W, 2) or nil
    local shape
    if is_code(K, W, child(K, V, W, child(K, V, W, head, 1), 2)) then
      shape = "descriptors"
    elseif K[head] == "list" or K[head] == "time" then
      shape = "structures"
    elseif is_code(K, W, head) or is_code(K, W, second) then
      shape = "pairs"
    else
      shape = "positions"
    end

    -- The list id (its record) and where the code/value pairs start; the id's code is
    -- looked up under no profile.
    local unknown = plan.unknown
    local id, start
    if shape == "structures" then
      local e = entry(plan, unknown, cache_of(unknown), s, K, V, W, child(K, V, W, head, 1))
      local second_field = child(K, V, W, head, 2)
      if e and e[2] == "list" and is_string(K, second_field) then id = second_field end
    elseif shape == "pairs" then
      if not is_code(K, W, head) then
        start = 2
        if is_string(K, head) and W[head] ~= 12 then id = head end   -- 12: a clock
      else
        start = 1
        local e = entry(plan, unknown, cache_of(unknown), s, K, V, W, head)
        if e and e[2] == "list" and is_string(K, second) then id = second end
      end
    elseif second and is_string(K, head) then
      id = head
    end
    if steps then steps.fixed = id end
    if id then id = value(s, K, V, W, id) end

    local P = plan.lists[id]
    if not P and id == nil then
      if shape == "positions" then P = plan.bare else P = plan.sources[src] end
    end
    local known = P or unknown
    local cache = cache_of(known)

    local nob = shape == "pairs" and floor(count / 2) or count
    local ob, r = tables(nob)
    if steps then steps.nob = nob end
    local clock
    if shape == "structures" then
      local item = head
      for _ = 1, count do
        local n = K[item] == "list" and V[item] or 0
        if n > 1 then
          local v = after(K, W, item + 1)
          local e = entry(plan, known, cache, s, K, V, W, item + 1)
          if e and K[v] ~= "null" then
            local su = n > 2 and after(K, W, v)
            if su and is_scaler_unit(K, V, su) and K[v] == "number" then
              -- the stream's own scaler and unit (Aidon)
              put_scaled_at(K, V, W, r, ob, e, v, su, steps)
            else
              clock = put_at(s, K, V, W, null, r, ob, e, v, steps) or clock
            end
          end
        end
        item = after(K, W, item)
      end
    elseif shape == "pairs" then
      local i, code = start, head
      if start == 2 then
        if not id and is_string(K, head) then
          if steps then note(steps, head, nil, CLOCK) end
          clock = value(s, K, V, W, head)
        end
        code = second
      end
      while i <= count do
        local v = i < count and after(K, W, code)
        local su = i + 1 < count and after(K, W, v)
        if K[code] == "null" then
          i, code = i + 1, v
        elseif su and is_scaler_unit(K, V, su) then
          local e = entry(plan, known, cache, s, K, V, W, code)   -- code, value, {scaler, unit}
          if e and K[v] == "number" then put_scaled_at(K, V, W, r, ob, e, v, su, steps) end
          i, code = i + 3, i + 3 <= count and after(K, W, su)
        else
          local e = entry(plan, known, cache, s, K, V, W, code)
          if e and v and K[v] ~= "null" then
            clock = put_at(s, K, V, W, null, r, ob, e, v, steps) or clock
          end
          i, code = i + 2, su
        end
      end
    elseif shape == "descriptors" then
      local d, v = head + 1, head
      for i = 1, V[head] do
        if i > 1 then v = i <= count and after(K, W, v) end
        if K[d] == "list" and v and K[v] ~= "null" then
          local attribute = child(K, V, W, d, 3)
          if K[attribute] == "number" and V[attribute] == 2 then
            local e = entry(plan, known, cache, s, K, V, W, child(K, V, W, d, 2))
            if e then clock = put_at(s, K, V, W, null, r, ob, e, v, steps) or clock end
          end
        end
        d = after(K, W, d)
      end
    else
      local layout = P and P.layouts and P.layouts[count]
      if not layout then return nil, "unknown list layout (" .. count .. " values)" end
      local v = head
      for i = 1, count do
        if K[v] ~= "null" then
          clock = put_at(s, K, V, W, null, r, ob, layout[i], v, steps) or clock
        end
        v = after(K, W, v)
      end
    end

    -- Lists 1 of Aidon and Kaifa (P+ only) carry no list id: their profile comes from
    -- their layout or HDLC source address.
    if P and id == nil and P.short == count then id = P.id end
    if steps then steps.id = id end
    return close(s, r, P, id, clock, plan, at)
  end

  -- replay(s, L, plan, at, one): the reading of a notification whose body has the
  -- layout L that han.luareplay keeps. For step k: L.kind[k] the kind of its value
  -- (a number, string, bit-string or date-time), L.tag[k] its tag, L.pos[k] and
  -- L.w[k] its V and W but for numbers (read from L.pos[k] on); L.e, L.how, L.scaler
  -- and L.unit the notes; L.nob, L.P and L.id what name found. one: records for one
  -- value.
  function M.replay(s, L, plan, at, one)
    local kind, tag, pos, w, es, how = L.kind, L.tag, L.pos, L.w, L.e, L.how
    local K, V, W = one.K, one.V, one.W
    local ob, r = tables(L.nob)
    local clock
    for k = 1, L.n do
      local v
      if kind[k] == "number" then
        v = number(s, pos[k], tag[k])
      else
        K[1], V[1], W[1] = kind[k], pos[k], w[k]
        v = value(s, K, V, W, 1)
      end
      local h = how[k]
      if h == PUT then
        clock = put(r, ob, es[k], v) or clock
      elseif h == SCALED then
        put_scaled(r, ob, es[k], v, L.scaler[k], L.unit[k])
      else
        clock = v
      end
    end
    return close(s, r, L.P, L.id, clock, plan, at)
  end
end

return M
