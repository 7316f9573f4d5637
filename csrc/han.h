/* han engine: the error codes and strings shared by every engine file.
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
    HAN_ETRAILING     /* trailing data */
};

/* The message for an error; `byte` fills the "0x%02X" of the two that name a byte.
 * Writes into buf (at least 32 bytes) and returns it. */
const char *han_strerror(int err, int byte, char *buf);

#endif
