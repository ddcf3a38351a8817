/* seqpacket_client.c -- a Unix-domain SOCK_SEQPACKET client: connect, send stdin as one message, receive one */

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
#include <sys/un.h>
#include <unistd.h>

#define MAX_MESSAGE 65536  /* the largest message this example sends */
#define MAX_PATH_BYTES 107 /* sun_path is 108 bytes, and a portable path keeps its NUL */
#define USAGE "usage: seqpacket_client --path P\n"

/* Print the one line the user sees and exit 1. */
static _Noreturn void fail(const char *what, const char *where, int err)
{
    fprintf(stderr, "seqpacket_client: %s%s: %s\n", what, where, strerror(err));
    exit(1);
}

// ANCHOR: connect
/* Make the kernel's form of --path. sun_path holds 108 bytes. A filesystem path
   is copied with its terminating NUL; an abstract name ("@demo") becomes a NUL
   byte and then the name ("\0demo"), and the length we pass says exactly where
   it ends -- NOT sizeof(struct sockaddr_un), which would make the trailing zero
   bytes part of the name. Returns the address length. main() has checked that
   the path fits. */
static socklen_t make_addr(const char *path, struct sockaddr_un *sa)
{
    size_t len = strlen(path);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, len); /* the NUL after it is already there */
    if (path[0] == '@') {
        sa->sun_path[0] = '\0';
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    }
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

/* socket() and connect() to the server at path. Returns the socket, or exits. */
static int connect_to(const char *path)
{
    struct sockaddr_un sa;
    socklen_t len = make_addr(path, &sa);
    /* SOCK_SEQPACKET: a connection, like SOCK_STREAM, but every send() arrives as
       one message with its boundaries, like SOCK_DGRAM. */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd == -1)
        fail("socket", "", errno);
    /* connect() to a Unix-domain socket completes at once, in the kernel: the
       server's accept queue gets us. It fails with ENOENT if there is no such
       file, ECONNREFUSED if the file is there but nobody listens on it (a stale
       file), EACCES if we may not write to it, EPROTOTYPE if the socket there is
       not a SOCK_SEQPACKET one. */
    if (connect(fd, (struct sockaddr *)&sa, len) == -1)
        fail("connect to ", path, errno);
    return fd;
}
// ANCHOR_END: connect

/* Read all of stdin into buf (MAX_MESSAGE bytes); return its length, which may be
   more than MAX_MESSAGE -- then only the first MAX_MESSAGE bytes were kept. A
   message is sent whole, so we must have all of it before sending. */
static size_t read_message(char *buf)
{
    char chunk[MAX_MESSAGE];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n == 0)
            return len; /* end of stdin */
        if (n == -1 && errno != EINTR)
            fail("read stdin", "", errno);
        if (n > 0 && len + (size_t)n <= MAX_MESSAGE)
            memcpy(buf + len, chunk, (size_t)n);
        if (n > 0)
            len += (size_t)n; /* counting on, so that the error can say how much */
    }
}

/* write() to stdout may be partial: loop until all of it is written. */
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
    fputs("seqpacket_client: ", stderr);
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

    /* Started with stdout closed? Then the socket would get descriptor 1, the
       lowest free one, and whatever we "print" would go into the socket. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1)
        fail("stdout", "", errno);
    /* If whoever reads our stdout goes away, write() would raise SIGPIPE and kill
       us silently. Ignore it, and write() fails with EPIPE, which we report. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fail("signal", "", errno);

    /* 1 to 65,536 bytes, or it is the user's mistake, like a bad flag: exit 2,
       without connecting. An empty message cannot be told apart from the end:
       the server's recv() would return 0, which on a connected socket means
       "the peer closed". */
    static char message[MAX_MESSAGE];
    size_t len = read_message(message);
    if (len == 0) {
        fprintf(stderr, "seqpacket_client: empty input: a 0-byte message would read "
                        "like the end of the connection\n");
        return 2;
    }
    if (len > MAX_MESSAGE) {
        fprintf(stderr, "seqpacket_client: %zu bytes is more than the %d this example sends\n",
                len, MAX_MESSAGE);
        return 2;
    }

    int fd = connect_to(path);

    // ANCHOR: send
    /* send() on a SOCK_SEQPACKET socket is all or nothing: one call, one message,
       never a partial send, so no loop as on a stream. (A message too big for
       the socket's send buffer fails with EMSGSIZE.) MSG_NOSIGNAL: a server that
       has gone makes send() fail with EPIPE instead of raising SIGPIPE. */
    ssize_t sent;
    do
        sent = send(fd, message, len, MSG_NOSIGNAL);
    while (sent == -1 && errno == EINTR); /* EINTR: a signal came first; try again */
    if (sent == -1)
        fail("send to ", path, errno);
    // ANCHOR_END: send

    // ANCHOR: receive
    /* recv() takes exactly one message -- the echo, as long as what we sent --
       and never part of the next. 0 means the server closed without a reply. */
    static char reply[MAX_MESSAGE];
    ssize_t n;
    do
        n = recv(fd, reply, sizeof reply, 0);
    while (n == -1 && errno == EINTR);
    if (n == -1)
        fail("receive from ", path, errno);
    if (n == 0) {
        fprintf(stderr, "seqpacket_client: %s: the server closed without replying\n", path);
        return 1;
    }
    if (write_all(STDOUT_FILENO, reply, (size_t)n) == -1)
        fail("write stdout", "", errno);
    close(fd);
    return 0;
    // ANCHOR_END: receive
}
