-- examples/han-mqtt.service works as its comments say: the service user can read every
-- file the command line names, and the command knows every option it is given.
local H = require("helpers")

local LUA = jit and "luajit" or "lua" .. _VERSION:sub(5)

local function unit()
  local text = H.read_file("examples/han-mqtt.service")
  local keys, exec = {}, nil
  local joined = text:gsub("\\\n%s*", " ")
  for line in joined:gmatch("[^\n]+") do
    local k, v = line:match("^(%w+)=(.*)$")
    if k then
      keys[k] = keys[k] or {}
      table.insert(keys[k], v)
      if k == "ExecStart" then exec = v end
    end
  end
  return keys, exec, text
end

describe("examples/han-mqtt.service", function()
  it("hands a DynamicUser service its secrets as credentials it can read", function()
    local keys, exec, text = unit()
    assert.are.same({ "yes" }, keys.DynamicUser)
    local creds = {}
    for _, v in ipairs(keys.LoadCredential or {}) do
      local name, path = v:match("^([^:]+):(.+)$")
      creds[name] = path
    end
    local secrets = 0
    for opt, path in exec:gmatch("%-%-(%a+%-file) (%S+)") do
      secrets = secrets + 1
      -- a DynamicUser cannot read a root-owned 0600 file: only a credential copy
      local name = path:match("^%${CREDENTIALS_DIRECTORY}/(.+)$")
      assert.is_truthy(name, "--" .. opt .. " " .. path .. " is not a credential")
      assert.is_truthy(creds[name], "no LoadCredential for " .. name)
      assert.matches(creds[name]:gsub("%p", "%%%0"), text:match("^(.-)%[Unit%]"))
    end
    assert.is_true(secrets >= 1)
    local state = exec:match("%-%-state (%S+)")
    assert.are.equal("/var/lib/" .. keys.StateDirectory[1] .. "/", state:match("^(.*/)"))
  end)

  it("gives han mqtt only options it has", function()
    local _, exec = unit()
    local p = io.popen(LUA .. " bin/han mqtt --help")
    local help = p:read("*a")
    p:close()
    for opt in exec:gmatch("%-%-[%a%-]+") do
      assert.matches(opt:gsub("%p", "%%%0"), help)
    end
  end)
end)
