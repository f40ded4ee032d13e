/* Reads the function's environment: `?name=VAR` answers with that variable's value (404 when it is
 * not set); without `?name`, with the names of all variables. */
#include <stdlib.h>
#include <string.h>

#include "wafer.h"

extern char **environ;

static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int wafer_main(wafer_context *ctx) {
    wafer_buf out = WAFER_BUF_INIT;
    int status = 200;
    const char *name = wafer_req_query(ctx, "name");

    if (!name || !*name) {
        /* Every NAME of NAME=value, sorted. */
        size_t count = 0;
        while (environ && environ[count]) count++;
        char **names = calloc(count + 1, sizeof *names);
        for (size_t i = 0; i < count; i++) {
            const char *eq = strchr(environ[i], '=');
            size_t len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
            names[i] = strndup(environ[i], len);
        }
        qsort(names, count, sizeof *names, by_name);
        wafer_buf_puts(&out, "{\"names\":[");
        for (size_t i = 0; i < count; i++) {
            if (i > 0) wafer_buf_puts(&out, ",");
            wafer_buf_json_string(&out, names[i]);
            free(names[i]);
        }
        wafer_buf_puts(&out, "]}");
        free(names);
    } else {
        const char *value = getenv(name);
        wafer_buf_puts(&out, "{\"name\":");
        wafer_buf_json_string(&out, name);
        if (value) {
            wafer_buf_puts(&out, ",\"value\":");
            wafer_buf_json_string(&out, value);
        } else {
            wafer_buf_puts(&out, ",\"error\":\"not set\"");
            status = 404;
        }
        wafer_buf_puts(&out, "}");
    }

    int answered = wafer_res_json(ctx, wafer_buf_str(&out), status);
    wafer_buf_free(&out);
    return answered;
}
