-- han.luacore.hdlc: HDLC frame type 3 checks (csrc/hdlc.c), shared by core.frame, the
-- notification reader and the framer.
local byte, floor = string.byte, math.floor
local crc_range = require("han.luacore.crc16").x25
local fail = require("han.luacore.errors").fail

local M = {}

-- One address field from position p: value and next position, or nil, err, code.
-- `n` is how many bytes are in (a streaming candidate may be short): "more" then.
local function address(s, p, limit, n)
  local v = 0
  for _ = 1, 4 do
    if p > limit then return fail("bad_address") end
    if p > n then return nil, "more" end
    local b = byte(s, p)
    v = v * 256 + b
    p = p + 1
    if b % 2 == 1 then return v, p end
  end
  return fail("bad_address")
end

-- Addresses, control and HCS of a frame of length `len` of which n bytes are in.
-- Returns dest, src, control, p (the first byte after control) or nil, err, code.
local function head(s, len, n)
  local limit = len - 1
  local dest, p, code = address(s, 4, limit, n)
  if not dest then return nil, p, code end
  local src
  src, p, code = address(s, p, limit, n)
  if not src then return nil, p, code end
  if p > limit then return fail("bad_address") end
  if p > n then return nil, "more" end
  local control = byte(s, p)
  p = p + 1
  if p == len then return dest, src, control, p end
  if p + 2 > len then return fail("bad_length") end
  if p + 1 > n then return nil, "more" end
  local lo, hi = byte(s, p, p + 1)
  if lo + hi * 256 ~= crc_range(s, 2, p - 1) then return fail("bad_hcs") end
  return dest, src, control, p
end

-- One whole frame: format, length, dest, src, control and the first and last positions
-- of the information field; or nil, err, code.
local function parse_frame(s)
  local n = #s
  if n < 1 or byte(s, 1) ~= 0x7E then return fail("no_flag") end
  if n < 3 then return fail("truncated") end
  local f1, f2 = byte(s, 2, 3)
  if floor(f1 / 16) ~= 0xA then return fail("bad_format") end
  local len = (f1 % 8) * 256 + f2
  if len < 7 then return fail("bad_length") end
  if n < len + 2 then return fail("truncated") end
  if n > len + 2 then return fail("bad_length") end
  if byte(s, len + 2) ~= 0x7E then return fail("no_closing_flag") end
  local dest, src, control, p = head(s, len, n)
  if not dest then return nil, src, control end
  local lo, hi = byte(s, len, len + 1)
  if lo + hi * 256 ~= crc_range(s, 2, len - 1) then return fail("bad_fcs") end
  -- the information field's first and last positions (an empty range when none)
  if p == len then return f1 * 256 + f2, len, dest, src, control, len + 1, len end
  return f1 * 256 + f2, len, dest, src, control, p + 2, len - 1
end

M.head, M.parse = head, parse_frame
return M
