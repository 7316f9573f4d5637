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

-- Telegrams of p1.jsonl pushed every `gap` seconds as one meter's line could carry them:
-- those without CRC first (the framer refuses them once the stream has shown a CRC). The
-- Warmtelink one, whose CRC is printed unpadded, is the P1 parser's and framer's specs'
-- case. Returns the stream, the telegrams with a good or no CRC, and which those are.
local function p1_stream(gap)
  local plain, crc = {}, {}
  for _, rec in ipairs(H.jsonl("p1.jsonl")) do
    if not rec.id:find("unpadded", 1, true) then
      local into = rec.text:find("!\r\n$") and plain or crc
      into[#into + 1] = rec
    end
  end
  for _, rec in ipairs(crc) do plain[#plain + 1] = rec end
  local stream, good, ok = {}, {}, {}
  for i, rec in ipairs(plain) do
    stream[i] = { at = i * gap, bytes = rec.text }
    ok[i] = rec.crc_ok ~= false
    if ok[i] then good[#good + 1] = rec.text end
  end
  return stream, good, ok
end

-- One HDLC frame around `info` (dest 2B, src 21, control 13), for made-up block transfers.
local function hdlc_frame(info)
  local len = 2 + 3 + 2 + #info + 2
  local head = string.char(0xA0 + math.floor(len / 256), len % 256) .. "\043\033\019"
  local hcs = han.core.crc16(head)
  local body = head .. string.char(hcs % 256, math.floor(hcs / 256)) .. info
  local fcs = han.core.crc16(body)
  return "\126" .. body .. string.char(fcs % 256, math.floor(fcs / 256)) .. "\126"
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

  for _, semantics in ipairs({ "partial", "drop" }) do
    it("reads P1 telegrams at 115200 baud with " .. semantics .. " timed-out reads", function()
      local stream, good = p1_stream(1)
      local serial = fake_serial.new({ stream = stream, semantics = semantics,
        byte_time = 10 / 115200 })
      local raw = {}
      local reader = han.reader({ port = "/dev/ttyUSB0", protocol = "p1", serial = serial,
        on_raw = function(_, frame) raw[#raw + 1] = frame end })
      local got = run(reader, 60, #good)
      assert.are.same(good, raw)
      assert.are.equal(#good, #got)
      for i, text in ipairs(good) do assert.are.same(assert(han.decode(text)), got[i]) end
      local st = reader:stats()
      assert.are.equal("p1", st.protocol)
      assert.are.equal(1, st.bad_fcs)
      assert.are.equal(0, st.decode_errors)
      assert.are.same({ 115200, "none", 8 }, { serial.line.params.baudrate,
        serial.line.params.parity, serial.line.params.databits })
    end)
  end

  for _, semantics in ipairs({ "partial", "drop" }) do
    it("reads SML at 9600 8N1 with " .. semantics .. " timed-out reads", function()
      local stream, good = {}, {}
      for _, rec in ipairs(H.sml_vectors()) do
        stream[#stream + 1] = { at = #stream + 1, bytes = rec.raw }
        if rec.crc_ok then good[#good + 1] = rec.raw end
      end
      local serial = fake_serial.new({ stream = stream, semantics = semantics,
        byte_time = 10 / 9600 })
      local raw = {}
      local reader = han.reader({ port = "/dev/ttyUSB0", protocol = "sml", serial = serial,
        on_raw = function(_, frame) raw[#raw + 1] = frame end })
      local got = run(reader, 80, #good)
      assert.are.same(good, raw)
      assert.are.equal(#good, #got)
      for i, t in ipairs(good) do assert.are.same(assert(han.decode(t)), got[i]) end
      assert.are.same({ 9600, "none", 8 }, { serial.line.params.baudrate,
        serial.line.params.parity, serial.line.params.databits })
    end)
  end

  it("returns a P1 reading the moment the telegram's last LF is in, at 9600 7E1", function()
    local stream, _, ok = p1_stream(10)
    local arrivals = {}
    for i, s in ipairs(stream) do
      if ok[i] then arrivals[#arrivals + 1] = s.at + #s.bytes * 10 / 9600 end
    end
    local serial = fake_serial.new({ stream = stream, byte_time = 10 / 9600 })
    local reader = han.reader({ port = "/dev/ttyUSB0", protocol = "p1", baudrate = 9600,
      parity = "even", databits = 7, serial = serial })
    local n = 0
    for _ = 1, 400 do
      if n == #arrivals then break end
      if reader:poll() then
        n = n + 1
        assert.is_true(math.abs(serial.line.now - arrivals[n]) < 1e-6)
      end
    end
    assert.are.equal(#arrivals, n)
    assert.are.same({ 9600, "even", 7 }, { serial.line.params.baudrate,
      serial.line.params.parity, serial.line.params.databits })
  end)

  it("settles on the protocol of the first good frame with protocol = 'auto'", function()
    local stream, good = p1_stream(1)
    local serial = fake_serial.new({ stream = stream, byte_time = 10 / 115200 })
    local reader = han.reader({ port = "/dev/ttyUSB0", protocol = "auto", baudrate = 115200,
      serial = serial })
    assert.are.equal(#good, #run(reader, 60, #good))
    assert.are.equal("p1", reader:stats().protocol)
    local hdlc, frames = meter_stream(10, 1)
    serial = fake_serial.new({ stream = hdlc })
    reader = han.reader({ port = "/dev/ttyUSB0", protocol = "auto", serial = serial })
    assert.are.equal(#frames, #run(reader, 40, #frames))
    assert.are.equal("hdlc", reader:stats().protocol)
    assert.are.equal(2400, serial.line.params.baudrate)
  end)

  it("reads an encrypted M-Bus meter and passes its key to han.decode", function()
    local rec = H.record("encrypted.jsonl", "mbus")
    local serial = fake_serial.new({ stream = { { at = 1, bytes = H.unhex(rec.hex) },
      { at = 4, bytes = H.unhex(rec.hex) } } })
    local reader = han.reader({ port = "/dev/ttyUSB0", protocol = "mbus", serial = serial,
      key = rec.encryption_key })
    local got = run(reader, 20, 2)
    assert.are.equal(2, #got)
    assert.are.same(assert(han.decode(H.unhex(rec.hex), { key = rec.encryption_key })), got[1])
    assert.are.equal(4, reader:stats().segments_joined)
  end)

  -- The Swiss Landis+Gyr record: five HDLC frames, one general-block-transfer block each.
  local gbt = H.record("encrypted.jsonl", "enc-ch-landisgyr-e570-hdlc-gbt")
  local gbt_frames = {}
  for frame in han.core.framer():frames(H.unhex(gbt.hex)) do gbt_frames[#gbt_frames + 1] = frame end
  local _, gbt_err = han.decode(gbt_frames[1], { key = gbt.encryption_key })
  local with_gbt = gbt_err == "incomplete block transfer" and it or pending

  with_gbt("joins a block transfer spread over several frames", function()
    assert.are.equal(5, #gbt_frames)
    local stream = {}
    for round = 0, 2 do
      for i, frame in ipairs(gbt_frames) do
        stream[#stream + 1] = { at = round * 10 + i * 0.1, bytes = frame }
      end
    end
    -- a lone first block between: its transfer never ends, the next one starts over
    table.insert(stream, 6, { at = 0.9, bytes = gbt_frames[1] })
    local serial = fake_serial.new({ stream = stream })
    local raw = 0
    local reader = han.reader({ port = "/dev/ttyUSB0", serial = serial,
      key = gbt.encryption_key, on_raw = function() raw = raw + 1 end })
    local got = run(reader, 60, 3)
    local want = assert(han.decode(H.unhex(gbt.hex), { key = gbt.encryption_key }))
    assert.are.same({ want, want, want }, got)
    assert.are.equal(16, raw)
    local st = reader:stats()
    assert.are.equal(0, st.decode_errors)
    assert.are.equal(1, st.blocks_dropped)
  end)

  with_gbt("holds at most 32 frames of an unfinished block transfer", function()
    local stream = {}
    for i = 1, 40 do
      local block = "\224\000" .. string.char(0, i, 0, 0) .. "\050" .. ("x"):rep(50)
      stream[i] = { at = i * 0.3, bytes = hdlc_frame((i == 1 and "\230\231\000" or "") .. block) }
    end
    local serial = fake_serial.new({ stream = stream })
    local reader = han.reader({ port = "/dev/ttyUSB0", serial = serial })
    run(reader, 30)
    local st = reader:stats()
    assert.are.equal(40, st.frames_ok)
    assert.are.equal(1, st.blocks_dropped)
    assert.is_true(st.decode_errors >= 1)
    assert.is_true(#(reader.held or {}) <= 32)
  end)
end)
