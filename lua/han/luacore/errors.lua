-- han.luacore.errors: the message and the code of every data error of han.luacore
-- (docs/core-api.md, "Errors and their codes"), one table for every luacore file, as
-- csrc/han.c and csrc/p1.c hold them for the C core.
local format = string.format

local M = {}

-- code -> message; a message with a format fills it with fail()'s second argument
local MESSAGES = {
  no_flag = "no opening flag",
  truncated = "truncated",
  bad_format = "bad format",
  bad_length = "bad length",
  no_closing_flag = "no closing flag",
  bad_address = "bad address",
  bad_hcs = "bad HCS",
  bad_fcs = "bad FCS",
  segmented = "segmented frame",
  bad_llc = "bad LLC",
  unsupported_apdu = "unsupported APDU 0x%02X",
  truncated_data = "truncated data",
  bad_datetime = "bad date-time",
  too_deep = "nesting too deep",
  bad_ber = "bad BER length",
  bad_bcd = "bad BCD",
  unknown_type = "unknown data type 0x%02X",
  trailing_data = "trailing data",
  incomplete_segments = "incomplete segments",
  bad_mbus = "bad M-Bus frame",
  bad_mbus_checksum = "bad M-Bus checksum",
  unsupported_ci = "unsupported M-Bus CI 0x%02X",
  bad_block = "bad block transfer",
  incomplete_block = "incomplete block transfer",
  bad_system_title = "bad system title",
  unsupported_security = "unsupported security control 0x%02X",
  no_key = "no decryption key (keys.key) for system title %s",
  no_system_title = "ciphered APDU 0x%02X needs keys.system_title",
  auth_failed = "authentication failed",
  too_many_envelopes = "too many envelopes",
  no_start = "no start of telegram",
  no_end = "no end of telegram",
  bad_crc_line = "bad CRC line",
  bad_crc = "bad CRC",
  line_too_long = "line too long",
  bad_character = "bad character",
  bad_identification = "bad identification",
  too_many_lines = "too many lines",
  bad_line = "bad line %d",
  no_sml_start = "no SML start",
  no_sml_end = "no SML end",
  bad_padding = "bad SML padding",
  bad_escape = "bad SML escape",
  bad_tl = "bad SML TL field",
  bad_sml_message = "bad SML message",
  bad_sml_entry = "bad SML list entry",
}

-- fail(code [, x]) -> nil, message, code: what a core function returns for bad data
-- (x fills the message's byte, system title or line number).
function M.fail(code, x)
  local message = MESSAGES[code]
  if x ~= nil then message = format(message, x) end
  return nil, message, code
end

return M
