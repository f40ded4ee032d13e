/* Answers with the kind of response `?type=` names: text (the default), json, html, binary, empty
 * or redirect. `?status=NNN` sets the status code (where the function takes one). */
#include <stdlib.h>
#include <string.h>

#include "wafer.h"

int wafer_main(wafer_context *ctx) {
    const char *status_text = wafer_req_query(ctx, "status");
    int status = status_text && *status_text ? atoi(status_text) : 0; /* 0: the default */
    const char *kind = wafer_req_query(ctx, "type");
    if (!kind) kind = "text";

    if (strcmp(kind, "text") == 0) {
        wafer_res_header(ctx, "x-response-type", "text");
        return wafer_res_text(ctx, "Hello, text!", status);
    }
    if (strcmp(kind, "json") == 0) {
        return wafer_res_json(ctx, "{\"type\":\"json\",\"ok\":true}", status);
    }
    if (strcmp(kind, "html") == 0) {
        wafer_res_header(ctx, "content-type", "text/html; charset=utf-8");
        return wafer_res_send(ctx, "<h1>Hello from wafer</h1>", status);
    }
    if (strcmp(kind, "binary") == 0) {
        static const unsigned char bytes[] = {0, 1, 2, 3, 255};
        return wafer_res_binary(ctx, bytes, sizeof bytes, status);
    }
    if (strcmp(kind, "empty") == 0) {
        return wafer_res_empty(ctx);
    }
    if (strcmp(kind, "redirect") == 0) {
        return wafer_res_redirect(ctx, "https://appwrite.io/", status);
    }

    wafer_buf message = WAFER_BUF_INIT, out = WAFER_BUF_INIT;
    wafer_buf_printf(&message, "unknown type %s", kind);
    wafer_buf_puts(&out, "{\"error\":");
    wafer_buf_json_string(&out, wafer_buf_str(&message));
    wafer_buf_puts(&out, "}");
    int answered = wafer_res_json(ctx, wafer_buf_str(&out), 400);
    wafer_buf_free(&message);
    wafer_buf_free(&out);
    return answered;
}
