/* core.p1 (docs/core-api.md): the Lua tables of a P1 telegram that csrc/p1.c parses, and
 * what han.p1 names from one value, named here as each object ends. */
#include <math.h>
#include <string.h>

#include "binding.h"
#include "clock.h"
#include "han.h"
#include "p1.h"

/* What the core has read of names[code] for the i-th object of a telegram: a meter sends
 * the same codes in the same order every time, so a telegram like the one before costs
 * no string hashing and no entry lookups. The slots are a userdata at names[1], their
 * strings and tables at names[2] (refs[3i+1] the code, [3i+2] e.field, [3i+3] e.scale).
 * The last slot is scratch: objects past the others, codes too long to keep. */
#define P1_SLOTS 128
#define P1_CODE  24

/* What an entry says, as p1_name reads it. LOOKUP: no entry (yet: han.p1 adds them). */
enum { KIND_LOOKUP, KIND_OTHER, KIND_NONE, KIND_SCALE, KIND_TEXT, KIND_TARIFF, KIND_CLOCK,
       KIND_ID, KIND_TYPE, KIND_READING, KIND_PROFILE };
/* scale[unit or ""] for the slot's unit: a power of ten, not a number, a number that is
 * not one (the value goes to t.rest). */
enum { X_UNREAD, X_OK, X_NONE, X_BAD };

struct p1_slot {
    unsigned char len;                 /* bytes of code kept; 0: an empty slot */
    unsigned char kind, has_field, x_state, unit_len;
    signed char x;
    unsigned char channel;             /* the channel kinds: e.channel, 1..16 */
    char code[P1_CODE];
    char unit[HAN_P1_MAX_UNIT];        /* the unit x_state is for, unit_len 0 for none */
    double rank;                       /* KIND_ID, KIND_READING, KIND_PROFILE: e.rank */
};

/* What an M-Bus channel of the telegram says, as han.p1's note_channel() notes it: its
 * device type, and its preferred reading in m3 (the volume in refs[CHANNEL_REF + n]). */
#define P1_CHANNELS 16
#define CHANNEL_REF (3 * P1_SLOTS + 3)
enum { TYPE_NONE, TYPE_GAS, TYPE_OTHER };
struct p1_channel {
    int type, has_volume, has_time;
    double rank;
    int64_t time;
};

struct p1_cache { struct p1_slot slot[P1_SLOTS + 1]; };

/* The visitor builds {ident, crc, obis, units}, and with names the named fields and
 * t.rest. The stack holds the result, obis, units, the last unit pushed, then named,
 * rest and the best id, then the open object's code and its value (a sequence from its
 * second group on). */
struct p1_builder {
    lua_State *L;
    int obis, units;                   /* stack indices */
    int unit_slot;                     /* stack index of the last unit pushed (text: unit) */
    const char *unit;
    size_t unit_len;
    unsigned count;                    /* groups of the open object so far */
    /* naming: names == 0 when core.p1 has no names */
    int names, refs, named, rest, id;  /* stack indices */
    struct p1_cache *cache;
    struct p1_slot *slot;              /* the open object's */
    int at;                            /* ... its index */
    unsigned objects, nrest;
    int kind;                          /* the kind of the open object's first value */
    struct han_time time;              /* ... its time, when a time */
    int64_t zone[5];
    int nz;
    double id_rank;
    struct p1_channel ch[P1_CHANNELS + 1];
    int ch_max;
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
    if (b->names) {
        lua_createtable(L, 0, 32);             /* room for a DSMR 5 reading's fields */
        b->named = lua_gettop(L);
        lua_createtable(L, 16, 0);
        b->rest = lua_gettop(L);
        lua_pushnil(L);
        b->id = lua_gettop(L);
    }
}

/* The entry of the code on top of the stack, read into slot s (index at). */
static void p1_resolve(struct p1_builder *b, struct p1_slot *s, int at)
{
    static const char *const kinds[] = { "text", "tariff", "clock", "id", "type", "reading",
                                         "profile" };
    lua_State *L = b->L;
    int e;
    size_t i;
    lua_pushvalue(L, -1);
    lua_rawget(L, b->names);
    e = lua_gettop(L);
    s->kind = KIND_LOOKUP;
    s->x_state = X_UNREAD;
    if (lua_istable(L, e)) {
        han_getkey(L, e, HAN_K_SCALE);
        s->kind = lua_istable(L, -1) ? KIND_SCALE : KIND_OTHER;
        lua_rawseti(L, b->refs, 3 * at + 3);
        han_getkey(L, e, HAN_K_FIELD);
        s->has_field = !lua_isnil(L, -1);
        lua_rawseti(L, b->refs, 3 * at + 2);
        han_getkey(L, e, HAN_K_KIND);
        if (s->kind == KIND_OTHER && lua_isnil(L, -1)) {
            s->kind = KIND_NONE;
        } else if (s->kind == KIND_OTHER && lua_type(L, -1) == LUA_TSTRING) {
            for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
                if (strcmp(lua_tostring(L, -1), kinds[i]) == 0) s->kind = KIND_TEXT + (int)i;
        }
        if (s->kind == KIND_ID || s->kind == KIND_READING || s->kind == KIND_PROFILE) {
            han_getkey(L, e, HAN_K_RANK);
            if (lua_type(L, -1) == LUA_TNUMBER) s->rank = lua_tonumber(L, -1);
            else s->kind = KIND_OTHER;
        }
        if (s->kind >= KIND_TYPE) {
            lua_Number n;
            han_getkey(L, e, HAN_K_CHANNEL);
            n = lua_tonumber(L, -1);
            if (lua_type(L, -1) == LUA_TNUMBER && n >= 1 && n <= P1_CHANNELS && n == (int)n)
                s->channel = (unsigned char)n;
            else
                s->kind = KIND_OTHER;
        }
    }
    lua_settop(L, e - 1);
}

static void p1_object(void *ud, const char *code, size_t n)
{
    struct p1_builder *b = ud;
    lua_State *L = b->L;
    struct p1_slot *s;
    int at;
    b->count = 0;
    if (!b->names) {
        lua_pushlstring(L, code, n);
        return;
    }
    at = b->objects < P1_SLOTS ? (int)b->objects : P1_SLOTS;
    b->objects++;
    s = &b->cache->slot[at];
    if (s->len == n && memcmp(s->code, code, n) == 0) {   /* the scratch slot has len 0 */
        lua_rawgeti(L, b->refs, 3 * at + 1);
        if (s->kind == KIND_LOOKUP) p1_resolve(b, s, at);
    } else {
        lua_pushlstring(L, code, n);
        s->len = at < P1_SLOTS && n <= P1_CODE ? (unsigned char)n : 0;
        memcpy(s->code, code, s->len);
        lua_pushvalue(L, -1);
        lua_rawseti(L, b->refs, 3 * at + 1);
        p1_resolve(b, s, at);
    }
    b->slot = s;
    b->at = at;
}

static void p1_value(void *ud, const struct han_p1_value *v)
{
    struct p1_builder *b = ud;
    lua_State *L = b->L;
    if (b->count == 0) b->kind = v->kind;
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
        if (b->count == 0) {
            struct han_time *t = &b->time;
            t->year = v->year; t->month = v->month; t->day = v->day; t->hour = v->hour;
            t->min = v->min; t->sec = v->sec;
            t->status = v->status >= 0 ? v->status : HAN_UNSPEC;
            t->wday = t->hundredths = t->deviation = HAN_UNSPEC;
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

static void p1_name(struct p1_builder *b, const char *unit, size_t unit_len);

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
    if (b->names) p1_name(b, unit, unit_len);
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

/* The power of ten of scale[unit or ""] for the open object (X_OK), else its x_state. */
static int p1_scale(struct p1_builder *b, struct p1_slot *s, const char *unit, size_t n)
{
    lua_State *L = b->L;
    if (s->x_state == X_UNREAD || s->unit_len != n || (n && memcmp(s->unit, unit, n) != 0)) {
        lua_rawgeti(L, b->refs, 3 * b->at + 3);
        if (unit) lua_pushvalue(L, b->unit_slot);
        else lua_rawgeti(L, lua_upvalueindex(1), HAN_K_NO_UNIT);
        lua_rawget(L, -2);
        s->x_state = X_NONE;
        if (lua_type(L, -1) == LUA_TNUMBER) {
            lua_Number x = lua_tonumber(L, -1);
            s->x_state = X_BAD;
            if (x >= -22 && x <= 22 && x == (int)x) {
                s->x_state = X_OK;
                s->x = (signed char)x;
            }
        }
        lua_pop(L, 2);
        s->unit_len = (unsigned char)n;
        if (n) memcpy(s->unit, unit, n);
    }
    return s->x_state;
}

/* Push the epoch of the open object's first value, a time, or nil: 1 when an epoch. */
static int p1_push_time(struct p1_builder *b, int64_t *when)
{
    if (han_epoch(&b->time, b->zone, b->nz, 0, when)) {
        han_pushsint(b->L, *when);
        return 1;
    }
    lua_pushnil(b->L);
    return 0;
}

/* A unit that is "m3": the gas meters' readings. */
static int p1_m3(const char *unit, size_t n)
{
    return n == 2 && unit[0] == 'm' && unit[1] == '3';
}

/* An M-Bus channel's device type, reading or profile (the value at v), noted as han.p1's
 * note_channel() does: (time)(number) becomes {value =, time =} in obis. */
static void p1_channel(struct p1_builder *b, const struct p1_slot *s, int v, int kind,
                       const char *unit, size_t unit_len)
{
    lua_State *L = b->L;
    struct p1_channel *c = &b->ch[s->channel];
    int volume = 0, has_time = 0, m3 = unit && p1_m3(unit, unit_len);
    int64_t when = 0;
    if (s->channel > b->ch_max) b->ch_max = s->channel;
    if (s->kind == KIND_TYPE) {
        c->type = kind == HAN_P1_NUMBER && lua_tonumber(L, v) == 3 ? TYPE_GAS : TYPE_OTHER;
        return;
    }
    if (kind == -1) {                          /* a sequence */
        lua_rawgeti(L, v, 2);
        if (b->count == 2 && b->kind == HAN_P1_TIME && lua_type(L, -1) == LUA_TNUMBER) {
            int t;
            lua_createtable(L, 0, 2);
            t = lua_gettop(L);
            lua_pushvalue(L, t - 1);
            han_setkey(L, t, HAN_K_VALUE);
            lua_rawgeti(L, lua_upvalueindex(1), HAN_K_TIME);
            has_time = p1_push_time(b, &when);
            lua_rawset(L, t);
            lua_replace(L, v);                 /* obis keeps the pair; v[2] on top */
            volume = s->kind == KIND_READING;
        } else if (s->kind == KIND_PROFILE) {  /* (time)(status)(period)(n)(code)(unit)(v) */
            lua_rawgeti(L, v, (int)b->count);
            volume = lua_type(L, -1) == LUA_TNUMBER;
            if (volume && b->kind == HAN_P1_TIME) {
                has_time = p1_push_time(b, &when);
                lua_pop(L, 1);
            }
            if (volume && !unit) {
                size_t n = 0;
                const char *u;
                lua_rawgeti(L, v, (int)b->count - 1);
                u = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
                m3 = u && p1_m3(u, n);
                lua_pop(L, 1);
            }
        }
    } else if (kind == HAN_P1_NUMBER && s->kind == KIND_READING) {
        lua_pushvalue(L, v);
        volume = 1;
    }
    if (volume && m3 && (!c->has_volume || s->rank < c->rank)) {
        lua_pushvalue(L, -1);
        lua_rawseti(L, b->refs, CHANNEL_REF + s->channel);
        c->has_volume = 1;
        c->rank = s->rank;
        c->has_time = has_time;
        c->time = when;
    }
    lua_settop(L, v);
}

/* named.gas_volume and gas_time from the gas meter's channel, as han.p1's gas() picks it:
 * the first of device type 3 with a reading in m3, else the first reading in m3 of a
 * channel that states no type. */
static void p1_gas(struct p1_builder *b)
{
    lua_State *L = b->L;
    int n, best = 0;
    for (n = 1; n <= b->ch_max; n++) {
        if (!b->ch[n].has_volume) continue;
        if (b->ch[n].type == TYPE_GAS) {
            best = n;
            break;
        }
        if (b->ch[n].type == TYPE_NONE && !best) best = n;
    }
    if (!best) return;
    lua_rawgeti(L, b->refs, CHANNEL_REF + best);
    han_setkey(L, b->named, HAN_K_GAS_VOLUME);
    if (b->ch[best].has_time) {
        han_pushsint(L, b->ch[best].time);
        han_setkey(L, b->named, HAN_K_GAS_TIME);
    }
}

/* What han.p1 names from the value of the object that ends (code and value on top of the
 * stack), by its slot: into named, or its code into rest for han.p1 to read. */
static void p1_name(struct p1_builder *b, const char *unit, size_t unit_len)
{
    lua_State *L = b->L;
    struct p1_slot *s = b->slot;
    int v = lua_gettop(L), named = 0;
    int kind = b->count == 1 ? b->kind : -1;   /* -1: a sequence */
    int table = kind == -1 || kind == HAN_P1_TIME;
    size_t len;
    switch (s->kind) {
    case KIND_SCALE:
        if (kind != HAN_P1_NUMBER) break;
        named = p1_scale(b, s, unit, unit_len) != X_BAD;
        if (s->x_state == X_OK) {
            lua_rawgeti(L, b->refs, 3 * b->at + 2);
            if (s->x == 0) lua_pushvalue(L, v);
            else p1_push_scaled(L, v, s->x);
            lua_rawset(L, b->named);
        }
        break;
    case KIND_NONE:                            /* a code han.p1 does not know */
        named = !table;
        break;
    case KIND_TEXT:
        named = kind != HAN_P1_STRING || s->has_field;
        if (kind == HAN_P1_STRING && s->has_field) {
            lua_rawgeti(L, b->refs, 3 * b->at + 2);
            lua_pushvalue(L, v);
            lua_rawset(L, b->named);
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
        lua_rawset(L, b->named);
        break;
    case KIND_CLOCK:                           /* a time; a sequence goes to han.p1 */
        named = !table || (kind == HAN_P1_TIME && b->nz > 0);
        if (table && named) {
            int64_t when;
            lua_pushvalue(L, v);
            han_setkey(L, b->named, HAN_K_TIME_FIELDS);
            lua_rawgeti(L, lua_upvalueindex(1), HAN_K_METER_TIME);
            p1_push_time(b, &when);
            lua_rawset(L, b->named);
        }
        break;
    case KIND_ID:                              /* the lowest rank below 5, the later of ties */
        named = 1;
        if (kind == HAN_P1_STRING && lua_tolstring(L, v, &len) && len > 0 && s->rank < 5
            && s->rank <= b->id_rank) {
            b->id_rank = s->rank;
            lua_pushvalue(L, v);
            lua_replace(L, b->id);
        }
        break;
    case KIND_TYPE:
    case KIND_READING:
    case KIND_PROFILE:                         /* the channels, by a zone's epochs */
        named = b->nz > 0;
        if (named) p1_channel(b, s, v, kind, unit, unit_len);
        break;
    default:
        break;
    }
    if (!named) {
        lua_pushvalue(L, v - 1);
        lua_rawseti(L, b->rest, (int)++b->nrest);
    }
}

/* The slots and their strings in names[1] and names[2], made on first use; the strings
 * pushed. */
static void p1_open_cache(lua_State *L, struct p1_builder *b)
{
    lua_rawgeti(L, b->names, 1);
    b->cache = lua_type(L, -1) == LUA_TUSERDATA ? lua_touserdata(L, -1) : NULL;
    lua_pop(L, 1);
    if (!b->cache) {
        b->cache = lua_newuserdata(L, sizeof *b->cache);
        memset(b->cache, 0, sizeof *b->cache);
        lua_rawseti(L, b->names, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawseti(L, b->names, 2);
    } else {
        lua_rawgeti(L, b->names, 2);
        if (!lua_istable(L, -1)) {                /* strings lost: slots too */
            lua_pop(L, 1);
            memset(b->cache, 0, sizeof *b->cache);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_rawseti(L, b->names, 2);
        }
    }
    b->refs = lua_gettop(L);
}

int han_l_p1(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    struct p1_builder b;
    unsigned line;
    char buf[32];
    int e, t;
    lua_settop(L, 3);
    memset(&b, 0, sizeof b);
    b.L = L;
    luaL_checkstack(L, 32, "han.core.p1");
    if (lua_istable(L, 2)) {
        b.names = 2;
        b.id_rank = 5;
        b.nz = han_zone_numbers(L, 3, b.zone);
        p1_open_cache(L, &b);
    }
    if ((e = han_p1_parse(s, n, &p1_visitor, &b, &line)) != HAN_P1_OK) {
        lua_settop(L, 3);                  /* drop what was built */
        lua_pushnil(L);
        lua_pushstring(L, han_p1_strerror(e, line, buf));
        lua_pushstring(L, han_p1_errcode(e));
        return 3;
    }
    t = b.obis - 1;                        /* the result */
    if (b.names) {
        if (!lua_isnil(L, b.id)) {
            lua_rawgeti(L, lua_upvalueindex(1), HAN_K_METER_ID);
            p1_push_id(L, b.id);
            lua_rawset(L, b.named);
        }
        p1_gas(&b);
        lua_pushvalue(L, b.named);
        han_setkey(L, t, HAN_K_NAMED);
        lua_pushvalue(L, b.rest);
        han_setkey(L, t, HAN_K_REST);
    }
    lua_settop(L, t);
    return 1;
}
