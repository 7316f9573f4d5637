-- han.decode's core.reading on LuaJIT with the C core: the C core's records named in
-- compiled Lua (lua/han/ffireading.lua). The differential spec compares its readings
-- with both cores'; here: that han.decode uses it exactly there, and that it leaves
-- errors and bodies too big for its records to core.reading.
local H = require("helpers")
local backend = require("han.backend")
local plan = require("han.decode").plan

describe("han.backend.reading", function()
  it("is the FFI reading with the C core on LuaJIT, else core.reading", function()
    local jit_c = rawget(_G, "jit") ~= nil and backend.name == "c"
    assert.are.equal(not jit_c, backend.reading == backend.core.reading)
    if jit_c then
      assert.are.equal("userdata", type(backend.core.records))
    end
  end)
end)

if rawget(_G, "jit") then
  describe("han.ffireading on LuaJIT", function()
    local C = require("han.core")
    local asked = 0
    local reading = require("han.ffireading").new({ records = C.records, null = C.null,
      reading = function(...)
        asked = asked + 1
        return C.reading(...)
      end })

    it("names every vector the C core names without asking it", function()
      local named = 0
      for i, rec in ipairs(H.frames()) do
        local want, wp = C.reading(rec.raw, plan)
        asked = 0
        local got, gp = reading(rec.raw, plan)
        assert.are.same(want, got, "vector " .. i)
        assert.are.equal(wp, gp)
        if want then
          named = named + 1
          assert.are.equal(0, asked, "vector " .. i)
        end
      end
      assert.is_true(named >= 20)
    end)

    it("loads twice in one process, as a bundle beside the modules does", function()
      local again = dofile("lua/han/ffireading.lua").new(C)
      local raw = H.frames()[1].raw
      assert.are.same({ C.reading(raw, plan) }, { again(raw, plan) })
    end)

    it("gives the C core's errors and reads a body of 301 values through it", function()
      asked = 0
      assert.are.same({ C.reading("\126\160\7", plan) }, { reading("\126\160\7", plan) })
      assert.are.equal(1, asked)
      local pairs_ = {}
      for k = 1, 150 do
        pairs_[k] = "\9\6\1\1\99\7" .. string.char(k, 255) .. "\6\0\0\1" .. string.char(k)
      end
      local apdu = "\15\0\0\0\1\0" .. "\1\130\1\45" .. "\10\2AB" .. table.concat(pairs_)
      local want = assert(C.reading(apdu, plan))
      asked = 0
      assert.are.same(want, reading(apdu, plan))
      assert.are.equal(1, asked)
      assert.are.equal(256 + 150, want.obis["1.1.99.7.150.255"])
    end)
  end)
end
