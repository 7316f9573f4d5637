-- The Lua core against the forum baselines on the 228-byte Kamstrup frame, in interleaved
-- rounds of one run (bench/timing.lua): microseconds per frame, and each against the
-- honest forum decoder (forum.parse_bytes).
-- Usage (from the repository root, LUA_PATH/LUA_CPATH as for bench/run.lua):
--   lua bench/race.lua [seconds]
package.path = "bench/?.lua;spec/?.lua;" .. package.path
local forum = require("forum")
local han = require("han")

local timing = require("timing")
local cases = require("cases")
local budget, kamstrup = tonumber(arg[1]) or 2, cases.kamstrup

local core = han.use_backend("lua")
local decode = han.decode
local jobs = {
  { "honest forum parse", forum.parse_bytes },
  { "forum parse (substrings)", function(f) return forum.parse(f, forum.crc16_table) end },
  { "han.decode (Lua core)", decode },
  { "core.crc16 (Lua core)", core.crc16 },
}

local args = {}
for _, job in ipairs(jobs) do
  args[#args + 1], args[#args + 2] = job[2], kamstrup
end
local rates = { timing.race(budget, (table.unpack or unpack)(args)) }
local runtime = rawget(_G, "jit") and jit.version or _VERSION
for i, job in ipairs(jobs) do
  io.write(("%-12s %-26s %7.2f us  %5.2fx honest forum\n"):format(runtime, job[1],
    1e6 / rates[i], rates[i] / rates[1]))
end
