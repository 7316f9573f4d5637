-- LogicMachine resident script (sleep interval 0): stay under the capacity step. The
-- running hour's forecast, budget and headroom go to group objects, and han.guard
-- switches loads off through their group addresses before the hour uses more than its
-- budget, and on again when there is room (at once when a new hour has it).
-- Paste han (dist/han.lua) as the user library `han` first.
-- luacheck: globals capacity guard outputs
han = han or require('user.han')
reader = reader or han.reader({ port = '/dev/ttyUSB0', baudrate = 2400,
  report = function(message) log('han: ' .. message) end, report_every = 3600 })
capacity = capacity or han.capacity({ rule = 'norway', target = 5,    -- kW: the step
  storage = storage })
guard = guard or han.guard({
  loads = {                              -- the first is shed first, and back last
    { name = 'car', kw = 7.4, address = '1/1/1', min_on = 300, min_off = 300 },
    { name = 'water_heater', kw = 2, address = '1/1/2', min_off = 600 },
    { name = 'floor_heating', kw = 1.5, address = '1/1/3', min_on = 600, min_off = 600 },
  },
  margin = 0.1,       -- kWh kept free under the hour's budget
  hysteresis = 0.5,   -- kW of room beyond a load's own before it comes back
  timeout = 120,      -- s without readings: every load back on (each switch is logged)
})
outputs = outputs or han.lm({
  capacity_forecast = '32/2/1', capacity_budget = '32/2/2', capacity_headroom = '32/2/3',
  guard_shed = '32/2/4', guard_shed_car = '32/2/5', guard_shed_water_heater = '32/2/6',
  guard_shed_floor_heating = '32/2/7',
}, { create = true })

local r = reader:poll()                  -- about one second at most
if r then
  local report = capacity:push(r)
  outputs:update(report)
  outputs:update(guard:update(report))
else
  outputs:update(guard:step())           -- readings stopped: the timeout restores
end
