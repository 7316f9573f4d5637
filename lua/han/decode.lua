-- han.decode: one frame (or APDU) to a reading with the same named fields for every
-- vendor. The raw notification comes from the core backend; the profiles and the OBIS
-- table (data) say what each value is and how it scales.
local backend = require("han.backend")
local obis = require("han.obis")
local profiles = require("han.profiles")
local time = require("han.time")

local lookup, by_cde, unit_exponent = obis.lookup, obis.by_cde, obis.unit_exponent
local lists = profiles.lists
local floor = math.floor

local M = {}

-- 10^e as an exact power, so that a scaled value is one correctly rounded division.
local pow10 = {}
for e = 0, 12 do pow10[e] = 10 ^ e end

local function scaled(v, e)
  if e == 0 then return v end
  if e > 0 then return v * pow10[e] end
  return v / pow10[-e]
end

-- The entry (code string and name) of a position code "A.B.C.D.E.F".
local position_entries = {}
local function position_entry(code)
  local hit = position_entries[code]
  if not hit then
    local c, d, e = code:match("^%d+%.%d+%.(%d+)%.(%d+)%.(%d+)")
    hit = { code = code, entry = by_cde[c .. "." .. d .. "." .. e] }
    position_entries[code] = hit
  end
  return hit
end

-- Store one value: raw under its OBIS code, named and scaled under its field.
-- `stream_e` is the power of ten the stream's scaler/unit give (nil: none sent).
local function put(r, ctx, hit, v, stream_e)
  r.obis[hit.code] = v
  local entry = hit.entry
  if not entry or type(v) == "table" and v.year == nil then return end
  local kind, field = entry.kind, entry.field
  if kind == "text" then
    if field == "list" and ctx.list == nil then ctx.list = v end
    r[field] = v
  elseif kind == "clock" then
    ctx.clock = v
  elseif type(v) == "number" then
    local e = stream_e
    if e == nil then
      local scale = ctx.profile and ctx.profile.scale
      e = type(scale) == "table" and scale[kind] or 0
    end
    v = scaled(v, e)
    local user = ctx.user_scale and ctx.user_scale[kind]
    if user then v = v * user end
    r[field] = v
  end
end

-- Is this raw OBIS code the list version id (x.x.0.2.129.x)?
local function is_list_code(raw)
  local entry = type(raw) == "string" and #raw == 6 and lookup(raw).entry
  return entry and entry.field == "list"
end

-- The profile for a list id, or for lists without one, by layout or source address.
local function profile_of(list, n, bare)
  if list then return lists[list] end
  if bare then return lists[profiles.bare_values] end
  local vendor = n.src and profiles.vendor_by_source[n.src]
  return vendor and lists[profiles.by_vendor[vendor]]
end

-- Aidon layout: an array of structures {obis, value[, {scaler, unit}]}.
local function structures(r, ctx, body, null, n)
  local first = body[1]
  if is_list_code(first[1]) and type(first[2]) == "string" then ctx.list = first[2] end
  ctx.profile = profile_of(ctx.list, n, false)
  for i = 1, #body do
    local item = body[i]
    if type(item) == "table" then
      local code, v, su = item[1], item[2], item[3]
      if type(code) == "string" and #code == 6 and v ~= nil and v ~= null then
        local e
        if type(su) == "table" and type(su[1]) == "number" then
          e = su[1] + (unit_exponent[su[2]] or 0)
        end
        put(r, ctx, lookup(code), v, e)
      end
    end
  end
end

-- Kamstrup layout (and OBIS-coded Kaifa): [list id,] then OBIS, value, OBIS, value ...
-- with null-data standing in for absent pairs.
local function pairs_list(r, ctx, body, null, n)
  local i = 1
  if not (type(body[1]) == "string" and #body[1] == 6) then
    ctx.list = body[1]
    i = 2
  elseif type(body[2]) == "string" and is_list_code(body[1]) then
    ctx.list = body[2]
  end
  ctx.profile = profile_of(ctx.list, n, false)
  local count = #body
  while i <= count do
    local code = body[i]
    if code == null then
      i = i + 1
    else
      local v = body[i + 1]
      if type(code) == "string" and #code == 6 and v ~= nil and v ~= null then
        put(r, ctx, lookup(code), v)
      end
      i = i + 2
    end
  end
end

-- Kaifa's Norwegian lists: bare values whose meaning is their position.
local function positions(r, ctx, body, null, n)
  if type(body[1]) == "string" and lists[body[1]] then ctx.list = body[1] end
  ctx.profile = profile_of(ctx.list, n, true)
  local layout = ctx.profile and ctx.profile.positions and ctx.profile.positions[#body]
  if not layout then return nil, "unknown list layout (" .. #body .. " values)" end
  for i = 1, #body do
    local v = body[i]
    if v ~= null then put(r, ctx, position_entry(layout[i]), v) end
  end
  return true
end

local function layout_of(body)
  if type(body[1]) == "table" then return structures end
  if type(body[2]) == "string" and #body[2] == 6 then return pairs_list end
  if type(body[1]) == "string" and #body[1] == 6 then return pairs_list end
  return positions
end

-- han.decode(frame [, opts]) -> reading, or nil, err.
-- opts.scale = {power=, energy=, current=, voltage=} multipliers; opts.zone for meter time.
function M.decode(frame, opts)
  if type(frame) ~= "string" then
    error("bad argument #1 to 'decode' (string expected, got " .. type(frame) .. ")", 2)
  end
  local core = backend.core
  local n, err = core.decode(frame)
  if not n then return nil, err end
  local body = n.body
  if type(body) ~= "table" or #body == 0 then return nil, "no values in the notification" end
  local r = { obis = {} }
  local ctx = { user_scale = opts and opts.scale }
  local ok, why = layout_of(body)(r, ctx, body, core.null, n)
  if ok == nil and why then return nil, why end

  local profile = ctx.profile
  r.list = ctx.list
  r.vendor = profile and profile.vendor
  if profile and profile.zero_absent then
    for field in pairs(profile.zero_absent) do
      if r[field] == 0 then r[field] = nil end
    end
  end
  local clock = ctx.clock
  if type(clock) == "string" then clock = time.fields(clock) end
  clock = clock or n.time
  if clock then
    r.time_fields = clock
    r.meter_time = time.epoch(clock, opts and opts.zone, profile and profile.local_time)
    if r.meter_time and r.energy_import then
      r.hour = floor(r.meter_time / 3600) * 3600 - 3600
    end
  end
  return r
end

return M
