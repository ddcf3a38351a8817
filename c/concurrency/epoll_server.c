/* epoll_server.c -- a concurrent TCP echo server: one thread, level-triggered epoll, no blocking */

#define _GNU_SOURCE /* accept4(), and Linux's epoll, signalfd and timerfd, under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common.h"

#define PROG "epoll_server"
#define READ_SIZE 65536  /* one recv() takes up to 64 KiB */
#define MAX_EVENTS 256   /* events one epoll_wait() hands back at most */
#define PAUSE_NS 100000000L /* out of descriptors: stop accepting for 100 ms */

// ANCHOR: conn
/* One client. This is the C10K server: 10,000 connections must fit in 64 MB.
   So a connection costs this struct (about 230 bytes) and no buffer at all
   while its echo has all been sent: `out` is allocated when a recv() brings
   bytes the socket will not take at once, grows as needed up to MAX_UNSENT
   (1 MiB), and is freed as soon as it is empty. Every recv() lands in one
   64 KiB buffer that all connections share: one thread, one event at a time. */
struct conn {
    int fd;
    uint32_t events;   /* what epoll watches this socket for now: EPOLLIN, EPOLLOUT */
    bool eof;          /* the client half-closed: send what is left, then close */
    char *out;         /* unsent echo is out[start] up to out[end]; NULL when none */
    size_t start, end, cap;
    long long echoed;  /* bytes sent back so far, for the "closed" log line */
    struct conn *prev, *next; /* every open connection, so that a stop closes them all */
    char peer[ADDR_LEN];
};

static struct conn *conns;      /* the list of open connections */
static char scratch[READ_SIZE]; /* where every recv() lands first */
static int epoll_fd = -1, listen_fd = -1, signal_fd = -1, timer_fd = -1;

/* epoll hands back, with each event, what we registered with the descriptor:
   a struct conn *, or the address of one of these markers for the others. */
static char listener_mark, signal_mark, timer_mark;

/* epoll_ctl() adds (EPOLL_CTL_ADD) a descriptor to the epoll set, or changes
   (EPOLL_CTL_MOD) which events it is watched for. */
static int watch(int op, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    return epoll_ctl(epoll_fd, op, fd, &ev);
}
// ANCHOR_END: conn

/* Close a connection: close() also takes its descriptor out of the epoll set. */
static void close_conn(struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    close(c->fd);
    free(c->out);
    free(c);
}

// ANCHOR: pause
/* Out of descriptors, accept() fails and the client stays queued, so the
   listener stays readable: level-triggered epoll would report it again at
   once, and we would spin. So we watch it for nothing (events 0) and arm a
   timerfd, a descriptor that becomes readable when its time is up. */
static int pause_accepting(void)
{
    struct itimerspec in_100ms = {.it_value.tv_nsec = PAUSE_NS};
    if (watch(EPOLL_CTL_MOD, listen_fd, 0, &listener_mark) == -1)
        return -1;
    return timerfd_settime(timer_fd, 0, &in_100ms, NULL);
}

/* The timerfd is readable: 100 ms are up. read() takes its count of
   expirations (and fails with EAGAIN if there are none); watch the listener again. */
static int resume_accepting(void)
{
    uint64_t expirations;
    if (read(timer_fd, &expirations, sizeof expirations) == -1 && errno != EAGAIN)
        return -1;
    return watch(EPOLL_CTL_MOD, listen_fd, EPOLLIN, &listener_mark);
}
// ANCHOR_END: pause

// ANCHOR: accept
/* The listener is readable: a client is waiting. Returns -1 only when the
   server itself cannot go on. */
static int on_listener(void)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    /* accept4() is accept() that also sets flags on the new socket: here
       O_NONBLOCK, so that no recv() or send() on it ever sleeps. */
    int fd = accept4(listen_fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0; /* nobody after all (the client gave up), or a signal */
        log_line(PROG, "accept: %s", strerror(errno));
        bool out_of_room =
            errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
        return out_of_room ? pause_accepting() : 0;
    }
    char peer[ADDR_LEN];
    format_address((struct sockaddr *)&addr, len, peer, sizeof peer);
    log_line(PROG, "connection from %s", peer);
    struct conn *c = malloc(sizeof *c);
    if (c == NULL)
        errno = ENOMEM;
    if (c == NULL || watch(EPOLL_CTL_ADD, fd, EPOLLIN, c) == -1) {
        log_line(PROG, "%s: %s", peer, strerror(errno)); /* this client only */
        free(c);
        close(fd);
        return 0;
    }
    *c = (struct conn){.fd = fd, .events = EPOLLIN, .next = conns};
    memcpy(c->peer, peer, sizeof peer);
    if (conns != NULL)
        conns->prev = c;
    conns = c;
    return 0;
}
// ANCHOR_END: accept

// ANCHOR: buffer
/* Append n bytes to c's unsent echo, moving what is left to the front of the
   buffer or growing it (never past MAX_UNSENT: on_readable() reads no more). */
static int keep(struct conn *c, const char *data, size_t n)
{
    size_t unsent = c->end - c->start;
    if (c->end + n > c->cap && c->start > 0) { /* room at the front: use it */
        memmove(c->out, c->out + c->start, unsent);
        c->start = 0, c->end = unsent;
    }
    if (unsent + n > c->cap) {
        size_t cap = 2 * c->cap > unsent + n ? 2 * c->cap : unsent + n;
        char *bigger = realloc(c->out, cap < MAX_UNSENT ? cap : MAX_UNSENT);
        if (bigger == NULL) {
            errno = ENOMEM;
            return -1;
        }
        c->out = bigger, c->cap = cap < MAX_UNSENT ? cap : MAX_UNSENT;
    }
    memcpy(c->out + c->end, data, n);
    c->end += n;
    return 0;
}

/* Send as much unsent echo as the socket takes now; free the buffer once it
   is empty. MSG_NOSIGNAL: a client that has gone makes send() fail with
   EPIPE, instead of raising SIGPIPE, which would kill the whole server. */
static int flush(struct conn *c)
{
    while (c->start < c->end) {
        ssize_t n = send(c->fd, c->out + c->start, c->end - c->start, MSG_NOSIGNAL);
        if (n == -1)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        c->start += (size_t)n, c->echoed += n;
    }
    free(c->out); /* all sent: an idle connection holds no buffer */
    c->out = NULL, c->start = c->end = c->cap = 0;
    return 0;
}
// ANCHOR_END: buffer

// ANCHOR: interest
/* Level-triggered epoll reports a socket for as long as it is ready, so we ask
   only for what we can act on: EPOLLIN while there is room for more echo (no
   room: the client's sends stall, which is the backpressure), EPOLLOUT only
   while some echo waits to go (an idle socket is always writable). */
static int update_interest(struct conn *c)
{
    size_t unsent = c->end - c->start;
    uint32_t want = (!c->eof && unsent < MAX_UNSENT ? EPOLLIN : 0) | (unsent > 0 ? EPOLLOUT : 0);
    if (want == c->events)
        return 0;
    c->events = want;
    return watch(EPOLL_CTL_MOD, c->fd, want, c);
}
// ANCHOR_END: interest

// ANCHOR: echo
/* The socket is readable: take what has arrived, at most what still fits
   under MAX_UNSENT. 0 bytes is the client's end of file. */
static int on_readable(struct conn *c)
{
    size_t room = MAX_UNSENT - (c->end - c->start);
    ssize_t n = recv(c->fd, scratch, room < sizeof scratch ? room : sizeof scratch, 0);
    if (n > 0)
        return keep(c, scratch, (size_t)n);
    if (n == 0)
        c->eof = true;
    return n == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
}

/* One connection's events: read, send back, then ask epoll for what is next. */
static void serve(struct conn *c, uint32_t ready)
{
    int err = 0;
    if ((c->events & EPOLLIN) && (ready & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        err = on_readable(c); /* an error or hang-up shows up as recv()'s result */
    if (err == 0)
        err = flush(c); /* what we just read, or what waited for EPOLLOUT */
    if (err == 0 && c->eof && c->start == c->end) {
        log_line(PROG, "%s: closed, %lld bytes echoed", c->peer, c->echoed);
        close_conn(c);
        return;
    }
    if (err == 0)
        err = update_interest(c);
    if (err == -1) { /* a reset, a vanished client: log it, close it, go on */
        log_line(PROG, "%s: %s", c->peer, strerror(errno));
        close_conn(c);
    }
}
// ANCHOR_END: echo

// ANCHOR: signals
/* SIGTERM and SIGINT are blocked, so they stay pending instead of running a
   handler or killing us, and a signalfd reports them: it becomes readable
   when one is pending, and read() takes it. The stop is an event like any other. */
static int open_signal_fd(void)
{
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) == -1)
        return -1;
    return signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* The signalfd is readable: which signal was it? 0 if there was none after all. */
static int read_signal(void)
{
    struct signalfd_siginfo info;
    ssize_t n = read(signal_fd, &info, sizeof info);
    return n == (ssize_t)sizeof info ? (int)info.ssi_signo : 0;
}
// ANCHOR_END: signals

int main(int argc, char **argv)
{
    struct options opt;
    parse_options(argc, argv, PROG, &opt);
    raise_open_file_limit(PROG);
    int status = 1, stop = 0;
    const char *step = "signalfd";
    /* Before READY: the harness may send SIGTERM right after it. */
    if ((signal_fd = open_signal_fd()) == -1)
        goto fail;
    step = "timerfd_create"; /* CLOCK_MONOTONIC: a clock that setting the date does not move */
    if ((timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
        goto fail;
    step = "epoll_create1"; /* a new, empty epoll set, itself a descriptor */
    if ((epoll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
        goto fail;
    listen_fd = listen_on(PROG, opt.host, opt.port); /* prints READY, or exits 1 */
    step = "fcntl O_NONBLOCK"; /* accept() too must never sleep */
    if (fcntl(listen_fd, F_SETFL, O_NONBLOCK) == -1)
        goto fail;
    step = "epoll_ctl";
    if (watch(EPOLL_CTL_ADD, listen_fd, EPOLLIN, &listener_mark) == -1 ||
        watch(EPOLL_CTL_ADD, signal_fd, EPOLLIN, &signal_mark) == -1 ||
        watch(EPOLL_CTL_ADD, timer_fd, EPOLLIN, &timer_mark) == -1)
        goto fail;

    // ANCHOR: loop
    /* epoll_wait() sleeps until at least one watched descriptor is ready, then
       fills `ready` with up to MAX_EVENTS of them: what happened (EPOLLIN, ...)
       and the pointer we registered. -1: no timeout. */
    struct epoll_event ready[MAX_EVENTS];
    while (stop == 0) {
        step = "epoll_wait";
        int n = epoll_wait(epoll_fd, ready, MAX_EVENTS, -1);
        if (n == -1 && errno != EINTR)
            goto fail;
        for (int i = 0; i < n && stop == 0; i++) {
            void *what = ready[i].data.ptr;
            if (what == &signal_mark) {
                stop = read_signal();
            } else if (what == &listener_mark) {
                step = "pausing accept";
                if (on_listener() == -1)
                    goto fail;
            } else if (what == &timer_mark) {
                step = "resuming accept";
                if (resume_accepting() == -1)
                    goto fail;
            } else {
                serve(what, ready[i].events);
            }
        }
    }
    // ANCHOR_END: loop
    status = 0;
    goto out;
fail:
    log_line(PROG, "%s: %s", step, strerror(errno));
out:
    // ANCHOR: stop
    /* A signal or a failure: close every client (closing a socket also takes
       it out of the epoll set), then the listener and the rest; -1 is none. */
    while (conns != NULL)
        close_conn(conns);
    int fds[] = {listen_fd, timer_fd, signal_fd, epoll_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] != -1)
            close(fds[i]);
    if (stop != 0)
        log_line(PROG, "stopping on %s", stop == SIGINT ? "SIGINT" : "SIGTERM");
    return status;
    // ANCHOR_END: stop
}
