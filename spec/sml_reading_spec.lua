-- SML readings: han.decode of every SML vector gives the values of its `expected` in
-- r.obis and the catalogue's fields (kWh, W split into import and export, V, A, Hz), the
-- same with both cores; meter ids, vendors, PIN-locked layouts, the quirks and their
-- options, message CRC failures, misuse.
local H = require("helpers")
local han = require("han")
local S = H.sml

local vectors = H.sml_vectors()
local by_id = {}
for _, r in ipairs(vectors) do by_id[r.id] = r end

local function reading(id, opts) return assert(han.decode(by_id[id].raw, opts)) end

local same = H.same

-- "1-0:1.8.0*255" -> "1.0.1.8.0.255", and the C.D.E and F of it.
local function parts(code)
  local a, b, c, d, e, f = code:match("^(%d+)-(%d+):(%d+)%.(%d+)%.(%d+)%*(%d+)$")
  return ("%s.%s.%s.%s.%s.%s"):format(a, b, c, d, e, f), c .. "." .. d .. "." .. e, f
end

-- The fields each C.D.E gives (value in the vector's unit times the factor); 16.7.0 and
-- the phases' are split by sign.
local FIELDS = {
  ["1.8.0"] = { "energy_import", 1e-3 }, ["2.8.0"] = { "energy_export", 1e-3 },
  ["1.8.1"] = { "energy_import_t1", 1e-3 }, ["1.8.2"] = { "energy_import_t2", 1e-3 },
  ["2.8.1"] = { "energy_export_t1", 1e-3 }, ["2.8.2"] = { "energy_export_t2", 1e-3 },
  ["1.7.0"] = { "power_import", 1 },
  ["32.7.0"] = { "voltage_l1", 1 }, ["52.7.0"] = { "voltage_l2", 1 },
  ["72.7.0"] = { "voltage_l3", 1 }, ["31.7.0"] = { "current_l1", 1 },
  ["51.7.0"] = { "current_l2", 1 }, ["71.7.0"] = { "current_l3", 1 },
  ["14.7.0"] = { "frequency", 1 },
  ["16.7.0"] = { "power_import", "power_export" },
  ["36.7.0"] = { "power_import_l1", "power_export_l1" },
  ["56.7.0"] = { "power_import_l2", "power_export_l2" },
  ["76.7.0"] = { "power_import_l3", "power_export_l3" },
}

local function check(r, rec, expected, what)
  for code, want in pairs(expected) do
    local key, cde, f = parts(code)
    local got = r.obis[key]
    if want.hex then
      assert.are.equal(H.unhex(want.hex), got, what .. " " .. code)
    elseif want.absent then
      assert.is_nil(got, what .. " " .. code)
    elseif want.decoded then
      assert.are.same({ want.decoded.tag, { 1, want.decoded.value[2] } }, got)
    else
      assert.are.equal(want.value, got, what .. " " .. code)   -- raw x 10^scaler, exact
      local field = FIELDS[cde]
      if field and f == "255" then
        if type(field[2]) == "string" then
          same(want.value >= 0 and want.value or 0, r[field[1]], what .. " " .. field[1])
          same(want.value < 0 and -want.value or 0, r[field[2]], what .. " " .. field[2])
        else
          same(want.value * field[2], r[field[1]], what .. " " .. field[1])
        end
      end
    end
  end
  if rec.expected["1-0:1.8.0*96"] then   -- history registers do not name the total
    same(rec.expected["1-0:1.8.0*255"].value / 1000, r.energy_import, what)
  end
end

describe("SML readings (" .. H.backend .. " backend)", function()
  han.use_backend(H.backend)

  it("give every vector's expected values, and refuse the corrupt one", function()
    for _, rec in ipairs(vectors) do
      local r, err, code = han.decode(rec.raw)
      if rec.crc_ok then
        assert(r, rec.id .. ": " .. tostring(err))
        assert.are.equal("SML", r.list)
        local expected = {}
        for k, x in pairs(rec.expected) do expected[k] = x end
        for k, x in pairs(rec.quirk_expected or {}) do   -- on by default for this meter
          expected[k] = { value = x.value }
        end
        check(r, rec, expected, rec.id)
        assert.is_nil(r.errors, rec.id)
        assert.is_nil(r.bad_message_crcs, rec.id)
      else
        assert.are.same({ nil, "bad CRC", "bad_crc" }, { r, err, code })
      end
    end
  end)

  it("are the same with both cores", function()
    for _, rec in ipairs(vectors) do
      han.use_backend("c")
      local a = { han.decode(rec.raw) }
      han.use_backend("lua")
      local b = { han.decode(rec.raw) }
      han.use_backend(H.backend)
      assert.are.same(a, b, rec.id)
    end
  end)

  it("read the DZG DVS74 sign bug by the meter's serial, or as told", function()
    local rec = by_id["dzg_dvs-7412_2_jmberg"]   -- serial 42082910: the bug's range
    local r = reading(rec.id)
    same(356.24, r.power_import, "default")
    assert.are.equal(0, r.power_export)
    r = reading(rec.id, { quirks = { dzg_unsigned_power = false } })
    check(r, rec, rec.expected, "quirk off")
    same(299.12, r.power_export, "off")
    -- a DVS-7420 (serial 60694611) sends genuine negatives: read as sent, unless forced
    r = reading("dzg_dvs-7420_2v_g2_mtr2_neg-negpower")
    same(105.5, r.power_export, "mtr2")
    r = reading("dzg_dvs-7420_2v_g2_mtr2_neg-negpower", { quirks = { dzg_unsigned_power = true } })
    same((0x10000 - 10550) / 100, r.power_import, "forced")
  end)

  it("give 15.7.0 of old EMH lists as power only on request", function()
    local r = reading("emh-ed300l_consumption")
    assert.is_nil(r.power_import)
    same(137.1, r.obis["1.0.15.7.0.255"], "obis")
    r = reading("emh-ed300l_consumption", { quirks = { abs_power = true } })
    same(137.1, r.power_import, "abs_power")
    same(13.8, reading("emh_ehz-gw8e2a500ak2").power_import, "1.7.0")
  end)

  it("print meter ids as the meters do, and name the maker", function()
    local ids = {
      ["emh-ed300l-tibberpulse-6"] = "1EMH0011261482",   -- as its 0.0.0 says
      ["easymeter_q3a_a1064v1009"] = "1ESY1162232997",   -- as its 0.0.0 says
      ["dzg_dvs-7412_2_jmberg"] = "1DZG0042082910",
      ["emh_ehz-gw8e2a500ak2"] = "02280816",             -- ASCII
      ["emh-ed300l_consumption"] = "06454D4801027156CD45",   -- no known format: hex
    }
    for id, want in pairs(ids) do assert.are.equal(want, reading(id).meter_id, id) end
    local vendors = { ["holley_dtz541-zdba"] = "Holley", ["emh_ehz361l5r"] = "Hager",
      ["iskra_mt175_ehz"] = "Iskra", ["smllib-dzg-frame1"] = "DZG",
      ["easymeter_q3a_a1064v1009"] = "EasyMeter" }
    for id, want in pairs(vendors) do assert.are.equal(want, reading(id).vendor, id) end
    assert.are.equal("HLY", reading("holley_dtz541-zdba").manufacturer)
  end)

  it("say when a meter is locked by its PIN", function()
    for id, locked in pairs({ ["holley_dtz541-bdba_without_pin"] = true,
      ["iskra_mt631-d1a52-k0z-h01_without_pin"] = true,
      ["holley_dtz541-bdba_with_pin"] = false, ["iskra_mt631-d1a52-k0z-h01_with_pin"] = false,
      ["emh_mme40-ae6akf0k0"] = false }) do
      assert.are.equal(locked, reading(id).pin_locked, id)
    end
    -- a maker whose locked layout han does not know: no word either way
    assert.is_nil(reading("smllib-dzg-frame1").pin_locked)
    same(2324, reading("holley_dtz541-bdba_without_pin").energy_import, "whole kWh")
  end)

  it("say how many message CRCs failed, and refuse them when strict", function()
    local entry = S.entry("1.0.1.8.0.255", S.uint(4, 12345), 30, -1)
    local s = S.seal(S.open("\1\2") .. S.get_list("\1\2", { entry }, 0x1234) .. S.close())
    local r = assert(han.decode(s))
    same(1.2345, r.energy_import, "read")
    assert.are.equal(1, r.bad_message_crcs)
    assert.are.same({ nil, "bad SML message CRC", "bad_message_crc" },
      { han.decode(s, { strict_crc = true }) })
    assert.is_nil(assert(han.decode(by_id["smllib-holley-kermit"].raw, { strict_crc = true }))
      .bad_message_crcs)
  end)

  it("refuse numbers out of range, scale on request, and need values", function()
    local s = S.seal(S.get_list("\1", { S.entry("1.0.16.7.0.255", S.int(4, 2e9), 27, 0),
      S.entry("1.0.1.8.0.255", S.uint(4, 5000), 30, 0) }))
    local r = assert(han.decode(s))
    assert.is_nil(r.power_import)
    assert.truthy(r.errors.power_import:find("out of range"))
    same(5, r.energy_import, "energy")
    same(10, assert(han.decode(s, { scale = { energy = 2 } })).energy_import, "scaled")
    assert.are.same({ nil, "no values in the notification", "no_values" },
      { han.decode(S.seal(S.open("\1") .. S.close())) })
  end)

  it("raise on misused quirks", function()
    local s = by_id["smllib-dzg-frame1"].raw
    for _, q in ipairs({ "dzg_unsigned_power", { nope = true },
      { dzg_unsigned_power = 1 } }) do
      assert.has_error(function() han.decode(s, { quirks = q }) end)
    end
  end)
end)
