/* progress.h -- a long run shows that it is alive: on a terminal one updating
 * line, otherwise (CI) one line every PROGRESS_EVERY_MS. */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define PROGRESS_EVERY_MS 10000

struct progress {
    FILE *out;
    bool tty;            /* rewrite one line in place */
    const char *name;    /* "interop" */
    size_t total, done, failed;
    long long start_ms, last_ms;
};

void progress_begin(struct progress *p, const char *name, size_t total, FILE *out, bool tty,
                    long long now_ms);

/* Counts one finished test and prints a line if it is time to. */
void progress_step(struct progress *p, bool failed, long long now_ms);

/* The last line (on a terminal, ends the updating line). */
void progress_end(struct progress *p, long long now_ms);

/* "interop: 812/2574 tests, 1 failed, 2m01s elapsed, about 4m22s left" (no
 * estimate before the first test is done). Returns buf. */
char *progress_format(const struct progress *p, long long now_ms, char *buf, size_t len);

#endif
