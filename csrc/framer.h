/* Streaming HDLC framer: bytes in any chunking in, CRC-checked frames out.
 * Follows the reference algorithm of docs/core-api.md so its counters match the
 * pure-Lua framer's for any chunking. Fixed-size state, no allocation. */
#ifndef HAN_FRAMER_H
#define HAN_FRAMER_H
#include <stddef.h>
#include <stdint.h>
#include "hdlc.h"

#define HAN_MAX_SEGMENTS 65536   /* reassembled message bound */

struct han_framer_stats {
    uint64_t bytes_in, bytes_framed, bytes_discarded;
    uint64_t frames_ok, bad_hcs, bad_fcs, bad_length, segments_joined;
};

/* Called once per frame (whole frame, both flags) or reassembled message (the joined
 * information fields). The bytes are valid only during the call. */
typedef void (*han_deliver)(void *ud, const uint8_t *p, size_t n);

struct han_framer {
    struct han_framer_stats st;
    int cr_lf;              /* drop a 0D directly before a 0A */
    int held_cr;            /* a 0D waiting to see the next byte */
    int flag_counted;       /* buf[0] is the previous good frame's closing flag */
    size_t len;             /* bytes in buf */
    size_t need;            /* whole size of the candidate, 0 until its format is in */
    size_t seg_len, seg_count;
    size_t rep_pos, rep_len; /* bytes a failed candidate gave back for another look */
    uint8_t buf[HAN_MAX_FRAME];
    uint8_t rep[HAN_MAX_FRAME];
    uint8_t seg[HAN_MAX_SEGMENTS];
};

void han_framer_init(struct han_framer *f, int cr_lf);
void han_framer_push(struct han_framer *f, const uint8_t *p, size_t n,
                     han_deliver deliver, void *ud);
/* Bytes to read before the framer can decide more (see core-api.md: missing()). */
size_t han_framer_missing(const struct han_framer *f);
/* Bytes held in the partial frame that are not yet framed or discarded. */
size_t han_framer_buffered(const struct han_framer *f);
void han_framer_reset(struct han_framer *f);

#endif
