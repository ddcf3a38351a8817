/* sockload.c -- a load generator for echo servers: pingpong, bulk, rate and hold over epoll */

/*
 * The chapter 6 load generator and the C10K driver. One process, one thread,
 * one epoll instance, every socket non-blocking (engine.c); every byte that
 * comes back is checked against the byte sent (echo.c). It prints one JSON
 * object on stdout (report.c) and exits 0 only if every connection worked
 * and every echo was right; 1 otherwise, with one line on stderr; 2 for a
 * bad command line.
 */

#define _POSIX_C_SOURCE 200809L   /* getaddrinfo */

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "engine.h"
#include "json.h"
#include "options.h"
#include "report.h"

/* Descriptors besides the connections: stdio, epoll, and some slack. */
#define SPARE_FDS 16

/* Raise the soft RLIMIT_NOFILE to the hard limit; fail if n connections need more. */
static int raise_nofile(unsigned long n, char *why, size_t whylen)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
        snprintf(why, whylen, "getrlimit RLIMIT_NOFILE: %s", strerror(errno));
        return -1;
    }
    rlim_t need = (rlim_t)n + SPARE_FDS;
    if (rl.rlim_max != RLIM_INFINITY && need > rl.rlim_max) {
        snprintf(why, whylen,
                 "--connections %lu needs %llu file descriptors, but the hard "
                 "RLIMIT_NOFILE is %llu", n, (unsigned long long)need,
                 (unsigned long long)rl.rlim_max);
        return -1;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        /* An infinite hard limit may be more than the kernel allows (nr_open):
           then ask for what we need. */
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1 && (rl.rlim_cur = need) > old &&
            setrlimit(RLIMIT_NOFILE, &rl) == -1) {
            snprintf(why, whylen, "setrlimit RLIMIT_NOFILE %llu: %s",
                     (unsigned long long)need, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int main(int argc, char *argv[])
{
    struct options o;
    char why[300];
    if (options_parse(argc, argv, &o, why, sizeof why) == -1) {
        fprintf(stderr, "sockload: %s\n%s\n", why, USAGE);
        return 2;
    }
    if (o.help) {
        printf("%s\n", USAGE);
        return 0;
    }
    if (raise_nofile(o.connections, why, sizeof why) == -1) {
        fprintf(stderr, "sockload: %s\n", why);
        return 1;
    }
    /* send() uses MSG_NOSIGNAL; this is for anything that does not. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("sockload: signal SIGPIPE");
        return 1;
    }

    /* The first address getaddrinfo gives is the one every connection uses. */
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai;
    int gai = getaddrinfo(o.host, o.port, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "sockload: %s: %s\n", o.host,
                gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return 1;
    }

    struct results r = { 0 };
    int rc = engine_run(&o, ai->ai_addr, ai->ai_addrlen, &r, why, sizeof why);
    freeaddrinfo(ai);
    if (rc == -1) {
        fprintf(stderr, "sockload: %s\n", why);
        samples_free(&r.rtt_ns);
        return 1;
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        r.max_rss_kib = ru.ru_maxrss;

    struct json j = { 0 };
    report_write(&j, &o, &r);
    const char *text = json_finish(&j);
    int status = 0;
    if (text == NULL) {
        fprintf(stderr, "sockload: cannot write the JSON report (out of memory)\n");
        status = 1;
    } else if (printf("%s\n", text) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "sockload: stdout: %s\n", strerror(errno));
        status = 1;
    } else if (r.errors > 0) {
        fprintf(stderr, "sockload: %llu connection%s failed; the first: %s\n",
                (unsigned long long)r.errors, r.errors == 1 ? "" : "s", r.first_error);
        status = 1;
    }
    json_free(&j);
    samples_free(&r.rtt_ns);
    return status;
}
