/* simple_cases.c -- the `tcp-simple` kind: chapter 2's first pair, tested with
 * each other and with every `tcp` program (CONTRACT.md 5.1). */
#define _GNU_SOURCE
#include "cases.h"
#include "checks.h"
#include "net.h"
#include "payloads.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Up to 64 KiB: inside the socket buffers, where sending everything before
 * reading still works. (No `line`: 64 KiB of any bytes and nothing at all
 * say what it would, and every pair here costs a test per case.) */
static const struct pair_case SIMPLE_CASES[] = {
    {.name = "empty", .host = "127.0.0.1", .make = make_empty},
    {.name = "64kib", .host = "127.0.0.1", .make = make_65536},
    {.name = "ipv6", .host = "::1", .make = make_line},
};

/* args must give exit 2, nothing on stdout, and the usage line on stderr. */
static int refuses(const char *command, const char *usage, const char *const args[],
                   const char *what, char *why, size_t whylen)
{
    struct ran r;
    char status[96];
    int rc = run_once(command, args, "", &r, why, whylen);
    if (rc == 0 && (!child_exited_with(&r.proc, 2) || r.outlen || !contains(r.err, r.errlen, usage))) {
        snprintf(why, whylen, "%s: %s with %zu bytes on stdout and stderr \"%.*s\"; want exit 2 "
                 "and \"%s\" on stderr", what, child_describe(&r.proc, status, sizeof status),
                 r.outlen, (int)(r.errlen > 200 ? 200 : r.errlen), (const char *)r.err, usage);
        rc = -1;
    }
    ran_free(&r);
    return rc;
}

#define SERVER_USAGE "usage: simple_server [--host H] [--port P]"
#define CLIENT_USAGE "usage: simple_client [--host H] --port P"

/* A bad command line: the usage line (context), exit 2 (5.1 asks no more). */
static int check_bad_command_line(const void *context, const char *command, char *why,
                                  size_t whylen)
{
    const char *usage = context;
    if (refuses(command, usage, ARGS("--bogus"), "an unknown flag", why, whylen) < 0 ||
        refuses(command, usage, ARGS("--port"), "--port without its value", why, whylen) < 0 ||
        refuses(command, usage, ARGS("--port", "0", "extra"), "a stray argument", why, whylen) < 0)
        return -1;
    if (strcmp(usage, CLIENT_USAGE) == 0)
        return refuses(command, usage, (const char *[]){NULL}, "no --port", why, whylen);
    return 0;
}

/* A refused connection: one line naming the program and the reason, exit 1. */
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
    int rc = run_once(command, ARGS("--host", "127.0.0.1", "--port", portstr), LINE, &r, why, whylen);
    if (rc == 0)
        rc = expect_one_line_error(&r, "connection refused", why, whylen);
    if (rc == 0 && (!starts_with(r.err, r.errlen, "simple_client: ") ||
                    !contains(r.err, r.errlen, "Connection refused"))) {
        snprintf(why, whylen, "connection refused: \"%.*s\"; want \"simple_client: ...: Connection "
                 "refused\"", (int)(r.errlen > 200 ? 200 : r.errlen), (const char *)r.err);
        rc = -1;
    }
    ran_free(&r);
    close(fd);
    return rc;
}

static const struct single_check SIMPLE_CHECKS[] = {
    {"bad_command_line", "server", check_bad_command_line, SERVER_USAGE},
    {"bad_command_line", "client", check_bad_command_line, CLIENT_USAGE},
    {"refused", "client", check_refused, NULL},
};

const struct kind_spec TCP_SIMPLE_SPEC = {
    .kind = "tcp-simple",
    KIND_CASES(SIMPLE_CASES),
    KIND_CHECKS(SIMPLE_CHECKS),
    .addressing = ADDR_INET,
    .output = OUT_ECHO,
    .peer_kind = "tcp",
    .server_dies_of_signal = true,
    .own_pairs_by_language = true,
};
