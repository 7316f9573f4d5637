-- LogicMachine resident script (sleep interval 0): meter readings to group objects,
-- hourly energy to storage. Paste han (dist/han.lua) as the user library `han` first.
han = han or require('user.han')
reader = reader or han.reader({
  port = '/dev/ttyUSB0',      -- a USB M-Bus adapter; '/dev/RS485' for the controller's port
  baudrate = 2400,
  parity = 'none',            -- Kamstrup 8N1: 'none'; Aidon and Kaifa 8E1: 'even'
  duplex = 'full',            -- 'half' on an RS-485 port
  -- A problem (bad frames, no key, the adapter unplugged) is logged when it starts, then
  -- once an hour while it lasts.
  report = function(message) log('han: ' .. message) end,
  report_every = 3600,
})
hourly = hourly or han.hourly()

local r = reader:poll()               -- about one second at most
if not r then return end

-- A list carries what the meter sends (list 1: power_import alone): absent is nil,
-- and nil never goes to an object.
local function put(address, value, delta)
  if value ~= nil then grp.checkupdate(address, value, delta) end
end
put('32/1/1', r.power_import, 10)     -- W, update when it moves 10 W
put('32/1/2', r.power_export, 10)
put('32/1/3', r.current_l1, 0.1)
put('32/1/4', r.voltage_l1, 1)

local set = hourly:push(r)            -- once per meter hour
if set then
  if set.energy_import then grp.update('32/1/10', set.energy_import) end   -- kWh
  storage.set('han:hour:' .. set.hour, set)
end
