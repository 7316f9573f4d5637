-- Meter time to Unix epoch, by arithmetic only: the host's time zone never matters.
-- Zones are data: a standard offset from UTC in minutes and whether the EU summer-time
-- rule applies (last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC).
local floor = math.floor

local M = {}

local CET = { offset = 60, eu = true }
local EET = { offset = 120, eu = true }
local WET = { offset = 0, eu = true }

M.zones = {
  UTC = { offset = 0, eu = false },
  ["Europe/Oslo"] = CET, ["Europe/Stockholm"] = CET, ["Europe/Copenhagen"] = CET,
  ["Europe/Berlin"] = CET, ["Europe/Amsterdam"] = CET, ["Europe/Brussels"] = CET,
  ["Europe/Luxembourg"] = CET, ["Europe/Vienna"] = CET, ["Europe/Zurich"] = CET,
  ["Europe/Budapest"] = CET, ["Europe/Paris"] = CET,
  ["Europe/Helsinki"] = EET, ["Europe/Vilnius"] = EET, ["Europe/Riga"] = EET,
  ["Europe/Tallinn"] = EET,
  ["Europe/London"] = WET, ["Europe/Dublin"] = WET, ["Europe/Lisbon"] = WET,
}
M.default_zone = "Europe/Oslo"

-- A zone name or a table {offset = minutes, eu = boolean}; misuse raises.
function M.zone(z)
  if z == nil then return M.zones[M.default_zone] end
  if type(z) == "table" and type(z.offset) == "number" then return z end
  local rules = M.zones[z]
  if not rules then error("unknown time zone '" .. tostring(z) .. "'", 3) end
  return rules
end

-- Days since 1970-01-01 of a proleptic Gregorian date.
function M.days(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- The date of a day number: year, month, day, and weekday (1 = Monday .. 7 = Sunday).
function M.civil(days)
  local z = days + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return y, m, d, (days + 3) % 7 + 1
end

-- Epoch of the last Sunday of a month at 01:00 UTC (EU summer-time switches).
local function last_sunday(y, m)
  local last = M.days(y, m + 1, 1) - 1
  local _, _, _, wday = M.civil(last)
  return (last - wday % 7) * 86400 + 3600
end

local dst_cache = {}

-- Is summer time in force at this UTC instant in a zone with the EU rule?
function M.summer(epoch, rules)
  if not rules.eu then return false end
  local y = M.civil(floor(epoch / 86400))
  local span = dst_cache[y]
  if not span then
    span = { last_sunday(y, 3), last_sunday(y, 10) }
    dst_cache[y] = span
  end
  return epoch >= span[1] and epoch < span[2]
end

-- UTC epoch of a local wall-clock time. In the repeated hour of October the summer
-- reading is taken unless `dst` (the meter's clock-status bit) is false; a time in the
-- skipped hour of March is read as standard time.
function M.from_local(y, mo, d, h, mi, s, rules, dst)
  local wall = M.days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
  local std = wall - rules.offset * 60
  if not rules.eu then return std end
  local summer = std - 3600
  local summer_ok, std_ok = M.summer(summer, rules), not M.summer(std, rules)
  if summer_ok and std_ok then return dst == false and std or summer end
  if summer_ok then return summer end
  return std
end

-- Local wall-clock fields of an epoch: year, month, day, hour, min, sec, weekday.
function M.to_local(epoch, zone)
  local rules = M.zone(zone)
  local t = epoch + rules.offset * 60 + (M.summer(epoch, rules) and 3600 or 0)
  local days = floor(t / 86400)
  local y, m, d, wday = M.civil(days)
  local rest = t - days * 86400
  return y, m, d, floor(rest / 3600), floor(rest % 3600 / 60), rest % 60, wday
end

-- A 12-byte COSEM date-time octet-string as a time table (core's shape), or nil.
function M.fields(s)
  if type(s) ~= "string" or #s ~= 12 then return nil end
  local y1, y2, month, day, wday, hour, min, sec, hs, d1, d2, status = s:byte(1, 12)
  local function f(b) if b ~= 0xFF then return b end end
  local year, dev = y1 * 256 + y2, d1 * 256 + d2
  return {
    year = year ~= 0xFFFF and year or nil, month = f(month), day = f(day), wday = f(wday),
    hour = f(hour), min = f(min), sec = f(sec), hundredths = f(hs),
    deviation = dev ~= 0x8000 and (dev >= 0x8000 and dev - 0x10000 or dev) or nil,
    status = f(status),
  }
end

-- Epoch of a meter's time table. `local_time` says the meter's deviation field is not
-- to be trusted (Aidon sends 0 with local time). Returns nil when a date part is missing.
function M.epoch(t, zone, local_time)
  if not (t.year and t.month and t.day) then return nil end
  local h, mi, s = t.hour or 0, t.min or 0, t.sec or 0
  if t.deviation and not local_time then
    return M.days(t.year, t.month, t.day) * 86400 + h * 3600 + mi * 60 + s
      + t.deviation * 60
  end
  local dst
  if t.status and t.status ~= 0 then dst = t.status >= 0x80 end
  return M.from_local(t.year, t.month, t.day, h, mi, s, M.zone(zone), dst)
end

return M
