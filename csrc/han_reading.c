/* core.reading(data, plan): the named reading of a data-notification, built straight
 * from the walk (docs/core-api.md; lua/han/luareading.lua is the Lua twin, and the two
 * give equal results). The walk first records the values in a flat array without
 * touching Lua; then the layout is recognised and each value goes once, by its entry
 * in the plan, into the reading and its obis table: no intermediate tables. */
#include <math.h>
#include <string.h>

#include "binding.h"
#include "clock.h"
#include "han.h"

/* What an entry of the plan says, read once: the code "A.B.C.D.E.F" at tab[key], the
 * field at tab[key + 1], how the field takes its value. */
enum { F_NONE, F_NUMBER, F_CLOCK, F_TEXT };
struct slot {
    uint64_t code;   /* the 6 raw bytes, big-endian */
    uint8_t used, kind;
    int key;
    double exp;      /* F_NUMBER: the profile's power of ten */
};

/* Per plan profile P, kept by C out of the plan's reach (a plan is the caller's data):
 * the entries met so far by raw code, their strings in a keys table, so that a known
 * code costs a probe instead of interning the code and reading its entry table. The
 * caches table (HAN_K_CACHES) holds P's keys table, which holds the cache at [-1].
 * Reset when three quarters full (hostile input). */
#define SLOTS 256
struct cache {
    struct slot slot[SLOTS];
    int used, nkeys;
    int64_t zone[5];   /* plan.zone's numbers, read when keys[0] is not plan.zone */
    int nz, local_time;
};

/* What naming needs at hand: the records, stack indices of the plan, of the plan profile
 * whose entries apply (its memo, fetched on a miss, and keys), the reading and its obis. */
struct ctx {
    lua_State *L;
    const struct han_flat *fl;
    const struct han_rec *base;
    int plan, known, memo, keys, out, ob;
    struct cache *cache;
};

static int is_table(const struct han_rec *v) { return v && (v->kind == HAN_V_LIST || v->kind == HAN_V_TIME); }
static int is_string(const struct han_rec *v) { return v && (v->kind == HAN_V_STR || v->kind == HAN_V_BITS); }
static int is_code(const struct han_rec *v) { return is_string(v) && v->n == 6; }
static int is_number(const struct han_rec *v)
{
    return v && (v->kind == HAN_V_SINT || v->kind == HAN_V_UINT || v->kind == HAN_V_REAL);
}

/* The value as the Lua number it becomes in arithmetic. */
static double number(const struct han_rec *v)
{
    if (v->kind == HAN_V_SINT) return (double)v->v.i;
    if (v->kind == HAN_V_UINT) return (double)v->v.u;
    return v->v.d;
}

/* Element k (from 1) of a list, or NULL. */
static const struct han_rec *child(const struct ctx *c, const struct han_rec *v, size_t k)
{
    const struct han_rec *e;
    if (!v || v->kind != HAN_V_LIST || k < 1 || k > v->n) return NULL;
    for (e = v + 1; --k; ) e = c->base + e->next;
    return e;
}

static const struct han_rec *after(const struct ctx *c, const struct han_rec *v)
{
    return c->base + v->next;
}

static void push_value(const struct ctx *c, const struct han_rec *v)
{
    han_push_rec(c->L, c->fl, v);
}

/* v * 10^x as luareading.lua's scaled() computes it: exact powers up to 10^22, larger
 * whole ones in steps of 10^22 (capped at 10^330), pow() for fractions. */
static const double POW10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
    1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

static void push_scaled(const struct ctx *c, const struct han_rec *v, double x)
{
    double k = x < 0 ? -x : x, f = number(v);
    if (!(x < 0) && !(x > 0)) { push_value(c, v); return; }
    if (floor(k) == k) {
        if (k > 330) k = 330;
        for (; k > 22; k -= 22) f = x < 0 ? f / 1e22 : f * 1e22;
        f = x < 0 ? f / POW10[(int)k] : f * POW10[(int)k];
    } else {
        f = x < 0 ? f / pow(10, k) : f * pow(10, k);
    }
    lua_pushnumber(c->L, (lua_Number)f);
}

/* Push the field `key` of the plan table at t, which must be a table: a plan not built
 * as han.decode builds it is misuse. Returns its index. */
static int plan_table(lua_State *L, int t, int key)
{
    han_getkey(L, t, key);
    if (!lua_istable(L, -1)) {
        lua_rawgeti(L, lua_upvalueindex(1), key);
        luaL_error(L, "bad plan (%s is not a table)", lua_tostring(L, -1));
    }
    return lua_gettop(L);
}

/* Replace the cache's userdata on top by a new keys table holding it, kept in the
 * caches as the known profile's. */
static void fresh_keys(const struct ctx *c)
{
    lua_State *L = c->L;
    lua_newtable(L);
    lua_insert(L, -2);
    lua_rawseti(L, -2, -1);
    lua_rawgeti(L, lua_upvalueindex(1), HAN_K_CACHES);
    lua_pushvalue(L, c->known);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Push the entry of code v under plan profile P (with its memo), asking plan.entry on
 * a miss; 0 and nothing pushed when v is no code. */
static int entry(const struct ctx *c, int P, int memo, const struct han_rec *v)
{
    lua_State *L = c->L;
    if (!is_code(v)) return 0;
    push_value(c, v);
    lua_pushvalue(L, -1);
    lua_rawget(L, memo);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        han_getkey(L, c->plan, HAN_K_ENTRY);
        lua_pushvalue(L, P);
        lua_pushvalue(L, -3);
        lua_call(L, 2, 1);
    }
    lua_remove(L, -2);
    if (lua_istable(L, -1)) return 1;
    lua_pop(L, 1);
    return 0;
}

/* Is the entry on top the list id's? Leaves the stack as it was. */
static int names_list(lua_State *L)
{
    size_t n;
    const char *f;
    int yes;
    lua_rawgeti(L, -1, 2);
    f = lua_tolstring(L, -1, &n);
    yes = lua_type(L, -1) == LUA_TSTRING && n == 4 && memcmp(f, "list", 4) == 0;
    lua_pop(L, 1);
    return yes;
}

/* The slot of the entry table at index e (its strings at e[1], e[2]). */
static void slot_of(lua_State *L, int e, struct slot *s)
{
    s->key = 1;
    s->kind = F_NONE;
    lua_rawgeti(L, e, 2);
    if (lua_toboolean(L, -1)) {
        lua_rawgeti(L, e, 3);
        lua_rawgeti(L, e, 4);
        if (lua_type(L, -2) == LUA_TNUMBER) {
            s->kind = F_NUMBER;
            s->exp = lua_tonumber(L, -2);
        } else {
            s->kind = lua_toboolean(L, -1) ? F_CLOCK : F_TEXT;
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

/* The 6 bytes of a code value as one number (a bit-string's bytes are its '0' and '1'
 * characters). */
static int code_of(const struct han_rec *v, uint64_t *code)
{
    const uint8_t *p = v ? v->v.p : NULL;
    uint64_t x = 0;
    int i;
    if (!is_code(v)) return 0;
    if (v->kind == HAN_V_STR) {
        *code = (uint64_t)p[0] << 40 | (uint64_t)p[1] << 32 | (uint64_t)p[2] << 24
              | (uint64_t)p[3] << 16 | (uint64_t)p[4] << 8 | p[5];
        return 1;
    }
    for (i = 0; i < 6; i++) x = x << 8 | ((p[0] >> (7 - i)) & 1 ? '1' : '0');
    *code = x;
    return 1;
}

/* The slot of a code under the profile at hand, NULL when it is no code. */
static const struct slot *lookup(struct ctx *c, const struct han_rec *code)
{
    lua_State *L = c->L;
    struct cache *ch = c->cache;
    struct slot *s;
    uint64_t raw;
    unsigned h, i;
    if (!code_of(code, &raw)) return NULL;
    h = (unsigned)((raw * 0x9E3779B97F4A7C15u) >> 56);   /* Fibonacci hashing, 8 bits */
    for (i = h; ch->slot[i].used; i = (i + 1) & (SLOTS - 1))
        if (ch->slot[i].code == raw) return &ch->slot[i];

    if (!c->memo) c->memo = plan_table(L, c->known, HAN_K_MEMO);
    if (!entry(c, c->known, c->memo, code)) return NULL;
    if (ch->used >= SLOTS * 3 / 4) {
        memset(ch, 0, sizeof *ch);
        lua_rawgeti(L, c->keys, -1);
        fresh_keys(c);
        lua_replace(L, c->keys);
        i = h;
    }
    s = &ch->slot[i];
    slot_of(L, lua_gettop(L), s);
    s->code = raw;
    s->used = 1;
    s->key = ch->nkeys + 1;
    lua_rawgeti(L, -1, 1);
    lua_rawseti(L, c->keys, ++ch->nkeys);
    lua_rawgeti(L, -1, 2);
    lua_rawseti(L, c->keys, ++ch->nkeys);
    lua_pop(L, 1);
    ch->used++;
    return s;
}

/* The cache and keys of the plan profile at index P, made on first use. */
static void open_profile(struct ctx *c, int P)
{
    lua_State *L = c->L;
    c->known = P;
    c->memo = 0;
    lua_rawgeti(L, lua_upvalueindex(1), HAN_K_CACHES);
    lua_pushvalue(L, P);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (lua_istable(L, -1)) {
        lua_rawgeti(L, -1, -1);
        c->cache = lua_touserdata(L, -1);
        lua_pop(L, 1);
    } else {
        lua_pop(L, 1);
        c->cache = lua_newuserdata(L, sizeof *c->cache);
        memset(c->cache, 0, sizeof *c->cache);
        fresh_keys(c);
    }
    c->keys = lua_gettop(L);
}

/* A value with no stream scaler, by the slot whose strings are in tab: obis[code] = v,
 * and the slot's field, scaled when numeric. Returns v when it is the clock. */
static const struct han_rec *put(const struct ctx *c, int tab, const struct slot *s,
                             const struct han_rec *v)
{
    lua_State *L = c->L;
    if (s->kind == F_TEXT && is_string(v)) {
        lua_rawgeti(L, tab, s->key + 1);
        push_value(c, v);
        lua_rawgeti(L, tab, s->key);
        lua_pushvalue(L, -2);
        lua_rawset(L, c->ob);
        lua_rawset(L, c->out);
        return NULL;
    }
    lua_rawgeti(L, tab, s->key);
    push_value(c, v);
    lua_rawset(L, c->ob);
    if (s->kind == F_NUMBER && is_number(v)) {
        lua_rawgeti(L, tab, s->key + 1);
        push_scaled(c, v, s->exp);
        lua_rawset(L, c->out);
    } else if (s->kind == F_CLOCK && (v->kind != HAN_V_BOOL || v->v.b)) {
        return v;
    }
    return NULL;
}

/* A number with the stream's {scaler, unit}, by a slot whose strings are in the keys table. */
static void put_scaled(const struct ctx *c, const struct slot *s, const struct han_rec *v,
                       const struct han_rec *su)
{
    lua_State *L = c->L;
    const struct han_rec *unit = child(c, su, 2);
    double scaler = number(child(c, su, 1)), u = is_number(unit) ? number(unit) : 0;
    lua_rawgeti(L, c->keys, s->key);
    push_scaled(c, v, scaler);
    lua_rawset(L, c->ob);
    if (s->kind == F_NUMBER) {
        lua_rawgeti(L, c->keys, s->key + 1);
        push_scaled(c, v, scaler + (u == 30 || u == 31 || u == 32 ? -3 : 0));
        lua_rawset(L, c->out);
    }
}

/* A list whose first element is a number: the {scaler, unit} of the value before. */
static int is_scaler_unit(const struct ctx *c, const struct han_rec *su)
{
    return su && su->kind == HAN_V_LIST && is_number(child(c, su, 1));
}

static int is_present(const struct han_rec *v) { return v && v->kind != HAN_V_NULL; }

/* The date-time of a 12-byte clock string (a bit-string's are its characters). */
static int clock_time(const struct han_rec *clock, struct han_time *t)
{
    uint8_t b[12];
    size_t i;
    if (!is_string(clock) || clock->n != 12) return 0;
    if (clock->kind == HAN_V_STR) {
        memcpy(b, clock->v.p, 12);
    } else {
        for (i = 0; i < 12; i++) b[i] = (clock->v.p[i / 8] >> (7 - i % 8)) & 1 ? '1' : '0';
    }
    han_axdr_datetime(b, t);
    return 1;
}

/* The profile's vendor, and its zero_absent fields (0 means not measured) removed. */
static void profile_fields(const struct ctx *c, int P)
{
    lua_State *L = c->L;
    int i, list;
    han_getkey(L, P, HAN_K_VENDOR);
    han_setkey(L, c->out, HAN_K_VENDOR);
    han_getkey(L, P, HAN_K_ZERO_ABSENT);
    list = lua_gettop(L);
    for (i = 1; lua_istable(L, list); i++) {
        lua_rawgeti(L, list, i);
        if (lua_isnil(L, -1)) break;
        lua_pushvalue(L, -1);
        lua_rawget(L, c->out);
        if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) == 0) {
            lua_pop(L, 1);
            lua_pushnil(L);
            lua_rawset(L, c->out);
        } else {
            lua_pop(L, 2);
        }
    }
    lua_settop(L, list - 1);
}

/* The reading's meter_time of its time fields, by plan.zone; none without a zone. The
 * zone's numbers are read again only when plan.zone is another table than the one kept
 * in keys[0] (han.decode makes a new one when the default zone changes). */
static int set_meter_time(const struct ctx *c, const struct han_time *t, int P,
                          int64_t *when)
{
    lua_State *L = c->L;
    struct cache *ch = c->cache;
    han_getkey(L, c->plan, HAN_K_ZONE);
    lua_rawgeti(L, c->keys, 0);
    if (!lua_rawequal(L, -1, -2)) {
        int z = lua_gettop(L) - 1;
        ch->nz = han_zone_numbers(L, z, ch->zone);
        ch->local_time = 0;
        if (P) {
            han_getkey(L, P, HAN_K_LOCAL_TIME);
            ch->local_time = lua_toboolean(L, -1);
            lua_pop(L, 1);
        }
        lua_pushvalue(L, z);
        lua_rawseti(L, c->keys, 0);
    }
    lua_pop(L, 2);
    if (ch->nz == 0 || !han_epoch(t, ch->zone, ch->nz, ch->local_time, when)) return 0;
    han_pushsint(L, *when);
    han_setkey(L, c->out, HAN_K_METER_TIME);
    return 1;
}

/* Does the reading have one of plan.hourly's fields (an hourly list's registers)? */
static int has_hourly(const struct ctx *c)
{
    lua_State *L = c->L;
    int i, yes = 0, list;
    han_getkey(L, c->plan, HAN_K_HOURLY);
    list = lua_gettop(L);
    for (i = 1; !yes && lua_istable(L, list); i++) {
        lua_rawgeti(L, list, i);
        if (lua_isnil(L, -1)) break;
        lua_rawget(L, c->out);
        yes = !lua_isnil(L, -1);
        lua_pop(L, 1);
    }
    lua_settop(L, list - 1);
    return yes;
}

enum shape { STRUCTURES, PAIRS, POSITIONS, DESCRIPTORS };

static int name(struct ctx *c, const struct han_hdlc *frame, const struct han_notification *note)
{
    lua_State *L = c->L;
    const struct han_rec *body = c->base, *head = body + 1, *second, *id = NULL, *clock = NULL;
    const struct han_rec *v;
    size_t count = body->n, i, start = 1;
    enum shape shape;
    int unknown = 0, unknown_memo = 0, P = 0, id_at = 0;

    if (body->kind != HAN_V_LIST || count == 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "no values in the notification");
        return 2;
    }
    second = count >= 2 ? after(c, head) : NULL;
    if (is_table(head) && is_table(child(c, head, 1))
        && is_code(child(c, child(c, head, 1), 2)))
        shape = DESCRIPTORS;
    else if (is_table(head))
        shape = STRUCTURES;
    else if (is_code(head) || is_code(second))
        shape = PAIRS;
    else
        shape = POSITIONS;

    /* The list id and where the code/value pairs start; the id's code is looked up
     * under no profile. */
    if (shape == STRUCTURES || (shape == PAIRS && is_code(head))) {
        unknown = plan_table(L, c->plan, HAN_K_UNKNOWN);
        unknown_memo = plan_table(L, unknown, HAN_K_MEMO);
    }
    if (shape == STRUCTURES) {
        if (entry(c, unknown, unknown_memo, child(c, head, 1))) {
            if (names_list(L) && is_string(child(c, head, 2))) id = child(c, head, 2);
            lua_pop(L, 1);
        }
    } else if (shape == PAIRS) {
        if (!is_code(head)) {
            start = 2;
            if (is_string(head) && head->n != 12) id = head;   /* 12: a clock */
        } else if (entry(c, unknown, unknown_memo, head)) {
            if (names_list(L) && is_string(second)) id = second;
            lua_pop(L, 1);
        }
    } else if (second && is_string(head)) {
        id = head;
    }

    /* The plan profile: by list id, else by layout or HDLC source address. */
    if (id) {
        push_value(c, id);          /* kept for the reading's list */
        id_at = lua_gettop(L);
        plan_table(L, c->plan, HAN_K_LISTS);
        lua_pushvalue(L, id_at);
        lua_rawget(L, -2);
    } else if (shape == POSITIONS) {
        han_getkey(L, c->plan, HAN_K_BARE);
    } else if (frame) {
        plan_table(L, c->plan, HAN_K_SOURCES);
        han_pushuint(L, frame->src);
        lua_rawget(L, -2);
    } else {
        lua_pushnil(L);
    }
    if (lua_istable(L, -1)) {
        P = lua_gettop(L);
        open_profile(c, P);
    } else {
        open_profile(c, plan_table(L, c->plan, HAN_K_UNKNOWN));
    }

    /* Room for the named fields (han.decode adds vendor and meter time) and, in obis,
     * one slot per value: half the elements of a flat list are codes. */
    lua_createtable(L, 0, (int)(count < 26 ? count + 6 : 32));
    c->out = lua_gettop(L);
    i = shape == PAIRS ? count / 2 : count;
    lua_createtable(L, 0, (int)(i < 64 ? i : 64));
    c->ob = lua_gettop(L);
    lua_pushvalue(L, c->ob);
    han_setkey(L, c->out, HAN_K_OBIS);

    if (shape == STRUCTURES) {
        for (i = 1, v = head; i <= count; i++, v = after(c, v)) {
            const struct han_rec *val = child(c, v, 2), *su = child(c, v, 3);
            const struct slot *sl;
            if (v->kind != HAN_V_LIST || !(sl = lookup(c, child(c, v, 1))) || !is_present(val))
                continue;
            if (is_scaler_unit(c, su) && is_number(val)) put_scaled(c, sl, val, su);
            else if ((val = put(c, c->keys, sl, val)) != NULL) clock = val;
        }
    } else if (shape == PAIRS) {
        const struct han_rec *code = head;
        if (start == 2) {
            if (!id) clock = head;
            code = second;
        }
        for (i = start; i <= count; ) {
            const struct han_rec *val = i + 1 <= count ? after(c, code) : NULL;
            const struct han_rec *su = i + 2 <= count ? after(c, val) : NULL;
            if (code->kind == HAN_V_NULL) {
                i += 1;
                code = val;
                continue;
            }
            if (is_scaler_unit(c, su)) {                 /* code, value, {scaler, unit} */
                const struct slot *sl = lookup(c, code);
                if (sl && is_number(val)) put_scaled(c, sl, val, su);
                i += 3;
                code = i <= count ? after(c, su) : NULL;
            } else {
                const struct slot *sl = lookup(c, code);
                const struct han_rec *k;
                if (sl && is_present(val) && (k = put(c, c->keys, sl, val)) != NULL)
                    clock = k;
                i += 2;
                code = i <= count ? after(c, val) : NULL;
            }
        }
    } else if (shape == DESCRIPTORS) {
        const struct han_rec *d = head + 1;
        for (i = 1, v = head; i <= head->n; i++, d = after(c, d)) {
            const struct han_rec *attr = child(c, d, 3), *k;
            const struct slot *sl;
            if (i > 1) v = i <= count ? after(c, v) : NULL;
            if (!is_present(v) || !is_number(attr) || number(attr) != 2) continue;
            if (d->kind == HAN_V_LIST && (sl = lookup(c, child(c, d, 2))) != NULL
                && (k = put(c, c->keys, sl, v)) != NULL)
                clock = k;
        }
    } else {
        int layout;
        if (P) {
            han_getkey(L, P, HAN_K_LAYOUTS);
            if (lua_istable(L, -1)) lua_rawgeti(L, -1, (int)count);
        }
        if (!P || !lua_istable(L, -1)) {
            lua_pushnil(L);
            lua_pushfstring(L, "unknown list layout (%d values)", (int)count);
            return 2;
        }
        layout = lua_gettop(L);
        for (i = 1, v = head; i <= count; i++, v = after(c, v)) {
            struct slot sl;
            const struct han_rec *k;
            if (v->kind == HAN_V_NULL) continue;
            lua_rawgeti(L, layout, (int)i);
            if (!lua_istable(L, -1)) luaL_error(L, "bad plan (an entry of a layout is not a table)");
            slot_of(L, lua_gettop(L), &sl);
            if ((k = put(c, lua_gettop(L), &sl, v)) != NULL) clock = k;
            lua_pop(L, 1);
        }
    }

    /* Lists 1 of Aidon and Kaifa (P+ only) carry no list id: their profile comes from
     * their layout or HDLC source address. */
    if (id) {
        lua_pushvalue(L, id_at);
    } else if (P) {
        han_getkey(L, P, HAN_K_SHORT);
        if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) == (lua_Number)count)
            han_getkey(L, P, HAN_K_ID);
        else
            lua_pushnil(L);
        lua_remove(L, -2);
    } else {
        lua_pushnil(L);
    }
    han_setkey(L, c->out, HAN_K_LIST);
    /* Meter time: the clock register when the list has one, else the header's; an
     * hourly list shown at minute 0 closes the hour before. */
    {
        struct han_time t;
        const struct han_time *when = NULL;
        int64_t epoch;
        int timed = 0;
        if (is_table(clock)) {
            push_value(c, clock);
            if (clock->kind == HAN_V_TIME && clock->tag == 0x19) when = &c->fl->t[clock->n];
        } else {
            if (clock_time(clock, &t)) when = &t;
            else if (note->has_time) when = &note->time;
            if (when) han_push_time(L, 0x19, when);
        }
        if (when || is_table(clock)) han_setkey(L, c->out, HAN_K_TIME_FIELDS);
        if (when) timed = set_meter_time(c, when, P, &epoch);
        if (P) profile_fields(c, P);
        if (timed && when->min == 0 && has_hourly(c)) {
            han_pushsint(L, epoch - (when->sec == HAN_UNSPEC ? 0 : when->sec) - 3600);
            han_setkey(L, c->out, HAN_K_HOUR);
        }
    }
    lua_pushvalue(L, c->out);
    if (P) lua_pushvalue(L, P); else lua_pushnil(L);
    return 2;
}

int han_l_reading(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    struct han_body b;
    struct ctx c;
    int k;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    if ((k = han_read_body(L, s, n, &b)) != 0) return k;

    /* naming holds about 16 slots; a nested value takes two per level as it is pushed */
    luaL_checkstack(L, 2 * HAN_MAX_DEPTH + 32, "han.core.reading");
    c.L = L;
    c.fl = &b.flat;
    c.base = b.flat.r;
    c.plan = 2;
    return name(&c, s[0] == HAN_FLAG ? &b.frame : NULL, &b.note);
}
