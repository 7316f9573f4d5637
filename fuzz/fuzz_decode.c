/* libFuzzer target: one buffer as a frame, then as a bare APDU, through the HDLC parser,
 * the data-notification header and the A-XDR walker (fuzz/walk.h), and through
 * han_records (csrc/records.h) with room for all records and for only a few. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../csrc/han.h"
#include "../csrc/hdlc.h"
#include "../csrc/records.h"
#include "walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* han_records into arrays of cap + 1: every position it gives must lie in the input. */
static void records(const uint8_t *data, size_t size, int32_t cap)
{
    uint8_t kind[257];
    double v[257];
    int32_t w[257];
    struct han_records_info info;
    int n = han_records(data, size, kind, v, w, cap, &info), i;
    if (n > cap || (n > 0 && info.at != 0 && (info.at < 0 || (size_t)info.at + 11 > size)))
        abort();
    for (i = 1; i <= n; i++) {
        if (kind[i] == HAN_V_STR || kind[i] == HAN_V_TIME || kind[i] == HAN_V_BITS) {
            size_t len = kind[i] == HAN_V_STR ? (size_t)w[i]
                       : kind[i] == HAN_V_BITS ? ((size_t)w[i] + 7) / 8
                       : w[i] == 0x19 ? 12 : w[i] == 0x1A ? 5 : 4;
            if (v[i] < 1 || (size_t)v[i] - 1 + len > size) abort();
            touch(data + (size_t)v[i] - 1, len);
        }
        if (kind[i] == HAN_V_LIST && (w[i] <= i || w[i] > n + 1)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct han_hdlc f;
    if (han_hdlc_parse(data, size, &f) == HAN_OK && !f.segmented)
        notification(f.info, f.info_len);
    notification(data, size);
    records(data, size, 256);
    records(data, size, 3);
    return 0;
}
