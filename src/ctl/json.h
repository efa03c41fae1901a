/*
 * A small JSON writer for vtpmctl's output: objects, arrays, strings, booleans, integers,
 * indented two spaces per level. Strings are escaped per RFC 8259 §7 (quote, backslash and
 * every control character; bytes >= 0x80 pass through, so UTF-8 stays UTF-8).
 *
 * The writer only formats: it never sees a secret (nothing secret is ever output). Errors of
 * the underlying FILE are sticky in the FILE (ferror) and checked once by the caller.
 */
#ifndef VTPM_CTL_JSON_H
#define VTPM_CTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
    FILE *f;
    int depth;
    bool has_items[JSON_MAX_DEPTH]; /* does the open container already hold an item? */
    bool after_key;                 /* the next value follows a key on the same line */
};

void json_init(struct json *j, FILE *f);

void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);

/* A member name inside an object; the next call writes its value. */
void json_key(struct json *j, const char *key);

void json_str(struct json *j, const char *s);
void json_bool(struct json *j, bool v);
void json_int(struct json *j, int64_t v);
void json_null(struct json *j);

/* Shorthands for a member with its value. */
void json_kv_str(struct json *j, const char *key, const char *s);
void json_kv_bool(struct json *j, const char *key, bool v);
void json_kv_int(struct json *j, const char *key, int64_t v);

/* Write s as a JSON string literal (with quotes) to f. */
void json_write_string(FILE *f, const char *s);

#endif
