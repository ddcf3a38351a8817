/* udp_cases.c -- the `udp` kind: datagram echo cases, some through the relay
 * that drops datagrams, and single-program checks (CONTRACT.md section 7). */
#define _GNU_SOURCE
#include "cases.h"
#include "checks.h"
#include "net.h"
#include "payloads.h"
#include "run.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The relay's seed for 30% loss: with it, for one request at a time, the
 * first reply and then the second request are dropped -- loss in both
 * directions, so every loss30 test exercises the retries. */
#define LOSS_SEED "17"

static const struct pair_case UDP_CASES[] = {
    {.name = "empty", .host = "127.0.0.1", .make = make_empty},
    {.name = "byte", .host = "127.0.0.1", .make = make_byte},
    {.name = "1472", .host = "127.0.0.1", .make = make_1472},
    {.name = "65507", .host = "127.0.0.1", .make = make_65507},
    {.name = "bytes", .host = "127.0.0.1", .make = make_bytes},
    {.name = "ipv6", .host = "::1", .make = make_line},
    {.name = "loss30", .host = "127.0.0.1", .make = make_line,
     .client_args = "--timeout 0.2 --retries 20", .relay_args = "--drop 0.3 --seed " LOSS_SEED,
     .must_drop = true},
    {.name = "loss100", .host = "127.0.0.1", .make = make_line,
     .client_args = "--timeout 0.2 --retries 2", .relay_args = "--drop 1", .must_fail = true,
     .attempts = 3},
};

/* ---- servers -------------------------------------------------------------- */

static int one_datagram(const struct ready *addr, char *why, size_t whylen)
{
    return udp_echo_exchange(addr->host, addr->port, LINE, strlen(LINE), 3, 2000, why, whylen);
}

/* One datagram echoed, then a stop: the log lines of CONTRACT.md section 7. */
static int check_logs(const void *context, const char *command, char *why, size_t whylen)
{
    unsigned char *log;
    size_t len;
    if (server_log_after(command, one_datagram, &log, &len, why, whylen) < 0)
        return -1;
    char got[64];
    snprintf(got, sizeof got, "echo_server: %zu bytes from ", strlen(LINE));
    int rc = 0;
    if (count_lines(log, len) != 2 || !starts_with(log, len, got) ||
        !logged_stop_on_sigterm(log, len)) {
        snprintf(why, whylen, "want 2 log lines: \"%s<peer>\" and \"echo_server: stopping on "
                 "SIGTERM\"; got \"%.*s\"", got, (int)(len > 300 ? 300 : len), (const char *)log);
        rc = -1;
    }
    free(log);
    return rc;
}

#define GARBAGE_COUNT 2000

/* Thousands of datagrams of random sizes and bytes, sent without reading the
 * echoes; then a correct client must still get its answer. */
static int check_survives_garbage(const void *context, const char *command, char *why, size_t whylen)
{
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    int fd = udp_connect(s.addr.host, s.addr.port);
    static unsigned char junk[65507];
    fill_random(junk, sizeof junk, 2026);
    unsigned long long x = 88172645463325252ULL;
    for (int i = 0; fd >= 0 && i < GARBAGE_COUNT; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64: sizes and offsets */
        size_t size = (size_t)(x % (sizeof junk + 1));
        if (send(fd, junk + (x >> 32) % (sizeof junk - size + 1), size, 0) < 0 &&
            (errno == EAGAIN || errno == ENOBUFS))
            poll_until(fd, POLLOUT, now_ms() + 100); /* the loopback queue is full: a breather */
    }
    if (fd >= 0)
        close(fd);
    int rc = udp_echo_exchange(s.addr.host, s.addr.port, LINE, strlen(LINE), 5, 2000, why, whylen);
    if (rc < 0) {
        size_t used = strlen(why);
        snprintf(why + used, whylen - used, " (after %d random datagrams)", GARBAGE_COUNT);
    }
    return finish_server(&s, &tmp, rc, why, whylen);
}

/* ---- clients -------------------------------------------------------------- */

static int check_bad_timing(const void *context, const char *command, char *why, size_t whylen)
{
    /* CONTRACT.md 3.1: seconds are digits, optionally a "." and more digits, above 0. */
    static const struct {
        const char *flag, *value;
    } bad[] = {
        {"--timeout", "0"},   {"--timeout", "-1"},  {"--timeout", "soon"}, {"--timeout", ".5"},
        {"--timeout", "5."},  {"--timeout", "1e3"}, {"--timeout", "inf"},  {"--timeout", "0.0"},
        {"--retries", "-1"},  {"--retries", "1.5"}, {"--retries", "+2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[96];
        snprintf(want, sizeof want, "bad %s: %s", bad[i].flag + 2, bad[i].value);
        if (expect_usage_error(command, (const char *[]){"--port", "9", bad[i].flag, bad[i].value, NULL},
                               want, why, whylen) < 0)
            return -1;
    }
    return 0;
}

/* 65,508 bytes cannot be one IPv4 datagram: exit 2, one line, nothing sent. */
static int check_oversize(const void *context, const char *command, char *why, size_t whylen)
{
    int port, fd = udp_bind("127.0.0.1", &port);
    if (fd < 0) {
        snprintf(why, whylen, "harness: cannot bind a UDP socket");
        return -1;
    }
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    char *big = malloc(65509);
    memset(big, 'x', 65508);
    big[65508] = '\0';
    struct ran r;
    char status[96], probe[1];
    int rc = run_once(command, (const char *[]){"--host", "127.0.0.1", "--port", portstr, NULL},
                      big, &r, why, whylen);
    if (rc == 0 && (!child_exited_with(&r.proc, 2) || r.outlen || count_lines(r.err, r.errlen) != 1)) {
        snprintf(why, whylen, "65508 bytes on stdin: %s, %zu lines on stderr; want exit 2 and one line",
                 child_describe(&r.proc, status, sizeof status), count_lines(r.err, r.errlen));
        rc = -1;
    } else if (rc == 0 && recv(fd, probe, sizeof probe, MSG_DONTWAIT) >= 0) {
        snprintf(why, whylen, "65508 bytes on stdin: the client sent a datagram anyway");
        rc = -1;
    }
    ran_free(&r);
    free(big);
    close(fd);
    return rc;
}

/* A closed port: ICMP port unreachable becomes ECONNREFUSED on a connected UDP
 * socket, so the client fails at once instead of waiting out a 10 s timeout. */
static int check_refused(const void *context, const char *command, char *why, size_t whylen)
{
    int port, fd = udp_bind("127.0.0.1", &port);
    if (fd < 0) {
        snprintf(why, whylen, "harness: cannot bind a UDP socket");
        return -1;
    }
    close(fd); /* now nothing listens there */
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct ran r;
    long long start = now_ms();
    int rc = run_once(command, (const char *[]){"--host", "127.0.0.1", "--port", portstr,
                                                "--timeout", "10", "--retries", "0", NULL},
                      LINE, &r, why, whylen);
    long long took = now_ms() - start;
    if (rc == 0)
        rc = expect_error_reason(command, &r, "Connection refused", "port unreachable", why, whylen);
    if (rc == 0 && took >= 8000) {
        snprintf(why, whylen, "port unreachable: the client took %lld ms; it should fail at once "
                 "on ECONNREFUSED, not wait for its 10 s timeout", took);
        rc = -1;
    }
    ran_free(&r);
    return rc;
}

/* A reply from another address arrives first; the client must ignore it and
 * print the real one. */
static int check_ignores_strangers(const void *context, const char *command, char *why, size_t whylen)
{
    int port, stranger_port;
    int fd = udp_bind("127.0.0.1", &port), stranger = udp_bind("127.0.0.1", &stranger_port);
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct started client;
    int rc = fd < 0 || stranger < 0 ? (snprintf(why, whylen, "harness: cannot bind UDP sockets"), -1)
             : start_program(&client, command,
                             (const char *[]){"--host", "127.0.0.1", "--port", portstr,
                                              "--timeout", "10", "--retries", "0", NULL},
                             LINE, strlen(LINE), why, whylen);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        if (stranger >= 0)
            close(stranger);
        return -1;
    }

    unsigned char request[65536];
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof from;
    ssize_t n = -1;
    if (poll_until(fd, POLLIN, now_ms() + READY_TIMEOUT_MS) == 0)
        n = recvfrom(fd, request, sizeof request, 0, (struct sockaddr *)&from, &fromlen);
    struct ran *r = &client.r;
    char status[96];
    if (n < 0) {
        snprintf(why, whylen, "the client sent nothing");
        rc = -1;
    } else {
        sendto(stranger, "not from the server\n", 20, 0, (struct sockaddr *)&from, fromlen);
        sendto(fd, request, (size_t)n, 0, (struct sockaddr *)&from, fromlen);
        if (!finish_program(&client, 20000)) {
            snprintf(why, whylen, "the client did not exit within 20 s");
            rc = -1;
        } else if (!child_exited_with(&r->proc, 0) || r->outlen != strlen(LINE) ||
                   memcmp(r->out, LINE, r->outlen)) {
            snprintf(why, whylen, "after a stranger's datagram and then the server's reply: "
                     "%s, stdout \"%.*s\"; want exit 0 and the server's reply",
                     child_describe(&r->proc, status, sizeof status),
                     (int)(r->outlen > 60 ? 60 : r->outlen), (const char *)r->out);
            rc = -1;
        }
    }
    started_cleanup(&client);
    ran_free(r);
    close(fd);
    close(stranger);
    return rc;
}

static const struct single_check UDP_CHECKS[] = {
    {"help", "any", check_help, NULL},
    {"bad_flag", "any", check_bad_flag, NULL},
    {"bad_port", "any", check_bad_port, NULL},
    {"sigint", "server", check_sigint, NULL},
    {"logs", "server", check_logs, NULL},
    {"survives_garbage", "server", check_survives_garbage, NULL},
    {"every_address", "server", check_every_address, &(const int){SOCK_DGRAM}},
    {"bad_timing", "client", check_bad_timing, NULL},
    {"oversize", "client", check_oversize, NULL},
    {"refused", "client", check_refused, NULL},
    {"ignores_strangers", "client", check_ignores_strangers, NULL},
    {"stdout_closed", "client", check_stdout_closed, ARGS("--port", "9")},
};

const struct kind_spec UDP_SPEC = {
    .kind = "udp",
    KIND_CASES(UDP_CASES),
    KIND_CHECKS(UDP_CHECKS),
    .addressing = ADDR_INET,
    .output = OUT_ECHO,
};
