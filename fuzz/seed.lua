-- Writes the seed corpus of the fuzz targets from the captured vectors: every frame of
-- frames.jsonl, its APDU without HDLC, slices of the raw captures, the encrypted
-- envelopes, the P1 telegrams and the SML transmissions (and their files).
-- Usage: lua fuzz/seed.lua DIR   (run from the repository root)
package.path = "spec/?.lua;" .. package.path
local H = require("helpers")
local dir = assert(arg[1], "usage: lua fuzz/seed.lua DIR")

local n = 0
local function put(bytes)
  n = n + 1
  local f = assert(io.open(("%s/seed-%04d"):format(dir, n), "wb"))
  f:write(bytes)
  f:close()
end

for _, rec in ipairs(H.frames()) do
  put(rec.raw)
  put(rec.raw:sub(12, -4))
end
for _, s in ipairs(H.streams()) do
  local data = H.read_file(s.path)
  for i = 1, math.min(#data, 40000), 4000 do put(data:sub(i, i + 1999)) end
end
for _, rec in ipairs(H.jsonl("encrypted.jsonl")) do put(H.unhex(rec.hex)) end
for _, rec in ipairs(H.jsonl("p1.jsonl")) do put(rec.text) end
for _, rec in ipairs(H.sml_vectors()) do
  put(rec.raw)
  put(rec.raw:sub(9, -9))   -- the file, for the target that wraps it
end
print(("%d seeds in %s"):format(n, dir))
