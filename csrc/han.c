/* The message and the code of every han_err (docs/core-api.md, "Errors and their
 * codes"), in the order of the enum. */
#include "han.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *message, *code; } errors[] = {
    {"ok", "ok"},
    {"no opening flag", "no_flag"},
    {"truncated", "truncated"},
    {"bad format", "bad_format"},
    {"bad length", "bad_length"},
    {"no closing flag", "no_closing_flag"},
    {"bad address", "bad_address"},
    {"bad HCS", "bad_hcs"},
    {"bad FCS", "bad_fcs"},
    {"segmented frame", "segmented"},
    {"bad LLC", "bad_llc"},
    {"unsupported APDU 0x%02X", "unsupported_apdu"},
    {"truncated data", "truncated_data"},
    {"bad date-time", "bad_datetime"},
    {"nesting too deep", "too_deep"},
    {"bad BER length", "bad_ber"},
    {"bad BCD", "bad_bcd"},
    {"unknown data type 0x%02X", "unknown_type"},
    {"trailing data", "trailing_data"},
    {"incomplete segments", "incomplete_segments"},
    {"bad M-Bus frame", "bad_mbus"},
    {"bad M-Bus checksum", "bad_mbus_checksum"},
    {"unsupported M-Bus CI 0x%02X", "unsupported_ci"},
    {"bad block transfer", "bad_block"},
    {"incomplete block transfer", "incomplete_block"},
    {"bad system title", "bad_system_title"},
    {"unsupported security control 0x%02X", "unsupported_security"},
    {"no decryption key (keys.key) for system title ", "no_key"},
    {"ciphered APDU 0x%02X needs keys.system_title", "no_system_title"},
    {"authentication failed", "auth_failed"},
    {"too many envelopes", "too_many_envelopes"},
    {"no SML start", "no_sml_start"},
    {"no SML end", "no_sml_end"},
    {"bad CRC", "bad_crc"},
    {"bad SML padding", "bad_padding"},
    {"bad SML escape", "bad_escape"},
    {"bad SML TL field", "bad_tl"},
    {"bad SML message", "bad_sml_message"},
    {"bad SML list entry", "bad_sml_entry"},
};

/* One entry per error: fails to compile when the enum and the table part ways. */
typedef char han_check_errors[(sizeof errors / sizeof errors[0] == HAN_ECOUNT) ? 1 : -1];

const char *han_strerror(int err, int byte, char *buf)
{
    const char *m;
    if (err < 0 || err >= HAN_ECOUNT) return "error";
    m = errors[err].message;
    if (!strstr(m, "%02X")) return m;
    snprintf(buf, 64, m, (unsigned)byte & 0xFF);
    return buf;
}

const char *han_errcode(int err)
{
    return err < 0 || err >= HAN_ECOUNT ? "error" : errors[err].code;
}
