-- han.capacity's state file under failure: a full disk, bad values, an oversized or
-- hand-edited file, and two processes writing the same file.
local capacity = require("han.outputs.capacity")
local cjson = require("cjson.safe")
local support = require("support.capacity")
local H = require("helpers")

local LUA = jit and "luajit" or "lua" .. _VERSION:sub(5)
local ENOSPC = "No space left on device"
local oslo, run = support.oslo, support.run

local sh = H.sh

local function execute(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

local read, write = H.file_text, H.write_file

local function files(dir)
  local out = {}
  for name in sh("ls -A " .. dir):gmatch("[^\n]+") do out[#out + 1] = name end
  table.sort(out)
  return out
end

local count = require("support.capacity").count

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

-- Every number in a decoded value, for checking that none is inf or NaN.
local function numbers(v, out)
  out = out or {}
  if type(v) == "number" then out[#out + 1] = v
  elseif type(v) == "table" then
    for _, x in pairs(v) do numbers(x, out) end
  end
  return out
end

-- The state file's peak values, in file order.
local function saved_peaks(path)
  local t = assert(cjson.decode(read(path) or ""))
  local values = {}
  for i, p in ipairs(t.peaks) do values[i] = type(p) == "table" and p.value or "hole" end
  return values
end

-- io.open replaced so that files opened for writing fail at `step` as on a full disk:
-- "write" fails with half the text on disk; "flush" fails and nothing reaches the disk
-- (so close fails too); "close" fails after the data was flushed.
local function fail_writes_at(step)
  local real_open = io.open
  io.open = function(path, mode) -- luacheck: ignore 122
    local f, err, code = real_open(path, mode)
    if not f or mode ~= "wb" then return f, err, code end
    local pending = {}
    local h = {}
    local function flush()
      if step == "flush" then return nil, ENOSPC, 28 end
      f:write(table.concat(pending))
      pending = {}
      return f:flush()
    end
    function h.write(_, s)
      if step == "write" then
        f:write(s:sub(1, math.floor(#s / 2)))
        return nil, ENOSPC, 28
      end
      pending[#pending + 1] = s
      return h
    end
    function h.flush() return flush() end
    function h.close()
      local ok = flush()
      f:close()
      if not ok or step == "close" then return nil, ENOSPC, 28 end
      return true
    end
    function h.seek(_, ...) return f:seek(...) end
    return h
  end
  return function() io.open = real_open end -- luacheck: ignore 122
end

describe("han.capacity state file", function()
  local dir, path, log, said
  before_each(function()
    dir = sh("mktemp -d")
    path = dir .. "/state.json"
    log, said = support.new()
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  -- A state with one January peak of 5 kW, saved; returns the capacity.
  local function with_one_peak()
    local cap = capacity.new({ state = path, log = log })
    run(cap, oslo(2024, 1, 2, 8), oslo(2024, 1, 2, 9, 5), 5)
    assert.are.same({ 5 }, saved_peaks(path))
    return cap
  end

  for _, step in ipairs({ "write", "flush", "close" }) do
    it("keeps the last good state when " .. step .. " fails (disk full)", function()
      local cap = with_one_peak()
      local good = read(path)
      local restore = fail_writes_at(step)
      local ok, err = pcall(function()
        run(cap, oslo(2024, 1, 3, 8), oslo(2024, 1, 5, 9, 5), 7)   -- many saves
      end)
      restore()
      assert(ok, err)
      assert.are.equal(good, read(path))
      assert.are.equal(0, count(files(dir), "tmp"))
      assert.are.equal(1, count(said, "cannot save state: " .. ENOSPC))
      run(cap, oslo(2024, 1, 5, 9, 5), oslo(2024, 1, 5, 10, 5), 0)    -- space again
      assert.are.same({ 7, 7, 7 }, saved_peaks(path))
    end)
  end

  -- Mounts a 16 KiB tmpfs on `dir`, unmounted after the test (busted keeps one
  -- `finally` per test: the test adds none); false when not root.
  local function small_tmpfs()
    if sh("id -u") ~= "0" then
      pending("mounting a tmpfs needs root (CI runs as root)")
      return false
    end
    assert.is_true(execute("mount -t tmpfs -o size=16k tmpfs " .. dir))
    finally(function() execute("umount " .. dir) end)
    return true
  end

  local function fill(fs)
    local filler = assert(io.open(fs .. "/filler", "wb"))
    local full = false
    for _ = 1, 64 do                       -- 64 KiB: more than the filesystem holds
      local wrote = filler:write(string.rep("x", 1024))
      if not (wrote and filler:flush()) then full = true; break end
    end
    filler:close()
    assert.is_true(full)
  end

  it("keeps the last good state on a full tmpfs", function()
    if not small_tmpfs() then return end
    local cap = with_one_peak()
    local good = read(path)
    fill(dir)
    run(cap, oslo(2024, 1, 3, 8), oslo(2024, 1, 5, 9, 5), 7)
    assert.are.equal(good, read(path))
    assert.are.equal(0, count(files(dir), "tmp"))
    assert.are.equal(1, count(said, "cannot save state: " .. ENOSPC))
    os.remove(dir .. "/filler")
    run(cap, oslo(2024, 1, 5, 9, 5), oslo(2024, 1, 5, 10, 5), 0)
    assert.are.same({ 7, 7, 7 }, saved_peaks(path))
  end)

  it("reports every failed save on a full tmpfs, also once the saves are compiled", function()
    if not small_tmpfs() then return end
    -- In a fresh process, so that what LuaJIT compiles depends on this loop alone: it
    -- saves 600 times, and the disk fills after 300 saves. Prints how many saves on the
    -- full disk reported success, and whether the state file changed.
    local script = os.tmpname()
    write(script, [[
      local store = require("han.outputs.capacity").file_store(arg[1] .. "/state.json")
      local state = { version = 1, rule = "norway", peaks = {} }
      local good, reported
      for i = 1, 600 do
        if i == 301 then
          local f = io.open(arg[1] .. "/state.json", "rb")
          good, reported = f:read("*a"), 0
          f:close()
          f = io.open(arg[1] .. "/filler", "wb")
          for _ = 1, 64 do
            if not (f:write(string.rep("x", 1024)) and f:flush()) then break end
          end
          f:close()
        end
        if store.save(state) and reported then reported = reported + 1 end
      end
      local f = io.open(arg[1] .. "/state.json", "rb")
      io.write(reported, " ", f:read("*a") == good and "kept" or "changed")
    ]])
    local out = sh(LUA .. " " .. script .. " " .. dir .. " 2>&1")
    os.remove(script)
    assert.are.equal("0 kept", out)
  end)

  it("refuses readings with non-finite or negative values; its state never holds them",
    function()
      local cap = capacity.new({ state = path, log = log })
      local t0 = oslo(2024, 1, 2, 8)
      local bad = {
        { power_import = math.huge }, { power_import = -math.huge }, { power_import = 0 / 0 },
        { power_import = -500 }, { power_import = 1e300 }, { energy_import = math.huge },
        { energy_import = 0 / 0 }, { energy_import = -1 }, { meter_time = 0 / 0 },
        { meter_time = math.huge }, { meter_time = 1e300 },
      }
      for i, r in ipairs(bad) do
        -- a good reading, then a bad one, every ten seconds for 20 minutes
        for t = t0 + (i - 1) * 1200, t0 + i * 1200 - 1, 20 do
          cap:push({ meter_time = t, power_import = 2000 })
          local reading = { meter_time = t + 10 }
          for k, v in pairs(r) do reading[k] = v end
          cap:push(reading)
        end
      end
      -- Said once per field, not per reading.
      assert.are.equal(3, count(said, "refused"))
      for _, field in ipairs({ "power_import", "energy_import", "meter_time" }) do
        assert.are.equal(1, count(said, "refused.*" .. field))
      end
      local rep = run(cap, t0 + 4 * 3600, t0 + 4 * 3600 + 200, 2)
      for _, v in pairs(rep) do
        if type(v) == "number" then assert.is_true(finite(v)) end
      end
      for _, v in ipairs(numbers(assert(cjson.decode(read(path) or "")))) do
        assert.is_true(finite(v) and v >= 0)
      end
      assert.are.same({ 2 }, saved_peaks(path))
      -- The store itself refuses what JSON cannot hold, before touching the disk.
      local ok, err = capacity.file_store(path).save({ peaks = { 0 / 0 } })
      assert.is_nil(ok)
      assert.matches("cannot encode", err)
      assert.are.same({ 2 }, saved_peaks(path))
      assert.are.same({ "state.json", "state.json.lock" }, files(dir))
    end)

  it("keeps the `count` highest of a longer or hand-edited peaks list", function()
    -- Saved with count = 6, edited by hand: unsorted, a hole, a day twice, an infinity,
    -- a running hour that does not add up.
    write(path, '{"version":1,"rule":"norway","month":"2024-01","period":1704614400,'
      .. '"energy":"lots","last_t":1704614400,"pending":{"start":"x"},'
      .. '"register":{"at":1704614400,"value":-5},"peaks":['
      .. '{"start":1704268800,"day":"2024-01-03","value":8},'
      .. '{"start":1704182400,"day":"2024-01-02","value":9},null,'
      .. '{"start":1704355200,"day":"2024-01-04","value":7},'
      .. '{"start":1704186000,"day":"2024-01-02","value":8.5},'
      .. '{"start":1704441600,"day":"2024-01-05","value":6},'
      .. '{"start":1704528000,"day":"2024-01-06","value":Infinity}]}')
    local cap = capacity.new({ state = path, log = log })
    local rep = cap:report()
    assert.are.same({ 9, 8, 7 }, { rep.capacity_peak_1, rep.capacity_peak_2, rep.capacity_peak_3 })
    assert.is_nil(rep.capacity_peak_4)
    assert.are.equal(8, rep.capacity_mean)
    run(cap, oslo(2024, 1, 7, 11), oslo(2024, 1, 7, 12, 5), 8.5)
    assert.are.same({ 9, 8.5, 8 }, saved_peaks(path))
    rep = capacity.new({ state = path, log = log }):report()
    assert.are.equal(8.5, rep.capacity_peak_2)
    -- The hole and the infinity were said once; the file saved since has neither.
    assert.are.equal(1, count(said, "dropped 2 corrupt"))
    assert.are.equal(1, count(said, "corrupt"))
  end)

  it("refuses a state file above 1 MiB without reading it (a 58 MB state)", function()
    local entry = '{"start":1704182400,"day":"2024-01-02","value":9.5}'
    local block = string.rep(entry .. ",", 20000)               -- 1 MiB
    local f = assert(io.open(path, "wb"))
    f:write('{"version":1,"rule":"norway","month":"2024-01","peaks":[')
    for _ = 1, 58 do f:write(block) end
    f:write(entry, "]}")
    assert.is_true(f:seek("end") > 58e6)
    f:close()
    collectgarbage("collect")
    collectgarbage("stop")              -- whatever new() allocates stays counted
    local kb, clock = collectgarbage("count"), os.clock()
    local cap = capacity.new({ state = path, log = log })
    local used_kb, cpu = collectgarbage("count") - kb, os.clock() - clock
    collectgarbage("restart")
    assert.is_true(used_kb < 1024, used_kb .. " KiB")
    assert.is_true(cpu < 0.5, cpu .. " s")
    assert.matches("too large", said[1])
    assert.is_nil(cap:report().capacity_peak_1)
  end)

  it("loads a state file just under the limit in bounded time, trimmed", function()
    local entries = {}
    for i = 1, 18000 do
      entries[i] = ('{"start":%d,"day":"2024-01-%02d","value":%d}')
        :format(1704067200 + i * 3600, i % 28 + 1, i % 1000)
    end
    write(path, '{"version":1,"rule":"norway","month":"2024-01","peaks":['
      .. table.concat(entries, ",") .. "]}")
    assert.is_true(#read(path) < 1024 * 1024)
    local clock = os.clock()
    local rep = capacity.new({ state = path, log = log }):report()
    assert.is_true(os.clock() - clock < 1)
    assert.are.same({ 999, 999, 999 },
      { rep.capacity_peak_1, rep.capacity_peak_2, rep.capacity_peak_3 })
    assert.is_nil(rep.capacity_peak_4)
  end)

  it("two processes on one file: a reader never sees it empty, the second is refused",
    function()
      local script, stop = dir .. "/writer.lua", dir .. "/stop"
      -- Saves in a loop until told to stop; prints its pid, saves, refusals, last reason.
      write(script, [[
        local pid = io.open("/proc/self/stat"):read("*n")
        local store = require("han.outputs.capacity").file_store(arg[1])
        local t = { version = 1, rule = "norway", peaks = {} }
        for i = 1, 50 do t.peaks[i] = { start = i, day = "2024-01-01", value = i } end
        local saved, refused, why = 0, 0, ""
        local deadline = os.time() + 30
        while not io.open(arg[2]) and os.time() < deadline do
          local ok, err = store.save(t)
          if ok then saved = saved + 1 else refused = refused + 1; why = err end
        end
        io.write(pid, " ", saved, " ", refused, " ", why)
      ]])
      local writers = {}
      for i = 1, 2 do
        writers[i] = io.popen(LUA .. " " .. script .. " " .. path .. " " .. stop .. " 2>&1")
      end
      for _ = 1, 100 do
        if read(path) then break end
        execute("sleep 0.05")
      end
      local bad = 0
      for _ = 1, 5000 do
        if type(cjson.decode(read(path) or "")) ~= "table" then bad = bad + 1 end
      end
      write(stop, "")
      local results = {}
      for i = 1, 2 do
        local out = writers[i]:read("*a")
        writers[i]:close()
        local pid, saved, refused, why = out:match("^(%d+) (%d+) (%d+) ?(.*)$")
        assert(pid, out)
        results[i] = { pid = pid, saved = tonumber(saved), refused = tonumber(refused),
          why = why }
      end
      assert.are.equal(0, bad)
      table.sort(results, function(a, b) return a.refused < b.refused end)
      local winner, loser = results[1], results[2]
      assert.are.equal(0, winner.refused)
      assert.is_true(winner.saved > 10)
      assert.is_true(loser.refused > 10)
      assert.matches("in use by process " .. winner.pid, loser.why)
      assert.are.same({ "state.json", "state.json.lock", "stop", "writer.lua" }, files(dir))
    end)

  it("takes over the lock of a process that is gone", function()
    local dead = sh("sh -c 'echo $$'")           -- a pid no longer running
    local me = io.open("/proc/self/stat"):read("*n")
    for _, holder in ipairs({ dead .. " 1", me .. " 1" }) do  -- 1: not our start time
      write(path .. ".lock", holder .. "\n")
      local cap = capacity.new({ state = path, log = log })
      run(cap, oslo(2024, 1, 2, 8), oslo(2024, 1, 2, 9, 5), 5)
      assert.are.same({ 5 }, saved_peaks(path))
      assert.matches("^" .. me .. " ", read(path .. ".lock"))
      os.remove(path)
    end
    assert.are.equal(0, count(said, "cannot save"))
  end)
end)
