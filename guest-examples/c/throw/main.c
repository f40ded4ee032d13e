/* Fails on purpose: writes to stderr, then returns an error. The execution is `failed` (status
 * 500) and its errors hold the message. */
#include <stdio.h>

#include "wafer.h"

int wafer_main(wafer_context *ctx) {
    fprintf(stderr, "about to fail\n");
    return wafer_fail(ctx, "Something went wrong on %s %s", wafer_req_method(ctx),
                      wafer_req_path(ctx));
}
