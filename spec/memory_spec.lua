-- A resident script decodes forever: memory must not grow with the frames decoded.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)

describe("memory (" .. H.backend .. " backend)", function()
  it("stays bounded over 100,000 decoded frames", function()
    -- the frames of 24 vectors: fewer layouts than the namer keeps compiled, as a
    -- resident script reading one meter meets (its bound is tested in naming_spec)
    local frames = {}
    for _, rec in ipairs(H.frames()) do
      if rec.reference ~= H.json_null and #frames < 24 then frames[#frames + 1] = rec.raw end
    end
    local framer = han.core.framer()
    local function work(n)
      for i = 1, n do
        local f = frames[i % #frames + 1]
        framer:push(f)
        assert(han.decode(framer:pop()))
      end
    end
    -- warm up for several collector cycles, so that the runtime's own tables (LuaJIT's
    -- string table grows with the garbage between cycles) reach their working size
    -- before the measured run
    work(20000)
    local base = H.heap()
    work(100000)
    local grown = H.heap() - base
    assert.is_true(grown < 8, ("heap grew by %.1f KiB"):format(grown))
    assert.are.equal(0, framer:stats().bytes_buffered)   -- the last flag is framed already
  end)
end)
