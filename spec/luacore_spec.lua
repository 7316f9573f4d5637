-- han.luacore picks its CRCs' bit operations once at load time. Load fresh copies of
-- han.luacore.crc16 as a controller would see it (no bit library at all; LuaBitOp with
-- signed results; bit32) and check they compute what the normal copy computes.
local H = require("helpers")

local fake_bitop, fake_bit32 = H.fake_bitop, H.fake_bit32

describe("han.luacore.crc16 bit-library selection", function()
  local reference = require("han.luacore.crc16")
  local variants = {
    { "no bit library (plain Lua 5.1)", "Lua 5.1", nil, nil },
    { "LuaBitOp with signed results (LogicMachine)", "Lua 5.1", fake_bitop, nil },
    { "bit32 (Lua 5.2)", "Lua 5.2", nil, fake_bit32 },
  }
  for _, v in ipairs(variants) do
    it("computes the same CRCs with " .. v[1], function()
      local crc = H.load_with_bits("lua/han/luacore/crc16.lua", v[2], v[3], v[4])
      assert.are.equal(0x906E, crc.x25("123456789", 1, 9))
      assert.are.equal(0xBB3D, crc.arc("123456789", 1, 9))
      assert.are.equal(0x2189, crc.kermit("123456789", 1, 9))
      local xor5, T0 = crc.combiner()   -- what han.luacore.sml joins CRCs with
      assert.are.equal(0x8408, T0[128])
      assert.are.equal(1, xor5(0xFFFF, 0xFFFE, 0x1234, 0x1234, 0))
      for i, rec in ipairs(H.frames()) do
        local n = #rec.raw
        assert.are.equal(reference.x25(rec.raw, 2, n - 3), crc.x25(rec.raw, 2, n - 3),
          "vector " .. i)
        assert.are.equal(reference.arc(rec.raw, 1, n), crc.arc(rec.raw, 1, n), "vector " .. i)
      end
      -- inputs of 1 KiB and more: slicing by 8 where a bit library is, its tables built
      -- with the first; shorter ones keep the tables they had
      local parts = {}
      for _, rec in ipairs(H.frames()) do parts[#parts + 1] = rec.raw end
      local long = table.concat(parts):sub(1, 2100)
      for _, n in ipairs({ 1023, 1024, 1025, 2100 }) do
        local s = long:sub(1, n)
        assert.are.equal(H.crc16(s, 0x8408, 0xFFFF, 0xFFFF), crc.x25(long, 1, n), n)
        assert.are.equal(H.crc16(s, 0x8408, 0, 0), crc.kermit(long, 1, n), n)
        assert.are.equal(H.arc(s), crc.arc(long, 1, n), n)
      end
      assert.are.equal(0x906E, crc.x25("123456789", 1, 9))
    end)
  end
end)
