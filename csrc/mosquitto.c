/* han.mosquitto: the part of the lua-mosquitto API that han.mqtt drives, over Debian's
 * libmosquitto, for desktops that lack the lua-mosquitto binding LogicMachine ships.
 *
 *   local m = require("han.mosquitto")
 *   local c = m.new([id [, clean_session]])
 *   c.ON_CONNECT = function(ok, rc, msg) end       -- also ON_DISCONNECT, ON_PUBLISH(mid)
 *   c:login_set(user, pass); c:tls_set(cafile [, capath, certfile, keyfile])
 *   c:will_set(topic, payload, qos, retain); c:connect(host, port, keepalive)
 *   c:publish(topic, payload, qos, retain) -> mid; c:loop(timeout_ms, max_packets)
 *   c:reconnect(); c:disconnect(); c:destroy()
 *
 * Like lua-mosquitto, calls return true (publish: the message id) or nil, rc, message.
 * Callbacks run inside the call that drives the network (loop, connect, ...) and are
 * protected: an error in one is raised by that call once libmosquitto has returned. */
#include <errno.h>
#include <string.h>
#include <mosquitto.h>
#include "compat.h"

#define CLIENT "han.mosquitto.client"

enum { CB_CONNECT, CB_DISCONNECT, CB_PUBLISH, CB_COUNT };
static const char *const cb_names[CB_COUNT] = { "ON_CONNECT", "ON_DISCONNECT", "ON_PUBLISH" };

typedef struct {
    struct mosquitto *m;
    lua_State *L;            /* the state of the running call; NULL outside calls */
    int cb[CB_COUNT];        /* registry references of the callbacks, or LUA_NOREF */
    int cb_error;            /* a callback's error, raised when the call returns */
} client;

static client *check_client(lua_State *L)
{
    client *c = (client *)luaL_checkudata(L, 1, CLIENT);
    if (c->m == NULL) luaL_argerror(L, 1, "client destroyed");
    return c;
}

/* lua-mosquitto's result convention. `prev` is the state to restore: a call made from
 * inside a callback leaves the outer call's state in place, and only the outermost call
 * raises a callback's error. */
static int finish(lua_State *L, client *c, lua_State *prev, int rc)
{
    c->L = prev;
    if (prev == NULL && c->cb_error != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->cb_error);
        luaL_unref(L, LUA_REGISTRYINDEX, c->cb_error);
        c->cb_error = LUA_NOREF;
        return lua_error(L);
    }
    if (rc == MOSQ_ERR_SUCCESS) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_pushinteger(L, rc);
    lua_pushstring(L, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    return 3;
}

/* Run callback `which` with the arguments already pushed (nargs of them). */
static void run_callback(client *c, int which, int nargs)
{
    lua_State *L = c->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->cb[which]);
    lua_insert(L, -nargs - 1);
    if (lua_pcall(L, nargs, 0, 0) != 0) {
        if (c->cb_error == LUA_NOREF) c->cb_error = luaL_ref(L, LUA_REGISTRYINDEX);
        else lua_pop(L, 1);
    }
}

/* ON_CONNECT and ON_DISCONNECT get ok, rc and rc's message. */
static void on_status(client *c, int which, int rc, const char *message)
{
    if (c->L == NULL || c->cb[which] == LUA_NOREF) return;
    lua_pushboolean(c->L, rc == 0);
    lua_pushinteger(c->L, rc);
    lua_pushstring(c->L, message);
    run_callback(c, which, 3);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    on_status((client *)obj, CB_CONNECT, rc, mosquitto_connack_string(rc));
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    on_status((client *)obj, CB_DISCONNECT, rc, mosquitto_strerror(rc));
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    client *c = (client *)obj;
    (void)m;
    if (c->L == NULL || c->cb[CB_PUBLISH] == LUA_NOREF) return;
    lua_pushinteger(c->L, mid);
    run_callback(c, CB_PUBLISH, 1);
}

/* new([id [, clean_session]]) -> client | nil, rc, message */
static int l_new(lua_State *L)
{
    const char *id = luaL_optstring(L, 1, NULL);
    int clean = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
    client *c = (client *)lua_newuserdata(L, sizeof *c);
    int i;
    *c = (client){ .m = NULL, .L = NULL, .cb_error = LUA_NOREF };
    for (i = 0; i < CB_COUNT; i++) c->cb[i] = LUA_NOREF;
    luaL_getmetatable(L, CLIENT);
    lua_setmetatable(L, -2);
    c->m = mosquitto_new(id, clean != 0, c);
    if (c->m == NULL) {
        lua_pushnil(L);
        lua_pushinteger(L, errno == EINVAL ? MOSQ_ERR_INVAL : MOSQ_ERR_NOMEM);
        lua_pushstring(L, errno == EINVAL ? "an id is needed without a clean session"
                                          : "out of memory");
        return 3;
    }
    mosquitto_connect_callback_set(c->m, on_connect);
    mosquitto_disconnect_callback_set(c->m, on_disconnect);
    mosquitto_publish_callback_set(c->m, on_publish);
    return 1;
}

static int l_login_set(lua_State *L)
{
    client *c = check_client(L);
    const char *user = luaL_optstring(L, 2, NULL);
    const char *pass = luaL_optstring(L, 3, NULL);
    return finish(L, c, c->L, mosquitto_username_pw_set(c->m, user, pass));
}

static int l_tls_set(lua_State *L)
{
    client *c = check_client(L);
    const char *cafile = luaL_optstring(L, 2, NULL);
    const char *capath = luaL_optstring(L, 3, NULL);
    const char *certfile = luaL_optstring(L, 4, NULL);
    const char *keyfile = luaL_optstring(L, 5, NULL);
    return finish(L, c, c->L, mosquitto_tls_set(c->m, cafile, capath, certfile, keyfile, NULL));
}

/* Topic, payload, qos, retain at stack positions 2..5, shared by will_set and publish. */
typedef struct {
    const char *topic;
    const char *payload;
    size_t len;
    int qos, retain;
} message;

static message check_message(lua_State *L)
{
    message msg;
    msg.topic = luaL_checkstring(L, 2);
    msg.payload = luaL_optlstring(L, 3, "", &msg.len);
    msg.qos = (int)luaL_optinteger(L, 4, 0);
    msg.retain = lua_toboolean(L, 5);
    luaL_argcheck(L, msg.qos >= 0 && msg.qos <= 2, 4, "qos must be 0, 1 or 2");
    luaL_argcheck(L, msg.len <= 268435455u, 3, "payload too large");
    return msg;
}

static int l_will_set(lua_State *L)
{
    client *c = check_client(L);
    message msg = check_message(L);
    return finish(L, c, c->L, mosquitto_will_set(c->m, msg.topic, (int)msg.len, msg.payload,
                                           msg.qos, msg.retain != 0));
}

static int l_publish(lua_State *L)
{
    client *c = check_client(L);
    message msg = check_message(L);
    lua_State *prev = c->L;
    int mid = 0, k;
    c->L = L;
    k = finish(L, c, prev, mosquitto_publish(c->m, &mid, msg.topic, (int)msg.len, msg.payload,
                                             msg.qos, msg.retain != 0));
    if (k == 1) lua_pushinteger(L, mid);   /* success: the message id instead of true */
    return k;
}

static int l_connect(lua_State *L)
{
    client *c = check_client(L);
    const char *host = luaL_optstring(L, 2, "localhost");
    int port = (int)luaL_optinteger(L, 3, 1883);
    int keepalive = (int)luaL_optinteger(L, 4, 60);
    lua_State *prev = c->L;
    c->L = L;
    return finish(L, c, prev, mosquitto_connect(c->m, host, port, keepalive));
}

static int l_reconnect(lua_State *L)
{
    client *c = check_client(L);
    lua_State *prev = c->L;
    c->L = L;
    return finish(L, c, prev, mosquitto_reconnect(c->m));
}

static int l_disconnect(lua_State *L)
{
    client *c = check_client(L);
    lua_State *prev = c->L;
    c->L = L;
    return finish(L, c, prev, mosquitto_disconnect(c->m));
}

/* loop([timeout_ms [, max_packets]]): one round of network work. */
static int l_loop(lua_State *L)
{
    client *c = check_client(L);
    int timeout = (int)luaL_optinteger(L, 2, -1);
    int max_packets = (int)luaL_optinteger(L, 3, 1);
    lua_State *prev = c->L;
    c->L = L;
    return finish(L, c, prev, mosquitto_loop(c->m, timeout, max_packets));
}

static int l_destroy(lua_State *L)
{
    client *c = (client *)luaL_checkudata(L, 1, CLIENT);
    int i;
    if (c->L != NULL) return luaL_error(L, "cannot destroy a client inside its callback");
    if (c->m != NULL) mosquitto_destroy(c->m);
    c->m = NULL;
    for (i = 0; i < CB_COUNT; i++) {
        luaL_unref(L, LUA_REGISTRYINDEX, c->cb[i]);
        c->cb[i] = LUA_NOREF;
    }
    luaL_unref(L, LUA_REGISTRYINDEX, c->cb_error);
    c->cb_error = LUA_NOREF;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_tostring(lua_State *L)
{
    client *c = (client *)luaL_checkudata(L, 1, CLIENT);
    lua_pushfstring(L, "han.mosquitto client (%s)", c->m ? "open" : "destroyed");
    return 1;
}

static int callback_index(lua_State *L, int arg)
{
    const char *name = lua_tostring(L, arg);
    int i;
    if (name == NULL) return -1;
    for (i = 0; i < CB_COUNT; i++)
        if (strcmp(name, cb_names[i]) == 0) return i;
    return -1;
}

/* c.ON_CONNECT = fn (or nil) */
static int l_newindex(lua_State *L)
{
    client *c = (client *)luaL_checkudata(L, 1, CLIENT);
    int which = callback_index(L, 2);
    if (which < 0)
        return luaL_argerror(L, 2, "only ON_CONNECT, ON_DISCONNECT, ON_PUBLISH can be set");
    if (!lua_isnil(L, 3)) luaL_checktype(L, 3, LUA_TFUNCTION);
    luaL_unref(L, LUA_REGISTRYINDEX, c->cb[which]);
    lua_settop(L, 3);
    c->cb[which] = lua_isnil(L, 3) ? LUA_NOREF : luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* c.method, or c.ON_CONNECT: the methods live in the metatable's "methods" upvalue. */
static int l_index(lua_State *L)
{
    client *c = (client *)luaL_checkudata(L, 1, CLIENT);
    int which = callback_index(L, 2);
    if (which >= 0) {
        if (c->cb[which] == LUA_NOREF) lua_pushnil(L);
        else lua_rawgeti(L, LUA_REGISTRYINDEX, c->cb[which]);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

static const luaL_Reg methods[] = {
    { "login_set", l_login_set }, { "tls_set", l_tls_set }, { "will_set", l_will_set },
    { "connect", l_connect }, { "reconnect", l_reconnect }, { "disconnect", l_disconnect },
    { "publish", l_publish }, { "loop", l_loop }, { "destroy", l_destroy },
    { NULL, NULL }
};

static const luaL_Reg client_meta[] = {
    { "__newindex", l_newindex }, { "__gc", l_destroy }, { "__tostring", l_tostring },
    { NULL, NULL }
};

static const luaL_Reg functions[] = {
    { "new", l_new },
    { NULL, NULL }
};

__attribute__((visibility("default"))) int luaopen_han_mosquitto(lua_State *L);

int luaopen_han_mosquitto(lua_State *L)
{
    int major, minor, revision;
    mosquitto_lib_init();
    luaL_newmetatable(L, CLIENT);
    luaL_setfuncs(L, client_meta, 0);
    luaL_newlib(L, methods);
    lua_pushcclosure(L, l_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newlib(L, functions);
    mosquitto_lib_version(&major, &minor, &revision);
    lua_pushfstring(L, "%d.%d.%d", major, minor, revision);
    lua_setfield(L, -2, "version");
    return 1;
}
