/* sniffer.c -- watching the IPv4 packets on one interface with a packet socket (AF_PACKET) */

#define _DEFAULT_SOURCE /* declare POSIX calls under -std=c17, setgroups(), and Linux's
                           packet-socket definitions */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536 /* bigger than any IPv4 packet (at most 65,535 bytes) */
#define DUMP_LEN 64    /* how much of each packet the hex dump shows */
#define USAGE "usage: sniffer [--interface IF] [--count N] [--proto P]\n"

/* Print the one line the user sees and exit 1. */
static _Noreturn void fail(const char *what, const char *where, int err)
{
    fprintf(stderr, "sniffer: %s%s: %s\n", what, where, strerror(err));
    exit(1);
}

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
        fprintf(stderr, "sniffer: signal setup: %s\n", strerror(errno));
        exit(1);
    }
}

/* 0 when fd is ready for events (POLLIN, POLLOUT); -1 when we must stop: a
   signal came, or poll() failed. Every wait here is one of these. */
static int wait_for(int fd, short events)
{
    struct pollfd fds[2] = {{.fd = fd, .events = events}, {.fd = stop_pipe[0], .events = POLLIN}};
    while (!stop_signal) {
        int n = poll(fds, 2, -1); /* -1: no timeout, sleep until something happens */
        if (n > 0 && fds[0].revents != 0)
            return 0; /* ready, or an error that the next recvfrom() will report */
        if (n == -1 && errno != EINTR) {
            fprintf(stderr, "sniffer: poll: %s\n", strerror(errno));
            return -1;
        }
    }
    return -1;
}

// ANCHOR: drop
/* Become user "nobody" for good, if we are root: the packet socket was the one
   thing we needed root for, and it keeps working. setgroups() and setgid() need
   root, so setuid() comes last; as root it sets all three user ids. */
static int drop_privileges(void)
{
    if (geteuid() != 0)
        return 0; /* not root: nothing to give up */
    errno = 0;
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL) {
        fprintf(stderr, "sniffer: getpwnam nobody: %s\n",
                errno != 0 ? strerror(errno) : "no such user");
        return -1;
    }
    const char *failed = setgroups(0, NULL) == -1   ? "setgroups" /* root's groups: none */
                         : setgid(pw->pw_gid) == -1 ? "setgid"
                         : setuid(pw->pw_uid) == -1 ? "setuid"
                                                    : NULL;
    if (failed != NULL)
        fprintf(stderr, "sniffer: %s: %s\n", failed, strerror(errno));
    return failed != NULL ? -1 : 0;
}
// ANCHOR_END: drop

// ANCHOR: open
/* A packet socket (AF_PACKET) sits below IP, at the network device: it gets
   a copy of the frames a device receives and sends, whatever their protocol
   and whoever they are for. With SOCK_RAW it would get the whole frame,
   link-layer header (Ethernet's 14 bytes) included; with SOCK_DGRAM the
   kernel takes that header off, so every IPv4 frame reads as an IP packet,
   and tells us what the header said in a struct sockaddr_ll instead: the
   protocol (sll_protocol: 0x0800 is IPv4), the device, and whether the packet
   came in for this host, was sent by it, and so on (sll_pkttype). Seeing all
   traffic is a privilege: socket() needs CAP_NET_RAW, like a raw IP socket.
   Returns the bound socket, or -1 after printing why not. */
static int open_socket(const char *interface)
{
    /* Protocol 0: the socket receives nothing at all for now. Had we asked for
       ETH_P_ALL here, it would start at once to collect packets from EVERY
       interface, before bind() narrows it down to one. */
    int fd = socket(AF_PACKET, SOCK_DGRAM, 0);
    if (fd == -1) {
        if (errno == EPERM || errno == EACCES)
            fprintf(stderr, "sniffer: a packet socket needs CAP_NET_RAW (run as root): %s\n",
                    strerror(errno));
        else
            fprintf(stderr, "sniffer: socket: %s\n", strerror(errno));
        return -1;
    }
    // ANCHOR_END: open
    // ANCHOR: bind
    /* A packet socket is bound to an interface by its index, the kernel's
       number for it; if_nametoindex() looks the name up. */
    unsigned index = if_nametoindex(interface);
    if (index == 0) {
        fprintf(stderr, "sniffer: find interface %s: %s\n", interface, strerror(errno));
        close(fd);
        return -1;
    }
    /* bind() picks the interface and, now, the protocol: ETH_P_ALL, every
       protocol. Why not ETH_P_IP (IPv4 only), and let the kernel filter? A
       socket for one protocol is handed only what the device RECEIVES; the
       copies of what it sends go only to ETH_P_ALL sockets. So we take
       everything and keep the IPv4 packets ourselves. (The numbers are in
       network byte order, hence htons().) */
    struct sockaddr_ll addr;
    memset(&addr, 0, sizeof addr);
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = (int)index;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1) {
        fprintf(stderr, "sniffer: bind %s: %s\n", interface, strerror(errno));
        close(fd);
        return -1;
    }
    if (drop_privileges() == -1) {
        close(fd);
        return -1;
    }
    return fd;
}
// ANCHOR_END: bind

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

// ANCHOR: header
/* One line for an IPv4 packet, then its first 64 bytes in hex. Returns 0, or
   -1 if the packet is not a well-formed IPv4 packet (nothing is printed).
   The IPv4 header (RFC 791), the fields we use:
     byte 0      version (high 4 bits, 4) and IHL (low 4 bits): the header's
                 length in 32-bit words, 5 without options -- so IHL * 4 bytes
     bytes 2-3   total length, header included
     bytes 6-7   flags and fragment offset (low 13 bits, in 8-byte units)
     byte 9      protocol: 1 ICMP, 6 TCP, 17 UDP, 253 experiments, ...
     bytes 12-15 source address; bytes 16-19 destination address */
static int print_packet(const uint8_t *pkt, size_t n)
{
    if (n < 20 || pkt[0] >> 4 != 4)
        return -1;
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    size_t total = get16(pkt + 2);
    if (ihl < 20 || total < ihl || total > n)
        return -1;
    /* Bytes past the total length are not the packet's: an Ethernet frame is
       padded to at least 60 bytes, and the padding reaches us too. */
    n = total;
    char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, pkt + 12, src, sizeof src) == NULL ||
        inet_ntop(AF_INET, pkt + 16, dst, sizeof dst) == NULL)
        fail("inet_ntop", "", errno);
    int proto = pkt[9];
    printf("%s -> %s proto=%d len=%zu", src, dst, proto, total);
    // ANCHOR_END: header

    // ANCHOR: print
    const uint8_t *body = pkt + ihl; /* the protocol's own message */
    size_t len = n - ihl;
    size_t offset = (size_t)(get16(pkt + 6) & 0x1fff) * 8;
    if (offset != 0) {
        /* A later piece of a fragmented packet: its first byte is somewhere
           in the middle of the message, not at its header. */
        printf(" fragment offset=%zu", offset);
    } else if (proto == 1 && len >= 8) {
        /* ICMP: type and code first. Only echo requests (8) and replies (0)
           carry an identifier and a sequence number in bytes 4-7; other
           types use those bytes for other things. */
        printf(" type=%d code=%d", body[0], body[1]);
        if (body[0] == 8 || body[0] == 0)
            printf(" id=%u seq=%u", (unsigned)get16(body + 4), (unsigned)get16(body + 6));
    } else if (proto == 253 && len >= 4) {
        /* Our own protocol 253: type, a zero byte, identifier, payload. */
        printf(" type=%d id=%u payload=%zu", body[0], (unsigned)get16(body + 2), len - 4);
    } else if (proto == 1 || proto == 253) {
        printf(" (too short for a header)");
    }
    putchar('\n');
    // ANCHOR_END: print

    // ANCHOR: dump
    /* The hex dump: 16 bytes a line after the offset, then the same bytes as
       text, a dot for each one that is not printable ASCII. */
    size_t shown = n < DUMP_LEN ? n : DUMP_LEN;
    for (size_t line = 0; line < shown; line += 16) {
        printf("  %04zx ", line);
        for (size_t i = line; i < line + 16; i++) {
            if (i < shown)
                printf(" %02x", pkt[i]);
            else
                printf("   ");
        }
        printf("  ");
        for (size_t i = line; i < line + 16 && i < shown; i++)
            putchar(pkt[i] >= 0x20 && pkt[i] < 0x7f ? pkt[i] : '.');
        putchar('\n');
    }
    /* Flush per packet, so that whoever reads a pipe from us sees each packet
       as it comes; a failed write anywhere above shows up here too. */
    if (fflush(stdout) == EOF || ferror(stdout))
        fail("stdout", "", errno);
    return 0;
}
// ANCHOR_END: dump

/* A whole decimal number from min to max (a count: 1 to INT_MAX, plenty; a
   protocol number: 0 to 255). Returns it, or -1 for anything else. */
static long parse_number(const char *s, long min, long max)
{
    size_t len = strlen(s);
    if (len == 0 || strspn(s, "0123456789") != len)
        return -1;
    errno = 0;
    long n = strtol(s, NULL, 10);
    return errno == 0 && n >= min && n <= max ? n : -1;
}

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("sniffer: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    /* The arguments, left to right; the first problem is the one reported. */
    const char *interface = "lo";
    long count = 0, proto = -1; /* 0: no end; -1: every protocol */
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--interface") != 0 && strcmp(flag, "--count") != 0 &&
            strcmp(flag, "--proto") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        const char *value = argv[++i];
        int ok = 1;
        if (strcmp(flag, "--interface") == 0) {
            interface = value;
            ok = value[0] != '\0' && strlen(value) < IF_NAMESIZE;
        } else if (strcmp(flag, "--count") == 0) {
            count = parse_number(value, 1, INT_MAX);
            ok = count > 0;
        } else {
            proto = parse_number(value, 0, 255);
            ok = proto >= 0;
        }
        if (!ok)
            usage_error("bad %s: %s", flag + 2, value); /* "--count" is "bad count: ..." */
    }

    /* Started with stdout closed? Then the socket would get descriptor 1, the
       lowest free one, and the packets we "print" would go into it. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1)
        fail("stdout", "", errno);
    /* If whoever reads our stdout goes away, a write would raise SIGPIPE and
       kill us silently. Ignore it: the write fails with EPIPE, which we report. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fail("signal", "", errno);
    install_stop_handler(); /* before READY: a caller may signal right after it */
    int fd = open_socket(interface);
    if (fd == -1)
        return 1;
    int status = 1;

    /* The socket is bound: from now on no packet on the interface escapes
       it, so this is the moment to say READY. */
    if (printf("READY %s\n", interface) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "sniffer: stdout: %s\n", strerror(errno));
        goto out;
    }

    // ANCHOR: receive
    /* Every wait is a poll() beside the stop pipe: the socket is non-blocking. */
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "sniffer: fcntl: %s\n", strerror(errno));
        goto out;
    }
    static uint8_t buf[BUF_SIZE];
    long seen = 0;
    while ((count == 0 || seen < count) && wait_for(fd, POLLIN) == 0) {
        /* One recvfrom(), one frame: its packet in buf (SOCK_DGRAM: the link-layer
           header is already gone), and in `from` what that header said. */
        struct sockaddr_ll from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
        if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fprintf(stderr, "sniffer: recvfrom: %s\n", strerror(errno));
            goto out;
        }
        if (n < 20 || from.sll_protocol != htons(ETH_P_IP))
            continue; /* ARP, IPv6, ...: not ours to show */
        /* Loopback shows every packet twice: the copy of what lo "sends", tagged
           PACKET_OUTGOING, then the same packet as received, PACKET_HOST (a ping
           of 127.0.0.1 gives four frames here, Linux 6.18). On lo the first tells
           nothing new: skip it. On a real interface the two directions are
           different packets: keep both. (Linux 4.20 and later can drop outgoing
           copies in the kernel, on every interface: PACKET_IGNORE_OUTGOING.) */
        if (from.sll_pkttype == PACKET_OUTGOING && from.sll_hatype == ARPHRD_LOOPBACK)
            continue;
        if (proto >= 0 && buf[9] != proto)
            continue; /* --proto: the protocol byte of the IPv4 header */
        if (print_packet(buf, (size_t)n) == 0)
            seen++;
    }
    // ANCHOR_END: receive
    if (stop_signal != 0)
        fprintf(stderr, "sniffer: stopping on %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    if (stop_signal != 0 || (count != 0 && seen == count))
        status = 0; /* else poll() failed, and said so */

out:
    close(fd);
    return status;
}
