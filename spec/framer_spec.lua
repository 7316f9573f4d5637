-- The streaming framer of the han.core contract, on real captures and hostile input.
local H = require("helpers")
local core = H.core()

-- Feed `data` in chunks whose sizes come from `sizes(i)`; return frames and stats.
local function run(data, sizes, opts)
  local f = core.framer(opts)
  local out, i, pos = {}, 0, 1
  while pos <= #data do
    i = i + 1
    local n = sizes(i)
    for frame in f:frames(data:sub(pos, pos + n - 1)) do out[#out + 1] = frame end
    pos = pos + n
  end
  return out, f:stats(), f
end

local function whole() return 1073741824 end
local function one() return 1 end
local function random_sizes(seed)
  math.randomseed(seed)
  return function() return math.random(1, 300) end
end

local function balanced(st)
  return st.bytes_in == st.bytes_framed + st.bytes_discarded + st.bytes_buffered
end

local function frames_of(list)
  local out = {}
  for i, rec in ipairs(H.frames()) do
    if rec.reference ~= H.json_null and (not list or list[i]) then out[#out + 1] = rec.raw end
  end
  return out
end

describe("han.core framer (" .. H.backend .. " backend)", function()
  it("finds the README's count of valid frames in every capture", function()
    for _, s in ipairs(H.streams()) do
      local data = H.read_file(s.path)
      assert.are.equal(s.bytes, #data)
      local frames, st = run(data, whole)
      assert.are.equal(s.valid, #frames, s.name)
      assert.are.equal(s.valid, st.frames_ok, s.name)
      assert.is_true(balanced(st), s.name)
      for _, fr in ipairs(frames) do
        assert.is_table(core.frame(fr))
      end
    end
  end)

  it("gives the same frames and counters for any chunking", function()
    for _, s in ipairs(H.streams()) do
      local data = H.read_file(s.path):sub(1, 6000)
      local a, sa = run(data, whole)
      local b, sb = run(data, one)
      local c, sc = run(data, random_sizes(#data))
      assert.are.same(a, b, s.name)
      assert.are.same(a, c, s.name)
      assert.are.same(sa, sb, s.name)
      assert.are.same(sa, sc, s.name)
    end
  end)

  it("counts the damage in the TSS721 capture", function()
    local frames, st
    for _, s in ipairs(H.streams()) do
      if s.name:find("TSS721") then frames, st = run(H.read_file(s.path), whole) end
    end
    assert.are.equal(1349, #frames)
    assert.is_true(st.bad_fcs > 0)
    assert.is_true(st.bytes_discarded > 0)
    assert.is_true(balanced(st))
  end)

  it("splits frames back-to-back with one shared flag, two flags, and garbage", function()
    local list = frames_of()
    local shared, doubled, noisy = {}, {}, {}
    for i, fr in ipairs(list) do
      shared[#shared + 1] = i == 1 and fr or fr:sub(2)
      doubled[#doubled + 1] = fr
      noisy[#noisy + 1] = "\126\126\000\126\160garbage\126" .. fr .. "\255\126"
    end
    for _, data in ipairs({ table.concat(shared), table.concat(doubled), table.concat(noisy) }) do
      local got, st = run(data, random_sizes(7))
      assert.are.same(list, got)
      assert.is_true(balanced(st))
    end
  end)

  it("tells how many bytes it needs", function()
    local f = core.framer()
    local fr = frames_of()[1]
    assert.are.equal(1, f:missing())
    f:push("xyz")
    assert.are.equal(1, f:missing())
    f:push(fr:sub(1, 1))
    assert.are.equal(2, f:missing())
    f:push(fr:sub(2, 3))
    assert.are.equal(#fr - 3, f:missing())
    f:push(fr:sub(4, 20))
    assert.are.equal(#fr - 20, f:missing())
    assert.are.equal(1, f:push(fr:sub(21)))
    assert.are.equal(fr, f:pop())
    assert.is_nil(f:pop())
    assert.are.equal(2, f:missing())   -- the closing flag may open the next frame
  end)

  it("queues frames until popped", function()
    local list = frames_of()
    local f = core.framer()
    assert.are.equal(3, f:push(list[1] .. list[2] .. list[3]))
    assert.are.equal(list[1], f:pop())
    assert.are.equal(4, f:push(list[4] .. list[5]))
    assert.are.equal(list[2], f:pop())
    assert.are.equal(list[3], f:pop())
    assert.are.equal(list[4], f:pop())
    assert.are.equal(list[5], f:pop())
    assert.is_nil(f:pop())
  end)

  it("drops a partial frame on reset and keeps the counters balanced", function()
    local fr = frames_of()[1]
    local f = core.framer()
    f:push(fr:sub(1, 100))
    assert.are.equal(100, f:stats().bytes_buffered)
    f:reset()
    local st = f:stats()
    assert.are.equal(0, st.bytes_buffered)
    assert.are.equal(100, st.bytes_discarded)
    assert.is_true(balanced(st))
    assert.are.equal(1, f:push(fr))
  end)

  it("undoes an adapter that inserts 0D before 0A when asked", function()
    local list = {}
    for _, fr in ipairs(frames_of()) do
      if fr:find("\010") then list[#list + 1] = fr end
    end
    assert.is_true(#list > 5)
    local data = table.concat(list):gsub("\010", "\013\010")
    local plain = run(data, whole)
    assert.is_true(#plain < #list)
    local fixed, st = run(data, random_sizes(3), { cr_lf = true })
    assert.are.same(list, fixed)
    assert.is_true(balanced(st))
    local _, held = run("\126\013", whole, { cr_lf = true })
    assert.are.equal(2, held.bytes_buffered)   -- the flag and the held 0D
  end)

  it("reassembles HDLC segments into one LLC + APDU", function()
    local info = assert(core.frame(frames_of()[1])).info
    local function frame(part, segmented)
      local len = 2 + 3 + 2 + #part + 2
      local fmt = 0xA000 + (segmented and 0x800 or 0) + len
      local head = string.char(math.floor(fmt / 256), fmt % 256) .. "\043\033\019"
      local hcs = core.crc16(head)
      local body = head .. string.char(hcs % 256, math.floor(hcs / 256)) .. part
      local fcs = core.crc16(body)
      return "\126" .. body .. string.char(fcs % 256, math.floor(fcs / 256)) .. "\126"
    end
    local data = frame(info:sub(1, 80), true) .. frame(info:sub(81, 150), true)
      .. frame(info:sub(151), false)
    local got, st = run(data, one)
    assert.are.same({ info }, got)
    assert.are.equal(3, st.segments_joined)
    assert.are.equal(3, st.frames_ok)
    local d = assert(core.notification(got[1]))
    assert.are.same(assert(core.notification(frames_of()[1])).body, d.body)
  end)

  it("keeps its buffer bounded whatever the garbage", function()
    local junk = ("\126\167\255\001\003\126\160\007"):rep(4096)
    local f = core.framer()
    local most = 0
    for _ = 1, 8 do
      for i = 1, #junk, 977 do
        f:push(junk:sub(i, i + 976))
        local b = f:stats().bytes_buffered
        if b > most then most = b end
      end
    end
    local st = f:stats()
    assert.is_true(most <= 2049)
    assert.are.equal(0, st.frames_ok)
    assert.is_true(balanced(st))
    assert.are.equal(1, f:push(frames_of()[1]))
  end)

  it("holds at most 8 KiB once it has framed real frames", function()
    local parts = {}
    for _, s in ipairs(H.streams()) do parts[#parts + 1] = H.read_file(s.path):sub(1, 30000) end
    local data = table.concat(parts)
    local function heap()
      H.heap()                           -- a C framer collected is freed by the next cycle
      return H.heap()
    end
    for _, size in ipairs({ 97, #data }) do
      local function frame_all(f)
        local n = 0
        for i = 1, #data, size do
          for _ in f:frames(data:sub(i, i + size - 1)) do n = n + 1 end
        end
        return n
      end
      frame_all(core.framer())           -- the runtime's own tables reach their size
      local before = heap()
      local f = core.framer()
      assert.is_true(frame_all(f) > 1000)
      local used = heap() - before
      assert.is_true(used <= 8, ("%.1f KiB after pushes of %d bytes"):format(used, size))
      f:reset()
    end
  end)

  it("never delivers a damaged frame as good", function()
    local list = frames_of()
    math.randomseed(42)
    local parts = {}
    for i = 1, 300 do
      local fr = list[(i * 7) % #list + 1]
      local pos = math.random(1, #fr)
      parts[#parts + 1] = fr:sub(1, pos - 1) .. string.char((fr:byte(pos) + 1) % 256)
        .. fr:sub(pos + 1)
    end
    local clean = {}
    for _, fr in ipairs(list) do clean[fr] = true end
    local got, st = run(table.concat(parts), random_sizes(5))
    -- only a frame whose damage hit nothing but a flag (borrowed from a neighbour) comes out
    for _, fr in ipairs(got) do assert.is_true(clean[fr]) end
    assert.is_true(#got < 10)
    assert.is_true(balanced(st))
  end)
end)
