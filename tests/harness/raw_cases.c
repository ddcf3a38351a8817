/* raw_cases.c -- chapter 5's kinds: `raw` (the protocol-253 request/reply) and
 * `icmp` (ping), CONTRACT.md section 9. Every test that opens a raw socket
 * runs in a network namespace of its own, so parallel tests never see each
 * other's packets, and from a checkout only root may enter, so a program that
 * still needs its own files after giving up root fails (raw_isolate); without
 * root they are reported as skipped. */
#define _GNU_SOURCE
#include "cases.h"
#include "checks.h"
#include "payloads.h"
#include "rawnet.h"
#include "run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(RAW_NOT_ROOT == CHECK_SKIPPED, "a raw check without root is skipped");

/* ---- raw_server --------------------------------------------------------------- */

/* Starts the server on this test's own loopback address. */
static int start_raw_server(const char *command, struct server *s, struct scratch *tmp,
                            char *addr, size_t addrlen, char *why, size_t whylen)
{
    char err[320];
    own_loopback(addr, addrlen);
    if (scratch_create(tmp) < 0) {
        snprintf(why, whylen, "harness: cannot create a scratch directory");
        return -1;
    }
    if (server_start(s, command, (const char *[]){"--host", addr, NULL},
                     scratch_path(tmp, "server.stderr", err, sizeof err), READY_TIMEOUT_MS, why,
                     whylen) < 0) {
        scratch_remove(tmp);
        return -1;
    }
    if (strcmp(s->addr.host, addr)) {
        snprintf(why, whylen, "READY says \"%s\", want \"READY %s\"", s->ready_line, addr);
        return release_server(s, tmp, -1, why, whylen);
    }
    return 0;
}

/* Runs fn against a raw server in a namespace of the test's own. */
static int with_raw_server(const char *command,
                           int (*fn)(struct server *, const char *addr, char *, size_t), char *why,
                           size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    if (rc)
        return rc;
    struct server s;
    struct scratch tmp;
    char addr[32];
    if (start_raw_server(command, &s, &tmp, addr, sizeof addr, why, whylen) < 0)
        return -1;
    rc = fn(&s, addr, why, whylen);
    return finish_server(&s, &tmp, rc, why, whylen);
}

#define GARBAGE_COUNT 500

static int after_garbage(struct server *s, const char *addr, char *why, size_t whylen)
{
    (void)s;
    int sent = raw_garbage(addr, GARBAGE_COUNT);
    if (sent != GARBAGE_COUNT) {
        snprintf(why, whylen, "harness: sent only %d of %d garbage packets", sent, GARBAGE_COUNT);
        return -1;
    }
    return raw_exchange(addr, LINE, why, whylen);
}

/* A burst of malformed protocol-253 packets; then a correct request must
 * still be answered. */
static int check_garbage(const void *context, const char *command, char *why, size_t whylen)
{
    return with_raw_server(command, after_garbage, why, whylen);
}

/* The server's socket is bound to its address: a request to another address
 * in the same namespace never reaches it (and it answers none). */
static int only_its_address(struct server *s, const char *addr, char *why, size_t whylen)
{
    if (raw_send(NULL, "127.53.255.254", 1, 4242, "not for you", 11) < 0) {
        snprintf(why, whylen, "harness: cannot send to another address");
        return -1;
    }
    if (raw_exchange(addr, LINE, why, whylen) < 0)
        return -1;
    /* the exchange's request was logged after the other one would have been */
    if (!log_shows(s->err_path, " bytes from ", 5000))
        return -1;
    unsigned char *log = NULL;
    size_t len = 0;
    int rc = 0;
    if (read_file(s->err_path, 1 << 16, &log, &len) < 0 || count_lines(log, len) != 1) {
        snprintf(why, whylen, "want one log line (the harness's request to %s), got \"%.*s\"",
                 addr, (int)(len > 300 ? 300 : len), log ? (const char *)log : "");
        rc = -1;
    }
    free(log);
    return rc;
}

static int check_bound(const void *context, const char *command, char *why, size_t whylen)
{
    return with_raw_server(command, only_its_address, why, whylen);
}

static int check_raw_sigint(const void *context, const char *command, char *why, size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    if (rc)
        return rc;
    struct server s;
    struct scratch tmp;
    char addr[32];
    if (start_raw_server(command, &s, &tmp, addr, sizeof addr, why, whylen) < 0)
        return -1;
    rc = server_stop(&s, SIGINT, STOP_TIMEOUT_MS, why, whylen);
    return release_server(&s, &tmp, rc, why, whylen);
}

/* Without CAP_NET_RAW: exit 1 with one line, for a server or a client. */
static int check_unprivileged(const void *context, const char *command, char *why, size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    if (rc)
        return rc;
    char addr[32];
    struct ran r;
    own_loopback(addr, sizeof addr);
    if (drop_net_raw_for_children() < 0) {
        snprintf(why, whylen, "harness: cannot drop CAP_NET_RAW: %s", strerror(errno));
        return -1;
    }
    if (run_once(command, (const char *[]){"--host", addr, NULL}, "", &r, why, whylen) < 0)
        return -1;
    rc = expect_one_line_error(&r, "without CAP_NET_RAW", why, whylen);
    ran_free(&r);
    return rc;
}

/* ---- raw_client ----------------------------------------------------------------- */

static int check_client_oversize(const void *context, const char *command, char *why, size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    if (rc)
        return rc;
    char big[RAW_MAX_PAYLOAD + 2], status[96];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct ran r;
    if (run_once(command, (const char *[]){"--host", "127.0.0.1", NULL}, big, &r, why, whylen) < 0)
        return -1;
    if (!child_exited_with(&r.proc, 2) || r.outlen) {
        snprintf(why, whylen, "with 1,401 bytes on stdin: %s, want exit 2 and nothing on stdout",
                 child_describe(&r.proc, status, sizeof status));
        rc = -1;
    }
    ran_free(&r);
    return rc;
}

/* Nobody answers: after its retries, one line and exit 1. */
static int check_client_no_reply(const void *context, const char *command, char *why, size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    if (rc)
        return rc;
    char addr[32];
    struct ran r;
    own_loopback(addr, sizeof addr);
    if (run_once(command, (const char *[]){"--host", addr, "--timeout", "0.2", "--retries", "1",
                                           NULL},
                 LINE, &r, why, whylen) < 0)
        return -1;
    rc = expect_one_line_error(&r, "no server", why, whylen);
    ran_free(&r);
    return rc;
}

/* A raw socket sees every protocol-253 packet in its namespace, so the harness
 * plays the server and answers each request three times: from another
 * address, then from the right address with another identifier, then
 * correctly. A client that takes the first two is matching on too little. */
static int answer_with_decoys(int fd, const char *addr, struct started *client, char *why,
                              size_t whylen)
{
    static const char wrong[] = "a decoy's payload\n";
    unsigned char pkt[65536];
    long long deadline = now_ms() + READY_TIMEOUT_MS;
    int rc = -1;
    snprintf(why, whylen, "the client's request never arrived");
    while (poll_until(fd, POLLIN, deadline) == 0) {
        ssize_t n = recv(fd, pkt, sizeof pkt, 0);
        size_t ihl = n > 0 ? (size_t)(pkt[0] & 0x0f) * 4 : 0;
        if (n < 0 || (size_t)n < ihl + 4 || pkt[ihl] != 1)
            continue; /* not a request (our own replies come back here too) */
        uint16_t id = (uint16_t)((pkt[ihl + 2] << 8) | pkt[ihl + 3]);
        const unsigned char *payload = pkt + ihl + 4;
        size_t len = (size_t)n - ihl - 4;
        char client_addr[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, pkt + 12, client_addr, sizeof client_addr);
        if (raw_send("127.53.254.254", client_addr, 2, id, wrong, strlen(wrong)) < 0 ||
            raw_send(addr, client_addr, 2, (uint16_t)(id + 1), wrong, strlen(wrong)) < 0 ||
            raw_send(addr, client_addr, 2, id, payload, len) < 0) {
            snprintf(why, whylen, "harness: cannot send the replies: %s", strerror(errno));
            break;
        }
        rc = 0;
        break;
    }
    if (rc == 0 && !finish_program(client, 20000)) {
        snprintf(why, whylen, "the client did not finish within 20 s");
        rc = -1;
    }
    return rc;
}

static int check_client_decoys(const void *context, const char *command, char *why, size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    if (rc)
        return rc;
    char addr[32], status[96];
    struct started client;
    own_loopback(addr, sizeof addr);
    /* An unbound raw socket sees the client's request; it is opened before the
     * client starts, so a fast client's first packet cannot come too early.
     * The long timeout only matters to a client that fails. */
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, RAW_PROTO);
    if (fd < 0) {
        snprintf(why, whylen, "harness: raw socket: %s", strerror(errno));
        return -1;
    }
    if (start_program(&client, command,
                      (const char *[]){"--host", addr, "--timeout", "10", "--retries", "0", NULL},
                      LINE, strlen(LINE), why, whylen) < 0) {
        close(fd);
        return -1;
    }
    rc = answer_with_decoys(fd, addr, &client, why, whylen);
    close(fd);
    if (rc == 0 && (!child_exited_with(&client.r.proc, 0) || client.r.outlen != strlen(LINE) ||
                    memcmp(client.r.out, LINE, strlen(LINE)))) {
        snprintf(why, whylen, "after two decoy replies and the real one: %s, printed \"%.*s\"; "
                 "want exit 0 and the real payload",
                 child_describe(&client.r.proc, status, sizeof status),
                 (int)(client.r.outlen > 80 ? 80 : client.r.outlen),
                 client.r.out ? (const char *)client.r.out : "");
        rc = -1;
    }
    started_cleanup(&client);
    ran_free(&client.r);
    return rc;
}

/* ---- ping (icmp) ------------------------------------------------------------------ */

/* Checks ping's output: `count` reply lines (or "no reply" lines) for host,
 * then the summary. Returns 0, or -1 with why. */
static int expect_ping_output(const struct ran *r, const char *host, int count, bool replies,
                              char *why, size_t whylen)
{
    char *text = strndup(r->out ? (const char *)r->out : "", r->outlen), *save = NULL;
    int seq = 0, rc = 0;
    char *line = text ? strtok_r(text, "\n", &save) : NULL;
    for (; rc == 0 && line && seq < count; line = strtok_r(NULL, "\n", &save)) {
        /* "reply from <host>: seq=1 bytes=64 time=0.042 ms" or "no reply from <host>: seq=2";
         * the host may hold colons (::1), so it ends at ": seq=" */
        const char *prefix = replies ? "reply from " : "no reply from ";
        char *rest = strstr(line, ": seq=");
        int got_seq = 0, bytes = 0;
        double ms = 0;
        bool ok = rest && !strncmp(line, prefix, strlen(prefix)) &&
                  (size_t)(rest - line) == strlen(prefix) + strlen(host) &&
                  !strncmp(line + strlen(prefix), host, strlen(host)) &&
                  (replies ? sscanf(rest, ": seq=%d bytes=%d time=%lf ms", &got_seq, &bytes, &ms) == 3 &&
                                 bytes == 64 && ms >= 0
                           : sscanf(rest, ": seq=%d", &got_seq) == 1);
        seq++;
        if (!ok || got_seq != seq) {
            snprintf(why, whylen, "line %d is \"%s\"; want %s from %s, seq=%d", seq, line,
                     replies ? "a reply" : "no reply", host, seq);
            rc = -1;
        }
    }
    char want[96];
    snprintf(want, sizeof want, "%d sent, %d received, %d%% loss", count, replies ? count : 0,
             replies ? 0 : 100);
    if (rc == 0 && (seq != count || !line || strcmp(line, want) || strtok_r(NULL, "\n", &save))) {
        snprintf(why, whylen, "want %d lines and then \"%s\", got \"%.*s\"", count, want,
                 (int)(r->outlen > 300 ? 300 : r->outlen), r->out ? (const char *)r->out : "");
        rc = -1;
    }
    free(text);
    return rc;
}

static int ping_once(const char *command, const char *host, const char *count, const char *timeout,
                     struct ran *r, char *why, size_t whylen)
{
    return run_once(command, (const char *[]){"--host", host, "--count", count, "--timeout",
                                              timeout, NULL},
                    "", r, why, whylen);
}

static int check_ping_v4(const void *context, const char *command, char *why, size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    struct ran r;
    char status[96];
    if (rc || ping_once(command, "127.0.0.1", "3", "2", &r, why, whylen) < 0)
        return rc ? rc : -1;
    if (!child_exited_with(&r.proc, 0)) {
        snprintf(why, whylen, "%s, want exit 0; stderr \"%.*s\"",
                 child_describe(&r.proc, status, sizeof status), (int)(r.errlen > 200 ? 200 : r.errlen),
                 r.err ? (const char *)r.err : "");
        rc = -1;
    } else {
        rc = expect_ping_output(&r, "127.0.0.1", 3, true, why, whylen);
    }
    ran_free(&r);
    return rc;
}

/* IPv6 is required of C and Python only: a ping without it must say so with
 * a usage error (exit 2), which the grid shows as unsupported. */
static int check_ping_v6(const void *context, const char *command, char *why, size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    struct ran r;
    char status[96];
    if (rc || ping_once(command, "::1", "2", "2", &r, why, whylen) < 0)
        return rc ? rc : -1;
    if (child_exited_with(&r.proc, 2) && contains(r.err, r.errlen, "IPv6")) {
        snprintf(why, whylen, "%.*s", (int)strcspn(r.err ? (const char *)r.err : "", "\n"),
                 r.err ? (const char *)r.err : "");
        rc = CHECK_UNSUPPORTED;
    } else if (!child_exited_with(&r.proc, 0)) {
        snprintf(why, whylen, "%s, want exit 0 (or exit 2 saying IPv6 is not supported)",
                 child_describe(&r.proc, status, sizeof status));
        rc = -1;
    } else {
        rc = expect_ping_output(&r, "::1", 2, true, why, whylen);
    }
    ran_free(&r);
    return rc;
}

/* The namespace's kernel ignores echo requests: every one times out. */
static int check_ping_no_reply(const void *context, const char *command, char *why, size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    struct ran r;
    char status[96];
    if (rc)
        return rc;
    if (netns_sysctl("net/ipv4/icmp_echo_ignore_all", "1") < 0) {
        snprintf(why, whylen, "harness: cannot set icmp_echo_ignore_all in the test's namespace");
        return -1;
    }
    if (ping_once(command, "127.0.0.1", "2", "0.3", &r, why, whylen) < 0)
        return -1;
    if (!child_exited_with(&r.proc, 1)) {
        snprintf(why, whylen, "no replies: %s, want exit 1",
                 child_describe(&r.proc, status, sizeof status));
        rc = -1;
    } else {
        rc = expect_ping_output(&r, "127.0.0.1", 2, false, why, whylen);
    }
    ran_free(&r);
    return rc;
}

/* ---- the ping socket (icmp-dgram) ---------------------------------------------- */

/* Runs the ping without CAP_NET_RAW in the test's own namespace, after
 * setting net.ipv4.ping_group_range there (NULL: leave the default, "1 0",
 * which admits no group). */
static int unprivileged_ping(const char *command, const char *range, struct ran *r, char *why,
                             size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    if (rc)
        return rc;
    if (range && netns_sysctl("net/ipv4/ping_group_range", range) < 0) {
        snprintf(why, whylen, "harness: cannot set ping_group_range in the test's namespace");
        return -1;
    }
    if (drop_net_raw_for_children() < 0) {
        snprintf(why, whylen, "harness: cannot drop CAP_NET_RAW: %s", strerror(errno));
        return -1;
    }
    return ping_once(command, "127.0.0.1", "2", "2", r, why, whylen);
}

/* With the range open, it works without any privilege. */
static int check_dgram_open(const void *context, const char *command, char *why, size_t whylen)
{
    struct ran r;
    char status[96];
    int rc = unprivileged_ping(command, "0 2147483647", &r, why, whylen);
    if (rc)
        return rc;
    if (!child_exited_with(&r.proc, 0)) {
        snprintf(why, whylen, "with ping_group_range open and no CAP_NET_RAW: %s, want exit 0",
                 child_describe(&r.proc, status, sizeof status));
        rc = -1;
    } else {
        rc = expect_ping_output(&r, "127.0.0.1", 2, true, why, whylen);
    }
    ran_free(&r);
    return rc;
}

/* With the range closed (the default), one line and exit 1. */
static int check_dgram_closed(const void *context, const char *command, char *why, size_t whylen)
{
    struct ran r;
    int rc = unprivileged_ping(command, NULL, &r, why, whylen);
    if (rc)
        return rc;
    rc = expect_one_line_error(&r, "ping_group_range closed", why, whylen);
    ran_free(&r);
    return rc;
}

static const struct single_check ICMP_DGRAM_CHECKS[] = {
    {"help", "client", check_help, NULL},
    {"bad_flag", "client", check_bad_flag, NULL},
    {"range_open", "client", check_dgram_open, NULL},
    {"range_closed", "client", check_dgram_closed, NULL},
    {"stdout_closed", "client", check_stdout_closed, ARGS("--host", "127.0.0.1", "--count", "1")},
};

const struct kind_spec ICMP_DGRAM_SPEC = {
    .kind = "icmp-dgram",
    KIND_CHECKS(ICMP_DGRAM_CHECKS),
    .addressing = ADDR_RAW,
    .output = OUT_ECHO,
};

static const struct single_check ICMP_CHECKS[] = {
    {"help", "client", check_help, NULL},
    {"bad_flag", "client", check_bad_flag, NULL},
    {"ipv4", "client", check_ping_v4, NULL},
    {"ipv6", "client", check_ping_v6, NULL},
    {"no_reply", "client", check_ping_no_reply, NULL},
    {"unprivileged", "client", check_unprivileged, NULL},
    {"bad_count", "client", check_bad_value, ARGS("--host", "127.0.0.1", "--count", "0")},
    {"bad_timeout", "client", check_bad_value, ARGS("--host", "127.0.0.1", "--timeout", ".5")},
    {"stdout_closed", "client", check_stdout_closed, ARGS("--host", "127.0.0.1", "--count", "1")},
};

static const char *const ICMP_DEMO[] = {"--host 127.0.0.1 --count 3", NULL};

const struct kind_spec ICMP_SPEC = {
    .kind = "icmp",
    KIND_CHECKS(ICMP_CHECKS),
    .demo_args = ICMP_DEMO,
    .addressing = ADDR_RAW,
    .output = OUT_ECHO,
};

static const struct pair_case RAW_CASES[] = {
    {.name = "empty", .make = make_empty, .client_args = "--timeout 1 --retries 2"},
    {.name = "byte", .make = make_byte, .client_args = "--timeout 1 --retries 2"},
    {.name = "1400", .make = make_1400, .client_args = "--timeout 1 --retries 2"},
};

static const struct single_check RAW_CHECKS[] = {
    {"help", "any", check_help, NULL},
    {"bad_flag", "any", check_bad_flag, NULL},
    {"unprivileged", "any", check_unprivileged, NULL},
    {"sigint", "server", check_raw_sigint, NULL},
    {"garbage", "server", check_garbage, NULL},
    {"bound", "server", check_bound, NULL},
    {"oversize", "client", check_client_oversize, NULL},
    {"no_reply", "client", check_client_no_reply, NULL},
    {"decoys", "client", check_client_decoys, NULL},
    {"bad_timeout", "client", check_bad_value, ARGS("--host", "127.0.0.1", "--timeout", "0")},
    {"bad_retries", "client", check_bad_value, ARGS("--host", "127.0.0.1", "--retries", "-1")},
    {"stdout_closed", "client", check_stdout_closed, ARGS("--host", "127.0.0.1")},
};

const struct kind_spec RAW_SPEC = {
    .kind = "raw",
    KIND_CASES(RAW_CASES),
    KIND_CHECKS(RAW_CHECKS),
    .addressing = ADDR_RAW,
    .output = OUT_ECHO,
};

/* ---- sniffer (a program) ------------------------------------------------------------ */

/* In the test's own namespace, two protocol-253 packets cross lo: the sniffer
 * (--count 2) must print them, decoded, and exit 0. */
static int check_sniffer_sees(const void *context, const char *command, char *why, size_t whylen)
{
    int rc = raw_isolate(why, whylen);
    if (rc)
        return rc;
    struct server s;
    struct scratch tmp;
    char err[320], out[8192];
    if (scratch_create(&tmp) < 0)
        return -1;
    if (watcher_start(&s, command,
                      (const char *[]){"--interface", "lo", "--proto", "253", "--count", "2", NULL},
                      scratch_path(&tmp, "sniffer.stderr", err, sizeof err), READY_TIMEOUT_MS,
                      why, whylen) < 0) {
        scratch_remove(&tmp);
        return -1;
    }
    rc = 0;
    for (int i = 0; rc == 0 && i < 2; i++)
        if (raw_send(NULL, "127.0.0.1", 1, 0x1234, "sniff me", 8) < 0) {
            snprintf(why, whylen, "harness: cannot send a protocol-253 packet");
            rc = -1;
        }
    read_rest(s.out, out, sizeof out, 10000);
    if (rc == 0 && (!child_wait(&s.proc, 5000) || !child_exited_with(&s.proc, 0))) {
        snprintf(why, whylen, "with --count 2, the sniffer did not exit 0 after two packets");
        rc = -1;
    } else if (rc == 0 && (!strstr(out, "proto=253") || !strstr(out, "id=4660") ||
                           !strstr(out, "payload=8"))) {
        snprintf(why, whylen, "want the packets decoded (proto=253, id=4660, payload=8), got "
                 "\"%.300s\"", out);
        rc = -1;
    }
    return release_server(&s, &tmp, rc, why, whylen);
}

static const struct single_check SNIFFER_CHECKS[] = {
    {"help", "program", check_help, NULL},
    {"bad_flag", "program", check_bad_flag, NULL},
    {"sees", "program", check_sniffer_sees, NULL},
    {"stdout_closed", "program", check_stdout_closed, ARGS("--interface", "lo", "--count", "1")},
};

const struct kind_spec SNIFFER_SPEC = {
    .kind = "sniffer",
    KIND_CHECKS(SNIFFER_CHECKS),
    .addressing = ADDR_RAW,
    .output = OUT_ECHO,
};
