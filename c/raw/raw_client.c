/* raw_client.c -- a raw IP client: send a protocol-253 request, pick the reply out of all traffic */

/* _DEFAULT_SOURCE declares the POSIX calls we use under -std=c17, and also
   setgroups(), which POSIX leaves out (it is BSD and Linux). */
#define _DEFAULT_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Our protocol lives directly inside IPv4 packets, next to TCP (6), UDP (17) and
   ICMP (1). Protocol numbers 253 and 254 are reserved for experiments (RFC 3692).
   A message is

       byte 0     type: 1 = request, 2 = reply
       byte 1     always 0
       bytes 2-3  identifier, chosen by the client (network byte order)
       then       the payload, 0 to 1,400 bytes                              */
#define PROTO_EXPERIMENT 253
#define TYPE_REQUEST 1
#define TYPE_REPLY 2
#define MSG_HEADER 4     /* type, zero, identifier */
#define MAX_PAYLOAD 1400 /* 20 (IP) + 4 + 1,400 fits a 1,500-byte Ethernet frame */
#define BUF_SIZE 65536   /* holds any IPv4 packet: its length is a 16-bit field */
#define USAGE "usage: raw_client --host A [--timeout S] [--retries N]\n"

// ANCHOR: open
/* Open the raw socket. Returns it, or -1 after printing why not. */
static int open_socket(void)
{
    /* SOCK_RAW with our own IP protocol number: we send our message as the payload
       of an IP packet, and receive every protocol-253 packet the host gets. */
    int fd = socket(AF_INET, SOCK_RAW, PROTO_EXPERIMENT);
    if (fd == -1) {
        if (errno == EPERM || errno == EACCES)
            fprintf(stderr, "raw_client: a raw socket needs CAP_NET_RAW (run as root): %s\n",
                    strerror(errno));
        else
            fprintf(stderr, "raw_client: socket: %s\n", strerror(errno));
    }
    /* No bind(): the kernel picks our source address when we send. No connect()
       either, though it works on a raw socket: we sort the packets ourselves. */
    return fd;
}

/* Become user "nobody" for good, if we are root, before we read our input or any
   packet: the socket keeps working, since the kernel checked CAP_NET_RAW when it
   was created. setgroups() and setgid() need root, so setuid() is last. */
static int drop_privileges(void)
{
    if (geteuid() != 0)
        return 0; /* not root: nothing to give up */
    errno = 0;
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL) {
        fprintf(stderr, "raw_client: getpwnam nobody: %s\n",
                errno != 0 ? strerror(errno) : "no such user");
        return -1;
    }
    const char *failed = setgroups(0, NULL) == -1   ? "setgroups" /* root's groups: none */
                         : setgid(pw->pw_gid) == -1 ? "setgid"
                         : setuid(pw->pw_uid) == -1 ? "setuid"
                                                    : NULL;
    if (failed != NULL)
        fprintf(stderr, "raw_client: %s: %s\n", failed, strerror(errno));
    return failed != NULL ? -1 : 0;
}
// ANCHOR_END: open

// ANCHOR: payload
/* Read all of stdin into msg + MSG_HEADER (room for MAX_PAYLOAD bytes). Returns its
   length, which may be more than MAX_PAYLOAD -- then only the first MAX_PAYLOAD
   bytes were kept -- or -1 after printing why not. A packet is sent whole or not
   at all, so we must have all of it before sending. */
static long long read_payload(unsigned char *msg)
{
    unsigned char chunk[BUF_SIZE];
    long long len = 0;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n == 0)
            return len; /* end of stdin */
        if (n == -1 && errno != EINTR) {
            fprintf(stderr, "raw_client: read stdin: %s\n", strerror(errno));
            return -1;
        }
        if (n > 0 && len + n <= MAX_PAYLOAD)
            memcpy(msg + MSG_HEADER + len, chunk, (size_t)n);
        if (n > 0)
            len += n; /* counting on, so that the error can say how much */
    }
}
// ANCHOR_END: payload

// ANCHOR: send
/* Fill in the 4-byte header in front of the payload. The identifier is how we
   will know our reply among all the protocol-253 packets we see: a random one
   (getrandom(), from the kernel's generator) is unlikely to be anybody else's. */
static int build_request(unsigned char *msg, uint16_t *id)
{
    ssize_t n;
    do
        n = getrandom(id, sizeof *id, 0);
    while (n == -1 && errno == EINTR);
    if (n != (ssize_t)sizeof *id) {
        fprintf(stderr, "raw_client: getrandom: %s\n", n == -1 ? strerror(errno) : "short read");
        return -1;
    }
    msg[0] = TYPE_REQUEST;
    msg[1] = 0;
    msg[2] = (unsigned char)(*id >> 8); /* network byte order: the high byte first */
    msg[3] = (unsigned char)(*id & 0xff);
    return 0;
}

/* sendto() sends one IP packet to dest, whole or not at all. Without IP_HDRINCL
   the kernel writes the IP header; we hand over only our message. */
static int send_request(int fd, const unsigned char *msg, size_t len,
                        const struct sockaddr_in *dest, const char *name)
{
    while (sendto(fd, msg, len, 0, (const struct sockaddr *)dest, sizeof *dest) == -1) {
        if (errno != EINTR) { /* EINTR: a signal came first; try again */
            fprintf(stderr, "raw_client: send to %s: %s\n", name, strerror(errno));
            return -1;
        }
    }
    return 0;
}
// ANCHOR_END: send

/* write() to stdout may be partial. */
static int write_all(int fd, const unsigned char *buf, size_t len)
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

/* Seconds on the monotonic clock, which never jumps (the wall clock can). */
static int now(double *seconds)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
        fprintf(stderr, "raw_client: clock_gettime: %s\n", strerror(errno));
        return -1;
    }
    *seconds = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return 0;
}

/* Wait, at most until the deadline (seconds on the monotonic clock), for a
   packet to read. Returns 1 when there is one, 0 when the time is up, -1 after
   printing why not. */
static int wait_readable(int fd, double deadline)
{
    for (;;) {
        double t;
        if (now(&t) == -1)
            return -1;
        if (t >= deadline)
            return 0;
        /* poll() waits in whole milliseconds: rounded up, never to wake too early. */
        double left_ms = (deadline - t) * 1000 + 1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, left_ms > 60000 ? 60000 : (int)left_ms);
        if (ready == -1 && errno != EINTR) {
            fprintf(stderr, "raw_client: poll: %s\n", strerror(errno));
            return -1;
        }
        if (ready > 0)
            return 1;
    }
}

/* Is this packet our reply? pkt is n bytes as a raw IPv4 socket receives them:
   the IP header first, its length the IHL field (byte 0's low 4 bits) in 32-bit
   words. Returns the reply's payload and sets *len, or NULL. */
static const unsigned char *reply_payload(const unsigned char *pkt, size_t n, uint16_t id,
                                          size_t *len)
{
    size_t ihl = n > 0 ? (size_t)(pkt[0] & 0x0f) * 4 : 0;
    if (n < 20 || pkt[0] >> 4 != 4 || ihl < 20 || ihl > n)
        return NULL;
    const unsigned char *msg = pkt + ihl; /* a reply (2, 0) with OUR identifier */
    size_t msg_len = n - ihl;
    if (msg_len < MSG_HEADER || msg[0] != TYPE_REPLY || msg[1] != 0 ||
        (msg[2] << 8 | msg[3]) != id || msg_len - MSG_HEADER > MAX_PAYLOAD)
        return NULL;
    *len = msg_len - MSG_HEADER;
    return msg + MSG_HEADER;
}

// ANCHOR: receive
/* Send and wait for the reply, retries + 1 times, each time until a deadline (a
   packet we throw away must not restart the clock). Returns 0, or 1 after saying why. */
static int exchange(int fd, const unsigned char *request, size_t len, uint16_t id,
                    const struct sockaddr_in *server, const char *name, double timeout,
                    long long retries)
{
    static unsigned char pkt[BUF_SIZE];
    for (long long attempt = 1; attempt <= retries + 1; attempt++) {
        double deadline;
        if (send_request(fd, request, len, server, name) == -1 || now(&deadline) == -1)
            return 1;
        deadline += timeout;
        int ready;
        while ((ready = wait_readable(fd, deadline)) == 1) {
            /* Our own request lands here too, and anyone's: we want the server's reply. */
            struct sockaddr_in from;
            socklen_t from_len = sizeof from;
            ssize_t n = recvfrom(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&from, &from_len);
            if (n == -1 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                fprintf(stderr, "raw_client: receive: %s\n", strerror(errno));
                return 1;
            }
            size_t payload_len;
            const unsigned char *payload =
                n > 0 && from.sin_addr.s_addr == server->sin_addr.s_addr
                    ? reply_payload(pkt, (size_t)n, id, &payload_len) : NULL;
            if (payload != NULL && write_all(STDOUT_FILENO, payload, payload_len) == -1) {
                fprintf(stderr, "raw_client: write stdout: %s\n", strerror(errno));
                return 1;
            }
            if (payload != NULL)
                return 0;
        }
        if (ready == -1)
            return 1;
    }
    fprintf(stderr, "raw_client: no reply from %s after %lld attempt%s\n", name, retries + 1,
            retries == 0 ? "" : "s"); /* "after 1 attempt", "after 4 attempts" */
    return 1;
}
// ANCHOR_END: receive

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
    fputs("raw_client: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    /* The arguments, left to right; the first problem is the one reported. */
    const char *host = NULL;
    struct sockaddr_in server = {.sin_family = AF_INET}; /* sin_port 0: raw IP has none */
    double timeout = 1;
    long long retries = 3; /* long long: retries + 1 fits */
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--host") != 0 && strcmp(flag, "--timeout") != 0 &&
            strcmp(flag, "--retries") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        const char *value = argv[++i];
        int ok = 1;
        if (strcmp(flag, "--host") == 0) {
            /* inet_pton(): the numeric dotted form only, into network byte order. */
            host = value;
            ok = inet_pton(AF_INET, value, &server.sin_addr) == 1;
        } else if (strcmp(flag, "--timeout") == 0) {
            timeout = parse_timeout(value);
            ok = timeout > 0;
        } else {
            retries = parse_retries(value);
            ok = retries >= 0;
        }
        if (!ok)
            usage_error("bad %s: %s", flag + 2, value); /* "--host" is "bad host: ..." */
    }
    if (host == NULL)
        usage_error("--host is required");
    if (timeout > 1e9)
        timeout = 1e9; /* about 30 years; keeps the deadline arithmetic sane */

    /* Started with stdout closed? Then the socket would get descriptor 1, the
       lowest free one, and whatever we "print" would go into the socket. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1) {
        fprintf(stderr, "raw_client: stdout: %s\n", strerror(errno));
        return 1;
    }
    /* If whoever reads our stdout goes away, write() would raise SIGPIPE and kill
       us silently. Ignore it, and write() fails with EPIPE, which we report. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "raw_client: signal: %s\n", strerror(errno));
        return 1;
    }
    /* The socket comes first and root goes straight after, before we read a byte
       of input: the less code that runs as root, the better. */
    int status = 1;
    int fd = open_socket();
    if (fd == -1 || drop_privileges() == -1)
        goto out;

    static unsigned char request[MSG_HEADER + MAX_PAYLOAD];
    long long len = read_payload(request);
    if (len == -1)
        goto out;
    if (len > MAX_PAYLOAD) {
        /* Too much input is the user's mistake, like a bad flag: exit 2, send nothing. */
        fprintf(stderr, "raw_client: %lld bytes is more than the %d a request can carry\n",
                len, MAX_PAYLOAD);
        status = 2;
        goto out;
    }
    uint16_t id;
    if (build_request(request, &id) == -1)
        goto out;

    status = exchange(fd, request, MSG_HEADER + (size_t)len, id, &server, host,
                      timeout, retries);

out:
    if (fd != -1)
        close(fd);
    return status;
}
