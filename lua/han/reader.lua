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

local M = {}

local Reader = {}
Reader.__index = Reader

-- A block transfer spread over frames is held for at most this many frames or bytes.
local MAX_HELD, MAX_HELD_BYTES = 32, 65536

-- start bit, data bits, parity bit, one stop bit
local function bits_per_byte(parity, databits)
  return 2 + databits + (parity == "none" and 0 or 1)
end

-- The serial module: LogicMachine's `serial` where it exists, else han.serial.
local function serial_module(opts)
  if opts.serial then return opts.serial end
  local ok, lm = pcall(require, "serial")
  if ok and type(lm) == "table" and lm.open then return lm end
  return require("han.serial")
end

local function sleeper(opts, serial)
  if opts.sleep then return opts.sleep end
  if serial and serial.sleep then return serial.sleep end
  local os_sleep = rawget(os, "sleep") or rawget(_G, "sleep")
  return os_sleep or function() end
end

-- protocol 'd0': IEC 62056-21 mode D, P1's telegrams pushed at 9600 7E1.
local function d0_defaults(opts)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.protocol, o.baudrate = "p1", opts.baudrate or 9600
  o.parity, o.databits = opts.parity or "even", opts.databits or 7
  return o
end

-- han.reader(opts):
--   port      device path (opened with the serial module) or an object with read(n, t)
--   protocol  'hdlc' (default), 'mbus', 'p1', or 'auto': the first good frame at the
--             configured speed decides; 'd0' is 'p1' at 9600 7E1 (mode D push)
--   baudrate  default 2400, 115200 for 'p1'; parity 'none' (default), 'even', 'odd' or
--             'auto'; databits 8 (DSMR 2.2/3.0: baudrate 9600, parity 'even', databits 7)
--   timeout   the poll budget in seconds (default 1)
--   scale, zone, key, auth_key, system_title: opts goes to han.decode as it is, so the
--             keys of an encrypted meter reach the decoder; cr_lf: passed to the framer
--   on_raw(hex, frame): called with every good frame
--   auto_after: consecutive bad frames before parity 'auto' tries the other parity (3)
function M.new(opts)
  if type(opts) ~= "table" or opts.port == nil then
    error("han.reader: opts.port (a device path or a port object) is required", 2)
  end
  if opts.protocol == "d0" then opts = d0_defaults(opts) end
  local self = setmetatable({
    opts = opts,
    device = type(opts.port) == "string" and opts.port or nil,
    port = type(opts.port) ~= "string" and opts.port or nil,
    baudrate = opts.baudrate or (opts.protocol == "p1" and 115200 or 2400),
    databits = opts.databits or 8,
    auto = opts.parity == "auto",
    parity = (opts.parity == nil or opts.parity == "auto") and "none" or opts.parity,
    budget = opts.timeout or 1,
    framer = backend.core.framer({ cr_lf = opts.cr_lf, protocol = opts.protocol }),
    held = nil, held_bytes = 0, blocks_dropped = 0,
    reads = 0, reconnects = 0, decode_errors = 0, port_errors = 0,
    backoff = 0, retry_at = 0, clock = 0, bad_run = 0, last_bad = 0, idle = true,
  }, Reader)
  if self.device then self.serial = serial_module(opts) end
  self.sleep = sleeper(opts, self.serial)
  return self
end

function Reader:byte_time()
  return bits_per_byte(self.parity, self.databits) / self.baudrate
end

function Reader:open()
  local port, err = self.serial.open(self.device, { baudrate = self.baudrate,
    parity = self.parity, databits = self.databits, stopbits = 1, duplex = "full" })
  if not port then return nil, err end
  if port.flush then port:flush() end
  self.port = port
  self.framer:reset()
  self:drop_held()                -- the rest of a block transfer was lost with the line
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
  end
  self.last_error = err
  return nil, err
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

-- The next reading from frames already received, or nil.
function Reader:next_reading()
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
      self.last_error, self.last_code = err, code
    end
  end
end

-- poll() -> reading, or nil[, err]: at most about `timeout` seconds of reading.
function Reader:poll()
  local r = self:next_reading()
  if r then return r end
  local left = self.budget
  if not self.port then
    if self.clock < self.retry_at then
      local wait = math.min(left, self.retry_at - self.clock)
      self.sleep(wait)
      self.clock = self.clock + wait
      return nil, self.last_error
    end
    local ok, err = self:open()
    if not ok then return self:lost(err) end
    if self.backoff > 0 then self.reconnects = self.reconnects + 1 end
    self.backoff = 0
  end
  local byte_time = self:byte_time()
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
    if got == 0 and err and not tostring(err):find("timeout") then
      return self:lost(err)
    end
    self.idle = got == 0
    if got > 0 then
      self.framer:push(data)
      self.clock = self.clock + got * byte_time
      left = left - (got < want and timeout or got * byte_time)
      self:watch_parity()
      if not self.port then return nil end      -- reopening with the other parity
      r = self:next_reading()
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

-- read(): block until a reading arrives (port errors are retried as in poll()).
function Reader:read()
  while true do
    local r = self:poll()
    if r then return r end
  end
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
