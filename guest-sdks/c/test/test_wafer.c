/*
 * Unit tests of the C SDK (src/wafer.c), run natively by test/run.sh, with AddressSanitizer and
 * LeakSanitizer when the compiler has them: the handler is called as the generated export glue
 * calls it (a request whose buffers the callee owns), and its answer is freed as the generated
 * post-return function frees it, so leaks and double frees in the SDK show up.
 *
 * The host's imports and the generated free helpers are stood in for here (the generated
 * bindings themselves only compile for wasm).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "function.h"
#include "wafer.h"

/* ---- stand-ins for the host and the generated helpers -------------------------------------- */

static char logs[4096], errors[4096];

static void append_line(char *to, function_string_t *message) {
    size_t had = strlen(to);
    snprintf(to + had, 4096 - had, "%.*s\n", (int)message->len, (const char *)message->ptr);
}

void wafer_function_context_log(function_string_t *message) { append_line(logs, message); }
void wafer_function_context_error(function_string_t *message) { append_line(errors, message); }

void function_string_free(function_string_t *s) {
    if (s->len > 0) free(s->ptr);
    s->ptr = NULL;
    s->len = 0;
}

void function_list_tuple2_string_string_free(function_list_tuple2_string_string_t *list) {
    if (list->len > 0) {
        for (size_t i = 0; i < list->len; i++) {
            function_string_free(&list->ptr[i].f0);
            function_string_free(&list->ptr[i].f1);
        }
        free(list->ptr);
    }
}

void function_list_u8_free(function_list_u8_t *list) {
    if (list->len > 0) free(list->ptr);
}

/* As wit-bindgen 0.61.1 generates it: the strings only. */
void exports_wafer_function_handler_request_free(exports_wafer_function_handler_request_t *req) {
    function_string_free(&req->method);
    function_string_free(&req->scheme);
    function_string_free(&req->host);
    function_string_free(&req->path);
    function_string_free(&req->query_string);
}

/* ---- calling the handler ------------------------------------------------------------------ */

static function_string_t owned(const char *text) {
    size_t len = strlen(text);
    function_string_t s = {len ? malloc(len) : NULL, len};
    if (len) memcpy(s.ptr, text, len);
    return s;
}

typedef struct {
    bool ok;
    int status;
    size_t header_count;
    char headers[1024]; /* "name: value\n" each */
    char body[4096];
    size_t body_len;
    char error[1024];
} outcome;

static int (*current)(wafer_context *ctx);

int wafer_main(wafer_context *ctx) { return current(ctx); }

/* Calls the handler with a request; headers are "name", "value" pairs ending in NULL. */
static outcome call(int (*function)(wafer_context *), const char *method, const char *scheme,
                    uint16_t port, const char *path, const char *query, const char **headers,
                    const char *body) {
    current = function;
    logs[0] = errors[0] = '\0';
    exports_wafer_function_handler_request_t req;
    req.method = owned(method);
    req.scheme = owned(scheme);
    req.host = owned("example.com");
    req.port = port;
    req.path = owned(path);
    req.query_string = owned(query);
    size_t n = 0;
    while (headers && headers[2 * n]) n++;
    req.headers.len = n;
    req.headers.ptr = n ? malloc(n * sizeof *req.headers.ptr) : NULL;
    for (size_t i = 0; i < n; i++) {
        req.headers.ptr[i].f0 = owned(headers[2 * i]);
        req.headers.ptr[i].f1 = owned(headers[2 * i + 1]);
    }
    function_string_t b = owned(body ? body : "");
    req.body.ptr = b.ptr;
    req.body.len = b.len;

    exports_wafer_function_handler_response_t ret;
    function_string_t err;
    outcome out;
    memset(&out, 0, sizeof out);
    out.ok = exports_wafer_function_handler_handle(&req, &ret, &err);
    if (out.ok) {
        out.status = ret.status_code;
        out.header_count = ret.headers.len;
        for (size_t i = 0; i < ret.headers.len; i++) {
            size_t had = strlen(out.headers);
            snprintf(out.headers + had, sizeof out.headers - had, "%.*s: %.*s\n",
                     (int)ret.headers.ptr[i].f0.len, (const char *)ret.headers.ptr[i].f0.ptr,
                     (int)ret.headers.ptr[i].f1.len, (const char *)ret.headers.ptr[i].f1.ptr);
        }
        out.body_len = ret.body.len;
        if (ret.body.len) memcpy(out.body, ret.body.ptr, ret.body.len < 4095 ? ret.body.len : 4095);
        /* What the generated post-return function frees. */
        function_list_tuple2_string_string_free(&ret.headers);
        function_list_u8_free(&ret.body);
    } else {
        snprintf(out.error, sizeof out.error, "%.*s", (int)err.len, (const char *)err.ptr);
        function_string_free(&err);
    }
    return out;
}

/* ---- checks --------------------------------------------------------------------------------- */

static int passed, failed;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (cond) {                                                                          \
            passed++;                                                                        \
        } else {                                                                             \
            failed++;                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
        }                                                                                    \
    } while (0)

#define CHECK_STR(got, want)                                                                 \
    do {                                                                                     \
        const char *g_ = (got), *w_ = (want);                                                \
        if ((g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0)) {               \
            passed++;                                                                        \
        } else {                                                                             \
            failed++;                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
                    #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");                           \
        }                                                                                    \
    } while (0)

static int hello(wafer_context *ctx) {
    wafer_log(ctx, "Hello, %s!", "Logs");
    wafer_error(ctx, "Hello, Errors!");
    return wafer_res_text(ctx, "Hello, World!", 0);
}

static void test_text_answer_and_logs(void) {
    outcome out = call(hello, "GET", "http", 80, "/", "", NULL, NULL);
    CHECK(out.ok);
    CHECK(out.status == 200);
    CHECK_STR(out.body, "Hello, World!");
    CHECK_STR(out.headers, "content-type: text/plain; charset=utf-8\n");
    CHECK_STR(logs, "Hello, Logs!\n");
    CHECK_STR(errors, "Hello, Errors!\n");
}

static char seen[2048];

static int inspect(wafer_context *ctx) {
    snprintf(seen, sizeof seen, "%s|%s|a=%s|b=%s|empty=%s|flag=%s|A%%zz=%s|none=%s|n=%zu|first=%s",
             wafer_req_method(ctx), wafer_req_url(ctx), wafer_req_query(ctx, "a"),
             wafer_req_query(ctx, "b"), wafer_req_query(ctx, "empty"), wafer_req_query(ctx, "flag"),
             wafer_req_query(ctx, "A%zz"), wafer_req_query(ctx, "none") ? "?" : "NULL",
             wafer_req_query_count(ctx), wafer_req_query_name(ctx, 0));
    return wafer_res_empty(ctx);
}

static void test_query_and_url(void) {
    outcome out = call(inspect, "POST", "http", 8080, "/p", "a=1&b=two+words%21&a=3&empty=&flag&%41%zz=x",
                       NULL, NULL);
    CHECK(out.ok);
    CHECK(out.status == 204);
    CHECK(out.body_len == 0);
    CHECK(out.header_count == 0);
    CHECK_STR(seen, "POST|http://example.com:8080/p?a=1&b=two+words%21&a=3&empty=&flag&%41%zz=x|"
                    "a=1|b=two words!|empty=|flag=|A%zz=x|none=NULL|n=5|first=a");

    call(inspect, "GET", "https", 443, "/", "", NULL, NULL);
    CHECK(strncmp(seen, "GET|https://example.com/|", 25) == 0);
}

static int headers_and_body(wafer_context *ctx) {
    size_t len = 0;
    const uint8_t *body = wafer_req_body(ctx, &len);
    snprintf(seen, sizeof seen, "%s|%s|%s|%zu|%s:%s|%zu|%.*s|%s|%d",
             wafer_req_header(ctx, "x-a"), wafer_req_header(ctx, "CONTENT-TYPE"),
             wafer_req_header(ctx, "missing") ? "?" : "NULL", wafer_req_header_count(ctx),
             wafer_req_header_name(ctx, 0), wafer_req_header_value(ctx, 0), len, (int)len,
             (const char *)body, wafer_req_body_json(ctx) ? "json" : "not json",
             wafer_req_is_json(ctx));
    return wafer_res_json(ctx, wafer_req_body_text(ctx), 201);
}

static void test_headers_and_body(void) {
    const char *headers[] = {"X-A", "1", "content-type", "Application/JSON; charset=utf-8",
                             "x-a", "2", NULL};
    outcome out = call(headers_and_body, "PUT", "http", 80, "/", "", headers, "{\"k\": [1, 2.5e3]}");
    CHECK(out.ok);
    CHECK(out.status == 201);
    CHECK_STR(seen, "1, 2|Application/JSON; charset=utf-8|NULL|2|x-a:1, 2|17|{\"k\": [1, 2.5e3]}|json|1");
    CHECK_STR(out.headers, "content-type: application/json\n");
    CHECK_STR(out.body, "{\"k\": [1, 2.5e3]}");

    out = call(headers_and_body, "PUT", "http", 80, "/", "", NULL, "plain");
    CHECK(strstr(seen, "|not json|0") != NULL);
}

static int custom_headers(wafer_context *ctx) {
    wafer_res_text(ctx, "replaced", 200);
    wafer_res_header(ctx, "Content-Type", "text/csv");
    wafer_res_header(ctx, "X-Empty", "");
    return wafer_res_send(ctx, "a,b\n", 202);
}

static void test_headers_override_defaults(void) {
    outcome out = call(custom_headers, "GET", "http", 80, "/", "", NULL, NULL);
    CHECK(out.ok);
    CHECK(out.status == 202);
    CHECK_STR(out.headers, "content-type: text/csv\nx-empty: \n");
    CHECK_STR(out.body, "a,b\n");
}

static int redirect(wafer_context *ctx) { return wafer_res_redirect(ctx, "https://appwrite.io/", 0); }

static int binary(wafer_context *ctx) {
    static const unsigned char bytes[] = {0, 1, 2, 3, 255};
    return wafer_res_binary(ctx, bytes, sizeof bytes, 0);
}

static void test_redirect_and_binary(void) {
    outcome out = call(redirect, "GET", "http", 80, "/", "", NULL, NULL);
    CHECK(out.status == 301);
    CHECK_STR(out.headers, "location: https://appwrite.io/\n");
    out = call(binary, "GET", "http", 80, "/", "", NULL, NULL);
    CHECK(out.status == 200);
    CHECK(out.body_len == 5 && (unsigned char)out.body[4] == 255);
    CHECK_STR(out.headers, "content-type: application/octet-stream\n");
}

static int fails(wafer_context *ctx) {
    wafer_res_text(ctx, "not this", 200);
    return wafer_fail(ctx, "bad %s", wafer_req_path(ctx));
}
static int returns_code(wafer_context *ctx) { (void)ctx; return 3; }
static int unanswered(wafer_context *ctx) { (void)ctx; return WAFER_OK; }
static int bad_status(wafer_context *ctx) { return wafer_res_text(ctx, "x", 42); }
static int empty_failure(wafer_context *ctx) { return wafer_fail(ctx, "%s", ""); }

static void test_failures(void) {
    outcome out = call(fails, "GET", "http", 80, "/x", "", NULL, NULL);
    CHECK(!out.ok);
    CHECK_STR(out.error, "bad /x");
    out = call(returns_code, "GET", "http", 80, "/", "", NULL, NULL);
    CHECK_STR(out.error, "wafer_main returned 3");
    out = call(unanswered, "GET", "http", 80, "/", "", NULL, NULL);
    CHECK(!out.ok && strstr(out.error, "without answering") != NULL);
    out = call(bad_status, "GET", "http", 80, "/", "", NULL, NULL);
    CHECK_STR(out.error, "invalid status code 42");
    out = call(empty_failure, "GET", "http", 80, "/", "", NULL, NULL);
    CHECK(!out.ok);
    CHECK_STR(out.error, "");
}

static void test_json(void) {
    const char *valid[] = {"0", "-0.5e+3", "\"\\u00e9\\n\"", "[]", "{}", " {\"a\":[true,false,null]} ",
                           "\"\xc3\xa9\"", "1E9"};
    const char *invalid[] = {"", "01", "1.", "[1,]", "{\"a\"}", "{a:1}", "\"\t\"", "nul", "[1] 2",
                             "\"\\x\"", "\"\xc3\"", "-", "\"\\u12\"", "{\"a\":1,}"};
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        if (!wafer_json_valid(valid[i], strlen(valid[i]))) fprintf(stderr, "  valid: %s\n", valid[i]);
        CHECK(wafer_json_valid(valid[i], strlen(valid[i])));
    }
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        if (wafer_json_valid(invalid[i], strlen(invalid[i]))) fprintf(stderr, "  invalid: %s\n", invalid[i]);
        CHECK(!wafer_json_valid(invalid[i], strlen(invalid[i])));
    }
    char deep[2000];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    CHECK(!wafer_json_valid(deep, sizeof deep)); /* deeper than 512 */

    wafer_buf buf = WAFER_BUF_INIT;
    CHECK_STR(wafer_buf_str(&buf), "");
    wafer_buf_json_stringn(&buf, "a\"b\\c\n\x01\xc3\xa9\xff\xe2\x82", 12);
    CHECK_STR(wafer_buf_str(&buf), "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    CHECK(wafer_json_valid(buf.data, buf.len));
    wafer_buf_printf(&buf, "%d%s", 12, "x");
    CHECK(buf.len == strlen(buf.data));
    wafer_buf_free(&buf);
    CHECK(buf.data == NULL && buf.len == 0);
}

int main(void) {
    test_text_answer_and_logs();
    test_query_and_url();
    test_headers_and_body();
    test_headers_override_defaults();
    test_redirect_and_binary();
    test_failures();
    test_json();
    /* The summary node's test runner prints, which scripts/test.sh adds up. */
    printf("# pass %d\n# fail %d\n", passed, failed);
    return failed ? 1 : 0;
}
