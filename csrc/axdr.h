/* A-XDR values and the DLMS data-notification around them. The walker validates as it
 * goes and records the values in one flat array, without Lua: the binding builds
 * core.notification's tables and core.values' leaves and layout key from it, and
 * core.reading recognises a body's layout in it before it builds a single table. */
#ifndef HAN_AXDR_H
#define HAN_AXDR_H
#include <stddef.h>
#include <stdint.h>

#include "han.h"
#include "hdlc.h"

#define HAN_MAX_DEPTH 16

enum han_vkind {
    HAN_V_NULL, HAN_V_BOOL, HAN_V_SINT, HAN_V_UINT, HAN_V_REAL, HAN_V_STR, HAN_V_BITS,
    HAN_V_TIME, HAN_V_LIST
};

/* One value; the elements of a LIST follow it. */
struct han_rec {
    uint8_t kind, tag;
    size_t n;         /* LIST elements, STR bytes, BITS bits, TIME index in the times */
    size_t next;      /* index of the record after this value and its elements */
    const uint8_t *at;   /* its tag */
    /* p: the bytes of a STR, BITS or TIME; the first element of a LIST (or what follows
     * an empty one) */
    union { int64_t i; uint64_t u; double d; const uint8_t *p; int b; } v;
};

/* The caller sets r, cap (records) and t, tcap (date-times). */
struct han_flat {
    struct han_rec *r;
    struct han_time *t;
    size_t n, cap, nt, tcap;   /* n and nt count on past the capacities: sizes needed */
};

/* Record the one value that fills body[0..len): HAN_OK, or a han_err with *errbyte set
 * for the errors that name a byte; HAN_ETRAILING when bytes remain after the value.
 * With HAN_OK, n > cap or nt > tcap says the arrays were too small: give n and nt and
 * record again. */
int han_flat_record(const uint8_t *body, size_t len, struct han_flat *f, int *errbyte);

/* The layout key (docs/core-api.md, core.values) of a body f holds every record of,
 * into out, which has room for the body's length (the key takes some of its bytes, each
 * once): its length. */
size_t han_flat_key(const struct han_flat *f, uint8_t *out);

/* A BER length at p[0..n): the length and the bytes it took, or HAN_EDATA/HAN_EBER. */
int han_ber(const uint8_t *p, size_t n, uint32_t *len, size_t *used);

/* The data-notification header of `apdu` (LLC optional): invoke id, date-time, and
 * where the body starts. */
struct han_notification {
    uint32_t invoke_id;
    int has_time;
    struct han_time time;
    const uint8_t *body;
    size_t body_len;
};
int han_notification(const uint8_t *apdu, size_t n, struct han_notification *out,
                     int *errbyte);

/* Whether the layout key (han_flat_key) holds all of a record: an array or structure,
 * null-data, and a string but an octet-string of 12 bytes (a date-time). The others
 * are the values that change from push to push. */
static inline int han_rec_in_key(const struct han_rec *r)
{
    return r->kind == HAN_V_LIST || r->kind == HAN_V_NULL
        || (r->kind == HAN_V_STR && !(r->tag == 0x09 && r->n == 12));
}

/* The data-notification of an HDLC frame or an APDU s[0..n), as core.notification
 * reads it: HAN_OK (f filled when s is a frame) or the error, *byte set for those naming
 * one. */
int han_notification_of(const uint8_t *s, size_t n, struct han_hdlc *f,
                        struct han_notification *note, int *byte);

#endif
