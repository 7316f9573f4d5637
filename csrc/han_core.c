/* han.core: with han_p1.c, the only files that speak Lua. It turns
 * the engine's results (crc16.c, hdlc.c, axdr.c, framer.c, ...) into Lua values;
 * docs/core-api.md is the contract. */
#include <stdio.h>
#include <string.h>

#include "binding.h"   /* compat.h, axdr.h, hdlc.h */
#include "crc16.h"
#include "framer.h"
#include "aes.h"
#include "unwrap.h"
#include "han.h"

#define FRAMER_MT "han.framer"

int han_push_error(lua_State *L, int err, int byte)
{
    char buf[64];
    lua_pushnil(L);
    lua_pushstring(L, han_strerror(err, (unsigned)byte, buf));
    lua_pushstring(L, han_errcode(err));
    return 3;
}

/* string.sub-style index into a string of length n, 1-based, clamped. */
static size_t posrelat(lua_Integer pos, size_t n)
{
    if (pos >= 0) return (size_t)pos;
    if ((size_t)-pos > n) return 0;
    return n - (size_t)-pos + 1;
}

static int l_crc16(lua_State *L)
{
    size_t n, i, j;
    const char *s = luaL_checklstring(L, 1, &n);
    i = posrelat(luaL_optinteger(L, 2, 1), n);
    j = posrelat(luaL_optinteger(L, 3, -1), n);
    if (i < 1) i = 1;
    if (j > n) j = n;
    lua_pushinteger(L, i > j ? 0 : han_crc16((const uint8_t *)s + i - 1, j - i + 1));
    return 1;
}

static int l_frame(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    struct han_hdlc f;
    int e = han_hdlc_parse(s, n, &f);
    if (e != HAN_OK) return han_push_error(L, e, 0);
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, (lua_Integer)f.format); lua_setfield(L, -2, "format");
    lua_pushboolean(L, f.segmented); lua_setfield(L, -2, "segmented");
    lua_pushinteger(L, (lua_Integer)f.length); lua_setfield(L, -2, "length");
    han_pushuint(L, f.dest); lua_setfield(L, -2, "dest");
    han_pushuint(L, f.src); lua_setfield(L, -2, "src");
    lua_pushinteger(L, (lua_Integer)f.control); lua_setfield(L, -2, "control");
    lua_pushlstring(L, (const char *)f.info, f.info_len); lua_setfield(L, -2, "info");
    return 1;
}

/* A bit-string as a string of '0' and '1', first bit first. */
static void push_bits(lua_State *L, const uint8_t *p, size_t nbits)
{
    luaL_Buffer buf;
    size_t i;
    luaL_buffinit(L, &buf);
    for (i = 0; i < nbits; i++)
        luaL_addchar(&buf, (p[i / 8] >> (7 - i % 8)) & 1 ? '1' : '0');
    luaL_pushresult(&buf);
}

static const char *const key_names[] = {
    "year", "month", "day", "wday", "hour", "min", "sec", "hundredths", "deviation", "status"
};
/* Compile-time check: one name per enum han_tfield. */
typedef char han_check_key_names[
    sizeof key_names / sizeof key_names[0] == HAN_T_COUNT ? 1 : -1];

/* The key table (luaopen_han_core). */
static void push_keys(lua_State *L)
{
    int k;
    lua_createtable(L, HAN_T_COUNT, 0);
    for (k = 0; k < HAN_T_COUNT; k++) {
        lua_pushstring(L, key_names[k]);
        lua_rawseti(L, -2, k + 1);
    }
}

void han_push_time(lua_State *L, const struct han_time *t)
{
    int i, n = 0, top;
    for (i = 0; i < HAN_T_COUNT; i++) n += t->v[i] != HAN_UNSPEC;
    lua_createtable(L, 0, n);
    top = lua_gettop(L);
    for (i = 0; i < HAN_T_COUNT; i++) {
        if (t->v[i] == HAN_UNSPEC) continue;
        lua_rawgeti(L, lua_upvalueindex(1), i + 1);
        lua_pushinteger(L, t->v[i]);
        lua_rawset(L, top);
    }
}

/* The Lua value of a record, as core.notification gives it (elements of a list after it). */
static void push_rec(lua_State *L, const struct han_flat *f, const struct han_rec *v)
{
    switch (v->kind) {
    case HAN_V_NULL: lua_pushlightuserdata(L, NULL); break;
    case HAN_V_BOOL: lua_pushboolean(L, v->v.b); break;
    case HAN_V_SINT: han_pushsint(L, v->v.i); break;
    case HAN_V_UINT: han_pushuint(L, v->v.u); break;
    case HAN_V_REAL: lua_pushnumber(L, (lua_Number)v->v.d); break;
    case HAN_V_STR:  lua_pushlstring(L, (const char *)v->v.p, v->n); break;
    case HAN_V_BITS: push_bits(L, v->v.p, v->n); break;
    case HAN_V_TIME: han_push_time(L, &f->t[v->n]); break;
    default: {
        const struct han_rec *e = v + 1;
        size_t i;
        lua_createtable(L, (int)v->n, 0);
        for (i = 1; i <= v->n; i++, e = f->r + e->next) {
            push_rec(L, f, e);
            lua_rawseti(L, -2, (int)i);
        }
    }
    }
}

/* The notification of a frame or APDU and its body's records: on the C stack for a body
 * of up to RECS values, else in a userdata pushed on the Lua stack. */
#define RECS  256
#define TIMES 16
struct body {
    struct han_hdlc frame;            /* when the data is a frame */
    struct han_notification note;
    struct han_flat flat;
    struct han_rec recs[RECS];
    struct han_time times[TIMES];
};

/* Read the data-notification of s[0..n) into b: 0, or the error pushed (han_push_error)
 * and its count returned. */
static int read_body(lua_State *L, const uint8_t *s, size_t n, struct body *b)
{
    struct han_flat *f = &b->flat;
    int e, byte = 0;
    if ((e = han_notification_of(s, n, &b->frame, &b->note, &byte)) != HAN_OK)
        return han_push_error(L, e, byte);
    *f = (struct han_flat){ .r = b->recs, .t = b->times, .cap = RECS, .tcap = TIMES };
    e = han_flat_record(b->note.body, b->note.body_len, f, &byte);
    if (e == HAN_OK && (f->n > f->cap || f->nt > f->tcap)) {
        f->cap = f->n;
        f->tcap = f->nt;
        f->r = lua_newuserdata(L, f->cap * sizeof *f->r + f->tcap * sizeof *f->t);
        f->t = (struct han_time *)(void *)(f->r + f->cap);
        e = han_flat_record(b->note.body, b->note.body_len, f, &byte);
    }
    return e == HAN_OK ? 0 : han_push_error(L, e, byte);
}

static int l_notification(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    struct body b;
    int k;

    lua_settop(L, 1);
    if ((k = read_body(L, s, n, &b)) != 0) return k;

    luaL_checkstack(L, 2 * HAN_MAX_DEPTH + 8, "han.core.notification");
    lua_createtable(L, 0, 6);
    if (s[0] == HAN_FLAG) {
        han_pushuint(L, b.frame.dest); lua_setfield(L, -2, "dest");
        han_pushuint(L, b.frame.src); lua_setfield(L, -2, "src");
        lua_pushinteger(L, (lua_Integer)b.frame.control); lua_setfield(L, -2, "control");
    }
    han_pushuint(L, b.note.invoke_id); lua_setfield(L, -2, "invoke_id");
    if (b.note.has_time) {
        han_push_time(L, &b.note.time);
        lua_setfield(L, -2, "time");
    }
    push_rec(L, &b.flat, b.flat.r);
    lua_setfield(L, -2, "body");
    return 1;
}

/* values(s) -> v, key, time, src | nil, err, code */
static int l_values(lua_State *L)
{
    size_t n, i, leaves = 0, key_len;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    struct body b;
    uint8_t small[1024], *key = small;
    int e;

    lua_settop(L, 1);
    if ((e = read_body(L, s, n, &b)) != 0) return e;
    if (b.note.body_len > sizeof small) key = lua_newuserdata(L, b.note.body_len);
    key_len = han_flat_key(&b.flat, key);
    for (i = 0; i < b.flat.n; i++) leaves += !han_rec_in_key(&b.flat.r[i]);
    lua_createtable(L, (int)leaves, 0);
    for (i = 0, leaves = 0; i < b.flat.n; i++) {
        if (han_rec_in_key(&b.flat.r[i])) continue;
        push_rec(L, &b.flat, &b.flat.r[i]);
        lua_rawseti(L, -2, (int)++leaves);
    }
    lua_pushlstring(L, (const char *)key, key_len);
    if (b.note.has_time) han_push_time(L, &b.note.time);
    else lua_pushnil(L);
    if (s[0] == HAN_FLAG) han_pushuint(L, b.frame.src);
    else lua_pushnil(L);
    return 4;
}

/* Keys and system titles: `len` raw bytes or 2 * len hex digits (either case) at idx
 * into out; misuse raises. */
static void bytes_from(lua_State *L, int idx, const char *name, uint8_t *out, size_t len)
{
    size_t n, i;
    unsigned v;
    const uint8_t *s = (const uint8_t *)lua_tolstring(L, idx, &n);
    if (s && n == len) { memcpy(out, s, len); return; }
    if (s && n == 2 * len) {
        for (i = 0; i < len && han_hex(s + 2 * i, 2, &v); i++) out[i] = (uint8_t)v;
        if (i == len) return;
    }
    luaL_error(L, "bad %s (%d bytes or %d hex digits expected)", name, (int)len,
               (int)(2 * len));
}

static const uint8_t *check_iv(lua_State *L, int idx)
{
    size_t n;
    const char *iv = luaL_checklstring(L, idx, &n);
    if (n != 12) luaL_argerror(L, idx, "12-byte IV expected");
    return (const uint8_t *)iv;
}

/* gcm_encrypt(key, iv, plaintext [, aad]) -> ciphertext, tag (16 bytes) */
static int l_gcm_encrypt(lua_State *L)
{
    struct han_gcm g;
    size_t n, aad_len;
    const uint8_t *iv = check_iv(L, 2);
    const uint8_t *pt = (const uint8_t *)luaL_checklstring(L, 3, &n);
    const uint8_t *aad = (const uint8_t *)luaL_optlstring(L, 4, "", &aad_len);
    uint8_t key[16], tag[16], *out;
    bytes_from(L, 1, "key", key, 16);
    han_gcm_init(&g, key);
    out = (uint8_t *)lua_newuserdata(L, n ? n : 1);
    han_gcm_ctr(&g, iv, pt, n, out);
    han_gcm_tag(&g, iv, aad, aad_len, out, n, tag);
    lua_pushlstring(L, (const char *)out, n);
    lua_pushlstring(L, (const char *)tag, 16);
    return 2;
}

/* gcm_decrypt(key, iv, ciphertext, aad, tag) -> plaintext | nil, "authentication failed",
 * "auth_failed" */
static int l_gcm_decrypt(lua_State *L)
{
    struct han_gcm g;
    size_t n, aad_len, tag_len;
    uint8_t key[16], full[16], *out;
    const uint8_t *iv = check_iv(L, 2);
    const uint8_t *ct = (const uint8_t *)luaL_checklstring(L, 3, &n);
    const uint8_t *aad = (const uint8_t *)luaL_checklstring(L, 4, &aad_len);
    const uint8_t *tag = (const uint8_t *)luaL_checklstring(L, 5, &tag_len);
    if (tag_len < 1 || tag_len > 16) luaL_argerror(L, 5, "1 to 16 bytes expected");
    bytes_from(L, 1, "key", key, 16);
    han_gcm_init(&g, key);
    han_gcm_tag(&g, iv, aad, aad_len, ct, n, full);
    if (!han_ct_equal(full, tag, tag_len)) return han_push_error(L, HAN_EAUTH, 0);
    out = (uint8_t *)lua_newuserdata(L, n ? n : 1);
    han_gcm_ctr(&g, iv, ct, n, out);
    lua_pushlstring(L, (const char *)out, n);
    return 1;
}

/* Field `name` of the table at idx into out (bytes_from) unless it is nil: whether it was
 * there. */
static int opt_bytes(lua_State *L, int idx, const char *name, uint8_t *out, size_t len)
{
    int has;
    lua_getfield(L, idx, name);
    has = !lua_isnil(L, -1);
    if (has) bytes_from(L, -1, name, out, len);
    lua_pop(L, 1);
    return has;
}

/* keys = {key =, auth_key =, system_title =}, each optional (a nil table: none). */
static void keys_from(lua_State *L, int idx, struct han_keys *k)
{
    memset(k, 0, sizeof *k);
    if (lua_isnoneornil(L, idx)) return;
    /* named as the Lua core names it (a C function has no name of its own under pcall) */
    if (!lua_istable(L, idx))
        luaL_error(L, "bad argument #2 to 'unwrap' (table expected, got %s)",
                   luaL_typename(L, idx));
    k->has_key = opt_bytes(L, idx, "key", k->key, 16);
    k->has_auth = opt_bytes(L, idx, "auth_key", k->auth, 16);
    k->has_title = opt_bytes(L, idx, "system_title", k->title, 8);
}

/* unwrap(data [, keys]) -> apdu [, security] | nil, err, code */
static int l_unwrap(lua_State *L)
{
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 1, &n);
    struct han_keys k;
    struct han_unwrapped u;
    uint8_t small[1024], *out = small;
    int e, byte;
    keys_from(L, 2, &k);
    if (n > sizeof small) out = (uint8_t *)lua_newuserdata(L, n);
    e = han_unwrap(s, n, &k, out, &u, &byte);
    if (e != HAN_OK) {
        han_push_error(L, e, byte);
        if (e == HAN_ENOKEY) {         /* the message ends with the system title in hex */
            char hex[17];
            snprintf(hex, sizeof hex, "%08lX%08lX", (unsigned long)han_be32(u.title),
                     (unsigned long)han_be32(u.title + 4));
            lua_pushfstring(L, "%s%s", lua_tostring(L, -2), hex);
            lua_replace(L, -3);
        }
        return 3;
    }
    lua_pushlstring(L, (const char *)u.apdu, u.apdu_len);
    if (!u.ciphered) return 1;
    lua_createtable(L, 0, 5);
    lua_pushboolean(L, (u.security & 0x20) != 0); lua_setfield(L, -2, "encrypted");
    lua_pushboolean(L, u.authenticated); lua_setfield(L, -2, "authenticated");
    lua_pushinteger(L, (lua_Integer)u.security); lua_setfield(L, -2, "security_control");
    han_pushuint(L, u.counter); lua_setfield(L, -2, "frame_counter");
    lua_pushlstring(L, (const char *)u.title, 8); lua_setfield(L, -2, "system_title");
    return 2;
}

/* The framer userdata: engine state plus two tables in the registry: the frames waiting
 * to be popped, between head and tail, and the engine's buffers, as userdata keyed by
 * their address (they count in the Lua heap and go with the framer). */
typedef struct {
    struct han_framer f;
    int queue, bufs;
    lua_Integer head, tail;
    lua_State *L;
} Framer;

static Framer *check_framer(lua_State *L)
{
    Framer *fr = (Framer *)luaL_checkudata(L, 1, FRAMER_MT);
    if (fr->queue == LUA_NOREF) luaL_error(L, "han.framer used after collection");
    return fr;
}

/* The buffers and queue tables, on top of the stack whenever the engine runs. */
static void push_tables(lua_State *L, Framer *fr)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, fr->bufs);
    lua_rawgeti(L, LUA_REGISTRYINDEX, fr->queue);
    fr->L = L;
}

/* Engine allocator (see push_tables). */
static void *keep(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lua_State *L = ((Framer *)ud)->L;
    void *p = NULL;
    if (nsize) {
        p = lua_newuserdata(L, nsize);
        if (ptr) memcpy(p, ptr, osize < nsize ? osize : nsize);
        lua_pushlightuserdata(L, p);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    if (ptr) {
        lua_pushlightuserdata(L, ptr);
        lua_pushnil(L);
        lua_rawset(L, -4);
    }
    return p;
}

/* Engine callback (see push_tables). */
static void enqueue(void *ud, const uint8_t *p, size_t n)
{
    Framer *fr = ud;
    lua_pushlstring(fr->L, (const char *)p, n);
    lua_rawseti(fr->L, -2, (int)++fr->tail);
}

/* Indexed by enum han_protocol. */
static const char *const protocol_names[] = {"auto", "hdlc", "mbus", "p1", "sml"};

static int l_framer(lua_State *L)
{
    int cr_lf = 0, protocol = HAN_HDLC;
    Framer *fr;
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_getfield(L, 1, "cr_lf");
        cr_lf = lua_toboolean(L, -1);
        lua_getfield(L, 1, "protocol");
        if (!lua_isnil(L, -1)) {
            const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
            for (protocol = HAN_SML; protocol >= HAN_AUTO; protocol--)
                if (strcmp(name, protocol_names[protocol]) == 0) break;
            if (protocol < HAN_AUTO)
                return luaL_error(L, "bad protocol (hdlc, mbus, p1, sml or auto expected)");
        }
        lua_pop(L, 2);
    }
    fr = (Framer *)lua_newuserdata(L, sizeof *fr);
    fr->queue = fr->bufs = LUA_NOREF;
    han_framer_init(&fr->f, cr_lf, protocol, keep, fr);
    fr->head = fr->tail = 0;
    luaL_getmetatable(L, FRAMER_MT);
    lua_setmetatable(L, -2);
    lua_newtable(L);
    fr->bufs = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    fr->queue = luaL_ref(L, LUA_REGISTRYINDEX);
    return 1;
}

static int f_push(lua_State *L)
{
    Framer *fr = check_framer(L);
    size_t n;
    const uint8_t *s = (const uint8_t *)luaL_checklstring(L, 2, &n);
    push_tables(L, fr);
    han_framer_push(&fr->f, s, n, enqueue, fr);
    lua_pop(L, 2);
    lua_pushinteger(L, (lua_Integer)(fr->tail - fr->head));
    return 1;
}

static int f_pop(lua_State *L)
{
    Framer *fr = check_framer(L);
    if (fr->head == fr->tail) {
        lua_pushnil(L);
        return 1;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, fr->queue);
    lua_rawgeti(L, -1, (int)++fr->head);
    lua_pushnil(L);
    lua_rawseti(L, -3, (int)fr->head);
    if (fr->head == fr->tail) {           /* reuse the slots, or drop a burst's */
        if (fr->tail > 32) {
            lua_newtable(L);
            lua_rawseti(L, LUA_REGISTRYINDEX, fr->queue);
        }
        fr->head = fr->tail = 0;
    }
    return 1;
}

static int f_frames(lua_State *L)
{
    f_push(L);
    lua_pushcfunction(L, f_pop);
    lua_pushvalue(L, 1);
    return 2;
}

static int f_missing(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)han_framer_missing(&check_framer(L)->f));
    return 1;
}

static void stat_field(lua_State *L, const char *k, uint64_t v)
{
    han_pushuint(L, v);
    lua_setfield(L, -2, k);
}

static int f_stats(lua_State *L)
{
    Framer *fr = check_framer(L);
    const struct han_framer_stats *st = &fr->f.st;
    lua_createtable(L, 0, 10);
    stat_field(L, "bytes_in", st->bytes_in);
    stat_field(L, "bytes_framed", st->bytes_framed);
    stat_field(L, "bytes_discarded", st->bytes_discarded);
    stat_field(L, "bytes_buffered", han_framer_buffered(&fr->f));
    stat_field(L, "frames_ok", st->frames_ok);
    stat_field(L, "bad_hcs", st->bad_hcs);
    stat_field(L, "bad_fcs", st->bad_fcs);
    stat_field(L, "bad_length", st->bad_length);
    stat_field(L, "segments_joined", st->segments_joined);
    lua_pushstring(L, protocol_names[fr->f.protocol]);
    lua_setfield(L, -2, "protocol");
    return 1;
}

static int f_reset(lua_State *L)
{
    han_framer_reset(&check_framer(L)->f);
    return 0;
}

static int f_gc(lua_State *L)
{
    Framer *fr = (Framer *)luaL_checkudata(L, 1, FRAMER_MT);
    if (fr->queue == LUA_NOREF) return 0;
    push_tables(L, fr);
    han_framer_free(&fr->f);
    luaL_unref(L, LUA_REGISTRYINDEX, fr->queue);
    luaL_unref(L, LUA_REGISTRYINDEX, fr->bufs);
    fr->queue = fr->bufs = LUA_NOREF;
    return 0;
}

static int f_tostring(lua_State *L)
{
    Framer *fr = check_framer(L);
    lua_pushfstring(L, "han.framer (%d waiting, %d buffered)", (int)(fr->tail - fr->head),
                    (int)han_framer_buffered(&fr->f));
    return 1;
}

static const luaL_Reg framer_methods[] = {
    {"push", f_push}, {"pop", f_pop}, {"frames", f_frames}, {"missing", f_missing},
    {"stats", f_stats}, {"reset", f_reset}, {NULL, NULL}
};

static const luaL_Reg framer_meta[] = {{"__gc", f_gc}, {"__tostring", f_tostring}, {NULL, NULL}};

static const luaL_Reg core_functions[] = {
    {"crc16", l_crc16}, {"frame", l_frame}, {"notification", l_notification},
    {"values", l_values}, {"framer", l_framer},
    {"gcm_encrypt", l_gcm_encrypt}, {"gcm_decrypt", l_gcm_decrypt}, {"unwrap", l_unwrap},
    {"p1", han_l_p1}, {"sml", han_l_sml}, {NULL, NULL}
};

__attribute__((visibility("default"))) int luaopen_han_core(lua_State *L);

int luaopen_han_core(lua_State *L)
{
    if (luaL_newmetatable(L, FRAMER_MT)) {
        luaL_setfuncs(L, framer_meta, 0);
        luaL_newlib(L, framer_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    luaL_newlibtable(L, core_functions);
    push_keys(L);
    luaL_setfuncs(L, core_functions, 1);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
