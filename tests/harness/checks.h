/* checks.h -- checks of one program on its own, shared by every kind: the
 * command-line rules and the one-line error rule of CONTRACT.md. */
#ifndef CHECKS_H
#define CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "proc.h"

/* What one run of a program left behind. */
struct ran {
    struct child proc;
    unsigned char *out, *err;
    size_t outlen, errlen;
};

/* Runs `command args...` with stdin from a string, collecting its stdout and
 * stderr. Returns 0 if it finished within 20 s, else -1 with why. */
int run_once(const char *command, const char *const args[], const char *input, struct ran *r,
             char *why, size_t whylen);
void ran_free(struct ran *r);

bool starts_with(const unsigned char *data, size_t len, const char *prefix);
bool contains(const unsigned char *data, size_t len, const char *needle);

/* `args` must give exit 2, nothing on stdout, and on stderr a message and the
 * usage line. Returns 0, or -1 with why. */
int expect_usage_error(const char *command, const char *const args[], char *why, size_t whylen);

/* The error rule: exit 1, nothing on stdout, exactly one line on stderr. */
int expect_one_line_error(struct ran *r, const char *situation, char *why, size_t whylen);

/* --help: usage on stdout, exit 0. */
int check_help(const char *command, char *why, size_t whylen);

/* An unknown flag: the usage rule. */
int check_bad_flag(const char *command, char *why, size_t whylen);

#endif
