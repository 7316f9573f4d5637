-- The 32-bit pitfall of ARM controllers: lua_Number is a double but C `long` and
-- lua_Integer may be 32 bits, and LuaBitOp works on signed 32-bit integers. Values at and
-- above 2^31 must come out right on every runtime and backend.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local core = han.core

local function hexstr(s) return H.hex(s) end
local function u32(v) return ("06%08X"):format(v) end

-- A Kaifa 1-phase hourly list (14 bare values) as a bare APDU, registers in Wh.
local function kaifa_hourly(import_wh, export_wh)
  local parts = {
    "0F40000000", "00", "020E",
    "0907" .. hexstr("KFM_001"), "0910" .. hexstr("6970631401753985"),
    "0908" .. hexstr("MA105H2E"),
    u32(3000), u32(0), u32(10), u32(0), u32(13100), u32(2301),
    "090C07E6010A01000000FF800000",
    u32(import_wh), u32(export_wh), u32(0), u32(0),
  }
  return H.unhex(table.concat(parts))
end

describe("values at and above 2^31 (" .. H.backend .. " backend)", function()
  it("decodes u32 and i32 extremes exactly", function()
    local n = assert(core.notification(H.unhex("0F40000000 00 0204 0680000000 06FFFFFFFF "
      .. "0580000000 057FFFFFFF")))
    assert.are.same({ 2147483648, 4294967295, -2147483648, 2147483647 }, n.body)
    assert.are.equal(0x40000000, n.invoke_id)
  end)

  it("decodes 64-bit registers exactly up to 2^53", function()
    local n = assert(core.notification(H.unhex("0F80000000 00 0203 15001FFFFFFFFFFFFF "
      .. "14FFE0000000000001 150000000100000000")))
    assert.are.same({ 2 ^ 53 - 1, -(2 ^ 53) + 1, 2 ^ 32 }, n.body)
    assert.are.equal(2147483648, n.invoke_id)
  end)

  it("gives energy registers above 2^31 Wh in kWh", function()
    local r = assert(han.decode(kaifa_hourly(0xF0000000, 0x80000001)))
    assert.are.equal("KFM_001", r.list)
    assert.are.equal(4026531.84, r.energy_import)
    assert.are.equal(2147483.649, r.energy_export)
    assert.are.equal(13.1, r.current_l1)
    assert.are.equal(230.1, r.voltage_l1)
  end)

  it("computes CRCs whose values have the top bit set", function()
    for _, rec in ipairs(H.frames()) do
      local crc = core.crc16(rec.raw, 2, -4)
      assert.are.equal(rec.raw:byte(-3) + 256 * rec.raw:byte(-2), crc)
      assert.is_true(crc >= 0 and crc < 65536)
    end
  end)
end)
