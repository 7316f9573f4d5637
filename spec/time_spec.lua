-- Meter time arithmetic: the calendar, EU summer time in both directions, zones, the
-- vendor rules for the deviation field, COSEM date-time octet-strings.
local T = require("han.time")

local function utc(y, m, d, h, mi, s) return T.days(y, m, d) * 86400 + h * 3600 + mi * 60 + s end

-- Known instants, independent of our arithmetic (`date -u -d ... +%s`).
describe("han.time", function()
  it("counts days like the proleptic Gregorian calendar", function()
    assert.are.equal(0, T.days(1970, 1, 1))
    assert.are.equal(-1, T.days(1969, 12, 31))
    assert.are.equal(11016, T.days(2000, 2, 29))
    assert.are.equal(1548752250, utc(2019, 1, 29, 8, 57, 30))
    assert.are.equal(1711846800, utc(2024, 3, 31, 1, 0, 0))
    assert.are.equal(-2208988800, utc(1900, 1, 1, 0, 0, 0))
    assert.are.equal(4107542400, utc(2100, 3, 1, 0, 0, 0))
    -- consecutive dates are consecutive days across month and (leap) year ends
    local prev = T.days(1999, 12, 31)
    for y = 2000, 2030 do
      for m = 1, 12 do
        for d = 1, T.month_length(y, m) do
          local n = T.days(y, m, d)
          assert(n == prev + 1, ("%d-%d-%d"):format(y, m, d))
          prev = n
        end
      end
    end
    for n = -800, 80000, 97 do
      local y, m, d = T.civil(n)
      assert.are.equal(n, T.days(y, m, d))
    end
    assert.are.equal(4, select(4, T.civil(0)))                   -- a Thursday
    assert.are.equal(7, select(4, T.civil(T.days(2024, 3, 31)))) -- a Sunday
    assert.are.equal(29, T.month_length(2024, 2))
    assert.are.equal(28, T.month_length(1900, 2))
    assert.are.equal(29, T.month_length(2000, 2))
  end)

  it("puts EU summer time between the last Sundays of March and October, 01:00 UTC",
    function()
      assert.are.same({ utc(2024, 3, 31, 1, 0, 0), utc(2024, 10, 27, 1, 0, 0) },
        { T.summer_span(2024, "eu") })
      assert.are.same({ utc(2023, 3, 26, 1, 0, 0), utc(2023, 10, 29, 1, 0, 0) },
        { T.summer_span(2023, "eu") })
      -- a year whose 31 March is itself a Sunday
      assert.are.same({ utc(2019, 3, 31, 1, 0, 0), utc(2019, 10, 27, 1, 0, 0) },
        { T.summer_span(2019, T.rules.eu) })
    end)

  it("springs forward: 02:00 CET becomes 03:00 CEST", function()
    assert.are.equal(utc(2024, 3, 31, 0, 59, 59), T.from_local(2024, 3, 31, 1, 59, 59))
    assert.are.equal(utc(2024, 3, 31, 1, 0, 0), T.from_local(2024, 3, 31, 3, 0, 0))
    -- 02:30 does not exist that night: read with the offset before the switch
    assert.are.equal(utc(2024, 3, 31, 1, 30, 0), T.from_local(2024, 3, 31, 2, 30, 0))
    assert.are.equal(utc(2024, 3, 30, 23, 0, 0), T.from_local(2024, 3, 31, 0, 0, 0))
    assert.are.equal(utc(2024, 4, 1, 10, 0, 0), T.from_local(2024, 4, 1, 12, 0, 0))
  end)

  it("falls back: the hour 02:00-03:00 comes twice, the DST flag chooses", function()
    assert.are.equal(utc(2023, 10, 29, 0, 59, 59), T.from_local(2023, 10, 29, 2, 59, 59,
      nil, true))
    -- no flag: the first (summer) reading; flag false: the second (standard) one
    assert.are.equal(utc(2023, 10, 29, 0, 30, 0), T.from_local(2023, 10, 29, 2, 30, 0))
    assert.are.equal(utc(2023, 10, 29, 1, 30, 0),
      T.from_local(2023, 10, 29, 2, 30, 0, nil, false))
    -- outside the repeated hour the flag does not matter
    assert.are.equal(utc(2023, 10, 29, 2, 0, 0), T.from_local(2023, 10, 29, 3, 0, 0, nil, true))
    assert.are.equal(utc(2023, 10, 28, 22, 0, 0),
      T.from_local(2023, 10, 29, 0, 0, 0, nil, false))
  end)

  it("gives the wall clock of an epoch, across both switches", function()
    assert.are.same({ 2024, 3, 31, 1, 59, 59, 7 }, { T.to_local(utc(2024, 3, 31, 0, 59, 59)) })
    assert.are.same({ 2024, 3, 31, 3, 0, 0, 7 }, { T.to_local(utc(2024, 3, 31, 1, 0, 0)) })
    assert.are.same({ 2023, 10, 29, 2, 30, 0, 7 }, { T.to_local(utc(2023, 10, 29, 0, 30, 0)) })
    assert.are.same({ 2023, 10, 29, 2, 30, 0, 7 }, { T.to_local(utc(2023, 10, 29, 1, 30, 0)) })
    assert.are.same({ 2024, 1, 1, 1, 0, 0, 1 }, { T.to_local(utc(2023, 12, 31, 23, 0, 0),
      "Europe/Helsinki") })
    for _, e in ipairs({ utc(2024, 7, 1, 12, 0, 0), utc(2024, 12, 24, 18, 0, 0) }) do
      local y, m, d, h, mi, s = T.to_local(e, "Europe/Stockholm")
      assert.are.equal(e, T.from_local(y, m, d, h, mi, s, "Europe/Stockholm"))
    end
  end)

  it("knows other zones and takes zone tables", function()
    assert.are.equal(utc(2024, 7, 1, 9, 0, 0), T.from_local(2024, 7, 1, 12, 0, 0,
      "Europe/Helsinki"))
    assert.are.equal(utc(2024, 1, 1, 10, 0, 0), T.from_local(2024, 1, 1, 12, 0, 0,
      "Europe/Helsinki"))
    assert.are.equal(utc(2024, 7, 1, 10, 0, 0), T.from_local(2024, 7, 1, 12, 0, 0,
      "Europe/Stockholm"))
    assert.are.equal(utc(2024, 7, 1, 12, 0, 0), T.from_local(2024, 7, 1, 12, 0, 0, "UTC"))
    assert.are.equal(utc(2024, 7, 1, 11, 0, 0), T.from_local(2024, 7, 1, 12, 0, 0,
      "Europe/London"))
    -- a zone table: India, no summer time, half-hour offset
    assert.are.equal(utc(2024, 7, 1, 6, 30, 0), T.from_local(2024, 7, 1, 12, 0, 0,
      { offset = 330 }))
    assert.are.equal(utc(2024, 7, 1, 9, 0, 0), T.from_local(2024, 7, 1, 12, 0, 0,
      { offset = 120, dst = "eu" }))
    assert.has_error(function() T.zone("Mars/Olympus") end)
    assert.has_error(function() T.zone({ offset = 60, dst = "martian" }) end)
  end)

  it("turns meter time tables into epochs by the deviation or the zone", function()
    local t = { year = 2024, month = 7, day = 1, hour = 12, min = 0, sec = 7 }
    assert.are.equal(utc(2024, 7, 1, 10, 0, 7), T.epoch(t))          -- Oslo, summer
    assert.are.equal(utc(2024, 7, 1, 9, 0, 7), T.epoch(t, "Europe/Helsinki"))
    t.deviation = -120                                               -- UTC = local + dev
    assert.are.equal(utc(2024, 7, 1, 10, 0, 7), T.epoch(t, "UTC"))
    t.deviation = -60                                                -- CET all year
    assert.are.equal(utc(2024, 7, 1, 11, 0, 7), T.epoch(t))
    -- Aidon sends 0000 (and 003C) with local time: `local_time` ignores the field
    t.deviation = 0
    assert.are.equal(utc(2024, 7, 1, 12, 0, 7), T.epoch(t))
    assert.are.equal(utc(2024, 7, 1, 10, 0, 7), T.epoch(t, nil, true))
    t.deviation = 60
    assert.are.equal(utc(2024, 7, 1, 10, 0, 7), T.epoch(t, nil, true))
  end)

  it("reads the repeated October hour by the clock-status DST bit", function()
    local t = { year = 2023, month = 10, day = 29, hour = 2, min = 30, sec = 0 }
    assert.are.equal(utc(2023, 10, 29, 0, 30, 0), T.epoch(t))        -- no status
    t.status = 0x80
    assert.are.equal(utc(2023, 10, 29, 0, 30, 0), T.epoch(t))        -- DST active
    t.status = 0x00                                                  -- standard time
    assert.are.equal(utc(2023, 10, 29, 1, 30, 0), T.epoch(t))
    t.status = 0x08
    assert.are.equal(utc(2023, 10, 29, 1, 30, 0), T.epoch(t))
    t.hour = 3                                                       -- after the hour
    assert.are.equal(utc(2023, 10, 29, 2, 30, 0), T.epoch(t))
    t.status = 0x80                      -- (a wrong flag outside it changes nothing)
    assert.are.equal(utc(2023, 10, 29, 2, 30, 0), T.epoch(t))
  end)

  it("has no epoch for unspecified, impossible or invalid times", function()
    local base = { year = 2024, month = 2, day = 29, hour = 1, min = 2, sec = 3 }
    assert.is_number(T.epoch(base))
    local function with(k, v)
      local t = {}
      for key, val in pairs(base) do t[key] = val end
      t[k] = v
      return t
    end
    assert.is_nil(T.epoch(with("year", nil)))
    assert.is_nil(T.epoch(with("hour", nil)))
    assert.is_nil(T.epoch(with("month", 0xFD)))     -- "DST begins" month of the COSEM spec
    assert.is_nil(T.epoch(with("month", 0)))
    assert.is_nil(T.epoch(with("day", 30)))
    assert.is_nil(T.epoch({ year = 2023, month = 2, day = 29, hour = 0, min = 0 }))
    assert.is_nil(T.epoch(with("hour", 24)))
    assert.is_nil(T.epoch(with("min", 60)))
    assert.is_nil(T.epoch(with("sec", 60)))
    assert.is_nil(T.epoch(with("status", 0x01)))    -- the meter says: invalid clock
    assert.is_number(T.epoch(with("status", 0x02))) -- doubtful is still a time
    assert.are.equal(utc(2024, 2, 29, 0, 2, 0), T.epoch(with("sec", nil)))
  end)

  it("reads a 12-byte date-time octet-string", function()
    assert.are.same({ year = 2019, month = 1, day = 29, wday = 2, hour = 11, min = 0,
      sec = 5, status = 0 }, T.fields("\7\227\1\29\2\11\0\5\255\128\0\0"))
    assert.are.same({ year = 2019, month = 6, day = 12, wday = 3, hour = 18, min = 0,
      sec = 0, deviation = 60, status = 0 }, T.fields("\7\227\6\12\3\18\0\0\255\0\60\0"))
    assert.are.equal(-60, T.fields("\7\227\1\29\2\11\0\5\255\255\196\128").deviation)
    assert.are.same({}, T.fields(("\255"):rep(9) .. "\128\0\255"))
    assert.is_nil(T.fields("short"))
    assert.is_nil(T.fields(nil))
  end)
end)
