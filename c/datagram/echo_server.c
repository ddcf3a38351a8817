/* echo_server.c -- a UDP echo server: socket, bind, then receive and send back each datagram */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (getaddrinfo, sigaction) under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* A datagram's length lives in 16-bit fields (the UDP header's, and IPv4's total
   length), so no datagram can be bigger than 65,535 bytes, headers included: over
   IPv4 the payload is at most 65,535 - 20 (IP header) - 8 (UDP header) = 65,507
   bytes; over IPv6, whose length field leaves out its own 40-byte header, 65,527.
   A 64 KiB buffer holds any of them whole. (Not a path MTU: a datagram bigger than
   the link's ~1,500 bytes is cut into IP fragments and put back together by the
   receiver's kernel -- or lost as a whole if any one fragment is.) */
#define BUF_SIZE 65536
#define ADDR_LEN 160 /* room for "[any numeric IPv6 address%scope]:65535" */
#define USAGE "usage: echo_server [--host H] [--port P]\n"

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

// ANCHOR: stop
/* The handler does only async-signal-safe things: it sets a flag and write()s a
   byte to a non-blocking pipe, which wakes wait_for()'s poll(): the self-pipe trick. */
static volatile sig_atomic_t stop_signal; /* 0 until SIGTERM or SIGINT arrives */
static int stop_pipe[2];                  /* [0] is polled, [1] is written by the handler */

static void on_signal(int sig)
{
    int saved_errno = errno; /* don't disturb errno for the code we interrupted */
    stop_signal = sig;
    ssize_t n = write(stop_pipe[1], "x", 1); /* Best effort: if the pipe is full, */
    (void)n;                                 /* a byte is waiting there already. */
    errno = saved_errno;
}

static void install_stop_handler(void)
{
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: calls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    if (pipe(stop_pipe) == -1 || fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) == -1 ||
        sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1) {
        fprintf(stderr, "echo_server: signal setup: %s\n", strerror(errno));
        exit(1);
    }
}

/* 0 when fd is ready for events (POLLIN, POLLOUT); -1 when we must stop. */
static int wait_for(int fd, short events)
{
    struct pollfd fds[2] = {{.fd = fd, .events = events}, {.fd = stop_pipe[0], .events = POLLIN}};
    while (!stop_signal) {
        int n = poll(fds, 2, -1); /* -1: no timeout, sleep until something happens */
        if (n > 0 && fds[0].revents != 0)
            return 0; /* ready, or an error that the next recvmsg()/sendto() will report */
        if (n == -1 && errno != EINTR) {
            fprintf(stderr, "echo_server: poll: %s\n", strerror(errno));
            return -1;
        }
    }
    return -1;
}
// ANCHOR_END: stop

// ANCHOR: bind
/* Resolve host and port, then socket() and bind() on the first address that
   works. Returns the bound socket, or -1 after printing why not. */
static int open_socket(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, /* UDP */
                             .ai_flags = AI_NUMERICSERV}; /* the port is a number */
    struct addrinfo *res; /* the list getaddrinfo() allocates */
    int err = getaddrinfo(host, port, &hints, &res);
    if (err != 0) { /* getaddrinfo() has its own error codes; EAI_SYSTEM means errno */
        fprintf(stderr, "echo_server: resolve %s: %s\n", host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        return -1;
    }
    int fd = -1, saved_errno = 0;
    const char *failed = "bind";
    char name[ADDR_LEN] = "";
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        format_addr(ai->ai_addr, ai->ai_addrlen, name, sizeof name);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        /* No SO_REUSEADDR: UDP has no TIME_WAIT to step around, and on Linux the
           option would let a second server bind our port and take our datagrams. */
        if (fd == -1)
            failed = "socket for";
        else if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
            failed = "bind";
        else
            break; /* success: datagrams to this address are queued for us now */
        saved_errno = errno;
        if (fd != -1)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd == -1) /* only the last failure is reported: one line, whatever we tried */
        fprintf(stderr, "echo_server: %s %s: %s\n", failed, name, strerror(saved_errno));
    return fd;
}
// ANCHOR_END: bind

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
    fputs("echo_server: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    /* The arguments, left to right; the first problem is the one reported. */
    const char *host = "127.0.0.1", *port = "0";
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
        else if (valid_port(value, 0))
            port = value;
        else
            usage_error("bad port: %s", value);
    }

    install_stop_handler(); /* before READY: the harness may signal right after it */
    int fd = open_socket(host, port);
    if (fd == -1)
        return 1;
    int status = 1;

    // ANCHOR: ready
    /* getsockname() asks the kernel which address the socket is bound to: with
       port 0, that is how we learn the port it picked. sockaddr_storage is big
       enough for any address family. A UDP socket can receive as soon as it is
       bound, so this is the moment to say READY. */
    struct sockaddr_storage addr;
    socklen_t addr_len = sizeof addr;
    char name[ADDR_LEN];
    if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) == -1) {
        fprintf(stderr, "echo_server: getsockname: %s\n", strerror(errno));
        goto out;
    }
    format_addr((struct sockaddr *)&addr, addr_len, name, sizeof name);
    /* When stdout is a pipe it is fully buffered: flush, or the line sits in
       our buffer while whoever started us waits for it. */
    if (printf("READY %s\n", name) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "echo_server: stdout: %s\n", strerror(errno));
        goto out;
    }
    // ANCHOR_END: ready

    // ANCHOR: echo
    /* Every wait is a poll() beside the stop pipe, so the socket is non-blocking
       (O_NONBLOCK): recvmsg() and sendto() fail with EAGAIN rather than sleep. */
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "echo_server: fcntl: %s\n", strerror(errno));
        goto out;
    }
    char buf[BUF_SIZE];
    while (wait_for(fd, POLLIN) == 0) {
        /* recvmsg() is recvfrom() with its arguments in a struct msghdr, and one
           more result: msg_flags, where MSG_TRUNC says the datagram was cut short. */
        struct sockaddr_storage peer;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr msg = {.msg_name = &peer, .msg_namelen = sizeof peer, /* the sender */
                             .msg_iov = &iov, .msg_iovlen = 1};             /* the buffer */
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n == -1) { /* EAGAIN: nothing after all; anything else: log it, go on */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fprintf(stderr, "echo_server: recvmsg: %s\n", strerror(errno));
            continue;
        }
        format_addr((struct sockaddr *)&peer, msg.msg_namelen, name, sizeof name);
        if (msg.msg_flags & MSG_TRUNC) {
            fprintf(stderr, "echo_server: %s: datagram longer than %d bytes, dropped\n", name,
                    BUF_SIZE);
            continue;
        }
        fprintf(stderr, "echo_server: %zd bytes from %s\n", n, name); /* 0 is a datagram too */
        /* sendto() sends one whole datagram or fails; EAGAIN: no room in the buffer yet. */
        while (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, msg.msg_namelen) == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_for(fd, POLLOUT) == -1)
                    break; /* a signal: the while condition above ends the loop too */
            } else if (errno != EINTR) { /* this one cannot be answered: log it, go on */
                fprintf(stderr, "echo_server: %s: %s\n", name, strerror(errno));
                break;
            }
        }
    }
    // ANCHOR_END: echo
    if (stop_signal != 0) { /* the loop ended on a signal: a normal stop */
        fprintf(stderr, "echo_server: stopping on %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }

out:
    close(fd);
    return status;
}
