-- Which implementation of the han.core contract han uses: the C module when it loads,
-- else the pure-Lua one. Other modules read `backend.core` at call time, so a switch
-- with use() applies everywhere at once.
local M = { name = nil, core = nil, warning = nil }

local modules = { c = "han.core", lua = "han.luacore" }

-- The file package.cpath finds for a C module, or nil (package.searchpath is 5.2+ only).
local function searchpath(name)
  local file = name:gsub("%.", "/")
  for template in package.cpath:gmatch("[^;]+") do
    local path = template:gsub("%?", file)
    local f = io.open(path, "rb")
    if f then
      f:close()
      return path
    end
  end
end

-- load(name) -> module, or nil, why, found: a C module that is not installed (found
-- false), or one that is there but does not load (built for another Lua, a library
-- missing), said with its file and the loader's reason.
function M.load(name)
  local ok, mod = pcall(require, name)
  if ok then return mod end
  local path = searchpath(name)
  if not path then return nil, name .. " is not installed", false end
  local why = tostring(mod):match("[^\n]*$"):gsub("^%s+", "")
  return nil, name .. " (" .. path .. ") does not load: " .. why, true
end

-- use("c" | "lua" | nil): nil picks C when it loads, else Lua; a C core that is there
-- but does not load is said on stderr (and kept in M.warning), never passed over in
-- silence. Returns the core.
function M.use(name)
  if name ~= nil and not modules[name] then
    error("unknown han backend '" .. tostring(name) .. "' (use 'c' or 'lua')", 2)
  end
  local core, why, found
  if name ~= "lua" then core, why, found = M.load(modules.c) end
  if core then
    M.name, M.core = "c", core
    return core
  end
  if name == "c" then error(why, 2) end
  if found and not M.warning then
    M.warning = why .. "; using the pure-Lua core"
    io.stderr:write("han: ", M.warning, "\n")
  end
  M.name, M.core = "lua", require(modules.lua)
  return M.core
end

local forced = os and os.getenv and os.getenv("HAN_BACKEND")
M.use(forced ~= "" and forced or nil)

return M
