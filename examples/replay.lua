-- Decode a capture file (raw bytes as they came off the meter's port) and print one
-- JSON line per reading, then a summary of the framer's counters on stderr: the loop a
-- program needs for a capture (push chunks into a framer, decode each frame it pops),
-- never han.decode of the whole file. `han decode` prints the same lines.
-- Usage: lua examples/replay.lua FILE [FILE ...]
local han = require("han")
local json = require("han.outputs.json")

for _, path in ipairs(arg) do
  local f = assert(io.open(path, "rb"))
  local framer = han.core.framer({ protocol = "auto" })   -- HDLC, M-Bus or P1
  local readings, bad = 0, 0
  while true do
    local chunk = f:read(4096)
    if not chunk then break end
    for frame in framer:frames(chunk) do
      local r, err = han.decode(frame)
      if r then
        readings = readings + 1
        io.write(json.reading(r), "\n")
      else
        bad = bad + 1
        io.stderr:write(path, ": ", err, "\n")
      end
    end
  end
  f:close()
  local st = framer:stats()
  io.stderr:write(("%s: %d readings, %d frames ok, %d bad FCS, %d bad HCS, "
    .. "%d bad length, %d bytes skipped, %d undecodable (backend %s)\n"):format(path,
    readings, st.frames_ok, st.bad_fcs, st.bad_hcs, st.bad_length, st.bytes_discarded, bad,
    han.backend))
end
