-- Meter time to Unix epoch, by arithmetic only: the host's time zone never matters
-- (no os.time, no os.date). Zones and summer-time rules are data.
local floor = math.floor

local M = {}

-- Summer-time rules: clocks go `save` seconds ahead from the last Sunday of month `from`
-- at `at` seconds after midnight UTC to the last Sunday of month `to` at the same time.
-- "eu" is the rule in force in the EU, Norway and Switzerland since 1996.
M.rules = {
  eu = { from = 3, to = 10, at = 3600, save = 3600 },
}

-- A zone: `offset` = standard time east of UTC in minutes, `dst` = a rule name (or a
-- rule table) or nil for none.
M.zones = { UTC = { offset = 0 }, ["Etc/UTC"] = { offset = 0 }, GMT = { offset = 0 } }

-- Every zone of Europe whose clocks follow the EU rule, by its tz name, and the tz
-- names CET, EET, WET (the same rule). README.md lists them.
for _, z in ipairs({
  { "CET", 60, "Europe/Amsterdam Europe/Andorra Europe/Belgrade Europe/Berlin"
    .. " Europe/Bratislava Europe/Brussels Europe/Budapest Europe/Busingen Europe/Copenhagen"
    .. " Europe/Gibraltar Europe/Ljubljana Europe/Luxembourg Europe/Madrid Europe/Malta"
    .. " Europe/Monaco Europe/Oslo Europe/Paris Europe/Podgorica Europe/Prague Europe/Rome"
    .. " Europe/San_Marino Europe/Sarajevo Europe/Skopje Europe/Stockholm Europe/Tirane"
    .. " Europe/Vaduz Europe/Vatican Europe/Vienna Europe/Warsaw Europe/Zagreb Europe/Zurich" },
  { "EET", 120, "Europe/Athens Europe/Bucharest Europe/Helsinki Europe/Kyiv Europe/Kiev"
    .. " Europe/Mariehamn Europe/Riga Europe/Sofia Europe/Tallinn Europe/Uzhgorod"
    .. " Europe/Vilnius Europe/Zaporozhye" },
  { "WET", 0, "Europe/London Europe/Dublin Europe/Lisbon Europe/Guernsey Europe/Isle_of_Man"
    .. " Europe/Jersey Atlantic/Canary Atlantic/Faroe Atlantic/Madeira" },
}) do
  local zone = { offset = z[2], dst = "eu" }
  M.zones[z[1]] = zone
  for name in z[3]:gmatch("%S+") do M.zones[name] = zone end
end
M.default_zone = "Europe/Oslo"

-- The zone table for a name, a zone table, or nil (the default). Misuse raises.
function M.zone(z)
  if z == nil then z = M.default_zone end
  local found = M.zones[z]
  if found then return found end
  if type(z) == "table" and type(z.offset) == "number"
    and (z.dst == nil or M.rules[z.dst] or type(z.dst) == "table") then
    return z
  end
  error("unknown time zone '" .. tostring(z) .. "'", 3)
end

local month_days = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

function M.month_length(y, m)
  if m == 2 and y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) then return 29 end
  return month_days[m]
end

-- Days since 1970-01-01 of a proleptic Gregorian date. Years are counted from March so
-- that the leap day ends the year; 400 years are exactly 146097 days.
function M.days(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400                               -- 0 .. 399
  local doy = floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1 -- 0 .. 365, from 1 March
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468                      -- 719468: 0000-03-01 .. 1970-01-01
end

-- The date of a day number: year, month, day, weekday (1 = Monday .. 7 = Sunday). The
-- inverse of days(), with the same March-based years.
function M.civil(n)
  local z = n + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097                                       -- 0 .. 146096
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))   -- 0 .. 365
  local mp = floor((5 * doy + 2) / 153)                              -- 0 = March
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return yoe + era * 400 + (m <= 2 and 1 or 0), m, d, (n + 3) % 7 + 1
end

-- Day number of the last Sunday of a month (day 0, 1970-01-01, was a Thursday).
local function last_sunday(y, m)
  local last = M.days(y, m, M.month_length(y, m))
  return last - (last + 4) % 7
end

-- Epochs (UTC) where summer time starts and ends in year y. One-entry memo: a meter's
-- frames all fall in the same year.
local memo_y, memo_rule, memo_start, memo_stop
function M.summer_span(y, rule)
  if type(rule) == "string" then rule = M.rules[rule] end
  if y ~= memo_y or rule ~= memo_rule then
    memo_start = last_sunday(y, rule.from) * 86400 + rule.at
    memo_stop = last_sunday(y, rule.to) * 86400 + rule.at
    memo_y, memo_rule = y, rule
  end
  return memo_start, memo_stop
end

-- UTC epoch of a wall-clock time `wall` (seconds as if it were UTC) in year y of a zone.
-- In the repeated hour of October the summer reading is taken unless `dst` is false;
-- a time in the skipped hour of March is read with the offset before the switch.
local function wall_to_utc(wall, y, zone, dst)
  local std = wall - zone.offset * 60
  local rule = M.rules[zone.dst] or zone.dst
  if not rule then return std end
  local start, stop = M.summer_span(y, rule)
  local summer = std - rule.save
  -- a summer time that is also a standard time is read as summer unless dst is false
  if summer >= start and summer < stop and (dst ~= false or std >= start and std < stop) then
    return summer
  end
  return std
end

-- from_local(y, mo, d, h, mi, s [, zone [, dst]]) -> UTC epoch of a local time.
function M.from_local(y, mo, d, h, mi, s, zone, dst)
  return wall_to_utc(M.days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s, y,
    M.zone(zone), dst)
end

-- to_local(epoch [, zone]) -> year, month, day, hour, min, sec, weekday (1 = Monday) of
-- the wall clock in a zone at a UTC epoch.
function M.to_local(epoch, zone)
  zone = M.zone(zone)
  local t = epoch + zone.offset * 60
  local rule = M.rules[zone.dst] or zone.dst
  if rule then
    local start, stop = M.summer_span(M.civil(floor(t / 86400)), rule)
    if epoch >= start and epoch < stop then t = t + rule.save end
  end
  local n = floor(t / 86400)
  local y, m, d, wday = M.civil(n)
  local rest = t - n * 86400
  return y, m, d, floor(rest / 3600), floor(rest % 3600 / 60), rest % 60, wday
end

-- A 12-byte COSEM date-time octet-string as a time table (core's shape), or nil.
local byte = string.byte
function M.fields(s)
  if type(s) ~= "string" or #s ~= 12 then return nil end
  local y1, y2, month, day, wday, hour, min, sec, hs, d1, d2, status = byte(s, 1, 12)
  local year, dev = y1 * 256 + y2, d1 * 256 + d2
  if dev == 0x8000 then dev = nil elseif dev > 0x8000 then dev = dev - 0x10000 end
  -- sized for the eight fields every meter sends; the two often left out are added
  local t = {
    year = year ~= 0xFFFF and year or nil, month = month ~= 0xFF and month or nil,
    day = day ~= 0xFF and day or nil, wday = wday ~= 0xFF and wday or nil,
    hour = hour ~= 0xFF and hour or nil, min = min ~= 0xFF and min or nil,
    sec = sec ~= 0xFF and sec or nil, status = status ~= 0xFF and status or nil,
  }
  if hs ~= 0xFF then t.hundredths = hs end
  if dev then t.deviation = dev end
  return t
end

-- epoch(t [, zone [, local_time]]) -> UTC epoch (whole seconds) of a meter time table,
-- or nil when the date or the hour and minute are unspecified or out of range (a year
-- outside 1970..2100, hundredths above 99, a deviation beyond the ±720 minutes DLMS
-- allows), or the clock status flags the value invalid (bit 0). A deviation, when sent, gives UTC =
-- local + deviation, unless `local_time` says the meter's deviation field is not to be
-- trusted (Aidon); otherwise the time is local time in `zone` (default Europe/Oslo),
-- the clock-status bit 7 (summer time) choosing in the repeated hour of October (a
-- meter that never sets it is read as standard time there).
-- Memo of the hours met in a zone: hour key -> epoch of the hour's start, or false for
-- an hour with a clock change (its times each go the long way). Bounded: a meter's
-- times fall in few hours.
local hours, hours_n, hours_zone = {}, 0, nil
local default_name = M.default_zone
local default = M.zone(default_name)   -- the zone of no zone, while the default stays
function M.epoch(t, zone, local_time)
  local y, mo, d, h, mi = t.year, t.month, t.day, t.hour, t.min
  if not (y and mo and d and h and mi) or y < 1970 or y > 2100 or mo < 1 or mo > 12
    or d < 1 or h > 23 or mi > 59 or d > month_days[mo] and d > M.month_length(y, mo) then
    return nil
  end
  local s, status, dev, hs = t.sec or 0, t.status, t.deviation, t.hundredths
  if s > 59 or status and status % 2 == 1 or hs and hs > 99
    or dev and (dev < -720 or dev > 720) then
    return nil
  end
  if dev and not local_time then
    return M.days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s + dev * 60
  end
  if zone == nil and M.default_zone == default_name then zone = default
  else zone = M.zone(zone) end
  local dst = status and status >= 0x80
  if zone ~= hours_zone or hours_n >= 64 then hours, hours_n, hours_zone = {}, 0, zone end
  -- status says summer (true), winter (false), or nothing (nil): three hours apart
  local key = (((y * 16 + mo) * 32 + d) * 32 + h) * 3 + (dst == nil and 0 or dst and 1 or 2)
  local base = hours[key]
  if base == nil then
    local wall = M.days(y, mo, d) * 86400 + h * 3600
    base = wall_to_utc(wall, y, zone, dst)
    -- an hour with one UTC offset throughout: its last second is 3599 s on
    if wall_to_utc(wall + 3599, y, zone, dst) ~= base + 3599 then base = false end
    hours[key], hours_n = base, hours_n + 1
  end
  if base then return base + mi * 60 + s end
  return wall_to_utc(M.days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s, y, zone, dst)
end

-- The hour an hourly list closes, the one before its clock's (as an epoch): when the
-- reading r has a meter_time, its time fields tf show minute 0, and r has one of the
-- fields in hourly (the catalogue's registers). Such a list is
-- pushed in the first minute of the hour (Kamstrup at xx:00:05 and later, up to
-- xx:00:55).
function M.hour(r, tf, hourly)
  local t = r.meter_time
  if not t or tf.min ~= 0 or type(hourly) ~= "table" then return nil end
  for i = 1, #hourly do
    if r[hourly[i]] ~= nil then return t - (tf.sec or 0) - 3600 end
  end
end

return M
