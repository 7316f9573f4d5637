/* The message and the code of every han_err (docs/core-api.md, "Errors and their
 * codes"), from the one list in han.h. */
#include "han.h"

#include <stdio.h>
#include <string.h>

#define HAN_ERR_ROW(name, message, code) {message, code},
static const struct { const char *message, *code; } errors[] = { HAN_ERRORS(HAN_ERR_ROW) };

const char *han_strerror(int err, unsigned arg, char *buf)
{
    const char *m;
    if (err < 0 || err >= HAN_ECOUNT) return "error";
    m = errors[err].message;
    if (!strchr(m, '%')) return m;
    snprintf(buf, 64, m, arg);
    return buf;
}

const char *han_errcode(int err)
{
    return err < 0 || err >= HAN_ECOUNT ? "error" : errors[err].code;
}
