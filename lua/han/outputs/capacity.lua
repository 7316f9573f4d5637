-- han.capacity: the month's capacity-tariff figure from a stream of readings, billed
-- the way the grid operator bills it. Energy per period (clock hour, or quarter hour in
-- Flanders) comes from the import register: the register difference between two
-- readings is shared over the periods between them, along the power the readings
-- showed (see share()). Closed periods feed each charge's peaks under the operator's
-- rule; month, day, weekday and hour are those of the period's start in local time.
local time = require("han.time")
local tariffs = require("han.outputs.tariffs")
local store = require("han.outputs.store")

local floor, max, min = math.floor, math.max, math.min

local M = {}

-- The operators' rules as data, and the state stores: each in a file of its own.
M.rules, M.aliases, M.holiday = tariffs.rules, tariffs.aliases, tariffs.holiday
M.file_store, M.storage_store = store.file_store, store.storage_store

local MAX_COUNT = 31 * 24 * 4  -- a month of quarters: the peaks list never grows beyond it
local BOUNDARY_WINDOW = 60   -- a lone register read this soon after the hour is the hour's
local SETTLE = 120           -- how long a closed period waits for registers it has none of
local HOLD = 3 * 3600 + 300  -- ... and one of a stream with registers (two lists lost)
local MAX_GAP = 120          -- power held longer than this is not an estimate (seconds)
local MAX_FILL = 86400       -- a register span shares energy over at most a day of periods
local MAX_AHEAD = 40 * 86400 -- a reading further ahead of the last is checked by the next
local MIN_TIME = 1420070400  -- 2015-01-01: an earlier meter time is a clock not set
local MAX_HOUR_KWH = 1000    -- a larger register step per hour is a meter swap
local MAX_KW = 1e6           -- 1 GW is no HAN meter's: a bad value (and sums stay finite)
local MAX_TIME = 253402300800   -- year 10000 (UTC): calendar fields stay integers
local STATE_VERSION = 1

local function in_range(v, low, high)
  return type(v) == "number" and v >= low and v < high   -- false for NaN
end

---------------------------------------------------------------------------------------

local Capacity = {}
Capacity.__index = Capacity

local function default_log(msg)
  if type(_G.log) == "function" then _G.log(msg) else io.stderr:write(msg, "\n") end
end

local function fresh_state(rule_name)
  return { version = STATE_VERSION, rule = rule_name, peaks = {}, open = {} }
end

local function set_of(list)
  local t = {}
  for _, v in ipairs(list or {}) do t[v] = true end
  return t
end

-- new(opts): opts.rule (a name of M.rules or a rule table), opts.count (the first
-- charge's), opts.weekdays (Monday–Friday only) and opts.hours = {from, to} (narrow the
-- first charge), opts.tiers (ascending kW thresholds), opts.target (kW), opts.zone,
-- opts.state (file path) | opts.storage (LM storage, key opts.key) | opts.store,
-- opts.log (function(message)), opts.clock (for readings without meter time).
function M.new(opts)
  opts = opts or {}
  local rule_name = opts.rule or "norway"
  local rule = type(rule_name) == "table" and rule_name or M.rules[rule_name]
  if not rule then
    error("han.capacity: unknown rule '" .. tostring(rule_name) .. "'", 2)
  end
  if type(rule_name) == "table" then rule_name = rule.name or "custom" end
  local charges = {}
  for i, c in ipairs(rule.charges) do
    local ch = {
      count = c.count, distinct_days = c.distinct_days and true or false,
      hours = c.hours, skip = c.skip or {}, season = c.season and set_of(c.season),
      night = c.night, key = i == 1 and "peaks" or "peaks_" .. c.name,
      prefix = i == 1 and "capacity_" or "capacity_" .. c.name .. "_",
    }
    if i == 1 then
      ch.count = opts.count or ch.count
      ch.hours = opts.hours or ch.hours
      if opts.weekdays then ch.skip = tariffs.WEEKEND end
    end
    if type(ch.count) ~= "number" or ch.count < 1 or ch.count > MAX_COUNT then
      error("han.capacity: count must be 1.." .. MAX_COUNT, 2)
    end
    ch.count = floor(ch.count)
    charges[i] = ch
  end
  local tiers = opts.tiers or {}
  for i = 2, #tiers do
    if tiers[i] <= tiers[i - 1] then error("han.capacity: tiers must ascend", 2) end
  end
  if opts.target ~= nil and not in_range(opts.target, 0, MAX_KW) then
    error("han.capacity: target must be a kW value", 2)
  end
  local self = setmetatable({
    rule_name = rule_name,
    period = rule.period,
    charges = charges,
    floor = rule.floor,
    months = rule.months,
    tiers = tiers, target = opts.target,
    zone = time.zone(opts.zone or rule.zone),
    log = opts.log or default_log,
    clock = opts.clock or os.time,
    store = opts.store,
    said = {},             -- what was logged once
    memo = {}, memo_n = 0,
  }, Capacity)
  if not self.store and opts.state then self.store = M.file_store(opts.state) end
  if not self.store and opts.storage then
    self.store = M.storage_store(opts.storage, opts.key or "han_capacity")
  end
  self:load()
  return self
end

-- Log a message once per key: a meter may repeat the same fault every second.
function Capacity:once(key, msg)
  if self.said[key] then return end
  self.said[key] = true
  self.log("han.capacity: " .. msg .. "; said once")
end

function Capacity:load()
  self.state = fresh_state(self.rule_name)
  for _, ch in ipairs(self.charges) do self.state[ch.key] = {} end
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

-- Local calendar of an epoch: "YYYY-MM", "YYYY-MM-DD", hour, weekday (1 = Monday),
-- year, month, day. Remembered for the few periods in flight (each report asks).
function Capacity:calendar(epoch)
  local memo = self.memo
  local c = memo[epoch]
  if not c then
    local y, m, d, h, _, _, wday = time.to_local(epoch, self.zone)
    c = { string.format("%04d-%02d", y, m), string.format("%04d-%02d-%02d", y, m, d), h,
      wday, y, m, d }
    if self.memo_n >= 64 then memo, self.memo_n = {}, 0; self.memo = memo end
    memo[epoch], self.memo_n = c, self.memo_n + 1
  end
  return c[1], c[2], c[3], c[4], c[5], c[6], c[7]
end

local function within(h, span)
  if span[1] <= span[2] then return h >= span[1] and h < span[2] end
  return h >= span[1] or h < span[2]     -- wraps midnight
end

-- The weight a period starting at `start` has under a charge: nil when it does not
-- count (outside the hours, days or season), else 1 or the night weight.
function Capacity:weight(ch, start)
  local _, _, h, wday, y, m, d = self:calendar(start)
  if ch.season and not ch.season[m] then return nil end
  if ch.hours and not within(h, ch.hours) then return nil end
  local skip = ch.skip
  if skip.weekend and wday > 5 then return nil end
  if skip.holiday or skip.eve then
    local kind = M.holiday(y, m, d)
    if kind and skip[kind] then return nil end
  end
  if ch.night and within(h, ch.night) then return ch.night[3] end
  return 1
end

-- Insert a period's value into a peaks list (kept descending, `count` long).
local function insert_peak(peaks, entry, count, distinct_days)
  if distinct_days then
    for i, p in ipairs(peaks) do
      if p.day == entry.day then
        if entry.value <= p.value then return false end
        table.remove(peaks, i)
        break
      end
    end
  end
  local pos = #peaks + 1
  for i, p in ipairs(peaks) do
    if entry.value > p.value then pos = i; break end
  end
  if pos > count then return false end
  table.insert(peaks, pos, entry)
  peaks[count + 1] = nil
  return true
end

local MONTH, DAY = "^%d%d%d%d%-%d%d$", "^%d%d%d%d%-%d%d%-%d%d$"

-- A stored peaks list, each entry checked, ranked again and cut to the charge's count
-- (which may have been lowered since, or the file edited by hand). Returns the list
-- and how many entries were corrupt.
local function checked_peaks(list, ch)
  local out, corrupt = {}, 0
  for _, p in pairs(type(list) == "table" and list or {}) do
    if type(p) == "table" and in_range(p.start, 0, MAX_TIME) and in_range(p.value, 0, MAX_KW)
      and type(p.day) == "string" and p.day:find(DAY) then
      insert_peak(out, { start = p.start, day = p.day, value = p.value,
        estimated = p.estimated == true or nil }, ch.count, ch.distinct_days)
    else
      corrupt = corrupt + 1
    end
  end
  return out, corrupt
end

-- Take a stored state over field by field, nothing unchecked; the running periods
-- are kept only when every number in them is in range.
function Capacity:restore(t)
  local st = self.state
  if type(t.month) == "string" and t.month:find(MONTH) then st.month = t.month end
  local corrupt = 0
  for _, ch in ipairs(self.charges) do
    local n
    st[ch.key], n = checked_peaks(t[ch.key], ch)
    corrupt = corrupt + n
  end
  if corrupt > 0 then
    self.log("han.capacity: dropped " .. corrupt .. " corrupt peak(s) of the stored state")
  end
  local prev = t.previous
  if type(prev) == "table" and type(prev.month) == "string" and prev.month:find(MONTH) then
    st.previous = { month = prev.month, mean = in_range(prev.mean, 0, MAX_KW) and prev.mean or nil }
  end
  if type(t.history) == "table" then
    st.history = {}
    for _, h in ipairs(t.history) do
      if type(h) == "table" and type(h.month) == "string" and h.month:find(MONTH)
        and in_range(h.value, 0, MAX_KW) then
        st.history[#st.history + 1] = { month = h.month, value = h.value }
      end
    end
  end
  if in_range(t.seen, MIN_TIME, MAX_TIME) then st.seen = t.seen end
  local open, good = {}, type(t.open) == "table"
  for i, r in ipairs(good and t.open or {}) do
    good = good and type(r) == "table" and in_range(r.start, 0, MAX_TIME)
      and r.start % self.period == 0 and in_range(r.e, 0, MAX_KW)
      and in_range(r.pe, 0, MAX_KW) and in_range(r.c, 0, self.period + 1)
      and in_range(r.cov, 0, self.period + 1) and (i == 1 or r.start > open[i - 1].start)
    if good then
      open[i] = { start = r.start, e = r.e, pe = r.pe, c = r.c, cov = r.cov,
        cut = r.cut == true or nil, booked = r.booked == true or nil }
    end
  end
  if good then st.open = open end
  local reg = t.register
  if type(reg) == "table" and in_range(reg.at, 0, MAX_TIME)
    and in_range(reg.value, 0, math.huge)
    and (reg.meter == nil or type(reg.meter) == "string" or type(reg.meter) == "number") then
    st.register = { at = reg.at, value = reg.value, meter = reg.meter }
  end
end

local function sum(peaks, n)
  local s = 0
  for i = 1, n or #peaks do s = s + peaks[i].value end
  return s
end

local function mean(peaks)
  if #peaks == 0 then return nil end
  return sum(peaks) / #peaks
end

-- The month's figure of a peaks list: their mean, at least the rule's floor.
function Capacity:figure(peaks)
  local m = mean(peaks)
  if m and self.floor then return max(m, self.floor) end
  return m
end

-- Keep a finished month's figure for a billing basis of several months.
function Capacity:remember(month, value)
  if not self.months or value == nil then return end
  local hist = self.state.history or {}
  for i = #hist, 1, -1 do
    if hist[i].month >= month then table.remove(hist, i) end
  end
  hist[#hist + 1] = { month = month, value = value }
  table.sort(hist, function(a, b) return a.month < b.month end)
  while #hist > self.months - 1 do table.remove(hist, 1) end
  self.state.history = hist
end

-- Book a closed period: energy in kWh over self.period seconds starting at `start`.
-- A period of a month before the running one is not booked: a peak never moves back.
function Capacity:commit(start, energy, estimated)
  local st = self.state
  local month, day = self:calendar(start)
  if st.month and month < st.month then return end
  if st.month ~= month then
    if st.month then
      local fig = self:figure(st.peaks)
      st.previous = { month = st.month, mean = fig }
      self:remember(st.month, fig)
    end
    st.month = month
    for _, ch in ipairs(self.charges) do st[ch.key] = {} end
  end
  for _, ch in ipairs(self.charges) do
    local w = self:weight(ch, start)
    if w and insert_peak(st[ch.key], { start = start, day = day,
      value = energy * 3600 / self.period * w, estimated = estimated or nil },
      ch.count, ch.distinct_days) and estimated then
      self.log(string.format("han.capacity: a peak of %s from %02d:%02d was estimated "
        .. "(%.3f kWh): readings or registers missing", day, select(3, self:calendar(start)),
        floor(start % 3600 / 60), energy))
    end
  end
end

---------------------------------------------------------------------------------------
-- Periods in flight. st.open lists the periods not yet booked (and booked ones whose
-- power since the last register is still needed to share a register step), ascending:
-- { start, e = kWh booked from register steps, pe = kWh from power since the last
-- register, c = seconds of that power, cov = seconds of power in all, cut = a register
-- step crossed a boundary of the period over more than MAX_GAP, booked }.

-- The record of the period starting at `start`, or nil.
function Capacity:record_at(start)
  local open = self.state.open
  for i = #open, 1, -1 do
    if open[i].start <= start then return open[i].start == start and open[i] or nil end
  end
end

-- The record of the period starting at `start`, made (with those between) if new.
function Capacity:record(start)
  local open = self.state.open
  local last = open[#open]
  if last and last.start >= start then return self:record_at(start) end
  -- periods without readings are kept only for registers to fill
  local from = last and self.state.register and last.start + self.period or start
  from = max(from, start - MAX_FILL)
  for s = from, start, self.period do
    open[#open + 1] = { start = s, e = 0, pe = 0, c = 0, cov = 0 }
  end
  return open[#open]
end

-- Power held from t0 to t1 (kW), split over the periods it spans.
function Capacity:hold(t0, t1, kw)
  local p = self.period
  local t = t0
  while t < t1 do
    local stop = min(t1, t - t % p + p)
    local rec = self:record(t - t % p)
    if rec then
      rec.pe = rec.pe + kw * (stop - t) / 3600
      rec.c, rec.cov = rec.c + (stop - t), rec.cov + (stop - t)
    end
    t = stop
  end
end

-- Share a register step over the periods between two register reads at a and b:
-- each period gets the power energy seen in it, and what the step holds beyond all
-- power seen goes to the seconds without readings, in proportion; without such
-- seconds (or when power saw more than the step), the power energies are scaled to
-- the step. `step` nil (no register step: the first register read, or a restart of
-- the registers) books the power energy alone. A booked period's share is dropped,
-- never moved to another period.
local function inside(x, a, b) return x > a and x < b end

function Capacity:share(a, b, step)
  local p = self.period
  local parts, pe_all, c_all = {}, 0, 0
  for _, r in ipairs(self.state.open) do
    local lo, hi = max(r.start, a or r.start), min(r.start + p, b)
    if hi > lo then
      -- the power seen in [lo, hi]: the whole of it unless b cuts the period
      local c = r.c
      if r.start + p > b and c > 0 then c = min(c, hi - lo) end
      local pe = r.c > 0 and r.pe * c / r.c or 0
      parts[#parts + 1] = { r = r, pe = pe, c = c, u = max(0, hi - lo - c) }
      pe_all, c_all = pe_all + pe, c_all + c
    end
  end
  local uncovered = (a and b - a or 0) - c_all
  if not a then
    uncovered = 0
    for _, x in ipairs(parts) do uncovered = uncovered + x.u end
  end
  local rest = step and step - pe_all
  for _, x in ipairs(parts) do
    local r, e = x.r, x.pe
    if step and uncovered > 0 and rest >= 0 then
      e = x.pe + rest * x.u / uncovered
    elseif step and pe_all > 0 then
      e = x.pe * step / pe_all
    elseif step and c_all > 0 then
      e = step * x.c / c_all
    end
    if not r.booked then r.e = r.e + e end
    r.pe, r.c = r.pe - x.pe, r.c - x.c
    if r.c <= 0 then r.pe, r.c = 0, 0 end
    -- a boundary of this period fell between two reads far apart (its split is
    -- guessed), or no step tells what the seconds without readings used
    if a and b - a > MAX_GAP and (inside(r.start, a, b) or inside(r.start + p, a, b))
      or not step and x.u > MAX_GAP then
      r.cut = true
    end
  end
end

-- Book the periods that are done: those a register read reaches the end of (estimated
-- when a boundary was guessed), and those past their wait (the energy they hold then;
-- estimated when more than MAX_GAP of the period had no power readings either). Drop
-- the booked periods no register step needs any more.
function Capacity:settle(t)
  local st, p = self.state, self.period
  local reg = st.register
  local open = st.open
  local wait = reg and HOLD or SETTLE
  local changed = false
  local running = t - t % p
  for _, r in ipairs(open) do
    if not r.booked and r.start < running then
      local ends = r.start + p
      if reg and reg.at >= ends then
        r.booked = true
        self:commit(r.start, r.e, r.cut)
        changed = true
      elseif t >= ends + wait then
        r.booked = true
        self:commit(r.start, r.e + r.pe, r.cut or p - r.cov > MAX_GAP)
        changed = true
      end
    end
  end
  while open[1] and open[1].booked and (not reg or open[1].c == 0
    or open[1].start < t - MAX_FILL or reg.at >= open[1].start + p) do
    table.remove(open, 1)
  end
  return changed
end

-- A register read: the import register `kwh` at time `at` (an hourly list's value is
-- that of its hour's end).
function Capacity:register(at, kwh, meter_id)
  local st = self.state
  local reg = st.register
  if reg and at <= reg.at then return false end      -- a list sent twice, or late
  if reg and (reg.meter ~= meter_id or kwh < reg.value
    or kwh - reg.value > MAX_HOUR_KWH * max(1, (at - reg.at) / 3600)) then
    self:once("restart", "the import register went back or jumped, or the meter id "
      .. "changed (a meter restarted or swapped): the periods across it keep what "
      .. "power showed")
    self:share(reg.at, at, nil)
  else
    self:share(reg and reg.at, at, reg and kwh - reg.value)
  end
  st.register = { at = at, value = kwh, meter = meter_id }
  return true
end

-- The time of a reading, or nil (logged once) when it cannot be the meter's present:
-- a clock not set, a reading older than the last one (sent again, or late), or one far
-- ahead that the next reading does not confirm. In the repeated hour of October a
-- meter that never flags summer time gives the first hour's readings the second hour's
-- times: the order of readings tells them apart.
function Capacity:clock_of(r)
  local st = self.state
  local t = r.meter_time or self.clock()
  local tf = r.time_fields
  if type(tf) == "table" and type(tf.status) == "number" and tf.status >= 0x80 then
    self.flags_summer = true
  end
  if t < MIN_TIME then
    self:once("unset", "ignored readings stamped before 2015 (a clock not set)")
    return nil, "unset", 0
  end
  local seen = st.seen
  local shift = 0
  if seen and r.meter_time and not self.flags_summer and self.zone.dst then
    local _, stop = time.summer_span(time.civil(floor(t / 86400)), self.zone.dst)
    -- a list a little late still belongs to the first hour
    if t >= stop and t < stop + 3600 and t - 3600 >= seen - MAX_GAP then shift = -3600 end
  end
  t = t + shift
  if seen and t < seen then
    return nil, "old", shift
  end
  if seen and t > seen + MAX_AHEAD then
    local ahead = self.ahead
    if not (ahead and t >= ahead and t - ahead <= MAX_AHEAD) then
      self.ahead = t
      self:once("ahead", "ignored a reading more than 40 days ahead of the last one "
        .. "until the next reading confirms it")
      return nil, "ahead", 0
    end
  end
  self.ahead = nil
  return t, nil, shift
end

-- Where a register read belongs: an hourly list's value is that of its hour's end, and
-- so is a lone read in the first minute of an hour (a list stamped by the host's clock:
-- Aidon's without meter time). nil for an old reading that is no list.
function Capacity:register_time(r, t, shift)
  if type(r.hour) == "number" then return r.hour + 3600 + shift end
  if not t then return nil end
  local reg = self.state.register
  if self.period == 3600 and t % 3600 < BOUNDARY_WINDOW
    and not (reg and t - reg.at <= MAX_GAP) then
    return t - t % 3600
  end
  return t
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
    self:once("refused " .. bad, "refused a reading with " .. bad .. " = "
      .. tostring(r[bad]) .. " (not a finite value in range)")
    return self:report()
  end
  local why, shift
  t, why, shift = self:clock_of(r)
  local st = self.state
  local at = kwh and self:register_time(r, t, shift)
  if not t then
    -- an hourly list stamped on the hour comes after the first readings of the next
    if why == "old" and not (at and st.register and at > st.register.at) then
      self:once("old", "ignored readings older than the last one (sent again or late)")
    end
    if why == "old" and at and self:register(at, kwh, r.meter_id) then
      if self:settle(st.seen) then self:save() end
    end
    self:meter_peak(r)
    return self:report()
  end
  local first = st.seen == nil
  local made = #st.open
  -- power holds until the next reading with power (an hourly list has none)
  if st.last_p and t - self.power_at <= MAX_GAP then self:hold(st.seen, t, st.last_p) end
  self:record(t - t % self.period)
  st.seen = t
  if kw or not st.last_p then st.last_p, self.power_at = kw, t end
  if at then self:register(at, kwh, r.meter_id) end
  local changed = self:settle(t)
  if changed or first or #st.open ~= made then self:save() end
  self:meter_peak(r)
  return self:report()
end

-- Flanders: the meter's own figures from P1, its month's peak (1-0:1.6.0) and its
-- history of monthly peaks (0-0:98.1.0), which fills the billing basis for the months
-- before han saw any reading.
function Capacity:meter_peak(r)
  local obis = r.obis
  if not self.months or type(obis) ~= "table" then return end
  local now = obis["1-0:1.6.0"]
  if type(now) == "table" and in_range(now.value, 0, MAX_KW)
    and in_range(now.time, MIN_TIME, MAX_TIME) then
    self.meter = { value = now.value, time = now.time }
  end
  local st = self.state
  local list = obis["0-0:98.1.0"]
  if type(list) ~= "table" or not st.month then return end
  local known = {}
  for _, h in ipairs(st.history or {}) do known[h.month] = true end
  for _, h in ipairs(list) do
    if type(h) == "table" and in_range(h.time, MIN_TIME, MAX_TIME)
      and in_range(h.value, 0, MAX_KW) then
      local month = self:calendar(h.time)
      if month < st.month and not known[month] then
        known[month] = true
        self:remember(month, max(h.value, self.floor or 0))
      end
    end
  end
end

local function tier_of(tiers, value)
  if value == nil then return nil, nil end
  local tier = 1
  while tiers[tier] and value >= tiers[tier] do tier = tier + 1 end
  return tier, tiers[tier]
end

-- A charge's peaks as they stand at the period starting at `running`: the booked ones
-- of its month and the closed periods still waiting for registers, at what they hold.
function Capacity:view(ch, running)
  local st = self.state
  local month = self:calendar(running)
  local peaks = {}
  if st.month == month then
    for i, p in ipairs(st[ch.key]) do peaks[i] = p end
  end
  for _, r in ipairs(st.open) do
    local rmonth, day = self:calendar(r.start)
    local w = not r.booked and r.start < running and rmonth == month and self:weight(ch, r.start)
    if w then
      insert_peak(peaks, { start = r.start, day = day,
        value = (r.e + r.pe) * 3600 / self.period * w }, ch.count, ch.distinct_days)
    end
  end
  return peaks
end

-- kWh the period starting at `start` may use in all without lifting the charge's mean
-- above `target` (or at all, when it is above already); nil when the period does not
-- count. The period's value x enters the peaks (for distinct days, replacing its day's
-- highest d when above it): with B the other peaks, the mean stays at the limit L for
-- x = L (n + 1) - sum(B) while B holds fewer than `count`, else x = L count - sum(B)
-- + the lowest of B (x then replaces it); x never less than d.
function Capacity:budget(ch, peaks, start, target)
  local w = target and self:weight(ch, start)
  if not w then return nil end
  local _, day = self:calendar(start)
  local others, same = {}, 0
  for _, p in ipairs(peaks) do
    if ch.distinct_days and p.day == day then same = p.value else others[#others + 1] = p end
  end
  local n, limit = #others, max(target, mean(peaks) or 0)
  local x
  if n < ch.count then
    x = limit * (n + 1) - sum(others)
  else
    x = limit * ch.count - sum(others, ch.count) + others[ch.count].value
  end
  return max(same, x, 0) * self.period / 3600 / w
end

-- The named fields LM and MQTT outputs publish (kW, kWh, epochs; nil when not known):
-- the month: capacity_month, capacity_peak_1..n, capacity_mean (the month's figure),
-- capacity_estimated (how many of its peaks were estimated), capacity_tier and
-- capacity_tier_limit, capacity_previous_mean, capacity_high_mean and
-- capacity_high_peak_1 (a second charge), capacity_year_mean, capacity_meter_peak and
-- capacity_meter_peak_time (Flanders); the running period (see status()).
function Capacity:report(now)
  local st = self.state
  local out = { capacity_month = st.month }
  if st.previous then out.capacity_previous_mean = st.previous.mean end
  for _, ch in ipairs(self.charges) do
    for i, p in ipairs(st[ch.key]) do out[ch.prefix .. "peak_" .. i] = p.value end
    out[ch.prefix .. "mean"] = self:figure(st[ch.key])
  end
  local estimated = 0
  for _, p in ipairs(st.peaks) do
    if p.estimated then estimated = estimated + 1 end
  end
  out.capacity_estimated = st.month and estimated or nil
  out.capacity_tier, out.capacity_tier_limit = tier_of(self.tiers, out.capacity_mean)
  if self.months and out.capacity_mean then
    local total, n = out.capacity_mean, 1
    for _, h in ipairs(st.history or {}) do total, n = total + h.value, n + 1 end
    out.capacity_year_mean = total / n
  end
  self:cross_check(out)
  now = now or st.seen
  if now then self:running(out, now) end
  return out
end

-- The meter's own month peak beside han's; a difference beyond 0.1 kW and 2 % once the
-- meter's peak quarter is booked is logged once a month.
function Capacity:cross_check(out)
  local meter, st = self.meter, self.state
  if not meter then return end
  out.capacity_meter_peak, out.capacity_meter_peak_time = meter.value, meter.time
  local mine = out.capacity_peak_1
  if mine and st.seen and meter.time <= st.seen - self.period
    and self:calendar(meter.time) == st.month
    and math.abs(mine - meter.value) > max(0.1, 0.02 * meter.value) then
    self:once("meter " .. st.month, string.format("the meter's peak of %s is %.3f kW, "
      .. "han's %.3f kW", st.month, meter.value, mine))
  end
end

-- The running period at clock time `now` into `out`: capacity_period_start and _end
-- (epochs, end exclusive), capacity_energy (kWh so far), capacity_forecast (kWh at the
-- end at the present power), capacity_forecast_avg (at the mean power since the period
-- began), capacity_projected (the forecast as kW), capacity_projected_mean and _tier,
-- capacity_target (kW), capacity_budget (kWh the period may use in all),
-- capacity_headroom (kW that may still be drawn on average until its end).
function Capacity:running(out, now)
  local st, p = self.state, self.period
  local start = now - now % p
  local stop = start + p
  local energy = 0
  local rec = self:record_at(start)
  if rec then energy = rec.e + rec.pe end
  local power = st.last_p
  if power and now - self.power_at > MAX_GAP then power = nil end   -- readings stopped
  if power and now > st.seen then
    energy = energy + power * (now - max(st.seen, start)) / 3600
  end
  out.capacity_period_start, out.capacity_period_end = start, stop
  out.capacity_energy = energy
  if power then out.capacity_forecast = energy + power * (stop - now) / 3600 end
  if now > start then out.capacity_forecast_avg = energy * p / (now - start) end
  out.capacity_projected = (out.capacity_forecast or energy) * 3600 / p
  local ch = self.charges[1]
  local peaks = self:view(ch, start)
  local fig = self:figure(peaks)
  local target = self.target or select(2, tier_of(self.tiers, fig or 0))
  out.capacity_target = target
  local projected = {}
  for i, q in ipairs(peaks) do projected[i] = q end
  local w = self:weight(ch, start)
  if w then
    insert_peak(projected, { start = start, day = select(2, self:calendar(start)),
      value = out.capacity_projected * w }, ch.count, ch.distinct_days)
  end
  out.capacity_projected_mean = self:figure(projected)
  out.capacity_projected_tier = tier_of(self.tiers, out.capacity_projected_mean)
  local budget
  for i, c in ipairs(self.charges) do
    local b = self:budget(c, i == 1 and peaks or self:view(c, start), start, target)
    if b and (budget == nil or b < budget) then budget = b end
  end
  out.capacity_budget = budget
  if budget and now < stop then
    out.capacity_headroom = (budget - energy) * 3600 / (stop - now)
  end
end

-- status(now) -> the report at clock time `now` (default: the host's clock) without a
-- new reading: the power of the last reading held for up to two minutes.
function Capacity:status(now)
  now = now or self.clock()
  if not in_range(now, 0, MAX_TIME) then error("han.capacity: status expects an epoch", 2) end
  return self:report(now)
end

return M
