/* dgram_client.c -- a Unix-domain datagram echo client: bind a name of its own, send, clean up */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_PAYLOAD 65536  /* the most this example sends: what the servers receive */
#define BUF_SIZE 65536     /* read stdin 64 KiB at a time */
#define MAX_PATH_BYTES 107 /* sun_path is 108 bytes, and a portable path keeps its NUL */
#define USAGE "usage: dgram_client --path P [--timeout S]\n"

/* A Unix-domain address is a struct sockaddr_un: sun_family = AF_UNIX and
   sun_path, a 108-byte array holding either a NUL-terminated filesystem path or,
   on Linux, an abstract name: a NUL byte, then the name ("@echo" on our command
   line is "\0echo"). Every byte of an abstract name counts, so the length we
   pass must cover exactly its bytes -- sizeof(struct sockaddr_un) would name a
   different socket, padded with NULs. Returns the length for bind()/connect(). */
static socklen_t make_addr(const char *path, struct sockaddr_un *addr)
{
    size_t len = strlen(path); /* checked: 1 to 107 bytes, not a bare "@" */
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (path[0] == '@') {
        addr->sun_path[0] = '\0'; /* the mark of an abstract name */
        memcpy(addr->sun_path + 1, path + 1, len - 1);
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len); /* NUL + name */
    }
    memcpy(addr->sun_path, path, len + 1); /* the path and its terminating NUL */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

/* Print the one line the user sees and exit 1 -- only before we have bound our
   own address: after that, every exit goes through the cleanup in main(). */
static _Noreturn void fail(const char *what, int err)
{
    fprintf(stderr, "dgram_client: %s: %s\n", what, strerror(err));
    exit(1);
}

/* Read all of stdin into payload (MAX_PAYLOAD bytes); return its length, which may
   be more than MAX_PAYLOAD -- then only the first MAX_PAYLOAD bytes were kept. A
   datagram is sent whole or not at all, so we must have all of it before sending. */
static size_t read_payload(char *payload)
{
    char chunk[BUF_SIZE];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n == 0)
            return len; /* end of stdin */
        if (n == -1 && errno != EINTR)
            fail("read stdin", errno);
        if (n > 0 && len + (size_t)n <= MAX_PAYLOAD)
            memcpy(payload + len, chunk, (size_t)n);
        if (n > 0)
            len += (size_t)n; /* counting on, so that the error can say how much */
    }
}

/* write() to stdout may be partial, unlike send() on a datagram socket. */
static int write_all(int fd, const char *buf, size_t len)
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

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("dgram_client: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

/* Refuse, before any socket exists, a --path that does not fit in sun_path:
   never cut it short, which would quietly send to some other name. strlen()
   counts bytes, whatever characters they encode. */
static void check_path(const char *path)
{
    size_t len = strlen(path[0] == '@' ? path + 1 : path); /* the name after any "@" */
    if (path[0] == '\0')
        usage_error("--path is empty");
    if (len == 0)
        usage_error("--path needs a name after the @");
    if (len > MAX_PATH_BYTES)
        usage_error("--path is %zu bytes; a socket address holds at most %d", len, MAX_PATH_BYTES);
}

int main(int argc, char **argv)
{
    /* The arguments, left to right; the first problem is the one reported. */
    const char *path = NULL, *timeout_arg = "1";
    double timeout = 1;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--path") != 0 && strcmp(flag, "--timeout") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        const char *value = argv[++i];
        if (strcmp(flag, "--path") == 0) {
            check_path(value);
            path = value;
        } else {
            timeout = parse_timeout(value);
            timeout_arg = value; /* for the message: "within 0.5 s" */
            if (timeout < 0)
                usage_error("bad timeout: %s", value);
        }
    }
    if (path == NULL)
        usage_error("--path is required");

    /* Started with stdout closed? Then a socket would get descriptor 1, the
       lowest free one, and whatever we "print" would go into the socket. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1)
        fail("stdout", errno);
    /* If whoever reads our stdout goes away, write() would raise SIGPIPE and kill
       us silently -- leaving our socket file behind. Ignore it, and write() fails
       with EPIPE, which we report. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fail("signal", errno);

    /* Too much input is the user's mistake, like a bad flag: exit 2, send nothing. */
    static char payload[MAX_PAYLOAD];
    size_t len = read_payload(payload);
    if (len > MAX_PAYLOAD) {
        fprintf(stderr, "dgram_client: %zu bytes is more than the %d this example sends\n",
                len, MAX_PAYLOAD);
        return 2;
    }

    /* Our own address: <dir>/dgram_client.<pid>.sock, in $TMPDIR or /tmp. The
       pid makes it ours: no two running processes share one. */
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    char own[MAX_PATH_BYTES + 1];
    int own_len = snprintf(own, sizeof own, "%s/dgram_client.%ld.sock", dir, (long)getpid());
    if (own_len < 0 || own_len > MAX_PATH_BYTES) {
        fprintf(stderr, "dgram_client: bind %s/dgram_client.%ld.sock: longer than %d bytes\n",
                dir, (long)getpid(), MAX_PATH_BYTES);
        return 1;
    }
    struct sockaddr_un own_addr;
    memset(&own_addr, 0, sizeof own_addr);
    own_addr.sun_family = AF_UNIX;
    memcpy(own_addr.sun_path, own, (size_t)own_len + 1); /* never abstract: a file */

    int fd = -1, bound = 0, status = 1;
    static char reply[MAX_PAYLOAD]; /* the echo is never longer than what we sent */

    // ANCHOR: bind
    /* Unbound, we would send from "unnamed", and the server could not reply. (Linux
       can pick an abstract name for us -- bind() with nothing after sun_family --
       but a file is what every platform has.) A client that was killed left its
       file behind: one with our pid would make bind() fail with EADDRINUSE. */
    if (unlink(own) == -1 && errno != ENOENT) {
        fprintf(stderr, "dgram_client: unlink %s: %s\n", own, strerror(errno));
        goto out;
    }
    fd = socket(AF_UNIX, SOCK_DGRAM, 0); /* messages, boundaries kept, none lost */
    if (fd == -1) {
        fprintf(stderr, "dgram_client: socket: %s\n", strerror(errno));
        goto out;
    }
    /* Sending to a socket file needs write permission on it, so the server must
       be allowed to write to ours. bind() gives it 0777 & ~umask: with the usual
       umask 022, that is 0755 -- only our own user, which a server we talk to
       usually is. Nobody else can slip a fake reply in anyway: see connect(). */
    if (bind(fd, (struct sockaddr *)&own_addr,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)own_len + 1)) == -1) {
        fprintf(stderr, "dgram_client: bind %s: %s\n", own, strerror(errno));
        goto out;
    }
    bound = 1; /* from here on, the file is ours to remove, whatever happens */
    // ANCHOR_END: bind

    // ANCHOR: connect
    /* connect() on a datagram socket sends nothing: it records the server as our
       default destination, and from now on the kernel lets only the server send
       to us (anyone else's sendto() fails with EPERM). Unlike UDP's connect(), it
       looks the name up at once: no file is ENOENT, a file with nobody bound to
       it (a stale one) is ECONNREFUSED, a file we may not write to is EACCES. */
    struct sockaddr_un server;
    socklen_t server_len = make_addr(path, &server);
    if (connect(fd, (struct sockaddr *)&server, server_len) == -1) {
        fprintf(stderr, "dgram_client: connect to %s: %s\n", path, strerror(errno));
        goto out;
    }
    // ANCHOR_END: connect

    // ANCHOR: send
    /* send() on a connected socket: one call, one datagram, all or nothing -- no
       loop as on a stream. Nothing is lost on the way: if the server's queue is
       full, send() waits for room rather than drop the datagram as UDP would. */
    ssize_t n;
    do
        n = send(fd, payload, len, 0);
    while (n == -1 && errno == EINTR); /* EINTR: a signal came first; try again */
    if (n == -1) {
        fprintf(stderr, "dgram_client: send to %s: %s\n", path, strerror(errno));
        goto out;
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    /* SO_RCVTIMEO puts a time limit on every receive from this socket: a recv()
       that has waited that long with nothing to show fails with EAGAIN. The limit
       is a struct timeval, seconds and microseconds -- and a zero timeval means
       "no limit", so a tiny timeout is rounded up to 1 microsecond, not down.
       There is no retry: the datagram cannot have been lost, so silence means a
       server that is alive but not answering, and sending again would not help. */
    if (timeout > 1e9)
        timeout = 1e9; /* about 30 years; keeps the number inside a time_t */
    struct timeval limit = {.tv_sec = (time_t)timeout};
    limit.tv_usec = (suseconds_t)((timeout - (double)limit.tv_sec) * 1e6);
    if (limit.tv_sec == 0 && limit.tv_usec == 0)
        limit.tv_usec = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1) {
        fprintf(stderr, "dgram_client: setsockopt SO_RCVTIMEO: %s\n", strerror(errno));
        goto out;
    }
    do /* recv() takes one whole datagram -- from the server only: we connected */
        n = recv(fd, reply, sizeof reply, 0);
    while (n == -1 && errno == EINTR);
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        fprintf(stderr, "dgram_client: no reply from %s within %s s\n", path, timeout_arg);
        goto out;
    }
    if (n == -1) {
        fprintf(stderr, "dgram_client: receive from %s: %s\n", path, strerror(errno));
        goto out;
    }
    /* a reply, maybe 0 bytes long: that is the echo of nothing */
    if (write_all(STDOUT_FILENO, reply, (size_t)n) == -1) {
        fprintf(stderr, "dgram_client: write stdout: %s\n", strerror(errno));
        goto out;
    }
    status = 0;
    // ANCHOR_END: receive

out:
    // ANCHOR: cleanup
    /* Every way out after bind() passes here: on success, on a timeout, on any
       error. close() does not remove the socket file; unlink() does. If the run
       had already failed, that failure is the one line the user sees. */
    if (fd != -1)
        close(fd);
    if (bound && unlink(own) == -1 && status == 0) {
        fprintf(stderr, "dgram_client: unlink %s: %s\n", own, strerror(errno));
        status = 1;
    }
    // ANCHOR_END: cleanup
    return status;
}
