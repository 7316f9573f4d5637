-- What the capacity specs share: Oslo's wall clock, readings pushed at a steady power,
-- and what han.capacity logs.
local time = require("han.time")

local M = {}

local OSLO = time.zone("Europe/Oslo")

-- UTC epoch of a wall-clock time in Oslo.
function M.oslo(y, mo, d, h, mi)
  return time.from_local(y, mo, d, h, mi or 0, 0, OSLO)
end

-- Push readings every `step` seconds from t0 (inclusive) to t1 (exclusive) at kW; the
-- last report.
function M.run(cap, t0, t1, kw, step)
  local rep
  for t = t0, t1 - 1, step or 60 do
    rep = cap:push({ meter_time = t, power_import = kw * 1000 })
  end
  return rep
end

-- A log function for opts.log, and the list of what it was given.
function M.new()
  local said = {}
  return function(msg) said[#said + 1] = msg end, said
end

-- How many of the messages match a Lua pattern.
function M.count(said, pattern)
  local n = 0
  for _, s in ipairs(said) do if s:find(pattern) then n = n + 1 end end
  return n
end

return M
