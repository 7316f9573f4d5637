-- The C core and the pure-Lua core side by side: every vector, every capture and
-- thousands of seeded mutations must give identical results, error strings and codes
-- included (core.values: the leaves with their null positions, the key, time and src;
-- core.p1: the values, the key and the CRC), and han.decode's one namer the same
-- readings from the values of either.
local H = require("helpers")
local han = require("han")
local C = require("han.core")
local L = require("han.luacore")

local canon = H.canon

-- The results of C and Lua; "reading": han.decode with each core in turn.
local function both(fn, ...)
  if fn == "reading" then
    han.use_backend("c")
    local a = { canon({ han.decode(...) }, C.null) }
    han.use_backend("lua")
    local b = { canon({ han.decode(...) }, L.null) }
    han.use_backend(H.backend)
    return a, b
  end
  return { canon({ C[fn](...) }, C.null) }, { canon({ L[fn](...) }, L.null) }
end

local function agree(fn, ...)
  local a, b = both(fn, ...)
  return H.deep_equal(a, b)
end

local function flip(s, i, bit)
  local b = s:byte(i)
  local v = math.floor(b / 2 ^ bit) % 2 == 1 and b - 2 ^ bit or b + 2 ^ bit
  return s:sub(1, i - 1) .. string.char(v) .. s:sub(i + 1)
end

-- Seeded mutations of s: bit flips, truncations, length edits, inserted 7E, byte
-- insertions and deletions.
local function mutate(s, rand)
  if #s == 0 then return "\126" end
  local kind, i = rand(6), rand(#s)
  if kind == 1 then return flip(s, i, rand(8) - 1)
  elseif kind == 2 then return s:sub(1, i - 1)
  elseif kind == 3 then return s:sub(1, 2) .. string.char(rand(256) - 1) .. s:sub(4)
  elseif kind == 4 then return s:sub(1, i) .. "\126" .. s:sub(i + 1)
  elseif kind == 5 then return s:sub(1, i) .. string.char(rand(256) - 1) .. s:sub(i + 1)
  end
  return s:sub(1, i - 1) .. s:sub(i + 1)
end

-- Seeded mutations of a P1 telegram: byte flips, deletions, insertions of the bytes that
-- shape one.
local SHAPING = { "\r", "\n", "(", ")", "!", "*", "0", ".", "-", " ", ":", "S", "s" }
local function mutate_telegram(s, rand)
  local kind, i = rand(4), rand(#s)
  if kind == 1 then return flip(s, i, rand(8) - 1)
  elseif kind == 2 then return s:sub(1, i - 1) .. s:sub(i + 1)
  end
  return s:sub(1, i) .. SHAPING[rand(#SHAPING)] .. s:sub(i + 1)
end

local rng = H.rng

local function framer_run(core, data, sizes)
  local f = core.framer()
  local out, pos, i = {}, 1, 0
  while pos <= #data do
    i = i + 1
    for fr in f:frames(data:sub(pos, pos + sizes[i] - 1)) do out[#out + 1] = fr end
    pos = pos + sizes[i]
  end
  return { frames = out, stats = f:stats(), missing = f:missing() }
end

describe("C and Lua cores", function()
  it("agree on every vector", function()
    for i, rec in ipairs(H.frames()) do
      for _, fn in ipairs({ "crc16", "frame", "notification", "values", "reading" }) do
        local a, b = both(fn, rec.raw)
        assert.are.same(a, b, fn .. " of vector " .. i)
      end
    end
  end)

  it("agree on 12,000 seeded mutations of the vectors", function()
    local frames = H.frames()
    local rand = rng(2024)
    local differences = 0
    for k = 1, 12000 do
      local s = frames[rand(#frames)].raw
      s = mutate(s, rand)
      if k % 3 == 0 then s = mutate(s, rand) end
      for _, fn in ipairs({ "frame", "notification", "values", "reading" }) do
        if not agree(fn, s) then differences = differences + 1 end
      end
      if k % 50 == 0 then
        local info = assert(C.frame(frames[rand(#frames)].raw)).info
        for _, fn in ipairs({ "notification", "values", "reading" }) do
          if not agree(fn, info:sub(4 + rand(9))) then differences = differences + 1 end
        end
      end
    end
    assert.are.equal(0, differences)
  end)

  it("agree on every envelope and 6,000 seeded mutations of them", function()
    local recs = H.jsonl("encrypted.jsonl")
    local rand = rng(4711)
    local differences, total = 0, 0
    local function compare(s, keys)
      total = total + 1
      if not agree("unwrap", s, keys) then differences = differences + 1 end
    end
    for k = 0, 6000 do
      local r = recs[k % #recs + 1]
      local s = H.unhex(r.hex)
      if k > #recs then s = mutate(s, rand) end
      local ak = r.authentication_key ~= H.json_null and r.authentication_key or nil
      compare(s, { key = r.encryption_key, auth_key = ak, system_title = r.system_title })
      if k % 4 == 0 then compare(s, { key = r.encryption_key }) end
      if k % 8 == 0 then compare(s) end
    end
    assert.is_true(total > 7500)
    assert.are.equal(0, differences)
  end)

  it("name the same readings from the APDUs inside every envelope, and 4,000 mutations",
    function()
      local apdus = {}
      for _, r in ipairs(H.jsonl("encrypted.jsonl")) do
        local apdu = C.unwrap(H.unhex(r.hex), { key = r.encryption_key,
          system_title = r.system_title })
        if apdu and apdu:byte(1) ~= 0x2F then apdus[#apdus + 1] = apdu end
      end
      assert.is_true(#apdus >= 5)
      local rand = rng(31)
      local differences = 0
      for k = 1, 4000 + #apdus do
        local s = apdus[(k - 1) % #apdus + 1]
        if k > #apdus then s = mutate(s, rand) end
        for _, fn in ipairs({ "values", "reading" }) do
          if not agree(fn, s) then differences = differences + 1 end
        end
      end
      assert.are.equal(0, differences)
    end)

  it("agree on every P1 telegram and 3,000 seeded mutations, errors and codes included",
    function()
      local bases = {}
      for _, r in ipairs(H.jsonl("p1.jsonl")) do
        bases[#bases + 1] = r.text
        -- without CRC digits, so that mutations get their lines parsed; and with the
        -- timestamps' S and W in lower case
        local bare = r.text:gsub("\n!%x*\r\n$", "\n!\r\n")
        bases[#bases + 1] = bare
        bases[#bases + 1] = (bare:gsub("(%(%d+)([SW])%)", function(d, c)
          return d .. c:lower() .. ")"
        end))
      end
      local rand = rng(2025)
      local differences, parsed = 0, 0
      for k = 1, 3000 + #bases do
        local s = bases[(k - 1) % #bases + 1]
        if k > #bases then
          s = mutate_telegram(s, rand)
          if k % 3 == 0 then s = mutate_telegram(s, rand) end
        end
        local a, b = both("p1", s)
        if not H.deep_equal(a, b) then differences = differences + 1 end
        if type(a[1]) == "table" then parsed = parsed + 1 end
      end
      assert.are.equal(0, differences)
      assert(parsed > 300, "telegrams that parse: " .. parsed)
    end)

  -- SML: the vectors, and mutations of their files sealed again (a transport CRC that
  -- holds, so that the messages get parsed), or of the transmission as it is.
  local SML_SHAPING = { "\0", "\1", "\114", "\118", "\119", "\98", "\82", "\131\2",
    "\241", "\27\27\27\27", "\27\27\27\27\27\27\27\27" }
  local function mutate_sml(s, rand)
    local f = H.sml.file(s)
    local kind, i = rand(6), rand(#f)
    if kind == 1 then return flip(s, rand(#s), rand(8) - 1) end
    if kind == 2 then f = flip(f, i, rand(8) - 1)
    elseif kind == 3 then f = f:sub(1, i - 1) .. f:sub(i + 1)
    elseif kind == 4 then f = f:sub(1, i) .. SML_SHAPING[rand(#SML_SHAPING)] .. f:sub(i + 1)
    elseif kind == 5 then f = f:sub(1, i)
    else f = f:sub(1, i - 1) .. string.char(rand(256) - 1) .. f:sub(i + 1) end
    return H.sml.seal(f, rand(8) == 1 and rand(6) - 1 or nil)
  end

  it("agree on every SML vector and 4,000 seeded mutations, errors and codes included",
    function()
      local bases = {}
      for _, r in ipairs(H.sml_vectors()) do bases[#bases + 1] = r.raw end
      bases[#bases + 1] = H.read_file(H.vectors_dir .. "/streams/sml/synthetic_escape.bin")
      local rand = rng(1972)
      local differences, read, codes = 0, 0, {}
      for k = 1, 4000 + #bases do
        local s = bases[(k - 1) % #bases + 1]
        if k > #bases then
          s = mutate_sml(s, rand)
          if k % 3 == 0 then s = mutate_sml(s, rand) end
        end
        local a, b = both("sml", s)
        if not H.deep_equal(a, b) then differences = differences + 1 end
        local r = a[1]
        if type(r[1]) == "table" then read = read + 1 else codes[r[3]] = true end
        if k % 4 == 0 and not agree("reading", s) then differences = differences + 1 end
      end
      assert.are.equal(0, differences)
      assert(read > 400, "transmissions read: " .. read)
      for _, code in ipairs({ "bad_crc", "bad_tl", "truncated_data", "bad_sml_message",
        "bad_sml_entry", "bad_padding", "bad_escape" }) do
        assert(codes[code], code)
      end
    end)

  it("raise the same words for misused keys", function()
    local frame = H.unhex("DB08")
    for _, keys in ipairs({ 42, "key", true, { key = 5 }, { key = "00" },
        { auth_key = ("0"):rep(31) }, { system_title = "ABC" } }) do
      local okc, ec = pcall(C.unwrap, frame, keys)
      local okl, el = pcall(L.unwrap, frame, keys)
      assert.is_false(okc)
      assert.is_false(okl)
      assert.are.equal(ec, el)
      assert.truthy(ec:find("^bad "), ec)
    end
  end)

  it("agree on every capture, in the same random chunking", function()
    local rand = rng(99)
    for _, st in ipairs(H.streams()) do
      local data = H.read_file(st.path):sub(1, 60000)
      local sizes = {}
      for i = 1, #data do sizes[i] = rand(400) end
      assert.are.same(framer_run(C, data, sizes), framer_run(L, data, sizes), st.name)
    end
  end)

  it("agree on mutated streams, chunk by chunk", function()
    local rand = rng(7)
    local frames = H.frames()
    for _ = 1, 20 do
      local parts = {}
      for j = 1, 40 do
        local s = frames[rand(#frames)].raw
        if rand(3) == 1 then s = mutate(s, rand) end
        parts[j] = s:sub(rand(2))
      end
      local data = table.concat(parts)
      local sizes = {}
      for i = 1, #data do sizes[i] = rand(64) end
      assert.are.same(framer_run(C, data, sizes), framer_run(L, data, sizes))
    end
  end)
end)
