-- A key that does not match is called a wrong key, whatever the garbage it decrypts to
-- looks like (an APDU tag, another ciphering layer, a block transfer, a BER length).
local H = require("helpers")
local han = require("han")
han.use_backend(H.backend)

local function given(v)
  if v == H.json_null then return nil end
  return v
end

describe("a wrong key (" .. H.backend .. " backend)", function()
  it("is wrong_key, or auth_failed where the tag is checked, on every encrypted vector", function()
    local rand, tried = H.rng(2024), 0
    for _, rec in ipairs(H.jsonl("encrypted.jsonl")) do
      local frame, title = H.unhex(rec.hex), given(rec.system_title)
      for _ = 1, 24 do
        local key = {}
        for i = 1, 16 do key[i] = string.char(rand(256) - 1) end
        key = table.concat(key)
        local r, err, code = han.decode(frame, { key = key, system_title = title })
        assert.is_nil(r)
        assert.are.equal("wrong_key", code, rec.id .. ": " .. tostring(err))
        assert.matches("^wrong decryption key %(or damaged frame%)", err)
        local ak = given(rec.authentication_key)
        if ak and rec.tag_ok == true then
          r, err, code = han.decode(frame, { key = key, auth_key = ak, system_title = title })
          assert.is_nil(r)
          assert.are.same({ "authentication failed", "auth_failed" }, { err, code })
        end
        tried = tried + 1
      end
    end
    assert.is_true(tried >= 200)
  end)

  it("leaves the errors of a text whose tag verified as they are", function()
    for _, rec in ipairs(H.jsonl("encrypted.jsonl")) do
      if rec.tag_ok == true then
        local keys = { key = rec.encryption_key, auth_key = rec.authentication_key,
          system_title = given(rec.system_title) }
        local r, err, code = han.decode(H.unhex(rec.hex), keys)
        if not r then assert.are_not.equal("wrong_key", code, rec.id .. ": " .. err) end
      end
    end
  end)
end)
