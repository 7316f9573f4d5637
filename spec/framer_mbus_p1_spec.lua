-- The streaming framer on M-Bus long frames, DSMR P1 telegrams and "auto": real vectors
-- in every chunking, with garbage between, and the C and Lua framers side by side.
local H = require("helpers")
local core = H.core()

-- Feed `data` in chunks whose sizes come from `size(i)`; frames, stats and the
-- missing() after every push. `impl`: another core than the one under test.
local function run(data, size, opts, impl)
  local f = (impl or core).framer(opts)
  local out, missing, i, pos = {}, {}, 0, 1
  while pos <= #data do
    i = i + 1
    local n = size(i)
    for frame in f:frames(data:sub(pos, pos + n - 1)) do out[#out + 1] = frame end
    missing[#missing + 1] = f:missing()
    pos = pos + n
  end
  return out, f:stats(), missing
end

local function whole() return 1073741824 end
local function one() return 1 end
local function random_sizes(seed, most)
  local rand = H.rng(seed)
  return function() return rand(most or 300) end
end
local chunkings = { whole, one, random_sizes(11), random_sizes(12, 7) }

local function balanced(st)
  return st.bytes_in == st.bytes_framed + st.bytes_discarded + st.bytes_buffered
end

-- p1.jsonl: the telegrams that must come out, in file order (the Warmtelink one prints
-- its CRC 0x0B9F unpadded, "!B9F": it is good), and the ones whose CRC is wrong.
local arc = require("han.luacore.crc16").arc
local function telegrams()
  local good, bad = {}, {}
  for _, rec in ipairs(H.jsonl("p1.jsonl")) do
    local t = rec.text
    local digits = t:match("!(%x*)\r\n$")
    if digits == "" or tonumber(digits, 16) == arc(t, 1, #t - #digits - 2) then
      good[#good + 1] = t
    else
      bad[#bad + 1] = t
    end
  end
  return good, bad
end

-- As one meter's stream could carry them: those without CRC first (once a stream has
-- shown a CRC, a telegram without one is refused).
local function stream_order(list)
  local plain, crc = {}, {}
  for _, t in ipairs(list) do
    local into = t:find("!\r\n$") and plain or crc
    into[#into + 1] = t
  end
  for _, t in ipairs(crc) do plain[#plain + 1] = t end
  return plain
end

-- Junk that starts no telegram of its own: binary bytes without letters, "/" or "!".
local function junk(rand, n)
  local t = {}
  for i = 1, n do
    local b = rand(256) - 1
    if b == 0x2F or b == 0x21 or (b >= 65 and b <= 90) or (b >= 97 and b <= 122) then
      b = 0xFF
    end
    t[i] = string.char(b)
  end
  return table.concat(t)
end

-- Garbage before a telegram: junk, stray "/", "!" and CRLF, and last perhaps a false
-- start "/XYZ..." that runs into the telegram. Before a telegram without CRC that false
-- start ends its line, else it would rightly make one telegram with the next.
local function garbage(rand, next_has_crc)
  local parts = {}
  for i = 1, rand(6) do
    local k = rand(4)
    if k == 1 then parts[i] = junk(rand, rand(40))
    elseif k == 2 then parts[i] = "/"
    elseif k == 3 then parts[i] = ({ "!", "\r\n", "!\r\n", "\r\n!" })[rand(4)]
    else parts[i] = "\r\n\r\n" end
  end
  if rand(3) == 1 then
    parts[#parts + 1] = "/XYZ5" .. junk(rand, rand(30))
    if not next_has_crc or rand(2) == 1 then parts[#parts + 1] = "\r\n" end
  end
  return table.concat(parts)
end

-- The long frames of a string of back-to-back frames, and the joined user data after
-- each frame's 5-byte C/A/CI/STSAP/DTSAP header.
local function mbus_split(data)
  local frames, user, p = {}, {}, 1
  while p <= #data do
    local L = data:byte(p + 1)
    frames[#frames + 1] = data:sub(p, p + L + 5)
    user[#user + 1] = data:sub(p + 9, p + L + 3)
    p = p + L + 6
  end
  return frames, table.concat(user)
end

-- One M-Bus long frame: C 53, A FF, then CI and the rest of the user data.
local function mbus_frame(ci, body)
  local inner = "\083\255" .. string.char(ci) .. body
  local sum = 0
  for i = 1, #inner do sum = sum + inner:byte(i) end
  return "\104" .. string.char(#inner, #inner) .. "\104" .. inner
    .. string.char(sum % 256) .. "\022"
end

describe("han.core framer, M-Bus and P1 (" .. H.backend .. " backend)", function()
  it("delivers each P1 telegram once in any chunking and rejects bad CRCs", function()
    local good, bad = telegrams()
    good = stream_order(good)
    assert.are.equal(20, #good)
    assert.are.equal(1, #bad)
    local data = table.concat(good) .. table.concat(bad)
    local first
    for _, size in ipairs(chunkings) do
      local got, st = run(data, size, { protocol = "p1" })
      assert.are.same(good, got)
      assert.are.equal(#good, st.frames_ok)
      assert.are.equal(1, st.bad_fcs)
      assert.are.equal(0, st.bad_length)
      assert.are.equal(0, st.bytes_buffered)
      assert.are.equal("p1", st.protocol)
      assert.is_true(balanced(st))
      first = first or st
      assert.are.same(first, st)
    end
  end)

  it("finds every P1 telegram between garbage, stray '/', '!' and CRLF", function()
    local good, bad = telegrams()
    local rand = H.rng(2718)
    local list = {}
    for _, t in ipairs(stream_order(good)) do list[#list + 1] = { t, true } end
    for _, t in ipairs(bad) do table.insert(list, rand(#list + 1), { t, false }) end
    for round = 1, 4 do
      local parts, expected = {}, {}
      for _, item in ipairs(list) do
        local text, ok = item[1], item[2]
        parts[#parts + 1] = garbage(rand, text:find("![%x][%x][%x]", 1) ~= nil)
        parts[#parts + 1] = text
        if ok then expected[#expected + 1] = text end
      end
      parts[#parts + 1] = garbage(rand, true)
      local data = table.concat(parts)
      local got, st = run(data, chunkings[round], { protocol = "p1" })
      assert.are.same(expected, got)
      assert.is_true(st.bad_fcs >= 1)
      assert.is_true(balanced(st))
      assert.is_true(st.bytes_buffered <= 16385)
    end
  end)

  it("bounds a P1 telegram and its lines", function()
    local good = telegrams()
    local t = good[3]
    local long_line = t:gsub("\r\n\r\n", "\r\n" .. ("0"):rep(2047) .. "\r\n", 1)
    local fits = t:gsub("\r\n\r\n", "\r\n" .. ("0"):rep(2046) .. "\r\n", 1)
    local _, st = run(long_line .. fits, random_sizes(5))
    assert.are.equal(0, st.frames_ok)     -- an HDLC framer sees nothing
    local got
    got, st = run(long_line .. fits .. t, random_sizes(5), { protocol = "p1" })
    -- the CRC of `fits` is wrong after the edit: only the original comes out
    assert.are.same({ t }, got)
    assert.are.equal(1, st.bad_length)
    assert.are.equal(1, st.bad_fcs)
    local endless = "/ABC5 endless\r\n" .. ("1-0:1.8.1(000001.000*kWh)\r\n"):rep(700)
    got, st = run(endless .. t, random_sizes(6), { protocol = "p1" })
    assert.are.same({ t }, got)
    assert.are.equal(1, st.bad_length)
    assert.is_true(balanced(st))
  end)

  it("starts again at a '/' that opens a line", function()
    local good = telegrams()
    local cut = good[1]:sub(1, good[1]:find("\n", 200, true))
    local got, st = run(cut .. good[2], one, { protocol = "p1" })
    assert.are.same({ good[2] }, got)
    assert.are.equal(1, st.bad_length)
    assert.are.equal(#cut, st.bytes_discarded)
    -- cut inside a line, the next telegram runs on in the same candidate: its CRC fails,
    -- and the look from the byte after the first "/" finds it
    cut = good[3]:sub(1, 200)
    got, st = run(cut .. good[4], one, { protocol = "p1" })
    assert.are.same({ good[4] }, got)
    assert.are.equal(1, st.bad_fcs)
    assert.are.equal(0, st.bad_length)
  end)

  it("refuses a '!' line without CRC once the stream has shown CRCs", function()
    -- one "!" inserted after the identification line made a CRC-carrying telegram an
    -- accepted CRC-less one of no values
    local t = telegrams()[4]
    assert.are.equal(1, select(2, t:gsub("/", "")))
    local ident = t:match("^[^\n]*\n")
    local hit = ident .. "!\r\n" .. t:sub(#ident + 1)
    for _, size in ipairs(chunkings) do
      local got, st = run(t .. hit .. t, size, { protocol = "p1" })
      assert.are.same({ t, t }, got)
      assert.are.equal(1, st.bad_fcs)
      assert.are.equal(0, st.bad_length)
      assert.is_true(balanced(st))
    end
  end)

  it("delivers no telegram without data lines", function()
    local plain = telegrams()[1]          -- DSMR 2.2: no CRC
    local ident = plain:match("^[^\n]*\n")
    for _, empty in ipairs({ ident .. "!\r\n", ident .. "\r\n!\r\n" }) do
      local got, st = run(empty .. plain, one, { protocol = "p1" })
      assert.are.same({ plain }, got)
      assert.are.equal(1, st.bad_length)
      assert.are.equal(0, st.bad_fcs)
      assert.is_true(balanced(st))
    end
  end)

  it("takes a CRC of 1 to 4 hex digits when its value matches", function()
    -- a telegram whose CRC is below 0x10, so that it can be printed with 1 to 4 digits
    local body, crc
    for i = 0, 99999 do
      body = ("/ABC5 meter\r\n\r\n1-0:1.8.1(%05d.000*kWh)\r\n!"):format(i)
      crc = arc(body, 1, #body)
      if crc < 16 then break end
    end
    assert.is_true(crc < 16)
    local forms = {}
    for digits = 1, 4 do forms[digits] = body .. ("%0" .. digits .. "x"):format(crc) .. "\r\n" end
    local wrong = body .. ("%X"):format((crc + 1) % 16) .. "\r\n"
    local five = body .. ("%05X"):format(crc) .. "\r\n"
    local got, st = run(table.concat(forms) .. wrong .. five, random_sizes(4, 20),
      { protocol = "p1" })
    assert.are.same(forms, got)
    assert.are.equal(2, st.bad_fcs)
    assert.is_true(balanced(st))
  end)

  it("needs one byte at a time in P1", function()
    local good = telegrams()
    local _, _, missing = run(good[1], one, { protocol = "p1" })
    for _, m in ipairs(missing) do assert.are.equal(1, m) end
  end)

  it("joins the M-Bus segments of the Austrian record in any chunking", function()
    local rec = H.record("encrypted.jsonl", "mbus")
    local data = H.unhex(rec.hex)
    local frames, user = mbus_split(data)
    assert.are.equal(2, #frames)
    assert.are.equal("\219\008KFM", user:sub(1, 5))
    assert.are.equal(#data - 22, #user)
    for _, size in ipairs(chunkings) do
      local got, st = run(data, size, { protocol = "mbus" })
      assert.are.same({ user }, got)
      assert.are.equal(2, st.frames_ok)
      assert.are.equal(2, st.segments_joined)
      assert.are.equal(#data, st.bytes_framed)
      assert.are.equal("mbus", st.protocol)
    end
    if core.unwrap then
      assert.are.equal(H.unhex(rec.plaintext_apdu),
        core.unwrap(user, { key = rec.encryption_key }))
    end
  end)

  it("finds the M-Bus message between garbage", function()
    local data = H.unhex(H.record("encrypted.jsonl", "mbus").hex)
    local frames, user = mbus_split(data)
    local rand = H.rng(31)
    for round = 1, 6 do
      local parts = {}
      for _ = 1, 3 do
        parts[#parts + 1] = junk(rand, rand(200)) .. "\104" .. junk(rand, rand(5))
        parts[#parts + 1] = frames[1] .. junk(rand, rand(300)) .. frames[2]
      end
      local got, st = run(table.concat(parts), chunkings[round % 4 + 1], { protocol = "mbus" })
      assert.are.same({ user, user, user }, got)
      assert.are.equal(6, st.segments_joined)
      assert.is_true(balanced(st))
    end
  end)

  it("rejects a wrong M-Bus checksum and delivers nothing", function()
    local frames = mbus_split(H.unhex(H.record("encrypted.jsonl", "mbus").hex))
    local f2 = frames[2]
    local cs = #f2 - 1
    local broken = f2:sub(1, cs - 1) .. string.char((f2:byte(cs) + 1) % 256) .. f2:sub(cs + 1)
    local got, st = run(frames[1] .. broken, random_sizes(3), { protocol = "mbus" })
    assert.are.same({}, got)
    assert.are.equal(1, st.bad_fcs)
    assert.are.equal(1, st.frames_ok)
    broken = f2:sub(1, 20) .. "\000" .. f2:sub(22)
    got, st = run(frames[1] .. broken, one, { protocol = "mbus" })
    assert.are.same({}, got)
    assert.are.equal(1, st.bad_fcs)
  end)

  it("delivers one-frame M-Bus messages whole and drops lost segments", function()
    local single = mbus_frame(0x10, "\001\103\015\000\000\000\000\000")
    local other = mbus_frame(0x72, ("\000"):rep(20))
    local got, st = run(single .. other, one, { protocol = "mbus" })
    assert.are.same({ single, other }, got)
    assert.are.equal(0, st.segments_joined)
    -- segments 0 1 | 0 1(last): the second 0 shows segment 2 was lost
    local seg = {}
    for i, ci in ipairs({ 0x00, 0x01, 0x00, 0x11 }) do
      seg[i] = mbus_frame(ci, "\001\103" .. ("x"):rep(i))
    end
    got, st = run(table.concat(seg), random_sizes(4), { protocol = "mbus" })
    assert.are.same({ "xxxxxxx" }, got)
    assert.are.equal(1, st.bad_length)
    assert.are.equal(2, st.segments_joined)
    -- a segment needs STSAP and DTSAP
    got, st = run(mbus_frame(0x10, "\001"), whole, { protocol = "mbus" })
    assert.are.same({}, got)
    assert.are.equal(1, st.bad_length)
  end)

  it("tells how many M-Bus bytes it needs", function()
    local frames = mbus_split(H.unhex(H.record("encrypted.jsonl", "mbus").hex))
    local fr = frames[1]
    local f = core.framer({ protocol = "mbus" })
    assert.are.equal(1, f:missing())
    f:push("\001\002")
    assert.are.equal(1, f:missing())
    f:push(fr:sub(1, 1))
    assert.are.equal(1, f:missing())
    f:push(fr:sub(2, 2))
    assert.are.equal(#fr - 2, f:missing())
    f:push(fr:sub(3, 100))
    assert.are.equal(#fr - 100, f:missing())
    f:push(fr:sub(101))
    assert.are.equal(1, f:missing())
  end)

  it("settles 'auto' on the protocol of the first good frame", function()
    local good = stream_order((telegrams()))
    local p1 = table.concat(good)
    local got, st = run("\126\104h~/" .. p1, random_sizes(8), { protocol = "auto" })
    assert.are.same(good, got)
    assert.are.equal("p1", st.protocol)
    local f = core.framer({ protocol = "auto" })
    assert.are.equal("auto", f:stats().protocol)
    f:push(good[1]:sub(1, 300))
    assert.are.equal("auto", f:stats().protocol)
    for _, s in ipairs(H.streams()) do
      local data = H.read_file(s.path):sub(1, 60000)
      local want = run(data, whole)
      got, st = run(data, random_sizes(9), { protocol = "auto" })
      assert.are.same(want, got, s.name)
      assert.are.equal("hdlc", st.protocol, s.name)
      assert.is_true(balanced(st))
    end
    local rec = H.record("encrypted.jsonl", "mbus")
    local _, user = mbus_split(H.unhex(rec.hex))
    got, st = run("h\000\000" .. H.unhex(rec.hex), one, { protocol = "auto" })
    assert.are.same({ user }, got)
    assert.are.equal("mbus", st.protocol)
    -- once settled, the other protocols' frames are garbage
    got = run(H.unhex(rec.hex) .. p1, whole, { protocol = "auto" })
    assert.are.same({ user }, got)
  end)

  it("keeps its buffer bounded whatever the garbage, in every mode", function()
    local rand = H.rng(77)
    local pieces = { "/ABC5", "\r\n", "!", "\104\255\255\104", "\126\160\255", "h",
      ("7"):rep(100) }
    local t = {}
    for i = 1, 6000 do
      t[i] = rand(3) == 1 and pieces[rand(#pieces)] or string.char(rand(256) - 1)
    end
    local chunk = table.concat(t)
    for _, protocol in ipairs({ "hdlc", "mbus", "p1", "auto" }) do
      local f = core.framer({ protocol = protocol })
      -- a first round so that the runtime's own tables (LuaJIT's string table) have grown
      -- to their working size: what is measured is what the framer keeps
      for _ = 1, 40 do core.framer({ protocol = protocol }):push(chunk) end
      local before = H.heap()
      local most = 0
      for _ = 1, 40 do
        f:push(chunk)
        local b = f:stats().bytes_buffered
        if b > most then most = b end
      end
      f:push(("A"):rep(20000))   -- a false P1 start cannot outgrow its bound either
      assert.is_true(f:stats().bytes_buffered <= 16385, protocol)
      assert.is_true(H.heap() - before < 200, protocol)   -- KiB
      assert.is_true(most <= 16385, protocol)
      assert.is_true(balanced(f:stats()), protocol)
    end
  end)

  it("refuses an unknown protocol", function()
    assert.has_error(function() core.framer({ protocol = "x25" }) end)
    assert.has_error(function() core.framer({ protocol = 1 }) end)
  end)
end)

-- The C and Lua framers side by side, once per runtime (on the C backend's run).
if H.backend == "c" then
  local C = require("han.core")
  local L = require("han.luacore")

  local function both(data, sizes, opts)
    local function go(impl)
      local out, st, missing = run(data, function(i) return sizes[i] end, opts, impl)
      return { frames = out, stats = st, missing = missing }
    end
    return go(C), go(L)
  end

  -- Seeded damage: flips, cuts, duplicates, and bytes that start or end things.
  local specials = { "/", "!", "\r\n", "\n", "\104", "\126", "\022", "/ABC", "\r\n/XYZ",
    "\r\n!", "\r\n!\r\n", "\r\n!12" }
  local function mutate(s, rand)
    local i = rand(#s)
    local k = rand(5)
    if k == 1 then
      return s:sub(1, i - 1) .. string.char((s:byte(i) + rand(255)) % 256) .. s:sub(i + 1)
    elseif k == 2 then return s:sub(1, i - 1) .. s:sub(i + 1)
    elseif k == 3 then return s:sub(1, i) .. s:sub(i)
    elseif k == 4 then return s:sub(1, i) .. specials[rand(#specials)] .. s:sub(i + 1)
    end
    return s:sub(1, i)
  end

  describe("C and Lua framers on M-Bus, P1 and auto", function()
    local good, bad = telegrams()
    local p1 = {}
    for _, t in ipairs(good) do p1[#p1 + 1] = t end
    for _, t in ipairs(bad) do p1[#p1 + 1] = t end
    local mbus = mbus_split(H.unhex(H.record("encrypted.jsonl", "mbus").hex))
    for ci = 0, 0x1F do mbus[#mbus + 1] = mbus_frame(ci, "\001\103" .. string.char(ci)) end
    mbus[#mbus + 1] = mbus_frame(0x72, ("\000"):rep(30))
    local hdlc = {}
    for _, rec in ipairs(H.frames()) do hdlc[#hdlc + 1] = rec.raw end

    local function stream(rand, sources)
      local parts = {}
      for j = 1, 60 do
        local src = sources[rand(#sources)]
        local s = src[rand(#src)]
        if rand(3) == 1 then s = mutate(s, rand) end
        if rand(4) == 1 then s = mutate(s, rand) end
        parts[j] = rand(5) == 1 and s .. junk(rand, rand(20)) or s
      end
      return table.concat(parts)
    end

    for _, case in ipairs({
      { "p1", { p1 } }, { "mbus", { mbus } }, { "auto", { p1, mbus, hdlc } },
      { "auto", { mbus, hdlc } }, { "hdlc", { hdlc, mbus } },
    }) do
      local protocol, sources = case[1], case[2]
      it("agree on mutated " .. protocol .. " streams, chunk by chunk", function()
        local rand = H.rng(#protocol * 1000 + #sources)
        for _ = 1, 12 do
          local data = stream(rand, sources)
          local sizes = {}
          local most = rand(2) == 1 and 8 or 400
          for i = 1, #data do sizes[i] = rand(most) end
          local a, b = both(data, sizes, { protocol = protocol })
          assert.are.same(a, b)
          assert.is_true(balanced(a.stats))
        end
      end)
    end

    it("agree on P1 lines and telegrams near their bounds", function()
      local rand = H.rng(17)
      local bounded = 0
      for _ = 1, 6 do
        local parts = {}
        for j = 1, 60 do
          local k = rand(10)
          if k == 1 then parts[j] = "/ABC5 x"
          elseif k == 2 then parts[j] = "!" .. ({ "", "1234", "12", "XYZW" })[rand(4)] .. "\r\n"
          elseif k == 3 then parts[j] = good[rand(#good)]
          else parts[j] = ("9"):rep(rand(2) == 1 and rand(2100) or 2040 + rand(12)) .. "\r\n" end
        end
        local data = table.concat(parts)
        local sizes = {}
        for i = 1, #data do sizes[i] = rand(3000) end
        local a, b = both(data, sizes, { protocol = "p1" })
        assert.are.same(a, b)
        bounded = bounded + a.stats.bad_length
      end
      assert.is_true(bounded > 10)
    end)

    it("agree on random bytes full of start bytes", function()
      local rand = H.rng(5)
      for _ = 1, 10 do
        local t = {}
        for i = 1, 5000 do
          t[i] = rand(4) == 1 and specials[rand(#specials)] or string.char(rand(256) - 1)
        end
        local data = table.concat(t)
        local sizes = {}
        for i = 1, #data do sizes[i] = rand(50) end
        for _, protocol in ipairs({ "mbus", "p1", "auto" }) do
          local a, b = both(data, sizes, { protocol = protocol })
          assert.are.same(a, b, protocol)
        end
      end
    end)
  end)
end
