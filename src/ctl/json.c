/* The JSON writer of vtpmctl's output (see json.h). */
#include "ctl/json.h"

#include <inttypes.h>

void json_init(struct json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->has_items[0] = false;
    j->after_key = false;
}

static void indent(struct json *j)
{
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++) {
        fputs("  ", j->f);
    }
}

/* Before any value or key: the separator and the line break its position needs. */
static void item_start(struct json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth == 0) {
        return;
    }
    if (j->has_items[j->depth]) {
        fputc(',', j->f);
    }
    j->has_items[j->depth] = true;
    indent(j);
}

static void open_container(struct json *j, char c)
{
    item_start(j);
    fputc(c, j->f);
    if (j->depth + 1 < JSON_MAX_DEPTH) {
        j->depth++;
        j->has_items[j->depth] = false;
    }
}

static void close_container(struct json *j, char c)
{
    bool had = j->has_items[j->depth];
    if (j->depth > 0) {
        j->depth--;
    }
    if (had) {
        indent(j);
    }
    fputc(c, j->f);
    if (j->depth == 0) {
        fputc('\n', j->f);
    }
}

void json_obj_begin(struct json *j)
{
    open_container(j, '{');
}

void json_obj_end(struct json *j)
{
    close_container(j, '}');
}

void json_arr_begin(struct json *j)
{
    open_container(j, '[');
}

void json_arr_end(struct json *j)
{
    close_container(j, ']');
}

void json_write_string(FILE *f, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                fprintf(f, "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
            } else {
                fputc(*p, f);
            }
        }
    }
    fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
    item_start(j);
    json_write_string(j->f, key);
    fputs(": ", j->f);
    j->after_key = true;
}

void json_str(struct json *j, const char *s)
{
    item_start(j);
    json_write_string(j->f, s);
}

void json_bool(struct json *j, bool v)
{
    item_start(j);
    fputs(v ? "true" : "false", j->f);
}

void json_int(struct json *j, int64_t v)
{
    item_start(j);
    fprintf(j->f, "%" PRId64, v);
}

void json_null(struct json *j)
{
    item_start(j);
    fputs("null", j->f);
}

void json_kv_str(struct json *j, const char *key, const char *s)
{
    json_key(j, key);
    json_str(j, s);
}

void json_kv_bool(struct json *j, const char *key, bool v)
{
    json_key(j, key);
    json_bool(j, v);
}

void json_kv_int(struct json *j, const char *key, int64_t v)
{
    json_key(j, key);
    json_int(j, v);
}
