/* The A-XDR walker's values into one flat array (flat.h). */
#include "flat.h"

static struct han_rec *add(struct han_flat *f, int kind)
{
    struct han_rec *r = f->n < f->cap ? &f->r[f->n] : NULL;
    f->n++;
    if (r) { r->kind = (uint8_t)kind; r->next = f->n; }
    return r;
}

static void r_container(void *ud, int tag, uint32_t count)
{
    struct han_flat *f = ud;
    struct han_rec *r = add(f, HAN_V_LIST);
    if (r) { r->tag = (uint8_t)tag; r->n = count; }
    f->open[++f->depth] = f->n - 1;
}

static void r_end(void *ud)
{
    struct han_flat *f = ud;
    size_t i = f->open[f->depth--];
    if (i < f->cap) f->r[i].next = f->n;
}

static void r_null(void *ud) { add(ud, HAN_V_NULL); }

static void r_boolean(void *ud, int v)
{
    struct han_rec *r = add(ud, HAN_V_BOOL);
    if (r) r->v.b = v;
}

static void r_sint(void *ud, int64_t v)
{
    struct han_rec *r = add(ud, HAN_V_SINT);
    if (r) r->v.i = v;
}

static void r_uint(void *ud, uint64_t v)
{
    struct han_rec *r = add(ud, HAN_V_UINT);
    if (r) r->v.u = v;
}

static void r_real(void *ud, double v)
{
    struct han_rec *r = add(ud, HAN_V_REAL);
    if (r) r->v.d = v;
}

static void r_string(void *ud, const uint8_t *p, size_t n)
{
    struct han_rec *r = add(ud, HAN_V_STR);
    if (r) { r->v.p = p; r->n = n; }
}

static void r_bits(void *ud, const uint8_t *p, size_t nbits)
{
    struct han_rec *r = add(ud, HAN_V_BITS);
    if (r) { r->v.p = p; r->n = nbits; }
}

static void r_time(void *ud, int tag, const struct han_time *t)
{
    struct han_flat *f = ud;
    struct han_rec *r = add(f, HAN_V_TIME);
    size_t i = f->nt++;
    if (i < f->tcap) f->t[i] = *t;
    if (r) { r->tag = (uint8_t)tag; r->n = i; }
}

static const struct han_visitor recorder = {
    r_container, r_end, r_null, r_boolean, r_sint, r_uint, r_real, r_string, r_bits,
    r_time
};

int han_flat_record(const uint8_t *body, size_t len, struct han_flat *f, int *errbyte)
{
    f->n = f->nt = 0;
    f->depth = 0;
    return han_axdr_walk(body, len, &recorder, f, errbyte);
}
