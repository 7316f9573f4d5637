/* han engine: the errors shared by every engine file (their messages and codes in han.c).
 * No Lua here: the engine can be fuzzed and benchmarked on its own. */
#ifndef HAN_H
#define HAN_H

enum han_err {
    HAN_OK = 0,
    HAN_ENOFLAG,      /* no opening flag */
    HAN_ETRUNC,       /* truncated */
    HAN_EFORMAT,      /* bad format */
    HAN_ELENGTH,      /* bad length */
    HAN_ECLOSE,       /* no closing flag */
    HAN_EADDR,        /* bad address */
    HAN_EHCS,         /* bad HCS */
    HAN_EFCS,         /* bad FCS */
    HAN_ESEGMENTED,   /* segmented frame */
    HAN_ELLC,         /* bad LLC */
    HAN_EAPDU,        /* unsupported APDU 0x%02X */
    HAN_EDATA,        /* truncated data */
    HAN_EDATETIME,    /* bad date-time */
    HAN_EDEPTH,       /* nesting too deep */
    HAN_EBER,         /* bad BER length */
    HAN_EBCD,         /* bad BCD */
    HAN_ETYPE,        /* unknown data type 0x%02X */
    HAN_ETRAILING,    /* trailing data */
    HAN_ESEGMENTS,    /* incomplete segments */
    HAN_EMBUS,        /* bad M-Bus frame */
    HAN_EMBUSCS,      /* bad M-Bus checksum */
    HAN_ECI,          /* unsupported M-Bus CI 0x%02X */
    HAN_EBLOCK,       /* bad block transfer */
    HAN_EBLOCKS,      /* incomplete block transfer */
    HAN_ETITLE,       /* bad system title */
    HAN_ESECURITY,    /* unsupported security control 0x%02X */
    HAN_ENOKEY,       /* no key: the binding names the system title */
    HAN_ENOTITLE,     /* ciphered APDU 0x%02X needs keys.system_title */
    HAN_EAUTH,        /* authentication failed */
    HAN_ENESTED,      /* too many envelopes */
    HAN_ESMLSTART,    /* no SML start */
    HAN_ESMLEND,      /* no SML end */
    HAN_ECRC,         /* bad CRC (SML transport) */
    HAN_EPADDING,     /* bad SML padding */
    HAN_EESCAPE,      /* bad SML escape */
    HAN_ETL,          /* bad SML TL field */
    HAN_ESMLMSG,      /* bad SML message */
    HAN_ESMLENTRY,    /* bad SML list entry */
    HAN_ECOUNT        /* how many there are */
};

/* The message for an error (csrc/han.c); `byte` fills the "0x%02X" of those that name a
 * byte. May write into buf (at least 64 bytes); returns the message. HAN_ENOKEY's ends
 * with "system title ": the binding appends the title. */
const char *han_strerror(int err, int byte, char *buf);

/* The stable code of an error, for code to decide on (docs/core-api.md). */
const char *han_errcode(int err);

/* The value of a hex digit (either case), or -1: keys, system titles, P1 CRCs. */
static inline int han_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

#endif
