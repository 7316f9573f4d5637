-- A stand-in for the LogicMachine script environment: grp, storage and dt that record
-- every call, so specs can check exactly what a script would have written.
local M = {}

-- The datatype constants of LM's dt table that han uses (values are LM's).
M.dt = { bool = 1, float16 = 9, uint32 = 12, int32 = 13, float32 = 14, string = 16,
  int64 = 29 }

-- new{objects = {[address] = {value=, datatype=}}} -> env with env.grp, env.storage,
-- env.dt, env.calls (list of {fn, args...}) and env.objects.
function M.new(opts)
  opts = opts or {}
  local env = { calls = {}, objects = opts.objects or {}, store = {}, dt = M.dt }
  local function record(...) env.calls[#env.calls + 1] = { ... } end

  -- checkupdate/checkwrite store only when the value moved by at least delta
  -- (LM's default delta is 0: any change).
  local function check(name)
    return function(alias, value, delta)
      record(name, alias, value, delta)
      local obj = env.objects[alias]
      if obj and obj.value ~= nil and type(value) == "number" and type(obj.value) == "number"
        and math.abs(value - obj.value) < (delta or 0) then
        return false
      end
      if obj and obj.value == value then return false end
      env.objects[alias] = env.objects[alias] or {}
      env.objects[alias].value = value
      return true
    end
  end

  env.grp = {
    -- grp.write: the value goes on the bus as a telegram, changed or not.
    write = function(alias, value)
      record("write", alias, value)
      env.objects[alias] = env.objects[alias] or {}
      env.objects[alias].value = value
      return true
    end,
    checkupdate = check("checkupdate"),
    checkwrite = check("checkwrite"),
    find = function(alias)
      record("find", alias)
      local obj = env.objects[alias]
      return obj and { address = alias, datatype = obj.datatype, units = obj.units } or nil
    end,
    create = function(t)
      record("create", t)
      env.objects[t.address] = { datatype = t.datatype, units = t.units, name = t.name }
      return #env.calls
    end,
    getvalue = function(alias)
      local obj = env.objects[alias]
      return obj and obj.value
    end,
  }
  env.storage = {
    get = function(key, default)
      local v = env.store[key]
      if v == nil then return default end
      return v
    end,
    set = function(key, value)
      record("storage.set", key)
      env.store[key] = value
      return true
    end,
  }
  -- The calls of one kind, in order.
  function env.of(name)
    local out = {}
    for _, c in ipairs(env.calls) do
      if c[1] == name then out[#out + 1] = c end
    end
    return out
  end
  return env
end

return M
