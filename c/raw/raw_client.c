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
    /* SOCK_RAW skips the transport layer: no TCP, no UDP, no ports. We name the
       IP protocol ourselves (253), send our message as the payload of an IP
       packet, and receive every protocol-253 packet the host gets. That power
       needs the CAP_NET_RAW capability: root has it, other users don't. */
    int fd = socket(AF_INET, SOCK_RAW, PROTO_EXPERIMENT);
    if (fd == -1) {
        if (errno == EPERM || errno == EACCES)
            fprintf(stderr, "raw_client: a raw socket needs CAP_NET_RAW (run as root): %s\n",
                    strerror(errno));
        else
            fprintf(stderr, "raw_client: socket: %s\n", strerror(errno));
    }
    /* No bind(): the kernel picks our source address when we send. No connect()
       either, though it works on a raw socket (the kernel would then deliver only
       packets from that address): we sort the packets ourselves, below, to show
       what arrives on a raw socket and how to tell ours from the rest. */
    return fd;
}

/* The privilege was needed for one thing, socket(); the socket keeps working
   without it, because the kernel checks CAP_NET_RAW when a socket is created,
   not each time it is used. So we give root up now, BEFORE we read our input or
   any packet: if a bug in the parsing below could be exploited, the attacker
   would get user nobody, not root. setgroups() and setgid() need root, so they
   come before setuid(), which gives root up for good. Returns 0 or -1. */
static int drop_privileges(void)
{
    if (geteuid() != 0)
        return 0; /* not root: no root to give up */
    errno = 0;
    struct passwd *pw = getpwnam("nobody"); /* the user that owns nothing */
    if (pw == NULL) {
        fprintf(stderr, "raw_client: user nobody: %s\n",
                errno != 0 ? strerror(errno) : "no such user");
        return -1;
    }
    uid_t uid = pw->pw_uid; /* copy them: pw points into a static buffer */
    gid_t gid = pw->pw_gid;
    if (setgroups(0, NULL) == -1) { /* root's supplementary groups: none left */
        fprintf(stderr, "raw_client: setgroups: %s\n", strerror(errno));
        return -1;
    }
    if (setgid(gid) == -1) {
        fprintf(stderr, "raw_client: setgid %ld: %s\n", (long)gid, strerror(errno));
        return -1;
    }
    if (setuid(uid) == -1) {
        fprintf(stderr, "raw_client: setuid %ld: %s\n", (long)uid, strerror(errno));
        return -1;
    }
    return 0;
}
// ANCHOR_END: open

// ANCHOR: send
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

/* Fill in the 4-byte header in front of the payload. The identifier is how we
   will recognise our reply: we see every protocol-253 packet on the host,
   including the replies to other clients, which may be talking to the same
   server at the same time. A random one (getrandom(): the kernel's random
   number generator) is unlikely to be anybody else's. */
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

/* sendto() sends one IP packet to dest. We hand over only our message: without
   the IP_HDRINCL option the kernel writes the IP header itself -- version,
   lengths, protocol 253 (the socket's), source and destination addresses, and
   the header checksum. Like a datagram, a raw packet goes whole or not at all. */
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

// ANCHOR: receive
/* Is this packet our reply? pkt is n bytes as a raw IPv4 socket receives them:
   the whole packet, IP header first. The header's length is its IHL field --
   the low 4 bits of byte 0, the high 4 being the version, 4 -- counted in 32-bit
   words: 5 (20 bytes) usually, up to 15 (60 bytes) with options. Our message
   starts after it. The kernel has checked the header, but we still never index
   past what we received. Returns the reply's payload and sets *len, or NULL. */
static const unsigned char *reply_payload(const unsigned char *pkt, size_t n, uint16_t id,
                                          size_t *len)
{
    if (n < 20 || pkt[0] >> 4 != 4)
        return NULL;
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > n)
        return NULL;
    const unsigned char *msg = pkt + ihl;
    size_t msg_len = n - ihl;
    /* A reply (type 2, second byte 0) carrying OUR identifier, with a payload no
       bigger than a request's can be: anything else is not for us. */
    if (msg_len < MSG_HEADER || msg[0] != TYPE_REPLY || msg[1] != 0 ||
        (msg[2] << 8 | msg[3]) != id || msg_len - MSG_HEADER > MAX_PAYLOAD)
        return NULL;
    *len = msg_len - MSG_HEADER;
    return msg + MSG_HEADER;
}

/* Send the request and wait for the reply, retries + 1 times at most. Writes the
   reply's payload to stdout. Returns 0 on success, 1 after printing why not. */
static int exchange(int fd, const unsigned char *request, size_t len, uint16_t id,
                    const struct sockaddr_in *server, const char *name, double timeout,
                    long long retries)
{
    /* Nothing resends for us: a lost request or a lost reply looks the same from
       here -- silence. So, as over UDP, we send, wait up to the timeout, and send
       again. Unlike a connected UDP socket, ours also receives packets that are
       none of our business, so we wait for a DEADLINE: a packet we throw away
       must not restart the clock, or a steady trickle of other traffic would
       keep us waiting forever. */
    static unsigned char pkt[BUF_SIZE];
    for (long long attempt = 1; attempt <= retries + 1; attempt++) {
        if (send_request(fd, request, len, server, name) == -1)
            return 1;
        double t, deadline;
        if (now(&t) == -1)
            return 1;
        for (deadline = t + timeout; t < deadline;) {
            /* poll() waits for a packet, at most the time that is left, in whole
               milliseconds: rounded up, so that we never wake just too early. */
            double left_ms = (deadline - t) * 1000 + 1;
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int ready = poll(&pfd, 1, left_ms > 60000 ? 60000 : (int)left_ms);
            if (ready == -1 && errno != EINTR) {
                fprintf(stderr, "raw_client: poll: %s\n", strerror(errno));
                return 1;
            }
            if (ready > 0) {
                /* recvfrom() takes one packet off the queue and tells us who sent
                   it: the source address, also bytes 12-15 of the IP header. */
                struct sockaddr_in from;
                socklen_t from_len = sizeof from;
                ssize_t n = recvfrom(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&from, &from_len);
                if (n == -1 && errno != EINTR) {
                    fprintf(stderr, "raw_client: receive: %s\n", strerror(errno));
                    return 1;
                }
                /* What lands here: our own request (on loopback, what we send is
                   a protocol-253 packet for this host, so the kernel gives every
                   unbound protocol-253 socket a copy, ours included), other
                   clients' requests and replies, anything anybody sends. We want
                   the one from the server, and a reply with our identifier. */
                size_t payload_len;
                const unsigned char *payload =
                    n > 0 && from.sin_addr.s_addr == server->sin_addr.s_addr
                        ? reply_payload(pkt, (size_t)n, id, &payload_len)
                        : NULL;
                if (payload != NULL) {
                    if (write_all(STDOUT_FILENO, payload, payload_len) == -1) {
                        fprintf(stderr, "raw_client: write stdout: %s\n", strerror(errno));
                        return 1;
                    }
                    return 0;
                }
            }
            if (now(&t) == -1)
                return 1;
        }
    }
    fprintf(stderr, "raw_client: no reply from %s after %lld attempts\n", name, retries + 1);
    return 1;
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

static _Noreturn void usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "raw_client: %s%s\n" USAGE, what, arg);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = NULL, *timeout_arg = "1", *retries_arg = "3";
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(flag, "--host") != 0 && strcmp(flag, "--timeout") != 0 &&
                   strcmp(flag, "--retries") != 0) {
            usage_error(flag[0] == '-' ? "unknown option: " : "unexpected argument: ", flag);
        } else if (i + 1 == argc) {
            usage_error("missing value for ", flag);
        } else if (strcmp(flag, "--host") == 0) {
            host = argv[++i];
        } else if (strcmp(flag, "--timeout") == 0) {
            timeout_arg = argv[++i];
        } else {
            retries_arg = argv[++i];
        }
    }
    if (host == NULL)
        usage_error("missing ", "--host");
    /* inet_pton() turns "127.53.0.1" into the 4-byte address, already in network
       byte order; it takes only the numeric dotted form. */
    struct sockaddr_in server;
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET; /* sin_port stays 0: raw IP has no ports */
    if (inet_pton(AF_INET, host, &server.sin_addr) != 1)
        usage_error("bad host (not a numeric IPv4 address): ", host);
    double timeout = parse_timeout(timeout_arg);
    if (timeout < 0)
        usage_error("bad timeout: ", timeout_arg);
    if (timeout > 1e9)
        timeout = 1e9; /* about 30 years; keeps the deadline arithmetic sane */
    long long retries = parse_retries(retries_arg); /* long long: retries + 1 fits */
    if (retries < 0)
        usage_error("bad retries: ", retries_arg);

    /* If whoever reads our stdout goes away, write() would raise SIGPIPE and kill
       us silently. Ignore it, and write() fails with EPIPE, which we report. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "raw_client: signal: %s\n", strerror(errno));
        return 1;
    }
    /* Started with stdout closed? Then the socket would get descriptor 1, the
       lowest free one, and our "stdout" would quietly be the socket. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1) {
        fprintf(stderr, "raw_client: stdout: %s\n", strerror(errno));
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
