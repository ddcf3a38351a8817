/* echo_server.c -- a UDP echo server: socket, bind, then receive and send back each datagram */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (getaddrinfo, sigaction) under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
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
/* A signal handler may safely do very little: set a volatile sig_atomic_t flag and
   call async-signal-safe functions such as write(). Not fprintf(): the signal may
   have interrupted another fprintf() halfway through its buffer. So our flag holds
   the signal's number, and main() logs it once the loop has ended. A flag alone
   leaves a race: a signal that lands after the loop has tested the flag but before
   recvmsg() starts to sleep is noticed only when the next datagram arrives -- maybe
   never. The self-pipe trick closes the gap: the handler also writes a byte into a
   pipe, and every wait below is a poll() on the socket AND the pipe. The byte stays
   in the pipe, so poll() sees it however early or late the signal came. */
static volatile sig_atomic_t stop_signal; /* 0 until SIGTERM or SIGINT arrives */
static int stop_pipe[2]; /* [0] is polled, [1] is written by the handler */

static void on_signal(int sig)
{
    int saved_errno = errno; /* don't disturb errno for the code we interrupted */
    stop_signal = sig;
    ssize_t n = write(stop_pipe[1], "x", 1); /* Best effort: if the pipe is full, */
    (void)n;                                 /* a byte is waiting there already. */
    errno = saved_errno;
}

static int install_stop_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: an interrupted call fails with EINTR */
    if (pipe(stop_pipe) == -1) {
        fprintf(stderr, "echo_server: pipe: %s\n", strerror(errno));
        return -1;
    }
    /* The handler must never block, not even on a full pipe. */
    if (fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) == -1 ||
        sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1) {
        fprintf(stderr, "echo_server: signal setup: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* Wait until fd is ready for events: POLLIN, a datagram to read; POLLOUT, room in
   the send buffer. Returns 0 when it is, and -1 when we must stop: a signal came,
   or poll() failed (reported here). */
static int wait_for(int fd, short events)
{
    struct pollfd fds[2] = {
        {.fd = fd, .events = events},
        {.fd = stop_pipe[0], .events = POLLIN},
    };
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
    /* getaddrinfo() turns a name ("localhost") or a literal ("::1") into a list of
       ready-to-use socket addresses, IPv4 or IPv6 (AF_UNSPEC), this time for UDP:
       SOCK_DGRAM, a datagram socket. */
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV; /* the port is a number, not a service name */
    int err = getaddrinfo(host, port, &hints, &res);
    if (err != 0) {
        fprintf(stderr, "echo_server: getaddrinfo %s: %s\n", host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        return -1;
    }
    int fd = -1, saved_errno = 0;
    const char *failed = "socket";
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        /* A datagram socket carries messages, not a byte stream. Each send is one
           datagram and each receive takes exactly one: message boundaries are kept.
           And there is no connection: no handshake, no listen() or accept(), one
           socket talks with everybody. What UDP does NOT give is TCP's care: a
           datagram may be lost, duplicated or overtaken by a later one, and
           nobody tells the sender. */
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            failed = "socket";
            saved_errno = errno;
            continue;
        }
        /* bind() gives the socket its local address; port 0 means "kernel, pick a
           free port" -- getsockname() tells us which one later. No SO_REUSEADDR:
           UDP has no TIME_WAIT to step around, and on Linux the option would let a
           second server bind our port too and quietly take our datagrams. */
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break; /* success: fd is bound, and datagrams to it are queued for us */
        failed = "bind";
        saved_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd == -1)
        fprintf(stderr, "echo_server: %s: %s\n", failed, strerror(saved_errno));
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

static _Noreturn void usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "echo_server: %s%s\n" USAGE, what, arg);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = "0";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = argv[++i];
        } else if (strcmp(argv[i], "--host") == 0 || strcmp(argv[i], "--port") == 0) {
            usage_error("missing value for ", argv[i]);
        } else {
            usage_error(argv[i][0] == '-' ? "unknown option: " : "unexpected argument: ",
                        argv[i]);
        }
    }
    if (!valid_port(port, 0))
        usage_error("bad port: ", port);

    /* Catch SIGTERM/SIGINT before READY: the harness may signal right after it. */
    if (install_stop_handler() == -1)
        return 1;
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
    /* All our waiting happens in poll(), which also watches the stop pipe. So the
       socket is non-blocking (O_NONBLOCK): recvmsg() and sendto() never sleep; if
       they can do nothing right now, they fail with EAGAIN. */
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "echo_server: fcntl: %s\n", strerror(errno));
        goto out;
    }
    char buf[BUF_SIZE];
    while (wait_for(fd, POLLIN) == 0) {
        /* The classic call is recvfrom(fd, buf, sizeof buf, 0, &peer, &peer_len):
           it takes ONE datagram off the queue, copies its payload into buf and the
           sender's address into peer -- with no connection, the address is the
           only way to know whom to answer. recvmsg() is the same call with its
           arguments gathered in a struct msghdr, and one thing more: msg_flags,
           where the kernel reports what happened to the datagram. */
        struct sockaddr_storage peer;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr msg = {
            .msg_name = &peer, .msg_namelen = sizeof peer, /* filled in: the sender */
            .msg_iov = &iov, .msg_iovlen = 1,               /* the buffer(s) to fill */
        };
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n == -1) {
            /* EAGAIN: nothing after all. Any other error belongs to one datagram
               (none is expected on an unconnected socket): log it and go on. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fprintf(stderr, "echo_server: recvmsg: %s\n", strerror(errno));
            continue;
        }
        format_addr((struct sockaddr *)&peer, msg.msg_namelen, name, sizeof name);
        /* A datagram bigger than the buffer is truncated: the rest is thrown away,
           silently, and recvfrom() returns only what fit. MSG_TRUNC in msg_flags is
           the one sign of it. (On Linux, passing MSG_TRUNC as a *flag* to recv()
           or recvfrom() makes it return the datagram's real length instead.) Our
           64 KiB buffer holds any datagram, so this should never happen -- but
           echoing a cut-off datagram would be wrong, so we check. */
        if (msg.msg_flags & MSG_TRUNC) {
            fprintf(stderr, "echo_server: %s: datagram longer than %d bytes, dropped\n",
                    name, BUF_SIZE);
            continue;
        }
        /* n is this datagram's whole length. 0 is a valid, empty datagram -- not
           end of file as on a stream: a datagram socket never ends. */
        fprintf(stderr, "echo_server: %zd bytes from %s\n", n, name);
        /* sendto() sends one datagram to the given address. It never sends part
           of one: all of it goes, or it fails (EMSGSIZE if too big). EAGAIN means
           the send buffer is full for now: wait for room, as a stream server does. */
        while (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, msg.msg_namelen) == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_for(fd, POLLOUT) == -1)
                    break; /* a signal: the while condition above ends the loop too */
            } else if (errno != EINTR) {
                /* This datagram cannot be answered: log it, drop it, go on. */
                fprintf(stderr, "echo_server: %s: %s\n", name, strerror(errno));
                break;
            }
        }
    }
    /* The loop ends when a signal came -- a normal stop -- or poll() failed. Now,
       outside the handler, we may call fprintf(). */
    if (stop_signal != 0) {
        fprintf(stderr, "echo_server: stopping on %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }
    // ANCHOR_END: echo

out:
    close(fd);
    return status;
}
