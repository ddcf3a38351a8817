/* engine.c -- the connections, one epoll (level-triggered), and the four modes' phases */

/*
 * Design, in short:
 *
 * - One process, one thread: every socket is non-blocking and registered with
 *   one epoll instance. A connection always waits for EPOLLIN (echoed bytes,
 *   the server's close, a reset) and for EPOLLOUT only while it has bytes to
 *   send or a connect() in progress; refresh() keeps the registration in step.
 * - Each connection's stream is checked by its struct echo (echo.c): nothing
 *   but counters, since the payload is a function of the offset.
 * - A run is a sequence of phases (open every connection, exchange, hold,
 *   close). run_loop() turns the loop until a phase's condition holds,
 *   which the counters connecting, busy and live answer without a scan.
 * - Opening is gradual: at most MAX_CONNECTING connections are "in flight"
 *   at once. A connect() completes as soon as the server's kernel has queued
 *   the connection, accepted or not, so in pingpong and hold a connection
 *   stays in flight until its first echo has come back: only then do we know
 *   the server accepted it, and the server's listen backlog can never hold
 *   more than MAX_CONNECTING of ours. (bulk connections are few, and rate
 *   echoes on every connection anyway: for them, in flight ends at connect.)
 * - Time is CLOCK_MONOTONIC in nanoseconds. pingpong --rate keeps a min-heap
 *   of when each connection's next message is due; everything owed (a
 *   connect, an echo, the server's close) is swept for stalls four times a second.
 */

#define _GNU_SOURCE   /* SOCK_NONBLOCK, SOCK_CLOEXEC */

#include "engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "echo.h"
#include "heap.h"

#define NS_PER_S     1000000000LL
#define SWEEP_NS     (NS_PER_S / 4)
#define LATE_NS      (NS_PER_S / 1000)
#define IO_CHUNK     (64 * 1024)
#define MAX_EVENTS   1024

enum cstate { C_FREE, C_CONNECTING, C_OPEN, C_CLOSING, C_DONE, C_FAILED };

struct conn {
    int fd;
    enum cstate state;
    uint32_t events;       /* what epoll waits for now (0: not registered) */
    bool busy;             /* counted in engine.busy: something is owed to it */
    bool checked;          /* hold: passed the current check */
    bool opening;          /* pingpong, hold: connected, the first echo not yet back */
    struct echo echo;
    uint64_t id;           /* its number in error messages; rate: the attempt */
    uint64_t msgs;         /* pingpong: messages completed */
    int64_t last_progress; /* the last connect, send or receive */
    int64_t msg_started;   /* pingpong: when the current message was sent */
    int64_t slot;          /* pingpong --rate: when the current message was due */
};

struct engine {
    const struct options *o;
    const struct sockaddr *addr;
    socklen_t addrlen;
    struct results *r;
    int ep;
    struct conn *c;
    size_t n;
    size_t connecting, busy, live;  /* conns in flight (see above), owed something, open fds */
    size_t to_open;                 /* the open phase: the next index to connect */
    size_t *free_slots, nfree;      /* rate: slots for new connections */
    uint64_t attempts;              /* rate: connections started */
    bool stopping;                  /* pingpong, rate: start nothing new */
    struct heap timers;             /* pingpong --rate */
    int64_t interval_ns;            /* pingpong --rate: 1 / rate */
    unsigned char *buf;             /* IO_CHUNK bytes for every send and recv */
    bool fatal;
    char *why;
    size_t whylen;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer; checked all the same. */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
        perror("sockload: clock_gettime");
        exit(1);
    }
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static double seconds(int64_t ns)
{
    return (double)ns / NS_PER_S;
}

/* sockload itself cannot go on: the run stops and main reports why. */
static void fatal(struct engine *e, const char *fmt, ...)
{
    if (e->fatal)
        return;
    e->fatal = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->why, e->whylen, fmt, ap);
    va_end(ap);
}

static size_t index_of(const struct engine *e, const struct conn *c)
{
    return (size_t)(c - e->c);
}

/* Close the socket and do the counters' bookkeeping; state says how it ended. */
static void conn_close(struct engine *e, struct conn *c, enum cstate state)
{
    if (c->state == C_CONNECTING || c->opening)
        e->connecting--;
    c->opening = false;
    if (c->busy)
        e->busy--;
    c->busy = false;
    if (c->fd >= 0) {
        if (close(c->fd) == -1)
            fatal(e, "close: %s", strerror(errno));   /* EBADF: our bug */
        c->fd = -1;
        e->live--;
    }
    c->events = 0;
    c->state = state;
    if (e->o->mode == MODE_RATE) {
        c->state = C_FREE;
        e->free_slots[e->nfree++] = index_of(e, c);
    }
}

/* A connection failed: count it, keep the first error's text, close it. */
static void conn_fail(struct engine *e, struct conn *c, const char *fmt, ...)
{
    struct results *r = e->r;
    if (r->errors++ == 0) {
        char what[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        snprintf(r->first_error, sizeof r->first_error, "connection %llu: %s",
                 (unsigned long long)c->id, what);
    }
    conn_close(e, c, C_FAILED);
}

/* Bring the busy counter and the epoll registration in line with c's state. */
static void refresh(struct engine *e, struct conn *c)
{
    if (c->fd < 0)
        return;
    bool busy = c->state == C_CONNECTING || c->state == C_CLOSING ||
                (c->state == C_OPEN && c->echo.state != ECHO_IDLE);
    if (busy != c->busy) {
        c->busy = busy;
        if (busy)
            e->busy++;
        else
            e->busy--;
    }
    uint32_t want = c->state == C_CONNECTING ? EPOLLOUT
                  : EPOLLIN | (c->echo.state == ECHO_SENDING ? EPOLLOUT : 0);
    if (want == c->events)
        return;
    struct epoll_event ev = { .events = want, .data.u32 = (uint32_t)index_of(e, c) };
    if (epoll_ctl(e->ep, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev) == -1) {
        fatal(e, "epoll_ctl: %s", strerror(errno));
        return;
    }
    c->events = want;
}

static void half_close(struct engine *e, struct conn *c)
{
    if (shutdown(c->fd, SHUT_WR) == -1) {
        conn_fail(e, c, "shutdown: %s", strerror(errno));
        return;
    }
    c->state = C_CLOSING;
}

/* Send what is due, once (level-triggered: EPOLLOUT says when to go on).
   bulk and rate half-close as soon as the last byte is sent. */
static void pump_send(struct engine *e, struct conn *c)
{
    size_t n = echo_fill(&c->echo, e->buf, IO_CHUNK);
    if (n == 0)
        return;
    ssize_t sent = send(c->fd, e->buf, n, MSG_NOSIGNAL);
    if (sent == -1) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_fail(e, c, "send: %s", strerror(errno));
        return;
    }
    if (echo_sent(&c->echo, (size_t)sent) == -1) {
        fatal(e, "send took more bytes than it was given");
        return;
    }
    c->last_progress = now_ns();
    if (c->echo.state != ECHO_SENDING &&
        (e->o->mode == MODE_BULK || e->o->mode == MODE_RATE))
        half_close(e, c);
}

/* Start one exchange of size bytes: a message, a stream, a check. */
static void start_exchange(struct engine *e, struct conn *c, uint64_t size)
{
    if (echo_begin(&c->echo, size) == -1) {
        fatal(e, "connection %llu: an exchange began before the last one ended",
              (unsigned long long)c->id);
        return;
    }
    c->msg_started = now_ns();
    c->last_progress = c->msg_started;
    if (size == 0 && (e->o->mode == MODE_BULK || e->o->mode == MODE_RATE))
        half_close(e, c);
    else
        pump_send(e, c);
    refresh(e, c);
}

/* pingpong: send now, counting a send more than 1 ms after its slot as late.
   A connection a whole interval behind starts its grid again from now: it
   never bursts to catch up. */
static void send_message(struct engine *e, struct conn *c, int64_t now)
{
    if (e->interval_ns > 0) {
        if (now - c->slot > LATE_NS)
            e->r->late++;
        if (now - c->slot >= e->interval_ns)
            c->slot = now;
    }
    start_exchange(e, c, e->o->size);
}

/* pingpong: after an echo, the next message now, at its slot, or none. */
static void next_message(struct engine *e, struct conn *c, int64_t now)
{
    if (e->stopping || (e->o->count > 0 && c->msgs >= e->o->count))
        return;
    if (e->interval_ns == 0) {
        send_message(e, c, now);
        return;
    }
    c->slot += e->interval_ns;
    if (c->slot <= now) {
        send_message(e, c, now);
        return;
    }
    if (heap_push(&e->timers, (struct timer){ c->slot, (uint32_t)index_of(e, c) }) == -1)
        fatal(e, "the timer heap is full");
}

/* The exchange's last byte came back, and it was right. */
static void exchange_done(struct engine *e, struct conn *c)
{
    int64_t now = now_ns();
    if (c->opening) {          /* the first echo: accepted, no longer in flight */
        c->opening = false;
        e->connecting--;
        return;
    }
    switch (e->o->mode) {
    case MODE_PINGPONG:
        if (samples_add(&e->r->rtt_ns, (uint64_t)(now - c->msg_started)) == -1) {
            fatal(e, "cannot keep round-trip sample %zu: %s",
                  e->r->rtt_ns.n + 1, strerror(errno));
            return;
        }
        e->r->messages++;
        c->msgs++;
        next_message(e, c, now);
        break;
    case MODE_HOLD:
        c->checked = true;
        break;
    case MODE_BULK:
    case MODE_RATE:
        break;   /* already half-closed: the server's close comes next */
    }
}

/* The server closed, after every byte came back and we had half-closed. */
static void finished(struct engine *e, struct conn *c)
{
    if (e->o->mode == MODE_BULK)
        e->r->bytes += c->echo.received;
    if (e->o->mode == MODE_RATE)
        e->r->completed++;
    conn_close(e, c, C_DONE);
}

static void on_readable(struct engine *e, struct conn *c)
{
    ssize_t n = recv(c->fd, e->buf, IO_CHUNK, 0);
    if (n == -1) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_fail(e, c, "recv: %s", strerror(errno));
        return;
    }
    char what[160];
    if (n == 0) {
        enum echo_event ev = echo_eof(&c->echo);
        if (ev == ECHO_COMPLETE && c->state == C_CLOSING) {
            finished(e, c);
        } else if (ev == ECHO_COMPLETE) {
            conn_fail(e, c, "closed by the server before sockload half-closed");
        } else {
            echo_describe(&c->echo, ev, what, sizeof what);
            conn_fail(e, c, "%s", what);
        }
        return;
    }
    c->last_progress = now_ns();
    enum echo_event ev = echo_receive(&c->echo, e->buf, (size_t)n);
    if (ev == ECHO_WRONG || ev == ECHO_TOO_MUCH) {
        echo_describe(&c->echo, ev, what, sizeof what);
        conn_fail(e, c, "%s", what);
    } else if (ev == ECHO_COMPLETE) {
        exchange_done(e, c);
    }
}

static void connected(struct engine *e, struct conn *c)
{
    bool confirm = e->o->mode == MODE_PINGPONG || e->o->mode == MODE_HOLD;
    if (c->state == C_CONNECTING && !confirm)
        e->connecting--;
    if (c->state != C_CONNECTING && confirm)
        e->connecting++;     /* connect() succeeded at once: in flight all the same */
    c->opening = confirm;
    c->state = C_OPEN;
    c->last_progress = now_ns();
    e->r->connected++;
    /* Each message goes out at once, without waiting for the last one's ACK. */
    int one = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1) {
        conn_fail(e, c, "setsockopt TCP_NODELAY: %s", strerror(errno));
        return;
    }
    if (e->o->mode == MODE_RATE || confirm)
        start_exchange(e, c, e->o->size);
    else
        refresh(e, c);
}

/* socket() and a non-blocking connect(); the result comes as EPOLLOUT. */
static void conn_open(struct engine *e, struct conn *c, uint64_t id)
{
    echo_init(&c->echo, (id + 1) * 0x9e3779b97f4a7c15ULL);
    c->id = id;
    c->msgs = 0;
    c->checked = false;
    c->opening = false;
    c->busy = false;
    c->events = 0;
    c->state = C_FAILED;
    c->fd = socket(e->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd == -1) {
        conn_fail(e, c, "socket: %s", strerror(errno));
        return;
    }
    e->live++;
    c->last_progress = now_ns();
    int rc;
    while ((rc = connect(c->fd, e->addr, e->addrlen)) == -1 && errno == EINTR)
        ;
    if (rc == 0) {
        connected(e, c);
    } else if (errno == EINPROGRESS) {
        c->state = C_CONNECTING;
        e->connecting++;
        refresh(e, c);
    } else {
        conn_fail(e, c, "connect: %s", strerror(errno));
    }
}

static void on_connect_done(struct engine *e, struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        err = errno;
    if (err != 0)
        conn_fail(e, c, "connect: %s", strerror(err));
    else
        connected(e, c);
}

/* Start connects while fewer than MAX_CONNECTING are in progress, at most
   MAX_CONNECTING a turn: in rate mode a connect that fails at once frees its
   slot again, and must not keep this loop from epoll_wait. */
static void open_more(struct engine *e)
{
    if (e->o->mode == MODE_RATE) {
        for (int k = 0; k < MAX_CONNECTING && !e->stopping && e->nfree > 0 &&
                        e->connecting < MAX_CONNECTING && !e->fatal; k++)
            conn_open(e, &e->c[e->free_slots[--e->nfree]], e->attempts++);
        return;
    }
    while (e->to_open < e->n && e->connecting < MAX_CONNECTING && !e->fatal) {
        size_t i = e->to_open++;
        conn_open(e, &e->c[i], i);
    }
}

/* Fail every connection that is owed something and has seen nothing for STALL_S. */
static void sweep(struct engine *e, int64_t now)
{
    for (size_t i = 0; i < e->n; i++) {
        struct conn *c = &e->c[i];
        if (!c->busy || now - c->last_progress < STALL_S * NS_PER_S)
            continue;
        conn_fail(e, c, "no progress for %d s while %s", STALL_S,
                  c->state == C_CONNECTING ? "connecting"
                  : c->opening ? "waiting for the first echo"
                  : c->state == C_CLOSING && c->echo.state == ECHO_IDLE
                      ? "waiting for the server to close"
                      : "waiting for the echo");
    }
}

/* Messages whose slot has come. */
static void fire_timers(struct engine *e, int64_t now)
{
    struct timer t;
    while (heap_peek(&e->timers, &t) == 0 && t.at <= now) {
        heap_pop(&e->timers, &t);
        struct conn *c = &e->c[t.id];
        if (c->state == C_OPEN && !e->stopping)
            send_message(e, c, now);
    }
}

static void dispatch(struct engine *e, struct conn *c, uint32_t events)
{
    if (c->fd < 0)
        return;   /* closed earlier in this batch */
    if (c->state == C_CONNECTING) {
        on_connect_done(e, c);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(e, c);
    if (c->fd >= 0 && (events & EPOLLOUT))
        pump_send(e, c);
    refresh(e, c);
}

/* Turn the loop until done(e) holds, or until deadline (-1: none). */
static int run_loop(struct engine *e, int64_t deadline, bool (*done)(const struct engine *))
{
    static struct epoll_event events[MAX_EVENTS];
    int64_t next_sweep = now_ns() + SWEEP_NS;
    for (;;) {
        int64_t now = now_ns();
        fire_timers(e, now);
        open_more(e);
        if (e->fatal)
            return -1;
        if ((done != NULL && done(e)) || (deadline >= 0 && now >= deadline))
            return 0;
        if (now >= next_sweep) {
            sweep(e, now);
            next_sweep = now + SWEEP_NS;
            continue;
        }
        int64_t wake = next_sweep;
        struct timer t;
        if (deadline >= 0 && deadline < wake)
            wake = deadline;
        if (heap_peek(&e->timers, &t) == 0 && t.at < wake)
            wake = t.at;
        int timeout_ms = (int)((wake - now + 999999) / 1000000);
        int n = epoll_wait(e->ep, events, MAX_EVENTS, timeout_ms);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            fatal(e, "epoll_wait: %s", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n && !e->fatal; i++)
            dispatch(e, &e->c[events[i].data.u32], events[i].events);
    }
}

static bool all_opened(const struct engine *e)
{
    return e->to_open == e->n && e->connecting == 0;
}

static bool none_busy(const struct engine *e)
{
    return e->busy == 0;
}

static bool pingpong_done(const struct engine *e)
{
    return e->busy == 0 && e->timers.n == 0;
}

static bool none_live(const struct engine *e)
{
    return e->live == 0;
}

/* Connect all n, at most MAX_CONNECTING at a time. */
static int open_all(struct engine *e)
{
    int64_t start = now_ns();
    e->to_open = 0;
    int rc = run_loop(e, -1, all_opened);
    e->r->connect_s = seconds(now_ns() - start);
    return rc;
}

/* Half-close every open connection and read each to the server's close. */
static int close_all(struct engine *e)
{
    for (size_t i = 0; i < e->n; i++) {
        struct conn *c = &e->c[i];
        if (c->state == C_OPEN && c->echo.state == ECHO_IDLE) {
            half_close(e, c);
            refresh(e, c);
        } else if (c->state == C_OPEN) {
            conn_fail(e, c, "an exchange was still unfinished at the end");
        }
    }
    return run_loop(e, -1, none_busy);
}

/* hold: one echo on every open connection; returns how many passed. */
static int check_all(struct engine *e, unsigned long *alive)
{
    for (size_t i = 0; i < e->n; i++) {
        struct conn *c = &e->c[i];
        c->checked = false;
        if (c->state == C_OPEN)
            start_exchange(e, c, e->o->size);
    }
    int rc = run_loop(e, -1, none_busy);
    *alive = 0;
    for (size_t i = 0; i < e->n; i++)
        if (e->c[i].state == C_OPEN && e->c[i].checked)
            (*alive)++;
    return rc;
}

static int run_pingpong(struct engine *e)
{
    const struct options *o = e->o;
    if (open_all(e) == -1)
        return -1;
    int64_t t0 = now_ns();
    if (o->rate > 0)
        e->interval_ns = (int64_t)(NS_PER_S / o->rate);
    if (o->rate > 0 && e->interval_ns < 1) {
        fatal(e, "--rate %g is more than once a nanosecond", o->rate);
        return -1;
    }
    for (size_t i = 0; i < e->n; i++) {
        struct conn *c = &e->c[i];
        if (c->state != C_OPEN)
            continue;
        if (e->interval_ns == 0) {
            send_message(e, c, t0);
            continue;
        }
        /* Spread the first messages evenly over one interval. */
        c->slot = t0 + (int64_t)((double)e->interval_ns * (double)i / (double)e->n);
        if (heap_push(&e->timers, (struct timer){ c->slot, (uint32_t)i }) == -1) {
            fatal(e, "the timer heap is full");
            return -1;
        }
    }
    int64_t deadline = o->has_duration ? t0 + (int64_t)(o->duration_s * NS_PER_S) : -1;
    if (run_loop(e, deadline, pingpong_done) == -1)
        return -1;
    e->stopping = true;             /* no new message; the ones on the way finish */
    e->timers.n = 0;
    if (run_loop(e, -1, none_busy) == -1)
        return -1;
    e->r->elapsed_s = seconds(now_ns() - t0);
    samples_sort(&e->r->rtt_ns);
    return close_all(e);
}

static int run_bulk(struct engine *e)
{
    if (open_all(e) == -1)
        return -1;
    int64_t t0 = now_ns();
    for (size_t i = 0; i < e->n; i++)
        if (e->c[i].state == C_OPEN)
            start_exchange(e, &e->c[i], e->o->size);
    int rc = run_loop(e, -1, none_busy);
    e->r->elapsed_s = seconds(now_ns() - t0);
    return rc;
}

static int run_rate(struct engine *e)
{
    for (size_t i = 0; i < e->n; i++) {
        e->c[i].state = C_FREE;
        e->free_slots[e->nfree++] = e->n - 1 - i;
    }
    int64_t t0 = now_ns();
    if (run_loop(e, t0 + (int64_t)(e->o->duration_s * NS_PER_S), NULL) == -1)
        return -1;
    e->stopping = true;             /* start no more; the ones in flight finish */
    int rc = run_loop(e, -1, none_live);
    e->r->elapsed_s = seconds(now_ns() - t0);
    e->r->attempts = e->attempts;
    return rc;
}

static int run_hold(struct engine *e)
{
    if (open_all(e) == -1 || check_all(e, &e->r->alive_at_start) == -1)
        return -1;
    int64_t t0 = now_ns();
    /* Only watching: a server that closes or resets an idle connection is an error. */
    if (run_loop(e, t0 + (int64_t)(e->o->duration_s * NS_PER_S), NULL) == -1)
        return -1;
    e->r->elapsed_s = seconds(now_ns() - t0);
    if (check_all(e, &e->r->alive) == -1)
        return -1;
    return close_all(e);
}

int engine_run(const struct options *o, const struct sockaddr *addr, socklen_t addrlen,
               struct results *r, char *why, size_t whylen)
{
    struct engine e = {
        .o = o, .addr = addr, .addrlen = addrlen, .r = r,
        .n = o->connections, .why = why, .whylen = whylen,
    };
    int rc = -1;
    e.ep = epoll_create1(EPOLL_CLOEXEC);
    if (e.ep == -1) {
        snprintf(why, whylen, "epoll_create1: %s", strerror(errno));
        return -1;
    }
    e.c = calloc(e.n, sizeof *e.c);
    e.free_slots = calloc(e.n, sizeof *e.free_slots);
    e.buf = malloc(IO_CHUNK);
    if (e.c == NULL || e.free_slots == NULL || e.buf == NULL ||
        heap_init(&e.timers, o->mode == MODE_PINGPONG ? e.n : 0) == -1) {
        snprintf(why, whylen, "out of memory for %zu connections", e.n);
        goto out;
    }
    for (size_t i = 0; i < e.n; i++)
        e.c[i].fd = -1;

    switch (o->mode) {
    case MODE_PINGPONG: rc = run_pingpong(&e); break;
    case MODE_BULK:     rc = run_bulk(&e); break;
    case MODE_RATE:     rc = run_rate(&e); break;
    case MODE_HOLD:     rc = run_hold(&e); break;
    }
out:
    for (size_t i = 0; e.c != NULL && i < e.n; i++)
        if (e.c[i].fd >= 0 && close(e.c[i].fd) == -1 && rc == 0) {
            snprintf(why, whylen, "close: %s", strerror(errno));
            rc = -1;
        }
    if (close(e.ep) == -1 && rc == 0) {
        snprintf(why, whylen, "close: %s", strerror(errno));
        rc = -1;
    }
    heap_free(&e.timers);
    free(e.buf);
    free(e.free_slots);
    free(e.c);
    return rc;
}
