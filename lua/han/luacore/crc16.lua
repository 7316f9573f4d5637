-- han.luacore.crc16: CRC-16/X-25 (HDLC, M-Bus DLMS) and CRC-16/ARC (P1) over s[i..j], the
-- twins of csrc/crc16.c and csrc/crc16_arc.c: a byte table, eight bytes per string.byte
-- call.
--
-- Bit operations are picked once, at load time: the native operators on 5.3+, `bit32` on
-- 5.2, `bit` (LuaBitOp, as on LogicMachine) on 5.1/LuaJIT, and arithmetic with small xor
-- tables where no bit library exists.
local byte, floor = string.byte, math.floor

local M = {}

local T = {}   -- T[b + 1]: the classic byte table of the reflected polynomial 0x8408
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    local low = c % 2
    c = floor(c / 2)
    if low == 1 then
      -- c ~ 0x8408 without a bit library: c < 0x8000 here, so flip bits 15, 10 and 3
      c = c + 0x8000
      c = (floor(c / 1024) % 2 == 1) and c - 1024 or c + 1024
      c = (floor(c / 8) % 2 == 1) and c - 8 or c + 8
    end
  end
  T[i + 1] = c
end

-- ARC[b + 1]: the same for CRC-16/ARC (reflected 0xA001, init 0, no final xor) of P1
local ARC = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    local low = c % 2
    c = floor(c / 2)
    if low == 1 then   -- c ~ 0xA001: flip bits 15, 13 and 0
      c = c + 0x8000
      c = (floor(c / 8192) % 2 == 1) and c - 8192 or c + 8192
      c = (c % 2 == 1) and c - 1 or c + 1
    end
  end
  ARC[i + 1] = c
end

local crc_range, arc_range

-- 16-bit xor from two 4-bit xor tables, for Lua 5.1 without a bit library (and to
-- build the tables below whatever the runtime); any number of arguments.
local X4 = {}
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
local function arithmetic_bxor(a, b, ...)
  local r, p = 0, 1
  for _ = 1, 4 do
    r = r + X4[(a % 16) * 16 + b % 16 + 1] * p
    a, b, p = floor(a / 16), floor(b / 16), p * 16
  end
  if ... then return arithmetic_bxor(r, ...) end
  return r
end

-- Slicing by 8: S[k][x] is the CRC register after byte x followed by k zero bytes, so
-- that eight bytes cost one table lookup each and two xor calls in all.
local function slices(tab)
  local S = { [0] = tab }
  for k = 1, 7 do
    local prev, t = S[k - 1], {}
    for x = 1, 256 do
      local v = prev[x]
      t[x] = arithmetic_bxor(tab[v % 256 + 1], floor(v / 256))
    end
    S[k] = t
  end
  return S
end

local function crc_with(bxor, tab, init, xorout)
  local S = slices(tab)
  local T0, T1, T2, T3, T4, T5, T6, T7 = S[0], S[1], S[2], S[3], S[4], S[5], S[6], S[7]
  return function(s, i, j)
    local crc = init
    local k = i
    while k + 7 <= j do
      local a, b, c, d, e, f, g, h = byte(s, k, k + 7)
      local w = bxor(crc, a + b * 256)
      local lo = w % 256
      crc = bxor(T7[lo + 1], T6[(w - lo) / 256 + 1], T5[c + 1], T4[d + 1], T3[e + 1],
        T2[f + 1], T1[g + 1], T0[h + 1])
      k = k + 8
    end
    while k <= j do
      local w = bxor(crc, byte(s, k))
      local lo = w % 256
      crc = bxor(T0[lo + 1], (w - lo) / 256)
      k = k + 1
    end
    return bxor(crc, xorout) % 65536
  end
end

-- Native operators exist only from 5.3 on; older parsers must never see them.
local native = _VERSION >= "Lua 5.3" and load and load([[
  local S, byte, init, xorout = ...
  local T0, T1, T2, T3, T4, T5, T6, T7 = S[0], S[1], S[2], S[3], S[4], S[5], S[6], S[7]
  return function(s, i, j)
    local crc = init
    local k = i
    while k + 7 <= j do
      local a, b, c, d, e, f, g, h = byte(s, k, k + 7)
      local w = crc ~ (a | b << 8)
      crc = T7[(w & 0xFF) + 1] ~ T6[(w >> 8) + 1] ~ T5[c + 1] ~ T4[d + 1] ~ T3[e + 1]
        ~ T2[f + 1] ~ T1[g + 1] ~ T0[h + 1]
      k = k + 8
    end
    while k <= j do
      crc = T0[((crc ~ byte(s, k)) & 0xFF) + 1] ~ (crc >> 8)
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
local function crc_ffi(bit, tab, init, xorout)
  local S, t = slices(tab), {}
  for k = 0, 7 do
    t[k] = ffi.new("uint16_t[256]")
    for x = 0, 255 do t[k][x] = S[k][x + 1] end
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

local function pick_crc(bitlib, tab, init, xorout)
  if native then return native(slices(tab), byte, init, xorout) end
  if ffi and bitlib and bitlib.band and bitlib.rshift then
    return crc_ffi(bitlib, tab, init, xorout)
  end
  return crc_with(bitlib and bitlib.bxor or arithmetic_bxor, tab, init, xorout)
end

do
  local lib = rawget(_G, "bit32")
  if not lib and not native then
    local ok, b = pcall(require, "bit")
    lib = ok and type(b) == "table" and b.bxor and b or nil
  end
  crc_range = pick_crc(lib, T, 0xFFFF, 0xFFFF)
  -- P1's tables (32 KiB on Lua 5.1) are built with the first telegram
  local arc
  arc_range = function(s, i, j)
    arc = arc or pick_crc(lib, ARC, 0, 0)
    return arc(s, i, j)
  end
end

M.x25, M.arc = crc_range, arc_range
return M
