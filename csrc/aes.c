/* AES-128 encryption and GCM (CTR mode plus GHASH) for han's encrypted DLMS frames.
 * Byte loads and stores only, so it needs no alignment and makes no assumption about
 * endianness; nothing is allocated. The T-tables are computed by the compiler from the
 * S-box, so there is no run-time table setup and nothing to initialise per process. */
#include "aes.h"
#include "han.h"

#include <string.h>

/* The AES S-box (FIPS-197 figure 7), row by row. */
#define SBOX(X) \
  X(63) X(7c) X(77) X(7b) X(f2) X(6b) X(6f) X(c5) X(30) X(01) X(67) X(2b) X(fe) X(d7) X(ab) X(76) \
  X(ca) X(82) X(c9) X(7d) X(fa) X(59) X(47) X(f0) X(ad) X(d4) X(a2) X(af) X(9c) X(a4) X(72) X(c0) \
  X(b7) X(fd) X(93) X(26) X(36) X(3f) X(f7) X(cc) X(34) X(a5) X(e5) X(f1) X(71) X(d8) X(31) X(15) \
  X(04) X(c7) X(23) X(c3) X(18) X(96) X(05) X(9a) X(07) X(12) X(80) X(e2) X(eb) X(27) X(b2) X(75) \
  X(09) X(83) X(2c) X(1a) X(1b) X(6e) X(5a) X(a0) X(52) X(3b) X(d6) X(b3) X(29) X(e3) X(2f) X(84) \
  X(53) X(d1) X(00) X(ed) X(20) X(fc) X(b1) X(5b) X(6a) X(cb) X(be) X(39) X(4a) X(4c) X(58) X(cf) \
  X(d0) X(ef) X(aa) X(fb) X(43) X(4d) X(33) X(85) X(45) X(f9) X(02) X(7f) X(50) X(3c) X(9f) X(a8) \
  X(51) X(a3) X(40) X(8f) X(92) X(9d) X(38) X(f5) X(bc) X(b6) X(da) X(21) X(10) X(ff) X(f3) X(d2) \
  X(cd) X(0c) X(13) X(ec) X(5f) X(97) X(44) X(17) X(c4) X(a7) X(7e) X(3d) X(64) X(5d) X(19) X(73) \
  X(60) X(81) X(4f) X(dc) X(22) X(2a) X(90) X(88) X(46) X(ee) X(b8) X(14) X(de) X(5e) X(0b) X(db) \
  X(e0) X(32) X(3a) X(0a) X(49) X(06) X(24) X(5c) X(c2) X(d3) X(ac) X(62) X(91) X(95) X(e4) X(79) \
  X(e7) X(c8) X(37) X(6d) X(8d) X(d5) X(4e) X(a9) X(6c) X(56) X(f4) X(ea) X(65) X(7a) X(ae) X(08) \
  X(ba) X(78) X(25) X(2e) X(1c) X(a6) X(b4) X(c6) X(e8) X(dd) X(74) X(1f) X(4b) X(bd) X(8b) X(8a) \
  X(70) X(3e) X(b5) X(66) X(48) X(03) X(f6) X(0e) X(61) X(35) X(57) X(b9) X(86) X(c1) X(1d) X(9e) \
  X(e1) X(f8) X(98) X(11) X(69) X(d9) X(8e) X(94) X(9b) X(1e) X(87) X(e9) X(ce) X(55) X(28) X(df) \
  X(8c) X(a1) X(89) X(0d) X(bf) X(e6) X(42) X(68) X(41) X(99) X(2d) X(0f) X(b0) X(54) X(bb) X(16)

/* Multiplication by x in AES's field GF(2^8) with the polynomial 0x11B. */
#define XT(s) ((((s) << 1) ^ (((s) >> 7) * 0x11b)) & 0xff)
/* One column of MixColumns applied to S-box output s: the bytes 2s, s, s, 3s (from the
 * most significant), and the same word rotated for each row. */
#define W(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define TE0(s) W(XT(s), s, s, XT(s) ^ (s)),
#define TE1(s) W(XT(s) ^ (s), XT(s), s, s),
#define TE2(s) W(s, XT(s) ^ (s), XT(s), s),
#define TE3(s) W(s, s, XT(s) ^ (s), XT(s)),
#define E0(v) TE0(0x##v)
#define E1(v) TE1(0x##v)
#define E2(v) TE2(0x##v)
#define E3(v) TE3(0x##v)
#define BYTE(v) 0x##v,

static const uint8_t sbox[256] = {SBOX(BYTE)};
static const uint32_t te0[256] = {SBOX(E0)};
static const uint32_t te1[256] = {SBOX(E1)};
static const uint32_t te2[256] = {SBOX(E2)};
static const uint32_t te3[256] = {SBOX(E3)};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)han_be32(p) << 32 | han_be32(p + 4);
}

/* The state as four big-endian column words, encrypted in place. */
static void encrypt(const uint32_t *rk, uint32_t s[4])
{
    uint32_t s0 = s[0] ^ rk[0], s1 = s[1] ^ rk[1], s2 = s[2] ^ rk[2], s3 = s[3] ^ rk[3];
    uint32_t t0, t1, t2, t3;
    int r;
    for (r = 1; r < 10; r++) {
        rk += 4;
        t0 = te0[s0 >> 24] ^ te1[s1 >> 16 & 0xff] ^ te2[s2 >> 8 & 0xff] ^ te3[s3 & 0xff] ^ rk[0];
        t1 = te0[s1 >> 24] ^ te1[s2 >> 16 & 0xff] ^ te2[s3 >> 8 & 0xff] ^ te3[s0 & 0xff] ^ rk[1];
        t2 = te0[s2 >> 24] ^ te1[s3 >> 16 & 0xff] ^ te2[s0 >> 8 & 0xff] ^ te3[s1 & 0xff] ^ rk[2];
        t3 = te0[s3 >> 24] ^ te1[s0 >> 16 & 0xff] ^ te2[s1 >> 8 & 0xff] ^ te3[s2 & 0xff] ^ rk[3];
        s0 = t0; s1 = t1; s2 = t2; s3 = t3;
    }
    /* the last round has no MixColumns: S-box bytes only */
    rk += 4;
    s[0] = W(sbox[s0 >> 24], sbox[s1 >> 16 & 0xff], sbox[s2 >> 8 & 0xff], sbox[s3 & 0xff]) ^ rk[0];
    s[1] = W(sbox[s1 >> 24], sbox[s2 >> 16 & 0xff], sbox[s3 >> 8 & 0xff], sbox[s0 & 0xff]) ^ rk[1];
    s[2] = W(sbox[s2 >> 24], sbox[s3 >> 16 & 0xff], sbox[s0 >> 8 & 0xff], sbox[s1 & 0xff]) ^ rk[2];
    s[3] = W(sbox[s3 >> 24], sbox[s0 >> 16 & 0xff], sbox[s1 >> 8 & 0xff], sbox[s2 & 0xff]) ^ rk[3];
}

/* GHASH works in GF(2^128) with GCM's reflected bit order: the first bit of the block
 * is the coefficient of x^0, and multiplying by x is a right shift of the 128-bit
 * big-endian number, folding the bit that falls off back in as 0xE1 in the top byte. */
static void mul_x(uint64_t *hi, uint64_t *lo)
{
    uint64_t carry = *lo & 1;
    *lo = *lo >> 1 | *hi << 63;
    *hi = *hi >> 1 ^ ((0 - carry) & UINT64_C(0xe100000000000000));
}

void han_gcm_init(struct han_gcm *g, const uint8_t key[16])
{
    static const uint8_t rcon[10] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36};
    uint32_t *rk = g->rk, s[4] = {0, 0, 0, 0};
    uint64_t hi, lo;
    int i, j, k;
    for (i = 0; i < 4; i++) rk[i] = han_be32(key + 4 * i);
    for (i = 4; i < 44; i++) {
        uint32_t t = rk[i - 1];
        if (i % 4 == 0)   /* RotWord, SubWord, Rcon */
            t = W(sbox[t >> 16 & 0xff], sbox[t >> 8 & 0xff], sbox[t & 0xff], sbox[t >> 24])
                ^ (uint32_t)rcon[i / 4 - 1] << 24;
        rk[i] = rk[i - 4] ^ t;
    }
    /* Shoup's tables: entry n of hh[0]/hl[0] is n * H, where the nibble's top bit stands
     * for x^0, so H, H*x, H*x^2, H*x^3 go to 8, 4, 2, 1 and the rest are their sums;
     * hh[1]/hl[1] are the same for H*x^4, so that one step of the multiplication takes a
     * byte. */
    encrypt(rk, s);   /* H = E(K, 0^128) */
    hi = (uint64_t)s[0] << 32 | s[1];
    lo = (uint64_t)s[2] << 32 | s[3];
    for (k = 0; k < 2; k++) {
        g->hh[k][0] = g->hl[k][0] = 0;
        for (i = 8; i > 0; i >>= 1) {
            g->hh[k][i] = hi;
            g->hl[k][i] = lo;
            mul_x(&hi, &lo);
        }
        for (i = 2; i < 16; i <<= 1)
            for (j = 1; j < i; j++) {
                g->hh[k][i + j] = g->hh[k][i] ^ g->hh[k][j];
                g->hl[k][i + j] = g->hl[k][i] ^ g->hl[k][j];
            }
    }
}

/* X = X * H by Horner's rule over the 16 bytes from the last (highest powers) to the
 * first: Z = Z * x^8 + H[high nibble] + H4[low nibble]. Multiplying by x^8 drops the
 * low byte r of Z, whose bit j stands for x^(127-j); it comes back as
 * x^(135-j) = x^128 * x^(7-j), x^128 being 0xE1 in the top byte, so the top 16 bits
 * take the carry-less product r * 0xE1 shifted left once: r<<8 ^ r<<7 ^ r<<6 ^ r<<1.
 * Arithmetic rather than a table keeps the reduction free of key-dependent loads. */
static void mul_h(const struct han_gcm *g, uint64_t *xh, uint64_t *xl)
{
    uint64_t zh = 0, zl = 0, x = *xl;
    int i;
    for (i = 0; i < 16; i++) {
        unsigned b, r;
        if (i == 8) x = *xh;
        b = (unsigned)(x & 0xff);
        x >>= 8;
        r = (unsigned)(zl & 0xff);
        zl = (zl >> 8 | zh << 56) ^ g->hl[0][b >> 4] ^ g->hl[1][b & 15];
        zh = (zh >> 8 ^ (uint64_t)(r << 8 ^ r << 7 ^ r << 6 ^ r << 1) << 48)
             ^ g->hh[0][b >> 4] ^ g->hh[1][b & 15];
    }
    *xh = zh;
    *xl = zl;
}

/* Absorbs p[0..n) into the GHASH state, the last partial block padded with zeros. */
static void ghash(const struct han_gcm *g, uint64_t *xh, uint64_t *xl, const uint8_t *p,
                  size_t n)
{
    uint8_t last[16];
    for (; n > 0; p += 16, n -= n < 16 ? n : 16) {
        const uint8_t *b = p;
        if (n < 16) {
            memset(last, 0, sizeof last);
            b = memcpy(last, p, n);
        }
        *xh ^= get64(b);
        *xl ^= get64(b + 8);
        mul_h(g, xh, xl);
    }
}

void han_gcm_ctr(const struct han_gcm *g, const uint8_t iv[12], const uint8_t *in,
                 size_t n, uint8_t *out)
{
    uint32_t c0 = han_be32(iv), c1 = han_be32(iv + 4), c2 = han_be32(iv + 8), ctr = 2;
    uint32_t s[4];
    uint8_t ks[16];
    size_t i;
    for (; n >= 16; in += 16, out += 16, n -= 16) {
        s[0] = c0; s[1] = c1; s[2] = c2; s[3] = ctr++;   /* wraps modulo 2^32 */
        encrypt(g->rk, s);
        for (i = 0; i < 4; i++) put32(out + 4 * i, han_be32(in + 4 * i) ^ s[i]);
    }
    if (n > 0) {
        s[0] = c0; s[1] = c1; s[2] = c2; s[3] = ctr;
        encrypt(g->rk, s);
        for (i = 0; i < 4; i++) put32(ks + 4 * i, s[i]);
        for (i = 0; i < n; i++) out[i] = (uint8_t)(in[i] ^ ks[i]);
    }
}

void han_gcm_tag(const struct han_gcm *g, const uint8_t iv[12], const uint8_t *aad,
                 size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t tag[16])
{
    uint64_t xh = 0, xl = 0;
    uint32_t s[4] = {han_be32(iv), han_be32(iv + 4), han_be32(iv + 8), 1};   /* J0 */
    ghash(g, &xh, &xl, aad, aad_len);
    ghash(g, &xh, &xl, ct, ct_len);
    /* the lengths in bits, 64 bits each */
    xh ^= (uint64_t)aad_len << 3;
    xl ^= (uint64_t)ct_len << 3;
    mul_h(g, &xh, &xl);
    encrypt(g->rk, s);   /* the tag is the hash xor E(K, J0) */
    put32(tag, (uint32_t)(xh >> 32) ^ s[0]);
    put32(tag + 4, (uint32_t)xh ^ s[1]);
    put32(tag + 8, (uint32_t)(xl >> 32) ^ s[2]);
    put32(tag + 12, (uint32_t)xl ^ s[3]);
}

int han_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    unsigned d = 0;
    size_t i;
    for (i = 0; i < n; i++) d |= (unsigned)(a[i] ^ b[i]);
    return (int)(1 & ((d - 1) >> 8));   /* 1 when d == 0, without a branch */
}
