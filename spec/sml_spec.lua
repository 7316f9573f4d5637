-- core.sml (docs/core-api.md) on the SML vectors: the transport (start, end, CRC variants,
-- padding, escapes), the values and layout keys against the vectors' expected values, the
-- TL encoding, every error, hostile lengths. spec/sml_reading_spec.lua checks the
-- readings the namer makes of them; spec/differential_spec.lua compares both cores.
local H = require("helpers")
local core = H.core()
local S = H.sml
local unpack = rawget(_G, "unpack") or table.unpack

local vectors = H.sml_vectors()
local by_id = {}
for _, r in ipairs(vectors) do by_id[r.id] = r end

-- A descriptor's values, in order: the letters i, u, o, b each take one.
local function leaves(desc)
  local _, n = desc:gsub("[iuob]", "")
  return n
end

-- The entries of core.sml's key and values, by OBIS code "A-B:C.D.E*F": {raw =, type =
-- "int"|"uint"|"octets"|..., unit =, scaler =, status =, time = {values}, desc =};
-- and the server id of the GetList.
local function entries(v, key)
  local out, i, server = {}, 0, nil
  for line in key:gmatch("[^\n]+") do
    local s = line:match("^0701 (%x*) ")
    if s then server = s end
    local name, status, time, unit, scaler, value =
      line:match("^ (%x*) (%S+) (%S+) (%S+) (%S+) (%S+)$")
    if name then
      local e = { desc = value, unit = tonumber(unit), scaler = tonumber(scaler) }
      if status ~= "-" then
        assert.are.equal(1, leaves(status), line)
        i = i + 1
        e.status = v[i]
      end
      e.time = {}
      for _ = 1, leaves(time) do
        i = i + 1
        e.time[#e.time + 1] = v[i]
      end
      local k = leaves(value)
      e.type = ({ i = "int", u = "uint", o = "octets", b = "bool", ["-"] = "absent" })
        [value:sub(1, 1)] or "list"
      if k == 1 then e.raw = v[i + 1] end
      e.values = { unpack(v, i + 1, i + k) }
      i = i + k
      local b = {}
      for x in name:gmatch("..") do b[#b + 1] = tonumber(x, 16) end
      out[("%d-%d:%d.%d.%d*%d"):format(unpack(b))] = e
    end
  end
  assert.are.equal(#v, i)   -- a value for every leaf of the key
  return out, server
end

local function fresh(id) return assert(core.sml(by_id[id].raw)) end

describe("core.sml (" .. H.backend .. " backend)", function()
  it("reads every vector as its expected values say, and refuses the corrupt one", function()
    local read = 0
    for _, r in ipairs(vectors) do
      local v, key, crc, bad = core.sml(r.raw)
      if r.crc_ok then
        assert(v, r.id .. ": " .. tostring(key))
        read = read + 1
        assert.are.equal(r.crc:match("^(%w+)"), crc, r.id)
        assert.are.equal(0, bad, r.id)           -- every message CRC verifies
        local e, server = entries(v, key)
        assert.are.equal(r.server_id, server, r.id)
        for code, want in pairs(r.expected) do
          local got = assert(e[code], r.id .. " " .. code)
          if want.hex then
            assert.are.equal(want.hex, H.hex(got.raw):lower(), r.id .. " " .. code)
          elseif want.absent then
            assert.are.equal("absent", got.type, r.id .. " " .. code)
          elseif want.decoded then   -- a time as the value: {tag, {tag, secIndex}}
            assert.are.same({ want.decoded.tag, 1, want.decoded.value[2] }, got.values)
          else
            assert.are.equal(want.raw, got.raw, r.id .. " " .. code)
            assert.are.equal(want.type, got.type, r.id .. " " .. code)
            assert.are.equal(want.scaler ~= H.json_null and want.scaler or nil, got.scaler)
            assert.are.equal(want.unit_code ~= H.json_null and want.unit_code or nil, got.unit)
            if want.status then assert.are.equal(want.status, got.status) end
          end
        end
      else
        assert.are.same({ nil, "bad CRC", "bad_crc" }, { v, key, crc }, r.id)
      end
    end
    assert.are.equal(25, read)
  end)

  it("gives the layout key of a transmission, the same for the next one", function()
    local v, key = fresh("dzg_dvs-7412_2_jmberg")
    assert.are.equal(table.concat({
      "0101 0a01445a47000282225e",
      "0701 0a01445a47000282225e 0100620affff",
      " 010060320101 - (u1,u1) 0 0 o",
      " 0100600100ff - (u1,u1) 0 0 o",
      " 0100010800ff u3 (u1,u1) 30 -1 u4",
      " 0100020800ff - (u1,u1) 30 -1 u4",
      " 0100100700ff - (u1,u1) 27 -2 i2",
      "0201" }, "\n"), key)
    assert.are.same({ 1, 0, "DZG", 1, 0, H.unhex("0a01445a47000282225e"), 1835268, 1, 0,
      54301577, 1, 0, 262445726, 1, 0, -29912 }, v)
    -- the EMH stream: twelve transmissions of one layout, values rising
    local data = H.read_file(H.vectors_dir .. "/streams/sml/emh_ehz-h_4k.bin")
    local keys, nkeys, energy = {}, 0, {}
    for s in data:gmatch("\27\27\27\27\1\1\1\1.-\27\27\27\27\26...") do
      local vv, k = assert(core.sml(s))
      if not keys[k] then keys[k], nkeys = true, nkeys + 1 end
      energy[#energy + 1] = entries(vv, k)["1-0:1.8.0*255"].raw
    end
    assert.are.equal(12, #energy)
    assert.are.equal(1, nkeys)
    assert.are.equal(83916488, energy[1])
    assert.are.equal(83916499, energy[12])
  end)

  it("checks the transport CRC as X-25 low byte first or KERMIT high byte first", function()
    local kermit = by_id["smllib-holley-kermit"].raw
    assert.are.equal("kermit", select(3, core.sml(kermit)))
    -- the same bytes with an X-25 CRC are X-25
    local resealed = kermit:sub(1, -3)
    local c = core.crc16(resealed)
    local lsb_first = resealed .. string.char(c % 256, math.floor(c / 256))
    assert.are.equal("x25", select(3, core.sml(lsb_first)))
    -- the X-25 sent high byte first is neither
    assert.are.same({ nil, "bad CRC", "bad_crc" },
      { core.sml(resealed .. string.char(math.floor(c / 256), c % 256)) })
    for _, r in ipairs(vectors) do   -- any one bit flipped
      if r.crc_ok then
        local i = #r.raw - 9
        local flipped = r.raw:sub(1, i - 1) .. string.char((r.raw:byte(i) + 1) % 256)
          .. r.raw:sub(i + 1)
        assert.are.equal("bad_crc", select(3, core.sml(flipped)), r.id)
      end
    end
  end)

  it("counts messages whose own CRC fails and still reads them (eBZ DD3)", function()
    local entry = S.entry("1.0.1.8.0.255", S.uint(4, 1234), 30, -1)
    local broken = S.get_list("\1\2", { entry }, 0x1234)   -- a wrong CRC
    local v, _, crc, bad = core.sml(S.seal(S.open("\1\2") .. broken .. S.close()))
    assert.are.same({ { 1234 }, "x25", 1 }, { v, crc, bad })
    -- KERMIT message CRCs (Holley) and a CRC sent in one byte (Iskra MT691) are good
    _, _, _, bad = core.sml(S.seal(S.message(0x0201, S.list(S.absent), "kermit")))
    assert.are.equal(0, bad)
    local data = H.read_file(H.vectors_dir .. "/streams/sml/iskra_mt691_4k.bin")
    local short = data:match("\27\27\27\27\1\1\1\1.-\27\27\27\27\26...", 1945)
    assert.truthy(short:find("\98\224\0", 1, true))   -- 62 E0: the GetList's CRC
    assert.are.equal(0, select(4, assert(core.sml(short))))
  end)

  it("un-escapes doubled escape groups, aligned to the start", function()
    local s = H.read_file(H.vectors_dir .. "/streams/sml/synthetic_escape.bin")
    local v, key, crc, bad = core.sml(s)
    assert.are.same({ "x25", 0 }, { crc, bad })
    local e = entries(v, key)
    assert.are.equal(123456789, e["1-0:1.8.0*255"].raw)
    assert.are.equal(-1234, e["1-0:16.7.0*255"].raw)
    assert.are.equal(("\27"):rep(8) .. "\0\0\0", e["129-129:199.130.5*255"].raw)
    -- an escape group not doubled: a command or two transmissions run together
    local file = S.get_list("\1\2", { S.entry("1.0.1.8.0.255", S.uint(4, 1), 30, -1) })
    file = file .. ("\0"):rep((4 - #file % 4) % 4)
    assert.are.same({ nil, "bad SML escape", "bad_escape" },
      { core.sml(S.seal(file .. "\27\27\27\27\2\0\0\0")) })
    assert.are.same({ nil, "bad SML escape", "bad_escape" },
      { core.sml(S.seal(file .. "\27\27\27\27")) })
    -- unaligned, the four bytes are data
    local v2 = core.sml(S.seal(S.message(0x0201, S.list(S.octets("x\27\27\27\27")))))
    assert.are.same({}, v2)
  end)

  it("reads padding of 0 to 4 bytes and refuses other padding", function()
    local file = S.close()
    local need = (4 - #file % 4) % 4
    assert.are.equal(4, by_id["smllib-dzg-frame1"].padding)
    assert.truthy(core.sml(by_id["smllib-dzg-frame1"].raw))
    assert.truthy(core.sml(S.seal(file, need + 4)))
    local function refused(s)
      assert.are.same({ nil, "bad SML padding", "bad_padding" }, { core.sml(s) })
    end
    refused(S.seal(file, need + 8))                       -- more than 4
    local both = S.seal(file, need + 8)                   -- and the CRC wrong: the CRC first
    both = both:sub(1, -2) .. string.char((both:byte(-1) + 1) % 256)
    assert.are.same({ nil, "bad CRC", "bad_crc" }, { core.sml(both) })
    refused(S.seal(file, need + 1))                       -- not a multiple of 4
    refused(S.seal(file .. ("\0"):rep(need) .. "\0\0\0\1", 0, 4))   -- not zeros
    -- zeros between and after messages are skipped
    assert.are.same({}, (core.sml(S.seal(file .. "\0\0\0\0" .. file))))
  end)

  it("decodes TLs of every form and numbers of every width", function()
    local long = ("x"):rep(48)
    local values = {}
    for n = 1, 8 do
      values[#values + 1] = S.entry("1.0.1.8.0.255", S.uint(n, 255), 30, 0)
      values[#values + 1] = S.entry("1.0.16.7.0.255", S.int(n, -2), 27, 0)
    end
    values[#values + 1] = S.entry("1.0.0.0.9.255", S.octets(long))
    values[#values + 1] = S.entry("1.0.96.5.0.255", S.bool(true))
    values[#values + 1] = S.entry("1.0.96.50.2.6", S.absent)
    local many = {}
    for i = 1, 20 do many[i] = S.entry("1.0.1.8." .. i .. ".255", S.uint(1, i)) end
    values[#values + 1] = S.list(S.octets("\1\0\1\8\0\255"), S.absent, S.absent, S.absent,
      S.absent, S.uint(1, 7), S.absent)
    local s = S.seal(S.get_list("\1", values) .. S.get_list("\2", many))
    assert.truthy(s:find("\131\2x", 1, true))   -- 83 02: a 50-byte octet string
    assert.truthy(s:find("\241\4", 1, true))    -- F1 04: a list of 20
    local v, key = assert(core.sml(s))
    for n = 1, 8 do
      assert.are.equal(255, v[2 * n - 1])
      assert.are.equal(-2, v[2 * n])
      assert.truthy(key:find(" 0100010800ff - - 30 0 u" .. n, 1, true))
      assert.truthy(key:find(" 0100100700ff - - 27 0 i" .. n, 1, true))
    end
    assert.are.same({ long, true, 7 }, { v[17], v[18], v[19] })
    assert.truthy(key:find(" 010060320206 - - - - -", 1, true))   -- a value left out
    assert.are.equal(39, #v)
    -- the extremes of 8 bytes
    v = core.sml(S.seal(S.get_list("\1", { S.entry("1.0.1.8.0.255",
      "\105\255\255\255\255\255\255\255\255"), S.entry("1.0.1.8.0.255",
      "\89\128\0\0\0\0\0\0\0") })))
    assert.are.equal(2 ^ 64, v[1])
    assert.are.equal(-2 ^ 63, v[2])
    if math.type then
      assert.are.equal("float", math.type(v[1]))
      assert.are.equal("integer", math.type(v[2]))
    end
  end)

  it("refuses each kind of damage with its own error", function()
    local close = S.close()
    local function err(s) return { select(2, core.sml(s)) } end
    assert.are.same({ "no SML start", "no_sml_start" }, err(""))
    assert.are.same({ "no SML start", "no_sml_start" }, err("\27\27\27\27\1\1\1\2"))
    assert.are.same({ "no SML end", "no_sml_end" }, err("\27\27\27\27\1\1\1\1"))
    assert.are.same({ "no SML end", "no_sml_end" }, err(S.seal(close):sub(1, -2)))
    assert.are.same({ "bad SML TL field", "bad_tl" }, err(S.seal("\16")))            -- type 001
    local tl = { "bad SML TL field", "bad_tl" }
    assert.are.same(tl, err(S.seal("\118\0\0\0\0\0\0")))      -- 00: length 0
    assert.are.same(tl, err(S.seal("\241\20\1")))                 -- continuation type
    assert.are.same(tl, err(S.seal("\143\143\143\143\1")))         -- 5 TL bytes
    assert.are.same(tl, err(S.seal("\67\1")))                      -- boolean of 2
    assert.are.same(tl, err(S.seal("\106" .. ("\0"):rep(9))))      -- 9 bytes
    assert.are.same({ "truncated data", "truncated_data" }, err(S.seal("\118\1\1")))
    assert.are.same({ "truncated data", "truncated_data" }, err(S.seal("\5\1\1")))
    assert.are.same({ "truncated data", "truncated_data" }, err(S.seal(close:sub(1, -2))))
    assert.are.same({ "bad SML message", "bad_sml_message" }, err(S.seal("\117" .. close:sub(2))))
    assert.are.same({ "bad SML message", "bad_sml_message" }, err(S.seal(close:sub(1, -2) .. "\1")))
    assert.are.same({ "bad SML message", "bad_sml_message" },   -- serverId a number
      err(S.seal(S.message(0x0101, S.list(S.absent, S.absent, S.absent, S.uint(1, 1),
        S.absent, S.absent)))))
    assert.are.same({ "bad SML list entry", "bad_sml_entry" },
      err(S.seal(S.get_list("\1", { S.list(S.octets("\1\0\1\8\0\255"), S.absent) }))))
    assert.are.same({ "bad SML list entry", "bad_sml_entry" },   -- a unit as a string
      err(S.seal(S.get_list("\1", { S.list(S.octets("\1\0\1\8\0\255"), S.absent, S.absent,
        S.octets("W"), S.absent, S.uint(1, 1), S.absent) }))))
    local deep = S.uint(1, 1)
    for _ = 1, 11 do deep = S.list(deep) end
    assert.are.same({ "nesting too deep", "too_deep" },
      err(S.seal(S.get_list("\1", { S.entry("1.0.1.8.0.255", deep) }))))
    deep = S.uint(1, 1)
    for _ = 1, 10 do deep = S.list(deep) end
    assert.truthy(core.sml(S.seal(S.get_list("\1", { S.entry("1.0.1.8.0.255", deep) }))))
  end)

  it("checks hostile lengths against the bytes left before reading on", function()
    -- a list of 2^16 - 1 entries in a few bytes, an octet string of 2^16 bytes
    local t0 = os.clock()
    for _ = 1, 200 do
      assert.are.same({ nil, "truncated data", "truncated_data" },
        { core.sml(S.seal("\118\1\98\0\98\0\114\99\7\1\119\1\1\1\1\255\143\143\15")) })
      assert.are.same({ nil, "truncated data", "truncated_data" },
        { core.sml(S.seal("\143\15\15\15\1")) })
    end
    assert.is_true(os.clock() - t0 < 1)
    -- a list of n empty lists (its 4-byte TL), read in time linear in n: 64 Ki of them
    -- take about 4 times as long as 16 Ki (16 if quadratic), on any machine (an ARMv5
    -- under emulation takes seconds for one)
    local function list_of(n)
      return S.seal("\118\1\98\0\98\0\114\99\2\1" .. string.char(0xF0 + math.floor(n / 4096),
        0x80 + math.floor(n / 256) % 16, 0x80 + math.floor(n / 16) % 16, n % 16)
        .. ("\112"):rep(n) .. "\99\0\0\0")
    end
    local function seconds(s)
      local t, n = os.clock(), 0
      repeat
        core.sml(s)
        n = n + 1
      until os.clock() - t > 0.2
      return (os.clock() - t) / n
    end
    local small, big = list_of(16383), list_of(65535)
    assert.are.equal(("\112"):rep(65535), big:match("\255\143\143\15(\112+)"))
    assert.are.same({ {}, "x25", 1 }, { core.sml(big), select(3, core.sml(big)) })
    assert.are.same({ {}, "x25", 1 }, { core.sml(small), select(3, core.sml(small)) })
    local ratio = seconds(big) / seconds(small)
    assert.is_true(ratio < 8, ("64 Ki entries take %.1f times 16 Ki"):format(ratio))
  end)

  it("raises on misuse", function()
    assert.has_error(function() core.sml(nil) end)
    assert.has_error(function() core.sml({}) end)
  end)
end)
