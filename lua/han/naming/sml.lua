-- han.naming.sml: the reading of an SML transmission (German meters' D0 push) from
-- core.sml's values and layout key (docs/core-api.md), with the field names of the
-- catalogue (han.naming.fields). What the codes, units, scalers, ids and firmware quirks
-- mean is data here; a layout is read from its key once and compiled (han.naming) into a
-- function that builds the reading from the values.
local naming = require("han.naming")
local fields = require("han.naming.fields")

local byte, char, format, match, find, gsub = string.byte, string.char, string.format,
  string.match, string.find, string.gsub
local tonumber = tonumber

local M = {}

-- The maker by its FLAG id (the three letters of 96.50.1, of 129-129:199.130.3 or of a
-- server id): the one table of every protocol, from the profiles as every namer reaches
-- them (held weakly: han.naming.compiler).
M.vendors = naming.compiler("han.naming.profiles").makers

-- Powers of ten from an SML unit (the DLMS unit code) to the reading's unit, per kind: W,
-- var; Wh and varh to kWh and kvarh; V, A, Hz. A value in another unit, or in none, leaves
-- its field absent (obis keeps it).
M.units = {
  power = { [27] = 0, [29] = 0 }, net = { [27] = 0 }, energy = { [30] = -3, [32] = -3 },
  voltage = { [35] = 0 }, current = { [33] = 0 }, frequency = { [44] = 0 },
}

-- A net power (16.7.0 and the phases', import positive) as the fields it stands for.
M.split = {
  power_net = { "power_import", "power_export" },
  power_net_l1 = { "power_import_l1", "power_export_l1" },
  power_net_l2 = { "power_import_l2", "power_export_l2" },
  power_net_l3 = { "power_import_l3", "power_export_l3" },
}

-- Fields read whatever the code's F: other codes with an F but 255 are other values (the
-- history registers 1.8.0*96 .. *100 of Holley meters).
M.any_f = { manufacturer = true }

-- Makers whose meters, locked by their PIN, send energy only, in whole kWh (sml.md Q4):
-- such a layout (an energy register at a scaler of 3 or more with unit Wh, no power)
-- sets r.pin_locked, and their other layouts say false (outputs see the unlock).
M.pin_locked = { HLY = true, ISK = true, ITR = true, EBZ = true, EMH = true, LGZ = true }

-- Firmware quirks, each on by opts.quirks[name] = true, off by false, else by its default:
--   dzg_unsigned_power: DZG DVS74 meters with these serials send a positive 16.7.0 as an
--     Integer of 1 to 3 bytes with the sign bit set (libsml's ranges); read as unsigned.
--     Default on for those serials only: other DZG send genuine negatives.
--   abs_power: old EMH and Hager lists send 15.7.0 (absolute power) as their only power;
--     read as power_import on request (it is wrong while the meter exports).
M.quirks = {
  dzg_unsigned_power = { flag = "DZG", serials = { { 42000000, 48999999 },
    { 55000000, 58999999 } } },
  abs_power = {},
}
local ABS_POWER = { cde = "15.7.0", field = "power_import", kind = "power" }

------------------------------------------------------------------------------------
-- Server ids

-- The parts of a DIN 43863-5 server id: 10 bytes, 09 or 0A, the medium digit, the FLAG,
-- the fabrication block, a 4-byte serial. Or nil.
local function din(raw)
  if #raw ~= 10 then return nil end
  local kind, medium, a, b, c, block, s1, s2, s3, s4 = byte(raw, 1, 10)
  if (kind ~= 9 and kind ~= 10) or medium > 9 then return nil end
  local flag = char(a, b, c)
  if find(flag, "[^A-Z]") then return nil end
  return medium, flag, block, ((s1 * 256 + s2) * 256 + s3) * 256 + s4
end

-- The FLAG a server id carries: DIN 43863-5, or an old EMH/Iskra one (06 FLAG ...).
local function flag_of(raw)
  local _, flag = din(raw)
  if flag then return flag end
  flag = raw:sub(2, 4)
  if byte(raw, 1) == 6 and #flag == 3 and not find(flag, "[^A-Z]") then return flag end
end

-- A meter id as printed on the meter: "1EMH0011261482" for a DIN 43863-5 server id, the
-- text of an ASCII one, else upper-case hex. One-entry memo: a meter sends one id.
local last_raw, last_id
local function id_of(raw)
  if raw ~= last_raw then
    local medium, flag, block, serial = din(raw)
    if medium then
      last_id = format("%d%s%02X%08d", medium, flag, block, serial)
    elseif raw ~= "" and not find(raw, "[^ -~]") then
      last_id = raw
    else
      last_id = gsub(raw, ".", function(c) return format("%02X", byte(c)) end)
    end
    last_raw = raw
  end
  return last_id
end
M.id_of = id_of

-- Whether a quirk is on: opts.quirks[name], else its default for this meter.
local function quirk(opts, name, default)
  local q = opts and opts.quirks
  local on = q and q[name]
  if on == nil then return default end
  return on
end

local function dzg_default(server)
  local _, flag, _, serial = din(server)
  if flag ~= M.quirks.dzg_unsigned_power.flag then return false end
  for _, r in ipairs(M.quirks.dzg_unsigned_power.serials) do
    if serial >= r[1] and serial <= r[2] then return true end
  end
  return false
end

------------------------------------------------------------------------------------
-- The layout key

local function unhex(h) return (gsub(h, "..", function(x) return char(tonumber(x, 16)) end)) end

local function leaves(desc)
  local _, n = gsub(desc, "[iuob]", "")
  return n
end

-- The Lua expression of a descriptor's value whose first leaf is v[k]; and k after it.
local function expr(desc, k)
  local out = gsub(desc, "[iuob]%d?", function()
    k = k + 1
    return "v[" .. k - 1 .. "]"
  end)
  out = gsub(gsub(gsub(out, "%(", "{ "), "%)", " }"), "%-", "nil")
  return out, k
end

-- The GetList's server id (else the Open's) and the entries: {name = bytes, unit =,
-- scaler =, value = descriptor, first = the index of its value's first leaf}.
local function layout(key)
  local open_server, list_server, entries, k = nil, nil, {}, 1
  for line in key:gmatch("[^\n]+") do
    local name, status, time, unit, scaler, value =
      match(line, "^ (%x*) (%S+) (%S+) (%S+) (%S+) (%S+)$")
    if name then
      k = k + leaves(status) + leaves(time)
      entries[#entries + 1] = { name = unhex(name), unit = tonumber(unit),
        scaler = tonumber(scaler), value = value, first = k }
      k = k + leaves(value)
    else
      local tag, server = match(line, "^(%x+) (%x*)")
      if tag == "0101" then open_server = open_server or unhex(server) end
      if tag == "0701" then list_server = list_server or unhex(server) end
    end
  end
  return list_server or open_server or "", entries
end

------------------------------------------------------------------------------------
-- Compiling a layout

-- What an entry's code means: its field (and the field's kind), when it names one.
local function meaning(name)
  if #name ~= 6 then return nil end
  local _, _, c, d, e, f = byte(name, 1, 6)
  local cde = format("%d.%d.%d", c, d, e)
  local field = fields.by_cde[cde]
  local only = field and fields.only[field]
  if field and (only == nil or only == "sml") and (f == 255 or M.any_f[field]) then
    return field, fields.kind[field]
  end
  if cde == ABS_POWER.cde and f == 255 then return ABS_POWER.field, ABS_POWER.kind, true end
end

local function compile(key)
  local server, entries = layout(key)
  if #entries == 0 then
    return { message = "no values in the notification", code = "no_values" }
  end
  local c = naming.compiler("han.naming.chunk")()
  local K = c.const
  local flag = flag_of(server)
  c.field("list", K("SML"))
  if flag and M.vendors[flag] then c.field("vendor", K(M.vendors[flag])) end
  c.field("meter_id", K(id_of(server)))
  local energy_kwh, power, n_net = false, false, 0
  for _, e in ipairs(entries) do
    local name, desc = e.name, e.value
    local code = #name == 6 and format("%d.%d.%d.%d.%d.%d", byte(name, 1, 6))
      or gsub(name, ".", function(x) return format("%02x", byte(x)) end)
    local field, kind, abs = meaning(name)
    local v = "v[" .. e.first .. "]"
    local number = match(desc, "^[iu]%d$")
    if number and field == "power_net" and match(desc, "^i[123]$") then
      -- the DZG DVS74 sign bug: the value as unsigned when the quirk is on
      c.pre("local dzg = quirk(opts, \"dzg_unsigned_power\", ", tostring(dzg_default(server)), ")")
      v = format("(dzg and %s < 0 and %s + %.0f or %s)", v, v, 256 ^ tonumber(desc:sub(2)), v)
    end
    if number then
      local x = e.scaler or 0
      c.obis(code, x >= -22 and x <= 22 and naming.scaled_expr(v, x)
        or format("scaled(%s, %d)", v, x))
      local to_unit = field and M.units[kind] and M.units[kind][e.unit]
      if to_unit then
        x = x + to_unit
        local value = x >= -22 and x <= 22 and naming.scaled_expr(v, x)
          or format("scaled(%s, %d)", v, x)
        if kind == "net" then
          n_net = n_net + 1
          local net = "net" .. n_net
          c.pre("local ", net, " = ", value)
          c.number(M.split[field][1], format("%s >= 0 and %s or 0", net, net))
          c.number(M.split[field][2], format("%s < 0 and -%s or 0", net, net))
        elseif abs then
          c.line("if quirk(opts, \"abs_power\", false) then")
          c.number_line(field, value)
          c.line("end")
        else
          c.number(field, value)
        end
        power = power or kind == "power" or kind == "net"
        energy_kwh = energy_kwh or (kind == "energy" and e.unit == 30 and x >= 0)
      end
    elseif desc == "o" or desc == "b" then
      c.obis(code, v)
      if desc == "o" and kind == "id" then
        c.field("meter_id", "id_of(" .. v .. ")")
      elseif desc == "o" and field == "manufacturer" then
        c.field("manufacturer", v)
        c.field("vendor", format("vendors[%s] or %s", v, flag and M.vendors[flag]
          and K(M.vendors[flag]) or "nil"))
      end
    elseif desc ~= "-" then
      c.obis(code, (expr(desc, e.first)))
    end
  end
  if flag and M.pin_locked[flag] then
    c.field("pin_locked", tostring(energy_kwh and not power))
  end
  c.line("if bad > 0 then r.bad_message_crcs = bad end")
  c.line("if opts and opts.scale then scale(r, opts.scale) end")
  c.line("return r")
  return { fn = c.compile("v, opts, bad", { scaled = naming.scaled, quirk = quirk,
    id_of = id_of, vendors = M.vendors, scale = naming.apply_scale }) }
end

-- name(core, s [, opts]) -> the reading of a transmission, or nil, message, code.
-- opts.quirks (M.quirks), opts.strict_crc (refuse a transmission whose message CRCs
-- fail, though its transport CRC holds), opts.scale as for han.decode. SML keys start
-- with hex digits, which no DLMS key or P1 key does: they share naming's layouts.
function M.name(core, s, opts)
  local v, key, _, bad = core.sml(s)
  if not v then return nil, key, _ end
  if bad > 0 and opts and opts.strict_crc then
    return nil, "bad SML message CRC", "bad_message_crc"
  end
  local l = naming.layouts[key] or naming.keep(key, compile(key))
  if l.message then return nil, l.message, l.code end
  return l.fn(v, opts, bad)
end

return M
