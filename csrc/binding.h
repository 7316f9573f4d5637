/* What the files of the han.core binding (han_core.c, han_p1.c) share. */
#ifndef HAN_BINDING_H
#define HAN_BINDING_H
#include "compat.h"
#include "axdr.h"
#include "hdlc.h"

/* The fields of a time table, interned once: upvalue 1 of every han.core function is
 * the table of them, so a time is made without hashing its names again. */
enum han_key {
    HAN_K_YEAR = 1, HAN_K_MONTH, HAN_K_DAY, HAN_K_WDAY, HAN_K_HOUR, HAN_K_MIN, HAN_K_SEC,
    HAN_K_HUNDREDTHS, HAN_K_DEVIATION, HAN_K_STATUS, HAN_K_COUNT
};

/* Push the key table (luaopen_han_core). */
void han_push_keys(lua_State *L);

/* nil, the message and the code of a han_err: 3 results. */
int han_push_error(lua_State *L, int err, int byte);

/* A date-time (tag 0x19, or a header), date (0x1A) or time (0x1B) as a table. */
void han_push_time(lua_State *L, int tag, const struct han_time *t);

/* The notification of a frame or APDU and its body's records: on the C stack for a body
 * of up to HAN_RECS values, else in a userdata pushed on the Lua stack. */
#define HAN_RECS  256
#define HAN_TIMES 16
struct han_body {
    struct han_hdlc frame;            /* when the data is a frame */
    struct han_notification note;
    struct han_flat flat;
    struct han_rec recs[HAN_RECS];
    struct han_time times[HAN_TIMES];
};

/* Read the data-notification of s[0..n) into b: 0, or the error pushed (han_push_error)
 * and its count returned. */
int han_read_body(lua_State *L, const uint8_t *s, size_t n, struct han_body *b);

/* Push a record as core.notification gives it: a list as an array table. */
void han_push_rec(lua_State *L, const struct han_flat *f, const struct han_rec *v);

/* core.p1(s) */
int han_l_p1(lua_State *L);

/* core.sml(s) */
int han_l_sml(lua_State *L);

#endif
