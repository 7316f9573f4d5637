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

-- A chunk that builds a reading: the body of a function whose upvalues are the
-- constants it was given (K[1], K[2] ...); strings from the data only ever enter the
-- text as quoted literals. The reading's tables are each made by one constructor, so
-- that Lua sizes them once:
--   pre(...)            a statement before the tables are made
--   obis(code, expr)    obis[code] = expr
--   field(name, expr)   r[name] = expr
--   number(name, expr)  r[name] = expr when in the range of the field's kind
--   line(...)           a statement after (r and ob are the reading and its obis),
--   number_line(name, expr) one that sets r[name] as number() does
-- Of a field or code given twice, the later wins.
function M.chunk()
  local c = { pre_lines = {}, lines = {}, consts = {}, index = {},
    ob = {}, ob_at = {}, r = {}, r_at = {}, numbers = {} }
  local function put(list, at, k, expr)
    if at[k] then list[at[k]] = false end
    list[#list + 1] = { k, expr }
    at[k] = #list
  end
  function c.pre(...) c.pre_lines[#c.pre_lines + 1] = concat({ ... }) end
  function c.line(...) c.lines[#c.lines + 1] = concat({ ... }) end
  function c.obis(code, expr) put(c.ob, c.ob_at, code, expr) end
  function c.field(name, expr)
    put(c.r, c.r_at, name, expr)
    c.numbers[name] = nil
  end
  function c.number(name, expr)
    put(c.r, c.r_at, name, expr)
    c.numbers[name] = fields.range[fields.kind[name]]
  end
  -- The statement that sets r[name] to the number expr gives, when in range.
  function c.number_line(name, expr)
    local range = fields.range[fields.kind[name]]
    c.line(format("x = %s if x >= %.17g and x <= %.17g then r.%s = x else refuse(r, %q, x) end",
      expr, range[1], range[2], name, name))
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
  local function constructor(list, key)
    local out = {}
    for _, e in ipairs(list) do
      if e then out[#out + 1] = format("  %s = %s,", key(e[1]), e[2]) end
    end
    return concat(out, "\n")
  end
  -- The function: `params` its parameters, `upvalues` named values it may use.
  function c.compile(params, upvalues)
    local names, values = { "K", "refuse" }, { c.consts, M.refuse }
    for name, v in pairs(upvalues) do
      names[#names + 1], values[#values + 1] = name, v
    end
    local checks = {}
    for _, e in ipairs(c.r) do
      local range = e and c.numbers[e[1]]
      if range then
        checks[#checks + 1] = format(
          "x = r.%s if not (x >= %.17g and x <= %.17g) then refuse(r, %q, x) end",
          e[1], range[1], range[2], e[1])
      end
    end
    local src = concat({ "local ", concat(names, ", "), " = ...\nreturn function(", params,
      ")\nlocal x\n", concat(c.pre_lines, "\n"), "\nlocal ob = {\n",
      constructor(c.ob, function(k) return "[" .. c.const(k) .. "]" end),
      "\n}\nlocal r = { obis = ob,\n", constructor(c.r, function(k) return k end), "\n}\n",
      concat(checks, "\n"), "\n", concat(c.lines, "\n"), "\nend\n" })
    local fn = assert(load(src, "=han.naming"))
    return fn(unpack(values, 1, #names))
  end
  return c
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
    local names = fields.of_kind[kind]
    for i = 1, #names do
      local f = names[i]
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
