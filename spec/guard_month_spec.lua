-- han.capacity and han.guard over a whole simulated month (October 2024 in Norway, its
-- 25-hour day included): a house of 1 kW, 2.5 kW more every evening 17:00-20:00, and two
-- loads that run while the guard lets them (a water heater 2 kW, floor heating 1.5 kW).
-- Without the guard the month is billed 7 kW (three evenings); with a 5 kW target the
-- month's figure, from the energy each hour really used, stays within the step and the
-- loads run in the hours with room. Readings every 30 s with the hourly registers, as a
-- Kaifa pushes them.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local time = require("han.time")

local HOUR, STEP, CADENCE = 3600, 5, 30
local START = time.from_local(2024, 10, 1, 0, 0, 0)
local STOP = time.from_local(2024, 11, 1, 0, 0, 0)
local LOADS = { { name = "water", kw = 2, min_off = 600 }, { name = "floor", kw = 1.5,
  min_on = 600, min_off = 600 } }

local function house_kw(t)
  local _, _, _, h = time.to_local(t)
  return (h >= 17 and h < 20) and 3.5 or 1
end

-- The month: returns the true energy per clock hour (by hour start), the last report,
-- the switches ({at, name, on}) and the hours' local clock.
local function month(guarded)
  local now = START
  local on = { water = true, floor = true }
  local switches = {}
  local loads = {}
  for i, l in ipairs(LOADS) do
    loads[i] = { name = l.name, kw = l.kw, min_on = l.min_on, min_off = l.min_off,
      switch = function(v) on[l.name] = v; switches[#switches + 1] = { now, l.name, v } end }
  end
  local cap = han.capacity({ rule = "norway", target = STEP, log = function() end })
  local guard = han.guard({ loads = loads, clock = function() return now end,
    log = function() end })
  local hours, register = {}, 1000
  local function kw()
    local p = house_kw(now)
    for _, l in ipairs(LOADS) do if on[l.name] then p = p + l.kw end end
    return p
  end
  while now < STOP do
    local p = kw()
    local r = { power_import = p * 1000, meter_time = now }
    if now % HOUR == 10 then r.energy_import = register end   -- the hourly list at xx:00:10
    local report = cap:push(r)
    if guarded then guard:update(report) end
    -- the power holds until the next reading (a switch shows in the next one)
    p = kw()
    local start = now - now % HOUR
    hours[start] = (hours[start] or 0) + p * CADENCE / HOUR
    register = register + p * CADENCE / HOUR
    now = now + CADENCE
  end
  cap:push({ power_import = kw() * 1000, meter_time = now })
  local report = cap:push({ power_import = kw() * 1000, meter_time = now + 10,
    energy_import = register })
  return hours, report, switches
end

describe("han.guard with han.capacity over a month (" .. H.backend .. " backend)", function()
  it("bills 7 kW without the guard and at most the 5 kW step with it",
    function()
      local hours, report = month(false)
      local n, peak = 0, 0
      for _, e in pairs(hours) do n = n + 1; peak = math.max(peak, e) end
      assert.are.equal(745, n)                         -- 31 days and October's extra hour
      H.same(7, peak, "the fullest hour without the guard")
      assert.are.equal("2024-10", report.capacity_month)
      H.same(7, report.capacity_mean, "the month's figure without the guard")

      local switches
      hours, report, switches = month(true)
      -- The month's figure as the operator bills it (the mean of the three highest
      -- days' highest hours), from the energy each hour really used: at most the step,
      -- and han.capacity's figure is that one. A day may go above 5 kWh while the days
      -- before it leave room (Oct 2: 5.05), never the month.
      local day_max, full_nights = {}, 0
      for start, e in pairs(hours) do
        local y, m, d, h = time.to_local(start)
        local day = y * 10000 + m * 100 + d
        day_max[day] = math.max(day_max[day] or 0, e)
        if h < 6 and math.abs(e - 4.5) < 1e-9 then full_nights = full_nights + 1 end
      end
      local top = {}
      for _, e in pairs(day_max) do top[#top + 1] = e end
      table.sort(top, function(a, b) return a > b end)
      local billed = (top[1] + top[2] + top[3]) / 3
      assert.is_true(billed <= STEP + 1e-9, billed .. " kW billed")
      assert.is_true(billed > STEP - 0.5, billed .. " kW: the loads ran when there was room")
      assert.are.equal("2024-10", report.capacity_month)
      assert.is_true(math.abs(report.capacity_mean - billed) < 1e-6,
        report.capacity_mean .. " against " .. billed)
      -- The loads ran when there was room: every night hour with both on (the 25-hour
      -- day has 7 such hours).
      assert.are.equal(31 * 6 + 1, full_nights)
      -- No flapping: each load off and on at most once an hour, and none faster than
      -- its minimum times.
      local per_hour = {}
      for _, sw in ipairs(switches) do
        local key = sw[2] .. (sw[1] - sw[1] % HOUR)
        per_hour[key] = (per_hour[key] or 0) + 1
        assert.is_true(per_hour[key] <= 2, key)
      end
      local last, min = {}, { water = { on = 0, off = 600 }, floor = { on = 600, off = 600 } }
      for _, s in ipairs(switches) do
        local at, name, v = s[1], s[2], s[3]
        if last[name] then
          local need = v and min[name].off or min[name].on
          assert.is_true(at - last[name] >= need, name .. " after " .. (at - last[name]) .. " s")
        end
        last[name] = at
      end
      -- Every evening sheds before the step, and both loads are back by midnight.
      local shed_days = {}
      for _, s in ipairs(switches) do
        local y, m, d, h = time.to_local(s[1])
        if not s[3] and h >= 17 and h < 20 then shed_days[y * 10000 + m * 100 + d] = true end
      end
      local days = 0
      for _ in pairs(shed_days) do days = days + 1 end
      assert.are.equal(31, days)
    end)
end)
