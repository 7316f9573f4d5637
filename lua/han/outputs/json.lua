-- A small JSON encoder for readings (desktops may lack cjson; LogicMachine has `json`).
-- Keys are sorted so lines are stable; numbers keep full precision.
local M = {}

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function string_literal(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function number(v)
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
  for digits = 15, 17 do   -- the shortest form that reads back as the same number
    local s = string.format("%." .. digits .. "g", v)
    if tonumber(s) == v then return s end
  end
end

local function encode(v, out)
  local t = type(v)
  if t == "table" then
    if #v > 0 or next(v) == nil then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = string_literal(k)
        out[#out + 1] = ":"
        local x = v[k]
        if x == nil then x = v[tonumber(k)] end
        encode(x, out)
      end
      out[#out + 1] = "}"
    end
  elseif t == "string" then out[#out + 1] = string_literal(v)
  elseif t == "number" then out[#out + 1] = number(v)
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  else out[#out + 1] = "null"
  end
end

function M.encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

-- What not to print of a reading unless raw: every value by its code, as sent.
local RAW = { obis = true, units = true }

-- reading(r [, raw]) -> one JSON line's text: the shape `han decode`, `han read` and
-- `make demo` print (sorted keys; obis and units only when raw).
function M.reading(r, raw)
  if raw then return M.encode(r) end
  local out = {}
  for k, v in pairs(r) do
    if not RAW[k] then out[k] = v end
  end
  return M.encode(out)
end

return M
