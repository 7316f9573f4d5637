/* The data-notification walk of the fuzz targets: the body recorded into arrays too small
 * and then large enough (the two walks must agree), its layout key made, and every byte
 * of every string it reports touched, so the sanitizers check the bounds the walker
 * gives. */
#ifndef HAN_FUZZ_WALK_H
#define HAN_FUZZ_WALK_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../csrc/axdr.h"
#include "../csrc/han.h"

static void touch(const uint8_t *p, size_t n)
{
    volatile uint8_t sink = 0;
    size_t i;
    for (i = 0; i < n; i++) sink ^= p[i];
}

/* The layout key of a body whose records f holds: no longer than the body. */
static void key(const struct han_flat *f, const struct han_notification *note)
{
    uint8_t *out = malloc(note->body_len);
    size_t len;
    if (!out) return;
    len = han_flat_key(f, out);
    if (len > note->body_len) abort();
    touch(out, len);
    free(out);
}

/* The data-notification in p[0..n) walked. */
static void notification(const uint8_t *p, size_t n)
{
    struct han_notification note;
    struct han_rec small[4];
    struct han_time times[1];
    struct han_flat f;
    size_t need, need_t, i;
    int byte;
    if (han_notification(p, n, &note, &byte) != HAN_OK) return;
    f.r = small;
    f.cap = 4;
    f.t = times;
    f.tcap = 1;
    if (han_flat_record(note.body, note.body_len, &f, &byte) != HAN_OK) return;
    if (f.n <= f.cap && f.nt <= f.tcap) {
        key(&f, &note);
        return;
    }
    need = f.n;
    need_t = f.nt;
    f.r = malloc(need * sizeof *f.r);
    f.t = malloc((need_t ? need_t : 1) * sizeof *f.t);
    f.cap = need;
    f.tcap = need_t;
    if (f.r && f.t) {
        if (han_flat_record(note.body, note.body_len, &f, &byte) != HAN_OK
            || f.n != need || f.nt != need_t || f.r[0].next != f.n)
            abort();   /* the second walk must agree with the first */
        for (i = 0; i < f.n; i++) {
            if (f.r[i].kind == HAN_V_STR) touch(f.r[i].v.p, f.r[i].n);
            if (f.r[i].kind == HAN_V_BITS) touch(f.r[i].v.p, (f.r[i].n + 7) / 8);
        }
        key(&f, &note);
    }
    free(f.r);
    free(f.t);
}

#endif
