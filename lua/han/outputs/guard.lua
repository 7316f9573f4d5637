-- han.guard: stay under the capacity step by switching loads off before the running
-- period (hour, or quarter hour in Flanders) uses more than its budget, and on again
-- when there is room. It reads han.capacity's report: capacity_period_start/_end,
-- capacity_forecast (kWh at the period's end at the present power) and capacity_budget
-- (kWh the period may use; nil = no limit in this period).
--
-- In the budget's terms, the room beyond what the present draw will use is
-- spare = budget - margin - forecast (kWh), i.e. (headroom - present power) kW for the
-- time left. Spare below 0: shed loads in list order until their nominal kW cover it.
-- Spare enough for the last shed load's kW plus the hysteresis: restore it, at once
-- when a new period begins. A period without limit, silence (no usable report for
-- `timeout` seconds) and close() restore every load. A load is never switched again
-- before its min_on / min_off seconds (close() excepted: the guard lets go for good).
local M = {}

M.defaults = {
  margin = 0.1,       -- kWh kept free below the budget
  hysteresis = 0.5,   -- kW of spare beyond a load's own before it comes back
  timeout = 120,      -- seconds without a usable report: every load back on
  settle = 10,        -- seconds after a switch before the next decision: the meter's
                      -- power must show it first (lists come every 2–10 s)
}

local function finite(v)
  return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge
end

local function default_log(msg)
  if type(_G.log) == "function" then _G.log(msg) else io.stderr:write(msg, "\n") end
end

-- How each kind of load is switched, by the key its table carries: the call returns
-- false or nil, why when the command did not go out.
local SWITCHES = {
  switch = function(load, on) return load.switch(on, load) end,
  address = function(load, on, guard)
    return guard.grp.write(load.address, on and load.on_value or load.off_value)
  end,
  topic = function(load, on, guard)
    return guard.mqtt:send(load.topic, on and load.payload_on or load.payload_off, 1, true)
  end,
}
local HOW = { "switch", "address", "topic" }
local WANTS = { switch = "function", address = "string", topic = "string" }

local function misuse(msg) error("han.guard: " .. msg, 4) end

-- One load of opts.loads, checked; the guard keeps its own copy.
local function load_of(i, spec, opts, guard, names)
  local where = "loads[" .. i .. "]"
  if type(spec) ~= "table" then misuse(where .. " must be a table") end
  local name = spec.name
  if type(name) ~= "string" or not name:find("^[%w_]+$") then
    misuse(where .. ".name must be letters, digits and _ (it names a field and a topic)")
  end
  if names[name] then misuse("two loads named '" .. name .. "'") end
  names[name] = true
  if not finite(spec.kw) or spec.kw <= 0 then misuse(where .. ".kw must be a kW above 0") end
  for _, k in ipairs({ "min_on", "min_off" }) do
    if spec[k] ~= nil and not (finite(spec[k]) and spec[k] >= 0) then
      misuse(where .. "." .. k .. " must be seconds, 0 or more")
    end
  end
  local how
  for _, k in ipairs(HOW) do
    if spec[k] ~= nil then
      if how then misuse(where .. " has both " .. how .. " and " .. k) end
      if type(spec[k]) ~= WANTS[k] then misuse(where .. "." .. k .. " must be a " .. WANTS[k]) end
      how = k
    end
  end
  if not how then misuse(where .. " needs switch (a function), address or topic") end
  if how == "address" and type(guard.grp) ~= "table" then
    misuse(where .. " has a group address but there is no grp (pass opts.grp)")
  end
  if how == "topic" and type(guard.mqtt) ~= "table" then
    misuse(where .. " has a topic but no opts.mqtt (a han.mqtt bridge)")
  end
  local function pick(k, default)
    if spec[k] ~= nil then return spec[k] end
    if opts[k] ~= nil then return opts[k] end
    return default
  end
  return {
    name = name, kw = spec.kw, min_on = spec.min_on or 0, min_off = spec.min_off or 0,
    how = how, switch = spec.switch, address = spec.address, topic = spec.topic,
    on_value = pick("on_value", true), off_value = pick("off_value", false),
    payload_on = pick("payload_on", "ON"), payload_off = pick("payload_off", "OFF"),
    field = "guard_shed_" .. name,
    shed = false, since = -math.huge, why = "on: not shed yet",
  }
end

local Guard = {}
Guard.__index = Guard

-- new(opts): opts.loads (the list, the first shed first: each {name =, kw =, min_on =,
-- min_off = (seconds), and one of switch = function(on, load) | address = '1/1/1' |
-- topic = 'home/heater/set'}), margin, hysteresis, timeout, settle, forecast (the
-- report's field: 'capacity_forecast', or 'capacity_forecast_avg'), on_value /
-- off_value (group values, default true / false), payload_on / payload_off (MQTT,
-- 'ON' / 'OFF'), grp (default LM's global), mqtt (a han.mqtt bridge), clock, log.
-- Every load is taken to be on when the guard starts.
function M.new(opts)
  if type(opts) ~= "table" then error("han.guard: new expects an options table", 2) end
  local loads = opts.loads
  if type(loads) ~= "table" or #loads == 0 then
    error("han.guard: opts.loads must be a list of loads", 2)
  end
  local self = setmetatable({
    grp = opts.grp or rawget(_G, "grp"), mqtt = opts.mqtt,
    forecast = opts.forecast or "capacity_forecast",
    clock = opts.clock or os.time, log = opts.log or default_log,
    loads = {}, last_switch = -math.huge,
  }, Guard)
  for k, v in pairs(M.defaults) do
    local given = opts[k]
    if given ~= nil and not (finite(given) and given >= 0) then
      error("han.guard: opts." .. k .. " must be a number, 0 or more", 2)
    end
    self[k] = given or v
  end
  local names = {}
  for i, spec in ipairs(loads) do self.loads[i] = load_of(i, spec, opts, self, names) end
  return self
end

-- Switch one load; on failure it stays as it was (the next decision tries again) and
-- the reason is logged once per failing streak.
function Guard:set(load, on, now, why)
  local ok, err = SWITCHES[load.how](load, on, self)
  if ok == false or (ok == nil and err ~= nil) then
    if not load.failing then
      self.log("han.guard: cannot switch " .. load.name .. (on and " on" or " off") .. ": "
        .. tostring(err))
    end
    load.failing = true
    return false
  end
  load.failing = nil
  load.shed, load.since, load.why = not on, now, why
  self.last_switch = now
  self.log("han.guard: " .. load.name .. (on and " on: " or " shed: ") .. why)
  return true
end

local function may_switch(load, now)
  return now - load.since >= (load.shed and load.min_off or load.min_on)
end

-- Every shed load back on that its min_off allows (all of them when forced).
function Guard:release(now, why, forced)
  for _, load in ipairs(self.loads) do
    if load.shed and (forced or may_switch(load, now)) then self:set(load, true, now, why) end
  end
end

-- Shed loads in list order until their kW cover `need` (kW for the time left).
function Guard:shed(need, now, why)
  local covered = 0
  for _, load in ipairs(self.loads) do
    if covered >= need then break end
    if not load.shed and may_switch(load, now) and self:set(load, false, now, why) then
      covered = covered + load.kw
    end
  end
end

-- The last shed load first, each while the spare kW hold it plus the hysteresis; the
-- order is kept: a load that does not fit or may not switch yet holds back the rest.
-- One whose min_on outlasts the period (`left` seconds) waits for the next: it could
-- not be shed there in time.
function Guard:restore(spare_kw, left, now, why)
  for i = #self.loads, 1, -1 do
    local load = self.loads[i]
    if load.shed then
      if spare_kw < load.kw + self.hysteresis or not may_switch(load, now)
        or load.min_on > left then
        return
      end
      if not self:set(load, true, now, why) then return end
      spare_kw = spare_kw - load.kw
    end
  end
end

local function fmt(v) return string.format("%.3f", v) end

-- Hours left in the period. The report's own clock (the meter's) says it where it gives
-- the headroom: (budget - energy) over the time left. Else the guard's clock, kept
-- inside the period: a meter clock a few minutes off must not make the end look near.
local function hours_left(report, start, stop, now)
  local energy, headroom, budget = report.capacity_energy, report.capacity_headroom,
    report.capacity_budget
  if finite(energy) and finite(headroom) and headroom ~= 0 and finite(budget) then
    local left = (budget - energy) / headroom
    if left > 0 and left <= (stop - start) / 3600 then return left end
  end
  return math.min(math.max(stop - now, 1), stop - start) / 3600
end

-- update(report) -> the guard's fields (see fields()). A report without a period or a
-- forecast changes nothing: the loads stay as they are until the timeout.
function Guard:update(report)
  if type(report) ~= "table" then error("han.guard: update expects a capacity report", 2) end
  local now = self.clock()
  local start, stop = report.capacity_period_start, report.capacity_period_end
  local forecast, budget = report[self.forecast], report.capacity_budget
  if not (finite(start) and finite(stop) and stop > start and finite(forecast))
    or (budget ~= nil and not finite(budget)) then
    return self:step()
  end
  self.seen, self.report = now, { start = start, stop = stop, forecast = forecast,
    budget = budget }
  -- A new period decides at once, settle or not: its budget is fresh. Its loads come
  -- back as its room allows, not all at once: a load with a min_on would be held on in
  -- a period without room for it, and one shed all evening would flap at every start.
  local fresh = self.period ~= start
  self.period = start
  if budget == nil then
    self:release(now, "no limit in this period")
    return self:fields()
  end
  local left = hours_left(report, start, stop, now)
  local spare = budget - self.margin - forecast
  if not fresh and now - self.last_switch < self.settle then return self:fields() end
  if spare < 0 then
    self:shed(-spare / left, now, "forecast " .. fmt(forecast) .. " kWh over budget "
      .. fmt(budget) .. " kWh - margin " .. fmt(self.margin))
  else
    self:restore(spare / left, left * 3600, now, (fresh and "a new period, " or "")
      .. "spare " .. fmt(spare / left) .. " kW for the rest of the period")
  end
  return self:fields()
end

-- step() -> the guard's fields: call it between reports; after `timeout` seconds
-- without a usable one every load comes back (each once its min_off allows).
function Guard:step()
  local now = self.clock()
  if self.seen and now - self.seen > self.timeout then
    self:release(now, "no readings for " .. self.timeout .. " s")
  end
  return self:fields()
end

-- close(): every shed load back on now, min_off or not: the guard lets go.
function Guard:close()
  self:release(self.clock(), "the guard closed", true)
  return self:fields()
end

-- fields() -> guard_shed (how many loads are shed) and guard_shed_<name> (true while
-- that load is shed), for han.lm, han.mqtt and `han watch`.
function Guard:fields()
  local out, n = {}, 0
  for _, load in ipairs(self.loads) do
    out[load.field] = load.shed
    if load.shed then n = n + 1 end
  end
  out.guard_shed = n
  return out
end

-- state() -> what the guard knows and why each load is as it is: {period =, seen =,
-- report = {start, stop, forecast, budget}, loads = {{name, kw, shed, since, why}, ...}}.
function Guard:state()
  local loads = {}
  for i, l in ipairs(self.loads) do
    loads[i] = { name = l.name, kw = l.kw, shed = l.shed, since = l.since, why = l.why,
      failing = l.failing }
  end
  local r = self.report
  return { period = self.period, seen = self.seen, loads = loads,
    report = r and { start = r.start, stop = r.stop, forecast = r.forecast, budget = r.budget } }
end

return M
