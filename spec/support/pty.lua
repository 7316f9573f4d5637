-- A pty pair from socat for tests with a real serial device, and a paced writer.
local H = require("helpers")

local M = {}

local function sh(cmd) return os.execute(cmd) end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- The monotonic clock and sleep of han.serial (built for every test runtime).
M.serial = require("han.serial")

function M.new()
  local dir = os.tmpname()
  os.remove(dir)
  sh("mkdir -p " .. dir)
  return setmetatable({ dir = dir, meter = dir .. "/meter", reader = dir .. "/reader" },
    { __index = M })
end

-- Start (or restart) socat; wait until both ends exist.
function M:start()
  sh(("socat pty,raw,echo=0,link=%s pty,raw,echo=0,link=%s >/dev/null 2>&1 & "
    .. "echo $! > %s/socat.pid"):format(self.meter, self.reader, self.dir))
  for _ = 1, 100 do
    if exists(self.meter) and exists(self.reader) then return true end
    M.serial.sleep(0.02)
  end
  error("socat did not create the pty pair")
end

function M:stop()
  sh(("kill $(cat %s/socat.pid) 2>/dev/null; sleep 0.1"):format(self.dir))
end

-- Write frames at 2400-baud 8N1 pacing in a background process; returns the log path
-- (one line per frame: the clock when its last byte went out).
function M:write(frames, gap, name)
  local list = self.dir .. "/" .. name .. ".hex"
  local f = assert(io.open(list, "w"))
  for _, frame in ipairs(frames) do f:write(H.hex(frame), "\n") end
  f:close()
  local log = self.dir .. "/" .. name .. ".log"
  sh(("LUA_CPATH='build/lua5.1/?.so;;' lua5.1 spec/support/pace.lua %s %f %f %s %s &")
    :format(self.meter, 10 / 2400, gap, log, list))
  return log
end

function M:cleanup()
  self:stop()
  sh("rm -rf " .. self.dir)
end

return M
