-- The SML framer (core.framer{protocol = "sml"}, and "auto"): every capture of
-- streams/sml yields exactly the transmissions the vectors' README lists, the same from
-- both cores in any chunking; on a noisy line every intact transmission comes out once
-- and no damaged one, in bounded memory; crafted streams cost linear time.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local core = han.core
local C, L = require("han.core"), require("han.luacore")

local dir = H.vectors_dir .. "/streams/sml/"
local rng = H.rng

-- The transmissions of data pushed in chunks of rand(max) bytes, and the stats.
local function run(c, data, protocol, rand, max)
  local f = c.framer({ protocol = protocol })
  local out, pos = {}, 1
  while pos <= #data do
    local n = rand and rand(max) or #data
    for t in f:frames(data:sub(pos, pos + n - 1)) do out[#out + 1] = t end
    pos = pos + n
  end
  return out, f:stats(), f:missing()
end

-- What streams/sml's README says each capture holds: count, size, and checks.
local STREAMS = {
  ["emh_ehz-h_4k.bin"] = { 12, 316, function(r, i)
    return i ~= 1 or r.obis["1.0.1.8.0.255"] == 8391648.8 end },
  ["iskra_mt691_4k.bin"] = { 18, 216 },
  ["holley_dtz541_zdba_4k.bin"] = { 7, 528, function(r) return r.voltage_l1 ~= nil end },
  -- the README names the two after the corrupt first one; two more corrupt ones follow
  -- (at 1953 and 2452, CRCs wrong), then two more good ones
  ["easymeter_q3a_4k.bin"] = { 4, 504, function(r, i)
    local want = ({ 2941646.1614, 2941646.3734 })[i]
    return want == nil or r.obis["1.0.1.8.0.255"] == want end },
  ["dzg_dvs7420_lost_bytes.bin"] = { 0 },
  ["mixed_gaps_noise.bin"] = { 3 },
  ["synthetic_escape.bin"] = { 1, 188 },
}

describe("the SML framer (" .. H.backend .. " backend)", function()
  it("yields exactly the transmissions of every capture", function()
    for name, want in pairs(STREAMS) do
      local data = H.read_file(dir .. name)
      for _, protocol in ipairs({ "sml", "auto" }) do
        local got, st = run(core, data, protocol)
        assert.are.equal(want[1], #got, name)
        for i, t in ipairs(got) do
          if want[2] then assert.are.equal(want[2], #t, name) end
          local r = assert(han.decode(t))
          if want[3] then assert(want[3](r, i), name .. " " .. i) end
          assert.truthy(data:find(t, 1, true))
        end
        assert.are.equal(#data, st.bytes_in)
        assert.are.equal(st.bytes_in, st.bytes_framed + st.bytes_discarded + st.bytes_buffered)
        if #got > 0 then assert.are.equal("sml", st.protocol) end
      end
    end
    local mixed = run(core, H.read_file(dir .. "mixed_gaps_noise.bin"), "sml")
    assert.are.same({ 384, 232, 684 }, { #mixed[1], #mixed[2], #mixed[3] })
    assert.are.equal("kermit", select(3, core.sml(mixed[3])))
    local dzg = select(2, run(core, H.read_file(dir .. "dzg_dvs7420_lost_bytes.bin"), "sml"))
    assert.are.equal(7, dzg.bad_length)      -- 8 starts, each cut short by the next
  end)

  it("gives the same from both cores in any chunking", function()
    local rand = rng(5)
    for name in pairs(STREAMS) do
      local data = H.read_file(dir .. name)
      local seed = rand(1000)
      local a = { run(C, data, "sml", rng(seed), 300) }
      local b = { run(L, data, "sml", rng(seed), 300) }
      assert.are.same(a, b, name)
      assert.are.same(a[1], (run(C, data, "sml")), name)   -- whatever the chunking
    end
  end)

  it("asks for the start, then whole groups", function()
    local f = core.framer({ protocol = "sml" })
    assert.are.equal(1, f:missing())
    f:push("\27\27\27")
    assert.are.equal(5, f:missing())
    f:push("\27\1\1\1\1\118")
    assert.are.equal(3, f:missing())
  end)

  it("delivers every intact transmission on a noisy line once, no damaged one", function()
    local good = {}
    for _, r in ipairs(H.sml_vectors()) do
      if r.crc_ok then good[#good + 1] = r.raw end
    end
    local rand = rng(20240607)
    local parts, expected, touched = {}, {}, 0
    for _ = 1, 600 do
      local t = good[rand(#good)]
      local r = rand(100)
      if r <= 12 then                       -- a bit flipped, or a byte lost, inside
        local i = rand(#t - 9) + 8
        if r <= 6 then
          local b = t:byte(i)
          local bit = 2 ^ (rand(8) - 1)
          t = t:sub(1, i - 1) .. string.char(math.floor(b / bit) % 2 == 1 and b - bit
            or b + bit) .. t:sub(i + 1)
        else
          t = t:sub(1, i - 1) .. t:sub(i + 1)
        end
        touched = touched + 1
      else
        expected[#expected + 1] = t
      end
      parts[#parts + 1] = t
      if rand(100) <= 10 then               -- noise: ambient light, idle bytes, stray 1B
        local noise = {}
        for k = 1, rand(30) do
          noise[k] = rand(4) == 1 and "\27\27\27\27" or string.char(rand(256) - 1)
        end
        parts[#parts + 1] = table.concat(noise)
      end
    end
    local data = table.concat(parts)
    local f = core.framer({ protocol = "sml" })
    local got, pos, most = {}, 1, 0
    while pos <= #data do
      local n = rand(700)
      for t in f:frames(data:sub(pos, pos + n - 1)) do got[#got + 1] = t end
      pos = pos + n
      most = math.max(most, f:stats().bytes_buffered)
    end
    assert.is_true(touched > 50)
    assert.are.equal(#expected, #got)
    for i = 1, #expected do assert(got[i] == expected[i], "transmission " .. i) end
    local st = f:stats()
    assert.is_true(st.bad_fcs + st.bad_length >= touched / 2)
    assert.is_true(most <= 16385)
  end)

  -- Streams crafted so that candidates are long and fail late, or are cut short again
  -- and again: each must take at most a few times as long as real transmissions.
  it("frames crafted streams about as fast as real ones", function()
    local size = 300000
    local function fill(s) return s:rep(math.ceil(size / #s)):sub(1, size) end
    local start = "\27\27\27\27\1\1\1\1"
    local real = {}
    for _, r in ipairs(H.sml_vectors()) do real[#real + 1] = r.raw end
    local cases = {
      start .. ("\0"):rep(16380),                       -- runs to the bound
      start .. ("\27\27\27\0"):rep(4090),               -- 1B everywhere, no escape
      start .. "\27\27\27\27\26\0\0\0",                 -- ends with a wrong CRC
      "\1" .. start,                                    -- starts off the grid, cut short
      ("\27"):rep(64) .. "\1",                          -- 1B that start nothing
    }
    local function seconds(data) return H.frame_seconds(core, "sml", data) end
    local base, frames = seconds(fill(table.concat(real)))
    assert.is_true(frames > 100)
    for k, pattern in ipairs(cases) do
      local t, none = seconds(fill(pattern))
      assert.are.equal(0, none)
      assert.is_true(t <= 10 * base + 0.02, ("pattern %d: %.3f s, real %.3f s")
        :format(k, t, base))
    end
  end)

  it("keeps memory bounded however long the garbage", function()
    local f = core.framer({ protocol = "sml" })
    local before = H.heap()
    local chunk = "\27\27\27\27\1\1\1\1" .. ("\0"):rep(4088)
    for _ = 1, 40 do
      f:push(chunk:sub(9))                              -- a start, then no end for long
      assert.is_true(f:stats().bytes_buffered <= 16385)
    end
    f:push(chunk)
    assert.is_true(H.heap() - before < 96)             -- KiB: two bounds' worth at most
  end)
end)
