local lm = require("han.outputs.lm")
local fake_lm = require("support.fake_lm")
local fake_serial = require("support.fake_serial")
local helpers = require("helpers")
local capacity = require("han.outputs.capacity")
local lm_script = require("support.lm_script")
-- A reading shaped like han.decode's for a Kamstrup list 3 (3-phase, hourly registers).
local function kamstrup_hourly()
  return { list = "Kamstrup_V0001", vendor = "Kamstrup", meter_id = "5706567274389702",
    meter_type = "6841131BN243101040", power_import = 3643, power_export = 0,
    current_l1 = 8.11, current_l2 = 5.36, current_l3 = 6.45, voltage_l1 = 224,
    voltage_l2 = 225, voltage_l3 = 226, energy_import = 17203.93, energy_export = 0,
    meter_time = 1520193605, hour = 1520190000, obis = {} }
end

describe("han.lm", function()
  local env
  before_each(function() env = fake_lm.new() end)

  it("stores mapped fields with checkupdate and the field's deadband", function()
    local out = lm.new({ power_import = "32/1/1", energy_import = { "32/1/2", delta = 0.01 },
      voltage_l1 = "32/1/3" }, { grp = env.grp, dt = env.dt })
    local r = kamstrup_hourly()
    assert.are.equal(3, out:update(r))
    assert.are.same({
      { "checkupdate", "32/1/2", r.energy_import, 0.01 },
      { "checkupdate", "32/1/1", r.power_import, nil },
      { "checkupdate", "32/1/3", r.voltage_l1, nil },
    }, env.calls)
    assert.are.equal(r.power_import, env.grp.getvalue("32/1/1"))
  end)

  it("sends telegrams with checkwrite when asked, for all or one field", function()
    local out = lm.new({ power_import = "1/1/1", current_l1 = { "1/1/2", write = false } },
      { grp = env.grp, write = true })
    out:update({ power_import = 1500, current_l1 = 6.5 })
    assert.are.same({ { "checkupdate", "1/1/2", 6.5, nil }, { "checkwrite", "1/1/1", 1500, nil } },
      env.calls)
  end)

  it("writes nothing for a value inside the deadband", function()
    local out = lm.new({ power_import = { "1/1/1", delta = 50 } }, { grp = env.grp })
    assert.are.equal(1, out:update({ power_import = 1000 }))
    assert.are.equal(0, out:update({ power_import = 1020 }))
    assert.are.equal(1, out:update({ power_import = 1060 }))
    assert.are.equal(1060, env.grp.getvalue("1/1/1"))
  end)

  it("stores SML and D0 readings: per-phase power, frequency, the PIN flag", function()
    local han = require("han")
    local function sml(id)
      return assert(han.decode(helpers.unhex(helpers.record("sml.jsonl", id).hex)))
    end
    env = fake_lm.new()
    local out = lm.new({ power_import_l1 = "5/1/1", frequency = "5/1/2",
      pin_locked = "5/1/3", energy_import_t1 = "5/1/4", voltage_l2 = "5/1/5" },
      { grp = env.grp, dt = env.dt, create = true })
    local created = {}
    for _, c in ipairs(env.calls) do
      if c[1] == "create" then created[c[2].address] = c[2] end
    end
    assert.are.equal(env.dt.bool, created["5/1/3"].datatype)
    assert.are.equal("HAN PIN locked", created["5/1/3"].name)
    assert.are.equal(env.dt.float32, created["5/1/2"].datatype)
    assert.are.equal("Hz", created["5/1/2"].units)
    assert.are.equal("W", created["5/1/1"].units)
    local q3a = sml("easymeter_q3a_a1064v1009")
    local holley = sml("holley_dtz541-zdba")
    local locked = sml("holley_dtz541-bdba_without_pin")
    assert.is_number(q3a.power_import_l1)
    assert.is_true(locked.pin_locked)
    out:update(q3a)
    out:update(holley)
    out:update(locked)
    assert.are.equal(q3a.power_import_l1, env.grp.getvalue("5/1/1"))
    assert.are.equal(holley.frequency, env.grp.getvalue("5/1/2"))
    assert.are.equal(holley.voltage_l2, env.grp.getvalue("5/1/5"))
    assert.is_true(env.grp.getvalue("5/1/3"))
    -- an L+G ZMD405 mode C readout (d0-examples.md), named as a D0 telegram
    local d0 = assert(han.decode("/LGZ5\\2ZMD4054459.B40\r\n\r\n1.8.1(0302.8260*kWh)\r\n!\r\n",
      { protocol = "d0" }))
    assert.are.equal(1, out:update(d0))
    assert.are.equal(302.826, env.grp.getvalue("5/1/4"))
  end)

  it("leaves objects alone for absent and non-finite fields", function()
    local out = lm.new({ power_import = "1/1/1", voltage_l2 = "1/1/2", current_l1 = "1/1/3" },
      { grp = env.grp })
    assert.are.equal(1, out:update({ power_import = 200, current_l1 = 0 / 0 }))
    assert.are.same({ { "checkupdate", "1/1/1", 200, nil } }, env.calls)
  end)

  it("creates missing objects with datatype, unit and name", function()
    env = fake_lm.new({ objects = { ["1/1/1"] = { datatype = env.dt.float32 } } })
    local out = lm.new({ power_import = "1/1/1", energy_import = "1/1/2", meter_id = "1/1/3",
      capacity_tier = { "1/1/4", name = "Tier" } },
      { grp = env.grp, dt = env.dt, create = true })
    assert.are.same({
      { "create", { datatype = 12, name = "Tier", address = "1/1/4", units = "" } },
      { "create", { datatype = 14, name = "HAN Energy import", address = "1/1/2", units = "kWh" } },
      { "create", { datatype = 16, name = "HAN Meter id", address = "1/1/3", units = "" } },
    }, env.of("create"))
    assert.are.equal(0, out:create())
    assert.are.equal(12, env.dt[lm.fields.capacity_tier.datatype])
  end)

  it("keeps an epoch whole: a uint32 object, not a float32 that rounds it to minutes", function()
    env = fake_lm.new()
    local out = lm.new({ meter_time = "1/2/1", gas_time = "1/2/2" },
      { grp = env.grp, dt = env.dt, create = true })
    for _, call in ipairs(env.of("create")) do
      assert.are.equal(env.dt.uint32, call[2].datatype)
    end
    assert.are.equal(2, #env.of("create"))
    out:update({ meter_time = 1520193605 })
    assert.are.equal(1520193605, env.grp.getvalue("1/2/1"))
  end)

  it("publishes a capacity report like a reading", function()
    local out = lm.new({ capacity_mean = "2/1/1", capacity_tier = "2/1/2" }, { grp = env.grp })
    out:update({ capacity_mean = 3.2, capacity_tier = 2, capacity_month = "2024-01" })
    assert.are.equal(3.2, env.grp.getvalue("2/1/1"))
    assert.are.equal(2, env.grp.getvalue("2/1/2"))
  end)

  it("maps the period's figures and the guard's loads: a 1-bit object per load", function()
    local out = lm.new({ capacity_forecast = "3/1/1", capacity_headroom = "3/1/2",
      guard_shed = "3/1/3", guard_shed_heater = "3/1/4" },
      { grp = env.grp, dt = env.dt, create = true })
    assert.are.same({
      { "create", { datatype = 14, name = "HAN Period forecast", address = "3/1/1",
        units = "kWh" } },
      { "create", { datatype = 14, name = "HAN Capacity headroom", address = "3/1/2",
        units = "kW" } },
      { "create", { datatype = 12, name = "HAN Shed loads", address = "3/1/3", units = "" } },
      { "create", { datatype = 1, name = "HAN Shed heater", address = "3/1/4", units = "" } },
    }, env.of("create"))
    assert.are.equal(4, out:update({ capacity_forecast = 4.2, capacity_headroom = -0.5,
      guard_shed = 1, guard_shed_heater = true }))
    assert.are.equal(true, env.grp.getvalue("3/1/4"))
    assert.are.equal(1, out:update({ guard_shed_heater = false }))
    assert.are.equal(false, env.grp.getvalue("3/1/4"))
  end)

  it("rejects misuse", function()
    assert.has_error(function() lm.new({ power_import = 5 }, { grp = env.grp }) end)
    assert.has_error(function() lm.new("x", { grp = env.grp }) end)
    assert.has_error(function() lm.new({}) end)   -- no grp outside LogicMachine
    assert.has_error(function() lm.new({}, { grp = env.grp }):update(nil) end)
  end)

  it("runs examples/lm-outputs.lua as a resident script", function()
    local han = require("han")
    local frame
    for _, rec in ipairs(helpers.frames()) do
      local r = han.decode(rec.raw)
      if r and r.vendor == "Kamstrup" and r.energy_import and r.voltage_l1 then
        frame = rec.raw
        break
      end
    end
    local serial = fake_serial.new({ stream = { { at = 0.2, bytes = frame } } })
    env = fake_lm.new()
    -- The bundle as pasted on the controller, with the line replaced by the fake.
    local _, _, _, once = lm_script.resident("examples/lm-outputs.lua", env, {
      reader = function(o) o.serial = serial; return han.reader(o) end,
      lm = lm.new, capacity = capacity.new,
    }, function() return serial.line.now end, finally)
    for _ = 1, 4 do once() end              -- the resident script's runs
    assert.are.equal(7, #env.of("create"))
    local r = han.decode(frame)
    local power
    for _, c in ipairs(env.of("checkupdate")) do
      if c[2] == "32/1/1" then power = power or c end
    end
    assert.are.same({ "checkupdate", "32/1/1", r.power_import, 10 }, power)
    assert.are.equal(r.energy_import, env.grp.getvalue("32/1/2"))
    assert.is_number(env.grp.getvalue("32/1/11"))   -- the projected capacity of this hour
    assert.are.equal(1, #env.of("storage.set"))     -- capacity state saved once (new hour)
  end)
end)
