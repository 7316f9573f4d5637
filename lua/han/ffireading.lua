-- han.ffireading: core.reading for LuaJIT with the C core. The C API builds tables
-- slower than LuaJIT's compiled code does, so that the byte work stays in C (CRC, HDLC,
-- the A-XDR walk: csrc/records.c, called through the FFI) and han.luareading names the
-- records in Lua, as it names han.luawalk's for the pure-Lua core. Any error, and a
-- body too big for the records here, goes to the C core's core.reading, which gives the
-- error string (or the reading) of the contract. han.backend uses it on LuaJIT only.
local ffi = require("ffi")
local name = require("han.luareading").name

-- declared once per process, though a bundle and the modules may both load this file
if not pcall(ffi.typeof, "struct han_records_entry") then
  ffi.cdef [[
  struct han_records_info { int32_t at; int32_t framed; double src; };
  struct han_records_entry {
    int (*records)(const char *, size_t, uint8_t *, double *, int32_t *, int32_t,
                   struct han_records_info *);
  };
  ]]
end

local M = {}

-- han_vkind (csrc/axdr.h) -> han.luawalk's kind
local KIND = { [0] = "null", "boolean", "number", "number", "number", "string", "bits",
  "time", "list" }
local CAP = 256

-- new(core) -> reading(s, plan) with core's results.
function M.new(core)
  local records = ffi.cast("struct han_records_entry *", core.records).records
  local c_reading = core.reading
  local kind, v, w = ffi.new("uint8_t[?]", CAP + 1), ffi.new("double[?]", CAP + 1),
    ffi.new("int32_t[?]", CAP + 1)
  local info = ffi.new("struct han_records_info")
  local rec = { K = {}, V = {}, W = {}, null = core.null }
  local K, V, W = rec.K, rec.V, rec.W

  return function(s, plan)
    if type(s) ~= "string" or type(plan) ~= "table" then return c_reading(s, plan) end
    local count = records(s, #s, kind, v, w, CAP, info)
    if count == 0 then return c_reading(s, plan) end
    for i = 1, count do
      local k = KIND[kind[i]]
      K[i], V[i], W[i] = k, v[i], w[i]
      if k == "boolean" then V[i] = v[i] ~= 0 end
    end
    return name(s, rec, plan, info.framed ~= 0 and info.src or nil, info.at > 0 and info.at)
  end
end

return M
