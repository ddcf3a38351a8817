/* ping_dgram.c -- ICMP echo without privilege: Linux's "ping socket", SOCK_DGRAM + IPPROTO_ICMP */

#define _DEFAULT_SOURCE /* declare POSIX calls under -std=c17, and setgroups() */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* An ICMP echo message: an 8-byte header (type, code, checksum, identifier,
   sequence number) and our 56 bytes of data: 64 bytes in all. */
#define HEADER_LEN 8
#define PAYLOAD_LEN 56
#define MESSAGE_LEN (HEADER_LEN + PAYLOAD_LEN)
#define BUF_SIZE 65536 /* bigger than any ICMP message, so none is cut short */
#define HOST_LEN 128   /* room for any numeric IPv6 address with a %scope */
#define RANGE_FILE "/proc/sys/net/ipv4/ping_group_range"
#define USAGE "usage: ping_dgram --host H [--count N] [--timeout S]\n"

/* The message types: ICMP for IPv4 (RFC 792) and ICMPv6 (RFC 4443) number
   them differently, but the echo message has the same layout in both. */
#define ICMP_ECHO_REQUEST 8
#define ICMP_ECHO_REPLY 0
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129

/* Print the one line the user sees and exit 1. */
static _Noreturn void fail(const char *what, const char *where, int err)
{
    fprintf(stderr, "ping_dgram: %s%s: %s\n", what, where, strerror(err));
    exit(1);
}

/* Nanoseconds on the monotonic clock: it never jumps when someone sets the
   time of day, so the difference of two readings is a true interval. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        fail("clock_gettime", "", errno);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The numeric form of an address, without a port ("127.0.0.1", "::1"). */
static void format_host(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
    if (getnameinfo(sa, len, out, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(out, size, "(unknown address)");
}

/* Become user "nobody" for good, if we are root. setgroups() and setgid() need
   root, so they come before setuid(), which as root sets all three user ids
   (real, effective, saved): there is no way back. */
static int drop_privileges(void)
{
    if (geteuid() != 0)
        return 0; /* not root: nothing to give up */
    errno = 0;
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL) {
        fprintf(stderr, "ping_dgram: getpwnam nobody: %s\n",
                errno != 0 ? strerror(errno) : "no such user");
        return -1;
    }
    const char *failed = setgroups(0, NULL) == -1   ? "setgroups" /* root's groups: none */
                         : setgid(pw->pw_gid) == -1 ? "setgid"
                         : setuid(pw->pw_uid) == -1 ? "setuid"
                                                    : NULL;
    if (failed != NULL)
        fprintf(stderr, "ping_dgram: %s: %s\n", failed, strerror(errno));
    return failed != NULL ? -1 : 0;
}

// ANCHOR: open
/* Say on one line why the kernel refused us a ping socket: our group is not in
   the range of the sysctl net.ipv4.ping_group_range (its file says "1\t0"). */
static void explain_refusal(int err)
{
    char range[64] = "";
    FILE *f = fopen(RANGE_FILE, "r"); /* Best effort: the message works without it. */
    if (f != NULL) {
        if (fgets(range, sizeof range, f) == NULL)
            range[0] = '\0';
        fclose(f);
    }
    range[strcspn(range, "\n")] = '\0';
    char *tab = strchr(range, '\t');
    if (tab != NULL)
        *tab = ' ';
    fprintf(stderr,
            "ping_dgram: a ping socket is only for groups in net.ipv4.ping_group_range"
            " (here \"%s\"; our group is %u): %s\n",
            range[0] != '\0' ? range : "unknown", (unsigned)getegid(), strerror(err));
}

/* The ping socket: SOCK_DGRAM with protocol ICMP (or ICMPv6). The kernel sets the
   identifier (the socket's "port") and the checksum, and hands us only our own
   echo replies, without IP header -- so no CAP_NET_RAW. A group outside the
   sysctl's range gets EACCES. We drop root all the same, if we have it, as the
   raw examples do, before we read what arrives from the network. */
static int open_socket(int family)
{
    int fd = socket(family, SOCK_DGRAM, family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    if (fd == -1 && errno == EACCES) {
        explain_refusal(errno);
    } else if (fd == -1) {
        fprintf(stderr, "ping_dgram: socket: %s\n", strerror(errno));
    } else if (drop_privileges() == -1) {
        close(fd);
        fd = -1;
    }
    return fd;
}
// ANCHOR_END: open

/* Store a 16-bit value in network byte order: high byte first. */
static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

// ANCHOR: build
/* Build the echo request for one sequence number: type 8 (ICMPv6: 128),
   code 0, checksum, identifier, sequence number, then the data the reply
   carries back: the send time (8 bytes, big-endian nanoseconds) and 48
   bytes 0x20, 0x21, ... 0x4f. The same message as a raw ping sends, with
   two fields left to the kernel: it overwrites the identifier with the
   socket's own and fills in the checksum, so we leave both 0. */
static void build_request(uint8_t *msg, int family, uint16_t seq)
{
    msg[0] = family == AF_INET6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO_REQUEST;
    msg[1] = 0;
    put16(msg + 2, 0); /* checksum: the kernel's job */
    put16(msg + 4, 0); /* identifier: the kernel's job */
    put16(msg + 6, seq);
    uint64_t sent = now_ns();
    for (int i = 0; i < 8; i++)
        msg[HEADER_LEN + i] = (uint8_t)(sent >> (56 - 8 * i));
    for (int i = 0; i < PAYLOAD_LEN - 8; i++)
        msg[HEADER_LEN + 8 + i] = (uint8_t)(0x20 + i);
}
// ANCHOR_END: build

// ANCHOR: send
/* sendto() sends one ICMP message, as on a raw socket (the address's port
   field is ignored); the kernel adds the IP header. Anything but an echo
   request with code 0 is refused (EINVAL): that is all this socket is for.
   Returns 0, or -1 with errno set (ENETUNREACH: no route to the host). */
static int send_request(int fd, const uint8_t *msg, const struct sockaddr *to, socklen_t len)
{
    ssize_t n;
    do
        n = sendto(fd, msg, MESSAGE_LEN, 0, to, len);
    while (n == -1 && errno == EINTR); /* a signal came first: try again */
    return n == -1 ? -1 : 0;
}
// ANCHOR_END: send

/* Wait, at most until the deadline (monotonic nanoseconds), for a packet to
   read. Returns 1 when there is one, 0 when the time is up. */
static int wait_readable(int fd, uint64_t deadline)
{
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline)
            return 0;
        uint64_t ms = (deadline - now + 999999) / 1000000; /* rounded up: never too early */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms);
        if (ready == -1 && errno != EINTR)
            fail("poll", "", errno);
        if (ready > 0)
            return 1;
    }
}

// ANCHOR: receive
/* Wait until the deadline for the echo reply with sequence number seq. Returns
   1 and fills in the reply's length, round trip and source; 0 at the deadline. */
static int receive_reply(int fd, int family, uint16_t seq, uint64_t deadline, size_t *bytes,
                         uint64_t *rtt, char *from, size_t from_size)
{
    static uint8_t buf[BUF_SIZE];
    while (wait_readable(fd, deadline)) {
        /* One datagram is one whole ICMP message, from its type byte: the kernel
           has taken off the IP header, checked the checksum and matched the
           identifier. The sequence number is ours to check: a late reply is dropped. */
        struct sockaddr_storage src;
        socklen_t src_len = sizeof src;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&src, &src_len);
        if (n == -1 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            fail("recvfrom", "", errno);
        size_t len = n > 0 ? (size_t)n : 0;
        uint8_t reply_type = family == AF_INET6 ? ICMP6_ECHO_REPLY : ICMP_ECHO_REPLY;
        if (len < HEADER_LEN + 8 || buf[0] != reply_type || get16(buf + 6) != seq)
            continue;
        format_host((struct sockaddr *)&src, src_len, from, from_size);
        uint64_t sent = 0, now = now_ns();
        for (int i = 0; i < 8; i++)
            sent = sent << 8 | buf[HEADER_LEN + i];
        *rtt = now > sent ? now - sent : 0;
        *bytes = len;
        return 1;
    }
    return 0;
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

/* A count is a whole decimal number from 1 up (to INT_MAX: plenty).
   Returns it, or -1 for anything else. */
static long parse_count(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || strspn(s, "0123456789") != len)
        return -1;
    errno = 0;
    long n = strtol(s, NULL, 10);
    return errno == 0 && n >= 1 && n <= INT_MAX ? n : -1;
}

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("ping_dgram: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

/* Check a printf() to stdout and flush the line, so that whoever reads it sees
   each reply as it comes, not all of them at the end. */
static void check_stdout(int printed)
{
    if (printed < 0 || fflush(stdout) == EOF)
        fail("stdout", "", errno);
}

int main(int argc, char **argv)
{
    /* The arguments, left to right; the first problem is the one reported. */
    const char *host = NULL;
    long count = 3;
    double timeout = 1;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--host") != 0 && strcmp(flag, "--count") != 0 &&
            strcmp(flag, "--timeout") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        const char *value = argv[++i];
        int ok = 1;
        if (strcmp(flag, "--host") == 0) {
            host = value;
        } else if (strcmp(flag, "--count") == 0) {
            count = parse_count(value);
            ok = count > 0;
        } else {
            timeout = parse_timeout(value);
            ok = timeout > 0;
        }
        if (!ok)
            usage_error("bad %s: %s", flag + 2, value); /* "--count" is "bad count: ..." */
    }
    if (host == NULL)
        usage_error("--host is required");
    if (timeout > 1e9)
        timeout = 1e9; /* about 30 years; keeps the nanoseconds inside 64 bits */

    /* Started with stdout closed? Then a socket -- getaddrinfo()'s, or ours --
       would get descriptor 1, and the replies we "print" would go into it. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1)
        fail("stdout", "", errno);
    /* If whoever reads our stdout goes away, a write would raise SIGPIPE and
       kill us silently. Ignore it: the write fails with EPIPE, which we report. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fail("signal", "", errno);

    /* The address decides the socket's family, so it comes first.
       SOCK_DGRAM here only keeps getaddrinfo()'s list to one entry per
       address -- we use the address, not the socket type. */
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    int err = getaddrinfo(host, NULL, &hints, &res);
    if (err != 0) {
        fprintf(stderr, "ping_dgram: resolve %s: %s\n", host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        return 1;
    }
    struct sockaddr_storage to;
    socklen_t to_len = res->ai_addrlen;
    memcpy(&to, res->ai_addr, to_len);
    int family = res->ai_family;
    freeaddrinfo(res);
    char target[HOST_LEN];
    format_host((struct sockaddr *)&to, to_len, target, sizeof target);

    int fd = open_socket(family);
    if (fd == -1)
        return 1;

    long received = 0;
    /* One request at a time, the next as soon as the last is answered (or
       timed out); sequence numbers are 16 bits, and wrap after 65,535. */
    for (long i = 1; i <= count; i++) {
        uint16_t seq = (uint16_t)i;
        uint8_t msg[MESSAGE_LEN];
        build_request(msg, family, seq);
        uint64_t deadline = now_ns() + (uint64_t)(timeout * 1e9);
        size_t bytes;
        uint64_t rtt;
        char from[HOST_LEN];
        if (send_request(fd, msg, (struct sockaddr *)&to, to_len) == -1) {
            /* This request is lost before it left: say why, and go on. */
            fprintf(stderr, "ping_dgram: send to %s: %s\n", target, strerror(errno));
            check_stdout(printf("no reply from %s: seq=%u\n", target, (unsigned)seq));
        } else if (receive_reply(fd, family, seq, deadline, &bytes, &rtt, from, sizeof from)) {
            received++;
            check_stdout(printf("reply from %s: seq=%u bytes=%zu time=%.3f ms\n", from,
                                (unsigned)seq, bytes, (double)rtt / 1e6));
        } else {
            check_stdout(printf("no reply from %s: seq=%u\n", target, (unsigned)seq));
        }
    }
    /* Every request counts as sent, even one the kernel refused to send. */
    check_stdout(printf("%ld sent, %ld received, %ld%% loss\n", count, received,
                        (count - received) * 100 / count));
    close(fd);
    return received == count ? 0 : 1;
}
