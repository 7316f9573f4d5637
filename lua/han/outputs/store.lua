-- han.outputs.store: where han.capacity keeps its state across restarts. A store is
-- {load() -> table | nil, why; save(t) -> true | nil, err}.
local M = {}

local MAX_STATE_BYTES = 1024 * 1024   -- a state is a few KiB: a larger file is not one

-- JSON for the state file: cjson on desktops, LogicMachine's json elsewhere.
local function json_codec()
  local ok, cjson = pcall(require, "cjson.safe")
  if ok then return cjson end
  ok, cjson = pcall(require, "json")
  if ok then return cjson end
  return nil
end

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

return M
