/* core.sml (docs/core-api.md): a transmission that csrc/sml.c parses, flat: the values
 * in one table, the layout key, the transport CRC's variant and the count of messages
 * whose own CRC failed. */
#include "binding.h"
#include "han.h"
#include "sml.h"

struct sml_builder {
    lua_State *L;
    int count;
};

/* The visitor: each value into the table on top of the stack. */
static void sml_value(void *ud, const struct han_sml_value *v)
{
    struct sml_builder *b = ud;
    lua_State *L = b->L;
    switch (v->kind) {
    case HAN_SML_OCTETS: lua_pushlstring(L, (const char *)v->p, v->n); break;
    case HAN_SML_BOOL: lua_pushboolean(L, v->b); break;
    case HAN_SML_INT: han_pushsint(L, v->i); break;
    default: han_pushuint(L, v->u);
    }
    lua_rawseti(L, -2, ++b->count);
}

/* sml(s) -> v, key, crc, bad | nil, err, code */
int han_l_sml(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    struct sml_builder b;
    struct han_sml_result res;
    uint8_t small[4096], *work = small;
    char *key;
    int e;
    lua_settop(L, 1);
    if (n + HAN_SML_KEY_CAP(n) > sizeof small)
        work = lua_newuserdata(L, n + HAN_SML_KEY_CAP(n));
    key = (char *)(work + n);
    b.L = L;
    b.count = 0;
    lua_createtable(L, (int)(n / 16), 0);   /* about one value per 16 bytes */
    e = han_sml_parse(s, n, work, key, sml_value, &b, &res);
    if (e != HAN_OK) {
        lua_settop(L, 1);                    /* drop what was built */
        return han_push_error(L, e, 0);
    }
    lua_pushlstring(L, key, res.key_len);
    lua_pushstring(L, res.kermit ? "kermit" : "x25");
    lua_pushinteger(L, (lua_Integer)res.bad_crcs);
    return 4;
}
