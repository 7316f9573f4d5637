/* libFuzzer target: DSMR P1 telegrams through the parser, as given and cut after the
 * end line's '!' (no CRC digits, so random lines get parsed too), with a visitor that
 * touches every reported byte and checks what docs/core-api.md promises. */
#include <stdlib.h>
#include <string.h>

#include "../csrc/p1.h"

static volatile uint8_t sink;   /* every reported byte is read: ASan checks the bounds */

struct check {
    const uint8_t *s;
    size_t n;
    unsigned groups, values;
    int begun, open;
};

/* A reported text lies inside the input and is printable ASCII (lines with other bytes
 * are refused). */
static void text(const struct check *c, const char *p, size_t n)
{
    const uint8_t *u = (const uint8_t *)p;
    size_t i;
    if (n > 0 && (u < c->s || u + n > c->s + c->n)) abort();
    for (i = 0; i < n; i++) {
        if (u[i] < 0x20 || u[i] > 0x7E) abort();
        sink ^= u[i];
    }
}

static void v_begin(void *ud, const struct han_p1_info *in)
{
    struct check *c = ud;
    if (c->begun || in->ident_len < 3 || (in->has_crc && in->crc > 0xFFFF)) abort();
    text(c, in->ident, in->ident_len);
    c->begun = 1;
    c->groups = in->groups;
}

static void v_object(void *ud, const char *code, size_t n)
{
    struct check *c = ud;
    if (!c->begun || c->open || n == 0) abort();
    if (memchr(code, '(', n) || memchr(code, ')', n)) abort();
    text(c, code, n);
    c->open = 1;
}

static void v_value(void *ud, const struct han_p1_value *v)
{
    struct check *c = ud;
    if (!c->open || ++c->values > c->groups) abort();
    if (memchr(v->text, '(', v->len) || memchr(v->text, ')', v->len)) abort();
    text(c, v->text, v->len);
    switch (v->kind) {
    case HAN_P1_TIME: {
        const int *t = v->time.v;
        if (v->len < 12 || t[HAN_T_YEAR] < 2000 || t[HAN_T_YEAR] > 2099 || t[HAN_T_MONTH] > 99 ||
            t[HAN_T_DAY] > 99 || t[HAN_T_HOUR] > 99 || t[HAN_T_MIN] > 99 || t[HAN_T_SEC] > 99 ||
            t[HAN_T_WDAY] != HAN_UNSPEC || t[HAN_T_HUNDREDTHS] != HAN_UNSPEC ||
            t[HAN_T_DEVIATION] != HAN_UNSPEC ||
            (t[HAN_T_STATUS] != HAN_UNSPEC && t[HAN_T_STATUS] != 0 && t[HAN_T_STATUS] != 0x80))
            abort();
        break;
    }
    case HAN_P1_NUMBER:
        if (v->unit && (v->unit_len < 1 || v->unit_len > HAN_P1_MAX_UNIT ||
                        v->unit <= v->text || v->unit + v->unit_len != v->text + v->len))
            abort();
        if (v->is_int && v->d != v->d) abort();
        break;
    case HAN_P1_STRING:
        if (v->unit) abort();
        break;
    default:
        abort();
    }
}

static void v_end(void *ud)
{
    struct check *c = ud;
    if (!c->open) abort();
    c->open = 0;
}

static const struct han_p1_visitor visitor = { v_begin, v_object, v_value, v_end };

static void run(const uint8_t *s, size_t n)
{
    struct check c;
    unsigned line;
    int e;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.n = n;
    e = han_p1_parse(s, n, &visitor, &c, &line);
    if (e == HAN_OK && (!c.begun || c.open)) abort();
    if (e == HAN_P1_ELINE && line < 2) abort();
    if (e != HAN_P1_ELINE && line != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i;
    run(data, size);
    for (i = 1; i + 1 < size; i++)
        if (data[i] == '\n' && data[i + 1] == '!') {
            run(data, i + 2);
            break;
        }
    return 0;
}
