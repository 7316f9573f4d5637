-- The rockspec installs what the repository holds: every Lua module of lua/han and every
-- C file of the core (all of csrc/ but the optional serial and MQTT bindings).
local function listing(cmd)
  local out, p = {}, io.popen(cmd)
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

describe("han-scm-1.rockspec", function()
  local spec, file = {}, "han-scm-1.rockspec"
  local chunk = assert(loadfile(file))
  local setfenv = rawget(_G, "setfenv")
  if setfenv then
    setfenv(chunk, spec)
  else
    chunk = assert(loadfile(file, "t", spec))
  end
  chunk()
  local modules = spec.build.modules

  it("installs every module of lua/han", function()
    local files = listing("find lua/han -name '*.lua'")
    assert.is_true(#files >= 20)
    for _, path in ipairs(files) do
      local name = path:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
      assert.are.equal(path, modules[name], name)
    end
  end)

  it("lists only files that exist, and installs a han command that has what it needs", function()
    for name, m in pairs(modules) do
      local files = type(m) == "string" and { m } or m.sources
      for _, path in ipairs(files) do
        local f = io.open(path)
        assert.is_truthy(f, name .. ": " .. path)
        f:close()
      end
    end
    assert.are.equal("bin/han", spec.build.install.bin.han)
    local deps = table.concat(spec.dependencies, " ")
    assert.matches("argparse", deps)
  end)

  it("builds han.core from every C file of the core", function()
    local sources = {}
    for _, s in ipairs(modules["han.core"].sources) do sources[s] = true end
    for _, path in ipairs(listing("ls csrc/*.c")) do
      if path ~= "csrc/serial.c" and path ~= "csrc/mosquitto.c" then
        assert.is_true(sources[path] ~= nil, path)
      end
    end
  end)
end)
