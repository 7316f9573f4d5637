/* Meter time to a Unix epoch from a date-time and a zone in numbers, by arithmetic: the
 * C twin of han.time's epoch() (lua/han/time.lua says why each step). */
#ifndef HAN_CLOCK_H
#define HAN_CLOCK_H
#include <stdint.h>

#include "axdr.h"

/* zone[0]: the offset east of UTC in minutes; with nz = 5, summer time: the months it
 * starts and ends in (last Sundays), the seconds after midnight UTC of the switch, the
 * seconds it adds. local_time: the date-time's deviation is not trusted. 1 and *out
 * set, or 0 for a time that gives none. */
int han_epoch(const struct han_time *t, const int64_t *zone, int nz, int local_time,
              int64_t *out);

#endif
