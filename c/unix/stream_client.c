/* stream_client.c -- a Unix-domain stream echo client: connect to a path, send while receiving */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_SIZE 65536     /* read up to 64 KiB at a time */
#define MAX_PATH_BYTES 107 /* sun_path is 108 bytes, and a portable path keeps its NUL */
#define USAGE "usage: stream_client --path P\n"

/* A Unix-domain address is a struct sockaddr_un: sun_family = AF_UNIX and
   sun_path, a 108-byte array holding either a NUL-terminated filesystem path or,
   on Linux, an abstract name: a NUL byte, then the name ("@echo" on our command
   line is "\0echo"). Every byte of an abstract name counts, so the length we
   pass must cover exactly its bytes -- sizeof(struct sockaddr_un) would name a
   different socket, padded with NULs. Returns the length for connect(). */
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

/* Two threads can fail at the same time -- a reset breaks send() and recv() at
   once -- but the user must see exactly one line. Whoever takes this lock first
   prints its line and exits; a thread that comes second waits here for good,
   until exit() ends the whole process. */
static pthread_mutex_t exit_lock = PTHREAD_MUTEX_INITIALIZER;

/* The server's path, for messages: set by main() before the sending thread starts. */
static const char *server;

static _Noreturn void fail(const char *what, const char *where, int err)
{
    pthread_mutex_lock(&exit_lock);
    fprintf(stderr, "stream_client: %s%s: %s\n", what, where, strerror(err));
    exit(1);
}

// ANCHOR: connect
/* socket() and connect() to the server's path or abstract name. Returns the
   connected socket, or -1 after printing why not. */
static int connect_to(const char *path)
{
    struct sockaddr_un addr;
    socklen_t addr_len = make_addr(path, &addr);
    /* AF_UNIX, SOCK_STREAM: a byte stream between two processes on this machine. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd == -1) {
        fprintf(stderr, "stream_client: socket: %s\n", strerror(errno));
        return -1;
    }
    /* connect() needs no name of our own: the kernel links our socket straight
       to the server's, and we stay "unnamed". It fails with ENOENT if no file
       is there, ECONNREFUSED if a file is there but nobody is bound to it (a
       stale file), EACCES if we may not write to it. If the server's accept
       queue is full, it waits for room. */
    if (connect(fd, (struct sockaddr *)&addr, addr_len) == -1) {
        fprintf(stderr, "stream_client: connect to %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
// ANCHOR_END: connect

// ANCHOR: send
/* send() may accept only part of the buffer -- a partial write (Linux waits for room
   on a blocking socket, but POSIX allows a short count, and a signal handler can
   cause one). So we loop. Sending on a connection the peer has closed raises SIGPIPE,
   which kills a process by default; MSG_NOSIGNAL makes send() fail with EPIPE. */
static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n == -1 && errno != EINTR) /* EINTR: a signal came first; try again */
            return -1;
        if (n > 0)
            buf += n, len -= (size_t)n;
    }
    return 0;
}

/* The sending thread: copy stdin to the socket, then half-close. It runs while
   the main thread receives: an echo server sends back as it reads, so if we sent
   everything before reading anything, both directions' socket buffers would fill
   (a few hundred KiB) and both programs would wait for each other forever. */
static void *send_stdin(void *arg)
{
    int fd = *(int *)arg;
    char buf[BUF_SIZE];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n == 0)
            break; /* end of stdin */
        if (n == -1 && errno != EINTR)
            fail("read stdin", "", errno);
        if (n > 0 && send_all(fd, buf, (size_t)n) == -1)
            fail("send to ", server, errno);
    }
    /* shutdown(SHUT_WR) is the half-close, on a Unix-domain stream just as on
       TCP: the server's recv() returns 0 (end of file) once it has read all we
       sent. Our receiving side stays open for the rest of the echo. */
    if (shutdown(fd, SHUT_WR) == -1)
        fail("shutdown ", server, errno);
    return NULL;
}
// ANCHOR_END: send

/* write() to stdout may be partial too, just like send(). */
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

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("stream_client: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

/* Refuse, before any socket exists, a --path that does not fit in sun_path:
   never cut it short, which would quietly connect to some other name. strlen()
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
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--path") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        check_path(argv[++i]);
        path = argv[i];
    }
    if (path == NULL)
        usage_error("--path is required");
    server = path;

    /* Started with stdout closed? Then the socket would get descriptor 1, the
       lowest free one, and whatever we "print" would go into the socket. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1)
        fail("stdout", "", errno);
    /* MSG_NOSIGNAL protects send(), but write() has no such flag: if whoever
       reads our stdout goes away, write() would raise SIGPIPE. Ignore it, and
       write() fails with EPIPE, which we report like any other error. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fail("signal", "", errno);
    int fd = connect_to(path);
    if (fd == -1)
        return 1;
    pthread_t sender;
    int err = pthread_create(&sender, NULL, send_stdin, &fd);
    if (err != 0)
        fail("pthread_create", "", err); /* pthread calls return the error, not errno */

    // ANCHOR: receive
    /* The main thread: copy the socket to stdout until the server closes. */
    char buf[BUF_SIZE];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            break; /* end of file: the server has sent everything back and closed */
        if (n == -1 && errno != EINTR)
            fail("receive from ", server, errno); /* ECONNRESET: closed with data unread */
        if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) == -1)
            fail("write stdout", "", errno);
    }
    // ANCHOR_END: receive

    /* End of file alone is not success: a server that closes early would look
       just like one that echoed everything. So we wait for the sender to finish.
       If its send() fails (EPIPE: the server is gone), it reports that through
       fail() and the process exits 1 without returning here. */
    err = pthread_join(sender, NULL);
    if (err != 0)
        fail("pthread_join", "", err);
    return 0; /* all of stdin sent, half-closed, and read to end of file */
}
