-- examples/logicmachine-resident.lua run as the controller runs it (the script body
-- again and again, globals kept), against the fake serial module's virtual clock.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local fake_lm = require("support.fake_lm")
local fake_serial = require("support.fake_serial")
local lm_script = require("support.lm_script")

-- The script on a fake serial port, with the port's clock.
local function resident(serial, env, path)
  return lm_script.resident(path or "examples/logicmachine-resident.lua", env,
    { reader = function(o) o.serial = serial; return han.reader(o) end },
    function() return serial.line.now end, finally)
end

describe("examples/logicmachine-resident.lua (" .. H.backend .. " backend)", function()
  for _, path in ipairs({ "examples/logicmachine-resident.lua", "examples/lm-outputs.lua" }) do
    it("logs an unplugged adapter once, then once an hour, not every second: " .. path,
      function()
        local serial = fake_serial.new({ stream = {}, fail_opens = math.huge })
        local run, all = resident(serial, fake_lm.new(), path)
        local function port_lines()       -- (han.capacity may log its fresh start)
          local out = {}
          for _, l in ipairs(all) do
            if l[1]:find("^han: /dev/ttyUSB0") then out[#out + 1] = l end
          end
          return out
        end
        run(30)
        local logged = port_lines()
        assert.are.equal(1, #logged)
        assert.matches("^han: /dev/ttyUSB0: cannot open /dev/ttyUSB0", logged[1][1])
        run(2 * 3600 + 60)
        logged = port_lines()
        assert.are.equal(3, #logged)            -- at 0 s, after an hour, after two
        assert.matches("%(%d+ times in 36%d%d s%)$", logged[2][1])
      end)
  end

  it("never passes nil to a group object: list 1 carries power_import alone", function()
    local data = H.read_file(H.vectors_dir .. "/streams/KFM_001-MA304H3E-4-ok.bin")
    local stream = {}
    for frame in han.core.framer():frames(data) do
      if #stream == 30 then break end
      stream[#stream + 1] = { at = #stream * 2 + 1, bytes = frame }
    end
    local env = fake_lm.new()
    local serial = fake_serial.new({ stream = stream })
    local run, logged, g = resident(serial, env)
    run(62)
    local calls = env.of("checkupdate")
    assert.is_true(#calls > 30)
    for _, c in ipairs(calls) do assert.is_number(c[3], c[2]) end
    assert.are.same({}, logged)
    assert.are.equal("full", serial.line.params.duplex)
    assert.are.equal(2400, serial.line.params.baudrate)
    assert.is_table(g.reader)
  end)

  -- examples/logicmachine-ir-head.lua on an IR head that pushes the SML transmission
  -- of sml.jsonl `id` every 2 s for `seconds`: the transmission, the fakes, the log.
  local function ir_head(id, seconds)
    local frame = H.unhex(H.record("sml.jsonl", id).hex)
    local stream = {}
    for i = 1, seconds / 2 do stream[i] = { at = i * 2, bytes = frame } end
    local env = fake_lm.new()
    local serial = fake_serial.new({ stream = stream, byte_time = 10 / 9600 })
    local run, logged = resident(serial, env, "examples/logicmachine-ir-head.lua")
    run(seconds + 5)
    return frame, env, serial, logged
  end

  it("examples/logicmachine-ir-head.lua: an SML IR head at 9600 8N1 to objects", function()
    local frame, env, serial, logged = ir_head("easymeter_q3a_a1064v1009", 20)
    local want = assert(han.decode(frame))
    assert.are.same({ baudrate = 9600, parity = "none", databits = 8 },
      { baudrate = serial.line.params.baudrate, parity = serial.line.params.parity,
        databits = serial.line.params.databits })
    assert.are.equal(want.power_import, env.grp.getvalue("32/2/1"))
    assert.are.equal(want.energy_import, env.grp.getvalue("32/2/3"))
    assert.are.equal(want.energy_export, env.grp.getvalue("32/2/4"))
    for _, c in ipairs(env.of("checkupdate")) do assert.is_number(c[3], c[2]) end
    assert.are.same({}, logged)
  end)

  it("examples/logicmachine-ir-head.lua: says once that a meter is PIN-locked", function()
    local frame, env, _, logged = ir_head("holley_dtz541-bdba_without_pin", 10)
    assert.are.equal(1, #logged)
    assert.matches("unlock it with its PIN", logged[1][1])
    assert.are.equal(assert(han.decode(frame)).energy_import, env.grp.getvalue("32/2/3"))
  end)
end)
