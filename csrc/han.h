/* han engine: the errors shared by every engine file (han.c gives their messages and codes).
 * No Lua here: the engine can be fuzzed and benchmarked on its own. */
#ifndef HAN_H
#define HAN_H
#include <stddef.h>
#include <stdint.h>

/* Every han_err: its name, its message (docs/core-api.md, "Errors and their codes";
 * "0x%02X" names a byte) and its stable code, the DLMS errors, then P1's, then SML's. */
#define HAN_ERRORS(X) \
    X(HAN_OK,          "ok", "ok")                                                        \
    X(HAN_ENOFLAG,     "no opening flag", "no_flag")                                      \
    X(HAN_ETRUNC,      "truncated", "truncated")                                          \
    X(HAN_EFORMAT,     "bad format", "bad_format")                                        \
    X(HAN_ELENGTH,     "bad length", "bad_length")                                        \
    X(HAN_ECLOSE,      "no closing flag", "no_closing_flag")                              \
    X(HAN_EADDR,       "bad address", "bad_address")                                      \
    X(HAN_EHCS,        "bad HCS", "bad_hcs")                                              \
    X(HAN_EFCS,        "bad FCS", "bad_fcs")                                              \
    X(HAN_ESEGMENTED,  "segmented frame", "segmented")                                    \
    X(HAN_ELLC,        "bad LLC", "bad_llc")                                              \
    X(HAN_EAPDU,       "unsupported APDU 0x%02X", "unsupported_apdu")                     \
    X(HAN_EDATA,       "truncated data", "truncated_data")                                \
    X(HAN_EDATETIME,   "bad date-time", "bad_datetime")                                   \
    X(HAN_EDEPTH,      "nesting too deep", "too_deep")                                    \
    X(HAN_EBER,        "bad BER length", "bad_ber")                                       \
    X(HAN_EBCD,        "bad BCD", "bad_bcd")                                              \
    X(HAN_ETYPE,       "unknown data type 0x%02X", "unknown_type")                        \
    X(HAN_ETRAILING,   "trailing data", "trailing_data")                                  \
    X(HAN_ESEGMENTS,   "incomplete segments", "incomplete_segments")                      \
    X(HAN_EMBUS,       "bad M-Bus frame", "bad_mbus")                                     \
    X(HAN_EMBUSCS,     "bad M-Bus checksum", "bad_mbus_checksum")                         \
    X(HAN_ECI,         "unsupported M-Bus CI 0x%02X", "unsupported_ci")                   \
    X(HAN_EBLOCK,      "bad block transfer", "bad_block")                                 \
    X(HAN_EBLOCKS,     "incomplete block transfer", "incomplete_block")                   \
    X(HAN_ETITLE,      "bad system title", "bad_system_title")                            \
    X(HAN_ESECURITY,   "unsupported security control 0x%02X", "unsupported_security")     \
    X(HAN_ENOKEY,      "no decryption key (keys.key) for system title ", "no_key")        \
    X(HAN_ENOTITLE,    "ciphered APDU 0x%02X needs keys.system_title", "no_system_title") \
    X(HAN_EAUTH,       "authentication failed", "auth_failed")                            \
    X(HAN_ENESTED,     "too many envelopes", "too_many_envelopes")                        \
    X(HAN_P1_ESTART,   "no start of telegram", "no_start")                                \
    X(HAN_P1_EEND,     "no end of telegram", "no_end")                                    \
    X(HAN_P1_ECRCLINE, "bad CRC line", "bad_crc_line")                                    \
    X(HAN_P1_ECRC,     "bad CRC", "bad_crc")                                              \
    X(HAN_P1_ELONG,    "line too long", "line_too_long")                                  \
    X(HAN_P1_ECHAR,    "bad character", "bad_character")                                  \
    X(HAN_P1_EIDENT,   "bad identification", "bad_identification")                        \
    X(HAN_P1_ELINES,   "too many lines", "too_many_lines")                                \
    X(HAN_P1_ELINE,    "bad line %u", "bad_line")                                        \
    X(HAN_ESMLSTART,   "no SML start", "no_sml_start")                                    \
    X(HAN_ESMLEND,     "no SML end", "no_sml_end")                                        \
    X(HAN_ECRC,        "bad CRC", "bad_crc")                                              \
    X(HAN_EPADDING,    "bad SML padding", "bad_padding")                                  \
    X(HAN_EESCAPE,     "bad SML escape", "bad_escape")                                    \
    X(HAN_ETL,         "bad SML TL field", "bad_tl")                                      \
    X(HAN_ESMLMSG,     "bad SML message", "bad_sml_message")                              \
    X(HAN_ESMLENTRY,   "bad SML list entry", "bad_sml_entry")

#define HAN_ERR_NAME(name, message, code) name,
enum han_err { HAN_ERRORS(HAN_ERR_NAME) HAN_ECOUNT };
#undef HAN_ERR_NAME

/* The message for an error (csrc/han.c); `arg` fills the "0x%02X" of those that name a
 * byte and the "%u" of HAN_P1_ELINE's line. May write into buf (at least 64 bytes);
 * returns the message. HAN_ENOKEY's ends with "system title ": the binding appends the
 * title. */
const char *han_strerror(int err, unsigned arg, char *buf);

/* The stable code of an error, for code to decide on (docs/core-api.md). */
const char *han_errcode(int err);

#define HAN_UNSPEC (-0x7FFFFFFF - 1)   /* a date-time field the meter left unspecified */

/* The fields of a time, in the order of a COSEM date-time's bytes: a DLMS date-time,
 * date or time, or a P1 time; HAN_UNSPEC where the meter gives none. */
enum han_tfield {
    HAN_T_YEAR, HAN_T_MONTH, HAN_T_DAY, HAN_T_WDAY, HAN_T_HOUR, HAN_T_MIN, HAN_T_SEC,
    HAN_T_HUNDREDTHS, HAN_T_DEVIATION, HAN_T_STATUS, HAN_T_COUNT
};
struct han_time {
    int v[HAN_T_COUNT];
};

/* The big-endian 32-bit number at p. */
static inline uint32_t han_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The value of a hex digit (either case), or -1. */
static inline int han_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The number the n hex digits at p spell (at most 8), into *v: 1, or 0 when a byte is not
 * a hex digit. Keys, system titles, P1 CRCs. */
static inline int han_hex(const uint8_t *p, size_t n, unsigned *v)
{
    for (*v = 0; n > 0; n--, p++) {
        if (han_hexval(*p) < 0) return 0;
        *v = *v << 4 | (unsigned)han_hexval(*p);
    }
    return 1;
}

#endif
