-- The Lua core against the forum baseline on the 228-byte Kamstrup frame, in interleaved
-- rounds of one run (bench/run.lua's method): microseconds per frame, best of the rounds.
-- Usage (from the repository root, LUA_PATH/LUA_CPATH as for bench/run.lua):
--   lua bench/race.lua [rounds [seconds-per-round]]
package.path = "bench/?.lua;spec/?.lua;" .. package.path
local H = require("helpers")
local forum = require("forum")
local han = require("han")
local L = require("han.luacore")
local decode = require("han.decode")

local rounds, quantum = tonumber(arg[1]) or 20, tonumber(arg[2]) or 0.05

local kamstrup
for _, r in ipairs(H.frames()) do
  if r.bytes == 228 and r.reference ~= H.json_null
    and r.reference.list_ver_id == "Kamstrup_V0001" then
    kamstrup = r.raw
    break
  end
end

han.use_backend("lua")
local plan = decode.plan
local jobs = {
  { "forum parse, table CRC", function(f) return forum.parse(f, forum.crc16_table) end },
  { "han.decode (Lua core)", decode.decode },
  { "luacore.reading", function(f) return L.reading(f, plan) end },
  { "luacore.decode", L.decode },
  { "luacore.crc16", L.crc16 },
}

local sink = {}  -- luacheck: ignore 241
local function round(fn)
  local n = 1
  while true do
    local t0 = os.clock()
    for i = 1, n do sink[i % 4] = fn(kamstrup) end
    local dt = os.clock() - t0
    if dt >= quantum then return dt / n end
    n = n * (dt < quantum / 8 and 4 or 2)
  end
end

local best = {}
for _ = 1, rounds do
  for i, job in ipairs(jobs) do
    local t = round(job[2])
    if not best[i] or t < best[i] then best[i] = t end
  end
end
local runtime = rawget(_G, "jit") and jit.version or _VERSION
for i, job in ipairs(jobs) do
  io.write(("%-12s %-24s %7.2f us  %5.2fx forum\n"):format(runtime, job[1], best[i] * 1e6,
    best[1] / best[i]))
end
