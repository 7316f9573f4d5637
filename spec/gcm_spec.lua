-- AES-128-GCM: core.gcm_encrypt / core.gcm_decrypt of the backend under test against the
-- published test cases and the encrypted vectors, and han.luacore.aes (the pure-Lua engine)
-- under each bit library a controller may have.
local H = require("helpers")
local core = H.core()
local unhex, hex = H.unhex, H.hex

-- McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 1-4 (128-bit key,
-- 96-bit IV), and NIST CAVS gcmEncryptExtIV128 (PTlen 0, AADlen 128, count 0) for a
-- tag over AAD alone.
local K3, IV3 = "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888"
local P3 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" ..
  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
local C3 = "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" ..
  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
local cases = {
  { name = "test case 1 (empty plaintext, empty AAD)", key = string.rep("00", 16),
    iv = string.rep("00", 12), pt = "", aad = "", ct = "",
    tag = "58e2fccefa7e3061367f1d57a4e7455a" },
  { name = "test case 2 (one zero block)", key = string.rep("00", 16),
    iv = string.rep("00", 12), pt = string.rep("00", 16), aad = "",
    ct = "0388dace60b6a392f328c2b971b2fe78", tag = "ab6e47d42cec13bdf53a67b21257bddf" },
  { name = "test case 3 (64 bytes)", key = K3, iv = IV3, pt = P3, aad = "", ct = C3,
    tag = "4d5c2af327cd64a62cf35abd2ba6fab4" },
  { name = "test case 4 (60 bytes, 20 bytes of AAD)", key = K3, iv = IV3,
    pt = P3:sub(1, 120), aad = "feedfacedeadbeeffeedfacedeadbeefabaddad2", ct = C3:sub(1, 120),
    tag = "5bc94fbc3221a5db94fae95ae7121a47" },
  { name = "tag only (empty plaintext, 16 bytes of AAD)",
    key = "77be63708971c4e240d1cb79e8d77feb", iv = "e0e00f19fed7ba0136a797f3", pt = "",
    aad = "7a43ec1d9c0a5a78a0b16533a6213cab", ct = "",
    tag = "209fcc8d3675ed938e9c7166709dd946" },
}
for _, c in ipairs(cases) do
  for _, f in ipairs({ "key", "iv", "pt", "aad", "ct", "tag" }) do c[f] = unhex(c[f]) end
end

-- s with byte i xored with 0x01
local function flip(s, i)
  local b = s:byte(i)
  return s:sub(1, i - 1) .. string.char(b % 2 == 0 and b + 1 or b - 1) .. s:sub(i + 1)
end

describe("core.gcm_encrypt / gcm_decrypt (" .. H.backend .. " backend)", function()
  for _, c in ipairs(cases) do
    describe(c.name, function()
      it("encrypts to the published ciphertext and tag", function()
        local ct, tag = core.gcm_encrypt(c.key, c.iv, c.pt, c.aad)
        assert.are.equal(hex(c.ct), hex(ct))
        assert.are.equal(hex(c.tag), hex(tag))
      end)

      it("decrypts with the full tag and with a 12-byte or 1-byte prefix", function()
        assert.are.equal(hex(c.pt), hex(core.gcm_decrypt(c.key, c.iv, c.ct, c.aad, c.tag)))
        assert.are.equal(hex(c.pt),
          hex(core.gcm_decrypt(c.key, c.iv, c.ct, c.aad, c.tag:sub(1, 12))))
        assert.are.equal(hex(c.pt),
          hex(core.gcm_decrypt(c.key, c.iv, c.ct, c.aad, c.tag:sub(1, 1))))
      end)

      it("rejects a flipped byte of the tag, the ciphertext, the AAD or the IV", function()
        local function rejects(iv, ct, aad, tag)
          assert.are.same({ nil, "authentication failed", "auth_failed" },
            { core.gcm_decrypt(c.key, iv, ct, aad, tag) })
        end
        for _, i in ipairs({ 1, 12, 16 }) do rejects(c.iv, c.ct, c.aad, flip(c.tag, i)) end
        rejects(c.iv, c.ct, c.aad, flip(c.tag, 12):sub(1, 12))
        if #c.ct > 0 then
          rejects(c.iv, flip(c.ct, 1), c.aad, c.tag)
          rejects(c.iv, flip(c.ct, #c.ct), c.aad, c.tag)
          rejects(c.iv, c.ct .. "\0", c.aad, c.tag)
        end
        if #c.aad > 0 then rejects(c.iv, c.ct, flip(c.aad, #c.aad), c.tag) end
        rejects(c.iv, c.ct, c.aad .. "\0", c.tag)
        rejects(flip(c.iv, 12), c.ct, c.aad, c.tag)
      end)
    end)
  end

  it("gcm_encrypt's AAD defaults to empty", function()
    local c = cases[3]
    local ct, tag = core.gcm_encrypt(c.key, c.iv, c.pt)
    assert.are.equal(hex(c.ct), hex(ct))
    assert.are.equal(hex(c.tag), hex(tag))
  end)

  it("raises on misuse", function()
    local c = cases[3]
    assert.has_error(function() core.gcm_encrypt(c.key:sub(2), c.iv, c.pt) end)
    assert.has_error(function() core.gcm_encrypt(c.key, c.iv:sub(2), c.pt) end)
    assert.has_error(function() core.gcm_encrypt(c.key, c.iv .. "x", c.pt) end)
    assert.has_error(function() core.gcm_encrypt(c.key, c.iv, nil) end)
    assert.has_error(function() core.gcm_decrypt(c.key, c.iv, c.ct, "", "") end)
    assert.has_error(function() core.gcm_decrypt(c.key, c.iv, c.ct, "", c.tag .. "x") end)
    assert.has_error(function() core.gcm_decrypt(c.key, c.iv, c.ct, nil, c.tag) end)
    assert.has_error(function() core.gcm_decrypt(nil, c.iv, c.ct, "", c.tag) end)
  end)

  it("round-trips every length from 0 to 80 bytes and agrees with han.luacore.aes", function()
    local gcm = require("han.luacore.aes")
    local rand = H.rng(7)
    local function bytes(n)
      local t = {}
      for i = 1, n do t[i] = string.char(rand(256) - 1) end
      return table.concat(t)
    end
    for n = 0, 80 do
      local key, iv, pt, aad = bytes(16), bytes(12), bytes(n), bytes(rand(40) - 1)
      local ct, tag = core.gcm_encrypt(key, iv, pt, aad)
      local g = gcm.new(key)
      assert.are.equal(hex(g:ctr(iv, pt)), hex(ct), "length " .. n)
      assert.are.equal(hex(g:tag(iv, aad, ct)), hex(tag), "length " .. n)
      assert.are.equal(pt, core.gcm_decrypt(key, iv, ct, aad, tag))
    end
  end)

  -- The DLMS general-glo-ciphering APDUs of encrypted.jsonl: DB 08 <system title>
  -- <BER length> <security control> <frame counter> <ciphertext> [<12-byte tag>].
  it("decrypts the DB-ciphered APDUs of encrypted.jsonl", function()
    local seen, tags = 0, 0
    for _, r in ipairs(H.jsonl("encrypted.jsonl")) do
      local s = unhex(r.hex)
      if (r.format == "apdu" or r.format == "smarty") and s:byte(1) == 0xDB then
        assert.are.equal(8, s:byte(2), r.id)
        local title, p, len = s:sub(3, 10), 11, s:byte(11)
        if len == 0x81 then len, p = s:byte(12), 12
        elseif len == 0x82 then len, p = s:byte(12) * 256 + s:byte(13), 13 end
        assert.are.equal(#s - p, len, r.id)
        local sc = s:byte(p + 1)
        local iv = title .. s:sub(p + 2, p + 5)
        local body = s:sub(p + 6)
        local ct, tag = body, nil
        if sc % 32 >= 16 then ct, tag = body:sub(1, -13), body:sub(-12) end
        local key = unhex(r.encryption_key)
        -- CTR is its own inverse: encrypting the ciphertext decrypts it, tag or not
        assert.are.equal(r.plaintext_apdu, hex((core.gcm_encrypt(key, iv, ct))), r.id)
        if r.authentication_key ~= H.json_null and sc == 0x30 then
          local aad = string.char(sc) .. unhex(r.authentication_key)
          local pt, err = core.gcm_decrypt(key, iv, ct, aad, tag)
          assert.are.equal(r.tag_ok, pt ~= nil, r.id)
          if pt then
            assert.are.equal(r.plaintext_apdu, hex(pt), r.id)
          else
            assert.are.equal("authentication failed", err, r.id)
          end
          tags = tags + 1
        end
        seen = seen + 1
      end
    end
    assert.are.equal(5, seen)
    assert.are.equal(5, tags)
  end)
end)

------------------------------------------------------------------------------------
-- han.luacore.aes picks its xor once at load time. Load fresh copies as each runtime would see
-- them and check they compute the published results.

local fake_bitop, fake_bit32 = H.fake_bitop, H.fake_bit32

local function load_gcm(version, bit, bit32)
  return H.load_with_bits("lua/han/luacore/aes.lua", version, bit, bit32)
end

describe("han.luacore.aes bit-library selection", function()
  local variants = {
    { "no bit library (plain Lua 5.1)", "Lua 5.1", nil, nil },
    { "LuaBitOp with signed results (LogicMachine)", "Lua 5.1", fake_bitop, nil },
    { "bit32 (Lua 5.2)", "Lua 5.2", nil, fake_bit32 },
  }
  if _VERSION >= "Lua 5.3" then
    variants[#variants + 1] = { "native operators (" .. _VERSION .. ")", _VERSION, nil, nil }
  end
  if not jit and pcall(require, "bit") then
    variants[#variants + 1] = { "this runtime's bit library", "Lua 5.1", require("bit"), nil }
  end
  if jit then
    variants[#variants + 1] = { "LuaJIT's bit library", "Lua 5.1", require("bit"), nil }
  end
  for _, v in ipairs(variants) do
    it("gives test cases 2-4 and agrees with han.luacore.aes with " .. v[1], function()
      local gcm = load_gcm(v[2], v[3], v[4])
      for i = 2, 4 do
        local c = cases[i]
        local g = gcm.new(c.key)
        local ct = g:ctr(c.iv, c.pt)
        assert.are.equal(hex(c.ct), hex(ct))
        assert.are.equal(hex(c.tag), hex(g:tag(c.iv, c.aad, ct)))
        assert.are.equal(hex(c.pt), hex(g:ctr(c.iv, ct)))
      end
      local ref = require("han.luacore.aes")
      local key, iv = ("k"):rep(16), ("i"):rep(12)
      for _, n in ipairs({ 1, 15, 17, 33 }) do
        local pt, aad = ("\255"):rep(n), ("\128"):rep(n + 3)
        local ct = gcm.new(key):ctr(iv, pt)
        assert.are.equal(hex(ref.new(key):ctr(iv, pt)), hex(ct))
        assert.are.equal(hex(ref.new(key):tag(iv, aad, ct)), hex(gcm.new(key):tag(iv, aad, ct)))
      end
      assert.is_true(gcm.equal("abc", "abc"))
      assert.is_false(gcm.equal("abc", "abd"))
      assert.is_false(gcm.equal("abc", "bbc"))
      assert.is_false(gcm.equal("abc", "ab"))
      assert.is_true(gcm.equal("", ""))
    end)
  end
end)
