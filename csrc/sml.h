/* SML 1.04 transmissions (German meters' D0 push): the checks, values and layout key of
 * core.sml (docs/core-api.md). The parser reports each value to a callback and writes the
 * key itself, so the Lua binding builds tables and a fuzzer or benchmark can pass a
 * callback that does nothing. No Lua here. */
#ifndef HAN_SML_H
#define HAN_SML_H
#include <stddef.h>
#include <stdint.h>

#define HAN_SML_MAX_DEPTH 16   /* nested lists, a message's own list the first */
#define HAN_SML_MAX_PAD   4    /* padding bytes: 0-3 needed, a DZG sends 4 */

/* The room the key of an n-byte transmission may take: every construct writes at most
 * three characters per byte it takes (docs/core-api.md, core.sml). */
#define HAN_SML_KEY_CAP(n) (3 * (n) + 16)

enum han_sml_kind { HAN_SML_OCTETS, HAN_SML_BOOL, HAN_SML_INT, HAN_SML_UINT };

/* One value: the bytes of an octet string, a boolean (b), an integer (i) or unsigned (u). */
struct han_sml_value {
    int kind;
    const uint8_t *p;
    size_t n;
    int b;
    int64_t i;
    uint64_t u;
};

typedef void (*han_sml_visit)(void *ud, const struct han_sml_value *v);

struct han_sml_result {
    int kermit;           /* the transport CRC is CRC-16/KERMIT, high byte first */
    unsigned bad_crcs;    /* messages whose CRC is neither X-25 nor KERMIT */
    size_t key_len;
};

/* Check and read the transmission s[0..n): HAN_OK, or a han_err after which the caller
 * drops what it was told. work has room for n bytes (the file without its escapes), key
 * for HAN_SML_KEY_CAP(n). The transport CRC is checked before anything is reported. */
int han_sml_parse(const uint8_t *s, size_t n, uint8_t *work, char *key,
                  han_sml_visit visit, void *ud, struct han_sml_result *res);

#endif
