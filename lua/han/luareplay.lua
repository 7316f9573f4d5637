-- han.luareplay: a meter sends the same list again and again, byte for byte but for its
-- values. The first reading of a body keeps its layout: where each value lies, what
-- han.luareading made of it, and every other byte. A later body of the same length
-- from the same source whose other bytes are all the same is then read value by value
-- (han.luareading's replay), without the walk of its codes, lengths and tags and
-- without looking its codes up. Used by han.luacore's core.reading only.
--
-- The layout rests on what the plan said the first time (as the entry caches of both
-- cores do): a plan's lists, sources and entries are taken as fixed once used.
local replay = require("han.luareading").replay
local byte, sub = string.byte, string.sub

local M = {}

-- Per plan, the layouts by the position of the body's last byte; emptied when full,
-- as hostile input brings new ones. A body longer than any list a meter pushes is not
-- kept, so that the layouts hold 128 KiB of bytes at most.
local MAX, MAX_BODY = 64, 2048
local memos = setmetatable({}, { __mode = "k" })

-- The kinds of values read again; a boolean or BCD number (which may be bad) is not.
local KINDS = { number = true, string = true, bits = true, time = true }

-- Keep the run s[a..b] of bytes that are no value.
local function keep(other, s, a, b)
  local n = #other
  other[n + 1], other[n + 2], other[n + 3] = a, b, sub(s, a, b)
end

-- learn(s, p, last, rec, count, plan, src, P): keep the layout of the body s[p..last]
-- that han.luareading named with notes (rec.steps) into a reading of profile P; returns
-- it (for specs: L.other[3k - 2], L.other[3k - 1] are the first and last position of
-- the k-th run of bytes that are no value), or nil when a value is of a kind not read
-- again or the body too long.
function M.learn(s, p, last, rec, count, plan, src, P)
  if last - p >= MAX_BODY then return end
  local steps = rec.steps
  local K, V, W, T = rec.K, rec.V, rec.W, rec.T
  local n = steps.n
  local L = { p = p, last = last, src = src, P = P, id = steps.id, nob = steps.nob, n = n,
    kind = {}, tag = {}, pos = {}, w = {}, e = {}, how = {}, scaler = {}, unit = {},
    other = {} }
  -- other: the first and last position and the bytes of each run between values
  local other, a = L.other, p
  for k = 1, n do
    local i = steps[k]
    local kind, tag = K[i], byte(s, T[i])
    if T[i] < a or not KINDS[kind] or tag == 0x0D then return end
    local first = kind == "number" and T[i] + 1 or V[i]
    if i ~= steps.fixed then   -- the list id's bytes stay with the others
      keep(other, s, a, first - 1)
      a = i < count and T[i + 1] or last + 1   -- a value ends where the next record starts
    end
    L.kind[k], L.tag[k], L.pos[k], L.w[k] = kind, tag, first, W[i]
    L.e[k], L.how[k], L.scaler[k], L.unit[k] = steps.e[k], steps.how[k], steps.scaler[k],
      steps.unit[k]
  end
  if a <= last then keep(other, s, a, last) end
  local memo = memos[plan]
  if not memo or memo.n >= MAX then
    memo = { n = 0 }
    memos[plan] = memo
  end
  if not memo[last] then memo.n = memo.n + 1 end
  memo[last] = L
  return L
end

-- reading(s, p, last, plan, src, at, rec) -> reading, P of the body s[p..last] when the
-- layout kept for its length fits it (rec: records to read each value with); else nil,
-- nil, and whether to learn the body's layout: when none is kept, or when the last body
-- of its length did not fit either (so that two lists of one length in turn leave the
-- first one kept, and a list that changed for good is learnt again).
function M.reading(s, p, last, plan, src, at, rec)
  local memo = memos[plan]
  local L = memo and memo[last]
  if not L then return nil, nil, true end
  local fits = L.p == p and L.src == src
  if fits then
    local other = L.other
    for k = 1, #other, 3 do
      if sub(s, other[k], other[k + 1]) ~= other[k + 2] then
        fits = false
        break
      end
    end
  end
  if not fits then
    local again = L.missed
    L.missed = true
    return nil, nil, again
  end
  L.missed = false
  return replay(s, L, plan, at, rec)
end

return M
