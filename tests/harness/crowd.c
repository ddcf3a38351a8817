/* crowd.c -- many connections at once from one harness process. */
#define _GNU_SOURCE
#include "crowd.h"

#include "payloads.h"
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECTS_IN_FLIGHT 256

/* Milliseconds left until deadline, for poll (at least 0). */
static int left_ms(long long deadline_ms)
{
    long long left = deadline_ms - now_ms();
    return left < 0 ? 0 : left > 1000 ? 1000 : (int)left;
}

void crowd_close(struct crowd *c)
{
    for (size_t i = 0; c->fds && i < c->n; i++)
        if (c->fds[i] >= 0)
            close(c->fds[i]);
    free(c->fds);
    *c = (struct crowd){0};
}

/* Starts a non-blocking connect. Returns the descriptor, or -1. */
static int start_connect(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits for the pending connects among fds[from, to) to finish. Returns 0, or
 * -1 with why. */
static int finish_connects(struct crowd *c, size_t from, size_t to, long long deadline_ms,
                           char *why, size_t whylen)
{
    struct pollfd p[CONNECTS_IN_FLIGHT];
    size_t pending = to - from;
    bool done[CONNECTS_IN_FLIGHT] = {false};
    while (pending > 0) {
        size_t np = 0, index[CONNECTS_IN_FLIGHT];
        for (size_t i = from; i < to; i++)
            if (!done[i - from]) {
                p[np] = (struct pollfd){.fd = c->fds[i], .events = POLLOUT};
                index[np++] = i;
            }
        if (now_ms() >= deadline_ms) {
            snprintf(why, whylen, "only %zu of %zu connections established in time",
                     to - from - pending + from, c->n);
            return -1;
        }
        if (poll(p, np, left_ms(deadline_ms)) < 0 && errno != EINTR) {
            snprintf(why, whylen, "harness: poll: %s", strerror(errno));
            return -1;
        }
        for (size_t k = 0; k < np; k++) {
            if (!p[k].revents)
                continue;
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(p[k].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
                snprintf(why, whylen, "connection %zu of %zu: %s", index[k] + 1, c->n,
                         strerror(err ? err : errno));
                return -1;
            }
            done[index[k] - from] = true;
            pending--;
        }
    }
    return 0;
}

int crowd_connect(struct crowd *c, const char *host, int port, size_t n, long long deadline_ms,
                  char *why, size_t whylen)
{
    *c = (struct crowd){.fds = malloc((n ? n : 1) * sizeof *c->fds), .n = 0};
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    int rc = 0;
    if (!c->fds || getaddrinfo(host, service, &hints, &ai) != 0) {
        snprintf(why, whylen, "harness: cannot prepare %zu connections to %s:%d", n, host, port);
        rc = -1;
    }
    for (size_t from = 0; rc == 0 && from < n; from += CONNECTS_IN_FLIGHT) {
        size_t to = from + CONNECTS_IN_FLIGHT < n ? from + CONNECTS_IN_FLIGHT : n;
        for (; c->n < to && rc == 0; c->n++)
            if ((c->fds[c->n] = start_connect(ai)) < 0) {
                snprintf(why, whylen, "connection %zu of %zu: %s", c->n + 1, n, strerror(errno));
                rc = -1;
            }
        if (rc == 0)
            rc = finish_connects(c, from, to, deadline_ms, why, whylen);
    }
    if (ai)
        freeaddrinfo(ai);
    if (rc < 0)
        crowd_close(c);
    return rc;
}

/* One connection's echo: what it sends, what came back. */
struct echo_state {
    unsigned char *want, *got;
    size_t sent, received;
    const char *failed; /* why, or NULL */
};

/* Moves one connection's echo along after poll said it may. */
static void echo_step(int fd, short revents, struct echo_state *e, size_t len)
{
    if ((revents & POLLOUT) && e->sent < len) {
        ssize_t n = send(fd, e->want + e->sent, len - e->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            e->sent += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            e->failed = strerror(errno);
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = recv(fd, e->got + e->received, len + 1 - e->received, MSG_DONTWAIT);
        if (n > 0)
            e->received += (size_t)n;
        else if (n == 0)
            e->failed = "end of file before the whole echo";
        else if (errno != EAGAIN && errno != EINTR)
            e->failed = strerror(errno);
    }
    if (!e->failed && e->received > len)
        e->failed = "more bytes came back than were sent";
    if (!e->failed && e->received == len && memcmp(e->want, e->got, len) != 0)
        e->failed = "the echo differs from what was sent";
}

static bool echo_done(const struct echo_state *e, size_t len)
{
    return e->failed || e->received == len;
}

/* Polls every unfinished echo until all are done or the deadline passes. */
static void echo_all(struct crowd *c, struct echo_state *st, struct pollfd *p, size_t *index,
                     size_t len, long long deadline_ms)
{
    for (;;) {
        size_t np = 0;
        for (size_t i = 0; i < c->n; i++)
            if (!echo_done(&st[i], len)) {
                p[np] = (struct pollfd){.fd = c->fds[i],
                                        .events = POLLIN | (st[i].sent < len ? POLLOUT : 0)};
                index[np++] = i;
            }
        if (np == 0 || now_ms() >= deadline_ms)
            return;
        if (poll(p, np, left_ms(deadline_ms)) < 0 && errno != EINTR)
            return;
        for (size_t k = 0; k < np; k++)
            if (p[k].revents)
                echo_step(p[k].fd, p[k].revents, &st[index[k]], len);
    }
}

int crowd_echo(struct crowd *c, size_t len, long long deadline_ms, char *why, size_t whylen)
{
    struct echo_state *st = calloc(c->n ? c->n : 1, sizeof *st);
    struct pollfd *p = calloc(c->n ? c->n : 1, sizeof *p);
    size_t *index = calloc(c->n ? c->n : 1, sizeof *index);
    bool ok = st && p && index;
    for (size_t i = 0; ok && i < c->n; i++) {
        ok = (st[i].want = malloc(len ? len : 1)) && (st[i].got = malloc(len + 1));
        if (ok)
            fill_random(st[i].want, len, 1000 + i);
    }
    int rc = -1;
    if (!ok) {
        snprintf(why, whylen, "harness: out of memory for %zu echoes", c->n);
    } else {
        echo_all(c, st, p, index, len, deadline_ms);
        size_t right = 0, first = c->n;
        for (size_t i = 0; i < c->n; i++) {
            bool good = !st[i].failed && st[i].received == len;
            right += good;
            if (!good && first == c->n)
                first = i;
        }
        rc = right == c->n ? 0 : -1;
        if (rc < 0)
            snprintf(why, whylen, "%zu of %zu connections got their %zu-byte echo (all open at "
                     "once); connection %zu: %s (%zu bytes sent, %zu back)", right, c->n, len,
                     first + 1, st[first].failed ? st[first].failed : "no whole echo in time",
                     st[first].sent, st[first].received);
    }
    for (size_t i = 0; st && i < c->n; i++) {
        free(st[i].want);
        free(st[i].got);
    }
    free(st);
    free(p);
    free(index);
    return rc;
}

int crowd_finish(struct crowd *c, long long deadline_ms, char *why, size_t whylen)
{
    for (size_t i = 0; i < c->n; i++)
        if (shutdown(c->fds[i], SHUT_WR) < 0) {
            snprintf(why, whylen, "connection %zu of %zu: shutdown: %s", i + 1, c->n, strerror(errno));
            return -1;
        }
    for (size_t i = 0; i < c->n; i++) {
        struct pollfd p = {.fd = c->fds[i], .events = POLLIN};
        char byte;
        ssize_t n = -1;
        errno = EAGAIN;
        /* poll waits at most a second at a time: until the deadline, look again. */
        while (n < 0 && (errno == EAGAIN || errno == EINTR) && now_ms() < deadline_ms)
            if (poll(&p, 1, left_ms(deadline_ms)) == 1)
                n = recv(c->fds[i], &byte, 1, MSG_DONTWAIT);
        if (n != 0) {
            snprintf(why, whylen, "connection %zu of %zu: %s after the half-close, want end of file",
                     i + 1, c->n, n > 0 ? "more bytes" : "no end of file");
            return -1;
        }
    }
    return 0;
}

/* How many descriptors this process has open now. */
static size_t open_now(void)
{
    DIR *d = opendir("/proc/self/fd");
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

int crowd_room(size_t n, char *why, size_t whylen)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) < 0) {
        snprintf(why, whylen, "harness: getrlimit: %s", strerror(errno));
        return -1;
    }
    rlim_t want = (rlim_t)(open_now() + n + 64);
    if (r.rlim_cur >= want)
        return 0;
    if (r.rlim_max < want) {
        snprintf(why, whylen, "harness: %zu connections need %llu open files, and the hard limit "
                 "is %llu (ulimit -Hn)", n, (unsigned long long)want, (unsigned long long)r.rlim_max);
        return -1;
    }
    r.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &r) < 0) {
        snprintf(why, whylen, "harness: setrlimit: %s", strerror(errno));
        return -1;
    }
    return 0;
}
