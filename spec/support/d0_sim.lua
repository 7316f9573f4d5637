-- The simulated IEC 62056-21 meter (spec/support/d0_meter.lua) on the meter end of a
-- socat pty pair (support.pty), for the specs that read it: started, its log read.
local pty = require("support.pty")
local write_file = require("helpers").write_file

local M = {}

-- The meter's log: {time, what} per line.
local function meter_log(p)
  local out = {}
  local f = io.open(p.dir .. "/log", "rb")
  if not f then return out end
  for line in f:lines() do
    local t, what = line:match("^(%S+) (.*)$")
    out[#out + 1] = { tonumber(t), what }
  end
  f:close()
  return out
end

-- The log entries whose text matches `pattern`.
function M.logged(p, pattern)
  local out = {}
  for _, e in ipairs(meter_log(p)) do
    if e[2]:find(pattern) then out[#out + 1] = e end
  end
  return out
end

-- Start the meter on pty pair p in `mode` (d0_meter.lua's) with m = {ident =, data =}.
-- `line`: the speed the reader's port is at, for a reader in another process that does
-- not say it at each open (the meter talks only to a reader at its own speed).
function M.start(p, mode, m, line)
  write_file(p.dir .. "/ident", m.ident)
  write_file(p.dir .. "/data", m.data)
  if line then write_file(p.dir .. "/line", tostring(line)) end
  os.execute(("LUA_CPATH='build/lua5.1/?.so;;' lua5.1 spec/support/d0_meter.lua %s %s "
    .. "& echo $! > %s/meter.pid"):format(p.dir, mode, p.dir))
  local stop = pty.serial.clock() + 5
  while #M.logged(p, "^ready$") == 0 do
    assert(pty.serial.clock() < stop, "the simulated meter did not start")
    pty.serial.sleep(0.02)
  end
end

function M.stop(p)
  os.execute(("kill $(cat %s/meter.pid 2>/dev/null) 2>/dev/null"):format(p.dir))
end

return M
