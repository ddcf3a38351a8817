/* sockload_test.c -- unit tests of sockload's pure parts: options, percentiles, JSON, the echo check, the heap */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo.h"
#include "heap.h"
#include "json.h"
#include "options.h"
#include "stats.h"

/* ---- options ---------------------------------------------------------- */

/* Parse a command line given as one string, split at spaces. */
static int parse(const char *line, struct options *o, char *why, size_t whylen)
{
    static char copy[512];
    char *argv[32] = { "sockload" };
    int argc = 1;
    snprintf(copy, sizeof copy, "%s", line);
    for (char *tok = strtok(copy, " "); tok != NULL; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    return options_parse(argc, argv, o, why, whylen);
}

Test(options, defaults_per_mode)
{
    struct options o;
    char why[200];
    cr_assert(eq(int, parse("--port 7 --mode pingpong", &o, why, sizeof why), 0));
    cr_assert(eq(str, (char *)o.host, "127.0.0.1"));
    cr_assert(eq(ulong, o.connections, 1));
    cr_assert(eq(u64, o.size, 64));
    cr_assert(o.has_duration);
    cr_assert(eq(dbl, o.duration_s, 10.0));
    cr_assert(eq(dbl, o.rate, 0.0));
    cr_assert(eq(int, parse("--mode bulk --port 7", &o, why, sizeof why), 0));
    cr_assert(eq(u64, o.size, 16ULL << 20));
    cr_assert(not(o.has_duration));
}

Test(options, every_flag)
{
    struct options o;
    char why[200];
    cr_assert(eq(int, parse("--host ::1 --port 65535 --mode pingpong --connections 10000 "
                            "--size 0100 --duration 2.5 --rate 1 --count 3", &o, why, sizeof why), 0));
    cr_assert(eq(str, (char *)o.host, "::1"));
    cr_assert(eq(str, (char *)o.port, "65535"));
    cr_assert(eq(int, o.mode, MODE_PINGPONG));
    cr_assert(eq(ulong, o.connections, 10000));
    cr_assert(eq(u64, o.size, 100));
    cr_assert(eq(dbl, o.duration_s, 2.5));
    cr_assert(eq(dbl, o.rate, 1.0));
    cr_assert(eq(u64, o.count, 3));
    cr_assert(o.has_duration);
}

Test(options, count_alone_means_no_duration)
{
    struct options o;
    char why[200];
    cr_assert(eq(int, parse("--port 7 --mode pingpong --count 5", &o, why, sizeof why), 0));
    cr_assert(not(o.has_duration));
}

Test(options, help_wins)
{
    struct options o;
    char why[200];
    cr_assert(eq(int, parse("--bogus --help", &o, why, sizeof why), -1));
    cr_assert(eq(int, parse("--help --bogus", &o, why, sizeof why), 0));
    cr_assert(o.help);
}

/* Arrays, not pointers: Criterion copies the parameters into a test process
   that is a fresh exec of this program, where a pointer would not point. */
struct bad_line {
    char line[80];
    char why[48];      /* a part of the reason */
};

static struct bad_line bad_lines[] = {
    { "--mode pingpong", "--port is required" },
    { "--port 7", "--mode is required" },
    { "--port 7 --mode ping", "bad value for --mode" },
    { "--port 0 --mode bulk", "bad value for --port" },
    { "--port 65536 --mode bulk", "bad value for --port" },
    { "--port -1 --mode bulk", "bad value for --port" },
    { "--port 7x --mode bulk", "bad value for --port" },
    { "--port 7 --mode bulk --connections 0", "bad value for --connections" },
    { "--port 7 --mode bulk --connections 1000001", "bad value for --connections" },
    { "--port 7 --mode bulk --size 1073741825", "bad value for --size" },
    { "--port 7 --mode bulk --size 18446744073709551616", "bad value for --size" },
    { "--port 7 --mode pingpong --size 0", "--size must be at least 1" },
    { "--port 7 --mode hold --size 0", "--size must be at least 1" },
    { "--port 7 --mode pingpong --duration 0", "--duration must be more than 0" },
    { "--port 7 --mode rate --duration nan", "bad value for --duration" },
    { "--port 7 --mode rate --duration inf", "bad value for --duration" },
    { "--port 7 --mode rate --duration 0x10", "bad value for --duration" },
    { "--port 7 --mode rate --duration -1", "bad value for --duration" },
    { "--port 7 --mode pingpong --rate 0", "bad value for --rate" },
    { "--port 7 --mode pingpong --count 0", "bad value for --count" },
    { "--port 7 --mode bulk --rate 1", "--rate is for --mode pingpong only" },
    { "--port 7 --mode hold --count 1", "--count is for --mode pingpong only" },
    { "--port 7 --mode bulk --duration 1", "--duration does not apply" },
    { "--port 7 --mode bulk --verbose", "unknown option: --verbose" },
    { "--port 7 --mode bulk extra", "unexpected argument: extra" },
    { "--port 7 --mode", "--mode needs a value" },
};

ParameterizedTestParameters(options, refused)
{
    return cr_make_param_array(struct bad_line, bad_lines, sizeof bad_lines / sizeof bad_lines[0]);
}

ParameterizedTest(struct bad_line *b, options, refused)
{
    struct options o;
    char why[200] = "";
    cr_assert(eq(int, parse(b->line, &o, why, sizeof why), -1), "accepted: %s", b->line);
    cr_assert(strstr(why, b->why) != NULL, "%s: said \"%s\", not \"%s\"", b->line, why, b->why);
}

Test(options, hold_may_hold_for_zero_seconds)
{
    struct options o;
    char why[200];
    cr_assert(eq(int, parse("--port 7 --mode hold --duration 0", &o, why, sizeof why), 0));
    cr_assert(eq(dbl, o.duration_s, 0.0));
}

/* ---- percentiles ------------------------------------------------------ */

Test(percentile, nearest_rank)
{
    uint64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (uint64_t)i + 1;            /* 1..100 */
    uint64_t p;
    cr_assert(eq(int, percentile(v, 100, 500, &p), 0));
    cr_assert(eq(u64, p, 50));
    cr_assert(eq(int, percentile(v, 100, 990, &p), 0));
    cr_assert(eq(u64, p, 99));
    cr_assert(eq(int, percentile(v, 100, 999, &p), 0));
    cr_assert(eq(u64, p, 100));            /* ceil(99.9) = 100 */
    cr_assert(eq(int, percentile(v, 100, 1000, &p), 0));
    cr_assert(eq(u64, p, 100));
    cr_assert(eq(int, percentile(v, 100, 1, &p), 0));
    cr_assert(eq(u64, p, 1));
}

Test(percentile, small_and_edge_cases)
{
    uint64_t one[] = { 42 };
    uint64_t p = 0;
    cr_assert(eq(int, percentile(one, 1, 500, &p), 0));
    cr_assert(eq(u64, p, 42));
    cr_assert(eq(int, percentile(one, 1, 999, &p), 0));
    cr_assert(eq(u64, p, 42));
    cr_assert(eq(int, percentile(one, 0, 500, &p), -1));
    cr_assert(eq(int, percentile(one, 1, 0, &p), -1));
    cr_assert(eq(int, percentile(one, 1, 1001, &p), -1));
    uint64_t two[] = { 10, 20 };
    cr_assert(eq(int, percentile(two, 2, 500, &p), 0));
    cr_assert(eq(u64, p, 10));             /* ceil(1.0) = 1: the first */
    cr_assert(eq(int, percentile(two, 2, 501, &p), 0));
    cr_assert(eq(u64, p, 20));
}

Test(percentile, p999_of_a_thousand_and_one)
{
    /* 1001 samples: rank ceil(1001 * 0.999) = ceil(999.999) = 1000. */
    uint64_t *v = malloc(1001 * sizeof *v);
    cr_assert(v != NULL);
    for (int i = 0; i < 1001; i++)
        v[i] = (uint64_t)i;
    uint64_t p;
    cr_assert(eq(int, percentile(v, 1001, 999, &p), 0));
    cr_assert(eq(u64, p, 999));
    free(v);
}

Test(samples, sort_and_grow)
{
    struct samples s = { 0 };
    for (uint64_t i = 0; i < 10000; i++)
        cr_assert(eq(int, samples_add(&s, (i * 7919) % 10000), 0));
    samples_sort(&s);
    cr_assert(eq(sz, s.n, 10000));
    for (size_t i = 0; i < s.n; i++)
        cr_assert(eq(u64, s.v[i], i));
    uint64_t p;
    cr_assert(eq(int, percentile(s.v, s.n, 990, &p), 0));
    cr_assert(eq(u64, p, 9899));
    samples_free(&s);
    cr_assert(eq(ptr, s.v, NULL));
}

/* ---- JSON ------------------------------------------------------------- */

Test(json, object_with_every_kind_of_value)
{
    struct json j = { 0 };
    json_begin(&j, NULL);
    json_string(&j, "mode", "pingpong");
    json_uint(&j, "port", 65535);
    json_uint(&j, "big", UINT64_MAX);
    json_double(&j, "rate", 0.5, 3);
    json_null(&j, "count");
    json_begin(&j, "rtt_us");
    json_double(&j, "p50", 41.25, 1);
    json_end(&j);
    json_begin(&j, "empty");
    json_end(&j);
    json_string(&j, "first", NULL);
    json_end(&j);
    const char *text = json_finish(&j);
    cr_assert(text != NULL);
    cr_assert(eq(str, (char *)text,
                 "{\"mode\":\"pingpong\",\"port\":65535,\"big\":18446744073709551615,"
                 "\"rate\":0.500,\"count\":null,\"rtt_us\":{\"p50\":41.2},\"empty\":{},"
                 "\"first\":null}"));
    json_free(&j);
}

Test(json, strings_are_escaped)
{
    struct json j = { 0 };
    json_begin(&j, NULL);
    json_string(&j, "e", "a\"b\\c\nd\te\x01\x1f/\xc3\xa9");
    json_end(&j);
    const char *text = json_finish(&j);
    cr_assert(text != NULL);
    cr_assert(eq(str, (char *)text, "{\"e\":\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f/\xc3\xa9\"}"));
    json_free(&j);
}

Test(json, non_finite_numbers_are_null)
{
    struct json j = { 0 };
    json_begin(&j, NULL);
    json_double(&j, "a", 1.0 / 0.0, 1);
    json_double(&j, "b", 0.0 / 0.0, 1);
    json_double(&j, "c", -0.0001, 1);
    json_end(&j);
    const char *text = json_finish(&j);
    cr_assert(text != NULL);
    cr_assert(eq(str, (char *)text, "{\"a\":null,\"b\":null,\"c\":0.0}"));
    json_free(&j);
}

Test(json, misuse_fails_loudly)
{
    struct json j = { 0 };
    json_begin(&j, NULL);
    json_uint(&j, "a", 1);
    cr_assert(eq(ptr, (void *)json_finish(&j), NULL));    /* still open */
    json_end(&j);
    cr_assert(json_finish(&j) != NULL);
    json_end(&j);                                          /* one end too many */
    cr_assert(eq(ptr, (void *)json_finish(&j), NULL));
    json_free(&j);

    json_begin(&j, NULL);
    json_uint(&j, NULL, 1);                               /* a member without a key */
    json_end(&j);
    cr_assert(eq(ptr, (void *)json_finish(&j), NULL));
    json_free(&j);

    json_begin(&j, NULL);
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        json_begin(&j, "x");                              /* one level too deep */
    for (int i = 0; i <= JSON_MAX_DEPTH; i++)
        json_end(&j);
    cr_assert(eq(ptr, (void *)json_finish(&j), NULL));
    json_free(&j);

    cr_assert(eq(ptr, (void *)json_finish(&j), NULL));    /* nothing written */
}

/* ---- payload and the echo check ----------------------------------------- */

Test(payload, any_offset_gives_the_same_bytes)
{
    unsigned char whole[100], part[37];
    payload_fill(5, 0, whole, sizeof whole);
    for (uint64_t off = 0; off + sizeof part <= sizeof whole; off++) {
        payload_fill(5, off, part, sizeof part);
        cr_assert(eq(int, memcmp(part, whole + off, sizeof part), 0), "offset %llu",
                  (unsigned long long)off);
    }
    unsigned char other[100];
    payload_fill(6, 0, other, sizeof other);
    cr_assert(ne(int, memcmp(other, whole, sizeof whole), 0));
}

/* Send all of an exchange in chunks of at most step bytes. */
static void send_all(struct echo *e, size_t step)
{
    unsigned char buf[4096];
    size_t n;
    while ((n = echo_fill(e, buf, step)) > 0)
        cr_assert(eq(int, echo_sent(e, n), 0));
}

/* What the server would send back: stream bytes [from, from + n). */
static unsigned char *echoed(const struct echo *e, uint64_t from, size_t n)
{
    unsigned char *buf = malloc(n == 0 ? 1 : n);
    cr_assert(buf != NULL);
    payload_fill(e->seed, from, buf, n);
    return buf;
}

Test(echo, one_message_in_pieces)
{
    struct echo e;
    echo_init(&e, 99);
    cr_assert(eq(int, e.state, ECHO_IDLE));
    cr_assert(eq(int, echo_begin(&e, 10), 0));
    cr_assert(eq(int, e.state, ECHO_SENDING));
    cr_assert(eq(int, echo_begin(&e, 10), -1));   /* one exchange at a time */
    unsigned char buf[16];
    cr_assert(eq(sz, echo_fill(&e, buf, 4), 4));
    cr_assert(eq(int, echo_sent(&e, 3), 0));      /* the kernel took 3 of them */
    cr_assert(eq(int, echo_sent(&e, 8), -1));     /* only 7 are due */
    unsigned char *back = echoed(&e, 0, 10);
    cr_assert(eq(int, echo_receive(&e, back, 2), ECHO_MORE));  /* while still sending */
    cr_assert(eq(int, echo_receive(&e, back + 2, 2), ECHO_TOO_MUCH));  /* only 3 sent */
    cr_assert(eq(int, e.state, ECHO_FAILED));
    free(back);
}

Test(echo, message_after_message)
{
    struct echo e;
    echo_init(&e, 7);
    for (int m = 0; m < 3; m++) {
        cr_assert(eq(int, echo_begin(&e, 64), 0));
        send_all(&e, 10);
        cr_assert(eq(int, e.state, ECHO_AWAITING));
        unsigned char *back = echoed(&e, (uint64_t)m * 64, 64);
        cr_assert(eq(int, echo_receive(&e, back, 63), ECHO_MORE));
        cr_assert(eq(int, echo_receive(&e, back + 63, 1), ECHO_COMPLETE));
        cr_assert(eq(int, e.state, ECHO_IDLE));
        free(back);
    }
    cr_assert(eq(u64, e.received, 192));
    cr_assert(eq(int, echo_eof(&e), ECHO_COMPLETE));
}

Test(echo, a_wrong_byte_is_found_where_it_is)
{
    struct echo e;
    echo_init(&e, 1);
    cr_assert(eq(int, echo_begin(&e, 10000), 0));
    send_all(&e, 4096);
    unsigned char *back = echoed(&e, 0, 10000);
    back[5000] ^= 0x40;
    cr_assert(eq(int, echo_receive(&e, back, 4000), ECHO_MORE));
    cr_assert(eq(int, echo_receive(&e, back + 4000, 6000), ECHO_WRONG));
    cr_assert(eq(u64, e.bad_at, 5000));
    cr_assert(eq(int, e.state, ECHO_FAILED));
    cr_assert(eq(int, echo_receive(&e, back, 1), ECHO_WRONG));   /* failed for good */
    char what[128];
    echo_describe(&e, ECHO_WRONG, what, sizeof what);
    cr_assert(strstr(what, "byte 5000") != NULL, "%s", what);
    free(back);
}

Test(echo, another_connections_bytes_are_wrong)
{
    struct echo a, b;
    echo_init(&a, 1 * 0x9e3779b97f4a7c15ULL);
    echo_init(&b, 2 * 0x9e3779b97f4a7c15ULL);
    cr_assert(eq(int, echo_begin(&a, 64), 0));
    cr_assert(eq(int, echo_begin(&b, 64), 0));
    send_all(&a, 64);
    send_all(&b, 64);
    unsigned char *from_b = echoed(&b, 0, 64);
    cr_assert(eq(int, echo_receive(&a, from_b, 64), ECHO_WRONG));
    free(from_b);
}

Test(echo, bytes_never_sent_are_too_much)
{
    struct echo e;
    echo_init(&e, 3);
    unsigned char x = 0;
    cr_assert(eq(int, echo_receive(&e, &x, 1), ECHO_TOO_MUCH));   /* idle, nothing sent */

    echo_init(&e, 3);
    cr_assert(eq(int, echo_begin(&e, 8), 0));
    send_all(&e, 8);
    unsigned char *back = echoed(&e, 0, 9);   /* one more than was sent */
    cr_assert(eq(int, echo_receive(&e, back, 9), ECHO_TOO_MUCH));
    free(back);

    echo_init(&e, 3);                          /* a wrong byte is the better diagnosis */
    cr_assert(eq(int, echo_begin(&e, 8), 0));
    send_all(&e, 8);
    back = echoed(&e, 0, 9);
    back[2] ^= 1;
    cr_assert(eq(int, echo_receive(&e, back, 9), ECHO_WRONG));
    cr_assert(eq(u64, e.bad_at, 2));
    free(back);
}

Test(echo, end_of_file)
{
    struct echo e;
    echo_init(&e, 4);
    cr_assert(eq(int, echo_eof(&e), ECHO_COMPLETE));     /* nothing sent, nothing owed */
    cr_assert(eq(int, echo_begin(&e, 100), 0));
    unsigned char buf[100];
    size_t n = echo_fill(&e, buf, 60);
    cr_assert(eq(int, echo_sent(&e, n), 0));
    cr_assert(eq(int, echo_eof(&e), ECHO_SHORT));        /* still sending */
    send_all(&e, 100);
    unsigned char *back = echoed(&e, 0, 100);
    cr_assert(eq(int, echo_receive(&e, back, 99), ECHO_MORE));
    cr_assert(eq(int, echo_eof(&e), ECHO_SHORT));        /* one byte missing */
    char what[128];
    echo_describe(&e, ECHO_SHORT, what, sizeof what);
    cr_assert(eq(str, what, "closed by the server after 99 of 100 bytes came back"));
    cr_assert(eq(int, echo_receive(&e, back + 99, 1), ECHO_COMPLETE));
    cr_assert(eq(int, echo_eof(&e), ECHO_COMPLETE));
    free(back);
}

Test(echo, empty_exchange_is_complete_at_once)
{
    struct echo e;
    echo_init(&e, 5);
    cr_assert(eq(int, echo_begin(&e, 0), 0));
    cr_assert(eq(int, e.state, ECHO_IDLE));
    unsigned char buf[4];
    cr_assert(eq(sz, echo_fill(&e, buf, sizeof buf), 0));
    cr_assert(eq(int, echo_eof(&e), ECHO_COMPLETE));
}

Test(echo, a_big_stream_in_odd_chunks)
{
    struct echo e;
    echo_init(&e, 11);
    const size_t size = 1 << 20;
    cr_assert(eq(int, echo_begin(&e, size), 0));
    uint64_t got = 0;
    unsigned char buf[4096];
    size_t n;
    while ((n = echo_fill(&e, buf, 1499)) > 0) {
        cr_assert(eq(int, echo_sent(&e, n), 0));
        /* The echo lags, and arrives in other pieces than were sent. */
        while (got + 1000 <= e.sent) {
            unsigned char *back = echoed(&e, got, 1000);
            enum echo_event ev = echo_receive(&e, back, 1000);
            free(back);
            got += 1000;
            cr_assert(eq(int, ev, got == size ? ECHO_COMPLETE : ECHO_MORE));
        }
    }
    unsigned char *back = echoed(&e, got, (size_t)(size - got));
    cr_assert(eq(int, echo_receive(&e, back, (size_t)(size - got)), ECHO_COMPLETE));
    free(back);
    cr_assert(eq(int, echo_eof(&e), ECHO_COMPLETE));
}

/* ---- the timer heap ----------------------------------------------------- */

Test(heap, pops_in_time_order)
{
    struct heap h;
    cr_assert(eq(int, heap_init(&h, 1000), 0));
    for (uint32_t i = 0; i < 1000; i++)
        cr_assert(eq(int, heap_push(&h, (struct timer){ (int64_t)((i * 7919u) % 1000), i }), 0));
    cr_assert(eq(int, heap_push(&h, (struct timer){ 0, 0 }), -1));   /* full */
    struct timer t, peek;
    for (int64_t want = 0; want < 1000; want++) {
        cr_assert(eq(int, heap_peek(&h, &peek), 0));
        cr_assert(eq(int, heap_pop(&h, &t), 0));
        cr_assert(eq(i64, t.at, want));
        cr_assert(eq(i64, peek.at, want));
        cr_assert(eq(u32, (uint32_t)((t.id * 7919u) % 1000), (uint32_t)want));
    }
    cr_assert(eq(int, heap_pop(&h, &t), -1));
    cr_assert(eq(int, heap_peek(&h, &t), -1));
    heap_free(&h);
}
