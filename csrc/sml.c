/* SML transmissions, checks as in docs/core-api.md (core.sml): the transport (escapes,
 * padding, CRC) first, then the messages one by one, each value reported to the visitor
 * and the layout key written as the elements go by. */
#include "sml.h"
#include "crc16.h"
#include "han.h"

#include <string.h>

static const uint8_t START[8] = { 0x1B, 0x1B, 0x1B, 0x1B, 0x01, 0x01, 0x01, 0x01 };

/* TL types */
enum { OCTETS = 0, BOOLEAN = 4, INTEGER = 5, UNSIGNED = 6, LIST = 7 };

/* Nesting levels of the fixed structure: a message's own list is level 1. */
enum { IN_MESSAGE = 2, IN_CHOICE = 3, IN_BODY = 4, IN_ENTRY = 6 };

struct sml {
    const uint8_t *p, *end;      /* the file being read */
    char *key;
    size_t len;
    han_sml_visit visit;
    void *ud;
};

static void put(struct sml *c, const char *s, size_t n)
{
    memcpy(c->key + c->len, s, n);
    c->len += n;
}

static void put_hex(struct sml *c, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        c->key[c->len++] = digits[p[i] >> 4];
        c->key[c->len++] = digits[p[i] & 15];
    }
}

/* A message tag in hex: as many digits as it needs, four at least. */
static void put_tag(struct sml *c, uint64_t tag)
{
    int shift = 12;
    while (shift < 28 && tag >> (shift + 4)) shift += 4;
    for (; shift >= 0; shift -= 4) c->key[c->len++] = "0123456789abcdef"[tag >> shift & 15];
}

/* An integer's value, with its sign when it is an INTEGER. */
static void put_dec(struct sml *c, const struct han_sml_value *v)
{
    char buf[21];
    size_t i = sizeof buf;
    int neg = v->kind == HAN_SML_INT && v->i < 0;
    uint64_t u = neg ? (uint64_t)0 - v->u : v->u;
    do buf[--i] = (char)('0' + u % 10); while ((u /= 10) != 0);
    if (neg) buf[--i] = '-';
    put(c, buf + i, sizeof buf - i);
}

/* The element's TL at c->p: its type and n, the data bytes or (a list) the elements;
 * c->p moves to its data. */
static int tl(struct sml *c, int *type, size_t *n)
{
    const uint8_t *p = c->p;
    size_t len, t = 1;
    unsigned b;
    if (p >= c->end) return HAN_EDATA;
    b = *p++;
    *type = b >> 4 & 7;
    len = b & 0x0F;
    while (b & 0x80) {
        if (p >= c->end) return HAN_EDATA;
        if (++t > 4) return HAN_ETL;
        b = *p++;
        if (b & 0x70) return HAN_ETL;
        len = len << 4 | (b & 0x0F);
    }
    c->p = p;
    switch (*type) {
    case LIST:      /* every element takes a byte at least */
        *n = len;
        return len > (size_t)(c->end - p) ? HAN_EDATA : HAN_OK;
    case OCTETS: if (len < t) return HAN_ETL; break;
    case BOOLEAN: if (len != t + 1) return HAN_ETL; break;
    case INTEGER: case UNSIGNED: if (len <= t || len - t > 8) return HAN_ETL; break;
    default: return HAN_ETL;
    }
    *n = len - t;
    return *n > (size_t)(c->end - p) ? HAN_EDATA : HAN_OK;
}

/* An element of type `want` whose n is within [lo, hi], else err. */
static int typed(struct sml *c, int want, size_t lo, size_t hi, size_t *n, int err)
{
    int type, e = tl(c, &type, n);
    if (e != HAN_OK) return e;
    return type != want || *n < lo || *n > hi ? err : HAN_OK;
}

/* The n-byte big-endian number at c->p (INTEGER sign-extended); c->p moves past it. */
static void number(struct sml *c, size_t n, int type, struct han_sml_value *v)
{
    uint64_t u = 0;
    size_t i;
    for (i = 0; i < n; i++) u = u << 8 | c->p[i];
    if (type == INTEGER && n < 8 && (c->p[0] & 0x80)) u |= ~(uint64_t)0 << (8 * n);
    v->kind = type == INTEGER ? HAN_SML_INT : HAN_SML_UINT;
    v->u = u;
    v->i = (int64_t)u;
    c->p += n;
}

/* An element at nesting level `level`: with keep, its descriptor goes into the key and
 * its values to the visitor; else it is only checked. */
static int element(struct sml *c, int level, int keep)
{
    struct han_sml_value v;
    int type, e;
    size_t n, i;
    if (level > HAN_SML_MAX_DEPTH) return HAN_EDEPTH;
    if ((e = tl(c, &type, &n)) != HAN_OK) return e;
    if (type == LIST) {
        if (keep) put(c, "(", 1);
        for (i = 0; i < n; i++) {
            if (keep && i) put(c, ",", 1);
            if ((e = element(c, level + 1, keep)) != HAN_OK) return e;
        }
        if (keep) put(c, ")", 1);
        return HAN_OK;
    }
    if (!keep) {
        c->p += n;
        return HAN_OK;
    }
    v.p = c->p;
    v.n = n;
    if (type == OCTETS) {
        c->p += n;
        if (n == 0) {                     /* 01: an optional field left out */
            put(c, "-", 1);
            return HAN_OK;
        }
        v.kind = HAN_SML_OCTETS;
        put(c, "o", 1);
    } else if (type == BOOLEAN) {
        v.kind = HAN_SML_BOOL;
        v.b = *c->p++ != 0;
        put(c, "b", 1);
    } else {
        char d[2];
        d[0] = type == INTEGER ? 'i' : 'u';
        d[1] = (char)('0' + n);
        number(c, n, type, &v);
        put(c, d, 2);
    }
    c->visit(c->ud, &v);
    return HAN_OK;
}

/* A unit or scaler: absent, or a number written in decimal. */
static int scalar(struct sml *c)
{
    struct han_sml_value v;
    int type, e;
    size_t n;
    if ((e = tl(c, &type, &n)) != HAN_OK) return e;
    if (type == OCTETS && n == 0) {
        put(c, " -", 2);
        return HAN_OK;
    }
    if (type != INTEGER && type != UNSIGNED) return HAN_ESMLENTRY;
    number(c, n, type, &v);
    put(c, " ", 1);
    put_dec(c, &v);
    return HAN_OK;
}

/* An octet string of the fixed structure, its bytes in hex after a space ("-" for none
 * when dash). */
static int octets(struct sml *c, int err, int dash)
{
    size_t n;
    int e = typed(c, OCTETS, 0, (size_t)-1, &n, err);
    if (e != HAN_OK) return e;
    put(c, " ", 1);
    if (n == 0 && dash) put(c, "-", 1);
    put_hex(c, c->p, n);
    c->p += n;
    return HAN_OK;
}

/* SML_ListEntry: objName, status, valTime, unit, scaler, value, valueSignature. */
static int entry(struct sml *c)
{
    size_t n;
    int e;
    put(c, "\n", 1);
    if ((e = typed(c, LIST, 7, 7, &n, HAN_ESMLENTRY)) != HAN_OK ||
        (e = octets(c, HAN_ESMLENTRY, 0)) != HAN_OK)
        return e;
    put(c, " ", 1);
    if ((e = element(c, IN_ENTRY, 1)) != HAN_OK) return e;
    put(c, " ", 1);
    if ((e = element(c, IN_ENTRY, 1)) != HAN_OK || (e = scalar(c)) != HAN_OK ||
        (e = scalar(c)) != HAN_OK)
        return e;
    put(c, " ", 1);
    if ((e = element(c, IN_ENTRY, 1)) != HAN_OK) return e;
    return element(c, IN_ENTRY, 0);
}

/* SML_GetList.Res: clientId, serverId, listName, actSensorTime, valList,
 * listSignature, actGatewayTime. */
static int get_list(struct sml *c)
{
    size_t n, i;
    int e;
    if ((e = typed(c, LIST, 7, 7, &n, HAN_ESMLMSG)) != HAN_OK ||
        (e = element(c, IN_BODY, 0)) != HAN_OK || (e = octets(c, HAN_ESMLMSG, 0)) != HAN_OK ||
        (e = octets(c, HAN_ESMLMSG, 1)) != HAN_OK || (e = element(c, IN_BODY, 0)) != HAN_OK ||
        (e = typed(c, LIST, 0, (size_t)-1, &n, HAN_ESMLMSG)) != HAN_OK)
        return e;
    for (i = 0; i < n; i++)
        if ((e = entry(c)) != HAN_OK) return e;
    if ((e = element(c, IN_BODY, 0)) != HAN_OK) return e;
    return element(c, IN_BODY, 0);
}

/* SML_PublicOpen.Res: codepage, clientId, reqFileId, serverId, refTime, smlVersion. */
static int open_res(struct sml *c)
{
    size_t n;
    int e, i;
    if ((e = typed(c, LIST, 6, 6, &n, HAN_ESMLMSG)) != HAN_OK) return e;
    for (i = 0; i < 3; i++)
        if ((e = element(c, IN_BODY, 0)) != HAN_OK) return e;
    if ((e = octets(c, HAN_ESMLMSG, 0)) != HAN_OK) return e;
    for (i = 0; i < 2; i++)
        if ((e = element(c, IN_BODY, 0)) != HAN_OK) return e;
    return HAN_OK;
}

/* SML_Message: transactionId, groupNo, abortOnError, messageBody (tag, body), crc16,
 * endOfSmlMsg. A CRC that is neither X-25 (sent low byte first) nor KERMIT (high byte
 * first) counts in *bad: the transport CRC vouches for the bytes (eBZ DD3). */
static int message(struct sml *c, unsigned *bad)
{
    const uint8_t *start = c->p;
    struct han_sml_value tag, crc;
    size_t n, covered;
    unsigned x25;
    int e;
    if ((e = typed(c, LIST, 6, 6, &n, HAN_ESMLMSG)) != HAN_OK ||
        (e = typed(c, OCTETS, 0, (size_t)-1, &n, HAN_ESMLMSG)) != HAN_OK)
        return e;
    c->p += n;
    if ((e = typed(c, UNSIGNED, 1, 8, &n, HAN_ESMLMSG)) != HAN_OK) return e;
    c->p += n;
    if ((e = typed(c, UNSIGNED, 1, 8, &n, HAN_ESMLMSG)) != HAN_OK) return e;
    c->p += n;
    if ((e = typed(c, LIST, 2, 2, &n, HAN_ESMLMSG)) != HAN_OK ||
        (e = typed(c, UNSIGNED, 1, 4, &n, HAN_ESMLMSG)) != HAN_OK)
        return e;
    number(c, n, UNSIGNED, &tag);
    if (c->len) put(c, "\n", 1);
    put_tag(c, tag.u);
    switch (tag.u) {
    case 0x0101: e = open_res(c); break;
    case 0x0701: e = get_list(c); break;
    default: e = element(c, IN_CHOICE, 0);
    }
    if (e != HAN_OK) return e;
    covered = (size_t)(c->p - start);
    if ((e = typed(c, UNSIGNED, 1, 2, &n, HAN_ESMLMSG)) != HAN_OK) return e;
    number(c, n, UNSIGNED, &crc);
    if (c->p >= c->end) return HAN_EDATA;
    if (*c->p++ != 0x00) return HAN_ESMLMSG;
    x25 = han_crc16(start, covered);
    if (crc.u != ((x25 >> 8) | (x25 << 8 & 0xFF00)) &&
        crc.u != han_crc16_update(0, start, covered))
        (*bad)++;
    return HAN_OK;
}

int han_sml_parse(const uint8_t *s, size_t n, uint8_t *work, char *key,
                  han_sml_visit visit, void *ud, struct han_sml_result *res)
{
    struct sml c;
    const uint8_t *body = s + 8, *file = body;
    size_t len, pad, g, i, flen;
    unsigned x25;
    int e;

    if (n < 8 || memcmp(s, START, 8) != 0) return HAN_ESMLSTART;
    if (n < 16 || memcmp(s + n - 8, START, 4) != 0 || s[n - 4] != 0x1A) return HAN_ESMLEND;
    res->kermit = 0;
    res->bad_crcs = 0;
    x25 = han_crc16(s, n - 2);
    if ((unsigned)(s[n - 2] | s[n - 1] << 8) != x25) {
        if ((unsigned)(s[n - 2] << 8 | s[n - 1]) != han_crc16_update(0, s, n - 2))
            return HAN_ECRC;
        res->kermit = 1;
    }
    len = n - 16;
    pad = s[n - 3];
    if (len % 4 != 0 || pad > HAN_SML_MAX_PAD || pad > len) return HAN_EPADDING;
    for (i = len - pad; i < len; i++)
        if (body[i] != 0) return HAN_EPADDING;
    /* an escape group must come doubled; the pair stands for one group of data */
    for (g = 0, flen = 0; g < len; g += 4) {
        if (memcmp(body + g, START, 4) == 0) {
            if (g + 4 == len || memcmp(body + g + 4, START, 4) != 0) return HAN_EESCAPE;
            if (file == body) {           /* the first pair: the file is copied from here */
                file = work;
                memcpy(work, body, g);
                flen = g;
            }
            g += 4;
        }
        if (file != body) {
            memcpy(work + flen, body + g, 4);
            flen += 4;
        }
    }
    if (file == body) flen = len;

    c.p = file;
    c.end = file + flen - pad;
    c.key = key;
    c.len = 0;
    c.visit = visit;
    c.ud = ud;
    while (c.p < c.end) {
        if (*c.p == 0x00) {               /* fill between messages (libsml skips it too) */
            c.p++;
            continue;
        }
        if ((e = message(&c, &res->bad_crcs)) != HAN_OK) return e;
    }
    res->key_len = c.len;
    return HAN_OK;
}
