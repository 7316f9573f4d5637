-- A real serial device: a socat pty pair, a writer pacing real frames at 2400 baud, and
-- han.reader on the other end through han.serial.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local pty = require("support.pty")

local function kaifa_frames(n)
  local data = H.read_file(H.vectors_dir .. "/streams/KFM_001-MA304H3E-1-ok.bin")
  local out = {}
  for frame in han.core.framer():frames(data) do
    if #out < n then out[#out + 1] = frame end
  end
  return out
end

local function poll_until(reader, want, seconds)
  local got, errors = {}, {}
  local stop = pty.serial.clock() + seconds
  while #got < want and pty.serial.clock() < stop do
    local ok, r, err = pcall(reader.poll, reader)
    assert(ok, r)                       -- nothing ever raises out of poll()
    if r then got[#got + 1] = r elseif err then errors[#errors + 1] = err end
  end
  return got, errors
end

describe("han.reader on a socat pty (" .. H.backend .. " backend)", function()
  local p

  before_each(function()
    p = pty.new()
    p:start()
  end)

  after_each(function() p:cleanup() end)

  it("delivers every paced frame once, as soon as it is in", function()
    local frames = kaifa_frames(6)
    local reader = han.reader({ port = p.reader, baudrate = 2400 })
    assert.is_nil(reader:poll())       -- opens the port; nothing sent yet
    p:write(frames, 0.25, "run")
    local got = poll_until(reader, #frames, 8)
    assert.are.equal(#frames, #got)
    for i, frame in ipairs(frames) do assert.are.same(han.decode(frame), got[i]) end
    assert.are.equal(#frames, reader:stats().frames_ok)
    assert.is_true(reader:stats().reads / #frames <= 5)
    reader:close()
  end)

  it("survives the device going away and coming back", function()
    local frames = kaifa_frames(8)
    local reader = han.reader({ port = p.reader, baudrate = 2400 })
    reader:poll()
    p:write({ frames[1], frames[2] }, 0.1, "before")
    local first = poll_until(reader, 2, 5)
    assert.are.equal(2, #first)
    p:stop()                                   -- unplugged
    local _, errors = poll_until(reader, 1, 1.5)
    assert.is_true(#errors >= 1)
    p:start()                                  -- plugged in again
    local stop = pty.serial.clock() + 10
    while reader:stats().reconnects == 0 and pty.serial.clock() < stop do reader:poll() end
    p:write({ frames[5], frames[6], frames[7] }, 0.1, "after")
    local later = poll_until(reader, 3, 8)
    assert.are.equal(3, #later)
    assert.are.same(han.decode(frames[7]), later[3])
    assert.are.equal(1, reader:stats().reconnects)
    reader:close()
  end)
end)
