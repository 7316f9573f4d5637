-- Shared by the specs: the captured vectors in spec/vectors (or $HAN_VECTORS), a small
-- JSON reader for them, hex helpers, and the backend the suite runs against ($HAN_BACKEND).
local M = {}

M.vectors_dir = os.getenv("HAN_VECTORS") or "spec/vectors"

function M.unhex(h)
  h = h:gsub("%s", "")
  return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

function M.hex(s)
  return (s:gsub(".", function(c) return string.format("%02X", c:byte()) end))
end

-- JSON: enough for the vector files (objects, arrays, strings with escapes, numbers,
-- true/false/null). null becomes M.json_null so keys are kept.
M.json_null = setmetatable({}, { __tostring = function() return "null" end })

local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then
    return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64)
  end
  return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64,
    0x80 + cp % 64)
end

local escapes = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

function M.json_decode(s)
  local pos = 1
  local value
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local function str()
    local out, i = {}, pos + 1
    while true do
      local c = s:sub(i, i)
      if c == '"' then pos = i + 1; return table.concat(out) end
      if c == "\\" then
        local e = s:sub(i + 1, i + 1)
        if e == "u" then
          out[#out + 1] = utf8_char(tonumber(s:sub(i + 2, i + 5), 16)); i = i + 6
        else
          out[#out + 1] = escapes[e] or e; i = i + 2
        end
      elseif c == "" then error("unterminated string")
      else
        local j = s:find('["\\]', i)
        out[#out + 1] = s:sub(i, j - 1); i = j
      end
    end
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}; pos = pos + 1; ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      repeat
        ws(); local k = str(); ws(); pos = pos + 1 -- ':'
        t[k] = value(); ws()
        local d = s:sub(pos, pos); pos = pos + 1
      until d == "}"
      return t
    elseif c == "[" then
      local t = {}; pos = pos + 1; ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      repeat
        t[#t + 1] = value(); ws()
        local d = s:sub(pos, pos); pos = pos + 1
      until d == "]"
      return t
    elseif c == '"' then return str()
    elseif s:find("^true", pos) then pos = pos + 4; return true
    elseif s:find("^false", pos) then pos = pos + 5; return false
    elseif s:find("^null", pos) then pos = pos + 4; return M.json_null
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num == "" then error("bad JSON at " .. pos) end
      pos = pos + #num
      return tonumber(num)
    end
  end
  return value()
end

local cache = {}

-- The records of a .jsonl file in the vectors directory, in file order.
function M.jsonl(name)
  if cache[name] then return cache[name] end
  local path = M.vectors_dir .. "/" .. name
  local f = assert(io.open(path, "rb"), "vectors not found: " .. path)
  local out = {}
  for line in f:lines() do
    if line:find("%S") then out[#out + 1] = M.json_decode(line) end
  end
  f:close()
  cache[name] = out
  return out
end

-- The first record of a .jsonl file whose id, or format ("mbus", "hdlc"), is `id` (raises
-- when there is none).
function M.record(name, id)
  for _, rec in ipairs(M.jsonl(name)) do
    if rec.id == id or rec.format == id then return rec end
  end
  error(name .. " has no record " .. id)
end

-- frames.jsonl with each record's bytes in .raw
function M.frames()
  local recs = M.jsonl("frames.jsonl")
  for _, r in ipairs(recs) do r.raw = r.raw or M.unhex(r.hex) end
  return recs
end

function M.read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- A file's bytes, or nil when it cannot be opened (a file a process has yet to write).
function M.file_text(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- Writes s to path; returns path.
function M.write_file(path, s)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  assert(f:close())
  return path
end

-- A shell command's output, trailing white space cut.
function M.sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return (out:gsub("%s+$", ""))
end

-- The lines of s that are not empty.
function M.lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

-- Runs a shell command line; returns its exit code, stdout and stderr.
function M.run(cmd)
  local out, err = os.tmpname(), os.tmpname()
  -- 5.1/LuaJIT: the wait status; 5.2+: ok, "exit", code.
  local status, _, code = os.execute("(" .. cmd .. ") >" .. out .. " 2>" .. err)
  if type(status) == "number" then code = math.floor(status / 256) end
  local o, e = M.read_file(out), M.read_file(err)
  os.remove(out)
  os.remove(err)
  return code, o, e
end

-- The capture files of vectors/streams, from its README's table (name, bytes, valid).
function M.streams()
  local list = {}
  for line in M.read_file(M.vectors_dir .. "/README.md"):gmatch("[^\n]+") do
    local name, bytes, valid = line:match("^| `([^`]+%.bin)` | (%d+) | (%d+) |")
    if name then
      list[#list + 1] = { name = name, path = M.vectors_dir .. "/streams/" .. name,
        bytes = tonumber(bytes), valid = tonumber(valid) }
    end
  end
  return list
end

-- Xor of two non-negative integers below 2^32, by arithmetic (Lua 5.1 has no bit ops).
function M.xor(a, b)
  local r, p = 0, 1
  a, b = a % 4294967296, b % 4294967296
  while a > 0 or b > 0 do
    if a % 2 ~= b % 2 then r = r + p end
    a, b, p = math.floor(a / 2), math.floor(b / 2), p * 2
  end
  return r
end

-- want and got the same; numbers (from unit scaling and sums) equal to a few ulps.
function M.same(want, got, what)
  if type(want) == "number" and type(got) == "number" then
    assert(math.abs(got - want) <= 1e-9 * math.max(1, math.abs(want)),
      ("%s: expected %.17g, got %.17g"):format(what, want, got))
  else
    require("luassert").are.same(want, got, what)   -- busted's assert, not Lua's
  end
end

-- A reflected CRC-16 bit by bit, with arithmetic: an independent check of the cores'.
function M.crc16(s, poly, init, xorout)
  local crc = init
  for i = 1, #s do
    crc = M.xor(crc, s:byte(i))
    for _ = 1, 8 do
      local low = crc % 2
      crc = math.floor(crc / 2)
      if low == 1 then crc = M.xor(crc, poly) end
    end
  end
  return M.xor(crc, xorout)
end

-- CRC-16/ARC, P1's CRC.
function M.arc(s) return M.crc16(s, 0xA001, 0, 0) end

-- A small deterministic generator, the same on every runtime: rand(n) is in 1..n.
function M.rng(seed)
  local x = seed
  return function(n)
    x = (x * 1103515245 + 12345) % 2147483648
    return math.floor(x / 65536) % n + 1
  end
end

-- Values of both backends in one comparable form (null -> a marker; numbers keep their
-- subtype on 5.3+).
function M.canon(v, null)
  if v == null then return "<null>" end
  local t = type(v)
  if t == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = M.canon(x, null) end
    return out
  elseif t == "number" then
    if v ~= v then return "<nan>" end
    return { n = v, kind = math.type and math.type(v) or "number",
      neg_zero = v == 0 and 1 / v < 0 }
  end
  return v
end

-- Structural equality of plain values and tables (NaN equals NaN).
function M.deep_equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b or (a ~= a and b ~= b) end
  for k, v in pairs(a) do
    if not M.deep_equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- LuaJIT 2.1 (Debian's 2.1.0~beta3+git20220320, x64 GC64) can miscompile a compiled
-- pairs()/next() loop: after the call to lj_vm_next that returns the pointer to the
-- key and value (rax) and the next index (edx), a register swap is emitted as the
-- 32-bit `xchg eax, edx`, which cuts the pointer to its low 32 bits, and the trace
-- segfaults reading through it. Whether the allocator needs the swap depends on the
-- trace, so on string hashes (randomized per run) and addresses: a crash in a few
-- percent of runs, seen in the structural comparisons of the specs, recursive pairs()
-- loops over the results (deep_equal here, luassert's deepcompare behind
-- assert.are.same). Those stay interpreted; what they compare is compiled as before.
if rawget(_G, "jit") then
  jit.off(M.deep_equal)
  local ok, util = pcall(require, "luassert.util")
  if ok and type(util) == "table" and util.deepcompare then jit.off(util.deepcompare) end
end

-- The heap in KiB after a full collection. LuaJIT counts its compiled traces in the
-- heap and keeps adding side traces for as long as a loop runs (up to its trace limit):
-- code, not the data a test bounds, so they are flushed first.
function M.heap()
  if rawget(_G, "jit") then jit.flush() end
  collectgarbage("collect")
  return collectgarbage("count")
end

-- The best of three runs of a fresh `core.framer{protocol = protocol}` over `data` in
-- 512-byte pushes, as a line delivers it: seconds, and how many frames it gave in all.
function M.frame_seconds(core, protocol, data)
  local chunks = {}
  for i = 1, #data, 512 do chunks[#chunks + 1] = data:sub(i, i + 511) end
  local best, frames = math.huge, 0
  for _ = 1, 3 do
    local f = core.framer({ protocol = protocol })
    local t0 = os.clock()
    for _, chunk in ipairs(chunks) do
      f:push(chunk)
      while f:pop() do frames = frames + 1 end
    end
    best = math.min(best, os.clock() - t0)
  end
  return best, frames
end

-- Bit libraries as a controller may have them, for loading fresh copies of modules that
-- pick their bit operations at load time: LuaBitOp (signed 32-bit results, as on
-- LogicMachine) and bit32; both xor any number of words, by arithmetic.
local function fold(a, b, ...)
  if b == nil then return a end
  return fold(M.xor(a, b), ...)
end
local function signed(x) return x >= 2147483648 and x - 4294967296 or x end
M.fake_bitop = { bxor = function(...) return signed(fold(...)) end }
M.fake_bit32 = { bxor = fold }

-- A fresh copy of the module in `path`, loaded in an environment claiming `version`
-- with the given `bit` (require "bit") and `bit32` (global) libraries, nil for none.
function M.load_with_bits(path, version, bit, bit32)
  local env = setmetatable({ _VERSION = version, bit32 = bit32 }, { __index = _G })
  env._G = env
  env.require = function(name)
    if name == "bit" then
      if bit then return bit end
      error("module 'bit' not found")
    end
    return require(name)
  end
  local src = M.read_file(path)
  local chunk
  if setfenv then
    chunk = assert(loadstring(src, "=" .. path))
    setfenv(chunk, env)
  else
    chunk = assert(load(src, "=" .. path, "t", env))
  end
  return chunk()
end

-- SML (sml.jsonl, docs/core-api.md core.sml): the records with their bytes in .raw, and
-- a writer of transmissions for the specs. The X-25 CRCs come from the C core when it
-- loads, else the Lua one: both are checked against the vectors' CRCs elsewhere.
function M.sml_vectors()
  local recs = M.jsonl("sml.jsonl")
  for _, r in ipairs(recs) do r.raw = r.raw or M.unhex(r.hex) end
  return recs
end

local sml = {}
M.sml = sml
local function x25(s)
  local ok, core = pcall(require, "han.core")
  if not ok then core = require("han.luacore") end
  return core.crc16(s)
end
local function tl(typ, len, tl_counts)
  -- one TL byte while the length fits a nibble, else two (the type in the first)
  if len + (tl_counts and 1 or 0) <= 15 then
    return string.char(typ * 16 + len + (tl_counts and 1 or 0))
  end
  local total = len + (tl_counts and 2 or 0)
  return string.char(0x80 + typ * 16 + math.floor(total / 16), total % 16)
end
sml.absent = "\1"
function sml.octets(s) return tl(0, #s, true) .. s end
function sml.bool(b) return "\66" .. (b and "\1" or "\0") end
-- an unsigned (int: signed) number of n bytes, two's complement
local function number(typ, n, v)
  local out, neg = {}, v < 0
  if neg then v = -v - 1 end          -- two's complement: the bytes of -v - 1, inverted
  for i = n, 1, -1 do
    out[i] = string.char(neg and 255 - v % 256 or v % 256)
    v = math.floor(v / 256)
  end
  return tl(typ, n, true) .. table.concat(out)
end
function sml.uint(n, v) return number(6, n, v) end
function sml.int(n, v) return number(5, n, v) end
function sml.list(...)
  local items = { ... }
  return tl(7, #items, false) .. table.concat(items)
end
-- A message with its CRC: X-25 (sent low byte first), "kermit" (KERMIT, high byte first),
-- or a number sent as the CRC field's value.
function sml.message(tag, body, crc)
  local m = "\118" .. sml.octets("\0\0\0\1") .. sml.uint(1, 0) .. sml.uint(1, 0)
    .. sml.list(sml.uint(2, tag), body)
  local value = crc
  if crc == "kermit" then
    value = require("han.luacore.crc16").kermit(m, 1, #m)
  elseif crc == nil then
    local c = x25(m)
    value = c % 256 * 256 + math.floor(c / 256)
  end
  return m .. sml.uint(2, value) .. "\0"
end
-- An entry: objName (6 bytes or a "A.B.C.D.E.F" code), value, and unit, scaler, status,
-- valTime (each an element; absent when nil).
function sml.entry(name, value, unit, scaler, status, time)
  if name:find("%.") then
    local b = {}
    for d in name:gmatch("%d+") do b[#b + 1] = string.char(tonumber(d)) end
    name = table.concat(b)
  end
  local a = sml.absent
  return sml.list(sml.octets(name), status or a, time or a, unit and sml.uint(1, unit) or a,
    scaler and sml.int(1, scaler) or a, value, a)
end
function sml.open(server) return sml.message(0x0101, sml.list(sml.absent, sml.absent,
  sml.octets("\1\2\3"), sml.octets(server), sml.absent, sml.absent)) end
function sml.get_list(server, entries, crc)
  return sml.message(0x0701, sml.list(sml.absent, sml.octets(server),
    sml.octets("\1\0\98\10\255\255"), sml.absent, sml.list((table.unpack or unpack)(entries)),
    sml.absent, sml.absent), crc)
end
function sml.close() return sml.message(0x0201, sml.list(sml.absent)) end
-- The transmission of an SML file: start, file, padding to a multiple of 4 (pad: how many
-- bytes, default what is needed; stated: the count sent, default pad), end, X-25 CRC
-- low byte first.
function sml.seal(file, pad, stated)
  pad = pad or (4 - #file % 4) % 4
  local s = "\27\27\27\27\1\1\1\1" .. file .. ("\0"):rep(pad) .. "\27\27\27\27\26"
    .. string.char(stated or pad)
  local c = x25(s)
  return s .. string.char(c % 256, math.floor(c / 256))
end
-- The SML file of a transmission without escapes: its body less the padding.
function sml.file(s) return s:sub(9, -9 - s:byte(-3)) end

-- The backend under test: $HAN_BACKEND ("c" or "lua"; default "c").
M.backend = os.getenv("HAN_BACKEND") or "c"

function M.core(name)
  name = name or M.backend
  return require(name == "lua" and "han.luacore" or "han.core")
end

return M
