-- han.d0: the IEC 62056-21 mode C readout of a meter's optical (D0) port. Every
-- `interval` seconds it asks at 300 baud 7E1 ("/?!"), reads the identification
-- "/XXXZ..." (Z: the speed the meter offers), acknowledges with ACK 0 Z 0 (readout at
-- speed Z), follows the meter to that speed, reads the data block STX ... "!" CR LF ETX
-- BCC, checks the BCC and names the lines as a D0 telegram through han.decode.
-- State lives in the object and poll() does about one second of work, as han.reader's
-- does, so a LogicMachine resident script with sleep 0 is
--   meter = meter or han.d0{port = '/dev/ttyUSB0', interval = 60}
--   local r = meter:poll()
local decode = require("han.decode").decode

local byte, char, format = string.byte, string.char, string.format
local concat = table.concat

local M = {}

local Client = {}
Client.__index = Client

local STX, ETX, LF = 2, 3, 10
local REQUEST = "/?!\r\n"

-- Mode C's speed letters.
local BAUD = { ["0"] = 300, ["1"] = 600, ["2"] = 1200, ["3"] = 2400, ["4"] = 4800,
  ["5"] = 9600, ["6"] = 19200 }
local BITS = 10                 -- 7E1: start, 7 data, parity, stop
local REACTION = 0.25           -- the reader answers no sooner than 200 ms after the meter
local MAX_IDENT, MAX_BLOCK = 128, 65536
local MAX_BACKOFF = 600

-- The BCC: the XOR of the bytes, so bit k is the parity of how many have bit k set.
local function bcc(s)
  local ones = { 0, 0, 0, 0, 0, 0, 0, 0 }
  for i = 1, #s do
    local b = byte(s, i)
    for k = 1, 8 do
      local bit = b % 2
      ones[k], b = ones[k] + bit, (b - bit) / 2
    end
  end
  local x = 0
  for k = 8, 1, -1 do x = x * 2 + ones[k] % 2 end
  return math.floor(x)            -- an integer on Lua 5.3+ (the halving made floats)
end
M.bcc = bcc

local function serial_module(opts)
  if opts.serial then return opts.serial end
  local ok, lm = pcall(require, "serial")
  if ok and type(lm) == "table" and lm.open then return lm end
  return require("han.serial")
end

-- A monotonic clock and a sleep: the options', the serial module's (han.serial has
-- both), LogicMachine's os.microtime and os.sleep, else han.serial's where it is built.
local function timing(opts, serial)
  local clock, sleep = opts.clock, opts.sleep
  if serial then clock, sleep = clock or serial.clock, sleep or serial.sleep end
  local micro = rawget(os, "microtime")
  if not clock and micro then
    clock = function()
      local s, us = micro()
      return s + us / 1e6
    end
  end
  sleep = sleep or rawget(os, "sleep") or rawget(_G, "sleep")
  if not (clock and sleep) then
    local ok, hs = pcall(require, "han.serial")
    if ok and type(hs) == "table" then clock, sleep = clock or hs.clock, sleep or hs.sleep end
  end
  return clock, sleep
end

-- Misuse raises, at the caller of han.d0 (depth: calls between it and new()).
local function bad(msg, depth)
  error("bad argument #1 to 'd0' (" .. msg .. ")", 3 + (depth or 0))
end

local function positive(opts, key, default)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v <= 0 then
    bad("opts." .. key .. ": a positive number", 1)
  end
  return v
end

-- han.d0(opts):
--   port      device path (opened with the serial module: LogicMachine's `serial`, else
--             han.serial; opts.serial to choose) or a port object with read(n, timeout)
--             and write(s), which stays at its speed: the readout is asked for at 300
--   interval  seconds from one readout's start to the next (default 60); after a failed
--             one the wait doubles with each failure in a row, up to 600 s or interval
--   speed     the speed letter to ask for, "0" (300) to "6" (19200); default the
--             meter's offer
--   reply_timeout  seconds the meter has to start an answer, and the longest silence
--             inside one (default 2; IEC 62056-21 allows 1.5)
--   timeout   the poll budget in seconds (default 1)
--   clock, sleep: a monotonic clock and a sleep, where neither the serial module nor
--             the system gives them
--   zone, scale: as for han.decode, which names the data lines
function M.new(opts)
  if type(opts) ~= "table" then bad("table expected, got " .. type(opts)) end
  local port = opts.port
  local device = type(port) == "string" and port or nil
  if not device and not ((type(port) == "table" or type(port) == "userdata")
      and port.read and port.write) then
    bad("opts.port: a device path or a port object with read and write")
  end
  local speed = opts.speed ~= nil and tostring(opts.speed) or nil
  if speed and not BAUD[speed] then bad("opts.speed: a speed letter \"0\" to \"6\"") end
  if speed and speed ~= "0" and not device then
    bad("opts.speed: a port object cannot change speed, give a device path")
  end
  local interval = positive(opts, "interval", 60)
  local reply, budget = positive(opts, "reply_timeout", 2), positive(opts, "timeout", 1)
  local serial = device and serial_module(opts) or opts.serial
  local clock, sleep = timing(opts, serial)
  if not (clock and sleep) then bad("opts.clock and opts.sleep: none found") end
  return setmetatable({
    device = device,
    -- han.decode's: the lines are a D0 telegram (list = "D0")
    decode_opts = { zone = opts.zone, scale = opts.scale, protocol = "d0" },
    port = not device and port or nil, serial = serial,
    clock = clock, sleep = sleep, speed = speed or (not device and "0" or nil),
    interval = interval, reply = reply, budget = budget,
    state = "idle", next_at = 0, failures = 0,
    stay = false,        -- the meter keeps 300 baud after the ACK (learnt)
    retried = false,     -- this readout has tried the other way already
    readouts = 0, errors = 0,
  }, Client)
end

------------------------------------------------------------------------------------
-- The line

-- Open the device at `baud` 7E1 (closing it first when it is open at another speed).
function Client:open(baud)
  if not self.device or (self.port and self.baud == baud) then return true end
  self:close()
  local ok, port, err = pcall(self.serial.open, self.device, { baudrate = baud,
    parity = "even", databits = 7, stopbits = 1, duplex = "full" })
  if not ok or not port then return nil, ok and err or port end
  if port.flush then port:flush() end
  self.port, self.baud = port, baud
  return true
end

-- One byte before `deadline` (and within this poll's budget): the byte, false on
-- timeout, or nil, err when the port failed.
function Client:byte(deadline, stop)
  local timeout = math.max(0.1, math.min(deadline, stop) - self.clock())
  local ok, data, err = pcall(self.port.read, self.port, 1, timeout)
  if not ok then return nil, tostring(data) end
  if type(data) == "string" and #data > 0 then return byte(data) end
  if err and not tostring(err):find("timeout") then return nil, tostring(err) end
  return false
end

function Client:write(s)
  local ok, n, err = pcall(self.port.write, self.port, s)
  if not ok then return nil, tostring(n) end
  if not n then return nil, tostring(err) end
  return true
end

------------------------------------------------------------------------------------
-- Ends of a readout

-- A failed readout: nil, message, code; the next one after the back-off.
function Client:fail(msg, code)
  self.failures, self.errors = self.failures + 1, self.errors + 1
  self.last_error, self.last_code = msg, code
  local wait = math.min(self.interval * 2 ^ (self.failures - 1),
    math.max(self.interval, MAX_BACKOFF))
  self.next_at, self.state, self.retried = self.started + wait, "idle", false
  if code == "port" then self:close() end
  return nil, msg, code
end

function Client:done(r)
  self.failures, self.readouts = 0, self.readouts + 1
  self.next_at, self.state, self.retried = self.started + self.interval, "idle", false
  return r
end

------------------------------------------------------------------------------------
-- States: each reads or waits until its step is done or the poll's time is up, and
-- returns what poll() returns, or nothing to go on.

local step = {}

function step.idle(self, now, stop)
  if now < self.next_at then
    self.sleep(math.min(stop, self.next_at) - now)
    return
  end
  self.started = now
  local ok, err = self:open(300)
  if not ok then return self:fail(tostring(err), "port") end
  if self.port.flush then self.port:flush() end      -- noise and late bytes before asking
  ok, err = self:write(REQUEST)
  if not ok then return self:fail(err, "port") end
  self.line, self.deadline, self.state = {}, self.clock() + self.reply, "ident"
end

-- After the identification: the ACK, and the meter's speed.
local function acknowledge(self, ident)
  local offer = ident:match("^%a%a%a(.)")
  if not BAUD[offer] then
    return self:fail("not a mode C identification: /" .. ident, "unsupported_mode")
  end
  local letter = self.speed or offer
  self.switch = self.device ~= nil and letter ~= "0"    -- could and should follow
  self.sleep(REACTION)
  local ok, err = self:write("\6" .. "0" .. letter .. "0\r\n")
  if not ok then return self:fail(err, "port") end
  if self.switch and not self.stay then
    -- the ACK's 6 characters at 300 baud leave before the port closes, and the meter
    -- switches some 200 ms after them
    self.sleep(6 * BITS / 300 + 0.02)
    ok, err = self:open(BAUD[letter])
    if not ok then return self:fail(tostring(err), "port") end
  end
  self.ident, self.block = ident, nil
  self.deadline, self.state = self.clock() + self.reply, "block"
end

function step.ident(self, _, stop)
  local b, err = self:byte(self.deadline, stop)
  if b == nil then return self:fail(err, "port") end
  if not b then
    if self.clock() < self.deadline then return end
    return self:fail("no answer from the meter", "no_answer")
  end
  local line = self.line
  if #line == 0 and b ~= 47 then return end          -- noise before the '/'
  self.deadline = self.clock() + self.reply
  if b ~= LF then
    if #line == MAX_IDENT then
      return self:fail("identification too long", "bad_identification")
    end
    line[#line + 1] = char(b)
    return
  end
  local text = concat(line):gsub("\r$", "")
  self.line = {}
  if text == "/?!" then return end                   -- our request, echoed by the head
  return acknowledge(self, text:sub(2))
end

-- No data block, or a garbled one: the meter may have kept 300 baud after the ACK (an
-- L+G ZMD120 acknowledged "4" and stayed), or switched where we stayed. Once per
-- readout: let its answer pass at 300, then ask again the other way.
local function no_block(self, msg)
  if not self.switch or self.retried then return self:fail(msg, "no_block") end
  self.stay, self.retried = not self.stay, true
  local ok, err = self:open(300)
  if not ok then return self:fail(tostring(err), "port") end
  self.etx, self.drained = false, 0
  self.deadline, self.state = self.clock() + self.reply, "drain"
end

function step.block(self, _, stop)
  local b, err = self:byte(self.deadline, stop)
  if b == nil then return self:fail(err, "port") end
  local block = self.block
  if not b then
    if self.clock() < self.deadline then return end
    if not block then return no_block(self, "no data block from the meter") end
    return self:fail("the data block broke off", "no_end")
  end
  if not block then
    if b == STX then self.block, self.deadline = {}, self.clock() + self.reply end
    return                                           -- before STX: noise
  end
  self.deadline = self.clock() + self.reply
  if b ~= ETX and b ~= 13 and b ~= LF and (b < 32 or b > 126) then
    return no_block(self, "a garbled data block")
  end
  if #block == MAX_BLOCK then return self:fail("data block too long", "too_long") end
  block[#block + 1] = char(b)
  if b == ETX then self.state = "bcc" end
end

function step.bcc(self, _, stop)
  local b, err = self:byte(self.deadline, stop)
  if b == nil then return self:fail(err, "port") end
  if not b then
    if self.clock() < self.deadline then return end
    return self:fail("no BCC after the data block", "no_end")
  end
  local block = concat(self.block)
  local want = bcc(block)
  if b ~= want then
    return self:fail(format("bad BCC %02X (the block gives %02X)", b, want), "bad_bcc")
  end
  self.baudrate = self.baud or BAUD[self.speed]
  local r, msg, code = decode("/" .. self.ident .. "\r\n\r\n" .. block:sub(1, -2),
    self.decode_opts)
  if not r then return self:fail(msg, code) end
  return self:done(r)
end

-- The rest of the meter's answer passes (to its BCC, a silence, or MAX_BLOCK bytes);
-- then a new request at once.
function step.drain(self, _, stop)
  local b, err = self:byte(self.deadline, stop)
  if b == nil then return self:fail(err, "port") end
  if b then
    self.deadline, self.drained = self.clock() + self.reply, self.drained + 1
    if not self.etx and self.drained < MAX_BLOCK then
      self.etx = b == ETX
      return
    end
  elseif self.clock() < self.deadline then
    return
  end
  self.state, self.next_at = "idle", 0
end

------------------------------------------------------------------------------------

-- poll() -> reading, or nil (nothing yet), or nil, message, code when a readout failed
-- (codes: no_answer, no_block, no_end, bad_bcc, too_long, bad_identification,
-- unsupported_mode, port, and han.decode's). About `timeout` seconds of work at most.
function Client:poll()
  local stop = self.clock() + self.budget
  while true do
    local now = self.clock()
    if now >= stop then return nil end
    local r, err, code = step[self.state](self, now, stop)
    if r or err then return r, err, code end
  end
end

-- read() -> the next readout's reading, or nil, message, code.
function Client:read()
  while true do
    local r, err, code = self:poll()
    if r or err then return r, err, code end
  end
end

function Client:stats()
  return { readouts = self.readouts, errors = self.errors, last_error = self.last_error,
    last_code = self.last_code, ident = self.ident, baudrate = self.baudrate,
    keeps_300 = self.stay }
end

-- Close the device (a port object given is the caller's to close).
function Client:close()
  if self.device and self.port then pcall(self.port.close, self.port) end
  if self.device then self.port, self.baud = nil, nil end
end

return M
