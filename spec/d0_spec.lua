-- IEC 62056-21 (D0): the naming of D0 lines through han.decode, and both modes end to end
-- over a socat pty against a simulated meter (spec/support/d0_meter.lua): mode C
-- readouts with han.d0 (a switch to 9600, a meter that keeps 300 baud, a wrong BCC, a
-- meter that never answers) and mode D pushes read by han.reader.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local d0 = require("han.d0")
-- support.pty and support.d0_sim (socat, han.serial): loaded by the tests tagged #host,
-- which the ARM cross run (mk/cross.mk) leaves out
local pty, sim

local near = H.same

-- An L+G ZMD405's identification and lines (docs: d0-examples.md, pwitab/iec62056-21
-- #16), as the data block of a readout: current and past tariff-1 import.
local ZMD405 = { ident = "LGZ5\\2ZMD4054459.B40", data = table.concat({ "F.F(00000000)",
  "0.9.1(23:16:43)", "0.9.2(21-01-04)", "C.1.0(54800102)", "1.8.1(0302.8260*kWh)",
  "1.8.1*12(0075.5341*kWh)", "1.8.1&12(0071.0012*kWh)", "!", "" }, "\r\n") }

-- Its clock lines, 2021-01-04 23:16:43 in CET: 22:16:43 UTC (date -u -d @1609798603).
local ZMD405_TIME = 1609798603

-- EasyMeter Q3D's mode D push, the real telegram of p1.jsonl
local q3d = H.record("p1.jsonl", "p1-de-easymeter-q3db1024-dsmr_parser").text

local function assert_zmd405(r)
  assert.are.equal("Landis+Gyr", r.vendor)
  assert.are.equal("LGZ5\\2ZMD4054459.B40", r.meter_type)
  assert.are.equal("54800102", r.meter_id)            -- C.1.0 (96.1.0), its digits kept
  near(302.826, r.energy_import_t1, "energy_import_t1")
  near(302.826, r.energy_import, "energy_import")     -- the tariffs' sum: one tariff
  near(75.5341, r.obis["1.8.1*12"], "1.8.1*12")       -- a past value: obis only
  near(71.0012, r.obis["1.8.1&12"], "1.8.1&12")
  assert.are.equal("23:16:43", r.obis["0.9.1"])
  assert.are.equal(ZMD405_TIME, r.meter_time)         -- 0.9.2 and 0.9.1
end

describe("D0 telegrams through han.decode (" .. H.backend .. " backend)", function()
  it("names an eHZ mode D push: A-B: codes with *255, no CRC", function()
    local r = assert(han.decode("/HAG5eHZ010C_EHZ1vA02\r\n1-0:1.8.0*255(000001.2963)\r\n!\r\n"))
    near(1.2963, r.energy_import, "energy_import")    -- kWh, as P1's unit-less energy
    assert.are.equal("Hager", r.vendor)
    assert.are.equal("HAG5eHZ010C_EHZ1vA02", r.meter_type)
  end)

  it("names the maker of German meters by the flag SML names them by (one table)", function()
    -- an eBZ DD3's identification as a forum user's reader showed it
    for ident, maker in pairs({ EBZ5DD3 = "eBZ", EMH5 = "EMH", DZG5 = "DZG", HLY5 = "Holley" }) do
      local r = assert(han.decode("/" .. ident .. "\r\n1-0:1.8.0*255(000001.2963)\r\n!\r\n"))
      assert.are.equal(maker, r.vendor, ident)
    end
  end)

  it("names C.D.E codes without A-B:, an empty unit being none (ACE3000)", function()
    -- vzlogger's ACE3000 test block, which expects 1.8.0 = 13925.5
    local r = assert(han.decode("/ACE0\\3k260V01.19\r\n\r\nF.F(00)\r\nC.1(1126120053322353)\r\n"
      .. "C.5.0(00)\r\n1.8.0(013925.5*)\r\n!\r\n"))
    near(13925.5, r.energy_import, "energy_import")
    assert.is_nil(r.units["1.8.0"])
    assert.are.equal("Actaris", r.vendor)
    assert.are.equal(0, r.obis["F.F"])
  end)

  it("names L+G lines: the C.1.0 meter number, tariffs; past values stay in obis", function()
    assert_zmd405(assert(han.decode("/" .. ZMD405.ident .. "\r\n\r\n" .. ZMD405.data)))
  end)

  it("names an Apator Norax readout's A-B: and C lines (d0-examples.md)", function()
    local r = assert(han.decode("/APA5\\2NORAX30\r\n\r\n0-0:C.1.0(72432595)\r\n"
      .. "0-0:1.0.0(2021-07-12 22:20:17)\r\n1-0:1.8.1(00000000001.329*kWh)\r\n!\r\n"))
    assert.are.equal("72432595", r.meter_id)
    near(1.329, r.energy_import_t1, "energy_import_t1")   -- the thread: 1329 Wh
    assert.are.equal("Apator", r.vendor)
    assert.is_nil(r.meter_time)                         -- not P1's YYMMDDhhmmss: obis only
    assert.are.equal("2021-07-12 22:20:17", r.obis["0-0:1.0.0"])
  end)

  it("turns the clock lines 0.9.2 (date) and 0.9.1 (time) into meter_time", function()
    -- as digits, a century digit before the date (2023-06-01 12:34:56 in CEST), and as
    -- the L+G ZMD405 prints them (d0-examples.md); in another zone; one line is no clock
    local cases = {
      { "0.9.1(123456)\r\n0.9.2(1230601)", nil, 1685615696 },
      { "0.9.2(230601)\r\n0.9.1(123456)", nil, 1685615696 },
      { "0.9.1(23:16:43)\r\n0.9.2(21-01-04)", nil, ZMD405_TIME },
      { "0.9.1(23:16:43)\r\n0.9.2(21-01-04)", "UTC", ZMD405_TIME + 3600 },
      { "0.9.1(000005)\r\n0.9.2(1230601)", nil, 1685570405 },      -- 00:00:05
      { "0.9.1(23:16:43)", nil, nil },
      { "0.9.1(12:34)\r\n0.9.2(21-01-04)", nil, nil },
      { "0.9.1(123456)\r\n0.9.2(1231301)", nil, nil },               -- month 13
    }
    for i, c in ipairs(cases) do
      local r = assert(han.decode("/LGZ5\\2ZMD405\r\n\r\n" .. c[1] .. "\r\n1.8.0(5*kWh)\r\n!\r\n",
        { zone = c[2] }))
      assert.are.equal(c[3], r.meter_time, i)
      assert.are.equal(5, r.energy_import, i)
    end
    local r = assert(han.decode("/LGZ5\\2ZMD405\r\n\r\n0.9.1(123456)\r\n0.9.2(1230601)\r\n!\r\n"))
    assert.are.same({ year = 2023, month = 6, day = 1, hour = 12, min = 34, sec = 56 },
      r.time_fields)
  end)

  it("says list = 'D0' when told the telegram came from a D0 port, else 'P1'", function()
    local text = "/" .. ZMD405.ident .. "\r\n\r\n" .. ZMD405.data
    assert.are.equal("P1", assert(han.decode(text)).list)
    local r = assert(han.decode(text, { protocol = "d0" }))
    assert.are.equal("D0", r.list)
    assert_zmd405(r)                                  -- the same layout, compiled once
    assert.are.equal("P1", assert(han.decode(text, { protocol = "p1" })).list)
  end)

  it("mode D: han.reader{protocol = 'd0'} frames pushed bytes as P1's telegrams", function()
    -- starting mid-telegram, in odd chunks: the first whole telegram on is read
    local reader = han.reader({ port = false, protocol = "d0" })
    local stream = q3d:sub(200) .. q3d .. q3d
    local got = {}
    for i = 1, #stream, 97 do
      reader:push(stream:sub(i, i + 96))
      for r in reader.pop, reader do got[#got + 1] = r end
    end
    assert.are.equal(2, #got)
    assert.are.same(han.decode(q3d, { protocol = "d0" }), got[2])
    assert.are.equal("D0", got[1].list)
    assert.are.equal("1ESY1313002565", got[1].meter_id)
    near(2124.86, got[1].power_import, "power_import")
    assert.are.equal("p1", reader:stats().protocol)
  end)

  it("leaves codes it does not know unnamed, whatever their shape", function()
    local r = assert(han.decode("/ABC5x\r\n\r\nL.1.0(5)\r\n1.8.0*12(7*kWh)\r\n1x.8.0(8*kWh)\r\n"
      .. "2.8.0(9*kWh)\r\n!\r\n"))
    assert.are.same({ "energy_export", "list", "meter_type", "obis", "units" },
      (function()
        local keys = {}
        for k in pairs(r) do keys[#keys + 1] = k end
        table.sort(keys)
        return keys
      end)())
    assert.are.equal(9, r.energy_export)
  end)
end)

describe("han.d0", function()
  it("computes the BCC: the XOR of the bytes", function()
    -- sml.md's worked example prints 0x27 for this block, but its bytes XOR to 0x12
    -- (0x27 is 0x12 xor "5": one digit more or less than the block as printed)
    assert.are.equal(0x12, d0.bcc("F.F(00)\r\nC.1(1126120053322353)\r\nC.5.0(00)\r\n"
      .. "1.8.0(013925.5*)\r\n!\r\n\3"))
    assert.are.equal(0, d0.bcc(""))
    assert.are.equal(0x7F, d0.bcc("\127"))
    assert.are.equal(0x03, d0.bcc("AB"))                 -- 0x41 xor 0x42
    assert.are.equal(0x00, d0.bcc("!\r\n!\r\n"))
    assert.are.equal(0x25, d0.bcc("!\r\n\3"))            -- 0x21 0x0D 0x0A 0x03
    if math.type then assert.are.equal("integer", math.type(d0.bcc("AB"))) end
  end)

  it("raises on misuse, naming the option", function()
    local port = { read = function() end, write = function() return 1 end }
    local cases = {
      { nil, "table expected, got nil" },
      { {}, "opts.port: a device path or a port object" },
      { { port = {} }, "opts.port" },
      { { port = "/dev/null", speed = "7" }, "opts.speed: a speed letter" },
      { { port = port, speed = "5" }, "a port object cannot change speed" },
      { { port = port, interval = 0 }, "opts.interval: a positive number" },
      { { port = port, reply_timeout = 0 / 0 }, "opts.reply_timeout" },
      { { port = port, timeout = "1" }, "opts.timeout" },
    }
    for i, c in ipairs(cases) do
      local ok, err = pcall(han.d0, c[1])
      assert.is_false(ok, i)
      assert.matches("bad argument #1 to 'd0' (", err, 1, true)
      assert.matches(c[2], err, 1, true)
    end
    -- (a clock and a sleep given: a build without han.serial has none of its own)
    assert.is_table(han.d0({ port = port, speed = 0, clock = os.clock, sleep = function() end }))
  end)

  -- A port object that answers what is written to it from a script, on a virtual clock.
  local ACE3000 = "F.F(00)\r\nC.1(1126120053322353)\r\nC.5.0(00)\r\n1.8.0(013925.5*)\r\n!\r\n\3"
  local function scripted(answers)
    local t, port = 0, { written = {}, inbox = "" }
    function port.write(self, s)
      self.written[#self.written + 1] = s
      self.inbox = self.inbox .. (answers[s] or "")
      return #s
    end
    function port.read(self, n, timeout)
      if self.inbox == "" then
        t = t + timeout
        return nil, "timeout"
      end
      local s = self.inbox:sub(1, n)
      self.inbox, t = self.inbox:sub(n + 1), t + #s * 10 / 300
      return s, #s
    end
    return port, function() return t end, function(s) t = t + s end
  end

  it("reads through a port object at 300: the echo and noise skipped, ACK 0 0 0", function()
    local port, clock, sleep = scripted({
      ["/?!\r\n"] = "\127\127/?!\r\n/ACE0\\3k260V01.19\r\n",  -- noise, the echo, the id
      ["\006000\r\n"] = "\2" .. ACE3000 .. "\18",                    -- BCC 0x12
    })
    local m = han.d0({ port = port, clock = clock, sleep = sleep })
    local r = assert(m:read())
    near(13925.5, r.energy_import, "energy_import")
    assert.are.equal("ACE0\\3k260V01.19", r.meter_type)
    assert.are.same({ "/?!\r\n", "\006000\r\n" }, port.written)
    assert.are.equal(300, m:stats().baudrate)
    assert.is_nil(m:poll())                       -- the next readout is 60 s away
    assert.are.equal(2, #port.written)
  end)

  it("gives nil, message, code for what a meter gets wrong", function()
    local cases = {
      { "/ABCA\\2mode B\r\n", nil, "unsupported_mode",
        "not a mode C identification: /ABCA\\2mode B" },
      { "/" .. ("x"):rep(200), nil, "bad_identification", "identification too long" },
      { "/ACE0x\r\n", "\2F.F(00)\r\n", "no_end", "the data block broke off" },
      { "/ACE0x\r\n", "\2" .. ACE3000, "no_end", "no BCC after the data block" },
      { "/ACE0x\r\n", "", "no_block", "no data block from the meter" },
      { "/ACE0x\r\n", "\2F.F(\0\0)", "no_block", "a garbled data block" },
      { "/ACE0x\r\n", "\2" .. ACE3000 .. "\19", "bad_bcc", "bad BCC 13 (the block gives 12)" },
      { "/ACE0x\r\n", "\2F.F(00)\r\n\3\43", "no_end", "no end of telegram" },   -- no "!"
    }
    for i, c in ipairs(cases) do
      local port, clock, sleep = scripted({ ["/?!\r\n"] = c[1], ["\006000\r\n"] = c[2] })
      local r, err, code = han.d0({ port = port, clock = clock, sleep = sleep }):read()
      assert.is_nil(r, i)
      assert.are.equal(c[3], code, i)
      assert.are.equal(c[4], err, i)
    end
  end)

  it("reports a device that does not open, and tries again at the interval #host", function()
    local m = han.d0({ port = "/nonexistent/ttyUSB9", serial = require("han.serial"),
      interval = 0.3 })
    local t = require("han.serial").clock()
    local r, err, code = m:poll()
    assert.is_nil(r)
    assert.are.equal("port", code)
    assert.matches("/nonexistent/ttyUSB9", err, 1, true)
    r, err, code = m:poll()
    assert.are.same({ nil, "port" }, { r, code })
    assert.matches("/nonexistent/ttyUSB9", err, 1, true)
    assert.is_true(require("han.serial").clock() - t >= 0.3)
    assert.are.equal(2, m:stats().errors)
  end)
end)

-- The speed of every port the reader opens goes to DIR/line, where the simulated meter
-- reads it: its emulation of a line with two UARTs. `opens` gets each open's settings.
local function line_serial(dir, opens)
  return {
    open = function(dev, o)
      opens[#opens + 1] = { o.baudrate, o.parity, o.databits }
      local f = assert(io.open(dir .. "/line.tmp", "wb"))
      f:write(tostring(o.baudrate))
      f:close()
      assert(os.rename(dir .. "/line.tmp", dir .. "/line"))
      return pty.serial.open(dev, o)
    end,
    clock = pty.serial.clock,
    sleep = pty.serial.sleep,
  }
end

-- Poll until a reading or a failure, or `seconds`; every poll's time is checked.
local function poll_result(m, seconds)
  local stop = pty.serial.clock() + seconds
  while pty.serial.clock() < stop do
    local t = pty.serial.clock()
    local ok, r, err, code = pcall(m.poll, m)
    assert(ok, r)                                    -- nothing raises out of poll()
    assert(pty.serial.clock() - t < 1.8, "a poll took too long")
    if r or err then return r, err, code end
  end
  error("no result in " .. seconds .. " s")
end

describe("IEC 62056-21 over a socat pty (" .. H.backend .. " backend) #host", function()
  local p, opens

  setup(function()
    pty, sim = require("support.pty"), require("support.d0_sim")
  end)

  before_each(function()
    p = pty.new()
    p:start()
    opens = {}
  end)

  after_each(function()
    sim.stop(p)
    p:cleanup()
  end)

  it("mode C: asks at 300 7E1, follows the meter to 9600 (letter 5) and reads", function()
    sim.start(p, "switch", ZMD405)
    local m = han.d0({ port = p.reader, serial = line_serial(p.dir, opens) })
    local r = assert(m:read())
    assert_zmd405(r)
    assert.are.equal("D0", r.list)
    assert.are.same({ { 300, "even", 7 }, { 9600, "even", 7 } }, opens)
    assert.are.equal(1, #sim.logged(p, "^request$"))
    assert.are.equal(1, #sim.logged(p, "^ack 050$"))          -- ACK 0 5 0: readout at 9600
    assert.are.equal(1, #sim.logged(p, "^block 9600, reader at 9600$"))
    local st = m:stats()
    assert.are.equal(9600, st.baudrate)
    assert.are.equal(1, st.readouts)
    assert.is_false(st.keeps_300)
    m:close()
  end)

  it("mode C: asks for the speed it is told (speed = '3': 2400)", function()
    sim.start(p, "switch", ZMD405)
    local m = han.d0({ port = p.reader, serial = line_serial(p.dir, opens), speed = "3" })
    assert_zmd405(assert(poll_result(m, 10)))
    assert.are.equal(1, #sim.logged(p, "^ack 030$"))
    assert.are.equal(1, #sim.logged(p, "^block 2400, reader at 2400$"))
    m:close()
  end)

  it("mode C: reads a meter that keeps 300 baud after the ACK, remembers, learns back",
    function()
      -- an L+G ZMD120 offered 4 (4800), was acknowledged "040" and stayed at 300; this
      -- one does so for its first three blocks, then follows
      local zmd120 = { ident = "LGZ4\\2ZMD120APt.G03",
        data = "F.F(00000000)\r\n1.8.1(001846.0*kWh)\r\n2.8.1(004329.6*kWh)\r\n!\r\n" }
      sim.start(p, "stay3", zmd120)
      local m = han.d0({ port = p.reader, serial = line_serial(p.dir, opens), interval = 1,
        reply_timeout = 1 })
      local r = assert(poll_result(m, 20))
      near(1846, r.energy_import_t1, "energy_import_t1")
      near(4329.6, r.energy_export_t1, "energy_export_t1")
      -- the first block came at 300 while the reader had followed to 4800: garbled; the
      -- reader went back to 300, let it pass and asked again without following
      local function blocks()
        local out = {}
        for i, e in ipairs(sim.logged(p, "^block")) do out[i] = e[2] end
        return out
      end
      assert.are.same({ "block 300, reader at 4800", "block 300, reader at 300" }, blocks())
      assert.are.equal(2, #sim.logged(p, "^ack 040$"))
      assert.is_true(m:stats().keeps_300)
      assert.are.equal(300, m:stats().baudrate)
      -- the next readout stays at 300 at once
      local n = #opens
      assert(poll_result(m, 15))
      assert.are.equal(3, #sim.logged(p, "^request$"))
      assert.are.equal("block 300, reader at 300", blocks()[3])
      assert.are.equal(n, #opens)
      -- the meter follows now: the reader, at 300, gets no block and follows again
      r = assert(poll_result(m, 20))
      near(1846, r.energy_import_t1, "energy_import_t1")
      assert.are.same({ "block 4800, reader at 300", "block 4800, reader at 4800" },
        { blocks()[4], blocks()[5] })
      assert.is_false(m:stats().keeps_300)
      assert.are.equal(4800, m:stats().baudrate)
      m:close()
    end)

  it("mode C: refuses a block whose BCC is wrong", function()
    sim.start(p, "badbcc", ZMD405)
    local m = han.d0({ port = p.reader, serial = line_serial(p.dir, opens) })
    local r, err, code = poll_result(m, 10)
    assert.is_nil(r)
    assert.are.equal("bad_bcc", code)
    assert.matches("^bad BCC %x%x %(the block gives %x%x%)$", err)
    assert.are.equal(1, m:stats().errors)
    m:close()
  end)

  it("mode C: a meter that never answers: no_answer in time, retries backing off", function()
    sim.start(p, "silent", ZMD405)
    local m = han.d0({ port = p.reader, serial = line_serial(p.dir, opens), interval = 0.5,
      reply_timeout = 0.5 })
    local t0 = pty.serial.clock()
    local r, err, code = poll_result(m, 3)
    assert.is_nil(r)
    assert.are.equal("no answer from the meter", err)
    assert.are.equal("no_answer", code)
    assert.is_true(pty.serial.clock() - t0 < 1.2)
    for _ = 1, 3 do
      r, err, code = poll_result(m, 6)
      assert.are.same({ nil, "no answer from the meter", "no_answer" }, { r, err, code })
    end
    -- requests 0.5 s, 1 s, 2 s apart: the interval, doubling with each failure in a row
    local req = sim.logged(p, "^request$")
    assert.are.equal(4, #req)
    for i, gap in ipairs({ 0.5, 1, 2 }) do
      local got = req[i + 1][1] - req[i][1]
      assert(math.abs(got - gap) < 0.25, ("gap %d: %.3f s, not %.1f s"):format(i, got, gap))
    end
    assert.are.equal(4, m:stats().errors)
    m:close()
  end)

  for _, o in ipairs({ { protocol = "d0" },
    { protocol = "p1", baudrate = 9600, parity = "even", databits = 7 } }) do
    it("mode D: han.reader{protocol = '" .. o.protocol .. "'} reads the push at 9600 7E1",
      function()
        local ident, rest = q3d:match("^/([^\r]*)\r\n(.*)$")
        sim.start(p, "push", { ident = ident, data = rest })
        o.port, o.serial = p.reader, line_serial(p.dir, opens)
        local reader = han.reader(o)
        local r = assert(poll_result(reader, 5))
        -- the same reading as han.decode's, with the list the reader was told
        assert.are.same(han.decode(q3d, { protocol = o.protocol }), r)
        assert.are.equal(o.protocol == "d0" and "D0" or "P1", r.list)
        near(52185.7825309, r.energy_import, "energy_import")
        near(19949.3221493, r.energy_export, "energy_export")
        near(2124.86, r.power_import, "power_import")
        assert.are.equal("1ESY1313002565", r.meter_id)
        assert.are.equal("EasyMeter", r.vendor)
        assert.are.same({ { 9600, "even", 7 } }, opens)
        reader:close()
      end)
  end
end)
