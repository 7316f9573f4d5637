/* libFuzzer target: one buffer as a frame, then as a bare APDU, through the HDLC parser,
 * the data-notification header and the A-XDR walker (with a visitor that does nothing). */
#include <stddef.h>
#include <stdint.h>

#include "../csrc/axdr.h"
#include "../csrc/han.h"
#include "../csrc/hdlc.h"

static void v_container(void *ud, int tag, uint32_t n) { (void)ud; (void)tag; (void)n; }
static void v_end(void *ud) { (void)ud; }
static void v_null(void *ud) { (void)ud; }
static void v_boolean(void *ud, int v) { (void)ud; (void)v; }
static void v_sint(void *ud, int64_t v) { (void)ud; (void)v; }
static void v_uint(void *ud, uint64_t v) { (void)ud; (void)v; }
static void v_real(void *ud, double v) { (void)ud; (void)v; }
static void v_string(void *ud, const uint8_t *p, size_t n)
{
    volatile uint8_t sink = 0;   /* touch every byte so ASan checks the bounds */
    size_t i;
    (void)ud;
    for (i = 0; i < n; i++) sink ^= p[i];
}
static void v_bits(void *ud, const uint8_t *p, size_t nbits) { v_string(ud, p, (nbits + 7) / 8); }
static void v_time(void *ud, int tag, const struct han_time *t) { (void)ud; (void)tag; (void)t; }

static const struct han_visitor visitor = {
    v_container, v_end, v_null, v_boolean, v_sint, v_uint, v_real, v_string, v_bits, v_time
};

static void notification(const uint8_t *p, size_t n)
{
    struct han_notification note;
    int byte;
    if (han_notification(p, n, &note, &byte) == HAN_OK)
        han_axdr_walk(note.body, note.body_len, &visitor, NULL, &byte);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct han_hdlc f;
    if (han_hdlc_parse(data, size, &f) == HAN_OK && !f.segmented)
        notification(f.info, f.info_len);
    notification(data, size);
    return 0;
}
