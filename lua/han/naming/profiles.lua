-- What han knows of each vendor list, as data. Keyed by list id; each profile has
--   vendor:      the meter's maker
--   scale:       per kind (fields.lua), the power of ten from the raw value to the
--                reading's unit (kinds not listed: W, var, A, V as sent, energy in Wh);
--                "stream": the meter sends scaler/unit pairs (Aidon layout)
--   local_time:  the clock is local time whatever its deviation field says
--   zero_absent: fields whose 0 means "not measured" (Kaifa 3-wire meters' UL2)
--   positions:   for lists without OBIS codes, the codes of the values by element count
--   source:      the HDLC source address the vendor's meters use
--   short:       element count of the vendor's list 1, which carries no list id
--   types:       patterns of the vendor's meter types (to name the vendor of lists that
--                han does not know)
local M = {}

-- Kaifa's Norwegian lists carry bare values; these are the codes Kaifa's OBIS-coded
-- firmware gives the same values, in list order.
local function concat(...)
  local t = {}
  for _, part in ipairs({ ... }) do
    for _, v in ipairs(part) do t[#t + 1] = v end
  end
  return t
end
local kaifa_head = { "1.0.0.2.129.255", "0.0.96.1.0.255", "0.0.96.1.7.255",
  "1.0.1.7.0.255", "1.0.2.7.0.255", "1.0.3.7.0.255", "1.0.4.7.0.255" }
local kaifa_1phase = concat(kaifa_head, { "1.0.31.7.0.255", "1.0.32.7.0.255" })
local kaifa_3phase = concat(kaifa_head, { "1.0.31.7.0.255", "1.0.51.7.0.255",
  "1.0.71.7.0.255", "1.0.32.7.0.255", "1.0.52.7.0.255", "1.0.72.7.0.255" })
local kaifa_hourly = { "0.0.1.0.0.255", "1.0.1.8.0.255", "1.0.2.8.0.255",
  "1.0.3.8.0.255", "1.0.4.8.0.255" }

M.lists = {
  Kamstrup_V0001 = {
    vendor = "Kamstrup",
    scale = { current = -2, energy = -2, factor = -2 },   -- 0.01 A, 10 Wh, 0.01
    source = 0x21,
    types = { "^68[456]" },   -- 684 3-phase, 685 3-phase CT, 686 1-phase
  },
  AIDON_V0001 = {
    vendor = "Aidon", scale = "stream", local_time = true, source = 0x0883, short = 1,
    types = { "^65%d%d$" },
  },
  EMBRIQ_V1_1 = { vendor = "Landis+Gyr", scale = "stream", local_time = true },
  KFM_001 = {
    vendor = "Kaifa",
    scale = { current = -3, voltage = -1, energy = -3 },  -- mA, 0.1 V, Wh
    zero_absent = { "voltage_l2" },
    source = 0x0201, short = 1,
    types = { "^MA[13]0%d" },
    positions = {
      [1] = { "1.0.1.7.0.255" },
      [9] = kaifa_1phase,
      [13] = kaifa_3phase,
      [14] = concat(kaifa_1phase, kaifa_hourly),
      [18] = concat(kaifa_3phase, kaifa_hourly),
    },
  },
}

-- Derived lookups: the profile of a list without a list id, by HDLC source address or,
-- for bare values, the one profile that describes positions.
M.by_source = {}
for id, p in pairs(M.lists) do
  p.id = id
  if p.source then M.by_source[p.source] = p end
  if p.positions then
    assert(M.bare == nil, "two profiles with positions")
    M.bare = p
  end
end

-- The vendor of a meter type, for lists han does not know.
function M.vendor_of_type(meter_type)
  for _, p in pairs(M.lists) do
    for _, pattern in ipairs(p.types or {}) do
      if meter_type:find(pattern) then return p.vendor end
    end
  end
end

-- The maker by its 3-letter FLAG id (IEC 62056-21 manufacturer id), as P1 and D0
-- identification lines, SML's 96.50.1 and server ids give it (a lower-case third letter
-- only says the meter answers fast: "ISk" is Iskra; old Hager SML lists spell it out).
-- Grid operators' flags (FLU Fluvius, ESO) name the operator; ELL is Ellevio's
-- Landis+Gyr E360.
M.makers = {
  ACE = "Actaris", ADN = "Aidon", APA = "Apator", DNT = "Dr. Neuhaus", DZG = "DZG",
  EBZ = "eBZ", EFR = "EFR", ELL = "Landis+Gyr", EMH = "EMH", ESO = "ESO", ESY = "EasyMeter",
  FLU = "Fluvius", HAG = "Hager", HAGER = "Hager", HLY = "Holley", ISK = "Iskra",
  ITR = "Itron", KFM = "Kaifa", KMP = "Kamstrup", LGF = "Landis+Gyr", LGZ = "Landis+Gyr",
  SAG = "Sagemcom", XMX = "Landis+Gyr",
}

return M
