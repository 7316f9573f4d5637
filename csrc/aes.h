/* AES-128 and GCM with the 96-bit IVs DLMS uses (IV = system title 8 bytes followed by
 * the frame counter 4 bytes). Only the encryption direction of the block cipher: GCM
 * and CTR need no other. No Lua here. */
#ifndef HAN_AES_H
#define HAN_AES_H
#include <stddef.h>
#include <stdint.h>

/* Per key: the expanded round keys and GHASH's precomputed multiples of H. */
struct han_gcm {
    uint32_t rk[44];
    /* 4-bit tables (Shoup) of H ([0]) and of H * x^4 ([1]), high and low 64-bit halves */
    uint64_t hh[2][16], hl[2][16];
};

void han_gcm_init(struct han_gcm *g, const uint8_t key[16]);

/* GCM's counter mode: out = in xor the key stream that starts at the counter block
 * iv || 00000002 (the block after J0). Decrypts and encrypts; out may equal in. */
void han_gcm_ctr(const struct han_gcm *g, const uint8_t iv[12], const uint8_t *in,
                 size_t n, uint8_t *out);

/* The 16-byte GCM tag of `aad` and the ciphertext `ct` (compare a prefix of it for
 * shorter tags: DLMS sends 12 bytes). */
void han_gcm_tag(const struct han_gcm *g, const uint8_t iv[12], const uint8_t *aad,
                 size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t tag[16]);

/* 1 when a[0..n) equals b[0..n), in a time that does not depend on the bytes. */
int han_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
