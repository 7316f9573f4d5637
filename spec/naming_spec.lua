-- The namer (han.naming): what it refuses (numbers outside their kind's range, absurd
-- meter clocks), the error codes han.decode gives, its misuse errors, and what it keeps
-- of the layouts it compiles; for both cores, since the values come from either.
local H = require("helpers")
local han = require("han")

local arc = H.arc

-- A DSMR 5 telegram of these lines, with its CRC.
local function telegram(lines)
  local s = "/ISK5\\2M550T-1012\r\n\r\n" .. table.concat(lines, "\r\n") .. "\r\n!"
  return s .. ("%04X"):format(arc(s)) .. "\r\n"
end

-- A data-notification APDU: header date-time (12 bytes or nil) and a body of A-XDR bytes.
local function apdu(time, body)
  return "\15\0\0\0\1" .. (time and "\12" .. time or "\0") .. body
end
local function code(a, b, c, d, e, f) return "\9\6" .. string.char(a, b, c, d, e, f) end
local POWER = code(1, 0, 1, 7, 0, 255)
local VOLTAGE = code(1, 0, 32, 7, 0, 255)

describe("han.naming (" .. H.backend .. " backend)", function()
  han.use_backend(H.backend)

  it("refuses P1 numbers that overflow or break their kind's range, and reads the rest",
    function()
    local r = assert(han.decode(telegram({ "1-0:1.7.0(" .. ("9"):rep(400) .. "*kW)",
      "1-0:1.8.1(-000001.000*kWh)", "1-0:32.7.0(230.1*V)", "1-0:31.7.0(99999*A)" })))
    assert.is_nil(r.power_import)
    assert.is_nil(r.energy_import_t1)
    assert.is_nil(r.current_l1)
    assert.are.equal(230.1, r.voltage_l1)
    assert.is_string(r.errors.power_import)
    assert.is_string(r.errors.energy_import_t1)
    assert.is_string(r.errors.current_l1)
    assert.is_nil(r.errors.voltage_l1)
    assert.is_nil(r.energy_import)              -- no total from a refused register
  end)

  it("refuses A-XDR floats that are not finite, and readings without errors have none",
    function()
    local inf = "\24\127\240\0\0\0\0\0\0"          -- float64 +inf
    local nan = "\23\127\192\0\0"                 -- float32 NaN
    local r = assert(han.decode(apdu(nil, "\2\4" .. POWER .. inf .. VOLTAGE .. nan)))
    assert.is_nil(r.power_import)
    assert.is_nil(r.voltage_l1)
    assert.is_string(r.errors.power_import)
    assert.is_string(r.errors.voltage_l1)
    local ok = assert(han.decode(apdu(nil, "\2\4" .. POWER .. "\6\0\0\1\0" .. VOLTAGE
      .. "\18\0\230")))
    assert.are.equal(256, ok.power_import)
    assert.are.equal(230, ok.voltage_l1)
    assert.is_nil(ok.errors)
  end)

  it("gives no meter time for an absurd clock, keeping its raw fields", function()
    local function clock(year, dev, hundredths)
      return string.char(math.floor(year / 256), year % 256, 3, 15, 5, 12, 30, 0,
        hundredths, math.floor(dev / 256) % 256, dev % 256, 0)
    end
    local body = "\2\2" .. POWER .. "\6\0\0\1\0"
    local good = assert(han.decode(apdu(clock(2024, 0xFFC4, 0), body)))   -- deviation -60
    -- 12:30 local, UTC = local + deviation: 11:30 UTC
    assert.are.equal(require("han.time").days(2024, 3, 15) * 86400 + 11 * 3600 + 1800,
      good.meter_time)
    for _, c in ipairs({ clock(0, 0x8000, 0), clock(9999, 0x8000, 0),
        clock(65534, 0x8000, 0), clock(2024, 0x7FFF, 0), clock(2024, 0x8001, 0),
        clock(2024, 0x8000, 200) }) do
      local r = assert(han.decode(apdu(c, body)))
      assert.is_nil(r.meter_time, H.hex(c))
      assert.is_table(r.time_fields, H.hex(c))
      assert.are.equal(256, r.power_import)
    end
  end)

  it("gives error codes with its messages", function()
    local function code_of(data)
      local r, message, c = han.decode(data)
      assert.is_nil(r)
      assert.is_string(message)
      return c
    end
    assert.are.equal("no_values", code_of(apdu(nil, "\2\0")))
    assert.are.equal("unknown_layout", code_of(apdu(nil, "\2\3\6\0\0\0\1\6\0\0\0\2\6\0\0\0\3")))
    assert.are.equal("bad_fcs", code_of(H.frames()[1].raw:sub(1, -4) .. "\0\0\126"))
    assert.are.equal("bad_crc", code_of(telegram({ "1-0:1.7.0(1.0*kW)" }):gsub("!....", "!0000")))
  end)

  it("raises for misuse with the argument named, before reading the data", function()
    local frame = H.frames()[1].raw
    for _, bad in ipairs({ { frame, "Europe/Oslo" }, { frame, { scale = 40 } },
        { frame, { scale = { power = "x" } } }, { frame, { scale = { speed = 2 } } },
        { frame, { zone = "Europe/Osl" } }, { "\126", { zone = "Mars" } }, { 42 } }) do
      local ok, err = pcall(han.decode, bad[1], bad[2])
      assert.is_false(ok)
      assert.truthy(tostring(err):find("bad argument #%d to 'decode'"), tostring(err))
    end
  end)

  it("keeps a bounded number of layouts, however many a line brings", function()
    -- a new layout per frame: a code that changes every time
    local function churn(from, n)
      for i = from, from + n - 1 do
        han.decode(apdu(nil, "\2\4" .. code(1, 0, 1, 7, i % 256, math.floor(i / 256) % 256)
          .. "\6\0\0\0\1" .. POWER .. "\6\0\0\0\2"))
      end
    end
    churn(0, 300)
    local base = H.heap()
    churn(300, 3000)
    local grown = H.heap() - base
    assert.is_true(grown < 200, ("heap grew by %.1f KiB"):format(grown))
  end)

  it("names a layout once and keeps reading later frames of it the same", function()
    local frames = H.frames()
    local first = {}
    for i, rec in ipairs(frames) do first[i] = H.canon({ han.decode(rec.raw) }, han.core.null) end
    -- many layouts in between: the kept ones are dropped and made again
    for i = 1, 200 do
      han.decode(apdu(nil, "\2" .. string.char(2 * (i % 60 + 1))
        .. (POWER .. "\6\0\0\0\1"):rep(i % 60 + 1)))
    end
    for i, rec in ipairs(frames) do
      assert.are.same(first[i], H.canon({ han.decode(rec.raw) }, han.core.null), "frame " .. i)
    end
  end)

  it("lets the layout compiler go once the collector has run, and loads it again for a new layout",
    function()
    local function body(n)
      return apdu(nil, "\2\4" .. POWER .. "\6\0\0\0" .. string.char(n) .. VOLTAGE
        .. "\18\0" .. string.char(200 + n))
    end
    assert.are.equal(7, assert(han.decode(body(7))).power_import)
    -- what compiled it, as the namer had it: nothing else holds it, so it goes
    local naming = require("han.naming")
    local held = setmetatable({ naming.compiler("han.naming.dlms_layout"),
      naming.compiler("han.naming.chunk") }, { __mode = "v" })
    collectgarbage("collect")
    collectgarbage("collect")
    assert.is_nil(held[1])
    assert.is_nil(held[2])
    -- another layout (a u8 voltage) is compiled by a fresh copy; the first still reads
    local r = assert(han.decode(apdu(nil, "\2\4" .. POWER .. "\6\0\0\0\9" .. VOLTAGE
      .. "\17\231")))
    assert.are.same({ 9, 231 }, { r.power_import, r.voltage_l1 })
    assert.are.equal(208, assert(han.decode(body(8))).voltage_l1)
  end)
end)
