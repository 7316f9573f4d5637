/* The envelopes around a DLMS APDU, peeled one layer at a time: a series of HDLC frames
 * (segmented or not) or of M-Bus long frames, the LLC, general block transfer, and
 * ciphering (general-glo/ded and the service-specific glo APDUs). The innermost APDU is
 * what remains: a data-notification (0F), a P1 telegram ('/'), or anything else. */
#ifndef HAN_UNWRAP_H
#define HAN_UNWRAP_H
#include <stddef.h>
#include <stdint.h>

#define HAN_MAX_ENVELOPES 8

struct han_keys {
    int has_key, has_auth, has_title;
    uint8_t key[16], auth[16], title[8];
};

struct han_unwrapped {
    int ciphered;           /* a ciphering layer was removed */
    int authenticated;      /* and its GCM tag verified with keys.auth */
    unsigned security;      /* its security control byte */
    uint32_t counter;       /* its frame counter */
    uint8_t title[8];       /* its system title (from the APDU or the keys) */
    const uint8_t *apdu;    /* the result, inside `in` or `out` */
    size_t apdu_len;
};

/* Peel `in`. `out` is scratch of at least n bytes (every layer shrinks). HAN_OK or a
 * han_err; *errbyte names the byte of the errors that show one. On HAN_ENOKEY the
 * system title is in u->title. */
int han_unwrap(const uint8_t *in, size_t n, const struct han_keys *k, uint8_t *out,
               struct han_unwrapped *u, int *errbyte);

#endif
