-- Decode benchmarks for one Lua runtime, printed as rows of the `make bench` table.
-- Usage (from the repository root, with LUA_PATH/LUA_CPATH as `make bench` sets them):
--   lua bench/run.lua [seconds-per-measurement [c|lua]]
-- Every figure is CPU time per operation measured in this run; ratios compare figures
-- of the same run, within the same interleaved rounds (bench/timing.lua). With a backend
-- named, only its rows (and the baselines', in the C run): under LuaJIT `make bench`
-- measures each backend in its own process, as each is used, since both name readings
-- with the same Lua code, whose compiled traces would otherwise be shaped by whichever
-- backend ran first. A backend that does not load is left out.
-- Only han's public entry points are used: han.decode, han.use_backend, han.core.p1.
package.path = "bench/?.lua;spec/?.lua;" .. package.path
local H = require("helpers")
local forum = require("forum")
local p1forum = require("p1forum")
local smlforum = require("smlforum")
local han = require("han")

local budget = tonumber(arg[1]) or 0.3
local want = { c = arg[2] ~= "lua", lua = arg[2] ~= "c" }
local jit_runtime = rawget(_G, "jit") ~= nil
local runtime = (jit_runtime and jit.version) or _VERSION

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

-- "12.3x honest forum (floor 8x): ok"
local function at_least(x, what, floor)
  return ("%.2fx %s (floor %gx): %s"):format(x, what, floor, x >= floor and "ok" or "FAIL")
end

-- The floors of the issue, by runtime (bench/README.md): han.decode against the honest
-- forum decoder, per core; LuaJIT's hold for either core.
local floors = jit_runtime and { c = 0.8, lua = 0.8 } or { c = 8, lua = 1.5 }
local LIMIT_CEILING, P1_FLOOR = 2.5, 15   -- Lua 5.1, C core
-- SML on Lua 5.1: the C core at 10x the forum SML parser and 100,000 a second at least,
-- the Lua core at 1.5x.
local SML_FLOORS, SML_RATE = { c = 10, lua = 1.5 }, 100000

local function use(b)
  local ok = pcall(han.use_backend, b)
  return ok and han.decode
end

local cases = require("cases")
local frames, kamstrup, from_constants = cases.frames, cases.kamstrup, cases.from_constants
local telegram = cases.telegram
local core_name = { c = "C", lua = "Lua" }

local function forum_table_parse(f) return forum.parse(f, forum.crc16_table) end
local honest = forum.parse_bytes

-- The baselines and the C core, in the C run.
if want.c then
  local forum_bit = rate(function(f) return forum.parse(f, forum.crc16_bitwise) end, kamstrup)
  row("forum baseline, bitwise CRC (Kamstrup)", fmt(forum_bit), "frames/s",
    "bench/forum.lua parse: a substring per field, the CRC bit by bit")
  local decode = use("c")
  if not decode then
    local old, new = race(forum_table_parse, kamstrup, honest, kamstrup)
    row("forum baseline, 256-entry CRC table (Kamstrup)", fmt(old), "frames/s",
      "parse: a substring per field")
    row("honest forum baseline (Kamstrup)", fmt(new), "frames/s",
      ("parse_bytes: string.byte at fixed offsets; %.2fx the substring one"):format(
        timing.ratio(2, 1)))
  else
    local capi_copy = require("bench_capi").copier(from_constants())
    local new, c_kamstrup, limit, capi, old = race(honest, kamstrup, decode, kamstrup,
      from_constants, nil, capi_copy, nil, forum_table_parse, kamstrup)
    -- the ratios: medians of the rounds' own (timing.ratio)
    local c_vs_honest, limit_vs_c = timing.ratio(2, 1), timing.ratio(3, 2)
    local capi_vs_c, capi_vs_honest, new_vs_old = timing.ratio(4, 2), timing.ratio(4, 1),
      timing.ratio(1, 5)
    row("forum baseline, 256-entry CRC table (Kamstrup)", fmt(old), "frames/s",
      "parse: a substring per field")
    row("honest forum baseline (Kamstrup)", fmt(new), "frames/s",
      ("parse_bytes: string.byte at fixed offsets; %.2fx the substring one"):format(new_vs_old))
    for _, f in ipairs(frames) do
      local named = f == frames[1] and c_kamstrup or rate(decode, f[2])
      row("han.decode (C core) " .. f[1], fmt(named), "frames/s", f == frames[1]
        and ("%.1fx forum bitwise; %s"):format(named / forum_bit,
          at_least(c_vs_honest, "honest forum", floors.c)) or "")
    end
    row("limit: the same reading built from constants", fmt(limit), "tables/s",
      jit_runtime and ("han.decode (C core) time / limit = %.2f"):format(limit_vs_c)
      or ("han.decode (C core) time / limit = %.2f (ceiling %gx): %s"):format(limit_vs_c,
        LIMIT_CEILING, limit_vs_c <= LIMIT_CEILING and "ok" or "FAIL"))
    row("limit through the C API: the reading copied", fmt(capi), "tables/s",
      ("han.decode (C core) time / it = %.2f; %.2fx the honest forum decoder"):format(capi_vs_c,
        capi_vs_honest))
  end
end

-- The Lua core against the honest forum decoder, in the same rounds.
if want.lua then
  local decode = use("lua")
  if decode then
    local new, lua_kamstrup = race(honest, kamstrup, decode, kamstrup)
    local lua_vs_honest = timing.ratio(2, 1)
    for _, f in ipairs(frames) do
      local named = f == frames[1] and lua_kamstrup or rate(decode, f[2])
      row("han.decode (Lua core) " .. f[1], fmt(named), "frames/s", f == frames[1]
        and ("%s (%s/s in the same rounds)"):format(at_least(lua_vs_honest, "honest forum",
          floors.lua), fmt(new)) or "")
    end
  end
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
  local decode = want[b] and use(b)
  if decode then
    row(("garbage per han.decode (%s core, Kamstrup)"):format(core_name[b]),
      ("%.0f"):format(garbage(decode, kamstrup)), "bytes")
  end
end
if want.c then
  row("garbage per forum parse (substring, table CRC)", ("%.0f"):format(
    garbage(forum_table_parse, kamstrup)), "bytes")
  row("garbage per honest forum parse", ("%.0f"):format(garbage(honest, kamstrup)), "bytes")
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
    local decode = want[b] and use(b)
    if decode then
      row(("han.decode (%s core) %s"):format(core_name[b], v[1]),
        fmt(rate(function(f) return decode(f, keys) end, frame)), "frames/s")
    end
  end
end

-- han.decode of t.input against a hand-written forum parser (t.parse) in the same rounds,
-- per backend: the parser's row once (the baselines' rows belong to the C run), then a
-- row per core with the ratio, against its floor on Lua 5.1 where t.floors has one, and
-- for the C core its rate against t.rate_floor and the core's function t.alone alone.
local function against_forum(t)
  local shown = not want.c
  for _, b in ipairs({ "c", "lua" }) do
    local decode = want[b] and use(b)
    if decode then
      local forum_rate, named = race(t.parse, t.input, decode, t.input)
      local ratio = timing.ratio(2, 1)
      if not shown then
        shown = true
        row(t.forum_row, fmt(forum_rate), t.unit, t.forum_note)
      end
      local floor = not jit_runtime and t.floors[b]
      local note = floor and at_least(ratio, t.forum, floor)
        or ("%.2fx %s (%s/s in the same rounds)"):format(ratio, t.forum, fmt(forum_rate))
      if b == "c" then
        if t.rate_floor and not jit_runtime then
          note = ("%s; %s/s (floor %s/s): %s"):format(note, fmt(named), fmt(t.rate_floor),
            named >= t.rate_floor and "ok" or "FAIL")
        end
        note = ("%s; core.%s alone %s/s"):format(note, t.alone,
          fmt(rate(han.core[t.alone], t.input)))
      end
      row(("han.decode (%s core) %s"):format(core_name[b], t.name), fmt(named), t.unit, note)
    end
  end
end

-- DSMR P1: the 952-byte Iskra AM550 telegram against bench/p1forum.lua.
against_forum({ input = telegram, parse = p1forum.parse, forum = "forum P1 parser",
  name = ("P1 telegram %d B"):format(#telegram), unit = "tel/s", alone = "p1",
  floors = { c = P1_FLOOR },
  forum_row = ("forum P1 parser, telegram %d B"):format(#telegram),
  forum_note = "bench/p1forum.lua: table CRC-16/ARC, a match per line" })

-- SML: the 316-byte EMH eHZ-H transmission against bench/smlforum.lua.
local sml = cases.sml
against_forum({ input = sml, parse = smlforum.parse, forum = "forum SML parser",
  name = ("SML %d B"):format(#sml), unit = "tr/s", alone = "sml",
  floors = SML_FLOORS, rate_floor = SML_RATE,
  forum_row = ("forum SML parser, EMH eHZ-H %d B"):format(#sml),
  forum_note = "bench/smlforum.lua: table CRC-16/X-25, byte loop, TL decode, OBIS match" })
