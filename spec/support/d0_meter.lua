-- A simulated IEC 62056-21 meter on one end of a socat pty pair, for spec/d0_spec.lua.
-- Usage: lua d0_meter.lua DIR MODE
-- DIR holds `meter` (its end of the pty pair), `ident` (the identification without "/"
-- and CR LF) and `data` (the data block's text, without STX and ETX). The meter notes
-- what it does in DIR/log, one line each. MODE:
--   switch  mode C, answers at the speed the ACK asks for
--   stayN   mode C, keeps 300 baud whatever the ACK asks for (as an L+G ZMD120 did)
--           for its first N blocks (all when N is left out), then follows
--   badbcc  mode C as switch, with a wrong BCC
--   silent  never answers
--   push    mode D: "/ident" CR LF and the data (the rest of the telegram) every
--           second, at 9600
--
-- A pty passes bytes at any speed and forgets parity, so the line is emulated here:
-- a character takes 10 bit times (7E1) at the meter's speed; and where the reader's
-- port is at another speed than the meter (DIR/line: the spec's serial module writes
-- the speed there at every open) a character arrives as a NUL, as Linux reads one
-- with a framing error, and what the reader sends is lost.
package.path = "spec/?.lua;" .. package.path
local serial = require("han.serial")
local xor = require("helpers").xor   -- the spec checks han.d0's BCC against it

local dir, mode = arg[1], arg[2]
local BITS = 10
local BAUD = { ["0"] = 300, ["1"] = 600, ["2"] = 1200, ["3"] = 2400, ["4"] = 4800,
  ["5"] = 9600, ["6"] = 19200 }

local function slurp(name)
  local f = assert(io.open(dir .. "/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local ident, data = slurp("ident"), slurp("data")
local log = assert(io.open(dir .. "/log", "a"))
local function note(what) log:write(("%.3f %s\n"):format(serial.clock(), what)); log:flush() end

local function reader_baud()
  local f = io.open(dir .. "/line", "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return tonumber(s)
end

local port = assert(serial.open(dir .. "/meter", { baudrate = 300, parity = "even",
  databits = 7 }))
local baud = mode == "push" and 9600 or 300
note("ready")

local function send(s)
  local t = serial.clock()
  for i = 1, #s do
    local wait = t - serial.clock()
    if wait > 0 then serial.sleep(wait) end
    assert(port:write(reader_baud() == baud and s:sub(i, i) or "\0"))
    t = t + BITS / baud
  end
end

-- A line the reader sent (CR LF cut off), or nil after `timeout` seconds. Then the
-- time its characters take on a real line, which a pty does not.
local function receive(timeout)
  local line, stop = {}, serial.clock() + timeout
  while true do
    local c = port:read(1, math.max(0, stop - serial.clock()))
    if not c then return nil end
    if reader_baud() == baud then
      if c == "\n" then
        serial.sleep((#line + 1) * BITS / baud)
        return (table.concat(line):gsub("\r$", ""))
      end
      line[#line + 1] = c
    end
  end
end

if mode == "push" then
  while true do
    send("/" .. ident .. "\r\n" .. data)
    note("telegram")
    serial.sleep(1)
  end
end

local stays = mode:match("^stay(%d*)$")
stays = stays and (tonumber(stays) or math.huge)
local blocks = {}
while true do
  local request = receive(3600)
  if request and request:find("^/%?.*!$") then
    note("request")
    if mode ~= "silent" then
      serial.sleep(0.2)                              -- the meter's reaction time
      send("/" .. ident .. "\r\n")
      local ack = receive(2)
      if ack and ack:find("^\6[0-9][0-6][0-9]$") then
        note("ack " .. ack:sub(2))
        serial.sleep(0.2)                            -- then it switches speed
        if not stays or #blocks >= stays then baud = BAUD[ack:sub(3, 3)] end
        local body, bcc = data .. "\3", 0
        for i = 1, #body do bcc = xor(bcc, body:byte(i)) end
        if mode == "badbcc" then bcc = xor(bcc, 0x20) end
        blocks[#blocks + 1] = baud
        note(("block %d, reader at %s"):format(baud, tostring(reader_baud())))
        send("\2" .. body .. string.char(bcc))
        note("sent")
        baud = 300
      end
    end
  end
end
