/* The limit through the Lua C API: bench_capi.copier(template) returns a function that
 * builds a copy of the template table (nested tables too) the way han.core builds its
 * readings: each table made by lua_createtable at its size, each key and value pushed
 * from an array (han.core's interned key strings), each field set by lua_rawset. What a
 * decoder in C that returns this table costs at least, whatever it decodes. */
#include "lua.h"
#include "lauxlib.h"

/* The template at index t flattened into the table at index f from slot n + 1: the
 * number of fields, then per field its key and its value, a nested table's value being
 * `true` followed by its own flattening. Returns the last slot used. */
static int flatten(lua_State *L, int t, int f, int n)
{
    int count = n + 1, fields = 0;
    n = count;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pushvalue(L, -2);
        lua_rawseti(L, f, ++n);
        fields++;
        if (lua_istable(L, -1)) {
            lua_pushboolean(L, 1);
            lua_rawseti(L, f, ++n);
            n = flatten(L, lua_gettop(L), f, n);
        } else {
            lua_pushvalue(L, -1);
            lua_rawseti(L, f, ++n);
        }
        lua_pop(L, 1);
    }
    lua_pushinteger(L, fields);
    lua_rawseti(L, f, count);
    return n;
}

/* Push the table flattened at slot n of f: the slot after it. */
static int build(lua_State *L, int f, int n)
{
    int fields, t, k;
    lua_rawgeti(L, f, n++);
    fields = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_createtable(L, 0, fields);
    t = lua_gettop(L);
    for (k = 0; k < fields; k++) {
        lua_rawgeti(L, f, n++);            /* the key */
        lua_rawgeti(L, f, n++);            /* the value, or true: a table follows */
        if (lua_type(L, -1) == LUA_TBOOLEAN && lua_toboolean(L, -1)) {
            lua_pop(L, 1);
            n = build(L, f, n);
        }
        lua_rawset(L, t);
    }
    return n;
}

static int copy(lua_State *L)
{
    build(L, lua_upvalueindex(1), 1);
    return 1;
}

static int copier(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_newtable(L);
    flatten(L, 1, 2, 0);
    lua_pushcclosure(L, copy, 1);
    return 1;
}

int luaopen_bench_capi(lua_State *L);
int luaopen_bench_capi(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, copier);
    lua_setfield(L, -2, "copier");
    return 1;
}
