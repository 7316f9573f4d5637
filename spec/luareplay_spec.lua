-- han.luareplay: the pure-Lua core reads a body laid out as one it has named before value
-- by value. Whatever it reads that way must be what the C core reads from the same bytes.
local H = require("helpers")
local C = require("han.core")
local L = require("han.luacore")
local replay = require("han.luareplay")
local plan = require("han.decode").plan

-- Both cores' readings of s under plan p, comparable.
local function readings(s, p)
  local a, pa = C.reading(s, p)
  local b, pb = L.reading(s, p)
  return H.canon({ a, type(pa) == "table" and pa.id or pa }, C.null),
    H.canon({ b, type(pb) == "table" and pb.id or pb }, L.null)
end

-- Runs fn with replay's functions watched: how many readings came from a layout, how
-- many bodies found none, and the last layout kept.
local function watched(fn)
  local reading, learn = replay.reading, replay.learn
  local seen = { hits = 0, misses = 0 }
  replay.reading = function(...)
    local r, P, again = reading(...)
    if r then seen.hits = seen.hits + 1 else seen.misses = seen.misses + 1 end
    return r, P, again
  end
  replay.learn = function(...)
    seen.layout = learn(...)
    return seen.layout
  end
  local ok, err = pcall(fn)
  replay.reading, replay.learn = reading, learn
  assert(ok, err)
  return seen
end

-- An HDLC frame with its FCS made good again after bytes inside it changed.
local function with_fcs(s)
  if s:byte(1) ~= 0x7E then return s end
  local fcs = C.crc16(s, 2, -4)
  return s:sub(1, -4) .. string.char(fcs % 256, math.floor(fcs / 256)) .. s:sub(-1)
end

local function set_byte(s, i, b)
  return s:sub(1, i - 1) .. string.char(b) .. s:sub(i + 1)
end

-- han.decode's plan anew: the layouts are kept per plan, and none yet for this one.
local function fresh_plan()
  local p = {}
  for k, v in pairs(plan) do p[k] = v end
  return p
end

-- The vectors core.reading names, each with a plan of its own and the layout the Lua
-- core kept of it (nil when it keeps none).
local function layouts()
  local out = {}
  for _, rec in ipairs(H.frames()) do
    if C.reading(rec.raw, plan) then
      local p = fresh_plan()
      local seen = watched(function() L.reading(rec.raw, p) end)
      out[#out + 1] = { raw = rec.raw, plan = p, layout = seen.layout }
    end
  end
  return out
end

-- Is position i one of the layout's bytes that are no value?
local function other(layout, i)
  local o = layout.other
  for k = 1, #o, 3 do
    if i >= o[k] and i <= o[k + 1] then return true end
  end
  return false
end

-- Read s right after the vector v, so that v's layout is the one kept: what was watched,
-- and whether both cores read s alike.
local function after(v, s)
  L.reading(v.raw, v.plan)
  local a, b
  local seen = watched(function() a, b = readings(s, v.plan) end)
  return seen, H.deep_equal(a, b)
end

-- n frames that mutate(v, rand) makes of random vectors v (FCS made good), each read
-- right after its vector: how many came from a layout, how many did not, and how many
-- the two cores read differently.
local function trial(n, seed, mutate)
  local rand, vs = H.rng(seed), layouts()
  local hits, misses, differences = 0, 0, 0
  for _ = 1, n do
    local v = vs[rand(#vs)]
    local seen, same = after(v, with_fcs(mutate(v, rand)))
    hits, misses = hits + seen.hits, misses + seen.misses
    if not same then differences = differences + 1 end
  end
  return hits, misses, differences
end

-- Read s three times under a plan of its own, both cores alike each time: what was
-- watched.
local function thrice(s)
  local p = fresh_plan()
  return watched(function()
    for _ = 1, 3 do
      local a, b = readings(s, p)
      assert.are.same(a, b)
    end
  end)
end

describe("han.luareplay", function()
  it("keeps the layout of every vector and reads it again to the same reading", function()
    local vs = layouts()
    assert.is_true(#vs > 100)
    for i, v in ipairs(vs) do
      assert.is_table(v.layout, "vector " .. i .. " kept")
      local a, b
      local seen = watched(function() a, b = readings(v.raw, v.plan) end)
      assert.are.equal(1, seen.hits, "vector " .. i .. " read from its layout")
      assert.are.same(a, b, "vector " .. i)
    end
  end)

  it("reads other values in a layout as the C core reads them (4,000 frames)", function()
    local hits, _, differences = trial(4000, 5, function(v, rand)
      local s, layout = v.raw, v.layout
      for _ = 1, rand(4) do
        local i = layout.p + rand(layout.last - layout.p + 1) - 1
        if not other(layout, i) then s = set_byte(s, i, rand(256) - 1) end
      end
      return s
    end)
    assert.are.equal(0, differences)
    assert.are.equal(4000, hits)
  end)

  it("walks a body again when any of its other bytes differs (2,000 frames)", function()
    local _, misses, differences = trial(2000, 11, function(v, rand)
      local o = v.layout.other
      local k = 3 * (rand(#o / 3) - 1) + 1
      local i = o[k] + rand(o[k + 1] - o[k] + 1) - 1
      return set_byte(v.raw, i, (v.raw:byte(i) + rand(255)) % 256)
    end)
    assert.are.equal(0, differences)
    assert.are.equal(2000, misses)
  end)

  it("keeps the first of two lists of one length in turn, and learns a list that changed",
    function()
      local kamstrup
      for _, v in ipairs(layouts()) do
        if v.raw:find("Kamstrup_V0001", 1, true) and #v.raw == 228 then kamstrup = v.raw end
      end
      local at = assert(kamstrup:find("\1\1\4\7\0\255", 1, true)) + 5
      local twin = with_fcs(set_byte(kamstrup, at, 254))
      local p = fresh_plan()
      local function read(s)
        local seen = watched(function()
          local a, b = readings(s, p)
          assert.are.same(a, b)
        end)
        return (seen.hits == 1 and "hit" or "miss") .. (seen.layout and ", learnt" or "")
      end
      assert.are.same({ "miss, learnt", "miss", "hit", "miss", "hit" },
        { read(kamstrup), read(twin), read(kamstrup), read(twin), read(kamstrup) })
      assert.are.same({ "miss", "miss, learnt", "hit", "miss" },
        { read(twin), read(twin), read(twin), read(kamstrup) })
    end)

  it("keeps no layout of a body longer than any list a meter pushes", function()
    local code = "\9\6\1\0\96\1\0\255"
    for _, size in ipairs({ 2000, 2040 }) do
      local seen = thrice("\15\0\0\0\1\0" .. "\2\2" .. code .. "\9\130"
        .. string.char(math.floor(size / 256), size % 256) .. string.rep("x", size))
      assert.are.equal(size == 2000 and 2 or 0, seen.hits, size .. " bytes")
    end
  end)

  it("keeps no layout with a BCD or boolean value, which may be bad or read apart", function()
    local code = "\9\6\1\0\1\8\0\255"
    for _, value in ipairs({ "\13\18", "\3\1" }) do
      local seen = thrice("\15\0\0\0\1\0" .. "\2\2" .. code .. value)
      assert.are.equal(0, seen.hits)
      assert.is_nil(seen.layout)
    end
    local bad_bcd = "\15\0\0\0\1\0" .. "\2\2" .. code .. "\13\175"
    local a, b = readings(bad_bcd, plan)
    assert.are.same(a, b)
    assert.are.same({ nil, "bad BCD", "bad_bcd" }, { L.reading(bad_bcd, plan) })
  end)
end)
