-- Machine instructions per operation, counted by callgrind: the figure a busy shared
-- machine cannot blur (bench/run.lua's rates are CPU time), for the Kamstrup frame
-- through han.decode with the C core, the limit and the honest forum decoder
-- (forum.parse_bytes), and for the P1 telegram through han.decode and the forum P1 parser
-- (bench/p1forum.lua). Each operation runs n and 2n times, each under valgrind in its own process:
-- the difference is the cost of n operations, set-up and first calls left out.
-- Under LuaJIT (not part of `make bench`: it takes a minute) it prints instead the honest
-- forum decoder and han.decode with both cores, each with the collector running and stopped:
-- where the time goes there. Address randomisation is turned off (setarch -R), as it
-- moves LuaJIT's counts; they still vary by a few per cent between runs.
-- Usage (from the repository root, LUA_PATH/LUA_CPATH as `make bench` sets them):
--   lua5.1 bench/instructions.lua         prints the rows (luajit: its rows)
--   lua5.1 bench/instructions.lua OP N    (what valgrind runs) N times operation OP
package.path = "bench/?.lua;spec/?.lua;" .. package.path
local cases = require("cases")
local forum = require("forum")
local p1forum = require("p1forum")
local han = require("han")
local have = { c = pcall(han.use_backend, "c"), lua = pcall(han.use_backend, "lua") }
if have.c then han.use_backend("c") end

local kamstrup, telegram = cases.kamstrup, cases.telegram
local ops = {
  p1 = function() return han.decode(telegram) end,
  decode = function() return han.decode(kamstrup) end,
  limit = cases.from_constants,
  forum = function() return forum.parse_bytes(kamstrup) end,
  p1forum = function() return p1forum.parse(telegram) end,
}

-- OP "lua:x" is x with the Lua core, "nogc:x" x with the collector stopped.
local op = arg[1]
if op then
  if op:find("^lua:") then han.use_backend("lua") end
  if op:find("nogc:") then collectgarbage("stop") end
  local fn, sink = assert(ops[op:match("[^:]+$")], "unknown operation"), {}  -- luacheck: ignore 241
  for i = 1, tonumber(arg[2]) do sink[i % 4] = fn() end
  return
end

-- Enough operations for about 10 ms of this machine's time (LuaJIT: 50 ms, so that its
-- trace compilations weigh little), so that valgrind's run stays short and the set-up's
-- own count weighs little.
local function enough(fn)
  local n, t0, span = 0, os.clock(), rawget(_G, "jit") and 0.05 or 0.01
  repeat fn(); n = n + 1 until os.clock() - t0 >= span
  return n
end

-- The interpreter running this script, as valgrind must start it again.
local lua = arg[-1]
local function count(which, n)
  local cmd = ("setarch -R valgrind --tool=callgrind --callgrind-out-file=/dev/null "
    .. "%s bench/instructions.lua %s %d 2>&1"):format(lua, which, n)
  local out = io.popen(cmd):read("*a")
  local refs = out:match("refs:%s+([%d,]+)")
  if not refs then error("callgrind gave no count:\n" .. out) end
  return tonumber((refs:gsub(",", "")))
end

local runtime = (rawget(_G, "jit") and jit.version) or _VERSION
local function row(what, value, note)
  io.write(("| %-44s | %-12s | %12s %-8s | %s |\n"):format(what, runtime,
    ("%.1fk"):format(value / 1e3), "instr", note or ""))
end

local function per_op(which)
  local n = enough(ops[which:match("[^:]+$")])
  return (count(which, 2 * n) - count(which, n)) / n
end

if rawget(_G, "jit") then
  for _, r in ipairs({ { "forum", "honest forum" }, { "decode", "han.decode (C core)", "c" },
    { "lua:decode", "han.decode (Lua core)", "lua" } }) do
    if not r[3] or have[r[3]] then
      local all, nogc = per_op(r[1]), per_op("nogc:" .. r[1])
      row("instructions per frame: " .. r[2], all,
        ("%.1fk with the collector stopped"):format(nogc / 1e3))
    end
  end
  return
end

-- Lua 5.1: han.decode with the C core, when it loads
local limit, forum_bytes = per_op("limit"), per_op("forum")
row("instructions per reading: the limit", limit)
row("instructions per frame: honest forum", forum_bytes)
if not have.c then return end
local c = per_op("decode")
row("instructions per frame: han.decode (C core)", c,
  ("%.2f x the limit; the honest forum decoder takes %.1f x as many"):format(c / limit,
    forum_bytes / c))
local p1, p1_forum = per_op("p1"), per_op("p1forum")
row(("instructions per telegram: forum P1 %d B"):format(#telegram), p1_forum)
row(("instructions per telegram: han.decode P1 %d B"):format(#telegram), p1,
  ("the forum P1 parser takes %.1f x as many"):format(p1_forum / p1))
