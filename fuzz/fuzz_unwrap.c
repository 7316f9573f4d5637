/* libFuzzer target: one buffer through every envelope layer (HDLC series, M-Bus, LLC,
 * block transfer, ciphering) with no keys and with an encryption key but no
 * authentication key (so damaged ciphertext still reaches the A-XDR walker), then the
 * data-notification walk of what comes out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/han.h"
#include "../csrc/unwrap.h"
#include "walk.h"

static void run(const uint8_t *data, size_t size, const struct han_keys *k)
{
    struct han_unwrapped u;
    uint8_t *out = malloc(size ? size : 1);
    int byte;
    if (han_unwrap(data, size, k, out, &u, &byte) == HAN_OK) {
        touch(u.apdu, u.apdu_len);
        notification(u.apdu, u.apdu_len);
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
