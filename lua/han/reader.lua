-- han.reader: a live meter in the resident-script model. All state lives in the reader
-- object (kept in a global by the script); poll() does about one second of work and
-- returns the next reading or nil, so a LogicMachine resident script with sleep 0 is
--   reader = reader or han.reader{port = '/dev/ttyUSB0', baudrate = 2400}
--   local r = reader:poll()
--
-- Reads ask for what the framer says it is missing. HDLC and M-Bus have a length field:
-- one byte to find a frame, the header, then the rest of the frame in one call whose
-- timeout covers its wire time. A reading is returned the moment its last byte arrives.
-- A read never asks for more bytes than are surely coming and the line can deliver
-- within its timeout, so a serial library that drops a partial read on timeout loses
-- nothing. A P1 telegram has no length field and may end with any line, so only one
-- more byte is ever sure to come: P1 is read one byte per call (at 115200 baud a
-- telegram of 1 kB is a thousand short calls), which keeps to that rule for both kinds
-- of serial library and returns the reading the moment the telegram's last LF is in.
local backend = require("han.backend")
local decode = require("han.decode").decode
local bad_scale = require("han.decode").bad_scale
local time = require("han.time")

local M = {}

local Reader = {}
Reader.__index = Reader

-- A block transfer spread over frames is held for at most this many frames or bytes.
local MAX_HELD, MAX_HELD_BYTES = 32, 65536
-- Bytes thrown away without a single frame, good or bad, before the line is called noise:
-- more than a stream that opens in the middle of the longest frame or telegram throws.
local NOISE_BYTES = 2048

-- The serial module: LogicMachine's `serial` where it exists, else han.serial; a
-- tcp://host:port source goes through han.tcp (LuaSocket) with the same port API.
local function serial_module(opts)
  if opts.serial then return opts.serial end
  if opts.port:find("^tcp://") then return require("han.tcp") end
  local ok, lm = pcall(require, "serial")
  if ok and type(lm) == "table" and lm.open then return lm end
  return require("han.serial")
end

local function sleeper(opts, serial)
  return opts.sleep or serial and serial.sleep or rawget(os, "sleep") or rawget(_G, "sleep")
    or function() end
end

-- Misuse raises at construction, naming the option, not at the first poll.
local function misuse(what)
  error("bad argument #1 to 'reader' (" .. what .. ")", 4)
end

local CHOICES = {
  protocol = { hdlc = true, mbus = true, p1 = true, sml = true, d0 = true, auto = true },
  parity = { none = true, even = true, odd = true, auto = true },
  duplex = { full = true, half = true },
}

local function is_key(v, bytes)
  return type(v) == "string" and (#v == bytes or (#v == 2 * bytes and not v:find("%X")))
end

local function check(opts)
  if type(opts) ~= "table" then misuse("table expected, got " .. type(opts)) end
  local port = opts.port
  if type(port) ~= "string" and type(port) ~= "table" and type(port) ~= "userdata"
    and port ~= false then
    misuse("opts.port: a device path, tcp://host:port, a port object or false is required")
  end
  if type(port) == "string" and port:find("^tcp:") and not port:find("^tcp://.+:%d+$") then
    misuse("opts.port: '" .. port .. "' is not tcp://host:port")
  end
  for name, allowed in pairs(CHOICES) do
    local v = opts[name]
    if v ~= nil and not allowed[v] then
      local list = {}
      for k in pairs(allowed) do list[#list + 1] = k end
      table.sort(list)
      misuse("opts." .. name .. ": '" .. tostring(v) .. "' is not one of "
        .. table.concat(list, ", "))
    end
  end
  for _, name in ipairs({ "baudrate", "databits", "timeout", "auto_after", "report_every" }) do
    local v = opts[name]
    if v ~= nil and (type(v) ~= "number" or v ~= v or v < 0 or v == math.huge
      or (v == 0 and name ~= "report_every")) then
      misuse("opts." .. name .. ": a positive number expected, got " .. tostring(v))
    end
  end
  if opts.databits ~= nil and (opts.databits < 5 or opts.databits > 8) then
    misuse("opts.databits: 5 to 8")
  end
  for _, name in ipairs({ "on_raw", "report", "sleep", "clock" }) do
    if opts[name] ~= nil and type(opts[name]) ~= "function" then
      misuse("opts." .. name .. ": a function expected, got " .. type(opts[name]))
    end
  end
  for name, bytes in pairs({ key = 16, auth_key = 16, system_title = 8 }) do
    if opts[name] ~= nil and not is_key(opts[name], bytes) then
      misuse("opts." .. name .. ": " .. bytes .. " bytes or " .. 2 * bytes .. " hex digits")
    end
  end
  local bad = opts.scale ~= nil and bad_scale(opts.scale)
  if bad then misuse(bad) end
  if opts.zone ~= nil then
    local ok, err = pcall(time.zone, opts.zone)
    if not ok then misuse("opts.zone: " .. tostring(err):gsub("^.-: ", "")) end
  end
end

-- protocol 'd0': IEC 62056-21 mode D, P1's telegrams pushed at 9600 7E1. The protocol
-- stays in the options han.decode gets (the namer says list = "D0"); the framer reads
-- P1's.
local FRAMING = { d0 = "p1" }
local function d0_defaults(opts)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.baudrate = opts.baudrate or 9600
  o.parity, o.databits = opts.parity or "even", opts.databits or 7
  return o
end

-- han.reader(opts):
--   port      device path (opened with the serial module), tcp://host:port (LuaSocket),
--             an object with read(n, t), or false: bytes come only by reader:push()
--   protocol  'hdlc' (default), 'mbus', 'p1', 'sml', or 'auto': the first good frame at
--             the configured speed decides; 'd0' is 'p1' at 9600 7E1 (mode D push),
--             its readings saying list = "D0"
--   baudrate  default 2400, 115200 for 'p1', 9600 for 'sml'; parity 'none' (default),
--             'even', 'odd' or 'auto'; databits 8 (DSMR 2.2/3.0: baudrate 9600, parity
--             'even', databits 7); duplex 'full' (default) or 'half' (an RS-485 port)
--   timeout   the poll budget in seconds (default 1)
--   scale, zone, key, auth_key, system_title: opts goes to han.decode as it is, so the
--             keys of an encrypted meter reach the decoder; cr_lf: passed to the framer
--   on_raw(hex, frame): called with every good frame
--   report(message, code): told of problems (frames that fail their checks, noise,
--             frames that do not decode, the port lost and back): each kind at once the
--             first time, then at most once per report_every seconds (60) while it lasts
--   clock     seconds for report_every (default the serial module's clock, else os.time)
--   auto_after: consecutive bad frames before parity 'auto' tries the other parity (3)
function M.new(opts)
  check(opts)
  if opts.protocol == "d0" then opts = d0_defaults(opts) end
  local self = setmetatable({
    opts = opts,
    device = type(opts.port) == "string" and opts.port or nil,
    port = type(opts.port) ~= "string" and opts.port or nil,
    pushed = opts.port == false,
    baudrate = opts.baudrate or (opts.protocol == "p1" and 115200
      or opts.protocol == "sml" and 9600 or 2400),
    databits = opts.databits or 8,
    duplex = opts.duplex or "full",
    auto = opts.parity == "auto",
    parity = (opts.parity == nil or opts.parity == "auto") and "none" or opts.parity,
    budget = opts.timeout or 1,
    framer = backend.core.framer({ cr_lf = opts.cr_lf,
      protocol = FRAMING[opts.protocol] or opts.protocol }),
    held = nil, held_bytes = 0, blocks_dropped = 0,
    reads = 0, reconnects = 0, decode_errors = 0, port_errors = 0,
    backoff = 0, retry_at = 0, clock = 0, bad_run = 0, last_bad = 0, idle = true,
    reported = {}, seen = {}, ok_since_open = 0,
  }, Reader)
  if self.device then self.serial = serial_module(opts) end
  self.sleep = sleeper(opts, self.serial)
  self.now = opts.clock or (self.serial and self.serial.clock) or os.time
  self.report_every = opts.report_every or 60
  self.mark = self.framer:stats()
  self.bad_mark = self.mark
  return self
end

-- A problem: poll() returns it, and opts.report hears of it at once the first time, then
-- at most once per report_every seconds, with how often it happened in between.
function Reader:problem(code, message, counted)
  self.last_error, self.last_code = message, code
  self.err, self.err_code = message, code
  local report = self.opts.report
  if not report then return end
  local now, last = self.now(), self.reported[code]
  self.seen[code] = (self.seen[code] or 0) + 1
  if last and now - last < self.report_every then return end
  local n = self.seen[code]
  if last and n > 1 and not counted then
    message = ("%s (%d times in %d s)"):format(message, n, math.floor(now - last + 0.5))
  end
  self.reported[code], self.seen[code] = now, 0
  report(message, code)
  return true
end

-- What the framer counted since the last look: bad frames by cause (counted since the
-- last report of them), or a line that brings bytes and no frame at all.
function Reader:check_line()
  local st, mark = self.framer:stats(), self.mark
  local bad = st.bad_fcs + st.bad_hcs + st.bad_length
  local good = st.frames_ok - mark.frames_ok
  if good > 0 then self.ok_since_open = self.ok_since_open + good end
  if bad > mark.bad_fcs + mark.bad_hcs + mark.bad_length then
    local since = self.bad_mark
    local fcs, hcs = st.bad_fcs - since.bad_fcs, st.bad_hcs - since.bad_hcs
    local len = st.bad_length - since.bad_length
    local causes = ("%d bad (FCS %d, HCS %d, length %d)"):format(fcs + hcs + len, fcs, hcs, len)
    local message
    if self.ok_since_open == 0 then
      message = "frames arrive but none decode: " .. causes .. ", none good: check parity"
        .. " and baud (Aidon and Kaifa send 8E1, Kamstrup 8N1, P1 115200 8N1)"
    else
      message = "frames fail their checks: " .. causes .. ", "
        .. st.frames_ok - since.frames_ok .. " good (a weak line or adapter)"
    end
    if self:problem("bad_frames", message, true) then self.bad_mark = st end
  elseif good == 0 then
    local noise = st.bytes_discarded - mark.bytes_discarded
    if noise < NOISE_BYTES then return end     -- still counting from the same mark
    self:problem("noise", ("%d bytes arrived and not one frame in them: check baud and"
      .. " parity, and the protocol"):format(noise))
  end
  self.mark = st
end

function Reader:open()
  local port, err = self.serial.open(self.device, { baudrate = self.baudrate,
    parity = self.parity, databits = self.databits, stopbits = 1, duplex = self.duplex })
  if not port then return nil, err end
  if port.flush then port:flush() end
  self.port = port
  self.framer:reset()
  self:drop_held()                -- the rest of a block transfer was lost with the line
  self.mark, self.bad_mark, self.ok_since_open = self.framer:stats(), self.framer:stats(), 0
  if self.lost_at then
    self:problem("port_back", ("%s is back after %d s"):format(self.device,
      math.floor(self.now() - self.lost_at + 0.5)))
    self.lost_at = nil
  end
  return port
end

-- A port error: close, and reopen later with back-off (1 s doubling to 60 s).
function Reader:lost(err)
  self.port_errors = self.port_errors + 1
  if self.device then
    if self.port and self.port.close then pcall(self.port.close, self.port) end
    self.port = nil
    self.backoff = self.backoff == 0 and 1 or math.min(self.backoff * 2, 60)
    self.retry_at = self.clock + self.backoff
    self.lost_at = self.lost_at or self.now()
    err = ("%s: %s (trying again in %d s)"):format(self.device, tostring(err), self.backoff)
  end
  self:problem("port", err)
  return nil, err, "port"
end

-- parity = 'auto': after `auto_after` bad frames in a row, try the other parity.
function Reader:watch_parity()
  if not self.auto then return end
  local st = self.framer:stats()
  local bad = st.bad_fcs + st.bad_hcs + st.bad_length
  if st.frames_ok > (self.ok_seen or 0) then
    self.ok_seen, self.bad_run, self.settled = st.frames_ok, 0, true
  elseif bad > self.last_bad then
    self.bad_run = self.bad_run + bad - self.last_bad
  end
  self.last_bad = bad
  if not self.settled and self.bad_run >= (self.opts.auto_after or 3) and self.device then
    self.parity = self.parity == "none" and "even" or "none"
    self.bad_run = 0
    if self.port and self.port.close then pcall(self.port.close, self.port) end
    self.port = nil
  end
end

function Reader:drop_held()
  if self.held then self.blocks_dropped = self.blocks_dropped + 1 end
  self.held, self.held_bytes = nil, 0
end

-- Keep a frame whose block transfer goes on in the next frames (bounded).
function Reader:hold(frame)
  local held = self.held or {}
  if #held == MAX_HELD or self.held_bytes + #frame > MAX_HELD_BYTES then
    self:drop_held()
    return nil, "block transfer too long"
  end
  held[#held + 1] = frame
  self.held, self.held_bytes = held, self.held_bytes + #frame
  return nil
end

-- A frame to a reading. A general block transfer spread over several frames (each an
-- E0 block) decodes only once its last block is in: until then han.decode says
-- "incomplete block transfer", and the frames are held and decoded again, joined, with
-- the next. Returns the reading, or nil, message, code, or nil while holding.
function Reader:decode(frame)
  if self.held then
    local r, _, code = decode(table.concat(self.held) .. frame, self.opts)
    if r then
      self.held, self.held_bytes = nil, 0
      return r
    end
    if code == "incomplete_block" then return self:hold(frame) end
    self:drop_held()              -- this frame does not go on with them: try it alone
  end
  local r, err, code = decode(frame, self.opts)
  if code == "incomplete_block" then return self:hold(frame) end
  return r, err, code
end

-- push(bytes): bytes read elsewhere (a capture file, a socket of the caller's) go
-- through the same framer and checks; pop() then gives their readings.
function Reader:push(data)
  self.framer:push(data)
  self:check_line()
end

-- pop() -> the next reading from the frames received so far, or nil; a frame that does
-- not decode is counted and told to opts.report like in poll().
function Reader:pop()
  while true do
    local frame = self.framer:pop()
    if not frame then return nil end
    if self.opts.on_raw then
      self.opts.on_raw((frame:gsub(".", function(c) return ("%02X"):format(c:byte()) end)),
        frame)
    end
    local r, err, code = self:decode(frame)
    if r then return r end
    if err then
      self.decode_errors = self.decode_errors + 1
      self:problem(code or "decode", err)
    end
  end
end

-- poll() -> reading, or nil[, message, code]: at most about `timeout` seconds of
-- reading. The message and code say the last problem of this poll: a frame that did
-- not decode (han.decode's code), frames that failed their checks ("bad_frames"),
-- bytes without frames ("noise"), the port lost or unavailable ("port") or back
-- ("port_back"), or a caught signal ("interrupted", from han.serial).
function Reader:poll()
  self.err, self.err_code = nil, nil
  local r = self:poll_once()
  if r then return r end
  return nil, self.err, self.err_code
end

function Reader:poll_once()
  local r = self:pop()
  if r or self.pushed then return r end
  local left = self.budget
  if not self.port then
    if self.clock < self.retry_at then
      local wait = math.min(left, self.retry_at - self.clock)
      self.sleep(wait)
      self.clock = self.clock + wait
      self.err, self.err_code = self.last_error, "port"
      return nil
    end
    local ok, err = self:open()
    if not ok then return self:lost(err) end
    if self.backoff > 0 then self.reconnects = self.reconnects + 1 end
    self.backoff = 0
  end
  -- start bit, data bits, parity bit, one stop bit
  local byte_time = (2 + self.databits + (self.parity == "none" and 0 or 1)) / self.baudrate
  while left > 0.05 do
    -- Between frames, wait the whole budget for one byte; inside a frame, ask for what
    -- the framer needs, but no more than the line can bring within the timeout.
    local want, timeout = 1, left
    if not self.idle then
      want = self.framer:missing()
      timeout = math.max(0.1, math.min(left, want * byte_time * 1.25 + 0.2))
      want = math.max(1, math.min(want, math.floor(timeout / byte_time / 1.25)))
    end
    self.reads = self.reads + 1
    local ok, data, err = pcall(self.port.read, self.port, want, timeout)
    if not ok then return self:lost(tostring(data)) end
    local got = type(data) == "string" and #data or 0
    if got == 0 and err == "interrupted" then        -- a signal: the caller decides
      self.err, self.err_code = "interrupted", "interrupted"
      return nil
    end
    if got == 0 and err and not tostring(err):find("timeout") then
      return self:lost(err)
    end
    self.idle = got == 0
    if got > 0 then
      self.framer:push(data)
      self.clock = self.clock + got * byte_time
      left = left - (got < want and timeout or got * byte_time)
      self:check_line()
      self:watch_parity()
      if not self.port then return nil end      -- reopening with the other parity
      r = self:pop()
      if r then
        self.idle = true
        return r
      end
    else
      self.clock = self.clock + timeout
      left = left - timeout
    end
  end
  return nil
end

-- read(): block until a reading arrives (problems are retried as in poll()).
function Reader:read()
  local r
  repeat r = self:poll() until r
  return r
end

-- frames(): an iterator of readings, for `for r in reader:frames() do ... end`.
function Reader:frames()
  return function() return self:read() end
end

function Reader:stats()
  local st = self.framer:stats()
  st.reads, st.reconnects = self.reads, self.reconnects
  st.decode_errors, st.port_errors = self.decode_errors, self.port_errors
  st.blocks_dropped, st.parity = self.blocks_dropped, self.parity
  return st
end

function Reader:close()
  if self.port and self.port.close and self.device then self.port:close() end
  self.port = nil
end

return M
