/* relay.c -- a UDP relay that drops, duplicates, reorders and delays datagrams on purpose */

/*
 * Why it exists. A datagram client has to cope with loss: UDP promises nothing,
 * so the chapter 3 echo clients resend after a timeout. On loopback, though,
 * nothing is ever lost, and this kernel has no netem (the usual tool for a bad
 * network, `tc qdisc ... netem loss 30%`). So the test suite brings its own bad
 * network: this relay sits between a datagram client and its server,
 *
 *     client  <-->  relay (--host/--port)  ...  relay (one socket per client)  <-->  server (--to)
 *
 * and, for every datagram in either direction, decides from a seeded
 * pseudo-random generator whether to drop it, send it twice, hold it back so that
 * the next one overtakes it, or make it wait --delay milliseconds. It logs every
 * decision on stderr, so a reader (and the harness) can see what the network did.
 *
 * Design, in short:
 *
 * - One socket faces the clients: bound to --host/--port, it receives every
 *   client's datagrams (recvfrom tells us who sent each) and sends the server's
 *   replies back to them (sendto).
 * - Each distinct client gets its own upstream socket, connect()ed to the server.
 *   The server sees one peer per client, so its replies come back on the socket
 *   that belongs to that client, and that tells us where to send them. A
 *   connected UDP socket also filters: the kernel delivers to it only datagrams
 *   from the server's address. This is what a NAT router does for UDP.
 * - Everything waits in one poll(): the client socket, every upstream socket and
 *   the self-pipe that the signal handler writes to. Its timeout is the moment
 *   the next delayed or held-back datagram is due, so the relay needs no threads
 *   and no timers.
 * - Decisions are reproducible: one generator (splitmix64, seeded by --seed), and
 *   exactly three draws per datagram, always in the same order (drop, duplicate,
 *   reorder), even for a datagram that the first draw already dropped. So the
 *   fate of the Nth datagram depends only on the seed and N: the same seed and
 *   the same sequence of datagrams give the same decisions. We don't use rand():
 *   its sequence differs between C libraries.
 * - The relay never dies because of traffic: a datagram it cannot handle (a send
 *   that fails, a full queue, a client too many) is logged on one line and lost,
 *   like on a real network.
 *
 * The harness counts the lines containing "-> server #" to learn how many
 * datagrams a client sent (one decision line each), and the ": dropped" lines to
 * check that something was lost: no other line may contain those strings.
 */

/* Declare POSIX calls (getaddrinfo, sigaction, clock_gettime) under -std=c17. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 65536    /* more than any UDP datagram: 65,507 bytes (IPv4), 65,527 (IPv6) */
#define ADDR_LEN 160      /* room for "[any numeric IPv6 address%scope]:65535" */
#define MAX_CLIENTS 64    /* clients remembered at once; the quietest is forgotten beyond that */
#define MAX_PENDING 1024  /* delayed or held-back datagrams waiting at once */
#define HOLD_MS 100       /* a held-back datagram waits at most this long for one to overtake it */
#define MAX_DELAY_MS 60000
#define BURST 64          /* datagrams read from one socket per poll() round, so none starves */
#define USAGE "usage: relay [--host H] [--port P] --to HOST:PORT [--seed N] [--drop R] " \
              "[--duplicate R] [--reorder R] [--delay MS]\n"

/* The two directions a datagram can travel. */
enum { UP, DOWN, NDIRS }; /* UP: client -> server, DOWN: server -> client */

/* What the command line asked for. */
struct options {
    const char *host, *port;         /* where to listen for clients */
    const char *to_host, *to_port;   /* the server */
    const char *to_arg;              /* --to as given, for the log */
    unsigned long long seed;
    double drop, duplicate, reorder; /* probabilities, 0 to 1 */
    const char *drop_arg, *duplicate_arg, *reorder_arg;
    long delay_ms;
};

/* One client we have seen, and the upstream socket that carries its datagrams. */
struct client {
    bool used;
    struct sockaddr_storage addr; /* where its datagrams come from and replies go */
    socklen_t addr_len;
    char name[ADDR_LEN];          /* addr formatted for the log */
    int fd;                       /* upstream socket, connect()ed to the server */
    int64_t last_ms;              /* when we last heard from either side */
    unsigned long long count[NDIRS]; /* datagrams seen per direction: the #N in the log */
    int held[NDIRS];              /* index in queue[] of the one held back, or -1 */
};

/* A datagram waiting in the queue: delayed (due at a known time) or held back
   (due when the next one in its direction has gone, or after HOLD_MS). */
struct pending {
    bool used;
    bool held;                 /* still waiting to be overtaken */
    int64_t due_ms;            /* when to send it */
    unsigned long long order;  /* equal due times go out in the order queued */
    int client, dir, copies;   /* copies: 2 if it was picked for duplication */
    unsigned long long no;     /* its #N in its direction */
    unsigned long long after;  /* held back: the #N that overtook it (0: none came) */
    size_t len;
    unsigned char *data;       /* a malloc'd copy of the payload */
};

static struct options opt;
static struct client clients[MAX_CLIENTS];
static struct pending queue[MAX_PENDING];
static unsigned long long next_order = 1;
static int listen_fd = -1;
static struct sockaddr_storage to_addr; /* the server's address, resolved once */
static socklen_t to_len;
static char to_name[ADDR_LEN];
/* For the summary line. "reordered" counts the datagrams held back, including
   any that nothing overtook before their 100 ms were up. */
static struct {
    unsigned long long in, dropped, duplicated, reordered;
} stats;

/* ---- time and chance ------------------------------------------------------ */

/* Milliseconds on the monotonic clock, which never jumps when the wall clock is set. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with a valid clock id */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64 (Steele, Lea and Flood, 2014; the public-domain version by Sebastiano
   Vigna): a 64-bit counter scrambled by two multiply-xorshift rounds. Tiny, fast,
   good enough for test decisions, and the same on every machine. Any seed works,
   0 included. */
static uint64_t prng_state;

static uint64_t splitmix64(void)
{
    uint64_t z = (prng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A uniform number in [0, 1): the top 53 bits, the precision of a double. So
   `chance() < rate` is never true for rate 0 and always true for rate 1. */
static double chance(void)
{
    return (double)(splitmix64() >> 11) * 0x1.0p-53;
}

/* ---- addresses ------------------------------------------------------------ */

/* Format a socket address as "127.0.0.1:40123" or "[::1]:40123". */
static void format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
    char host[128], port[16];
    if (getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, size, "(unknown address)");
    else if (sa->sa_family == AF_INET6)
        snprintf(out, size, "[%s]:%s", host, port);
    else
        snprintf(out, size, "%s:%s", host, port);
}

/* Is a the same client address as b? We compare the fields that name an
   endpoint rather than whole structures, whose padding need not match. */
static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return memcmp(a, b, sizeof *a) == 0;
}

/* The label of a datagram in the log: "client 127.0.0.1:5001 -> server #3" or
   "server -> client 127.0.0.1:5001 #3". Only decision lines use it (see the top). */
static void label(const struct client *c, int dir, unsigned long long no, char *out, size_t size)
{
    if (dir == UP)
        snprintf(out, size, "client %s -> server #%llu", c->name, no);
    else
        snprintf(out, size, "server -> client %s #%llu", c->name, no);
}

/* ---- sending -------------------------------------------------------------- */

/* Send one datagram on its way: up through the client's connected socket
   (send), or down from the client-facing socket to the client (sendto). A
   failure is logged and the datagram is lost -- never fatal. ECONNREFUSED on an
   upstream socket is the kernel passing on an ICMP "port unreachable": the server
   is gone. EAGAIN means the socket's send buffer is full; a router would drop
   the datagram too. */
static void transmit(const struct client *c, int dir, unsigned long long no,
                     const unsigned char *data, size_t len, int copies)
{
    for (int k = 0; k < copies; k++) {
        ssize_t n;
        do {
            n = dir == UP ? send(c->fd, data, len, 0)
                          : sendto(listen_fd, data, len, 0, (const struct sockaddr *)&c->addr,
                                   c->addr_len);
        } while (n == -1 && errno == EINTR);
        if (n == -1)
            fprintf(stderr, "relay: %s #%llu (%s): %s: %s\n",
                    dir == UP ? "to the server" : "back to client", no, c->name,
                    dir == UP ? "send" : "sendto", strerror(errno));
    }
}

/* ---- the queue of delayed and held-back datagrams ------------------------- */

/* A fixed array searched linearly: at most MAX_PENDING entries, and usually a
   handful, so a heap would be more code for no measurable gain. */

/* Queue a copy of a datagram; returns its index, or -1 (logged) if the queue is
   full or memory ran out. */
static int queue_add(int ci, int dir, unsigned long long no, const unsigned char *data,
                     size_t len, int copies, int64_t due, bool held)
{
    for (int i = 0; i < MAX_PENDING; i++) {
        if (queue[i].used)
            continue;
        unsigned char *copy = malloc(len > 0 ? len : 1); /* malloc(0) may return NULL */
        if (copy == NULL) {
            fprintf(stderr, "relay: malloc: %s: datagram lost\n", strerror(errno));
            return -1;
        }
        if (len > 0)
            memcpy(copy, data, len);
        queue[i] = (struct pending){.used = true, .held = held, .due_ms = due,
                                    .order = next_order++, .client = ci, .dir = dir,
                                    .copies = copies, .no = no, .len = len, .data = copy};
        return i;
    }
    fprintf(stderr, "relay: %d datagrams already waiting: datagram lost\n", MAX_PENDING);
    return -1;
}

static void queue_free(int i)
{
    free(queue[i].data);
    queue[i] = (struct pending){0};
}

/* The entry to send first: the earliest due, ties in the order queued. -1 if none. */
static int queue_first(void)
{
    int best = -1;
    for (int i = 0; i < MAX_PENDING; i++)
        if (queue[i].used &&
            (best == -1 || queue[i].due_ms < queue[best].due_ms ||
             (queue[i].due_ms == queue[best].due_ms && queue[i].order < queue[best].order)))
            best = i;
    return best;
}

/* Send a queued datagram now and free its entry. A held-back one says what
   overtook it; a merely delayed one was logged when it arrived. */
static void queue_send(int i)
{
    struct pending *p = &queue[i];
    struct client *c = &clients[p->client];
    if (c->held[p->dir] == i)
        c->held[p->dir] = -1;
    if (p->held || p->after != 0) {
        /* Worded so as not to contain "-> server #": see the top of the file. */
        if (p->after != 0)
            fprintf(stderr, "relay: %s #%llu (%s) released after #%llu\n",
                    p->dir == UP ? "to the server" : "back to client", p->no, c->name, p->after);
        else
            fprintf(stderr, "relay: %s #%llu (%s) released after %d ms, nothing overtook it\n",
                    p->dir == UP ? "to the server" : "back to client", p->no, c->name, HOLD_MS);
    }
    transmit(c, p->dir, p->no, p->data, p->len, p->copies);
    queue_free(i);
}

/* Send everything that is due by now, in order. */
static void release_due(int64_t now)
{
    int i;
    while ((i = queue_first()) != -1 && queue[i].due_ms <= now)
        queue_send(i);
}

/* ---- clients -------------------------------------------------------------- */

/* Forget client ci: close its upstream socket and discard what it had queued. */
static void forget_client(int ci, int64_t now)
{
    struct client *c = &clients[ci];
    int discarded = 0;
    for (int i = 0; i < MAX_PENDING; i++)
        if (queue[i].used && queue[i].client == ci) {
            queue_free(i);
            discarded++;
        }
    fprintf(stderr, "relay: %d clients already: forgetting %s, quiet for %lld ms "
            "(%d waiting datagrams lost)\n",
            MAX_CLIENTS, c->name, (long long)(now - c->last_ms), discarded);
    close(c->fd);
    *c = (struct client){0};
}

/* The table slot of the client at addr, made on its first datagram: a new
   upstream socket, connect()ed to the server. connect() on a UDP socket sends
   nothing; it fixes the default destination, binds an ephemeral local port, and
   makes the kernel deliver only the server's datagrams to this socket. When the
   table is full, the client we heard from least recently is forgotten, as a NAT
   router forgets idle UDP mappings. Returns -1 (logged) on failure. */
static int client_for(const struct sockaddr_storage *addr, socklen_t addr_len, int64_t now)
{
    int free_slot = -1, quietest = -1;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (!clients[i].used) {
            if (free_slot == -1)
                free_slot = i;
        } else if (same_addr(&clients[i].addr, addr)) {
            return i;
        } else if (quietest == -1 || clients[i].last_ms < clients[quietest].last_ms) {
            quietest = i;
        }
    }
    char name[ADDR_LEN];
    format_addr((const struct sockaddr *)addr, addr_len, name, sizeof name);

    int fd = socket(to_addr.ss_family, SOCK_DGRAM, 0);
    if (fd == -1) {
        fprintf(stderr, "relay: client %s: socket: %s: datagram lost\n", name, strerror(errno));
        return -1;
    }
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
        connect(fd, (const struct sockaddr *)&to_addr, to_len) == -1) {
        fprintf(stderr, "relay: client %s: upstream socket: %s: datagram lost\n", name,
                strerror(errno));
        close(fd);
        return -1;
    }
    if (free_slot == -1) {
        forget_client(quietest, now);
        free_slot = quietest;
    }
    struct client *c = &clients[free_slot];
    *c = (struct client){.used = true, .addr = *addr, .addr_len = addr_len, .fd = fd,
                         .last_ms = now, .held = {-1, -1}};
    snprintf(c->name, sizeof c->name, "%s", name);

    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    char local_name[ADDR_LEN] = "(unknown)";
    if (getsockname(fd, (struct sockaddr *)&local, &local_len) == 0)
        format_addr((struct sockaddr *)&local, local_len, local_name, sizeof local_name);
    else
        fprintf(stderr, "relay: getsockname: %s\n", strerror(errno));
    fprintf(stderr, "relay: new client %s, relayed to the server from %s\n", c->name, local_name);
    return free_slot;
}

/* ---- the decisions -------------------------------------------------------- */

/* One datagram has arrived from client ci's side (UP) or from the server for
   client ci (DOWN): decide its fate, log it on one line, and send it, queue it
   or forget it. */
static void handle_datagram(int ci, int dir, const unsigned char *data, size_t len, int64_t now)
{
    struct client *c = &clients[ci];
    c->last_ms = now;
    unsigned long long no = ++c->count[dir];
    stats.in++;

    /* Always three draws, in this order, whatever the first one says: that keeps
       every later datagram's fate independent of this one's. */
    bool drop = chance() < opt.drop;
    bool dup = chance() < opt.duplicate;
    bool reorder = chance() < opt.reorder;

    char what[ADDR_LEN + 64];
    label(c, dir, no, what, sizeof what);
    if (drop) {
        stats.dropped++;
        fprintf(stderr, "relay: %s, %zu bytes: dropped\n", what, len);
        return;
    }
    int copies = dup ? 2 : 1;
    const char *dup_word = dup ? "duplicated" : "";
    const char *sep = dup ? ", " : "";
    char delayed[32] = "";
    if (opt.delay_ms > 0)
        snprintf(delayed, sizeof delayed, "delayed %ld ms", opt.delay_ms);

    /* Reordering: hold this one back until the next datagram in the same
       direction (for the same client) has gone, so that one overtakes it. A
       direction holds back one datagram at a time: if one is held already, this
       one goes ahead as usual and releases it -- which is the swap we want. */
    int held = c->held[dir];
    if (reorder && held == -1) {
        int i = queue_add(ci, dir, no, data, len, copies, now + opt.delay_ms + HOLD_MS, true);
        if (i == -1)
            return;
        c->held[dir] = i;
        stats.reordered++;
        if (dup)
            stats.duplicated++;
        fprintf(stderr, "relay: %s, %zu bytes: %s%sheld back (reorder)%s%s\n", what, len,
                dup_word, sep, *delayed ? ", " : "", delayed);
        return;
    }
    if (dup)
        stats.duplicated++;
    if (opt.delay_ms == 0) {
        fprintf(stderr, "relay: %s, %zu bytes: %s\n", what, len, dup ? "duplicated" : "forwarded");
        transmit(c, dir, no, data, len, copies);
        if (held != -1) {
            queue[held].held = false;
            queue[held].after = no;
            queue_send(held);
        }
    } else {
        fprintf(stderr, "relay: %s, %zu bytes: %s%s%s\n", what, len, dup_word, sep, delayed);
        queue_add(ci, dir, no, data, len, copies, now + opt.delay_ms, false);
        if (held != -1) {
            /* Due at the same time as this one, but queued after it. */
            struct pending *h = &queue[held];
            h->held = false;
            h->after = no;
            h->due_ms = now + opt.delay_ms;
            h->order = next_order++;
            c->held[dir] = -1;
        }
    }
}

/* ---- stopping ------------------------------------------------------------- */

/* SIGTERM and SIGINT: set a flag and write a byte into a pipe that poll() watches
   (the self-pipe trick, explained in c/stream/echo_server.c), so the signal wakes
   the relay however early or late it arrives. The handler does nothing else:
   fprintf() is not async-signal-safe. */
static volatile sig_atomic_t stop_signal; /* 0 until SIGTERM or SIGINT arrives */
static int stop_pipe[2];                  /* [0] is polled, [1] is written by the handler */

static void on_signal(int sig)
{
    int saved_errno = errno;
    stop_signal = sig;
    ssize_t n = write(stop_pipe[1], "x", 1); /* Best effort: a full pipe has a byte already. */
    (void)n;
    errno = saved_errno;
}

static int install_stop_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() returns EINTR */
    if (pipe(stop_pipe) == -1) {
        fprintf(stderr, "relay: pipe: %s\n", strerror(errno));
        return -1;
    }
    if (fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) == -1 ||
        sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1) {
        fprintf(stderr, "relay: signal setup: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the command line ----------------------------------------------------- */

static _Noreturn void usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "relay: %s%s\n" USAGE, what, arg);
    exit(2);
}

/* A port is 1 to 5 decimal digits with a value from min to 65535. */
static bool valid_port(const char *s, long min)
{
    size_t len = strlen(s);
    if (len == 0 || len > 5 || strspn(s, "0123456789") != len)
        return false;
    long port = strtol(s, NULL, 10);
    return port >= min && port <= 65535;
}

/* A rate is a plain decimal from 0 to 1: "0", "0.3", ".3", "1", "1.0". We check
   the characters ourselves, because strtod() also takes "nan", "1e-1", "0x.8"
   and leading spaces. */
static double parse_rate(const char *flag, const char *s)
{
    size_t len = strlen(s), digits = strspn(s, "0123456789");
    bool ok = len > 0 && len <= 32;
    if (ok && digits < len) /* then a point and more digits, nothing else */
        ok = s[digits] == '.' && strspn(s + digits + 1, "0123456789") == len - digits - 1 &&
             len > 1;
    double r = ok ? strtod(s, NULL) : -1;
    if (!(r >= 0 && r <= 1)) {
        fprintf(stderr, "relay: bad %s rate: %s (want a decimal from 0 to 1)\n" USAGE, flag, s);
        exit(2);
    }
    return r;
}

/* A whole decimal number from 0 to max; returns false if s is not one. */
static bool parse_whole(const char *s, unsigned long long max, unsigned long long *out)
{
    size_t len = strlen(s);
    if (len == 0 || len > 20 || strspn(s, "0123456789") != len)
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE || v > max)
        return false;
    *out = v;
    return true;
}

/* Split --to into host and port: "127.0.0.1:9000", "localhost:9000" or
   "[::1]:9000". IPv6 literals need the brackets, or "::1:9000" would be
   ambiguous. host must have room for strlen(arg) + 1 bytes. */
static void split_to(const char *arg, char *host, size_t size)
{
    const char *colon;
    if (arg[0] == '[') {
        const char *close = strchr(arg, ']');
        if (close == NULL || close[1] != ':' || close == arg + 1)
            usage_error("bad --to address (want HOST:PORT or [IPv6]:PORT): ", arg);
        snprintf(host, size, "%.*s", (int)(close - arg - 1), arg + 1);
        colon = close + 1;
    } else {
        colon = strchr(arg, ':');
        if (colon == NULL || colon == arg || strchr(colon + 1, ':') != NULL)
            usage_error("bad --to address (want HOST:PORT or [IPv6]:PORT): ", arg);
        snprintf(host, size, "%.*s", (int)(colon - arg), arg);
    }
    opt.to_port = colon + 1;
    if (!valid_port(opt.to_port, 1))
        usage_error("bad port in --to: ", arg);
}

static void parse_args(int argc, char **argv, char *to_host, size_t to_host_size)
{
    static const char *const flags[] = {"--host", "--port", "--to", "--seed", "--drop",
                                        "--duplicate", "--reorder", "--delay"};
    opt = (struct options){.host = "127.0.0.1", .port = "0", .seed = 1, .drop_arg = "0",
                           .duplicate_arg = "0", .reorder_arg = "0"};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(USAGE, stdout);
            exit(0);
        }
        size_t f = 0, nflags = sizeof flags / sizeof flags[0];
        while (f < nflags && strcmp(argv[i], flags[f]) != 0)
            f++;
        if (f == nflags)
            usage_error(argv[i][0] == '-' ? "unknown option: " : "unexpected argument: ",
                        argv[i]);
        if (i + 1 >= argc)
            usage_error("missing value for ", argv[i]);
        const char *v = argv[++i];
        unsigned long long n;
        switch (f) {
        case 0: opt.host = v; break;
        case 1: opt.port = v; break;
        case 2: opt.to_arg = v; break;
        case 3:
            if (!parse_whole(v, ULLONG_MAX, &opt.seed))
                usage_error("bad seed (want a whole number from 0): ", v);
            break;
        case 4: opt.drop = parse_rate("drop", v), opt.drop_arg = v; break;
        case 5: opt.duplicate = parse_rate("duplicate", v), opt.duplicate_arg = v; break;
        case 6: opt.reorder = parse_rate("reorder", v), opt.reorder_arg = v; break;
        case 7:
            if (!parse_whole(v, MAX_DELAY_MS, &n))
                usage_error("bad delay (want whole milliseconds from 0 to 60000): ", v);
            opt.delay_ms = (long)n;
            break;
        }
    }
    if (!valid_port(opt.port, 0))
        usage_error("bad port: ", opt.port);
    if (opt.to_arg == NULL)
        usage_error("missing --to HOST:PORT", "");
    if (strlen(opt.to_arg) + 1 > to_host_size)
        usage_error("--to address too long: ", opt.to_arg);
    split_to(opt.to_arg, to_host, to_host_size);
    opt.to_host = to_host;
}

/* ---- sockets -------------------------------------------------------------- */

/* Resolve the server's address once, at start. We take the first address the
   resolver returns: UDP has no handshake, so unlike a TCP client we cannot try
   each in turn and keep the one that answers. The harness passes numeric
   addresses, which resolve to exactly one. */
static int resolve_server(void)
{
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    int err = getaddrinfo(opt.to_host, opt.to_port, &hints, &res);
    if (err != 0) {
        fprintf(stderr, "relay: getaddrinfo %s: %s\n", opt.to_host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        return -1;
    }
    memcpy(&to_addr, res->ai_addr, res->ai_addrlen);
    to_len = res->ai_addrlen;
    freeaddrinfo(res);
    format_addr((struct sockaddr *)&to_addr, to_len, to_name, sizeof to_name);
    return 0;
}

/* The client-facing socket: resolve --host/--port and bind() the first address
   that works. No SO_REUSEADDR: UDP has no TIME_WAIT to step over, and on Linux
   the option would let a second UDP socket bind the same port. Non-blocking,
   because all waiting happens in poll(). */
static int open_listener(void)
{
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    int err = getaddrinfo(opt.host, opt.port, &hints, &res);
    if (err != 0) {
        fprintf(stderr, "relay: getaddrinfo %s: %s\n", opt.host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        return -1;
    }
    int fd = -1, saved_errno = 0;
    const char *failed = "socket";
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd == -1) {
            failed = "socket";
            saved_errno = errno;
            continue;
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
            failed = "bind";
        } else if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
            failed = "fcntl";
        } else {
            break; /* success */
        }
        saved_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd == -1)
        fprintf(stderr, "relay: %s: %s\n", failed, strerror(saved_errno));
    return fd;
}

/* ---- the loop ------------------------------------------------------------- */

/* Read up to BURST datagrams from the client-facing socket. recvfrom() returns
   one whole datagram per call (0 bytes is a datagram too) and says who sent it. */
static void read_clients(unsigned char *buf, int64_t now)
{
    for (int k = 0; k < BURST; k++) {
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(listen_fd, buf, BUF_SIZE, 0, (struct sockaddr *)&from, &from_len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fprintf(stderr, "relay: recvfrom: %s\n", strerror(errno));
            return; /* nothing more for now */
        }
        int ci = client_for(&from, from_len, now);
        if (ci != -1)
            handle_datagram(ci, UP, buf, (size_t)n, now);
    }
}

/* Read up to BURST replies from the server on client ci's upstream socket. */
static void read_server(int ci, unsigned char *buf, int64_t now)
{
    for (int k = 0; k < BURST && clients[ci].used; k++) {
        ssize_t n = recv(clients[ci].fd, buf, BUF_SIZE, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            /* ECONNREFUSED: an ICMP "port unreachable" for an earlier datagram
               (the server is not there). Reading it clears it; we go on. */
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fprintf(stderr, "relay: from the server for %s: recv: %s\n", clients[ci].name,
                        strerror(errno));
            return;
        }
        handle_datagram(ci, DOWN, buf, (size_t)n, now);
    }
}

/* Serve until a signal: send what is due, sleep in poll() until a socket is
   readable, the next queued datagram is due, or the stop pipe has a byte. */
static int run(void)
{
    static unsigned char buf[BUF_SIZE];
    struct pollfd fds[2 + MAX_CLIENTS];
    int owner[2 + MAX_CLIENTS]; /* fds[k] belongs to clients[owner[k]] */

    while (!stop_signal) {
        release_due(now_ms());

        int timeout = -1; /* nothing queued: sleep until a datagram or a signal */
        int first = queue_first();
        if (first != -1) {
            int64_t wait = queue[first].due_ms - now_ms();
            timeout = wait < 0 ? 0 : wait > INT_MAX ? INT_MAX : (int)wait;
        }
        nfds_t nfds = 0;
        fds[nfds++] = (struct pollfd){.fd = stop_pipe[0], .events = POLLIN};
        fds[nfds++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i].used) {
                owner[nfds] = i;
                fds[nfds++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
            }

        int n = poll(fds, nfds, timeout);
        if (n == -1) {
            if (errno == EINTR)
                continue; /* a signal: the loop condition looks at it */
            fprintf(stderr, "relay: poll: %s\n", strerror(errno));
            return 1;
        }
        int64_t now = now_ms();
        if (fds[1].revents != 0)
            read_clients(buf, now);
        /* POLLERR counts too: a pending ICMP error, which recv() reports and clears.
           A client forgotten above (the table was full) may have left a slot whose
           new socket has nothing to read yet: recv() then just says EAGAIN. */
        for (nfds_t k = 2; k < nfds; k++)
            if (fds[k].revents != 0 && clients[owner[k]].used)
                read_server(owner[k], buf, now);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static char to_host[1024];
    parse_args(argc, argv, to_host, sizeof to_host);
    prng_state = opt.seed;

    /* Catch SIGTERM/SIGINT before READY: the harness may signal right after it. */
    if (install_stop_handler() == -1 || resolve_server() == -1)
        return 1;
    listen_fd = open_listener();
    if (listen_fd == -1)
        return 1;

    int status = 1;
    struct sockaddr_storage addr;
    socklen_t addr_len = sizeof addr;
    char name[ADDR_LEN];
    if (getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len) == -1) {
        fprintf(stderr, "relay: getsockname: %s\n", strerror(errno));
        goto out;
    }
    format_addr((struct sockaddr *)&addr, addr_len, name, sizeof name);
    fprintf(stderr, "relay: listening on %s, forwarding to %s; seed %llu, drop %s, duplicate %s, "
            "reorder %s, delay %ld ms\n",
            name, to_name, opt.seed, opt.drop_arg, opt.duplicate_arg, opt.reorder_arg,
            opt.delay_ms);
    /* The one line on stdout, flushed: stdout is a pipe, so fully buffered. */
    if (printf("READY %s\n", name) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "relay: stdout: %s\n", strerror(errno));
        goto out;
    }

    status = run();
    if (stop_signal != 0) {
        fprintf(stderr, "relay: stopping on %s\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }
    int waiting = 0;
    for (int i = 0; i < MAX_PENDING; i++)
        if (queue[i].used) {
            queue_free(i);
            waiting++;
        }
    if (waiting > 0)
        fprintf(stderr, "relay: %d delayed or held-back datagrams never sent\n", waiting);
    fprintf(stderr, "relay: %llu datagrams in, %llu dropped, %llu duplicated, %llu reordered\n",
            stats.in, stats.dropped, stats.duplicated, stats.reordered);

out:
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].used)
            close(clients[i].fd);
    close(listen_fd);
    return status;
}
