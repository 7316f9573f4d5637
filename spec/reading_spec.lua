-- core.reading (docs/core-api.md), run against the backend $HAN_BACKEND names: the named
-- reading straight from a frame or APDU, under the plan han.decode builds.
local H = require("helpers")
local core = H.core()
local plan = require("han.decode").plan
local unhex = H.unhex

local function apdu(body_hex) return unhex("0F40000000 00" .. body_hex) end
local function code(c, d, e) return ("0906 0100%02X%02X%02XFF"):format(c, d, e) end
local function u16(v) return ("12%04X"):format(v) end

describe("core.reading", function()
  it("names and scales a Kamstrup list as han.decode reads it", function()
    for _, rec in ipairs(H.frames()) do
      if rec.reference ~= H.json_null and rec.reference.list_ver_id == "Kamstrup_V0001" then
        local r, P = assert(core.reading(rec.raw, plan))
        assert.are.equal(plan.lists.Kamstrup_V0001, P)
        assert.are.equal("Kamstrup_V0001", r.list)
        assert.are.equal("Kamstrup", r.vendor)
        assert.are.equal(rec.reference.active_power_import, r.power_import)
        assert.is_number(r.meter_time)
        assert.are.equal(r.obis["1.1.1.7.0.255"], r.power_import)
        return
      end
    end
    error("no Kamstrup vector")
  end)

  it("gives core.notification's error for a bad frame, and its own for bodies it cannot name",
    function()
      local bad = H.frames()[1].raw:sub(1, -4) .. "\000\000\126"
      assert.are.same({ core.notification(bad) }, { core.reading(bad, plan) })
      assert.are.same({ nil, "no values in the notification" },
        { core.reading(apdu("0100"), plan) })
      assert.are.same({ nil, "unknown list layout (2 values)" },
        { core.reading(apdu("0202 " .. u16(1) .. u16(2)), plan) })
    end)

  it("gives the hour an hourly list closes: clock at minute 0 and an energy register",
    function()
      local days = require("han.time").days
      -- header clock 2019-01-29 10:mm:05, no deviation: Oslo winter time, UTC+1
      local function at(min, c)
        return unhex(("0F40000000 0C 07E3011D020A%02X05FF800000 0202 "):format(min)
          .. code(c, 8, 0) .. "0600001234")
      end
      local r = assert(core.reading(at(0, 1), plan))
      assert.are.equal(days(2019, 1, 29) * 86400 + 9 * 3600 + 5, r.meter_time)
      assert.are.equal(days(2019, 1, 29) * 86400 + 8 * 3600, r.hour)
      assert.are.equal(0x1234 / 1000, r.energy_import)
      assert.is_nil(assert(core.reading(at(1, 1), plan)).hour)
      local power = assert(core.reading(unhex("0F40000000 0C 07E3011D020A0005FF800000 0202 "
        .. code(1, 7, 0) .. "0600001234"), plan))
      assert.is_number(power.meter_time)
      assert.is_nil(power.hour)
      local bare = {}   -- a plan without hourly fields: no hour, no error
      for k, v in pairs(plan) do bare[k] = v end
      bare.hourly = nil
      local r0 = assert(core.reading(at(0, 1), bare))
      assert.are.equal(r.meter_time, r0.meter_time)
      assert.is_nil(r0.hour)
    end)

  it("raises on misuse", function()
    assert.has_error(function() core.reading(apdu("0100")) end)
    assert.has_error(function() core.reading(nil, plan) end)
  end)

  it("raises, never crashes, on a plan not built as han.decode builds it", function()
    local function copy(t)
      local out = {}
      for k, v in pairs(t) do out[k] = v end
      return out
    end
    local by_list = {}
    for _, rec in ipairs(H.frames()) do
      local r = core.reading(rec.raw, plan)
      if r then by_list[r.list or "none"] = rec.raw end
    end
    local kamstrup, aidon = by_list.Kamstrup_V0001, by_list.AIDON_V0001
    assert.is_string(kamstrup)
    assert.is_string(aidon)
    local bad = {
      { kamstrup, {} },
      { kamstrup, (function() local p = copy(plan); p.lists = 5; return p end)() },
      { aidon, (function() local p = copy(plan); p.unknown = {}; return p end)() },
      { aidon, (function() local p = copy(plan); p.unknown = { memo = "x" }; return p end)() },
    }
    -- bare values placed by a layout whose entries are no tables
    local bare = copy(plan.bare)
    bare.layouts = { [2] = { 1, 2 } }
    local p = copy(plan)
    p.bare = bare
    bad[#bad + 1] = { apdu("0202 " .. u16(1) .. u16(2)), p }
    for i, b in ipairs(bad) do
      assert.is_false(pcall(core.reading, b[1], b[2]), "plan " .. i)
    end
    -- what a core keeps per plan profile is its own, whatever fields the profile has
    local lists = copy(plan.lists)
    local P = copy(plan.lists.Kamstrup_V0001)
    P.cache, P.keys = io.stdout, 7
    lists.Kamstrup_V0001 = P
    p = copy(plan)
    p.lists = lists
    local want = core.reading(kamstrup, plan)
    for _ = 1, 3 do
      local r = core.reading(kamstrup, p)
      assert.are.equal(want.power_import, r.power_import)
      assert.are.equal(want.meter_time, r.meter_time)
    end
  end)

  it("keeps a value nested as deep as A-XDR allows", function()
    local deep = u16(7)
    for _ = 1, 13 do deep = "0201 " .. deep end
    local r = assert(core.reading(apdu("0202 0203 " .. code(1, 7, 0) .. deep .. u16(1)
      .. "0202" .. code(2, 7, 0) .. u16(5)), plan))
    local v = r.obis["1.0.1.7.0.255"]
    for _ = 1, 13 do v = v[1] end
    assert.are.equal(7, v)
    assert.is_nil(r.power_import)   -- a table, not a number
    assert.are.equal(5, r.power_export)
  end)

  it("names bodies larger than its stack arrays and more codes than its cache holds",
    function()
      local parts = {}
      for i = 1, 300 do parts[i] = code(1 + i % 200, i % 3, 200 + i % 50) .. u16(i) end
      parts[#parts + 1] = code(1, 7, 0) .. u16(4321)
      local r = assert(core.reading(apdu(("01820%03X"):format(2 * #parts)
        .. table.concat(parts)), plan))
      local n = 0
      for _ in pairs(r.obis) do n = n + 1 end
      assert.are.equal(301, n)
      assert.are.equal(4321, r.power_import)
      assert.are.equal(300, r.obis["1.0.101.0.200.255"])
    end)
end)
