/* Logs the request and answers with every field of the request as JSON, so you (and the tests)
 * can see what a function receives. */
#include <stdio.h>

#include "wafer.h"

int wafer_main(wafer_context *ctx) {
    wafer_buf out = WAFER_BUF_INIT;

    /* A log line of JSON, built with the SDK's buffer; printf() is captured too. */
    wafer_buf_puts(&out, "{\"method\":");
    wafer_buf_json_string(&out, wafer_req_method(ctx));
    wafer_buf_puts(&out, ",\"path\":");
    wafer_buf_json_string(&out, wafer_req_path(ctx));
    wafer_buf_puts(&out, "}");
    wafer_log(ctx, "%s", wafer_buf_str(&out));
    wafer_buf_free(&out);
    printf("%s %s\n", wafer_req_method(ctx), wafer_req_url(ctx));

    wafer_buf_puts(&out, "{\"method\":");
    wafer_buf_json_string(&out, wafer_req_method(ctx));
    wafer_buf_puts(&out, ",\"scheme\":");
    wafer_buf_json_string(&out, wafer_req_scheme(ctx));
    wafer_buf_puts(&out, ",\"host\":");
    wafer_buf_json_string(&out, wafer_req_host(ctx));
    wafer_buf_printf(&out, ",\"port\":%u", (unsigned)wafer_req_port(ctx));
    wafer_buf_puts(&out, ",\"path\":");
    wafer_buf_json_string(&out, wafer_req_path(ctx));
    wafer_buf_puts(&out, ",\"queryString\":");
    wafer_buf_json_string(&out, wafer_req_query_string(ctx));

    wafer_buf_puts(&out, ",\"query\":{");
    for (size_t i = 0; i < wafer_req_query_count(ctx); i++) {
        if (i > 0) wafer_buf_puts(&out, ",");
        wafer_buf_json_string(&out, wafer_req_query_name(ctx, i));
        wafer_buf_puts(&out, ":");
        wafer_buf_json_string(&out, wafer_req_query_value(ctx, i));
    }
    wafer_buf_puts(&out, "},\"url\":");
    wafer_buf_json_string(&out, wafer_req_url(ctx));

    wafer_buf_puts(&out, ",\"headers\":{");
    for (size_t i = 0; i < wafer_req_header_count(ctx); i++) {
        if (i > 0) wafer_buf_puts(&out, ",");
        wafer_buf_json_string(&out, wafer_req_header_name(ctx, i));
        wafer_buf_puts(&out, ":");
        wafer_buf_json_string(&out, wafer_req_header_value(ctx, i));
    }
    wafer_buf_puts(&out, "}");

    /* `body` is the parsed JSON when the content type says JSON, else the text; `bodyJson` is
     * null when the body is not JSON. */
    size_t len;
    const uint8_t *bytes = wafer_req_body(ctx, &len);
    const char *json = wafer_req_body_json(ctx);
    wafer_buf_puts(&out, ",\"body\":");
    if (wafer_req_is_json(ctx) && len > 0 && json) {
        wafer_buf_puts(&out, json);
    } else {
        wafer_buf_json_stringn(&out, wafer_req_body_text(ctx), len);
    }
    wafer_buf_puts(&out, ",\"bodyText\":");
    wafer_buf_json_stringn(&out, wafer_req_body_text(ctx), len);
    wafer_buf_puts(&out, ",\"bodyRaw\":");
    wafer_buf_json_stringn(&out, wafer_req_body_text(ctx), len);
    wafer_buf_printf(&out, ",\"bodyJson\":%s", json ? json : "null");

    /* Bytes do not fit in JSON: answer with their count and the first few. */
    wafer_buf_printf(&out, ",\"bodyBinaryLength\":%zu,\"bodyBinaryHead\":[", len);
    for (size_t i = 0; i < len && i < 8; i++) {
        wafer_buf_printf(&out, i > 0 ? ",%u" : "%u", (unsigned)bytes[i]);
    }
    wafer_buf_puts(&out, "]}");

    int answered = wafer_res_json(ctx, wafer_buf_str(&out), 200);
    wafer_buf_free(&out);
    return answered;
}
