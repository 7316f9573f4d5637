/* HDLC frame type 3 (IEC 62056-46) as HAN ports send it: no byte stuffing, the
 * length field delimits the frame. */
#ifndef HAN_HDLC_H
#define HAN_HDLC_H
#include <stddef.h>
#include <stdint.h>

#define HAN_FLAG        0x7E
#define HAN_MAX_FRAME   (2047 + 2)   /* 11-bit length plus both flags */

struct han_hdlc {
    unsigned format;       /* the whole 16-bit format field */
    unsigned length;       /* bytes between the flags */
    int segmented;         /* S bit: more segments follow */
    uint32_t dest, src;    /* raw address bytes, big-endian */
    unsigned control;
    size_t header;         /* bytes from the format field through control */
    const uint8_t *info;   /* information field (NULL-free pointer into the frame) */
    size_t info_len;
};

/* Parse one complete frame, both flags included. Returns HAN_OK or a han_err. */
int han_hdlc_parse(const uint8_t *s, size_t n, struct han_hdlc *f);

/* Check the header of a frame of which only `n` bytes (from the opening flag) are in:
 * format, length and addresses, then the HCS once it is there. Returns HAN_OK when what
 * is in is consistent (or still too short to tell) and sets *need to the bytes the
 * whole frame takes (0 until the format field is in). Used by the streaming framer. */
int han_hdlc_check_head(const uint8_t *s, size_t n, size_t *need);

#endif
