/* crowd.h -- many connections at once from one harness process, for chapter
 * 6's concurrency checks: connect them all, echo on every one while all stay
 * open, then half-close them all. One thread, poll(2), non-blocking sockets. */
#ifndef CROWD_H
#define CROWD_H

#include <stdbool.h>
#include <stddef.h>

/* A concurrency check's context: how long it waits at most. A server that
 * serves one client at a time waits forever, so any patience proves it; the
 * unit tests, which prove that the checks fail such a server, use less. */
struct patience {
    int ms;
};

struct crowd {
    int *fds;
    size_t n;
};

/* Opens n connections to host:port (numeric), at most 256 connects in flight
 * (a listen backlog of 1024 is never overrun), every one established by
 * deadline_ms (now_ms's clock). Returns 0; or -1 with why, and nothing open. */
int crowd_connect(struct crowd *c, const char *host, int port, size_t n, long long deadline_ms,
                  char *why, size_t whylen);

/* Every connection sends len bytes of its own pseudo-random payload and reads
 * back exactly as many, all at once, without half-closing: a server that
 * serves one connection at a time never finishes. Returns 0 if every echo is
 * right by deadline_ms; else -1 with why (how many were, and the first failure). */
int crowd_echo(struct crowd *c, size_t len, long long deadline_ms, char *why, size_t whylen);

/* Half-closes every connection and waits for the server's end of file on each,
 * with nothing more before it. Returns 0, or -1 with why. */
int crowd_finish(struct crowd *c, long long deadline_ms, char *why, size_t whylen);

void crowd_close(struct crowd *c);

/* Makes sure this process may open n more descriptors, raising its soft
 * RLIMIT_NOFILE toward the hard limit if it must. Returns 0, or -1 with why. */
int crowd_room(size_t n, char *why, size_t whylen);

#endif
