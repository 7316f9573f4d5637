/* libFuzzer target: one buffer as a frame, then as a bare APDU, through the HDLC parser,
 * the data-notification header and the A-XDR walker (with a visitor that does nothing),
 * and the flat recorder of named readings, with arrays too small and then large enough. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../csrc/han.h"
#include "../csrc/hdlc.h"
#include "../csrc/flat.h"
#include "visitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void flat(const uint8_t *p, size_t n)
{
    struct han_notification note;
    struct han_rec small[4];
    struct han_time times[1];
    struct han_flat f;
    int byte;
    if (han_notification(p, n, &note, &byte) != HAN_OK) return;
    f.r = small;
    f.cap = 4;
    f.t = times;
    f.tcap = 1;
    if (han_flat_record(note.body, note.body_len, &f, &byte) != HAN_OK) return;
    if (f.n > f.cap || f.nt > f.tcap) {
        size_t need = f.n, need_t = f.nt;
        f.r = malloc(need * sizeof *f.r);
        f.t = malloc((need_t ? need_t : 1) * sizeof *f.t);
        f.cap = need;
        f.tcap = need_t;
        if (f.r && f.t && (han_flat_record(note.body, note.body_len, &f, &byte) != HAN_OK
                           || f.n != need || f.nt != need_t || f.r[0].next != f.n))
            abort();   /* the second walk must agree with the first */
        free(f.r);
        free(f.t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct han_hdlc f;
    if (han_hdlc_parse(data, size, &f) == HAN_OK && !f.segmented) {
        notification(f.info, f.info_len);
        flat(f.info, f.info_len);
    }
    notification(data, size);
    flat(data, size);
    return 0;
}
