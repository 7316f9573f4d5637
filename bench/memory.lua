-- Memory a controller pays for han: `require('han')` with one backend, and the heap in
-- steady state while decoding (after 20,000 frames, collected). Usage: lua bench/memory.lua c|lua
package.path = "spec/?.lua;" .. package.path
local which = arg[1] or "c"
if which == "lua" then package.cpath = "" end   -- as on a controller without the C core
local H = require("helpers")
local frame = H.frames()[1].raw
local runtime = (rawget(_G, "jit") and jit.version) or _VERSION

collectgarbage("collect")
local before = collectgarbage("count")
local han = require("han")
han.use_backend(which)
local decode = han.decode
collectgarbage("collect")
local loaded = collectgarbage("count")
for _ = 1, 20000 do decode(frame) end
collectgarbage("collect")
local steady = collectgarbage("count")
io.write(("| %-44s | %-12s | %12.0f %-8s | heap after 20,000 decodes: +%.1f KiB |\n"):format(
  "memory of require('han'), " .. which .. " backend", runtime, loaded - before, "KiB",
  steady - loaded))
