-- Lines of library code, as a row of the `make bench` table, against the figure measured
-- before the restructuring (bench/README.md). Counted: every csrc/*.c and csrc/*.h (the
-- serial and mosquitto bindings included) and every lua/han/**/*.lua (all subfolders).
-- Not counted: bin/, tools/, spec/, bench/, examples/, dist/.
-- A line counts when it is code: not blank and not only comment (C: /* ... */ and //,
-- Lua: -- and --[[ ... ]]; string contents are not looked into). The generated CRC
-- tables are left out: a line of nothing but hex literals and commas is a table row,
-- and a line of nothing but braces, commas and semicolons next to a table row (or to
-- such a line) is part of the table; the line declaring the table counts.
-- Usage, from the repository root: lua bench/loc.lua [-v]   (-v: per file)
local BEFORE = { code = 7427, commit = "ca8e146" }   -- bench/README.md
local FLOOR = 0.15                                    -- shrink by at least 15%

local function files()
  local list = {}
  local p = assert(io.popen("find csrc lua/han -type f \\( -name '*.c' -o -name '*.h' "
    .. "-o -name '*.lua' \\) | LC_ALL=C sort"))
  for name in p:lines() do
    if name:find("^csrc/[^/]+%.[ch]$") or name:find("^lua/han/.*%.lua$") then
      list[#list + 1] = name
    end
  end
  p:close()
  return list
end

-- The line with its comments removed; `state` carries an open block comment across lines.
local function strip_c(line, state)
  local out, i = {}, 1
  while i <= #line do
    if state.block then
      local e = line:find("*/", i, true)
      if not e then return table.concat(out) end
      state.block, i = false, e + 2
    else
      local b, l = line:find("/*", i, true), line:find("//", i, true)
      if l and (not b or l < b) then
        out[#out + 1] = line:sub(i, l - 1)
        return table.concat(out)
      elseif b then
        out[#out + 1] = line:sub(i, b - 1)
        state.block, i = true, b + 2
      else
        out[#out + 1] = line:sub(i)
        break
      end
    end
  end
  return table.concat(out)
end

local function strip_lua(line, state)
  local out, i = {}, 1
  while i <= #line do
    if state.block then
      local e = line:find("]" .. state.block .. "]", i, true)
      if not e then return table.concat(out) end
      i, state.block = e + #state.block + 2, nil
    else
      local c = line:find("--", i, true)
      if not c then
        out[#out + 1] = line:sub(i)
        break
      end
      out[#out + 1] = line:sub(i, c - 1)
      local eq = line:match("^%[(=*)%[", c + 2)
      if not eq then return table.concat(out) end
      state.block, i = eq, c + 4 + #eq
    end
  end
  return table.concat(out)
end

local function is_row(s) return s:find("0[xX]%x") and s:find("^[%s,]*0[xX][%x%s,xX]*$") end
local function is_brace(s) return s:find("^[%s{},;]*$") and s:find("[{}]") end

-- code, non-blank lines and table lines of one file
local function count(name)
  local lines, state = {}, {}
  local strip = name:find("%.lua$") and strip_lua or strip_c
  for line in io.lines(name) do lines[#lines + 1] = { raw = line, code = strip(line, state) } end
  local tab = {}
  for i, l in ipairs(lines) do tab[i] = name:find("%.[ch]$") and is_row(l.code) and true end
  local grew = true
  while grew do
    grew = false
    for i, l in ipairs(lines) do
      if not tab[i] and is_brace(l.code) and (tab[i - 1] or tab[i + 1]) then
        tab[i], grew = true, true
      end
    end
  end
  local code, nonblank, tables = 0, 0, 0
  for i, l in ipairs(lines) do
    if tab[i] then
      tables = tables + 1
    else
      if l.raw:find("%S") then nonblank = nonblank + 1 end
      if l.code:find("%S") then code = code + 1 end
    end
  end
  return code, nonblank, tables
end

local total = { c = { 0, 0, 0 }, lua = { 0, 0, 0 } }
local verbose = arg[1] == "-v"
for _, name in ipairs(files()) do
  local code, nonblank, tables = count(name)
  local t = total[name:find("%.lua$") and "lua" or "c"]
  t[1], t[2], t[3] = t[1] + code, t[2] + nonblank, t[3] + tables
  if verbose then print(("%6d %6d %6d  %s"):format(code, nonblank, tables, name)) end
end
local code = total.c[1] + total.lua[1]
local change = code / BEFORE.code - 1
io.write(("| %-44s | %-12s | %12d %-8s | %s |\n"):format("lines of library code (csrc, lua/han)",
  "-", code, "lines", ("C %d + Lua %d; with comment lines %d (C %d + Lua %d); CRC tables "
    .. "left out %d; before %d (%s): %+.1f%% (floor -%d%%): %s"):format(total.c[1],
    total.lua[1], total.c[2] + total.lua[2], total.c[2], total.lua[2], total.c[3] + total.lua[3],
    BEFORE.code, BEFORE.commit, 100 * change, 100 * FLOOR, -change >= FLOOR and "ok" or "FAIL")))
