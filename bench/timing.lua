-- Rates measured the way every benchmark here measures them (bench/run.lua, race.lua):
-- CPU time per operation, the best of ten rounds, the rows a ratio compares in
-- interleaved rounds.
local M = {}

-- operations per second of fn(x) over about `quantum` CPU seconds. The heap is
-- collected first, so that a round pays for its own garbage only, not for what the
-- round before left (the forum decoder's strings slowed han.decode's rounds by a sixth).
-- Results go to a table so that no compiler can drop the work. Each fn gets a loop of
-- its own, compiled from the same text: under LuaJIT one shared loop calls several
-- functions, and whichever ran first shapes the trace the others then run in, which
-- moved a ratio between processes by a third.
local sink = {}  -- luacheck: ignore 241
local LOOP = [[
local fn, sink = ...
return function(x, n)
  for i = 1, n do sink[i % 4] = fn(x) end
end]]
local loops = setmetatable({}, { __mode = "k" })
function M.round(fn, x, quantum)
  local loop = loops[fn]
  if not loop then
    loop = assert((loadstring or load)(LOOP, "=timing loop"))(fn, sink)
    loops[fn] = loop
  end
  local n = 1
  while true do
    collectgarbage("collect")
    local t0 = os.clock()
    loop(x, n)
    local dt = os.clock() - t0
    if dt >= quantum then return n / dt end
    n = n * (dt < quantum / 8 and 4 or 2)
  end
end

-- race(budget, fn1, x1, fn2, x2, ...): the rates of several operations measured in
-- ten interleaved rounds of budget/10 seconds each, so that a slow spell of the machine
-- weighs on all of them alike; each rate is its best round. M.rounds keeps the rates of
-- every round of the last race, for M.ratio.
local unpack = table.unpack or unpack
function M.race(budget, ...)
  local jobs, best, rounds = { ... }, {}, {}
  local k = select("#", ...) / 2
  for i = 1, k do best[i], rounds[i] = 0, {} end
  for r = 1, 10 do
    for i = 1, k do
      local x = M.round(jobs[2 * i - 1], jobs[2 * i], budget / 10)
      rounds[i][r] = x
      best[i] = math.max(best[i], x)
    end
  end
  M.rounds = rounds
  return unpack(best, 1, k)
end

-- The median over the last race's rounds of rate i / rate j in the same round: a
-- spell of noise longer than a round moves the best rates apart, the ratio of
-- neighbouring measurements much less.
function M.ratio(i, j)
  local a, b, q = M.rounds[i], M.rounds[j], {}
  for r = 1, #a do q[r] = a[r] / b[r] end
  table.sort(q)
  return (q[#q / 2] + q[#q / 2 + 1]) / 2
end

return M
