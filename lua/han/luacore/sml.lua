-- han.luacore.sml: core.sml (docs/core-api.md) in pure Lua, the twin of csrc/sml.c and
-- csrc/han_sml.c. Same values, key, CRC variant and count of bad message CRCs, and the
-- same errors, for every input.
local byte, sub, find, format, concat = string.byte, string.sub, string.find,
  string.format, table.concat
local type, error, pcall = type, error, pcall
local crc16 = require("han.luacore.crc16")
local fail = require("han.luacore.errors").fail
local x25, kermit = crc16.x25, crc16.kermit

local M = {}

local START, ESCAPE, END = "\27\27\27\27\1\1\1\1", "\27\27\27\27", "\27\27\27\27\26"
local ZEROS = { "\0", "\0\0", "\0\0\0", "\0\0\0\0" }
local MAX_DEPTH, MAX_PAD = 16, 4

-- Nesting levels of the fixed structure: a message's own list is level 1.
local IN_CHOICE, IN_BODY, IN_ENTRY = 3, 4, 6

-- A data error inside the walk: raised as one of these tables, returned by M.sml.
local RAISED = {}
local function raise(code)
  local e = RAISED[code]
  if not e then
    e = { code = code }
    RAISED[code] = e
  end
  error(e, 0)
end

-- The type of each first TL byte (bits 6..4), and the key's descriptor of each number
-- by its data bytes.
local TYPE = {}
for b = 0, 255 do TYPE[b] = (b - b % 16) / 16 % 8 end
local INT, UINT = {}, {}
for n = 1, 8 do INT[n], UINT[n] = "i" .. n, "u" .. n end
local FULL = { 256, 65536, 16777216, 4294967296 }     -- 2^(8n), integers on 5.3+

-- The one-byte TLs of the elements that are no list, for the walk's fast path: the
-- descriptor, the data bytes and the type (the rest takes tl()).
local DESC, DATA, KIND = { [""] = {}, [" "] = {}, [","] = {} }, {}, {}
for b = 0x01, 0x69 do
  local typ, len = TYPE[b], b % 16
  local d = typ == 0 and len >= 1 and (len == 1 and "-" or "o")
    or typ == 4 and len == 2 and "b"
    or (typ == 5 or typ == 6) and len >= 2 and len <= 9 and (typ == 5 and INT or UINT)[len - 1]
  if d then
    for pre, t in pairs(DESC) do t[b] = pre .. d end
    DATA[b], KIND[b] = len - 1, typ
  end
end

-- A one-byte unit or scaler as the key writes it, by its TL byte and data byte.
local SCALAR = { [0x52] = {}, [0x62] = {} }
for x = 0, 255 do
  SCALAR[0x52][x] = " " .. (x >= 128 and x - 256 or x)
  SCALAR[0x62][x] = " " .. x
end

-- The walk's state: the file T[..E], the values V[1..nv], the key's parts K[1..nk], the
-- count of messages whose CRC failed.
local T, E, V, nv, nk
local K = {}
-- The messages met, nm of them: where each starts, where its CRC's range ends, its CRC.
local FROM, TO, SENT, nm = {}, {}, {}, 0

local function put(s)
  nk = nk + 1
  K[nk] = s
end

-- The element's TL at p: its type, n (the data bytes or, a list, the elements) and the
-- position of its data.
local function tl(p)
  if p > E then raise("truncated_data") end
  local b = byte(T, p)
  local typ, len, t = TYPE[b], b % 16, 1
  p = p + 1
  while b >= 128 do
    if p > E then raise("truncated_data") end
    t = t + 1
    if t > 4 then raise("bad_tl") end
    b = byte(T, p)
    p = p + 1
    if TYPE[b] ~= 0 then raise("bad_tl") end
    len = len * 16 + b % 16
  end
  if typ == 7 then                  -- every element takes a byte at least
    if len > E - p + 1 then raise("truncated_data") end
    return 7, len, p
  end
  if typ == 0 then
    if len < t then raise("bad_tl") end
  elseif typ == 4 then
    if len ~= t + 1 then raise("bad_tl") end
  elseif typ == 5 or typ == 6 then
    if len <= t or len - t > 8 then raise("bad_tl") end
  else
    raise("bad_tl")
  end
  len = len - t
  if len > E - p + 1 then raise("truncated_data") end
  return typ, len, p
end

-- The unsigned (or, signed, two's complement) big-endian number of n bytes at p: an
-- integer on 5.3+ (above 2^63 - 1 a float), a double on 5.1, rounded once as C rounds.
local function number(p, n, signed)
  local v
  if n <= 4 then
    local a, b, c, d = byte(T, p, p + n - 1)
    v = a
    if b then v = v * 256 + b end
    if c then v = v * 256 + c end
    if d then v = v * 256 + d end
    if signed and a >= 128 then v = v - FULL[n] end
    return v
  end
  local hi = number(p, n - 4, signed)
  local a, b, c, d = byte(T, p + n - 4, p + n - 1)
  local lo = ((a * 256 + b) * 256 + c) * 256 + d
  if hi >= 0x80000000 then return hi * 4294967296.0 + lo end
  return hi * 4294967296 + lo
end

-- The exact decimal of the number of n bytes at p (C prints the int64 or uint64).
local function decimal(p, n, signed)
  if n <= 6 then return format("%.0f", number(p, n, signed)) end
  local digits, neg = { byte(T, p, p + n - 1) }, signed and byte(T, p) >= 128
  if neg then                       -- the magnitude: two's complement negated
    local carry = 1
    for i = n, 1, -1 do
      local x = 255 - digits[i] + carry
      digits[i], carry = x % 256, x >= 256 and 1 or 0
    end
  end
  local out, k = {}, 0
  repeat                            -- long division by 10, most significant byte first
    local r, nonzero = 0, false
    for i = 1, n do
      local x = r * 256 + digits[i]
      digits[i], r = (x - x % 10) / 10, x % 10
      nonzero = nonzero or digits[i] > 0
    end
    k = k + 1
    out[k] = r
  until not nonzero
  local s = neg and "-" or ""
  for i = k, 1, -1 do s = s .. out[i] end
  return s
end

local HEX = {}
for b = 0, 255 do HEX[b] = format("%02x", b) end
-- The hex of n bytes at p after `pre`; a memo of the names and ids a meter sends
-- again and again, bounded (hostile input).
local hex_memo, hex_memo_n = { [" "] = {}, ["\n "] = {} }, 0
local function hex(p, n, pre)
  local memo = hex_memo[pre]
  local raw = sub(T, p, p + n - 1)
  local h = memo[raw]
  if not h then
    local parts = { pre }
    for i = 1, n do parts[i + 1] = HEX[byte(T, p + i - 1)] end
    h = concat(parts)
    if hex_memo_n < 1024 then memo[raw], hex_memo_n = h, hex_memo_n + 1 end
  end
  return h
end

-- An element at nesting level `level`: with keep, its descriptor goes into the key after
-- `pre` and its values into V; else it is only checked. The position after it.
local function element(p, level, keep, pre)
  if level > MAX_DEPTH then raise("too_deep") end
  local b = byte(T, p)
  local d = b and p <= E and DESC[pre or ""][b]
  if d then                        -- the fast path: a one-byte TL, no list
    local n = DATA[b]
    if p + n <= E then
      if keep then
        nk = nk + 1
        K[nk] = d
        if n > 0 then
          nv = nv + 1
          local typ = KIND[b]
          if typ == 0 then
            V[nv] = sub(T, p + 1, p + n)
          elseif typ == 4 then
            V[nv] = byte(T, p + 1) ~= 0
          else
            V[nv] = number(p + 1, n, typ == 5)
          end
        end
      end
      return p + 1 + n
    end
  end
  local typ, n, q = tl(p)
  if keep and pre then put(pre) end
  if typ == 7 then
    if keep then put("(") end
    for i = 1, n do
      q = element(q, level + 1, keep, i > 1 and "," or nil)
    end
    if keep then put(")") end
    return q
  end
  if keep then
    if typ == 0 then
      if n == 0 then             -- 01: an optional field left out
        put("-")
        return q
      end
      put("o")
      nv = nv + 1
      V[nv] = sub(T, q, q + n - 1)
    elseif typ == 4 then
      put("b")
      nv = nv + 1
      V[nv] = byte(T, q) ~= 0
    else
      put(typ == 5 and INT[n] or UINT[n])
      nv = nv + 1
      V[nv] = number(q, n, typ == 5)
    end
  end
  return q + n
end

-- An element of type `want` whose n is within lo..hi, else the error `code`.
local function typed(p, want, lo, hi, code)
  local typ, n, q = tl(p)
  if typ ~= want or n < lo or n > hi then raise(code) end
  return n, q
end

-- A unit or scaler: absent, or a number written in decimal.
local function scalar(p)
  local b = byte(T, p)
  local one = SCALAR[b]
  if one and p + 1 <= E then       -- the fast path: one byte
    nk = nk + 1
    K[nk] = one[byte(T, p + 1)]
    return p + 2
  end
  local typ, n, q = tl(p)
  if typ == 0 and n == 0 then
    put(" -")
    return q
  end
  if typ ~= 5 and typ ~= 6 then raise("bad_sml_entry") end
  put(" " .. decimal(q, n, typ == 5))
  return q + n
end

-- An octet string of the fixed structure, its bytes in hex after a space ("-" for none
-- when dash).
local function octets(p, code, dash)
  local n, q = typed(p, 0, 0, math.huge, code)
  put(n == 0 and dash and " -" or hex(q, n, " "))
  return q + n
end

-- SML_ListEntry: objName, status, valTime, unit, scaler, value, valueSignature.
local function entry(p)
  local q
  if byte(T, p) == 0x77 and byte(T, p + 1) == 0x07 and p + 8 <= E then   -- the usual
    q = p + 8
    put(hex(p + 2, 6, "\n "))
  else
    put("\n")
    q = select(2, typed(p, 7, 7, 7, "bad_sml_entry"))
    q = octets(q, "bad_sml_entry", false)
  end
  q = element(element(q, IN_ENTRY, true, " "), IN_ENTRY, true, " ")
  q = element(scalar(scalar(q)), IN_ENTRY, true, " ")
  return element(q, IN_ENTRY, false)
end

-- SML_GetList.Res: clientId, serverId, listName, actSensorTime, valList, listSignature,
-- actGatewayTime.
local function get_list(p)
  local _, q = typed(p, 7, 7, 7, "bad_sml_message")
  q = octets(element(q, IN_BODY, false), "bad_sml_message", false)
  q = element(octets(q, "bad_sml_message", true), IN_BODY, false)
  local n
  n, q = typed(q, 7, 0, math.huge, "bad_sml_message")
  for _ = 1, n do q = entry(q) end
  return element(element(q, IN_BODY, false), IN_BODY, false)
end

-- SML_PublicOpen.Res: codepage, clientId, reqFileId, serverId, refTime, smlVersion.
local function open_res(p)
  local _, q = typed(p, 7, 6, 6, "bad_sml_message")
  for _ = 1, 3 do q = element(q, IN_BODY, false) end
  q = octets(q, "bad_sml_message", false)
  return element(element(q, IN_BODY, false), IN_BODY, false)
end

-- SML_Message: transactionId, groupNo, abortOnError, messageBody (tag, body), crc16,
-- endOfSmlMsg. A CRC that is neither X-25 (sent low byte first) nor KERMIT (high byte
-- first) counts in `bad`: the transport CRC vouches for the bytes (eBZ DD3).
local TAGS = setmetatable({}, { __index = function(t, tag)   -- tag -> its hex, bounded
  local h = format("%04x", tag)
  if tag < 0x10000 then t[tag] = h end
  return h
end })

local function message(p)
  local M_ERR = "bad_sml_message"
  local tag, q, n
  local t = byte(T, p + 1)
  if byte(T, p) == 0x76 and t and t >= 1 and t <= 15 and p + t + 8 <= E then
    -- the usual header: 76, a short transactionId, 62 xx 62 xx 72 63 tag
    local h = p + 1 + t
    local g, _, a, _, l, u, hi, lo = byte(T, h, h + 7)
    if g == 0x62 and a == 0x62 and l == 0x72 and u == 0x63 then tag, q = hi * 256 + lo, h + 8 end
  end
  if not tag then
    q = select(2, typed(p, 7, 6, 6, M_ERR))
    n, q = typed(q, 0, 0, math.huge, M_ERR)
    n, q = typed(q + n, 6, 1, 8, M_ERR)
    n, q = typed(q + n, 6, 1, 8, M_ERR)
    q = select(2, typed(q + n, 7, 2, 2, M_ERR))
    n, q = typed(q, 6, 1, 4, M_ERR)
    tag = number(q, n, false)
    q = q + n
  end
  if nk > 0 then put("\n") end
  put(TAGS[tag])
  if tag == 0x0101 then
    q = open_res(q)
  elseif tag == 0x0701 then
    q = get_list(q)
  else
    q = element(q, IN_CHOICE, false)
  end
  local covered = q - 1
  n, q = typed(q, 6, 1, 2, M_ERR)
  local crc = number(q, n, false)
  q = q + n
  if q > E then raise("truncated_data") end
  if byte(T, q) ~= 0 then raise(M_ERR) end
  nm = nm + 1                      -- checked once the walk is done (M.sml)
  FROM[nm], TO[nm], SENT[nm] = p, covered, crc
  return q + 1
end

-- Whether message i's CRC is X-25 (its bytes swapped: sent low byte first) or KERMIT;
-- x: its X-25, k: its KERMIT.
local function message_ok(i, x, k)
  local crc = SENT[i]
  return crc == x % 256 * 256 + (x - x % 256) / 256 or crc == k
end

-- The messages of T[first..E], 00 fill between them skipped (libsml skips it too).
local function messages(first)
  local p = first
  while p <= E do
    if byte(T, p) == 0 then p = p + 1 else p = message(p) end
  end
end

-- Consecutive ranges from one pass (SML: the transport's CRC and every message's): CRCs
-- are linear, so the register (polynomial 0x8408, no final xor) after a range of len
-- bytes started from r is k xor r shifted through len zero bytes, k the range's own
-- KERMIT: combine(r, k, len). The shift, linear in r, is made per length from
-- the shifts by powers of two, as four tables of nibbles (a meter's ranges keep their
-- lengths: at most 64 lengths are kept).
local xor5, T0 = crc16.combiner()

-- An operator as the images of the 16 bits; applied bit by bit (made once per length).
local function apply(op, x)
  local r = 0
  for b = 1, 16 do
    if x % 2 == 1 then r = xor5(r, op[b], 0, 0, 0) end
    x = (x - x % 2) / 2
  end
  return r
end
local levels = {}   -- levels[k]: the shift through 2^k zero bytes
local function level(k)
  if not levels[k] then
    local op = {}
    if k == 0 then
      for b = 1, 16 do
        local x = 2 ^ (b - 1)
        local lo = x % 256
        op[b] = xor5(T0[lo], (x - lo) / 256, 0, 0, 0)
      end
    else
      local half = level(k - 1)
      for b = 1, 16 do op[b] = apply(half, half[b]) end
    end
    levels[k] = op
  end
  return levels[k]
end
local shifts, n_shifts = {}, 0
local function shift_tables(len)
  local op, k, rest = nil, 0, len
  while rest > 0 do
    if rest % 2 == 1 then
      local l = level(k)
      if op then
        local o = {}
        for b = 1, 16 do o[b] = apply(l, op[b]) end
        op = o
      else
        op = l
      end
    end
    rest, k = (rest - rest % 2) / 2, k + 1
  end
  local t = {}
  for p = 0, 3 do
    local col = { 0 }
    for v = 1, 15 do   -- v's image: its highest bit's, xor the rest's
      local high = v >= 8 and 8 or v >= 4 and 4 or v >= 2 and 2 or 1
      local b = 4 * p + (high == 8 and 4 or high == 4 and 3 or high == 2 and 2 or 1)
      col[v + 1] = xor5(col[v - high + 1], op and op[b] or 2 ^ (b - 1), 0, 0, 0)
    end
    t[p + 1] = col
  end
  if n_shifts >= 64 then shifts, n_shifts = {}, 0 end
  shifts[len], n_shifts = t, n_shifts + 1
  return t
end
local function combine(r, k, len)
  local t = shifts[len] or shift_tables(len)
  local a = r % 16
  r = (r - a) / 16
  local b = r % 16
  r = (r - b) / 16
  local c = r % 16
  return xor5(k, t[1][a + 1], t[2][b + 1], t[3][c + 1], t[4][(r - c) / 16 + 1])
end

-- The walk of T[first..last]: values, key, or the error's code.
local function walk(file, first, last)
  T, E, V, nv, nk, nm = file, last, {}, 0, 0, 0
  local ok, err = pcall(messages, first)
  local v, key = V, concat(K, "", 1, nk)
  T, V = nil, nil
  if nk > 1024 then K = {} end     -- the parts of a huge key go; a meter's stay for reuse
  if ok then return v, key end
  if type(err) == "table" and RAISED[err.code] == err then return nil, err.code end
  error(err, 0)
end

-- The transport CRC of s[1..n - 2] from the KERMITs of its ranges after the start
-- sequence (KS[i] of the range that ends at ENDS[i], nk of them), as sent in c1, c2:
-- "x25", "kermit" or nil. R_X25, R_KERMIT: the registers after the start sequence.
local KS, ENDS = {}, {}
local R_X25 = combine(0xFFFF, kermit(START, 1, 8), 8)
local R_KERMIT = kermit(START, 1, 8)
local function transport(count, c1, c2)
  local r, from = R_X25, 9
  for i = 1, count do
    r, from = combine(r, KS[i], ENDS[i] - from + 1), ENDS[i] + 1
  end
  if c1 + c2 * 256 == 65535 - r then return "x25" end
  r, from = R_KERMIT, 9
  for i = 1, count do
    r, from = combine(r, KS[i], ENDS[i] - from + 1), ENDS[i] + 1
  end
  if c1 * 256 + c2 == r then return "kermit" end
end

function M.sml(s)
  if type(s) ~= "string" then error("bad argument #1 to 'sml' (string expected)", 2) end
  local n = #s
  if n < 8 or sub(s, 1, 8) ~= START then return fail("no_sml_start") end
  if n < 16 or sub(s, n - 7, n - 3) ~= END then return fail("no_sml_end") end
  local c1, c2 = byte(s, n - 1, n)
  local len, pad = n - 16, byte(s, n - 2)
  local bad_pad = len % 4 ~= 0 or pad > MAX_PAD or pad > len
    or pad > 0 and sub(s, n - 7 - pad, n - 8) ~= ZEROS[pad]
  local q = find(s, ESCAPE, 9, true)
  local v, key, crc
  local bad = 0
  if not bad_pad and not (q and q <= n - 11) then
    -- The usual transmission: the file is s itself. Walked first, then one KERMIT pass
    -- over its ranges gives the transport CRC and every message's (the outcome is as if
    -- the transport came first).
    v, key = walk(s, 9, n - 8 - pad)
    local count, at = 0, 9
    for i = 1, nm do
      local from, to = FROM[i], TO[i]
      if from > at then
        count = count + 1
        KS[count], ENDS[count] = kermit(s, at, from - 1), from - 1
      end
      local k = kermit(s, from, to)
      count = count + 1
      KS[count], ENDS[count], at = k, to, to + 1
      if not message_ok(i, 65535 - combine(0xFFFF, k, to - from + 1), k) then
        bad = bad + 1
      end
    end
    count = count + 1
    KS[count], ENDS[count] = kermit(s, at, n - 2), n - 2
    crc = transport(count, c1, c2)
    if count > 64 then KS, ENDS = {}, {} end   -- a huge file's ranges go
    if not crc then return fail("bad_crc") end
    if not v then return fail(key) end
    return v, key, crc, bad
  end
  crc = c1 + c2 * 256 == x25(s, 1, n - 2) and "x25"
    or c1 * 256 + c2 == kermit(s, 1, n - 2) and "kermit"
  if not crc then return fail("bad_crc") end
  if bad_pad then return fail("bad_padding") end
  -- An escape group (aligned) must come doubled; the pair stands for one group of data.
  local parts, from = {}, 9
  while q and q <= n - 11 do
    if (q - 9) % 4 == 0 then
      if q + 4 > n - 11 or sub(s, q + 4, q + 7) ~= ESCAPE then return fail("bad_escape") end
      parts[#parts + 1] = sub(s, from, q + 3)
      from = q + 8
      q = find(s, ESCAPE, from, true)
    else
      q = find(s, ESCAPE, q + 1, true)
    end
  end
  parts[#parts + 1] = sub(s, from, n - 8)
  local file = concat(parts)
  v, key = walk(file, 1, #file - pad)
  if not v then return fail(key) end
  for i = 1, nm do
    if not message_ok(i, x25(file, FROM[i], TO[i]), kermit(file, FROM[i], TO[i])) then
      bad = bad + 1
    end
  end
  return v, key, crc, bad
end

return M
