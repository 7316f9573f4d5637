local capacity = require("han.outputs.capacity")
local fake_lm = require("support.fake_lm")
local support = require("support.capacity")

local oslo, run, quiet = support.oslo, support.run, support.new

-- Hours at a constant power: {start, kW} each, with a last reading on the hour's end.
local function hours(cap, list)
  for _, h in ipairs(list) do run(cap, h[1], h[1] + 3601, h[2]) end
end

local function close(a, b) return math.abs(a - b) < 1e-9 end

describe("han.capacity", function()
  local log, said
  before_each(function() log, said = quiet() end)

  it("estimates the running hour from power and projects it", function()
    local cap = capacity.new({ log = log })
    local t0 = oslo(2024, 1, 15, 10)
    local rep = run(cap, t0, t0 + 1800 + 1, 3.6, 10)   -- 10:00:00 .. 10:30:00
    assert.is_true(close(rep.capacity_energy, 1.8))
    assert.is_true(close(rep.capacity_projected, 3.6))
    assert.are.equal("", table.concat(said))
  end)

  it("replaces the estimate by the hourly register difference", function()
    local cap = capacity.new({ log = log })
    local h0 = oslo(2024, 1, 15, 10)
    cap:push({ meter_time = h0 + 10, power_import = 2000, energy_import = 100, hour = h0 - 3600 })
    run(cap, h0 + 20, h0 + 3600, 2)
    local rep = cap:push({ meter_time = h0 + 3610, power_import = 2000, energy_import = 103.5,
      hour = h0 })
    assert.are.equal(3.5, rep.capacity_peak_1)
    assert.is_nil(rep.capacity_peak_2)
    assert.are.equal("2024-01", rep.capacity_month)
  end)

  it("books hourly lists stamped by the host's clock in the first minute as the hour's", function()
    local now
    local cap = capacity.new({ log = log, clock = function() return now end })
    local h0 = oslo(2024, 1, 15, 10)
    local rep
    for hour = 0, 2 do
      for t = h0 + hour * 3600, h0 + hour * 3600 + 3599, 10 do
        now = t
        cap:push({ power_import = 3000 })
        if t % 3600 == 10 then rep = cap:push({ energy_import = 100 + 3.5 * hour }) end
      end
    end
    -- the registers' 3.5 kWh, not the power's 3, and no boundary guessed
    assert.is_true(close(rep.capacity_peak_1, 3.5))
    assert.are.equal(0, rep.capacity_estimated)
    assert.are.equal("", table.concat(said))
  end)

  it("marks the hour it started in estimated: 20 minutes of it were never seen", function()
    local cap = capacity.new({ log = log })
    local h0 = oslo(2024, 1, 15, 10)
    local rep
    for t = h0 + 1200, h0 + 3610, 10 do
      rep = cap:push({ meter_time = t, power_import = 3000, energy_import = 50 + (t - h0) / 1200 })
    end
    assert.is_true(close(rep.capacity_peak_1, 2))
    assert.are.equal(1, rep.capacity_estimated)
    assert.matches("from 10:00 was estimated", said[1])
  end)

  it("books the estimate when no registers come", function()
    local cap = capacity.new({ log = log })
    local h0 = oslo(2024, 1, 15, 10)
    hours(cap, { { h0, 2 } })
    local rep = run(cap, h0 + 3600, h0 + 3600 + 200, 1)
    assert.is_true(close(rep.capacity_peak_1, 2))
  end)

  it("norway: the mean of the three highest hours on three different days", function()
    local cap = capacity.new({ log = log, tiers = { 2, 5, 10, 15 } })
    hours(cap, {
      { oslo(2024, 1, 2, 8), 5 }, { oslo(2024, 1, 2, 18), 4 },   -- same day: only 5 counts
      { oslo(2024, 1, 3, 8), 3 }, { oslo(2024, 1, 4, 8), 2 }, { oslo(2024, 1, 5, 8), 1 },
    })
    local rep = run(cap, oslo(2024, 1, 5, 9), oslo(2024, 1, 5, 9, 30), 0)
    assert.is_true(close(rep.capacity_peak_1, 5))
    assert.is_true(close(rep.capacity_peak_2, 3))
    assert.is_true(close(rep.capacity_peak_3, 2))
    assert.is_nil(rep.capacity_peak_4)
    assert.is_true(close(rep.capacity_mean, 10 / 3))
    assert.are.equal(2, rep.capacity_tier)
    assert.are.equal(5, rep.capacity_tier_limit)
  end)

  it("projects the mean and tier this hour would give", function()
    local cap = capacity.new({ log = log, tiers = { 2, 5, 10 } })
    hours(cap, { { oslo(2024, 1, 2, 8), 4 }, { oslo(2024, 1, 3, 8), 4 } })
    local t = oslo(2024, 1, 4, 17)
    local rep = run(cap, t, t + 1801, 10)      -- half an hour at 10 kW: 10 kWh/h projected
    assert.is_true(close(rep.capacity_projected, 10))
    assert.is_true(close(rep.capacity_projected_mean, 6))
    assert.are.equal(3, rep.capacity_projected_tier)
    assert.are.equal(2, rep.capacity_tier)
  end)

  it("sweden: mean of N hours on weekdays within the given hours", function()
    local cap = capacity.new({ rule = "sweden", count = 2, weekdays = true, hours = { 7, 21 },
      log = log })
    hours(cap, {
      { oslo(2024, 1, 6, 12), 9 },    -- Saturday: not counted
      { oslo(2024, 1, 8, 5), 8 },     -- Monday 05:00: outside the hours
      { oslo(2024, 1, 8, 12), 3 }, { oslo(2024, 1, 8, 13), 4 }, { oslo(2024, 1, 9, 7), 2 },
    })
    local rep = run(cap, oslo(2024, 1, 9, 8), oslo(2024, 1, 9, 8, 10), 0)
    assert.is_true(close(rep.capacity_peak_1, 4))
    assert.is_true(close(rep.capacity_peak_2, 3))   -- same day allowed in Sweden
    assert.is_true(close(rep.capacity_mean, 3.5))
  end)

  it("belgium: the highest quarter-hour mean power", function()
    local cap = capacity.new({ rule = "belgium", log = log })
    local t = oslo(2024, 1, 15, 10)
    run(cap, t, t + 900, 8, 10)
    run(cap, t + 900, t + 3600, 2, 10)
    local rep = run(cap, t + 3600, t + 3700, 1, 10)
    assert.is_true(close(rep.capacity_peak_1, 8))
    assert.is_nil(rep.capacity_peak_2)
  end)

  it("starts a new month at local midnight, also across summer time", function()
    local cap = capacity.new({ log = log })
    -- 2024-03-31 23:00 CEST is 21:00 UTC: still March; 00:00 on 1 April is April.
    hours(cap, { { oslo(2024, 3, 31, 23), 7 } })
    local rep = run(cap, oslo(2024, 4, 1, 0), oslo(2024, 4, 1, 1), 2)
    assert.are.equal("2024-03", rep.capacity_month)
    rep = run(cap, oslo(2024, 4, 1, 1), oslo(2024, 4, 1, 1, 5), 0)
    assert.are.equal("2024-04", rep.capacity_month)
    assert.is_true(close(rep.capacity_peak_1, 2))
    assert.is_true(close(rep.capacity_previous_mean, 7))
  end)

  it("counts the days by local time on the day summer time starts", function()
    local cap = capacity.new({ log = log })
    -- 31 March 2024 has 23 hours: 00:00 and 23:00 local are the same day.
    hours(cap, { { oslo(2024, 3, 31, 0), 3 }, { oslo(2024, 3, 31, 23), 5 } })
    local rep = run(cap, oslo(2024, 4, 1, 0), oslo(2024, 4, 1, 0, 5), 0)
    assert.are.equal("2024-03", rep.capacity_month)
    assert.is_true(close(rep.capacity_peak_1, 5))
    assert.is_nil(rep.capacity_peak_2)
  end)

  it("ignores a register step from another meter", function()
    local cap = capacity.new({ log = log })
    local h0 = oslo(2024, 1, 15, 10)
    cap:push({ meter_time = h0 + 10, power_import = 1000, energy_import = 100, meter_id = "A" })
    run(cap, h0 + 20, h0 + 3600, 1)
    cap:push({ meter_time = h0 + 3610, power_import = 1000, energy_import = 50000,
      meter_id = "B" })
    local rep = run(cap, h0 + 3620, h0 + 3600 + 200, 1)
    -- the estimate from 10:00:10 on, not 49900 kWh
    assert.is_true(math.abs(rep.capacity_peak_1 - 1) < 0.01)
  end)

  it("survives a restart through a JSON state file", function()
    local path = os.tmpname()
    os.remove(path)
    local cap = capacity.new({ state = path, log = log })
    hours(cap, { { oslo(2024, 1, 2, 8), 5 }, { oslo(2024, 1, 3, 8), 4 } })
    run(cap, oslo(2024, 1, 3, 9), oslo(2024, 1, 3, 9, 5), 0)
    local again = capacity.new({ state = path, log = log })
    local rep = again:report()
    assert.is_true(close(rep.capacity_peak_1, 5))
    assert.is_true(close(rep.capacity_peak_2, 4))
    assert.are.equal(1, #said)            -- only "no state file" on the first start
    assert.matches("no state file", said[1])
    os.remove(path)
    os.remove(path .. ".lock")
  end)

  it("starts fresh with a warning from a corrupt state file", function()
    local path = os.tmpname()
    local f = io.open(path, "wb"); f:write('{"version": 1, "peaks": [3, '); f:close()
    local cap = capacity.new({ state = path, log = log })
    assert.matches("corrupt", said[1])
    assert.is_nil(cap:report().capacity_peak_1)
    f = io.open(path, "wb"); f:write('{"version": 1, "rule": "norway", "peaks": [3]}'); f:close()
    capacity.new({ state = path, log = log })
    assert.matches("corrupt", said[2])
    os.remove(path)
  end)

  it("keeps running when the state file cannot be written, and says so once", function()
    local cap = capacity.new({ state = "/nonexistent-dir/han/state.json", log = log })
    hours(cap, { { oslo(2024, 1, 2, 8), 5 }, { oslo(2024, 1, 3, 8), 4 } })
    local rep = run(cap, oslo(2024, 1, 3, 9), oslo(2024, 1, 3, 9, 5), 0)
    assert.is_true(close(rep.capacity_peak_2, 4))
    local saves = 0
    for _, m in ipairs(said) do if m:find("cannot save") then saves = saves + 1 end end
    assert.are.equal(1, saves)
  end)

  it("keeps its state in LogicMachine storage", function()
    local lm = fake_lm.new()
    local cap = capacity.new({ storage = lm.storage, key = "cap", log = log })
    hours(cap, { { oslo(2024, 1, 2, 8), 5 } })
    run(cap, oslo(2024, 1, 2, 9), oslo(2024, 1, 2, 9, 5), 0)
    assert.are.equal("table", type(lm.store.cap))
    local rep = capacity.new({ storage = lm.storage, key = "cap", log = log }):report()
    assert.is_true(close(rep.capacity_peak_1, 5))
  end)

  it("knows Sweden's public holidays and eves, the moving ones too", function()
    local want = {
      ["2025-04-18"] = "holiday", ["2025-04-21"] = "holiday", ["2025-05-29"] = "holiday",
      ["2025-06-20"] = "eve", ["2025-06-21"] = "holiday", ["2025-11-01"] = "holiday",
      ["2026-04-03"] = "holiday", ["2026-05-14"] = "holiday", ["2026-06-19"] = "eve",
      ["2026-06-20"] = "holiday", ["2026-10-31"] = "holiday", ["2026-12-24"] = "eve",
      ["2026-12-31"] = "eve", ["2026-01-06"] = "holiday", ["2026-05-24"] = "holiday",
    }
    for day, kind in pairs(want) do
      local y, m, d = day:match("(%d+)-(%d+)-(%d+)")
      assert.are.equal(kind, capacity.holiday(y + 0, m + 0, d + 0), day)
    end
    for _, day in ipairs({ { 2025, 6, 19 }, { 2026, 11, 1 }, { 2026, 4, 7 }, { 2025, 12, 23 } }) do
      assert.is_nil(capacity.holiday(day[1], day[2], day[3]))
    end
  end)

  it("takes readings with missing fields and rejects misuse", function()
    local cap = capacity.new({ log = log, clock = function() return 1700000000 end })
    assert.is_table(cap:push({}))
    assert.is_table(cap:push({ meter_id = "x", voltage_l1 = 230 }))
    assert.has_error(function() cap:push(nil) end)
    assert.has_error(function() capacity.new({ rule = "mars" }) end)
    assert.has_error(function() capacity.new({ tiers = { 5, 2 } }) end)
  end)
end)
