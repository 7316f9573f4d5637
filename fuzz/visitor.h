/* A visitor for the A-XDR walker that builds nothing but touches every byte it is shown,
 * so the sanitizers check the bounds the walker reports (fuzz targets only). */
#ifndef HAN_FUZZ_VISITOR_H
#define HAN_FUZZ_VISITOR_H
#include <stddef.h>
#include <stdint.h>

#include "../csrc/axdr.h"

static void v_container(void *ud, int tag, uint32_t n) { (void)ud; (void)tag; (void)n; }
static void v_end(void *ud) { (void)ud; }
static void v_null(void *ud) { (void)ud; }
static void v_boolean(void *ud, int v) { (void)ud; (void)v; }
static void v_sint(void *ud, int64_t v) { (void)ud; (void)v; }
static void v_uint(void *ud, uint64_t v) { (void)ud; (void)v; }
static void v_real(void *ud, double v) { (void)ud; (void)v; }
static void v_string(void *ud, const uint8_t *p, size_t n)
{
    volatile uint8_t sink = 0;
    size_t i;
    (void)ud;
    for (i = 0; i < n; i++) sink ^= p[i];
}
static void v_bits(void *ud, const uint8_t *p, size_t nbits) { v_string(ud, p, (nbits + 7) / 8); }
static void v_time(void *ud, int tag, const struct han_time *t) { (void)ud; (void)tag; (void)t; }

static const struct han_visitor visitor = {
    v_container, v_end, v_null, v_boolean, v_sint, v_uint, v_real, v_string, v_bits, v_time
};

/* The data-notification in p[0..n) walked with the visitor. */
static void notification(const uint8_t *p, size_t n)
{
    struct han_notification note;
    int byte;
    if (han_notification(p, n, &note, &byte) == HAN_OK)
        han_axdr_walk(note.body, note.body_len, &visitor, NULL, &byte);
}

#endif
