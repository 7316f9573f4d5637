-- han.luacore.crc16: CRC-16/X-25 (HDLC, M-Bus DLMS, SML), CRC-16/KERMIT (SML) and
-- CRC-16/ARC (P1) over s[i..j], the twins of csrc/crc16.c and csrc/crc16_arc.c: slicing
-- tables, eight bytes per string.byte call.
--
-- Bit operations are picked once, at load time: the native operators on 5.3+, `bit32` on
-- 5.2, `bit` (LuaBitOp, as on LogicMachine) on 5.1/LuaJIT, and arithmetic with a small xor
-- table where no bit library exists. Each way keeps only the tables it gains from
-- (measured on Lua 5.1): by 2 with arithmetic (its xor is the cost: more tables gain
-- nothing), by 4 with the native operators, by 8 through LuaJIT's FFI (512 bytes a
-- table). With a bit library, by 4 (16 KiB of tables), and by 8 (one xor call per eight
-- bytes: 1.2x by 4) from the first input of LONG bytes on: its four more tables (16 KiB)
-- are built then. A meter's frames stay far below (HDLC lists are up to ~600 bytes); a
-- framer meets such inputs in noise that announces long frames, where the speed counts.
-- Tables are indexed from 0 (a byte indexes without the + 1: a fifth faster on Lua 5.1).
-- CRC-16/ARC's tables are built with the first P1 telegram.
local byte, floor = string.byte, math.floor
local LONG = 1024

local M = {}

-- a ~ b for 16-bit values, bit by bit: builds the tables where no bit library is.
local function xor16(a, b)
  local r, p = 0, 1
  for _ = 1, 16 do
    if a % 2 ~= b % 2 then r = r + p end
    a, b, p = floor(a / 2), floor(b / 2), p * 2
  end
  return r
end

-- S[0 .. k - 1]: S[0][x] the register after byte x for the reflected polynomial `poly`,
-- S[n][x] the register after byte x and n zero bytes: k bytes cost a lookup each.
-- Made once per polynomial (X-25 and KERMIT share theirs) and extended when more are asked.
local made = {}
local function slices(xor, poly, k)
  local S = made[poly]
  if not S then
    local T = {}
    for i = 0, 255 do
      local c = i
      for _ = 1, 8 do
        local low = c % 2
        c = floor(c / 2)
        if low == 1 then c = xor(c, poly) end
      end
      T[i] = c
    end
    S = { [0] = T }
    made[poly] = S
  end
  local T = S[0]
  for n = #S + 1, k - 1 do
    local prev, t = S[n - 1], {}
    for x = 0, 255 do
      local v = prev[x]
      t[x] = xor(T[v % 256], floor(v / 256))
    end
    S[n] = t
  end
  return S
end

-- A 16-bit xor of any number of arguments from a 4-bit xor table, for Lua 5.1 without a
-- bit library.
local function arithmetic()
  local X4 = {}
  for a = 0, 15 do
    for b = 0, 15 do X4[a * 16 + b] = xor16(a, b) end
  end
  local function bxor(a, b, ...)
    local r, p = 0, 1
    for _ = 1, 4 do
      r = r + X4[(a % 16) * 16 + b % 16] * p
      a, b, p = floor(a / 16), floor(b / 16), p * 16
    end
    if ... then return bxor(r, ...) end
    return r
  end
  return bxor
end

-- The bytes after the last whole eight, a lookup each.
local function tail(bxor, T0, crc, s, k, j)
  while k <= j do
    local w = bxor(crc, byte(s, k))
    local lo = w % 256
    crc = bxor(T0[lo], (w - lo) / 256)
    k = k + 1
  end
  return crc
end

-- With a bit library: slicing by 4, two steps per eight bytes read, and by 8, one step,
-- once the first input of LONG bytes has made S[4 .. 7].
local function crc48(bxor, poly, init, xorout)
  local S = slices(bxor, poly, 4)
  return function(s, i, j)
    if j - i + 1 >= LONG and not S[7] then slices(bxor, poly, 8) end
    -- the tables and functions in registers: an upvalue costs a step at each use
    local T0, T1, T2, T3, T4, T5, T6, T7 = S[0], S[1], S[2], S[3], S[4], S[5], S[6], S[7]
    local xor, get = bxor, byte
    local crc, k = init, i
    while k + 7 <= j do
      local a, b, c, d, e, f, g, h = get(s, k, k + 7)
      local w = xor(crc, a + b * 256)
      local lo = w % 256
      if T7 then
        crc = xor(T7[lo], T6[(w - lo) / 256], T5[c], T4[d], T3[e], T2[f], T1[g], T0[h])
      else
        w = xor(T3[lo], T2[(w - lo) / 256], T1[c], T0[d], e + f * 256)
        lo = w % 256
        crc = xor(T3[lo], T2[(w - lo) / 256], T1[g], T0[h])
      end
      k = k + 8
    end
    return xor(tail(xor, T0, crc, s, k, j), xorout) % 65536
  end
end

-- Slicing by 2, four steps per eight bytes read.
local function crc2(bxor, S, init, xorout)
  local T0, T1 = S[0], S[1]
  return function(s, i, j)
    local crc, k = init, i
    while k + 7 <= j do
      local a, b, c, d, e, f, g, h = byte(s, k, k + 7)
      local w = bxor(crc, a + b * 256)
      local lo = w % 256
      w = bxor(T1[lo], T0[(w - lo) / 256], c + d * 256)
      lo = w % 256
      w = bxor(T1[lo], T0[(w - lo) / 256], e + f * 256)
      lo = w % 256
      w = bxor(T1[lo], T0[(w - lo) / 256], g + h * 256)
      lo = w % 256
      crc = bxor(T1[lo], T0[(w - lo) / 256])
      k = k + 8
    end
    return bxor(tail(bxor, T0, crc, s, k, j), xorout) % 65536
  end
end

-- Native operators exist only from 5.3 on; older parsers must never see them.
local native = _VERSION >= "Lua 5.3" and load and load([[
  local S, byte, init, xorout = ...
  local T0, T1, T2, T3 = S[0], S[1], S[2], S[3]
  return function(s, i, j)
    local crc = init
    local k = i
    while k + 7 <= j do
      local a, b, c, d, e, f, g, h = byte(s, k, k + 7)
      local w = crc ~ (a | b << 8)
      w = T3[w & 0xFF] ~ T2[w >> 8] ~ T1[c] ~ T0[d] ~ (e | f << 8)
      crc = T3[w & 0xFF] ~ T2[w >> 8] ~ T1[g] ~ T0[h]
      k = k + 8
    end
    while k <= j do
      crc = T0[(crc ~ byte(s, k)) & 0xFF] ~ (crc >> 8)
      k = k + 1
    end
    return crc ~ xorout
  end]])

-- LuaJIT: its FFI reads the bytes and 16-bit tables without the checks of string.byte
-- and Lua tables, and `bit` compiles to machine operations.
local ffi = rawget(_G, "jit") and (function()
  local ok, lib = pcall(require, "ffi")
  return ok and lib or nil
end)()
local function crc_ffi(bit, S, init, xorout)
  local t = {}
  for k = 0, 7 do
    t[k] = ffi.new("uint16_t[256]")
    for x = 0, 255 do t[k][x] = S[k][x] end
  end
  local T0, T1, T2, T3, T4, T5, T6, T7 = t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
  local bxor, band, rshift, cast = bit.bxor, bit.band, bit.rshift, ffi.cast
  return function(s, i, j)
    local b = cast("const uint8_t *", s) - 1   -- b[k] is byte k of s
    local crc = init
    local k = i
    while k + 7 <= j do
      local w = bxor(crc, b[k], b[k + 1] * 256)
      crc = bxor(T7[band(w, 255)], T6[rshift(w, 8)], T5[b[k + 2]], T4[b[k + 3]],
        T3[b[k + 4]], T2[b[k + 5]], T1[b[k + 6]], T0[b[k + 7]])
      k = k + 8
    end
    while k <= j do
      crc = bxor(T0[band(bxor(crc, b[k]), 255)], rshift(crc, 8))
      k = k + 1
    end
    return band(bxor(crc, xorout), 0xFFFF)
  end
end

local lib = rawget(_G, "bit32")
if not lib and not native then
  local ok, b = pcall(require, "bit")
  lib = ok and type(b) == "table" and b.bxor and b or nil
end

-- The arithmetic xor, made once where no bit library is.
local arith_xor
local function arith()
  arith_xor = arith_xor or arithmetic()
  return arith_xor
end

-- The way picked: a maker of CRC functions that keeps only what it reads.
local make
if native then
  make = function(poly, init, xorout)
    return native(slices(xor16, poly, 4), byte, init, xorout)
  end
elseif lib and ffi and lib.band and lib.rshift then
  make = function(poly, init, xorout)
    return crc_ffi(lib, slices(lib.bxor, poly, 8), init, xorout)
  end
elseif lib then
  make = function(poly, init, xorout)
    return crc48(lib.bxor, poly, init, xorout)
  end
else
  local bxor = arith()
  make = function(poly, init, xorout)
    return crc2(bxor, slices(bxor, poly, 2), init, xorout)
  end
end

M.x25 = make(0x8408, 0xFFFF, 0xFFFF)
-- A CRC of init 0 and no final xor, made with its first use.
local function on_first_use(poly)
  local crc
  return function(s, i, j)
    crc = crc or make(poly, 0, 0)
    return crc(s, i, j)
  end
end
-- CRC-16/KERMIT: some Holley meters' SML.
M.kermit = on_first_use(0x8408)

-- What han.luacore.sml combines CRCs with, made on its first use: an xor of five numbers
-- and the byte table of the X-25 polynomial.
function M.combiner()
  local xor5 = native and load("return function(a, b, c, d, e) return a ~ b ~ c ~ d ~ e end")()
    or lib and lib.bxor or arith()
  return xor5, made[0x8408][0]
end

M.arc = on_first_use(0xA001)
return M
