-- Meter time arithmetic: EU summer time in both directions, zones, COSEM fields.
local T = require("han.time")

local function utc(y, m, d, h, mi, s) return T.days(y, m, d) * 86400 + h * 3600 + mi * 60 + s end

describe("han.time", function()
  it("counts days like the proleptic Gregorian calendar", function()
    assert.are.equal(0, T.days(1970, 1, 1))
    assert.are.equal(11016, T.days(2000, 2, 29))
    assert.are.equal(-1, T.days(1969, 12, 31))
    for days = -800, 80000, 97 do
      local y, m, d = T.civil(days)
      assert.are.equal(days, T.days(y, m, d))
    end
    assert.are.equal(4, select(4, T.civil(0)))           -- 1970-01-01 was a Thursday
    assert.are.equal(7, select(4, T.civil(T.days(2024, 3, 31))))
  end)

  it("switches to summer time on the last Sunday of March at 01:00 UTC", function()
    local oslo = T.zone("Europe/Oslo")
    assert.is_false(T.summer(utc(2024, 3, 31, 0, 59, 59), oslo))
    assert.is_true(T.summer(utc(2024, 3, 31, 1, 0, 0), oslo))
    assert.are.equal(utc(2024, 3, 31, 0, 59, 59), T.from_local(2024, 3, 31, 1, 59, 59, oslo))
    assert.are.equal(utc(2024, 3, 31, 1, 0, 0), T.from_local(2024, 3, 31, 3, 0, 0, oslo))
    -- 02:30 does not exist that night: read as standard time
    assert.are.equal(utc(2024, 3, 31, 1, 30, 0), T.from_local(2024, 3, 31, 2, 30, 0, oslo))
  end)

  it("switches back on the last Sunday of October, the repeated hour by the DST bit", function()
    local oslo = T.zone()
    assert.is_true(T.summer(utc(2023, 10, 29, 0, 59, 59), oslo))
    assert.is_false(T.summer(utc(2023, 10, 29, 1, 0, 0), oslo))
    assert.are.equal(utc(2023, 10, 29, 0, 30, 0), T.from_local(2023, 10, 29, 2, 30, 0, oslo))
    assert.are.equal(utc(2023, 10, 29, 1, 30, 0),
      T.from_local(2023, 10, 29, 2, 30, 0, oslo, false))
    assert.are.equal(utc(2023, 10, 29, 2, 0, 0), T.from_local(2023, 10, 29, 3, 0, 0, oslo))
    local y, m, d, h = T.to_local(utc(2023, 10, 29, 1, 30, 0))
    assert.are.same({ 2023, 10, 29, 2 }, { y, m, d, h })
  end)

  it("turns meter time tables into epochs by the deviation or the zone", function()
    local t = { year = 2024, month = 7, day = 1, hour = 12, min = 0, sec = 0 }
    assert.are.equal(utc(2024, 7, 1, 10, 0, 0), T.epoch(t))
    assert.are.equal(utc(2024, 7, 1, 9, 0, 0), T.epoch(t, "Europe/Helsinki"))
    assert.are.equal(utc(2024, 7, 1, 12, 0, 0), T.epoch(t, "UTC"))
    t.deviation = -120
    assert.are.equal(utc(2024, 7, 1, 10, 0, 0), T.epoch(t, "UTC"))
    t.deviation = 0
    assert.are.equal(utc(2024, 7, 1, 12, 0, 0), T.epoch(t))
    assert.are.equal(utc(2024, 7, 1, 10, 0, 0), T.epoch(t, nil, true))  -- Aidon's 0000
    assert.are.equal(utc(2024, 7, 1, 12, 0, 0), T.epoch(t, { offset = 0, eu = false }, true))
    assert.is_nil(T.epoch({ month = 1, day = 1 }))
    assert.has_error(function() T.epoch(t, "Mars/Olympus", true) end)
  end)

  it("reads a 12-byte date-time octet-string", function()
    local f = T.fields("\7\227\1\29\2\11\0\5\255\128\0\0")
    assert.are.same({ year = 2019, month = 1, day = 29, wday = 2, hour = 11, min = 0,
      sec = 5, status = 0 }, f)
    assert.are.equal(-60, T.fields("\7\227\1\29\2\11\0\5\255\255\196\128").deviation)
    assert.is_nil(T.fields("short"))
  end)
end)
