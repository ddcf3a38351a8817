/* json.h -- a small JSON writer: one object, nested objects, numbers, strings */
#ifndef SOCKLOAD_JSON_H
#define SOCKLOAD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 8

/*
 * Builds the text in memory. A call that fails (out of memory, too deep, an
 * end without a begin) marks the writer failed and every later call does
 * nothing; json_finish then returns NULL, so a failure is never silent.
 */
struct json {
    char *buf;
    size_t len, cap;
    int depth;
    bool need_comma[JSON_MAX_DEPTH + 1];
    bool failed;
};

/* key is NULL only for the outermost object. */
void json_begin(struct json *j, const char *key);
void json_end(struct json *j);
void json_string(struct json *j, const char *key, const char *value); /* NULL: null */
void json_uint(struct json *j, const char *key, uint64_t value);
void json_double(struct json *j, const char *key, double value, int decimals); /* NaN, inf: null */
void json_null(struct json *j, const char *key);

/* The finished text (the writer's buffer, NUL-terminated), or NULL if any
   call failed or an object is still open. */
const char *json_finish(struct json *j);
void json_free(struct json *j);

#endif
