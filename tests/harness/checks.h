/* checks.h -- checks of one program on its own, shared by every kind: the
 * command-line rules and the one-line error rule of CONTRACT.md. */
#ifndef CHECKS_H
#define CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "proc.h"
#include "run.h"

/* What one run of a program left behind. */
struct ran {
    struct child proc;
    unsigned char *out, *err;
    size_t outlen, errlen;
};

/* A program started in the background with stdin from a buffer and its
 * stdout and stderr in scratch files, so a check can play its peer. */
struct started {
    struct ran r;
    struct scratch tmp;
    char out[320], err[320];
};

/* Starts `command args...`. Returns 0, or -1 with why (cleaned up already). */
int start_program(struct started *p, const char *command, const char *const args[],
                  const void *input, size_t len, char *why, size_t whylen);

/* Waits up to ms for it to exit; then its output is in p->r. Returns true if
 * it exited in time. */
bool finish_program(struct started *p, int ms);

/* Kills it if still running and removes its files; p->r stays readable until
 * ran_free. */
void started_cleanup(struct started *p);

/* Runs `command args...` with stdin from a string, collecting its stdout and
 * stderr. Returns 0 if it finished within 20 s, else -1 with why. */
int run_once(const char *command, const char *const args[], const char *input, struct ran *r,
             char *why, size_t whylen);
void ran_free(struct ran *r);

/* The contract's last log line of a server stopped by SIGTERM (Java, which
 * cannot tell the signals apart, says "stopping on a signal"). */
bool logged_stop_on_sigterm(const unsigned char *log, size_t len);
/* The same for a server called `name` (chapter 4's stream_server, ...). */
bool logged_stop_as(const unsigned char *log, size_t len, const char *name);

/* Starts the server, lets `exchange` talk to it, stops it with SIGTERM and
 * hands back its stderr. Returns 0 (then *log is the caller's to free), or -1
 * with why. */
int server_log_after(const char *command,
                     int (*exchange)(const struct ready *addr, char *why, size_t whylen),
                     unsigned char **log, size_t *len, char *why, size_t whylen);

/* Whether the log file at path contains `want`, looking again until it does
 * or timeout_ms pass: a server may log an event just after its peer saw it. */
bool log_shows(const char *path, const char *want, int timeout_ms);

bool starts_with(const unsigned char *data, size_t len, const char *prefix);
bool contains(const unsigned char *data, size_t len, const char *needle);

/* What a program's usage line says: the line itself, the program's name, the
 * first flag that takes a value and the first required one ("" if none). */
struct usage {
    char line[256], prog[64], value_flag[32], required[32];
};

/* Parses "usage: echo_client [--host H] --port P". Returns 0, or -1. */
int usage_parse(const char *line, struct usage *u);

/* The usage of `command`, from the first line of its --help. Returns 0, or -1 with why. */
int usage_of(const char *command, struct usage *u, char *why, size_t whylen);

/* `args` must give exit 2, nothing on stdout, and on stderr exactly two lines:
 * "<prog>: <want>" (CONTRACT.md 3.1; want NULL: any message) and the usage
 * line. Returns 0, or -1 with why. */
int expect_usage_error(const char *command, const char *const args[], const char *want,
                       char *why, size_t whylen);

/* The error rule: exit 1, nothing on stdout, exactly one line on stderr. */
int expect_one_line_error(struct ran *r, const char *situation, char *why, size_t whylen);

/* The error rule, and the words of CONTRACT.md 3.2: the line is
 * "<prog>: <what> <address>: <reason>", reason as C's strerror spells it. */
int expect_error_reason(const char *command, struct ran *r, const char *reason,
                        const char *situation, char *why, size_t whylen);

/* Started with stdout closed, the program says "<prog>: stdout: Bad file
 * descriptor" and exits 1, before any socket (CONTRACT.md 3.2). context: the
 * arguments (a NULL-terminated array of strings) it is started with. */
int check_stdout_closed(const void *context, const char *command, char *why, size_t whylen);

/* A NULL-terminated argument list, as a check's context. */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* context: ARGS(..., "--flag", "value"), the value a bad one: a usage error,
 * "bad flag: value" (CONTRACT.md 3.1). */
int check_bad_value(const void *context, const char *command, char *why, size_t whylen);

/* --help: usage on stdout, exit 0. */
int check_help(const void *context, const char *command, char *why, size_t whylen);

/* An unknown flag, a stray argument, a flag without its value, a required
 * flag missing: each a usage error, word for word (CONTRACT.md 3.1). */
int check_bad_flag(const void *context, const char *command, char *why, size_t whylen);

/* --port 65536, http, +80, or without a value: a usage error, word for word. */
int check_bad_port(const void *context, const char *command, char *why, size_t whylen);

/* Starts a server on 127.0.0.1, port 0, its stderr in a new scratch
 * directory. Returns 0, or -1 with why and nothing left behind. */
int start_server(struct server *s, const char *command, struct scratch *tmp, char *why,
                 size_t whylen);

/* Cleans up after a server check, adding the server's log to a failure
 * (rc < 0). Returns rc. */
int release_server(struct server *s, struct scratch *tmp, int rc, char *why, size_t whylen);

/* If rc is 0, stops the server with SIGTERM (it must exit 0 in time and print
 * nothing more); then releases it. Returns 0 or -1. */
int finish_server(struct server *s, struct scratch *tmp, int rc, char *why, size_t whylen);

/* CONTRACT.md 3.3: started with --host a name whose first address is taken
 * (a private /etc/hosts), a server binds the next one, and its READY line says
 * so, from getsockname. context: the socket type (a const int *). */
int check_every_address(const void *context, const char *command, char *why, size_t whylen);

/* SIGINT stops a server with exit 0 within a second. */
int check_sigint(const void *context, const char *command, char *why, size_t whylen);

#endif
