/* CRC-16/X-25 (reflected polynomial 0x8408, init 0xFFFF, final xor 0xFFFF) for HDLC,
 * and CRC-16/ARC for P1. */
#ifndef HAN_CRC16_H
#define HAN_CRC16_H
#include <stddef.h>
#include <stdint.h>

/* The CRC of one buffer. */
uint16_t han_crc16(const uint8_t *p, size_t n);

/* CRC-16/ARC (reflected 0xA001, init 0, no final xor) of one buffer: DSMR P1 telegrams
 * (crc16_arc.c). */
uint16_t han_crc16_arc(const uint8_t *p, size_t n);

#endif
