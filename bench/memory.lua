-- Memory a controller pays for han, as `collectgarbage("count")` growth (collected):
-- `require('han')` with one backend plus the first han.decode of the Kamstrup frame, the
-- heap in steady state while decoding (after 20,000 frames), and one HDLC framer
-- (`core.framer{protocol = "hdlc"}`). A C framer is a full userdata, which counts in the
-- Lua heap: its growth is the userdata's size. Floors (bench/README.md): the Lua core's
-- require plus first decode <= 150 KiB, a framer <= 8 KiB.
-- Usage: lua bench/memory.lua c|lua|lua+bit   (prints nothing when that backend does not
-- load). lua+bit: the Lua core where a bit library is there before han (LuaBitOp on a
-- LogicMachine), which makes the Lua core's CRC slice by 4 instead of 2 (by 8 from the first
-- input of 1 KiB on: none here).
package.path = "bench/?.lua;spec/?.lua;" .. package.path
local which = arg[1] or "c"
local backend = which:match("^%a+")
if which == "lua+bit" and not pcall(require, "bit") then return end
if backend == "lua" then package.cpath = "" end   -- as on a controller without the C core
local cases = require("cases")
local frame = cases.kamstrup
local runtime = (rawget(_G, "jit") and jit.version) or _VERSION

local function heap()
  collectgarbage("collect")
  collectgarbage("collect")   -- a userdata with __gc is freed by the second cycle
  return collectgarbage("count")
end

local function row(what, kib, note)
  io.write(("| %-44s | %-12s | %12.1f %-8s | %s |\n"):format(what, runtime, kib, "KiB", note))
end

local function floor(kib, max)
  return ("floor <= %d KiB: %s"):format(max, kib <= max and "ok" or "FAIL")
end

local before = heap()
local han = require("han")
if not pcall(han.use_backend, backend) then return end
local loaded = heap()
han.decode(frame)
local first = heap()
for _ = 1, 20000 do han.decode(frame) end
local steady = heap()
row("memory: require('han') + first decode, " .. which, first - before,
  ("require alone %.1f KiB; heap after 20,000 decodes %+.1f KiB%s"):format(loaded - before,
    steady - first, backend == "lua" and "; " .. floor(first - before, 150) or ""))

han.core.framer({ protocol = "hdlc" })   -- the framer's code, loaded with the first one
local f0 = heap()
local f = han.core.framer({ protocol = "hdlc" })
local made = heap() - f0
for _ in f:frames(frame) do end
local used = heap() - f0
row("memory: one HDLC framer, " .. which, math.max(made, used),
  ("%s; %.1f KiB new, %.1f KiB after framing a frame; %s"):format(
    which == "c" and "a full userdata" or "Lua tables", made, used,
    floor(math.max(made, used), 8)))
