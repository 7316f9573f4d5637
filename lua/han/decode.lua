-- han.decode: one frame (or APDU, or telegram) to a reading. Data flows one way: the
-- core in use (han.backend) gives values (core.values, core.p1), after peeling any
-- envelope (core.unwrap); the namer (han.naming) names them.
local backend = require("han.backend")
local fields = require("han.naming.fields")
local dlms = require("han.naming.dlms")
local time = require("han.time")

local type, pairs, byte = type, pairs, string.byte

local M = {}

local p1   -- han.naming.p1, loaded with the first P1 telegram
local sml  -- han.naming.sml, loaded with the first SML transmission

local function telegram(text, opts)
  p1 = p1 or require("han.naming.p1")
  return p1.name(backend.core, text, opts)
end

-- The errors of core.values after which the data may still be an envelope that
-- core.unwrap peels: HDLC segments or a series of frames, block transfer or ciphering.
local ENVELOPED = { segmented = true, bad_length = true, unsupported_apdu = true }

-- What is wrong with opts.scale, or nil (han.reader asks too, before its first frame).
function M.bad_scale(scale)
  if type(scale) ~= "table" then return "opts.scale: a table expected" end
  for kind, m in pairs(scale) do
    if not fields.scalable[kind] or type(m) ~= "number" then
      return "opts.scale." .. tostring(kind) .. ": a number for power, energy, current or voltage"
    end
  end
end

-- Misuse raises, before any data is read: a bad option is wrong for every frame.
local function check(data, opts)
  if type(data) ~= "string" then
    error("bad argument #1 to 'decode' (string expected, got " .. type(data) .. ")", 3)
  end
  if opts == nil then return end
  if type(opts) ~= "table" then
    error("bad argument #2 to 'decode' (table expected, got " .. type(opts) .. ")", 3)
  end
  local bad = opts.scale ~= nil and M.bad_scale(opts.scale)
  if bad then error("bad argument #2 to 'decode' (" .. bad .. ")", 3) end
  local quirks = opts.quirks
  if quirks ~= nil then
    local known = require("han.naming.sml").quirks
    for name, on in pairs(type(quirks) == "table" and quirks or { [quirks] = 0 }) do
      if not known[name] or type(on) ~= "boolean" then
        error("bad argument #2 to 'decode' (opts.quirks." .. tostring(name)
          .. ": true or false for a known quirk)", 3)
      end
    end
  end
  if opts.zone ~= nil then
    local ok, err = pcall(time.zone, opts.zone)
    if not ok then error("bad argument #2 to 'decode' (opts.zone: " .. err .. ")", 3) end
  end
end

-- Did core.unwrap fail inside a text it decrypted without a tag to check it? Then the
-- key is wrong (or the frame damaged), whatever envelope the garbage seemed to open.
-- Without keys the same data stops at the ciphering layer (no_key), so the failure lay
-- beyond it; with an auth_key, a second key that cannot be right tells whether the
-- frame has a tag: a tag that verified vouches for the text, and the error is the data's.
local function unchecked_text(core, data, opts, code)
  if type(opts) ~= "table" or opts.key == nil or code == "auth_failed" or code == "no_key" then
    return false
  end
  local _, _, plain = core.unwrap(data, { system_title = opts.system_title })
  if plain ~= "no_key" then return false end
  if opts.auth_key == nil then return true end
  local other = opts.auth_key == ("\0"):rep(16) and ("\1"):rep(16) or ("\0"):rep(16)
  local _, _, tagged = core.unwrap(data, { key = opts.key, auth_key = other,
    system_title = opts.system_title })
  return tagged ~= "auth_failed"
end

local function wrong_key(err)
  return nil, "wrong decryption key (or damaged frame): " .. err, "wrong_key"
end

-- han.decode(data [, opts]) -> reading, or nil, message, code. See the README for the
-- fields. data: an HDLC frame or several, M-Bus long frames, an APDU (plain,
-- LLC-prefixed, block transfer, ciphered), a P1 telegram or an SML transmission; the
-- first byte tells which.
-- opts.key, opts.auth_key, opts.system_title: for ciphered frames (a keys table serves
-- as opts). opts.scale = {power=, energy=, current=, voltage=}: multipliers (current
-- transformers, meters that send Wh where their list says 10 Wh); opts.zone: a zone
-- name or table for meter times without a usable deviation (default Europe/Oslo);
-- opts.protocol = "d0": a telegram read from an IEC 62056-21 port (list = "D0").
-- An SML transmission (first bytes 1B1B1B1B): opts.quirks = {name = true|false} turns
-- the meter quirks of han.naming.sml on or off, opts.strict_crc refuses a transmission
-- whose message CRCs fail though its transport CRC holds.
function M.decode(data, opts)
  check(data, opts)
  local core = backend.core
  local first = byte(data, 1)
  if first == 0x2F then return telegram(data, opts) end
  if first == 0x1B then                             -- SML: 1B1B1B1B 01010101
    sml = sml or require("han.naming.sml")
    return sml.name(core, data, opts)
  end
  if first == 0x7E or first == 0x0F or first == 0xE6 then
    local v, key, header, src = core.values(data)   -- a plain frame or APDU: one call
    if v then return dlms.name(v, key, header, src, opts, core.null) end
    if not ENVELOPED[header] then return nil, key, header end
  end
  local apdu, security, code = core.unwrap(data, opts)
  if not apdu then
    if unchecked_text(core, data, opts, code) then return wrong_key(security) end
    return nil, security, code
  end
  -- Text decrypted without a tag to check it: garbage means the key is wrong.
  local unchecked = security and security.encrypted and not security.authenticated
  local r, err
  if byte(apdu, 1) == 0x2F then
    r, err, code = telegram(apdu, opts)
    -- a wrong key's garbage may start with "/" (1 in 256); a telegram's maker code follows
    if not r and unchecked and not apdu:find("^/%a%a%a") then return wrong_key(err) end
  else
    local v, key, header, src = core.values(apdu)
    if not v then
      if unchecked then return wrong_key(key) end
      return nil, key, header
    end
    r, err, code = dlms.name(v, key, header, src, opts, core.null)
  end
  if not r then return nil, err, code end
  if security then
    r.encrypted, r.authenticated = security.encrypted, security.authenticated
    r.frame_counter = security.frame_counter
  end
  return r
end

return M
