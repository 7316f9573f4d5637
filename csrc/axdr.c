/* A-XDR walker and data-notification header, checks as in docs/core-api.md. */
#include "axdr.h"
#include "han.h"

#include <string.h>

struct walk {
    const uint8_t *p, *end;
    const struct han_visitor *v;
    void *ud;
    int errbyte;
};

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t x = 0;
    while (n--) x = (x << 8) | *p++;
    return x;
}

/* A one-byte date-time field: 0xFF means unspecified. */
static int field(uint8_t b) { return b == 0xFF ? HAN_UNSPEC : b; }

static void date_part(const uint8_t *p, struct han_time *t)
{
    unsigned year = (unsigned)be(p, 2);
    t->year = year == 0xFFFF ? HAN_UNSPEC : (int)year;
    t->month = field(p[2]);
    t->day = field(p[3]);
    t->wday = field(p[4]);
}

static void time_part(const uint8_t *p, struct han_time *t)
{
    t->hour = field(p[0]);
    t->min = field(p[1]);
    t->sec = field(p[2]);
    t->hundredths = field(p[3]);
}

void han_axdr_datetime(const uint8_t *p, struct han_time *t)
{
    unsigned dev = (unsigned)be(p + 9, 2);
    date_part(p, t);
    time_part(p + 5, t);
    t->deviation = dev == 0x8000 ? HAN_UNSPEC : (int)(int16_t)dev;
    t->status = field(p[11]);
}

/* Fixed sizes of the scalar types; 0 = not a fixed-size scalar. */
static const uint8_t fixed_size[0x1C] = {
    [0x03] = 1, [0x05] = 4, [0x06] = 4, [0x0D] = 1, [0x0F] = 1, [0x10] = 2, [0x11] = 1,
    [0x12] = 2, [0x14] = 8, [0x15] = 8, [0x16] = 1, [0x17] = 4, [0x18] = 8, [0x19] = 12,
    [0x1A] = 5, [0x1B] = 4,
};

static size_t left(const struct walk *w) { return (size_t)(w->end - w->p); }

/* BER length: < 0x80 itself, 0x81..0x84 then 1..4 big-endian bytes. */
int han_ber(const uint8_t *p, size_t n, uint32_t *len, size_t *used)
{
    int k;
    if (n < 1) return HAN_EDATA;
    k = p[0];
    if (k < 0x80) { *len = (uint32_t)k; *used = 1; return HAN_OK; }
    if (k == 0x80 || k > 0x84) return HAN_EBER;
    k -= 0x80;
    if (n - 1 < (size_t)k) return HAN_EDATA;
    *len = (uint32_t)be(p + 1, k);
    *used = (size_t)k + 1;
    return HAN_OK;
}

static int ber(struct walk *w, uint32_t *len)
{
    size_t used;
    int e = han_ber(w->p, left(w), len, &used);
    if (e == HAN_OK) w->p += used;
    return e;
}

static double float32(const uint8_t *p)
{
    uint32_t u = (uint32_t)be(p, 4);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double float64(const uint8_t *p)
{
    uint64_t u = be(p, 8);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static int value(struct walk *w, int depth)
{
    const struct han_visitor *v = w->v;
    const uint8_t *p;
    uint32_t n;
    int tag, e;
    size_t size;
    struct han_time t;

    if (depth > HAN_MAX_DEPTH) return HAN_EDEPTH;
    if (w->p >= w->end) return HAN_EDATA;
    tag = *w->p++;
    switch (tag) {
    case 0x00:
        v->null(w->ud);
        return HAN_OK;
    case 0x01: case 0x02:
        if ((e = ber(w, &n)) != HAN_OK) return e;
        if (n > left(w)) return HAN_EDATA;     /* each element takes a byte at least */
        v->container(w->ud, tag, n);
        while (n--)
            if ((e = value(w, depth + 1)) != HAN_OK) return e;
        v->end(w->ud);
        return HAN_OK;
    case 0x04:
        if ((e = ber(w, &n)) != HAN_OK) return e;
        size = n / 8 + (n % 8 != 0);
        if (size > left(w)) return HAN_EDATA;
        v->bits(w->ud, w->p, n);
        w->p += size;
        return HAN_OK;
    case 0x09: case 0x0A: case 0x0C:
        if ((e = ber(w, &n)) != HAN_OK) return e;
        if (n > left(w)) return HAN_EDATA;
        v->string(w->ud, w->p, n);
        w->p += n;
        return HAN_OK;
    }
    size = tag < (int)sizeof fixed_size ? fixed_size[tag] : 0;
    if (size == 0) { w->errbyte = tag; return HAN_ETYPE; }
    if (size > left(w)) return HAN_EDATA;
    p = w->p;
    w->p += size;
    switch (tag) {
    case 0x03: v->boolean(w->ud, *p != 0); break;
    case 0x05: v->sint(w->ud, (int32_t)(uint32_t)be(p, 4)); break;
    case 0x0F: v->sint(w->ud, (int8_t)*p); break;
    case 0x10: v->sint(w->ud, (int16_t)(uint16_t)be(p, 2)); break;
    case 0x14: v->sint(w->ud, (int64_t)be(p, 8)); break;
    case 0x06: case 0x11: case 0x12: case 0x15: case 0x16:
        v->uint(w->ud, be(p, (int)size));
        break;
    case 0x0D:
        if ((*p >> 4) > 9 || (*p & 0xF) > 9) return HAN_EBCD;
        v->uint(w->ud, (uint64_t)((*p >> 4) * 10 + (*p & 0xF)));
        break;
    case 0x17: v->real(w->ud, float32(p)); break;
    case 0x18: v->real(w->ud, float64(p)); break;
    case 0x19: han_axdr_datetime(p, &t); v->time(w->ud, tag, &t); break;
    case 0x1A: date_part(p, &t); v->time(w->ud, tag, &t); break;
    default:   time_part(p, &t); v->time(w->ud, tag, &t); break;   /* 0x1B */
    }
    return HAN_OK;
}

int han_axdr_walk(const uint8_t *p, size_t n, const struct han_visitor *v, void *ud,
                  int *errbyte)
{
    struct walk w;
    int e;
    w.p = p;
    w.end = p + n;
    w.v = v;
    w.ud = ud;
    w.errbyte = 0;
    e = value(&w, 1);
    *errbyte = w.errbyte;
    if (e == HAN_OK && w.p != w.end) return HAN_ETRAILING;
    return e;
}

int han_notification(const uint8_t *a, size_t n, struct han_notification *out,
                     int *errbyte)
{
    size_t p;
    if (n > 0 && a[0] == 0xE6) {
        if (n < 3 || (a[1] != 0xE6 && a[1] != 0xE7) || a[2] != 0x00) return HAN_ELLC;
        a += 3;
        n -= 3;
    }
    if (n == 0) return HAN_EDATA;
    if (a[0] != 0x0F) { *errbyte = a[0]; return HAN_EAPDU; }
    if (n < 5) return HAN_EDATA;
    out->invoke_id = (uint32_t)be(a + 1, 4);
    p = 5;
    if (p >= n) return HAN_EDATA;
    out->has_time = a[p] != 0x00;
    switch (a[p]) {
    case 0x00:
        p += 1;
        break;
    case 0x0C: case 0x19:
        if (n - p - 1 < 12) return HAN_EDATA;
        han_axdr_datetime(a + p + 1, &out->time);
        p += 13;
        break;
    case 0x09:
        if (p + 1 >= n) return HAN_EDATA;
        if (a[p + 1] != 0x0C) return HAN_EDATETIME;
        if (n - p - 2 < 12) return HAN_EDATA;
        han_axdr_datetime(a + p + 2, &out->time);
        p += 14;
        break;
    default:
        return HAN_EDATETIME;
    }
    out->body = a + p;
    out->body_len = n - p;
    return HAN_OK;
}
