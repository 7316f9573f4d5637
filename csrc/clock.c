/* Meter time to a Unix epoch (clock.h). */
#include "clock.h"

static int64_t fdiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t fmodulo(int64_t a, int64_t b) { return a - fdiv(a, b) * b; }

static int month_length(int64_t y, int m)
{
    static const int days_in[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) return 29;
    return days_in[m - 1];
}

static int64_t days(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;
    if (m <= 2) y--;
    era = fdiv(y, 400);
    yoe = y - era * 400;
    doy = fdiv(153 * fmodulo(m + 9, 12) + 2, 5) + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t last_sunday(int64_t y, int m)
{
    int64_t last = days(y, m, month_length(y, m));
    return last - fmodulo(last + 4, 7);
}

int han_epoch(const struct han_time *t, const int64_t *z, int nz, int local_time,
              int64_t *out)
{
    int64_t wall, std, summer, start, stop;
    int sec = t->sec == HAN_UNSPEC ? 0 : t->sec, dst;
    if (t->year == HAN_UNSPEC || t->month == HAN_UNSPEC || t->day == HAN_UNSPEC
        || t->hour == HAN_UNSPEC || t->min == HAN_UNSPEC || t->month < 1 || t->month > 12
        || t->day < 1 || t->hour > 23 || t->min > 59
        || t->day > month_length(t->year, t->month) || sec > 59
        || (t->status != HAN_UNSPEC && t->status % 2 == 1))
        return 0;
    wall = days(t->year, t->month, t->day) * 86400 + t->hour * 3600 + t->min * 60 + sec;
    if (t->deviation != HAN_UNSPEC && !local_time) {
        *out = wall + (int64_t)t->deviation * 60;
        return 1;
    }
    std = wall - z[0] * 60;
    if (nz < 5 || z[1] < 1 || z[1] > 12 || z[2] < 1 || z[2] > 12) {
        *out = std;
        return 1;
    }
    dst = t->status == HAN_UNSPEC ? -1 : t->status >= 0x80;
    start = last_sunday(t->year, (int)z[1]) * 86400 + z[3];
    stop = last_sunday(t->year, (int)z[2]) * 86400 + z[3];
    summer = std - z[4];
    if (summer >= start && summer < stop)
        *out = (std < start || std >= stop) && dst == 0 ? std : summer;
    else
        *out = std;
    return 1;
}
