/* Streaming framer: bytes in any chunking in, checked frames out. HDLC frames, M-Bus
 * long frames, DSMR P1 telegrams, or whichever of the three comes first ("auto").
 * Follows the reference algorithm of docs/core-api.md so its counters match the
 * pure-Lua framer's for any chunking. Fixed-size state, no allocation. */
#ifndef HAN_FRAMER_H
#define HAN_FRAMER_H
#include <stddef.h>
#include <stdint.h>
#include "hdlc.h"

#define HAN_MAX_SEGMENTS 65536   /* reassembled message bound */
#define HAN_P1_MAX       16384   /* longest P1 telegram */
#define HAN_P1_LINE      2048    /* longest P1 line, its CR LF included */
/* The longest candidate: a P1 telegram fails on its 16385th byte. */
#define HAN_MAX_CANDIDATE (HAN_P1_MAX + 1)

/* The numbers index the binding's protocol names. */
enum han_protocol { HAN_AUTO, HAN_HDLC, HAN_MBUS, HAN_P1 };

struct han_framer_stats {
    uint64_t bytes_in, bytes_framed, bytes_discarded;
    uint64_t frames_ok, bad_hcs, bad_fcs, bad_length, segments_joined;
};

/* Called once per frame (HDLC, M-Bus: the whole frame; P1: the telegram) or reassembled
 * message (the joined payloads). The bytes are valid only during the call. */
typedef void (*han_deliver)(void *ud, const uint8_t *p, size_t n);

struct han_framer {
    struct han_framer_stats st;
    int protocol;           /* HAN_AUTO until the first good frame fixes it */
    int kind;               /* the protocol of the candidate in buf */
    int cr_lf;              /* drop a 0D directly before a 0A */
    int held_cr;            /* a 0D waiting to see the next byte */
    int flag_counted;       /* HDLC: buf[0] is the previous good frame's closing flag */
    size_t len;             /* bytes in buf */
    size_t need;            /* HDLC: whole size of the candidate, 0 until its format is in */
    size_t line;            /* P1: where the candidate's current line starts in buf */
    size_t seg_len, seg_count;
    unsigned seg_seq;       /* M-Bus: sequence number of the last segment kept */
    size_t rep_pos, rep_len; /* bytes a failed candidate gave back for another look */
    uint8_t buf[HAN_MAX_CANDIDATE];
    uint8_t rep[HAN_MAX_CANDIDATE];
    uint8_t seg[HAN_MAX_SEGMENTS];
};

/* An HDLC framer. */
void han_framer_init(struct han_framer *f, int cr_lf);
/* A framer for one enum han_protocol (HAN_AUTO: the first good frame decides). */
void han_framer_init_protocol(struct han_framer *f, int cr_lf, int protocol);
void han_framer_push(struct han_framer *f, const uint8_t *p, size_t n,
                     han_deliver deliver, void *ud);
/* Bytes to read before the framer can decide more (see core-api.md: missing()). */
size_t han_framer_missing(const struct han_framer *f);
/* Bytes held in the partial frame that are not yet framed or discarded. */
size_t han_framer_buffered(const struct han_framer *f);
void han_framer_reset(struct han_framer *f);

/* Between framer.c (hunting, replay, counting) and framing.c (the M-Bus and P1 rules):
 * examine the candidate after a byte was added; fail it (counter may be NULL); count
 * a good one of n bytes once delivered, which frees buf. */
void han_framer_mbus(struct han_framer *f, han_deliver deliver, void *ud);
void han_framer_p1(struct han_framer *f, han_deliver deliver, void *ud);
void han_framer_fail(struct han_framer *f, uint64_t *counter);
void han_framer_good(struct han_framer *f, size_t n);

#endif
