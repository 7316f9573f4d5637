/* CRC-16/X-25 (reflected polynomial 0x8408, init 0xFFFF, final xor 0xFFFF) for HDLC,
 * and CRC-16/ARC for P1. */
#ifndef HAN_CRC16_H
#define HAN_CRC16_H
#include <stddef.h>
#include <stdint.h>

#define HAN_CRC16_INIT 0xFFFFu

/* Continue a CRC over more bytes: crc = han_crc16_update(HAN_CRC16_INIT, p, n) ...,
 * then han_crc16_final(crc) (SML checks a transmission and its messages in one pass). */
uint16_t han_crc16_update(uint16_t crc, const uint8_t *p, size_t n);
#define han_crc16_final(crc) ((uint16_t)((crc) ^ 0xFFFFu))

/* The CRC of one buffer. */
uint16_t han_crc16(const uint8_t *p, size_t n);

/* CRC-16/ARC (reflected 0xA001, init 0, no final xor) of one buffer: DSMR P1 telegrams
 * (crc16_arc.c). */
uint16_t han_crc16_arc(const uint8_t *p, size_t n);

#endif
