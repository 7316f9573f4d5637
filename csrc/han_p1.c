/* core.p1 (docs/core-api.md): a telegram that csrc/p1.c parses, flat: the value of every
 * group in one table, and the telegram's layout key. */
#include <string.h>

#include "binding.h"
#include "p1.h"

/* The visitor fills the values table (at stack index v) and writes the key into key,
 * which has room for all of it (han_l_p1). */
struct p1_builder {
    lua_State *L;
    int v, count;
    char *key;
    size_t len;
    struct han_p1_info info;
};

static void put(struct p1_builder *b, const char *p, size_t n)
{
    memcpy(b->key + b->len, p, n);
    b->len += n;
}

static void p1_begin(void *ud, const struct han_p1_info *in)
{
    struct p1_builder *b = ud;
    lua_createtable(b->L, (int)in->groups, 0);   /* one value a group */
    b->v = lua_gettop(b->L);
    b->info = *in;
    put(b, in->ident - 1, in->ident_len + 1);   /* the line with its '/' */
    put(b, "\n", 1);
}

static void p1_object(void *ud, const char *code, size_t n)
{
    put(ud, code, n);
}

static void p1_value(void *ud, const struct han_p1_value *v)
{
    struct p1_builder *b = ud;
    lua_State *L = b->L;
    switch (v->kind) {
    case HAN_P1_NUMBER:
        put(b, "(n", 2);
        if (v->unit) put(b, v->unit - 1, v->unit_len + 1);   /* '*' and the unit */
#if LUA_VERSION_NUM >= 503
        if (v->is_int) {
            lua_pushinteger(L, (lua_Integer)v->i);
            break;
        }
#endif
        lua_pushnumber(L, (lua_Number)v->d);
        break;
    case HAN_P1_TIME:
        put(b, "(t", 2);
        han_push_time(L, &v->time);
        break;
    default:
        put(b, "(s", 2);
        lua_pushlstring(L, v->text, v->len);
    }
    put(b, ")", 1);
    lua_rawseti(L, b->v, ++b->count);
}

static void p1_end(void *ud)
{
    put(ud, "\n", 1);
}

static const struct han_p1_visitor p1_visitor = { p1_begin, p1_object, p1_value, p1_end };

/* p1(s) -> v, key, crc | nil, err, code */
int han_l_p1(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    struct p1_builder b = { .L = L };
    char small[4096];
    unsigned line;
    int e;
    lua_settop(L, 1);
    /* each part of the key stands for as many bytes of the telegram but a group, whose
     * "(s)" or "(n)" may take one more than its "()" or "(5)": 2 n bytes at most */
    b.key = 2 * n <= sizeof small ? small : lua_newuserdata(L, 2 * n);
    if ((e = han_p1_parse(s, n, &p1_visitor, &b, &line)) != HAN_OK) {
        lua_settop(L, 1);                  /* drop what was built */
        return han_push_error(L, e, (int)line);
    }
    lua_pushvalue(L, b.v);
    lua_pushlstring(L, b.key, b.len);
    if (b.info.has_crc) lua_pushinteger(L, (lua_Integer)b.info.crc);
    else lua_pushnil(L);
    return 3;
}
