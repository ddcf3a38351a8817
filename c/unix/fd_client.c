/* fd_client.c -- receiving an open file descriptor: recvmsg() and SCM_RIGHTS, then read the file */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_SIZE 65536     /* read up to 64 KiB at a time */
#define MAX_PATH_BYTES 107 /* sun_path is 108 bytes, and a portable path keeps its NUL */
#define USAGE "usage: fd_client --path P\n"

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
    /* AF_UNIX, SOCK_STREAM: a byte stream between two processes on this machine,
       which can also carry ancillary data such as descriptors. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd == -1) {
        fprintf(stderr, "fd_client: socket: %s\n", strerror(errno));
        return -1;
    }
    /* ENOENT: no file there; ECONNREFUSED: a stale file, nobody bound to it;
       EACCES: we may not write to the socket file. */
    if (connect(fd, (struct sockaddr *)&addr, addr_len) == -1) {
        fprintf(stderr, "fd_client: connect to %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
// ANCHOR_END: connect

// ANCHOR: recv_fd
/* Receive the server's one byte and the descriptor travelling with it. Returns
   the descriptor -- ours now, a new number in our own table -- or -1 after
   printing why not. */
static int receive_fd(int fd)
{
    /* recvmsg() is recv() with room for ancillary data: msg_iov for the ordinary
       bytes (one, whose value means nothing), msg_control for the records that
       came with them. The union aligns the buffer as a struct cmsghdr needs;
       CMSG_SPACE(sizeof(int)) is room for one record holding one descriptor. */
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    ssize_t n;
    do
        n = recvmsg(fd, &msg, 0);
    while (n == -1 && errno == EINTR);
    if (n == -1) {
        fprintf(stderr, "fd_client: recvmsg: %s\n", strerror(errno));
        return -1;
    }
    /* Walk the records: CMSG_FIRSTHDR, then CMSG_NXTHDR until NULL. The kernel
       installed the descriptor in our process as it delivered the message; the
       record holds its number. (Had the server sent more descriptors than we
       have room for, the kernel would close the extra ones and set MSG_CTRUNC.)
       A message with no SCM_RIGHTS record -- or end of file, n == 0 -- means
       the server sent no descriptor. */
    int passed = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len >= CMSG_LEN(sizeof(int)) && passed == -1)
            memcpy(&passed, CMSG_DATA(c), sizeof passed); /* memcpy: no alignment worries */
    }
    if (passed == -1)
        fprintf(stderr, "fd_client: the server sent no descriptor\n");
    return passed;
}
// ANCHOR_END: recv_fd

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

static _Noreturn void usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "fd_client: %s%s\n" USAGE, what, arg);
    exit(2);
}

/* Refuse a name that cannot fit in sun_path rather than cut it short, which
   would quietly connect to some other name. Lengths are in bytes. */
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
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(flag, "--path") != 0) {
            usage_error(flag[0] == '-' ? "unknown option: " : "unexpected argument: ", flag);
        } else if (i + 1 == argc) {
            usage_error("missing value for ", flag);
        } else {
            path = argv[++i];
        }
    }
    if (path == NULL)
        usage_error("missing ", "--path");
    check_path(path);

    /* If whoever reads our stdout goes away, write() would raise SIGPIPE and
       kill us silently. Ignore it, and write() fails with EPIPE, which we report. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "fd_client: signal: %s\n", strerror(errno));
        return 1;
    }
    /* Started with stdout closed? Then a socket or the received file would get
       descriptor 1, the lowest free one, and "stdout" would quietly be that. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1) {
        fprintf(stderr, "fd_client: stdout: %s\n", strerror(errno));
        return 1;
    }
    int fd = connect_to(path);
    if (fd == -1)
        return 1;
    int status = 1, passed = receive_fd(fd);
    close(fd); /* the connection has done its job: the file is what we read now */
    if (passed == -1)
        return 1;

    // ANCHOR: read
    /* The descriptor is an ordinary open file: read() it to end of file. We
       never opened the file and need not know its name, nor have permission to
       open it: the server opened it and gave us the right to read it. */
    char buf[BUF_SIZE];
    for (;;) {
        ssize_t n = read(passed, buf, sizeof buf);
        if (n == 0) {
            status = 0; /* end of file: all of it is on stdout */
            break;
        }
        if (n == -1 && errno != EINTR) {
            fprintf(stderr, "fd_client: read the passed file: %s\n", strerror(errno));
            break;
        }
        if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) == -1) {
            fprintf(stderr, "fd_client: write stdout: %s\n", strerror(errno));
            break;
        }
    }
    close(passed);
    // ANCHOR_END: read
    return status;
}
