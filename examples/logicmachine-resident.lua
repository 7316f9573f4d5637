-- LogicMachine resident script (sleep interval 0): meter readings to group objects,
-- hourly energy to storage. Paste han (dist/han.lua) as the user library `han` first.
han = han or require('user.han')
reader = reader or han.reader({ port = '/dev/ttyUSB0', baudrate = 2400, parity = 'none' })
hourly = hourly or han.hourly()

local r, err = reader:poll()          -- about one second at most
if not r then
  if err then log('han: ' .. err) end
  return
end

grp.checkupdate('32/1/1', r.power_import, 10)      -- W, update when it moves 10 W
grp.checkupdate('32/1/2', r.power_export, 10)
if r.current_l1 then grp.checkupdate('32/1/3', r.current_l1, 0.1) end
if r.voltage_l1 then grp.checkupdate('32/1/4', r.voltage_l1, 1) end

local set = hourly:push(r)                          -- once per meter hour
if set then
  grp.update('32/1/10', set.energy_import)          -- kWh
  storage.set('han:hour:' .. set.hour, set)
end
