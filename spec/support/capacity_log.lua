-- What han.capacity logs, kept for the capacity specs.
local M = {}

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
