/* The few Lua API differences han.core meets between 5.1/LuaJIT and 5.2-5.4. */
#ifndef HAN_COMPAT_H
#define HAN_COMPAT_H
#include <stdint.h>
#include "lua.h"
#include "lauxlib.h"

#if LUA_VERSION_NUM < 502
#ifndef luaL_newlib   /* LuaJIT 2.1 may define some of these itself */
#define luaL_newlibtable(L, l) lua_createtable(L, 0, sizeof(l) / sizeof((l)[0]) - 1)
#define luaL_newlib(L, l) (luaL_newlibtable(L, l), luaL_setfuncs(L, l, 0))
#endif
#define luaL_setfuncs han_setfuncs
static inline void han_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    int i;
    for (; l->name; l++) {   /* each function gets the nup values under the table */
        for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}
#endif

/* Integers as integers where Lua has them; on 5.1/LuaJIT lua_Integer may be 32 bits,
 * so 32- and 64-bit values go out as doubles there. */
#if LUA_VERSION_NUM >= 503
#define han_pushsint(L, v) lua_pushinteger(L, (lua_Integer)(v))
#define han_pushuint(L, v) ((v) <= (uint64_t)LUA_MAXINTEGER \
    ? lua_pushinteger(L, (lua_Integer)(v)) : lua_pushnumber(L, (lua_Number)(v)))
#else
#define han_pushsint(L, v) lua_pushnumber(L, (lua_Number)(v))
#define han_pushuint(L, v) lua_pushnumber(L, (lua_Number)(v))
#endif

#endif
