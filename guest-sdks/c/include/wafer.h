/*
 * wafer.h: the C SDK for wafer functions.
 *
 * A function defines one entry point, called once per invocation:
 *
 *     #include "wafer.h"
 *
 *     int wafer_main(wafer_context *ctx) {
 *         wafer_log(ctx, "%s %s", wafer_req_method(ctx), wafer_req_path(ctx));
 *         return wafer_res_json(ctx, "{\"ok\":true}", 200);
 *     }
 *
 * It answers by calling one of the wafer_res_* functions (which return WAFER_OK) and returning
 * what it returned. Returning anything else, or wafer_fail(ctx, ...), fails the execution:
 * status 500, with the message in the execution's errors.
 *
 * Memory: every pointer the wafer_req_* functions return belongs to the SDK and stays valid
 * until wafer_main returns; do not free it. The wafer_res_* functions copy what they are given,
 * so the caller keeps (and frees) its own buffers. Running out of memory aborts the invocation.
 *
 * printf() and fprintf(stderr, ...) also reach the execution's logs and errors (the SDK flushes
 * them when wafer_main returns).
 */
#ifndef WAFER_H
#define WAFER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define WAFER_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define WAFER_PRINTF(fmt, args)
#endif

/* What wafer_res_* return, and what wafer_main returns when it has answered. */
#define WAFER_OK 0
/* What wafer_fail returns. */
#define WAFER_FAILED (-1)

/* One invocation: the request, the response being made, and the host's log and error. */
typedef struct wafer_context wafer_context;

/* The function's entry point: define it in your function. */
int wafer_main(wafer_context *ctx);

/* ---- logs and errors ---------------------------------------------------------------------- */

/* Appends a line to the execution's logs (printf-style). */
void wafer_log(wafer_context *ctx, const char *format, ...) WAFER_PRINTF(2, 3);
/* Appends a line to the execution's errors (printf-style). */
void wafer_error(wafer_context *ctx, const char *format, ...) WAFER_PRINTF(2, 3);
/* Fails the execution with this message (printf-style); returns WAFER_FAILED, so
 * `return wafer_fail(ctx, "no %s", what);` ends wafer_main. */
int wafer_fail(wafer_context *ctx, const char *format, ...) WAFER_PRINTF(2, 3);

/* ---- the request -------------------------------------------------------------------------- */
/* Strings are NUL-terminated UTF-8, owned by the SDK (valid until wafer_main returns). */

const char *wafer_req_method(wafer_context *ctx);       /* "GET", "POST", ... */
const char *wafer_req_scheme(wafer_context *ctx);       /* "http" or "https" */
const char *wafer_req_host(wafer_context *ctx);
uint16_t wafer_req_port(wafer_context *ctx);
const char *wafer_req_path(wafer_context *ctx);         /* "/some/path" */
const char *wafer_req_query_string(wafer_context *ctx); /* "a=1&b=2", no leading '?' */
/* scheme://host[:port]/path[?query], without the port when it is the scheme's default. */
const char *wafer_req_url(wafer_context *ctx);

/* The first value of the query parameter `name`, percent- and '+'-decoded; NULL if absent. */
const char *wafer_req_query(wafer_context *ctx, const char *name);
/* The query's distinct names in order of first appearance, each with its first value. */
size_t wafer_req_query_count(wafer_context *ctx);
const char *wafer_req_query_name(wafer_context *ctx, size_t index);
const char *wafer_req_query_value(wafer_context *ctx, size_t index);

/* The header `name` (any case); repeated headers are joined with ", ". NULL if absent. */
const char *wafer_req_header(wafer_context *ctx, const char *name);
/* The distinct headers (names lower-case), in order of first appearance. */
size_t wafer_req_header_count(wafer_context *ctx);
const char *wafer_req_header_name(wafer_context *ctx, size_t index);
const char *wafer_req_header_value(wafer_context *ctx, size_t index);

/* The body as bytes; *len (if not NULL) receives its length. Never NULL. */
const uint8_t *wafer_req_body(wafer_context *ctx, size_t *len);
size_t wafer_req_body_length(wafer_context *ctx);
/* The body as a NUL-terminated string (it may hold NULs of its own). */
const char *wafer_req_body_text(wafer_context *ctx);
/* The body when it is valid JSON (RFC 8259), else NULL. */
const char *wafer_req_body_json(wafer_context *ctx);
/* Whether the content-type header says JSON (application/json...). */
bool wafer_req_is_json(wafer_context *ctx);

/* ---- the response ------------------------------------------------------------------------- */
/* `status` 0 means the default (200; 301 for a redirect). A header set with wafer_res_header
 * before the call overrides the default content-type. A later call replaces an earlier one. */

/* Adds a header to the response (the name is lower-cased). */
void wafer_res_header(wafer_context *ctx, const char *name, const char *value);
/* Text as text/plain; charset=utf-8. */
int wafer_res_send(wafer_context *ctx, const char *text, int status);
int wafer_res_text(wafer_context *ctx, const char *text, int status);
/* Text that is already JSON, as application/json. */
int wafer_res_json(wafer_context *ctx, const char *json, int status);
/* Bytes as application/octet-stream. */
int wafer_res_binary(wafer_context *ctx, const void *data, size_t len, int status);
/* 204 with no body. */
int wafer_res_empty(wafer_context *ctx);
/* A redirect to `url` (in the location header). */
int wafer_res_redirect(wafer_context *ctx, const char *url, int status);

/* ---- a growable string buffer, with JSON helpers ------------------------------------------ */

typedef struct {
    char *data; /* NUL-terminated; NULL while empty */
    size_t len;
    size_t cap;
} wafer_buf;

#define WAFER_BUF_INIT {NULL, 0, 0}

void wafer_buf_append(wafer_buf *buf, const void *data, size_t len);
void wafer_buf_puts(wafer_buf *buf, const char *text);
void wafer_buf_printf(wafer_buf *buf, const char *format, ...) WAFER_PRINTF(2, 3);
/* `text` as a quoted JSON string; invalid UTF-8 becomes U+FFFD. */
void wafer_buf_json_string(wafer_buf *buf, const char *text);
void wafer_buf_json_stringn(wafer_buf *buf, const char *text, size_t len);
/* The contents ("" while empty). */
const char *wafer_buf_str(const wafer_buf *buf);
void wafer_buf_free(wafer_buf *buf);

/* Whether `text[0..len)` is one valid JSON value (RFC 8259), with optional whitespace around. */
bool wafer_json_valid(const char *text, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WAFER_H */
