/* raw_server.c -- a raw IP server: its own protocol (253) straight over IPv4, no TCP or UDP */

/* _DEFAULT_SOURCE declares the POSIX calls we use under -std=c17, and also
   setgroups(), which POSIX leaves out (it is BSD and Linux). */
#define _DEFAULT_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* Our protocol lives directly inside IPv4 packets, next to TCP (6), UDP (17) and
   ICMP (1). Protocol numbers 253 and 254 are reserved for experiments (RFC 3692),
   so no real protocol will ever be confused with ours. A message is

       byte 0     type: 1 = request, 2 = reply
       byte 1     always 0
       bytes 2-3  identifier, chosen by the client (network byte order)
       then       the payload, 0 to 1,400 bytes

   There are no ports: the IP protocol number is all the kernel goes by. */
#define PROTO_EXPERIMENT 253
#define TYPE_REQUEST 1
#define TYPE_REPLY 2
#define MSG_HEADER 4     /* type, zero, identifier */
#define MAX_PAYLOAD 1400 /* 20 (IP) + 4 + 1,400 fits a 1,500-byte Ethernet frame */
/* An IPv4 packet's total length is a 16-bit field: 65,535 bytes at most, so a
   64 KiB buffer holds any packet whole, however far from our format it is. */
#define BUF_SIZE 65536
#define USAGE "usage: raw_server [--host A]\n"

// ANCHOR: stop
/* The handler does only async-signal-safe things: it sets a flag and write()s a
   byte to a non-blocking pipe, which wakes wait_for()'s poll(): the self-pipe trick. */
static volatile sig_atomic_t stop_signal; /* 0 until SIGTERM or SIGINT arrives */
static int stop_pipe[2] = {-1, -1};       /* [0] is polled, [1] is written by the handler */

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
        fprintf(stderr, "raw_server: signal setup: %s\n", strerror(errno));
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
            return 0; /* ready, or an error that the next call will report */
        if (n == -1 && errno != EINTR) {
            fprintf(stderr, "raw_server: poll: %s\n", strerror(errno));
            return -1;
        }
    }
    return -1;
}
// ANCHOR_END: stop

// ANCHOR: open
/* socket() and bind() to addr. Returns the socket, or -1 after printing why not. */
static int open_socket(const struct sockaddr_in *addr)
{
    /* SOCK_RAW with our own IP protocol number: every IPv4 packet that carries
       protocol 253 comes to this socket. socket() checks for CAP_NET_RAW. */
    int fd = socket(AF_INET, SOCK_RAW, PROTO_EXPERIMENT);
    if (fd == -1) {
        if (errno == EPERM || errno == EACCES)
            fprintf(stderr, "raw_server: a raw socket needs CAP_NET_RAW (run as root): %s\n",
                    strerror(errno));
        else
            fprintf(stderr, "raw_server: socket: %s\n", strerror(errno));
        return -1;
    }
    /* bind() takes an address but no port (sin_port is ignored): from now on only
       packets addressed TO it arrive, and it is the source of what we send. */
    if (bind(fd, (const struct sockaddr *)addr, sizeof *addr) == -1) {
        char name[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &addr->sin_addr, name, sizeof name); /* Best effort. */
        fprintf(stderr, "raw_server: bind %s: %s\n", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
// ANCHOR_END: open

// ANCHOR: drop
/* Become user "nobody" for good, if we are root, before we read the first byte
   anybody sent us: the socket keeps working, since the kernel checked CAP_NET_RAW
   when it was created. setgroups() and setgid() need root, so setuid() is last. */
static int drop_privileges(void)
{
    if (geteuid() != 0)
        return 0; /* not root: nothing to give up */
    errno = 0;
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL) {
        fprintf(stderr, "raw_server: getpwnam nobody: %s\n",
                errno != 0 ? strerror(errno) : "no such user");
        return -1;
    }
    const char *failed = setgroups(0, NULL) == -1   ? "setgroups" /* root's groups: none */
                         : setgid(pw->pw_gid) == -1 ? "setgid"
                         : setuid(pw->pw_uid) == -1 ? "setuid"
                                                    : NULL;
    if (failed != NULL)
        fprintf(stderr, "raw_server: %s: %s\n", failed, strerror(errno));
    return failed != NULL ? -1 : 0;
}
// ANCHOR_END: drop

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("raw_server: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    /* The arguments, left to right; the first problem is the one reported. */
    const char *host = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--host") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        host = argv[++i];
    }
    /* inet_pton() turns "127.53.0.1" into the 4-byte address, already in network
       byte order. It takes only the numeric dotted form: a name could resolve to
       several addresses, and the server must know exactly which one it serves. */
    struct sockaddr_in addr = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        usage_error("bad host: %s", host);

    install_stop_handler(); /* before READY: the harness may signal right after it */
    int status = 1;
    int fd = open_socket(&addr);
    if (fd == -1 || drop_privileges() == -1)
        goto out;

    // ANCHOR: ready
    /* getsockname() reports the address the kernel bound us to. For a raw socket
       it is just an IP address: we print no port, because there is none. */
    struct sockaddr_in bound;
    socklen_t bound_len = sizeof bound;
    char name[INET_ADDRSTRLEN];
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) == -1) {
        fprintf(stderr, "raw_server: getsockname: %s\n", strerror(errno));
        goto out;
    }
    if (inet_ntop(AF_INET, &bound.sin_addr, name, sizeof name) == NULL) {
        fprintf(stderr, "raw_server: inet_ntop: %s\n", strerror(errno));
        goto out;
    }
    /* When stdout is a pipe it is fully buffered: flush, or the line sits in
       our buffer while whoever started us waits for it. */
    if (printf("READY %s\n", name) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "raw_server: stdout: %s\n", strerror(errno));
        goto out;
    }
    // ANCHOR_END: ready

    // ANCHOR: serve
    /* Every wait is a poll() beside the stop pipe: the socket is non-blocking. */
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "raw_server: fcntl: %s\n", strerror(errno));
        goto out;
    }
    unsigned char buf[BUF_SIZE]; /* unsigned: we read bytes as numbers 0-255 */
    while (wait_for(fd, POLLIN) == 0) {
        /* recvfrom(): one packet, and its source address (sin_port is always 0). */
        struct sockaddr_in peer;
        socklen_t peer_len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);
        if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fprintf(stderr, "raw_server: recvfrom: %s\n", strerror(errno)); /* log, go on */
        /* The whole IPv4 packet, header first; skip IHL (byte 0's low 4 bits) words. */
        size_t ihl = n > 0 ? (size_t)(buf[0] & 0x0f) * 4 : 0;
        if (n < 20 || buf[0] >> 4 != 4 || ihl < 20 || ihl > (size_t)n)
            continue;
        unsigned char *msg = buf + ihl;
        size_t len = (size_t)n - ihl;
        /* Answer only a well-formed request, never a reply (ours come back too), and
           drop the rest without a word: logging it would let anybody flood our log. */
        if (len < MSG_HEADER || msg[0] != TYPE_REQUEST || msg[1] != 0 ||
            len - MSG_HEADER > MAX_PAYLOAD)
            continue;
        if (inet_ntop(AF_INET, &peer.sin_addr, name, sizeof name) == NULL)
            snprintf(name, sizeof name, "?"); /* cannot happen for AF_INET */
        fprintf(stderr, "raw_server: %zu bytes from %s\n", len - MSG_HEADER, name);
        /* The reply: the request with its type changed; the kernel adds the IP header. */
        msg[0] = TYPE_REPLY;
        while (sendto(fd, msg, len, 0, (struct sockaddr *)&peer, peer_len) == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_for(fd, POLLOUT) == -1)
                    break; /* a signal: the while condition above ends the loop too */
            } else if (errno != EINTR) { /* this one cannot be answered: log it, go on */
                fprintf(stderr, "raw_server: %s: %s\n", name, strerror(errno));
                break;
            }
        }
    }

    // ANCHOR_END: serve
    if (stop_signal != 0) { /* the loop ended on a signal: a normal stop */
        fprintf(stderr, "raw_server: stopping on %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }

out:
    if (fd != -1)
        close(fd);
    return status;
}
