-- han.naming.chunk: the builder of the functions han.naming compiles per layout (the
-- protocol readers in han.naming.dlms_layout, han.naming.p1 and han.naming.sml write
-- them with it). It runs only when a layout is new: han.naming.compiler loads it for
-- that and does not keep it.
local naming = require("han.naming")
local fields = require("han.naming.fields")

local type, format, concat = type, string.format, table.concat
local load = rawget(_G, "loadstring") or load
local unpack = rawget(_G, "unpack") or rawget(table, "unpack")

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
return function()
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
    local names, values = { "K", "refuse" }, { c.consts, naming.refuse }
    for name, v in pairs(upvalues) do
      names[#names + 1], values[#values + 1] = name, v
    end
    local checks = {}
    for _, e in ipairs(c.r) do
      local range = e and c.numbers[e[1]]
      if range then
        -- a value or a local is checked where it is, not looked up again in r
        local at = (e[2]:find("^v%[%d+%]$") or e[2]:find("^[%a_][%w_]*$")) and e[2]
          or "r." .. e[1]
        checks[#checks + 1] = format(
          "x = %s if not (x >= %.17g and x <= %.17g) then refuse(r, %q, x) end",
          at, range[1], range[2], e[1])
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
