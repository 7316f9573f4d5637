-- examples/lm-guard.lua run as the controller runs it, against the LM mock: a house
-- whose loads draw while their group objects are on, a meter list every 2 s, and
-- han.capacity's report for the running hour computed here by its contract (energy so
-- far, forecast at the present power, a 5 kWh budget for a 5 kW step).
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local fake_lm = require("support.fake_lm")
local lm_script = require("support.lm_script")

local HOUR = 3600
local T0 = 1767222000 + 17 * HOUR        -- 2026-01-01 17:00 Europe/Oslo
local BUDGET = 5
local LOADS = { { "1/1/1", 7.4 }, { "1/1/2", 2 }, { "1/1/3", 1.5 } }   -- car, water, floor

describe("examples/lm-guard.lua (" .. H.backend .. " backend)", function()
  it("keeps every hour under the step, runs the loads when there is room, restores them"
    .. " when readings stop",
    function()
      local env = fake_lm.new()
      local now, silent = T0, false
      local writes = {}                  -- {at, address, value}
      local write = env.grp.write
      env.grp.write = function(address, value)
        writes[#writes + 1] = { at = now, address = address, value = value }
        return write(address, value)
      end
      -- The house: 2 kW, an oven of 3 kW from 17:30 to 18:20, and each load whose
      -- object is not off (a load is on until the guard writes false).
      local function kw(t)
        local m = (t - T0) / 60
        local p = 2 + ((m >= 30 and m < 80) and 3 or 0)
        for _, load in ipairs(LOADS) do
          if env.grp.getvalue(load[1]) ~= false then p = p + load[2] end
        end
        return p
      end
      local reader = { poll = function()
        now = now + 2
        if not silent then return { power_import = kw(now) * 1000, meter_time = now } end
      end }
      -- The running hour by han.capacity's contract.
      local hours, hour = {}, { energy = 0 }
      local capacity = { push = function(_, r)
        local t, p = r.meter_time, r.power_import / 1000
        local start = t - t % HOUR
        if hour.start and hour.start ~= start then hours[#hours + 1] = hour.energy end
        if hour.start ~= start then hour = { start = start, energy = 0 } end
        if hour.t then hour.energy = hour.energy + hour.p * (t - hour.t) / HOUR end
        hour.t, hour.p = t, p
        local left = (start + HOUR - t) / HOUR
        return { capacity_period_start = start, capacity_period_end = start + HOUR,
          capacity_energy = hour.energy, capacity_forecast = hour.energy + p * left,
          capacity_budget = BUDGET, capacity_target = BUDGET,
          capacity_headroom = (BUDGET - hour.energy) / left }
      end }
      local run, logged = lm_script.resident("examples/lm-guard.lua", env, {
        reader = function() return reader end,
        capacity = function() return capacity end,
        guard = function(o) o.clock = function() return now end; return han.guard(o) end,
      }, function() return now end, finally)

      run(T0 + 2 * HOUR + 2)
      assert.are.equal(2, #hours)
      for i, e in ipairs(hours) do
        assert.is_true(e <= BUDGET, "hour " .. (16 + i) .. ": " .. e .. " kWh")
      end
      assert.is_true(hours[2] > 4, hours[2] .. " kWh: the loads ran when there was room")
      -- The car (first in the list) went first, at the first decision.
      assert.are.same({ T0 + 2, "1/1/1", false }, { writes[1].at, writes[1].address,
        writes[1].value })
      -- Each load ran in each hour (back when there was room), none faster than its
      -- minimum times.
      for h = 0, 1 do
        local ran = {}
        for _, w in ipairs(writes) do
          if w.value and w.at >= T0 + h * HOUR and w.at < T0 + (h + 1) * HOUR then
            ran[w.address] = true
          end
        end
        assert.are.same({ ["1/1/1"] = true, ["1/1/2"] = true, ["1/1/3"] = true }, ran)
      end
      local min = { ["1/1/1"] = { on = 300, off = 300 }, ["1/1/2"] = { on = 0, off = 600 },
        ["1/1/3"] = { on = 600, off = 600 } }
      local last = {}
      for _, w in ipairs(writes) do
        local prev = last[w.address]
        if prev then
          local need = w.value and min[w.address].off or min[w.address].on
          assert.is_true(w.at - prev >= need, w.address .. " after " .. (w.at - prev) .. " s")
        end
        last[w.address] = w.at
      end
      -- The objects: created, a 1-bit object per load, the count of shed loads.
      assert.are.equal(env.dt.bool, env.objects["32/2/5"].datatype)
      assert.are.equal(env.dt.float32, env.objects["32/2/1"].datatype)
      assert.are.equal(BUDGET, env.grp.getvalue("32/2/2"))
      -- The meter falls silent just after 19:00, when water and floor heating were
      -- shed: after 120 s without a reading they are due back, and come back once
      -- their 600 s off have passed.
      assert.are.equal(2, env.grp.getvalue("32/2/4"))
      silent = true
      run(T0 + 2 * HOUR + 2 + 120)
      assert.are.equal(2, env.grp.getvalue("32/2/4"))
      run(T0 + 2 * HOUR + 598)
      assert.are.equal(2, env.grp.getvalue("32/2/4"))
      run(T0 + 2 * HOUR + 602)
      assert.are.equal(0, env.grp.getvalue("32/2/4"))
      for _, load in ipairs(LOADS) do assert.is_true(env.grp.getvalue(load[1]), load[1]) end
      assert.are.equal(T0 + 2 * HOUR + 600, writes[#writes].at)
      assert.matches("no readings for 120 s", logged[#logged][1])
    end)
end)
