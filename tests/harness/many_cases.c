/* many_cases.c -- the `tcp-many` kind: chapter 6's concurrent echo servers,
 * every `tcp` client their client (CONTRACT.md 10). */
#define _GNU_SOURCE
#include "cases.h"
#include "checks.h"
#include "crowd.h"
#include "net.h"
#include "payloads.h"
#include "stream_checks.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What a server's design can get wrong with one client of any language: the
 * large case (partial writes, buffers, backpressure). IPv6 is a check of its
 * own, and the concurrency checks do the rest. */
static const struct pair_case MANY_CASES[] = {
    {.name = "16mib", .host = "127.0.0.1", .make = make_16mib},
};

/* Started with --host ::1, the server echoes a line over IPv6. */
static int check_ipv6(const void *context, const char *command, char *why, size_t whylen)
{
    struct scratch tmp;
    struct server s;
    char err[320];
    if (scratch_create(&tmp) < 0) {
        snprintf(why, whylen, "harness: cannot create a scratch directory");
        return -1;
    }
    if (server_start(&s, command, ARGS("--host", "::1", "--port", "0"),
                     scratch_path(&tmp, "server.stderr", err, sizeof err), READY_TIMEOUT_MS, why,
                     whylen) < 0) {
        scratch_remove(&tmp);
        return -1;
    }
    int rc = 0;
    if (strcmp(s.addr.host, "::1") != 0) {
        snprintf(why, whylen, "--host ::1: READY says \"%s\"", s.ready_line);
        rc = -1;
    }
    if (rc == 0)
        rc = echo_exchange(s.addr.host, s.addr.port, LINE, why, whylen);
    return finish_server(&s, &tmp, rc, why, whylen);
}

static const struct patience PATIENT = {10000};
static const struct patience CROWD_PATIENT = {60000};

/* Adds what went on before a failure to why. */
static void while_doing(const char *situation, char *why, size_t whylen)
{
    char was[1024];
    snprintf(was, sizeof was, "%s", why);
    snprintf(why, whylen, "%s: %s", situation, was);
}

/* A second client is served while a first sits connected, sending nothing. */
static int check_idle_first(const void *context, const char *command, char *why, size_t whylen)
{
    const struct patience *wait = context;
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    struct crowd idle;
    int rc = crowd_connect(&idle, s.addr.host, s.addr.port, 1, now_ms() + wait->ms, why, whylen);
    if (rc == 0) {
        rc = echo_exchange_within(s.addr.host, s.addr.port, LINE, wait->ms, why, whylen);
        if (rc < 0)
            while_doing("a second client, while a first sat idle", why, whylen);
        crowd_close(&idle);
    }
    return finish_server(&s, &tmp, rc, why, whylen);
}

/* The best of three echoes of a line, in ms. Returns 0, or -1 with why. */
static int best_echo_ms(const struct server *s, int wait_ms, long *best, char *why, size_t whylen)
{
    *best = -1;
    for (int i = 0; i < 3; i++) {
        long long start = now_ms();
        if (echo_exchange_within(s->addr.host, s->addr.port, LINE, wait_ms, why, whylen) < 0)
            return -1;
        long took = (long)(now_ms() - start);
        if (*best < 0 || took < *best)
            *best = took;
    }
    return 0;
}

/* 50 idle connections and one with half a line do not slow a working client
 * down by more than 200 ms: its best time with them against its best alone. */
static int check_idle_50(const void *context, const char *command, char *why, size_t whylen)
{
    const struct patience *wait = context;
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    long alone = 0, crowded = 0;
    struct crowd idle = {0};
    int rc = best_echo_ms(&s, wait->ms, &alone, why, whylen);
    if (rc == 0)
        rc = crowd_connect(&idle, s.addr.host, s.addr.port, 51, now_ms() + wait->ms, why, whylen);
    if (rc == 0 && send(idle.fds[50], "half a li", 9, MSG_NOSIGNAL) != 9) {
        snprintf(why, whylen, "harness: cannot send half a line: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0 && (rc = best_echo_ms(&s, wait->ms, &crowded, why, whylen)) < 0)
        while_doing("with 50 idle connections and one half line open", why, whylen);
    if (rc == 0 && crowded - alone > 200) {
        snprintf(why, whylen, "with 50 idle connections and one half line open, a line's echo "
                 "took %ld ms at best against %ld ms alone: more than 200 ms slower", crowded, alone);
        rc = -1;
    }
    crowd_close(&idle);
    return finish_server(&s, &tmp, rc, why, whylen);
}

/* 1,000 connections open at once, each echoing 4 KiB, then all half-closed. */
static int check_clients_1000(const void *context, const char *command, char *why, size_t whylen)
{
    const struct patience *wait = context;
    if (crowd_room(1000, why, whylen) < 0)
        return -1;
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    long long deadline = now_ms() + wait->ms;
    struct crowd many;
    int rc = crowd_connect(&many, s.addr.host, s.addr.port, 1000, deadline, why, whylen);
    if (rc == 0) {
        rc = crowd_echo(&many, 4096, deadline, why, whylen);
        if (rc == 0)
            rc = crowd_finish(&many, deadline, why, whylen);
        crowd_close(&many);
    }
    return finish_server(&s, &tmp, rc, why, whylen);
}

/* A client that sends and never reads stalls only itself, and the server
 * stops taking its bytes (bounded buffers) instead of keeping them all. */
static int check_slow_reader(const void *context, const char *command, char *why, size_t whylen)
{
    const struct patience *wait = context;
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    int rc = -1;
    int fd = tcp_connect_buffers(s.addr.host, s.addr.port, 65536);
    size_t sent = fd >= 0 ? send_until_stalled(fd, 64u << 20, 300) : 0;
    if (fd < 0)
        snprintf(why, whylen, "cannot connect to the server");
    else if (sent >= 64u << 20)
        snprintf(why, whylen, "a client that never reads sent 64 MiB without its sends ever "
                 "stalling: the server keeps what it cannot send without bound");
    else if ((rc = echo_exchange_within(s.addr.host, s.addr.port, LINE, wait->ms, why, whylen)) < 0)
        while_doing("another client, while one that never reads is stalled", why, whylen);
    if (fd >= 0)
        close(fd);
    return finish_server(&s, &tmp, rc, why, whylen);
}

/* 20 clients echo 64 KiB while 20 others reset mid-transfer. */
static int check_resets(const void *context, const char *command, char *why, size_t whylen)
{
    const struct patience *wait = context;
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    long long deadline = now_ms() + wait->ms;
    struct crowd good = {0}, bad = {0};
    int rc = crowd_connect(&bad, s.addr.host, s.addr.port, 20, deadline, why, whylen);
    if (rc == 0)
        rc = crowd_connect(&good, s.addr.host, s.addr.port, 20, deadline, why, whylen);
    for (size_t i = 0; rc == 0 && i < bad.n; i++) {
        send_until_stalled(bad.fds[i], 65536, 50);
        tcp_reset(bad.fds[i]);
        bad.fds[i] = -1;
    }
    if (rc == 0 && (rc = crowd_echo(&good, 65536, deadline, why, whylen)) == 0)
        rc = crowd_finish(&good, deadline, why, whylen);
    if (rc < 0)
        while_doing("20 clients echoing while 20 others reset", why, whylen);
    if (rc == 0)
        rc = echo_exchange(s.addr.host, s.addr.port, "after the resets\n", why, whylen);
    crowd_close(&good);
    crowd_close(&bad);
    return finish_server(&s, &tmp, rc, why, whylen);
}

/* SIGTERM with 100 connections open (each has had an echo): exit 0 in time,
 * and nothing of the server's process group left running. */
static int check_stop_100(const void *context, const char *command, char *why, size_t whylen)
{
    const struct patience *wait = context;
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    struct crowd open100;
    int rc = crowd_connect(&open100, s.addr.host, s.addr.port, 100, now_ms() + wait->ms, why, whylen);
    if (rc == 0 && (rc = crowd_echo(&open100, 1, now_ms() + wait->ms, why, whylen)) == 0)
        rc = server_stop(&s, SIGTERM, STOP_TIMEOUT_MS, why, whylen);
    if (rc == 0 && kill(-s.proc.pid, 0) == 0) {
        snprintf(why, whylen, "stopped, but a process of its group (a child it started) is "
                 "still running");
        rc = -1;
    }
    crowd_close(&open100);
    return release_server(&s, &tmp, rc, why, whylen);
}

static const struct single_check MANY_CHECKS[] = {
    {"help", "any", check_help, NULL},
    {"bad_flag", "any", check_bad_flag, NULL},
    {"bad_port", "any", check_bad_port, NULL},
    {"sigint", "server", check_sigint, NULL},
    {"logs", "server", check_logs, NULL},
    {"stop_while_serving", "server", check_stop_while_serving, NULL},
    {"survives_reset", "server", check_survives_reset, NULL},
    {"survives_vanish", "server", check_survives_vanish, NULL},
    {"every_address", "server", check_every_address, &(const int){SOCK_STREAM}},
    {"ipv6", "server", check_ipv6, NULL},
    {"survives_emfile", "server", check_survives_emfile, NULL},
    {"idle_first", "server", check_idle_first, &PATIENT},
    {"idle_50", "server", check_idle_50, &PATIENT},
    {"clients_1000", "server", check_clients_1000, &CROWD_PATIENT},
    {"slow_reader", "server", check_slow_reader, &PATIENT},
    {"resets", "server", check_resets, &PATIENT},
    {"stop_100", "server", check_stop_100, &PATIENT},
};

const struct kind_spec TCP_MANY_SPEC = {
    .kind = "tcp-many",
    KIND_CASES(MANY_CASES),
    KIND_CHECKS(MANY_CHECKS),
    .addressing = ADDR_INET,
    .output = OUT_ECHO,
    .peer_kind = "tcp",
};
