-- Writes frames to a serial device at real line speed, as a meter does: each byte at
-- its own time against a monotonic clock (a pty would pass them all at once).
-- Usage: lua pace.lua DEVICE BYTE_TIME GAP LOG FRAMEFILE
-- FRAMEFILE holds one hex frame per line; LOG gets the clock time each frame's last
-- byte was written.
local serial = require("han.serial")
local dev, byte_time, gap, log_path, frames_path = arg[1], tonumber(arg[2]),
  tonumber(arg[3]), arg[4], arg[5]

local port = assert(serial.open(dev, { baudrate = 2400 }))
local log = assert(io.open(log_path, "w"))
local t = serial.clock() + 0.2
for hex in io.lines(frames_path) do
  local frame = hex:gsub("..", function(x) return string.char(tonumber(x, 16)) end)
  for i = 1, #frame do
    local wait = t - serial.clock()
    if wait > 0 then serial.sleep(wait) end
    if not port:write(frame:sub(i, i)) then os.exit(1) end
    t = t + byte_time
  end
  log:write(string.format("%.6f\n", serial.clock()))
  log:flush()
  t = t + gap
end
log:close()
port:close()
