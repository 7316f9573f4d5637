/* A-XDR values recorded in one flat array, without Lua: the named reading
 * (han_reading.c) recognises a body's layout from it before it builds a single table. */
#ifndef HAN_FLAT_H
#define HAN_FLAT_H
#include <stddef.h>
#include <stdint.h>

#include "axdr.h"

enum han_vkind {
    HAN_V_NULL, HAN_V_BOOL, HAN_V_SINT, HAN_V_UINT, HAN_V_REAL, HAN_V_STR, HAN_V_BITS,
    HAN_V_TIME, HAN_V_LIST
};

struct han_rec {
    uint8_t kind, tag;
    size_t n;         /* LIST elements, STR bytes, BITS bits, TIME index in the times */
    size_t next;      /* index of the record after this value and its elements */
    union { int64_t i; uint64_t u; double d; const uint8_t *p; int b; } v;
};

/* The caller sets r, cap (records) and t, tcap (date-times). */
struct han_flat {
    struct han_rec *r;
    struct han_time *t;
    size_t n, cap, nt, tcap;   /* n and nt count on past the capacities: sizes needed */
    size_t open[HAN_MAX_DEPTH + 1];
    int depth;
};

/* Record the one value of body[0..len) (han_axdr_walk's checks and errors). With HAN_OK,
 * n > cap or nt > tcap says the arrays were too small: give n and nt and record again. */
int han_flat_record(const uint8_t *body, size_t len, struct han_flat *f, int *errbyte);

#endif
