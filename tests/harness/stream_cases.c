/* stream_cases.c -- the `tcp` kind: stream echo cases and single-program checks
 * (CONTRACT.md section 5). */
#define _GNU_SOURCE
#include "cases.h"
#include "stream_checks.h"
#include "checks.h"
#include "payloads.h"
#include "net.h"
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct pair_case STREAM_CASES[] = {
    {.name = "empty", .host = "127.0.0.1", .make = make_empty},
    {.name = "line", .host = "127.0.0.1", .make = make_line},
    {.name = "bytes", .host = "127.0.0.1", .make = make_bytes},
    {.name = "16mib", .host = "127.0.0.1", .make = make_16mib},
    {.name = "ipv6", .host = "::1", .make = make_line},
};

/* ---- checks of one program ---------------------------------------------- */

/* SIGTERM while a client is connected and mid-conversation. */
int check_stop_while_serving(const void *context, const char *command, char *why, size_t whylen)
{
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    int rc = -1;
    unsigned char echo[5];
    int fd = tcp_connect(s.addr.host, s.addr.port);
    if (fd < 0)
        snprintf(why, whylen, "cannot connect to the server");
    else if (send_all(fd, "hello", 5, 5000) < 0 || recv_until_eof(fd, echo, 5, 10000) != 5)
        snprintf(why, whylen, "no echo of a first 5 bytes (before any half-close)");
    else
        rc = 0; /* now the server is inside its echo loop, waiting for more */
    if (rc == 0)
        rc = server_stop(&s, SIGTERM, STOP_TIMEOUT_MS, why, whylen);
    if (fd >= 0)
        close(fd);
    return release_server(&s, &tmp, rc, why, whylen);
}

static int one_connection(const struct ready *addr, char *why, size_t whylen)
{
    return echo_exchange(addr->host, addr->port, LINE, why, whylen);
}

/* The log lines of CONTRACT.md section 4, for one clean connection and a stop. */
int check_logs(const void *context, const char *command, char *why, size_t whylen)
{
    unsigned char *log;
    size_t len;
    struct usage u; /* the program's name: echo_server, or a chapter 6 server's own */
    if (usage_of(command, &u, why, whylen) < 0 ||
        server_log_after(command, one_connection, &log, &len, why, whylen) < 0)
        return -1;
    char closed[64], connection[96];
    snprintf(closed, sizeof closed, ": closed, %zu bytes echoed\n", strlen(LINE));
    snprintf(connection, sizeof connection, "%s: connection from ", u.prog);
    int rc = 0;
    if (count_lines(log, len) != 3 || !starts_with(log, len, connection) ||
        !contains(log, len, closed) || !logged_stop_as(log, len, u.prog)) {
        snprintf(why, whylen, "want 3 log lines: %s: connection from <peer>; <peer>%.*s; "
                 "stopping on SIGTERM; got \"%.*s\"", u.prog, (int)strlen(closed) - 1, closed,
                 (int)(len > 300 ? 300 : len), (const char *)log);
        rc = -1;
    }
    free(log);
    return rc;
}

/* Plays a misbehaving client against the server, then checks that a good
 * client is still served correctly and that the server still stops cleanly. */
static int survives(const char *command, void (*misbehave)(const struct ready *), const char *then,
                    char *why, size_t whylen)
{
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    misbehave(&s.addr);
    int rc = echo_exchange(s.addr.host, s.addr.port, then, why, whylen);
    return finish_server(&s, &tmp, rc, why, whylen);
}

/* Sends a little, then resets the connection (RST). */
static void reset_after_sending(const struct ready *addr)
{
    int fd = tcp_connect(addr->host, addr->port);
    if (fd >= 0) {
        send_until_stalled(fd, 65536, 200);
        tcp_reset(fd);
    }
}

/* Sends until the server is blocked writing back to it, then vanishes
 * without reading. */
static void vanish_mid_transfer(const struct ready *addr)
{
    int fd = tcp_connect_buffers(addr->host, addr->port, 65536); /* stalls sooner */
    if (fd >= 0) {
        send_until_stalled(fd, 64u << 20, 300);
        close(fd);
    }
}

int check_survives_reset(const void *context, const char *command, char *why, size_t whylen)
{
    return survives(command, reset_after_sending, "after a reset\n", why, whylen);
}

int check_survives_vanish(const void *context, const char *command, char *why, size_t whylen)
{
    return survives(command, vanish_mid_transfer, "after a vanished client\n", why, whylen);
}

/* What process pid has open: the number of its sockets, and the lowest
 * descriptor number it does not use (below 4096, else -1). Returns 0 or -1. */
static int open_files(pid_t pid, int *sockets, int *lowest_free)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    bool used[4096] = {false};
    *sockets = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        char *end, link[320], target[64];
        long n = strtol(e->d_name, &end, 10);
        if (e->d_name[0] == '.' || *end != '\0' || n < 0)
            continue;
        if (n < 4096)
            used[n] = true;
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        *sockets += len > 7 && strncmp(target, "socket:", 7) == 0;
    }
    closedir(dir);
    *lowest_free = -1;
    for (int fd = 0; fd < 4096 && *lowest_free < 0; fd++)
        if (!used[fd])
            *lowest_free = fd;
    return 0;
}

/* Waits until process pid has at most `sockets` sockets open (a connection it
 * has finished with is closed: some runtimes close asynchronously), up to
 * timeout_ms. Returns the lowest descriptor number it does not use then, or -1. */
static int settled_lowest_free(pid_t pid, int sockets, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        int now, lowest;
        if (open_files(pid, &now, &lowest) < 0)
            return -1;
        if (now <= sockets || now_ms() >= deadline)
            return now <= sockets ? lowest : -1;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
}

/* With a client pending (fd) and the server out of descriptors, the server
 * must log its failed accept -- or close that connection unserved, which is
 * what Node's libuv does, without telling the program -- and keep running.
 * Returns 0, 1 if the server served the client after all (a descriptor below
 * the limit came free after it was measured: a runtime opening and closing
 * files of its own), or -1 with why. */
static int accept_failure_seen(int fd, struct server *s, int timeout_ms, char *why, size_t whylen)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (child_wait(&s->proc, 0)) {
            char status[64];
            snprintf(why, whylen, "out of descriptors, the server ended (%s)",
                     child_describe(&s->proc, status, sizeof status));
            return -1;
        }
        if (log_shows(s->err_path, "accept: Too many open files", 0))
            return 0;
        unsigned char buf[64];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0)
            return 1;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return 0;
        if (now_ms() >= deadline) {
            snprintf(why, whylen, "out of descriptors, the server neither logged \"accept: Too "
                     "many open files\" nor closed the pending connection in %d s",
                     timeout_ms / 1000);
            return -1;
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
}

/* Sets pid's soft limit on open files (its hard limit stays); *old gets the limits before. */
static int limit_files(pid_t pid, rlim_t soft, struct rlimit *old)
{
    if (prlimit(pid, RLIMIT_NOFILE, NULL, old) < 0)
        return -1;
    return prlimit(pid, RLIMIT_NOFILE, &(struct rlimit){soft, old->rlim_max}, NULL);
}

/* One try: lowers the server's limit to its lowest free descriptor number,
 * so that every new one fails, and connects a client. Returns what
 * accept_failure_seen does; *lowered says whether *old must be restored. */
static int starve_once(struct server *s, int sockets, struct rlimit *old, bool *lowered,
                       char *why, size_t whylen)
{
    int lowest = settled_lowest_free(s->proc.pid, sockets, 20000);
    if (lowest < 0) {
        snprintf(why, whylen, "the server still holds the socket of a finished connection after 20 s");
        return -1;
    }
    if (!*lowered && limit_files(s->proc.pid, (rlim_t)lowest, old) < 0) {
        snprintf(why, whylen, "harness: cannot lower the server's limit on open files: %s",
                 strerror(errno));
        return -1;
    }
    if (*lowered && prlimit(s->proc.pid, RLIMIT_NOFILE,
                            &(struct rlimit){(rlim_t)lowest, old->rlim_max}, NULL) < 0) {
        snprintf(why, whylen, "harness: cannot lower the server's limit again: %s", strerror(errno));
        return -1;
    }
    *lowered = true;
    int fd = tcp_connect(s->addr.host, s->addr.port);
    if (fd < 0) {
        snprintf(why, whylen, "cannot connect while the server is out of descriptors");
        return -1;
    }
    int rc = 0; /* Node's libuv may close it before we have sent */
    if (send_all(fd, "pending\n", 8, 5000) < 0 || shutdown(fd, SHUT_WR) < 0) {
        if (errno != EPIPE && errno != ECONNRESET && errno != ENOTCONN) {
            snprintf(why, whylen, "cannot send while the server is out of descriptors: %s",
                     strerror(errno));
            rc = -1;
        }
    } else {
        rc = accept_failure_seen(fd, s, 20000, why, whylen);
    }
    close(fd);
    return rc;
}

/* Out of descriptors, a server cannot accept: it logs that and goes on, and
 * serves the next client once it has descriptors again (CONTRACT.md 3.3). It
 * has served one client first, as a server that has been up a while has. */
int check_survives_emfile(const void *context, const char *command, char *why, size_t whylen)
{
    enum { TRIES = 3 };
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    int sockets, lowest;
    int rc = open_files(s.proc.pid, &sockets, &lowest);
    if (rc < 0)
        snprintf(why, whylen, "harness: cannot read the server's /proc/PID/fd");
    if (rc == 0)
        rc = echo_exchange(s.addr.host, s.addr.port, "before\n", why, whylen);
    struct rlimit old;
    bool lowered = false;
    /* A try the server survived by accepting after all is tried again. */
    for (int tries = 0; rc == 0 && tries < TRIES; tries++)
        if ((rc = starve_once(&s, sockets, &old, &lowered, why, whylen)) == 1)
            rc = tries + 1 < TRIES ? 0 : 1;
        else
            break;
    if (rc == 1) {
        snprintf(why, whylen, "out of descriptors, the server still accepted a client, %d "
                 "times: the harness could not starve it", TRIES);
        rc = -1;
    }
    if (lowered && prlimit(s.proc.pid, RLIMIT_NOFILE, &old, NULL) < 0 && rc == 0) {
        snprintf(why, whylen, "harness: cannot restore the server's limit: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        rc = echo_exchange(s.addr.host, s.addr.port, "after running out of descriptors\n", why,
                           whylen);
    char status[64];
    /* Whatever step failed, a server that ended is why. It may still be on
     * its way out (Python closes its sockets before it prints the traceback
     * and exits): give it a moment, on this failure path only. */
    if (rc < 0 && lowered && child_wait(&s.proc, 2000))
        snprintf(why, whylen, "out of descriptors, the server ended (%s)",
                 child_describe(&s.proc, status, sizeof status));
    return finish_server(&s, &tmp, rc, why, whylen);
}

static int check_refused(const void *context, const char *command, char *why, size_t whylen)
{
    int port = 0;
    int fd = tcp_bind("127.0.0.1", &port, 0); /* bound, not listening: refuses */
    if (fd < 0) {
        snprintf(why, whylen, "harness: cannot reserve a port");
        return -1;
    }
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct ran r;
    int rc = run_once(command, (const char *[]){"--host", "127.0.0.1", "--port", portstr, NULL},
                      LINE, &r, why, whylen);
    if (rc == 0)
        rc = expect_error_reason(command, &r, "Connection refused", "connection refused", why, whylen);
    ran_free(&r);
    close(fd);
    return rc;
}

/* Plays a misbehaving server: accepts the client, reads its first bytes, then
 * either resets the connection (RST) or just closes it, long before the
 * client has sent all of `input`. The client must report one error line. */
static int against_bad_server(const char *command, const void *input, size_t inlen, bool reset,
                              char *why, size_t whylen)
{
    const char *situation = reset ? "connection reset" : "server closed before the input was sent";
    int port = 0;
    int lfd = tcp_bind("127.0.0.1", &port, 1);
    if (lfd < 0) {
        snprintf(why, whylen, "harness: cannot listen");
        return -1;
    }
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct started client;
    int rc = start_program(&client, command,
                           (const char *[]){"--host", "127.0.0.1", "--port", portstr, NULL},
                           input, inlen, why, whylen);
    if (rc < 0) {
        close(lfd);
        return -1;
    }

    int cfd = -1;
    unsigned char first[1];
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (rc == 0 && poll(&p, 1, READY_TIMEOUT_MS) == 1 &&
        (cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        recv_until_eof(cfd, first, 1, 10000);
        if (reset) {
            tcp_reset(cfd);
        } else {
            /* A clean end of file first (the client's receiving side sees it);
             * we read nothing more, so the client's sending side soon blocks
             * with most of its 16 MiB unsent; then the connection goes (a close
             * with unread data is a reset). The pause only makes it likely that
             * the end of file is seen before the reset; either way the client
             * must fail. */
            shutdown(cfd, SHUT_WR);
            nanosleep(&(struct timespec){.tv_nsec = 200 * 1000 * 1000}, NULL);
            close(cfd);
        }
    }
    if (cfd < 0) {
        snprintf(why, whylen, "the client never connected");
        rc = -1;
    } else if (!finish_program(&client, 20000)) {
        snprintf(why, whylen, "%s: the client did not exit within 20 s", situation);
        rc = -1;
    } else {
        rc = expect_one_line_error(&client.r, situation, why, whylen);
    }
    started_cleanup(&client);
    ran_free(&client.r);
    close(lfd);
    return rc;
}

static int check_reset(const void *context, const char *command, char *why, size_t whylen)
{
    return against_bad_server(command, LINE, strlen(LINE), true, why, whylen);
}

/* The server closes after reading a little of 16 MiB: the echo is incomplete,
 * so the client must not claim success, whichever side notices first. */
static int check_early_close(const void *context, const char *command, char *why, size_t whylen)
{
    unsigned char *big;
    size_t len = make_16mib(&big);
    if (!big) {
        snprintf(why, whylen, "harness: out of memory");
        return -1;
    }
    int rc = against_bad_server(command, big, len, false, why, whylen);
    free(big);
    return rc;
}

static const struct single_check STREAM_CHECKS[] = {
    {"help", "any", check_help, NULL},
    {"bad_flag", "any", check_bad_flag, NULL},
    {"bad_port", "any", check_bad_port, NULL},
    {"sigint", "server", check_sigint, NULL},
    {"logs", "server", check_logs, NULL},
    {"stop_while_serving", "server", check_stop_while_serving, NULL},
    {"survives_reset", "server", check_survives_reset, NULL},
    {"survives_vanish", "server", check_survives_vanish, NULL},
    {"every_address", "server", check_every_address, &(const int){SOCK_STREAM}},
    {"survives_emfile", "server", check_survives_emfile, NULL},
    {"refused", "client", check_refused, NULL},
    {"reset", "client", check_reset, NULL},
    {"early_close", "client", check_early_close, NULL},
    {"stdout_closed", "client", check_stdout_closed, ARGS("--port", "9")},
};

const struct kind_spec STREAM_SPEC = {
    .kind = "tcp",
    KIND_CASES(STREAM_CASES),
    KIND_CHECKS(STREAM_CHECKS),
    .addressing = ADDR_INET,
    .output = OUT_ECHO,
};
