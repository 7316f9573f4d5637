-- han.reader in the LogicMachine model, against a fake `serial` module with a virtual
-- clock: real frames at wire speed, both read semantics, unplugged devices.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local fake_serial = require("support.fake_serial")

-- Frames of a real capture, pushed every `gap` seconds like a meter does.
local function meter_stream(n, gap)
  local data = H.read_file(H.vectors_dir .. "/streams/KFM_001-MA304H3E-4-ok.bin")
  local f = han.core.framer()
  local stream, frames = {}, {}
  for frame in f:frames(data) do
    if #frames == n then break end
    frames[#frames + 1] = frame
    stream[#stream + 1] = { at = #frames * gap, bytes = frame }
  end
  return stream, frames
end

-- Poll up to `polls` times, stopping once `want` readings are in.
local function run(reader, polls, want)
  local got = {}
  for _ = 1, polls do
    if want and #got == want then break end
    local r = reader:poll()
    if r then got[#got + 1] = r end
  end
  return got
end

describe("han.reader (" .. H.backend .. " backend)", function()
  for _, semantics in ipairs({ "partial", "drop" }) do
    it("delivers every frame once with " .. semantics .. " timed-out reads", function()
      local stream, frames = meter_stream(40, 0.7)
      local serial = fake_serial.new({ stream = stream, semantics = semantics,
        byte_time = 11 / 2400 })
      local raw = {}
      local reader = han.reader({ port = "/dev/ttyUSB0", parity = "even", serial = serial,
        on_raw = function(hex) raw[#raw + 1] = hex end })
      local got = run(reader, 200, #frames)
      assert.are.equal(#frames, #got)
      for i, frame in ipairs(frames) do
        assert.are.same(assert(han.decode(frame)), got[i])
        assert.are.equal(H.hex(frame), raw[i])
      end
      local st = reader:stats()
      assert.are.equal(#frames, st.frames_ok)
      assert.is_true(st.reads / #frames <= 5, "reads per frame: " .. st.reads / #frames)
      assert.are.equal("even", serial.line.params.parity)
      assert.are.equal(2400, serial.line.params.baudrate)
    end)
  end

  it("returns each reading the moment its last byte is in", function()
    local stream, frames = meter_stream(10, 3)
    local serial = fake_serial.new({ stream = stream })
    local reader = han.reader({ port = "/dev/ttyUSB0", serial = serial })
    local n = 0
    for _ = 1, 100 do
      if reader:poll() then
        n = n + 1
        local arrival = stream[n].at + #frames[n] * 10 / 2400
        assert.is_true(math.abs(serial.line.now - arrival) < 1e-6)
      end
    end
    assert.are.equal(#frames, n)
  end)

  it("never raises on port errors and reopens with back-off", function()
    local stream, frames = meter_stream(20, 2)
    local serial = fake_serial.new({ stream = stream, fail_reads = { [30] = true },
      fail_opens = 0 })
    local reader = han.reader({ port = "/dev/ttyUSB0", serial = serial })
    local got, errors = 0, 0
    for _ = 1, 200 do
      local r, err = reader:poll()
      if r then got = got + 1 elseif err then errors = errors + 1 end
    end
    assert.is_true(errors >= 1)
    assert.are.equal(1, reader:stats().reconnects)
    assert.is_true(serial.line.opens >= 2)
    assert.is_true(got >= #frames - 1)    -- at most the frame cut by the error is lost
  end)

  it("backs off from 1 s doubling while the device stays away", function()
    local serial = fake_serial.new({ stream = {}, fail_opens = 5 })
    local reader = han.reader({ port = "/dev/ttyUSB0", serial = serial })
    local errors = 0
    for _ = 1, 40 do
      local r, err = reader:poll()
      assert.is_nil(r)
      if err then errors = errors + 1 end
    end
    assert.is_true(errors >= 5)
    assert.are.equal(6, serial.line.opens)          -- tries at 0, 1, 3, 7, 15, 31 s
    assert.are.equal(1, reader:stats().reconnects)
  end)

  it("finds the parity with parity = 'auto'", function()
    local stream = meter_stream(30, 2)
    -- what a wrong parity setting does to the bytes: every frame fails its checks
    local serial = fake_serial.new({ stream = stream })
    local reader = han.reader({ port = "/dev/ttyUSB0", parity = "auto", serial = serial })
    local open = serial.open
    serial.open = function(dev, params)
      local port = open(dev, params)
      if params.parity == "none" then
        local read = port.read
        return { read = function(p, n, t)
          local s, e = read(p, n, t)
          if s and #s > 4 then s = s:sub(1, 4) .. "\0" .. s:sub(6) end
          return s, e
        end, close = port.close }
      end
      return port
    end
    local got = run(reader, 120)
    assert.is_true(#got > 10)
    assert.are.equal("even", reader:stats().parity)
  end)

  it("reads from any object with read(n, timeout)", function()
    local stream, frames = meter_stream(5, 1)
    local serial = fake_serial.new({ stream = stream })
    local reader = han.reader({ port = serial.open("x") })
    local got = run(reader, 30)
    assert.are.equal(#frames, #got)
  end)

  it("needs a port", function()
    assert.has_error(function() han.reader({}) end)
  end)
end)
