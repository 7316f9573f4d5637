-- han.luacore picks its bit operations once at load time. Load fresh copies of it as a
-- controller would see it (no bit library at all; LuaBitOp with signed results; bit32)
-- and check they compute what the normal copy computes.
local H = require("helpers")

local arith_xor = H.xor

-- LuaBitOp semantics: results are signed 32-bit numbers.
local function signed(x) return x >= 2147483648 and x - 4294967296 or x end
local fake_bitop = { bxor = function(a, b) return signed(arith_xor(a, b)) end }
local fake_bit32 = { bxor = arith_xor }

-- Load lua/han/luacore.lua in an environment claiming Lua 5.1 or 5.2 with the given
-- bit libraries (nil: none).
local function load_luacore(version, bit, bit32)
  local env = setmetatable({ _VERSION = version, bit32 = bit32 }, { __index = _G })
  env._G = env
  env.require = function(name)
    if name == "bit" then
      if bit then return bit end
      error("module 'bit' not found")
    end
    return require(name)
  end
  local src = H.read_file("lua/han/luacore.lua")
  local chunk
  if setfenv then
    chunk = assert(loadstring(src, "=luacore"))
    setfenv(chunk, env)
  else
    chunk = assert(load(src, "=luacore", "t", env))
  end
  return chunk()
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
