/* engine.h -- sockload's event loop: many non-blocking connections on one epoll */
#ifndef SOCKLOAD_ENGINE_H
#define SOCKLOAD_ENGINE_H

#include <stdint.h>
#include <sys/socket.h>

#include "options.h"
#include "stats.h"

/* At most this many connections in flight at once (connect() called, and in
   pingpong and hold the first echo not yet back), so that a server's listen
   backlog of 1024 is never overrun. */
#define MAX_CONNECTING 256
/* A connection that is owed something (a connect, an echo, the server's
   close) and sees no progress for this long is an error. */
#define STALL_S 10

/* What a run measured; which fields mean something depends on the mode. */
struct results {
    double connect_s;          /* pingpong, bulk, hold: until every connection was open
                                  (pingpong, hold: and had echoed once) */
    double elapsed_s;          /* the measured phase: messages, the transfer, the rate run */
    unsigned long connected;   /* connections that were established (rate: attempts) */
    uint64_t messages;         /* pingpong: echoes completed */
    uint64_t late;             /* pingpong --rate: sends more than 1 ms after their slot */
    struct samples rtt_ns;     /* pingpong: every round trip, sorted after the run */
    uint64_t bytes;            /* bulk: bytes echoed back and checked */
    uint64_t attempts;         /* rate: connections started */
    uint64_t completed;        /* rate: connections that echoed and closed cleanly */
    unsigned long alive_at_start, alive;   /* hold: passed the first, the second check */
    uint64_t errors;           /* connections that failed */
    char first_error[256];     /* the first one's reason, "connection 7: recv: ..." */
    long max_rss_kib;          /* sockload's own peak memory (main fills it in) */
};

/* Run the mode of *o against addr. Returns 0 when the run happened (errors
   included: see results->errors), -1 with why when sockload itself could not
   go on (epoll, memory). */
int engine_run(const struct options *o, const struct sockaddr *addr, socklen_t addrlen,
               struct results *r, char *why, size_t whylen);

#endif
