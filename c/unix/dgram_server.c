/* dgram_server.c -- a Unix-domain datagram echo server: reply to each sender, never blocking */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (sigaction, lstat) under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_SIZE 65536     /* the largest datagram we take: 64 KiB */
#define MAX_PATH_BYTES 107 /* sun_path is 108 bytes, and a portable path keeps its NUL */
#define NAME_LEN 112       /* room for "@", any 108 bytes of sun_path, and a NUL */
#define USAGE "usage: dgram_server --path P [--mode M]\n"

/* A Unix-domain address is a struct sockaddr_un: sun_family = AF_UNIX and
   sun_path, a 108-byte array. Two kinds of name fit in it. A filesystem path
   ("/tmp/echo.sock") is a NUL-terminated string, and bind() creates a file of
   type socket there. An abstract name (Linux only; we write it "@echo") starts
   with a NUL byte and has no file at all: the kernel keeps it in a table of its
   own. Every byte after that first NUL is part of the name, trailing NULs too,
   so the address length must count exactly the name's bytes: sizeof(struct
   sockaddr_un) would make a different name, padded with NULs up to 108 bytes.
   Returns the length to pass to bind() or connect(). */
static socklen_t make_addr(const char *path, struct sockaddr_un *addr)
{
    size_t len = strlen(path); /* checked in main(): 1 to 107 bytes, not a bare "@" */
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

/* Format an address the kernel gave us (getsockname, recvmsg) as the path, as
   "@name" for an abstract one, or as "unnamed": a socket that never bound a name
   comes back with nothing after sun_family. Returns 0 for that, 1 for a name. */
static int format_addr(const struct sockaddr_un *addr, socklen_t len, char *out, size_t size)
{
    size_t n = len > offsetof(struct sockaddr_un, sun_path)
                   ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    if (n > sizeof addr->sun_path)
        n = sizeof addr->sun_path; /* the kernel reports the full length if it didn't fit */
    if (n == 0 || (n == 1 && addr->sun_path[0] == '\0')) {
        snprintf(out, size, "unnamed");
        return 0;
    }
    if (addr->sun_path[0] == '\0')
        snprintf(out, size, "@%.*s", (int)(n - 1), addr->sun_path + 1);
    else
        snprintf(out, size, "%.*s", (int)n, addr->sun_path); /* stops at the NUL */
    return 1;
}

// ANCHOR: stop
/* A signal handler may safely do very little: set a volatile sig_atomic_t flag and
   call async-signal-safe functions such as write(). Not fprintf(): the signal may
   have interrupted another fprintf() halfway through its buffer. So our flag holds
   the signal's number, and main() logs it once the loop has ended. A flag alone
   leaves a race: a signal that lands after the loop has tested the flag but before
   recvmsg() starts to sleep is noticed only when the next datagram arrives -- maybe
   never. The self-pipe trick closes the gap: the handler also writes a byte into a
   pipe, and every wait below is a poll() on the socket AND the pipe. The byte stays
   in the pipe, so poll() sees it however early or late the signal came. */
static volatile sig_atomic_t stop_signal; /* 0 until SIGTERM or SIGINT arrives */
static int stop_pipe[2]; /* [0] is polled, [1] is written by the handler */

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
        fprintf(stderr, "dgram_server: pipe: %s\n", strerror(errno));
        return -1;
    }
    /* The handler must never block, not even on a full pipe. */
    if (fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) == -1 ||
        sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1) {
        fprintf(stderr, "dgram_server: signal setup: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* Wait until fd is ready for events: POLLIN, a datagram to read. Returns 0 when
   it is, and -1 when we must stop: a signal came, or poll() failed (reported
   here). */
static int wait_for(int fd, short events)
{
    struct pollfd fds[2] = {
        {.fd = fd, .events = events},
        {.fd = stop_pipe[0], .events = POLLIN},
    };
    while (!stop_signal) {
        int n = poll(fds, 2, -1); /* -1: no timeout, sleep until something happens */
        if (n > 0 && fds[0].revents != 0)
            return 0; /* ready, or an error that the next recvmsg() will report */
        if (n == -1 && errno != EINTR) {
            fprintf(stderr, "dgram_server: poll: %s\n", strerror(errno));
            return -1;
        }
    }
    return -1;
}

/* Closing a socket bound to a path does NOT remove its file: the file stays
   behind, and the next bind() to that path fails with EADDRINUSE. So a server
   that stops unlink()s it -- only a path, and only one it bound itself: an
   abstract name vanishes with its last socket, and another server's file is
   none of our business. */
static void close_server(int fd, const char *path)
{
    close(fd);
    if (path[0] != '@' && unlink(path) == -1)
        fprintf(stderr, "dgram_server: %s: unlink: %s\n", path, strerror(errno));
}
// ANCHOR_END: stop

// ANCHOR: bind
/* bind() creates the socket file with the permissions 0777 & ~umask. We set the
   umask to 077 around it, so the file is born owner-only: there is no moment at
   which someone else could reach our socket before we chmod() it. umask() cannot fail;
   it returns the old mask, which we put back. */
static int bind_private(int fd, const struct sockaddr_un *addr, socklen_t len)
{
    mode_t old_mask = umask(077);
    int rc = bind(fd, (const struct sockaddr *)addr, len);
    int saved_errno = errno;
    umask(old_mask);
    errno = saved_errno;
    return rc;
}

/* bind() failed with EADDRINUSE: a file is at the path already. If it is the
   leftover of a server that crashed (it had no chance to unlink it), remove it
   and return 0; otherwise print why not and return -1. Nothing in the file says
   whether a server still has it open -- so we ask: connect() to it. */
static int remove_stale_file(const char *path, const struct sockaddr_un *addr, socklen_t len)
{
    /* lstat(), not stat(): a symbolic link is not a socket, and we must not
       follow it and remove whatever it points to. */
    struct stat st;
    if (lstat(path, &st) == -1) {
        fprintf(stderr, "dgram_server: %s: lstat: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "dgram_server: %s: exists and is not a socket\n", path);
        return -1;
    }
    /* The probe: a fresh socket of our own type. connect() on a datagram
       socket sends nothing; it only looks the name up, and fails with
       ECONNREFUSED if no socket is bound to the file. (Non-blocking only to
       be sure it never waits.) */
    int probe = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (probe == -1 || fcntl(probe, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "dgram_server: probe socket: %s\n", strerror(errno));
        if (probe != -1)
            close(probe);
        return -1;
    }
    int rc = connect(probe, (const struct sockaddr *)addr, len);
    int err = errno;
    close(probe);
    /* ECONNREFUSED: the file is there but no socket is bound to it any more.
       Anything else -- connected, EAGAIN, EPROTOTYPE (a live socket of another
       type) -- means somebody is using it: leave it alone. */
    if (rc == 0 || err != ECONNREFUSED) {
        fprintf(stderr, "dgram_server: %s: another server is listening there\n", path);
        return -1;
    }
    fprintf(stderr, "dgram_server: %s: removing stale socket file\n", path);
    if (unlink(path) == -1 && errno != ENOENT) { /* ENOENT: someone removed it first */
        fprintf(stderr, "dgram_server: %s: unlink: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* socket(), bind() (with the stale-file probe) and chmod(). Returns the bound
   socket, or -1 after printing why not. */
static int open_socket(const char *path, mode_t mode)
{
    struct sockaddr_un addr;
    socklen_t addr_len = make_addr(path, &addr);
    int abstract = path[0] == '@', made_file = 0;
    /* AF_UNIX, SOCK_DGRAM: messages between processes on this same machine.
       Like UDP, each send is one datagram, boundaries kept, and there is no
       connection: one socket talks with everybody. Unlike UDP, nothing is ever
       lost, reordered or duplicated: the kernel puts each datagram straight
       into the receiving socket's queue -- and if that queue is full, the
       sender waits (or gets EAGAIN) instead of the datagram being dropped. */
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd == -1) {
        fprintf(stderr, "dgram_server: socket: %s\n", strerror(errno));
        return -1;
    }
    /* bind() gives the socket its name. EADDRINUSE: the name is taken. */
    if (bind_private(fd, &addr, addr_len) == -1) {
        if (errno != EADDRINUSE) {
            fprintf(stderr, "dgram_server: %s: bind: %s\n", path, strerror(errno));
            goto error;
        }
        /* An abstract name is held only while a socket is bound to it, so a
           taken one always belongs to a live server. A path may be a leftover. */
        if (abstract) {
            fprintf(stderr, "dgram_server: %s: another server is listening there\n", path);
            goto error;
        }
        if (remove_stale_file(path, &addr, addr_len) == -1)
            goto error;
        if (bind_private(fd, &addr, addr_len) == -1) {
            fprintf(stderr, "dgram_server: %s: bind: %s\n", path, strerror(errno));
            goto error;
        }
    }
    made_file = !abstract;
    /* Whoever sends to us needs write permission on the socket file: the mode
       is the access control. chmod() the path -- fchmod() on the socket would
       not touch the file. An abstract name has no file and no permissions at
       all: any process that knows the name can send to it. */
    if (made_file && chmod(path, mode) == -1) {
        fprintf(stderr, "dgram_server: %s: chmod: %s\n", path, strerror(errno));
        goto error;
    }
    return fd; /* no listen(): datagrams queue up as soon as we are bound */
error:
    close(fd);
    if (made_file)
        unlink(path); /* Best effort: we created it, so we don't leave it behind. */
    return -1;
}
// ANCHOR_END: bind

/* A mode is exactly three octal digits: "600", "660", "666". */
static int parse_mode(const char *s, mode_t *mode)
{
    if (strlen(s) != 3 || strspn(s, "01234567") != 3)
        return -1;
    *mode = (mode_t)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0'));
    return 0;
}

static _Noreturn void usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "dgram_server: %s%s\n" USAGE, what, arg);
    exit(2);
}

/* Refuse, before any socket exists, a name that cannot fit in sun_path: never
   cut it short, which would quietly bind some other name. Lengths are in bytes,
   whatever characters they encode. */
static void check_path(const char *path)
{
    size_t len = strlen(path);
    if (len == 0)
        usage_error("empty path", "");
    if (strcmp(path, "@") == 0)
        usage_error("empty abstract name: ", path);
    if ((path[0] == '@' ? len - 1 : len) > MAX_PATH_BYTES)
        usage_error("path longer than 107 bytes: ", path);
}

int main(int argc, char **argv)
{
    const char *path = NULL, *mode_arg = "600";
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(flag, "--path") != 0 && strcmp(flag, "--mode") != 0) {
            usage_error(flag[0] == '-' ? "unknown option: " : "unexpected argument: ", flag);
        } else if (i + 1 == argc) {
            usage_error("missing value for ", flag);
        } else if (strcmp(flag, "--path") == 0) {
            path = argv[++i];
        } else {
            mode_arg = argv[++i];
        }
    }
    if (path == NULL)
        usage_error("missing ", "--path");
    check_path(path);
    mode_t mode;
    if (parse_mode(mode_arg, &mode) == -1)
        usage_error("bad mode: ", mode_arg);

    /* Catch SIGTERM/SIGINT before READY: the harness may signal right after it. */
    if (install_stop_handler() == -1)
        return 1;
    int fd = open_socket(path, mode);
    if (fd == -1)
        return 1;
    int status = 1;

    // ANCHOR: ready
    /* getsockname() asks the kernel which address the socket is bound to: the
       path as we gave it, or the abstract name, which format_addr() writes
       with an "@" for its leading NUL. A datagram socket can receive as soon
       as it is bound, so this is the moment to say READY. */
    struct sockaddr_un addr;
    socklen_t addr_len = sizeof addr;
    char name[NAME_LEN];
    if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) == -1) {
        fprintf(stderr, "dgram_server: getsockname: %s\n", strerror(errno));
        goto out;
    }
    format_addr(&addr, addr_len, name, sizeof name);
    /* When stdout is a pipe it is fully buffered: flush, or the line sits in
       our buffer while whoever started us waits for it. */
    if (printf("READY %s\n", name) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "dgram_server: stdout: %s\n", strerror(errno));
        goto out;
    }
    // ANCHOR_END: ready

    // ANCHOR: echo
    /* All our waiting happens in poll(), which also watches the stop pipe. So the
       socket is non-blocking (O_NONBLOCK): recvmsg() and sendto() never sleep; if
       they can do nothing right now, they fail with EAGAIN. */
    if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "dgram_server: fcntl: %s\n", strerror(errno));
        goto out;
    }
    static char buf[BUF_SIZE]; /* static: 64 KiB is a lot for the stack */
    while (wait_for(fd, POLLIN) == 0) {
        /* recvmsg() takes ONE datagram off the queue -- as recvfrom() would --
           with its payload in buf and the sender's address in peer: the only
           way to know whom to answer. msg_flags reports what happened to it. */
        struct sockaddr_un peer;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr msg = {
            .msg_name = &peer, .msg_namelen = sizeof peer, /* filled in: the sender */
            .msg_iov = &iov, .msg_iovlen = 1,               /* the buffer to fill */
        };
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n == -1) {
            /* EAGAIN: nothing after all. Any other error belongs to one datagram:
               log it and go on. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fprintf(stderr, "dgram_server: recvmsg: %s\n", strerror(errno));
            continue;
        }
        int named = format_addr(&peer, msg.msg_namelen, name, sizeof name);
        /* A datagram bigger than the buffer is cut short, the rest thrown away;
           MSG_TRUNC in msg_flags is the one sign of it. Echoing a cut-off
           datagram would be wrong, so it is dropped. */
        if (msg.msg_flags & MSG_TRUNC) {
            fprintf(stderr, "dgram_server: %s: datagram longer than %d bytes, dropped\n",
                    name, BUF_SIZE);
            continue;
        }
        /* A sender that never bound a name of its own sends from no address:
           nothing we could pass to sendto(). Over UDP the kernel gives every
           socket a port; here a client must bind() a name to get replies. */
        if (!named) {
            fprintf(stderr, "dgram_server: %zd bytes from unnamed: no address to reply to\n", n);
            continue;
        }
        fprintf(stderr, "dgram_server: %zd bytes from %s\n", n, name);
        /* sendto() the sender's address: one whole datagram, or nothing. A full
           queue at the receiver would make a blocking sendto() WAIT for that
           client to read -- and a client that never reads would stall us for
           good. MSG_DONTWAIT makes this one call non-blocking (the socket is
           already, but this is where it matters): a full queue fails with
           EAGAIN, and we drop the reply. A client that has gone fails with
           ENOENT (its file is removed) or ECONNREFUSED (nobody bound to it). */
        ssize_t sent;
        do
            sent = sendto(fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&peer,
                          msg.msg_namelen);
        while (sent == -1 && errno == EINTR);
        if (sent == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            fprintf(stderr, "dgram_server: %s: its queue is full, reply dropped\n", name);
        else if (sent == -1)
            fprintf(stderr, "dgram_server: %s: %s\n", name, strerror(errno));
    }
    /* The loop ends when a signal came -- a normal stop -- or poll() failed. Now,
       outside the handler, we may call fprintf(). */
    if (stop_signal != 0) {
        fprintf(stderr, "dgram_server: stopping on %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }
    // ANCHOR_END: echo

out:
    close_server(fd, path); /* close, and remove the socket file */
    return status;
}
