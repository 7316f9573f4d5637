-- A noisy line: over ten thousand real frames in their real order, with faults injected at
-- a fixed seed. Every untouched frame must come out exactly once, and nothing damaged.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)
local core = han.core

local rng = H.rng

-- Real pushes: the Kaifa hour-by-hour capture, then Aidon and Kamstrup captures.
local function real_frames()
  local out = {}
  for _, name in ipairs({ "KFM_001-raw-20170915.bin", "AIDON_V0001-6525-3-FC722-ok.bin",
    "Kamstrup_V0001-6841121BN243101040-1-ok-not-norwegian.bin" }) do
    local data = H.read_file(H.vectors_dir .. "/streams/" .. name):sub(1, 600000)
    for frame in core.framer():frames(data) do out[#out + 1] = frame end
  end
  return out
end

-- Damage inside a frame (never its flags, which a neighbour's flag can stand in for).
local faults = {
  function(f, rand)                                   -- a single bit flip
    local i = rand(#f - 2) + 1
    local b = f:byte(i)
    local bit = 2 ^ (rand(8) - 1)
    local v = math.floor(b / bit) % 2 == 1 and b - bit or b + bit
    return f:sub(1, i - 1) .. string.char(v) .. f:sub(i + 1)
  end,
  function(f, rand)                                   -- a dropped byte
    local i = rand(#f - 2) + 1
    return f:sub(1, i - 1) .. f:sub(i + 1)
  end,
  function(f, rand)                                   -- a duplicated byte
    local i = rand(#f - 2) + 1
    return f:sub(1, i) .. f:sub(i)
  end,
  function(f, rand)                                   -- truncated
    return f:sub(1, rand(#f - 2))
  end,
}

-- Garbage between frames: random bytes, flags, and fake frame headers.
local function garbage(rand)
  local parts = {}
  for i = 1, rand(40) do
    local k = rand(4)
    if k == 1 then parts[i] = "\126"
    elseif k == 2 then parts[i] = "\126\160" .. string.char(rand(256) - 1)
    elseif k == 3 then parts[i] = "\126\126\126"
    else parts[i] = string.char(rand(256) - 1, rand(256) - 1, rand(256) - 1) end
  end
  return table.concat(parts)
end

describe("the framer on a noisy line (" .. H.backend .. " backend)", function()
  it("delivers every untouched frame once and no damaged one", function()
    local frames = real_frames()
    assert.is_true(#frames >= 10000)
    local rand = rng(20240601)
    local parts, expected, touched = {}, {}, 0
    for _, f in ipairs(frames) do
      local r = rand(100)
      if r <= 6 then
        parts[#parts + 1] = faults[rand(#faults)](f, rand)
        touched = touched + 1
      else
        parts[#parts + 1] = f
        expected[#expected + 1] = f
      end
      if rand(100) <= 4 then parts[#parts + 1] = garbage(rand) end
    end
    local data = table.concat(parts)
    local framer = core.framer()
    local got, pos, most = {}, 1, 0
    while pos <= #data do
      local n = rand(700)
      for frame in framer:frames(data:sub(pos, pos + n - 1)) do got[#got + 1] = frame end
      pos = pos + n
      local b = framer:stats().bytes_buffered
      if b > most then most = b end
    end
    assert.is_true(touched > 500)
    assert.are.equal(#expected, #got)
    for i = 1, #expected do
      if got[i] ~= expected[i] then
        error(("frame %d differs from the clean copy"):format(i))
      end
    end
    for i = 1, #got, 97 do
      assert.are.same(han.decode(expected[i]), han.decode(got[i]))
    end
    local st = framer:stats()
    assert.are.equal(#data, st.bytes_in)
    assert.are.equal(st.bytes_in, st.bytes_framed + st.bytes_discarded + st.bytes_buffered)
    assert.is_true(st.bad_fcs + st.bad_hcs + st.bad_length > 0)
    assert.is_true(most <= 2049)
  end)

  -- Streams crafted so that each candidate is long and fails late, at its end: taken
  -- again from each next start byte, they cost time quadratic in the candidate's length.
  -- The patterns of bench/streams.lua (HDLC headers announcing 2047 bytes with a flag at
  -- each end and a wrong FCS; M-Bus headers announcing 255 bytes; P1 lines of "/AAA"
  -- running to the telegram bound) and variants that fail on the closing flag, on the
  -- M-Bus sum, on a P1 CRC. Each must take at most a few times as long as real frames
  -- of its protocol, which the framer checks byte for byte.
  it("frames crafted streams about as fast as real ones", function()
    local size = 300000
    local function fill(s) return s:rep(math.ceil(size / #s)):sub(1, size) end
    local function header(fmt)
      local h = "\126" .. fmt .. "\3\3\19"
      local c = core.crc16(h, 2)
      return h .. string.char(c % 256, math.floor(c / 256))
    end
    local mbus, p1 = {}, {}
    for _, rec in ipairs(H.jsonl("encrypted.jsonl")) do
      if rec.format == "mbus" then mbus[#mbus + 1] = H.unhex(rec.hex) end
    end
    for _, rec in ipairs(H.jsonl("p1.jsonl")) do
      if rec.crc_ok == true then p1[#p1 + 1] = rec.text end
    end
    local cases = {
      { "hdlc", table.concat(real_frames(), "", 1, 2000), header("\167\255"),
        header("\167\254") },
      { "mbus", table.concat(mbus), "\104\255\255\104", "\104\255\255\104\22\0\0\0" },
      { "p1", table.concat(p1), "x" .. ("/AAA"):rep(500) .. "\r\n",
        "x" .. ("/AAA"):rep(500) .. "\r\n!1234\r\n" },
    }
    local function seconds(protocol, data) return H.frame_seconds(core, protocol, data) end
    for _, case in ipairs(cases) do
      local protocol = case[1]
      local real, frames = seconds(protocol, fill(case[2]))
      assert.is_true(frames > 100)
      for k = 3, 4 do
        local crafted, none = seconds(protocol, fill(case[k]))
        assert.are.equal(0, none)
        assert.is_true(crafted <= 10 * real + 0.01, ("%s pattern %d: %.3f s, real frames %.3f s")
          :format(protocol, k - 2, crafted, real))
      end
    end
  end)

  it("keeps memory bounded however long the garbage", function()
    local rand = rng(7)
    local chunk = {}
    for i = 1, 4096 do
      chunk[i] = rand(5) == 1 and "\126\160\255" or string.char(rand(256) - 1)
    end
    chunk = table.concat(chunk)
    local framer = core.framer()
    local before = H.heap()
    for _ = 1, 120 do
      framer:push(chunk)
      assert.is_true(framer:stats().bytes_buffered <= 2049)
    end
    assert.is_true(H.heap() - before < 64)   -- KiB
    local good = real_frames()[1]
    assert.are.equal(1, framer:push("\126" .. good))
  end)
end)
