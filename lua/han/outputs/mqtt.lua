-- han.mqtt: readings to an MQTT broker, with Home Assistant discovery.
--   <prefix>/<meter_id>/state     one JSON object per meter: the latest value of every
--                                 field seen (lists carry different fields)
--   <prefix>/<meter_id>/<field>   one plain value per field (opts.per_field)
--   <prefix>/<meter_id>/hourly    the hourly registers, retained, QoS 1
--   <prefix>/<meter_id>/availability  "online" while readings come, "offline" after
--                                 stale_after seconds without one (retained)
--   <prefix>/bridge/<bridge_id>/status  "online" / "offline" of this bridge (retained;
--                                 the last will), one per bridge on a shared prefix
--   <discovery>/sensor/<meter_id>/<field>/config   retained discovery configs
--   (binary_sensor/ for true/false fields: han.guard's guard_shed_<load>,
--   pin_locked)
-- Drives the lua-mosquitto API: LogicMachine's `mosquitto`, else han's own binding
-- han.mosquitto. Nothing here blocks for long: call step() often (the reader's poll
-- gives it a second), and the bridge reconnects with back-off whenever the broker goes.
local json = require("han.outputs.json")
local fields = require("han.naming.fields")
local hourly = require("han.outputs.hourly")
local backend = require("han.backend")

local M = {}

local MAX_METERS = 8        -- a line that keeps changing meter id cannot grow memory
-- QoS 1 messages not yet acknowledged that the bridge lets out at once: libmosquitto
-- 2.0.11 corrupts its stream when its own in-flight window (20) overflows without a
-- network thread, so han never lets it fill.
local MAX_UNACKED = 10
local MAX_TOPIC = 65535      -- bytes: MQTT's limit
-- A reading's state is a few KiB: a larger message is a caller's mistake, refused here
-- before the client library (han.mosquitto raises past the protocol's 256 MiB).
local MAX_PAYLOAD = 1024 * 1024
-- Far longer than any real prefix, and short enough to leave the meter id and field room.
local MAX_PREFIX = 1024

local catalogue = fields.fields
-- Who published a discovery config, as Home Assistant shows it.
local ORIGIN = { name = "han", sw_version = require("han")._VERSION:match("%S+$") }

local function topic_safe(s)
  return (tostring(s):gsub("[^%w_%-]", "_"))
end

local function finite(v)
  return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge
end

-- check_prefix(prefix) -> true | nil, why: a topic prefix han can publish under. MQTT
-- allows no wildcard (# +) in a published topic, libmosquitto no control character,
-- and a NUL would cut the topic short where it reaches C.
function M.check_prefix(prefix)
  if type(prefix) ~= "string" or prefix == "" then return nil, "it must not be empty" end
  if prefix:find("[#+]") then return nil, "the wildcards # and + are for subscribing" end
  if prefix:find("%c") then return nil, "no control characters (NUL, newline, ...)" end
  if #prefix > MAX_PREFIX then return nil, "at most " .. MAX_PREFIX .. " bytes" end
  return true
end

-- The secret from a file (first line) or an environment variable, never an argument.
function M.read_secret(path, env_name)
  if path then
    local f, err = io.open(path, "rb")
    if not f then return nil, "cannot read password file: " .. err end
    local line = f:read("*l") or ""
    f:close()
    return (line:gsub("%s+$", ""))
  end
  local v = env_name and os.getenv(env_name)
  return v ~= "" and v or nil
end

-- LogicMachine's `mosquitto`, else han's binding; a binding that is there but does not
-- load is said as such, not as a missing library.
local function load_mosquitto()
  local m = backend.load("mosquitto")
  if m then return m end
  local own, why = backend.load("han.mosquitto")
  if own then return own end
  return nil, "no MQTT client library: " .. why .. " (make builds it, with libmosquitto-dev;"
    .. " or install lua-mosquitto)"
end

-- The bridge's name when none is given: stays the same across restarts of one host.
local function host_id()
  local f = io.open("/proc/sys/kernel/hostname")
  local host = f and f:read("*l")
  if f then f:close() end
  return "han-" .. (host or "bridge")
end

local Bridge = {}
Bridge.__index = Bridge

-- new(opts): host, port (1883), keepalive (60), client_id (also the bridge's name in its
-- status topic; default han-<hostname>), user, password | password_file |
-- $HAN_MQTT_PASSWORD, tls_ca, prefix ("han"), discovery_prefix ("homeassistant"),
-- discovery (true), per_field (false), meter_id (for readings that carry none before one
-- that does), expire_after (seconds Home Assistant keeps a measurement without a new
-- state, 60), stale_after (seconds without a reading before a meter is "offline", 60),
-- retry_min / retry_max (seconds, 1 / 60), clock, log, mosquitto (the client module).
-- Returns the bridge, or nil, err (a bad prefix, no library, unreadable password file,
-- TLS setup refused).
function M.new(opts)
  opts = opts or {}
  local prefix = opts.prefix or "han"
  local discovery_prefix = opts.discovery_prefix or "homeassistant"
  local usable, why = M.check_prefix(prefix)
  if not usable then return nil, "bad topic prefix: " .. why end
  usable, why = M.check_prefix(discovery_prefix)
  if not usable then return nil, "bad discovery prefix: " .. why end
  local mosq, err = opts.mosquitto, nil
  if not mosq then mosq, err = load_mosquitto() end
  if not mosq then return nil, err end
  local password = opts.password
  if not password then
    password, err = M.read_secret(opts.password_file, "HAN_MQTT_PASSWORD")
    if err then return nil, err end
  end
  local bridge_id = opts.client_id or host_id()
  local self = setmetatable({
    host = opts.host or "localhost", port = opts.port or 1883,
    keepalive = opts.keepalive or 60,
    prefix = prefix, discovery_prefix = discovery_prefix,
    discovery = opts.discovery ~= false, per_field = opts.per_field,
    status_topic = prefix .. "/bridge/" .. topic_safe(bridge_id) .. "/status",
    expire_after = opts.expire_after or 60, stale_after = opts.stale_after or 60,
    retry_min = opts.retry_min or 1, retry_max = opts.retry_max or 60,
    clock = opts.clock or os.time,
    log = opts.log or function(msg) io.stderr:write(msg, "\n") end,
    meter_id = opts.meter_id,
    meters = {}, meter_count = 0, hourly = hourly.new(),
    state = "disconnected", retry_at = 0, delay = opts.retry_min or 1,
    stats = { published = 0, dropped = 0, connects = 0 },
    unacked = {}, unacked_count = 0,
  }, Bridge)

  if mosq.init then mosq.init() end
  local client = mosq.new(bridge_id, true)
  if not client then return nil, "cannot create an MQTT client" end
  self.client = client
  client:will_set(self.status_topic, "offline", 1, true)
  if opts.user then client:login_set(opts.user, password) end
  if opts.tls_ca then
    local ok, _, msg = client:tls_set(opts.tls_ca)
    if not ok then
      client:destroy()
      return nil, "TLS setup failed for CA file " .. opts.tls_ca .. ": " .. tostring(msg)
    end
  end
  client.ON_CONNECT = function(ok, rc, msg) self:on_connect(ok, rc, msg) end
  client.ON_PUBLISH = function(mid)
    if self.unacked[mid] then
      self.unacked[mid], self.unacked_count = nil, self.unacked_count - 1
    end
  end
  client.ON_DISCONNECT = function(clean, _, msg)
    if not clean then self:lost(msg) end
  end
  return self
end

function Bridge:where() return self.host .. ":" .. self.port end

-- Say a problem once, not on every retry.
function Bridge:problem(msg)
  if msg ~= self.last_error then self.log(msg) end
  self.last_error = msg
end

function Bridge:lost(why)
  if self.state == "disconnected" then return end
  self.state = "disconnected"
  self:problem("MQTT broker " .. self:where() .. " went away (" .. tostring(why)
    .. "); reconnecting")
  self.retry_at = self.clock()
  self.delay = self.retry_min
end

function Bridge:back_off(msg)
  self.state = "disconnected"
  self:problem(msg .. "; retrying (back-off up to " .. self.retry_max .. " s)")
  self.retry_at = self.clock() + self.delay
  self.delay = math.min(self.delay * 2, self.retry_max)
end

local refused = {
  [4] = "bad user name or password", [5] = "not authorised (check --user and the password)",
}

function Bridge:on_connect(ok, rc, msg)
  if not ok then
    self.client:disconnect()
    self:back_off("MQTT broker " .. self:where() .. " refused the connection: "
      .. (refused[rc] or tostring(msg)))
    return
  end
  self.state, self.delay = "connected", self.retry_min
  self.unacked, self.unacked_count = {}, 0
  self.stats.connects = self.stats.connects + 1
  if self.last_error then self.log("MQTT connected to " .. self:where()) end
  self.last_error = nil
  self.fresh = true      -- step() re-sends the retained things after this callback
end

-- Retained things are re-sent on every connect: a restarted broker may have lost them.
function Bridge:resend()
  self:send(self.status_topic, "online", 1, true)
  for id, meter in pairs(self.meters) do
    if self.discovery then
      for field in pairs(meter.state) do self:announce(id, meter, field) end
    end
    if meter.hourly then self:send(meter.topic .. "/hourly", meter.hourly, 1, true) end
    if meter.online ~= nil then self:available(meter, meter.online) end
  end
end

-- A meter's own availability: online while readings come, offline when they stop.
function Bridge:available(meter, online)
  meter.online = online
  self:send(meter.topic .. "/availability", online and "online" or "offline", 1, true)
end

-- Meters that sent nothing for stale_after seconds go offline (step() looks).
function Bridge:expire()
  local now = self.clock()
  for _, meter in pairs(self.meters) do
    if meter.online and now - meter.seen > self.stale_after then
      self:available(meter, false)
    end
  end
end

-- Wait (at most a second) until a QoS 1 message may go out.
function Bridge:window()
  for _ = 1, 50 do
    if self.unacked_count < MAX_UNACKED or self.state ~= "connected" then break end
    local ok, _, err = self.client:loop(20, 1)
    if not ok then self:lost(err) end
  end
  return self.state == "connected" and self.unacked_count < MAX_UNACKED
end

-- send(...) -> true | false, why. A topic or message MQTT cannot carry is refused here:
-- the client library would raise, or fail the publish as if the broker had gone.
function Bridge:send(topic, payload, qos, retain)
  qos = qos or 0
  local why, mid, _, msg
  if #topic > MAX_TOPIC then
    why = "topic too long (" .. #topic .. " bytes, MQTT allows " .. MAX_TOPIC .. ")"
  elseif #payload > MAX_PAYLOAD then
    why = "message too large (" .. #payload .. " bytes, at most " .. MAX_PAYLOAD .. ")"
  elseif self.state == "connected" and (qos == 0 or self:window()) then
    mid, _, msg = self.client:publish(topic, payload, qos, retain or false)
    if not mid then self:lost(msg) end
  end
  if not mid then
    self.stats.dropped = self.stats.dropped + 1
    return false, why or "not connected to the MQTT broker"
  end
  if qos > 0 then
    self.unacked[mid], self.unacked_count = true, self.unacked_count + 1
  end
  self.stats.published = self.stats.published + 1
  -- Read what came in (acknowledgements) before the next publish.
  local ok, _, err = self.client:loop(0, 1)
  if not ok then self:lost(err) end
  return true
end

-- step([timeout_ms]): network work, and a connection attempt when one is due.
-- Returns true while connected.
function Bridge:step(timeout)
  if self.state == "disconnected" then
    if self.clock() < self.retry_at then return false end
    local ok, _, msg = self.client:connect(self.host, self.port, self.keepalive)
    if not ok then
      self:back_off("cannot reach MQTT broker " .. self:where() .. " (" .. tostring(msg) .. ")")
      return false
    end
    self.state, self.connect_at = "connecting", self.clock()
  elseif self.state == "connecting" and self.clock() - self.connect_at > self.keepalive then
    self.client:disconnect()
    self:back_off("MQTT broker " .. self:where() .. " accepted the connection but never answered")
    return false
  end
  local ok, _, msg = self.client:loop(timeout or 0, 1)
  if not ok and self.state ~= "disconnected" then self:lost(msg) end
  if self.fresh and self.state == "connected" then
    self.fresh = nil
    self:resend()
  end
  if self.state == "connected" then self:expire() end
  return self.state == "connected"
end

-- What a state's value looks like to Home Assistant, per component: a binary sensor
-- wants ON or OFF, and Jinja would render JSON's true as "True".
local TEMPLATE = {
  sensor = "{{ value_json.%s }}",
  binary_sensor = "{{ 'ON' if value_json.%s else 'OFF' }}",
}

-- The discovery config of one field of one meter.
function Bridge:announce(id, meter, field)
  meter.announced[field] = true
  local info = catalogue[field]
  if not info or info.datatype == "string" then return end  -- ids, month: device info
  local component = info.ha_component or "sensor"
  -- default_entity_id: Home Assistant 2025.10 replaced object_id with it (object_id
  -- stops working in 2026.4). Both availability topics must say online.
  local config = {
    name = info.label,
    unique_id = "han_" .. id .. "_" .. field,
    default_entity_id = component .. ".han_" .. id:lower() .. "_" .. field,
    state_topic = meter.topic .. "/state",
    value_template = TEMPLATE[component]:format(field),
    unit_of_measurement = info.unit ~= "" and info.unit or nil,
    device_class = info.ha_class, state_class = info.ha_state,
    expire_after = info.ha_state == "measurement" and self.expire_after or nil,
    availability = { { topic = self.status_topic },
                     { topic = meter.topic .. "/availability" } },
    availability_mode = "all",
    device = meter.device,
    origin = ORIGIN,
  }
  self:send(self.discovery_prefix .. "/" .. component .. "/" .. id .. "/" .. field .. "/config",
    json.encode(config), 1, true)
end

-- The meter a reading belongs to (created on first sight, bounded in number).
function Bridge:meter(id, r)
  local meter = self.meters[id]
  if not meter then
    if self.meter_count >= MAX_METERS then self.meters, self.meter_count = {}, 0 end
    meter = { state = {}, topic = self.prefix .. "/" .. id }   -- under which its topics go
    self.meters[id], self.meter_count = meter, self.meter_count + 1
  end
  local vendor, model = r.vendor or meter.vendor, r.meter_type or meter.model
  if not meter.device or vendor ~= meter.vendor or model ~= meter.model then
    meter.vendor, meter.model = vendor, model
    meter.device = { identifiers = { "han_" .. id }, serial_number = r.meter_id or id,
      name = (vendor or "HAN") .. " meter " .. id, manufacturer = vendor, model = model }
    meter.announced = {}       -- device info changed: announce every field again
  end
  return meter
end

-- publish(fields): a reading, optionally with capacity fields merged in. Returns true
-- when the state message went out, or nil, reason.
function Bridge:publish(r)
  if type(r) ~= "table" then error("han.mqtt: publish expects a reading table", 2) end
  if r.meter_id then self.meter_id = r.meter_id end
  local raw_id = r.meter_id or self.meter_id
  if not raw_id then
    self.stats.dropped = self.stats.dropped + 1
    local why = "no meter id yet (list 1 carries none): readings wait for a longer list"
      .. " (or set the meter id)"
    if not self.said_no_id then self.log(why) end
    self.said_no_id = true
    return nil, why
  end
  local id = topic_safe(raw_id)
  local meter = self:meter(id, r)
  for field, v in pairs(r) do
    local info = catalogue[field]
    if info and info.datatype and (finite(v) or type(v) == "string" or type(v) == "boolean")
      then
      meter.state[field] = v
      if self.discovery and not meter.announced[field] and self.state == "connected" then
        self:announce(id, meter, field)
      end
      if self.per_field then
        self:send(meter.topic .. "/" .. field, type(v) == "string" and v or json.encode(v))
      end
    end
  end
  if finite(r.meter_time) then meter.state.meter_time = r.meter_time end
  local set = self.hourly:push(r)
  if set then
    set.meter_id = nil             -- the topic says it
    meter.hourly = json.encode(set)
    self:send(meter.topic .. "/hourly", meter.hourly, 1, true)
  end
  local sent, why = self:send(meter.topic .. "/state", json.encode(meter.state))
  if not sent then return nil, why end
  meter.seen = self.clock()
  if not meter.online then self:available(meter, true) end
  return true
end

-- close(): "offline" on the status topics, then a clean disconnect.
function Bridge:close()
  if not self.client then return end
  if self.state == "connected" then
    for _, meter in pairs(self.meters) do
      if meter.online then self:available(meter, false) end
    end
    self:send(self.status_topic, "offline", 1, true)
    for _ = 1, 10 do self.client:loop(10, 1) end
    self.client:disconnect()
  end
  self.client:destroy()
  self.client, self.state = nil, "closed"
end

return M
