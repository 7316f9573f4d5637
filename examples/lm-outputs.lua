-- LogicMachine resident script (sleep interval 0): readings and the month's capacity
-- peaks into group objects, created with datatype and unit when missing.
-- Paste han (dist/han.lua) as the user library `han` first.
-- luacheck: globals outputs capacity
han = han or require('user.han')
reader = reader or han.reader({ port = '/dev/ttyUSB0', baudrate = 2400,
  -- problems logged when they start, then once an hour while they last
  report = function(message) log('han: ' .. message) end, report_every = 3600 })
capacity = capacity or han.capacity({ rule = 'norway', tiers = { 2, 5, 10, 15, 20 },
  storage = storage })                              -- peaks survive a reboot
outputs = outputs or han.lm({
  power_import = { '32/1/1', delta = 10 }, energy_import = { '32/1/2', delta = 0.01 },
  voltage_l1 = { '32/1/3', delta = 1 }, current_l1 = { '32/1/4', delta = 0.1 },
  capacity_mean = '32/1/10', capacity_projected = '32/1/11', capacity_tier = '32/1/12',
}, { create = true })

local r = reader:poll()                             -- about one second at most
if r then
  outputs:update(r)
  outputs:update(capacity:push(r))
end
