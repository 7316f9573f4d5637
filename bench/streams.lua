-- Crafted streams against the framers: for HDLC, M-Bus and P1, per backend that loads, a
-- framer's throughput (MB/s of input, CPU time) on random bytes and on a stream crafted
-- so that every candidate frame is long and fails late, making the framer look at the
-- same bytes again from each next start byte:
--   hdlc  7E A7FF 03 03 13 <HCS> repeated: a header with a good HCS announcing 2047 bytes;
--   mbus  68 FF FF 68 repeated: a long frame announcing 255 bytes;
--   p1    lines "x" .. 500 x "/AAA" .. CR LF: a "/" and three letters open a telegram that
--         runs to the 16 KiB bound, and no "/" opens a line (which would cut it short);
--   sml   a start sequence and 16 KiB of zeros: a transmission that runs to the bound.
-- The floor (bench/README.md): crafted throughput >= 1/10 of random throughput.
-- Usage (LUA_PATH/LUA_CPATH as `make bench` sets them): lua bench/streams.lua [seconds]
-- (CPU time per stream and framer, 0.3 by default).
local han = require("han")

local cap = tonumber(arg[1]) or 0.3
local runtime = (rawget(_G, "jit") and jit.version) or _VERSION
local MB = 1024 * 1024

local function row(what, value, unit, note)
  io.write(("| %-44s | %-12s | %12s %-8s | %s |\n"):format(what, runtime, value, unit,
    note or ""))
end

-- 1 MiB of pseudo-random bytes (Park-Miller), the same on every runtime.
local function random_bytes(n)
  local x, parts, chunk = 20240601, {}, {}
  for i = 1, n do
    x = x * 16807 % 2147483647
    chunk[#chunk + 1] = math.floor(x / 8388608) % 256
    if #chunk == 4096 or i == n then
      parts[#parts + 1] = string.char((table.unpack or unpack)(chunk))
      chunk = {}
    end
  end
  return table.concat(parts)
end
local random = random_bytes(MB)

-- The crafted patterns; `fill` is where the first candidate fails (its bound, plus the
-- bytes before it): from there on the stream runs at its steady rate.
local function crafted(core)
  local hdr = "\126\167\255\3\3\19"
  local hcs = core.crc16(hdr, 2, 6)
  local hdlc = hdr .. string.char(hcs % 256, math.floor(hcs / 256))
  return {
    { "hdlc", "HDLC", hdlc:rep(MB / #hdlc), 2049 + 2 * #hdlc },
    { "mbus", "M-Bus", ("\104\255\255\104"):rep(MB / 4), 261 + 8 },
    { "p1", "P1", ("x" .. ("/AAA"):rep(500) .. "\r\n"):rep(MB / 2003), 16385 + 2003 },
    { "sml", "SML", ("\27\27\27\27\1\1\1\1" .. ("\0"):rep(16384)):rep(MB / 16392),
      16385 + 16392 },
  }
end

-- Bytes per CPU second pushed through a fresh framer (frames popped and dropped): the
-- first `skip` bytes untimed, then `chunk`-byte pushes (4096 for both streams, as a
-- serial driver hands them) for `cap` seconds (the stream read
-- again from `skip` + 1 when it ends). Returns the rate, the bytes timed, and the Lua
-- heap the framer holds at the end (collected; a C framer's buffers are in its
-- userdata, which counts).
local function throughput(core, protocol, s, skip, chunk, span)
  collectgarbage("collect")
  collectgarbage("collect")  -- a userdata with __gc is freed by the second cycle
  local heap0 = collectgarbage("count")
  local f = core.framer({ protocol = protocol })
  local at = 1
  while at <= skip do
    f:push(s:sub(at, math.min(skip, at + chunk - 1)))
    while f:pop() do end
    at = at + chunk
  end
  at = skip + 1
  local t0, timed, n = os.clock(), 0, 0
  repeat
    local piece = s:sub(at, at + chunk - 1)
    f:push(piece)
    while f:pop() do end
    at, timed, n = at + chunk, timed + #piece, n + 1
    if at > #s then at = skip + 1 end
  until n % 16 == 0 and os.clock() - t0 >= span   -- the clock read seldom: it costs
  local dt = os.clock() - t0
  collectgarbage("collect")
  local heap = collectgarbage("count") - heap0
  f:push("")   -- the framer lives to here
  return timed / dt, timed, heap
end

-- Random and crafted in three interleaved rounds, as bench/timing.lua does: the best
-- rate of each, and the median of the rounds' own crafted/random ratios.
local function race(core, c)
  local best_r, best_x, ratios, timed, heap = 0, 0, {}, 0, 0
  for k = 1, 3 do
    local r = throughput(core, c[1], random, 0, 4096, cap / 3)
    local x, t, h = throughput(core, c[1], c[3], c[4], 4096, cap / 3)
    best_r, best_x = math.max(best_r, r), math.max(best_x, x)
    ratios[k], timed, heap = x / r, timed + t, math.max(heap, h)
  end
  table.sort(ratios)
  return best_r, best_x, ratios[2], timed, heap
end

local function mbs(x) return ("%.2f"):format(x / 1e6) end

for _, b in ipairs({ "c", "lua" }) do
  local ok, core = pcall(han.use_backend, b)
  if ok then
    for _, c in ipairs(crafted(core)) do
      local r, x, ratio, timed, heap = race(core, c)
      row(("crafted stream, %s (%s core)"):format(c[2], b == "c" and "C" or "Lua"), mbs(x),
        "MB/s", ("random %s MB/s; crafted/random = 1/%.0f (floor 1/10): %s; %.0f KiB timed "
          .. "(each round after %.1f KiB), framer heap %.1f KiB"):format(mbs(r), 1 / ratio,
          ratio >= 0.1 and "ok" or "FAIL", timed / 1024, c[4] / 1024, heap)
          .. (c[1] == "sml" and b == "c" and ("; random floor 50 MB/s: %s"):format(
            r >= 50e6 and "ok" or "FAIL") or ""))
    end
  end
end
