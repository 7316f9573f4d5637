/* libFuzzer target: the streaming framer of every protocol fed arbitrary bytes in
 * arbitrary chunkings (the first byte seeds the chunk sizes, picks cr_lf and, in one run
 * of four, an allocator that refuses to grow now and then). Checks the counters'
 * invariant, the buffer bounds, and that every delivered HDLC frame parses. */
#include <stdlib.h>
#include <string.h>

#include "../csrc/framer.h"
#include "../csrc/hdlc.h"
#include "../csrc/han.h"

static void deliver(void *ud, const uint8_t *p, size_t n)
{
    struct han_hdlc h;
    (void)ud;
    /* a single frame must parse; a joined message is LLC + APDU */
    if (n > 0 && p[0] == HAN_FLAG && han_hdlc_parse(p, n, &h) != HAN_OK && n > 2 &&
        p[n - 1] == HAN_FLAG)
        abort();
}

/* realloc, refusing every `refuse`th growth when refuse > 0. */
static void *grow(void *ud, void *ptr, size_t osize, size_t nsize)
{
    unsigned *calls = ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (calls[1] && ++calls[0] % calls[1] == 0) return NULL;
    return realloc(ptr, nsize);
}

static void run(const uint8_t *data, size_t size, int cr_lf, int protocol, unsigned seed)
{
    struct han_framer f;
    unsigned calls[2] = { 0, seed % 4 == 0 ? 2 + seed % 3 : 0 };
    size_t pos = 0;
    han_framer_init(&f, cr_lf, protocol, grow, calls);
    while (pos < size) {
        size_t n = 1 + seed % 97;
        seed = seed * 1103515245u + 12345u;
        if (n > size - pos) n = size - pos;
        han_framer_push(&f, data + pos, n, deliver, NULL);
        pos += n;
        if (han_framer_buffered(&f) > HAN_MAX_CANDIDATE + 1) abort();
        if (f.len > f.cap || f.cap > 2 * HAN_MAX_CANDIDATE || f.seg_cap > HAN_MAX_SEGMENTS)
            abort();
        if (f.st.bytes_in != f.st.bytes_framed + f.st.bytes_discarded + han_framer_buffered(&f))
            abort();
    }
    han_framer_reset(&f);
    if (f.st.bytes_in != f.st.bytes_framed + f.st.bytes_discarded) abort();
    han_framer_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int protocols[] = {HAN_HDLC, HAN_MBUS, HAN_P1, HAN_AUTO};
    unsigned seed = size ? data[0] : 0;
    size_t i;
    for (i = 0; i < sizeof protocols / sizeof *protocols; i++)
        run(data, size, (int)(seed + i) & 1, protocols[i], seed + (unsigned)i);
    return 0;
}
