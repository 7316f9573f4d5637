-- han.luacore.p1: core.p1 (docs/core-api.md) in pure Lua, the twin of csrc/p1.c and
-- csrc/han_p1.c that han.luacore exports. Same values, key and errors, for every input.
local byte, sub, find, match = string.byte, string.sub, string.find, string.match
local tonumber, type, error, concat = tonumber, type, error, table.concat
local fail = require("han.luacore.errors").fail

local M = {}

local MAX_LINE, MAX_LINES, MAX_UNIT = 2048, 1024, 16

-- arc(s, i, j): the CRC-16/ARC of s[i..j]. han.luacore gives it (M.new), from the same
-- table machinery and bit operations as its CRC-16/X-25.
local arc

------------------------------------------------------------------------------------
-- Values

-- C.D (after the ':') of the codes whose groups are identifiers, kept as strings:
-- device ids, versions, equipment ids (C.1 in IEC 62056-21's letters), messages,
-- tariff, logical device name.
local ID_CD = { ["0.0"] = true, ["0.2"] = true, ["96.1"] = true, ["C.1"] = true,
  ["96.13"] = true, ["96.14"] = true, ["42.0"] = true }

local id_memo, id_memo_n = {}, 0   -- code -> identifier?, bounded (hostile input)
local function is_id(code)
  local v = id_memo[code]
  if v == nil then
    local colon = find(code, ":", 1, true)
    v = ID_CD[match(code, "^(%w+%.%d+)%.", colon and colon + 1 or 1)] == true
    if id_memo_n < 1024 then id_memo[code], id_memo_n = v, id_memo_n + 1 end
  end
  return v
end

local STATUS = { S = 0x80, s = 0x80, W = 0, w = 0 }

-- One group: a time (12 digits, S or W), a number and its unit, else the text as is;
-- and its kind in the key.
local function value(text, id)
  if id then return text, "(s)" end
  local n = #text
  if n == 12 or n == 13 then
    local y, mo, d, h, mi, sec, st =
      match(text, "^(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)([SWsw]?)$")
    if y then
      return { year = 2000 + tonumber(y), month = tonumber(mo), day = tonumber(d),
        hour = tonumber(h), min = tonumber(mi), sec = tonumber(sec), status = STATUS[st] },
        "(t)"
    end
  end
  local num, rest = match(text, "^([-+]?%d+%.%d+)(.*)$")
  if not num then num, rest = match(text, "^([-+]?%d+)(.*)$") end
  if num then
    -- "5*", an empty unit (D0 meters print it), is no unit
    if rest == "" or rest == "*" then return tonumber(num), "(n)" end
    local r = #rest
    if r <= MAX_UNIT + 1 and byte(rest, 1) == 42 then   -- '*'
      return tonumber(num), "(n" .. rest .. ")"
    end
  end
  return text, "(s)"
end

------------------------------------------------------------------------------------
-- Telegrams

local function parse(s)
  if byte(s, 1) ~= 47 then return fail("no_start") end   -- '/'
  local b = find(s, "\n!", 1, true)
  if not b then return fail("no_end") end
  local q, last = b + 1, #s   -- q: the '!'; after it 0 to 4 hex digits, [CR] LF
  if last > q and byte(s, last) == 10 then
    last = last - 1
    if last > q and byte(s, last) == 13 then last = last - 1 end
  end
  local crc
  if last - q > 4 then return fail("bad_crc_line") end
  if last > q then   -- 1 to 4 digits: a heat-meter gateway sends "!B9F" for 0x0B9F
    local digits = sub(s, q + 1, last)
    if find(digits, "[^0-9A-Fa-f]") then return fail("bad_crc_line") end
    crc = tonumber(digits, 16)
    if crc ~= arc(s, 1, q) then return fail("bad_crc") end
  end

  -- The first byte that is not printable, LF, or a CR before a LF.
  local bad = find(s, "[^\r\n -~]") or b + 1
  local cr = find(s, "\r[^\n]")
  if cr and cr < bad then bad = cr end

  local v, n = {}, 0          -- the values
  local key, nk = {}, 0       -- the parts of the key
  local id                    -- the object being read: identifier code?
  local open = false
  local p, lineno, data = 1, 0, 0
  while p <= b do
    local e = find(s, "\n", p, true)
    local ce = e - 1   -- the last byte of the line, CR LF removed
    if ce >= p and byte(s, ce) == 13 then ce = ce - 1 end
    lineno = lineno + 1
    if ce - p + 1 > MAX_LINE then return fail("line_too_long") end
    if bad <= ce then return fail("bad_character") end
    if lineno == 1 then
      if ce - p < 3 or not find(s, "^/[A-Za-z][A-Za-z][A-Za-z]", p) then
        return fail("bad_identification")
      end
      key[1] = sub(s, 1, ce) .. "\n"
      nk = 1
    elseif lineno ~= 2 or ce >= p then   -- line 2 may be empty
      data = data + 1
      if data > MAX_LINES then return fail("too_many_lines") end
      if ce < p then return fail("bad_line", lineno) end
      local g = p
      if byte(s, p) ~= 40 then   -- a code: a new object ('(' continues the last one)
        local k = find(s, "(", p, true)
        if not k or k > ce then return fail("bad_line", lineno) end
        local c = sub(s, p, k - 1)
        if find(c, ")", 1, true) then return fail("bad_line", lineno) end
        if open then
          nk = nk + 1
          key[nk] = "\n"
        end
        nk = nk + 1
        key[nk] = c
        id, open, g = is_id(c), true, k
      elseif not open then
        return fail("bad_line", lineno)
      end
      while g <= ce do
        local text, nxt = match(s, "^%(([^()]*)%)()", g)
        if not text or nxt - 1 > ce then return fail("bad_line", lineno) end
        n, nk = n + 1, nk + 1
        v[n], key[nk] = value(text, id)
        g = nxt
      end
    end
    p = e + 1
  end
  if open then
    nk = nk + 1
    key[nk] = "\n"
  end
  return v, concat(key, "", 1, nk), crc
end

function M.p1(s)
  if type(s) ~= "string" then error("bad argument #1 to 'p1' (string expected)", 2) end
  return parse(s)
end

-- new(arc) -> the p1 function, checking CRCs with `arc`.
function M.new(crc)
  arc = crc
  return M.p1
end

return M
