/* results.h -- recording test outcomes and reporting them as a grid and JSON.
 *
 * Each test (in its own process) appends one line to a results file; when the
 * run ends, the runner reads them back and writes results.json and the grid. */
#ifndef RESULTS_H
#define RESULTS_H

#include <stddef.h>
#include <stdio.h>

/* One outcome: of a pair (role "pair": lang is the server's language, peer
 * the client's), or of one program checked on its own (role "server",
 * "client" or "program"; peer is "-"). */
struct result {
    char kind[32];
    char role[16];
    char lang[32];
    char peer[32];
    char name[32];   /* the case ("16mib") or check ("help") */
    char status[16]; /* "pass", "fail", "unsupported" or "skipped" */
    long ms;
    char detail[512]; /* one line */
    char logs[256];   /* a failure's kept logs (a folder), or "" */
};

struct results {
    struct result *items;
    size_t len;
    char date[32]; /* when the run started, ISO 8601 UTC */
};

/* Starts a new results file, recording the current time as the run's date. */
int results_begin(const char *path);

/* Appends one outcome (a single write, so parallel tests do not interleave). */
int results_append(const char *path, const struct result *r);

/* Reads a results file. Returns 0, or -1 if it cannot be read (or memory ran
 * out: then it says so on stderr). */
int results_load(const char *path, struct results *out);
void results_free(struct results *rs);

/* Writes the results as JSON. Returns 0 or -1. */
int results_write_json(const struct results *rs, const char *path);

/* Prints the server x client grid of one kind (if it has pairs), then the
 * checks of each program on its own. */
void results_print_grid(const struct results *rs, const char *kind, FILE *out);

/* Prints one line per failure, and a final count line. Returns the number of
 * failures. */
size_t results_print_summary(const struct results *rs, FILE *out);

/* Warnings of the current test (each test is a process of its own): a strict
 * figure of the contract was missed while the generous deadline that decides
 * pass or fail was met. Recorded with a passing result, never a failure. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "" if there was none; warnings are separated by "; ". */
const char *warnings(void);
/* Whether a result carries a warning (a pass whose detail starts "warning: "). */
int result_has_warning(const struct result *r);

/* Replaces tabs, newlines and control characters with spaces (in place). */
void one_line(char *s);

#endif
