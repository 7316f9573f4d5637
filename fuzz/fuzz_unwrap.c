/* libFuzzer target: one buffer through every envelope layer (HDLC series, M-Bus, LLC,
 * block transfer, ciphering) with no keys and with an encryption key but no
 * authentication key (so damaged ciphertext still reaches the A-XDR walker), then the
 * data-notification walk of what comes out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/axdr.h"
#include "../csrc/han.h"
#include "../csrc/unwrap.h"

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

static void run(const uint8_t *data, size_t size, const struct han_keys *k)
{
    struct han_unwrapped u;
    struct han_notification note;
    uint8_t *out = malloc(size ? size : 1);
    int byte;
    if (han_unwrap(data, size, k, out, &u, &byte) == HAN_OK) {
        v_string(NULL, u.apdu, u.apdu_len);
        if (han_notification(u.apdu, u.apdu_len, &note, &byte) == HAN_OK)
            han_axdr_walk(note.body, note.body_len, &visitor, NULL, &byte);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct han_keys none, key;
    memset(&none, 0, sizeof none);
    memset(&key, 0, sizeof key);
    key.has_key = key.has_title = 1;
    memcpy(key.key, "0123456789ABCDEF", 16);
    memcpy(key.title, "SYSTITLE", 8);
    run(data, size, &none);
    run(data, size, &key);
    return 0;
}
