/* cred_client.c -- a client of cred_server: connect, and print what the kernel says about us */

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

#define BUF_SIZE 65536     /* read up to 64 KiB at a time */
#define MAX_PATH_BYTES 107 /* sun_path is 108 bytes, and a portable path keeps its NUL */
#define USAGE "usage: cred_client --path P\n"

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

// ANCHOR: connect
/* socket() and connect() to the server's path or abstract name. Returns the
   connected socket, or -1 after printing why not. */
static int connect_to(const char *path)
{
    struct sockaddr_un addr;
    socklen_t addr_len = make_addr(path, &addr);
    /* AF_UNIX, SOCK_STREAM: a byte stream between two processes on this machine.
       The kernel notes who we are -- pid, uid, gid -- when we connect(): that
       is what the server asks for with SO_PEERCRED. We send nothing at all. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd == -1) {
        fprintf(stderr, "cred_client: socket: %s\n", strerror(errno));
        return -1;
    }
    /* ENOENT: no file there; ECONNREFUSED: a stale file, nobody bound to it;
       EACCES: we may not write to the socket file. */
    if (connect(fd, (struct sockaddr *)&addr, addr_len) == -1) {
        fprintf(stderr, "cred_client: connect to %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
// ANCHOR_END: connect

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
    fputs("cred_client: ", stderr);
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
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1) {
        fprintf(stderr, "cred_client: stdout: %s\n", strerror(errno));
        return 1;
    }
    /* If whoever reads our stdout goes away, write() would raise SIGPIPE and
       kill us silently. Ignore it, and write() fails with EPIPE, which we report. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "cred_client: signal: %s\n", strerror(errno));
        return 1;
    }
    int fd = connect_to(path);
    if (fd == -1)
        return 1;
    int status = 1;

    // ANCHOR: receive
    /* Copy what the server sends -- one line -- to stdout until it closes. */
    char buf[BUF_SIZE];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) {
            status = 0; /* end of file: the server said it all and closed */
            break;
        }
        if (n == -1 && errno != EINTR) {
            fprintf(stderr, "cred_client: receive from %s: %s\n", path, strerror(errno));
            break;
        }
        if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) == -1) {
            fprintf(stderr, "cred_client: write stdout: %s\n", strerror(errno));
            break;
        }
    }
    close(fd);
    // ANCHOR_END: receive
    return status;
}
