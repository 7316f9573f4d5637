-- The `han` command, run as a person would: exit codes, stdout, stderr.
local helpers = require("helpers")

local LUA = jit and "luajit" or "lua" .. _VERSION:sub(5)
local STREAMS = helpers.vectors_dir .. "/streams/"

-- Runs bin/han with arguments (already shell-quoted), stdin from a file if given;
-- returns exit code, stdout, stderr.
local function han(args, stdin)
  return helpers.run(LUA .. " bin/han " .. args .. (stdin and " <" .. stdin or ""))
end
local lines = helpers.lines

describe("han command", function()
  it("decodes a capture: one JSON line per reading, a summary on stderr", function()
    local code, out, err = han("decode " .. STREAMS .. "KFM_001-MA304H3E-1-ok.bin")
    assert.are.equal(0, code)
    local got = lines(out)
    assert.are.equal(14, #got)            -- the vectors README: 14 valid frames
    local last = helpers.json_decode(got[#got])
    assert.are.equal("Kaifa", last.vendor)
    assert.is_number(last.power_import)
    assert.is_nil(last.obis)               -- raw OBIS only with --raw
    assert.matches("14 readings; frames 14 good %(hdlc%), 0 bad", err)
  end)

  it("decodes an SML capture from an IR head, told apart or told", function()
    -- the vectors README: 12 complete transmissions of 316 B, mid-transmission start
    for _, opt in ipairs({ "", "--protocol sml " }) do
      local code, out, err = han("decode " .. opt .. STREAMS .. "sml/emh_ehz-h_4k.bin")
      assert.are.equal(0, code)
      local got = lines(out)
      assert.are.equal(12, #got)
      local first, last = helpers.json_decode(got[1]), helpers.json_decode(got[12])
      assert.are.equal("SML", first.list)
      assert.are.equal("EMH", first.vendor)
      assert.is_true(last.energy_import > first.energy_import)     -- 1.8.0 rising
      assert.matches("12 readings; frames 12 good %(sml%), 0 bad", err)
    end
  end)

  it("decodes a D0 mode D push with --protocol d0: list D0", function()
    local q3d = helpers.record("p1.jsonl", "p1-de-easymeter-q3db1024-dsmr_parser").text
    local path = helpers.write_file(os.tmpname(), q3d .. q3d)
    local code, out, err = han("decode --protocol d0 " .. path)
    local code2, out2 = han("decode " .. path)
    os.remove(path)
    assert.are.equal(0, code)
    assert.are.equal(2, #lines(out))
    local r = helpers.json_decode(lines(out)[1])
    assert.are.equal("D0", r.list)
    assert.are.equal("1ESY1313002565", r.meter_id)
    assert.matches("2 readings; frames 2 good %(p1%)", err)
    assert.are.equal(0, code2)
    assert.are.equal("P1", helpers.json_decode(lines(out2)[1]).list)   -- auto: P1's lines
  end)

  it("counts what a damaged capture loses", function()
    local code, out, err = han("decode " .. STREAMS
      .. "AIDON_V0001-6525-2-TSS721-frame-checksum-failures-on-large-frames.bin")
    assert.are.equal(0, code)
    assert.are.equal(1349, #lines(out))
    local bad, skipped = err:match("frames 1349 good %(hdlc%), (%d+) bad.*, (%d+) skipped")
    assert.is_true(tonumber(bad) > 0)
    assert.is_true(tonumber(skipped) > 0)
  end)

  it("decodes hex from the command line and from stdin", function()
    local frame = helpers.read_file(STREAMS .. "AIDON_V0001-6515-1-ok.bin")
    local hex = helpers.hex(frame)
    local code, out = han("decode --raw " .. hex)
    assert.are.equal(0, code)
    local r = helpers.json_decode(out)
    assert.are.equal("7359992890941742", r.meter_id)
    assert.is_table(r.obis)
    local path = helpers.write_file(os.tmpname(), hex:sub(1, 100) .. "\n" .. hex:sub(101) .. "\n")
    local code2, out2 = han("decode -", path)
    os.remove(path)
    assert.are.equal(0, code2)
    assert.are.equal(1, #lines(out2))
  end)

  it("says what is wrong, with an exit code per kind of problem", function()
    local code, _, err = han("decode /no/such/capture")
    assert.are.equal(2, code)
    assert.matches("/no/such/capture: No such file or directory, and not hex", err)
    code, _, err = han("read /dev/ttyHAN-missing")
    assert.are.equal(3, code)
    assert.matches("/dev/ttyHAN%-missing: No such file", err)
    code, _, err = han("read /etc/hostname")
    assert.are.equal(3, code)
    assert.matches("/etc/hostname", err)
    code, _, err = han("mqtt /dev/null --broker 127.0.0.1:1")
    assert.are.equal(4, code)
    assert.matches("cannot reach MQTT broker 127.0.0.1:1", err)
    code, _, err = han("read")
    assert.are.equal(2, code)
    assert.matches("missing argument 'port'", err)
    code, _, err = han("mqtt /dev/null --password-file /no/pw")
    assert.are.equal(4, code)
    assert.matches("cannot read password file", err)
  end)

  it("refuses topic prefixes MQTT cannot publish to, as a usage error", function()
    for _, opt in ipairs({ "--prefix 'han/#'", "--prefix +", "--prefix ''",
      "--discovery-prefix 'ha/#'" }) do
      local code, _, err = han("mqtt /dev/null --broker 127.0.0.1:1 " .. opt)
      assert.are.equal(2, code)
      assert.matches("prefix", err)
    end
  end)

  it("reads live readings from a serial port", function()
    local pty = require("support.pty").new()
    pty:start()
    local out = pty.dir .. "/out"
    os.execute(("sh -c '%s bin/han read %s > %s 2>&1 & echo $! > %s/han.pid'")
      :format(LUA, pty.reader, out, pty.dir))
    finally(function()            -- busted keeps one finally per test: both go here
      os.execute("kill $(cat " .. pty.dir .. "/han.pid) 2>/dev/null")
      pty:cleanup()
    end)
    pty.serial.sleep(0.3)
    local frames = {}
    for frame in require("han").core.framer():frames(
      helpers.read_file(STREAMS .. "KFM_001-MA304H3E-1-ok.bin")) do
      if #frames < 3 then frames[#frames + 1] = frame end
    end
    pty:write(frames, 0.05, "kaifa")
    local got
    for _ = 1, 60 do
      got = lines(helpers.read_file(out))
      if #got >= 3 then break end
      pty.serial.sleep(0.05)
    end
    assert.are.equal(3, #got)
    assert.are.equal("Kaifa", helpers.json_decode(got[1]).vendor)
  end)
end)
