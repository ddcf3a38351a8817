/* echo_client.c -- a TCP echo client: connect, send from a thread while receiving, half-close */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (getaddrinfo, ...) under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536 /* read up to 64 KiB at a time */
#define ADDR_LEN 160   /* room for "[any numeric IPv6 address%scope]:65535" */
#define USAGE "usage: echo_client [--host H] --port P\n"

/* Format a socket address as "127.0.0.1:40123" or "[::1]:40123". getnameinfo() is
   getaddrinfo() in reverse; NI_NUMERIC* asks for digits rather than a DNS lookup. */
static void format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
    char host[128], port[16];
    if (getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, size, "(unknown address)");
    else if (sa->sa_family == AF_INET6)
        snprintf(out, size, "[%s]:%s", host, port);
    else
        snprintf(out, size, "%s:%s", host, port);
}

/* The server's address, for messages: set by connect_to(), before the sending
   thread starts. */
static char server[ADDR_LEN];

/* Two threads can fail at the same time -- a reset breaks send() and recv() at
   once -- but the user must see exactly one line. Whoever takes this lock first
   prints its line and exits; a thread that comes second waits here for good,
   until exit() ends the whole process. */
static pthread_mutex_t exit_lock = PTHREAD_MUTEX_INITIALIZER;

static _Noreturn void fail(const char *what, const char *where, int err)
{
    pthread_mutex_lock(&exit_lock);
    fprintf(stderr, "echo_client: %s%s: %s\n", what, where, strerror(err));
    exit(1);
}

// ANCHOR: connect
/* Resolve host and port and connect() to the first address that accepts us.
   Returns the connected socket, or -1 after printing why not. */
static int connect_to(const char *host, const char *port)
{
    /* A name can have several addresses: "localhost" is often ::1 and 127.0.0.1. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
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
        format_addr(ai->ai_addr, ai->ai_addrlen, server, sizeof server);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            saved_errno = errno;
            continue;
        }
        /* connect() returns once the handshake is done (0) or refused (-1). */
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break; /* connected: no need to try the other addresses */
        saved_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd == -1) /* only the last failure is reported: one line, whatever we tried */
        fprintf(stderr, "echo_client: connect to %s: %s\n", server, strerror(saved_errno));
    return fd;
}
// ANCHOR_END: connect

// ANCHOR: send
/* send() may accept only part of the buffer -- a partial write (Linux waits for room
   on a blocking socket, but POSIX allows a short count, and a signal handler can
   cause one). So we loop. Sending on a connection the peer has reset raises SIGPIPE,
   which kills a process by default; MSG_NOSIGNAL makes send() fail with EPIPE. */
static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n == -1 && errno != EINTR) /* EINTR: a signal came first; try again */
            return -1;
        if (n > 0)
            buf += n, len -= (size_t)n;
    }
    return 0;
}

/* The sending thread: copy stdin to the socket, then half-close. It runs while
   the main thread receives: an echo server sends back as it reads, so if we sent
   everything before reading anything, both directions' socket buffers would fill
   (a few hundred KiB) and both programs would wait for each other forever. */
static void *send_stdin(void *arg)
{
    int fd = *(int *)arg;
    char buf[BUF_SIZE];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n == 0)
            break; /* end of stdin */
        if (n == -1 && errno != EINTR)
            fail("read stdin", "", errno);
        if (n > 0 && send_all(fd, buf, (size_t)n) == -1)
            fail("send to ", server, errno);
    }
    /* shutdown(SHUT_WR) is the half-close: TCP sends a FIN, the server's recv()
       returns 0 (end of file), and it knows nothing more is coming. Our receiving
       side stays open for the rest of the echo; close() would end both. */
    if (shutdown(fd, SHUT_WR) == -1)
        fail("shutdown ", server, errno);
    return NULL;
}
// ANCHOR_END: send

/* write() to stdout may be partial too, just like send(). */
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
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--host") != 0 && strcmp(flag, "--port") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        const char *value = argv[++i];
        if (strcmp(flag, "--host") == 0)
            host = value;
        else if (valid_port(value, 1))
            port = value;
        else
            usage_error("bad port: %s", value);
    }
    if (port == NULL)
        usage_error("--port is required");

    /* Started with stdout closed? Then the socket would get descriptor 1, the
       lowest free one, and whatever we "print" would go into the socket. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1)
        fail("stdout", "", errno);
    /* MSG_NOSIGNAL protects send(), but write() has no such flag: if whoever
       reads our stdout goes away, write() would raise SIGPIPE. Ignore it, and
       write() fails with EPIPE, which we report like any other error. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fail("signal", "", errno);
    int fd = connect_to(host, port);
    if (fd == -1)
        return 1;
    pthread_t sender;
    int err = pthread_create(&sender, NULL, send_stdin, &fd);
    if (err != 0)
        fail("pthread_create", "", err); /* pthread calls return the error, not errno */

    // ANCHOR: receive
    /* The main thread: copy the socket to stdout until the server closes. */
    char buf[BUF_SIZE];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            break; /* end of file: the server has sent everything back and closed */
        if (n == -1 && errno != EINTR)
            fail("receive from ", server, errno); /* ECONNRESET: the server reset it */
        if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) == -1)
            fail("write stdout", "", errno);
    }
    // ANCHOR_END: receive

    /* End of file alone is not success: a server that closes early would look
       just like one that echoed everything. So we wait for the sender to finish.
       If its send() fails (EPIPE, ECONNRESET: the server is gone), it reports
       that through fail() and the process exits 1 without returning here. */
    err = pthread_join(sender, NULL);
    if (err != 0)
        fail("pthread_join", "", err);
    return 0; /* all of stdin sent, half-closed, and read to end of file */
}
