/* The streaming framer. A candidate lives in buf from its start byte on; when it
 * fails, the hunt resumes one byte after that start over the bytes already held. The
 * HDLC rules are here; framing.c has those of M-Bus and P1. */
#include "framer.h"
#include "crc16.h"
#include "han.h"

#include <string.h>

/* The byte that opens a candidate of each protocol (indexed by enum han_protocol). */
static const uint8_t start_byte[] = { 0, HAN_FLAG, 0x68, '/' };

void han_framer_init_protocol(struct han_framer *f, int cr_lf, int protocol)
{
    memset(&f->st, 0, sizeof f->st);
    f->protocol = protocol;
    f->kind = HAN_HDLC;
    f->cr_lf = cr_lf;
    f->held_cr = 0;
    f->flag_counted = 0;
    f->len = f->need = f->line = 0;
    f->seg_len = f->seg_count = 0;
    f->seg_seq = 0;
    f->rep_len = f->rep_pos = 0;
}

void han_framer_init(struct han_framer *f, int cr_lf)
{
    han_framer_init_protocol(f, cr_lf, HAN_HDLC);
}

size_t han_framer_buffered(const struct han_framer *f)
{
    return f->len - (f->flag_counted ? 1 : 0) + (f->held_cr ? 1 : 0);
}

size_t han_framer_missing(const struct han_framer *f)
{
    if (f->len == 0) return 1;
    if (f->kind == HAN_P1) return 1;                 /* no length field */
    if (f->kind == HAN_MBUS) return f->len < 2 ? 1 : (size_t)f->buf[1] + 6 - f->len;
    if (f->len < 3) return 3 - f->len;
    return f->need - f->len;
}

void han_framer_reset(struct han_framer *f)
{
    f->st.bytes_discarded += han_framer_buffered(f);   /* segments were framed already */
    f->len = f->need = 0;
    f->flag_counted = 0;
    f->held_cr = 0;
    f->seg_len = f->seg_count = 0;
}

/* Drop the candidate's first byte. */
static void drop_first(struct han_framer *f)
{
    if (!f->flag_counted) f->st.bytes_discarded++;
    f->flag_counted = 0;
}

/* The candidate failed: the hunt resumes one byte after its start, so its other bytes
 * go back in front of whatever is still waiting to be replayed (iteration, not
 * recursion: hostile input cannot grow the stack). buf and the replay queue never hold
 * more than one candidate's worth together. */
void han_framer_fail(struct han_framer *f, uint64_t *counter)
{
    size_t rest = f->len - 1, waiting = f->rep_len - f->rep_pos;
    if (counter) (*counter)++;
    drop_first(f);
    memmove(f->rep + rest, f->rep + f->rep_pos, waiting);
    memcpy(f->rep, f->buf + 1, rest);
    f->rep_pos = 0;
    f->rep_len = rest + waiting;
    f->len = f->need = 0;
}

void han_framer_good(struct han_framer *f, size_t n)
{
    f->st.frames_ok++;
    f->st.bytes_framed += n - (f->flag_counted ? 1 : 0);
    f->protocol = f->kind;                /* "auto" settles on the first good frame */
    f->len = f->need = 0;
    f->flag_counted = 0;
}

static void hdlc_good(struct han_framer *f, han_deliver deliver, void *ud)
{
    struct han_hdlc h;
    size_t n = f->len;
    han_hdlc_parse(f->buf, n, &h);        /* already checked: cannot fail */
    if (!h.segmented && !f->seg_count) {
        deliver(ud, f->buf, n);
    } else if (f->seg_len + h.info_len > HAN_MAX_SEGMENTS) {
        f->st.bad_length++;
        f->seg_len = f->seg_count = 0;
    } else {
        memcpy(f->seg + f->seg_len, h.info, h.info_len);
        f->seg_len += h.info_len;
        f->seg_count++;
        if (!h.segmented) {
            f->st.segments_joined += f->seg_count;
            deliver(ud, f->seg, f->seg_len);
            f->seg_len = f->seg_count = 0;
        }
    }
    han_framer_good(f, n);
    f->buf[0] = HAN_FLAG;                 /* the closing flag may open the next frame */
    f->len = 1;
    f->flag_counted = 1;
}

/* Look at an HDLC candidate after a byte was added to it. */
static void hdlc_examine(struct han_framer *f, han_deliver deliver, void *ud)
{
    size_t len;
    unsigned fcs;
    if (f->len == 2 && f->buf[1] == HAN_FLAG) {   /* a repeated flag */
        drop_first(f);
        f->len = 1;
        return;
    }
    if (f->len < 3) return;
    if (f->len <= 16) {                   /* the header and HCS end by byte 14 */
        switch (han_hdlc_check_head(f->buf, f->len, &f->need)) {
        case HAN_OK: break;
        case HAN_EFORMAT: han_framer_fail(f, NULL); return;
        case HAN_EHCS: han_framer_fail(f, &f->st.bad_hcs); return;
        default: han_framer_fail(f, &f->st.bad_length); return;
        }
    }
    if (f->len < f->need) return;
    if (f->buf[f->len - 1] != HAN_FLAG) { han_framer_fail(f, &f->st.bad_length); return; }
    len = f->len - 2;
    fcs = (unsigned)f->buf[len - 1] | ((unsigned)f->buf[len] << 8);
    if (fcs != han_crc16(f->buf + 1, len - 2)) {
        han_framer_fail(f, &f->st.bad_fcs);
        return;
    }
    hdlc_good(f, deliver, ud);
}

/* The protocol a byte starts a candidate of while hunting, or 0. */
static int starts(const struct han_framer *f, uint8_t b)
{
    int k;
    if (f->protocol != HAN_AUTO) return b == start_byte[f->protocol] ? f->protocol : 0;
    for (k = HAN_HDLC; k <= HAN_P1; k++)
        if (b == start_byte[k]) return k;
    return 0;
}

static void byte_in(struct han_framer *f, uint8_t b, han_deliver deliver, void *ud)
{
    if (f->len == 0) {
        int kind = starts(f, b);
        if (kind) {
            f->buf[0] = b;
            f->len = 1;
            f->kind = kind;
            f->flag_counted = 0;
            f->line = 0;
        } else {
            f->st.bytes_discarded++;
        }
        return;
    }
    f->buf[f->len++] = b;
    switch (f->kind) {
    case HAN_MBUS: han_framer_mbus(f, deliver, ud); break;
    case HAN_P1: han_framer_p1(f, deliver, ud); break;
    default: hdlc_examine(f, deliver, ud); break;
    }
}

/* One byte, then whatever a failure put back for replay. */
static void feed(struct han_framer *f, uint8_t b, han_deliver deliver, void *ud)
{
    byte_in(f, b, deliver, ud);
    while (f->rep_pos < f->rep_len) byte_in(f, f->rep[f->rep_pos++], deliver, ud);
}

void han_framer_push(struct han_framer *f, const uint8_t *p, size_t n,
                     han_deliver deliver, void *ud)
{
    size_t i;
    f->st.bytes_in += n;
    for (i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (f->cr_lf) {
            if (f->held_cr) {
                f->held_cr = 0;
                if (b == 0x0A) f->st.bytes_discarded++;      /* the inserted 0D */
                else feed(f, 0x0D, deliver, ud);
            }
            if (b == 0x0D) { f->held_cr = 1; continue; }
        }
        feed(f, b, deliver, ud);
    }
}
