-- The serial path over a real tty: a socat pty pair, a writer pacing real Kamstrup frames
-- at 2400 baud 8N1, and on the other end han.reader or the forum's loop (read one byte
-- with a 1 s timeout; a timeout ends the frame). Prints read calls per frame and the
-- latency from the frame's last byte written to its reading returned.
package.path = "spec/?.lua;" .. package.path
local H = require("helpers")
local han = require("han")
local pty = require("support.pty")
local serial = pty.serial

local N, GAP = 5, 1.4
local runtime = (rawget(_G, "jit") and jit.version) or _VERSION

local function frames()
  local out = {}
  for frame in han.core.framer():frames(H.read_file(H.vectors_dir
      .. "/streams/Kamstrup_V0001-6841121BN243101040-1-ok-not-norwegian.bin")) do
    if #out < N then out[#out + 1] = frame end
  end
  return out
end

local function written(log)
  local t = {}
  for line in io.lines(log) do t[#t + 1] = tonumber(line) end
  return t
end

local function summary(name, reads, seen, log)
  local sent = written(log)
  local lat = {}
  for i = 1, math.min(#seen, #sent) do lat[i] = (seen[i] - sent[i]) * 1000 end
  table.sort(lat)
  io.write(("| %-44s | %-12s | %12.1f %-8s | latency median %.1f ms, max %.1f ms "
    .. "(%d/%d frames) |\n"):format(name, runtime, reads / math.max(1, #seen), "reads/fr",
      lat[math.ceil(#lat / 2)] or -1, lat[#lat] or -1, #seen, N))
end

-- han.reader
do
  local p = pty.new()
  p:start()
  local reader = han.reader({ port = p.reader, baudrate = 2400 })
  reader:poll()
  local reads0 = reader:stats().reads
  local log = p:write(frames(), GAP, "han")
  local seen, stop = {}, serial.clock() + N * (GAP + 1.2) + 3
  while #seen < N and serial.clock() < stop do
    if reader:poll() then seen[#seen + 1] = serial.clock() end
  end
  summary("serial path: han.reader", reader:stats().reads - reads0, seen, log)
  reader:close()
  p:cleanup()
end

-- the forum's loop: one byte per read, a 1 s silence ends the frame
do
  local p = pty.new()
  p:start()
  local port = assert(serial.open(p.reader, { baudrate = 2400 }))
  local log = p:write(frames(), GAP, "forum")
  local seen, buffer, reads = {}, {}, 0
  local stop = serial.clock() + N * (GAP + 1.2) + 4
  while #seen < N and serial.clock() < stop do
    local char = port:read(1, 1)
    reads = reads + 1
    if char then
      buffer[#buffer + 1] = char
    elseif #buffer > 0 then
      local data = table.concat(buffer)
      buffer = {}
      if han.decode(data) then seen[#seen + 1] = serial.clock() end
    end
  end
  summary("serial path: forum loop (read(1, 1) per byte)", reads, seen, log)
  port:close()
  p:cleanup()
end
