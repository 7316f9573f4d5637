-- P1 readings: han.decode of the P1 vectors gives the values their sources assert, the
-- same with both cores, and the namer's rules hold (scaling, the later line, lists,
-- ids, gas channels, meter time), whatever telegrams came before.
local H = require("helpers")
local han = require("han")

local vectors = H.jsonl("p1.jsonl")
local by_id = {}
for _, r in ipairs(vectors) do by_id[r.id] = r end

local function reading(id, opts) return assert(han.decode(by_id[id].text, opts)) end

local same = H.same

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

-- Readings of both backends in one comparable form (numbers keep their subtype on 5.3+).
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

local function lines_of(lines)
  return "/ABC5\r\n\r\n" .. table.concat(lines, "\r\n") .. "\r\n!\r\n"
end

describe("P1 readings (" .. H.backend .. " backend)", function()
  it("give the values the sources assert", function()
    for id, want in pairs(EXPECT) do
      local r = reading(id)
      for k, v in pairs(want) do
        if k == "obis" then
          for code, x in pairs(v) do same(x, r.obis[code], id .. " " .. code) end
        elseif k == "peaks" then
          local list = r.obis["0-0:98.1.0"]
          assert.are.equal(#v, #list, id)
          for i, x in ipairs(v) do same(x, list[i].value, id .. " peak " .. i) end
        elseif k == "crc" then
          assert.are.equal(v, select(3, han.core.p1(by_id[id].text)), id)
        elseif v == NONE then
          assert.is_nil(r[k], id .. " " .. k)
        else
          same(v, r[k], id .. " " .. k)
        end
      end
      assert.are.equal("P1", r.list, id)
    end
  end)

  it("read a time in another zone and keep absent quantities nil", function()
    local r = reading("p1-lt-eso-extended-spec", { zone = "Europe/Vilnius" })
    assert.are.equal(1707898735, r.meter_time)   -- 240214101855W: 10:18:55 EET
    assert.is_nil(r.gas_volume)
    assert.is_nil(r.current_l4)
    local s = reading("p1-se-landisgyr-e360-ellevio-akeamc")
    assert.is_nil(s.dsmr_version)
    assert.is_nil(s.energy_import_t1)
    assert.is_nil(s.tariff)
  end)

  it("scale exactly: 2.027 kW is 2027 W, 230515 Wh the double nearest 230.515 kWh", function()
    local k = reading("p1-nl-dsmr42-kaifa-dsmr_parser")
    assert.are.equal(2027, k.power_import)   -- 2.027 * 1000 is 2027.0000000000002
    assert.are.equal(1247, k.power_import_l2)
    local a = reading("p1-at-sagemcom-t210d-openhab")
    assert.are.equal(230.515, a.energy_import_t1)   -- 230515 * 0.001 is 230.51500000000001
    assert.are.equal(326.641, a.energy_import)
    assert.are.equal(621, a.power_import)
  end)

  it("rewrite the lists in obis, and give each unit", function()
    local f = reading("p1-be-fluvius-v171-dsmr_parser")
    assert.are.same({ start = 1588284000, time = 1587662738, value = 3.695 },
      f.obis["0-0:98.1.0"][1])                   -- 200501000000S, 200423192538S
    local h = reading("p1-hu-eon-sagemcom-dsmr_parser")
    assert.are.equal(20, #h.obis["0-0:98.1.0"])   -- Hungary's record: kept as parsed
    local k = reading("p1-nl-dsmr42-kaifa-openhab")
    assert.are.equal(5, #k.obis["1-0:99.97.0"])
    assert.are.equal(15270, k.obis["1-0:99.97.0"][1].duration)
    assert.are.equal("kWh", k.units["1-0:1.8.1"])
    assert.is_nil(k.units["0-0:96.14.0"])
  end)

  it("give each reading its own tables: changing one leaves the next alone", function()
    local a = reading("p1-nl-dsmr42-kaifa-openhab")
    a.obis["1-0:1.8.1"], a.units["1-0:1.8.1"] = "changed", "changed"
    local b = reading("p1-nl-dsmr42-kaifa-openhab")
    assert.are_not.equal("changed", b.obis["1-0:1.8.1"])
    assert.are.equal("kWh", b.units["1-0:1.8.1"])
  end)

  it("give a telegram the same reading cold as warm, whatever telegrams came before",
    function()
    local cold = {}
    for i, r in ipairs(vectors) do cold[i] = canon({ han.decode(r.text) }) end
    for i = #vectors, 1, -1 do
      assert.are.same(cold[i], canon({ han.decode(vectors[i].text) }), vectors[i].id)
    end
  end)

  it("name each object in turn: of a code sent twice, or a quantity under two codes, "
    .. "the later line", function()
    local r = assert(han.decode(lines_of({ "1-0:1.7.0(1.5*kW)", "1-1:1.7.0(2.5*kW)",
      "1-0:32.7.0(230.0*V)", "1-0:32.7.0(231.0*V)", "0-0:96.1.1(4142)", "0-0:96.1.1(4344)" })))
    assert.are.equal(2500, r.power_import)
    assert.are.equal(231, r.voltage_l1)
    assert.are.equal("CD", r.meter_id)
  end)

  it("read a gas stamp in lower case, and keep the volume when its stamp does not parse",
    function()
    local lower = assert(han.decode(lines_of({ "0-1:24.1.0(003)",
      "0-1:24.2.1(150701190000s)(00845.206*m3)" })))
    local upper = assert(han.decode(lines_of({ "0-1:24.1.0(003)",
      "0-1:24.2.1(150701190000S)(00845.206*m3)" })))
    assert.are.equal(845.206, lower.gas_volume)
    assert.are.equal(upper.gas_time, lower.gas_time)
    assert.is_number(lower.gas_time)
    local broken = assert(han.decode(lines_of({ "0-1:24.1.0(003)",
      "0-1:24.2.1(1507011900X)(00845.206*m3)" })))
    assert.are.equal(845.206, broken.gas_volume)
    assert.is_nil(broken.gas_time)
  end)

  it("name long telegrams and long codes", function()
    local lines = {}
    for i = 1, 150 do lines[i] = ("1-0:%d.7.0(%d.5*kW)"):format(i, i) end
    lines[151] = "1-0:21.7.0(1.25*kW)"              -- power_import_l1, past 128 objects
    lines[152] = ("0"):rep(20) .. "1-0:22.7.0(2.5*kW)"   -- a code of 31 bytes
    lines[153] = "0-1:24.1.0(003)"
    lines[154] = "0-1:24.2.1(200706103140S)(00012.5*m3)"
    local r = assert(han.decode(lines_of(lines)))
    assert.are.equal(1250, r.power_import_l1)
    assert.are.equal(2500, r.power_export_l1)
    assert.are.equal(12.5, r.gas_volume)
    assert.are.equal(1500, r.power_import)
  end)

  it("keep naming right when a meter's layout changes between telegrams", function()
    local a = lines_of({ "1-0:1.7.0(1.5*kW)", "1-0:2.7.0(0.5*kW)", "1-0:32.7.0(230.0*V)" })
    local b = lines_of({ "1-0:2.7.0(0.25*kW)", "1-0:1.7.0(1500*W)", "1-0:32.7.0(229*V)",
      "0-0:96.99.9(7)", "1-0:31.7.0(3*A)" })
    local c = lines_of({ "1-0:1.7.0(1.5*kWh)", "1-0:2.7.0(0.5*kW)" })   -- a unit no field takes
    for _ = 1, 2 do
      local ra = assert(han.decode(a))
      local rb = assert(han.decode(b))
      assert.are.same({ 1500, 500, 230 }, { ra.power_import, ra.power_export, ra.voltage_l1 })
      assert.are.same({ 1500, 250, 229, 3 },
        { rb.power_import, rb.power_export, rb.voltage_l1, rb.current_l1 })
      local rc = assert(han.decode(c))
      assert.is_nil(rc.power_import)
      assert.are.equal(500, rc.power_export)
    end
  end)

  it("give han.time's meter time, S/W or none, for any timestamp, in any zone", function()
    local rand = H.rng(11)
    local zones = { "Europe/Oslo", "Europe/Helsinki", "UTC", { offset = 60 } }
    local named = 0
    for k = 1, 3000 do
      -- around the summer-time switches of the last Sundays of March and October, and
      -- anywhere, out-of-range fields too
      local mo = ({ 3, 10, rand(12), rand(99) - 1 })[rand(4)]
      local stamp = ("%02d%02d%02d%02d%02d%02d%s"):format(rand(100) - 1, mo,
        ({ 24 + rand(8), rand(40) - 1 })[rand(2)], ({ 0, 1, 2, 3, rand(30) - 1 })[rand(5)],
        rand(62) - 1, rand(62) - 1, ({ "S", "W", "" })[rand(3)])
      local zone = zones[(k - 1) % #zones + 1]
      local r = assert(han.decode(lines_of({ "0-0:1.0.0(" .. stamp .. ")", "1-0:1.7.0(1.5*kW)" }),
        { zone = zone }))
      local want = r.time_fields and require("han.time").epoch(r.time_fields, zone)
      assert.are.equal(want, r.meter_time, stamp)
      if want then named = named + 1 end
    end
    assert.is_true(named > 500, "valid times: " .. named)
  end)
end)

if H.backend == "c" then
  describe("P1 readings with the C and the Lua core", function()
    local function with(name, s)
      han.use_backend(name)
      local r = canon({ han.decode(s) })
      han.use_backend("c")
      return r
    end

    it("agree on every telegram", function()
      for _, r in ipairs(vectors) do
        assert.are.same(with("c", r.text), with("lua", r.text), r.id)
      end
    end)

    it("agree on 3,000 seeded mutations, error strings and codes included", function()
      local SHAPING = { "\r", "\n", "(", ")", "!", "*", "0", ".", "-", " ", ":", "S" }
      local rand = H.rng(2025)
      local differences, read = 0, 0
      for _ = 1, 3000 do
        local s = vectors[rand(#vectors)].text:gsub("\n!%x*\r\n$", "\n!\r\n")
        local i = rand(#s)
        if rand(2) == 1 then
          s = s:sub(1, i - 1) .. s:sub(i + 1)
        else
          s = s:sub(1, i) .. SHAPING[rand(#SHAPING)] .. s:sub(i + 1)
        end
        local a, b = with("c", s), with("lua", s)
        if not H.deep_equal(a, b) then differences = differences + 1 end
        if type(a[1]) == "table" and a[1].list then read = read + 1 end
      end
      assert.are.equal(0, differences)
      assert(read > 300, "mutations that still read: " .. read)
    end)
  end)
end
