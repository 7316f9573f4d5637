-- han.naming.dlms_layout: reads the layout of a DLMS data-notification from its key
-- (core.values, docs/core-api.md) and compiles the function that builds its reading
-- from the values. Run once per new layout (han.naming.dlms), loaded for it by
-- han.naming.compiler and not kept.
local naming = require("han.naming")
local fields = require("han.naming.fields")
-- the vendor profiles, read while compiling: held by no more than the compiled functions
-- that call profiles.vendor_of_type
local profiles = naming.compiler("han.naming.profiles")
local time = require("han.time")

local byte, sub, format = string.byte, string.sub, string.format

local M = {}

------------------------------------------------------------------------------------
-- The layout key as a tree: node = {tag =, leaf = index in the values} for a value,
-- {tag =, count =, [1..count] = nodes} for an array or structure; a string whose bytes
-- the key keeps has them in node.bytes; null-data is {tag = 0}.

local NUMBER = { [0x05] = true, [0x06] = true, [0x0D] = true, [0x0F] = true, [0x10] = true,
  [0x11] = true, [0x12] = true, [0x14] = true, [0x15] = true, [0x16] = true,
  [0x17] = true, [0x18] = true }
local STRING = { [0x09] = true, [0x0A] = true, [0x0C] = true }
local TIME = { [0x19] = true, [0x1A] = true, [0x1B] = true }

-- A BER length at p: the length and the position after it.
local function ber(key, p)
  local k = byte(key, p)
  if k < 0x80 then return k, p + 1 end
  local v = 0
  for q = p + 1, p + k - 0x80 do v = v * 256 + byte(key, q) end
  return v, p + 1 + k - 0x80
end

local function tree(key)
  local p, leaves = 1, 0
  local function node()
    local tag = byte(key, p)
    p = p + 1
    local n = { tag = tag }
    if tag == 0x01 or tag == 0x02 then
      n.count, p = ber(key, p)
      for i = 1, n.count do n[i] = node() end
      return n
    end
    if STRING[tag] then
      n.len, p = ber(key, p)
      if not (tag == 0x09 and n.len == 12) then   -- the key holds the string
        n.bytes = sub(key, p, p + n.len - 1)
        p = p + n.len
        return n
      end
    end
    if tag ~= 0x00 then   -- null-data is all in the key; the rest is a value
      leaves = leaves + 1
      n.leaf = leaves
    end
    return n
  end
  return node()
end

local function is_list(n) return n ~= nil and n.count ~= nil end
local function is_string(n) return n ~= nil and (STRING[n.tag] or n.tag == 0x04) end
local function is_code(n) return n ~= nil and n.bytes ~= nil and n.len == 6 end
local function is_number(n) return n ~= nil and NUMBER[n.tag] end
local function is_null(n) return n ~= nil and n.tag == 0x00 end

------------------------------------------------------------------------------------
-- What a code means under a profile: {code "A.B.C.D.E.F", field, power of ten (numeric
-- fields), true (the clock)}.

-- Power of ten of each kind where neither the stream nor the profile says: energy
-- registers in Wh (the COSEM unit) become kWh; the rest is taken as sent.
local DEFAULT_SCALE = { energy = -3 }
local NUMERIC = { power = true, energy = true, current = true, voltage = true, factor = true }

local function entry(raw, profile)
  local a, b, c, d, e, f = byte(raw, 1, 6)
  local code = format("%d.%d.%d.%d.%d.%d", a, b, c, d, e, f)
  local field = fields.by_cde[format("%d.%d.%d", c, d, e)]
  local only = field and fields.only[field]
  if not field or (only and only ~= "dlms") then return { code } end
  local kind, x = fields.kind[field], nil
  if NUMERIC[kind] then
    local scale = profile and profile.scale
    x = type(scale) == "table" and scale[kind] or DEFAULT_SCALE[kind] or 0
  end
  return { code, field, x, kind == "clock" or nil }
end

-- The entries of the codes of bare values, by profile and count (Kaifa).
local positional = {}
local function layout_of(profile, count)
  local codes = profile.positions and profile.positions[count]
  if not codes then return nil end
  local byp = positional[profile] or {}
  positional[profile] = byp
  if not byp[count] then
    local l = {}
    for i, code in ipairs(codes) do
      local a, b, c, d, e, f = code:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)%.(%d+)%.(%d+)$")
      l[i] = entry(string.char(a, b, c, d, e, f), profile)
    end
    byp[count] = l
  end
  return byp[count]
end

------------------------------------------------------------------------------------
-- Compiling a layout

-- The steps of a body: {node, entry} puts a value; {node, entry, scaler node, unit node
-- or nil} a number with the stream's scaler and unit; guard = a node: only when its
-- value is 2 (a push-object list's attribute index). v: the values, for a list id that
-- is one of them.
local function steps_of(body, src, v)
  local count = body.count
  if not is_list(body) or count == 0 then
    return nil, "no values in the notification", "no_values"
  end
  -- Four layouts: Aidon's array of {code, value[, {scaler, unit}]} structures;
  -- Kamstrup's (and OBIS-coded Kaifa's) flat [list id or clock,] code, value[,
  -- {scaler, unit}], ... with null-data for absent pairs; Kaifa's Norwegian bare values,
  -- meaning given by position; a push-object list {{class, code, attribute, index},
  -- ...} whose values follow in its order, the list itself being the first (Landis+Gyr
  -- E570).
  local head, second = body[1], body[2]
  local shape
  if is_list(head) and is_list(head[1]) and is_code(head[1][2]) then
    shape = "descriptors"
  elseif is_list(head) or TIME[head.tag] then
    shape = "structures"
  elseif is_code(head) or is_code(second) then
    shape = "pairs"
  else
    shape = "positions"
  end

  -- The list id (a node) and where the pairs start; the id's code is read under no
  -- profile.
  local id, start
  if shape == "structures" then
    local e = is_code(head[1]) and entry(head[1].bytes)
    if e and e[2] == "list" and is_string(head[2]) then id = head[2] end
  elseif shape == "pairs" then
    if not is_code(head) then
      start = 2
      if is_string(head) and head.len ~= 12 then id = head end   -- 12: a clock
    else
      start = 1
      if entry(head.bytes)[2] == "list" and is_string(second) then id = second end
    end
  elseif second and is_string(head) then
    id = head
  end
  -- The id's bytes are in the key, or (a 12-byte octet-string, a bit-string) it is one
  -- of the values: the layout then holds for that value only.
  local list = id and (id.bytes or v[id.leaf])
  local P = profiles.lists[list]
  local by_src = false
  if not P and id == nil then
    if shape == "positions" then
      P = profiles.bare
    else
      P, by_src = profiles.by_source[src], true
    end
  end

  local steps = {}
  local function put(e, n, extra)
    if e and n and not is_null(n) then
      extra = extra or {}
      extra[1], extra[2] = n, e
      steps[#steps + 1] = extra
    end
  end
  local function is_scaler_unit(n) return is_list(n) and n.count > 0 and is_number(n[1]) end
  local function code_entry(n) return is_code(n) and entry(n.bytes, P) or nil end
  local function put_scaled(e, n, su)
    if is_number(n) then put(e, n, { nil, nil, su[1], su.count > 1 and is_number(su[2])
      and su[2] or nil }) end
  end

  if shape == "structures" then
    for i = 1, count do
      local item = body[i]
      if is_list(item) and item.count > 1 then
        local e, n, su = code_entry(item[1]), item[2], item[3]
        if su and is_scaler_unit(su) and is_number(n) then put_scaled(e, n, su)
        else put(e, n) end
      end
    end
  elseif shape == "pairs" then
    local i = start
    if start == 2 and not id and is_string(head) then
      steps[1] = { head, { nil, nil, nil, true }, clock_only = true }
    end
    while i <= count do
      local code, n, su = body[i], body[i + 1], body[i + 2]
      if is_null(code) then
        i = i + 1
      elseif is_scaler_unit(su) then
        put_scaled(code_entry(code), n, su)
        i = i + 3
      else
        put(code_entry(code), n)
        i = i + 2
      end
    end
  elseif shape == "descriptors" then
    for i = 1, head.count do
      local d = head[i]
      if is_list(d) and is_number(d[3]) then put(code_entry(d[2]), body[i], { guard = d[3] }) end
    end
  else
    local layout = P and layout_of(P, count)
    if not layout then
      return nil, format("unknown list layout (%d values)", count), "unknown_layout"
    end
    for i = 1, count do put(layout[i], body[i]) end
  end

  -- Lists 1 of Aidon and Kaifa (P+ only) carry no list id: their profile comes from
  -- their layout or HDLC source address.
  if P and id == nil and P.short == count then list = P.id end
  return { steps = steps, P = P, by_src = by_src, list = list,
    id_leaf = id and not id.bytes and id.leaf or nil }
end

local naming_scaled, unit_exponent = naming.scaled, naming.unit_exponent
local REGISTER = {}
for _, f in ipairs(fields.registers) do REGISTER[f] = true end
local function stream_scaled(v, scaler, unit)
  return naming_scaled(v, scaler + (unit_exponent[unit] or 0))
end

-- The Lua expression of a node's value, as core.notification gives it (in chunk c).
local function expr(c, n)
  if n.leaf then return "v[" .. n.leaf .. "]" end
  if n.bytes then return c.const(n.bytes) end
  if not n.count then return "null" end
  local parts = {}
  for i = 1, n.count do parts[i] = expr(c, n[i]) end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- The function that names the values of a layout: (v, header, opts, null) -> reading.
local function compile(l)
  local c = naming.compiler("han.naming.chunk")()
  if l.list ~= nil then c.field("list", c.const(l.list)) end
  c.pre("local clock")
  for _, s in ipairs(l.steps) do
    local n, e = s[1], s[2]
    local v, field, x, code = expr(c, n), e[2], e[3], e[1]
    local value, number, clock
    if s.clock_only then
      clock = v
    elseif s[3] then          -- the stream's scaler and unit
      local scaler = "v[" .. s[3].leaf .. "]"
      value = "scaled(" .. v .. ", " .. scaler .. ")"
      if x then
        number = "stream(" .. v .. ", " .. scaler .. ", "
          .. (s[4] and "v[" .. s[4].leaf .. "]" or "nil") .. ")"
      end
    else
      value = v
      if x then
        if is_number(n) then number = naming.scaled_expr(v, x) end
      elseif e[4] then
        clock = v
      elseif field and is_string(n) then
        c.field(field, v)
      end
    end
    if s.guard then           -- a push-object list: in turn, when its attribute is 2
      c.line("if v[", s.guard.leaf, "] == 2 then")
      if value then c.line("ob[", c.const(code), "] = ", value) end
      if number then c.number_line(field, number) end
      if clock then c.line("clock = ", clock) end
      c.line("end")
    else
      if value then c.obis(code, value) end
      if number then c.number(field, number) end
      if clock then c.pre("clock = ", clock) end
    end
  end
  -- What every reading gets once its values are in: vendor, meter time, the hour an
  -- hourly list closes, opts.scale.
  local P, hourly, any_clock = l.P, false, false
  for _, step in ipairs(l.steps) do
    hourly = hourly or REGISTER[step[2][2]] or false
    any_clock = any_clock or step[2][4] or false
  end
  c.field("time_fields", "nil")
  c.field("meter_time", "nil")
  if hourly then c.field("hour", "nil") end
  if P then
    if P.vendor then c.field("vendor", c.const(P.vendor)) end
    for _, f in ipairs(P.zero_absent or {}) do
      c.line("if r.", f, " == 0 then r.", f, " = nil end")
    end
  else
    c.field("vendor", "nil")
    c.line("if type(r.meter_type) == \"string\" then r.vendor = vendor_of(r.meter_type) end")
  end
  c.line("if opts and opts.scale then scale(r, opts.scale) end")
  c.line(any_clock and "local tf = time_of(clock, header)" or "local tf = header")
  c.line("if tf then")
  c.line("  r.time_fields, r.meter_time = tf, epoch(tf, opts and opts.zone, ",
    P and P.local_time and "true" or "nil", ")")
  if hourly then c.line("  r.hour = hour(r, tf, registers)") end
  c.line("end")
  c.line("return r")
  return c.compile("v, header, opts, null", { scaled = naming_scaled, stream = stream_scaled,
    scale = naming.apply_scale, time_of = naming.time_of, epoch = time.epoch,
    hour = time.hour, registers = fields.registers, vendor_of = profiles.vendor_of_type })
end

-- layout(v, key, src) -> what han.naming.dlms keeps for the layout of a core.values
-- result: {fn = (v, header, opts, null) -> reading, src =, list =, id_leaf =} (the
-- function, and what a later body must match to be read by it: the source address, the
-- list id among the values), or {message =, code =} for a body han cannot read.
function M.layout(v, key, src)
  local info, message, code = steps_of(tree(key), src, v)
  if not info then return { message = message, code = code } end
  return { fn = compile(info), src = info.by_src and src or nil, list = info.list,
    id_leaf = info.id_leaf }
end

return M
