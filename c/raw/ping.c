/* ping.c -- ICMP echo over a raw socket: the request, its checksum and the reply, all by hand */

#define _DEFAULT_SOURCE /* declare POSIX calls under -std=c17, and setgroups() */

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
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
/* Give up root for good, as user "nobody". The raw socket was the one thing
   we needed root for, and an open socket keeps working whoever we are after;
   from here on we parse packets that anyone on the network can send us, and a
   bug in that code should not hand them a root process. The order matters:
   setgroups() and setgid() need root, so they come before setuid(); and
   setuid() as root changes all three user ids (real, effective and saved), so
   there is no way back. */
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
    const char *failed = NULL;
    if (setgroups(0, NULL) == -1) /* root's supplementary groups, gone */
        failed = "setgroups";
    else if (setgid(pw->pw_gid) == -1)
        failed = "setgid";
    else if (setuid(pw->pw_uid) == -1)
        failed = "setuid";
    if (failed != NULL) {
        fprintf(stderr, "ping: %s: %s\n", failed, strerror(errno));
        return -1;
    }
    return 0;
}

/* A raw socket (SOCK_RAW) skips the transport layer: there are no ports, and
   we read and write whole messages of one IP protocol -- here ICMP, protocol
   1 (IPPROTO_ICMP), or ICMPv6, protocol 58 (IPPROTO_ICMPV6). Because a raw
   socket can forge any message and read everyone's, opening one needs the
   CAP_NET_RAW capability; without it socket() fails with EPERM. So we open it
   FIRST, and then at once stop being root. Returns the socket, or -1. */
static int open_socket(int family)
{
    int protocol = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    int fd = socket(family, SOCK_RAW, protocol);
    if (fd == -1) {
        if (errno == EPERM || errno == EACCES)
            fprintf(stderr, "ping: a raw socket needs CAP_NET_RAW (run as root): %s\n",
                    strerror(errno));
        else
            fprintf(stderr, "ping: socket: %s\n", strerror(errno));
        return -1;
    }
    if (drop_privileges() == -1) {
        close(fd);
        return -1;
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

// ANCHOR: build
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

/* Build the echo request for one sequence number:
     byte 0    type: 8 (ICMPv6: 128), an echo request
     byte 1    code: 0
     bytes 2-3 checksum, computed last, over everything with this field 0
     bytes 4-5 identifier: who is asking -- the echo reply carries it back, and
               it is how we tell our replies from other programs' (a raw socket
               sees them all)
     bytes 6-7 sequence number: which request this is
     bytes 8-  data, which the reply carries back unchanged: the send time
               (8 bytes, big-endian nanoseconds), so the round trip needs no
               bookkeeping of our own, and then 48 bytes 0x20, 0x21, ... 0x4f. */
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
    /* ICMP for IPv4: the checksum covers the ICMP message alone, and it is
       ours to compute. ICMPv6's checksum also covers a "pseudo-header" of the
       IPv6 source and destination addresses, and the source is the kernel's
       choice -- so on an ICMPv6 raw socket the kernel always computes it
       (RFC 3542); whatever we left in the field is overwritten. */
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

// ANCHOR: receive
/* Wait until the deadline for the echo reply to (id, seq). Returns 1 and
   fills in the reply's length, round trip and source; 0 at the deadline. */
static int receive_reply(int fd, int family, uint16_t id, uint16_t seq, uint64_t deadline,
                         size_t *bytes, uint64_t *rtt, char *from, size_t from_size)
{
    static uint8_t buf[BUF_SIZE];
    for (;;) {
        /* A raw ICMP socket gets a copy of EVERY ICMP message this host
           receives: other programs' replies, error messages, and on loopback
           our own echo requests too, since they arrive at this host like any
           other packet. So we wait in a loop, each time only as long as is
           left, and throw away whatever is not our reply. */
        uint64_t now = now_ns();
        if (now >= deadline)
            return 0;
        uint64_t ms = (deadline - now + 999999) / 1000000; /* rounded up */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms);
        if (ready == -1 && errno != EINTR)
            fail("poll", "", errno);
        if (ready <= 0)
            continue; /* the time is up (checked above), or a signal */

        struct sockaddr_storage src;
        socklen_t src_len = sizeof src;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&src, &src_len);
        if (n == -1) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            fail("recvfrom", "", errno);
        }
        const uint8_t *msg = buf;
        size_t len = (size_t)n;
        if (family == AF_INET) {
            /* On IPv4 a raw socket hands us the whole IP packet, header first.
               The header's length is not fixed (options may follow the 20
               fixed bytes): it is the low 4 bits of byte 0, the IHL, counted
               in 32-bit words -- so IHL * 4 bytes. (The high 4 bits are the
               version, 4.) The ICMP message starts right after. On IPv6 the
               kernel strips the IP header: msg is the ICMPv6 message itself. */
            size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
            if (len < 20 || buf[0] >> 4 != 4 || ihl < 20 || ihl > len)
                continue;
            msg += ihl;
            len -= ihl;
        }
        /* Ours is an echo reply (type 0; ICMPv6 129), code 0, with our
           identifier and the sequence number we are waiting for -- a late
           reply to an earlier request is dropped -- long enough to hold the
           send time we put in. */
        uint8_t reply_type = family == AF_INET6 ? ICMP6_ECHO_REPLY : ICMP_ECHO_REPLY;
        if (len < HEADER_LEN + 8 || msg[0] != reply_type || msg[1] != 0 ||
            get16(msg + 4) != id || get16(msg + 6) != seq)
            continue;
        format_host((struct sockaddr *)&src, src_len, from, from_size);
        /* Verify the checksum (IPv4): summed over the whole message, checksum
           field included, an intact message gives 0. The kernel checks it
           only for its own ICMP code, AFTER it has handed raw sockets their
           copy. On ICMPv6 sockets the kernel has already checked it for us
           and dropped a bad message. */
        if (family == AF_INET && internet_checksum(msg, len) != 0) {
            fprintf(stderr, "ping: reply from %s: seq=%u: bad checksum, dropped\n", from,
                    (unsigned)seq);
            continue;
        }
        uint64_t sent = 0;
        for (int i = 0; i < 8; i++)
            sent = sent << 8 | msg[HEADER_LEN + i];
        now = now_ns();
        *rtt = now > sent ? now - sent : 0;
        *bytes = len;
        return 1;
    }
}
// ANCHOR_END: receive

/* A timeout is a decimal number of seconds greater than 0: "1", "0.2", ".5", "2.".
   Returns it, or -1 for anything else ("0", "-1", "abc", "1e3", "inf"). */
static double parse_timeout(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    size_t fraction = s[digits] == '.' ? strspn(s + digits + 1, "0123456789") : 0;
    size_t len = digits + (s[digits] == '.' ? 1 + fraction : 0);
    if (digits + fraction == 0 || len != strlen(s))
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

static _Noreturn void usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "ping: %s%s\n" USAGE, what, arg);
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
    const char *host = NULL, *count_arg = "3", *timeout_arg = "1";
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(flag, "--host") != 0 && strcmp(flag, "--count") != 0 &&
                   strcmp(flag, "--timeout") != 0) {
            usage_error(flag[0] == '-' ? "unknown option: " : "unexpected argument: ", flag);
        } else if (i + 1 == argc) {
            usage_error("missing value for ", flag);
        } else if (strcmp(flag, "--host") == 0) {
            host = argv[++i];
        } else if (strcmp(flag, "--count") == 0) {
            count_arg = argv[++i];
        } else {
            timeout_arg = argv[++i];
        }
    }
    if (host == NULL)
        usage_error("missing ", "--host");
    long count = parse_count(count_arg);
    if (count < 0)
        usage_error("bad count: ", count_arg);
    double timeout = parse_timeout(timeout_arg);
    if (timeout < 0)
        usage_error("bad timeout: ", timeout_arg);
    if (timeout > 1e9)
        timeout = 1e9; /* about 30 years; keeps the nanoseconds inside 64 bits */

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
        fprintf(stderr, "ping: getaddrinfo %s: %s\n", host,
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
            fprintf(stderr, "ping: sendto %s: %s\n", target, strerror(errno));
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
