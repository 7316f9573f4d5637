/* libFuzzer target: SML. The parser on the input as given and wrapped in a transport with
 * a good CRC (so that random bytes get their messages parsed), its work and key buffers
 * exactly as large as promised (ASan checks the key bound); and the framer's SML rule
 * on the input in chunks, every delivered transmission passing the parser's transport
 * checks. */
#include <stdlib.h>
#include <string.h>

#include "../csrc/crc16.h"
#include "../csrc/framer.h"
#include "../csrc/han.h"
#include "../csrc/sml.h"

static volatile uint8_t sink;

/* Every reported value lies inside the input, whose copy the parser reads. */
static void visit(void *ud, const struct han_sml_value *v)
{
    size_t i;
    (void)ud;
    if (v->kind == HAN_SML_OCTETS) {
        if (v->n == 0) abort();
        for (i = 0; i < v->n; i++) sink ^= v->p[i];
    } else if (v->kind == HAN_SML_BOOL) {
        if (v->b != 0 && v->b != 1) abort();
    } else if (v->kind != HAN_SML_INT && v->kind != HAN_SML_UINT) {
        abort();
    }
}

static int parse(const uint8_t *s, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1), *work = malloc(n ? n : 1);
    char *key = malloc(HAN_SML_KEY_CAP(n));
    struct han_sml_result res;
    int e = HAN_ENOFLAG;
    if (copy && work && key) {
        memcpy(copy, s, n);
        e = han_sml_parse(copy, n, work, key, visit, NULL, &res);
        if (e == HAN_OK && res.key_len > HAN_SML_KEY_CAP(n)) abort();
    }
    free(copy);
    free(work);
    free(key);
    return e;
}

/* The input as an SML file: start, the bytes, padding, end, X-25 CRC. */
static void sealed(const uint8_t *data, size_t size)
{
    size_t pad = (4 - size % 4) % 4, n = 8 + size + pad + 8;
    uint8_t *s = malloc(n);
    unsigned crc;
    if (!s) return;
    memcpy(s, "\x1b\x1b\x1b\x1b\x01\x01\x01\x01", 8);
    memcpy(s + 8, data, size);
    memset(s + 8 + size, 0, pad);
    memcpy(s + 8 + size + pad, "\x1b\x1b\x1b\x1b\x1a", 5);
    s[n - 3] = (uint8_t)pad;
    crc = han_crc16(s, n - 2);
    s[n - 2] = (uint8_t)crc;
    s[n - 1] = (uint8_t)(crc >> 8);
    /* an escape group in the bytes must be doubled: anything else is refused for it */
    if (parse(s, n) == HAN_ECRC) abort();
    free(s);
}

static void deliver(void *ud, const uint8_t *p, size_t n)
{
    int e = parse(p, n);
    (void)ud;
    if (e == HAN_ESMLSTART || e == HAN_ESMLEND || e == HAN_ECRC) abort();
}

static void *grow(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static void framed(const uint8_t *data, size_t size, unsigned seed)
{
    struct han_framer f;
    size_t pos = 0;
    han_framer_init(&f, 0, HAN_SML, grow, NULL);
    while (pos < size) {
        size_t n = 1 + seed % 61;
        seed = seed * 1103515245u + 12345u;
        if (n > size - pos) n = size - pos;
        han_framer_push(&f, data + pos, n, deliver, NULL);
        pos += n;
        if (han_framer_buffered(&f) > HAN_MAX_CANDIDATE + 1) abort();
        if (f.st.bytes_in != f.st.bytes_framed + f.st.bytes_discarded + han_framer_buffered(&f))
            abort();
    }
    han_framer_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse(data, size);
    sealed(data, size);
    framed(data, size, size ? data[0] : 0);
    return 0;
}
