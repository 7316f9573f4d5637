-- A LogicMachine resident script run as the controller runs it: the body again and
-- again with its globals kept, grp, storage, dt and log from a fake_lm env, and
-- require('user.han') giving han with some fields replaced (a reader on a fake port, a
-- clock).
local han = require("han")

local M = {}

-- resident(path, env, user, now, cleanup) -> run(seconds), logged, globals, once (one
-- run of the body). `user`:
-- han's fields to replace; now(): the virtual clock run() goes by; cleanup: busted's
-- finally, which takes the globals away after the test.
function M.resident(path, env, user, now, cleanup)
  local logged = {}
  local user_han = setmetatable(user, { __index = han })
  -- The controller's globals, seen by the script and by han's modules (han.lm) alike.
  local lm_globals = { grp = env.grp, storage = env.storage, dt = env.dt,
    log = function(...) logged[#logged + 1] = { at = now(), ... } end }
  for k, v in pairs(lm_globals) do _G[k] = v end
  cleanup(function() for k in pairs(lm_globals) do _G[k] = nil end end)
  local g = setmetatable({
    require = function(name) return name == "user.han" and user_han or require(name) end,
  }, { __index = _G })
  local chunk
  if rawget(_G, "setfenv") then
    chunk = assert(loadfile(path))
    setfenv(chunk, g)
  else
    chunk = assert(loadfile(path, "t", g))
  end
  return function(seconds)
    while now() < seconds do chunk() end
  end, logged, g, chunk
end

return M
