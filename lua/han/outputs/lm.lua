-- han.lm: readings (and capacity reports) into LogicMachine group objects.
-- A map says which field goes to which group address; each update stores only what
-- moved by more than the field's deadband (grp.checkupdate, or grp.checkwrite when the
-- value should also go out on the bus as a telegram).
local M = {}

-- What each field is (label, unit, LM datatype): the catalogue's entries.
M.fields = require("han.naming.fields").fields

local Outputs = {}
Outputs.__index = Outputs

-- One map entry: '1/1/1' or {'1/1/1', delta =, write =, datatype =, units =, name =}.
local function target(field, spec, opts)
  if type(spec) == "string" then spec = { spec } end
  if type(spec) ~= "table" or type(spec[1]) ~= "string" then
    error("han.lm: map." .. field .. " must be a group address or {address, delta = ...}", 3)
  end
  local known = M.fields[field] or { label = field, unit = "", datatype = "float32" }
  local write = spec.write
  if write == nil then write = opts.write end
  return {
    field = field, address = spec[1], delta = spec.delta,
    fn = write and "checkwrite" or "checkupdate",
    datatype = spec.datatype or known.datatype or "uint32",   -- an epoch: whole seconds
    units = spec.units or known.unit,
    name = spec.name or (opts.name_prefix or "HAN ") .. known.label,
  }
end

-- new(map [, opts]): opts.write (telegrams on the bus for every field), opts.create
-- (create missing objects), opts.name_prefix, opts.grp / opts.dt (default: LM's globals).
function M.new(map, opts)
  opts = opts or {}
  if type(map) ~= "table" then error("han.lm: the map must be a table", 2) end
  local grp = opts.grp or rawget(_G, "grp")
  if type(grp) ~= "table" then error("han.lm: no grp (not on a LogicMachine? pass opts.grp)", 2) end
  local self = setmetatable({ grp = grp, dt = opts.dt or rawget(_G, "dt"), targets = {} },
    Outputs)
  local names = {}
  for field in pairs(map) do names[#names + 1] = field end
  table.sort(names)          -- a fixed order: same calls every run
  for i, field in ipairs(names) do self.targets[i] = target(field, map[field], opts) end
  if opts.create then self:create() end
  return self
end

-- Create the objects that do not exist yet, with datatype and unit. Returns how many.
function Outputs:create()
  local grp, dt, made = self.grp, self.dt, 0
  for _, t in ipairs(self.targets) do
    if not grp.find(t.address) then
      local datatype = dt and dt[t.datatype] or t.datatype
      grp.create({ datatype = datatype, name = t.name, address = t.address, units = t.units })
      made = made + 1
    end
  end
  return made
end

local function storable(v)
  if type(v) == "number" then return v == v and v ~= math.huge and v ~= -math.huge end
  return type(v) == "string" or type(v) == "boolean"    -- booleans: 1-bit objects
end

-- update(values): store each mapped field present in `values` (a reading, a capacity
-- report, or any table of fields); absent or non-finite values are left alone.
-- Returns how many objects changed.
function Outputs:update(values)
  if type(values) ~= "table" then error("han.lm: update expects a table of fields", 2) end
  local grp, changed = self.grp, 0
  for _, t in ipairs(self.targets) do
    local v = values[t.field]
    if storable(v) and grp[t.fn](t.address, v, t.delta) then changed = changed + 1 end
  end
  return changed
end

return M
