/* M-Bus long frames and DSMR P1 telegrams for the streaming framer: framer.c hunts,
 * replays and counts; these rules (docs/core-api.md) tell, as each byte arrives,
 * whether the candidate in buf fails, is complete, or needs more. */
#include "framer.h"
#include "crc16.h"
#include "han.h"

#include <string.h>

#define MBUS_START 0x68
#define MBUS_STOP  0x16
#define CR 0x0D
#define LF 0x0A

/* A good M-Bus frame: whole, or its user data joined with the other DLMS transport
 * segments (CI 00-1F: low nibble the sequence number, 0x10 the last segment). */
static void mbus_deliver(struct han_framer *f, han_deliver deliver, void *ud)
{
    const uint8_t *b = f->buf;
    size_t n = f->len, data_len = n - 11;    /* after C A CI STSAP DTSAP, before CS 16 */
    unsigned ci = b[6], seq = ci & 0x0F;
    int last = (ci & 0x10) != 0;
    if (ci > 0x1F) { deliver(ud, b, n); return; }     /* not segmented: unwrap's job */
    if (f->seg_count && seq != ((f->seg_seq + 1) & 0x0F)) {
        f->st.bad_length++;                           /* a segment was lost */
        f->seg_len = f->seg_count = 0;
    }
    if (last && !f->seg_count) { deliver(ud, b, n); return; }   /* one-frame message */
    if (f->seg_len + data_len > HAN_MAX_SEGMENTS) {
        f->st.bad_length++;
        f->seg_len = f->seg_count = 0;
        return;
    }
    memcpy(f->seg + f->seg_len, b + 9, data_len);
    f->seg_len += data_len;
    f->seg_count++;
    f->seg_seq = seq;
    if (last) {
        f->st.segments_joined += f->seg_count;
        deliver(ud, f->seg, f->seg_len);
        f->seg_len = f->seg_count = 0;
    }
}

/* 68 L L 68 C A CI data CS 16: L + 6 bytes, L counting C through the last data byte. */
void han_framer_mbus(struct han_framer *f, han_deliver deliver, void *ud)
{
    const uint8_t *b = f->buf;
    size_t n = f->len, L = b[1], i;
    unsigned sum = 0;
    switch (n) {
    case 3: if (b[2] != L) han_framer_fail(f, NULL); return;   /* a 68 that starts nothing */
    case 4:
        if (b[3] != MBUS_START) han_framer_fail(f, NULL);
        else if (L < 3) han_framer_fail(f, &f->st.bad_length);
        return;
    case 7:         /* a transport segment needs room for STSAP and DTSAP */
        if (b[6] <= 0x1F && L < 5) han_framer_fail(f, &f->st.bad_length);
        return;
    default: break;
    }
    if (n == L + 5) {
        for (i = 4; i < L + 4; i++) sum += b[i];
        if ((sum & 0xFF) != b[L + 4]) han_framer_fail(f, &f->st.bad_fcs);
    } else if (n == L + 6) {
        if (b[L + 5] != MBUS_STOP) { han_framer_fail(f, &f->st.bad_length); return; }
        mbus_deliver(f, deliver, ud);
        han_framer_good(f, n);
    }
}

static int letter(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The complete "!" line: "!" CR LF (no CRC), or "!" and four hex digits equal to the
 * CRC-16/ARC of everything from "/" through "!", then CR LF. */
static int p1_end_ok(const struct han_framer *f)
{
    const uint8_t *l = f->buf + f->line;
    size_t k = f->len - f->line, i;
    unsigned v = 0;
    if (k == 3) return l[1] == CR && l[2] == LF;
    if (k != 7 || l[5] != CR || l[6] != LF) return 0;
    for (i = 1; i <= 4; i++) {
        int d = han_hexval(l[i]);
        if (d < 0) return 0;
        v = v << 4 | (unsigned)d;
    }
    return v == han_crc16_arc(f->buf, f->line + 1);
}

/* "/" + a 3-letter maker code ... the LF after the line starting with "!". */
void han_framer_p1(struct han_framer *f, han_deliver deliver, void *ud)
{
    size_t n = f->len;
    uint8_t b = f->buf[n - 1];
    if (n <= 4) {                         /* a stray "/" */
        if (!letter(b)) han_framer_fail(f, NULL);
        return;
    }
    if (b == '/' && f->buf[n - 2] == LF) {
        /* a telegram starts here, so the one in buf was cut short: it goes, this "/"
         * opens the next candidate (no earlier start inside could end sooner) */
        f->st.bad_length++;
        f->st.bytes_discarded += n - 1;
        f->buf[0] = b;
        f->len = 1;
        f->line = 0;
        return;
    }
    if (n > HAN_P1_MAX || n - f->line > HAN_P1_LINE) {
        han_framer_fail(f, &f->st.bad_length);
        return;
    }
    if (f->buf[f->line] == '!') {
        if (b != LF && n - f->line < 7) return;
        if (!p1_end_ok(f)) { han_framer_fail(f, &f->st.bad_fcs); return; }
        deliver(ud, f->buf, n);
        han_framer_good(f, n);
    } else if (b == LF) {
        f->line = n;
    }
}
