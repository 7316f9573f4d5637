/* Envelope layers, outermost first; docs/core-api.md (core.unwrap) gives the checks in
 * the order both backends make them. Every layer writes its payload to the front of
 * `out` (memmove: a payload never starts before the front of what it is read from). */
#include "unwrap.h"
#include "aes.h"
#include "axdr.h"
#include "hdlc.h"
#include "han.h"

#include <string.h>

/* HDLC frames back to back (one flag may close one and open the next): their
 * information fields joined. The last frame must not announce more segments. */
static int hdlc_series(const uint8_t *in, size_t n, uint8_t *out, size_t *w)
{
    size_t p = 0;
    *w = 0;
    for (;;) {
        struct han_hdlc f;
        size_t size = 0;
        int e;
        if (n - p >= 3) size = ((((size_t)in[p + 1] << 8) | in[p + 2]) & 0x7FF) + 2;
        e = han_hdlc_parse(in + p, size && size <= n - p ? size : n - p, &f);
        if (e != HAN_OK) return e;
        memcpy(out + *w, f.info, f.info_len);
        *w += f.info_len;
        p += size - 1;                                  /* at the closing flag */
        if (p + 1 < n && in[p + 1] == HAN_FLAG) p++;    /* the next frame's own flag */
        if (p + 1 >= n) return f.segmented ? HAN_ESEGMENTS : HAN_OK;
    }
}

/* Bytes of transport header after C and A for an M-Bus CI field; 0 = unsupported.
 * CI 00-1F: DLMS segment (sequence in the low nibble, 10 = last) then STSAP, DTSAP;
 * 78: no header, 7A: short header, 72: long header. */
static size_t mbus_header(int ci)
{
    return ci <= 0x1F ? 3 : ci == 0x78 ? 1 : ci == 0x7A ? 5 : ci == 0x72 ? 13 : 0;
}

/* M-Bus long frames 68 L L 68 C A CI ... CS 16 in a row: the user data joined. */
static int mbus_series(const uint8_t *in, size_t n, uint8_t *out, size_t *w, int *errbyte)
{
    size_t p = 0, seq = 0;
    *w = 0;
    for (;;) {
        size_t len, hdr, i;
        unsigned sum = 0;
        int ci;
        if (n - p < 4) return HAN_ETRUNC;
        len = in[p + 1];
        if (in[p] != 0x68 || in[p + 2] != len || in[p + 3] != 0x68 || len < 3)
            return HAN_EMBUS;
        if (n - p < len + 6) return HAN_ETRUNC;
        for (i = 0; i < len; i++) sum += in[p + 4 + i];
        if ((sum & 0xFF) != in[p + 4 + len]) return HAN_EMBUSCS;
        if (in[p + 5 + len] != 0x16) return HAN_EMBUS;
        ci = in[p + 6];
        hdr = 2 + mbus_header(ci);
        if (hdr == 2) { *errbyte = ci; return HAN_ECI; }
        if (hdr > len || (ci <= 0x1F && (size_t)(ci & 0x0F) != (seq & 0x0F)))
            return HAN_EMBUS;
        memcpy(out + *w, in + p + 4 + hdr, len - hdr);
        *w += len - hdr;
        p += len + 6;
        seq++;
        if (ci > 0x1F || (ci & 0x10)) return p == n ? HAN_OK : HAN_ETRAILING;
        if (p == n) return HAN_ESEGMENTS;
    }
}

/* General block transfer: E0, block control (bit 7: last block), block number (u16),
 * acknowledged block (u16), BER length, data; consecutive numbers; the data joined. */
static int blocks(const uint8_t *a, size_t n, uint8_t *out, size_t *w)
{
    size_t p = 0, used;
    uint32_t len;
    unsigned number = 0;
    int e;
    *w = 0;
    for (;;) {
        unsigned bn;
        int last;
        if (p == n) return HAN_EBLOCKS;
        if (a[p] != 0xE0) return HAN_EBLOCK;
        if (n - p < 6) return HAN_EDATA;
        last = (a[p + 1] & 0x80) != 0;       /* read before the data moves over it */
        bn = (unsigned)a[p + 2] << 8 | a[p + 3];
        if (p > 0 && bn != number + 1) return HAN_EBLOCK;
        if ((e = han_ber(a + p + 6, n - p - 6, &len, &used)) != HAN_OK) return e;
        if (len > n - p - 6 - used) return HAN_EDATA;
        memmove(out + *w, a + p + 6 + used, len);
        *w += len;
        p += 6 + used + len;
        number = bn;
        if (last) return p == n ? HAN_OK : HAN_ETRAILING;
    }
}

/* general-glo DB, general-ded DC; glo-initiate request 21 and response 28; glo get, set,
 * event, action C8 to CB; glo responses CC, CD, CF */
static int ciphered_tag(int tag)
{
    return tag == 0xDB || tag == 0xDC || tag == 0x21 || tag == 0x28
        || (tag >= 0xC8 && tag <= 0xCD) || tag == 0xCF;
}

/* Security control: suite in the low nibble (0 and 1: AES-GCM-128), 10 authenticated,
 * 20 encrypted, 40 key set, 80 compressed. IV = system title || frame counter; the
 * 12-byte tag covers AAD = SC || AK (|| the text itself when it is not encrypted). */
static int decipher(const uint8_t *a, size_t n, const struct han_keys *k, uint8_t *out,
                    size_t *w, struct han_unwrapped *u, int *errbyte)
{
    size_t p = 1, used, len;
    uint32_t ber_len;
    unsigned sc;
    const uint8_t *body;
    uint8_t iv[12], sent[12], tag[16];
    struct han_gcm g;
    int e;
    if (a[0] == 0xDB || a[0] == 0xDC) {
        if (n < 2) return HAN_EDATA;
        if (a[1] != 8) return HAN_ETITLE;
        if (n < 10) return HAN_EDATA;
        memcpy(u->title, a + 2, 8);
        p = 10;
    } else if (k->has_title) {
        memcpy(u->title, k->title, 8);
    } else {
        *errbyte = a[0];
        return HAN_ENOTITLE;
    }
    if ((e = han_ber(a + p, n - p, &ber_len, &used)) != HAN_OK) return e;
    p += used;
    if (ber_len > n - p || ber_len < 5) return HAN_EDATA;
    if (ber_len < n - p) return HAN_ETRAILING;
    sc = a[p];
    u->ciphered = 1;
    u->security = sc;
    u->counter = han_be32(a + p + 1);
    if ((sc & 0x0F) > 1 || (sc & 0x80)) { *errbyte = (int)sc; return HAN_ESECURITY; }
    body = a + p + 5;
    len = ber_len - 5;
    if (sc & 0x10) {
        if (len < 12) return HAN_EDATA;
        len -= 12;
        memcpy(sent, body + len, 12);
    }
    if ((sc & 0x20) && !k->has_key) return HAN_ENOKEY;
    memcpy(iv, u->title, 8);
    memcpy(iv + 8, a + p + 1, 4);
    if (k->has_key) han_gcm_init(&g, k->key);
    if ((sc & 0x10) && k->has_key && k->has_auth) {   /* out = SC || AK || text */
        memmove(out + 17, body, len);
        out[0] = (uint8_t)sc;
        memcpy(out + 1, k->auth, 16);
        if (sc & 0x20) han_gcm_tag(&g, iv, out, 17, out + 17, len, tag);
        else han_gcm_tag(&g, iv, out, 17 + len, out, 0, tag);
        if (!han_ct_equal(tag, sent, 12)) return HAN_EAUTH;
        u->authenticated = 1;
        body = out + 17;
    }
    memmove(out, body, len);
    if (sc & 0x20) han_gcm_ctr(&g, iv, out, len, out);
    *w = len;
    return HAN_OK;
}

int han_unwrap(const uint8_t *in, size_t n, const struct han_keys *k, uint8_t *out,
               struct han_unwrapped *u, int *errbyte)
{
    const uint8_t *a = in;
    size_t m = n, w = 0;
    int e, layers;
    memset(u, 0, sizeof *u);
    *errbyte = 0;
    if (n > 0 && (in[0] == HAN_FLAG || in[0] == 0x68)) {
        e = in[0] == HAN_FLAG ? hdlc_series(in, n, out, &m)
                              : mbus_series(in, n, out, &m, errbyte);
        if (e != HAN_OK) return e;
        a = out;
    }
    for (layers = 0;; layers++) {
        if (m > 0 && a[0] == 0xE6) {
            if (m < 3 || (a[1] != 0xE6 && a[1] != 0xE7) || a[2] != 0x00) return HAN_ELLC;
            a += 3;
            m -= 3;
        }
        if (m == 0) return HAN_EDATA;
        if (a[0] != 0xE0 && !ciphered_tag(a[0])) break;
        if (layers == HAN_MAX_ENVELOPES) return HAN_ENESTED;
        e = a[0] == 0xE0 ? blocks(a, m, out, &w) : decipher(a, m, k, out, &w, u, errbyte);
        if (e != HAN_OK) return e;
        a = out;
        m = w;
    }
    u->apdu = a;
    u->apdu_len = m;
    return HAN_OK;
}
