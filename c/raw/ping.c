/* ping.c -- ICMP echo over a raw socket: the request, its checksum and the reply, all by hand */

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
#define BUF_SIZE 65536 /* bigger than any IP packet, so nothing we receive is cut short */
#define HOST_LEN 128   /* room for any numeric IPv6 address with a %scope */
#define USAGE "usage: ping --host H [--count N] [--timeout S]\n"

/* The message types. ICMPv6 (RFC 4443) numbers them differently from ICMP
   for IPv4 (RFC 792), but the echo message has the same layout in both. */
#define ICMP_ECHO_REQUEST 8
#define ICMP_ECHO_REPLY 0
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129

/* Print the one line the user sees and exit 1. */
static _Noreturn void fail(const char *what, const char *where, int err)
{
    fprintf(stderr, "ping: %s%s: %s\n", what, where, strerror(err));
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

// ANCHOR: open
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
        fprintf(stderr, "ping: getpwnam nobody: %s\n",
                errno != 0 ? strerror(errno) : "no such user");
        return -1;
    }
    const char *failed = setgroups(0, NULL) == -1   ? "setgroups" /* root's groups: none */
                         : setgid(pw->pw_gid) == -1 ? "setgid"
                         : setuid(pw->pw_uid) == -1 ? "setuid"
                                                    : NULL;
    if (failed != NULL)
        fprintf(stderr, "ping: %s: %s\n", failed, strerror(errno));
    return failed != NULL ? -1 : 0;
}

/* SOCK_RAW, protocol ICMP (1) or ICMPv6 (58): whole ICMP messages, no ports.
   socket() checks for CAP_NET_RAW (EPERM without it), so it comes first, and
   root goes straight after. Returns the socket, or -1. */
static int open_socket(int family)
{
    int fd = socket(family, SOCK_RAW, family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    if (fd == -1 && (errno == EPERM || errno == EACCES)) {
        fprintf(stderr, "ping: a raw socket needs CAP_NET_RAW (run as root): %s\n",
                strerror(errno));
    } else if (fd == -1) {
        fprintf(stderr, "ping: socket: %s\n", strerror(errno));
    } else if (drop_privileges() == -1) {
        close(fd);
        fd = -1;
    }
    return fd;
}
// ANCHOR_END: open

// ANCHOR: checksum
/* The Internet checksum (RFC 1071), which IPv4, ICMP, UDP and TCP all use:
   1. read the message as 16-bit big-endian words (an odd last byte is the
      high half of a word whose low half is 0);
   2. add them up in a wider integer, so no carry out of bit 15 is lost;
   3. fold: add the carries (the bits above 16) back in at the bottom, until
      none are left -- that makes it a one's-complement sum;
   4. invert the bits.
   The sender computes it with the checksum field set to 0 and stores it there.
   The receiver sums the whole message, checksum included: an intact message
   sums to 0xffff, so this function returns 0 for it. */
static uint16_t internet_checksum(const uint8_t *data, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)data[i] << 8 | data[i + 1];
    if (len % 2 == 1)
        sum += (uint32_t)data[len - 1] << 8;
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}
// ANCHOR_END: checksum

/* Read a 16-bit value in network byte order: high byte first. */
static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

// ANCHOR: build
/* Store a 16-bit value in network byte order: high byte first. */
static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Build the echo request for one sequence number: type, code, checksum (last,
   computed with the field at 0), identifier, sequence number, then the data the
   reply carries back: the send time, 8 bytes of big-endian nanoseconds, so the
   round trip needs no bookkeeping of our own, and 48 bytes 0x20, 0x21, ... 0x4f. */
static void build_request(uint8_t *msg, int family, uint16_t id, uint16_t seq)
{
    msg[0] = family == AF_INET6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO_REQUEST;
    msg[1] = 0;
    put16(msg + 2, 0);
    put16(msg + 4, id);
    put16(msg + 6, seq);
    uint64_t sent = now_ns();
    for (int i = 0; i < 8; i++)
        msg[HEADER_LEN + i] = (uint8_t)(sent >> (56 - 8 * i));
    for (int i = 0; i < PAYLOAD_LEN - 8; i++)
        msg[HEADER_LEN + 8 + i] = (uint8_t)(0x20 + i);
    /* On IPv4 the checksum is ours to compute. On an ICMPv6 raw socket the kernel
       always computes it (RFC 3542), over a pseudo-header with both addresses. */
    if (family == AF_INET)
        put16(msg + 2, internet_checksum(msg, MESSAGE_LEN));
}
// ANCHOR_END: build

// ANCHOR: send
/* sendto() on a raw socket sends one message to an address; there is no port,
   so the address's port field is ignored. We did not ask for IP_HDRINCL, so
   the kernel writes the IP header itself (source address, TTL, protocol 1 or
   58) and we hand it only the ICMP message. Returns 0, or -1 with errno set:
   with no route to the host (ENETUNREACH) there is nothing to send. */
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
/* Read past everything else until the echo reply to (id, seq) or the deadline.
   Returns 1 and fills in the reply's length, round trip and source; else 0. */
static int receive_reply(int fd, int family, uint16_t id, uint16_t seq, uint64_t deadline,
                         size_t *bytes, uint64_t *rtt, char *from, size_t from_size)
{
    static uint8_t buf[BUF_SIZE];
    while (wait_readable(fd, deadline)) { /* a packet that is not ours does not reset it */
        struct sockaddr_storage src;
        socklen_t src_len = sizeof src;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&src, &src_len);
        if (n == -1 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            fail("recvfrom", "", errno);
        const uint8_t *msg = buf;
        size_t len = n > 0 ? (size_t)n : 0; /* ICMPv6: the kernel checked the checksum */
        if (family == AF_INET) { /* the IP header first: IHL (low 4 bits) 32-bit words */
            size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
            if (len < 20 || buf[0] >> 4 != 4 || ihl < 20 || ihl > len)
                continue;
            msg += ihl, len -= ihl; /* on IPv6 the kernel has stripped it already */
        }
        /* An echo reply (type 0; ICMPv6 129), code 0, our identifier and the sequence
           number we wait for (a late reply is dropped), long enough for the time. */
        if (len < HEADER_LEN + 8 || get16(msg + 4) != id || get16(msg + 6) != seq || msg[1] != 0 ||
            msg[0] != (family == AF_INET ? ICMP_ECHO_REPLY : ICMP6_ECHO_REPLY))
            continue;
        format_host((struct sockaddr *)&src, src_len, from, from_size);
        if (family == AF_INET && internet_checksum(msg, len) != 0) { /* 0 if intact */
            fprintf(stderr, "ping: reply from %s: seq=%u: bad checksum, dropped\n", from,
                    (unsigned)seq);
            continue;
        }
        uint64_t sent = 0, now = now_ns();
        for (int i = 0; i < 8; i++)
            sent = sent << 8 | msg[HEADER_LEN + i];
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
    fputs("ping: ", stderr);
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

    /* We need the address before the socket: its family decides which socket
       to open. getaddrinfo() takes a literal ("127.0.0.1", "::1") or a name;
       SOCK_DGRAM here only keeps the list to one entry per address -- we use
       the address, not the socket type. */
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    int err = getaddrinfo(host, NULL, &hints, &res);
    if (err != 0) {
        fprintf(stderr, "ping: resolve %s: %s\n", host,
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

    /* The identifier is the low 16 bits of our process id, as the classic
       ping's: two pings running at the same time will almost surely differ. */
    uint16_t id = (uint16_t)getpid();
    long received = 0;
    /* One request at a time, the next as soon as the last is answered (or
       timed out) -- the classic ping waits a second between requests; we keep
       the example quick. Sequence numbers are 16 bits: after 65,535 they wrap. */
    for (long i = 1; i <= count; i++) {
        uint16_t seq = (uint16_t)i;
        uint8_t msg[MESSAGE_LEN];
        build_request(msg, family, id, seq);
        uint64_t deadline = now_ns() + (uint64_t)(timeout * 1e9);
        size_t bytes;
        uint64_t rtt;
        char from[HOST_LEN];
        if (send_request(fd, msg, (struct sockaddr *)&to, to_len) == -1) {
            /* This request is lost before it left: say why, and go on. */
            fprintf(stderr, "ping: send to %s: %s\n", target, strerror(errno));
            check_stdout(printf("no reply from %s: seq=%u\n", target, (unsigned)seq));
        } else if (receive_reply(fd, family, id, seq, deadline, &bytes, &rtt, from,
                                 sizeof from)) {
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
