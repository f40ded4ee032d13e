/* The ways a C function can fail, chosen with `?mode=`: `fail` (wafer_fail with a message),
 * `code` (wafer_main returns a code of its own), `unanswered` (returns WAFER_OK without a
 * response), `status` (an invalid status code), `trap` (abort()). Anything else answers 200,
 * with the headers set before the answer. */
#include <stdlib.h>
#include <string.h>

#include "wafer.h"

int wafer_main(wafer_context *ctx) {
    const char *mode = wafer_req_query(ctx, "mode");
    if (!mode) mode = "";

    wafer_log(ctx, "mode %s", mode);
    if (strcmp(mode, "fail") == 0) return wafer_fail(ctx, "failed on purpose (%d)", 42);
    if (strcmp(mode, "code") == 0) return 7;
    if (strcmp(mode, "unanswered") == 0) return WAFER_OK;
    if (strcmp(mode, "status") == 0) return wafer_res_text(ctx, "too low", 42);
    if (strcmp(mode, "trap") == 0) abort();

    /* A header of the caller's overrides the default content-type; the last answer counts. */
    wafer_res_text(ctx, "replaced", 200);
    wafer_res_header(ctx, "Content-Type", "text/csv");
    wafer_res_header(ctx, "X-Twice", "1");
    wafer_res_header(ctx, "x-twice", "2");
    return wafer_res_send(ctx, "a,b\n1,2\n", 201);
}
