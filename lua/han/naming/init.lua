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
local time = require("han.time")

local type, floor, format = type, math.floor, string.format

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

-- A number the namer refuses for `field` (outside its kind's range): the field goes,
-- r.errors[field] says why.
function M.refuse(r, field, v)
  r[field] = nil
  local errors = r.errors or {}
  errors[field] = format("out of range: %.17g", v)
  r.errors = errors
end

------------------------------------------------------------------------------------
-- Compiled layouts

-- A module that only compiles layouts (han.naming.chunk, han.naming.dlms_layout and the
-- profiles it reads, han.naming.profiles) runs when a layout is new, and a meter sends
-- one or a few: it is not kept in package.loaded but only weakly, until the collector's
-- next cycle, so that a resident script does not hold it (about 40 KiB of a Lua 5.1
-- heap) while a run of new layouts loads it once.
local compilers = setmetatable({}, { __mode = "v" })
function M.compiler(name)
  local m = compilers[name]
  if not m then
    m = require(name)
    package.loaded[name] = nil
    compilers[name] = m
  end
  return m
end

local MAX_LAYOUTS = 32
-- The compiled layouts kept, by layout key (emptied, in place, when full).
M.layouts = {}
local n_layouts = 0
function M.keep(key, l)
  if n_layouts >= MAX_LAYOUTS then
    for k in pairs(M.layouts) do M.layouts[k] = nil end
    n_layouts = 0
  end
  M.layouts[key], n_layouts = l, n_layouts + 1
  return l
end

------------------------------------------------------------------------------------
-- What every reading gets once its values are in

local fields_of_time = time.fields

-- opts.scale: multipliers by kind (current transformers, meters sending Wh where their
-- list says 10 Wh), checked by han.decode.
function M.apply_scale(r, scale)
  for kind, m in pairs(scale) do
    for _, f in ipairs(fields.of_kind[kind]) do
      if r[f] then r[f] = r[f] * m end
    end
  end
end

-- The time fields of a reading: the clock register's value (12 bytes or a date-time
-- table) when it is one, else the notification header's date-time, else nil.
function M.time_of(clock, header)
  if type(clock) == "string" then clock = fields_of_time(clock) end
  if type(clock) == "table" then return clock end
  return header
end

return M
