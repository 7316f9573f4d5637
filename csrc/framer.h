/* Streaming framer: bytes in any chunking in, checked frames out. HDLC frames, M-Bus
 * long frames, DSMR P1 telegrams, SML transmissions, or whichever comes first ("auto").
 * Follows the reference algorithm of docs/core-api.md so its counters match the
 * pure-Lua framer's for any chunking. Its buffers grow on demand, through the caller's
 * allocator, up to the bounds below. */
#ifndef HAN_FRAMER_H
#define HAN_FRAMER_H
#include <stddef.h>
#include <stdint.h>

#define HAN_MAX_SEGMENTS 65536   /* reassembled message bound */
#define HAN_P1_MAX       16384   /* longest P1 telegram */
#define HAN_P1_LINE      2048    /* longest P1 line, its CR LF included */
#define HAN_SML_MAX      16384   /* longest SML transmission */
/* The longest candidate: a P1 telegram or SML transmission fails on its 16385th byte. */
#define HAN_MAX_CANDIDATE (HAN_P1_MAX + 1)

/* The numbers index the binding's protocol names. */
enum han_protocol { HAN_AUTO, HAN_HDLC, HAN_MBUS, HAN_P1, HAN_SML };

struct han_framer_stats {
    uint64_t bytes_in, bytes_framed, bytes_discarded;
    uint64_t frames_ok, bad_hcs, bad_fcs, bad_length, segments_joined;
};

/* Called once per frame (HDLC, M-Bus: the whole frame; P1: the telegram) or reassembled
 * message (the joined payloads). The bytes are valid only during the call. */
typedef void (*han_deliver)(void *ud, const uint8_t *p, size_t n);

/* Grows, shrinks or frees a block as realloc does (lua_Alloc's contract): nsize 0 frees
 * and returns NULL; otherwise the new block with the first min(osize, nsize) bytes of
 * the old one, or NULL when there is no memory (the old block is then left as it was). */
typedef void *(*han_alloc)(void *ud, void *ptr, size_t osize, size_t nsize);

struct han_framer {
    struct han_framer_stats st;
    int protocol;           /* HAN_AUTO until the first good frame fixes it */
    int kind;               /* the open candidate's protocol */
    int open;               /* a candidate starts at buf[0] */
    int cr_lf;              /* drop a 0D directly before a 0A */
    int held_cr;            /* a 0D waiting to see the next byte */
    int flag_counted;       /* HDLC: buf[0] is the previous good frame's closing flag */
    int head_done;          /* HDLC: the candidate's header is checked */
    int p1_data;            /* P1: the candidate has a data line */
    int p1_crc;             /* P1: a telegram with CRC digits came: no CRC-less one now */
    size_t need;            /* HDLC: whole size of the candidate, 0 until its format is in */
    size_t seen, line;      /* P1: bytes of the candidate looked at; its current line.
                               SML: seen is the first offset not yet looked at */
    size_t sml_pair;        /* SML: the second group of the last escaped pair, 0 none */
    uint64_t fed;           /* bytes that reached the hunt (after cr_lf) */
    uint64_t late_end;      /* 1 + the position of the last byte of the latest-ending
                               candidate that failed late, 0 for none */
    unsigned inside;        /* late failures inside in a row (up to 2) */
    int jumped;             /* the last late failure jumped to its last byte... */
    int chained;            /* ... and the open candidate is the first one after it */
    uint8_t *buf;           /* the open candidate and the bytes after it */
    size_t len, cap;
    uint8_t *seg;           /* HDLC and M-Bus segments of a message being joined */
    size_t seg_len, seg_cap, seg_count;
    unsigned seg_seq;       /* M-Bus: sequence number of the last segment kept */
    han_alloc alloc;
    void *alloc_ud;
};

/* A framer for one enum han_protocol (HAN_AUTO: the first good frame decides). It holds
 * no memory until bytes need it. */
void han_framer_init(struct han_framer *f, int cr_lf, int protocol, han_alloc alloc,
                     void *alloc_ud);
/* Gives its buffers back through the allocator. */
void han_framer_free(struct han_framer *f);
void han_framer_push(struct han_framer *f, const uint8_t *p, size_t n,
                     han_deliver deliver, void *ud);
/* Bytes to read before the framer can decide more (see core-api.md: missing()). */
size_t han_framer_missing(const struct han_framer *f);
/* Bytes held in the partial frame that are not yet framed or discarded. */
size_t han_framer_buffered(const struct han_framer *f);
void han_framer_reset(struct han_framer *f);

#endif
