/*
 * wafer.c: the C SDK over the bindings wit-bindgen generates for the `function` world
 * (bindings/function.{h,c}). It implements the exported handler: it turns the request record
 * into a wafer_context, calls the function's wafer_main, and turns what it answered into the
 * response record (or the error string of a failed execution).
 *
 * Ownership, per wit-bindgen's C bindings: the handler owns the request it is given and frees
 * it; the response or error it returns must be allocated with malloc, and the generated
 * post-return function frees it after the host has read it. Strings passed to the imported
 * log/error are borrowed by the host for the call.
 */
#include "wafer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "function.h"

typedef struct {
    char *name;
    char *value;
} wafer_pair;

typedef struct {
    wafer_pair *items;
    size_t len;
    size_t cap;
} wafer_pairs;

struct wafer_context {
    exports_wafer_function_handler_request_t *req;
    /* NUL-terminated copies of the request's fields. */
    char *method, *scheme, *host, *path, *query_string, *url, *body_text;
    const char *body_json; /* body_text if it is JSON, else NULL */
    bool body_json_checked;
    wafer_pairs headers; /* lower-case names, repeated values joined */
    wafer_pairs query;   /* decoded, first value of each name */
    bool query_parsed;
    /* The response being made. */
    wafer_pairs res_headers; /* set with wafer_res_header, not yet used */
    bool answered;
    uint16_t status;
    wafer_pairs answer_headers;
    uint8_t *answer_body;
    size_t answer_len;
    char *failure; /* wafer_fail's message */
};

/* ---- memory ------------------------------------------------------------------------------- */

static void *wafer_alloc(size_t size) {
    void *ptr = malloc(size ? size : 1);
    if (!ptr) {
        fputs("wafer: out of memory\n", stderr);
        abort();
    }
    return ptr;
}

static void *wafer_grow(void *ptr, size_t size) {
    void *grown = realloc(ptr, size ? size : 1);
    if (!grown) {
        fputs("wafer: out of memory\n", stderr);
        abort();
    }
    return grown;
}

static char *wafer_strndup(const void *data, size_t len) {
    char *copy = wafer_alloc(len + 1);
    if (len) memcpy(copy, data, len);
    copy[len] = '\0';
    return copy;
}

static char *wafer_vformat(const char *format, va_list args) {
    va_list again;
    va_copy(again, args);
    int len = vsnprintf(NULL, 0, format, args);
    if (len < 0) len = 0;
    char *text = wafer_alloc((size_t)len + 1);
    vsnprintf(text, (size_t)len + 1, format, again);
    va_end(again);
    return text;
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static bool same_name(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (lower(*a) != lower(*b)) return false;
    return *a == *b;
}

static void pairs_push(wafer_pairs *pairs, char *name, char *value) {
    if (pairs->len == pairs->cap) {
        pairs->cap = pairs->cap ? pairs->cap * 2 : 8;
        pairs->items = wafer_grow(pairs->items, pairs->cap * sizeof(wafer_pair));
    }
    pairs->items[pairs->len].name = name;
    pairs->items[pairs->len].value = value;
    pairs->len++;
}

static wafer_pair *pairs_find(const wafer_pairs *pairs, const char *name) {
    for (size_t i = 0; i < pairs->len; i++)
        if (same_name(pairs->items[i].name, name)) return &pairs->items[i];
    return NULL;
}

static void pairs_free(wafer_pairs *pairs) {
    for (size_t i = 0; i < pairs->len; i++) {
        free(pairs->items[i].name);
        free(pairs->items[i].value);
    }
    free(pairs->items);
    pairs->items = NULL;
    pairs->len = pairs->cap = 0;
}

/* ---- logs and errors ---------------------------------------------------------------------- */

static void send_line(void (*to)(function_string_t *), const char *text) {
    function_string_t message = {(uint8_t *)text, strlen(text)};
    to(&message);
}

void wafer_log(wafer_context *ctx, const char *format, ...) {
    (void)ctx;
    va_list args;
    va_start(args, format);
    char *text = wafer_vformat(format, args);
    va_end(args);
    send_line(wafer_function_context_log, text);
    free(text);
}

void wafer_error(wafer_context *ctx, const char *format, ...) {
    (void)ctx;
    va_list args;
    va_start(args, format);
    char *text = wafer_vformat(format, args);
    va_end(args);
    send_line(wafer_function_context_error, text);
    free(text);
}

int wafer_fail(wafer_context *ctx, const char *format, ...) {
    va_list args;
    va_start(args, format);
    char *text = wafer_vformat(format, args);
    va_end(args);
    free(ctx->failure);
    ctx->failure = text;
    return WAFER_FAILED;
}

/* ---- the request -------------------------------------------------------------------------- */

static char *copy_string(const function_string_t *s) { return wafer_strndup(s->ptr, s->len); }

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes `+` and %XX in text[0..len), as application/x-www-form-urlencoded does. */
static char *form_decode(const char *text, size_t len) {
    char *out = wafer_alloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '+') {
            out[n++] = ' ';
        } else if (text[i] == '%' && i + 2 < len && hex_value(text[i + 1]) >= 0 &&
                   hex_value(text[i + 2]) >= 0) {
            out[n++] = (char)(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out[n++] = text[i];
        }
    }
    out[n] = '\0';
    return out;
}

static void parse_query(wafer_context *ctx) {
    if (ctx->query_parsed) return;
    ctx->query_parsed = true;
    const char *q = ctx->query_string;
    while (*q) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len > 0) {
            const char *eq = memchr(q, '=', len);
            size_t name_len = eq ? (size_t)(eq - q) : len;
            char *name = form_decode(q, name_len);
            char *value = eq ? form_decode(eq + 1, len - name_len - 1) : wafer_strndup("", 0);
            /* A repeated name keeps its first value; names are case-sensitive. */
            bool seen = false;
            for (size_t i = 0; i < ctx->query.len; i++)
                if (strcmp(ctx->query.items[i].name, name) == 0) seen = true;
            if (seen) {
                free(name);
                free(value);
            } else {
                pairs_push(&ctx->query, name, value);
            }
        }
        if (!end) break;
        q = end + 1;
    }
}

static char *build_url(const wafer_context *ctx) {
    wafer_buf url = WAFER_BUF_INIT;
    wafer_buf_puts(&url, ctx->scheme);
    wafer_buf_puts(&url, "://");
    bool ipv6 = strchr(ctx->host, ':') != NULL && ctx->host[0] != '[';
    wafer_buf_printf(&url, ipv6 ? "[%s]" : "%s", ctx->host);
    uint16_t port = ctx->req->port;
    bool default_port = (same_name(ctx->scheme, "http") && port == 80) ||
                        (same_name(ctx->scheme, "https") && port == 443);
    if (!default_port) wafer_buf_printf(&url, ":%u", (unsigned)port);
    if (ctx->path[0] != '/') wafer_buf_puts(&url, "/");
    wafer_buf_puts(&url, ctx->path);
    if (ctx->query_string[0]) wafer_buf_printf(&url, "?%s", ctx->query_string);
    char *out = wafer_strndup(wafer_buf_str(&url), url.len);
    wafer_buf_free(&url);
    return out;
}

const char *wafer_req_method(wafer_context *ctx) { return ctx->method; }
const char *wafer_req_scheme(wafer_context *ctx) { return ctx->scheme; }
const char *wafer_req_host(wafer_context *ctx) { return ctx->host; }
uint16_t wafer_req_port(wafer_context *ctx) { return ctx->req->port; }
const char *wafer_req_path(wafer_context *ctx) { return ctx->path; }
const char *wafer_req_query_string(wafer_context *ctx) { return ctx->query_string; }

const char *wafer_req_url(wafer_context *ctx) {
    if (!ctx->url) ctx->url = build_url(ctx);
    return ctx->url;
}

const char *wafer_req_query(wafer_context *ctx, const char *name) {
    parse_query(ctx);
    for (size_t i = 0; i < ctx->query.len; i++)
        if (strcmp(ctx->query.items[i].name, name) == 0) return ctx->query.items[i].value;
    return NULL;
}

size_t wafer_req_query_count(wafer_context *ctx) {
    parse_query(ctx);
    return ctx->query.len;
}

const char *wafer_req_query_name(wafer_context *ctx, size_t index) {
    parse_query(ctx);
    return index < ctx->query.len ? ctx->query.items[index].name : NULL;
}

const char *wafer_req_query_value(wafer_context *ctx, size_t index) {
    parse_query(ctx);
    return index < ctx->query.len ? ctx->query.items[index].value : NULL;
}

const char *wafer_req_header(wafer_context *ctx, const char *name) {
    wafer_pair *pair = pairs_find(&ctx->headers, name);
    return pair ? pair->value : NULL;
}

size_t wafer_req_header_count(wafer_context *ctx) { return ctx->headers.len; }

const char *wafer_req_header_name(wafer_context *ctx, size_t index) {
    return index < ctx->headers.len ? ctx->headers.items[index].name : NULL;
}

const char *wafer_req_header_value(wafer_context *ctx, size_t index) {
    return index < ctx->headers.len ? ctx->headers.items[index].value : NULL;
}

const uint8_t *wafer_req_body(wafer_context *ctx, size_t *len) {
    if (len) *len = ctx->req->body.len;
    return (const uint8_t *)ctx->body_text;
}

size_t wafer_req_body_length(wafer_context *ctx) { return ctx->req->body.len; }

const char *wafer_req_body_text(wafer_context *ctx) { return ctx->body_text; }

const char *wafer_req_body_json(wafer_context *ctx) {
    if (!ctx->body_json_checked) {
        ctx->body_json_checked = true;
        if (wafer_json_valid(ctx->body_text, ctx->req->body.len)) ctx->body_json = ctx->body_text;
    }
    return ctx->body_json;
}

bool wafer_req_is_json(wafer_context *ctx) {
    const char *type = wafer_req_header(ctx, "content-type");
    const char *json = "application/json";
    if (!type) return false;
    for (size_t i = 0; json[i]; i++)
        if (lower(type[i]) != json[i]) return false;
    return true;
}

static void read_request(wafer_context *ctx, exports_wafer_function_handler_request_t *req) {
    ctx->req = req;
    ctx->method = copy_string(&req->method);
    ctx->scheme = copy_string(&req->scheme);
    ctx->host = copy_string(&req->host);
    ctx->path = copy_string(&req->path);
    ctx->query_string = copy_string(&req->query_string);
    ctx->body_text = wafer_strndup(req->body.ptr, req->body.len);
    for (size_t i = 0; i < req->headers.len; i++) {
        char *name = copy_string(&req->headers.ptr[i].f0);
        for (char *c = name; *c; c++) *c = lower(*c);
        wafer_pair *seen = pairs_find(&ctx->headers, name);
        if (seen) {
            const function_string_t *more = &req->headers.ptr[i].f1;
            size_t had = strlen(seen->value);
            seen->value = wafer_grow(seen->value, had + 2 + more->len + 1);
            memcpy(seen->value + had, ", ", 2);
            memcpy(seen->value + had + 2, more->ptr, more->len);
            seen->value[had + 2 + more->len] = '\0';
            free(name);
        } else {
            pairs_push(&ctx->headers, name, copy_string(&req->headers.ptr[i].f1));
        }
    }
}

/* ---- the response ------------------------------------------------------------------------- */

void wafer_res_header(wafer_context *ctx, const char *name, const char *value) {
    char *lowered = wafer_strndup(name, strlen(name));
    for (char *c = lowered; *c; c++) *c = lower(*c);
    pairs_push(&ctx->res_headers, lowered, wafer_strndup(value, strlen(value)));
}

/* Makes the response: the default header unless one of that name was set, then the headers set
 * with wafer_res_header (which are used up). */
static int answer(wafer_context *ctx, const void *body, size_t len, int status, int default_status,
                  const char *default_name, const char *default_value) {
    if (status == 0) status = default_status;
    if (status < 100 || status > 999) {
        pairs_free(&ctx->res_headers);
        return wafer_fail(ctx, "invalid status code %d", status);
    }
    pairs_free(&ctx->answer_headers);
    free(ctx->answer_body);
    if (default_name && !pairs_find(&ctx->res_headers, default_name))
        pairs_push(&ctx->answer_headers, wafer_strndup(default_name, strlen(default_name)),
                   wafer_strndup(default_value, strlen(default_value)));
    for (size_t i = 0; i < ctx->res_headers.len; i++)
        pairs_push(&ctx->answer_headers, ctx->res_headers.items[i].name,
                   ctx->res_headers.items[i].value);
    free(ctx->res_headers.items);
    ctx->res_headers = (wafer_pairs){NULL, 0, 0};
    ctx->answer_body = (uint8_t *)wafer_strndup(body, len);
    ctx->answer_len = len;
    ctx->status = (uint16_t)status;
    ctx->answered = true;
    return WAFER_OK;
}

#define TEXT "text/plain; charset=utf-8"

int wafer_res_send(wafer_context *ctx, const char *text, int status) {
    return answer(ctx, text, text ? strlen(text) : 0, status, 200, "content-type", TEXT);
}

int wafer_res_text(wafer_context *ctx, const char *text, int status) {
    return wafer_res_send(ctx, text, status);
}

int wafer_res_json(wafer_context *ctx, const char *json, int status) {
    return answer(ctx, json, json ? strlen(json) : 0, status, 200, "content-type",
                  "application/json");
}

int wafer_res_binary(wafer_context *ctx, const void *data, size_t len, int status) {
    return answer(ctx, data, data ? len : 0, status, 200, "content-type",
                  "application/octet-stream");
}

int wafer_res_empty(wafer_context *ctx) { return answer(ctx, NULL, 0, 204, 204, NULL, NULL); }

int wafer_res_redirect(wafer_context *ctx, const char *url, int status) {
    return answer(ctx, NULL, 0, status, 301, "location", url ? url : "");
}

/* ---- buffers and JSON --------------------------------------------------------------------- */

void wafer_buf_append(wafer_buf *buf, const void *data, size_t len) {
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 64;
        while (cap < buf->len + len + 1) cap *= 2;
        buf->data = wafer_grow(buf->data, cap);
        buf->cap = cap;
    }
    if (len) memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void wafer_buf_puts(wafer_buf *buf, const char *text) { wafer_buf_append(buf, text, strlen(text)); }

void wafer_buf_printf(wafer_buf *buf, const char *format, ...) {
    va_list args;
    va_start(args, format);
    char *text = wafer_vformat(format, args);
    va_end(args);
    wafer_buf_puts(buf, text);
    free(text);
}

/* The length of the valid UTF-8 sequence at s[0..len), or 0 if there is none. */
static size_t utf8_sequence(const unsigned char *s, size_t len) {
    unsigned char c = s[0];
    size_t n;
    uint32_t min, cp;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) n = 2, min = 0x80, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 3, min = 0x800, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 4, min = 0x10000, cp = c & 0x07;
    else return 0;
    if (n > len) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

void wafer_buf_json_stringn(wafer_buf *buf, const char *text, size_t len) {
    const unsigned char *s = (const unsigned char *)text;
    wafer_buf_append(buf, "\"", 1);
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char escaped[2] = {'\\', (char)c};
            wafer_buf_append(buf, escaped, 2);
            i++;
        } else if (c < 0x20) {
            const char *short_form = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                                   : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (short_form) wafer_buf_puts(buf, short_form);
            else wafer_buf_printf(buf, "\\u%04x", c);
            i++;
        } else {
            size_t n = utf8_sequence(s + i, len - i);
            if (n == 0) {
                wafer_buf_puts(buf, "\xEF\xBF\xBD"); /* U+FFFD */
                i++;
            } else {
                wafer_buf_append(buf, s + i, n);
                i += n;
            }
        }
    }
    wafer_buf_append(buf, "\"", 1);
}

void wafer_buf_json_string(wafer_buf *buf, const char *text) {
    wafer_buf_json_stringn(buf, text ? text : "", text ? strlen(text) : 0);
}

const char *wafer_buf_str(const wafer_buf *buf) { return buf->data ? buf->data : ""; }

void wafer_buf_free(wafer_buf *buf) {
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

typedef struct {
    const unsigned char *s;
    size_t len, at;
    int depth;
} json_reader;

static void json_space(json_reader *r) {
    while (r->at < r->len && (r->s[r->at] == ' ' || r->s[r->at] == '\t' || r->s[r->at] == '\n' ||
                              r->s[r->at] == '\r'))
        r->at++;
}

static bool json_literal(json_reader *r, const char *word) {
    size_t n = strlen(word);
    if (r->len - r->at < n || memcmp(r->s + r->at, word, n) != 0) return false;
    r->at += n;
    return true;
}

static bool json_digits(json_reader *r) {
    size_t start = r->at;
    while (r->at < r->len && r->s[r->at] >= '0' && r->s[r->at] <= '9') r->at++;
    return r->at > start;
}

static bool json_number(json_reader *r) {
    if (r->at < r->len && r->s[r->at] == '-') r->at++;
    if (r->at < r->len && r->s[r->at] == '0') r->at++;
    else if (!json_digits(r)) return false;
    if (r->at < r->len && r->s[r->at] == '.') {
        r->at++;
        if (!json_digits(r)) return false;
    }
    if (r->at < r->len && (r->s[r->at] == 'e' || r->s[r->at] == 'E')) {
        r->at++;
        if (r->at < r->len && (r->s[r->at] == '+' || r->s[r->at] == '-')) r->at++;
        if (!json_digits(r)) return false;
    }
    return true;
}

static bool json_string(json_reader *r) {
    r->at++; /* the opening quote */
    while (r->at < r->len) {
        unsigned char c = r->s[r->at];
        if (c == '"') {
            r->at++;
            return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
            if (++r->at >= r->len) return false;
            c = r->s[r->at];
            if (c == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (r->at + i >= r->len || hex_value((char)r->s[r->at + i]) < 0) return false;
                r->at += 5;
            } else if (strchr("\"\\/bfnrt", c) && c) {
                r->at++;
            } else {
                return false;
            }
        } else {
            size_t n = utf8_sequence(r->s + r->at, r->len - r->at);
            if (n == 0) return false;
            r->at += n;
        }
    }
    return false;
}

static bool json_value(json_reader *r) {
    json_space(r);
    if (r->at >= r->len) return false;
    unsigned char c = r->s[r->at];
    if (c == '{' || c == '[') {
        unsigned char close = c == '{' ? '}' : ']';
        if (++r->depth > 512) return false;
        r->at++;
        json_space(r);
        if (r->at < r->len && r->s[r->at] == close) {
            r->at++;
            r->depth--;
            return true;
        }
        for (;;) {
            if (c == '{') {
                json_space(r);
                if (r->at >= r->len || r->s[r->at] != '"' || !json_string(r)) return false;
                json_space(r);
                if (r->at >= r->len || r->s[r->at] != ':') return false;
                r->at++;
            }
            if (!json_value(r)) return false;
            json_space(r);
            if (r->at >= r->len) return false;
            if (r->s[r->at] == ',') {
                r->at++;
                continue;
            }
            if (r->s[r->at] != close) return false;
            r->at++;
            r->depth--;
            return true;
        }
    }
    if (c == '"') return json_string(r);
    if (c == 't') return json_literal(r, "true");
    if (c == 'f') return json_literal(r, "false");
    if (c == 'n') return json_literal(r, "null");
    return json_number(r);
}

bool wafer_json_valid(const char *text, size_t len) {
    if (!text) return false;
    json_reader r = {(const unsigned char *)text, len, 0, 0};
    if (!json_value(&r)) return false;
    json_space(&r);
    return r.at == r.len;
}

/* ---- the exported handler ----------------------------------------------------------------- */

/* Hands `text` to the bindings, whose post-return function frees it after the host has read it
 * (but only when it is not empty: an empty string is freed here). */
static void take_string(function_string_t *out, char *text) {
    out->len = strlen(text);
    out->ptr = out->len ? (uint8_t *)text : NULL;
    if (!out->len) free(text);
}

static void free_context(wafer_context *ctx) {
    free(ctx->method);
    free(ctx->scheme);
    free(ctx->host);
    free(ctx->path);
    free(ctx->query_string);
    free(ctx->url);
    free(ctx->body_text);
    pairs_free(&ctx->headers);
    pairs_free(&ctx->query);
    pairs_free(&ctx->res_headers);
    pairs_free(&ctx->answer_headers);
    free(ctx->answer_body);
    free(ctx->failure);
}

bool exports_wafer_function_handler_handle(exports_wafer_function_handler_request_t *req,
                                           exports_wafer_function_handler_response_t *ret,
                                           function_string_t *err) {
    wafer_context ctx;
    memset(&ctx, 0, sizeof ctx);
    read_request(&ctx, req);

    int code = wafer_main(&ctx);

    /* printf and friends are buffered: what they wrote belongs to this invocation. */
    fflush(stdout);
    fflush(stderr);

    bool ok = code == WAFER_OK && ctx.answered;
    if (ok) {
        ret->status_code = ctx.status;
        ret->body.len = ctx.answer_len;
        ret->body.ptr = ctx.answer_len ? ctx.answer_body : NULL;
        if (ctx.answer_len) ctx.answer_body = NULL; /* else free_context frees it */
        size_t n = ctx.answer_headers.len;
        ret->headers.len = n;
        ret->headers.ptr = n ? wafer_alloc(n * sizeof *ret->headers.ptr) : NULL;
        for (size_t i = 0; i < n; i++) {
            take_string(&ret->headers.ptr[i].f0, ctx.answer_headers.items[i].name);
            take_string(&ret->headers.ptr[i].f1, ctx.answer_headers.items[i].value);
        }
        free(ctx.answer_headers.items);
        ctx.answer_headers = (wafer_pairs){NULL, 0, 0};
    } else if (ctx.failure) {
        take_string(err, ctx.failure);
        ctx.failure = NULL;
    } else if (code == WAFER_OK) {
        const char *text = "wafer_main returned without answering: call one of the wafer_res_* "
                           "functions and return what it returns";
        take_string(err, wafer_strndup(text, strlen(text)));
    } else {
        char text[64];
        int len = snprintf(text, sizeof text, "wafer_main returned %d", code);
        take_string(err, wafer_strndup(text, (size_t)len));
    }

    free_context(&ctx);
    /* wit-bindgen 0.61.1's generated request_free frees the strings but not the two lists (its
     * record destructor misses list types it named in an earlier interface), so free them first
     * and leave them empty: a fixed generator then finds nothing more to free. */
    function_list_tuple2_string_string_free(&req->headers);
    req->headers = (function_list_tuple2_string_string_t){NULL, 0};
    function_list_u8_free(&req->body);
    req->body = (function_list_u8_t){NULL, 0};
    exports_wafer_function_handler_request_free(req);
    return ok;
}
