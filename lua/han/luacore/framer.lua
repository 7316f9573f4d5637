-- han.luacore.framer: the streaming framer (csrc/framer.c): the reference algorithm of
-- the contract, each candidate judged by position in the string of bytes not yet
-- resolved (`pending`). A push that cannot decide anything (the candidate waits for a
-- byte further on) is only kept in `parts`, and joined once that byte is in.
local byte, sub, find, match, floor, min = string.byte, string.sub, string.find,
  string.match, math.floor, math.min
local concat, format = table.concat, string.format
local crc16 = require("han.luacore.crc16")
local hdlc = require("han.luacore.hdlc")
local crc_range, arc_range, kermit_range = crc16.x25, crc16.arc, crc16.kermit
local head, parse_frame = hdlc.head, hdlc.parse

local M = {}

local Framer = {}
Framer.__index = Framer

local MAX_SEGMENTS, P1_MAX, P1_LINE, SML_MAX = 65536, 16384, 2048, 16384

-- The protocol each start byte opens a candidate of, and what each mode hunts for.
local START = { [0x7E] = "hdlc", [0x68] = "mbus", [0x2F] = "p1", [0x1B] = "sml" }
local HUNT = { hdlc = "\126", mbus = "h", p1 = "/", sml = "\27", auto = "[\126h/\27]" }

function M.framer(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'framer' (table expected)", 2)
  end
  local protocol = opts and opts.protocol
  if protocol == nil then protocol = "hdlc" end
  if not HUNT[protocol] then
    error("bad protocol (hdlc, mbus, p1, sml or auto expected)", 2)
  end
  return setmetatable({
    protocol = protocol,  -- "auto" until the first good frame
    kind = "hdlc",        -- the candidate's protocol
    cr_lf = opts and opts.cr_lf and true or false,
    held_cr = false,
    pending = "",         -- bytes from the candidate's start on
    base = 0,             -- the stream position of pending's first byte
    parts = {}, acc = 0,  -- pushes kept unjoined, and their bytes
    want = 0, lf = false, -- bytes before the next decision; whether any LF decides too
    cand = false,         -- a candidate is open at pending's first byte
    flag_counted = false,
    need = 0, head_done = false,
    p1_seen = 1, p1_line = 0, p1_data = false, p1_crc = false,
    sml_seen = 1, sml_pair = 0,
    late_end = 0, inside = 0, jumped = false, chained = false,   -- see late()
    queue = {}, head = 0, tail = 0,
    seg = {}, seg_len = 0, seg_seq = 0,
    st = { bytes_in = 0, bytes_framed = 0, bytes_discarded = 0, frames_ok = 0,
      bad_hcs = 0, bad_fcs = 0, bad_length = 0, segments_joined = 0 },
  }, Framer)
end

local function enqueue(f, s)
  f.tail = f.tail + 1
  f.queue[f.tail] = s
end

-- Keep one payload of a segmented message; `last` queues the joined message.
local function join(f, data, last)
  local st = f.st
  if f.seg_len + #data > MAX_SEGMENTS then
    st.bad_length = st.bad_length + 1
    f.seg, f.seg_len = {}, 0
    return
  end
  f.seg[#f.seg + 1] = data
  f.seg_len = f.seg_len + #data
  if last then
    st.segments_joined = st.segments_joined + #f.seg
    enqueue(f, concat(f.seg))
    f.seg, f.seg_len = {}, 0
  end
end

-- Each examiner looks at the candidate s[at..n] and says what it is:
--   nil, want, lf: undecided until `want` more bytes are in (or, lf, any LF);
--   "fail", counter[, at2]: failed early (the hunt resumes one byte after its start,
--     or at at2);
--   "late", counter, last: failed at s[last], late (see late());
--   "skip", x, counter: cut short, the next candidate starts at x;
--   "good", last: a good frame s[at..last].
-- Each deliver queues a good frame or keeps it as a segment.

local head_errors = { ["bad address"] = "bad_length", ["bad length"] = "bad_length",
  ["bad HCS"] = "bad_hcs" }

-- HDLC, len = the format field's low 11 bits: len + 2 bytes.
local function hdlc_examine(f, s, at, n)
  local have = n - at + 1
  if have < 2 then return nil, 1 end
  if byte(s, at + 1) == 0x7E then return "fail" end      -- a repeated flag
  if have < 3 then return nil, 1 end
  if not f.head_done then                                -- the header ends by byte 14
    local f1, f2 = byte(s, at + 1, at + 2)
    if floor(f1 / 16) ~= 0xA then return "fail" end
    local len = (f1 % 8) * 256 + f2
    if len < 7 then return "fail", "bad_length" end
    f.need = len + 2
    local ok, err = head(sub(s, at, at + 15), len, have < len + 2 and have or len + 2)
    if not ok and err ~= "more" then return "fail", head_errors[err] end
    if have < 16 and have < len + 2 then return nil, 1 end
    f.head_done = true
  end
  local need = f.need
  if have < need then return nil, need - have end
  local last = at + need - 1
  if byte(s, last) ~= 0x7E then return "late", "bad_length", last end
  local lo, hi = byte(s, last - 2, last - 1)
  if lo + hi * 256 ~= crc_range(s, at + 1, last - 3) then return "late", "bad_fcs", last end
  return "good", last
end

local function hdlc_deliver(f, frame)
  local segmented = floor(byte(frame, 2) / 8) % 2 == 1
  if not segmented and #f.seg == 0 then return enqueue(f, frame) end
  local _, _, _, _, _, first, last = parse_frame(frame)
  join(f, sub(frame, first, last), not segmented)
end

-- The sum of s[i..j] modulo 256.
local function sum8(s, i, j)
  local sum = 0
  while i + 7 <= j do
    local a, b, c, d, e, f, g, h = byte(s, i, i + 7)
    sum = sum + a + b + c + d + e + f + g + h
    i = i + 8
  end
  for k = i, j do sum = sum + byte(s, k) end
  return sum % 256
end

-- 68 L L 68 C A CI data CS 16: L + 6 bytes, L counting C through the last data byte.
-- The stop byte is checked before the sum, as HDLC's closing flag before its FCS.
local function mbus_examine(_, s, at, n)
  local have = n - at + 1
  if have < 3 then return nil, 1 end
  local L, L2 = byte(s, at + 1, at + 2)
  if L2 ~= L then return "fail" end                   -- a 68 that starts nothing
  if have < 4 then return nil, 1 end
  if byte(s, at + 3) ~= 0x68 then return "fail" end
  if L < 3 then return "fail", "bad_length" end
  if have < 7 then return nil, 1 end
  -- a transport segment needs room for STSAP and DTSAP
  if byte(s, at + 6) <= 0x1F and L < 5 then return "fail", "bad_length" end
  if have < L + 6 then return nil, L + 6 - have end
  local last = at + L + 5
  if byte(s, last) ~= 0x16 then return "late", "bad_length", last end
  if sum8(s, at + 4, at + L + 3) ~= byte(s, at + L + 4) then
    return "late", "bad_fcs", last
  end
  return "good", last
end

-- Whole, or the user data joined with the other DLMS transport segments (CI 00-1F:
-- low nibble the sequence number, 0x10 the last segment).
local function mbus_deliver(f, frame)
  local ci = byte(frame, 7)
  if ci > 0x1F then return enqueue(f, frame) end      -- not segmented: unwrap's job
  local seq, last = ci % 16, ci >= 0x10
  if #f.seg > 0 and seq ~= (f.seg_seq + 1) % 16 then
    f.st.bad_length = f.st.bad_length + 1             -- a segment was lost
    f.seg, f.seg_len = {}, 0
  end
  if last and #f.seg == 0 then return enqueue(f, frame) end   -- one-frame message
  f.seg_seq = seq
  join(f, sub(frame, 10, -3), last)
end

local function letter(c) return (c >= 65 and c <= 90) or (c >= 97 and c <= 122) end

-- The first LF at or after s[q], remembered for the scan (lf_from, lf_at): the lines of
-- a long run without LF are then not searched again for each candidate inside it.
local function next_lf(f, s, q)
  local from, at = f.lf_from, f.lf_at
  if from and from <= q and (not at or q <= at) then return at or nil end
  at = find(s, "\n", q, true)
  f.lf_from, f.lf_at = q, at or false
  return at
end

-- The complete "!" line s[at + ls .. at + e]: "!", 0 to 4 hex digits, CR LF. With
-- digits, their value must equal the CRC-16/ARC of the telegram through the "!".
-- Without, the stream must not have shown a CRC before (one damaged "!" would make a
-- CRC-carrying telegram pass unchecked) and the telegram must have a data line.
local function p1_end(f, s, at, ls, e)
  local last = at + e
  local line = sub(s, at + ls, last)
  if line == "!\r\n" then
    if f.p1_crc then return "late", "bad_fcs", last end
    if not f.p1_data then return "late", "bad_length", last end
    return "good", last
  end
  local crc = match(line, "^!(%x%x?%x?%x?)\r\n$")
  if crc and tonumber(crc, 16) == arc_range(s, at, at + ls) then
    f.p1_crc = true
    return "good", last
  end
  return "late", "bad_fcs", last
end

-- "/" + a 3-letter maker code ... the LF after the line starting with "!". Offsets count
-- from the "/" (0); the look resumes after the p1_seen bytes already examined.
local function p1_examine(f, s, at, n)
  local have = n - at + 1
  local k = f.p1_seen
  while k < 4 do                                      -- else a stray "/"
    if k >= have then
      f.p1_seen = k
      return nil, 1
    end
    if not letter(byte(s, at + k)) then return "fail" end
    k = k + 1
  end
  while k < have do
    local ls = f.p1_line
    local c = byte(s, at + ls)
    if k == ls and c == 0x2F then                     -- a telegram starts: this one is cut
      return "skip", at + ls, "bad_length"
    end
    if c == 0x21 then                                 -- complete at its LF or 7th byte
      local lim = have < ls + 7 and have or ls + 7
      local e = next_lf(f, s, at + ls + 1)
      e = e and e - at
      if not (e and e < lim) then e = lim == ls + 7 and ls + 6 or nil end
      if e and e < P1_MAX then return p1_end(f, s, at, ls, e) end
      if have > P1_MAX then return "late", "bad_length", at + P1_MAX end
      f.p1_seen = ls                                  -- looked at again whole
      return nil, 1
    end
    -- an ordinary line runs to its LF, unless a bound is crossed first at `stop`
    local stop = min(ls + P1_LINE, P1_MAX)
    local lf = next_lf(f, s, at + k)
    lf = lf and lf - at
    if lf and lf < stop then
      if ls > 0 and c ~= 13 and c ~= 10 then f.p1_data = true end
      k = lf + 1
      f.p1_line = k
    elseif have > stop then
      return "late", "bad_length", at + stop
    else
      k = have
    end
  end
  f.p1_seen = k
  local ls = f.p1_line
  if k == ls or byte(s, at + ls) == 0x21 then return nil, 1 end
  -- inside an ordinary line only its LF or its bound decides
  return nil, min(ls + P1_LINE, P1_MAX) + 1 - have, true
end

-- SML: 1B1B1B1B 01010101, then 4-byte groups from the start; the first event by offset
-- decides (csrc/framer.c, sml_examine): an escape group followed by another is data (an
-- escaped pair), by 01010101 a new start that cuts this one short, by 1A pp CRC CRC the
-- end, checked as X-25 low byte first or KERMIT high byte first, by anything else a
-- failure; a start sequence off the grid is a new start too (a lost byte shifts it).
local SML_START = "\27\27\27\27\1\1\1\1"
local function sml_examine(f, s, at, n)
  local have = n - at + 1
  local k = f.sml_seen
  while k < 8 do
    if k >= have then
      f.sml_seen = k
      return nil, 8 - k
    end
    -- a 1B that starts nothing: nor do those before this byte (docs/core-api.md)
    if byte(s, at + k) ~= byte(SML_START, k + 1) then return "fail", nil, at + k end
    k = k + 1
  end
  local lim = have < SML_MAX and have or SML_MAX
  local want = 1
  while k + 8 <= lim do
    local q = find(s, "\27\27\27\27", at + k, true)
    local o = q and q - at
    if not o or o + 8 > lim then           -- undecided until its 8 bytes are in
      k = o or lim - 7
      if o then want = o + 8 - have end
      break
    end
    k = o + 1
    local nx = sub(s, q + 4, q + 7)
    if o ~= f.sml_pair then
      if nx == "\1\1\1\1" then return "skip", q, "bad_length" end   -- a new start
      if o % 4 == 0 then
        if nx == "\27\27\27\27" then
          f.sml_pair = o + 4                 -- an escaped pair
        else
          local last = q + 7
          if byte(nx, 1) ~= 0x1A then return "late", "bad_length", last end
          local c1, c2 = byte(s, q + 6, q + 7)
          if c1 + c2 * 256 == crc_range(s, at, q + 5)
            or c1 * 256 + c2 == kermit_range(s, at, q + 5) then
            return "good", last
          end
          return "late", "bad_fcs", last
        end
      end
    end
  end
  f.sml_seen = k
  if have > SML_MAX then return "late", "bad_length", at + SML_MAX end
  return nil, want
end

local examine = { hdlc = hdlc_examine, mbus = mbus_examine, p1 = p1_examine,
  sml = sml_examine }
local deliver = { hdlc = hdlc_deliver, mbus = mbus_deliver, p1 = enqueue, sml = enqueue }

-- A late failure of the candidate at stream position `start` whose `len` bytes were
-- looked at (csrc/framer.c, late()): how far the hunt moves on. One byte, unless the
-- candidate is inside (it began before the last byte of the latest-ending late failure,
-- or it is the first one opened after a jump) for the second time in a row: then it
-- jumps to its own last byte, so that crafted streams of overlapping candidates stay
-- linear.
local function late(f, start, len)
  local inside = start + 1 < f.late_end or f.chained
  f.inside = inside and (f.inside < 2 and f.inside + 1 or 2) or 0
  if start + len > f.late_end then f.late_end = start + len end
  f.jumped = inside and f.inside >= 2
  return f.jumped and len - 1 or 1
end

local function open(f, kind)
  f.chained, f.jumped = f.jumped, false
  f.cand, f.kind, f.need, f.head_done = true, kind, 0, false
  f.p1_seen, f.p1_line, f.p1_data = 1, 0, false
  f.sml_seen, f.sml_pair = 1, 0
end

-- Examine pending until it needs more bytes. `at` walks through pending; pending is cut
-- once at the end, so a large push costs no copying per frame.
local function scan(f)
  local st = f.st
  local s = f.pending
  local n = #s
  local at = 1
  f.lf_from, f.want = nil, 0
  while true do
    if not f.cand then
      local mode = f.protocol
      local start = find(s, HUNT[mode], at, mode ~= "auto")
      if not start then
        st.bytes_discarded = st.bytes_discarded + n - at + 1
        at = n + 1
        break
      end
      st.bytes_discarded = st.bytes_discarded + start - at
      at = start
      f.flag_counted = false
      open(f, START[byte(s, at)])
    end
    local kind = f.kind
    local what, x, y = examine[kind](f, s, at, n)
    if what == nil then
      f.want, f.lf = x, y or false
      break
    end
    if what == "good" then
      st.frames_ok = st.frames_ok + 1
      st.bytes_framed = st.bytes_framed + x - at + 1 - (f.flag_counted and 1 or 0)
      f.protocol = kind              -- "auto" settles on the first good frame
      deliver[kind](f, sub(s, at, x))
      if kind == "hdlc" then         -- the closing flag may open the next frame
        at, f.flag_counted = x, true
        open(f, "hdlc")
      else
        at, f.cand = x + 1, false
      end
    elseif what == "skip" then       -- P1, SML: the cut candidate's bytes go
      st[y] = st[y] + 1
      st.bytes_discarded = st.bytes_discarded + x - at
      at = x
      open(f, kind)
    else
      local step = 1
      if what == "late" then
        step = late(f, f.base + at - 1, y - at + 1)
      elseif y then
        step = y - at
      end
      if x then st[x] = st[x] + 1 end
      st.bytes_discarded = st.bytes_discarded + step - (f.flag_counted and 1 or 0)
      f.flag_counted, f.cand = false, false
      at = at + step
    end
  end
  f.base = f.base + at - 1
  f.pending = sub(s, at)
end

function Framer:push(s)
  if type(s) ~= "string" then error("bad argument #1 to 'push' (string expected)", 2) end
  local st = self.st
  st.bytes_in = st.bytes_in + #s
  if self.cr_lf then
    if self.held_cr then s = "\13" .. s end
    local dropped
    s, dropped = s:gsub("\13\n", "\n")
    st.bytes_discarded = st.bytes_discarded + dropped
    self.held_cr = byte(s, -1) == 13
    if self.held_cr then s = sub(s, 1, -2) end
  end
  local parts = self.parts
  if #s < self.want and not (self.lf and find(s, "\n", 1, true)) then
    parts[#parts + 1] = s
    self.acc, self.want = self.acc + #s, self.want - #s
    return self.tail - self.head
  end
  if self.acc > 0 then
    parts[#parts + 1] = s
    s = concat(parts)
    for i = #parts, 1, -1 do parts[i] = nil end
    self.acc = 0
  end
  self.pending = self.pending .. s
  scan(self)
  return self.tail - self.head
end

function Framer:pop()
  if self.head == self.tail then return nil end
  self.head = self.head + 1
  local s = self.queue[self.head]
  self.queue[self.head] = nil
  if self.head == self.tail then         -- reuse the slots, or drop a burst's
    if self.tail > 32 then self.queue = {} end
    self.head, self.tail = 0, 0
  end
  return s
end

function Framer:frames(s)
  self:push(s)
  return self.pop, self
end

local function buffered(f)
  return #f.pending + f.acc - (f.flag_counted and 1 or 0) + (f.held_cr and 1 or 0)
end

function Framer:missing()
  local n = #self.pending + self.acc
  if n == 0 then return 1 end
  local kind = self.kind
  if kind == "p1" then return 1 end                   -- no length field
  if kind == "sml" then return n < 8 and 8 - n or 4 - (n - 8) % 4 end   -- whole groups
  if kind == "mbus" then return n < 2 and 1 or byte(self.pending, 2) + 6 - n end
  if n < 3 then return 3 - n end
  return self.need - n
end

function Framer:stats()
  local t = { bytes_buffered = buffered(self), protocol = self.protocol }
  for k, v in pairs(self.st) do t[k] = v end
  return t
end

function Framer:reset()
  local st = self.st
  st.bytes_discarded = st.bytes_discarded + buffered(self)
  self.base = self.base + #self.pending + self.acc
  self.pending, self.cand, self.flag_counted, self.need = "", false, false, 0
  self.parts, self.acc, self.want = {}, 0, 0
  self.held_cr = false
  self.seg, self.seg_len = {}, 0
end

function Framer:__tostring()
  return format("han.framer (%d waiting, %d buffered)", self.tail - self.head,
    buffered(self))
end

return M
