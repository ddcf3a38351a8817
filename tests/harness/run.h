/* run.h -- running an example: a server up to its READY line, a client with a
 * payload on stdin, each with a deadline and cleaned up whatever happens. */
#ifndef RUN_H
#define RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "proc.h"
#include "ready.h"
#include "results.h"
#include "table.h"

#define MAX_ARGS 64

/* A scratch directory for one test's files, removed with everything in it. */
struct scratch {
    char dir[256];
};
int scratch_create(struct scratch *s);
/* Fills out with "<dir>/<name>" and returns out. */
const char *scratch_path(const struct scratch *s, const char *name, char *out, size_t len);
void scratch_remove(struct scratch *s);

/* The first entry of dir whose name starts with prefix ("" for any), copied
 * into name; NULL if there is none. */
const char *find_entry(const char *dir, const char *prefix, char *name, size_t len);

/* Builds argv from a command (split on spaces) followed by extra arguments
 * (NULL-terminated). `words` holds the split copy. Returns argc or -1. */
int build_argv(const char *command, const char *const extra[], char *words,
               size_t wordslen, char *argv[MAX_ARGS]);

/* A server under test. */
struct server {
    struct child proc;
    int out;            /* read end of its stdout */
    char err_path[320]; /* its stderr, a file */
    char ready_line[512];
    struct ready addr;
    long ready_ms; /* from start to its READY line: this runtime's start-up under the current load */
    /* Set after server_start for a server with no signal handling (chapter 2's
     * simple_server): server_stop then wants it killed by the signal (or exit
     * 128 + the signal, as the JVM does), not exit 0. */
    bool dies_of_signal;
};

/* How long a server may take to stop before it fails (CONTRACT.md, "Deadlines"):
 * the contract's figure doubled, or STOP_STARTUP_FACTOR times its own measured
 * start-up, whichever is longer -- plus however long its threads sat waiting
 * for a CPU meanwhile (the machine's time, not the program's), up to
 * STOP_HARD_LIMIT_MS in all. Past the contract's figure alone it is a warning. */
#define STOP_STARTUP_FACTOR 3
#define STOP_HARD_LIMIT_MS 30000
long stop_deadline_ms(const struct server *s, int contract_ms);

/* Starts `command extra...`, stderr to err_path, and waits up to timeout_ms
 * for its READY line. Returns 0 when it is ready; otherwise -1 with the reason
 * in why, and the server cleaned up. */
int server_start(struct server *s, const char *command, const char *const extra[],
                 const char *err_path, int timeout_ms, char *why, size_t whylen);

/* The same for a program whose READY line names something other than an
 * address (the sniffer: "READY lo"); s->addr stays empty. */
int watcher_start(struct server *s, const char *command, const char *const extra[],
                  const char *err_path, int timeout_ms, char *why, size_t whylen);

/* Reads what is left on fd until end of file (or len - 1 bytes, or
 * timeout_ms), NUL-terminated. Returns the number of bytes read. */
long read_rest(int fd, char *buf, size_t len, int timeout_ms);

/* Sends sig and checks the contract: the server exits 0 (or, dies_of_signal,
 * is killed by sig) within timeout_ms (the
 * contract's figure; stop_deadline_ms says how far past it a loaded machine may
 * take it, with a warning) and printed nothing after its READY line. Returns 0,
 * or -1 with why. */
int server_stop(struct server *s, int sig, int timeout_ms, char *why, size_t whylen);

/* Kills the server's process group if still running and closes its stdout. */
void server_cleanup(struct server *s);

/* Runs `command extra...` to completion with stdin from in_path (NULL:
 * /dev/null) and stdout/stderr to files. Waits up to timeout_ms; a program
 * still running then is killed. Returns true if it finished in time; c holds
 * its status either way. */
bool run_to_end(struct child *c, const char *command, const char *const extra[],
                const char *in_path, const char *out_path, const char *err_path,
                int timeout_ms);

/* Reads a whole file (at most max bytes) into a malloc'd buffer. Returns 0, or
 * -1 (then *data is NULL). */
int read_file(const char *path, size_t max, unsigned char **data, size_t *len);
int write_file(const char *path, const void *data, size_t len);

/* The last `len - 1` bytes of a text file, one line per line, "(empty)" if
 * there is nothing. Returns buf. */
char *file_tail(const char *path, char *buf, size_t len);

/* Number of lines in a buffer (a final line without a newline counts). */
size_t count_lines(const unsigned char *data, size_t len);

#endif
