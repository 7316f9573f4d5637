/* CRC-16/X-25 throughput of han's slicing-by-16 against the classic 256-entry byte
 * table, on frame-sized buffers and on 1 MiB, measured in the same run. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../csrc/crc16.h"

static uint16_t table[256];

static uint16_t crc_bytewise(const uint8_t *p, size_t n)
{
    uint16_t c = 0xFFFF;
    while (n--) c = (uint16_t)((c >> 8) ^ table[(c ^ *p++) & 0xFF]);
    return (uint16_t)(c ^ 0xFFFF);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* MB/s of crc over buf[0..n), repeated for about 0.4 s */
static double rate(uint16_t (*crc)(const uint8_t *, size_t), const uint8_t *buf, size_t n,
                   volatile uint16_t *sink)
{
    size_t reps = 1, i;
    for (;;) {
        double t0 = now(), dt;
        for (i = 0; i < reps; i++) *sink ^= crc(buf, n);
        dt = now() - t0;
        if (dt > 0.4) return (double)n * (double)reps / dt / 1e6;
        reps *= 2;
    }
}

int main(void)
{
    static uint8_t buf[1 << 20];
    volatile uint16_t sink = 0;
    size_t sizes[2] = {224, sizeof buf}, i;
    const char *names[2] = {"224-byte frames", "1 MiB"};
    for (i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)i;
        int k;
        for (k = 0; k < 8; k++) c = (uint16_t)(c & 1 ? (c >> 1) ^ 0x8408 : c >> 1);
        table[i] = c;
    }
    for (i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rand();
    if (han_crc16(buf, sizeof buf) != crc_bytewise(buf, sizeof buf)) return 1;
    for (i = 0; i < 2; i++) {
        double fast = rate(han_crc16, buf, sizes[i], &sink);
        double slow = rate(crc_bytewise, buf, sizes[i], &sink);
        printf("| %-44s | %-12s | %12.0f %-8s | %.1fx the byte table (%.0f MB/s) |\n",
               "CRC-16/X-25 slicing-by-16 (C)", names[i], fast, "MB/s", fast / slow, slow);
    }
    return 0;
}
