-- The Lua core against the forum baseline on the 228-byte Kamstrup frame, and its parts,
-- in interleaved rounds of one run (bench/timing.lua): microseconds per frame.
-- Usage (from the repository root, LUA_PATH/LUA_CPATH as for bench/run.lua):
--   lua bench/race.lua [seconds]
package.path = "bench/?.lua;spec/?.lua;" .. package.path
local forum = require("forum")
local han = require("han")
local L = require("han.luacore")
local decode = require("han.decode")

local timing = require("timing")
local cases = require("cases")
local budget, kamstrup = tonumber(arg[1]) or 2, cases.kamstrup

han.use_backend("lua")
local plan = decode.plan
local jobs = {
  { "forum parse, table CRC", function(f) return forum.parse(f, forum.crc16_table) end },
  { "han.decode (Lua core)", decode.decode },
  { "luacore.reading", function(f) return L.reading(f, plan) end },
  { "luacore.decode", L.decode },
  { "luacore.crc16", L.crc16 },
}

local args = {}
for _, job in ipairs(jobs) do
  args[#args + 1], args[#args + 2] = job[2], kamstrup
end
local rates = { timing.race(budget, (table.unpack or unpack)(args)) }
local runtime = rawget(_G, "jit") and jit.version or _VERSION
for i, job in ipairs(jobs) do
  io.write(("%-12s %-24s %7.2f us  %5.2fx forum\n"):format(runtime, job[1], 1e6 / rates[i],
    rates[i] / rates[1]))
end
