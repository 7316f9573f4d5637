-- Decode benchmarks for one Lua runtime, printed as rows of the `make bench` table.
-- Usage (from the repository root, with LUA_PATH/LUA_CPATH as `make bench` sets them):
--   lua bench/run.lua [seconds-per-measurement [c|lua]]
-- Every figure is CPU time per operation measured in this run; ratios compare figures
-- of the same run. With a backend named, only its rows (and the forum's, in the C run):
-- under LuaJIT `make bench` measures each backend in its own process, as each is used,
-- since both name readings with the same Lua code (han.luareading), whose compiled
-- traces would otherwise be shaped by whichever backend ran first.
package.path = "bench/?.lua;spec/?.lua;" .. package.path
local H = require("helpers")
local forum = require("forum")
local han = require("han")
local C = require("han.core")
local L = require("han.luacore")
local decode = require("han.decode").decode

local budget = tonumber(arg[1]) or 0.3
local want = { c = arg[2] ~= "lua", lua = arg[2] ~= "c" }
local runtime = (rawget(_G, "jit") and jit.version) or _VERSION

local timing = require("timing")
local function race(...) return timing.race(budget, ...) end
local function rate(fn, x) return (race(fn, x)) end

local function row(what, value, unit, note)
  io.write(("| %-44s | %-12s | %12s %-8s | %s |\n"):format(what, runtime, value, unit,
    note or ""))
end

local function fmt(x)
  if x >= 1e6 then return ("%.2fM"):format(x / 1e6) end
  if x >= 1e3 then return ("%.1fk"):format(x / 1e3) end
  return ("%.1f"):format(x)
end

local cases = require("cases")
local frames, kamstrup, from_constants = cases.frames, cases.kamstrup, cases.from_constants

local function forum_table_parse(f) return forum.parse(f, forum.crc16_table) end
if want.c then
  local forum_bit = rate(function(f) return forum.parse(f, forum.crc16_bitwise) end, kamstrup)
  han.use_backend("c")
  local capi_copy = require("bench_capi").copier(from_constants())
  local forum_table, c_kamstrup, limit, capi = race(forum_table_parse, kamstrup, decode,
    kamstrup, from_constants, nil, capi_copy, nil)
  -- the ratios: medians of the rounds' own (timing.ratio)
  local c_vs_forum, limit_vs_c = timing.ratio(2, 1), timing.ratio(3, 2)
  local capi_vs_c, capi_vs_forum = timing.ratio(4, 2), timing.ratio(4, 1)
  row("forum baseline, bitwise CRC (Kamstrup)", fmt(forum_bit), "frames/s")
  row("forum baseline, 256-entry CRC table (Kamstrup)", fmt(forum_table), "frames/s")

  local plan = require("han.decode").plan
  for _, f in ipairs(frames) do
    local raw = rate(C.decode, f[2])
    local named = f == frames[1] and c_kamstrup or rate(decode, f[2])
    row("core.decode (C) " .. f[1], fmt(raw), "frames/s",
      ("core.reading %s/s"):format(fmt(rate(function(s) return C.reading(s, plan) end, f[2]))))
    row("han.decode (C core) " .. f[1], fmt(named), "frames/s",
      f == frames[1] and ("%.1fx forum bitwise, %.2fx forum table"):format(named / forum_bit,
        c_vs_forum) or "")
  end
  row("limit: the same reading built from constants", fmt(limit), "tables/s",
    ("han.decode time / limit = %.2f"):format(limit_vs_c))
  row("limit through the C API: the reading copied", fmt(capi), "tables/s",
    ("han.decode (C core) time / it = %.2f; %.2fx the forum table decoder"):format(capi_vs_c,
      capi_vs_forum))
end

if want.lua then
  han.use_backend("lua")
  local forum_again, lua_kamstrup = race(forum_table_parse, kamstrup, decode, kamstrup)
  local lua_vs_forum = timing.ratio(2, 1)
  for _, f in ipairs(frames) do
    local named = f == frames[1] and lua_kamstrup or rate(decode, f[2])
    row("han.decode (Lua core) " .. f[1], fmt(named), "frames/s",
      f == frames[1] and ("%.2fx forum table (%s/s in the same rounds)"):format(
        lua_vs_forum, fmt(forum_again)) or "")
  end
  local pair, turn = { kamstrup, cases.kamstrup_twin }, 1
  row("han.decode (Lua core) Kamstrup and a twin", fmt(rate(function()
    turn = 3 - turn
    return decode(pair[turn])
  end)), "frames/s", "in turn: the twin's layout is not kept, every other frame is walked")
  row("core.decode (Lua core) Kamstrup 228 B", fmt(rate(L.decode, kamstrup)), "frames/s")
end

-- Lua heap allocated per decoded frame, with the collector stopped.
local function garbage(fn, x)
  collectgarbage("collect")
  collectgarbage("stop")
  local before = collectgarbage("count")
  for _ = 1, 200 do fn(x) end
  local after = collectgarbage("count")
  collectgarbage("restart")
  return (after - before) * 1024 / 200
end
for _, b in ipairs({ "c", "lua" }) do
  if want[b] then
    han.use_backend(b)
    row(("garbage per han.decode (%s core, Kamstrup)"):format(b == "c" and "C" or "Lua"),
      ("%.0f"):format(garbage(decode, kamstrup)), "bytes")
  end
end
if want.c then
  row("garbage per forum parse (table CRC)", ("%.0f"):format(garbage(function(f)
    return forum.parse(f, forum.crc16_table) end, kamstrup)), "bytes")
end

-- Envelopes: han.decode of encrypted frames from encrypted.jsonl, keys given.
local function encrypted(id)
  for _, r in ipairs(H.jsonl("encrypted.jsonl")) do
    if r.id == id then
      return H.unhex(r.hex), { key = r.encryption_key, system_title = r.system_title,
        auth_key = r.authentication_key ~= H.json_null and r.authentication_key or nil }
    end
  end
end
for _, v in ipairs({ { "EVN Kaifa M-Bus 282 B, AES-CTR", "enc-at-evn-kaifa-ma309-mbus-doc" },
  { "Aidon HDLC 610 B, AES-GCM + tag", "enc-synthetic-aidon-hdlc-authenc-athombv" } }) do
  local frame, keys = encrypted(v[2])
  for _, b in ipairs({ "c", "lua" }) do
    if want[b] then
      han.use_backend(b)
      row(("han.decode (%s core) %s"):format(b == "c" and "C" or "Lua", v[1]),
        fmt(rate(function(f) return decode(f, keys) end, frame)), "frames/s")
    end
  end
end

-- DSMR P1: the named reading of a three-phase DSMR 5 telegram with gas, per backend; the
-- note: core.p1 alone (no names), and han.p1 naming all of it in Lua.
local reading = require("han.naming.p1").reading
local telegram = cases.telegram
for _, b in ipairs({ "c", "lua" }) do
  if want[b] then
    han.use_backend(b)
    local note = b == "c" and ("core.p1 alone %s/s; named in Lua (han.p1.reading) %s/s")
      :format(fmt(rate(C.p1, telegram)),
        fmt(rate(function(s) return reading(C.p1(s)) end, telegram)))
    row(("han.decode (%s core) P1 telegram %d B"):format(b == "c" and "C" or "Lua", #telegram),
      fmt(rate(decode, telegram)), "tel/s", note)
  end
end
