/* han.serial: a raw POSIX serial port with the API of LogicMachine's `serial` module
 * (open, read(n, timeout), write, flush, close), so controller scripts run unchanged on
 * a Raspberry Pi or a desktop. termios for the line, poll() for timeouts. For commands,
 * catch_signals() turns SIGINT and SIGTERM into a flag that reads and sleeps return on,
 * so one Ctrl-C ends a command cleanly instead of raising inside a read. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"

#define PORT_MT "han.serial.port"
#define MAX_READ 65536

/* The signal caught since catch_signals(), 0 for none. */
static volatile sig_atomic_t caught = 0;

static void on_signal(int sig)
{
    caught = sig;
}

typedef struct {
    int fd;
    char name[64];
} Port;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(lua_State *L, const char *what, const char *dev, int err)
{
    const char *hint = err == EACCES ? " (is the user in the 'dialout' group?)"
                     : err == EBUSY ? " (another program has the port open)" : "";
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s%s", what, dev, strerror(err), hint);
    return 2;
}

static const struct { int baud; speed_t speed; } speeds[] = {
    {300, B300}, {600, B600}, {1200, B1200}, {2400, B2400}, {4800, B4800}, {9600, B9600},
    {19200, B19200}, {38400, B38400}, {57600, B57600}, {115200, B115200},
};

static int opt_int(lua_State *L, const char *k, int def)
{
    int v = def;
    lua_getfield(L, 2, k);
    if (!lua_isnil(L, -1)) v = (int)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return v;
}

static const char *opt_str(lua_State *L, const char *k, const char *def)
{
    const char *v;
    lua_getfield(L, 2, k);
    v = lua_isnil(L, -1) ? def : luaL_checkstring(L, -1);
    lua_pop(L, 1);   /* the string stays alive in the options table */
    return v;
}

/* Raw mode: no echo, no line editing, no CR/LF translation, no flow control. */
static int configure(int fd, speed_t speed, const char *parity, int databits, int stopbits)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL |
                             IXON | IXOFF | IXANY | INPCK);
    t.c_oflag &= ~(tcflag_t)OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB);
    t.c_cflag |= CREAD | CLOCAL;
    t.c_cflag |= databits == 7 ? CS7 : databits == 6 ? CS6 : databits == 5 ? CS5 : CS8;
    if (stopbits == 2) t.c_cflag |= CSTOPB;
    if (strcmp(parity, "even") == 0) { t.c_cflag |= PARENB; t.c_iflag |= INPCK; }
    else if (strcmp(parity, "odd") == 0) { t.c_cflag |= PARENB | PARODD; t.c_iflag |= INPCK; }
    t.c_cc[VMIN] = t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, speed) != 0 || cfsetospeed(&t, speed) != 0) return -1;
    return tcsetattr(fd, TCSANOW, &t);
}

/* serial.open(device [, {baudrate=, parity=, databits=, stopbits=}]) -> port | nil, err */
static int l_open(lua_State *L)
{
    const char *dev = luaL_checkstring(L, 1);
    int baud = 115200, databits = 8, stopbits = 1, fd;
    const char *parity = "none";
    speed_t speed = 0;
    size_t i;
    Port *p;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        baud = opt_int(L, "baudrate", baud);
        databits = opt_int(L, "databits", databits);
        stopbits = opt_int(L, "stopbits", stopbits);
        parity = opt_str(L, "parity", parity);
    }
    for (i = 0; i < sizeof speeds / sizeof *speeds; i++)
        if (speeds[i].baud == baud) speed = speeds[i].speed;
    if (speed == 0) return luaL_argerror(L, 2, "unsupported baudrate");
    if (strcmp(parity, "none") && strcmp(parity, "even") && strcmp(parity, "odd"))
        return luaL_argerror(L, 2, "parity must be 'none', 'even' or 'odd'");
    if (databits < 5 || databits > 8 || (stopbits != 1 && stopbits != 2))
        return luaL_argerror(L, 2, "bad databits or stopbits");

    fd = open(dev, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return fail(L, "cannot open", dev, errno);
    if (configure(fd, speed, parity, databits, stopbits) != 0) {
        int err = errno;
        close(fd);
        return fail(L, "cannot configure", dev, err);
    }
    p = (Port *)lua_newuserdata(L, sizeof *p);
    p->fd = fd;
    strncpy(p->name, dev, sizeof p->name - 1);
    p->name[sizeof p->name - 1] = '\0';
    luaL_getmetatable(L, PORT_MT);
    lua_setmetatable(L, -2);
    return 1;
}

static Port *check_open(lua_State *L)
{
    Port *p = (Port *)luaL_checkudata(L, 1, PORT_MT);
    if (p->fd < 0) luaL_error(L, "attempt to use a closed serial port");
    return p;
}

/* port:read(n [, timeout]) -> bytes (maybe fewer than n on timeout) | nil, "timeout" |
 * nil, err. Without a timeout it waits for all n bytes. A caught signal ends the wait:
 * the bytes so far, or nil, "interrupted". */
static int p_read(lua_State *L)
{
    Port *p = check_open(L);
    lua_Integer want = luaL_checkinteger(L, 2);
    double timeout = luaL_optnumber(L, 3, -1), deadline;
    char buf[MAX_READ];
    size_t got = 0, n;
    luaL_argcheck(L, want >= 1 && want <= MAX_READ, 2, "count out of range");
    n = (size_t)want;
    deadline = now() + timeout;
    while (got < n && !caught) {
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
        int wait_ms = -1, r;
        ssize_t k;
        if (timeout >= 0) {
            double left = deadline - now();
            if (left <= 0) break;
            wait_ms = (int)(left * 1000.0 + 0.999);
        }
        r = poll(&pfd, 1, wait_ms);
        if (r < 0 && errno == EINTR) continue;   /* the loop ends if it was a caught signal */
        if (r < 0) return fail(L, "read error on", p->name, errno);
        if (r == 0) break;
        k = read(p->fd, buf + got, n - got);
        if (k > 0) { got += (size_t)k; continue; }
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        return fail(L, "read error on", p->name, k < 0 ? errno : EIO);   /* k == 0: hung up */
    }
    if (got == 0) {
        lua_pushnil(L);
        lua_pushstring(L, caught ? "interrupted" : "timeout");
        return 2;
    }
    lua_pushlstring(L, buf, got);
    lua_pushinteger(L, (lua_Integer)got);
    return 2;
}

static int p_write(lua_State *L)
{
    Port *p = check_open(L);
    size_t n, done = 0;
    const char *s = luaL_checklstring(L, 2, &n);
    while (done < n) {
        struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
        ssize_t k = write(p->fd, s + done, n - done);
        if (k >= 0) done += (size_t)k;
        else if (errno == EAGAIN) poll(&pfd, 1, 1000);   /* the port's buffer is full */
        else if (errno != EINTR) return fail(L, "write error on", p->name, errno);
    }
    lua_pushinteger(L, (lua_Integer)done);
    return 1;
}

static int p_flush(lua_State *L)
{
    Port *p = check_open(L);
    tcflush(p->fd, TCIOFLUSH);
    lua_pushboolean(L, 1);
    return 1;
}

static int p_close(lua_State *L)
{
    Port *p = (Port *)luaL_checkudata(L, 1, PORT_MT);
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    return 0;
}

static int p_tostring(lua_State *L)
{
    Port *p = (Port *)luaL_checkudata(L, 1, PORT_MT);
    lua_pushfstring(L, "han.serial port %s%s", p->name, p->fd < 0 ? " (closed)" : "");
    return 1;
}

/* serial.clock() -> monotonic seconds; serial.sleep(s) */
static int l_clock(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)now());
    return 1;
}

static int l_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    struct timespec ts;
    if (s <= 0) return 0;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (!caught && nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    return 0;
}

/* serial.catch_signals(): from now on SIGINT and SIGTERM only set the flag that
 * serial.signal() reads (no SA_RESTART: a blocked read or sleep returns at once). */
static int l_catch_signals(lua_State *L)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    (void)L;
    return 0;
}

/* serial.signal() -> "INT" | "TERM" | nil: the signal caught since catch_signals(). */
static int l_signal(lua_State *L)
{
    if (caught == SIGINT) lua_pushliteral(L, "INT");
    else if (caught == SIGTERM) lua_pushliteral(L, "TERM");
    else lua_pushnil(L);
    return 1;
}

static const luaL_Reg port_methods[] = {
    {"read", p_read}, {"write", p_write}, {"flush", p_flush}, {"close", p_close},
    {NULL, NULL}
};

static const luaL_Reg port_meta[] = {{"__gc", p_close}, {"__tostring", p_tostring}, {NULL, NULL}};

static const luaL_Reg serial_functions[] = {
    {"open", l_open}, {"clock", l_clock}, {"sleep", l_sleep},
    {"catch_signals", l_catch_signals}, {"signal", l_signal}, {NULL, NULL}
};

__attribute__((visibility("default"))) int luaopen_han_serial(lua_State *L);

int luaopen_han_serial(lua_State *L)
{
    if (luaL_newmetatable(L, PORT_MT)) {
        luaL_setfuncs(L, port_meta, 0);
        luaL_newlib(L, port_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    luaL_newlib(L, serial_functions);
    return 1;
}
