-- han.reader says what goes wrong: poll() returns each problem as nil, message, code,
-- and opts.report hears of it at once the first time, then at most once per
-- report_every seconds. Against the fake serial module's virtual clock.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local fake_serial = require("support.fake_serial")

local function kaifa_frames(n)
  local data = H.read_file(H.vectors_dir .. "/streams/KFM_001-MA304H3E-4-ok.bin")
  local out = {}
  for frame in han.core.framer():frames(data) do
    if #out == n then break end
    out[#out + 1] = frame
  end
  return out
end

-- frames pushed every `gap` seconds from t = gap on
local function stream_of(frames, gap, change)
  local stream = {}
  for i, frame in ipairs(frames) do
    stream[i] = { at = i * gap, bytes = change and change(frame, i) or frame }
  end
  return stream
end

-- A reader on the fake line whose reports are kept with the virtual time they came at.
local function reader_on(serial, opts)
  local reports = {}
  opts = opts or {}
  opts.port, opts.serial = opts.port or "/dev/ttyUSB0", serial
  opts.report = function(message, code)
    reports[#reports + 1] = { message = message, code = code, at = serial.line.now }
  end
  return han.reader(opts), reports
end

local function poll_for(reader, serial, seconds)
  local results = {}
  while serial.line.now < seconds do
    local r, err, code = reader:poll()
    results[#results + 1] = { r = r, err = err, code = code }
  end
  return results
end

describe("han.reader reports problems (" .. H.backend .. " backend)", function()
  it("returns a frame that does not decode as nil, message, code", function()
    local rec = H.record("encrypted.jsonl", "mbus")
    local frame = H.unhex(rec.hex)
    local serial = fake_serial.new({ stream = { { at = 1, bytes = frame } } })
    local reader, reports = reader_on(serial, { protocol = "mbus" })
    local r, err, code
    for _ = 1, 10 do
      r, err, code = reader:poll()
      if err then break end
    end
    assert.is_nil(r)
    assert.are.equal("no_key", code)
    assert.matches("no decryption key %(keys.key%) for system title " .. rec.system_title, err)
    assert.are.equal(1, #reports)
    assert.are.equal(err, reports[1].message)
  end)

  it("calls a wrong key a wrong key, at once, then once a minute while it lasts", function()
    local rec = H.record("encrypted.jsonl", "mbus")
    local frame = H.unhex(rec.hex)
    local stream = {}
    for i = 1, 60 do stream[i] = { at = i * 5, bytes = frame } end   -- 5 minutes
    local serial = fake_serial.new({ stream = stream })
    local reader, reports = reader_on(serial, { protocol = "mbus",
      key = "00112233445566778899AABBCCDDEEFF" })
    local results = poll_for(reader, serial, 301)
    local codes = {}
    for _, p in ipairs(results) do
      assert.is_nil(p.r)
      if p.code then codes[#codes + 1] = p.code end
    end
    assert.are.equal(60, #codes)
    for _, c in ipairs(codes) do assert.are.equal("wrong_key", c) end
    -- the first at once: the first frame's last byte is in at 5 s + its wire time
    assert.is_true(reports[1].at < 5 + #frame * 10 / 2400 + 1)
    assert.matches("^wrong decryption key", reports[1].message)
    assert.is_true(#reports >= 5 and #reports <= 6, #reports .. " reports")
    for i = 2, #reports do
      assert.is_true(reports[i].at - reports[i - 1].at >= 60)
      assert.matches("%(%d+ times in %d+ s%)$", reports[i].message)
    end
  end)

  it("says frames arrive but none decode when every check fails, and what failed", function()
    -- what a wrong parity or baud does: the frames come, their checksums fail
    local function damage(frame)
      return frame:sub(1, 20) .. string.char((frame:byte(21) + 1) % 256) .. frame:sub(22)
    end
    local frames = kaifa_frames(40)
    local serial = fake_serial.new({ stream = stream_of(frames, 2, damage) })
    local reader, reports = reader_on(serial)
    local results = poll_for(reader, serial, 81)
    local first = 2 + #frames[1] * 10 / 2400
    assert.is_true(reports[1].at <= first + 1, "first report at " .. reports[1].at)
    assert.are.equal("bad_frames", reports[1].code)
    assert.matches("frames arrive but none decode: 1 bad %(FCS 1, HCS 0, length 0%)",
      reports[1].message)
    assert.matches("check parity and baud %(Aidon and Kaifa send 8E1", reports[1].message)
    assert.are.equal(2, #reports)               -- at ~2 s and a minute later
    assert.matches("none decode: 30 bad %(FCS 30, HCS 0, length 0%)", reports[2].message)
    local bad = 0
    for _, p in ipairs(results) do
      assert.is_nil(p.r)
      if p.code == "bad_frames" then bad = bad + 1 end
    end
    assert.are.equal(40, bad)
  end)

  it("says a weak line loses frames when some still pass", function()
    local frames = kaifa_frames(10)
    local serial = fake_serial.new({ stream = stream_of(frames, 2, function(f, i)
      return i == 5 and f:sub(1, -4) .. "\0\0\126" or f end) })
    local reader, reports = reader_on(serial)
    poll_for(reader, serial, 21)
    assert.are.equal(1, #reports)
    assert.matches("^frames fail their checks: 1 bad %(FCS 1, HCS 0, length 0%), %d+ good",
      reports[1].message)
  end)

  it("calls bytes without any frame noise", function()
    local rng, noise = H.rng(7), {}
    for i = 1, 4000 do
      local b = rng(256) - 1
      noise[i] = string.char((b == 0x7E or b == 0x68 or b == 0x2F) and 0 or b)
    end
    local serial = fake_serial.new({ stream = { { at = 0.5, bytes = table.concat(noise) } } })
    local reader, reports = reader_on(serial)
    poll_for(reader, serial, 20)
    assert.are.equal("noise", reports[1].code)
    assert.matches("^2048 bytes arrived and not one frame in them: check baud", reports[1].message)
  end)

  it("says the port is lost and back, and logs a lasting loss once an hour", function()
    local frames = kaifa_frames(3)
    local serial = fake_serial.new({ stream = stream_of(frames, 1), fail_reads = { [2] = true },
      fail_opens = 0 })
    local reader, reports = reader_on(serial, { report_every = 3600 })
    local open = serial.open
    local away = true
    serial.open = function(dev, params)
      if serial.line.opens >= 1 and away then
        serial.line.opens = serial.line.opens + 1
        return nil, "cannot open " .. dev .. ": No such file or directory"
      end
      return open(dev, params)
    end
    -- unplugged for two hours and a half: one line at once, one an hour later, one at two
    local results = poll_for(reader, serial, 9000)
    assert.are.equal("port", reports[1].code)
    assert.matches("^/dev/ttyUSB0: read error: device unplugged %(trying again in 1 s%)",
      reports[1].message)
    assert.is_true(#reports <= 3, #reports .. " reports in 2.5 h")
    assert.are.equal("port", results[#results].code)
    away = false
    poll_for(reader, serial, 9070)
    local last = reports[#reports]
    assert.are.equal("port_back", last.code)
    assert.matches("^/dev/ttyUSB0 is back after %d+ s$", last.message)
  end)

  it("reports nothing while readings come", function()
    local frames = kaifa_frames(20)
    local serial = fake_serial.new({ stream = stream_of(frames, 2) })
    local reader, reports = reader_on(serial)
    local got = 0
    for _, p in ipairs(poll_for(reader, serial, 41)) do
      if p.r then got = got + 1 else assert.is_nil(p.err) end
    end
    assert.are.equal(20, got)
    assert.are.same({}, reports)
  end)
end)

describe("han.reader misuse (" .. H.backend .. " backend)", function()
  local serial = fake_serial.new({ stream = {} })
  local function raises(opts, pattern)
    opts.serial = serial
    opts.port = opts.port or "/dev/ttyUSB0"
    local ok, err = pcall(function()
      local reader = han.reader(opts)    -- not a tail call: the spec's line is the caller
      return reader
    end)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'reader' %(" .. pattern, err)
    -- raised at the caller's line, not inside han
    assert.matches("^spec/reader_report_spec.lua:%d+:", err)
  end

  it("raises at construction, naming the option", function()
    raises({ parity = "evn" }, "opts.parity: 'evn' is not one of auto, even, none, odd%)")
    raises({ protocol = "P1" }, "opts.protocol: 'P1' is not one of")
    raises({ duplex = "halb" }, "opts.duplex: 'halb' is not one of full, half%)")
    raises({ baudrate = "fast" }, "opts.baudrate: a positive number expected, got fast%)")
    raises({ timeout = -1 }, "opts.timeout: a positive number expected")
    raises({ databits = 9 }, "opts.databits: 5 to 8%)")
    raises({ zone = "Europe/Osl" }, "opts.zone: unknown time zone 'Europe/Osl'%)")
    raises({ scale = { current = "40" } }, "opts.scale.current: a number")
    raises({ scale = 40 }, "opts.scale: a table expected%)")
    raises({ key = "36:C6" }, "opts.key: 16 bytes or 32 hex digits%)")
    raises({ report = "log" }, "opts.report: a function expected")
    raises({ port = "tcp://host" }, "opts.port: 'tcp://host' is not tcp://host:port%)")
    raises({ port = 42 }, "opts.port: a device path")
    local ok, err = pcall(han.reader, "/dev/ttyUSB0")
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'reader' %(table expected, got string%)", err)
  end)

  it("takes the zone names users write", function()
    for _, zone in ipairs({ "CET", "Europe/Berlin", "Europe/Amsterdam", "Europe/Brussels",
      "Europe/Vienna", "Europe/Zurich", "Europe/Oslo", "Europe/Madrid", "Europe/Rome",
      "Europe/Warsaw", "Europe/Prague", "EET", "Europe/Athens", "WET", "UTC" }) do
      assert.is_table(han.reader({ port = "/dev/ttyUSB0", serial = serial, zone = zone }))
    end
  end)

  it("opens the port half duplex when asked (RS-485)", function()
    local s = fake_serial.new({ stream = {} })
    han.reader({ port = "/dev/RS485", serial = s, duplex = "half" }):poll()
    assert.are.equal("half", s.line.params.duplex)
    s = fake_serial.new({ stream = {} })
    han.reader({ port = "/dev/ttyUSB0", serial = s }):poll()
    assert.are.equal("full", s.line.params.duplex)
  end)
end)
