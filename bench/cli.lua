-- `han decode` of the largest capture (22,973 frames) with the C core on this runtime:
-- wall time of the whole command, output to /dev/null.
package.path = "spec/?.lua;" .. package.path
local H = require("helpers")
local clock = require("han.serial").clock
local runtime = (rawget(_G, "jit") and jit.version) or _VERSION
local lua = arg[1] or "lua5.1"
local capture = H.vectors_dir .. "/streams/KFM_001-raw-20170915.bin"

local t0 = clock()
local p = assert(io.popen(("HAN_BACKEND=c %s bin/han decode %s 2>&1 >/dev/null")
  :format(lua, capture)))
local summary = p:read("*a")
p:close()
local dt = clock() - t0
io.write(("| %-44s | %-12s | %12.2f %-8s | %s |\n"):format(
  "han decode KFM_001-raw-20170915.bin (C core)", runtime, dt, "s",
  (summary:gsub("%s+$", ""))))
