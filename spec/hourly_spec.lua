-- han.hourly: each hourly register set once, booked to its meter hour; repeats flagged.
local H = require("helpers")
local han = require("han")
local T = require("han.time")

local function utc(y, m, d, h, mi, s) return T.days(y, m, d) * 86400 + h * 3600 + mi * 60 + s end

local function vector(bytes, pattern)
  for _, rec in ipairs(H.frames()) do
    if rec.bytes == bytes and rec.hex:find(pattern) then
      return assert(han.decode(rec.raw))
    end
  end
  error("no vector of " .. bytes .. " bytes")
end

-- Every reading of a capture file, in order.
local function readings(name)
  local framer = han.core.framer()
  local out = {}
  for frame in framer:frames(H.read_file(H.vectors_dir .. "/streams/" .. name)) do
    out[#out + 1] = assert(han.decode(frame))
  end
  return out
end

local function copy(t, changes)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  for k, v in pairs(changes) do c[k] = v end
  return c
end

describe("han.hourly (" .. H.backend .. " backend)", function()
  setup(function() han.use_backend(H.backend) end)

  it("reports the hourly lists of a real capture once each, booked to their hour", function()
    local h = han.hourly()
    local sets = {}
    local all = readings("Kamstrup_V0001-6841121BN243101040-1-ok-not-norwegian.bin")
    assert.are.equal(689, #all)
    for _, r in ipairs(all) do
      local set, why = h:push(r)
      assert.is_nil(why)
      if set then sets[#sets + 1] = set end
    end
    assert.are.equal(2, #sets)
    -- pushed 04:00:05 and 05:00:05 local (CEST): the hours 03-04 and 04-05 local
    assert.are.equal(utc(2017, 10, 20, 1, 0, 0), sets[1].hour)
    assert.are.equal(utc(2017, 10, 20, 2, 0, 0), sets[2].hour)
    assert.are.equal("5706567274389702", sets[1].meter_id)
    assert.are.equal(4272.44, sets[1].energy_import)
    assert.are.equal(618.13, sets[1].reactive_energy_export)
    assert(sets[2].energy_import > sets[1].energy_import)
    assert.are.equal(utc(2017, 10, 20, 2, 0, 5), sets[1].meter_time)
  end)

  it("books Aidon's list 3 (clock at xx:00:00) to the hour before", function()
    local h = han.hourly()
    local sets = {}
    for _, r in ipairs(readings("AIDON_V0001-6525-3-FC722-ok.bin")) do
      local set = h:push(r)
      if set then sets[#sets + 1] = set end
    end
    assert.are.equal(2, #sets)
    assert.are.equal(utc(2019, 6, 12, 15, 0, 0), sets[1].hour)   -- 17:00-18:00 CEST
    assert.are.equal(utc(2019, 6, 12, 16, 0, 0), sets[2].hour)
    assert.are.equal(21882.34, sets[1].energy_import)
  end)

  it("flags a repeated hourly list and ignores other lists", function()
    local h = han.hourly()
    local list3 = vector(396, "")
    assert.is_nil(h:push(vector(288, "")))
    assert.is_nil(select(2, h:push(vector(288, ""))))
    local set = assert(h:push(list3))
    assert.are.same({ hour = list3.hour, meter_id = "7359992895913195",
      meter_time = list3.meter_time, energy_import = 94064.59, energy_export = 0,
      reactive_energy_import = 7.51, reactive_energy_export = 9770.64 }, set)
    assert.are.same({ nil, "repeat" }, { h:push(list3) })
    assert.are.same({ nil, "repeat" }, { h:push(copy(list3, { hour = list3.hour - 3600 })) })
    assert.are.equal(2, h.repeats)
    assert.are.equal(list3.hour + 3600, h:push(copy(list3, { hour = list3.hour + 3600 })).hour)
  end)

  it("keeps meters apart and its memory bounded", function()
    local h = han.hourly({ meters = 2 })
    local base = vector(396, "")
    for i = 1, 5 do
      assert(h:push(copy(base, { meter_id = "meter " .. i })))
      assert(h.count <= 2)
    end
    assert(h:push(copy(base, { meter_id = "other" })))
    assert.are.same({ nil, "repeat" }, { h:push(copy(base, { meter_id = "other" })) })
    assert.has_error(function() han.hourly({ meters = 0 }) end)
    assert.has_error(function() h:push(nil) end)
  end)

  it("gives the hours around both summer-time switches in order", function()
    -- hourly readings as decode makes them at the switches, Kamstrup-style xx:00:05
    local h = han.hourly()
    local function at(y, mo, d, hh, status)
      local tf = { year = y, month = mo, day = d, hour = hh, min = 0, sec = 5, status = status }
      local t = T.epoch(tf)
      return { meter_id = "m", meter_time = t, hour = t - 5 - 3600, energy_import = hh }
    end
    local hours = {}
    for _, r in ipairs({ at(2024, 3, 31, 1, 0), at(2024, 3, 31, 3, 0x80),
      at(2024, 10, 27, 2, 0x80), at(2024, 10, 27, 2, 0), at(2024, 10, 27, 3, 0) }) do
      hours[#hours + 1] = assert(h:push(r)).hour
    end
    assert.are.same({ utc(2024, 3, 30, 23, 0, 0), utc(2024, 3, 31, 0, 0, 0),
      utc(2024, 10, 26, 23, 0, 0), utc(2024, 10, 27, 0, 0, 0), utc(2024, 10, 27, 1, 0, 0) },
      hours)
  end)
end)
