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

/* A signal handler may only set a flag and call async-signal-safe functions
   such as write(). The flag says which signal came; the byte written into a
   pipe wakes the poll() below, however early or late the signal lands (the
   self-pipe trick: a flag alone could be set just after we tested it and
   just before poll() went to sleep). */
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

static int install_stop_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: an interrupted call fails with EINTR */
    if (pipe(stop_pipe) == -1) {
        fprintf(stderr, "sniffer: pipe: %s\n", strerror(errno));
        return -1;
    }
    /* The handler must never block, not even on a full pipe. */
    if (fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) == -1 ||
        sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1) {
        fprintf(stderr, "sniffer: signal setup: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

// ANCHOR: open
/* Give up root for good, as user "nobody": the packet socket was the one
   thing we needed root for, and an open socket keeps working whoever we are
   after. From here on we parse whatever anyone sends over the wire, and a
   bug in that code should not hand them a root process. setgroups() and
   setgid() need root, so they come before setuid(); setuid() as root changes
   all three user ids (real, effective, saved), so there is no way back. */
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
    const char *failed = NULL;
    if (setgroups(0, NULL) == -1) /* root's supplementary groups, gone */
        failed = "setgroups";
    else if (setgid(pw->pw_gid) == -1)
        failed = "setgid";
    else if (setuid(pw->pw_uid) == -1)
        failed = "setuid";
    if (failed != NULL) {
        fprintf(stderr, "sniffer: %s: %s\n", failed, strerror(errno));
        return -1;
    }
    return 0;
}

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
    /* A packet socket is bound to an interface by its index, the kernel's
       number for it; if_nametoindex() looks the name up. */
    unsigned index = if_nametoindex(interface);
    if (index == 0) {
        fprintf(stderr, "sniffer: interface %s: %s\n", interface, strerror(errno));
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
// ANCHOR_END: open

// ANCHOR: print
static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

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
// ANCHOR_END: print

/* A count is a whole decimal number from 1 up (to INT_MAX: plenty); a protocol
   number is from 0 to 255. Returns it, or -1 for anything else. */
static long parse_number(const char *s, long min, long max)
{
    size_t len = strlen(s);
    if (len == 0 || strspn(s, "0123456789") != len)
        return -1;
    errno = 0;
    long n = strtol(s, NULL, 10);
    return errno == 0 && n >= min && n <= max ? n : -1;
}

static _Noreturn void usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "sniffer: %s%s\n" USAGE, what, arg);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *interface = "lo", *count_arg = NULL, *proto_arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(flag, "--interface") != 0 && strcmp(flag, "--count") != 0 &&
                   strcmp(flag, "--proto") != 0) {
            usage_error(flag[0] == '-' ? "unknown option: " : "unexpected argument: ", flag);
        } else if (i + 1 == argc) {
            usage_error("missing value for ", flag);
        } else if (strcmp(flag, "--interface") == 0) {
            interface = argv[++i];
        } else if (strcmp(flag, "--count") == 0) {
            count_arg = argv[++i];
        } else {
            proto_arg = argv[++i];
        }
    }
    if (interface[0] == '\0' || strlen(interface) >= IF_NAMESIZE)
        usage_error("bad interface name: ", interface);
    long count = count_arg == NULL ? 0 : parse_number(count_arg, 1, INT_MAX); /* 0: no end */
    if (count < 0)
        usage_error("bad count: ", count_arg);
    long proto = proto_arg == NULL ? -1 : parse_number(proto_arg, 0, 255); /* -1: all */
    if (proto_arg != NULL && proto < 0)
        usage_error("bad protocol number: ", proto_arg);

    /* If whoever reads our stdout goes away, a write would raise SIGPIPE and
       kill us silently. Ignore it: the write fails with EPIPE, which we report. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fail("signal", "", errno);
    /* Catch SIGTERM/SIGINT before READY: a caller may signal right after it. */
    if (install_stop_handler() == -1)
        return 1;
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
    /* All waiting happens in poll(), which also watches the stop pipe; the
       socket is non-blocking, so recvfrom() never sleeps. */
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "sniffer: fcntl: %s\n", strerror(errno));
        goto out;
    }
    static uint8_t buf[BUF_SIZE];
    long seen = 0;
    while (!stop_signal && (count == 0 || seen < count)) {
        struct pollfd fds[2] = {
            {.fd = fd, .events = POLLIN},
            {.fd = stop_pipe[0], .events = POLLIN},
        };
        int ready = poll(fds, 2, -1); /* -1: no timeout, sleep until something happens */
        if (ready == -1 && errno != EINTR) {
            fprintf(stderr, "sniffer: poll: %s\n", strerror(errno));
            goto out;
        }
        if (ready <= 0 || fds[0].revents == 0)
            continue; /* a signal: the loop condition sees it */

        /* One recvfrom(), one frame: its packet in buf (the link-layer header
           already gone, as we asked with SOCK_DGRAM), and in `from` what that
           header said. */
        struct sockaddr_ll from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                continue;
            fprintf(stderr, "sniffer: recvfrom: %s\n", strerror(errno));
            goto out;
        }
        if (from.sll_protocol != htons(ETH_P_IP))
            continue; /* ARP, IPv6, ...: not ours to show */
        /* Loopback shows every packet TWICE: "sending" it on lo makes a copy
           for ETH_P_ALL sockets, tagged PACKET_OUTGOING, and then lo hands
           the very same packet back to the host as received, PACKET_HOST.
           (Tried here, Linux 6.18, SOCK_RAW and SOCK_DGRAM alike: a ping of
           127.0.0.1 gives four frames, the request and the reply each as
           OUTGOING and then as HOST; an ETH_P_IP socket gets two.) On lo the
           outgoing copy tells nothing new, so we skip it. On a real interface
           the two directions are different packets, and we keep both. (Linux
           4.20 and later can skip them in the kernel instead: the socket
           option PACKET_IGNORE_OUTGOING -- for every interface alike.) */
        if (from.sll_pkttype == PACKET_OUTGOING && from.sll_hatype == ARPHRD_LOOPBACK)
            continue;
        if (n < 20 || (proto >= 0 && buf[9] != proto))
            continue; /* --proto: the protocol byte of the IPv4 header */
        if (print_packet(buf, (size_t)n) == 0)
            seen++;
    }
    // ANCHOR_END: receive
    if (stop_signal != 0)
        fprintf(stderr, "sniffer: stopping on %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;

out:
    close(fd);
    return status;
}
