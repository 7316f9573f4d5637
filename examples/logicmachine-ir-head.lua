-- LogicMachine resident script (sleep interval 0): a German meter's optical (D0) port,
-- read with a USB IR head, to group objects. Paste han (dist/han.lua) as the user
-- library `han` first; the head sits on the meter's infrared window (README: "Germany
-- and optical ports").
--   SML push (eHZ, "moderne Messeinrichtung"): protocol 'sml', 9600 8N1 (below).
--   IEC 62056-21 mode D push (EasyMeter Q3D): protocol 'd0', 9600 7E1.
--   Mode C, a meter that answers only when asked (L+G ZMD, Itron ACE3000): instead of
--   the reader, reader = reader or han.d0({port = '/dev/ttyUSB0', interval = 60}); its
--   poll() is used the same way.
han = han or require('user.han')
reader = reader or han.reader({
  port = '/dev/ttyUSB0',      -- the USB IR head
  protocol = 'sml',
  -- A problem (no transmissions, noise from a misaligned head, the head unplugged) is
  -- logged when it starts, then once an hour while it lasts.
  report = function(message) log('han: ' .. message) end,
  report_every = 3600,
})

local r = reader:poll()               -- about one second at most
if not r then return end

-- What the meter does not send is nil, and nil never goes to an object.
local function put(address, value, delta)
  if value ~= nil then grp.checkupdate(address, value, delta) end
end
put('32/2/1', r.power_import, 10)     -- W, update when it moves 10 W
put('32/2/2', r.power_export, 10)
put('32/2/3', r.energy_import, 0.01)  -- kWh
put('32/2/4', r.energy_export, 0.01)

-- A meter still locked by its PIN sends energy only, in whole kWh: the grid operator
-- gives the PIN (README: "PIN unlock"). Said once per script start.
if r.pin_locked and not pin_said then
  log('han: the meter sends energy only, in whole kWh: unlock it with its PIN')
  pin_said = true
end
