/* bench_cases.c -- the `bench` kind (chapter 4): the Unix-domain vs TCP
 * throughput program must print its three lines (CONTRACT.md section 8.8). */
#define _GNU_SOURCE
#include "cases.h"
#include "checks.h"
#include "run.h"

#include <stdio.h>
#include <string.h>

#define BENCH_BYTES 8388608

/* "<label> <N> bytes in <s> s: <rate> MiB/s": the right label and count, and
 * numbers that make sense. Returns the rate, or -1. */
static double bench_line(const char *line, const char *label)
{
    char got[32];
    size_t bytes;
    double secs, rate;
    if (sscanf(line, "%31s %zu bytes in %lf s: %lf MiB/s", got, &bytes, &secs, &rate) != 4 ||
        strcmp(got, label) || bytes != BENCH_BYTES || secs <= 0 || rate <= 0)
        return -1;
    return rate;
}

static int check_bench(const void *context, const char *command, char *why, size_t whylen)
{
    struct ran r;
    char status[96], lines[3][128] = {"", "", ""};
    if (expect_usage_error(command, (const char *[]){"--bytes", "0", NULL}, "bad bytes: 0", why,
                           whylen) < 0 ||
        expect_usage_error(command, (const char *[]){"--bytes", "lots", NULL}, "bad bytes: lots",
                           why, whylen) < 0 ||
        run_once(command, (const char *[]){"--bytes", "8388608", NULL}, "", &r, why, whylen) < 0)
        return -1;
    int rc = -1;
    double ratio = 0;
    if (!child_exited_with(&r.proc, 0) || count_lines(r.out, r.outlen) != 3) {
        snprintf(why, whylen, "%s with %zu lines on stdout, want exit 0 and 3 lines",
                 child_describe(&r.proc, status, sizeof status), count_lines(r.out, r.outlen));
    } else {
        sscanf((const char *)r.out, "%127[^\n]\n%127[^\n]\n%127[^\n]", lines[0], lines[1], lines[2]);
        if (bench_line(lines[0], "unix-stream") < 0 || bench_line(lines[1], "tcp-loopback") < 0 ||
            sscanf(lines[2], "unix/tcp: %lfx", &ratio) != 1 || ratio <= 0)
            snprintf(why, whylen, "want the three lines of CONTRACT.md 8.8 for %d bytes, got "
                     "\"%s | %s | %s\"", BENCH_BYTES, lines[0], lines[1], lines[2]);
        else
            rc = 0;
    }
    ran_free(&r);
    return rc;
}

static const struct single_check BENCH_CHECKS[] = {
    {"help", "program", check_help, NULL},
    {"bad_flag", "program", check_bad_flag, NULL},
    {"measures", "program", check_bench, NULL},
    {"stdout_closed", "program", check_stdout_closed, ARGS("--bytes", "1024")},
};

static const char *const BENCH_DEMO[] = {"", NULL};

const struct kind_spec BENCH_SPEC = {
    .kind = "bench",
    KIND_CHECKS(BENCH_CHECKS),
    .demo_args = BENCH_DEMO,
    .addressing = ADDR_INET,
    .output = OUT_ECHO,
};
