-- A user's first hour with the `han` command: nothing fails silently, every option does
-- what its help says, mistakes get one line and an exit code. Run as a person would:
-- real processes, a socat pty, a local TCP server, signals.
local H = require("helpers")
local han = require("han")
local pty_support = require("support.pty")

local LUA = jit and "luajit" or "lua" .. _VERSION:sub(5)
local STREAMS = H.vectors_dir .. "/streams/"
local clock, sleep = pty_support.serial.clock, pty_support.serial.sleep

local dir = H.sh("mktemp -d")
local n = 0
local function tmp(name)
  n = n + 1
  return dir .. "/" .. n .. "-" .. (name or "f")
end

local write, lines, run = H.write_file, H.lines, H.run
local function read(path) return H.file_text(path) or "" end

local function han_cmd(args, env)
  return run((env or "") .. " " .. LUA .. " bin/han " .. args)
end

-- A command in the background; its stdout and stderr in files.
local function start(args, env)
  local out, err = tmp("out"), tmp("err")
  local p = io.popen(("sh -c '%s %s bin/han %s > %s 2> %s & echo $!'")
    :format(env or "", LUA, args, out, err))
  local pid = p:read("*l")
  p:close()
  return { pid = pid, out = out, err = err }
end

local function wait_for(fn, seconds)
  local stop = clock() + (seconds or 5)
  repeat
    local v = fn()
    if v then return v end
    sleep(0.02)
  until clock() > stop
  return nil
end

-- A background command that writes its exit code when it ends (the shell that started
-- it is gone, so `wait` cannot); pid is the interpreter's own.
local function start_with_code(args, env)
  local out, err, rc, pidfile = tmp("out"), tmp("err"), tmp("rc"), tmp("pid")
  local inner = ("echo \\$\\$ > %s; %s exec %s bin/han %s"):format(pidfile, env or "", LUA, args)
  os.execute(("sh -c '(sh -c \"%s\" > %s 2> %s; echo $? > %s) &'"):format(inner, out, err, rc))
  local pid = wait_for(function()
    local v = read(pidfile)
    return v:find("\n") and v:match("%d+")
  end)
  return { pid = pid, out = out, err = err, rc = rc }
end
local function exit_code(proc, seconds)
  local s = wait_for(function()
    local v = read(proc.rc)
    return v ~= "" and v
  end, seconds)
  return s and tonumber(s)
end

local function frames_of(path, max)
  local out = {}
  for frame in han.core.framer():frames(read(path)) do
    if #out < (max or math.huge) then out[#out + 1] = frame end
  end
  return out
end

local function kill(proc, sig)
  os.execute("kill -" .. (sig or "KILL") .. " " .. proc.pid .. " 2>/dev/null")
end

teardown(function() os.execute("rm -rf " .. dir) end)

describe("han, a user's first hour:", function()
  describe("the live commands say why nothing comes", function()
    local pty
    before_each(function()
      pty = pty_support.new()
      pty:start()
    end)
    after_each(function() pty:cleanup() end)

    -- The meter side sends `frames`; han reads; the first stderr line and when it came,
    -- against when the first frame's last byte went out.
    local function first_words(args, frames, env)
      local proc = start_with_code("read " .. pty.reader .. " " .. args, env)
      finally(function() kill(proc) end)
      sleep(0.3)
      local log = pty:write(frames, 0.3, "meter")
      local said = wait_for(function()
        local e = read(proc.err)
        return e:find("\n") and e
      end, 8)
      local at = clock()
      local sent = tonumber(lines(read(log))[1])
      return said, at - sent, proc
    end

    it("a missing key: the message with the system title at once, then exit 5", function()
      local rec = H.record("encrypted.jsonl", "mbus")
      local frame = H.unhex(rec.hex)
      local said, after, proc = first_words("--protocol mbus", { frame, frame, frame, frame })
      assert.is_truthy(said)
      assert.matches("^han: no decryption key %(keys.key%) for system title " .. rec.system_title,
        said)
      assert.is_true(after < 1, "said " .. after .. " s after the frame")
      assert.are.equal(5, exit_code(proc, 10))
      assert.matches("give the meter's key with %-%-key%-file", read(proc.err))
      assert.are.equal("", read(proc.out))
    end)

    it("a wrong key: called a wrong key, exit 5", function()
      local rec = H.record("encrypted.jsonl", "mbus")
      local frame = H.unhex(rec.hex)
      local said, after, proc = first_words("--protocol mbus",
        { frame, frame, frame, frame }, "HAN_KEY=00112233445566778899AABBCCDDEEFF")
      assert.matches("^han: wrong decryption key %(or damaged frame%)", said)
      assert.is_true(after < 1, "said " .. after .. " s after the frame")
      assert.are.equal(5, exit_code(proc, 10))
      assert.matches("check the key in %-%-key%-file", read(proc.err))
    end)

    it("every checksum bad (parity, baud): frames arrive but none decode", function()
      local frames = frames_of(STREAMS .. "KFM_001-MA304H3E-1-ok.bin", 4)
      for i, f in ipairs(frames) do frames[i] = f:sub(1, 10) .. "\0" .. f:sub(12) end
      local said, after = first_words("", frames)
      assert.matches("^han: frames arrive but none decode: 1 bad %(FCS 1, HCS 0, length 0%)",
        said)
      assert.matches("check parity and baud %(Aidon and Kaifa send 8E1", said)
      assert.is_true(after < 1, "said " .. after .. " s after the frame")
    end)

    it("the port lost and back", function()
      local proc = start("read " .. pty.reader)
      finally(function() kill(proc) end)
      sleep(0.3)
      pty:stop()
      assert.is_truthy(wait_for(function() return read(proc.err):find("trying again") end),
        read(proc.err))
      assert.matches("^han: " .. pty.reader:gsub("%p", "%%%0") .. ": .*%(trying again in 1 s%)",
        read(proc.err))
      pty:start()
      assert.is_truthy(wait_for(function() return read(proc.err):find("is back after") end, 8),
        read(proc.err))
      local frames = frames_of(STREAMS .. "KFM_001-MA304H3E-1-ok.bin", 2)
      pty:write(frames, 0.05, "again")
      assert.is_truthy(wait_for(function() return #lines(read(proc.out)) == 2 end))
    end)

    it("opens the port at the protocol's speed unless --baud says otherwise", function()
      local function speed(args)
        local proc = start("read " .. pty.reader .. " " .. args)
        sleep(0.5)
        local _, out = run("stty -F " .. pty.reader .. " speed")
        kill(proc)
        return tonumber(out)
      end
      assert.are.equal(115200, speed("--protocol p1"))
      assert.are.equal(115200, speed("--protocol P1"))
      assert.are.equal(2400, speed(""))
      assert.are.equal(9600, speed("--protocol p1 --baud 9600"))
      -- (a pty keeps the speed but not the parity and data bits: d0_spec checks 7E1)
      assert.are.equal(9600, speed("--protocol sml"))
      assert.are.equal(9600, speed("--protocol d0"))
      assert.are.equal(4800, speed("--protocol d0 --baud 4800"))
    end)



    it("one Ctrl-C (or SIGTERM) ends read and watch at once, cleanly", function()
      for _, cmd in ipairs({ "read", "watch", "read" }) do
        local proc = start_with_code(cmd .. " " .. pty.reader)
        finally(function() kill(proc) end)
        sleep(0.4)
        local t = clock()
        kill(proc, cmd == "watch" and "TERM" or "INT")
        assert.are.equal(0, exit_code(proc, 3))
        assert.is_true(clock() - t < 1.5)
        assert.are.equal("", read(proc.err))
      end
    end)

    it("takes --zone, --scale and --cr-lf on live commands", function()
      local frame, plain
      for _, f in ipairs(frames_of(STREAMS .. "KFM_001-MA304H3E-4-ok.bin")) do
        local r = han.decode(f)
        if r and r.current_l1 and f:find("\n") then frame, plain = f, r; break end
      end
      assert.is_truthy(frame)
      local frames = { [2] = frame }
      local proc = start("read " .. pty.reader .. " --scale current=40,power=40 --zone CET"
        .. " --cr-lf")
      finally(function() kill(proc) end)
      sleep(0.3)
      -- an adapter that puts 0D before every 0A
      pty:write({ (frames[2]:gsub("\n", "\r\n")) }, 0.05, "crlf")
      local got = wait_for(function() return lines(read(proc.out))[1] end)
      assert.is_truthy(got, read(proc.err))
      local r = H.json_decode(got)
      assert.is_true(math.abs(r.current_l1 - 40 * plain.current_l1) < 1e-9)
      assert.are.equal(40 * plain.power_import, r.power_import)
    end)
  end)

  describe("optical ports", function()
    local pty, sim = nil, require("support.d0_sim")
    before_each(function()
      pty = pty_support.new()
      pty:start()
    end)
    after_each(function()
      sim.stop(pty)
      pty:cleanup()
    end)

    -- Lines of an L+G ZMD405 readout (d0-examples.md): short, as 300 baud is slow.
    local ZMD405 = { ident = "LGZ5\\2ZMD4054459.B40",
      data = "C.1.0(54800102)\r\n1.8.1(0302.8260*kWh)\r\n!\r\n" }

    it("read --protocol d0-readout asks every --interval seconds and prints each", function()
      -- asked for at 300 baud (--baud 300: ACK 0 0 0), the speed the meter sees us at
      sim.start(pty, "switch", ZMD405, 300)
      local proc = start("read " .. pty.reader .. " --protocol d0-readout --baud 300"
        .. " --interval 3")
      finally(function() kill(proc) end)
      local got = wait_for(function()
        local l = lines(read(proc.out))
        return #l >= 2 and l
      end, 12)
      assert.is_truthy(got, read(proc.err))
      local r = H.json_decode(got[1])
      assert.are.equal("D0", r.list)
      assert.are.equal("54800102", r.meter_id)
      assert.are.equal(302.826, r.energy_import_t1)
      assert.are.same(r, H.json_decode(got[2]))
      local acks = sim.logged(pty, "^ack 000$")
      assert.is_true(#acks >= 2)
      local gap = acks[2][1] - acks[1][1]
      assert.is_true(gap > 2.8 and gap < 3.5, "readouts " .. gap .. " s apart")
      assert.are.equal("", read(proc.err))
    end)

    it("watch --protocol d0-readout shows readouts", function()
      sim.start(pty, "switch", ZMD405, 300)
      local proc = start("watch " .. pty.reader .. " --protocol d0-readout --baud 300")
      finally(function() kill(proc) end)
      assert.is_truthy(wait_for(function()
        return read(proc.out):find("54800102 power nil W readouts 1 bad 0\n", 1, true)
      end, 8), read(proc.out) .. read(proc.err))
    end)

    it("read --protocol d0-readout says a meter that does not answer", function()
      sim.start(pty, "silent", ZMD405, 300)
      local quiet = start("read " .. pty.reader .. " --protocol d0-readout")
      finally(function() kill(quiet) end)
      assert.is_truthy(wait_for(function()
        return read(quiet.err) == "han: no answer from the meter\n"
      end, 6), read(quiet.err))
    end)

    it("read --protocol d0 reads a mode D push", function()
      local q3d = H.record("p1.jsonl", "p1-de-easymeter-q3db1024-dsmr_parser").text
      local ident, rest = q3d:match("^/([^\r]*)\r\n(.*)$")
      sim.start(pty, "push", { ident = ident, data = rest }, 9600)
      local proc = start("read " .. pty.reader .. " --protocol d0")
      finally(function() kill(proc) end)
      local got = wait_for(function() return lines(read(proc.out))[1] end, 5)
      assert.is_truthy(got, read(proc.err))
      local r = H.json_decode(got)
      assert.are.equal("D0", r.list)
      assert.are.equal("1ESY1313002565", r.meter_id)
    end)

    -- The Holley DTZ541's transmissions in its IR-head capture.
    local function holley()
      local frames = {}
      for f in han.core.framer({ protocol = "sml" }):frames(
        read(STREAMS .. "sml/holley_dtz541_zdba_4k.bin")) do
        frames[#frames + 1] = f
      end
      assert.are.equal(7, #frames)
      return frames
    end

    it("watch --protocol sml shows an SML meter's power and the frames", function()
      local proc = start("watch " .. pty.reader .. " --protocol sml")
      finally(function() kill(proc) end)
      sleep(0.3)
      local frames = holley()
      pty:write({ frames[1] }, 0.05, "sml")
      local r = han.decode(frames[1])
      assert.is_truthy(wait_for(function()
        return read(proc.out):find(("%s power %s W frames 1 bad 0\n"):format(r.meter_id,
          tostring(r.power_import)), 1, true)
      end, 5), read(proc.out) .. read(proc.err))
    end)

    it("read --protocol sml reads an SML push", function()
      local sml = start("read " .. pty.reader .. " --protocol sml")
      finally(function() kill(sml) end)
      sleep(0.3)
      local frames = holley()
      pty:write({ frames[1], frames[2] }, 0.05, "sml")
      local got = wait_for(function()
        local l = lines(read(sml.out))
        return #l == 2 and l
      end, 8)
      assert.is_truthy(got, read(sml.err))
      local r = H.json_decode(got[2])
      assert.are.equal("SML", r.list)
      assert.are.equal("Holley", r.vendor)
      assert.are.same(han.decode(frames[2]).voltage_l1, r.voltage_l1)
    end)
  end)

  describe("network sources", function()
    local server
    local function serve(path)
      math.randomseed(os.time() + math.floor(clock() * 1000))
      for _ = 1, 10 do
        local port = math.random(20000, 60000)
        local log = tmp("socat")
        -- every connection gets the capture from its start, then the server closes it
        local p = io.popen(("sh -c 'socat -U TCP-LISTEN:%d,reuseaddr,fork,bind=127.0.0.1"
          .. " OPEN:%s 2> %s & echo $!'"):format(port, path, log))
        server = { pid = p:read("*l"), port = port }
        p:close()
        if wait_for(function()
          local code = run("socat -u /dev/null TCP:127.0.0.1:" .. port)
          return code == 0
        end, 2) then return port end
        kill(server)
      end
      error("no TCP server")
    end
    after_each(function() if server then kill(server) end end)

    it("reads tcp://host:port like a device, reconnecting when the server closes", function()
      local port = serve(STREAMS .. "KFM_001-MA304H3E-1-ok.bin")
      local proc = start("read tcp://127.0.0.1:" .. port)
      finally(function() kill(proc) end)
      -- 14 readings, the server closes, han reconnects and the capture plays again
      local got = wait_for(function() return #lines(read(proc.out)) >= 28 end, 8)
      assert.is_truthy(got, read(proc.err))
      assert.are.equal("Kaifa", H.json_decode(lines(read(proc.out))[1]).vendor)
      assert.matches("connection to 127.0.0.1:" .. port .. " closed", read(proc.err))
    end)

    it("gives han.reader and han watch a tcp:// source with the same reconnect", function()
      local port = serve(STREAMS .. "KFM_001-MA304H3E-1-ok.bin")
      local reader = han.reader({ port = "tcp://127.0.0.1:" .. port })
      local got, stop = 0, clock() + 8
      while got < 28 and clock() < stop do
        if reader:poll() then got = got + 1 end
      end
      reader:close()
      assert.are.equal(28, got)
      assert.are.equal(1, reader:stats().reconnects)
      local proc = start("watch tcp://127.0.0.1:" .. port)
      finally(function() kill(proc) end)
      assert.is_truthy(wait_for(function()
        return read(proc.out):find("6970631400000066 power %d+ W frames")
      end), read(proc.err))
    end)

    it("shows the running period and the guard's shed loads in han watch on a terminal",
      function()
        local port = serve(STREAMS .. "KFM_001-MA304H3E-1-ok.bin")
        local out = tmp("screen")
        -- script(1) gives the command a terminal: watch draws its screen there
        local p = io.popen(("sh -c 'script -qfc \"%s bin/han watch tcp://127.0.0.1:%d"
          .. " --capacity norway --tiers 0.01,50 --guard-load heater:2\" /dev/null > %s 2>&1"
          .. " & echo $!'")
          :format(LUA, port, out))
        local proc = { pid = p:read("*l") }
        p:close()
        finally(function() kill(proc) end)
        -- a whole screen (down to the last counter) with the load shed: the step of
        -- 0.01 kW is below what the house draws
        local screen = wait_for(function()
          for drawn in read(out):gmatch("\27%[2J([^\27]*)") do
            if drawn:find("guard_shed +1") and drawn:find("reconnects") then return drawn end
          end
        end, 8)
        assert.is_truthy(screen, read(out))
        assert.matches("capacity_period +%d%d:%d%d%-%d%d:%d%d", screen)
        assert.matches("capacity_energy +[%d.]+ kWh", screen)
        assert.matches("capacity_forecast +[%d.]+ kWh", screen)
        assert.matches("capacity_budget +0.01 kWh", screen)
        assert.matches("capacity_target +0.01 kW", screen)
        assert.matches("capacity_headroom +%-?[%d.]+ kW", screen)
        assert.matches("shed heater +2 kW since %d%d:%d%d forecast", screen)
        assert.matches("power_import +%d+ W", screen)
      end)

    it("says a refused connection with exit 3", function()
      local code, _, err = han_cmd("read tcp://127.0.0.1:1")
      assert.are.equal(3, code)
      assert.are.equal("han: cannot connect to 127.0.0.1:1: connection refused\n", err)
    end)
  end)

  describe("han decode", function()
    it("frames M-Bus, P1 and HDLC alike and counts truly", function()
      local rec = H.record("encrypted.jsonl", "mbus")
      local key = write(tmp("key"), rec.encryption_key:gsub("..", "%0:"):sub(1, -2) .. "\n")
      local one = write(tmp("mbus1"), H.unhex(rec.hex))
      local code, out, err = han_cmd("decode --key-file " .. key .. " " .. one)
      assert.are.equal(0, code)
      assert.are.equal(1, #lines(out))
      assert.matches("1 readings; frames 2 good %(mbus%), 0 bad .* bytes 282 in, 0 skipped", err)
      local two = write(tmp("mbus2"), H.unhex(rec.hex) .. H.unhex(rec.hex))
      code, out = han_cmd("decode --key-file " .. key .. " " .. two)
      assert.are.equal(0, code)
      assert.are.equal(2, #lines(out))
      local texts = {}
      for i, t in ipairs(H.jsonl("p1.jsonl")) do
        if i <= 3 then texts[i] = t.text end
      end
      local p1 = write(tmp("p1"), table.concat(texts))
      code, out, err = han_cmd("decode " .. p1)
      assert.matches("frames 3 good %(p1%), 0 bad", err)
      assert.are.equal(0, code)
      assert.are.equal(3, #lines(out))
    end)

    it("streams its input within a bound: /dev/zero is no capture", function()
      -- memory capped at 400 MB (not under ASan, whose shadow memory needs terabytes of
      -- address space); time capped too: an unbounded read never ends
      local asan = (os.getenv("LD_PRELOAD") or ""):find("asan")
      local code, _, err = run((asan and "" or "ulimit -v 400000; ") .. "timeout 60 " .. LUA
        .. " bin/han decode /dev/zero")
      assert.are.equal(1, code)
      assert.are.equal("han: /dev/zero: no HAN frames found in the first 1048576 bytes\n", err)
    end)

    it("gives the same JSON lines as make demo", function()
      local capture = "examples/capture/kaifa-ma304h3e.bin"
      local _, demo = run("LUA_PATH='lua/?.lua;lua/?/init.lua;;' " .. LUA
        .. " examples/replay.lua " .. capture)
      local _, out = han_cmd("decode " .. capture)
      assert.is_true(#lines(out) > 10)
      assert.are.equal(out, demo)
      local make = read("Makefile"):match("\ndemo:[^\n]*\n(.-)\n\n")
      assert.matches("bin/han decode", make)
    end)

    it("exits 5 for frames it cannot decrypt", function()
      local one = write(tmp("mbus1"), H.unhex(H.record("encrypted.jsonl", "mbus").hex))
      local code, _, err = han_cmd("decode " .. one)
      assert.are.equal(5, code)
      assert.matches("no decryption key", err)
      code, _, err = han_cmd("decode " .. one, "HAN_KEY=00112233445566778899AABBCCDDEEFF")
      assert.are.equal(5, code)
      assert.matches("wrong decryption key", err)
    end)
  end)

  describe("mistakes get one line and exit 2", function()
    local function one_line(args, pattern, env)
      local code, out, err = han_cmd(args, env)
      assert.are.equal(2, code, args .. ": " .. err)
      assert.are.equal("", out)
      assert.are.equal(1, #lines(err), err)
      assert.matches("^han: ", err)
      assert.matches(pattern, err)
    end

    it("for inputs, options and key files", function()
      one_line("decode " .. dir, "Is a directory")
      one_line("decode " .. write(tmp("empty"), ""), "is empty")
      one_line("read /dev/null --baud fast", "%-%-baud: 'fast' is not")
      one_line("read /dev/null --tiers 2,x,10 --capacity norway", "%-%-tiers: '2,x,10'")
      one_line("read /dev/null --protocol p2", "%-%-protocol: 'p2' is not one of")
      one_line("decode x --protocol d0-readout", "%-%-protocol: 'd0%-readout' is not one of")
      one_line("read /dev/null --interval 5", "%-%-interval is for %-%-protocol d0%-readout")
      one_line("read tcp://127.0.0.1:1 --protocol d0-readout", "needs a serial device")
      one_line("read /dev/null --protocol d0-readout --parity none", "talks 7E1")
      one_line("read /dev/null --protocol d0-readout --baud 1000", "a mode C speed is 300")
      one_line("read /dev/null --zone Europe/Osl", "unknown time zone 'Europe/Osl'")
      one_line("read /dev/null --scale current=x", "%-%-scale")
      one_line("decode x --key-file " .. write(tmp("k"), "36C66639E48A8CA4D6BC8B\n"),
        "not a key %(32 hex digits")
      one_line("decode x --key-file " .. dir, "a directory")
      one_line("decode x", "not a key", "HAN_KEY=secret")
      one_line("decode /no/such/capture", "No such file")
    end)

    it("says no HAN frames are in a text file (exit 1), and takes keys with colons", function()
      local code, _, err = han_cmd("decode README.md")
      assert.are.equal(1, code)
      assert.matches("^han: README.md: no HAN frames found in %d+ bytes[^\n]*\n$", err)
      local rec = H.record("encrypted.jsonl", "mbus")
      local key = write(tmp("key"), rec.encryption_key:gsub("..", "%0 "):lower() .. "\n")
      code = han_cmd("decode --protocol MBUS --key-file " .. key .. " "
        .. write(tmp("m"), H.unhex(rec.hex)))
      assert.are.equal(0, code)
    end)

    it("--version says the version and the core", function()
      local code, out = han_cmd("--version")
      assert.are.equal(0, code)
      assert.matches("^han scm %((.-) core, ", out)
    end)
  end)

  describe("runs from anywhere", function()
    it("from the checkout's root and through a symlink, with no module paths set", function()
      local env = "env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u HAN_BACKEND"
      local code, out = run(env .. " " .. LUA .. " bin/han --help")
      assert.are.equal(0, code)
      assert.matches("Usage: han", out)
      local link = tmp("han")
      os.execute("ln -s \"$PWD/bin/han\" " .. link)
      local capture = io.popen("pwd"):read("*l") .. "/examples/capture/aidon-6515.bin"
      code, out = run("cd /tmp && " .. env .. " " .. LUA .. " " .. link .. " decode " .. capture)
      assert.are.equal(0, code)
      assert.are.equal("Aidon", H.json_decode(out).vendor)
    end)

    it("says a C module that is there but does not load, and what MQTT needs", function()
      -- an installed han: the command outside the checkout, its modules on the paths
      local stale = tmp("stale")
      os.execute("mkdir -p " .. stale .. "/han " .. stale .. "/bin && cp bin/han " .. stale
        .. "/bin/")
      write(stale .. "/han/core.so", "built for another Lua\n")
      local env = "env -u HAN_BACKEND LUA_CPATH='" .. stale .. "/?.so' LUA_PATH="
        .. "\"$PWD/lua/?.lua;$PWD/lua/?/init.lua;;\""
      local function han_cmd(args, e) -- luacheck: ignore 431
        return run(e .. " " .. LUA .. " " .. stale .. "/bin/han " .. args)
      end
      local code, out = han_cmd("--version", env)
      assert.are.equal(0, code)
      assert.matches("pure%-Lua core", out)
      assert.matches("warning: han.core %(" .. stale:gsub("%p", "%%%0")
        .. "/han/core.so%) does not load: ", out)
      local _, err
      code, _, err = han_cmd("mqtt /dev/null", env)
      assert.are.equal(6, code)
      assert.matches("han: MQTT needs a client library: han.mosquitto is not installed", err)
      write(stale .. "/han/mosquitto.so", "stale\n")
      code, _, err = han_cmd("mqtt /dev/null", env)
      assert.are.equal(6, code)
      assert.matches("han.mosquitto %(.-/han/mosquitto.so%) does not load", err)
    end)
  end)
end)
