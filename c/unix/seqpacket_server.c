/* seqpacket_server.c -- a Unix-domain SOCK_SEQPACKET echo server: connected, yet every message keeps its boundaries */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (sigaction, lstat, ...) under -std=c17 */

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
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_SIZE 65536 /* the largest message this example echoes */
#define ADDR_LEN 128   /* room for "@" and any 107-byte name, or "unnamed" */
#define MAX_PATH_BYTES 107 /* sun_path is 108 bytes, and a portable path keeps its NUL */
#define USAGE "usage: seqpacket_server --path P [--mode M]\n"

/* Our own address, filled in by main() from --path: the kernel form, its length
   (which matters for abstract names) and whether bind() created a file that we
   must remove when we stop. */
static struct sockaddr_un server_addr;
static socklen_t server_addr_len;
static int bound_file; /* 1 once bind() has created the socket file */

/* Format a Unix-domain address as the book prints it: the path, "@name" for an
   abstract one, or "unnamed" for a socket that never bound an address (the usual
   case for a client). len is what the kernel reported: an unnamed socket's
   address is just the family, with no sun_path bytes at all. */
static void format_addr(const struct sockaddr_un *sa, socklen_t len, char *out, size_t size)
{
    size_t path_len = len > offsetof(struct sockaddr_un, sun_path)
                          ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    if (path_len > sizeof sa->sun_path)
        path_len = sizeof sa->sun_path;
    if (path_len > 0 && sa->sun_path[0] == '\0') /* abstract: the bytes after the NUL */
        snprintf(out, size, "@%.*s", (int)(path_len - 1), sa->sun_path + 1);
    else if (path_len > 0 && sa->sun_path[0] != '\0') /* a path, ended by its NUL */
        snprintf(out, size, "%.*s", (int)strnlen(sa->sun_path, path_len), sa->sun_path);
    else
        snprintf(out, size, "unnamed");
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
        fprintf(stderr, "seqpacket_server: signal setup: %s\n", strerror(errno));
        exit(1);
    }
}

/* Closing a Unix-domain socket does NOT remove its file: the name stays in the
   directory, and the next bind() to it would fail with EADDRINUSE. So a server
   unlink()s the file it bound -- only that one: a server that refused to start
   must leave the live server's file alone. An abstract name has no file; it
   disappears with the last socket bound to it. */
static void close_server(int fd)
{
    close(fd);
    if (bound_file && unlink(server_addr.sun_path) == -1)
        fprintf(stderr, "seqpacket_server: unlink %s: %s\n", server_addr.sun_path,
                strerror(errno));
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
            return 0; /* ready, or an error that the next recvmsg()/send() will report */
        if (n == -1 && errno != EINTR) {
            fprintf(stderr, "seqpacket_server: poll: %s\n", strerror(errno));
            return -1;
        }
    }
    return -1;
}

// ANCHOR: bind
/* Is someone listening at our (filesystem) path? Connect a fresh socket of the
   same type and see. Returns 1 if the file is stale -- the connection was
   refused (ECONNREFUSED): a socket file with nobody behind it, left by a server
   that crashed -- and 0 for anything else: connected (a live server), EPROTOTYPE
   (a live socket of another type), EACCES, ... The probe is non-blocking: a live
   server whose accept queue is full would otherwise keep connect() waiting; it
   fails with EAGAIN instead, and that, too, means "someone is there". */
static int socket_file_is_stale(void)
{
    int probe = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (probe == -1)
        return 0;
    int stale = fcntl(probe, F_SETFL, O_NONBLOCK) == 0 &&
                connect(probe, (struct sockaddr *)&server_addr, server_addr_len) == -1 &&
                errno == ECONNREFUSED;
    close(probe);
    return stale;
}

/* socket(), bind() with the stale-file check, chmod() and listen(). Returns the
   listening socket, or -1 after printing why not. */
static int open_listener(const char *path, mode_t mode)
{
    /* AF_UNIX: the peer is on this machine and the address is a name in the
       filesystem (or the abstract namespace), not an IP address and port. The
       kernel copies bytes from one socket's buffer to the other's, with no
       protocol headers, checksums or routing in between. SOCK_SEQPACKET is the
       type between the other two: connected and reliable like SOCK_STREAM (listen,
       accept, nothing lost or reordered), but like SOCK_DGRAM each send() arrives
       as ONE message, whole, never merged with the next or split. */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd == -1) {
        fprintf(stderr, "seqpacket_server: socket: %s\n", strerror(errno));
        return -1;
    }
    int abstract = server_addr.sun_path[0] == '\0';
    for (int attempt = 1;; attempt++) {
        /* bind() creates the socket file, with mode 0777 less the umask. A umask
           of 077 makes that 0700: nobody else can connect between this bind()
           and the chmod() below. umask() cannot fail; it returns the old mask,
           which we put back at once. */
        mode_t old_mask = umask(077);
        int rc = bind(fd, (struct sockaddr *)&server_addr, server_addr_len);
        int saved_errno = errno;
        umask(old_mask);
        if (rc == 0)
            break;
        if (saved_errno != EADDRINUSE || attempt > 1) {
            fprintf(stderr, "seqpacket_server: bind %s: %s\n", path, strerror(saved_errno));
            goto error;
        }
        /* EADDRINUSE: the name is taken. An abstract name is held only by a live
           socket -- it vanishes with the last one -- so someone is there. A file
           may be a leftover: look at what it is before touching it. lstat() looks
           at the name itself, not at what a symbolic link points to. */
        struct stat st;
        if (!abstract) {
            if (lstat(path, &st) == -1) {
                fprintf(stderr, "seqpacket_server: lstat %s: %s\n", path, strerror(errno));
                goto error;
            }
            if (!S_ISSOCK(st.st_mode)) {
                fprintf(stderr, "seqpacket_server: %s: exists and is not a socket\n", path);
                goto error;
            }
        }
        if (abstract || !socket_file_is_stale()) {
            fprintf(stderr, "seqpacket_server: %s: another server is listening there\n", path);
            goto error;
        }
        fprintf(stderr, "seqpacket_server: %s: removing stale socket file\n", path);
        if (unlink(path) == -1 && errno != ENOENT) {
            fprintf(stderr, "seqpacket_server: unlink %s: %s\n", path, strerror(errno));
            goto error;
        }
        /* ... and bind again, once: the loop's second attempt. */
    }
    bound_file = !abstract;
    /* chmod() sets the file's permission bits to --mode. Connecting to a socket
       file needs write permission on it, so 600 lets only our own user in and
       666 everyone. It must be chmod() on the path: fchmod() on the socket's
       descriptor would change the socket's own inode, not the file bind() made.
       An abstract name has no file and no permissions: anyone may connect. */
    if (bound_file && chmod(path, mode) == -1) {
        fprintf(stderr, "seqpacket_server: chmod %s: %s\n", path, strerror(errno));
        goto error;
    }
    /* listen() makes it a passive socket: the kernel now queues up to SOMAXCONN
       connecting clients for us to accept(), exactly as for a stream socket. */
    if (listen(fd, SOMAXCONN) == -1) {
        fprintf(stderr, "seqpacket_server: listen on %s: %s\n", path, strerror(errno));
        goto error;
    }
    return fd;

error:
    close_server(fd); /* removes the file only if this bind() created it */
    return -1;
}
// ANCHOR_END: bind

// ANCHOR: echo
/* Serve one client: receive each message and send it back as one message, until
   the client closes, waiting in poll() before each call. */
static void serve(int fd, const char *peer)
{
    static char buf[BUF_SIZE];
    long long echoed = 0;
    while (wait_for(fd, POLLIN) == 0) {
        /* recvmsg() takes ONE message: a shorter one is not topped up from the
           next; a longer one is cut to fit, the rest lost, and MSG_TRUNC set. */
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n > 0 && (msg.msg_flags & MSG_TRUNC)) {
            fprintf(stderr, "seqpacket_server: %s: message longer than %d bytes, dropped\n",
                    peer, BUF_SIZE);
        } else if (n > 0) {
            /* send() queues the whole message or none of it: no partial-send loop.
               EAGAIN: the peer's queue is full; wait for room and try again. */
            while (send(fd, buf, (size_t)n, MSG_NOSIGNAL) == -1) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    if (wait_for(fd, POLLOUT) == -1)
                        return;
                } else if (errno != EINTR) {
                    fprintf(stderr, "seqpacket_server: %s: %s\n", peer, strerror(errno));
                    return;
                }
            }
            echoed++;
        } else if (n == 0) { /* the client closed (or sent 0 bytes: the same thing) */
            fprintf(stderr, "seqpacket_server: %s: closed, %lld messages echoed\n", peer,
                    echoed);
            return;
        } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            fprintf(stderr, "seqpacket_server: %s: %s\n", peer, strerror(errno));
            return;
        }
    }
}
// ANCHOR_END: echo

/* Fill in server_addr from a valid --path. The length passed to bind() and
   connect() is where the name ends: for a path, its bytes and the NUL; for an
   abstract name, the leading NUL and exactly the name's bytes -- NOT
   sizeof(struct sockaddr_un), which would make the trailing zero bytes part of
   the name (and a different name from the one other programs use). */
static void make_addr(const char *path)
{
    size_t len = strlen(path);
    memset(&server_addr, 0, sizeof server_addr);
    server_addr.sun_family = AF_UNIX;
    memcpy(server_addr.sun_path, path, len); /* the NUL after it is already there */
    if (path[0] == '@') {
        server_addr.sun_path[0] = '\0'; /* abstract: "@demo" is "\0demo" */
        server_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    } else {
        server_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
}

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("seqpacket_server: ", stderr);
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
        } else if (strlen(value) == 3 && strspn(value, "01234567") == 3) {
            mode = (mode_t)strtol(value, NULL, 8); /* exactly three octal digits */
        } else {
            usage_error("bad mode: %s", value);
        }
    }
    if (path == NULL)
        usage_error("--path is required");
    make_addr(path);

    install_stop_handler(); /* before READY: the harness may signal right after it */
    int listen_fd = open_listener(path, mode);
    if (listen_fd == -1)
        return 1;
    int status = 1;

    // ANCHOR: ready
    /* getsockname() asks the kernel which address the socket is bound to. For
       a Unix-domain socket that is the path as we gave it, or the abstract name
       with its leading NUL, which format_addr() shows as "@name". */
    struct sockaddr_un addr;
    socklen_t addr_len = sizeof addr;
    char name[ADDR_LEN];
    if (getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len) == -1) {
        fprintf(stderr, "seqpacket_server: getsockname: %s\n", strerror(errno));
        goto out;
    }
    format_addr(&addr, addr_len, name, sizeof name);
    /* When stdout is a pipe it is fully buffered: flush, or the line sits in
       our buffer while whoever started us waits for it. */
    if (printf("READY %s\n", name) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "seqpacket_server: stdout: %s\n", strerror(errno));
        goto out;
    }
    // ANCHOR_END: ready

    /* All our waiting happens in poll(), which also watches the stop pipe. So the
       sockets are non-blocking (O_NONBLOCK): accept(), recvmsg() and send() never
       sleep; if they can do nothing right now, they fail with EAGAIN. */
    if (fcntl(listen_fd, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "seqpacket_server: fcntl: %s\n", strerror(errno));
        goto out;
    }
    while (wait_for(listen_fd, POLLIN) == 0) {
        /* accept() returns a NEW socket for this one client, and its address:
           usually unnamed, since a client rarely binds one. */
        struct sockaddr_un peer;
        socklen_t peer_len = sizeof peer;
        int fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_len);
        if (fd == -1) {
            /* One failed connection must not stop the server: log it, go on. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fprintf(stderr, "seqpacket_server: accept: %s\n", strerror(errno));
            continue;
        }
        format_addr(&peer, peer_len, name, sizeof name);
        fprintf(stderr, "seqpacket_server: connection from %s\n", name);
        if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
            fprintf(stderr, "seqpacket_server: %s: %s\n", name, strerror(errno));
        else
            serve(fd, name);
        close(fd); /* done with this client, whatever happened: next one */
    }
    /* The loop ends when a signal came -- a normal stop -- or poll() failed. Now,
       outside the handler, we may call fprintf(). */
    if (stop_signal != 0) {
        fprintf(stderr, "seqpacket_server: stopping on %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }

out:
    close_server(listen_fd); /* close, and remove the socket file */
    return status;
}
