-- han.luacore.aes: AES-128-GCM in pure Lua for han.luacore, with the same results as csrc/aes.c.
--
-- Words are 32-bit numbers. The one bit operation needed is xor, picked once at load
-- time: `bit32` (5.2), `bit` (LuaBitOp: LuaJIT, LogicMachine's 5.1; signed results),
-- the native `~` on 5.3+ (in a loaded chunk, so 5.1 parsers never see it), or nibble
-- tables when there is no bit library. Bytes and shifts are plain arithmetic, which is
-- exact for signed and unsigned words alike (x % 256 is the low byte either way).
-- Multi-argument xor calls keep the number of calls small: a C call costs far more
-- than an arithmetic instruction on the 5.1 interpreter.
local byte, char, sub, concat, floor = string.byte, string.char, string.sub,
  table.concat, math.floor

local M = {}

------------------------------------------------------------------------------------
-- xor of 2, 5 and 9 words

local xor2, xor5, xor9

local lib = rawget(_G, "bit32")
if not lib then
  local ok, b = pcall(require, "bit")
  if ok and type(b) == "table" then lib = b end
end

local native = not lib and _VERSION >= "Lua 5.3" and load
if lib then
  xor2, xor5, xor9 = lib.bxor, lib.bxor, lib.bxor
elseif native then
  local names = {}
  for i = 1, 9 do names[i] = "a" .. i end
  xor2, xor5, xor9 = assert(load(
    "return function(a, b) return a ~ b end, " ..
    "function(a, b, c, d, e) return a ~ b ~ c ~ d ~ e end, " ..
    "function(" .. concat(names, ", ") .. ") return " .. concat(names, " ~ ") .. " end"))()
else
  local X4 = {}   -- X4[a * 16 + b + 1] = a xor b for nibbles a, b
  for a = 0, 15 do
    for b = 0, 15 do
      local r, p, x, y = 0, 1, a, b
      for _ = 1, 4 do
        if x % 2 ~= y % 2 then r = r + p end
        x, y, p = floor(x / 2), floor(y / 2), p * 2
      end
      X4[a * 16 + b + 1] = r
    end
  end
  xor2 = function(a, b)
    a, b = a % 4294967296, b % 4294967296
    local r, p = 0, 1
    for _ = 1, 8 do
      local x, y = a % 16, b % 16
      r = r + X4[x * 16 + y + 1] * p
      a, b, p = (a - x) / 16, (b - y) / 16, p * 16
    end
    return r
  end
  xor5 = function(a, b, c, d, e) return xor2(xor2(xor2(xor2(a, b), c), d), e) end
  local function fold(a, b, ...)
    if b == nil then return a end
    return fold(xor2(a, b), ...)
  end
  xor9 = fold
end

------------------------------------------------------------------------------------
-- AES-128 encryption with T-tables of 32-bit words (0-based, like the C tables)

local S = { [0] =
  0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b, 0xfe, 0xd7, 0xab, 0x76,
  0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0, 0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0,
  0xb7, 0xfd, 0x93, 0x26, 0x36, 0x3f, 0xf7, 0xcc, 0x34, 0xa5, 0xe5, 0xf1, 0x71, 0xd8, 0x31, 0x15,
  0x04, 0xc7, 0x23, 0xc3, 0x18, 0x96, 0x05, 0x9a, 0x07, 0x12, 0x80, 0xe2, 0xeb, 0x27, 0xb2, 0x75,
  0x09, 0x83, 0x2c, 0x1a, 0x1b, 0x6e, 0x5a, 0xa0, 0x52, 0x3b, 0xd6, 0xb3, 0x29, 0xe3, 0x2f, 0x84,
  0x53, 0xd1, 0x00, 0xed, 0x20, 0xfc, 0xb1, 0x5b, 0x6a, 0xcb, 0xbe, 0x39, 0x4a, 0x4c, 0x58, 0xcf,
  0xd0, 0xef, 0xaa, 0xfb, 0x43, 0x4d, 0x33, 0x85, 0x45, 0xf9, 0x02, 0x7f, 0x50, 0x3c, 0x9f, 0xa8,
  0x51, 0xa3, 0x40, 0x8f, 0x92, 0x9d, 0x38, 0xf5, 0xbc, 0xb6, 0xda, 0x21, 0x10, 0xff, 0xf3, 0xd2,
  0xcd, 0x0c, 0x13, 0xec, 0x5f, 0x97, 0x44, 0x17, 0xc4, 0xa7, 0x7e, 0x3d, 0x64, 0x5d, 0x19, 0x73,
  0x60, 0x81, 0x4f, 0xdc, 0x22, 0x2a, 0x90, 0x88, 0x46, 0xee, 0xb8, 0x14, 0xde, 0x5e, 0x0b, 0xdb,
  0xe0, 0x32, 0x3a, 0x0a, 0x49, 0x06, 0x24, 0x5c, 0xc2, 0xd3, 0xac, 0x62, 0x91, 0x95, 0xe4, 0x79,
  0xe7, 0xc8, 0x37, 0x6d, 0x8d, 0xd5, 0x4e, 0xa9, 0x6c, 0x56, 0xf4, 0xea, 0x65, 0x7a, 0xae, 0x08,
  0xba, 0x78, 0x25, 0x2e, 0x1c, 0xa6, 0xb4, 0xc6, 0xe8, 0xdd, 0x74, 0x1f, 0x4b, 0xbd, 0x8b, 0x8a,
  0x70, 0x3e, 0xb5, 0x66, 0x48, 0x03, 0xf6, 0x0e, 0x61, 0x35, 0x57, 0xb9, 0x86, 0xc1, 0x1d, 0x9e,
  0xe1, 0xf8, 0x98, 0x11, 0x69, 0xd9, 0x8e, 0x94, 0x9b, 0x1e, 0x87, 0xe9, 0xce, 0x55, 0x28, 0xdf,
  0x8c, 0xa1, 0x89, 0x0d, 0xbf, 0xe6, 0x42, 0x68, 0x41, 0x99, 0x2d, 0x0f, 0xb0, 0x54, 0xbb, 0x16,
}

-- SubBytes and MixColumns of one byte, for each row: T0[x] has the bytes 2s, s, s, 3s
-- (s = S[x], most significant first), T1..T3 the same rotated.
local T0, T1, T2, T3 = {}, {}, {}, {}
for x = 0, 255 do
  local s = S[x]
  local s2 = s < 128 and s * 2 or xor2(s * 2 - 256, 0x1b)
  local s3 = xor2(s2, s)
  T0[x] = ((s2 * 256 + s) * 256 + s) * 256 + s3
  T1[x] = ((s3 * 256 + s2) * 256 + s) * 256 + s
  T2[x] = ((s * 256 + s3) * 256 + s2) * 256 + s
  T3[x] = ((s * 256 + s) * 256 + s3) * 256 + s2
end

-- The block (four big-endian column words) encrypted with the 44 round keys rk[0..43].
-- Byte names: a is the most significant byte of a word, d the least.
local function encrypt(rk, s0, s1, s2, s3)
  s0, s1, s2, s3 = xor2(s0, rk[0]), xor2(s1, rk[1]), xor2(s2, rk[2]), xor2(s3, rk[3])
  local a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3
  for k = 4, 40, 4 do
    d0 = s0 % 256; s0 = (s0 - d0) / 256; c0 = s0 % 256; s0 = (s0 - c0) / 256
    b0 = s0 % 256; a0 = (s0 - b0) / 256 % 256
    d1 = s1 % 256; s1 = (s1 - d1) / 256; c1 = s1 % 256; s1 = (s1 - c1) / 256
    b1 = s1 % 256; a1 = (s1 - b1) / 256 % 256
    d2 = s2 % 256; s2 = (s2 - d2) / 256; c2 = s2 % 256; s2 = (s2 - c2) / 256
    b2 = s2 % 256; a2 = (s2 - b2) / 256 % 256
    d3 = s3 % 256; s3 = (s3 - d3) / 256; c3 = s3 % 256; s3 = (s3 - c3) / 256
    b3 = s3 % 256; a3 = (s3 - b3) / 256 % 256
    if k == 40 then break end   -- the last round has no MixColumns
    s0 = xor5(T0[a0], T1[b1], T2[c2], T3[d3], rk[k])
    s1 = xor5(T0[a1], T1[b2], T2[c3], T3[d0], rk[k + 1])
    s2 = xor5(T0[a2], T1[b3], T2[c0], T3[d1], rk[k + 2])
    s3 = xor5(T0[a3], T1[b0], T2[c1], T3[d2], rk[k + 3])
  end
  return xor2(((S[a0] * 256 + S[b1]) * 256 + S[c2]) * 256 + S[d3], rk[40]),
    xor2(((S[a1] * 256 + S[b2]) * 256 + S[c3]) * 256 + S[d0], rk[41]),
    xor2(((S[a2] * 256 + S[b3]) * 256 + S[c0]) * 256 + S[d1], rk[42]),
    xor2(((S[a3] * 256 + S[b0]) * 256 + S[c1]) * 256 + S[d2], rk[43])
end

local RCON = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36 }

local function expand(key)
  local rk = {}
  for i = 0, 3 do
    local a, b, c, d = byte(key, 4 * i + 1, 4 * i + 4)
    rk[i] = ((a * 256 + b) * 256 + c) * 256 + d
  end
  for i = 4, 43 do
    local t = rk[i - 1]
    if i % 4 == 0 then   -- RotWord, SubWord, Rcon
      local d = t % 256; t = (t - d) / 256
      local c = t % 256; t = (t - c) / 256
      local b = t % 256
      local a = (t - b) / 256 % 256
      t = xor2(((S[b] * 256 + S[c]) * 256 + S[d]) * 256 + S[a], RCON[i / 4] * 16777216)
    end
    rk[i] = xor2(rk[i - 4], t)
  end
  return rk
end

------------------------------------------------------------------------------------
-- GHASH. In GCM's bit order the first bit of a block is the coefficient of x^0 and
-- multiplying by x is a right shift of the 128-bit number, the bit falling off coming
-- back as 0xE1 in the top byte. X * H is the xor, over X's 32 nibbles, of
-- (nibble * x^(4 * position)) * H: with one 16-entry table per position (Shoup's
-- 4-bit table, pre-multiplied for each position) there is no shifting or reduction per
-- block, only lookups and 16 xor calls.
-- G[w][16 * position + nibble + 1] is word w of that entry; a nibble's top bit is its
-- lowest power of x.

local function ghash_tables(h0, h1, h2, h3)
  local G0, G1, G2, G3 = {}, {}, {}, {}
  h0, h1, h2, h3 = h0 % 4294967296, h1 % 4294967296, h2 % 4294967296, h3 % 4294967296
  for base = 1, 497, 16 do
    G0[base], G1[base], G2[base], G3[base] = 0, 0, 0, 0
    -- H * x^(4p), ..., H * x^(4p+3) are the entries of the nibbles 8, 4, 2, 1
    local n = 8
    while n >= 1 do
      local i = base + n
      G0[i], G1[i], G2[i], G3[i] = h0, h1, h2, h3
      local low = h3 % 2   -- H = H * x
      h3 = (h3 - low) / 2 + h2 % 2 * 2147483648
      h2 = (h2 - h2 % 2) / 2 + h1 % 2 * 2147483648
      h1 = (h1 - h1 % 2) / 2 + h0 % 2 * 2147483648
      h0 = (h0 - h0 % 2) / 2
      if low == 1 then h0 = xor2(h0, 0xE1000000) % 4294967296 end
      n = (n - n % 2) / 2
    end
    -- the other entries are sums: nibble m + r with m its top bit
    local m = 2
    while m <= 8 do
      for r = 1, m - 1 do
        local i, j, k = base + m + r, base + m, base + r
        G0[i], G1[i] = xor2(G0[j], G0[k]), xor2(G1[j], G1[k])
        G2[i], G3[i] = xor2(G2[j], G2[k]), xor2(G3[j], G3[k])
      end
      m = m * 2
    end
  end
  return G0, G1, G2, G3
end

-- (x0, x1, x2, x3) * H, a word at a time: the nibbles n0 (most significant) .. n7 of
-- word w are at positions 8w .. 8w + 7, their entries at 16 * position + nibble + 1.
local function mul_h(G0, G1, G2, G3, x0, x1, x2, x3)
  local z0, z1, z2, z3 = 0, 0, 0, 0
  for o = 1, 385, 128 do
    local n7 = x0 % 16; x0 = (x0 - n7) / 16; local n6 = x0 % 16; x0 = (x0 - n6) / 16
    local n5 = x0 % 16; x0 = (x0 - n5) / 16; local n4 = x0 % 16; x0 = (x0 - n4) / 16
    local n3 = x0 % 16; x0 = (x0 - n3) / 16; local n2 = x0 % 16; x0 = (x0 - n2) / 16
    local n1 = x0 % 16; local n0 = (x0 - n1) / 16 % 16
    n0, n1, n2, n3 = n0 + o, n1 + o + 16, n2 + o + 32, n3 + o + 48
    n4, n5, n6, n7 = n4 + o + 64, n5 + o + 80, n6 + o + 96, n7 + o + 112
    z0 = xor9(z0, G0[n0], G0[n1], G0[n2], G0[n3], G0[n4], G0[n5], G0[n6], G0[n7])
    z1 = xor9(z1, G1[n0], G1[n1], G1[n2], G1[n3], G1[n4], G1[n5], G1[n6], G1[n7])
    z2 = xor9(z2, G2[n0], G2[n1], G2[n2], G2[n3], G2[n4], G2[n5], G2[n6], G2[n7])
    z3 = xor9(z3, G3[n0], G3[n1], G3[n2], G3[n3], G3[n4], G3[n5], G3[n6], G3[n7])
    x0, x1, x2 = x1, x2, x3
  end
  return z0, z1, z2, z3
end

local ZEROS = string.rep("\0", 16)

-- The GHASH state (z0..z3) after absorbing s, its last partial block padded with zeros.
local function ghash(g, z0, z1, z2, z3, s)
  local G0, G1, G2, G3 = g[1], g[2], g[3], g[4]
  local n = #s
  for i = 1, n, 16 do
    local p, j = s, i
    if i + 15 > n then p, j = sub(s, i) .. ZEROS, 1 end   -- once, for the last block
    local b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16 =
      byte(p, j, j + 15)
    z0, z1, z2, z3 = mul_h(G0, G1, G2, G3,
      xor2(z0, ((b1 * 256 + b2) * 256 + b3) * 256 + b4),
      xor2(z1, ((b5 * 256 + b6) * 256 + b7) * 256 + b8),
      xor2(z2, ((b9 * 256 + b10) * 256 + b11) * 256 + b12),
      xor2(z3, ((b13 * 256 + b14) * 256 + b15) * 256 + b16))
  end
  return z0, z1, z2, z3
end

------------------------------------------------------------------------------------
-- The per-key object

local GCM = {}
GCM.__index = GCM

local function iv_words(iv)
  local a, b, c, d, e, f, g, h, i, j, k, l = byte(iv, 1, 12)
  return ((a * 256 + b) * 256 + c) * 256 + d, ((e * 256 + f) * 256 + g) * 256 + h,
    ((i * 256 + j) * 256 + k) * 256 + l
end

-- The 16 bytes of four words xored with four others, as a string.
local function xor_bytes(w0, w1, w2, w3, k0, k1, k2, k3)
  w0, w1, w2, w3 = xor2(w0, k0), xor2(w1, k1), xor2(w2, k2), xor2(w3, k3)
  local d0 = w0 % 256; w0 = (w0 - d0) / 256; local c0 = w0 % 256; w0 = (w0 - c0) / 256
  local b0 = w0 % 256; local a0 = (w0 - b0) / 256 % 256
  local d1 = w1 % 256; w1 = (w1 - d1) / 256; local c1 = w1 % 256; w1 = (w1 - c1) / 256
  local b1 = w1 % 256; local a1 = (w1 - b1) / 256 % 256
  local d2 = w2 % 256; w2 = (w2 - d2) / 256; local c2 = w2 % 256; w2 = (w2 - c2) / 256
  local b2 = w2 % 256; local a2 = (w2 - b2) / 256 % 256
  local d3 = w3 % 256; w3 = (w3 - d3) / 256; local c3 = w3 % 256; w3 = (w3 - c3) / 256
  local b3 = w3 % 256; local a3 = (w3 - b3) / 256 % 256
  return char(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3)
end

-- s xor the key stream from the counter block iv || 00000002 (encrypts and decrypts).
function GCM:ctr(iv, s)
  local rk = self.rk
  local c0, c1, c2 = iv_words(iv)
  local n, out, ctr = #s, {}, 2
  for i = 1, n, 16 do
    local p, j = s, i
    if i + 15 > n then p, j = sub(s, i) .. ZEROS, 1 end   -- once, for the last block
    local b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16 =
      byte(p, j, j + 15)
    local k0, k1, k2, k3 = encrypt(rk, c0, c1, c2, ctr)
    out[#out + 1] = xor_bytes(((b1 * 256 + b2) * 256 + b3) * 256 + b4,
      ((b5 * 256 + b6) * 256 + b7) * 256 + b8, ((b9 * 256 + b10) * 256 + b11) * 256 + b12,
      ((b13 * 256 + b14) * 256 + b15) * 256 + b16, k0, k1, k2, k3)
    ctr = (ctr + 1) % 4294967296
  end
  if n % 16 ~= 0 then out[#out] = sub(out[#out], 1, n % 16) end
  return concat(out)
end

-- The 16-byte GCM tag of aad and the ciphertext ct.
function GCM:tag(iv, aad, ct)
  local z0, z1, z2, z3 = ghash(self, 0, 0, 0, 0, aad)
  z0, z1, z2, z3 = ghash(self, z0, z1, z2, z3, ct)
  local la, lc = #aad * 8, #ct * 8   -- the lengths in bits, 64 bits each
  z0, z1, z2, z3 = mul_h(self[1], self[2], self[3], self[4],
    xor2(z0, floor(la / 4294967296)), xor2(z1, la % 4294967296),
    xor2(z2, floor(lc / 4294967296)), xor2(z3, lc % 4294967296))
  local c0, c1, c2 = iv_words(iv)
  local e0, e1, e2, e3 = encrypt(self.rk, c0, c1, c2, 1)
  return xor_bytes(z0, z1, z2, z3, e0, e1, e2, e3)
end

-- Objects for the last few keys are kept: luacore asks for one per frame, and a key's
-- GHASH tables (2048 words) cost more to build than a frame costs to decrypt.
local cache, cached = {}, 0

-- The GCM object of a 16-byte raw key.
function M.new(key)
  local g = cache[key]
  if g then return g end
  if type(key) ~= "string" or #key ~= 16 then error("16-byte key expected", 2) end
  local rk = expand(key)
  g = setmetatable({ ghash_tables(encrypt(rk, 0, 0, 0, 0)) }, GCM)
  g.rk = rk
  if cached >= 8 then cache, cached = {}, 0 end
  cache[key], cached = g, cached + 1
  return g
end

-- true when the strings are equal, looking at every byte whatever the first difference.
function M.equal(a, b)
  if #a ~= #b then return false end
  local d = 0
  for i = 1, #a do
    local x = byte(a, i) - byte(b, i)
    d = d + x * x
  end
  return d == 0
end

return M
