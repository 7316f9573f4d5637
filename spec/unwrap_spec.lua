-- core.unwrap (docs/core-api.md) on the encrypted vectors, against the backend
-- $HAN_BACKEND names, and han.decode's readings of them.
local H = require("helpers")
local core = H.core()
local han = require("han")
han.use_backend(H.backend)
local unhex, hex, null = H.unhex, H.hex, H.json_null

local function records() return H.jsonl("encrypted.jsonl") end

local function record(id)
  for _, r in ipairs(records()) do if r.id == id then return r end end
  error("no vector " .. id)
end

-- The published keys of a record; `with_ak` false leaves the authentication key out.
local function keys_of(r, with_ak)
  return { key = r.encryption_key, system_title = r.system_title,
    auth_key = with_ak ~= false and r.authentication_key ~= null and r.authentication_key
      or nil }
end

local function flip(s, i)
  return s:sub(1, i - 1) .. string.char((s:byte(i) + 1) % 256) .. s:sub(i + 1)
end

describe("core.unwrap (" .. H.backend .. " backend)", function()
  it("unwraps every vector to its published plaintext, checking the tags it can", function()
    for _, r in ipairs(records()) do
      local apdu, sec = core.unwrap(unhex(r.hex), keys_of(r, r.tag_ok == true))
      assert(apdu, r.id .. ": " .. tostring(sec))
      assert.are.equal(r.plaintext_apdu, hex(apdu), r.id)
      assert.are.equal(tonumber(r.security_control, 16), sec.security_control, r.id)
      assert.are.equal(r.frame_counter, sec.frame_counter, r.id)
      assert.are.equal(r.system_title, hex(sec.system_title), r.id)
      assert.is_true(sec.encrypted, r.id)
      assert.are.equal(r.tag_ok == true, sec.authenticated, r.id)
    end
  end)

  it("refuses tags that do not verify; without the AK it decrypts, unauthenticated", function()
    local refused = 0
    for _, r in ipairs(records()) do
      if r.tag_ok == false then
        refused = refused + 1
        assert.are.same({ nil, "authentication failed", "auth_failed" },
          { core.unwrap(unhex(r.hex), keys_of(r)) })
        local apdu, sec = core.unwrap(unhex(r.hex), keys_of(r, false))
        assert.are.equal(r.plaintext_apdu, hex(apdu), r.id)
        assert.is_false(sec.authenticated)
      end
    end
    assert.are.equal(2, refused)   -- the negative test and the Sagemcom T210-D
    assert.is_true(record("enc-negative-wrong-ak-athombv").negative)
  end)

  it("refuses a flipped byte of every verified tag and of the ciphertext", function()
    for _, r in ipairs(records()) do
      if r.tag_ok == true then
        local s = unhex(r.hex)
        local last = s:byte(1) == 0x7E and #s - 3 or #s   -- HDLC: before the FCS
        local frame_fix = s:byte(1) == 0x7E
        for _, i in ipairs({ last, last - 11, last - 12 }) do
          local t = flip(s, i)
          if frame_fix then   -- keep the frame valid so the tag is what fails
            local fcs = core.crc16(t, 2, #t - 3)
            t = t:sub(1, -4) .. string.char(fcs % 256, math.floor(fcs / 256)) .. "\126"
          end
          assert.are.same({ nil, "authentication failed", "auth_failed" },
            { core.unwrap(t, keys_of(r)) }, r.id .. " byte " .. i)
        end
      end
    end
  end)

  it("names the missing key and the system title", function()
    for _, r in ipairs(records()) do
      local k = keys_of(r)
      k.key = nil
      assert.are.same({ nil, "no decryption key (keys.key) for system title " .. r.system_title,
        "no_key" },
        { core.unwrap(unhex(r.hex), k) }, r.id)
    end
    local r = record("enc-spec-greenbook-glo-get-request-authenc")
    assert.are.same({ nil, "ciphered APDU 0xC8 needs keys.system_title", "no_system_title" },
      { core.unwrap(unhex(r.hex), { key = r.encryption_key }) })
  end)

  it("takes keys as raw bytes or hex digits in either case", function()
    local r = record("enc-dlms-cosem-data-notification-apdu")
    local raw = { key = unhex(r.encryption_key), auth_key = unhex(r.authentication_key) }
    local low = { key = r.encryption_key:lower(), auth_key = r.authentication_key:lower() }
    assert.are.equal(r.plaintext_apdu, hex((core.unwrap(unhex(r.hex), raw))))
    assert.are.equal(r.plaintext_apdu, hex((core.unwrap(unhex(r.hex), low))))
    assert.has_error(function() core.unwrap(unhex(r.hex), { key = "short" }) end)
    assert.has_error(function() core.unwrap(unhex(r.hex), { key = ("x"):rep(32) }) end)
    assert.has_error(function() core.unwrap(unhex(r.hex), "key") end)
    assert.has_error(function() core.unwrap(nil) end)
  end)

  it("returns nil, err for every truncation of every vector", function()
    for _, r in ipairs(records()) do
      local s, k = unhex(r.hex), keys_of(r)
      for n = 0, #s - 1 do
        local ok, apdu, err = pcall(core.unwrap, s:sub(1, n), k)
        assert(ok, r.id .. " cut " .. n .. ": " .. tostring(apdu))
        assert(apdu == nil and type(err) == "string", r.id .. " cut " .. n)
      end
    end
  end)

  it("names damage to each envelope", function()
    local mbus = unhex(record("enc-at-evn-kaifa-ma309-mbus-doc").hex)
    local k = keys_of(record("enc-at-evn-kaifa-ma309-mbus-doc"))
    assert.are.same({ nil, "bad M-Bus checksum", "bad_mbus_checksum" },
      { core.unwrap(flip(mbus, 20), k) })
    assert.are.same({ nil, "bad M-Bus frame", "bad_mbus" }, { core.unwrap(flip(mbus, 3), k) })
    assert.are.same({ nil, "incomplete segments", "incomplete_segments" },
      { core.unwrap(mbus:sub(1, 256), k) })
    assert.are.same({ nil, "unsupported M-Bus CI 0x55", "unsupported_ci" },
      { core.unwrap("\104\003\003\104\083\255\085\167\022") })
    -- the Swiss block transfer: frames out of order, or the last one missing
    local gbt = record("enc-ch-landisgyr-e570-hdlc-gbt")
    local s = unhex(gbt.hex)
    local first, rest = s:sub(1, 138), s:sub(139)
    local swapped = first .. rest:sub(136, 270) .. rest:sub(1, 135) .. rest:sub(271)
    assert.are.same({ nil, "bad block transfer", "bad_block" },
      { core.unwrap(swapped, keys_of(gbt)) })
    assert.are.same({ nil, "incomplete block transfer", "incomplete_block" },
      { core.unwrap(s:sub(1, 543), keys_of(gbt)) })
    -- security control with an unknown suite, or compression
    local bad_suite = unhex("DB08" .. ("00"):rep(8) .. "0532" .. "00000001")
    assert.are.same({ nil, "unsupported security control 0x32", "unsupported_security" },
      { core.unwrap(bad_suite, { key = ("0"):rep(32) }) })
    assert.are.same({ nil, "bad system title", "bad_system_title" },
      { core.unwrap(unhex("DB07" .. ("00"):rep(20))) })
    assert.are.same({ nil, "truncated data", "truncated_data" }, { core.unwrap("") })
  end)

  it("passes plain APDUs and frames through", function()
    local f = H.frames()[1].raw
    local plain = assert(core.frame(f)).info:sub(4)
    assert.are.same({ plain }, { core.unwrap(f) })
    assert.are.same({ plain }, { core.unwrap(plain) })
    assert.are.same({ plain }, { core.unwrap("\230\231\000" .. plain) })
  end)

  it("stops peeling after eight nested envelopes", function()
    local apdu = "\015\000\000\000\000\000\002\000"
    local function block(s) return "\224\192\000\001\000\000" .. string.char(#s) .. s end
    local s = apdu
    for _ = 1, 8 do s = block(s) end
    assert.are.same({ apdu }, { core.unwrap(s) })
    assert.are.same({ nil, "too many envelopes", "too_many_envelopes" }, { core.unwrap(block(s)) })
  end)
end)

describe("han.decode of encrypted frames (" .. H.backend .. " backend)", function()
  it("marks readings encrypted and authenticated as the tag says", function()
    for _, r in ipairs(records()) do
      local rd = han.decode(unhex(r.hex), keys_of(r, r.tag_ok == true))
      if rd then
        assert.is_true(rd.encrypted, r.id)
        assert.are.equal(r.tag_ok == true, rd.authenticated, r.id)
        assert.are.equal(r.frame_counter, rd.frame_counter, r.id)
      end
    end
  end)

  it("reads the Austrian EVN Kaifa list with its own scalers (12937 Wh, 233.7 V)", function()
    local r = record("enc-at-evn-kaifa-ma309-mbus-doc")
    local rd = assert(han.decode(unhex(r.hex), keys_of(r)))
    assert.are.equal(12.937, rd.energy_import)
    assert.are.equal(233.7, rd.voltage_l1)
    assert.are.equal(0, rd.power_import)
    assert.are.equal(1, rd.power_factor)
    assert.are.equal(1632728835, rd.meter_time)   -- 2021-09-27 09:47:15, deviation -120
  end)

  it("reads the Swiss Landis+Gyr list by its push-object list (source: LGZ1030769231253)",
    function()
    local r = record("enc-ch-landisgyr-e570-hdlc-gbt")
    local rd = assert(han.decode(unhex(r.hex), keys_of(r)))
    assert.are.equal("LGZ1030769231253", rd.meter_id)
    assert.are.equal(862.055, rd.energy_import)
    assert.are.equal(641.361, rd.energy_export)
  end)

  it("gives the encrypted Aidon list the reading of its plaintext", function()
    local r = record("enc-synthetic-aidon-hdlc-authenc-athombv")
    local rd = assert(han.decode(unhex(r.hex), keys_of(r)))
    local plain = assert(han.decode(unhex(r.plaintext_apdu)))
    rd.encrypted, rd.authenticated, rd.frame_counter = nil, nil, nil
    assert.are.same(plain, rd)
    assert.are.equal(1122, plain.power_import)
  end)

  it("refuses a wrong key with a clear error, never with values", function()
    local r = record("enc-synthetic-aidon-hdlc-authenc-athombv")
    local k = keys_of(r)
    k.key = ("00"):rep(16)
    assert.are.same({ nil, "authentication failed", "auth_failed" },
      { han.decode(unhex(r.hex), k) })
    -- without the authentication key the tag is not checked: the text is no APDU
    k.auth_key = nil
    local none, message, code = han.decode(unhex(r.hex), k)
    assert.is_nil(none)
    assert.are.equal("wrong_key", code)
    assert.truthy(message:find("^wrong decryption key"), message)
  end)
end)
