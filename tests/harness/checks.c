/* checks.c -- checks of one program on its own, shared by every kind. */
#define _GNU_SOURCE
#include "checks.h"
#include "cases.h"
#include "hosts.h"
#include "net.h"
#include "run.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* start_program, or with stdout_closed the program starts with descriptor 1 closed. */
static int start(struct started *p, const char *command, const char *const args[],
                 const void *input, size_t len, bool stdout_closed, char *why, size_t whylen)
{
    char in[320], words[1024], *argv[MAX_ARGS];
    *p = (struct started){.r = {.proc = {.pid = -1, .pidfd = -1}}};
    if (scratch_create(&p->tmp) < 0) {
        snprintf(why, whylen, "harness: cannot create a scratch directory");
        return -1;
    }
    scratch_path(&p->tmp, "stdout", p->out, sizeof p->out);
    scratch_path(&p->tmp, "stderr", p->err, sizeof p->err);
    if (write_file(scratch_path(&p->tmp, "stdin", in, sizeof in), input, len) < 0 ||
        build_argv(command, args, words, sizeof words, argv) <= 0) {
        snprintf(why, whylen, "harness: cannot prepare %s", command);
        scratch_remove(&p->tmp);
        return -1;
    }
    int fds[3] = {open(in, O_RDONLY | O_CLOEXEC),
                  stdout_closed ? STDIO_CLOSED
                                : open(p->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600),
                  open(p->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    int rc = -1;
    if (fds[0] < 0 || fds[1] == -1 || fds[2] < 0) /* never a quiet /dev/null */
        snprintf(why, whylen, "harness: cannot open %s's stdin, stdout or stderr in %s", command,
                 p->tmp.dir);
    else
        rc = child_start(&p->r.proc, argv, (struct stdio_fds){fds[0], fds[1], fds[2]});
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (rc < 0) {
        if (fds[0] >= 0 && fds[1] != -1 && fds[2] >= 0)
            snprintf(why, whylen, "cannot start %s", command);
        started_cleanup(p);
    }
    return rc;
}

int start_program(struct started *p, const char *command, const char *const args[],
                  const void *input, size_t len, char *why, size_t whylen)
{
    return start(p, command, args, input, len, false, why, whylen);
}

bool finish_program(struct started *p, int ms)
{
    if (!child_wait(&p->r.proc, ms))
        return false;
    read_file(p->out, 1 << 20, &p->r.out, &p->r.outlen);
    read_file(p->err, 1 << 20, &p->r.err, &p->r.errlen);
    return true;
}

void started_cleanup(struct started *p)
{
    child_cleanup(&p->r.proc);
    scratch_remove(&p->tmp);
}

int run_once(const char *command, const char *const args[], const char *input,
             struct ran *r, char *why, size_t whylen)
{
    struct started p;
    *r = (struct ran){0};
    if (start_program(&p, command, args, input, strlen(input), why, whylen) < 0)
        return -1;
    bool done = finish_program(&p, 20000);
    started_cleanup(&p);
    *r = p.r;
    if (!done)
        snprintf(why, whylen, "did not finish within 20 s");
    return done ? 0 : -1;
}

void ran_free(struct ran *r)
{
    free(r->out);
    free(r->err);
}

bool starts_with(const unsigned char *data, size_t len, const char *prefix)
{
    return len >= strlen(prefix) && !memcmp(data, prefix, strlen(prefix));
}

bool contains(const unsigned char *data, size_t len, const char *needle)
{
    return memmem(data, len, needle, strlen(needle)) != NULL;
}

int usage_parse(const char *line, struct usage *u)
{
    *u = (struct usage){0};
    if (strncmp(line, "usage: ", 7) || strlen(line) >= sizeof u->line)
        return -1;
    snprintf(u->line, sizeof u->line, "%s", line);
    char words[256], *save = NULL;
    snprintf(words, sizeof words, "%s", line + 7);
    char *word = strtok_r(words, " ", &save);
    if (!word || strlen(word) >= sizeof u->prog)
        return -1;
    snprintf(u->prog, sizeof u->prog, "%s", word);
    /* "[--host H] --port P [--timeout S]": a flag, then its value's name. */
    for (char *flag; (flag = strtok_r(NULL, " ", &save));) {
        bool optional = flag[0] == '[';
        flag += optional;
        if (strncmp(flag, "--", 2))
            continue;
        flag[strcspn(flag, "]")] = '\0';
        char *value = strtok_r(NULL, " ", &save);
        if (value && !strncmp(value, "--", 2))
            return -1; /* every flag in these programs takes a value */
        if (!u->value_flag[0])
            snprintf(u->value_flag, sizeof u->value_flag, "%s", flag);
        if (!optional && !u->required[0])
            snprintf(u->required, sizeof u->required, "%s", flag);
    }
    return 0;
}

int usage_of(const char *command, struct usage *u, char *why, size_t whylen)
{
    static _Thread_local struct {
        char command[1024];
        struct usage u;
    } last; /* a check asks several times about one program */
    if (!strcmp(last.command, command)) {
        *u = last.u;
        return 0;
    }
    struct ran r;
    if (run_once(command, (const char *[]){"--help", NULL}, "", &r, why, whylen) < 0)
        return -1;
    char line[256] = "";
    size_t n = strcspn((const char *)r.out, "\n");
    if (r.out && r.outlen && n < sizeof line && n <= r.outlen)
        memcpy(line, r.out, n), line[n] = '\0';
    ran_free(&r);
    if (usage_parse(line, u) < 0) {
        snprintf(why, whylen, "--help must print its usage line first, got \"%s\"", line);
        return -1;
    }
    snprintf(last.command, sizeof last.command, "%s", command);
    last.u = *u;
    return 0;
}

/* "--port 65536" from args, for messages. */
static void join_args(const char *const args[], char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; args[i]; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", args[i]);
    if (!out[0])
        snprintf(out, len, "no arguments");
}

int expect_usage_error(const char *command, const char *const args[], const char *want,
                       char *why, size_t whylen)
{
    struct usage u;
    if (usage_of(command, &u, why, whylen) < 0)
        return -1;
    struct ran r;
    char status[96], given[512], line1[512];
    int rc = run_once(command, args, "", &r, why, whylen);
    join_args(args, given, sizeof given);
    if (rc < 0)
        return -1;
    snprintf(line1, sizeof line1, "%s: %s", u.prog, want ? want : "");
    const char *err = r.err ? (const char *)r.err : "";
    size_t first = strcspn(err, "\n");
    const char *second = err[first] ? err + first + 1 : "";
    size_t second_len = strcspn(second, "\n");
    if (!child_exited_with(&r.proc, 2)) {
        snprintf(why, whylen, "with %s: %s, want exit 2", given,
                 child_describe(&r.proc, status, sizeof status));
        rc = -1;
    } else if (r.outlen) {
        snprintf(why, whylen, "with %s: wrote to stdout; errors go to stderr", given);
        rc = -1;
    } else if (count_lines(r.err, r.errlen) != 2 || second_len != strlen(u.line) ||
               strncmp(second, u.line, second_len)) {
        snprintf(why, whylen, "with %s: stderr must be two lines, the message and \"%s\"; got \"%.*s\"",
                 given, u.line, (int)(r.errlen > 300 ? 300 : r.errlen), err);
        rc = -1;
    } else if (want ? first != strlen(line1) || strncmp(err, line1, first)
                    : first <= strlen(line1) || strncmp(err, line1, strlen(line1))) {
        snprintf(why, whylen, "with %s: the first line must be \"%s%s\" (CONTRACT.md 3.1), got \"%.*s\"",
                 given, line1, want ? "" : "...", (int)first, err);
        rc = -1;
    }
    ran_free(&r);
    return rc;
}

int check_help(const void *context, const char *command, char *why, size_t whylen)
{
    struct ran r;
    char status[96];
    int rc = run_once(command, (const char *[]){"--help", NULL}, "", &r, why, whylen);
    if (rc == 0 && !child_exited_with(&r.proc, 0)) {
        snprintf(why, whylen, "--help: %s, want exit 0", child_describe(&r.proc, status, sizeof status));
        rc = -1;
    } else if (rc == 0 && !starts_with(r.out, r.outlen, "usage: ")) {
        snprintf(why, whylen, "--help must print \"usage: ...\" on stdout");
        rc = -1;
    }
    ran_free(&r);
    return rc;
}

int check_bad_flag(const void *context, const char *command, char *why, size_t whylen)
{
    struct usage u;
    char want[96];
    if (usage_of(command, &u, why, whylen) < 0 ||
        expect_usage_error(command, (const char *[]){"--bogus", NULL}, "unknown option: --bogus",
                           why, whylen) < 0 ||
        expect_usage_error(command, (const char *[]){"extra", NULL}, "unexpected argument: extra",
                           why, whylen) < 0)
        return -1;
    if (u.value_flag[0]) {
        snprintf(want, sizeof want, "%s needs a value", u.value_flag);
        if (expect_usage_error(command, (const char *[]){u.value_flag, NULL}, want, why, whylen) < 0)
            return -1;
    }
    if (u.required[0]) { /* with nothing given, the first required flag is missing */
        snprintf(want, sizeof want, "%s is required", u.required);
        if (expect_usage_error(command, (const char *[]){NULL}, want, why, whylen) < 0)
            return -1;
    }
    return 0;
}

int expect_one_line_error(struct ran *r, const char *situation, char *why, size_t whylen)
{
    char status[96];
    if (!child_exited_with(&r->proc, 1)) {
        snprintf(why, whylen, "%s: %s, want exit 1", situation,
                 child_describe(&r->proc, status, sizeof status));
        return -1;
    }
    if (r->outlen) {
        snprintf(why, whylen, "%s: wrote %zu bytes to stdout", situation, r->outlen);
        return -1;
    }
    if (count_lines(r->err, r->errlen) != 1) {
        snprintf(why, whylen, "%s: want exactly one line on stderr, got %zu: \"%.*s\"", situation,
                 count_lines(r->err, r->errlen), (int)(r->errlen > 300 ? 300 : r->errlen),
                 (const char *)r->err);
        return -1;
    }
    return 0;
}

int expect_error_reason(const char *command, struct ran *r, const char *reason,
                        const char *situation, char *why, size_t whylen)
{
    struct usage u;
    if (expect_one_line_error(r, situation, why, whylen) < 0 || usage_of(command, &u, why, whylen) < 0)
        return -1;
    const char *line = (const char *)r->err;
    size_t n = r->errlen;
    while (n && line[n - 1] == '\n')
        n--;
    char prefix[80], suffix[128];
    snprintf(prefix, sizeof prefix, "%s: ", u.prog);
    snprintf(suffix, sizeof suffix, ": %s", reason);
    size_t p = strlen(prefix), q = strlen(suffix);
    if (n < p + q || memcmp(line, prefix, p) || memcmp(line + n - q, suffix, q)) {
        snprintf(why, whylen, "%s: the line must be \"%s<what> <address>%s\" (CONTRACT.md 3.2), got \"%.*s\"",
                 situation, prefix, suffix, (int)(n > 300 ? 300 : n), line);
        return -1;
    }
    return 0;
}

int check_stdout_closed(const void *context, const char *command, char *why, size_t whylen)
{
    struct usage u;
    struct started p;
    char status[96], want[128];
    /* A line on stdin, so that no client stops first at an empty input. */
    if (usage_of(command, &u, why, whylen) < 0 ||
        start(&p, command, context, "hello\n", 6, true, why, whylen) < 0)
        return -1;
    int rc = 0;
    snprintf(want, sizeof want, "%s: stdout: Bad file descriptor\n", u.prog);
    if (!finish_program(&p, 20000)) {
        snprintf(why, whylen, "with stdout closed: still running after 20 s (a hang)");
        rc = -1;
    } else if (!child_exited_with(&p.r.proc, 1) || p.r.errlen != strlen(want) ||
               memcmp(p.r.err, want, p.r.errlen)) {
        snprintf(why, whylen, "with stdout closed: %s and \"%.*s\" on stderr; want exit 1 and "
                 "exactly \"%.*s\" (CONTRACT.md 3.2)", child_describe(&p.r.proc, status, sizeof status),
                 (int)(p.r.errlen > 200 ? 200 : p.r.errlen), p.r.err ? (const char *)p.r.err : "",
                 (int)strlen(want) - 1, want);
        rc = -1;
    }
    started_cleanup(&p);
    ran_free(&p.r);
    return rc;
}

int check_bad_value(const void *context, const char *command, char *why, size_t whylen)
{
    const char *const *args = context;
    size_t n = 0;
    while (args[n])
        n++;
    char want[128];
    snprintf(want, sizeof want, "bad %s: %s", args[n - 2] + 2, args[n - 1]);
    return expect_usage_error(command, args, want, why, whylen);
}

int check_bad_port(const void *context, const char *command, char *why, size_t whylen)
{
    static const struct {
        const char *args[3], *want;
    } bad[] = {
        {{"--port", "65536"}, "bad port: 65536"},
        {{"--port", "http"}, "bad port: http"},
        {{"--port", "+80"}, "bad port: +80"},
        {{"--port"}, "--port needs a value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (expect_usage_error(command, bad[i].args, bad[i].want, why, whylen) < 0)
            return -1;
    return 0;
}

/* Starts the server on 127.0.0.1, port 0, with its stderr in a new scratch
 * directory. On failure nothing is left behind. */
int start_server(struct server *s, const char *command, struct scratch *tmp,
                        char *why, size_t whylen)
{
    char err[320];
    *tmp = (struct scratch){0};
    if (scratch_create(tmp) < 0) {
        snprintf(why, whylen, "harness: cannot create a scratch directory");
        return -1;
    }
    if (server_start(s, command, (const char *[]){"--host", "127.0.0.1", "--port", "0", NULL},
                     scratch_path(tmp, "server.stderr", err, sizeof err), READY_TIMEOUT_MS,
                     why, whylen) < 0) {
        scratch_remove(tmp);
        return -1;
    }
    return 0;
}

/* Appends the end of a server's stderr (the file at err_path) to why, for a failure. */
static void add_server_log(const char *err_path, char *why, size_t whylen)
{
    char log[600];
    size_t used = strlen(why);
    snprintf(why + used, whylen - used, " | server stderr: %s", file_tail(err_path, log, sizeof log));
}

/* Cleans up after a server check, adding the server's log to a failure. */
int release_server(struct server *s, struct scratch *tmp, int rc, char *why, size_t whylen)
{
    if (rc < 0 && s->err_path[0])
        add_server_log(s->err_path, why, whylen);
    server_cleanup(s);
    scratch_remove(tmp);
    return rc;
}

/* Stops a server that passed so far with SIGTERM (it must exit 0), then releases it. */
int finish_server(struct server *s, struct scratch *tmp, int rc, char *why, size_t whylen)
{
    if (rc == 0)
        rc = server_stop(s, SIGTERM, STOP_TIMEOUT_MS, why, whylen);
    return release_server(s, tmp, rc, why, whylen);
}

int check_sigint(const void *context, const char *command, char *why, size_t whylen)
{
    struct server s;
    struct scratch tmp;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    int rc = server_stop(&s, SIGINT, STOP_TIMEOUT_MS, why, whylen);
    return release_server(&s, &tmp, rc, why, whylen);
}

bool logged_stop_as(const unsigned char *log, size_t len, const char *name)
{
    char term[96], any[96];
    snprintf(term, sizeof term, "%s: stopping on SIGTERM\n", name);
    snprintf(any, sizeof any, "%s: stopping on a signal\n", name);
    return contains(log, len, term) || contains(log, len, any);
}

bool logged_stop_on_sigterm(const unsigned char *log, size_t len)
{
    return logged_stop_as(log, len, "echo_server");
}

int server_log_after(const char *command,
                     int (*exchange)(const struct ready *addr, char *why, size_t whylen),
                     unsigned char **log, size_t *len, char *why, size_t whylen)
{
    struct server s;
    struct scratch tmp;
    *log = NULL;
    *len = 0;
    if (start_server(&s, command, &tmp, why, whylen) < 0)
        return -1;
    int rc = exchange(&s.addr, why, whylen);
    if (rc == 0)
        rc = server_stop(&s, SIGTERM, STOP_TIMEOUT_MS, why, whylen);
    if (rc == 0 && read_file(s.err_path, 1 << 16, log, len) < 0) {
        snprintf(why, whylen, "harness: cannot read the server's stderr");
        rc = -1;
    }
    return release_server(&s, &tmp, rc, why, whylen);
}

bool log_shows(const char *path, const char *want, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        unsigned char *log = NULL;
        size_t len = 0;
        bool found = read_file(path, 1 << 16, &log, &len) == 0 && contains(log, len, want);
        free(log);
        if (found || now_ms() >= deadline)
            return found;
        /* a server logs after it answers: look again shortly */
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
}

/* The name check_every_address makes up, and the hosts file that gives it two
 * addresses (both IPv4, so that no runtime's preference for one family
 * reorders them). */
#define TWO_ADDRESS_NAME "socketbook-two"
static const char TWO_ADDRESS_HOSTS[] = "127.0.0.1 localhost\n::1 localhost\n"
                                        "127.0.0.1 " TWO_ADDRESS_NAME "\n"
                                        "127.0.0.2 " TWO_ADDRESS_NAME "\n";

/* What getaddrinfo gives a server for name: its first two addresses, in the
 * order it gives them (which a server must follow). Returns 0, or -1 with why. */
static int first_two_addresses(const char *name, int type, char first[64], char second[64],
                               char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = type, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    int err = getaddrinfo(name, NULL, &hints, &res);
    if (err != 0) {
        snprintf(why, whylen, "harness: getaddrinfo(%s): %s", name, gai_strerror(err));
        return -1;
    }
    char *out[2] = {first, second};
    int n = 0;
    for (struct addrinfo *ai = res; ai && n < 2; ai = ai->ai_next)
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, out[n], 64, NULL, 0, NI_NUMERICHOST) == 0 &&
            (n == 0 || strcmp(first, out[n]) != 0))
            n++;
    freeaddrinfo(res);
    if (n < 2)
        snprintf(why, whylen, "harness: %s resolves to fewer than two addresses", name);
    return n == 2 ? 0 : -1;
}

/* A socket of `type` bound to host (and listening, for a stream), the port
 * chosen by the kernel. Returns a descriptor, or -1. */
static int occupy(const char *host, int type, int *port)
{
    return type == SOCK_STREAM ? tcp_bind(host, port, 1) : udp_bind(host, port);
}

/* Starts the server with --host a name whose first address is taken, and
 * checks its READY line: the second address, as its socket says. */
static int ready_on_second(const char *command, const char *first, const char *second, int port,
                           const struct scratch *tmp, char *why, size_t whylen)
{
    char portstr[8], err[320];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct server s;
    if (server_start(&s, command, ARGS("--host", TWO_ADDRESS_NAME, "--port", portstr),
                     scratch_path(tmp, "server.stderr", err, sizeof err), READY_TIMEOUT_MS, why,
                     whylen) < 0) {
        add_server_log(err, why, whylen);
        return -1;
    }
    int rc = 0;
    if (strcmp(s.addr.host, second) != 0 || s.addr.port != port) {
        snprintf(why, whylen, "--host %s (%s, then %s) with %s:%d taken: READY says \"%s\", "
                 "want %s:%d (the next address, as getsockname gives it)", TWO_ADDRESS_NAME,
                 first, second, first, port, s.ready_line, second, port);
        rc = -1;
    }
    if (rc == 0)
        rc = server_stop(&s, SIGTERM, STOP_TIMEOUT_MS, why, whylen);
    if (rc < 0)
        add_server_log(s.err_path, why, whylen);
    server_cleanup(&s);
    return rc;
}

int check_every_address(const void *context, const char *command, char *why, size_t whylen)
{
    int type = *(const int *)context;
    struct scratch tmp;
    if (scratch_create(&tmp) < 0) {
        snprintf(why, whylen, "harness: cannot create a scratch directory");
        return -1;
    }
    char first[64], second[64];
    int port = 0, held = -1;
    int rc = private_hosts(TWO_ADDRESS_HOSTS, &tmp, why, whylen);
    if (rc == 0)
        rc = first_two_addresses(TWO_ADDRESS_NAME, type, first, second, why, whylen);
    if (rc == 0 && (held = occupy(first, type, &port)) < 0) {
        snprintf(why, whylen, "harness: cannot take a port on %s", first);
        rc = -1;
    }
    if (rc == 0)
        rc = ready_on_second(command, first, second, port, &tmp, why, whylen);
    if (held >= 0)
        close(held);
    scratch_remove(&tmp);
    return rc;
}
