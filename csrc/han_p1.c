/* core.p1 (docs/core-api.md): the Lua tables of a P1 telegram that csrc/p1.c parses, and
 * the numbers han.p1 names, named here. */
#include <math.h>
#include <string.h>

#include "binding.h"
#include "clock.h"
#include "han.h"
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

/* The meter time of the time table at v, as time.epoch reads it in the zone z. */
static void p1_push_epoch(lua_State *L, int v, const int64_t *z, int nz)
{
    static const int keys[] = { HAN_K_YEAR, HAN_K_MONTH, HAN_K_DAY, HAN_K_HOUR, HAN_K_MIN,
                                HAN_K_SEC, HAN_K_STATUS };
    int f[7], k;
    struct han_time t;
    int64_t when;
    for (k = 0; k < 7; k++) {
        han_getkey(L, v, keys[k]);
        f[k] = lua_isnil(L, -1) ? HAN_UNSPEC : (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    t.year = f[0]; t.month = f[1]; t.day = f[2]; t.hour = f[3]; t.min = f[4];
    t.sec = f[5]; t.status = f[6];
    t.wday = t.hundredths = t.deviation = HAN_UNSPEC;
    if (han_epoch(&t, z, nz, 0, &when)) han_pushsint(L, when);
    else lua_pushnil(L);
}

/* An id as han.p1 gives it: hex-encoded printable ASCII decoded, else as sent. */
static void p1_push_id(lua_State *L, int v)
{
    size_t n, i;
    const char *s = lua_tolstring(L, v, &n);
    char out[HAN_P1_MAX_LINE / 2];
    int hi, lo;
    if (n % 2 == 0 && n / 2 <= sizeof out) {
        for (i = 0; i < n; i += 2) {
            hi = han_hexval((uint8_t)s[i]);
            lo = han_hexval((uint8_t)s[i + 1]);
            if (hi < 0 || lo < 0) break;
            out[i / 2] = (char)(hi * 16 + lo);
            if (out[i / 2] < 0x20 || out[i / 2] > 0x7E) break;
        }
        if (i == n) {
            lua_pushlstring(L, out, n / 2);
            return;
        }
    }
    lua_pushvalue(L, v);
}

/* A string of digits only (tariff indicators). */
static int p1_digits(lua_State *L, int v)
{
    size_t n, i;
    const char *s;
    if (lua_type(L, v) != LUA_TSTRING) return 0;
    s = lua_tolstring(L, v, &n);
    for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {}
    return n > 0 && i == n;
}

/* The kinds of han.p1's entries that are named here. */
enum { KIND_OTHER, KIND_NONE, KIND_TEXT, KIND_TARIFF, KIND_CLOCK, KIND_ID };

static int p1_kind(lua_State *L, int e)
{
    static const char *const names[] = { "text", "tariff", "clock", "id" };
    int kind = KIND_OTHER;
    size_t i;
    han_getkey(L, e, HAN_K_KIND);
    if (lua_isnil(L, -1)) kind = KIND_NONE;
    else if (lua_type(L, -1) == LUA_TSTRING)
        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(lua_tostring(L, -1), names[i]) == 0) kind = KIND_TEXT + (int)i;
    lua_pop(L, 1);
    return kind;
}

/* What han.p1 names from one value, named in C into t.named (docs/core-api.md): for each
 * code of obis, in next() order, by its entry in names. Every other code goes into
 * t.rest, in the same order, for the Lua side. */
static void p1_name(lua_State *L, int t, int obis, int units, int names, int zone)
{
    int64_t z[5];
    int nz = han_zone_numbers(L, zone, z);
    int r, rest, id, e, top = lua_gettop(L), n = 0;
    lua_Number id_rank = 5;
    lua_createtable(L, 0, 32);                    /* room for a DSMR 5 reading's fields */
    r = lua_gettop(L);
    lua_createtable(L, 16, 0);
    rest = lua_gettop(L);
    lua_pushnil(L);                               /* the best id so far */
    id = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, obis)) {                   /* code at top - 1, value at top */
        int v = lua_gettop(L), named = 0, type = lua_type(L, v);
        size_t len;
        lua_pushvalue(L, v - 1);
        lua_rawget(L, names);
        e = lua_gettop(L);
        if (lua_istable(L, e)) {
            han_getkey(L, e, HAN_K_SCALE);
            if (lua_istable(L, -1)) {
                if (type == LUA_TNUMBER) {
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
                }
            } else {
                switch (p1_kind(L, e)) {
                case KIND_NONE:                   /* a code han.p1 does not know */
                    named = type != LUA_TTABLE;
                    break;
                case KIND_TEXT:
                    han_getkey(L, e, HAN_K_FIELD);
                    named = type != LUA_TSTRING || !lua_isnil(L, -1);
                    if (named && type == LUA_TSTRING) {
                        lua_pushvalue(L, v);
                        lua_rawset(L, r);
                    }
                    break;
                case KIND_TARIFF:
                    named = 1;
                    lua_rawgeti(L, lua_upvalueindex(1), HAN_K_TARIFF);
                    if (!p1_digits(L, v)) lua_pushnil(L);
#if LUA_VERSION_NUM >= 503
                    else lua_stringtonumber(L, lua_tostring(L, v));
#else
                    else lua_pushnumber(L, lua_tonumber(L, v));
#endif
                    lua_rawset(L, r);
                    break;
                case KIND_CLOCK:                  /* a time; a list goes to han.p1 */
                    if (type == LUA_TTABLE) {
                        han_getkey(L, v, HAN_K_YEAR);
                        named = nz > 0 && !lua_isnil(L, -1);
                        if (named) {
                            lua_pushvalue(L, v);
                            han_setkey(L, r, HAN_K_TIME_FIELDS);
                            lua_rawgeti(L, lua_upvalueindex(1), HAN_K_METER_TIME);
                            p1_push_epoch(L, v, z, nz);
                            lua_rawset(L, r);
                        }
                    } else {
                        named = 1;
                    }
                    break;
                case KIND_ID:                     /* the lowest rank with a string */
                    han_getkey(L, e, HAN_K_RANK);
                    named = lua_type(L, -1) == LUA_TNUMBER;
                    if (named && type == LUA_TSTRING && lua_tolstring(L, v, &len) && len > 0
                        && lua_tonumber(L, -1) < id_rank) {
                        id_rank = lua_tonumber(L, -1);
                        lua_pushvalue(L, v);
                        lua_replace(L, id);
                    }
                    break;
                default:
                    break;
                }
            }
        }
        lua_settop(L, v);
        if (!named) {
            lua_pushvalue(L, v - 1);
            lua_rawseti(L, rest, ++n);
        }
        lua_pop(L, 1);
    }
    if (!lua_isnil(L, id)) {
        lua_rawgeti(L, lua_upvalueindex(1), HAN_K_METER_ID);
        p1_push_id(L, id);
        lua_rawset(L, r);
    }
    lua_settop(L, rest);
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
    lua_settop(L, 3);
    b.L = L;
    luaL_checkstack(L, 24, "han.core.p1");
    if ((e = han_p1_parse(s, n, &p1_visitor, &b, &line)) != HAN_P1_OK) {
        lua_settop(L, 3);                  /* drop what was built */
        lua_pushnil(L);
        lua_pushstring(L, han_p1_strerror(e, line, buf));
        return 2;
    }
    if (names) p1_name(L, b.obis - 1, b.obis, b.units, 2, 3);
    lua_settop(L, b.obis - 1);             /* the result */
    return 1;
}
