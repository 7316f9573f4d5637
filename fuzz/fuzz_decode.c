/* libFuzzer target: one buffer as a frame, then as a bare APDU, through the HDLC parser,
 * the data-notification header, the A-XDR walker and the layout key (fuzz/walk.h). */
#include <stddef.h>
#include <stdint.h>

#include "../csrc/han.h"
#include "../csrc/hdlc.h"
#include "walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct han_hdlc f;
    if (han_hdlc_parse(data, size, &f) == HAN_OK && !f.segmented)
        notification(f.info, f.info_len);
    notification(data, size);
    return 0;
}
