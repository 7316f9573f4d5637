-- han.capacity's running period (issue 23, point 7): energy so far, the forecasts, the
-- target, the budget and the headroom, each against a value computed by hand in the
-- comment above its assertion, on ordinary days and on the days clocks change.
local capacity = require("han.outputs.capacity")
local time = require("han.time")

local OSLO = time.zone("Europe/Oslo")

local function at(y, mo, d, h, mi, dst)
  return time.from_local(y, mo, d, h, mi or 0, 0, OSLO, dst)
end

-- A capacity tracker whose month so far is `peaks` ({day, hour, kW} each, booked).
local function tracker(opts, month, peaks)
  local state = { version = 1, rule = opts.rule or "norway", month = month, peaks = {} }
  for i, p in ipairs(peaks) do
    local y, m, d = p[1]:match("(%d+)-(%d+)-(%d+)")
    state.peaks[i] = { start = at(y + 0, m + 0, d + 0, p[2]), day = p[1], value = p[3] }
  end
  opts.store = { load = function() return state end, save = function() return true end }
  opts.log = function() end
  return capacity.new(opts)
end

-- Readings every 10 s from t0 to t1 (both included) at kW.
local function feed(cap, t0, t1, kw)
  local rep
  for t = t0, t1, 10 do rep = cap:push({ meter_time = t, power_import = kw * 1000 }) end
  return rep
end

local function near(want, got)
  assert.is_number(got)
  assert.is_true(math.abs(want - got) < 1e-9, ("%.12g wanted, got %.12g"):format(want, got))
end

describe("han.capacity's running period", function()
  it("norway: energy, forecasts, target from the step reached, budget, headroom", function()
    local cap = tracker({ tiers = { 2, 5, 10 } }, "2024-01",
      { { "2024-01-02", 8, 5 }, { "2024-01-03", 8, 4 }, { "2024-01-04", 8, 3 } })
    local h = at(2024, 1, 5, 10)
    feed(cap, h, h + 590, 6)
    local rep = feed(cap, h + 600, h + 1200, 3)
    assert.are.equal(h, rep.capacity_period_start)
    assert.are.equal(h + 3600, rep.capacity_period_end)
    near(1.5, rep.capacity_energy)             -- 6 kW x 10 min + 3 kW x 10 min
    near(3.5, rep.capacity_forecast)           -- 1.5 + 3 kW x 40 min
    near(4.5, rep.capacity_forecast_avg)       -- 1.5 kWh in 20 min: 4.5 kW for the hour
    assert.are.equal(5, rep.capacity_target)   -- mean 4 is in the 2-5 step
    near(6, rep.capacity_budget)               -- (5 + x + 4) / 3 = 5 with 3 dropped
    near(6.75, rep.capacity_headroom)          -- (6 - 1.5) kWh in 40 min
    -- between readings: the last power held (here 1 minute on)
    local st = cap:status(h + 1260)
    near(1.55, st.capacity_energy)
    near((6 - 1.55) / (39 / 60), st.capacity_headroom)
    -- past the hour, 40 s after the last reading: the next period, 30 s of held power
    feed(cap, h + 1210, h + 3590, 3)
    st = cap:status(h + 3630)
    assert.are.equal(h + 3600, st.capacity_period_start)
    near(3 * 30 / 3600, st.capacity_energy)
  end)

  it("norway: the day's own hour raises the budget; a target under the mean keeps it",
    function()
      -- 5 on 2 Jan, 2 on 3 Jan and 3 this morning: mean 10/3, step limit 5; the period
      -- replaces this day's 3: (5 + 2 + x) / 3 = 5 gives x = 8
      local cap = tracker({ tiers = { 2, 5, 10 } }, "2024-01",
        { { "2024-01-02", 8, 5 }, { "2024-01-05", 8, 3 }, { "2024-01-03", 8, 2 } })
      local h = at(2024, 1, 5, 10)
      near(8, feed(cap, h, h + 1800, 2).capacity_budget)
      -- target 3.5 under the month's mean 4 (5, 4, 3): only up to the lowest peak, 3
      cap = tracker({ target = 3.5 }, "2024-01",
        { { "2024-01-02", 8, 5 }, { "2024-01-03", 8, 4 }, { "2024-01-04", 8, 3 } })
      local rep = feed(cap, h, h + 1800, 2)
      assert.are.equal(3.5, rep.capacity_target)
      near(3, rep.capacity_budget)
      near((3 - 1) / 0.5, rep.capacity_headroom)   -- 1 kWh used, half an hour left
      -- early in the month, one peak: (4 + x) / 2 = 5 gives x = 6
      cap = tracker({ tiers = { 2, 5, 10 } }, "2024-01", { { "2024-01-02", 8, 4 } })
      near(6, feed(cap, h, h + 60, 1).capacity_budget)
    end)

  it("ellevio: a night hour counts half, so its budget doubles", function()
    -- peaks 4, 3, 2 (weighted), target 4: x = 4 * 3 - 9 + 2 = 5 kW weighted, 10 kWh
    local cap = tracker({ rule = "ellevio", target = 4 }, "2025-01",
      { { "2025-01-02", 8, 4 }, { "2025-01-03", 8, 3 }, { "2025-01-04", 8, 2 } })
    local h = at(2025, 1, 6, 23)
    near(10, feed(cap, h, h + 600, 1).capacity_budget)
    h = at(2025, 1, 7, 21)                       -- the 0.5 of 23:00 is no peak
    near(5, feed(cap, h, h + 600, 1).capacity_budget)
  end)

  it("telge: a summer hour, or an evening, has no budget limit", function()
    local cap = tracker({ rule = "telge", target = 5 }, "2025-07", {})
    local h = at(2025, 7, 7, 10)
    local rep = feed(cap, h, h + 600, 2)
    assert.are.equal(5, rep.capacity_target)
    assert.is_nil(rep.capacity_budget)
    assert.is_nil(rep.capacity_headroom)
    cap = tracker({ rule = "telge", target = 5 }, "2025-01", {})
    h = at(2025, 1, 7, 20)                       -- 20:00 on a Tuesday: after 07-20
    assert.is_nil(feed(cap, h, h + 600, 2).capacity_budget)
    h = at(2025, 1, 8, 19)
    near(5, feed(cap, h, h + 600, 2).capacity_budget)
  end)

  it("belgium: the quarter hour", function()
    local cap = tracker({ rule = "belgium", target = 4 }, "2024-01",
      { { "2024-01-02", 8, 3.2 } })
    local q = at(2024, 1, 5, 10, 15)
    local rep = feed(cap, q, q + 300, 3)
    assert.are.equal(q, rep.capacity_period_start)
    assert.are.equal(q + 900, rep.capacity_period_end)
    near(0.25, rep.capacity_energy)            -- 3 kW x 5 min
    near(0.75, rep.capacity_forecast)          -- 0.25 + 3 kW x 10 min
    near(1, rep.capacity_budget)               -- 4 kW over a quarter
    near(4.5, rep.capacity_headroom)           -- 0.75 kWh in 10 min
  end)

  it("on the day summer time starts: local hours and the day's own peak", function()
    -- 31 March 2024 has no 02:00; 03:00 CEST is 01:00 UTC, and 00:00 CET the same day
    -- already booked 4: others 3 and 2, mean 3 in the 2-5 step: (3 + 2 + x) / 3 = 5
    local cap = tracker({ tiers = { 2, 5, 10 } }, "2024-03",
      { { "2024-03-01", 8, 3 }, { "2024-03-02", 8, 2 }, { "2024-03-31", 0, 4 } })
    local h = at(2024, 3, 31, 3)
    assert.are.equal(at(2024, 3, 31, 1) + 3600, h)
    local rep = feed(cap, h, h + 900, 4)
    assert.are.equal(h, rep.capacity_period_start)
    near(10, rep.capacity_budget)
    near((10 - 1) / 0.75, rep.capacity_headroom)
  end)

  it("on the day summer time ends: the second 02:00 is its own hour of the same day", function()
    -- 27 October 2024: 02:00 CEST (00:00 UTC) booked 4; the second 02:00 (CET) is the
    -- running hour. Others 3 and 2, target 3.5: (3 + 2 + x) / 3 = 3.5 gives 5.5
    local first = at(2024, 10, 27, 2, 0, true)
    local second = at(2024, 10, 27, 2, 0, false)
    assert.are.equal(first + 3600, second)
    local cap = tracker({ target = 3.5 }, "2024-10",
      { { "2024-10-01", 8, 3 }, { "2024-10-02", 8, 2 } })
    cap.state.peaks[3] = { start = first, day = "2024-10-27", value = 4 }
    local rep = feed(cap, second, second + 1200, 3)
    assert.are.equal(second, rep.capacity_period_start)
    assert.are.equal(second + 3600, rep.capacity_period_end)
    near(5.5, rep.capacity_budget)
    near((5.5 - 1) / (40 / 60), rep.capacity_headroom)
  end)
end)
