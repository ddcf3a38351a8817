/* common.c -- what every chapter 6 server shares: flags, limits, the listening socket, peers, logs */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (getaddrinfo, getrlimit) under -std=c17 */

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define LOG_LEN 1024 /* a log line is cut to this; one write() of it to a pipe is atomic */

/* Format a socket address as "127.0.0.1:40123" or "[::1]:40123". getnameinfo() is
   getaddrinfo() in reverse; NI_NUMERIC* asks for digits rather than a DNS lookup. */
void format_address(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
    char host[128], port[16];
    if (getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(buf, buflen, "(unknown address)");
    else if (sa->sa_family == AF_INET6)
        snprintf(buf, buflen, "[%s]:%s", host, port);
    else
        snprintf(buf, buflen, "%s:%s", host, port);
}

// ANCHOR: log
/* stdio's stderr is unbuffered, so one fprintf() may become several write()s,
   and lines from two threads (or a parent and its child) could mix. We format
   the whole line first and hand it to the kernel in one write(). */
void log_line(const char *prog, const char *fmt, ...)
{
    int saved_errno = errno; /* callers may log and then look at errno */
    char line[LOG_LEN];
    size_t room = sizeof line - 1, used = 0; /* the last byte is kept for the newline */
    int n = snprintf(line, room, "%s: ", prog);
    if (n > 0) /* snprintf() returns the length it wanted; it wrote at most room - 1 */
        used = (size_t)n < room ? (size_t)n : room - 1;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(line + used, room - used, fmt, ap);
    va_end(ap);
    if (n > 0)
        used += (size_t)n < room - used ? (size_t)n : room - used - 1;
    line[used++] = '\n'; /* a line cut short still ends with its newline */
    ssize_t w;
    do
        w = write(STDERR_FILENO, line, used);
    while (w == -1 && errno == EINTR); /* Best effort: if stderr is gone, there is no one to tell. */
    errno = saved_errno;
}
// ANCHOR_END: log

/* A port is 1 to 5 decimal digits with a value from 0 to 65535. */
static int valid_port(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 5 || strspn(s, "0123456789") != len)
        return 0;
    return strtol(s, NULL, 10) <= 65535;
}

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 2, 3))) _Noreturn void usage_error(const char *prog,
                                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s [--host H] [--port P]\n", prog);
    exit(2);
}

void parse_options(int argc, char **argv, const char *prog, struct options *o)
{
    /* The arguments, left to right; the first problem is the one reported. */
    o->host = "127.0.0.1";
    o->port = "0";
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            printf("usage: %s [--host H] [--port P]\n", prog);
            exit(fflush(stdout) == EOF ? 1 : 0);
        }
        if (strcmp(flag, "--host") != 0 && strcmp(flag, "--port") != 0)
            usage_error(prog, flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s",
                        flag);
        if (i + 1 == argc)
            usage_error(prog, "%s needs a value", flag);
        const char *value = argv[++i];
        if (strcmp(flag, "--host") == 0)
            o->host = value;
        else if (valid_port(value))
            o->port = value;
        else
            usage_error(prog, "bad port: %s", value);
    }
}

// ANCHOR: limit
/* Every client costs a descriptor, and the soft limit is often 1024. A process
   may raise its soft limit up to the hard one without privileges. */
void raise_open_file_limit(const char *prog)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
        log_line(prog, "getrlimit RLIMIT_NOFILE: %s", strerror(errno));
        return;
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        log_line(prog, "setrlimit RLIMIT_NOFILE: %s", strerror(errno));
}
// ANCHOR_END: limit

// ANCHOR: listen
/* Resolve host and port, then socket(), bind() and listen() on the first address
   that works; print READY. Any failure here ends the program: nothing to serve. */
int listen_on(const char *prog, const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    int err = getaddrinfo(host, port, &hints, &res);
    if (err != 0) {
        fprintf(stderr, "%s: resolve %s: %s\n", prog, host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        exit(1);
    }
    int fd = -1, saved_errno = 0, one = 1;
    const char *failed = "bind";
    char name[ADDR_LEN] = "";
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        format_address(ai->ai_addr, ai->ai_addrlen, name, sizeof name);
        /* SOCK_CLOEXEC: fork_server's children, and anything exec'd, don't inherit it. */
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd == -1)
            failed = "socket for";
        else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
            failed = "setsockopt SO_REUSEADDR on";
        else if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
            failed = "bind";
        else if (listen(fd, LISTEN_BACKLOG) == -1)
            failed = "listen on";
        else
            break; /* success: fd is listening */
        saved_errno = errno;
        if (fd != -1)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd == -1) { /* only the last failure is reported: one line, whatever we tried */
        fprintf(stderr, "%s: %s %s: %s\n", prog, failed, name, strerror(saved_errno));
        exit(1);
    }
    // ANCHOR_END: listen

    // ANCHOR: ready
    /* getsockname() asks the kernel which address the socket is bound to: with
       port 0, that is how we learn the port it picked. */
    struct sockaddr_storage addr;
    socklen_t addr_len = sizeof addr;
    const char *step = "getsockname";
    if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) == 0) {
        format_address((struct sockaddr *)&addr, addr_len, name, sizeof name);
        step = "stdout"; /* a pipe is fully buffered: flush, or READY sits in our buffer */
        if (printf("READY %s\n", name) >= 0 && fflush(stdout) != EOF)
            return fd;
    }
    fprintf(stderr, "%s: %s: %s\n", prog, step, strerror(errno));
    close(fd);
    exit(1);
    // ANCHOR_END: ready
}
