-- The han.core contract (docs/core-api.md), run against the backend $HAN_BACKEND names:
-- the C module or the pure-Lua core give the same answers to the same specs.
local H = require("helpers")
local core = H.core()
local unhex = H.unhex

-- The forum thread's two CRC functions, written with arithmetic instead of the `bit`
-- library so they run everywhere: the bit loop and the 256-entry table.
local xor = H.xor

local function forum_crc_bitwise(data)
  local crc = 0xFFFF
  for i = 1, #data do
    crc = xor(crc, data:byte(i))
    for _ = 1, 8 do
      local k = crc % 2
      crc = math.floor(crc / 2)
      if k ~= 0 then crc = xor(crc, 0x8408) end
    end
  end
  return xor(crc, 0xFFFF)
end

local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if c % 2 == 1 then c = xor(math.floor(c / 2), 0x8408) else c = math.floor(c / 2) end
  end
  crc_table[i + 1] = c
end

local function forum_crc_table(v)
  local crc = 0xFFFF
  for i = 1, #v do
    local j = xor(v:byte(i), crc) % 256
    crc = xor(crc_table[j + 1], math.floor(crc / 256)) % 65536
  end
  return xor(crc, 0xFFFF)
end

local function le16(n) return string.char(n % 256, math.floor(n / 256)) end

-- An HDLC frame with correct HCS and FCS around `info` (addresses as raw bytes).
local function build_frame(info, opts)
  opts = opts or {}
  local addr = (opts.dest or "\043") .. (opts.src or "\033") .. (opts.control or "\019")
  local has_info = #info > 0
  local len = 2 + #addr + (has_info and 2 or 0) + #info + 2
  local fmt = 0xA000 + (opts.segmented and 0x800 or 0) + len
  local head = string.char(math.floor(fmt / 256), fmt % 256) .. addr
  local body = head
  if has_info then body = head .. le16(forum_crc_table(head)) .. info end
  return "\126" .. body .. le16(forum_crc_table(body)) .. "\126"
end

local function kamstrup() return H.frames()[1].raw end

-- A bare data-notification APDU around one body value (no date-time).
local function apdu(body_hex) return unhex("0F40000000 00" .. body_hex) end

local function value(body_hex)
  local n, err = core.notification(apdu(body_hex))
  if not n then return nil, err end
  return n.body
end

local function is_int(v)
  if math.type then return math.type(v) == "integer" end
  return type(v) == "number" and v == math.floor(v)
end

describe("han.core (" .. H.backend .. " backend)", function()
  describe("crc16", function()
    it("gives the CRC-16/X-25 check value", function()
      assert.are.equal(0x906E, core.crc16("123456789"))
      assert.are.equal(0, core.crc16(""))
    end)

    it("takes string.sub-style ranges", function()
      local s = "xx123456789yy"
      assert.are.equal(0x906E, core.crc16(s, 3, 11))
      assert.are.equal(0x906E, core.crc16(s, 3, -3))
      assert.are.equal(core.crc16("123456789yy"), core.crc16(s, 3))
      assert.are.equal(core.crc16(s), core.crc16(s, -100, 100))
      assert.are.equal(0, core.crc16(s, 5, 4))
    end)

    it("equals both CRC functions of the forum thread on every vector", function()
      for i, rec in ipairs(H.frames()) do
        local inner = rec.raw:sub(2, -4)
        local c = core.crc16(inner)
        assert.are.equal(forum_crc_bitwise(inner), c, "vector " .. i)
        assert.are.equal(forum_crc_table(inner), c, "vector " .. i)
        assert.are.equal(c, core.crc16(rec.raw, 2, -4))
      end
    end)

    it("checks the FCS and the HCS of every vector", function()
      for i, rec in ipairs(H.frames()) do
        local s = rec.raw
        local fcs = s:byte(-3) + 256 * s:byte(-2)
        assert.are.equal(fcs, core.crc16(s, 2, -4), "FCS of vector " .. i)
        local f = assert(core.frame(s))
        if #f.info > 0 then
          local hcs_at = #s - 3 - #f.info - 1   -- HCS ends just before the info field
          local hcs = s:byte(hcs_at) + 256 * s:byte(hcs_at + 1)
          assert.are.equal(hcs, core.crc16(s, 2, hcs_at - 1), "HCS of vector " .. i)
        end
      end
    end)
  end)

  describe("frame", function()
    it("parses every vector", function()
      for i, rec in ipairs(H.frames()) do
        local f, err = core.frame(rec.raw)
        assert(f, "vector " .. i .. ": " .. tostring(err))
        assert.are.equal(#rec.raw - 2, f.length)
        assert.are.equal(0xA, math.floor(f.format / 4096))
      end
    end)

    it("gives the fields of the forum's Kamstrup frame", function()
      local f = assert(core.frame(kamstrup()))
      assert.are.equal(0xA0E2, f.format)
      assert.are.equal(226, f.length)
      assert.is_false(f.segmented)
      assert.are.equal(0x2B, f.dest)
      assert.are.equal(0x21, f.src)
      assert.are.equal(0x13, f.control)
      assert.are.equal(kamstrup():sub(9, -4), f.info)
    end)

    it("reads multi-byte addresses as raw big-endian bytes (Aidon 08 83)", function()
      local seen = false
      for _, rec in ipairs(H.frames()) do
        if rec.hex:find("^7EA...410883") then
          local f = assert(core.frame(rec.raw))
          assert.are.equal(0x41, f.dest)
          assert.are.equal(0x0883, f.src)
          seen = true
        end
      end
      assert.is_true(seen)
    end)

    it("marks segmented frames and keeps 7E inside the payload", function()
      local seg
      for _, rec in ipairs(H.frames()) do
        if rec.hex:find("^7EA87E") then seg = rec.raw end
      end
      local f = assert(core.frame(seg))
      assert.is_true(f.segmented)
      assert.are.equal(0x7E, f.length)
    end)

    it("parses a frame without information field (no HCS)", function()
      local s = build_frame("", { control = "\147" })
      local f = assert(core.frame(s))
      assert.are.equal("", f.info)
      assert.are.equal(0x93, f.control)
      assert.are.equal(7, f.length)
    end)

    it("returns truncated for every prefix of a real frame", function()
      local s = kamstrup()
      assert.are.same({ nil, "no opening flag", "no_flag" }, { core.frame("") })
      for n = 1, #s - 1 do
        assert.are.same({ nil, "truncated", "truncated" }, { core.frame(s:sub(1, n)) },
          "prefix " .. n)
      end
    end)

    it("rejects every single-bit flip of real frames", function()
      for _, k in ipairs({ 1, 5, 40, 100 }) do
        local s = H.frames()[k].raw
        for i = 1, #s do
          local b = s:byte(i)
          for bit = 0, 7 do
            local v = b % (2 ^ (bit + 1)) >= 2 ^ bit and b - 2 ^ bit or b + 2 ^ bit
            local t = s:sub(1, i - 1) .. string.char(v) .. s:sub(i + 1)
            local f, err = core.frame(t)
            assert(f == nil and type(err) == "string", "flip at byte " .. i)
            local d, derr = core.notification(t)
            assert(d == nil and type(derr) == "string", "flip at byte " .. i)
          end
        end
      end
    end)

    it("names each kind of damage", function()
      local s = kamstrup()
      local cases = {
        { "no opening flag", "no_flag", "\000" .. s:sub(2) },
        { "bad format", "bad_format", s:sub(1, 1) .. "\176" .. s:sub(3) },
        { "bad length", "bad_length", "\126\160\005" .. s:sub(4) },
        { "bad length", "bad_length", s .. "\126" },
        { "truncated", "truncated", s:sub(1, 1) .. "\160\227" .. s:sub(4) },
        { "no closing flag", "no_closing_flag", s:sub(1, -2) .. "\000" },
        { "bad HCS", "bad_hcs", s:sub(1, 6) .. "\000" .. s:sub(8) },
        { "bad FCS", "bad_fcs", s:sub(1, 50) .. "\000" .. s:sub(52) },
        { "bad address", "bad_address",
          build_frame("\230\231\000", { dest = "\002\002\002\002\002" }) },
        { "bad address", "bad_address", "\126\160\007\002\002\002\002\002\126" },
      }
      for _, c in ipairs(cases) do
        assert.are.same({ nil, c[1], c[2] }, { core.frame(c[3]) })
      end
    end)

    it("raises on misuse, not on data", function()
      assert.has_error(function() core.frame() end)
      assert.has_error(function() core.frame({}) end)
    end)
  end)

  describe("notification", function()
    it("decodes every vector that carries a data-notification", function()
      local n = 0
      for i, rec in ipairs(H.frames()) do
        local d, err = core.notification(rec.raw)
        if rec.reference ~= H.json_null then assert(d, "vector " .. i .. ": " .. tostring(err)) end
        if d then
          n = n + 1
          assert.is_table(d.body)
          assert.is_number(d.invoke_id)
        end
      end
      assert.are.equal(137, n)
    end)

    it("names what the four generic DLMS frames are", function()
      local errs = {}
      for _, rec in ipairs(H.frames()) do
        local d, err = core.notification(rec.raw)
        if not d then errs[rec.bytes] = err end
      end
      assert.are.same({
        [128] = "segmented frame",
        [33] = "unsupported APDU 0x81",
        [46] = "unsupported APDU 0x60",
        [58] = "unsupported APDU 0x61",
      }, errs)
    end)

    it("gives the forum's fixed-offset values for the seed frames", function()
      local u32 = function(b, i) return ((b:byte(i) * 256 + b:byte(i + 1)) * 256
        + b:byte(i + 2)) * 256 + b:byte(i + 3) end
      local u16 = function(b, i) return b:byte(i) * 256 + b:byte(i + 1) end
      local seen = 0
      for _, rec in ipairs(H.frames()) do
        local b = rec.raw
        if rec.source:find("^seed") and #b == 228 then
          local d = assert(core.notification(b))
          local body = d.body
          assert.are.equal(b:sub(34, 47), body[1])
          assert.are.equal(b:sub(58, 73), body[3])
          assert.are.equal(b:sub(84, 101), body[5])
          assert.are.equal(u32(b, 111), body[7])
          assert.are.equal(u32(b, 124), body[9])
          assert.are.equal(u32(b, 137), body[11])
          assert.are.equal(u32(b, 150), body[13])
          assert.are.equal(u32(b, 163), body[15])
          assert.are.equal(u32(b, 176), body[17])
          assert.are.equal(u32(b, 189), body[19])
          assert.are.equal(u16(b, 202), body[21])
          assert.are.equal(u16(b, 213), body[23])
          assert.are.equal(u16(b, 224), body[25])
          assert.are.equal(u16(b, 18), d.time.year)
          assert.are.equal(b:byte(20), d.time.month)
          assert.are.equal(b:byte(21), d.time.day)
          assert.are.equal(b:byte(23), d.time.hour)
          seen = seen + 1
        end
      end
      assert.are.equal(5, seen)
    end)

    it("gives the HDLC header fields and the header date-time", function()
      local d = assert(core.notification(kamstrup()))
      assert.are.equal(0x2B, d.dest)
      assert.are.equal(0x21, d.src)
      assert.are.equal(0x13, d.control)
      assert.are.equal(0, d.invoke_id)
      assert.are.same({ year = 2019, month = 1, day = 29, wday = 2, hour = 9, min = 57,
        sec = 30, status = 0 }, d.time)    -- hundredths FF, deviation 8000: unspecified
      assert.are.equal(25, #d.body)
    end)

    it("accepts the APDU without HDLC, with or without the LLC", function()
      local info = assert(core.frame(kamstrup())).info
      local full = assert(core.notification(kamstrup()))
      for _, s in ipairs({ info, info:sub(4) }) do
        local d = assert(core.notification(s))
        assert.is_nil(d.dest)
        assert.is_nil(d.control)
        assert.are.same(full.body, d.body)
        assert.are.same(full.time, d.time)
      end
    end)

    it("reads the three header date-time encodings", function()
      local dt = "07E3011D020B0005FF800000"
      local body = "0201 1100"
      assert.is_nil(assert(core.notification(unhex("0F40000000 00" .. body))).time)
      for _, h in ipairs({ "0C", "090C", "19" }) do
        local d = assert(core.notification(unhex("0F40000000" .. h .. dt .. body)))
        assert.are.same({ year = 2019, month = 1, day = 29, wday = 2, hour = 11, min = 0,
          sec = 5, status = 0 }, d.time)
        assert.are.equal(0x40000000, d.invoke_id)
      end
      local bad, short = { nil, "bad date-time", "bad_datetime" },
        { nil, "truncated data", "truncated_data" }
      assert.are.same(bad, { core.notification(unhex("0F4000000009" .. "0D" .. dt)) })
      assert.are.same(bad, { core.notification(unhex("0F4000000007" .. body)) })
      assert.are.same(short, { core.notification(unhex("0F400000000C07E3")) })
      assert.are.same(short, { core.notification(unhex("0F4000000009")) })
    end)

    it("returns truncated data for every cut of a bare APDU", function()
      local a = assert(core.frame(kamstrup())).info:sub(4)
      for n = 1, #a - 1 do
        assert.are.same({ nil, "truncated data", "truncated_data" },
          { core.notification(a:sub(1, n)) }, "cut " .. n)
      end
    end)

    it("names APDU-level problems", function()
      local cases = {
        { "bad LLC", "bad_llc", unhex("E6E70100") },
        { "bad LLC", "bad_llc", unhex("E6") },
        { "truncated data", "truncated_data", unhex("E6E700") },
        { "unsupported APDU 0xC0", "unsupported_apdu", unhex("C001") },
        { "trailing data", "trailing_data", apdu("1101 11") },
        { "segmented frame", "segmented",
          build_frame(unhex("E6E7000F00000000001101"), { segmented = true }) },
        { "truncated", "truncated", "\126" },
      }
      for _, c in ipairs(cases) do
        assert.are.same({ nil, c[1], c[2] }, { core.notification(c[3]) })
      end
    end)
  end)

  describe("values", function()
    -- The values of a core.notification body the layout key leaves out, depth first: a
    -- table with a first element, or none at all, is a list (no vector sends a date-time
    -- with every field unspecified); null-data and strings are in the key, but for
    -- date-times (12 bytes; no vector sends a text of 12 bytes, nor a bit-string).
    local function flatten(v, out)
      out = out or {}
      if type(v) == "table" and v ~= core.null and (v[1] ~= nil or next(v) == nil) then
        for _, x in ipairs(v) do flatten(x, out) end
      elseif v ~= core.null and (type(v) ~= "string" or #v == 12) then
        out[#out + 1] = v
      end
      return out
    end

    it("gives every vector's leaves, header date-time and source as core.notification reads them",
      function()
        local n = 0
        for i, rec in ipairs(H.frames()) do
          local d, derr, dcode = core.notification(rec.raw)
          local v, key, time, src = core.values(rec.raw)
          if d then
            n = n + 1
            assert.are.same(flatten(d.body), v, "vector " .. i)
            assert.are.equal("string", type(key))
            assert.are.equal(d.src, src)
            if d.time then
              assert.are.same(d.time, time, "vector " .. i)
            else
              assert.is_nil(time)
            end
          else
            assert.are.same({ nil, derr, dcode }, { v, key, time }, "vector " .. i)
          end
        end
        assert.are.equal(137, n)
      end)

    it("keys a body by its tags, counts, lengths and strings, not by its numbers", function()
      local dt = "07E4031D0702000000FFC480"
      local body = "0208 0906 0100010800FF 0600000005 090C" .. dt .. " 0A03414243 1101 00"
        .. " 0402C0 0100"
      local v, key = core.values(apdu(body))
      -- the code, the text, null-data and the empty array are all in the key
      assert.are.same({ 5, unhex(dt), 1, "11" }, v)
      assert.are.equal(H.hex(unhex("0208 0906 0100010800FF 06 090C 0A03414243 11 00 04 0100")),
        H.hex(key))
      local other = body:gsub("0600000005", "06FFFFFFFF"):gsub("1101", "1163")
        :gsub("0402C0", "040240"):gsub("E4031D", "E5041E")
      local v2, key2 = core.values(apdu(other))
      assert.are.equal(key, key2)
      assert.are_not.same(v, v2)
      -- a code, a text, a count or a length as sent changes it
      for _, changed in ipairs({ (body:gsub("0100010800FF", "0100010801FF")),
        (body:gsub("0A03414243", "0A03414244")), (body:gsub("0208", "0108")),
        (body:gsub("0A03414243", "0A8103414243")), (body:gsub("1101", "0F01")) }) do
        assert.is_table(core.values(apdu(changed)), changed)
        assert.are_not.equal(key, select(2, core.values(apdu(changed))), changed)
      end
    end)

    it("gives a scalar body as one value, and null-data in the key only", function()
      assert.are.same({ { 7 }, unhex("11") }, { core.values(apdu("1107")) })
      assert.are.same({ { 1 }, unhex("0203 00 11 00") },
        { core.values(apdu("0203 00 1101 00")) })
      assert.are.same({ {}, unhex("0100") }, { core.values(apdu("0100")) })
    end)

    it("gives the header's date-time, and no source without HDLC", function()
      local dt = "07E3011D020B0005FF800000"
      for _, h in ipairs({ "0C", "090C", "19" }) do
        local _, _, time, src = core.values(unhex("0F40000000" .. h .. dt .. "1101"))
        assert.are.same({ year = 2019, month = 1, day = 29, wday = 2, hour = 11, min = 0,
          sec = 5, status = 0 }, time)
        assert.is_nil(src)
      end
      local _, _, time, src = core.values(unhex("0F40000000 00 1101"))
      assert.is_nil(time)
      assert.is_nil(src)
      local f = build_frame(unhex("E6E700 0F40000000 00 1101"), { src = "\008\131" })
      assert.are.same({ { 1 }, unhex("11"), nil, 0x0883 }, { core.values(f) })
    end)

    it("gives core.notification's error for every cut, flip and malformed value", function()
      local s = kamstrup()
      for n = 0, #s - 1 do
        assert.are.same({ core.notification(s:sub(1, n)) }, { core.values(s:sub(1, n)) })
      end
      local info = assert(core.frame(s)).info
      for i = 1, #info do
        local t = info:sub(1, i - 1) .. string.char((info:byte(i) + 1) % 256) .. info:sub(i + 1)
        local a, b = { core.notification(t) }, { core.values(t) }
        if a[1] then assert.is_table(b[1]) else assert.are.same(a, b, "byte " .. i) end
      end
      for _, body in ipairs({ ("0101"):rep(16) .. "1101", "0980", "0D4A", "07", "1101 11" }) do
        local err = { core.notification(apdu(body)) }
        assert.is_nil(err[1])
        assert.are.same(err, { core.values(apdu(body)) })
      end
      assert.has_error(function() core.values() end)
      assert.has_error(function() core.values({}) end)
    end)
  end)

  describe("A-XDR values", function()
    it("decodes each integer type at its limits", function()
      local cases = {
        { "0F80", -128 }, { "0F7F", 127 }, { "1000FF", 255 }, { "10FF38", -200 },
        { "11FF", 255 }, { "12FFFF", 65535 }, { "0580000000", -2147483648 },
        { "057FFFFFFF", 2147483647 }, { "0680000000", 2147483648 },
        { "06FFFFFFFF", 4294967295 }, { "160A", 10 },
        { "14FFFFFFFFFFFFFFFF", -1 }, { "150000000100000000", 4294967296 },
        { "1400000000FFFFFFFF", 4294967295 }, { "0D42", 42 },
      }
      for _, c in ipairs(cases) do
        local v = assert(value(c[1]))
        assert.are.equal(c[2], v, c[1])
        assert.is_true(is_int(v), c[1])
      end
    end)

    it("rounds 64-bit values beyond 2^53 like C's conversion to double", function()
      local v = assert(value("150020000000000001"))
      if math.type then
        assert.are.equal("integer", math.type(v))
        assert.are.equal(9007199254740993, v)
      else
        assert.are.equal(2 ^ 53, v)
      end
      local top = assert(value("15FFFFFFFFFFFFFFFF"))
      assert.are.equal(2 ^ 64, top)
      if math.type then assert.are.equal("float", math.type(top)) end
      assert.are.equal(-2 ^ 63, assert(value("148000000000000000")))
    end)

    it("decodes floats, booleans, strings and bit-strings", function()
      assert.are.equal(1.5, value("173FC00000"))
      assert.are.equal(-2.25, value("18C002000000000000"))
      if math.type then assert.are.equal("float", math.type(value("173F800000"))) end
      assert.is_true(value("0301"))
      assert.is_false(value("0300"))
      assert.are.equal("AB", value("09024142"))
      assert.are.equal("AB", value("0A024142"))
      assert.are.equal("\195\166", value("0C02C3A6"))
      assert.are.equal(("x"):rep(200), value("0A81C8" .. ("78"):rep(200)))
      assert.are.equal("", value("0900"))
      assert.are.equal("1010000011", value("040AA0C0"))
      assert.are.equal("", value("0400"))
    end)

    it("decodes date-time, date and time values with unspecified fields nil", function()
      assert.are.same({ year = 2020, month = 3, day = 29, wday = 7, hour = 2, min = 0,
        sec = 0, hundredths = 0, deviation = -60, status = 0x80 },
        value("1907E4031D0702000000FFC480"))
      assert.are.same({}, value("19FFFFFFFFFFFFFFFFFF8000FF"))
      assert.are.same({ year = 2019, month = 12, day = 1 }, value("1A07E30C01FF"))
      assert.are.same({ hour = 23, min = 59, sec = 1 }, value("1B173B01FF"))
    end)

    it("keeps the position of null-data in arrays and structures", function()
      local v = assert(value("0203 00 1101 00"))
      assert.are.equal(3, #v)
      assert.are.equal(core.null, v[1])
      assert.are.equal(1, v[2])
      assert.are.equal(core.null, v[3])
    end)

    it("nests arrays and structures", function()
      assert.are.same({ { { 1, "A" } }, {} }, value("0102 0101 0202 1101 0A0141 0200"))
    end)

    it("reads long-form BER counts and lengths", function()
      local v = assert(value("018180" .. ("1101"):rep(128)))
      assert.are.equal(128, #v)
      assert.are.equal(3, #assert(value("01820003 110111021103")))
      assert.are.equal("A", value("098400000001 41"))
    end)

    it("names every malformed value", function()
      local deep = ("0101"):rep(16) .. "1101"
      local cases = {
        { "1E00", "unknown data type 0x1E" },
        { "07", "unknown data type 0x07" },
        { "FF", "unknown data type 0xFF" },
        { ("0101"):rep(15) .. "1101", nil },
        { deep, "nesting too deep" },
        { "0905414243", "truncated data" },
        { "09810541", "truncated data" },
        { "0982", "truncated data" },
        { "0980", "bad BER length" },
        { "0985000000000001", "bad BER length" },
        { "0105 1101", "truncated data" },
        { "018400FFFFFF 1101", "truncated data" },
        { "0611", "truncated data" },
        { "0D4A", "bad BCD" },
        { "0DA1", "bad BCD" },
        { "19 07E4031D", "truncated data" },
        { "0410FF", "truncated data" },
        { "", "truncated data" },
      }
      for _, c in ipairs(cases) do
        local v, err = value(c[1])
        if c[2] then
          assert.is_nil(v, c[1])
          assert.are.equal(c[2], err, c[1])
        else
          assert.is_not_nil(v, c[1])
        end
      end
    end)
  end)
end)

-- docs/core-api.md's table of errors: message (its placeholders 0xNN, a system title of
-- X, a line number N) and code, row by row.
local function documented_errors()
  local rows = {}
  for line in io.lines("docs/core-api.md") do
    local message, code = line:match("^| `(.-)` | `([a-z_]+)` |$")
    if message then rows[#rows + 1] = { message = message, code = code } end
  end
  return rows
end

-- The message of a row as a pattern that its placeholders match.
local function message_pattern(message)
  return "^" .. message:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
    :gsub("0xNN", "0x%%x%%x"):gsub("X+$", function(x) return ("%x"):rep(#x) end)
    :gsub(" N$", " %%d+") .. "$"
end

describe("han.core errors (" .. H.backend .. " backend)", function()
  local s = kamstrup()
  local function block(x, number, last)
    return unhex(("E0%02X%04X0000"):format(last and 0x80 or 0, number)) .. string.char(#x) .. x
  end
  local nested = "\015\000\000\000\000\000\002\000"
  for _ = 1, 9 do nested = block(nested, 1, true) end
  local key = ("\000"):rep(16)
  local function bad_tag()
    local _, tag = core.gcm_encrypt(key, ("\000"):rep(12), "x")
    return core.gcm_decrypt(key, ("\000"):rep(12), "x", "", tag:sub(2) .. tag:sub(1, 1))
  end
  local lines = { "/ABC5", "" }
  for i = 1, 1025 do lines[#lines + 1] = ("1-0:%d.7.0(1)"):format(i) end

  -- code -> the call that gives that error
  local makes = {
    no_flag = function() return core.frame("\000" .. s:sub(2)) end,
    truncated = function() return core.frame(s:sub(1, 10)) end,
    bad_format = function() return core.frame(s:sub(1, 1) .. "\176" .. s:sub(3)) end,
    bad_length = function() return core.frame(s .. "\126") end,
    no_closing_flag = function() return core.frame(s:sub(1, -2) .. "\000") end,
    bad_address = function() return core.frame("\126\160\007\002\002\002\002\002\126") end,
    bad_hcs = function() return core.frame(s:sub(1, 6) .. "\000" .. s:sub(8)) end,
    bad_fcs = function() return core.frame(s:sub(1, 50) .. "\000" .. s:sub(52)) end,
    segmented = function()
      return core.notification(build_frame(unhex("E6E7000F00000000001101"), { segmented = true }))
    end,
    bad_llc = function() return core.notification(unhex("E6E70100")) end,
    unsupported_apdu = function() return core.notification(unhex("C001")) end,
    truncated_data = function() return core.notification(apdu("0905414243")) end,
    bad_datetime = function() return core.notification(unhex("0F40000000071101")) end,
    too_deep = function() return core.notification(apdu(("0101"):rep(16) .. "1101")) end,
    bad_ber = function() return core.notification(apdu("0980")) end,
    bad_bcd = function() return core.notification(apdu("0D4A")) end,
    unknown_type = function() return core.notification(apdu("07")) end,
    trailing_data = function() return core.notification(apdu("1101 11")) end,
    incomplete_segments = function()
      return core.unwrap(build_frame(unhex("E6E7000F00000000001101"), { segmented = true }))
    end,
    bad_mbus = function() return core.unwrap(unhex("68030369 53FF55 A7 16")) end,
    bad_mbus_checksum = function() return core.unwrap(unhex("68030368 53FF55 00 16")) end,
    unsupported_ci = function() return core.unwrap(unhex("68030368 53FF55 A7 16")) end,
    bad_block = function() return core.unwrap(block("A", 1) .. block("B", 3, true)) end,
    incomplete_block = function() return core.unwrap(block("A", 1)) end,
    bad_system_title = function() return core.unwrap(unhex("DB07" .. ("00"):rep(20))) end,
    unsupported_security = function()
      return core.unwrap(unhex("DB08" .. ("00"):rep(8) .. "0532 00000001"), { key = key })
    end,
    no_key = function() return core.unwrap(unhex("DB08 0102030405060708 0520 00000001")) end,
    no_system_title = function() return core.unwrap(unhex("C8 0520 00000001")) end,
    auth_failed = bad_tag,
    too_many_envelopes = function() return core.unwrap(nested) end,
    no_start = function() return core.p1("") end,
    no_end = function() return core.p1("/ABC5\r\n\r\n1-0:1.8.1(1)\r\n") end,
    bad_crc_line = function() return core.p1("/ABC5\r\n\r\n1-0:1.8.1(1)\r\n!12G4\r\n") end,
    bad_crc = function() return core.p1("/ABC5\r\n!0000\r\n") end,
    line_too_long = function()
      return core.p1("/ABC5\r\n\r\n0-0:96.13.0(" .. ("4"):rep(2036) .. ")\r\n!\r\n")
    end,
    bad_character = function() return core.p1("/ABC5\r\n\r\n1-0:1.8.1(1\0)\r\n!\r\n") end,
    bad_identification = function() return core.p1("/AB5\r\n!\r\n") end,
    too_many_lines = function() return core.p1(table.concat(lines, "\r\n") .. "\r\n!\r\n") end,
    bad_line = function() return core.p1("/ABC5\r\n\r\nhello\r\n!\r\n") end,
    no_sml_start = function() return core.sml("\27\27\27\27\1\1\1\2") end,
    no_sml_end = function() return core.sml("\27\27\27\27\1\1\1\1") end,
    bad_padding = function() return core.sml(H.sml.seal("", 5)) end,
    bad_escape = function() return core.sml(H.sml.seal("\27\27\27\27")) end,
    bad_tl = function() return core.sml(H.sml.seal("\16")) end,
    bad_sml_message = function() return core.sml(H.sml.seal("\113\1")) end,
    bad_sml_entry = function()
      return core.sml(H.sml.seal(H.sml.get_list("\1", { H.sml.list(H.sml.absent) })))
    end,
  }

  it("gives each error of docs/core-api.md its message and its code", function()
    local rows = documented_errors()
    assert.is_true(#rows >= 39)
    for _, row in ipairs(rows) do
      local make = assert(makes[row.code], "no case for " .. row.code)
      local r = { make() }
      assert.are.equal(3, select("#", make()), row.code)
      assert.is_nil(r[1], row.code)
      assert.is_truthy(r[2]:find(message_pattern(row.message)),
        row.code .. ": " .. tostring(r[2]))
      assert.are.equal(row.code, r[3])
      makes[row.code] = nil
    end
    assert.are.same({}, makes)   -- no case for a code the table leaves out
  end)
end)
