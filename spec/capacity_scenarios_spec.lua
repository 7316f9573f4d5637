-- han.capacity over whole simulated months (issue 23, Part 1): every scenario of
-- spec/vectors/capacity/scenarios.json, its readings made by
-- spec/support/capacity_scenarios.lua, against the monthly figures an independent
-- reference computed from the load itself with the system's tzdata and its own reading
-- of each operator's published rule. To regenerate the expected figures (python3 with
-- zoneinfo), from the repository root:
--
--     make capacity-vectors     (python3 spec/support/capacity_reference.py)
--
-- The figures are compared as the report stood after the month's last period was
-- booked (its last report naming that month).
local capacity = require("han.outputs.capacity")
local scenarios = require("support.capacity_scenarios")
local cjson = require("cjson.safe")
local H = require("helpers")
local capacity_log = require("support.capacity")   -- what han.capacity logs
local count = capacity_log.count

local ALL = assert(cjson.decode(H.read_file("spec/vectors/capacity/scenarios.json")))

local function near(want, got, what)
  assert(type(got) == "number", what .. ": " .. tostring(want) .. " wanted, got "
    .. tostring(got))
  assert(math.abs(want - got) < 1e-6, ("%s: %.9g wanted, got %.9g"):format(what, want, got))
end

local function absent(v) return v == nil or v == cjson.null end

-- Run a scenario: the month's last report, the one after everything, what was logged.
local function run(s, opts)
  local log, said = capacity_log.new()
  opts = opts or {}
  opts.rule, opts.log = s.rule, log
  local cap = capacity.new(opts)
  local month_report, last
  scenarios.each(s, function(r)
    last = cap:push(r)
    if last.capacity_month == s.month then month_report = last end
  end)
  return month_report, last, said
end

local function check(s, rep)
  local main = s.expect.main
  assert.is_table(rep, "no report named " .. s.month)
  for i, v in ipairs(main.peaks) do near(v, rep["capacity_peak_" .. i], "peak " .. i) end
  assert.is_nil(rep["capacity_peak_" .. (#main.peaks + 1)])
  if absent(main.mean) then assert.is_nil(rep.capacity_mean)
  else near(main.mean, rep.capacity_mean, "mean") end
  if s.expect.high then near(s.expect.high.mean, rep.capacity_high_mean, "high mean") end
  assert.are.equal(s.estimated, rep.capacity_estimated, "estimated peaks")
  if s.year_mean then near(s.year_mean, rep.capacity_year_mean, "12-month mean") end
end


describe("han.capacity over simulated months", function()
  for _, s in ipairs(ALL) do
    it(s.name, function()
      local rep, last, said = run(s)
      check(s, rep)
      -- the month closed: the next one started, this one's figure kept as the previous
      if not absent(s.expect.main.mean) then
        assert.are_not.equal(s.month, last.capacity_month)
        near(s.expect.main.mean, last.capacity_previous_mean, "previous month")
      end
      if s.send.bad_clock then
        assert.are.equal(1, count(said, "before 2015"))
        assert.are.equal(1, count(said, "40 days ahead"))
      end
      if s.send.reset then assert.are.equal(1, count(said, "went back or jumped")) end
      assert.are.equal(s.estimated, count(said, "was estimated"))
      if s.send.meter_peak then assert.are.equal(0, count(said, "meter's peak")) end
    end)
  end

  it("logs once when the meter's own month peak differs from han's", function()
    for _, s in ipairs(ALL) do
      if s.send.meter_peak then
        s.send.meter_value = s.send.meter_peak[2] + 0.4
        local rep, _, said = run(s)
        check(s, rep)
        near(s.send.meter_value, rep.capacity_meter_peak, "meter peak")
        assert.are.equal(s.send.meter_peak[1], rep.capacity_meter_peak_time)
        assert.are.equal(1, count(said, "meter's peak of 2024%-01 is 6%.600 kW, han's 6%.200"))
      end
    end
  end)
end)
