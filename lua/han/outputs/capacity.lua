-- han.capacity: the month's capacity-tariff peaks from a stream of readings.
-- The consumption of the running period (hour, or quarter-hour in Belgium) is estimated
-- from power between readings and replaced by the exact register difference when the
-- hourly registers close it. Closed periods feed the month's peaks under a rule; month,
-- day and weekday are those of the period's start in local time (Europe/Oslo default).
local time = require("han.time")

local floor = math.floor

local M = {}

-- The rules, as data. count: how many periods make the mean; distinct_days: at most one
-- period per local day counts (Norway); period: seconds.
M.rules = {
  norway = { period = 3600, count = 3, distinct_days = true },
  sweden = { period = 3600, count = 1 },
  belgium = { period = 900, count = 1 },
}

local MAX_COUNT = 31 * 24    -- a month of hours: the peaks list never grows beyond it
local BOUNDARY_WINDOW = 60   -- a register read this soon after the hour is the hour's value
local SETTLE = 120           -- how long a closed hour waits for its registers
local MAX_GAP = 120          -- no estimate across a longer silence (seconds)
local MAX_HOUR_KWH = 1000    -- a larger register step is a meter swap, not consumption
local MAX_KW = 1e6           -- 1 GW is no HAN meter's: a bad value (and sums stay finite)
local MAX_TIME = 253402300800   -- year 10000 (UTC): calendar fields stay integers
local STATE_VERSION = 1
local MAX_STATE_BYTES = 1024 * 1024   -- a state is a few KiB: a larger file is not one

local function in_range(v, low, high)
  return type(v) == "number" and v >= low and v < high   -- false for NaN
end

-- JSON for the state file: cjson on desktops, LogicMachine's json elsewhere.
local function json_codec()
  local ok, cjson = pcall(require, "cjson.safe")
  if ok then return cjson end
  ok, cjson = pcall(require, "json")
  if ok then return cjson end
  return nil
end

---------------------------------------------------------------------------------------
-- State stores: load() -> table | nil, why; save(t) -> true | nil, err.

-- A process as /proc/<pid>/stat shows it (Linux): pid, state letter, start time in
-- clock ticks since boot (a pid used again has another), or nil.
local function process(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "rb")
  if not f then return nil end
  local line = f:read("*l")
  f:close()
  -- "pid (name) state ppid ...": the name may hold spaces and parentheses.
  local id, rest = (line or ""):match("^(%d+) %(.*%) (.*)$")
  if not id then return nil end
  local fields = {}
  for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
  if not fields[20] then return nil end
  return { pid = id, state = fields[1], start = fields[20] }    -- fields 3 and 22
end

-- This process, for temp names and the lock. Pure Lua has no getpid(): without /proc
-- the id is made of the time and an address, and the lock cannot be checked.
local me
local function whoami()
  if not me then
    me = process("self")
      or { id = os.time() .. "-" .. tostring({}):gsub("%W", ""):sub(-12) }
    me.id = me.id or me.pid .. "-" .. me.start
  end
  return me
end

local temps = 0

-- Replace the file at `path` by `text`: written to a temp file of its own (two writers
-- never share one), then renamed over it, so a reader sees the old file or the new one.
-- A full disk shows at any step (buffered data fails at flush or close): the old file
-- stays unless every step worked. Pure Lua cannot fsync before the rename.
local function replace(path, text)
  temps = temps + 1
  local tmp = path .. ".tmp." .. whoami().id .. "." .. temps
  local f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  if ok then ok, werr = f:flush() end
  local closed, cerr = f:close()
  if ok and not closed then ok, werr = nil, cerr end
  if not ok then os.remove(tmp); return nil, werr end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then os.remove(tmp); return nil, rerr end
  return true
end
-- LuaJIT 2.1's compiled f:flush() reported 299 of 300 failed flushes on a full disk as
-- success, and an empty file replaced the state: this function stays interpreted.
local jit = rawget(_G, "jit")
if jit then jit.off(replace) end

-- One writer per state file: <path>.lock names it by pid and start time, and every
-- save checks it. The lock of another live process refuses the save; a missing lock,
-- or one of a process that is gone, is taken over. A file cannot be created
-- exclusively in pure Lua, so two writers starting together may both take the lock:
-- the one whose lock was replaced finds out at its next save.
local function claim(lock, path)
  local who = whoami()
  if not who.pid then return true end
  local f = io.open(lock, "rb")
  if f then
    local holder = f:read(64) or ""
    f:close()
    local pid, start = holder:match("^(%d+) (%d+)")
    if pid == who.pid and start == who.start then return true end
    local other = pid and process(pid)
    if other and other.start == start and not other.state:find("[ZX]") then
      return nil, path .. " is in use by process " .. pid .. " (one writer per state file)"
    end
  end
  return replace(lock, who.pid .. " " .. who.start .. "\n")
end

-- A JSON file, replaced atomically, with one writer (see claim).
function M.file_store(path)
  local codec = json_codec()
  if not codec then error("han.capacity: a state file needs lua-cjson (or json)", 2) end
  local store = { path = path }
  function store.load()
    local f = io.open(path, "rb")
    if not f then return nil, "no state file " .. path end
    -- The size before reading: a state is a few KiB, and decoding a 58 MB file took
    -- seconds and hundreds of MB.
    local size = f:seek("end")
    if not size or size > MAX_STATE_BYTES then
      f:close()
      return nil, "state file " .. path .. " is too large (" .. tostring(size)
        .. " bytes, at most " .. MAX_STATE_BYTES .. ")"
    end
    f:seek("set")
    local text = f:read("*a")
    f:close()
    local ok, t = pcall(codec.decode, text)
    if not ok or type(t) ~= "table" then return nil, "corrupt state file " .. path end
    return t
  end
  function store.save(t)
    local text, eerr = codec.encode(t)
    if type(text) ~= "string" then return nil, "cannot encode the state: " .. tostring(eerr) end
    local mine, why = claim(path .. ".lock", path)
    if not mine then return nil, why end
    return replace(path, text)
  end
  return store
end

-- LogicMachine's storage (key-value, survives reboots).
function M.storage_store(storage, key)
  return {
    load = function()
      local t = storage.get(key)
      if type(t) ~= "table" then return nil, "no stored state under '" .. key .. "'" end
      return t
    end,
    save = function(t)
      local ok, err = storage.set(key, t)
      if ok == false or (ok == nil and err) then return nil, err or "storage.set failed" end
      return true
    end,
  }
end

---------------------------------------------------------------------------------------

local Capacity = {}
Capacity.__index = Capacity

local function default_log(msg)
  if type(_G.log) == "function" then _G.log(msg) else io.stderr:write(msg, "\n") end
end

local function fresh_state(rule_name)
  return { version = STATE_VERSION, rule = rule_name, peaks = {} }
end

-- new(opts): opts.rule ("norway" | "sweden" | "belgium" | a rule table), opts.count,
-- opts.weekdays (Monday–Friday only), opts.hours = {from, to} (the local hours that
-- count, e.g. {7, 21}: 07:00 to 20:59), opts.tiers (ascending kW thresholds), opts.zone,
-- opts.state (file path) | opts.storage (LM storage, key opts.key) | opts.store,
-- opts.log (function(message)), opts.clock (for readings without meter time).
function M.new(opts)
  opts = opts or {}
  local rule_name = opts.rule or "norway"
  local rule = type(rule_name) == "table" and rule_name or M.rules[rule_name]
  if not rule then
    error("han.capacity: unknown rule '" .. tostring(rule_name) .. "' (norway, sweden, belgium)", 2)
  end
  if type(rule_name) == "table" then rule_name = rule.name or "custom" end
  local count = opts.count or rule.count
  if type(count) ~= "number" or count < 1 or count > MAX_COUNT then
    error("han.capacity: count must be 1.." .. MAX_COUNT, 2)
  end
  local tiers = opts.tiers or {}
  for i = 2, #tiers do
    if tiers[i] <= tiers[i - 1] then error("han.capacity: tiers must ascend", 2) end
  end
  local self = setmetatable({
    rule_name = rule_name,
    period = rule.period,
    hourly = rule.period == 3600,
    count = floor(count),
    distinct_days = rule.distinct_days and true or false,
    weekdays = opts.weekdays, hours = opts.hours,
    tiers = tiers,
    zone = time.zone(opts.zone),
    log = opts.log or default_log,
    clock = opts.clock or os.time,
    store = opts.store,
    refused = {},           -- fields whose bad values were logged
  }, Capacity)
  if not self.store and opts.state then self.store = M.file_store(opts.state) end
  if not self.store and opts.storage then
    self.store = M.storage_store(opts.storage, opts.key or "han_capacity")
  end
  self:load()
  return self
end

function Capacity:load()
  self.state = fresh_state(self.rule_name)
  if not self.store then return end
  local t, why = self.store.load()
  if t == nil then
    self.log("han.capacity: " .. why .. "; starting with no peaks")
  elseif type(t) ~= "table" or t.version ~= STATE_VERSION or t.rule ~= self.rule_name
    or type(t.peaks) ~= "table" then
    self.log("han.capacity: stored state is corrupt or for another rule; starting fresh")
  else
    self:restore(t)
  end
end

function Capacity:save()
  if not self.store then return end
  local ok, err = self.store.save(self.state)
  if not ok and not self.save_failing then   -- say it once, not every period
    self.log("han.capacity: cannot save state: " .. tostring(err)
      .. "; peaks will not survive a restart")
  end
  self.save_failing = not ok
end

-- Local calendar of an epoch: "YYYY-MM", "YYYY-MM-DD", hour, weekday (1 = Monday).
function Capacity:calendar(epoch)
  local y, m, d, h, _, _, wday = time.to_local(epoch, self.zone)
  return string.format("%04d-%02d", y, m), string.format("%04d-%02d-%02d", y, m, d), h, wday
end

function Capacity:counts(start)
  local _, _, h, wday = self:calendar(start)
  if self.weekdays and wday > 5 then return false end
  local hours = self.hours
  if hours and not (h >= hours[1] and h < hours[2]) then return false end
  return true
end

-- Insert a period's mean power into a peaks list (kept descending, `count` long).
local function insert_peak(peaks, entry, count, distinct_days)
  if distinct_days then
    for i, p in ipairs(peaks) do
      if p.day == entry.day then
        if entry.value <= p.value then return end
        table.remove(peaks, i)
        break
      end
    end
  end
  local pos = #peaks + 1
  for i, p in ipairs(peaks) do
    if entry.value > p.value then pos = i; break end
  end
  if pos > count then return end
  table.insert(peaks, pos, entry)
  peaks[count + 1] = nil
end

local MONTH, DAY = "^%d%d%d%d%-%d%d$", "^%d%d%d%d%-%d%d%-%d%d$"

-- Take a stored state over field by field, nothing unchecked: its peaks are ranked
-- again and cut to `count` (which may have been lowered since, or the file edited by
-- hand), and a running period that does not add up is left out.
function Capacity:restore(t)
  local st = self.state
  if type(t.month) == "string" and t.month:find(MONTH) then st.month = t.month end
  local corrupt = 0
  for _, p in pairs(t.peaks) do
    if type(p) == "table" and in_range(p.start, 0, MAX_TIME) and in_range(p.value, 0, MAX_KW)
      and type(p.day) == "string" and p.day:find(DAY) then
      insert_peak(st.peaks, { start = p.start, day = p.day, value = p.value }, self.count,
        self.distinct_days)
    else
      corrupt = corrupt + 1
    end
  end
  if corrupt > 0 then
    self.log("han.capacity: dropped " .. corrupt .. " corrupt peak(s) of the stored state")
  end
  local prev = t.previous
  if type(prev) == "table" and type(prev.month) == "string" and prev.month:find(MONTH) then
    st.previous = { month = prev.month, mean = in_range(prev.mean, 0, MAX_KW) and prev.mean or nil }
  end
  if in_range(t.period, 0, MAX_TIME) and in_range(t.energy, 0, MAX_KW) then
    st.period, st.energy = t.period, t.energy
    if in_range(t.last_t, 0, MAX_TIME) then
      st.last_t = t.last_t
      if in_range(t.last_p, 0, MAX_KW) then st.last_p = t.last_p end
    end
    local pend = t.pending
    if type(pend) == "table" and in_range(pend.start, 0, MAX_TIME)
      and in_range(pend.energy, 0, MAX_KW) then
      st.pending = { start = pend.start, energy = pend.energy }
    end
  end
  local reg = t.register
  if type(reg) == "table" and in_range(reg.at, 0, MAX_TIME)
    and in_range(reg.value, 0, math.huge)
    and (reg.meter == nil or type(reg.meter) == "string" or type(reg.meter) == "number") then
    st.register = { at = reg.at, value = reg.value, meter = reg.meter }
  end
end

local function mean(peaks)
  local n = #peaks
  if n == 0 then return nil end
  local sum = 0
  for i = 1, n do sum = sum + peaks[i].value end
  return sum / n
end

-- Book a closed period: energy in kWh over self.period seconds starting at `start`.
function Capacity:commit(start, energy)
  local st = self.state
  local month, day = self:calendar(start)
  if st.month ~= month then
    if st.month then st.previous = { month = st.month, mean = mean(st.peaks) } end
    st.month, st.peaks = month, {}
  end
  if not self:counts(start) then return end
  local value = energy * 3600 / self.period
  insert_peak(st.peaks, { start = start, day = day, value = value }, self.count,
    self.distinct_days)
end

-- Close the running period: hourly rules wait for the registers, others book at once.
function Capacity:close_period()
  local st = self.state
  if st.pending then self:commit(st.pending.start, st.pending.energy) end
  st.pending = nil
  if self.hourly then
    st.pending = { start = st.period, energy = st.energy }
  else
    self:commit(st.period, st.energy)
  end
end

-- Advance the clock to t, adding the power held since the last reading.
function Capacity:advance(t, kw)
  local st = self.state
  local period = self.period
  local start = t - t % period
  if st.last_t and (t < st.last_t or t - st.last_t > MAX_GAP) then
    st.last_t, st.last_p = nil, nil      -- clock jumped or data gap: no estimate across it
  end
  if st.period == nil or start < st.period then
    st.period, st.energy, st.pending = start, 0, nil
  end
  local changed = false
  while st.period < start do
    if st.last_t and st.last_p then
      local stop = st.period + period
      st.energy = st.energy + st.last_p * (stop - st.last_t) / 3600
      st.last_t = stop
    end
    self:close_period()
    st.period, st.energy = st.period + period, 0
    if st.period < start - period then           -- a long silence: skip empty periods
      st.period = start
    end
    changed = true
  end
  if st.last_t and st.last_p then
    st.energy = st.energy + st.last_p * (t - st.last_t) / 3600
  end
  st.last_t, st.last_p = t, kw
  if st.pending and t >= st.pending.start + 3600 + SETTLE then
    self:commit(st.pending.start, st.pending.energy)
    st.pending = nil
    changed = true
  end
  return changed
end

-- Registers read just after an hour boundary: the exact energy of the hour before.
function Capacity:registers(t, kwh, meter_id)
  local st = self.state
  local boundary = t - t % 3600
  if t - boundary > BOUNDARY_WINDOW then return false end
  local reg = st.register
  if reg and reg.at == boundary and reg.meter == meter_id then return false end
  local hour = boundary - 3600
  if reg and reg.at == hour and reg.meter == meter_id and self.hourly then
    local used = kwh - reg.value
    if used >= 0 and used < MAX_HOUR_KWH and st.pending and st.pending.start == hour then
      self:commit(hour, used)
      st.pending = nil
    end
  end
  st.register = { at = boundary, value = kwh, meter = meter_id }
  return true
end

-- push(reading) -> the report (see report()); readings without import power or
-- registers only move the clock. A reading with a non-finite, negative or absurd time,
-- power or register is refused whole, so the state never holds such a value.
function Capacity:push(r)
  if type(r) ~= "table" then error("han.capacity: push expects a reading table", 2) end
  local t = r.meter_time or self.clock()
  local kw = type(r.power_import) == "number" and r.power_import / 1000 or nil
  local kwh = type(r.energy_import) == "number" and r.energy_import or nil
  local bad = (not in_range(t, 0, MAX_TIME) and "meter_time")
    or (kw and not in_range(kw, 0, MAX_KW) and "power_import")
    or (kwh and not in_range(kwh, 0, math.huge) and "energy_import")
  if bad then
    if not self.refused[bad] then   -- once per field: a meter may repeat it every reading
      self.refused[bad] = true
      self.log("han.capacity: refused a reading with " .. bad .. " = " .. tostring(r[bad])
        .. " (not a finite value in range); said once")
    end
    return self:report()
  end
  local changed = self:advance(t, kw)
  if kwh and self:registers(t, kwh, r.meter_id) then changed = true end
  if changed then self:save() end
  return self:report()
end

local function tier_of(tiers, value)
  if value == nil then return nil, nil end
  local tier = 1
  while tiers[tier] and value >= tiers[tier] do tier = tier + 1 end
  return tier, tiers[tier]
end

-- The named fields LM and MQTT outputs publish (kW, kWh; nil when not known yet):
-- capacity_energy (kWh so far this period), capacity_projected (mean kW this period will
-- reach at the present power), capacity_peak_1..n, capacity_mean, capacity_projected_mean
-- (the mean if this period ended at its projection), capacity_tier and
-- capacity_tier_limit (1-based tier of the mean and the threshold above it),
-- capacity_projected_tier, capacity_month, capacity_previous_mean.
function Capacity:report()
  local st = self.state
  local out = { capacity_month = st.month, capacity_energy = st.energy }
  if st.previous then out.capacity_previous_mean = st.previous.mean end
  for i, p in ipairs(st.peaks) do out["capacity_peak_" .. i] = p.value end
  out.capacity_mean = mean(st.peaks)
  out.capacity_tier, out.capacity_tier_limit = tier_of(self.tiers, out.capacity_mean)
  if st.period and st.last_t then
    local left = st.period + self.period - st.last_t
    local energy = st.energy + (st.last_p or 0) * left / 3600
    out.capacity_projected = energy * 3600 / self.period
    local month, day = self:calendar(st.period)
    local peaks = {}
    if month == st.month then
      for i, p in ipairs(st.peaks) do peaks[i] = p end
    end
    if self:counts(st.period) then
      insert_peak(peaks, { start = st.period, day = day, value = out.capacity_projected },
        self.count, self.distinct_days)
    end
    out.capacity_projected_mean = mean(peaks)
    out.capacity_projected_tier = tier_of(self.tiers, out.capacity_projected_mean)
  end
  return out
end

return M
