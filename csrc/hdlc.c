/* HDLC frame checks, in the order docs/core-api.md gives (both backends agree on
 * which error a damaged frame gets). */
#include "hdlc.h"
#include "crc16.h"
#include "han.h"

/* One address field at s[*p]: 1..4 bytes, the last with LSB 1, all before `limit`
 * (the first FCS byte). Returns HAN_OK, HAN_EADDR, or HAN_ETRUNC when the bytes seen
 * so far (n) end before the field does. */
static int address(const uint8_t *s, size_t n, size_t limit, size_t *p, uint32_t *v)
{
    uint32_t a = 0;
    int k;
    for (k = 0; k < 4; k++) {
        if (*p >= limit) return HAN_EADDR;
        if (*p >= n) return HAN_ETRUNC;
        a = (a << 8) | s[*p];
        if (s[(*p)++] & 1) { *v = a; return HAN_OK; }
    }
    return HAN_EADDR;
}

static unsigned le16(const uint8_t *p) { return (unsigned)p[0] | ((unsigned)p[1] << 8); }

/* Header walk shared by the one-shot parser and the streaming check: addresses and
 * control within `len`, HCS when present and in. 0-based: s[0] is the opening flag,
 * the FCS sits at s[len - 1], s[len]. */
static int head(const uint8_t *s, size_t n, unsigned len, struct han_hdlc *f)
{
    size_t p = 3, limit = len - 1;
    int e;
    if ((e = address(s, n, limit, &p, &f->dest)) != HAN_OK) return e;
    if ((e = address(s, n, limit, &p, &f->src)) != HAN_OK) return e;
    if (p >= limit) return HAN_EADDR;
    if (p >= n) return HAN_ETRUNC;
    f->control = s[p++];
    f->header = p - 1;
    if (p == limit) return HAN_OK;               /* no information field, no HCS */
    if (p + 2 > limit) return HAN_ELENGTH;
    if (p + 2 > n) return HAN_ETRUNC;
    if (le16(s + p) != han_crc16(s + 1, p - 1)) return HAN_EHCS;
    return HAN_OK;
}

int han_hdlc_parse(const uint8_t *s, size_t n, struct han_hdlc *f)
{
    unsigned len;
    int e;
    if (n < 1 || s[0] != HAN_FLAG) return HAN_ENOFLAG;
    if (n < 3) return HAN_ETRUNC;
    f->format = ((unsigned)s[1] << 8) | s[2];
    if ((f->format >> 12) != 0xA) return HAN_EFORMAT;
    len = f->format & 0x7FF;
    if (len < 7) return HAN_ELENGTH;
    if (n < (size_t)len + 2) return HAN_ETRUNC;
    if (n > (size_t)len + 2) return HAN_ELENGTH;
    if (s[len + 1] != HAN_FLAG) return HAN_ECLOSE;
    f->length = len;
    f->segmented = (f->format & 0x800) != 0;
    if ((e = head(s, n, len, f)) != HAN_OK) return e;
    /* the information field runs from after the HCS to the FCS; without one (no HCS
     * either) it is the empty string at the FCS */
    f->info = s + f->header + (f->header + 1 == len - 1 ? 1 : 3);
    f->info_len = (size_t)(s + len - 1 - f->info);
    if (le16(s + len - 1) != han_crc16(s + 1, len - 2)) return HAN_EFCS;
    return HAN_OK;
}

int han_hdlc_check_head(const uint8_t *s, size_t n, size_t *need)
{
    struct han_hdlc f;
    unsigned len;
    int e;
    *need = 0;
    if (n < 3) return HAN_OK;
    if ((s[1] >> 4) != 0xA) return HAN_EFORMAT;
    len = (((unsigned)s[1] << 8) | s[2]) & 0x7FF;
    if (len < 7) return HAN_ELENGTH;
    *need = (size_t)len + 2;
    e = head(s, n, len, &f);
    return e == HAN_ETRUNC ? HAN_OK : e;
}
