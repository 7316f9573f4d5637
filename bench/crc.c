/* CRC-16/X-25 throughput of han's slicing-by-16 against the classic 256-entry byte
 * table, on frame-sized buffers and on 1 MiB, measured in the same run; then AES-128-GCM
 * decryption (tag check plus CTR) the way han does it. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../csrc/aes.h"
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

/* MB/s of GCM decryption of buf[0..n) in frames of `frame` bytes, each with its own
 * han_gcm_init as han decodes frames, repeated for about 0.4 s */
static double gcm_rate(uint8_t *buf, size_t n, size_t frame, volatile uint8_t *sink)
{
    /* DLMS authenticates security control || authentication key: 17 bytes of AAD */
    static const uint8_t key[16] = {0xd4, 0x91, 0x47, 0x0f}, iv[12] = {0x53, 0x41, 0x47},
        aad[17] = {0x30, 0x00, 0x11, 0x22, 0x33};
    struct han_gcm g;
    uint8_t tag[16];
    size_t reps = 1, i, off;
    for (;;) {
        double t0 = now(), dt;
        for (i = 0; i < reps; i++)
            for (off = 0; off + frame <= n; off += frame) {
                han_gcm_init(&g, key);
                han_gcm_tag(&g, iv, aad, sizeof aad, buf + off, frame, tag);
                han_gcm_ctr(&g, iv, buf + off, frame, buf + off);
                *sink ^= tag[0];
            }
        dt = now() - t0;
        if (dt > 0.4) return (double)(n - n % frame) * (double)reps / dt / 1e6;
        reps *= 2;
    }
}

/* The GCM specification's test case 2: E(0^128) under the zero key and IV. */
static int gcm_ok(void)
{
    static const uint8_t zero[16], ct[16] = {0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92,
        0xf3, 0x28, 0xc2, 0xb9, 0x71, 0xb2, 0xfe, 0x78}, tag[16] = {0xab, 0x6e, 0x47, 0xd4,
        0x2c, 0xec, 0x13, 0xbd, 0xf5, 0x3a, 0x67, 0xb2, 0x12, 0x57, 0xbd, 0xdf};
    struct han_gcm g;
    uint8_t out[16], t[16];
    han_gcm_init(&g, zero);
    han_gcm_ctr(&g, zero, zero, 16, out);
    han_gcm_tag(&g, zero, NULL, 0, out, 16, t);
    return han_ct_equal(out, ct, 16) && han_ct_equal(t, tag, 16);
}

int main(void)
{
    static uint8_t buf[1 << 20];
    volatile uint16_t sink = 0;
    volatile uint8_t gsink = 0;
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
    if (!gcm_ok()) return 1;
    {
        double f = gcm_rate(buf, sizeof buf, 300, &gsink), m = gcm_rate(buf, sizeof buf,
            sizeof buf, &gsink);
        printf("| %-44s | %-12s | %12.0f %-8s | %.0f frames/s, han_gcm_init per frame |\n",
               "AES-128-GCM decrypt: tag + CTR (C)", "300-byte frames", f, "MB/s", f * 1e6 / 300);
        printf("| %-44s | %-12s | %12.0f %-8s | one key setup |\n",
               "AES-128-GCM decrypt: tag + CTR (C)", "1 MiB", m, "MB/s");
    }
    return 0;
}
