/* What the files of the han.core binding (han_core.c, han_p1.c) share. */
#ifndef HAN_BINDING_H
#define HAN_BINDING_H
#include "compat.h"
#include "axdr.h"   /* and hdlc.h */

/* nil, the message and the code of a han_err: 3 results. */
int han_push_error(lua_State *L, int err, int byte);

/* A time as a table of its specified fields. Upvalue 1 of every han.core function is
 * the table of the field names (HAN_T_YEAR + 1 ...), interned once, so a time is made
 * without hashing its names again. */
void han_push_time(lua_State *L, const struct han_time *t);

/* core.p1(s) */
int han_l_p1(lua_State *L);

/* core.sml(s) */
int han_l_sml(lua_State *L);

#endif
