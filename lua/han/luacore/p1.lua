-- han.luacore.p1: core.p1 (docs/core-api.md) in pure Lua, the twin of csrc/p1.c that
-- han.luacore exports. Same tables, same error strings, for every input.
local byte, sub, find, match = string.byte, string.sub, string.find, string.match
local tonumber, type, error, floor = tonumber, type, error, math.floor
local fail = require("han.luacore.errors").fail

local M = {}

local MAX_LINE, MAX_LINES, MAX_UNIT = 2048, 1024, 16

-- arc(s, i, j): the CRC-16/ARC of s[i..j]. han.luacore gives it (M.new), from the same
-- table machinery and bit operations as its CRC-16/X-25.
local arc

------------------------------------------------------------------------------------
-- Values

-- C.D (after the ':') of the codes whose groups are identifiers, kept as strings:
-- device ids, versions, equipment ids, messages, tariff, logical device name.
local ID_CD = { ["0.0"] = true, ["0.2"] = true, ["96.1"] = true, ["96.13"] = true,
  ["96.14"] = true, ["42.0"] = true }

local id_memo, id_memo_n = {}, 0   -- code -> identifier?, bounded (hostile input)
local function is_id(code)
  local v = id_memo[code]
  if v == nil then
    local colon = find(code, ":", 1, true)
    v = ID_CD[match(code, "^(%d+%.%d+)%.", colon and colon + 1 or 1)] == true
    if id_memo_n < 1024 then id_memo[code], id_memo_n = v, id_memo_n + 1 end
  end
  return v
end

local STATUS = { S = 0x80, W = 0 }

-- One group: a time (12 digits, S or W), a number and its unit, else the text as is.
local function value(text, id)
  if id then return text end
  local n = #text
  if n == 12 or n == 13 then
    local y, mo, d, h, mi, sec, st =
      match(text, "^(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)([SW]?)$")
    if y then
      return { year = 2000 + tonumber(y), month = tonumber(mo), day = tonumber(d),
        hour = tonumber(h), min = tonumber(mi), sec = tonumber(sec), status = STATUS[st] }
    end
  end
  local num, rest = match(text, "^([-+]?%d+%.%d+)(.*)$")
  if not num then num, rest = match(text, "^([-+]?%d+)(.*)$") end
  if num then
    if rest == "" then return tonumber(num) end
    local r = #rest
    if r >= 2 and r <= MAX_UNIT + 1 and byte(rest, 1) == 42 then   -- '*'
      return tonumber(num), sub(rest, 2)
    end
  end
  return text
end

------------------------------------------------------------------------------------
-- Telegrams


-- What han.p1 names from one value, as csrc/han_p1.c does it, object by object as each
-- ends (docs/core-api.md, core.p1 with names): into named, or the code into rest. The
-- telegram being read with names: its names, zone, named, rest and best id so far.
local p1, time
local names, zone, named, rest, n_rest, id_rank, id_raw
local CHANNEL = { type = true, reading = true, profile = true }

local function name(obis, code, v, unit)
  local ok, vt = false, type(v)
  local e = names[code]
  if type(e) == "table" then
    local scale = e.scale
    if type(scale) == "table" then
      if vt == "number" then
        local x = scale[unit or ""]
        if type(x) ~= "number" then
          ok = true                            -- a unit no field takes
        elseif x >= -22 and x <= 22 and x == floor(x) then
          ok = true
          if x == 0 then named[e.field] = v else named[e.field] = p1.scaled(v, x) end
        end
      end
    else
      local kind = e.kind
      if kind == nil then                      -- a code han.p1 does not know
        ok = vt ~= "table"
      elseif kind == "text" then
        local field = e.field
        ok = vt ~= "string" or field ~= nil
        if ok and vt == "string" then named[field] = v end
      elseif kind == "tariff" then
        ok = true
        named.tariff = vt == "string" and find(v, "^%d+$") and tonumber(v) or nil
      elseif kind == "clock" then              -- a time; a sequence goes to han.p1
        if vt == "table" then
          ok = zone ~= nil and v.year ~= nil
          if ok then named.time_fields, named.meter_time = v, time.epoch(v, zone) end
        else
          ok = true
        end
      elseif kind == "id" then                 -- the lowest rank below 5, the later of ties
        local rank = e.rank
        ok = type(rank) == "number"
        if ok and vt == "string" and v ~= "" and rank < 5 and rank <= id_rank then
          id_rank, id_raw = rank, v
        end
      elseif CHANNEL[kind] and zone then       -- an M-Bus channel, for han.p1's gas()
        local n = e.channel
        ok = type(n) == "number" and n >= 1 and n <= 16 and n == floor(n)
          and (kind == "type" or type(e.rank) == "number")
        if ok then obis[code] = p1.note_channel(e, v, unit, zone) end
      end
    end
  end
  if not ok then
    n_rest = n_rest + 1
    rest[n_rest] = code
  end
end

local function store(obis, units, code, v, unit)
  obis[code] = v
  if unit then
    units[code] = unit
  elseif units[code] ~= nil then   -- an earlier line of the code had a unit
    units[code] = nil
  end
  if names then name(obis, code, v, unit) end
end

local function parse(s)
  if byte(s, 1) ~= 47 then return fail("no_start") end   -- '/'
  local b = find(s, "\n!", 1, true)
  if not b then return fail("no_end") end
  local q, last = b + 1, #s   -- q: the '!'; after it 0 or 4 hex digits, [CR] LF
  if last > q and byte(s, last) == 10 then
    last = last - 1
    if last > q and byte(s, last) == 13 then last = last - 1 end
  end
  local crc
  if last - q == 4 then
    local digits = sub(s, q + 1, last)
    if find(digits, "[^0-9A-Fa-f]") then return fail("bad_crc_line") end
    crc = tonumber(digits, 16)
    if crc ~= arc(s, 1, q) then return fail("bad_crc") end
  elseif last ~= q then
    return fail("bad_crc_line")
  end

  -- The first byte that is not printable, LF, or a CR before a LF.
  local bad = find(s, "[^\r\n -~]") or b + 1
  local cr = find(s, "\r[^\n]")
  if cr and cr < bad then bad = cr end

  local obis, units = {}, {}
  local ident
  local code, id, count, val, list, unit   -- the object being read
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
      ident = sub(s, 2, ce)
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
        if code then store(obis, units, code, list or val, unit) end
        code, id, count, val, list, unit = c, is_id(c), 0, nil, nil, nil
        g = k
      elseif not code then
        return fail("bad_line", lineno)
      end
      while g <= ce do
        local text, nxt = match(s, "^%(([^()]*)%)()", g)
        if not text or nxt - 1 > ce then return fail("bad_line", lineno) end
        local v, u = value(text, id)
        count = count + 1
        if count == 1 then val = v
        elseif count == 2 then list = { val, v }
        else list[count] = v end
        if u then unit = u end
        g = nxt
      end
    end
    p = e + 1
  end
  if code then store(obis, units, code, list or val, unit) end
  return { ident = ident, crc = crc, obis = obis, units = units }
end

function M.p1(s, with, z)
  if type(s) ~= "string" then error("bad argument #1 to 'p1' (string expected)", 2) end
  names = type(with) == "table" and with or nil
  if names then
    if not p1 then p1, time = require("han.naming.p1"), require("han.time") end
    zone = type(z) == "table" and time.zone_of_numbers(z) or nil
    named, rest, n_rest, id_rank, id_raw = {}, {}, 0, 5, nil
    p1.clear_channels()
  end
  local t, err, code = parse(s)
  if t and names then
    if id_raw then named.meter_id = p1.meter_id(id_raw) end
    p1.gas(named)
    t.named, t.rest = named, rest
  end
  names, zone, named, rest, id_raw = nil, nil, nil, nil, nil   -- nothing kept
  return t, err, code
end

-- new(arc) -> the p1 function, checking CRCs with `arc`.
function M.new(crc)
  arc = crc
  return M.p1
end

return M
