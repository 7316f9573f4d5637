/* DSMR P1 telegrams, checks as in docs/core-api.md (core.p1): the end line and the
 * CRC first, then the lines one by one, each value reported to the visitor. */
#include "p1.h"
#include "crc16.h"
#include "han.h"

#include <stdlib.h>
#include <string.h>

/* Codes whose groups are identifiers, kept as strings: C.D (after the ':') is 0.0
 * device ids, 0.2 versions, 96.1 (C.1 in IEC 62056-21's letters) equipment ids, 96.13
 * messages, 96.14 tariff, 42.0 logical device name. cd[0..n): the code after its first
 * ':' (or the whole code). */
static int is_id_code(const uint8_t *cd, size_t n)
{
    if (n >= 4 && memcmp(cd, "C.1.", 4) == 0) return 1;
    if (n >= 4 && cd[0] == '0' && cd[1] == '.' && (cd[2] == '0' || cd[2] == '2'))
        return cd[3] == '.';
    if (n >= 5 && cd[0] == '9' && cd[1] == '6' && cd[2] == '.')
        return (cd[3] == '1' && cd[4] == '.') ||
               (n >= 6 && cd[3] == '1' && (cd[4] == '3' || cd[4] == '4') && cd[5] == '.');
    return n >= 5 && memcmp(cd, "42.0.", 5) == 0;
}

static int digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int letter(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int two(const uint8_t *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

static const double POW10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* A number beyond the fast path: strtod, correctly rounded as Lua's tonumber (in the C
 * locale, which Lua needs too), and Lua 5.3+'s integer rule, int64 without overflow. */
static void long_number(const uint8_t *g, size_t n, int neg, int point,
                        struct han_p1_value *v)
{
    const uint64_t MAXBY10 = INT64_MAX / 10;
    const int MAXLAST = (int)(INT64_MAX % 10);
    char buf[HAN_P1_MAX_LINE + 1];
    uint64_t a = 0;
    size_t i;
    v->is_int = !point;
    for (i = g[0] == '-' || g[0] == '+'; v->is_int && i < n; i++) {
        int d = g[i] - '0';
        if (a >= MAXBY10 && (a > MAXBY10 || d > MAXLAST + neg)) v->is_int = 0;
        else a = a * 10 + (uint64_t)d;
    }
    v->i = (int64_t)(neg ? (uint64_t)0 - a : a);   /* two's complement, as Lua */
    memcpy(buf, g, n);
    buf[n] = '\0';
    v->d = strtod(buf, NULL);
}

/* [-+]digits[.digits] then nothing or '*' and a unit of 1..16 bytes: 1 and the number
 * in v, else 0 (the group is a string). The fast path: at most 2^53 as digits and 22
 * decimals, one correctly rounded division by an exact power of ten. */
static int number(const uint8_t *g, size_t n, struct han_p1_value *v)
{
    const uint64_t LIMIT = 100000000000000000u;   /* 10^17: m * 10 + 9 fits */
    uint64_t m = 0;                               /* the digits, the point ignored */
    size_t i = 0, start, end, decimals = 0;
    int neg = 0, big = 0, point = 0;

    if (n > 0 && (g[0] == '-' || g[0] == '+')) neg = g[i++] == '-';
    for (start = i; i < n && digit(g[i]); i++) {
        if (m < LIMIT) m = m * 10 + (uint64_t)(g[i] - '0');
        else big = 1;
    }
    if (i == start) return 0;
    if (i < n && g[i] == '.') {
        for (start = ++i; i < n && digit(g[i]); i++) {
            if (m < LIMIT) m = m * 10 + (uint64_t)(g[i] - '0');
            else big = 1;
        }
        if (i == start) return 0;
        decimals = i - start;
        point = 1;
    }
    end = i;
    if (i < n && (g[i] != '*' || n - i - 1 > HAN_P1_MAX_UNIT)) return 0;
    v->kind = HAN_P1_NUMBER;
    if (i + 1 < n) {   /* "5*", an empty unit (D0 meters print it), is no unit */
        v->unit = (const char *)g + i + 1;
        v->unit_len = n - i - 1;
    }
    if (big || m > (uint64_t)1 << 53 || decimals >= sizeof POW10 / sizeof POW10[0]) {
        long_number(g, end, neg, point, v);
        return 1;
    }
    v->is_int = !point;
    v->i = neg ? -(int64_t)m : (int64_t)m;
    v->d = (double)m / POW10[decimals];
    if (neg) v->d = -v->d;
    return 1;
}

/* The status of a time's letter: 0x80 summer ('S', 's'), 0 winter ('W', 'w'), else -1. */
static int season(uint8_t c)
{
    return c == 'S' || c == 's' ? 0x80 : c == 'W' || c == 'w' ? 0 : -1;
}

/* The fields of a time's digits, YYMMDDhhmmss. */
static const uint8_t P1_TIME[6] = {HAN_T_YEAR, HAN_T_MONTH, HAN_T_DAY, HAN_T_HOUR, HAN_T_MIN,
                                   HAN_T_SEC};

/* One group: a time (12 digits, S or W), a number, else the string as is. */
static void group(const uint8_t *g, size_t n, int id, struct han_p1_value *v)
{
    size_t i;
    v->kind = HAN_P1_STRING;
    v->text = (const char *)g;
    v->len = n;
    v->unit = NULL;
    v->unit_len = 0;
    if (id) return;
    if (n == 12 || (n == 13 && season(g[12]) >= 0)) {
        for (i = 0; i < 12 && digit(g[i]); i++) {}
        if (i == 12) {
            v->kind = HAN_P1_TIME;
            for (i = 0; i < HAN_T_COUNT; i++) v->time.v[i] = HAN_UNSPEC;
            for (i = 0; i < 6; i++) v->time.v[P1_TIME[i]] = two(g + 2 * i);
            v->time.v[HAN_T_YEAR] += 2000;
            if (n == 13) v->time.v[HAN_T_STATUS] = season(g[12]);
            return;
        }
    }
    number(g, n, v);
}

struct walk {
    const struct han_p1_visitor *v;
    void *ud;
    const uint8_t *bang;               /* the end line's '!', after the last LF */
    unsigned line, data;
    int open, id;                      /* the object being read */
};

static void finish(struct walk *w)
{
    if (w->open) w->v->end(w->ud);
    w->open = 0;
}

/* The length of the line at p, which ends at the LF lf, without its CR. */
static size_t content(const uint8_t *p, const uint8_t *lf)
{
    return (size_t)(lf - p) - (lf > p && lf[-1] == '\r');
}

/* The checks of a line's length and bytes, which come before any other: a line that is
 * refused for its shape is refused for a bad byte first (docs/core-api.md). */
static int printable(const uint8_t *p, size_t len)
{
    size_t i;
    if (len > HAN_P1_MAX_LINE) return HAN_P1_ELONG;
    for (i = 0; i < len; i++)
        if ((uint8_t)(p[i] - 0x20) > 0x5E) return HAN_P1_ECHAR;
    return HAN_OK;
}

/* The error e of the data line at p, unless its length or a byte refuses it first. */
static int refused(const struct walk *w, const uint8_t *p, int e)
{
    const uint8_t *lf = memchr(p, '\n', (size_t)(w->bang - p));
    int c = printable(p, content(p, lf));
    return c != HAN_OK ? c : e;
}

/* Where a scan of a line stops, by byte: GROUP at '(', ')' and every byte that is not
 * printable (below 0x20, so at the CR or LF that ends the line too, or above 0x7E); CODE
 * at ':'. One pass over a line checks its bytes, finds its parts and its end. */
enum { GROUP = 1, CODE = 2 };
static const uint8_t STOP[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0,   /* 0x20: '(' ')' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0,   /* 0x30: ':' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,   /* 0x70: DEL */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* 0x80 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* The LF of a line whose content ends at p, else NULL (more follows). */
static const uint8_t *line_end(const uint8_t *p)
{
    if (*p == '\r') p++;
    return *p == '\n' ? (const uint8_t *)p : NULL;
}

/* Groups "(...)" from p ('(') to the end of the line, nothing between or after them,
 * each reported as it closes: the line's LF, else NULL. */
static const uint8_t *groups(struct walk *w, const uint8_t *p)
{
    struct han_p1_value val;
    do {
        const uint8_t *q = p + 1;
        while (!(STOP[*q] & GROUP)) q++;
        if (*q != ')') return NULL;
        group(p + 1, (size_t)(q - p - 1), w->id, &val);
        w->v->value(w->ud, &val);
        p = q + 1;
    } while (*p == '(');
    return line_end(p);
}

/* A line after the identification, at p: HAN_OK with its LF in *lf, else the error. */
static int line(struct walk *w, const uint8_t *p, const uint8_t **lf)
{
    const uint8_t *q = p, *cd = NULL;

    w->line++;
    if (w->line == 2 && (*lf = line_end(p)) != NULL) return HAN_OK;   /* empty after it */
    if (++w->data > HAN_P1_MAX_LINES) return refused(w, p, HAN_P1_ELINES);
    if (*p == '(') {   /* continues the object above (DSMR 2.2/3.0 gas) */
        q = w->open ? groups(w, p) : NULL;
    } else {
        for (;;) {   /* the code: up to its '(', with its first ':' */
            while (!(STOP[*q] & (GROUP | CODE))) q++;
            if (*q != ':') break;
            if (!cd) cd = q + 1;
            q++;
        }
        if (*q != '(') return refused(w, p, HAN_P1_ELINE);
        if (!cd) cd = p;
        finish(w);
        w->open = 1;
        w->id = is_id_code(cd, (size_t)(q - cd));
        w->v->object(w->ud, (const char *)p, (size_t)(q - p));
        q = groups(w, q);
    }
    if (!q) return refused(w, p, HAN_P1_ELINE);
    *lf = q;
    return content(p, q) > HAN_P1_MAX_LINE ? HAN_P1_ELONG : HAN_OK;
}

int han_p1_parse(const uint8_t *s, size_t n, const struct han_p1_visitor *v, void *ud,
                 unsigned *errline)
{
    struct han_p1_info info = { 0 };
    struct walk w = { .v = v, .ud = ud, .line = 1 };
    const uint8_t *bang, *p, *lf;
    size_t q, end, len;
    int e;

    *errline = 0;
    if (n == 0 || s[0] != '/') return HAN_P1_ESTART;
    /* the end line: the first '!' that starts a line */
    for (bang = s + 1; (bang = memchr(bang, '!', n - (size_t)(bang - s))) != NULL; bang++)
        if (bang[-1] == '\n') break;
    if (!bang) return HAN_P1_EEND;
    q = (size_t)(bang - s);
    end = n;   /* after the '!': 0 to 4 hex digits, then an optional LF or CR LF */
    if (end > q + 1 && s[end - 1] == '\n') {
        end--;
        if (end > q + 1 && s[end - 1] == '\r') end--;
    }
    if (end - q - 1 > 4) return HAN_P1_ECRCLINE;
    if (end > q + 1) {   /* 1 to 4 digits: a heat-meter gateway sends "!B9F" for 0x0B9F */
        if (!han_hex(s + q + 1, end - q - 1, &info.crc)) return HAN_P1_ECRCLINE;
        if (info.crc != han_crc16_arc(s, q + 1)) return HAN_P1_ECRC;
        info.has_crc = 1;
    }

    lf = memchr(s, '\n', q);   /* s[q - 1] is a LF */
    len = content(s, lf);
    if ((e = printable(s, len)) != HAN_OK) return e;
    if (len < 4 || !letter(s[1]) || !letter(s[2]) || !letter(s[3])) return HAN_P1_EIDENT;
    info.ident = (const char *)s + 1;
    info.ident_len = len - 1;
    for (p = lf + 1; (p = memchr(p, '(', (size_t)(bang - p))) != NULL; p++)
        info.groups++;
    v->begin(ud, &info);

    w.bang = bang;
    for (p = lf + 1; p < bang; p = lf + 1) {
        if ((e = line(&w, p, &lf)) != HAN_OK) {
            if (e == HAN_P1_ELINE) *errline = w.line;
            return e;
        }
    }
    finish(&w);
    return HAN_OK;
}
