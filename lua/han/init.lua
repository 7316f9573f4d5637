-- han: readings from the HAN port of smart electricity meters.
-- Submodules load on first use (han.reader, han.hourly, ...), so a controller script
-- only pays for what it touches.
local backend = require("han.backend")

local han = { _VERSION = "han scm" }

-- Force a backend ("c" or "lua"); han.backend tells which one is in use.
function han.use_backend(name)
  backend.use(name)
  han.backend, han.core = backend.name, backend.core
  return han.core
end
han.backend, han.core = backend.name, backend.core

-- Fields that load a submodule on first access: name -> module, field in it.
local lazy = {
  decode = { "han.decode", "decode" },
  reader = { "han.reader", "new" },
  d0 = { "han.d0", "new" },
  hourly = { "han.outputs.hourly", "new" },
  lm = { "han.outputs.lm", "new" },
  capacity = { "han.outputs.capacity", "new" },
  guard = { "han.outputs.guard", "new" },
  mqtt = { "han.outputs.mqtt", "new" },
  fields = { "han.naming.fields", "fields" },
}

return setmetatable(han, {
  __index = function(t, k)
    local l = lazy[k]
    if not l then return nil end
    local v = require(l[1])[l[2]]
    rawset(t, k, v)
    return v
  end,
})
