-- han.mqtt against a real mosquitto broker on 127.0.0.1, watched with mosquitto_sub.
local mqtt = require("han.outputs.mqtt")
local mosquitto = require("han.mosquitto")
local helpers = require("helpers")

local USER, PASSWORD = "han", "s3cret"
local LUA = jit and "luajit" or "lua" .. _VERSION:sub(5)

local sh, write = helpers.sh, helpers.write_file
local function sleep(s) os.execute("sleep " .. s) end
local function read(path) return helpers.file_text(path) or "" end

-- Poll fn() every 50 ms for up to `seconds`; its first truthy result, or nil.
local function wait_for(fn, seconds)
  for _ = 1, (seconds or 3) * 20 do
    local v = fn()
    if v then return v end
    sleep(0.05)
  end
  return nil
end

local dir = sh("mktemp -d")

-- A broker with its own config on a free port; start() again after stop() reuses it.
local broker = {}
function broker.start()
  if not broker.port then
    os.execute("mosquitto_passwd -b -c " .. dir .. "/passwd " .. USER .. " " .. PASSWORD)
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  end
  for _ = 1, 10 do
    local port = broker.port or math.random(20000, 60000)
    write(dir .. "/mosquitto.conf", table.concat({
      "listener " .. port .. " 127.0.0.1", "allow_anonymous false",
      "password_file " .. dir .. "/passwd", "persistence false", "log_dest stderr",
      "user root", "" }, "\n"))
    local log = dir .. "/broker.log"
    write(log, "")
    broker.pid = sh("sh -c 'mosquitto -c " .. dir .. "/mosquitto.conf > " .. log
      .. " 2>&1 & echo $!'")
    local state = wait_for(function()
      local s = read(log)
      return (s:find(" running") and "up") or (s:find("Error") and "error")
    end)
    if state == "up" then broker.port = port; return port end
    os.execute("kill " .. broker.pid .. " 2>/dev/null")
    assert(not broker.port, "broker did not restart on port " .. tostring(broker.port)
      .. ": " .. read(log))
  end
  error("no free port for the broker")
end
function broker.stop()
  os.execute("kill " .. broker.pid)
  wait_for(function() return read(dir .. "/broker.log"):find("terminating") end)
end

-- A subscriber to everything, MQTT 5 so the retain flag shows as published.
local sub = {}
function sub.start()
  sub.out = dir .. "/sub.out"
  write(sub.out, "")
  sub.pid = sh("sh -c 'mosquitto_sub -h 127.0.0.1 -p " .. broker.port .. " -u " .. USER
    .. " -P " .. PASSWORD .. " -V 5 --retain-as-published -q 1 -t \"#\" -F \"%r %q %t %p\" > "
    .. sub.out .. " 2>&1 & echo $!'")
  sleep(0.2)
end
function sub.stop() os.execute("kill " .. sub.pid .. " 2>/dev/null") end
-- Messages seen: list of {retain =, qos =, topic =, payload =}.
function sub.messages()
  local out = {}
  for line in read(sub.out):gmatch("[^\n]+") do
    local r, q, topic, payload = line:match("^(%d) (%d) (%S+) ?(.*)$")
    if r then
      out[#out + 1] = { retain = r == "1", qos = tonumber(q), topic = topic, payload = payload }
    end
  end
  return out
end
-- The last message on a topic seen so far.
function sub.find(topic)
  local hit
  for _, m in ipairs(sub.messages()) do
    if m.topic == topic then hit = m end
  end
  return hit
end
-- The last message on a topic, waiting for it (and for `pred` to hold) up to 3 s.
function sub.last(topic, pred)
  return wait_for(function()
    local hit
    for _, m in ipairs(sub.messages()) do
      if m.topic == topic and (not pred or pred(m)) then hit = m end
    end
    return hit
  end)
end

local function reading(over)
  local r = { list = "Kamstrup_V0001", vendor = "Kamstrup", meter_id = "5706567274389702",
    meter_type = "6841131BN243101040", power_import = 3643, power_export = 0,
    current_l1 = 8.11, voltage_l1 = 224, energy_import = 17203.93, energy_export = 0,
    meter_time = 1520193605, hour = 1520190000, obis = {} }
  for k, v in pairs(over or {}) do r[k] = v end
  return r
end

describe("han.mqtt with a real broker", function()
  local now, said, bridges
  local function clock() return now end
  local function log(msg) said[#said + 1] = msg end
  local function new_bridge(opts)
    opts = opts or {}
    local o = { host = "127.0.0.1", port = broker.port, user = USER, password = PASSWORD,
      clock = clock, log = log, mosquitto = mosquitto, prefix = "han", client_id = "b1" }
    for k, v in pairs(opts) do o[k] = v end
    local b = assert(mqtt.new(o))
    bridges[#bridges + 1] = b
    return b
  end
  -- Let the client send what is queued (QoS 1 waits for acknowledgements).
  local function flush(b)
    for _ = 1, 10 do b:step(20) end
  end
  local function connect(b)
    return wait_for(function() return b:step(50) end)
  end

  setup(function()
    broker.start()
    sub.start()
  end)
  teardown(function()
    sub.stop()
    broker.stop()
    if not os.getenv("KEEP") then os.execute("rm -rf " .. dir) end
  end)
  before_each(function() now, said, bridges = 1000, {}, {} end)
  after_each(function()
    for _, b in ipairs(bridges) do b:close() end
  end)

  it("announces sensors, publishes state and retained hourly registers", function()
    local b = new_bridge()
    assert.is_truthy(connect(b))
    assert.is_true(b:publish(reading()))
    flush(b)
    local status = sub.last("han/bridge/b1/status", function(m) return m.payload == "online" end)
    assert.is_true(status.retain)
    local id = "5706567274389702"

    local power = sub.last("homeassistant/sensor/" .. id .. "/power_import/config")
    assert.is_true(power.retain)
    assert.are.equal(1, power.qos)
    local c = helpers.json_decode(power.payload)
    assert.are.equal("power", c.device_class)
    assert.are.equal("measurement", c.state_class)
    assert.are.equal("W", c.unit_of_measurement)
    assert.are.equal("han_" .. id .. "_power_import", c.unique_id)
    assert.are.equal("han/" .. id .. "/state", c.state_topic)
    assert.are.same({ { topic = "han/bridge/b1/status" },
      { topic = "han/" .. id .. "/availability" } }, c.availability)
    assert.are.equal("all", c.availability_mode)
    assert.are.same({ "han_" .. id }, c.device.identifiers)
    assert.are.equal("Kamstrup", c.device.manufacturer)
    assert.are.equal("6841131BN243101040", c.device.model)
    assert.are.equal(id, c.device.serial_number)

    local energy = helpers.json_decode(
      sub.last("homeassistant/sensor/" .. id .. "/energy_import/config").payload)
    assert.are.equal("energy", energy.device_class)
    assert.are.equal("total_increasing", energy.state_class)
    assert.are.equal("kWh", energy.unit_of_measurement)
    assert.are.equal("current", helpers.json_decode(
      sub.last("homeassistant/sensor/" .. id .. "/current_l1/config").payload).device_class)
    -- Texts are device information, not sensors.
    assert.is_nil(sub.find("homeassistant/sensor/" .. id .. "/meter_type/config"))

    local state = sub.last("han/" .. id .. "/state")
    assert.is_false(state.retain)
    local s = helpers.json_decode(state.payload)
    assert.are.equal(3643, s.power_import)
    assert.are.equal(17203.93, s.energy_import)
    assert.are.equal(1520193605, s.meter_time)

    local hourly = sub.last("han/" .. id .. "/hourly")
    assert.is_true(hourly.retain)
    assert.are.equal(1, hourly.qos)
    local h = helpers.json_decode(hourly.payload)
    assert.are.equal(1520190000, h.hour)
    assert.are.equal(17203.93, h.energy_import)
  end)

  it("gives id-less readings to the last meter and merges the fields", function()
    local b = new_bridge({ prefix = "m2", per_field = true })
    assert.is_truthy(connect(b))
    local ok, err = b:publish({ power_import = 10 })
    assert.is_nil(ok)
    assert.matches("no meter id yet", err)
    assert.is_true(b:publish(reading({ meter_id = "A/1 #", power_import = 500 })))
    assert.is_true(b:publish({ power_import = 700, voltage_l1 = 0 / 0 }))
    flush(b)
    local state = sub.last("m2/A_1__/state",
      function(m) return m.payload:find('"power_import":700') end)
    local s = helpers.json_decode(state.payload)
    assert.are.equal(224, s.voltage_l1)      -- the NaN did not replace the last value
    assert.are.equal("700", sub.last("m2/A_1__/power_import",
      function(m) return m.payload == "700" end).payload)
  end)

  it("announces a new meter when the id changes, with memory bounded", function()
    local b = new_bridge({ prefix = "m3" })
    assert.is_truthy(connect(b))
    for i = 1, 20 do b:publish(reading({ meter_id = "M" .. i })) end
    flush(b)
    assert.is_truthy(sub.last("homeassistant/sensor/M20/power_import/config"))
    assert.is_truthy(sub.last("m3/M20/state"))
    assert.is_true(b.meter_count <= 8)
  end)

  it("says so when the credentials are wrong, and keeps running", function()
    local b = new_bridge({ password = "wrong", retry_min = 1, retry_max = 1 })
    for _ = 1, 20 do
      flush(b)
      now = now + 1
    end
    assert.are.equal("disconnected", b.state)
    assert.matches("refused the connection: .*password", said[1])
    assert.are.equal(1, #said)             -- said once, not per attempt
    assert.is_nil(b:publish(reading()))
  end)

  it("retries with back-off while the broker is down at start", function()
    local b = new_bridge({ port = 1, retry_min = 1, retry_max = 4 })
    local attempts = 0
    for _ = 1, 12 do
      local before = b.retry_at
      b:step(0)
      if b.retry_at ~= before then attempts = attempts + 1 end
      now = now + 1
    end
    -- 1, 2, 4, 4 seconds apart: attempts at t = 0, 1, 3, 7, 11
    assert.are.equal(5, attempts)
    assert.matches("cannot reach MQTT broker 127.0.0.1:1 %(.+%)", said[1])
    assert.are.equal(1, #said)
  end)

  it("reads the password from a file, never needing it on the command line", function()
    local path = dir .. "/pw"
    write(path, PASSWORD .. "\n")
    local b = new_bridge({ password = false, password_file = path })
    assert.is_truthy(connect(b))
    local none, err = mqtt.new({ password_file = dir .. "/missing", mosquitto = mosquitto })
    assert.is_nil(none)
    assert.matches("cannot read password file", err)
  end)

  it("refuses topic prefixes MQTT cannot publish to, a NUL included", function()
    for _, p in ipairs({ "han/#", "#", "a/+/b", "+", "", "han\0x", "han\nx",
      string.rep("a", 1025) }) do
      for _, key in ipairs({ "prefix", "discovery_prefix" }) do
        local none, err = mqtt.new({ [key] = p, mosquitto = mosquitto })
        assert.is_nil(none)
        assert.matches("prefix", err)
      end
    end
    assert.is_true(mqtt.check_prefix("home/han-1"))
  end)

  it("returns nil, reason for a message too large, and stays connected", function()
    local b = new_bridge({ prefix = "big" })
    assert.is_truthy(connect(b))
    local ok, err = b:publish(reading({ meter_type = string.rep("x", 1024 * 1024) }))
    assert.is_nil(ok)
    assert.matches("too large", err)
    ok, err = b:publish(reading({ meter_id = string.rep("m", 70000) }))
    assert.is_nil(ok)
    assert.matches("too long", err)
    flush(b)
    assert.are.equal("connected", b.state)
    assert.are.same({}, said)
    assert.is_true(b:publish(reading({ meter_id = "small" })))
    assert.is_truthy(sub.last("big/small/state"))
  end)

  it("refuses a CA file it cannot load", function()
    local none, err = mqtt.new({ tls_ca = dir .. "/no-ca.pem", mosquitto = mosquitto })
    assert.is_nil(none)
    assert.matches("TLS setup failed", err)
  end)

  it("reconnects after the broker restarts and re-sends what is retained", function()
    local b = new_bridge({ prefix = "r" })
    assert.is_truthy(connect(b))
    b:publish(reading())
    flush(b)
    broker.stop()
    wait_for(function() b:step(50); return b.state == "disconnected" end)
    assert.are.equal("disconnected", b.state)
    assert.matches("went away", said[#said])
    assert.is_nil(b:publish(reading()))        -- dropped while down, no error raised
    broker.start()
    sub.stop()
    sub.start()
    now = now + 2
    assert.is_truthy(connect(b))
    assert.matches("connected", said[#said])
    -- The restarted broker kept nothing: the bridge announced itself again.
    assert.is_true(sub.last("r/bridge/b1/status",
      function(m) return m.payload == "online" end).retain)
    assert.is_true(sub.last("homeassistant/sensor/5706567274389702/power_import/config").retain)
    assert.is_true(sub.last("r/5706567274389702/hourly").retain)
  end)

  it("leaves the last will 'offline' when the bridge is killed", function()
    local script = dir .. "/bridge.lua"
    write(script, ([[
      package.path = "lua/?.lua;lua/?/init.lua;" .. package.path   -- plain busted too
      local b = assert(require("han.outputs.mqtt").new({ host = "127.0.0.1", port = %d,
        user = %q, password = %q, prefix = "will", client_id = "w",
        mosquitto = require("han.mosquitto") }))
      b:publish({ meter_id = "W1", power_import = 1 })
      while true do
        if b:step(100) and not sent then sent = b:publish({ meter_id = "W1", power_import = 1 }) end
      end
    ]]):format(broker.port, USER, PASSWORD))
    local pid = sh("sh -c '" .. LUA .. " " .. script .. " > " .. dir
      .. "/bridge.log 2>&1 & echo $!'")
    finally(function() os.execute("kill -9 " .. pid .. " 2>/dev/null") end)
    assert.is_truthy(sub.last("will/W1/state"), read(dir .. "/bridge.log"))
    os.execute("kill -9 " .. pid)
    local will = sub.last("will/bridge/w/status", function(m) return m.payload == "offline" end)
    assert.is_truthy(will)
    assert.is_true(will.retain)
  end)

  it("bridges a serial port with `han mqtt`, and says offline itself when stopped", function()
    local pty = require("support.pty").new()
    pty:start()
    write(dir .. "/pw", PASSWORD)
    local pid = sh(("sh -c '%s bin/han mqtt %s --broker 127.0.0.1:%d --user %s "
      .. "--password-file %s --prefix cli --client-id cli1 --capacity norway > %s/cli.log 2>&1"
      .. " & echo $!'"):format(LUA, pty.reader, broker.port, USER, dir .. "/pw", dir))
    finally(function()            -- busted keeps one finally per test: both go here
      os.execute("kill -9 " .. pid .. " 2>/dev/null")
      pty:cleanup()
    end)
    assert.is_truthy(sub.last("cli/bridge/cli1/status",
      function(m) return m.payload == "online" end), read(dir .. "/cli.log"))
    local frame = helpers.read_file(helpers.vectors_dir .. "/streams/AIDON_V0001-6515-1-ok.bin")
    pty:write({ frame }, 0.05, "aidon")
    local state = sub.last("cli/7359992890941742/state")
    assert.is_truthy(state, read(dir .. "/cli.log"))
    local s = helpers.json_decode(state.payload)
    assert.are.equal(1362, s.power_import)
    assert.is_number(s.capacity_energy)
    assert.is_truthy(sub.last("homeassistant/sensor/7359992890941742/capacity_projected/config"))
    assert.is_truthy(sub.last("cli/7359992890941742/availability",
      function(m) return m.payload == "online" end))
    os.execute("kill -TERM " .. pid)     -- what systemd sends
    assert.is_truthy(sub.last("cli/bridge/cli1/status",
      function(m) return m.payload == "offline" end))
    assert.is_truthy(sub.last("cli/7359992890941742/availability",
      function(m) return m.payload == "offline" end))
    -- the bridge said goodbye itself (a clean DISCONNECT), the last will was not needed
    assert.is_truthy(wait_for(function()
      return read(dir .. "/broker.log"):find("Client cli1 disconnected%.")
    end), read(dir .. "/broker.log"))
    assert.is_nil(read(dir .. "/broker.log"):find("Client cli1 closed its connection"))
    assert.is_truthy(wait_for(function()
      return os.execute("kill -0 " .. pid .. " 2>/dev/null") ~= 0
        and os.execute("kill -0 " .. pid .. " 2>/dev/null") ~= true
    end))
    assert.are.equal("", read(dir .. "/cli.log"))
  end)

  it("announces SML readings' fields, the PIN flag as a binary sensor", function()
    local han = require("han")
    local function sml(id)
      return assert(han.decode(helpers.unhex(helpers.record("sml.jsonl", id).hex)))
    end
    local b = new_bridge({ prefix = "sml" })
    assert.is_truthy(connect(b))
    local holley, q3a = sml("holley_dtz541-zdba"), sml("easymeter_q3a_a1064v1009")
    local locked = sml("holley_dtz541-bdba_without_pin")
    for _, r in ipairs({ holley, q3a, locked }) do assert.is_true(b:publish(r)) end
    flush(b)
    local function config(id, field, component)
      local m = sub.last("homeassistant/" .. (component or "sensor") .. "/" .. id .. "/"
        .. field .. "/config")
      return m and helpers.json_decode(m.payload)
    end
    local hid = holley.meter_id:gsub("[^%w_%-]", "_")
    for field, want in pairs({ frequency = { "frequency", "Hz" }, voltage_l3 = { "voltage", "V" },
      current_l1 = { "current", "A" }, power_export = { "power", "W" },
      energy_export = { "energy", "kWh" } }) do
      local c = config(hid, field)
      assert.is_truthy(c, field)
      assert.are.same(want, { c.device_class, c.unit_of_measurement }, field)
    end
    assert.are.equal("Holley", config(hid, "frequency").device.manufacturer)
    local s = helpers.json_decode(sub.last("sml/" .. hid .. "/state").payload)
    assert.are.equal(holley.frequency, s.frequency)
    assert.are.equal("SML", s.list)
    local qid = q3a.meter_id:gsub("[^%w_%-]", "_")
    for _, field in ipairs({ "power_import_l1", "power_import_l2", "power_import_l3" }) do
      assert.are.equal("power", config(qid, field).device_class, field)
    end
    local lid = locked.meter_id:gsub("[^%w_%-]", "_")
    local flag = config(lid, "pin_locked", "binary_sensor")
    assert.is_truthy(flag)
    assert.are.equal("{{ 'ON' if value_json.pin_locked else 'OFF' }}", flag.value_template)
    assert.are.equal("binary_sensor.han_" .. lid:lower() .. "_pin_locked", flag.default_entity_id)
    assert.is_nil(flag.state_class)
    assert.is_nil(config(lid, "pin_locked"))
    assert.is_true(helpers.json_decode(sub.last("sml/" .. lid .. "/state").payload).pin_locked)
    -- the same meter unlocked: its state says so
    local unlocked = sml("holley_dtz541-bdba_with_pin")
    assert.are.equal(locked.meter_id, unlocked.meter_id)
    assert.is_true(b:publish(unlocked))
    flush(b)
    assert.is_truthy(sub.last("sml/" .. lid .. "/state", function(m)
      return helpers.json_decode(m.payload).pin_locked == false
    end))
  end)

  it("bridges an optical port read by mode C readouts: `han mqtt --protocol d0-readout`",
    function()
      local pty = require("support.pty").new()
      local sim = require("support.d0_sim")
      pty:start()
      -- an L+G ZMD405 readout (d0-examples.md), asked for at 300 baud throughout
      sim.start(pty, "switch", { ident = "LGZ5\\2ZMD4054459.B40", data = "0.9.1(23:16:43)\r\n"
        .. "0.9.2(21-01-04)\r\nC.1.0(54800102)\r\n1.8.1(0302.8260*kWh)\r\n!\r\n" }, 300)
      write(dir .. "/pw", PASSWORD)
      local pid = sh(("sh -c '%s bin/han mqtt %s --protocol d0-readout --baud 300 "
        .. "--interval 2 --broker 127.0.0.1:%d --user %s --password-file %s --prefix d0 "
        .. "--client-id d0c > %s/d0.log 2>&1 & echo $!'"):format(LUA, pty.reader, broker.port,
        USER, dir .. "/pw", dir))
      finally(function()
        os.execute("kill -9 " .. pid .. " 2>/dev/null")
        sim.stop(pty)
        pty:cleanup()
      end)
      local state = wait_for(function() return sub.find("d0/54800102/state") end, 8)
      assert.is_truthy(state, read(dir .. "/d0.log"))
      local s = helpers.json_decode(state.payload)
      assert.are.equal("D0", s.list)
      assert.are.equal(302.826, s.energy_import_t1)
      assert.are.equal(1609798603, s.meter_time)       -- 2021-01-04 23:16:43 CET
      local c = helpers.json_decode(
        sub.last("homeassistant/sensor/54800102/energy_import_t1/config").payload)
      assert.are.equal("energy", c.device_class)
      assert.are.equal("Landis+Gyr", c.device.manufacturer)
      assert.are.equal(1, #sim.logged(pty, "^ack 000$"))
      assert.are.equal("", read(dir .. "/d0.log"))
    end)

  it("announces with default_entity_id, expire_after and an origin, never object_id", function()
    local b = new_bridge({ prefix = "ha" })
    assert.is_truthy(connect(b))
    b:publish(reading())
    flush(b)
    local id = "5706567274389702"
    local c = helpers.json_decode(
      sub.last("homeassistant/sensor/" .. id .. "/power_import/config").payload)
    assert.is_nil(c.object_id)
    assert.are.equal("sensor.han_" .. id .. "_power_import", c.default_entity_id)
    assert.are.equal(60, c.expire_after)
    assert.are.equal("han", c.origin.name)
    assert.is_string(c.origin.sw_version)
    local e = helpers.json_decode(
      sub.last("homeassistant/sensor/" .. id .. "/energy_import/config").payload)
    assert.is_nil(e.expire_after)          -- a register that changes hourly never expires
    assert.are.equal("sensor.han_" .. id .. "_energy_import", e.default_entity_id)
  end)

  it("sets a meter offline when its readings stop, and online when they come back", function()
    local b = new_bridge({ prefix = "av", stale_after = 30 })
    assert.is_truthy(connect(b))
    b:publish(reading())
    flush(b)
    local topic = "av/5706567274389702/availability"
    local m = sub.last(topic, function(x) return x.payload == "online" end)
    assert.is_true(m.retain)
    now = now + 20
    flush(b)
    assert.is_nil(sub.last(topic, function(x) return x.payload == "offline" end))
    now = now + 11
    flush(b)
    assert.is_true(sub.last(topic, function(x) return x.payload == "offline" end).retain)
    b:publish(reading())
    flush(b)
    assert.are.equal("online", sub.last(topic).payload)
  end)

  it("gives two bridges on one prefix a status topic each", function()
    local one, two = new_bridge({ prefix = "two", client_id = "one" }),
      new_bridge({ prefix = "two", client_id = "other" })
    assert.is_truthy(connect(one))
    assert.is_truthy(connect(two))
    flush(one)
    flush(two)
    one:close()
    assert.is_truthy(sub.last("two/bridge/one/status",
      function(x) return x.payload == "offline" end))
    assert.are.equal("online", sub.last("two/bridge/other/status").payload)
  end)

  it("publishes strings plain with per_field", function()
    local b = new_bridge({ prefix = "pf", per_field = true })
    assert.is_truthy(connect(b))
    b:publish(reading())
    flush(b)
    assert.are.equal("6841131BN243101040", sub.last("pf/5706567274389702/meter_type").payload)
    assert.are.equal("3643", sub.last("pf/5706567274389702/power_import").payload)
  end)

  it("publishes the guard: period figures as sensors, a binary sensor per load, and its"
    .. " switching on command topics", function()
    local b = new_bridge({ prefix = "g" })
    assert.is_truthy(connect(b))
    local t0 = 1520190000
    now = t0 + 1800
    local g = require("han.outputs.guard").new({ mqtt = b, clock = clock, log = log,
      loads = { { name = "heater", kw = 2, topic = "home/heater/set" },
                { name = "ev", kw = 7, topic = "home/ev/set", payload_on = "1",
                  payload_off = "0" } } })
    -- 3 + 6 * 0.5 = 6 kWh against a 5 kWh budget: 2.2 kW needed, the heater's 2 do not
    -- cover it, both go.
    local report = { capacity_period_start = t0, capacity_period_end = t0 + 3600,
      capacity_energy = 3, capacity_forecast = 6, capacity_forecast_avg = 5.5,
      capacity_budget = 5, capacity_target = 5, capacity_headroom = 4 }
    local r = reading(report)
    for k, v in pairs(g:update(report)) do r[k] = v end
    assert.is_true(b:publish(r))
    flush(b)
    local id = "5706567274389702"
    local function config(component, field)
      local m = sub.last("homeassistant/" .. component .. "/" .. id .. "/" .. field .. "/config")
      assert.is_truthy(m, field)
      assert.is_true(m.retain)
      return helpers.json_decode(m.payload)
    end
    for field, want in pairs({
      capacity_forecast = { "energy", "kWh" }, capacity_forecast_avg = { "energy", "kWh" },
      capacity_budget = { "energy", "kWh" } }) do
      local c = config("sensor", field)
      assert.are.equal(want[1], c.device_class, field)
      assert.are.equal(want[2], c.unit_of_measurement, field)
      assert.is_nil(c.state_class, field)     -- up and down within a period: no total
    end
    for _, field in ipairs({ "capacity_headroom", "capacity_target" }) do
      local c = config("sensor", field)
      assert.are.equal("power", c.device_class)
      assert.are.equal("kW", c.unit_of_measurement)
      assert.are.equal("measurement", c.state_class)
    end
    local count = config("sensor", "guard_shed")
    assert.is_nil(count.unit_of_measurement)
    assert.are.equal("measurement", count.state_class)
    local heater = config("binary_sensor", "guard_shed_heater")
    assert.are.equal("Shed heater", heater.name)
    assert.are.equal("binary_sensor.han_" .. id .. "_guard_shed_heater", heater.default_entity_id)
    assert.are.equal("{{ 'ON' if value_json.guard_shed_heater else 'OFF' }}",
      heater.value_template)
    assert.is_nil(heater.unit_of_measurement)
    assert.is_nil(heater.state_class)
    assert.is_nil(sub.find("homeassistant/sensor/" .. id .. "/guard_shed_heater/config"))
    local s = helpers.json_decode(sub.last("g/" .. id .. "/state").payload)
    assert.are.equal(true, s.guard_shed_heater)
    assert.are.equal(true, s.guard_shed_ev)
    assert.are.equal(2, s.guard_shed)
    assert.are.equal(4, s.capacity_headroom)
    -- The loads' commands: retained, QoS 1, the payloads given.
    local off = sub.last("home/heater/set")
    assert.are.same({ "OFF", true, 1 }, { off.payload, off.retain, off.qos })
    assert.are.equal("0", sub.last("home/ev/set").payload)
    now = t0 + 3600
    report.capacity_period_start, report.capacity_period_end = t0 + 3600, t0 + 7200
    -- a new hour with room for both (9.9 kW spare)
    report.capacity_energy, report.capacity_forecast = 0, 0
    report.capacity_budget, report.capacity_headroom = 10, 10
    r = reading(report)
    for k, v in pairs(g:update(report)) do r[k] = v end
    b:publish(r)
    flush(b)
    assert.are.equal("ON", sub.last("home/heater/set", function(m) return m.payload == "ON" end)
      .payload)
    assert.are.equal("1", sub.last("home/ev/set").payload)
    s = helpers.json_decode(sub.last("g/" .. id .. "/state",
      function(m) return m.payload:find('"guard_shed":0') end).payload)
    assert.are.equal(false, s.guard_shed_heater)
  end)

  it("says once that list-1 readings wait for a meter id, or uses the one configured", function()
    local b = new_bridge({ prefix = "k1" })
    assert.is_truthy(connect(b))
    for _ = 1, 3 do assert.is_nil(b:publish({ list = "KFM_001", power_import = 100 })) end
    local lines = 0
    for _, line in ipairs(said) do
      if line:find("no meter id yet") then lines = lines + 1 end
    end
    assert.are.equal(1, lines)
    local c = new_bridge({ prefix = "k2", meter_id = "6970631400000000" })
    assert.is_truthy(connect(c))
    assert.is_true(c:publish({ list = "KFM_001", power_import = 100 }))
    flush(c)
    assert.is_truthy(sub.last("k2/6970631400000000/state"))
  end)
end)
