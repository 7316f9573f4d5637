-- `han read --capacity <preset>`: every operator preset and its options reach
-- han.capacity from the command line, and a wrong one gets one line and exit 2.
local H = require("helpers")
local pty_support = require("support.pty")

local LUA = jit and "luajit" or "lua" .. _VERSION:sub(5)
local clock, sleep = pty_support.serial.clock, pty_support.serial.sleep

local read = H.read_file

local function run(args)
  local out, err = os.tmpname(), os.tmpname()
  local status, _, code = os.execute(LUA .. " bin/han " .. args .. " >" .. out .. " 2>" .. err)
  if type(status) == "number" then code = math.floor(status / 256) end
  local o, e = read(out), read(err)
  os.remove(out); os.remove(err)
  return code, o, e
end

-- The Belgian Fluvius telegram of the P1 vectors (its meter peak 2.589 kW).
local function fluvius()
  for _, rec in ipairs(H.jsonl("p1.jsonl")) do
    if rec.id:find("fluvius") then return rec.text end
  end
end

describe("han read --capacity", function()
  it("lists every operator preset in its help", function()
    local code, out = run("read --help")
    assert.are.equal(0, code)
    local help = out:gsub("%s+", " ")
    for name in pairs(require("han.outputs.capacity").rules) do
      assert.matches("[ ,:]" .. name .. "[,.]", help)
    end
  end)

  it("says a wrong preset or option in one line with exit 2", function()
    for args, pattern in pairs({
      ["--capacity mars"] = "%-%-capacity: 'mars' is not one of belgium, ellevio",
      ["--capacity sweden --hours 7-25"] = "%-%-hours: '7%-25'",
      ["--capacity norway --target lots"] = "%-%-target: 'lots' is not kW",
      ["--capacity sweden --count 0"] = "%-%-count: '0'",
    }) do
      local code, out, err = run("read /dev/null " .. args)
      assert.are.equal(2, code, args)
      assert.are.equal("", out)
      assert.matches("^han: [^\n]*" .. pattern .. "[^\n]*\n$", err)
    end
  end)

  it("gives a preset's period, target and the meter's own peak with each reading", function()
    local pty = pty_support.new()
    pty:start()
    finally(function() pty:cleanup() end)
    local out = os.tmpname()
    local p = io.popen(("sh -c '%s bin/han read %s --protocol p1 --capacity flanders "
      .. "--target 4 > %s 2>/dev/null & echo $!'"):format(LUA, pty.reader, out))
    local pid = p:read("*l")
    p:close()
    finally(function() os.execute("kill " .. pid .. " 2>/dev/null"); os.remove(out) end)
    sleep(0.3)
    pty:write({ fluvius() }, 0.05, "meter")
    local line
    local stop = clock() + 5
    while not line and clock() < stop do
      sleep(0.02)
      line = read(out):match("[^\n]+")
    end
    assert.is_truthy(line)
    local r = H.json_decode(line)
    assert.are.equal(4, r.capacity_target)
    assert.are.equal(900, r.capacity_period_end - r.capacity_period_start)
    assert.are.equal(r.meter_time - r.meter_time % 900, r.capacity_period_start)
    assert.are.equal(2.589, r.capacity_meter_peak)
    assert.is_number(r.capacity_budget)      -- 4 kW over a quarter: 1 kWh
    assert.is_true(math.abs(r.capacity_budget - 1) < 1e-9)
  end)
end)
