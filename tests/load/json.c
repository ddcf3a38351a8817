/* json.c -- write JSON into a growing buffer, escaping strings as RFC 8259 asks */

#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct json *j, const char *s, size_t n)
{
    if (j->failed)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap == 0 ? 256 : j->cap;
        while (j->len + n + 1 > cap)
            cap *= 2;
        char *buf = realloc(j->buf, cap);
        if (buf == NULL) {
            j->failed = true;
            return;
        }
        j->buf = buf;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void puts_(struct json *j, const char *s)
{
    put(j, s, strlen(s));
}

/* A string in quotes: ", \ and control characters escaped; other bytes as they are. */
static void quoted(struct json *j, const char *s)
{
    put(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char esc[8];
        switch (*p) {
        case '"':  puts_(j, "\\\""); break;
        case '\\': puts_(j, "\\\\"); break;
        case '\n': puts_(j, "\\n"); break;
        case '\r': puts_(j, "\\r"); break;
        case '\t': puts_(j, "\\t"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                puts_(j, esc);
            } else {
                put(j, (const char *)p, 1);
            }
        }
    }
    put(j, "\"", 1);
}

/* The comma and the key before a member; only the outermost object has no key. */
static void member(struct json *j, const char *key)
{
    if (j->failed)
        return;
    if ((j->depth == 0) != (key == NULL) || (j->depth == 0 && j->len > 0)) {
        j->failed = true;
        return;
    }
    if (j->need_comma[j->depth])
        put(j, ",", 1);
    j->need_comma[j->depth] = true;
    if (key != NULL) {
        quoted(j, key);
        put(j, ":", 1);
    }
}

void json_begin(struct json *j, const char *key)
{
    member(j, key);
    if (j->failed)
        return;
    if (j->depth == JSON_MAX_DEPTH) {
        j->failed = true;
        return;
    }
    j->depth++;
    j->need_comma[j->depth] = false;
    put(j, "{", 1);
}

void json_end(struct json *j)
{
    if (j->failed)
        return;
    if (j->depth == 0) {
        j->failed = true;
        return;
    }
    j->depth--;
    put(j, "}", 1);
}

static void scalar(struct json *j, const char *key, const char *text)
{
    if (key == NULL) {       /* a bare value is never what we mean */
        j->failed = true;
        return;
    }
    member(j, key);
    puts_(j, text);
}

void json_string(struct json *j, const char *key, const char *value)
{
    if (value == NULL) {
        json_null(j, key);
        return;
    }
    if (key == NULL) {
        j->failed = true;
        return;
    }
    member(j, key);
    quoted(j, value);
}

void json_uint(struct json *j, const char *key, uint64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)value);
    scalar(j, key, text);
}

void json_double(struct json *j, const char *key, double value, int decimals)
{
    if (!isfinite(value)) {
        json_null(j, key);
        return;
    }
    if (decimals < 0 || decimals > 9) {
        j->failed = true;
        return;
    }
    char text[64];
    int n = snprintf(text, sizeof text, "%.*f", decimals, value);
    if (n < 0 || (size_t)n >= sizeof text) {
        j->failed = true;
        return;
    }
    if (strcmp(text, "-0") == 0 || strspn(text, "-0.") == strlen(text))
        snprintf(text, sizeof text, "%.*f", decimals, 0.0);  /* no "-0.0" */
    scalar(j, key, text);
}

void json_null(struct json *j, const char *key)
{
    scalar(j, key, "null");
}

const char *json_finish(struct json *j)
{
    if (j->failed || j->depth != 0 || j->len == 0)
        return NULL;
    return j->buf;
}

void json_free(struct json *j)
{
    free(j->buf);
    *j = (struct json){ 0 };
}
