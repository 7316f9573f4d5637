-- The readings of a capacity scenario (spec/vectors/capacity/scenarios.json, written by
-- spec/support/capacity_reference.py): the load is quarter-hour powers; readings sample
-- it every `cadence` seconds (power in W, the import register when `every`), hourly
-- lists carry the register on the hour, and `send` spoils the stream as a meter, a
-- host or a network does. each(scenario, f) calls f(reading) in the order sent.
local M = {}

local Q = 900
local OFFSET = 12345.678        -- the register before the scenario, kWh
local SWAP_VALUE = 5000         -- the register of the meter put in its place, kWh
local Y2000, Y2030 = 946684800, 1893456000

-- The load: power (W) and the energy used since the start (kWh) at a time.
local function load(s)
  local power, before = {}, { [1] = 0 }
  for _, run in ipairs(s.quarters) do
    for _ = 1, run[1] do power[#power + 1] = run[2] end
  end
  for i = 1, #power do before[i + 1] = before[i] + power[i] * Q / 3600000 end
  local function index(t) return math.floor((t - s.start) / Q) + 1 end
  return function(t) return power[index(t)] end, function(t)
    local i = index(t)
    return before[i] + (power[i] or 0) * (t - (s.start + (i - 1) * Q)) / 3600000
  end
end

-- The meter's register and id at a time: restarted from 0 at send.reset, another
-- meter from send.swap on.
local function meter(send, used)
  return function(t)
    if send.swap and t >= send.swap then
      return SWAP_VALUE + used(t) - used(send.swap), "B"
    end
    if send.reset and t >= send.reset then return used(t) - used(send.reset), "A" end
    return OFFSET + used(t), "A"
  end
end

local function within(t, span) return span and t >= span[1] and t < span[2] end

local function set_of(list)
  local t = {}
  for _, v in ipairs(list or {}) do t[v] = true end
  return t
end

-- The sparse events (lists, copies, bad clocks) as {when, order, reading}, sorted.
local function extras(s, power, register, stamp)
  local send, out = s.send, {}
  local function add(when, order, r) out[#out + 1] = { when, order, r } end
  if send.lists then
    local lost = set_of(send.drop_lists)
    for h = s.start, s.stop, 3600 do
      if not lost[h] then
        local value, id = register(h)
        local t, tf = stamp(h)
        local list = { meter_time = t, time_fields = tf, hour = t - 3600,
          energy_import = value, meter_id = id }
        add(h + (send.late or 0), 1, list)
        if send.twice then add(h + (send.late or 0), 2, list) end
      end
    end
  end
  for i, t in ipairs(send.bad_clock or {}) do
    local value, id = register(t)
    add(t, 3, { meter_time = i == 1 and Y2000 or Y2030, power_import = 20000,
      energy_import = value + 50, meter_id = id })
  end
  if send.resend then
    local k = 0
    for t = s.start, s.stop - 1, send.cadence * send.resend do
      k = k + 1
      local value, id = register(t)
      local r = { meter_time = t, power_import = power(t), energy_import = value,
        meter_id = id }
      add(t, 2, r)                              -- twice
      add(t + 30 + k % 7, 2, r)                 -- and again, late
    end
  end
  table.sort(out, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2]
  end)
  return out
end

function M.each(s, f)
  local send = s.send
  local power, used = load(s)
  local register = meter(send, used)
  -- October: a meter that flags summer time, or one whose first 02:00 hour the namer
  -- reads as the second (standard time) for want of the flag
  local fold = send.fold
  local function stamp(t)
    if not fold then return t, nil end
    if send.flagged then return t, { status = t < fold + 3600 and 0x80 or 0 } end
    if t >= fold and t < fold + 3600 then return t + 3600, nil end
    return t, nil
  end
  local history
  if send.meter_history then
    history = {}
    for i, h in ipairs(send.meter_history) do
      history[i] = { start = h[1], time = h[1], value = h[2] }
    end
  end
  local events, e = extras(s, power, register, stamp), 1
  local drop = send.drop
  local function flush(upto)
    while events[e] and events[e][1] <= upto do
      f(events[e][3])
      e = e + 1
    end
  end
  local cadence = send.cadence
  if cadence > 0 then
    for t = s.start, s.stop - 1, cadence do
      flush(t - 1)
      if not within(t, drop) then
        local mt, tf = stamp(t)
        local r = { meter_time = mt, time_fields = tf }
        if send.power then r.power_import = power(t) end
        if send.every then r.energy_import, r.meter_id = register(t) end
        if history then
          r.obis = { ["0-0:98.1.0"] = history }
          local peak = send.meter_peak
          if t >= peak[1] then
            r.obis["1-0:1.6.0"] = { value = send.meter_value or peak[2], time = peak[1] }
          end
        end
        f(r)
      end
    end
  end
  flush(math.huge)
end

return M
