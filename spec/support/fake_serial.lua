-- A stand-in for LogicMachine's `serial` module with a virtual clock: bytes arrive at
-- wire speed, and read(n, timeout) behaves like a real port under one of the two read
-- semantics seen in serial libraries:
--   "partial": a timed-out read returns what it got (LogicMachine's behaviour)
--   "drop":    a timed-out read returns nil, "timeout" and the bytes it got are lost
-- new{stream = {{at = seconds, bytes = s}, ...}, byte_time = s, semantics = ...}
local M = {}

function M.new(opts)
  local times, data = {}, {}
  local byte_time = opts.byte_time or 10 / 2400
  for _, chunk in ipairs(opts.stream) do
    for i = 1, #chunk.bytes do
      data[#data + 1] = chunk.bytes:sub(i, i)
      times[#times + 1] = chunk.at + i * byte_time
    end
  end
  local line = { now = 0, pos = 1, opens = 0, reads = 0, fail_reads = opts.fail_reads or {},
    fail_opens = opts.fail_opens or 0, arrival = {} }

  local port = {}
  function port.read(_, n, timeout)
    line.reads = line.reads + 1
    if line.fail_reads[line.reads] then return nil, "read error: device unplugged" end
    local last = line.pos + n - 1
    if times[last] and times[last] <= line.now + timeout then
      line.now = math.max(line.now, times[last])
      line.pos = last + 1
      line.arrival[#line.arrival + 1] = line.now
      return table.concat(data, "", last - n + 1, last), n
    end
    line.now = line.now + timeout
    local k = line.pos
    while times[k] and times[k] <= line.now do k = k + 1 end
    local got = table.concat(data, "", line.pos, k - 1)
    line.pos = k
    if opts.semantics == "drop" or #got == 0 then return nil, "timeout" end
    return got, #got
  end
  function port.flush() end
  function port.close() line.closed = true end

  local serial = { line = line }
  function serial.open(dev, params)
    line.opens = line.opens + 1
    line.params = params
    if line.opens <= line.fail_opens then return nil, "cannot open " .. dev end
    line.closed = false
    return port
  end
  function serial.sleep(s) line.now = line.now + s end
  function serial.clock() return line.now end
  return serial
end

return M
