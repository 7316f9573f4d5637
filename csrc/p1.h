/* DSMR P1 telegrams: the checks and values of core.p1 (docs/core-api.md). The parser
 * reports each value to a visitor, like the A-XDR walker, so the Lua binding builds
 * tables and a fuzzer or benchmark can pass callbacks that do nothing. No Lua here. */
#ifndef HAN_P1_H
#define HAN_P1_H
#include <stddef.h>
#include <stdint.h>

#include "han.h"

#define HAN_P1_MAX_LINE  2048   /* bytes in a line, its CR LF not counted */
#define HAN_P1_MAX_LINES 1024   /* data lines in a telegram */
#define HAN_P1_MAX_UNIT  16     /* bytes in a unit */

/* What is known once the end line, the CRC and the identification line are good. */
struct han_p1_info {
    const char *ident;     /* the identification line without its '/' */
    size_t ident_len;
    int has_crc;
    unsigned crc;
    unsigned groups;       /* '(' after the identification: a bound on the values */
};

enum han_p1_kind { HAN_P1_STRING, HAN_P1_NUMBER, HAN_P1_TIME };

/* One group, the text between its parentheses. */
struct han_p1_value {
    int kind;
    const char *text;           /* the group as printed (every kind) */
    size_t len;
    const char *unit;           /* NUMBER with '*unit', else NULL */
    size_t unit_len;
    int is_int;                 /* NUMBER without a decimal point that fits int64 */
    int64_t i;                  /* ... its value */
    double d;                   /* NUMBER: the nearest double (as Lua's tonumber) */
    struct han_time time;       /* TIME: year 2000 + YY, month .. sec; status 0x80 'S' or
                                   's', 0 'W' or 'w'; the other fields unspecified */
};

/* begin, then per object: object, value for each group (continuation lines included),
 * end. */
struct han_p1_visitor {
    void (*begin)(void *ud, const struct han_p1_info *info);
    void (*object)(void *ud, const char *code, size_t n);
    void (*value)(void *ud, const struct han_p1_value *v);
    void (*end)(void *ud);
};

/* Parse the telegram s[0..n), reporting to v as it goes: HAN_OK, or one of the
 * HAN_P1_E... han_errs (*errline is the line of HAN_P1_ELINE) after which the caller
 * drops what it was told. The end line and the CRC are checked before anything is
 * reported, so a corrupted telegram reports nothing. */
int han_p1_parse(const uint8_t *s, size_t n, const struct han_p1_visitor *v, void *ud,
                 unsigned *errline);

#endif
