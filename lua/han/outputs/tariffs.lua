-- han.outputs.tariffs: what each grid operator bills as its capacity charge, as data
-- (han.capacity reads it), and the Swedish public holidays and eves those rules leave out.
local time = require("han.time")

local floor = math.floor

local M = {}

-- Swedish public holidays and the eves operators exclude, computed per year.

-- Easter Sunday of year y (Gregorian, the anonymous algorithm): month, day.
local function easter(y)
  local a, b, c = y % 19, floor(y / 100), y % 100
  local d, e = floor(b / 4), b % 4
  local g = floor((b - floor((b + 8) / 25) + 1) / 3)
  local h = (19 * a + b - d - g + 15) % 30
  local l = (32 + 2 * e + 2 * floor(c / 4) - h - c % 4) % 7
  local m = floor((a + 11 * h + 22 * l) / 451)
  local n = h + l - 7 * m + 114
  return floor(n / 31), n % 31 + 1
end

-- What a day is: fixed dates, days after Easter, and a weekday within a span of dates.
local SWEDISH = {
  fixed = { { 1, 1, "holiday" }, { 1, 6, "holiday" }, { 5, 1, "holiday" },
    { 6, 6, "holiday" }, { 12, 24, "eve" }, { 12, 25, "holiday" }, { 12, 26, "holiday" },
    { 12, 31, "eve" } },
  easter = { { -2, "holiday" }, { 0, "holiday" }, { 1, "holiday" }, { 39, "holiday" },
    { 49, "holiday" } },   -- Good Friday, Easter, Easter Monday, Ascension, Pentecost
  -- {month, first day, weekday (1 = Monday)}: the one such day among seven
  floating = { { 6, 19, 5, "eve" }, { 6, 20, 6, "holiday" },     -- midsummer eve and day
    { 10, 31, 6, "holiday" } },                                  -- All Saints' Day
}

local days_memo = {}
-- Day number (days since 1970-01-01) -> "holiday" | "eve" of year y.
local function swedish_days(y)
  local t = days_memo[y]
  if t then return t end
  t = {}
  for _, f in ipairs(SWEDISH.fixed) do t[time.days(y, f[1], f[2])] = f[3] end
  local em, ed = easter(y)
  local sunday = time.days(y, em, ed)
  for _, f in ipairs(SWEDISH.easter) do t[sunday + f[1]] = f[2] end
  for _, f in ipairs(SWEDISH.floating) do
    local first = time.days(y, f[1], f[2])
    local _, _, _, wday = time.civil(first)
    t[first + (f[3] - wday) % 7] = f[4]
  end
  days_memo[y] = t
  return t
end

-- holiday(y, m, d) -> "holiday", "eve" or nil: Sweden's public holidays and the eves
-- (midsummer, Christmas and New Year's eve) some operators leave out.
function M.holiday(y, m, d)
  return swedish_days(y)[time.days(y, m, d)]
end

-- The rules, as data. A rule: period (seconds), zone, charges (each its own peaks),
-- floor (kW each month's figure counts at least, Flanders), months (how many monthly
-- figures make the billing basis, Flanders). A charge: count (how many periods make the
-- mean), distinct_days (one period per local day), hours = {from, to} (local hours that
-- count: from <= hour < to), skip = {weekend =, holiday =, eve =} (days that do not
-- count), season = {months that count}, night = {from, to, weight} (hours counted at a
-- weight, wrapping midnight), name (a second charge's report prefix).
local WINTER = { 11, 12, 1, 2, 3 }
local WEEKEND = { weekend = true }
local HOLIDAYS = { weekend = true, holiday = true }
local WORKDAYS = { weekend = true, holiday = true, eve = true }
local NORWAY = { period = 3600, zone = "Europe/Oslo" }
local SWEDEN = { period = 3600, zone = "Europe/Stockholm" }

local function preset(base, charges, extra)
  local rule = { period = base.period, zone = base.zone, charges = charges }
  for k, v in pairs(extra or {}) do rule[k] = v end
  return rule
end

M.rules = {
  norway = preset(NORWAY, { { count = 3, distinct_days = true } }),
  sweden = preset(SWEDEN, { { count = 1 } }),
  goteborg = preset(SWEDEN, { { count = 3, distinct_days = true } }),
  ellevio = preset(SWEDEN, { { count = 3, distinct_days = true,
    night = { 22, 6, 0.5 } } }),
  sollentuna = preset(SWEDEN, { { count = 3, hours = { 7, 19 }, skip = WORKDAYS } }),
  malarenergi = preset(SWEDEN, { { count = 1, hours = { 7, 19 }, skip = HOLIDAYS } }),
  telge = preset(SWEDEN, { { count = 1, hours = { 7, 20 }, skip = HOLIDAYS,
    season = WINTER } }),
  partille = preset(SWEDEN, { { count = 1 } }),
  linde = preset(SWEDEN, { { count = 1 }, { name = "high", count = 1, hours = { 7, 19 },
    skip = WEEKEND, season = WINTER } }),
  karlskoga = preset(SWEDEN, { { count = 1 }, { name = "high", count = 1,
    hours = { 6, 20 }, skip = WEEKEND, season = WINTER } }),
  veab = preset(SWEDEN, { { count = 3, hours = { 7, 20 }, skip = WEEKEND } }),
  falu = preset(SWEDEN, { { count = 1, hours = { 7, 19 }, skip = HOLIDAYS,
    season = WINTER } }),
  skovde = preset(SWEDEN, { { count = 1, hours = { 6, 22 }, skip = WEEKEND,
    season = WINTER } }),
  malung = preset(SWEDEN, { { count = 5, distinct_days = true } }),
  belgium = preset({ period = 900, zone = "Europe/Brussels" }, { { count = 1 } },
    { floor = 2.5, months = 12 }),
}
-- The same published rule under another operator's name.
M.aliases = { falbygden = "partille", karlstad = "partille", jbf = "skovde",
  flanders = "belgium" }
for alias, name in pairs(M.aliases) do M.rules[alias] = M.rules[name] end
-- Days that do not count on a weekday-only rule (han.capacity's `weekdays` option).
M.WEEKEND = WEEKEND

return M
