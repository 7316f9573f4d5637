/* The data-notification of a frame or APDU, and its records in the flat form of
 * lua/han/luawalk.lua, for LuaJIT's FFI: there han.ffireading names them in compiled
 * Lua (lua/han/luareading.lua), which builds tables faster than the C API can. */
#ifndef HAN_RECORDS_H
#define HAN_RECORDS_H
#include <stddef.h>
#include <stdint.h>
#include "axdr.h"
#include "hdlc.h"

/* What han_records says besides the records. */
struct han_records_info {
    int32_t at;       /* position (from 1) of the header's date-time bytes, 0: none */
    int32_t framed;   /* 1 when s is an HDLC frame, whose source address is src */
    double src;
};

/* The records of the notification in s[0..n), record i (from 1) in kind[i], v[i], w[i]
 * as han.luawalk keeps K, V, W: kind a han_vkind; a number's value in v (a boolean's as
 * 0 or 1); a string's, bit-string's or date-time's first position in v and its length,
 * bit count or tag in w; a list's element count in v and the record after its last
 * element in w. Returns the number of records, or 0 for any error and for a body of
 * more than cap records: core.reading then gives the reading or the error. */
int han_records(const uint8_t *s, size_t n, uint8_t *kind, double *v, int32_t *w,
                int32_t cap, struct han_records_info *info);

/* han_records for the FFI, as han.core's `records` (a light userdata pointing here):
 * a function pointer in a struct, since C99 does not convert it to void *. */
struct han_records_entry {
    int (*records)(const uint8_t *, size_t, uint8_t *, double *, int32_t *, int32_t,
                   struct han_records_info *);
};
extern const struct han_records_entry han_records_entry;

#endif
