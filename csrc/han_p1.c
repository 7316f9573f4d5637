/* core.p1 (docs/core-api.md): the Lua tables of a P1 telegram that csrc/p1.c parses, and
 * the numbers han.p1 names, named here. */
#include <math.h>
#include <string.h>

#include "binding.h"
#include "p1.h"

/* core.p1: the visitor builds {ident, crc, obis, units}. The stack holds the result,
 * obis and units, then the open object's code and its value (a sequence from its
 * second group on). */
struct p1_builder {
    lua_State *L;
    int obis, units;       /* stack indices */
    int unit_slot;         /* stack index of the last unit pushed, whose text is unit */
    const char *unit;
    size_t unit_len;
    unsigned count;        /* groups of the open object so far */
};

/* The fields of P1's time tables, in the order of a han_p1_value's. */
static const int P1_TIME_KEYS[] = {HAN_K_YEAR, HAN_K_MONTH, HAN_K_DAY, HAN_K_HOUR,
                                   HAN_K_MIN, HAN_K_SEC, HAN_K_STATUS};

static void p1_begin(void *ud, const struct han_p1_info *in)
{
    struct p1_builder *b = ud;
    lua_State *L = b->L;
    int t;
    lua_createtable(L, 0, 4);
    t = lua_gettop(L);
    lua_pushlstring(L, in->ident, in->ident_len);
    han_setkey(L, t, HAN_K_IDENT);
    if (in->has_crc) {
        lua_pushinteger(L, (lua_Integer)in->crc);
        han_setkey(L, t, HAN_K_CRC);
    }
    lua_createtable(L, 0, (int)in->lines);
    lua_pushvalue(L, -1);
    han_setkey(L, t, HAN_K_OBIS);
    b->obis = lua_gettop(L);
    lua_createtable(L, 0, (int)in->lines / 2);   /* the numbers that carry a unit */
    lua_pushvalue(L, -1);
    han_setkey(L, t, HAN_K_UNITS);
    b->units = lua_gettop(L);
    lua_pushnil(L);
    b->unit_slot = lua_gettop(L);
    b->unit = NULL;
    b->unit_len = 0;
}

static void p1_object(void *ud, const char *code, size_t n)
{
    struct p1_builder *b = ud;
    lua_pushlstring(b->L, code, n);
    b->count = 0;
}

static void p1_value(void *ud, const struct han_p1_value *v)
{
    struct p1_builder *b = ud;
    lua_State *L = b->L;
    switch (v->kind) {
    case HAN_P1_NUMBER:
#if LUA_VERSION_NUM >= 503
        if (v->is_int) {
            lua_pushinteger(L, (lua_Integer)v->i);
            break;
        }
#endif
        lua_pushnumber(L, (lua_Number)v->d);
        break;
    case HAN_P1_TIME: {
        const int f[7] = {v->year, v->month, v->day, v->hour, v->min, v->sec, v->status};
        int k;
        lua_createtable(L, 0, 7);
        for (k = 0; k < (v->status >= 0 ? 7 : 6); k++) {
            lua_rawgeti(L, lua_upvalueindex(1), P1_TIME_KEYS[k]);
            lua_pushinteger(L, f[k]);
            lua_rawset(L, -3);
        }
        break;
    }
    default:
        lua_pushlstring(L, v->text, v->len);
    }
    if (++b->count == 2) {
        lua_createtable(L, 2, 0);
        lua_insert(L, -3);
        lua_rawseti(L, -3, 2);
        lua_rawseti(L, -2, 1);
    } else if (b->count > 2) {
        lua_rawseti(L, -2, (int)b->count);
    }
}

static void p1_end(void *ud, const char *unit, size_t unit_len)
{
    struct p1_builder *b = ud;
    lua_State *L = b->L;
    lua_pushvalue(L, -2);                      /* code, value, code */
    if (unit) {
        if (unit_len == b->unit_len && memcmp(unit, b->unit, unit_len) == 0) {
            lua_pushvalue(L, b->unit_slot);    /* units come in runs: kWh, kW, A */
        } else {
            lua_pushlstring(L, unit, unit_len);
            lua_pushvalue(L, -1);
            lua_replace(L, b->unit_slot);
            b->unit = unit;
            b->unit_len = unit_len;
        }
        lua_rawset(L, b->units);
    } else {
        lua_pushvalue(L, -1);
        lua_rawget(L, b->units);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 2);
        } else {                               /* an earlier line of the code had a unit */
            lua_pop(L, 1);
            lua_pushnil(L);
            lua_rawset(L, b->units);
        }
    }
    lua_rawset(L, b->obis);                    /* obis[code] = value */
}

static const struct han_p1_visitor p1_visitor = { p1_begin, p1_object, p1_value, p1_end };

/* v * 10^x as han.p1's scaled() gives it: a quotient for x < 0; a product, taken as the
 * integer it misses by rounding only (2.027 kW is 2027 W); on Lua 5.3+ an integer
 * times 10, 100 or 1000 stays an integer, as Lua's own arithmetic keeps it. */
static void p1_push_scaled(lua_State *L, int v, int x)
{
    static const double pow10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
        1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    const double round = 6755399441055744.0, limit = 2251799813685248.0;   /* 2^51 */
    double r, i, d;
#if LUA_VERSION_NUM >= 503
    if (x > 0 && x <= 3 && lua_isinteger(L, v)) {
        lua_pushinteger(L, (lua_Integer)((lua_Unsigned)lua_tointeger(L, v)
                                         * (lua_Unsigned)pow10[x]));
        return;
    }
#endif
    if (x < 0) {
        lua_pushnumber(L, lua_tonumber(L, v) / pow10[-x]);
        return;
    }
    r = lua_tonumber(L, v) * pow10[x];
    if (r > -limit && r < limit) {
        i = r + round - round;
        d = r - i;
        if (d != 0 && fabs(d) <= fabs(r) * 1e-12) r = i;
    }
    lua_pushnumber(L, r);
}

/* han.p1's numeric fields, named in C into t.named: for each code of obis (in next()
 * order) with a number whose entry in names has a scale, [field] = the number scaled by its unit's
 * power of ten (no field for a unit the scale does not know); a number whose entry has
 * neither scale nor kind (a code han.p1 does not know) needs nothing; every other code
 * goes into t.rest, in the same order, for the Lua side. */
static void p1_numbers(lua_State *L, int t, int obis, int units, int names)
{
    int r, rest, e, top = lua_gettop(L), n = 0;
    lua_createtable(L, 0, 32);                    /* room for a DSMR 5 reading's fields */
    r = lua_gettop(L);
    lua_newtable(L);
    rest = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, obis)) {                   /* code at top - 1, value at top */
        int v = lua_gettop(L), named = 0;
        if (lua_type(L, v) == LUA_TNUMBER) {
            lua_pushvalue(L, v - 1);
            lua_rawget(L, names);
            e = lua_gettop(L);
            if (lua_istable(L, e)) {
                han_getkey(L, e, HAN_K_SCALE);
                if (lua_istable(L, -1)) {
                    lua_pushvalue(L, v - 1);
                    lua_rawget(L, units);
                    if (lua_isnil(L, -1)) {
                        lua_pop(L, 1);
                        lua_rawgeti(L, lua_upvalueindex(1), HAN_K_NO_UNIT);
                    }
                    lua_rawget(L, -2);            /* the unit's power of ten */
                    if (lua_type(L, -1) == LUA_TNUMBER) {
                        lua_Number x = lua_tonumber(L, -1);
                        if (x == (int)x && x >= -22 && x <= 22) {
                            named = 1;
                            han_getkey(L, e, HAN_K_FIELD);
                            if (x == 0) lua_pushvalue(L, v);
                            else p1_push_scaled(L, v, (int)x);
                            lua_rawset(L, r);
                        }
                    } else {
                        named = 1;                /* a unit no field takes */
                    }
                } else {
                    han_getkey(L, e, HAN_K_KIND);
                    named = lua_isnil(L, -1);     /* a code han.p1 does not know */
                }
            }
            lua_settop(L, v);
        }
        if (!named) {
            lua_pushvalue(L, v - 1);
            lua_rawseti(L, rest, ++n);
        }
        lua_pop(L, 1);
    }
    han_setkey(L, t, HAN_K_REST);
    han_setkey(L, t, HAN_K_NAMED);
    lua_settop(L, top);
}

int han_l_p1(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    struct p1_builder b;
    unsigned line;
    char buf[32];
    int e, names = lua_istable(L, 2);
    lua_settop(L, 2);
    b.L = L;
    luaL_checkstack(L, 24, "han.core.p1");
    if ((e = han_p1_parse(s, n, &p1_visitor, &b, &line)) != HAN_P1_OK) {
        lua_settop(L, 2);                  /* drop what was built */
        lua_pushnil(L);
        lua_pushstring(L, han_p1_strerror(e, line, buf));
        return 2;
    }
    if (names) p1_numbers(L, b.obis - 1, b.obis, b.units, 2);
    lua_settop(L, b.obis - 1);             /* the result */
    return 1;
}
