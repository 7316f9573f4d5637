-- han.luacore.framer: the streaming framer (csrc/framer.c): the reference algorithm of
-- the contract, on positions in the string of bytes not yet resolved (`pending`) instead
-- of byte by byte.
local byte, sub, format, floor = string.byte, string.sub, string.format, math.floor
local crc16 = require("han.luacore.crc16")
local hdlc = require("han.luacore.hdlc")
local crc_range, arc_range = crc16.x25, crc16.arc
local head, parse_frame = hdlc.head, hdlc.parse

local M = {}

local Framer = {}
Framer.__index = Framer

local find, match = string.find, string.match
local MAX_SEGMENTS, P1_MAX, P1_LINE = 65536, 16384, 2048

-- The protocol each start byte opens a candidate of, and what each mode hunts for.
local START = { [0x7E] = "hdlc", [0x68] = "mbus", [0x2F] = "p1" }
local HUNT = { hdlc = "\126", mbus = "h", p1 = "/", auto = "[\126h/]" }

function M.framer(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'framer' (table expected)", 2)
  end
  local protocol = opts and opts.protocol
  if protocol == nil then protocol = "hdlc" end
  if not HUNT[protocol] then error("bad protocol (hdlc, mbus, p1 or auto expected)", 2) end
  return setmetatable({
    protocol = protocol,  -- "auto" until the first good frame
    kind = "hdlc",        -- the candidate's protocol
    cr_lf = opts and opts.cr_lf and true or false,
    held_cr = false,
    pending = "",       -- bytes from the candidate's start on
    cand = false,       -- a candidate is open at pending's first byte
    flag_counted = false,
    need = 0,
    p1_seen = 1, p1_line = 1,   -- P1: bytes examined, where the current line starts
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
    enqueue(f, table.concat(f.seg))
    f.seg, f.seg_len = {}, 0
  end
end

-- Each examiner looks at the candidate s[at..n] and says what it is:
--   nil (it needs more bytes); "fail", counter; "good", its last position;
--   "skip", where it now starts, counter (the bytes before are discarded).
-- Each deliver queues a good frame or keeps it as a segment.

local head_errors = { ["bad address"] = "bad_length", ["bad length"] = "bad_length",
  ["bad HCS"] = "bad_hcs" }

local function hdlc_examine(f, s, at, n)
  local have = n - at + 1
  if have < 2 then return nil end
  if byte(s, at + 1) == 0x7E then return "skip", at + 1 end      -- a repeated flag
  if have < 3 then return nil end
  local f1, f2 = byte(s, at + 1, at + 2)
  if floor(f1 / 16) ~= 0xA then return "fail" end
  local len = (f1 % 8) * 256 + f2
  if len < 7 then return "fail", "bad_length" end
  f.need = len + 2
  local ok, err = head(sub(s, at, at + 15), len, have < len + 2 and have or len + 2)
  if not ok and err ~= "more" then return "fail", head_errors[err] end
  if have < len + 2 then return nil end
  local last = at + len + 1
  if byte(s, last) ~= 0x7E then return "fail", "bad_length" end
  local lo, hi = byte(s, last - 2, last - 1)
  if lo + hi * 256 ~= crc_range(s, at + 1, last - 3) then return "fail", "bad_fcs" end
  return "good", last
end

local function hdlc_deliver(f, frame)
  local segmented = floor(byte(frame, 2) / 8) % 2 == 1
  if not segmented and #f.seg == 0 then return enqueue(f, frame) end
  local _, _, _, _, _, first, last = parse_frame(frame)
  join(f, sub(frame, first, last), not segmented)
end

-- 68 L L 68 C A CI data CS 16: L + 6 bytes, L counting C through the last data byte.
local function mbus_examine(_, s, at, n)
  local have = n - at + 1
  if have < 2 then return nil end
  local L = byte(s, at + 1)
  if have < 3 then return nil end
  if byte(s, at + 2) ~= L then return "fail" end      -- a 68 that starts nothing
  if have < 4 then return nil end
  if byte(s, at + 3) ~= 0x68 then return "fail" end
  if L < 3 then return "fail", "bad_length" end
  if have < 7 then return nil end
  -- a transport segment needs room for STSAP and DTSAP
  if byte(s, at + 6) <= 0x1F and L < 5 then return "fail", "bad_length" end
  if have < L + 5 then return nil end
  local sum = 0
  for i = at + 4, at + L + 3 do sum = sum + byte(s, i) end
  if sum % 256 ~= byte(s, at + L + 4) then return "fail", "bad_fcs" end
  if have < L + 6 then return nil end
  if byte(s, at + L + 5) ~= 0x16 then return "fail", "bad_length" end
  return "good", at + L + 5
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

-- "/" + a 3-letter maker code ... the LF after the line starting with "!". Positions k
-- count from the "/"; the look resumes after the p1_seen bytes already examined.
local function p1_examine(f, s, at, n)
  local have = n - at + 1
  local k = f.p1_seen
  while k < 4 do                                      -- else a stray "/"
    if k >= have then
      f.p1_seen = k
      return nil
    end
    if not letter(byte(s, at + k)) then return "fail" end
    k = k + 1
  end
  while k < have do
    local ls = f.p1_line
    local c = byte(s, at + ls - 1)
    if k + 1 == ls and c == 0x2F then                 -- a telegram starts: this one is cut
      return "skip", at + ls - 1, "bad_length"
    end
    if c == 0x21 then
      -- the "!" line ends at its LF or its 7th byte, unless the telegram bound comes first
      local e = ls + 6
      local lf = find(s, "\n", at + ls, true)
      if lf and lf - at + 1 < e then e = lf - at + 1 end
      local stop = e <= P1_MAX and e or P1_MAX + 1
      if stop > have then
        f.p1_seen = ls - 1                            -- look at the whole line again
        return nil
      end
      if stop > P1_MAX then return "fail", "bad_length" end
      local line = sub(s, at + ls - 1, at + e - 1)
      if line == "!\r\n" then return "good", at + e - 1 end
      local crc = match(line, "^!(%x%x%x%x)\r\n$")
      if crc and tonumber(crc, 16) == arc_range(s, at, at + ls - 1) then
        return "good", at + e - 1
      end
      return "fail", "bad_fcs"
    end
    -- an ordinary line runs to its LF, unless a bound is crossed first
    local stop = ls + P1_LINE
    if stop > P1_MAX + 1 then stop = P1_MAX + 1 end
    local lf = find(s, "\n", at + k, true)
    lf = lf and lf - at + 1
    if lf and lf < stop then
      k, f.p1_line = lf, lf + 1
    elseif stop <= have then
      return "fail", "bad_length"
    else
      k = have
    end
  end
  f.p1_seen = k
  return nil
end

local examine = { hdlc = hdlc_examine, mbus = mbus_examine, p1 = p1_examine }
local deliver = { hdlc = hdlc_deliver, mbus = mbus_deliver, p1 = enqueue }

-- Examine pending until it needs more bytes. `at` walks through pending; pending is cut
-- once at the end, so a large push costs no copying per frame.
local function scan(f)
  local st = f.st
  local s = f.pending
  local n = #s
  local at = 1
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
      f.cand, f.kind, f.flag_counted, f.need = true, START[byte(s, at)], false, 0
      f.p1_seen, f.p1_line = 1, 1
    end
    local kind = f.kind
    local what, x, counter = examine[kind](f, s, at, n)
    if what == nil then break end
    if what == "fail" then           -- the hunt resumes one byte after the start
      if x then st[x] = st[x] + 1 end
      if not f.flag_counted then st.bytes_discarded = st.bytes_discarded + 1 end
      f.flag_counted, f.cand = false, false
      at = at + 1
    elseif what == "skip" then
      if counter then st[counter] = st[counter] + 1 end
      st.bytes_discarded = st.bytes_discarded + x - at - (f.flag_counted and 1 or 0)
      f.flag_counted, f.need, f.p1_seen, f.p1_line = false, 0, 1, 1
      at = x
    else                             -- good: s[at..x]
      st.frames_ok = st.frames_ok + 1
      st.bytes_framed = st.bytes_framed + x - at + 1 - (f.flag_counted and 1 or 0)
      f.protocol = kind              -- "auto" settles on the first good frame
      deliver[kind](f, sub(s, at, x))
      if kind == "hdlc" then         -- the closing flag may open the next frame
        at, f.flag_counted, f.need = x, true, 0
      else
        at, f.cand, f.flag_counted = x + 1, false, false
      end
    end
  end
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
  self.pending = self.pending .. s
  scan(self)
  return self.tail - self.head
end

function Framer:pop()
  if self.head == self.tail then return nil end
  self.head = self.head + 1
  local s = self.queue[self.head]
  self.queue[self.head] = nil
  if self.head == self.tail then self.head, self.tail = 0, 0 end
  return s
end

function Framer:frames(s)
  self:push(s)
  return self.pop, self
end

local function buffered(f)
  return #f.pending - (f.flag_counted and 1 or 0) + (f.held_cr and 1 or 0)
end

function Framer:missing()
  local n = #self.pending
  if n == 0 then return 1 end
  local kind = self.kind
  if kind == "p1" then return 1 end                   -- no length field
  if kind == "mbus" then return n < 2 and 1 or byte(self.pending, 2) + 6 - n end
  if n < 3 then return 3 - n end
  return self.need - n
end

function Framer:stats()
  local st = self.st
  return { bytes_in = st.bytes_in, bytes_framed = st.bytes_framed,
    bytes_discarded = st.bytes_discarded, bytes_buffered = buffered(self),
    frames_ok = st.frames_ok, bad_hcs = st.bad_hcs, bad_fcs = st.bad_fcs,
    bad_length = st.bad_length, segments_joined = st.segments_joined,
    protocol = self.protocol }
end

function Framer:reset()
  local st = self.st
  st.bytes_discarded = st.bytes_discarded + buffered(self)
  self.pending, self.cand, self.flag_counted, self.need = "", false, false, 0
  self.held_cr = false
  self.seg, self.seg_len = {}, 0
end

function Framer:__tostring()
  return format("han.framer (%d waiting, %d buffered)", self.tail - self.head,
    buffered(self))
end

return M
