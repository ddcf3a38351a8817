/* echo_client.c -- a UDP echo client: connect, send one datagram, wait with a timeout, retry */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (getaddrinfo, ...) under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The most a UDP datagram can carry over IPv4: its 16-bit length fields allow
   65,535 bytes in all, less 20 for the IP header and 8 for the UDP header. */
#define MAX_PAYLOAD 65507
#define BUF_SIZE 65536 /* bigger than any datagram, so a reply is never cut short */
#define ADDR_LEN 160   /* room for "[any numeric IPv6 address%scope]:65535" */
#define USAGE "usage: echo_client [--host H] --port P [--timeout S] [--retries N]\n"

/* Format a socket address as "127.0.0.1:40123" or "[::1]:40123". getnameinfo() is
   getaddrinfo() in reverse; NI_NUMERIC* asks for digits rather than a DNS lookup. */
static void format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
    char host[128], port[16];
    if (getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV | NI_DGRAM) != 0)
        snprintf(out, size, "(unknown address)");
    else if (sa->sa_family == AF_INET6)
        snprintf(out, size, "[%s]:%s", host, port);
    else
        snprintf(out, size, "%s:%s", host, port);
}

/* Print the one line the user sees and exit 1. */
static _Noreturn void fail(const char *what, const char *where, int err)
{
    fprintf(stderr, "echo_client: %s%s: %s\n", what, where, strerror(err));
    exit(1);
}

// ANCHOR: connect
/* Resolve host and port and connect() a UDP socket to the first address that
   takes it. Returns the socket, or -1 after printing why not; `name` gets the
   server's address, for messages. */
static int connect_to(const char *host, const char *port, char *name, size_t size)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                             .ai_flags = AI_NUMERICSERV}; /* the port is a number */
    struct addrinfo *res; /* the list getaddrinfo() allocates */
    int err = getaddrinfo(host, port, &hints, &res);
    if (err != 0) { /* getaddrinfo() has its own error codes; EAI_SYSTEM means errno */
        fprintf(stderr, "echo_client: resolve %s: %s\n", host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        return -1;
    }
    int fd = -1, saved_errno = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        format_addr(ai->ai_addr, ai->ai_addrlen, name, size);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            saved_errno = errno;
            continue;
        }
        /* connect() on a UDP socket sends nothing: it only records the peer. It
           fails only when there is no route to the address at all. */
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break; /* connected -- to an address, not yet to anyone we know exists */
        saved_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd == -1) /* only the last failure is reported: one line, whatever we tried */
        fprintf(stderr, "echo_client: connect to %s: %s\n", name, strerror(saved_errno));
    return fd;
}
// ANCHOR_END: connect

// ANCHOR: send
/* Read all of stdin into payload (MAX_PAYLOAD bytes); return its length, which may
   be more than MAX_PAYLOAD -- then only the first MAX_PAYLOAD bytes were kept. A
   datagram is sent whole or not at all, so we must have all of it before sending. */
static size_t read_payload(char *payload)
{
    char chunk[BUF_SIZE];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n == 0)
            return len; /* end of stdin */
        if (n == -1 && errno != EINTR)
            fail("read stdin", "", errno);
        if (n > 0 && len + (size_t)n <= MAX_PAYLOAD)
            memcpy(payload + len, chunk, (size_t)n);
        if (n > 0)
            len += (size_t)n; /* counting on, so that the error can say how much */
    }
}

/* send() on a connected socket is sendto() to the connected address. On a datagram
   socket it is all or nothing: one call, one datagram, never a partial send -- so
   no loop as on a stream. Too big for the protocol, and it fails with EMSGSIZE;
   it may also fail with ECONNREFUSED, the news of an ICMP error that came back
   for an earlier datagram. */
static void send_payload(int fd, const char *payload, size_t len, const char *name)
{
    while (send(fd, payload, len, 0) == -1) {
        if (errno != EINTR) /* EINTR: a signal came first; try again */
            fail("send to ", name, errno);
    }
}
// ANCHOR_END: send

/* write() to stdout may be partial, unlike send() on a datagram socket. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n == -1 && errno != EINTR)
            return -1;
        if (n > 0)
            buf += n, len -= (size_t)n;
    }
    return 0;
}

/* A port is 1 to 5 decimal digits with a value from min to 65535. */
static int valid_port(const char *s, long min)
{
    size_t len = strlen(s);
    if (len == 0 || len > 5 || strspn(s, "0123456789") != len)
        return 0;
    long port = strtol(s, NULL, 10);
    return port >= min && port <= 65535;
}

/* A timeout is seconds, more than 0: digits, optionally a "." and more digits
   ("1", "0.2", "2.50"; not ".5", "5.", "1e3" or "inf"). Returns it, or -1. */
static double parse_timeout(const char *s)
{
    size_t whole = strspn(s, "0123456789"), len = whole;
    if (s[len] == '.')
        len += 1 + strspn(s + len + 1, "0123456789");
    if (whole == 0 || s[len] != '\0' || s[len - 1] == '.')
        return -1;
    double seconds = strtod(s, NULL);
    return seconds > 0 ? seconds : -1;
}

/* A retry count is a whole decimal number from 0 up (to INT_MAX: plenty).
   Returns it, or -1 for anything else. */
static long long parse_retries(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || strspn(s, "0123456789") != len)
        return -1;
    errno = 0;
    long n = strtol(s, NULL, 10);
    return errno == 0 && n <= INT_MAX ? n : -1;
}

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("echo_client: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    /* The arguments, left to right; the first problem is the one reported. */
    const char *host = "127.0.0.1", *port = NULL;
    double timeout = 1;
    long long retries = 3; /* long long: retries + 1 fits */
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--host") != 0 && strcmp(flag, "--port") != 0 &&
            strcmp(flag, "--timeout") != 0 && strcmp(flag, "--retries") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        const char *value = argv[++i];
        int ok = 1;
        if (strcmp(flag, "--host") == 0) {
            host = value;
        } else if (strcmp(flag, "--port") == 0) {
            port = value;
            ok = valid_port(value, 1);
        } else if (strcmp(flag, "--timeout") == 0) {
            timeout = parse_timeout(value);
            ok = timeout > 0;
        } else {
            retries = parse_retries(value);
            ok = retries >= 0;
        }
        if (!ok)
            usage_error("bad %s: %s", flag + 2, value); /* "--port" is "bad port: ..." */
    }
    if (port == NULL)
        usage_error("--port is required");

    /* Started with stdout closed? Then the socket would get descriptor 1, the
       lowest free one, and whatever we "print" would go into the socket. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1)
        fail("stdout", "", errno);
    /* If whoever reads our stdout goes away, write() would raise SIGPIPE and kill
       us silently. Ignore it, and write() fails with EPIPE, which we report. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fail("signal", "", errno);

    /* Too much input is the user's mistake, like a bad flag: exit 2, send nothing. */
    static char payload[MAX_PAYLOAD];
    size_t len = read_payload(payload);
    if (len > MAX_PAYLOAD) {
        fprintf(stderr, "echo_client: %zu bytes is more than the %d a UDP datagram can carry\n",
                len, MAX_PAYLOAD);
        return 2;
    }

    char name[ADDR_LEN] = "";
    int fd = connect_to(host, port, name, sizeof name);
    if (fd == -1)
        return 1;

    // ANCHOR: receive
    /* SO_RCVTIMEO limits every receive on this socket: a recv() that has waited
       that long fails with EAGAIN. It is a struct timeval, and a zero one means
       "no limit", so a tiny timeout rounds up to 1 microsecond. (poll() with a
       timeout is the other way, for waiting on several things at once.) */
    if (timeout > 1e9)
        timeout = 1e9; /* about 30 years; keeps the number inside a time_t */
    struct timeval limit = {.tv_sec = (time_t)timeout};
    limit.tv_usec = (suseconds_t)((timeout - (double)limit.tv_sec) * 1e6);
    if (limit.tv_sec == 0 && limit.tv_usec == 0)
        limit.tv_usec = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1)
        fail("setsockopt SO_RCVTIMEO", "", errno);

    /* The retry loop: send, wait, and on a timeout send again, retries + 1 times
       in all. A late reply to an earlier attempt is as good: every echo is the same. */
    char reply[BUF_SIZE];
    for (long long attempt = 1; attempt <= retries + 1; attempt++) {
        send_payload(fd, payload, len, name);
        ssize_t n;
        do /* recv() takes one whole datagram -- from the server only: we connected */
            n = recv(fd, reply, sizeof reply, 0);
        while (n == -1 && errno == EINTR);
        if (n >= 0) { /* a reply, maybe 0 bytes long: that is the echo of nothing */
            if (write_all(STDOUT_FILENO, reply, (size_t)n) == -1)
                fail("write stdout", "", errno);
            return 0;
        }
        /* ECONNREFUSED here means an ICMP "port unreachable" came back: nothing is
           bound to that port, and waiting longer won't change it. */
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            fail("receive from ", name, errno);
    }
    fprintf(stderr, "echo_client: no reply from %s after %lld attempt%s\n", name, retries + 1,
            retries == 0 ? "" : "s"); /* "after 1 attempt", "after 4 attempts" */
    return 1;
    // ANCHOR_END: receive
}
