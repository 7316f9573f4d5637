-- What han knows of each vendor list, as data.
--   vendor:     the maker
--   scale:      power of ten from the raw value to the reading's unit, per kind; "stream"
--               means the meter sends scaler/unit pairs (Aidon layout)
--   local_time: the meter's clock is local time whatever its deviation field says
--   zero_absent: fields whose 0 means "not measured" (Kaifa 3-wire UL2)
--   positions:  for lists without OBIS codes, the codes by element count
local M = {}

local kaifa_list2 = { "1.1.0.2.129.255", "0.0.96.1.0.255", "0.0.96.1.7.255",
  "1.0.1.7.0.255", "1.0.2.7.0.255", "1.0.3.7.0.255", "1.0.4.7.0.255" }
local function join(a, b)
  local t = {}
  for i, v in ipairs(a) do t[i] = v end
  for _, v in ipairs(b) do t[#t + 1] = v end
  return t
end
local kaifa_1phase = join(kaifa_list2, { "1.0.31.7.0.255", "1.0.32.7.0.255" })
local kaifa_3phase = join(kaifa_list2, { "1.0.31.7.0.255", "1.0.51.7.0.255",
  "1.0.71.7.0.255", "1.0.32.7.0.255", "1.0.52.7.0.255", "1.0.72.7.0.255" })
local kaifa_hourly = { "0.0.1.0.0.255", "1.0.1.8.0.255", "1.0.2.8.0.255",
  "1.0.3.8.0.255", "1.0.4.8.0.255" }

M.lists = {
  Kamstrup_V0001 = {
    vendor = "Kamstrup",
    scale = { power = 0, energy = -2, current = -2, voltage = 0, factor = -2 },
  },
  AIDON_V0001 = { vendor = "Aidon", scale = "stream", local_time = true },
  EMBRIQ_V1_1 = { vendor = "Landis+Gyr", scale = "stream", local_time = true },
  KFM_001 = {
    vendor = "Kaifa",
    scale = { power = 0, energy = -3, current = -3, voltage = -1, factor = -3 },
    zero_absent = { voltage_l2 = true },
    positions = {
      [1] = { "1.0.1.7.0.255" },
      [9] = kaifa_1phase,
      [13] = kaifa_3phase,
      [14] = join(kaifa_1phase, kaifa_hourly),
      [18] = join(kaifa_3phase, kaifa_hourly),
    },
  },
}

-- Lists that carry no list id: the layout tells the profile (Kaifa's bare values), or
-- the HDLC source address tells the vendor.
M.bare_values = "KFM_001"
M.vendor_by_source = { [0x0883] = "Aidon", [0x0201] = "Kaifa", [0x21] = "Kamstrup" }
M.by_vendor = { Aidon = "AIDON_V0001", Kaifa = "KFM_001", Kamstrup = "Kamstrup_V0001" }

return M
