/* report.c -- the figures of each mode, as one JSON object */

#include "report.h"

#include <stdlib.h>

/* Microseconds with one decimal, from nanoseconds. */
static void micros(struct json *j, const char *key, uint64_t ns)
{
    json_double(j, key, (double)ns / 1000.0, 1);
}

/* x per second, or null when nothing was measured. */
static void per_second(struct json *j, const char *key, double x, double seconds, int decimals)
{
    if (seconds > 0)
        json_double(j, key, x / seconds, decimals);
    else
        json_null(j, key);
}

static void pingpong(struct json *j, const struct options *o, const struct results *r)
{
    if (o->rate > 0)
        json_double(j, "rate", o->rate, 3);
    else
        json_null(j, "rate");
    if (o->count > 0)
        json_uint(j, "count", o->count);
    else
        json_null(j, "count");
    json_double(j, "connect_s", r->connect_s, 3);
    json_double(j, "elapsed_s", r->elapsed_s, 3);
    json_uint(j, "messages", r->messages);
    per_second(j, "msgs_per_s", (double)r->messages, r->elapsed_s, 1);
    if (o->rate > 0)
        json_uint(j, "late_sends", r->late);
    json_begin(j, "rtt_us");
    static const struct { const char *key; unsigned permille; } ranks[] = {
        { "p50", 500 }, { "p99", 990 }, { "p99_9", 999 }, { "max", 1000 },
    };
    for (size_t i = 0; i < sizeof ranks / sizeof ranks[0]; i++) {
        uint64_t ns;
        if (percentile(r->rtt_ns.v, r->rtt_ns.n, ranks[i].permille, &ns) == 0)
            micros(j, ranks[i].key, ns);
        else
            json_null(j, ranks[i].key);
    }
    json_end(j);
}

void report_write(struct json *j, const struct options *o, const struct results *r)
{
    json_begin(j, NULL);
    json_string(j, "mode", mode_name(o->mode));
    json_string(j, "host", o->host);
    json_uint(j, "port", (uint64_t)strtoul(o->port, NULL, 10));
    json_uint(j, "connections", o->connections);
    json_uint(j, "size", o->size);
    if (o->has_duration)
        json_double(j, "duration_s", o->duration_s, 3);
    else
        json_null(j, "duration_s");

    switch (o->mode) {
    case MODE_PINGPONG:
        pingpong(j, o, r);
        break;
    case MODE_BULK:
        json_double(j, "connect_s", r->connect_s, 3);
        json_double(j, "elapsed_s", r->elapsed_s, 3);
        json_uint(j, "bytes", r->bytes);
        per_second(j, "mb_per_s", (double)r->bytes / 1e6, r->elapsed_s, 1);
        break;
    case MODE_RATE:
        json_double(j, "elapsed_s", r->elapsed_s, 3);
        json_uint(j, "attempts", r->attempts);
        json_uint(j, "completed", r->completed);
        per_second(j, "connections_per_s", (double)r->completed, r->elapsed_s, 1);
        break;
    case MODE_HOLD:
        json_uint(j, "connected", r->connected);
        json_double(j, "connect_s", r->connect_s, 3);
        json_uint(j, "alive_at_start", r->alive_at_start);
        json_uint(j, "alive", r->alive);
        json_double(j, "held_s", r->elapsed_s, 3);
        break;
    }

    json_uint(j, "max_rss_kib", (uint64_t)r->max_rss_kib);
    json_begin(j, "errors");
    json_uint(j, "count", r->errors);
    json_string(j, "first", r->errors > 0 ? r->first_error : NULL);
    json_end(j);
    json_end(j);
}
