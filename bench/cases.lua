-- The frames the benchmarks decode and the limit they are measured against, shared by
-- bench/run.lua (time) and bench/instructions.lua (instruction counts). Only public
-- entry points of han are used here and in the other bench files.
local H = require("helpers")

local M = {}

-- One real frame per vendor (the 228-byte seed Kamstrup list, an Aidon list 2, a Kaifa
-- list 2).
local function pick(bytes, list)
  for _, r in ipairs(H.frames()) do
    if r.bytes == bytes and r.reference ~= H.json_null and r.reference.list_ver_id == list then
      return r.raw
    end
  end
end
M.frames = {
  { "Kamstrup 228 B", pick(228, "Kamstrup_V0001") },
  { "Aidon 288 B", pick(288, "AIDON_V0001") },
  { "Kaifa 123 B", pick(123, "KFM_001") },
}
M.kamstrup = M.frames[1][2]

-- The reading han.decode gives for the Kamstrup frame, built from constants: the least
-- any decoder returning this table could cost.
function M.from_constants()
  return {
    list = "Kamstrup_V0001", vendor = "Kamstrup", meter_id = "1111111111111111",
    meter_type = "6841121BN243101040", power_import = 5424, power_export = 0,
    reactive_import = 312, reactive_export = 0, current_l1 = 22.19, current_l2 = 19.7,
    current_l3 = 5.67, voltage_l1 = 214, voltage_l2 = 218, voltage_l3 = 221,
    meter_time = 1548752250,
    time_fields = { year = 2019, month = 1, day = 29, wday = 2, hour = 9, min = 57,
      sec = 30, status = 0 },
    obis = { ["1.1.0.0.5.255"] = "1111111111111111", ["1.1.96.1.1.255"] = "6841121BN243101040",
      ["1.1.1.7.0.255"] = 5424, ["1.1.2.7.0.255"] = 0, ["1.1.3.7.0.255"] = 312,
      ["1.1.4.7.0.255"] = 0, ["1.1.31.7.0.255"] = 2219, ["1.1.51.7.0.255"] = 1970,
      ["1.1.71.7.0.255"] = 567, ["1.1.32.7.0.255"] = 214, ["1.1.52.7.0.255"] = 218,
      ["1.1.72.7.0.255"] = 221 },
  }
end

-- The P1 telegram: the 952-byte DSMR 5 one of an Iskra AM550 (three phases, two M-Bus
-- channels, gas on the second), found by its length and identification line.
for _, r in ipairs(H.jsonl("p1.jsonl")) do
  if #r.text == 952 and r.text:find("^/ISK5\\2M550T") then M.telegram = r.text end
end
assert(M.telegram, "the 952-byte Iskra AM550 telegram is not in spec/vectors/p1.jsonl")

-- The SML transmission: the 316-byte one of an EMH eHZ-H (energy, tariffs, power, public
-- key), from spec/vectors/sml.jsonl.
for _, r in ipairs(H.sml_vectors()) do
  if r.id == "emh_ehz-hw8e2a5l0ek2p" then M.sml = r.raw end
end
assert(M.sml and #M.sml == 316, "the EMH eHZ-H transmission is not in spec/vectors/sml.jsonl")

return M
