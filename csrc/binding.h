/* What the files of the han.core binding (han_core.c, han_p1.c) share. */
#ifndef HAN_BINDING_H
#define HAN_BINDING_H
#include "compat.h"
#include "axdr.h"   /* and hdlc.h */

/* The fields of a time table, interned once: upvalue 1 of every han.core function is
 * the table of them, so a time is made without hashing its names again. */
enum han_key {
    HAN_K_YEAR = 1, HAN_K_MONTH, HAN_K_DAY, HAN_K_WDAY, HAN_K_HOUR, HAN_K_MIN, HAN_K_SEC,
    HAN_K_HUNDREDTHS, HAN_K_DEVIATION, HAN_K_STATUS, HAN_K_COUNT
};

/* nil, the message and the code of a han_err: 3 results. */
int han_push_error(lua_State *L, int err, int byte);

/* A date-time (tag 0x19, or a header), date (0x1A) or time (0x1B) as a table. */
void han_push_time(lua_State *L, int tag, const struct han_time *t);

/* core.p1(s) */
int han_l_p1(lua_State *L);

/* core.sml(s) */
int han_l_sml(lua_State *L);

#endif
