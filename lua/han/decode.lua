-- han.decode: one frame (or APDU) to a reading with the same named fields for every
-- vendor. The raw notification comes from the core backend (read at call time); the
-- OBIS table and the vendor profiles (data) say what each value is and how it scales.
local backend = require("han.backend")
local obis = require("han.naming.obis")
local profiles = require("han.naming.profiles")
local time = require("han.time")

local type, pairs, ipairs, byte = type, pairs, ipairs, string.byte
local by_cde, fields_of = obis.by_cde, obis.fields_of
local lists, bare_profile = profiles.lists, profiles.bare
local epoch_of, hour_of = time.epoch, time.hour

local M = {}

-- Power of ten of each kind where neither the stream nor the profile says: energy
-- registers in Wh (the COSEM unit) become kWh; the rest is taken as sent.
local DEFAULT_SCALE = { energy = -3 }
local NUMERIC = { power = true, energy = true, current = true, voltage = true, factor = true }

-- The plan core.reading names values by (docs/core-api.md). A plan profile P per vendor
-- profile: P.memo maps raw codes to entries {code "A.B.C.D.E.F", field, power of ten
-- (numeric fields only), true for the clock}, filled on first sight by plan.entry and
-- bounded against hostile input; P.layouts the entries of positional lists by count.
local function new_entry(raw, profile)
  local code, cde = obis.code(raw)
  local e = { code }
  local def = by_cde[cde]
  if def then
    e[2] = def.field
    e[4] = def.kind == "clock" or nil
    if NUMERIC[def.kind] then
      local scale = profile and profile.scale
      e[3] = type(scale) == "table" and scale[def.kind] or DEFAULT_SCALE[def.kind] or 0
    end
  end
  return e
end

local MEMO_MAX = 512
-- plan.hourly: the registers of an hourly list, whose reading gets the hour it closes.
local plan = { lists = {}, sources = {}, hourly = fields_of.energy }
function plan.entry(P, raw)
  local e = new_entry(raw, P.profile)
  if P.n < MEMO_MAX then
    P.memo[raw], P.n = e, P.n + 1
  end
  return e
end

local function plan_profile(profile)
  local P = { memo = {}, n = 0, profile = profile }
  if profile then
    P.id, P.short, P.vendor = profile.id, profile.short, profile.vendor
    P.local_time, P.zero_absent = profile.local_time, profile.zero_absent
    if profile.positions then
      P.layouts = {}
      for count, codes in pairs(profile.positions) do
        local l = {}
        assert(#codes == count, "positions of " .. tostring(profile.id) .. " miscounted")
        for i, code in ipairs(codes) do l[i] = new_entry(obis.raw(code), profile) end
        P.layouts[count] = l
      end
    end
  end
  return P
end
plan.unknown = plan_profile(nil)
for id, profile in pairs(lists) do
  local P = plan_profile(profile)
  plan.lists[id] = P
  if profile.source then plan.sources[profile.source] = P end
  if profile == bare_profile then plan.bare = P end
end

-- plan.zone: han.time's default zone in numbers, for core.reading to give meter_time
-- (integers only, as han.time's zones are; another zone leaves meter_time to han.time
-- below). Made again when han.time.default_zone changes.
local zone_name
local function set_zone()
  zone_name = time.default_zone
  local z = time.zone(nil)
  local rule = z.dst
  if type(rule) == "string" then rule = time.rules[rule] end
  local numbers = { z.offset }
  if rule then
    numbers[2], numbers[3], numbers[4], numbers[5] = rule.from, rule.to, rule.at, rule.save
  end
  local whole = true
  for _, x in ipairs(numbers) do whole = whole and math.floor(x) == x end
  plan.zone = whole and numbers or nil
end
set_zone()

M.plan = plan   -- for specs and benchmarks: core.reading(data, require("han.decode").plan)

-- What han.decode adds to core.reading's reading of a frame or APDU: the vendor by meter
-- type for lists no profile knows, opts.scale, and meter time and hour in opts.zone or
-- in a default zone core.reading takes none of.
local function finish(r, P, opts)
  if not P and type(r.meter_type) == "string" then
    r.vendor = profiles.vendor_of_type(r.meter_type)
  end
  local tf, zone = r.time_fields, opts and opts.zone
  local scale = opts and opts.scale
  if scale then
    for kind, m in pairs(scale) do
      local names = fields_of[kind]
      if not names or type(m) ~= "number" then
        error("bad option scale." .. tostring(kind) .. " (a number for power, energy, "
          .. "current or voltage)", 3)
      end
      for i = 1, #names do
        local f = names[i]
        if r[f] then r[f] = r[f] * m end
      end
    end
  end
  if tf and (zone or not plan.zone) then
    r.meter_time = epoch_of(tf, zone, P and P.local_time)
    r.hour = hour_of(r, tf, plan.hourly)
  end
  return r
end

-- core.decode errors after which the frame may still be an envelope that core.unwrap
-- peels: HDLC segments or a series of frames, block transfer or ciphering inside.
local function enveloped(err)
  return err == "segmented frame" or err == "bad length" or err:find("^unsupported APDU")
end

local p1   -- han.p1, loaded with the first P1 telegram

local function p1_reading(text, opts, core)
  p1 = p1 or require("han.naming.p1")
  return p1.decode(text, core, opts, plan.zone)
end

-- han.decode(data [, opts]) -> reading, or nil, err. See the README for the fields.
-- data: an HDLC frame or several, M-Bus long frames, an APDU (plain, LLC-prefixed,
-- block transfer, ciphered) or a P1 telegram; the first byte tells which.
-- opts.key, opts.auth_key, opts.system_title: for ciphered frames (a keys table serves
-- as opts). opts.scale = {power=, energy=, current=, voltage=}: multipliers (current
-- transformers, meters that send Wh where their list says 10 Wh); opts.zone: a zone
-- name or table for meter times without a usable deviation (default Europe/Oslo).
function M.decode(data, opts)
  if type(data) ~= "string" then
    error("bad argument #1 to 'decode' (string expected, got " .. type(data) .. ")", 2)
  end
  if time.default_zone ~= zone_name then set_zone() end
  local core = backend.core
  local first = byte(data, 1)
  if first == 0x2F then return p1_reading(data, opts, core) end
  local r, P
  if first == 0x7E or first == 0x0F or first == 0xE6 then
    r, P = backend.reading(data, plan)         -- a plain frame or APDU: one call
    if r then
      if opts or not P or not plan.zone then return finish(r, P, opts) end
      return r
    end
    if not enveloped(P) then return nil, P end
  end
  local apdu, security = core.unwrap(data, opts)
  if not apdu then return nil, security end
  local err
  if byte(apdu, 1) == 0x2F then
    r, err = p1_reading(apdu, opts, core)
  else
    r, P = backend.reading(apdu, plan)
    if r then r = finish(r, P, opts) else err = P end
  end
  if not r then return nil, err end
  if security then
    r.encrypted, r.authenticated = security.encrypted, security.authenticated
    r.frame_counter = security.frame_counter
  end
  return r
end

return M
