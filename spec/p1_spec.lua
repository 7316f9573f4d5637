-- core.p1 (docs/core-api.md) on the P1 vectors: the CRCs, the values and layout keys,
-- truncations and limits. spec/differential_spec.lua compares the C and Lua cores'
-- core.p1; spec/p1_reading_spec.lua the readings the namer makes of them.
local H = require("helpers")
local core = H.core()
local NULL = H.json_null

local vectors = H.jsonl("p1.jsonl")
local by_id = {}
for _, r in ipairs(vectors) do by_id[r.id] = r end

local arc = H.arc

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
    assert.are.equal(5, s["1-0:22.7.0"])     -- D0 meters print an empty unit
    assert.is_nil(su["1-0:22.7.0"])
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

  it("reads IEC 62056-21 (D0) lines: C.1 ids stay strings, an empty unit is none", function()
    -- lines of an L+G ZMD405 and an ACE3000 readout (docs: d0-examples.md)
    local v, key = assert(core.p1(telegram({ "/LGZ5\\2ZMD4054459.B40", "", "F.F(00000000)",
      "0.9.1(23:16:43)", "C.1.0(054800102)", "0-0:C.1.0(72432595)", "C.1(1126120053322353)",
      "1.8.0(013925.5*)", "1.8.1*12(0075.5341*kWh)" })))
    assert.are.same({ 0, "23:16:43", "054800102", "72432595", 1126120053322353, 13925.5,
      75.5341 }, v)
    assert.are.equal("/LGZ5\\2ZMD4054459.B40\nF.F(n)\n0.9.1(s)\nC.1.0(s)\n0-0:C.1.0(s)\n"
      .. "C.1(n)\n1.8.0(n)\n1.8.1*12(n*kWh)\n", key)
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
