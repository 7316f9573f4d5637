-- dist/han.lua, the one-file build for controllers: it must load with no module paths
-- at all and give the same readings as the C path. `make test` builds it first.
local H = require("helpers")

-- Loads the bundle as a LogicMachine would: no package.path, no package.cpath, and
-- nothing of han already loaded.
local function load_bundle()
  local saved_path, saved_cpath = package.path, package.cpath
  local saved = {}
  for name in pairs(package.loaded) do
    if name == "han" or name:find("^han%.") then
      saved[name] = package.loaded[name]
      package.loaded[name] = nil
    end
  end
  package.path, package.cpath = "", ""
  -- a controller has no HAN_BACKEND in its environment
  local getenv = os.getenv
  os.getenv = function(name) -- luacheck: ignore 122
    if name ~= "HAN_BACKEND" then return getenv(name) end
  end
  local ok, han = pcall(function() return assert(loadfile("dist/han.lua"))() end)
  os.getenv = getenv -- luacheck: ignore 122
  package.path, package.cpath = saved_path, saved_cpath
  for name, v in pairs(saved) do package.loaded[name] = v end
  assert(ok, han)
  return han
end

local function same(a, b, path)
  if type(a) ~= type(b) then return false, path .. ": " .. type(a) .. " vs " .. type(b) end
  if type(a) ~= "table" then
    if a ~= b and not (a ~= a and b ~= b) then
      return false, path .. ": " .. tostring(a) .. " vs " .. tostring(b)
    end
    return true
  end
  for k, v in pairs(a) do
    local ok, err = same(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, err end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "." .. tostring(k) .. " missing" end
  end
  return true
end

describe("dist/han.lua", function()
  local bundled

  it("is made by one command on any machine with Lua: no make, no shell tools", function()
    local lua = jit and "luajit" or "lua" .. _VERSION:sub(5)
    local p = io.popen("command -v " .. lua)
    local interpreter = p:read("*l")
    p:close()
    local out = os.tmpname()
    local ok = os.execute("env -i PATH=/nonexistent " .. interpreter .. " tools/bundle.lua "
      .. out .. " >/dev/null 2>&1")
    assert.is_true(ok == true or ok == 0)
    local made = H.read_file(out)
    os.remove(out)
    assert.are.equal(H.read_file("dist/han.lua"), made)
  end)

  setup(function() bundled = load_bundle() end)

  it("loads with empty package.path and package.cpath and runs on the Lua core", function()
    assert.is_table(bundled)
    assert.are.equal("lua", bundled.backend)
    assert.is_function(bundled.decode)
  end)

  it("decodes every vector of frames.jsonl to the same reading as the C path", function()
    local han = require("han")
    finally(function() han.use_backend(H.backend) end)
    assert.is_table(han.use_backend("c"))
    local decoded = 0
    for i, rec in ipairs(H.frames()) do
      local a, aerr = han.decode(rec.raw)
      local b, berr = bundled.decode(rec.raw)
      assert.are.equal(aerr, berr, "vector " .. i)
      if a then
        decoded = decoded + 1
        local ok, why = same(a, b, "vector " .. i)
        assert(ok, why)
      end
    end
    assert.is_true(decoded >= 137)
  end)
end)
