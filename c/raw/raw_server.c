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
/* A signal handler may safely do very little: set a volatile sig_atomic_t flag and
   call async-signal-safe functions such as write(). So the flag holds the signal's
   number and main() logs it once the loop has ended. A flag alone would leave a
   race -- a signal landing after the loop tested it but before the wait began would
   go unnoticed until the next packet -- so the handler also writes a byte into a
   pipe (the self-pipe trick), and the only wait, poll(), watches that pipe too. */
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

static int install_stop_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: an interrupted call fails with EINTR */
    if (pipe(stop_pipe) == -1) {
        fprintf(stderr, "raw_server: pipe: %s\n", strerror(errno));
        return -1;
    }
    /* The handler must never block, not even on a full pipe. */
    if (fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) == -1 ||
        sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1) {
        fprintf(stderr, "raw_server: signal setup: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* Wait until fd is ready for events (POLLIN: a packet to read; POLLOUT: room to
   send). Returns 0 when it is, -1 when we must stop: a signal came, or poll()
   failed (reported here). */
static int wait_for(int fd, short events)
{
    struct pollfd fds[2] = {
        {.fd = fd, .events = events},
        {.fd = stop_pipe[0], .events = POLLIN},
    };
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
    /* SOCK_RAW skips the transport layer: no TCP, no UDP, no ports. We name the
       IP protocol ourselves, and the kernel hands this socket every IPv4 packet
       that carries protocol 253 -- whoever sent it, whatever it contains. A
       program that can see and forge packets like that is a risk, so a raw
       socket needs the CAP_NET_RAW capability: root has it, other users don't. */
    int fd = socket(AF_INET, SOCK_RAW, PROTO_EXPERIMENT);
    if (fd == -1) {
        if (errno == EPERM || errno == EACCES)
            fprintf(stderr, "raw_server: a raw socket needs CAP_NET_RAW (run as root): %s\n",
                    strerror(errno));
        else
            fprintf(stderr, "raw_server: socket: %s\n", strerror(errno));
        return -1;
    }
    /* bind() on a raw socket takes an address but no port (there are none; the
       sin_port we pass is ignored). It narrows what we receive: only packets
       addressed TO this address. Unbound, we would also get every protocol-253
       packet sent to any other address of this host -- all of 127.0.0.0/8 is
       ours on loopback -- including the replies other servers send. Binding also
       makes this the source address of the packets we send. */
    if (bind(fd, (const struct sockaddr *)addr, sizeof *addr) == -1) {
        char name[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &addr->sin_addr, name, sizeof name); /* Best effort. */
        fprintf(stderr, "raw_server: bind %s: %s\n", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* The privilege was needed for one thing, socket(); the socket we got keeps
   working without it, because the kernel checks CAP_NET_RAW when the socket is
   created, not each time it is used. So we give root up now, BEFORE we read the
   first byte anybody sent us: if a bug in our packet parsing could be exploited,
   the attacker would get user nobody, not root. The order matters: setgroups()
   and setgid() need root, so they come before setuid(), which gives root up for
   good (as root, setuid() sets the real, effective and saved user ids alike, so
   there is no way back). Returns 0, or -1 after printing why not. */
static int drop_privileges(void)
{
    if (geteuid() != 0)
        return 0; /* not root: no root to give up */
    errno = 0;
    struct passwd *pw = getpwnam("nobody"); /* the user that owns nothing */
    if (pw == NULL) {
        fprintf(stderr, "raw_server: user nobody: %s\n",
                errno != 0 ? strerror(errno) : "no such user");
        return -1;
    }
    uid_t uid = pw->pw_uid; /* copy them: pw points into a static buffer */
    gid_t gid = pw->pw_gid;
    if (setgroups(0, NULL) == -1) { /* root's supplementary groups: none left */
        fprintf(stderr, "raw_server: setgroups: %s\n", strerror(errno));
        return -1;
    }
    if (setgid(gid) == -1) {
        fprintf(stderr, "raw_server: setgid %ld: %s\n", (long)gid, strerror(errno));
        return -1;
    }
    if (setuid(uid) == -1) {
        fprintf(stderr, "raw_server: setuid %ld: %s\n", (long)uid, strerror(errno));
        return -1;
    }
    return 0;
}
// ANCHOR_END: open

static _Noreturn void usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "raw_server: %s%s\n" USAGE, what, arg);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (strcmp(argv[i], "--host") == 0) {
            usage_error("missing value for ", argv[i]);
        } else {
            usage_error(argv[i][0] == '-' ? "unknown option: " : "unexpected argument: ",
                        argv[i]);
        }
    }
    /* inet_pton() turns "127.53.0.1" into the 4-byte address, already in network
       byte order. It takes only the numeric dotted form: there is no port to
       look up, and a name could resolve to several addresses -- the server must
       know exactly which one it serves. */
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        usage_error("bad host (not a numeric IPv4 address): ", host);

    /* Catch SIGTERM/SIGINT before READY: the harness may signal right after it. */
    if (install_stop_handler() == -1)
        return 1;
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
    /* All our waiting happens in poll(), which also watches the stop pipe, so the
       socket is non-blocking: recvfrom() and sendto() never sleep, they fail with
       EAGAIN when there is nothing to do right now. */
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "raw_server: fcntl: %s\n", strerror(errno));
        goto out;
    }
    unsigned char buf[BUF_SIZE]; /* unsigned: we read bytes as numbers 0-255 */
    while (wait_for(fd, POLLIN) == 0) {
        /* recvfrom() takes one packet off the queue. A raw socket keeps packet
           boundaries like a datagram socket, and the address it fills in is the
           packet's source: sin_addr only, sin_port is always 0. */
        struct sockaddr_in peer;
        socklen_t peer_len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);
        if (n == -1) {
            /* EAGAIN: nothing after all. Any other error belongs to one packet:
               log it and go on. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fprintf(stderr, "raw_server: recvfrom: %s\n", strerror(errno));
            continue;
        }
        /* What a raw IPv4 socket receives is the whole IP packet, header first,
           exactly as it arrived: the kernel does not strip the header for us as it
           does for TCP and UDP. Byte 0 holds the version (high 4 bits: 4) and the
           IHL, the Internet Header Length, in 32-bit words (low 4 bits): 5 for the
           usual 20 bytes, up to 15 (60 bytes) with options. So our message starts
           IHL * 4 bytes in. The kernel has checked the header before handing it
           over, but we still never index past what we received. (The source
           address is in bytes 12-15 of this header too; recvfrom() gave it to us
           already, in peer.) */
        if (n < 20 || buf[0] >> 4 != 4)
            continue;
        size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
        if (ihl < 20 || ihl > (size_t)n)
            continue;
        unsigned char *msg = buf + ihl;
        size_t len = (size_t)n - ihl;
        /* Anybody who can open a raw socket can send us anything, so we check
           every field before we believe it, and answer only a well-formed
           request. Replies land here too -- including the ones we send, whenever
           a client sends from our own address -- so they must not be answered:
           two servers would bounce a reply between them forever. Everything else
           is dropped without a word: logging each stray packet would let anybody
           flood our log. */
        if (len < MSG_HEADER || msg[0] != TYPE_REQUEST || msg[1] != 0 ||
            len - MSG_HEADER > MAX_PAYLOAD)
            continue;
        if (inet_ntop(AF_INET, &peer.sin_addr, name, sizeof name) == NULL)
            snprintf(name, sizeof name, "?"); /* cannot happen for AF_INET */
        fprintf(stderr, "raw_server: %zu bytes from %s\n", len - MSG_HEADER, name);
        /* The reply is the request with its type changed: same identifier, same
           payload. We send only our message: without the IP_HDRINCL option the
           kernel writes the IP header itself, with protocol 253 (the socket's),
           our bound address as the source and peer as the destination. */
        msg[0] = TYPE_REPLY;
        while (sendto(fd, msg, len, 0, (struct sockaddr *)&peer, peer_len) == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_for(fd, POLLOUT) == -1)
                    break; /* a signal: the while condition above ends the loop too */
            } else if (errno != EINTR) {
                /* This request cannot be answered: log it, drop it, go on. */
                fprintf(stderr, "raw_server: %s: %s\n", name, strerror(errno));
                break;
            }
        }
    }
    /* The loop ends when a signal came -- a normal stop -- or poll() failed. Now,
       outside the handler, we may call fprintf(). */
    if (stop_signal != 0) {
        fprintf(stderr, "raw_server: stopping on %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }
    // ANCHOR_END: serve

out:
    if (fd != -1)
        close(fd);
    return status;
}
