/* stream_server.c -- a Unix-domain stream echo server: socket files, stale files, unlink on stop */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (sigaction, lstat) under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_SIZE 65536     /* read up to 64 KiB at a time */
#define MAX_PATH_BYTES 107 /* sun_path is 108 bytes, and a portable path keeps its NUL */
#define NAME_LEN 112       /* room for "@", any 108 bytes of sun_path, and a NUL */
#define USAGE "usage: stream_server --path P [--mode M]\n"

// ANCHOR: address
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
// ANCHOR_END: address

/* Format an address the kernel gave us (getsockname, accept) as the path, as
   "@name" for an abstract one, or as "unnamed": a socket that never bound a name
   -- the usual case for a client -- comes back with nothing after sun_family. */
static void format_addr(const struct sockaddr_un *addr, socklen_t len, char *out, size_t size)
{
    size_t n = len > offsetof(struct sockaddr_un, sun_path)
                   ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    if (n > sizeof addr->sun_path)
        n = sizeof addr->sun_path; /* the kernel reports the full length if it didn't fit */
    if (n == 0 || (n == 1 && addr->sun_path[0] == '\0'))
        snprintf(out, size, "unnamed");
    else if (addr->sun_path[0] == '\0')
        snprintf(out, size, "@%.*s", (int)(n - 1), addr->sun_path + 1);
    else
        snprintf(out, size, "%.*s", (int)n, addr->sun_path); /* stops at the NUL */
}

// ANCHOR: stop
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
        fprintf(stderr, "stream_server: signal setup: %s\n", strerror(errno));
        exit(1);
    }
}

/* close() leaves the socket file behind, and the next bind() to the path would
   fail with EADDRINUSE: unlink() it. Only a path, and only the one we bound: an
   abstract name vanishes with its last socket. */
static void close_server(int fd, const char *path)
{
    close(fd);
    if (path[0] != '@' && unlink(path) == -1)
        fprintf(stderr, "stream_server: unlink %s: %s\n", path, strerror(errno));
}
// ANCHOR_END: stop

/* 0 when fd is ready for events (POLLIN, POLLOUT); -1 when we must stop: a
   signal came, or poll() failed. Every wait in this server is one of these. */
static int wait_for(int fd, short events)
{
    struct pollfd fds[2] = {{.fd = fd, .events = events}, {.fd = stop_pipe[0], .events = POLLIN}};
    while (!stop_signal) {
        int n = poll(fds, 2, -1); /* -1: no timeout, sleep until something happens */
        if (n > 0 && fds[0].revents != 0)
            return 0; /* ready, or an error that the next recv()/send() will report */
        if (n == -1 && errno != EINTR) {
            fprintf(stderr, "stream_server: poll: %s\n", strerror(errno));
            return -1;
        }
    }
    return -1;
}

// ANCHOR: probe
/* bind() said EADDRINUSE: a file is at the path. If it is a stale socket file,
   left by a server that crashed, remove it and return 0; otherwise print why
   not and return -1. Nothing in the file says whether anyone has it open. */
static int remove_stale_file(const char *path, const struct sockaddr_un *addr, socklen_t len)
{
    struct stat st; /* lstat(), not stat(): a symbolic link is never followed */
    if (lstat(path, &st) == -1) {
        fprintf(stderr, "stream_server: lstat %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "stream_server: %s: exists and is not a socket\n", path);
        return -1;
    }
    /* So we ask: connect() a socket of our type. Non-blocking, so that a live
       server with a full accept queue gives EAGAIN at once. Only ECONNREFUSED
       means nobody is there (EPROTOTYPE: a live socket of another type). */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (probe == -1) {
        fprintf(stderr, "stream_server: probe socket: %s\n", strerror(errno));
        return -1;
    }
    int rc = connect(probe, (const struct sockaddr *)addr, len);
    int err = errno;
    close(probe);
    if (rc == 0 || err != ECONNREFUSED) {
        fprintf(stderr, "stream_server: %s: another server is listening there\n", path);
        return -1;
    }
    fprintf(stderr, "stream_server: %s: removing stale socket file\n", path);
    if (unlink(path) == -1 && errno != ENOENT) { /* ENOENT: someone removed it first */
        fprintf(stderr, "stream_server: unlink %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}
// ANCHOR_END: probe

// ANCHOR: bind
/* bind() creates the socket file with mode 0777 & ~umask. With the umask at 077
   the file is born owner-only: nobody can connect before the chmod() below. */
static int bind_private(int fd, const struct sockaddr_un *addr, socklen_t len)
{
    mode_t old_mask = umask(077); /* umask() cannot fail; it returns the old mask */
    int rc = bind(fd, (const struct sockaddr *)addr, len);
    int saved_errno = errno;
    umask(old_mask);
    errno = saved_errno;
    return rc;
}

/* socket(), bind() with the stale-file probe, chmod() and listen(). Returns
   the listening socket, or -1 after printing why not. */
static int open_listener(const char *path, mode_t mode)
{
    struct sockaddr_un addr;
    socklen_t addr_len = make_addr(path, &addr);
    int abstract = path[0] == '@', made_file = 0;
    /* AF_UNIX: a socket for processes on this machine; SOCK_STREAM as over TCP. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd == -1) {
        fprintf(stderr, "stream_server: socket: %s\n", strerror(errno));
        return -1;
    }
    int rc = bind_private(fd, &addr, addr_len);
    if (rc == -1 && errno == EADDRINUSE && abstract) { /* only a live socket holds one */
        fprintf(stderr, "stream_server: %s: another server is listening there\n", path);
        goto error;
    }
    if (rc == -1 && errno == EADDRINUSE) { /* a path: perhaps a stale file */
        if (remove_stale_file(path, &addr, addr_len) == -1)
            goto error;
        rc = bind_private(fd, &addr, addr_len); /* and once more */
    }
    if (rc == -1) {
        fprintf(stderr, "stream_server: bind %s: %s\n", path, strerror(errno));
        goto error;
    }
    // ANCHOR_END: bind
    // ANCHOR: listen
    made_file = !abstract;
    /* The mode is the access control: connecting needs write permission on the
       file. chmod() the path; fchmod() on the socket would not touch the file. */
    if (made_file && chmod(path, mode) == -1) {
        fprintf(stderr, "stream_server: chmod %s: %s\n", path, strerror(errno));
        goto error;
    }
    if (listen(fd, SOMAXCONN) == -1) { /* as over TCP: a queue for accept() */
        fprintf(stderr, "stream_server: listen on %s: %s\n", path, strerror(errno));
        goto error;
    }
    return fd;
error:
    close(fd);
    if (made_file)
        unlink(path); /* Best effort: we created it, so we don't leave it behind. */
    return -1;
}
// ANCHOR_END: listen

// ANCHOR: echo
/* Loop until send() has taken all of it. MSG_NOSIGNAL: a peer that has gone
   makes send() fail with EPIPE, instead of raising SIGPIPE, which would kill us. */
static int send_all(int fd, const char *buf, size_t len, const char *peer)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            buf += n, len -= (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_for(fd, POLLOUT) == -1) /* send buffer full: wait for room */
                return -1;
        } else if (errno != EINTR) {
            fprintf(stderr, "stream_server: %s: %s\n", peer, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Serve one client until it half-closes, waiting in poll() before each recv(). */
static void serve(int fd, const char *peer)
{
    char buf[BUF_SIZE];
    long long echoed = 0;
    while (wait_for(fd, POLLIN) == 0) { /* until there is something to read, or a signal */
        ssize_t n = recv(fd, buf, sizeof buf, 0); /* whatever has arrived, up to 64 KiB */
        if (n > 0) {
            if (send_all(fd, buf, (size_t)n, peer) == -1)
                return;
            echoed += n;
        } else if (n == 0) { /* end of file: the client half-closed */
            fprintf(stderr, "stream_server: %s: closed, %lld bytes echoed\n", peer, echoed);
            return;
        } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            fprintf(stderr, "stream_server: %s: %s\n", peer, strerror(errno));
            return;
        }
    }
}
// ANCHOR_END: echo

/* A mode is exactly three octal digits: "600", "660", "666". */
static int parse_mode(const char *s, mode_t *mode)
{
    if (strlen(s) != 3 || strspn(s, "01234567") != 3)
        return -1;
    *mode = (mode_t)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0'));
    return 0;
}

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("stream_server: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

/* Refuse, before any socket exists, a --path that does not fit in sun_path:
   never cut it short, which would quietly bind some other name. strlen()
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
    const char *path = NULL;
    mode_t mode = 0600;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--path") != 0 && strcmp(flag, "--mode") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        const char *value = argv[++i];
        if (strcmp(flag, "--path") == 0) {
            check_path(value);
            path = value;
        } else if (parse_mode(value, &mode) == -1) {
            usage_error("bad mode: %s", value);
        }
    }
    if (path == NULL)
        usage_error("--path is required");

    install_stop_handler(); /* before READY: the harness may signal right after it */
    int listen_fd = open_listener(path, mode);
    if (listen_fd == -1)
        return 1;
    int status = 1;

    // ANCHOR: ready
    /* getsockname() asks the kernel which address the socket is bound to: the
       path as we gave it, or the abstract name, which format_addr() writes
       with an "@" for its leading NUL. */
    struct sockaddr_un addr;
    socklen_t addr_len = sizeof addr;
    char name[NAME_LEN];
    if (getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len) == -1) {
        fprintf(stderr, "stream_server: getsockname: %s\n", strerror(errno));
        goto out;
    }
    format_addr(&addr, addr_len, name, sizeof name);
    /* When stdout is a pipe it is fully buffered: flush, or the line sits in
       our buffer while whoever started us waits for it. */
    if (printf("READY %s\n", name) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "stream_server: stdout: %s\n", strerror(errno));
        goto out;
    }
    // ANCHOR_END: ready

    // ANCHOR: accept
    /* All our waiting happens in poll(), which also watches the stop pipe. So the
       sockets are non-blocking (O_NONBLOCK): accept(), recv() and send() never
       sleep; if they can do nothing right now, they fail with EAGAIN. */
    if (fcntl(listen_fd, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "stream_server: fcntl: %s\n", strerror(errno));
        goto out;
    }
    while (wait_for(listen_fd, POLLIN) == 0) {
        /* accept() returns a NEW socket for this one client, and the client's
           address: "unnamed" unless the client bound a name of its own. */
        struct sockaddr_un peer;
        socklen_t peer_len = sizeof peer;
        int fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_len);
        if (fd == -1) {
            /* One failed connection must not stop the server: log it, go on. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fprintf(stderr, "stream_server: accept: %s\n", strerror(errno));
            continue;
        }
        format_addr(&peer, peer_len, name, sizeof name);
        fprintf(stderr, "stream_server: connection from %s\n", name);
        if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
            fprintf(stderr, "stream_server: %s: %s\n", name, strerror(errno));
        else
            serve(fd, name);
        close(fd); /* done with this client, whatever happened: next one */
    }
    /* The loop ends when a signal came -- a normal stop -- or poll() failed. Now,
       outside the handler, we may call fprintf(). */
    if (stop_signal != 0) {
        fprintf(stderr, "stream_server: stopping on %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }
    // ANCHOR_END: accept

out:
    close_server(listen_fd, path); /* close, and remove the socket file */
    return status;
}
