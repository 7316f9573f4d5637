-- IEC 62056-21 (D0): the naming of D0 lines through han.decode.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)

local function near(want, got, what)
  assert(type(got) == "number" and math.abs(got - want) <= 1e-9 * math.max(1, math.abs(want)),
    ("%s: expected %.17g, got %s"):format(what, want, tostring(got)))
end

-- An L+G ZMD405's identification and lines (docs: d0-examples.md, pwitab/iec62056-21
-- #16), as the data block of a readout: current and past tariff-1 import.
local ZMD405 = { ident = "LGZ5\\2ZMD4054459.B40", data = table.concat({ "F.F(00000000)",
  "0.9.1(23:16:43)", "0.9.2(21-01-04)", "C.1.0(54800102)", "1.8.1(0302.8260*kWh)",
  "1.8.1*12(0075.5341*kWh)", "1.8.1&12(0071.0012*kWh)", "!", "" }, "\r\n") }

local function assert_zmd405(r)
  assert.are.equal("Landis+Gyr", r.vendor)
  assert.are.equal("LGZ5\\2ZMD4054459.B40", r.meter_type)
  assert.are.equal("54800102", r.meter_id)            -- C.1.0 (96.1.0), its digits kept
  near(302.826, r.energy_import_t1, "energy_import_t1")
  near(302.826, r.energy_import, "energy_import")     -- the tariffs' sum: one tariff
  near(75.5341, r.obis["1.8.1*12"], "1.8.1*12")       -- a past value: obis only
  near(71.0012, r.obis["1.8.1&12"], "1.8.1&12")
  assert.are.equal("23:16:43", r.obis["0.9.1"])
end

describe("D0 telegrams through han.decode (" .. H.backend .. " backend)", function()
  it("names an eHZ mode D push: A-B: codes with *255, no CRC", function()
    local r = assert(han.decode("/HAG5eHZ010C_EHZ1vA02\r\n1-0:1.8.0*255(000001.2963)\r\n!\r\n"))
    near(1.2963, r.energy_import, "energy_import")    -- kWh, as P1's unit-less energy
    assert.are.equal("Hager", r.vendor)
    assert.are.equal("HAG5eHZ010C_EHZ1vA02", r.meter_type)
  end)

  it("names C.D.E codes without A-B:, an empty unit being none (ACE3000)", function()
    -- vzlogger's ACE3000 test block, which expects 1.8.0 = 13925.5
    local r = assert(han.decode("/ACE0\\3k260V01.19\r\n\r\nF.F(00)\r\nC.1(1126120053322353)\r\n"
      .. "C.5.0(00)\r\n1.8.0(013925.5*)\r\n!\r\n"))
    near(13925.5, r.energy_import, "energy_import")
    assert.is_nil(r.units["1.8.0"])
    assert.are.equal("Actaris", r.vendor)
    assert.are.equal(0, r.obis["F.F"])
  end)

  it("names L+G lines: the C.1.0 meter number, tariffs; past values stay in obis", function()
    assert_zmd405(assert(han.decode("/" .. ZMD405.ident .. "\r\n\r\n" .. ZMD405.data)))
  end)

  it("leaves codes it does not know unnamed, whatever their shape", function()
    local r = assert(han.decode("/ABC5x\r\n\r\nL.1.0(5)\r\n1.8.0*12(7*kWh)\r\n1x.8.0(8*kWh)\r\n"
      .. "2.8.0(9*kWh)\r\n!\r\n"))
    assert.are.same({ "energy_export", "list", "meter_type", "obis", "units" },
      (function()
        local keys = {}
        for k in pairs(r) do keys[#keys + 1] = k end
        table.sort(keys)
        return keys
      end)())
    assert.are.equal(9, r.energy_export)
  end)
end)
