-- examples/lm-guard.lua run as the controller runs it, against the LM mock: a house
-- whose loads draw while their group objects are on, a meter list every 2 s, and the
-- running hour's report from han.capacity itself or, by its contract, computed here
-- (energy so far, forecast at the present power, a 5 kWh budget for a 5 kW step).
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local fake_lm = require("support.fake_lm")
local lm_script = require("support.lm_script")

local HOUR = 3600
local T0 = 1767222000 + 17 * HOUR        -- 2026-01-01 17:00 Europe/Oslo
local STEP = 5                           -- kW: the example's target
local LOADS = { { "1/1/1", 7.4 }, { "1/1/2", 2 }, { "1/1/3", 1.5 } }   -- car, water, floor

-- The running hour by han.capacity's contract, from the readings' power.
local function hand_capacity()
  local hour = {}
  return { push = function(_, r)
    local t, p = r.meter_time, r.power_import / 1000
    local start = t - t % HOUR
    if hour.start ~= start then hour = { start = start, energy = 0 } end
    if hour.t then hour.energy = hour.energy + hour.p * (t - hour.t) / HOUR end
    hour.t, hour.p = t, p
    local left = (start + HOUR - t) / HOUR
    return { capacity_period_start = start, capacity_period_end = start + HOUR,
      capacity_energy = hour.energy, capacity_forecast = hour.energy + p * left,
      capacity_budget = STEP, capacity_target = STEP,
      capacity_headroom = (STEP - hour.energy) / left }
  end }
end

-- The house: 2 kW, an oven of 3 kW from 17:30 to 18:20, and each load whose object is
-- not off (a load is on until the guard writes false). `user`: han's fields the script
-- gets replaced besides the reader and the guard's clock. Returns the world.
local function evening(user, period)
  local w = { env = fake_lm.new(), now = T0, silent = false, writes = {}, hours = {},
    period = period or HOUR }
  local env = w.env
  local write = env.grp.write
  env.grp.write = function(address, value)
    w.writes[#w.writes + 1] = { at = w.now, address = address, value = value }
    return write(address, value)
  end
  local function kw(t)
    local m = (t - T0) / 60
    local p = 2 + ((m >= 30 and m < 80) and 3 or 0)
    for _, load in ipairs(LOADS) do
      if env.grp.getvalue(load[1]) ~= false then p = p + load[2] end
    end
    return p
  end
  -- The meter, and the energy of each period as it really went (2 s at the power read).
  local p = nil
  local reader = { poll = function()
    if p then
      local i = math.floor((w.now - T0) / w.period) + 1
      w.hours[i] = (w.hours[i] or 0) + p * 2 / HOUR
    end
    w.now = w.now + 2
    p = kw(w.now)
    if not w.silent then return { power_import = p * 1000, meter_time = w.now } end
  end }
  user.reader = function() return reader end
  user.guard = function(o) o.clock = function() return w.now end; return han.guard(o) end
  w.run, w.logged = lm_script.resident("examples/lm-guard.lua", env, user,
    function() return w.now end, finally)
  return w
end

describe("examples/lm-guard.lua (" .. H.backend .. " backend)", function()
  for _, case in ipairs({ { "hand-made reports", function() return hand_capacity() end },
    { "han.capacity" } }) do
    it("keeps every hour under the step, runs the loads when there is room, restores them"
      .. " when readings stop (" .. case[1] .. ")", function()
      local w = evening({ capacity = case[2] })
      local env, writes = w.env, w.writes
      w.run(T0 + 2 * HOUR + 2)
      for i = 1, 2 do
        local e = w.hours[i]
        assert.is_true(e <= STEP, "hour " .. (16 + i) .. ": " .. e .. " kWh")
        assert.is_true(e > STEP - 0.5, e .. " kWh: the loads ran when there was room")
      end
      -- The car (first in the list) went first, at the first decision.
      assert.are.same({ T0 + 2, "1/1/1", false }, { writes[1].at, writes[1].address,
        writes[1].value })
      -- Water and floor heating ran in each hour (back when there was room); the car's
      -- 7.4 kW beside the house's 2 never fit under 5 kW: it stayed off, not brought
      -- back for an hour's last seconds to be held on by its min_on into the next.
      for h = 0, 1 do
        local ran = {}
        for _, x in ipairs(writes) do
          if x.value and x.at >= T0 + h * HOUR and x.at < T0 + (h + 1) * HOUR then
            ran[x.address] = true
          end
        end
        assert.are.same({ ["1/1/2"] = true, ["1/1/3"] = true }, ran)
      end
      -- None faster than its minimum times.
      local min = { ["1/1/1"] = { on = 300, off = 300 }, ["1/1/2"] = { on = 0, off = 600 },
        ["1/1/3"] = { on = 600, off = 600 } }
      local last = {}
      for _, x in ipairs(writes) do
        local prev = last[x.address]
        if prev then
          local need = x.value and min[x.address].off or min[x.address].on
          assert.is_true(x.at - prev >= need, x.address .. " after " .. (x.at - prev) .. " s")
        end
        last[x.address] = x.at
      end
      -- The objects: created, a 1-bit object per load, the count of shed loads.
      assert.are.equal(env.dt.bool, env.objects["32/2/5"].datatype)
      assert.are.equal(env.dt.float32, env.objects["32/2/1"].datatype)
      assert.are.equal(STEP, env.grp.getvalue("32/2/2"))
      -- The meter falls silent just after 19:00, when the car and the water heater were
      -- off: after 120 s without a reading both are due back, the car at once, the
      -- water heater once its 600 s off (from 19:00) have passed.
      assert.are.equal(2, env.grp.getvalue("32/2/4"))
      assert.are.same({ T0 + 2 * HOUR, "1/1/2", false }, { writes[#writes].at,
        writes[#writes].address, writes[#writes].value })
      w.silent = true
      w.run(T0 + 2 * HOUR + 2 + 120)
      assert.are.equal(2, env.grp.getvalue("32/2/4"))
      w.run(T0 + 2 * HOUR + 2 + 124)
      assert.are.equal(1, env.grp.getvalue("32/2/4"))
      assert.is_true(env.grp.getvalue("1/1/1"))
      w.run(T0 + 2 * HOUR + 598)
      assert.are.equal(1, env.grp.getvalue("32/2/4"))
      w.run(T0 + 2 * HOUR + 602)
      assert.are.equal(0, env.grp.getvalue("32/2/4"))
      for _, load in ipairs(LOADS) do assert.is_true(env.grp.getvalue(load[1]), load[1]) end
      assert.are.equal(T0 + 2 * HOUR + 600, writes[#writes].at)
      assert.matches("no readings for 120 s", w.logged[#w.logged][1])
    end)
  end

  it("keeps every quarter hour of Flanders under the step with han.capacity's reports",
    function()
      -- a 6 kW step: the oven's 5 kW alone would use a quarter's 1.25 kWh of 5 kW
      local w = evening({ capacity = function(o)
        o.rule, o.target = "flanders", 6
        return han.capacity(o)
      end }, 900)
      w.run(T0 + 2 * HOUR + 2)
      for i = 1, 8 do
        -- 6 kW for a quarter hour: 1.5 kWh
        assert.is_true(w.hours[i] <= 1.5, "quarter " .. i .. ": " .. w.hours[i] .. " kWh")
      end
      -- The car's 7.4 kW beside the house's 2 never fit a quarter of 6 kW: shed at once
      -- and kept off, not brought back at each quarter's start to be shed again.
      assert.are.same({ T0 + 2, "1/1/1", false }, { w.writes[1].at, w.writes[1].address,
        w.writes[1].value })
      assert.is_false(w.env.grp.getvalue("1/1/1"))
      -- Water and floor heating ran until the oven came, and again once it went (18:20).
      local back = {}
      for _, x in ipairs(w.writes) do
        if x.value then back[x.address] = x.at end
        assert.are_not.equal("1/1/1", x.value and x.address)
      end
      assert.is_true(back["1/1/2"] >= T0 + 80 * 60)
      assert.is_true(back["1/1/3"] >= T0 + 80 * 60)
      assert.is_true(w.hours[8] > 1.5 - 0.2, w.hours[8] .. " kWh")
      assert.is_true(#w.writes <= 6, #w.writes .. " switches")
    end)
end)
