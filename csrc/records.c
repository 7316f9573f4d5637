/* The notification and its records for LuaJIT's FFI (records.h). No Lua here. */
#include "records.h"
#include "han.h"

#define RECORDS_MAX 256   /* a bigger body goes the C API's way (core.reading) */
#define TIMES_MAX   16

int han_records(const uint8_t *s, size_t n, uint8_t *kind, double *v, int32_t *w,
                int32_t cap, struct han_records_info *info)
{
    struct han_hdlc frame;
    struct han_notification note;
    struct han_rec recs[RECORDS_MAX];
    struct han_time times[TIMES_MAX];
    struct han_flat f;
    int byte;
    size_t i;

    if (han_notification_of(s, n, &frame, &note, &byte) != HAN_OK) return 0;
    f.r = recs;
    f.cap = cap < RECORDS_MAX ? (size_t)(cap > 0 ? cap : 0) : RECORDS_MAX;
    f.t = times;
    f.tcap = TIMES_MAX;
    if (han_flat_record(note.body, note.body_len, &f, &byte) != HAN_OK
        || f.n > f.cap || f.nt > f.tcap)
        return 0;
    info->at = note.has_time ? (int32_t)(note.time_at - s) + 1 : 0;
    info->framed = s[0] == HAN_FLAG;
    info->src = info->framed ? (double)frame.src : 0;
    for (i = 0; i < f.n; i++) {
        const struct han_rec *r = &recs[i];
        size_t k = i + 1;
        kind[k] = r->kind;
        switch (r->kind) {
        case HAN_V_BOOL: v[k] = r->v.b; break;
        case HAN_V_SINT: v[k] = (double)r->v.i; break;
        case HAN_V_UINT: v[k] = (double)r->v.u; break;
        case HAN_V_REAL: v[k] = r->v.d; break;
        case HAN_V_STR: case HAN_V_BITS:
            v[k] = (double)(r->v.p - s) + 1;
            w[k] = (int32_t)r->n;
            break;
        case HAN_V_TIME:
            v[k] = (double)(r->v.p - s) + 1;
            w[k] = r->tag;
            break;
        case HAN_V_LIST:
            v[k] = (double)r->n;
            w[k] = (int32_t)r->next + 1;
            break;
        default: break;
        }
    }
    return (int)f.n;
}

const struct han_records_entry han_records_entry = { han_records };
