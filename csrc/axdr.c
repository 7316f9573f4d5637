/* A-XDR walker into flat records and data-notification header, checks as in
 * docs/core-api.md. */
#include "axdr.h"
#include "han.h"
#include "hdlc.h"

#include <string.h>

struct walk {
    const uint8_t *p, *end;
    const uint8_t *at;   /* the tag of the value being read */
    struct han_flat *f;
    int errbyte;
};

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t x = 0;
    while (n--) x = (x << 8) | *p++;
    return x;
}

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }

/* A one-byte date-time field: 0xFF means unspecified. */
static int field(uint8_t b) { return b == 0xFF ? HAN_UNSPEC : b; }

/* A COSEM date-time (tag 0x19, 12 bytes: year (2), month, day, weekday, hour, min, sec,
 * hundredths, deviation (2, signed), clock status), date (0x1A: its first 5 bytes) or
 * time (0x1B: hour .. hundredths) at p; year FFFF, deviation 8000 and the fields the
 * tag lacks are unspecified. */
static void datetime(const uint8_t *p, int tag, struct han_time *t)
{
    int i;
    for (i = 0; i < HAN_T_COUNT; i++) t->v[i] = HAN_UNSPEC;
    if (tag == 0x1B) {
        for (i = HAN_T_HOUR; i <= HAN_T_HUNDREDTHS; i++) t->v[i] = field(p[i - HAN_T_HOUR]);
        return;
    }
    if (be16(p) != 0xFFFF) t->v[HAN_T_YEAR] = (int)be16(p);
    for (i = HAN_T_MONTH; i <= (tag == 0x1A ? HAN_T_WDAY : HAN_T_HUNDREDTHS); i++)
        t->v[i] = field(p[i + 1]);
    if (tag == 0x1A) return;
    if (be16(p + 9) != 0x8000) t->v[HAN_T_DEVIATION] = (int16_t)be16(p + 9);
    t->v[HAN_T_STATUS] = field(p[11]);
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
    int e;
    if (w->p < w->end && *w->p < 0x80) {   /* the short form: nearly every length */
        *len = *w->p++;
        return HAN_OK;
    }
    e = han_ber(w->p, left(w), len, &used);
    if (e == HAN_OK) w->p += used;
    return e;
}

/* A big-endian IEEE 754 float32 (size 4) or float64 (size 8). */
static double real(const uint8_t *p, size_t size)
{
    uint64_t u = be(p, (int)size);
    uint32_t u32 = (uint32_t)u;
    float f;
    double d;
    if (size == 4) {
        memcpy(&f, &u32, sizeof f);
        return f;
    }
    memcpy(&d, &u, sizeof d);
    return d;
}

/* The record of the value being read, or NULL past the capacity (the count goes on:
 * the size needed). */
static struct han_rec *add(struct walk *w, int kind)
{
    struct han_flat *f = w->f;
    struct han_rec *r = f->n < f->cap ? &f->r[f->n] : NULL;
    f->n++;
    if (r) { r->kind = (uint8_t)kind; r->tag = *w->at; r->next = f->n; r->at = w->at; }
    return r;
}

static void add_time(struct walk *w, const uint8_t *p, int tag)
{
    struct han_flat *f = w->f;
    struct han_rec *r = add(w, HAN_V_TIME);
    size_t i = f->nt++;
    if (i < f->tcap) datetime(p, tag, &f->t[i]);
    if (r) { r->n = i; r->v.p = p; }
}

static int value(struct walk *w, int depth)
{
    struct han_flat *f = w->f;
    struct han_rec *r;
    const uint8_t *p;
    uint32_t n;
    int tag, e;
    size_t size, at;

    if (depth > HAN_MAX_DEPTH) return HAN_EDEPTH;
    if (w->p >= w->end) return HAN_EDATA;
    w->at = w->p;
    tag = *w->p++;
    switch (tag) {
    case 0x00:
        add(w, HAN_V_NULL);
        return HAN_OK;
    case 0x01: case 0x02:
        if ((e = ber(w, &n)) != HAN_OK) return e;
        if (n > left(w)) return HAN_EDATA;     /* each element takes a byte at least */
        at = f->n;
        if ((r = add(w, HAN_V_LIST)) != NULL) { r->n = n; r->v.p = w->p; }
        while (n--)
            if ((e = value(w, depth + 1)) != HAN_OK) return e;
        if (at < f->cap) f->r[at].next = f->n;
        return HAN_OK;
    case 0x04: case 0x09: case 0x0A: case 0x0C:   /* a bit-string's length counts bits */
        if ((e = ber(w, &n)) != HAN_OK) return e;
        size = tag == 0x04 ? n / 8 + (n % 8 != 0) : n;
        if (size > left(w)) return HAN_EDATA;
        if ((r = add(w, tag == 0x04 ? HAN_V_BITS : HAN_V_STR)) != NULL) { r->v.p = w->p; r->n = n; }
        w->p += size;
        return HAN_OK;
    }
    size = tag < (int)sizeof fixed_size ? fixed_size[tag] : 0;
    if (size == 0) { w->errbyte = tag; return HAN_ETYPE; }
    if (size > left(w)) return HAN_EDATA;
    p = w->p;
    w->p += size;
    switch (tag) {
    case 0x03:
        if ((r = add(w, HAN_V_BOOL)) != NULL) r->v.b = *p != 0;
        break;
    case 0x05: case 0x0F: case 0x10: case 0x14:
        if ((r = add(w, HAN_V_SINT)) != NULL)
            r->v.i = tag == 0x05 ? (int32_t)(uint32_t)be(p, 4)
                   : tag == 0x0F ? (int8_t)*p
                   : tag == 0x10 ? (int16_t)(uint16_t)be(p, 2) : (int64_t)be(p, 8);
        break;
    case 0x06:   /* u32 and u16 first: most values of every list */
        if ((r = add(w, HAN_V_UINT)) != NULL) r->v.u = han_be32(p);
        break;
    case 0x12:
        if ((r = add(w, HAN_V_UINT)) != NULL) r->v.u = be16(p);
        break;
    case 0x11: case 0x15: case 0x16:
        if ((r = add(w, HAN_V_UINT)) != NULL) r->v.u = be(p, (int)size);
        break;
    case 0x0D:
        if ((*p >> 4) > 9 || (*p & 0xF) > 9) return HAN_EBCD;
        if ((r = add(w, HAN_V_UINT)) != NULL) r->v.u = (uint64_t)((*p >> 4) * 10 + (*p & 0xF));
        break;
    case 0x17: case 0x18:
        if ((r = add(w, HAN_V_REAL)) != NULL) r->v.d = real(p, size);
        break;
    default:   /* 0x19, 0x1A, 0x1B */
        add_time(w, p, tag);
    }
    return HAN_OK;
}

int han_flat_record(const uint8_t *body, size_t len, struct han_flat *f, int *errbyte)
{
    struct walk w = { .p = body, .end = body + len, .f = f };
    int e;
    f->n = f->nt = 0;
    e = value(&w, 1);
    *errbyte = w.errbyte;
    if (e == HAN_OK && w.p != w.end) return HAN_ETRAILING;
    return e;
}

/* Each record gives its tag, a list's count and a string's length as sent, and a
 * string's bytes but those of a 12-byte octet-string (a date-time). */
size_t han_flat_key(const struct han_flat *f, uint8_t *out)
{
    uint8_t *k = out;
    size_t i;
    for (i = 0; i < f->n; i++) {
        const struct han_rec *r = &f->r[i];
        const uint8_t *end = r->at + 1;
        if (r->kind == HAN_V_LIST)
            end = r->v.p;
        else if (r->kind == HAN_V_STR)
            end = r->v.p + (han_rec_in_key(r) ? r->n : 0);
        memcpy(k, r->at, (size_t)(end - r->at));
        k += end - r->at;
    }
    return (size_t)(k - out);
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
    if (n < 6) return HAN_EDATA;   /* invoke id (4 bytes) and the date-time's tag */
    out->invoke_id = han_be32(a + 1);
    out->has_time = a[5] != 0x00;   /* null-data, else a date-time */
    p = 6;
    if (a[5] == 0x09) {             /* as an octet-string, of 12 bytes */
        if (n == 6) return HAN_EDATA;
        if (a[p++] != 0x0C) return HAN_EDATETIME;
    } else if (out->has_time && a[5] != 0x0C && a[5] != 0x19) {
        return HAN_EDATETIME;
    }
    if (out->has_time) {
        if (n - p < 12) return HAN_EDATA;
        datetime(a + p, 0x19, &out->time);
        p += 12;
    }
    out->body = a + p;
    out->body_len = n - p;
    return HAN_OK;
}

int han_notification_of(const uint8_t *s, size_t n, struct han_hdlc *f,
                        struct han_notification *note, int *byte)
{
    int e;
    if (n > 0 && s[0] == HAN_FLAG) {
        if ((e = han_hdlc_parse(s, n, f)) != HAN_OK) return e;
        if (f->segmented) return HAN_ESEGMENTED;
        return han_notification(f->info, f->info_len, note, byte);
    }
    return han_notification(s, n, note, byte);
}
