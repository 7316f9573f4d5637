/* A-XDR values and the DLMS data-notification around them. The walker validates as it
 * goes and reports each value to a visitor, so the Lua binding builds tables and a
 * fuzzer or benchmark can pass callbacks that do nothing. */
#ifndef HAN_AXDR_H
#define HAN_AXDR_H
#include <stddef.h>
#include <stdint.h>

#define HAN_MAX_DEPTH 16
#define HAN_UNSPEC    (-0x7FFFFFFF - 1)   /* a date-time field the meter left unspecified */

/* COSEM date-time (tag 19, 12 bytes), date (1A: year..wday) and time (1B: hour..hundredths). */
struct han_time {
    int year, month, day, wday, hour, min, sec, hundredths, deviation, status;
};

struct han_visitor {
    void (*container)(void *ud, int tag, uint32_t count);  /* then `count` values */
    void (*end)(void *ud);                                 /* after the last of them */
    void (*null)(void *ud);
    void (*boolean)(void *ud, int v);
    void (*sint)(void *ud, int64_t v);
    void (*uint)(void *ud, uint64_t v);
    void (*real)(void *ud, double v);
    void (*string)(void *ud, const uint8_t *p, size_t n);
    void (*bits)(void *ud, const uint8_t *p, size_t nbits);
    void (*time)(void *ud, int tag, const struct han_time *t);
};

/* Walk the one value that fills p[0..n): HAN_OK, or a han_err with *errbyte set for the
 * errors that name a byte. HAN_ETRAILING when bytes remain after the value. */
int han_axdr_walk(const uint8_t *p, size_t n, const struct han_visitor *v, void *ud,
                  int *errbyte);

/* A BER length at p[0..n): the length and the bytes it took, or HAN_EDATA/HAN_EBER. */
int han_ber(const uint8_t *p, size_t n, uint32_t *len, size_t *used);

/* Parse 12 date-time bytes. */
void han_axdr_datetime(const uint8_t *p, struct han_time *t);

/* The data-notification header of `apdu` (LLC optional): invoke id, date-time, and
 * where the body starts. */
struct han_notification {
    uint32_t invoke_id;
    int has_time;
    struct han_time time;
    const uint8_t *body;
    size_t body_len;
};
int han_notification(const uint8_t *apdu, size_t n, struct han_notification *out,
                     int *errbyte);

#endif
