-- core.p1 (docs/core-api.md) and han.p1's readings on the P1 vectors: the CRCs, the
-- values and layout keys, truncations and limits, and the readings the sources assert.
-- spec/differential_spec.lua compares the C and Lua cores' core.p1.
local H = require("helpers")
local core = H.core()
local p1 = require("han.naming.p1")
local NULL = H.json_null

local vectors = H.jsonl("p1.jsonl")
local by_id = {}
for _, r in ipairs(vectors) do by_id[r.id] = r end

-- CRC-16/ARC bit by bit, with arithmetic: the check against the vectors' crc_computed.
local function arc(s)
  local crc = 0
  for i = 1, #s do
    crc = H.xor(crc, s:byte(i))
    for _ = 1, 8 do
      local low = crc % 2
      crc = math.floor(crc / 2)
      if low == 1 then crc = H.xor(crc, 0xA001) end
    end
  end
  return crc
end

-- The telegram with its CRC digits replaced (nil: none, as DSMR 2.2).
local function with_crc(text, digits)
  return (text:gsub("\n!%x*\r\n$", "\n!" .. (digits or "") .. "\r\n"))
end

-- The objects of core.p1's v and key as a namer reads them, by code: the value of an
-- object of one group, else the sequence of its groups' values; the unit of its last
-- group that has one; of a code sent twice, the later object. And the number of objects.
local function objects(v, key)
  local obis, units, i, count = {}, {}, 0, 0
  for line in key:gmatch("\n([^\n]+)") do
    local code, unit, values = line:match("^([^(]*)"), nil, {}
    for rest in line:gmatch("%(%a([^)]*)%)") do
      i = i + 1
      values[#values + 1] = v[i]
      if rest ~= "" then unit = rest:sub(2) end
    end
    obis[code] = #values == 1 and values[1] or values
    units[code] = unit
    count = count + 1
  end
  assert.are.equal(#v, i)   -- a value for every group of the key
  return obis, units, count
end

local function fresh(id) return assert(core.p1(by_id[id].text)) end
local function reading(id, opts) return p1.reading(fresh(id), opts) end

local function telegram(lines, crc)
  local s = table.concat(lines, "\r\n") .. "\r\n!"
  if crc then s = s .. ("%04X"):format(arc(s)) end
  return s .. "\r\n"
end

-- openHAB's "number of COSEM values" counts groups; the T210-D-r test counts objects.
local COUNTS = {
  ["p1-nl-dsmr42-landisgyr-zcf110-openhab"] = { groups = 25 },
  ["p1-nl-dsmr42-kaifa-openhab"] = { groups = 41 },
  ["p1-lu-smarty-sagemcom-openhab"] = { groups = 28 },
  ["p1-at-sagemcom-t210d-r-dsmr_parser"] = { objects = 18 },
}

describe("core.p1 (" .. H.backend .. " backend)", function()
  it("parses every vector as its crc_ok says, an unpadded CRC by its value", function()
    local parsed = 0
    for _, r in ipairs(vectors) do
      local computed = tonumber(r.crc_computed, 16)
      assert.are.equal(computed, arc(r.text:match("^(.-!)")), r.id)
      local v, key, crc = core.p1(r.text)
      -- Warmtelink prints "!B9F" for 0x0B9F: three digits of the right value
      local stated = r.crc_stated ~= NULL and tonumber(r.crc_stated, 16)
      if r.crc_ok == true or stated == computed then
        assert(v, r.id .. ": " .. tostring(key))
        assert.are.equal(computed, crc, r.id)
      elseif r.crc_ok == false then
        assert.are.same({ nil, "bad CRC", "bad_crc" }, { v, key, crc }, r.id)
      else
        assert.are.equal(NULL, r.crc_ok)
        assert(v, r.id .. ": " .. tostring(key))
        assert.is_nil(crc, r.id)
      end
      if v then
        parsed = parsed + 1
        assert.are.equal("/" .. r.text:match("^/([^\r\n]*)") .. "\n", key:match("^[^\n]*\n"), r.id)
      end
    end
    assert.are.equal(20, parsed)
    assert(core.p1(by_id["p1-nl-warmtelink-unpadded-crc-dsmr_parser"].text))
  end)

  it("gives every group's value in order and a key of codes, kinds and units", function()
    local v, key, crc = core.p1(telegram({ "/ISK5\\2M550T-1012", "", "1-3:0.2.8(50)",
      "0-0:1.0.0(200426223325S)", "1-0:1.8.1(000576.239*kWh)", "0-1:24.2.1(200426223001S)"
      .. "(00246.138*m3)", "1-0:99.97.0(1)(0-0:96.7.19)", "(5)", "1-0:1.8.0*255(7*Wh)" }, true))
    assert.are.equal("/ISK5\\2M550T-1012\n1-3:0.2.8(s)\n0-0:1.0.0(t)\n1-0:1.8.1(n*kWh)\n"
      .. "0-1:24.2.1(t)(n*m3)\n1-0:99.97.0(n)(s)(n)\n1-0:1.8.0*255(n*Wh)\n", key)
    local summer = { year = 2020, month = 4, day = 26, hour = 22, min = 33, sec = 25,
      status = 0x80 }
    assert.are.same({ "50", summer, 576.239,
      { year = 2020, month = 4, day = 26, hour = 22, min = 30, sec = 1, status = 0x80 },
      246.138, 1, "0-0:96.7.19", 5, 7 }, v)
    assert.are.equal("number", type(crc))
    -- another push of the meter: the same key
    local v2, key2 = core.p1(telegram({ "/ISK5\\2M550T-1012", "", "1-3:0.2.8(50)",
      "0-0:1.0.0(200426223335S)", "1-0:1.8.1(000576.240*kWh)", "0-1:24.2.1(200426223001S)"
      .. "(00246.139*m3)", "1-0:99.97.0(2)(0-0:96.7.19)", "(6)", "1-0:1.8.0*255(8*Wh)" }))
    assert.are.equal(key, key2)
    assert.are_not.same(v, v2)
  end)

  it("counts the groups and objects the sources count", function()
    for id, want in pairs(COUNTS) do
      local v, key = fresh(id)
      local _, _, count = objects(v, key)
      assert.are.equal(want.objects or count, count, id)
      assert.are.equal(want.groups or #v, #v, id)
    end
  end)

  it("keeps identifier digits as strings and types numbers as tonumber does", function()
    local obis, units = objects(fresh("p1-nl-dsmr42-kaifa-athombv"))
    assert.are.equal("0002", obis["0-0:96.14.0"])
    assert.are.equal("42", obis["1-3:0.2.8"])
    assert.are.equal("", obis["0-0:96.13.0"])
    assert.are.same({ 1, "0-0:96.7.19",
      { year = 2000, month = 1, day = 1, hour = 0, min = 0, sec = 24, status = 0 },
      2147483647 }, obis["1-0:99.97.0"])
    assert.are.equal("s", units["1-0:99.97.0"])
    assert.are.equal("kWh", units["1-0:1.8.1"])
    local w = objects(fresh("p1-at-sagemcom-t210d-openhab"))
    assert.are.equal(326641, w["1-0:1.8.0"])
    if math.type then
      assert.are.equal("integer", math.type(w["1-0:1.8.0"]))
      assert.are.equal("float", math.type(obis["1-0:1.8.1"]))
    end
    local s, su = objects(core.p1(telegram({ "/ABC5 x", "", "1-0:1.7.0(-0*kW)",
      "1-0:2.7.0(-0.000*kW)", "1-0:3.7.0(+5)", "1-0:1.8.1(000000000012)",
      "1-0:1.8.2(0000000000123)", "1-0:1.8.3(000000000012X)", "1-0:21.7.0(1.)",
      "1-0:22.7.0(5*)", "1-0:23.7.0(5*0123456789abcdef)", "1-0:24.7.0(5*0123456789abcdefg)",
      "1-0:32.7.0(9223372036854775807)", "1-0:52.7.0(9223372036854775808)",
      "1-0:61.7.0(000101000012s)", "1-0:62.7.0(000101000012w)", "1-0:63.7.0(000101000012x)" })))
    assert.are.equal(0, s["1-0:1.7.0"])
    assert.are.equal(1 / s["1-0:2.7.0"], -math.huge)
    assert.are.equal(5, s["1-0:3.7.0"])
    assert.are.same({ year = 2000, month = 0, day = 0, hour = 0, min = 0, sec = 12 },
      s["1-0:1.8.1"])
    assert.are.equal(123, s["1-0:1.8.2"])
    assert.are.equal("000000000012X", s["1-0:1.8.3"])
    assert.are.equal("1.", s["1-0:21.7.0"])
    assert.are.equal("5*", s["1-0:22.7.0"])
    assert.are.equal("0123456789abcdef", su["1-0:23.7.0"])
    assert.are.equal("5*0123456789abcdefg", s["1-0:24.7.0"])
    assert.is_nil(su["1-0:24.7.0"])
    assert.are.equal(tonumber("9223372036854775807"), s["1-0:32.7.0"])
    assert.are.equal(tonumber("9223372036854775808"), s["1-0:52.7.0"])
    if math.type then
      assert.are.equal("integer", math.type(s["1-0:32.7.0"]))
      assert.are.equal("float", math.type(s["1-0:52.7.0"]))
    end
    -- lower-case s and w: summer and winter, as S and W
    assert.are.same({ year = 2000, month = 1, day = 1, hour = 0, min = 0, sec = 12,
      status = 0x80 }, s["1-0:61.7.0"])
    assert.are.equal(0, s["1-0:62.7.0"].status)
    assert.are.equal("000101000012x", s["1-0:63.7.0"])
  end)

  it("keeps continuation lines in their object and a code sent twice twice; accepts LF",
    function()
      local v, key = assert(core.p1(telegram({ "/ABC5", "1-0:1.8.1(1*kWh)", "(2)(x*m3)",
        "(3)", "1-0:1.7.0(1*kW)", "1-0:1.7.0(2)" }, true)))
      assert.are.same({ 1, 2, "x*m3", 3, 1, 2 }, v)
      assert.are.equal("/ABC5\n1-0:1.8.1(n*kWh)(n)(s)(n)\n1-0:1.7.0(n*kW)\n1-0:1.7.0(n)\n", key)
      local text = by_id["p1-nl-dsmr22-kamstrup162-athombv"].text
      assert.are.same({ core.p1(text) }, { core.p1((text:gsub("\r\n", "\n"))) })
      local lower = with_crc(by_id["p1-se-aidon-6560-spec-example"].text, "9ad0")
      assert.are.equal(0x9AD0, select(3, core.p1(lower)))
    end)

  it("returns nil, err, code for every truncation, and no end of telegram at a line end",
    function()
      for _, r in ipairs(vectors) do
        local bang = r.text:find("\n!", 1, true) + 1
        local bare = assert(core.p1(r.text:sub(1, bang)))   -- cut after the '!': no CRC
        for k = 0, #r.text - 1 do
          local prefix = r.text:sub(1, k)
          local ok, v, err, code = pcall(core.p1, prefix)
          assert(ok, r.id .. " raised at " .. k)
          if v then   -- only the whole telegram, without its line end or some CRC digits
            assert(k >= bang, r.id .. " parsed at " .. k)
            assert.are.same(bare, v, r.id)
          else
            assert.are.equal("string", type(err), r.id)
            assert.are.equal("string", type(code), r.id)
            if k < bang and prefix:sub(-1) == "\n" then
              assert.are.equal("no end of telegram", err, r.id .. " at " .. k)
            end
          end
        end
      end
    end)

  it("refuses what breaks the limits or the shape, saying which", function()
    local function line_of(n) return "0-0:96.13.0(" .. ("4"):rep(n - 13) .. ")" end
    assert(core.p1(telegram({ "/ABC5", "", line_of(2048) }, true)))
    local _, err = core.p1(telegram({ "/ABC5", "", line_of(2049) }, true))
    assert.are.equal("line too long", err)
    _, err = core.p1(telegram({ "/ABC" .. ("x"):rep(2045) }))
    assert.are.equal("line too long", err)
    local lines = { "/ABC5", "" }
    for i = 1, 1024 do lines[#lines + 1] = "1-0:1.8." .. i .. "(1)" end
    assert(core.p1(telegram(lines)))
    lines[#lines + 1] = "1-0:2.8.0(1)"
    _, err = core.p1(telegram(lines))
    assert.are.equal("too many lines", err)
    local short = "/ABC5\r\n\r\n1-0:1.8.1(41)\r\n!"   -- its CRC is 0x0857
    assert.are.equal(0x0857, arc(short))
    local cases = {
      { "", "no start of telegram" },
      { "\r\n/ABC5\r\n!\r\n", "no start of telegram" },
      { "/ABC5\r\n\r\n1-0:1.8.1(1)\r\n", "no end of telegram" },
      { short .. "12\r\n", "bad CRC" },
      { short .. "857\r\n", nil },
      { short .. "857", nil },
      { short .. "0857\n", nil },
      { short .. "00857\r\n", "bad CRC line" },
      { short .. "12345\r\n", "bad CRC line" },
      { short .. "12G4\r\n", "bad CRC line" },
      { short .. "857 \r\n", "bad CRC line" },
      { "/ABC5\r\n!\r\n\r\n", "bad CRC line" },
      { "/ABC5\r\n!\r\nx", "bad CRC line" },
      { "/ABC5\r\n!\r", "bad CRC line" },
      { "/ABC5\r\n!0000\r\n", "bad CRC" },
      { "/AB5\r\n!\r\n", "bad identification" },
      { "/ABC\r\n!\r\n", nil },
      { "/ABC5\r\n\r\n1-0:1.8.1(1\0)\r\n!\r\n", "bad character" },
      { "/ABC5\r\n\r\n1-0:1.8.1(1)\r\r\n!\r\n", "bad character" },
      { "/ABC5\r\n\r\n1-0:1.8.1(\195\169)\r\n!\r\n", "bad character" },
      { "/ABC5\r\n\r\nhello\r\n!\r\n", "bad line 3" },
      { "/ABC5\r\nhello\r\n!\r\n", "bad line 2" },
      { "/ABC5\r\n\r\n(1)\r\n!\r\n", "bad line 3" },
      { "/ABC5\r\n\r\n\r\n!\r\n", "bad line 3" },
      { "/ABC5\r\n\r\n1-0:1.8.1(1)x\r\n!\r\n", "bad line 3" },
      { "/ABC5\r\n\r\n1-0:1.8.1(1)(\r\n!\r\n", "bad line 3" },
      { "/ABC5\r\n\r\n1-0:1.8.1((1)\r\n!\r\n", "bad line 3" },
      { "/ABC5\r\n\r\n1-0:1)8.1(1)\r\n!\r\n", "bad line 3" },
      { "/ABC5\r\n\r\n1-0:1.8.1(1\r\n2)\r\n!\r\n", "bad line 3" },
    }
    for _, c in ipairs(cases) do
      local v, e = core.p1(c[1])
      if c[2] then
        assert.are.same({ nil, c[2] }, { v, e }, ("%q"):format(c[1]))
      else
        assert.is_table(v, ("%q"):format(c[1]))
      end
    end
    local good = by_id["p1-nl-dsmr42-kaifa-athombv"].text
    _, err = core.p1(with_crc(good, "A738"))
    assert.are.equal("bad CRC", err)
    _, err = core.p1((good:gsub("4726%.494", "4726.495")))
    assert.are.equal("bad CRC", err)
    assert.has_error(function() core.p1({}) end)
    assert.has_error(function() core.p1() end)
  end)

  it("never raises on binary garbage", function()
    local rand = H.rng(11)
    for _ = 1, 300 do
      local b = {}
      for i = 1, rand(300) do b[i] = string.char(rand(256) - 1) end
      local s = table.concat(b)
      for _, x in ipairs({ s, "/" .. s, "/ABC5\r\n" .. s .. "\r\n!\r\n" }) do
        local ok, v, err, code = pcall(core.p1, x)
        assert(ok and (v and type(err) == "string" or type(code) == "string"))
      end
    end
  end)
end)

-- Floats from unit scaling and tariff sums: equal to a few ulps.
local function same(want, got, what)
  if type(want) == "number" and type(got) == "number" then
    assert(math.abs(got - want) <= 1e-9 * math.max(1, math.abs(want)),
      ("%s: expected %.17g, got %.17g"):format(what, want, got))
  else
    assert.are.same(want, got, what)
  end
end

local NONE = {}   -- a field that must be absent

-- What each telegram's reading must say, derived from the record's `expected` (quoted
-- in the comments) and, where it asserts nothing, from the text itself. Powers in W,
-- energies in kWh, gas in m3, times as UTC epochs (CET/CEST unless said).
local EXPECT = {
  ["p1-nl-dsmr22-kamstrup162-athombv"] = {
    -- "185.000 kWh (received tariff 1 = 185000 Wh)", "84.000", "13.000", "19.000 kWh"
    energy_import_t1 = 185, energy_import_t2 = 84, energy_export_t1 = 13,
    energy_export_t2 = 19, energy_import = 269, energy_export = 32,   -- no 1.8.0: sums
    power_import = 980, tariff = 1,                      -- "0.98 kW", "0001"
    -- "124.477 m3 at 2012-05-17 02:00" (the next line): 02:00 CEST = 00:00 UTC
    gas_volume = 124.477, gas_time = 1337212800,
    vendor = "Kamstrup", meter_type = "KMP5 ZABF001587315111", dsmr_version = NONE,
    meter_id = "205C4D246333034353537383234323121",      -- 33 digits: kept as printed
  },
  ["p1-nl-dsmr30-spec-example"] = {
    meter_id = "K8EG004046395507",                       -- "4B3845..." decoded
    energy_import_t1 = 12345.678, energy_import_t2 = 12345.678,
    energy_export_t1 = 12345.678, energy_export_t2 = 12345.678,
    energy_import = 24691.356, power_import = 1190, tariff = 2,
    gas_volume = 0, gas_time = 1234450800,               -- "0.000 m3", 2009-02-12 16:00
    vendor = "Iskra",                                    -- flag "ISk": k only says fast
  },
  ["p1-nl-dsmr42-kaifa-athombv"] = {
    energy_import_t1 = 4726.494, energy_import_t2 = 4844.281,
    energy_export_t1 = 3284.320, energy_export_t2 = 7764.691,
    energy_import = 9570.775, energy_export = 11049.011,
    power_export = 1869, power_import = 0, tariff = 2,   -- "1.869 kW (exporting)"
    power_export_l1 = 688, power_export_l2 = 778, power_export_l3 = 403,
    current_l1 = 3, current_l2 = 3, current_l3 = 2,
    -- "5359.919 m3 at 180306120000W": 12:00 CET = 11:00 UTC
    gas_volume = 5359.919, gas_time = 1520334000,
    meter_time = 1520335856,                             -- 180306123056W: a W stamp
    dsmr_version = "42", vendor = "Kaifa", meter_id = "E0003000002124813",
    obis = { ["1-0:99.97.0"] = { { time = 946681224, duration = 2147483647 } } },
  },
  ["p1-nl-dsmr42-kaifa-dsmr_parser"] = {
    dsmr_version = "42", energy_import_t1 = 1581.123, energy_import_t2 = 1435.706,
    power_import = 2027, current_l2 = 6, power_import_l2 = 1247, gas_volume = 981.443,
    -- decimal digits whose bytes are not printable: the id as printed
    meter_id = "3960221976967177082151037881335713",
    obis = { ["0-0:96.7.21"] = 15, ["0-0:96.7.9"] = 7 },
  },
  ["p1-nl-dsmr50-iskra-am550-two-mbus-dsmr_parser"] = {
    -- channel 1: type 3, empty id, reading "0" without unit; channel 2: 246.138 m3
    obis = { ["0-1:24.1.0"] = 3, ["0-1:96.1.0"] = "", ["0-2:24.1.0"] = 3,
      ["0-2:96.1.0"] = "4730303339303031393336393930363139" },
    gas_volume = 246.138, gas_time = 1587933001,         -- 200426223001S: 22:30:01 CEST
    meter_time = 1587933205,                             -- 200426223325S: an S stamp
    dsmr_version = "50", voltage_l1 = 229.9, voltage_l2 = 229.2, voltage_l3 = 222.9,
  },
  ["p1-nl-dsmr50-iskra-mt382-dsmr_parser"] = {
    dsmr_version = "50", energy_import_t1 = 4.426, energy_import_t2 = 2.399,
    energy_export_t1 = 2.444, energy_export_t2 = 0, power_import = 244,
    voltage_l1 = 230, voltage_l3 = 229, current_l1 = 0.48, current_l3 = 0.86,
    power_import_l1 = 70, gas_volume = 0.107, gas_time = 1483369805,
    obis = { ["0-0:96.7.21"] = 13 },
  },
  ["p1-nl-dsmr50-iskra-am550e-wassasin"] = {
    -- "0-0:96.1.1 (decoded)": "E0043007052870318"; 576.239, 465.162; "0002"; 9
    meter_id = "E0043007052870318", dsmr_version = "50", energy_import_t1 = 576.239,
    energy_import_t2 = 465.162, tariff = 2, vendor = "Iskra",
    obis = { ["0-0:96.7.21"] = 9 },
  },
  ["p1-be-fluvius-v171-dsmr_parser"] = {
    energy_import_t1 = 0.034, energy_import_t2 = 15.758, energy_export_t2 = 0.011,
    voltage_l1 = 234.7, vendor = "Fluvius", meter_id = "1SAG3101021605",
    -- gas on 24.2.3 (device type 003); channel 2 is water (007): not gas
    gas_volume = 112.384, gas_time = 1589283958,
    obis = { ["0-0:96.1.4"] = "50217", ["1-0:1.4.0"] = 2.351, ["0-0:17.0.0"] = 999.9,
      ["1-0:31.4.0"] = 999,
      ["1-0:1.6.0"] = { value = 2.589, time = 1589024758 },     -- 200509134558S
      ["0-2:24.2.1"] = { value = 872.234, time = 1589283958 } },
    peaks = { 3.695, 5.980, 4.318 },                     -- "3 entries: ..."
  },
  ["p1-lu-spec-example-v113"] = {
    -- the document asserts times only in prose; these come from the text
    meter_id = "SAG1030790002574", energy_import = 25.653, energy_export = 0.040,
    reactive_energy_import = 0.835, reactive_energy_export = 63.781,
    meter_time = 1594024917, gas_volume = 0.006, gas_time = 1594024300,  -- channel 1
    vendor = NONE, voltage_l1 = 233,
    obis = { ["1-1:31.4.0"] = { 100, -63 } },
  },
  ["p1-lu-smarty-sagemcom-openhab"] = {
    reactive_export = 7, energy_import = 6.695,         -- 4.7.0 without unit: kvar
  },
  ["p1-se-landisgyr-e360-ellevio-akeamc"] = {
    -- "checksum": "0x9AB5", "flag id": "ELL", "identification": "\253833635_A"
    crc = 0x9AB5, vendor = "Landis+Gyr", meter_type = "ELL5\\253833635_A",
    energy_import = 6136.936, reactive_export = 206, current_l1 = 2.2,
  },
  ["p1-se-aidon-6560-spec-example"] = {
    -- energies in Wh and VArh on this CT meter
    energy_import = 1219.311383, energy_export = 3.281871,
    reactive_energy_import = 16.166083, voltage_l1 = 57.1, vendor = "Aidon",
  },
  ["p1-hu-eon-sagemcom-dsmr_parser"] = {
    -- 96.1.0 before 42.0.0: "383930..." decoded
    meter_id = "890082200002160", energy_import = 173.640, energy_import_t1 = 47.719,
    energy_export = 627.177, power_export = 2601, power_factor = 4.556,
    obis = { ["0-0:42.0.0"] = "53414733303832323030303032313630",
      ["0-0:96.1.0"] = "383930303832323030303032313630", ["0-0:17.0.0"] = 90,
      ["1-0:15.8.0"] = 800.817, ["1-0:14.7.0"] = 50, ["1-0:31.4.0"] = 200 },
  },
  ["p1-lt-eso-extended-spec"] = {
    power_factor = -1, power_factor_l1 = -0.91, vendor = "ESO",
    meter_id = "80043700621613125392642700336368", power_export = 24,
  },
  ["p1-at-sagemcom-t210d-openhab"] = {
    energy_import = 326.641, energy_import_t1 = 230.515, power_import = 621,
    reactive_export = 510, reactive_energy_export = 253.220, dsmr_version = "50",
  },
  ["p1-de-easymeter-q3db1024-dsmr_parser"] = {
    -- D0 codes with *255, powers in W
    energy_import = 52185.7825309, energy_export = 19949.3221493, power_import = 2124.86,
    power_import_l1 = 747.85, meter_id = "1ESY1313002565", vendor = "EasyMeter",
    obis = { ["1-0:0.0.0*255"] = "0272031312565" },
  },
}

-- openHAB's "number of COSEM values" counts groups; the T210-D-r test counts objects.

describe("han.p1 readings (" .. H.backend .. " backend)", function()
  it("gives the values the sources assert, as named readings", function()
    for id, want in pairs(EXPECT) do
      local t = fresh(id)
      local r = p1.reading(t)
      for k, v in pairs(want) do
        if k == "obis" then
          for code, x in pairs(v) do same(x, r.obis[code], id .. " " .. code) end
        elseif k == "peaks" then
          local list = r.obis["0-0:98.1.0"]
          assert.are.equal(#v, #list, id)
          for i, x in ipairs(v) do same(x, list[i].value, id .. " peak " .. i) end
        elseif k == "crc" then
          assert.are.equal(v, t.crc, id)
        elseif v == NONE then
          assert.is_nil(r[k], id .. " " .. k)
        else
          same(v, r[k], id .. " " .. k)
        end
      end
      assert.are.equal("P1", r.list, id)
      assert.are.equal(t.units, r.units, id)
    end
  end)

  it("reads a time in another zone and keeps absent quantities nil", function()
    local r = reading("p1-lt-eso-extended-spec", { zone = "Europe/Vilnius" })
    assert.are.equal(1707898735, r.meter_time)   -- 240214101855W: 10:18:55 EET
    assert.is_nil(r.gas_volume)
    assert.is_nil(r.current_l4)
    local s = reading("p1-se-landisgyr-e360-ellevio-akeamc")
    assert.is_nil(s.dsmr_version)
    assert.is_nil(s.energy_import_t1)
    assert.is_nil(s.tariff)
  end)

  it("scales exactly: 2.027 kW is 2027 W, 230515 Wh the double nearest 230.515 kWh", function()
    local k = reading("p1-nl-dsmr42-kaifa-dsmr_parser")
    assert.are.equal(2027, k.power_import)   -- 2.027 * 1000 is 2027.0000000000002
    assert.are.equal(1247, k.power_import_l2)
    local a = reading("p1-at-sagemcom-t210d-openhab")
    assert.are.equal(230.515, a.energy_import_t1)   -- 230515 * 0.001 is 230.51500000000001
    assert.are.equal(326.641, a.energy_import)
    assert.are.equal(621, a.power_import)
  end)

  it("gives the same reading when read again, with the lists in obis rewritten", function()
    for _, r in ipairs(vectors) do
      local t = core.p1(r.text)
      if t then
        local a = p1.reading(t)
        local copy = {}
        for k, v in pairs(a) do copy[k] = v end
        assert.are.same(copy, p1.reading(t), r.id)
      end
    end
    local f = reading("p1-be-fluvius-v171-dsmr_parser")
    assert.are.same({ start = 1588284000, time = 1587662738, value = 3.695 },
      f.obis["0-0:98.1.0"][1])                   -- 200501000000S, 200423192538S
    local h = reading("p1-hu-eon-sagemcom-dsmr_parser")
    assert.are.equal(20, #h.obis["0-0:98.1.0"])   -- Hungary's record: kept as parsed
    local k = reading("p1-nl-dsmr42-kaifa-openhab")
    assert.are.equal(5, #k.obis["1-0:99.97.0"])
    assert.are.equal(15270, k.obis["1-0:99.97.0"][1].duration)
  end)
end)

-- Values of both backends in one comparable form (numbers keep their subtype on 5.3+).
local function canon(v)
  local t = type(v)
  if t == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = canon(x) end
    return out
  elseif t == "number" then
    return { n = v, kind = math.type and math.type(v) or "number",
      neg_zero = v == 0 and 1 / v < 0 }
  end
  return v
end

if H.backend == "c" then
  describe("han.p1 readings from the C and Lua cores", function()
    local C, L = require("han.core"), require("han.luacore")

    it("name the same readings from every telegram", function()
      for _, r in ipairs(vectors) do
        local tc, tl = C.p1(r.text), L.p1(r.text)
        if tc then assert.are.same(canon(p1.reading(tc)), canon(p1.reading(tl)), r.id) end
      end
    end)

    it("give a telegram the same reading cold as warm, whatever telegrams came before",
      function()
      local zone = require("han.decode").plan.zone
      for _, backend in ipairs({ C, L }) do
        package.loaded["han.naming.p1"] = nil      -- a han.p1 that has met no code yet
        local new = require("han.naming.p1")
        package.loaded["han.naming.p1"] = p1
        local cold = {}
        for i, r in ipairs(vectors) do cold[i] = { new.decode(r.text, backend, nil, zone) } end
        for i = #vectors, 1, -1 do
          local warm = { new.decode(vectors[i].text, backend, nil, zone) }
          assert.are.same(canon(cold[i]), canon(warm), vectors[i].id)
        end
      end
    end)

    it("name each object in turn: of a code sent twice, or a quantity under two codes, "
      .. "the later line", function()
      local zone = require("han.decode").plan.zone
      local s = "/ABC5\r\n\r\n1-0:1.7.0(1.5*kW)\r\n1-1:1.7.0(2.5*kW)\r\n"
        .. "1-0:32.7.0(230.0*V)\r\n1-0:32.7.0(231.0*V)\r\n"
        .. "0-0:96.1.1(4142)\r\n0-0:96.1.1(4344)\r\n!\r\n"
      for _, backend in ipairs({ C, L }) do
        local r = assert(p1.decode(s, backend, nil, zone))
        assert.are.equal(2500, r.power_import)
        assert.are.equal(231, r.voltage_l1)
        assert.are.equal("CD", r.meter_id)
      end
    end)

    it("keep naming right when a meter's layout changes between telegrams", function()
      local zone = require("han.decode").plan.zone
      local function lines_of(lines)
        return "/ABC5\r\n\r\n" .. table.concat(lines, "\r\n") .. "\r\n!\r\n"
      end
      local a = lines_of({ "1-0:1.7.0(1.5*kW)", "1-0:2.7.0(0.5*kW)", "1-0:32.7.0(230.0*V)" })
      local b = lines_of({ "1-0:2.7.0(0.25*kW)", "1-0:1.7.0(1500*W)", "1-0:32.7.0(229*V)",
        "0-0:96.99.9(7)", "1-0:31.7.0(3*A)" })
      local c = lines_of({ "1-0:1.7.0(1.5*kWh)", "1-0:2.7.0(0.5*kW)" })   -- a unit no field takes
      for _, backend in ipairs({ C, L }) do
        for _ = 1, 2 do
          local ra = assert(p1.decode(a, backend, nil, zone))
          local rb = assert(p1.decode(b, backend, nil, zone))
          assert.are.same({ 1500, 500, 230 }, { ra.power_import, ra.power_export, ra.voltage_l1 })
          assert.are.same({ 1500, 250, 229, 3 },
            { rb.power_import, rb.power_export, rb.voltage_l1, rb.current_l1 })
          local rc = assert(p1.decode(c, backend, nil, zone))
          assert.is_nil(rc.power_import)
          assert.are.equal(500, rc.power_export)
        end
      end
    end)
  end)
end
