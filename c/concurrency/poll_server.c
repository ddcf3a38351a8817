/* poll_server.c -- a concurrent TCP echo server: one thread, non-blocking sockets, poll() */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (sigaction, poll, ...) under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define PROG "poll_server"
#define FIRST_ROOM 65536 /* a connection's buffer starts at 64 KiB and doubles up to MAX_UNSENT */

// ANCHOR: state
/* One thread serves every client, so what a blocking server keeps in local
   variables (the bytes not yet echoed, the count) lives in a struct per client. */
struct conn {
    int fd;
    char peer[ADDR_LEN];
    char *buf;               /* received, not yet sent back: buf[start] to buf[start + len - 1] */
    size_t room, start, len; /* room: the buffer's size */
    long long echoed;
    int eof; /* the client half-closed: send what is left, then close */
};

/* poll() takes an array of struct pollfd: a descriptor, the events we ask
   about, and the events that happened (revents, filled in by poll()). fds[0]
   is the signal pipe, fds[1] the listener, fds[i + 2] watches conns[i]. */
static struct conn *conns;
static struct pollfd *fds;
static size_t n_conns, conns_room;

/* Make room for one more connection in both arrays. */
static int make_room(void)
{
    if (n_conns < conns_room)
        return 0;
    size_t room = conns_room ? 2 * conns_room : 64;
    struct conn *bigger = realloc(conns, room * sizeof *bigger);
    if (bigger == NULL)
        return -1;
    conns = bigger;
    struct pollfd *more = realloc(fds, (room + 2) * sizeof *more);
    if (more == NULL)
        return -1;
    fds = more, conns_room = room;
    return 0;
}
// ANCHOR_END: state

// ANCHOR: stop
/* The self-pipe trick, as in echo_server: the handler sets a flag and write()s
   a byte to a pipe, and poll() watches the pipe with everything else. */
static volatile sig_atomic_t stop_signal; /* 0 until SIGTERM or SIGINT arrives */
static int stop_pipe[2];                  /* [0] is polled, [1] is written by the handler */

static void on_signal(int sig)
{
    int saved_errno = errno; /* don't disturb errno for the code we interrupted */
    stop_signal = sig;
    ssize_t n = write(stop_pipe[1], "x", 1); /* Best effort: if the pipe is full, */
    (void)n;                                 /* a byte is waiting there already. */
    errno = saved_errno;
}

/* SIGPIPE is ignored: a send() to a client that has gone fails with EPIPE. */
static void install_handlers(void)
{
    struct sigaction sa = {.sa_handler = on_signal}, ignore = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    sigemptyset(&ignore.sa_mask);
    if (pipe(stop_pipe) == -1 || fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) == -1 ||
        sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1 ||
        sigaction(SIGPIPE, &ignore, NULL) == -1) {
        log_line(PROG, "signal setup: %s", strerror(errno));
        exit(1);
    }
}
// ANCHOR_END: stop

// ANCHOR: accept
/* Accept every client that is waiting; the listener is non-blocking, so
   accept() says EAGAIN when there are no more. Returns 1 when accept() failed
   for want of descriptors or memory (wait a little before retrying). */
static int accept_clients(int listen_fd)
{
    for (;;) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept(listen_fd, (struct sockaddr *)&addr, &len);
        if (fd == -1 && errno == EINTR)
            continue;
        if (fd == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (fd == -1) {
            log_line(PROG, "accept: %s", strerror(errno));
            return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
        }
        char peer[ADDR_LEN];
        format_address((struct sockaddr *)&addr, len, peer, sizeof peer);
        log_line(PROG, "connection from %s", peer);
        /* An accepted socket does not inherit O_NONBLOCK: set it on each one. */
        if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 || make_room() == -1) {
            log_line(PROG, "%s: %s", peer, strerror(errno));
            close(fd);
            continue;
        }
        conns[n_conns] = (struct conn){.fd = fd};
        memcpy(conns[n_conns].peer, peer, sizeof peer);
        fds[n_conns + 2] = (struct pollfd){.fd = fd};
        n_conns++;
    }
}
// ANCHOR_END: accept

// ANCHOR: events
/* What we ask poll() about decides who we serve: POLLIN only while the client's
   buffer has room (a client that never reads stops being read: backpressure),
   POLLOUT only while there is echo to send (else poll() would report a writable
   socket at once, every time, and we would spin). */
static short wanted(const struct conn *c)
{
    short events = 0;
    if (!c->eof && c->len < MAX_UNSENT)
        events |= POLLIN;
    if (c->len > 0)
        events |= POLLOUT;
    return events;
}
// ANCHOR_END: events

// ANCHOR: echo
/* recv() what fits into the buffer; 0 when that went well or there was
   nothing to read after all (EAGAIN), -1 with errno set when it failed. */
static int receive(struct conn *c)
{
    if (c->start + c->len == c->room) { /* no room after the data: make some */
        if (c->start > 0) {
            memmove(c->buf, c->buf + c->start, c->len);
            c->start = 0;
        } else { /* full (but below MAX_UNSENT, or we would not be here): grow */
            size_t room = c->room ? 2 * c->room : FIRST_ROOM;
            char *bigger = realloc(c->buf, room);
            if (bigger == NULL)
                return -1;
            c->buf = bigger, c->room = room;
        }
    }
    ssize_t n = recv(c->fd, c->buf + c->start + c->len, c->room - c->start - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    else if (n == 0)
        c->eof = 1; /* end of file: the client half-closed */
    else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return -1;
    return 0;
}

/* send() what the kernel will take now; the rest waits for POLLOUT. */
static int send_pending(struct conn *c)
{
    ssize_t n = send(c->fd, c->buf + c->start, c->len, 0);
    if (n == -1)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    c->start += (size_t)n, c->len -= (size_t)n, c->echoed += n;
    if (c->len == 0)
        c->start = 0;
    return 0;
}
// ANCHOR_END: echo

// ANCHOR: serve
/* Close conns[i] (logging why: err, or 0 for the client's end of file) and move
   the last connection into its place, in both arrays. Returns -1, for serve(). */
static int drop(size_t i, int err)
{
    struct conn *c = &conns[i];
    if (err != 0)
        log_line(PROG, "%s: %s", c->peer, strerror(err));
    else
        log_line(PROG, "%s: closed, %lld bytes echoed", c->peer, c->echoed);
    close(c->fd);
    free(c->buf);
    n_conns--;
    conns[i] = conns[n_conns];
    fds[i + 2] = fds[n_conns + 2]; /* revents too: it is served next, at index i */
    return -1;
}

/* Serve conns[i] as far as poll() said it can go. Returns 0 if it is still
   open, -1 if it was dropped. POLLERR and POLLHUP (a reset) are not asked for
   but always reported: the recv() or send() they wake says what went wrong. */
static int serve(size_t i)
{
    struct conn *c = &conns[i];
    if ((fds[i + 2].revents & (POLLIN | POLLERR | POLLHUP)) && (wanted(c) & POLLIN) &&
        receive(c) == -1)
        return drop(i, errno);
    if (c->len > 0 && send_pending(c) == -1) /* echo at once; don't wait for POLLOUT */
        return drop(i, errno);
    if (c->eof && c->len == 0) /* half-closed and all sent back: done */
        return drop(i, 0);
    return 0;
}
// ANCHOR_END: serve

int main(int argc, char **argv)
{
    struct options opt;
    parse_options(argc, argv, PROG, &opt);
    install_handlers(); /* before READY: the harness may signal right after it */
    raise_open_file_limit(PROG);
    int listen_fd = listen_on(PROG, opt.host, opt.port);
    int status = 1;
    if (fcntl(listen_fd, F_SETFL, O_NONBLOCK) == -1 || make_room() == -1) {
        log_line(PROG, "setup: %s", strerror(errno));
        goto out;
    }
    fds[0] = (struct pollfd){.fd = stop_pipe[0], .events = POLLIN};
    fds[1] = (struct pollfd){.fd = listen_fd, .events = POLLIN};

    // ANCHOR: loop
    /* Each turn: say what we want from each socket, sleep in poll() until some
       of it happens, then do it. Out of descriptors, we stop watching the
       listener for 100 ms, or accept() would fail again at once. */
    int paused = 0;
    while (!stop_signal) {
        for (size_t i = 0; i < n_conns; i++)
            fds[i + 2].events = wanted(&conns[i]);
        fds[1].events = paused ? 0 : POLLIN;
        int n = poll(fds, n_conns + 2, paused ? 100 : -1); /* -1: no timeout */
        if (n == -1 && errno == EINTR)
            continue; /* a signal: the loop's test looks at the flag */
        if (n == -1) {
            log_line(PROG, "poll: %s", strerror(errno));
            break;
        }
        for (size_t i = 0; i < n_conns;)
            if (fds[i + 2].revents == 0 || serve(i) == 0)
                i++; /* else conns[i] is now another connection: serve it too */
        int accepting = !paused && fds[1].revents != 0;
        paused = accepting && accept_clients(listen_fd);
    }
    // ANCHOR_END: loop

out:
    for (size_t i = 0; i < n_conns; i++) { /* every connection, served or not */
        close(conns[i].fd);
        free(conns[i].buf);
    }
    free(conns);
    free(fds);
    close(listen_fd);
    if (stop_signal != 0) {
        log_line(PROG, "stopping on %s", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }
    return status;
}
