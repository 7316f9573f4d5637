-- Lines of library code, as rows of the `make bench` table, against the figure measured
-- before the restructuring (bench/README.md): the tree at the commit that completed the
-- restructuring (issue 19: the cores end at values, one namer; the last merge of its core
-- branch, before any other issue's work was merged), where the floor applies, and the
-- tree now, with what later issues added since.
-- Counted: every csrc/*.c and csrc/*.h (the serial and mosquitto bindings included) and
-- every lua/han/**/*.lua (all subfolders). Not counted: bin/, tools/, spec/, bench/,
-- examples/, dist/.
-- A line counts when it is code: not blank and not only comment (C: /* ... */ and //,
-- Lua: -- and --[[ ... ]]; string contents are not looked into). The generated CRC
-- tables are left out: a line of nothing but hex literals and commas is a table row,
-- and a line of nothing but braces, commas and semicolons next to a table row (or to
-- such a line) is part of the table; the line declaring the table counts.
-- Usage, from the repository root: lua bench/loc.lua [-v]   (-v: per file, now)
--   lua bench/loc.lua --series   each commit of main's first-parent history since the
--                                restructuring that changed the count, with its change
local BEFORE = { code = 7427, commit = "ca8e146" }   -- bench/README.md
local AFTER = "ae26274"                               -- the restructuring complete
local FLOOR = 0.15                                    -- shrink by at least 15%

local function library(name)
  return name:find("^csrc/[^/]+%.[ch]$") or name:find("^lua/han/.*%.lua$")
end

-- The library's files, now (rev nil) or at a commit of the repository's history.
local function files(rev)
  local list = {}
  local p = assert(io.popen(rev and ("git ls-tree -r --name-only " .. rev .. " csrc lua/han "
    .. "2>/dev/null | LC_ALL=C sort") or ("find csrc lua/han -type f | LC_ALL=C sort")))
  for name in p:lines() do
    if library(name) then list[#list + 1] = name end
  end
  p:close()
  return list
end

-- The lines of a file, now or at rev.
local function lines_of(name, rev)
  if not rev then return io.lines(name) end
  local p = assert(io.popen("git show " .. rev .. ":" .. name))
  local all = p:read("*a")
  p:close()
  if all:sub(-1) ~= "\n" then all = all .. "\n" end   -- a last line without its newline
  return all:gmatch("([^\n]*)\n")
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
local function count(name, rev)
  local lines, state = {}, {}
  local strip = name:find("%.lua$") and strip_lua or strip_c
  for line in lines_of(name, rev) do
    lines[#lines + 1] = { raw = line, code = strip(line, state) }
  end
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

-- The totals of a tree: {c = {code, nonblank, tables}, lua = ...}, code, and its files.
local function tree(rev, verbose)
  local total, per = { c = { 0, 0, 0 }, lua = { 0, 0, 0 } }, {}
  for _, name in ipairs(files(rev)) do
    local code, nonblank, tables = count(name, rev)
    local t = total[name:find("%.lua$") and "lua" or "c"]
    t[1], t[2], t[3] = t[1] + code, t[2] + nonblank, t[3] + tables
    per[name] = code
    if verbose then print(("%6d %6d %6d  %s"):format(code, nonblank, tables, name)) end
  end
  return total, total.c[1] + total.lua[1], per
end

local function row(what, code, note)
  io.write(("| %-44s | %-12s | %12d %-8s | %s |\n"):format(what, "-", code, "lines", note))
end

local function split(total)
  return ("C %d + Lua %d; with comment lines %d (C %d + Lua %d); CRC tables left out %d")
    :format(total.c[1], total.lua[1], total.c[2] + total.lua[2], total.c[2], total.lua[2],
      total.c[3] + total.lua[3])
end

if arg[1] == "--series" then
  local log = assert(io.popen("git log --first-parent --reverse --format='%h %s' "
    .. AFTER .. "..HEAD"))
  local _, before = tree(AFTER)
  for line in log:lines() do
    local _, code = tree(line:match("^%S+"))
    if code ~= before then print(("%+5d %5d  %s"):format(code - before, code, line)) end
    before = code
  end
  log:close()
  return
end

local _, after, had = tree(AFTER)
if after == 0 then
  row("lines of library code at " .. AFTER, 0, "needs the repository's git history")
else
  local change = after / BEFORE.code - 1
  row("lines of library code at " .. AFTER, after, ("the restructuring complete; before %d "
    .. "(%s): %+.1f%% (floor -%d%%): %s"):format(BEFORE.code, BEFORE.commit, 100 * change,
    100 * FLOOR, -change >= FLOOR and "ok" or "FAIL"))
end
local total, now, per = tree(nil, arg[1] == "-v")
local added = 0
for name, code in pairs(per) do
  if after > 0 and not had[name] then added = added + code end
end
row("lines of library code now", now, ("%s; %+.1f%% against before (%s); %+d since %s, %d "
  .. "of them in files added since"):format(split(total), 100 * (now / BEFORE.code - 1),
  BEFORE.commit, now - after, AFTER, added))
