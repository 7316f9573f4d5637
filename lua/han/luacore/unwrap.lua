-- core.unwrap in pure Lua, for han.luacore: the same layers, checks and messages as
-- csrc/unwrap.c (docs/core-api.md gives their order).
local byte, sub, char, format = string.byte, string.sub, string.char, string.format
local fail = require("han.luacore.errors").fail

local M = {}

local function be32(s, p)
  local a, b, c, d = byte(s, p, p + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- ber(s, p, n): the BER length at p (n = last position): length, next position |
-- nil, err, code; han.luacore's A-XDR reader, given to new().
local ber

-- HDLC frames back to back: their information fields joined (frame = core.frame).
local function hdlc_series(s, frame)
  local n, p, parts = #s, 1, {}
  while true do
    local size = 0
    if n - p + 1 >= 3 then
      local f1, f2 = byte(s, p + 1, p + 2)
      size = (f1 % 8) * 256 + f2 + 2
    end
    local last = (size > 0 and size <= n - p + 1) and p + size - 1 or n
    local f, err, code = frame(sub(s, p, last))
    if not f then return nil, err, code end
    parts[#parts + 1] = f.info
    p = p + size - 1                                -- at the closing flag
    if p < n and byte(s, p + 1) == 0x7E then p = p + 1 end
    if p >= n then
      if f.segmented then return fail("incomplete_segments") end
      return table.concat(parts)
    end
  end
end

-- Transport header bytes after C and A, by CI (nil: unsupported).
local function mbus_header(ci)
  if ci <= 0x1F then return 3 end
  return ({ [0x78] = 1, [0x7A] = 5, [0x72] = 13 })[ci]
end

local function mbus_series(s)
  local n, p, seq, parts = #s, 1, 0, {}
  while true do
    if n - p + 1 < 4 then return fail("truncated") end
    local b1, len, l2, b4 = byte(s, p, p + 3)
    if b1 ~= 0x68 or l2 ~= len or b4 ~= 0x68 or len < 3 then return fail("bad_mbus") end
    if n - p + 1 < len + 6 then return fail("truncated") end
    local sum = 0
    for q = p + 4, p + 3 + len do sum = sum + byte(s, q) end
    if sum % 256 ~= byte(s, p + 4 + len) then return fail("bad_mbus_checksum") end
    if byte(s, p + 5 + len) ~= 0x16 then return fail("bad_mbus") end
    local ci = byte(s, p + 6)
    local hdr = mbus_header(ci)
    if not hdr then return fail("unsupported_ci", ci) end
    hdr = hdr + 2
    if hdr > len or (ci <= 0x1F and ci % 16 ~= seq % 16) then return fail("bad_mbus") end
    parts[#parts + 1] = sub(s, p + 4 + hdr, p + 3 + len)
    p = p + len + 6
    seq = seq + 1
    if ci > 0x1F or ci % 32 >= 16 then
      if p <= n then return fail("trailing_data") end
      return table.concat(parts)
    end
    if p > n then return fail("incomplete_segments") end
  end
end

local function blocks(s)
  local n, p, number, parts = #s, 1, 0, {}
  while true do
    if p > n then return fail("incomplete_block") end
    if byte(s, p) ~= 0xE0 then return fail("bad_block") end
    if n - p + 1 < 6 then return fail("truncated_data") end
    local ctl, b1, b2 = byte(s, p + 1, p + 3)
    local bn = b1 * 256 + b2
    if p > 1 and bn ~= number + 1 then return fail("bad_block") end
    local len, q, code = ber(s, p + 6, n)
    if not len then return nil, q, code end
    if len > n - q + 1 then return fail("truncated_data") end
    parts[#parts + 1] = sub(s, q, q + len - 1)
    number = bn
    p = q + len
    if ctl >= 0x80 then
      if p <= n then return fail("trailing_data") end
      return table.concat(parts)
    end
  end
end

local ciphered = { [0xDB] = true, [0xDC] = true, [0x21] = true, [0x28] = true,
  [0xC8] = true, [0xC9] = true, [0xCA] = true, [0xCB] = true, [0xCC] = true,
  [0xCD] = true, [0xCF] = true }

local function hex(s)
  return (s:gsub(".", function(c) return format("%02X", byte(c)) end))
end

-- One ciphering layer: plaintext, security info | nil, err, code.
local function decipher(s, k, gcm)
  local n, tag, p, title = #s, byte(s, 1), 2
  if tag == 0xDB or tag == 0xDC then
    if n < 2 then return fail("truncated_data") end
    if byte(s, 2) ~= 8 then return fail("bad_system_title") end
    if n < 10 then return fail("truncated_data") end
    title, p = sub(s, 3, 10), 11
  elseif k.system_title then
    title = k.system_title
  else
    return fail("no_system_title", tag)
  end
  local len, q, code = ber(s, p, n)
  if not len then return nil, q, code end
  if len > n - q + 1 or len < 5 then return fail("truncated_data") end
  if len < n - q + 1 then return fail("trailing_data") end
  local sc = byte(s, q)
  local info = { encrypted = sc % 64 >= 32, authenticated = false, security_control = sc,
    frame_counter = be32(s, q + 1), system_title = title }
  if sc % 16 > 1 or sc >= 0x80 then
    return fail("unsupported_security", sc)
  end
  local body, sent = sub(s, q + 5), nil
  local auth = sc % 32 >= 16
  if auth then
    if #body < 12 then return fail("truncated_data") end
    body, sent = sub(body, 1, -13), sub(body, -12)
  end
  if info.encrypted and not k.key then
    return fail("no_key", hex(title))
  end
  local iv = title .. sub(s, q + 1, q + 4)
  local g = k.key and gcm.new(k.key)
  if auth and g and k.auth_key then
    -- the tag covers the ciphertext, or, not encrypted, the text as authenticated data
    local aad = char(sc) .. k.auth_key
    local mac = info.encrypted and g:tag(iv, aad, body) or g:tag(iv, aad .. body, "")
    if not gcm.equal(sub(mac, 1, 12), sent) then return fail("auth_failed") end
    info.authenticated = true
  end
  if info.encrypted then body = g:ctr(iv, body) end
  return body, info
end

local MAX_ENVELOPES = 8

-- new(core, ber_reader) -> unwrap(s, keys): core gives frame() and bytes_from(); keys
-- are checked (misuse raises) and converted to raw bytes once.
function M.new(core, ber_reader)
  ber = ber_reader
  local gcm
  local function raw_keys(keys)
    if keys == nil then return {} end
    if type(keys) ~= "table" then   -- the C core's words: no position (a C function has none)
      error("bad argument #2 to 'unwrap' (table expected, got " .. type(keys) .. ")", 0)
    end
    local k = {}
    for name, len in pairs({ key = 16, auth_key = 16, system_title = 8 }) do
      if keys[name] ~= nil then k[name] = core.bytes_from(keys[name], name, len) end
    end
    return k
  end
  return function(s, keys)
    if type(s) ~= "string" then error("bad argument #1 to 'unwrap' (string expected)", 2) end
    local k = raw_keys(keys)
    local a, info, err, code = s, nil, nil, nil
    local first = byte(s, 1)
    if first == 0x7E then a, err, code = hdlc_series(s, core.frame)
    elseif first == 0x68 then a, err, code = mbus_series(s) end
    if not a then return nil, err, code end
    local layers = 0
    while true do
      if byte(a, 1) == 0xE6 then
        local _, b2, b3 = byte(a, 1, 3)
        if #a < 3 or (b2 ~= 0xE6 and b2 ~= 0xE7) or b3 ~= 0 then return fail("bad_llc") end
        a = sub(a, 4)
      end
      if a == "" then return fail("truncated_data") end
      local tag = byte(a, 1)
      if tag ~= 0xE0 and not ciphered[tag] then break end
      if layers == MAX_ENVELOPES then return fail("too_many_envelopes") end
      layers = layers + 1
      if tag == 0xE0 then
        a, err, code = blocks(a)
      else
        gcm = gcm or require("han.luacore.aes")
        local i
        a, i, code = decipher(a, k, gcm)
        if a then info = i else err = i end
      end
      if not a then return nil, err, code end
    end
    return a, info
  end
end

return M
