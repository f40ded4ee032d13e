/* The Appwrite starter function: "Hello, World!" for GET, a JSON motto for anything else, and one
 * line each in the logs and the errors. */
#include <string.h>

#include "wafer.h"

int wafer_main(wafer_context *ctx) {
    wafer_log(ctx, "Hello, Logs!");
    wafer_error(ctx, "Hello, Errors!");

    if (strcmp(wafer_req_method(ctx), "GET") == 0) {
        return wafer_res_text(ctx, "Hello, World!", 200);
    }

    return wafer_res_json(ctx,
                          "{\"motto\":\"Build like a team of hundreds_\","
                          "\"learn\":\"https://appwrite.io/docs\","
                          "\"connect\":\"https://appwrite.io/discord\","
                          "\"getInspired\":\"https://builtwith.appwrite.io\"}",
                          200);
}
