-- Which implementation of the han.core contract han uses: the C module when it loads,
-- else the pure-Lua one. Other modules read `backend.core` at call time, so a switch
-- with use() applies everywhere at once.
local M = { name = nil, core = nil }

local modules = { c = "han.core", lua = "han.luacore" }

-- use("c" | "lua" | nil): nil picks C when it loads, else Lua. Returns the core.
function M.use(name)
  if name ~= nil and not modules[name] then
    error("unknown han backend '" .. tostring(name) .. "' (use 'c' or 'lua')", 2)
  end
  if name == nil then
    local ok, core = pcall(require, modules.c)
    if ok then
      M.name, M.core = "c", core
    else
      M.name, M.core = "lua", require(modules.lua)
    end
  else
    M.name, M.core = name, require(modules[name])
  end
  return M.core
end

local forced = os and os.getenv and os.getenv("HAN_BACKEND")
M.use(forced ~= "" and forced or nil)

return M
