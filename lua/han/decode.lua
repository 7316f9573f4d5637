-- han.decode: one frame (or APDU) to a reading with the same named fields for every
-- vendor. The raw notification comes from the core backend (read at call time); the
-- OBIS table and the vendor profiles (data) say what each value is and how it scales.
local backend = require("han.backend")
local obis = require("han.obis")
local profiles = require("han.profiles")
local time = require("han.time")

local type, pairs, byte = type, pairs, string.byte
local by_cde, unit_exponent, fields_of = obis.by_cde, obis.unit_exponent, obis.fields_of
local lists, by_source, bare_profile = profiles.lists, profiles.by_source, profiles.bare
local epoch_of, fields = time.epoch, time.fields

local M = {}

local pow10 = {}
for e = 0, 22 do pow10[e] = 10 ^ e end   -- exact doubles

-- v * 10^e; a negative e divides, so that 2219 at -2 is the double nearest 22.19.
local function scaled(v, e)
  if e < 0 then return v / (pow10[-e] or 10 ^ -e) end
  if e > 0 then return v * (pow10[e] or 10 ^ e) end
  return v
end

-- The profile of lists han does not know: names from the OBIS table, no vendor scaling.
local UNKNOWN = { scale = {} }
-- Power of ten of each kind where neither the stream nor the profile says: energy
-- registers in Wh (the COSEM unit) become kWh; the rest is taken as sent.
local DEFAULT_SCALE = { energy = -3 }
local NUMERIC = { power = true, energy = true, current = true, voltage = true, factor = true }

-- What one value needs under one profile, computed once per raw code:
--   code "A.B.C.D.E.F", field, kind, num (a numeric field), div or mul (the profile's
--   power of ten for values without a stream scaler).
local function new_entry(raw, profile)
  local code, cde = obis.code(raw)
  local e = { code = code }
  local def = by_cde[cde]
  if def then
    e.field, e.kind = def.field, def.kind
    e.clock = def.kind == "clock"
    if NUMERIC[def.kind] then
      e.num = true
      local scale = profile.scale
      local x = type(scale) == "table" and scale[def.kind] or DEFAULT_SCALE[def.kind] or 0
      if x < 0 then e.div = pow10[-x] elseif x > 0 then e.mul = pow10[x] end
    end
  end
  return e
end

-- profile -> raw code -> entry. Each memo stops growing at a bound (hostile input).
local memos, MEMO_MAX = {}, 512
local function memo_of(profile)
  local m = memos[profile]
  if not m then
    m = { n = 0 }
    memos[profile] = m
  end
  return m
end

-- The entry of a code missing from the memo; nil when it is no OBIS code.
local function entry(memo, raw, profile)
  if type(raw) ~= "string" or #raw ~= 6 then return nil end
  local e = new_entry(raw, profile)
  if memo.n < MEMO_MAX then
    memo[raw], memo.n = e, memo.n + 1
  end
  return e
end
local unknown_memo = memo_of(UNKNOWN)

-- Entries of a positional layout (list of codes), per profile and element count.
local layouts = {}
local function layout_of(profile, count)
  local codes = profile.positions and profile.positions[count]
  if not codes then return nil end
  local l = layouts[codes]
  if not l then
    l = {}
    for i, code in ipairs(codes) do l[i] = new_entry(obis.raw(code), profile) end
    layouts[codes] = l
  end
  return l
end

-- Store a value with no stream scaler: as sent under its OBIS code and, when named,
-- scaled by the profile under its field. Returns a clock value, which decode keeps
-- aside.
local function put(r, ob, e, v)
  ob[e.code] = v
  local f = e.field
  if not f then return nil end
  if e.num then
    if type(v) == "number" then
      local d, m = e.div, e.mul
      if d then v = v / d elseif m then v = v * m end
      r[f] = v
    end
  elseif e.clock then
    return v
  elseif type(v) == "string" then
    r[f] = v
  end
end

-- Store a value with the stream's own scaler and unit (`su` = {scaler, unit}).
local function put_scaled(r, ob, e, v, su)
  local scaler = su[1]
  ob[e.code] = scaled(v, scaler)
  if e.num then r[e.field] = scaled(v, scaler + (unit_exponent[su[2]] or 0)) end
end

local function is_code(v) return type(v) == "string" and #v == 6 end

-- The list id a body carries, and where its OBIS/value pairs start (flat layouts).
local function list_id(body, shape)
  local first = body[1]
  if shape == "structures" then
    local e = unknown_memo[first[1]] or entry(unknown_memo, first[1], UNKNOWN)
    if e and e.field == "list" and type(first[2]) == "string" then return first[2] end
  elseif shape == "pairs" then
    if not is_code(first) then
      if type(first) ~= "string" or #first == 12 then return nil, 2 end  -- 12: a clock
      return first, 2
    end
    local e = unknown_memo[first] or entry(unknown_memo, first, UNKNOWN)
    if e.field == "list" and type(body[2]) == "string" then return body[2], 1 end
    return nil, 1
  elseif body[2] ~= nil and type(first) == "string" then
    return first
  end
end

-- The reading of a decoded data-notification `n` (core.decode's table).
local function reading(n, opts, core)
  local body, null = n.body, core.null
  if type(body) ~= "table" or body[1] == nil then
    return nil, "no values in the notification"
  end

  -- Four layouts: Aidon's array of {code, value[, {scaler, unit}]} structures;
  -- Kamstrup's (and OBIS-coded Kaifa's) flat [list id or clock,] code, value[,
  -- {scaler, unit}], ... with null-data for absent pairs; Kaifa's Norwegian bare values,
  -- meaning given by position; a push-object list {{class, code, attribute, index}, ...}
  -- whose values follow in its order, the list itself being the first (Landis+Gyr E570).
  local shape
  local head = body[1]
  if type(head) == "table" and type(head[1]) == "table" and is_code(head[1][2]) then
    shape = "descriptors"
  elseif type(head) == "table" then
    shape = "structures"
  elseif is_code(body[1]) or is_code(body[2]) then
    shape = "pairs"
  else
    shape = "positions"
  end
  local id, start = list_id(body, shape)
  local profile = lists[id]
  if not profile and id == nil then
    if shape == "positions" then
      profile = bare_profile
    else
      profile = by_source[n.src]
    end
  end
  local known = profile or UNKNOWN
  local memo = memos[known] or memo_of(known)

  local ob = {}
  -- Every field named in the constructor: Lua 5.2+ and LuaJIT then size the table once.
  local r = { obis = ob, list = nil, vendor = nil, meter_id = nil, meter_type = nil,
    power_import = nil, power_export = nil, reactive_import = nil, reactive_export = nil,
    current_l1 = nil, current_l2 = nil, current_l3 = nil,
    voltage_l1 = nil, voltage_l2 = nil, voltage_l3 = nil,
    energy_import = nil, energy_export = nil, reactive_energy_import = nil,
    reactive_energy_export = nil, meter_time = nil, time_fields = nil, hour = nil }
  local clock
  if shape == "structures" then
    for i = 1, #body do
      local item = body[i]
      if type(item) == "table" then
        local code, v = item[1], item[2]
        local e = memo[code] or entry(memo, code, known)
        if e and v ~= nil and v ~= null then
          local su = item[3]
          if type(su) == "table" and type(su[1]) == "number" and type(v) == "number" then
            put_scaled(r, ob, e, v, su)   -- the stream's own scaler and unit (Aidon)
          else
            clock = put(r, ob, e, v) or clock
          end
        end
      end
    end
  elseif shape == "pairs" then
    -- put() written out: the Kamstrup lists are the most frequent and a call per value
    -- is a fifth of decode's time there
    local i, count = start, #body
    if start == 2 and not id then clock = head end
    while i <= count do
      local code = body[i]
      local su = body[i + 2]
      if code == null then
        i = i + 1
      elseif type(su) == "table" and su ~= null and type(su[1]) == "number" then
        local v = body[i + 1]                   -- code, value, {scaler, unit} (EVN Kaifa)
        local e = memo[code] or entry(memo, code, known)
        if e and type(v) == "number" then put_scaled(r, ob, e, v, su) end
        i = i + 3
      else
        local v = body[i + 1]
        local e = memo[code] or entry(memo, code, known)
        if e and v ~= nil and v ~= null then
          ob[e.code] = v
          local f = e.field
          if f then
            if e.num then
              if type(v) == "number" then
                local d, m = e.div, e.mul
                if d then v = v / d elseif m then v = v * m end
                r[f] = v
              end
            elseif e.clock then
              clock = v
            elseif type(v) == "string" then
              r[f] = v
            end
          end
        end
        i = i + 2
      end
    end
  elseif shape == "descriptors" then
    for i = 1, #head do
      local d, v = head[i], body[i]
      if type(d) == "table" and d[3] == 2 and v ~= nil and v ~= null then
        local e = memo[d[2]] or entry(memo, d[2], known)
        if e then clock = put(r, ob, e, v) or clock end
      end
    end
  else
    local layout = profile and layout_of(profile, #body)
    if not layout then return nil, "unknown list layout (" .. #body .. " values)" end
    for i = 1, #body do
      local v = body[i]
      if v ~= null then clock = put(r, ob, layout[i], v) or clock end
    end
  end

  -- Which list and vendor. Lists 1 of Aidon and Kaifa (P+ only) carry no list id: they
  -- are named by the profile their layout or HDLC source address points to.
  if profile then
    r.vendor = profile.vendor
    if id == nil and profile.short == #body then id = profile.id end
    local zero_absent = profile.zero_absent
    if zero_absent then
      for i = 1, #zero_absent do
        local f = zero_absent[i]
        if r[f] == 0 then r[f] = nil end
      end
    end
  elseif type(r.meter_type) == "string" then
    r.vendor = profiles.vendor_of_type(r.meter_type)
  end
  r.list = id

  local scale = opts and opts.scale
  if scale then
    for kind, m in pairs(scale) do
      local names = fields_of[kind]
      if not names or type(m) ~= "number" then
        error("bad option scale." .. tostring(kind) .. " (a number for power, energy, "
          .. "current or voltage)", 3)
      end
      for i = 1, #names do
        local f = names[i]
        if r[f] then r[f] = r[f] * m end
      end
    end
  end

  -- Meter time: the clock register when the list has one, else the header's date-time.
  local tf = clock
  if type(tf) == "string" then tf = fields(tf) end
  if type(tf) ~= "table" then tf = n.time end
  r.time_fields = tf
  if tf then
    local t = epoch_of(tf, opts and opts.zone, profile and profile.local_time)
    r.meter_time = t
    -- An hourly list closes the hour before the one its clock shows; it is pushed in
    -- the first minute of the hour (Kamstrup at xx:00:05 and later, up to xx:00:55).
    if t and tf.min == 0 and (r.energy_import or r.energy_export
      or r.reactive_energy_import or r.reactive_energy_export) then
      r.hour = t - (tf.sec or 0) - 3600
    end
  end
  return r
end

-- core.decode errors after which the frame may still be an envelope that core.unwrap
-- peels: HDLC segments or a series of frames, block transfer or ciphering inside.
local function enveloped(err)
  return err == "segmented frame" or err == "bad length" or err:find("^unsupported APDU")
end

local p1   -- han.p1, loaded with the first P1 telegram

local function p1_reading(text, opts, core)
  local t, err = core.p1(text)
  if not t then return nil, err end
  p1 = p1 or require("han.p1")
  return p1.reading(t, opts)
end

-- han.decode(data [, opts]) -> reading, or nil, err. See the README for the fields.
-- data: an HDLC frame or several, M-Bus long frames, an APDU (plain, LLC-prefixed,
-- block transfer, ciphered) or a P1 telegram; the first byte tells which.
-- opts.key, opts.auth_key, opts.system_title: for ciphered frames (a keys table serves
-- as opts). opts.scale = {power=, energy=, current=, voltage=}: multipliers (current
-- transformers, meters that send Wh where their list says 10 Wh); opts.zone: a zone
-- name or table for meter times without a usable deviation (default Europe/Oslo).
function M.decode(data, opts)
  if type(data) ~= "string" then
    error("bad argument #1 to 'decode' (string expected, got " .. type(data) .. ")", 2)
  end
  local core = backend.core
  local first = byte(data, 1)
  if first == 0x2F then return p1_reading(data, opts, core) end
  local n, err
  if first == 0x7E or first == 0x0F or first == 0xE6 then
    n, err = core.decode(data)                  -- a plain frame or APDU: one call
    if n then return reading(n, opts, core) end
    if not enveloped(err) then return nil, err end
  end
  local apdu, security = core.unwrap(data, opts)
  if not apdu then return nil, security end
  local r
  if byte(apdu, 1) == 0x2F then
    r, err = p1_reading(apdu, opts, core)
  else
    n, err = core.decode(apdu)
    if n then r, err = reading(n, opts, core) end
  end
  if not r then return nil, err end
  if security then
    r.encrypted, r.authenticated = security.encrypted, security.authenticated
    r.frame_counter = security.frame_counter
  end
  return r
end

return M
