/* The streaming framer (docs/core-api.md, core.framer). The open candidate and the bytes
 * that came after it wait in buf, where each candidate is judged by position as bytes
 * arrive: a failed one gives its bytes back without copying, and the hunt for the next
 * start byte is a memchr. No byte is looked at more than a bounded number of times:
 * see late() for the one rule that keeps crafted streams linear. */
#include "framer.h"
#include "crc16.h"
#include "hdlc.h"
#include "han.h"

#include <string.h>

#define MBUS_START 0x68
#define MBUS_STOP  0x16
#define CR 0x0D
#define LF 0x0A

/* What a candidate is, after a look at the bytes in: MORE (undecided), FAIL (early: the
 * hunt resumes one byte, or *n, after its start), LATE (failed at its end or, P1, after
 * its identification), SKIP (P1, SML: cut short by the next start, *n bytes in, where the
 * hunt resumes), GOOD. */
enum { MORE, FAIL, LATE, SKIP, GOOD };

#define SML_ESCAPE 0x1B

static int kind_of(uint8_t b)
{
    return b == HAN_FLAG ? HAN_HDLC : b == MBUS_START ? HAN_MBUS : b == '/' ? HAN_P1
        : b == SML_ESCAPE ? HAN_SML : 0;
}

void han_framer_init(struct han_framer *f, int cr_lf, int protocol, han_alloc alloc,
                     void *alloc_ud)
{
    *f = (struct han_framer){ .protocol = protocol, .kind = HAN_HDLC, .cr_lf = cr_lf,
                              .alloc = alloc, .alloc_ud = alloc_ud };
}

size_t han_framer_buffered(const struct han_framer *f)
{
    return f->len - f->flag_counted + f->held_cr;
}

size_t han_framer_missing(const struct han_framer *f)
{
    if (f->len == 0 || f->kind == HAN_P1) return 1;  /* P1: no length field */
    if (f->kind == HAN_SML)                          /* the start, then whole groups */
        return f->len < 8 ? 8 - f->len : 4 - (f->len - 8) % 4;
    if (f->kind == HAN_MBUS) return f->len < 2 ? 1 : (size_t)f->buf[1] + 6 - f->len;
    if (f->len < 3) return 3 - f->len;
    return f->need - f->len;
}

void han_framer_reset(struct han_framer *f)
{
    f->st.bytes_discarded += han_framer_buffered(f);   /* segments were framed already */
    f->len = f->seg_len = f->seg_count = 0;
    f->open = f->flag_counted = f->held_cr = 0;
}

void han_framer_free(struct han_framer *f)
{
    han_framer_reset(f);
    if (f->buf) f->alloc(f->alloc_ud, f->buf, f->cap, 0);
    if (f->seg) f->alloc(f->alloc_ud, f->seg, f->seg_cap, 0);
    f->buf = f->seg = NULL;
    f->cap = f->seg_cap = 0;
}

/* Grow the buffer *buf of *cap bytes, doubling from 256 bytes, to `want` bytes or more
 * but at most `most`; without memory it stays as it is. */
static void grow(struct han_framer *f, uint8_t **buf, size_t *cap, size_t want, size_t most)
{
    size_t c = *cap ? 2 * *cap : 256;
    uint8_t *p;
    while (c < want) c *= 2;
    if (c > most) c = most;
    p = f->alloc(f->alloc_ud, *buf, *cap, c);
    if (p) {
        *buf = p;
        *cap = c;
    }
}

/* Segments: appending that would take the buffer above HAN_MAX_SEGMENTS (or above what
 * memory allows) drops it and this payload. The last one delivers the joined message. */
static void join(struct han_framer *f, const uint8_t *p, size_t n, int last,
                 han_deliver deliver, void *ud)
{
    size_t want = f->seg_len + n;
    if (want > f->seg_cap && want <= HAN_MAX_SEGMENTS)
        grow(f, &f->seg, &f->seg_cap, want, HAN_MAX_SEGMENTS);
    if (want > f->seg_cap) {
        f->st.bad_length++;
        f->seg_len = f->seg_count = 0;
        return;
    }
    if (n) memcpy(f->seg + f->seg_len, p, n);
    f->seg_len = want;
    f->seg_count++;
    if (last) {
        f->st.segments_joined += f->seg_count;
        deliver(ud, f->seg, f->seg_len);
        f->seg_len = f->seg_count = 0;
    }
}

/* HDLC: a frame with the segmentation bit set is kept; a frame without it ends the
 * message, or is the message. */
static void hdlc_deliver(struct han_framer *f, const uint8_t *b, size_t n,
                         han_deliver deliver, void *ud)
{
    struct han_hdlc h;
    han_hdlc_parse(b, n, &h);             /* already checked: cannot fail */
    if (!h.segmented && !f->seg_count) deliver(ud, b, n);
    else join(f, h.info, h.info_len, !h.segmented, deliver, ud);
}

/* M-Bus: whole, or its user data joined with the other DLMS transport segments (CI 00-1F:
 * low nibble the sequence number, 0x10 the last segment). */
static void mbus_deliver(struct han_framer *f, const uint8_t *b, size_t n,
                         han_deliver deliver, void *ud)
{
    unsigned ci = b[6], seq = ci & 0x0F;
    int last = (ci & 0x10) != 0;
    if (ci > 0x1F) { deliver(ud, b, n); return; }     /* not segmented: unwrap's job */
    if (f->seg_count && seq != ((f->seg_seq + 1) & 0x0F)) {
        f->st.bad_length++;                           /* a segment was lost */
        f->seg_len = f->seg_count = 0;
    }
    if (last && !f->seg_count) { deliver(ud, b, n); return; }   /* one-frame message */
    f->seg_seq = seq;
    join(f, b + 9, n - 11, last, deliver, ud);        /* after C A CI STSAP DTSAP */
}

/* HDLC, len = the format field's low 11 bits: len + 2 bytes. */
static int hdlc_examine(struct han_framer *f, const uint8_t *b, size_t have, size_t *n,
                        uint64_t **counter)
{
    size_t len;
    if (have < 2) return MORE;
    if (b[1] == HAN_FLAG) return FAIL;    /* a repeated flag */
    if (have < 3) return MORE;
    if (!f->head_done) {                  /* the header and HCS end by byte 14 */
        switch (han_hdlc_check_head(b, have < 16 ? have : 16, &f->need)) {
        case HAN_OK: break;
        case HAN_EFORMAT: return FAIL;
        case HAN_EHCS: *counter = &f->st.bad_hcs; return FAIL;
        default: *counter = &f->st.bad_length; return FAIL;
        }
        if (have < 16 && have < f->need) return MORE;
        f->head_done = 1;
    }
    if (have < f->need) return MORE;
    *n = f->need;
    *counter = &f->st.bad_length;
    if (b[f->need - 1] != HAN_FLAG) return LATE;
    *counter = &f->st.bad_fcs;
    len = f->need - 2;
    return ((unsigned)b[len - 1] | ((unsigned)b[len] << 8)) == han_crc16(b + 1, len - 2)
        ? GOOD : LATE;
}

/* M-Bus, 68 L L 68 C A CI data CS 16: L + 6 bytes, L counting C through the last data
 * byte. The stop byte is checked before the sum, as HDLC's closing flag before its FCS. */
static int mbus_examine(struct han_framer *f, const uint8_t *b, size_t have, size_t *n,
                        uint64_t **counter)
{
    size_t L, i;
    unsigned sum = 0;
    if (have < 3) return MORE;
    L = b[1];
    if (b[2] != L) return FAIL;           /* a 68 that starts nothing */
    if (have < 4) return MORE;
    if (b[3] != MBUS_START) return FAIL;
    *counter = &f->st.bad_length;
    if (L < 3) return FAIL;
    if (have < 7) return MORE;
    if (b[6] <= 0x1F && L < 5) return FAIL;   /* a transport segment needs STSAP, DTSAP */
    if (have < L + 6) return MORE;
    *n = L + 6;
    if (b[L + 5] != MBUS_STOP) return LATE;
    for (i = 4; i < L + 4; i++) sum += b[i];
    *counter = &f->st.bad_fcs;
    return (sum & 0xFF) == b[L + 4] ? GOOD : LATE;
}

static int letter(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The complete "!" line b[ls..e]: "!", 0 to 4 hex digits, CR LF. With digits, their value
 * must equal the CRC-16/ARC of b[0..ls]. Without, the stream must not have shown a CRC
 * before (one damaged "!" would make a CRC-carrying telegram pass unchecked) and the
 * telegram must have a data line. */
static int p1_end(struct han_framer *f, const uint8_t *b, size_t ls, size_t e,
                  uint64_t **counter)
{
    unsigned v;
    *counter = &f->st.bad_fcs;
    if (e < ls + 2 || b[e] != LF || b[e - 1] != CR) return LATE;
    if (!han_hex(b + ls + 1, e - ls - 2, &v)) return LATE;
    if (e == ls + 2) {   /* no digits */
        if (f->p1_crc) return LATE;
        if (!f->p1_data) *counter = &f->st.bad_length;
        return f->p1_data ? GOOD : LATE;
    }
    if (v != han_crc16_arc(b, ls + 1)) return LATE;
    f->p1_crc = 1;
    return GOOD;
}

/* P1: "/" + a 3-letter maker code ... the LF after the line starting with "!". The look
 * resumes after the `seen` bytes already examined, line by line. */
static int p1_examine(struct han_framer *f, const uint8_t *b, size_t have, size_t *n,
                      uint64_t **counter)
{
    size_t k = f->seen;
    for (; k < 4; k++) {                  /* else a stray "/" */
        if (k >= have) {
            f->seen = k;
            return MORE;
        }
        if (!letter(b[k])) return FAIL;
    }
    *counter = &f->st.bad_length;
    while (k < have) {
        size_t ls = f->line, stop;
        const uint8_t *lf;
        if (k == ls && b[ls] == '/') {    /* a telegram starts: this one was cut short */
            *n = ls;
            return SKIP;
        }
        if (b[ls] == '!') {               /* complete at its LF or its 7th byte */
            size_t lim = have < ls + 7 ? have : ls + 7, e = SIZE_MAX;
            lf = memchr(b + ls + 1, LF, lim - ls - 1);
            if (lf) e = (size_t)(lf - b);
            else if (lim == ls + 7) e = ls + 6;
            if (e < HAN_P1_MAX) {
                *n = e + 1;
                return p1_end(f, b, ls, e, counter);
            }
            if (have > HAN_P1_MAX) break;
            f->seen = ls;                 /* looked at again whole */
            return MORE;
        }
        /* an ordinary line runs to its LF, unless a bound is crossed first at `stop` */
        stop = ls + HAN_P1_LINE < HAN_P1_MAX ? ls + HAN_P1_LINE : HAN_P1_MAX;
        lf = memchr(b + k, LF, (have < stop ? have : stop) - k);
        if (lf) {
            if (ls > 0 && b[ls] != CR && b[ls] != LF) f->p1_data = 1;
            k = f->line = (size_t)(lf - b) + 1;
        } else if (have > stop) {
            *n = stop + 1;
            return LATE;
        } else {
            k = have;
        }
    }
    if (k < have) {                       /* the telegram bound, inside the "!" line */
        *n = HAN_P1_MAX + 1;
        return LATE;
    }
    f->seen = k;
    return MORE;
}

/* SML: 1B1B1B1B 01010101, then 4-byte groups from the start; the first event by offset
 * decides (docs/core-api.md): an escape group followed by another is data (an escaped
 * pair), by 01010101 a new start that cuts this one short (SKIP), by 1A pp CRC CRC the
 * end, checked as X-25 low byte first or KERMIT high byte first, by anything else a
 * failure; a start sequence off the grid is a new start too (a lost byte shifts it). */
static const uint8_t SML_START[8] = { 0x1B, 0x1B, 0x1B, 0x1B, 1, 1, 1, 1 };

static int sml_examine(struct han_framer *f, const uint8_t *b, size_t have, size_t *n,
                       uint64_t **counter)
{
    size_t k = f->seen, lim = have < HAN_SML_MAX ? have : HAN_SML_MAX;
    for (; k < 8; k++) {
        if (k >= have) {
            f->seen = k;
            return MORE;
        }
        if (b[k] != SML_START[k]) {           /* a 1B that starts nothing: nor do */
            *n = k;                           /* those before b[k] (docs/core-api.md) */
            return FAIL;
        }
    }
    *counter = &f->st.bad_length;
    while (k + 8 <= lim) {
        const uint8_t *e = memchr(b + k, SML_ESCAPE, lim - 7 - k);
        if (!e) {
            k = lim - 7;
            break;
        }
        k = (size_t)(e - b);
        if (k == f->sml_pair || memcmp(b + k, SML_START, 4) != 0) {
            k++;
            continue;
        }
        if (memcmp(b + k + 4, SML_START + 4, 4) == 0) {   /* a new start at k */
            *n = k;
            return SKIP;
        }
        if (k % 4 == 0 && memcmp(b + k + 4, SML_START, 4) == 0) {
            f->sml_pair = k + 4;                            /* an escaped pair */
        } else if (k % 4 == 0) {                            /* the end */
            *n = k + 8;
            if (b[k + 4] != 0x1A) return LATE;
            *counter = &f->st.bad_fcs;
            return (unsigned)(b[k + 6] | b[k + 7] << 8) == han_crc16(b, k + 6) ||
                   (unsigned)(b[k + 6] << 8 | b[k + 7]) == han_crc16_update(0, b, k + 6)
                ? GOOD : LATE;
        }
        k++;
    }
    f->seen = k;
    if (have > HAN_SML_MAX) {
        *n = HAN_SML_MAX + 1;
        return LATE;
    }
    return MORE;
}

/* Each protocol (indexed by enum han_protocol; of "auto" only the longest candidate): the
 * byte that opens a candidate, the longest candidate, how a candidate is judged and how a
 * good one is delivered (NULL: as it is). */
static const struct {
    uint8_t start;
    size_t longest;
    int (*examine)(struct han_framer *f, const uint8_t *b, size_t have, size_t *n,
                   uint64_t **counter);
    void (*deliver)(struct han_framer *f, const uint8_t *b, size_t n, han_deliver deliver,
                    void *ud);
} protocols[] = {
    { 0, HAN_MAX_CANDIDATE, NULL, NULL },
    { HAN_FLAG, HAN_MAX_FRAME, hdlc_examine, hdlc_deliver },
    { MBUS_START, 255 + 6, mbus_examine, mbus_deliver },
    { '/', HAN_MAX_CANDIDATE, p1_examine, NULL },
    { SML_ESCAPE, HAN_MAX_CANDIDATE, sml_examine, NULL },
};

/* A late failure of the candidate at stream position `start` whose n bytes were looked
 * at: the hunt resumes one byte after its start, unless the candidate is inside (it
 * began before the last byte of the latest-ending late failure, or it is the first one
 * opened after a jump) for the second time in a row: then it jumps, resuming at its own
 * last byte. Crafted streams of overlapping candidates thus cost each byte a bounded
 * number of looks, and a frame is missed only behind three overlapping broken ones
 * (three frames cut short in a row). Returns how many bytes the hunt moves on. */
static size_t late(struct han_framer *f, uint64_t start, size_t n)
{
    int in = start + 1 < f->late_end || f->chained;
    f->inside = in ? (f->inside < 2 ? f->inside + 1 : 2) : 0;
    if (start + n > f->late_end) f->late_end = start + n;
    f->jumped = in && f->inside >= 2;
    return f->jumped ? n - 1 : 1;
}

static void open_at(struct han_framer *f, int kind)
{
    f->chained = f->jumped;
    f->jumped = f->head_done = f->p1_data = 0;
    f->open = 1;
    f->kind = kind;
    f->need = f->line = 0;
    f->seen = 1;
    f->sml_pair = 0;
}

/* Where the next candidate starts in p[0..n), or n. */
static size_t hunt(const struct han_framer *f, const uint8_t *p, size_t n)
{
    size_t i;
    if (f->protocol != HAN_AUTO) {
        const uint8_t *s = memchr(p, protocols[f->protocol].start, n);
        return s ? (size_t)(s - p) : n;
    }
    for (i = 0; i < n && !kind_of(p[i]); i++) continue;
    return i;
}

/* Deliver the good candidate of n bytes at b: how many bytes of buf it takes (not an HDLC
 * frame's closing flag, which may open the next frame). */
static size_t good(struct han_framer *f, const uint8_t *b, size_t n, han_deliver deliver,
                   void *ud)
{
    if (protocols[f->kind].deliver) protocols[f->kind].deliver(f, b, n, deliver, ud);
    else deliver(ud, b, n);
    f->st.frames_ok++;
    f->st.bytes_framed += n - f->flag_counted;
    f->protocol = f->kind;                /* "auto" settles on the first good frame */
    f->flag_counted = f->kind == HAN_HDLC;
    f->open = 0;
    return n - f->flag_counted;
}

/* Judge the candidates in buf until one needs more bytes, then keep only its bytes. */
static void scan(struct han_framer *f, han_deliver deliver, void *ud)
{
    uint8_t *b = f->buf;
    uint64_t base = f->fed - f->len;      /* the stream position of buf[0] */
    size_t at = 0, n = 0, step;
    for (;;) {
        uint64_t *counter = NULL;
        n = 1;                            /* where the hunt resumes after FAIL */
        if (!f->open) {
            step = hunt(f, b + at, f->len - at);
            f->st.bytes_discarded += step;
            at += step;
            if (at == f->len) break;
            open_at(f, f->protocol == HAN_AUTO ? kind_of(b[at]) : f->protocol);
        }
        switch (protocols[f->kind].examine(f, b + at, f->len - at, &n, &counter)) {
        case MORE:
            goto done;
        case GOOD:
            at += good(f, b + at, n, deliver, ud);
            continue;
        case LATE:
            step = late(f, base + at, n);
            break;
        default:                          /* FAIL; SKIP: the hunt finds the new start at once */
            step = n;
            break;
        }
        if (counter) (*counter)++;
        f->st.bytes_discarded += step - f->flag_counted;
        f->flag_counted = f->open = 0;
        at += step;
    }
done:
    if (at) {
        memmove(b, b + at, f->len - at);
        f->len -= at;
    }
}

/* Free bytes at the end of buf, after growing it (doubling from 256 bytes, up to twice
 * the longest candidate, so that bytes come in at least half a buffer at a time) when
 * it is half full. */
static size_t room(struct han_framer *f)
{
    size_t most = 2 * protocols[f->protocol].longest;
    if (f->len * 2 >= f->cap && f->cap < most) grow(f, &f->buf, &f->cap, 0, most);
    return f->cap - f->len;
}

/* Bytes after cr_lf: hunted for in place while no candidate is open, else added to buf
 * and judged there. */
static void feed(struct han_framer *f, const uint8_t *p, size_t n, han_deliver deliver,
                 void *ud)
{
    while (n) {
        size_t k;
        if (!f->len) {
            k = hunt(f, p, n);
            f->st.bytes_discarded += k;
            f->fed += k;
            p += k;
            n -= k;
            if (!n) return;
        }
        k = room(f);
        if (!k) {                         /* no memory: the candidate goes, as over a bound */
            if (f->len) {
                f->st.bad_length++;
                f->st.bytes_discarded += f->len - f->flag_counted;
                f->len = f->open = f->flag_counted = 0;
            } else {
                f->st.bytes_discarded++;
                f->fed++;
                p++;
                n--;
            }
            continue;
        }
        if (k > n) k = n;
        memcpy(f->buf + f->len, p, k);
        f->len += k;
        f->fed += k;
        p += k;
        n -= k;
        scan(f, deliver, ud);
    }
}

void han_framer_push(struct han_framer *f, const uint8_t *p, size_t n,
                     han_deliver deliver, void *ud)
{
    f->st.bytes_in += n;
    while (f->cr_lf && n) {
        const uint8_t *cr;
        size_t k;
        if (f->held_cr) {
            f->held_cr = 0;
            if (*p == LF) f->st.bytes_discarded++;      /* the inserted 0D */
            else feed(f, (const uint8_t *)"\r", 1, deliver, ud);
        }
        cr = memchr(p, CR, n);
        k = cr ? (size_t)(cr - p) : n;
        feed(f, p, k, deliver, ud);
        if (!cr) return;
        f->held_cr = 1;
        p = cr + 1;
        n -= k + 1;
    }
    feed(f, p, n, deliver, ud);
}
