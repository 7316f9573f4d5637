-- han.naming: the one namer. It turns a core's values (docs/core-api.md: core.values,
-- core.p1) into a reading with the field names, units and meter time of the catalogue
-- (han.naming.fields), whatever the protocol; han.naming.dlms and han.naming.p1 read
-- each protocol's layout, everything a value means is decided here.
--
-- A meter sends the same layout again and again with other values, so a layout is
-- read once: the protocol reader compiles, per layout key, a Lua function that builds
-- the reading straight from the values array (with `load`). How many compiled layouts
-- are kept is an implementation detail (at most MAX_LAYOUTS; all are dropped when
-- full), not part of any contract.
local fields = require("han.naming.fields")
local profiles = require("han.naming.profiles")
local time = require("han.time")

local type, floor, format, concat = type, math.floor, string.format, table.concat
local load = rawget(_G, "loadstring") or load
local unpack = rawget(_G, "unpack") or rawget(table, "unpack")

local M = {}

M.fields = fields

------------------------------------------------------------------------------------
-- Numbers

-- v * 10^x; a negative x divides, so that 2219 at -2 is the double nearest 22.19.
-- Exact powers up to 10^22; larger whole ones in steps of 10^22 (capped at 10^330);
-- fractions (hostile scalers) by `^`.
local pow10 = {}
for e = 0, 22 do pow10[e] = 10 ^ e end
function M.scaled(v, x)
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

-- The Lua expression of `expr` times 10^x for a whole x in -22..22, as M.scaled computes
-- it (the literal is the exact power of ten).
function M.scaled_expr(expr, x)
  if x == 0 then return expr end
  local k = x < 0 and -x or x
  return format("%s %s %s", expr, x < 0 and "/" or "*", format("%.0f", pow10[k]))
end

-- The power of ten that turns a COSEM unit (the enum of a scaler/unit pair) into the
-- reading's unit: Wh, VAh and varh become kWh, kVAh and kvarh.
M.unit_exponent = { [30] = -3, [31] = -3, [32] = -3 }

-- A number the namer refuses for `field` (outside its kind's range): r.errors[field]
-- says why; the field stays absent.
function M.refuse(r, field, v)
  local errors = r.errors or {}
  errors[field] = format("out of range: %.17g", v)
  r.errors = errors
end

------------------------------------------------------------------------------------
-- Compiled layouts

-- A chunk built as lines of Lua: the body of a function whose upvalues are the
-- constants it was given (K[1], K[2] ...); strings from the data only ever enter the
-- text as quoted literals.
function M.chunk()
  local c = { lines = {}, consts = {}, index = {} }
  function c.line(...) c.lines[#c.lines + 1] = concat({ ... }) end
  -- r[field] = the number expr gives, when it is in the range of the field's kind.
  function c.number(field, expr)
    local range = fields.range[fields.kind[field]]
    c.line("x = ", expr)
    c.line(format("if x >= %.17g and x <= %.17g then r.%s = x else refuse(r, %q, x) end",
      range[1], range[2], field, field))
  end
  -- An expression that gives the constant v: a string as a literal (%q quotes any
  -- byte safely), anything else through K.
  function c.const(v)
    if type(v) == "string" then return (format("%q", v):gsub("\r", "\\r")) end
    local i = c.index[v]
    if not i then
      i = #c.consts + 1
      c.consts[i], c.index[v] = v, i
    end
    return "K[" .. i .. "]"
  end
  -- The function made of the lines: `params` its parameters, `upvalues` named values it
  -- may use (name -> value).
  function c.compile(params, upvalues)
    local names, values = { "K", "refuse" }, { c.consts, M.refuse }
    for name, v in pairs(upvalues) do
      names[#names + 1], values[#values + 1] = name, v
    end
    local src = "local " .. concat(names, ", ") .. " = ...\nreturn function(" .. params
      .. ")\nlocal x\n" .. concat(c.lines, "\n") .. "\nend\n"
    local fn = assert(load(src, "=han.naming"))
    return fn(unpack(values, 1, #names))
  end
  return c
end

local MAX_LAYOUTS = 32
local layouts, n_layouts = {}, 0
-- The compiled layout kept under `key` (a protocol's layout key), or nil.
function M.layout(key) return layouts[key] end
function M.keep(key, l)
  if n_layouts >= MAX_LAYOUTS then layouts, n_layouts = {}, 0 end
  layouts[key], n_layouts = l, n_layouts + 1
  return l
end

------------------------------------------------------------------------------------
-- What every reading gets once its values are in

local epoch_of, hour_of, fields_of_time = time.epoch, time.hour, time.fields
local registers = fields.registers

-- opts.scale: multipliers by kind (current transformers, meters sending Wh where their
-- list says 10 Wh), checked by han.decode.
function M.apply_scale(r, scale)
  for kind, m in pairs(scale) do
    local names = fields.of_kind[kind]
    for i = 1, #names do
      local f = names[i]
      if r[f] then r[f] = r[f] * m end
    end
  end
end

-- finish(r, P, clock, header, opts): a DLMS reading's list-independent fields. clock:
-- the clock register's value (12 bytes or a date-time table) or nil; header: the
-- notification's 12 date-time bytes or nil; P: the vendor profile or nil.
function M.finish(r, P, clock, header, opts)
  if type(clock) == "string" then clock = fields_of_time(clock) end
  local tf = type(clock) == "table" and clock or header and fields_of_time(header) or nil
  r.time_fields = tf
  if P then
    r.vendor = P.vendor
    local zero_absent = P.zero_absent
    if zero_absent then
      for i = 1, #zero_absent do
        local f = zero_absent[i]
        if r[f] == 0 then r[f] = nil end
      end
    end
  elseif type(r.meter_type) == "string" then
    r.vendor = profiles.vendor_of_type(r.meter_type)
  end
  local scale, zone = opts and opts.scale, opts and opts.zone
  if scale then M.apply_scale(r, scale) end
  if tf then
    r.meter_time = epoch_of(tf, zone, P and P.local_time)
    r.hour = hour_of(r, tf, registers)
  end
  return r
end

return M
