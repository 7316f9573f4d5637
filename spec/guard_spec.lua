-- han.guard against hand-made capacity reports and a simulated house: loads shed before
-- the period's budget, restored in reverse order when the spare kW return (with
-- hysteresis), at the period change, when readings stop and on close; never faster than
-- a load's minimum on and off times.
local guard = require("han.outputs.guard")
local fake_lm = require("support.fake_lm")

local HOUR = 3600
local T0 = 1767222000          -- 2026-01-01 00:00 Europe/Oslo: an hour's start

-- A guard whose loads switch through a callback that records every call; clock in
-- `env.now`.
local function setup(loads, opts)
  local env = { now = T0, calls = {}, logged = {} }
  opts = opts or {}
  for _, l in ipairs(loads) do
    l.switch = l.switch or function(on, load)
      env.calls[#env.calls + 1] = { at = env.now, name = load.name, on = on }
    end
  end
  opts.loads = loads
  opts.clock = function() return env.now end
  opts.log = function(msg) env.logged[#env.logged + 1] = msg end
  env.g = guard.new(opts)
  return env
end

-- A report for the hour starting at `start`: energy so far and the present power kW
-- make the forecast, as han.capacity defines it.
local function report(env, start, energy, kw, budget)
  local stop = start + HOUR
  return { capacity_period_start = start, capacity_period_end = stop,
    capacity_energy = energy, capacity_forecast = energy + kw * (stop - env.now) / HOUR,
    capacity_budget = budget }
end

local function names(calls)
  local out = {}
  for _, c in ipairs(calls) do out[#out + 1] = c.name .. (c.on and "+" or "-") end
  return table.concat(out, " ")
end

describe("han.guard", function()
  it("raises on a bad load table", function()
    local sw = function() end
    local bad = {
      { nil, "options table" },
      { {}, "list of loads" },
      { { loads = {} }, "list of loads" },
      { { loads = { "heater" } }, "must be a table" },
      { { loads = { { name = "a b", kw = 1, switch = sw } } }, "name must be" },
      { { loads = { { name = "a", kw = 1, switch = sw }, { name = "a", kw = 2, switch = sw } } },
        "two loads named 'a'" },
      { { loads = { { name = "a", kw = 0, switch = sw } } }, "kw must be" },
      { { loads = { { name = "a", kw = 0 / 0, switch = sw } } }, "kw must be" },
      { { loads = { { name = "a", kw = 1, switch = sw, min_on = -1 } } }, "min_on must be" },
      { { loads = { { name = "a", kw = 1 } } }, "needs switch" },
      { { loads = { { name = "a", kw = 1, switch = "x" } } }, "switch must be a function" },
      { { loads = { { name = "a", kw = 1, switch = sw, topic = "t" } } }, "both switch and topic" },
      { { loads = { { name = "a", kw = 1, address = "1/1/1" } }, grp = false },
        "no grp" },
      { { loads = { { name = "a", kw = 1, topic = "home/a/set" } } }, "no opts.mqtt" },
      { { loads = { { name = "a", kw = 1, switch = sw } }, margin = -1 }, "margin must be" },
    }
    for _, case in ipairs(bad) do
      local ok, err = pcall(guard.new, case[1])
      assert.is_false(ok)
      assert.matches(case[2], err, 1, true)
    end
  end)

  it("sheds in list order as many loads as the forecast's excess needs, and says why",
    function()
      local env = setup({ { name = "ev", kw = 3.7 }, { name = "heater", kw = 2 },
        { name = "pool", kw = 1 } }, { margin = 0.1 })
      env.now = T0 + 1800                  -- half the hour left
      -- forecast 2 + 8 * 0.5 = 6 kWh against 5 - 0.1: 1.1 kWh too much, 2.2 kW for the
      -- half hour: the EV alone (3.7 kW) covers it.
      local f = env.g:update(report(env, T0, 2, 8, 5))
      assert.are.equal("ev-", names(env.calls))
      assert.are.same({ guard_shed = 1, guard_shed_ev = true, guard_shed_heater = false,
        guard_shed_pool = false }, f)
      local st = env.g:state()
      assert.are.equal(T0 + 1800, st.loads[1].since)
      assert.matches("forecast 6.000 kWh over budget 5.000 kWh", st.loads[1].why, 1, true)
      assert.matches("ev shed: forecast", env.logged[1], 1, true)
      -- 11 s later (settled) 4.2 kWh too much: 8.5 kW more over what is left; the EV is
      -- off, so heater and pool go, and that is all there is.
      env.now = T0 + 1811
      env.g:update(report(env, T0, 4.4, 10, 5))
      assert.are.equal("ev- heater- pool-", names(env.calls))
      assert.are.equal(3, env.g:fields().guard_shed)
    end)

  it("goes by the report's time left when it gives the headroom: a meter clock an hour"
    .. " off decides alike", function()
    local function run(offset)
      local env = setup({ { name = "a", kw = 2 }, { name = "b", kw = 2 } },
        { margin = 0, hysteresis = 0, settle = 0 })
      local out = {}
      for _, case in ipairs({ { 1800, 2, 8 }, { 1900, 2.2, 2 }, { 3500, 4.95, 3 } }) do
        local t, energy, kw = T0 + case[1], case[2], case[3]
        local left = (T0 + HOUR - t) / HOUR
        env.now = t + offset
        env.g:update({ capacity_period_start = T0, capacity_period_end = T0 + HOUR,
          capacity_energy = energy, capacity_forecast = energy + kw * left,
          capacity_budget = 5, capacity_headroom = (5 - energy) / left })
        out[#out + 1] = names(env.calls)
      end
      return out
    end
    local right = run(0)
    -- 17:30: 2 + 8 * 0.5 = 6 over 5: 2 kW needed, a goes; 17:31:40: 2.2 + 2 * 29/60 =
    -- 3.17, 1.83 spare in 29 min = 3.8 kW: a back; 17:58:20: 4.95 + 3/36 = 5.03, over
    -- by 0.03 kWh in 100 s = 1.2 kW: a goes again, b stays.
    assert.are.same({ "a-", "a- a+", "a- a+ a-" }, right)
    assert.are.same(right, run(3600))
    assert.are.same(right, run(-300))
  end)

  it("makes no second decision before the meter can show the first (settle)", function()
    local env = setup({ { name = "a", kw = 1 }, { name = "b", kw = 1 } }, { settle = 10 })
    env.now = T0 + 600
    env.g:update(report(env, T0, 1, 6, 5))      -- 1 + 6 * 50/60 = 6: over by 1.1
    assert.are.equal("a- b-", names(env.calls))
    env.now = T0 + 605
    env.g:update(report(env, T0, 1.01, 0, 5))   -- plenty of room, but too soon
    assert.are.equal("a- b-", names(env.calls))
    env.now = T0 + 610
    env.g:update(report(env, T0, 1.02, 0, 5))
    assert.are.equal("a- b- b+ a+", names(env.calls))
  end)

  it("restores the last shed load first, only with room for its kW plus the hysteresis",
    function()
      local env = setup({ { name = "ev", kw = 3 }, { name = "heater", kw = 2 } },
        { margin = 0, hysteresis = 0.5, settle = 0 })
      env.now = T0 + 1800
      env.g:update(report(env, T0, 3, 10, 5))      -- over by 3 kWh: 6 kW, both go
      assert.are.equal("ev- heater-", names(env.calls))
      -- spare (5 - 3 - 1.1 * 0.5) / 0.5 = 2.9 kW: room for the heater's 2 + 0.5
      env.now = T0 + 1800
      env.g:update(report(env, T0, 3, 1.1, 5))
      assert.are.equal("ev- heater- heater+", names(env.calls))
      -- spare 2.9 - 2 = 0.9 kW left over for the EV's 3: it stays off; so it does at
      -- 3.4 kW of spare (3 + 0.5 needed), and comes back at 3.5 (spare = 4 - present kW).
      env.g:update(report(env, T0, 3, 4 - 3.4, 5))
      assert.are.equal("ev- heater- heater+", names(env.calls))
      env.g:update(report(env, T0, 3, 4 - 3.5, 5))
      assert.are.equal("ev- heater- heater+ ev+", names(env.calls))
    end)

  it("keeps the order: a shed load that may not switch yet holds back the ones before it",
    function()
      local env = setup({ { name = "a", kw = 1 }, { name = "b", kw = 1, min_off = 600 } },
        { settle = 0 })
      env.now = T0 + 1800
      env.g:update(report(env, T0, 4, 5, 5))       -- both
      assert.are.equal("a- b-", names(env.calls))
      env.now = T0 + 1900
      env.g:update(report(env, T0, 4, 0, 5))       -- room for both, b held by min_off
      assert.are.equal("a- b-", names(env.calls))
      env.now = T0 + 2400
      env.g:update(report(env, T0, 4, 0, 5))
      assert.are.equal("a- b- b+ a+", names(env.calls))
    end)

  it("never switches a load before its minimum on and off times", function()
    local env = setup({ { name = "hp", kw = 2, min_on = 300, min_off = 900 } },
      { settle = 0, margin = 0, hysteresis = 0 })
    local kw = { [true] = 1, [false] = 3 }          -- the house: 1 kW + the heat pump
    local budget, energy = 1.8, 0
    for t = T0, T0 + 2 * HOUR - 10, 10 do
      env.now = t
      local start = t - (t - T0) % HOUR
      if t == start then energy = 0 end
      local shed = env.g:fields().guard_shed_hp
      env.g:update(report(env, start, energy, kw[shed], budget))
      energy = energy + kw[env.g:fields().guard_shed_hp] * 10 / HOUR
    end
    assert.is_true(#env.calls >= 4)
    local last = { at = -math.huge, on = true }
    for _, c in ipairs(env.calls) do
      local held = c.at - last.at
      -- switched off after at least min_on on, on after at least min_off off
      assert.is_true(held >= (c.on and 900 or 300), names({ c }) .. " after " .. held .. " s")
      last = c
    end
  end)

  it("brings loads back as soon as a new period begins, as far as its room goes",
    function()
      local env = setup({ { name = "a", kw = 2 }, { name = "b", kw = 1 },
        { name = "c", kw = 1, min_off = 1200 } }, { settle = 60, hysteresis = 0.5 })
      env.now = T0 + 3000
      env.g:update(report(env, T0, 5, 5, 5))
      assert.are.equal("a- b- c-", names(env.calls))
      -- 1 s later, within the settle time: a new hour decides at once. 3 kW drawn, 4.9
      -- kWh to use: 1.9 kW of room, but c's min_off holds it and, the order being
      -- kept, the rest. At 20 min: 1 kWh used, 2.4 kW drawn, (4.9 - 1 - 1.6) kWh for
      -- 40 min is 3.45 kW: c (1 + 0.5) and b (1 + 0.5) come back, not a (2 + 0.5).
      env.now = T0 + HOUR + 1
      env.g:update(report(env, T0 + HOUR, 0, 3, 5))
      assert.are.equal("a- b- c-", names(env.calls))
      env.now = T0 + HOUR + 1200
      env.g:update(report(env, T0 + HOUR, 1, 2.4, 5))
      assert.are.equal("a- b- c- c+ b+", names(env.calls))
      assert.matches("^spare 3%.450 kW", env.g:state().loads[3].why)
      local fresh = setup({ { name = "a", kw = 1 } }, { settle = 60 })
      fresh.now = T0 + 3590                       -- shed 10 s before the hour's end
      fresh.g:update(report(fresh, T0, 5, 5, 5))
      fresh.now = T0 + HOUR
      assert.is_false(fresh.g:update(report(fresh, T0 + HOUR, 0, 3, 5)).guard_shed_a)
      assert.matches("^a new period, spare 1%.900 kW", fresh.g:state().loads[1].why)
    end)

  it("does not bring back a load whose min_on would hold it on into the next period",
    function()
      local env = setup({ { name = "car", kw = 7, min_on = 300 } }, { settle = 0 })
      env.now = T0 + 600
      env.g:update(report(env, T0, 1, 10, 5))
      assert.are.equal("car-", names(env.calls))
      -- 3.3 kWh spare at 59:00 is 198 kW for the minute left, but 300 s on is too long
      env.now = T0 + 3540
      env.g:update(report(env, T0, 1.6, 0, 5))
      assert.are.equal("car-", names(env.calls))
      env.now = T0 + 3300                          -- (a clock 5 min earlier) it fits
      env.g:update(report(env, T0, 1.6, 0, 5))
      assert.are.equal("car- car+", names(env.calls))
    end)

  it("restores every load in a period with no limit (budget nil)", function()
    local env = setup({ { name = "a", kw = 1 } })
    env.now = T0 + 3000
    env.g:update(report(env, T0, 5, 5, 5))
    env.now = T0 + 3020
    env.g:update(report(env, T0, 5.1, 5, nil))
    assert.are.equal("a- a+", names(env.calls))
    assert.matches("no limit", env.g:state().loads[1].why)
  end)

  it("keeps its state on a report with missing fields, and restores when readings stop",
    function()
      local env = setup({ { name = "a", kw = 1 } }, { timeout = 120 })
      env.now = T0 + 3000
      env.g:update(report(env, T0, 5, 5, 5))
      assert.are.equal("a-", names(env.calls))
      for _, r in ipairs({ {}, { capacity_period_start = T0 },
        { capacity_period_start = T0, capacity_period_end = T0 + HOUR,
          capacity_forecast = "9" },
        { capacity_period_start = T0, capacity_period_end = T0 + HOUR,
          capacity_forecast = 1, capacity_budget = 0 / 0 } }) do
        env.now = env.now + 30
        assert.is_true(env.g:update(r).guard_shed_a)
      end
      env.now = T0 + 3120
      assert.is_true(env.g:step().guard_shed_a)    -- 120 s: not yet
      env.now = T0 + 3121
      assert.is_false(env.g:step().guard_shed_a)
      assert.are.equal("a- a+", names(env.calls))
      assert.matches("no readings for 120 s", env.g:state().loads[1].why)
    end)

  it("restores everything on close, minimum off time or not", function()
    local env = setup({ { name = "a", kw = 1, min_off = 3600 }, { name = "b", kw = 1 } })
    env.now = T0 + 3000
    env.g:update(report(env, T0, 5, 5, 5))
    env.now = T0 + 3001
    assert.are.equal(0, env.g:close().guard_shed)
    assert.are.equal("a- b- a+ b+", names(env.calls))
  end)

  it("keeps a load as it was when its switch fails, says so once, and tries again",
    function()
      local fail = true
      local env
      env = setup({ { name = "a", kw = 1, switch = function(on)
        if fail then return nil, "bus busy" end
        env.calls[#env.calls + 1] = { at = env.now, name = "a", on = on }
      end } }, { settle = 0 })
      for i = 1, 3 do
        env.now = T0 + 3000 + i
        assert.is_false(env.g:update(report(env, T0, 5, 5, 5)).guard_shed_a)
      end
      assert.are.same({ "han.guard: cannot switch a off: bus busy" }, env.logged)
      fail = false
      env.now = T0 + 3010
      assert.is_true(env.g:update(report(env, T0, 5, 5, 5)).guard_shed_a)
      assert.are.equal(T0 + 3010, env.g:state().loads[1].since)
    end)

  it("does not flap around the threshold: the hysteresis holds a restored load", function()
    -- The house draws 3.9 or 4.3 kW in turns (noise) besides a 1 kW load; the budget
    -- is 5 kWh an hour. With the load on, the forecast crosses 5 - 0.1 now and then;
    -- with it off, the spare is just about its own kW.
    local function run(hysteresis)
      local env = setup({ { name = "a", kw = 1 } },
        { margin = 0.1, hysteresis = hysteresis, settle = 10 })
      local energy = 0
      for i = 0, 359 do
        env.now = T0 + i * 10
        local base = i % 2 == 0 and 3.9 or 4.3
        local kw = base + (env.g:fields().guard_shed_a and 0 or 1)
        env.g:update(report(env, T0, energy, kw, 5))
        energy = energy + (base + (env.g:fields().guard_shed_a and 0 or 1)) * 10 / HOUR
      end
      return #env.calls
    end
    local with, without = run(0.5), run(0)
    assert.is_true(with <= 2, with .. " switches")
    assert.is_true(without > 10, without .. " switches")
  end)

  it("switches group objects with grp.write, with the values given", function()
    local env = fake_lm.new()
    local now = T0 + 1800
    local g = guard.new({ grp = env.grp, clock = function() return now end, log = function() end,
      loads = { { name = "boiler", kw = 3, address = "1/1/1" },
                { name = "floor", kw = 1, address = "1/1/2", on_value = 0, off_value = 1 } } })
    g:update({ capacity_period_start = T0, capacity_period_end = T0 + HOUR,
      capacity_forecast = 9, capacity_budget = 5 })
    assert.are.same({ { "write", "1/1/1", false }, { "write", "1/1/2", 1 } }, env.of("write"))
    now = T0 + HOUR
    g:update({ capacity_period_start = T0 + HOUR, capacity_period_end = T0 + 2 * HOUR,
      capacity_forecast = 0, capacity_budget = 5 })
    assert.are.same({ "write", "1/1/2", 0 }, env.of("write")[3])      -- the last shed first
    assert.are.same({ "write", "1/1/1", true }, env.of("write")[4])
  end)

  it("keeps a simulated evening under the step that it crosses without the guard",
    function()
      -- 16:00 to 22:00: the house 1.5 kW, an oven 3 kW 17:10 to 17:50, a 3.7 kW car
      -- charger from 17:30 and a 2 kW water heater. Budget 5 kWh an hour (a 5 kW step).
      local function base(t)
        local m = (t - T0) / 60 % 1440
        return 1.5 + ((m >= 17 * 60 + 10 and m < 17 * 60 + 50) and 3 or 0)
      end
      local function car_wants(t) return (t - T0) / 60 % 1440 >= 17 * 60 + 30 end
      local function simulate(with_guard)
        local env = setup({ { name = "car", kw = 3.7, min_on = 60, min_off = 300 },
          { name = "heater", kw = 2, min_off = 120 } })
        local hours, energy, start = {}, 0, nil
        for t = T0 + 16 * HOUR, T0 + 22 * HOUR - 5, 5 do
          env.now = t
          local s = t - t % HOUR
          if s ~= start then
            if start then hours[#hours + 1] = energy end
            start, energy = s, 0
          end
          local f = env.g:fields()
          local kw = base(t) + (f.guard_shed_heater and 0 or 2)
            + ((car_wants(t) and not f.guard_shed_car) and 3.7 or 0)
          if with_guard then env.g:update(report(env, start, energy, kw, 5)) end
          f = env.g:fields()
          kw = base(t) + (f.guard_shed_heater and 0 or 2)
            + ((car_wants(t) and not f.guard_shed_car) and 3.7 or 0)
          energy = energy + kw * 5 / HOUR
        end
        hours[#hours + 1] = energy
        return hours, env
      end
      local free = simulate(false)
      local guarded, env = simulate(true)
      assert.are.equal(6, #guarded)
      local over = 0
      for i, e in ipairs(free) do
        if e > 5 then over = over + 1 end
        assert.is_true(guarded[i] <= 5, "hour " .. (15 + i) .. ": " .. guarded[i] .. " kWh")
      end
      assert.is_true(over >= 3, over .. " hours over without the guard")
      -- The car charged when it could: the hours after the oven used most of the budget.
      assert.is_true(guarded[5] > 4.5, guarded[5] .. " kWh")
      -- Back on at every hour's change: the heater is on again at 22:00's last report.
      assert.is_false(env.g:fields().guard_shed_heater)
    end)
end)
