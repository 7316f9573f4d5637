-- README.md says what holds: its meter matrix is proven by files that exist, its code
-- runs, its exit codes, zones, messages and Lua versions are the ones han has.
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)

local readme = H.read_file("README.md")

local function section(title)
  local start = assert(readme:find("\n## " .. title, 1, true), title)
  local stop = readme:find("\n## ", start + 4, true) or #readme
  return readme:sub(start, stop)
end

local function jsonl_ids()
  local ids = {}
  for _, name in ipairs({ "frames.jsonl", "p1.jsonl", "encrypted.jsonl", "sml.jsonl" }) do
    for _, rec in ipairs(H.jsonl(name)) do
      if rec.id then ids[#ids + 1] = rec.id end
    end
  end
  return ids
end

local function files(dir)
  local out, p = {}, io.popen("ls " .. dir)
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

-- A `pattern` with * as a shell glob, as a Lua pattern.
local function glob(s)
  return "^" .. s:gsub("[%-%.%+%[%]%(%)%$%^%%%?]", "%%%0"):gsub("%*", ".*") .. "$"
end

describe("README.md", function()
  it("proves every row of its meter matrix with files that exist", function()
    local matrix = section("What it reads")
    local ids = jsonl_ids()
    local streams, captures = files(H.vectors_dir .. "/streams"), files("examples/capture")
    for _, name in ipairs(files(H.vectors_dir .. "/streams/sml")) do
      streams[#streams + 1] = "sml/" .. name
    end
    local rows = 0
    for row in matrix:gmatch("\n(| [^\n]+ |)") do
      if not row:find("^| meter") and not row:find("^|%-") then
        rows = rows + 1
        local proofs = 0
        for token in row:match("[^|]+|[^|]+|[^|]+|[^|]+|([^|]+)|$"):gmatch("`([^`]+)`") do
          local pattern = glob(token:gsub("^streams/", ""):gsub("^examples/capture/", ""))
          local pool = token:find("^examples/capture/") and captures
            or token:find("%.bin$") and streams
            or token:find("%.jsonl$") and { "frames.jsonl", "p1.jsonl", "encrypted.jsonl",
              "sml.jsonl" }
            or ids
          local found = false
          for _, name in ipairs(pool) do
            if name:find(pattern) then found = true end
          end
          assert.is_true(found, token)
          proofs = proofs + 1
        end
        assert.is_true(proofs >= 1, row)
      end
    end
    assert.is_true(rows >= 10)
  end)

  it("names the maker each capture of the matrix decodes to", function()
    for _, c in ipairs({ { "aidon-6515.bin", "Aidon" }, { "kaifa-ma304h3e.bin", "Kaifa" },
      { "kamstrup-6841.bin", "Kamstrup" } }) do
      local framer, vendor = han.core.framer({ protocol = "auto" }), nil
      for frame in framer:frames(H.read_file("examples/capture/" .. c[1])) do
        local r = han.decode(frame)
        vendor = vendor or (r and r.vendor)
      end
      assert.are.equal(c[2], vendor)
      assert.matches("| " .. c[2], section("What it reads"), 1, true)
    end
  end)

  it("shows a capture loop that runs", function()
    local code = section("Reading a capture file"):match("```lua\n(.-)```")
    local printed = {}
    local env = setmetatable({ print = function(...) printed[#printed + 1] = { ... } end },
      { __index = _G })
    local chunk
    if rawget(_G, "setfenv") then
      chunk = assert(loadstring(code))
      setfenv(chunk, env)
    else
      chunk = assert(load(code, "readme", "t", env))
    end
    chunk()
    local last = printed[#printed]
    assert.are.equal("frames", last[2])
    assert.are.equal(#printed - 1, last[1])
    assert.is_true(last[1] > 10)
    assert.is_number(printed[1][2])
  end)

  it("lists the exit codes bin/han has", function()
    local exit = H.read_file("bin/han"):match("local EXIT = (%b{})")
    local codes = {}
    for n in exit:gmatch("= (%d+)") do codes[tonumber(n)] = true end
    local listed = {}
    for n in readme:gmatch("\n| (%d) | ") do listed[tonumber(n)] = true end
    listed[0] = nil
    assert.are.same(codes, listed)
  end)

  it("names exactly the time zones han.time knows", function()
    local text = section("Troubleshooting"):match("%*%*Time zones%.%*%*(.-)\n\n")
    local named = {}
    for z in text:gmatch("`([%w_/]+)`") do
      if z ~= "opts" then named[z] = true end
    end
    named["Europe/Oslo"] = true
    local known = {}
    for z in pairs(require("han.time").zones) do known[z] = true end
    assert.are.same(known, named)
  end)

  it("quotes the messages han prints", function()
    local reader = H.read_file("lua/han/reader.lua")
    for _, m in ipairs({ "frames arrive but none decode", "frames fail their checks",
      "bytes arrived and not one frame", "trying again in", "is back after" }) do
      assert.is_truthy(reader:find(m, 1, true), m)
      assert.is_truthy(section("Troubleshooting"):find(m, 1, true), m)
    end
  end)

  it("claims the Lua versions CI tests, and the licence the rockspec names", function()
    local runtimes = H.read_file("Makefile"):match("RUNTIMES %?= ([^\n]+)")
    assert.are.equal("lua5.1 lua5.4 luajit", runtimes)
    assert.matches("Tested on Lua 5.1, Lua 5.4 and LuaJIT 2.1", readme, 1, true)
    assert.is_nil(readme:find("5%.2") or readme:find("5%.3"))
    local license = H.read_file("LICENSE")
    assert.matches("^MIT License\n", license)
    assert.matches('license = "MIT"', H.read_file("han-scm-1.rockspec"), 1, true)
  end)

  it("starts with the two commands a fresh clone runs, both targets of the Makefile", function()
    local quick = section("Quick start")
    local makefile = H.read_file("Makefile")
    for _, target in ipairs({ "demo", "test" }) do
      assert.matches("make " .. target, quick, 1, true)
      assert.matches("\n" .. target .. ":", makefile, 1, true)
    end
  end)
end)
