-- han.luacore picks its bit operations once at load time. Load fresh copies of it as a
-- controller would see it (no bit library at all; LuaBitOp with signed results; bit32)
-- and check they compute what the normal copy computes.
local H = require("helpers")

local fake_bitop, fake_bit32 = H.fake_bitop, H.fake_bit32

local function load_luacore(version, bit, bit32)
  return H.load_with_bits("lua/han/luacore.lua", version, bit, bit32)
end

describe("han.luacore bit-library selection", function()
  local reference = require("han.luacore")
  local variants = {
    { "no bit library (plain Lua 5.1)", "Lua 5.1", nil, nil },
    { "LuaBitOp with signed results (LogicMachine)", "Lua 5.1", fake_bitop, nil },
    { "bit32 (Lua 5.2)", "Lua 5.2", nil, fake_bit32 },
  }
  for _, v in ipairs(variants) do
    it("computes the same CRCs and readings with " .. v[1], function()
      local core = load_luacore(v[2], v[3], v[4])
      assert.are.equal(0x906E, core.crc16("123456789"))
      for i, rec in ipairs(H.frames()) do
        assert.are.equal(reference.crc16(rec.raw), core.crc16(rec.raw), "vector " .. i)
        local a, aerr = reference.decode(rec.raw)
        local b, berr = core.decode(rec.raw)
        assert.are.equal(aerr, berr)
        if a then assert.are.same(a.body[1], b.body[1]) end
        if a then assert.are.equal(#a.body, #b.body) end
      end
    end)
  end
end)
