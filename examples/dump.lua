-- Print one JSON line per reading from a serial device or a capture file.
--   lua examples/dump.lua /dev/ttyUSB0 [baudrate] [parity]
--   lua examples/dump.lua capture.bin
local han = require("han")
local json = require("han.outputs.json")

local source = assert(arg[1], "usage: lua examples/dump.lua DEVICE|FILE [baud] [parity]")

local function emit(r)
  r.time_fields = nil
  io.write(json.encode(r), "\n")
  io.stdout:flush()
end

local f = io.open(source, "rb")
local is_tty = source:find("^/dev/")
if f and not is_tty then
  local framer = han.core.framer()
  for chunk in function() return f:read(4096) end do
    for frame in framer:frames(chunk) do
      local r, err = han.decode(frame)
      if r then emit(r) else io.stderr:write("undecodable frame: ", err, "\n") end
    end
  end
  f:close()
  return
end
if f then f:close() end

local reader = han.reader({ port = source, baudrate = tonumber(arg[2]) or 2400,
  parity = arg[3] or "none" })
for r in reader:frames() do emit(r) end
