/* unixnet.c -- the harness's own Unix-domain peers. */
#define _GNU_SOURCE
#include "unixnet.h"

#include "net.h"
#include "proc.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXCHANGE_TIMEOUT_MS 10000

int unix_proto_type(enum unix_proto p)
{
    switch (p) {
    case PROTO_DGRAM:
        return SOCK_DGRAM;
    case PROTO_SEQPACKET:
        return SOCK_SEQPACKET;
    default:
        return SOCK_STREAM;
    }
}

int unix_addr(const char *path, struct sockaddr_un *sa)
{
    size_t n = strlen(path);
    *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
    if (n == 0 || n > sizeof sa->sun_path - 1)
        return -1;
    memcpy(sa->sun_path, path, n);
    if (path[0] == '@') {
        sa->sun_path[0] = '\0'; /* abstract: exactly these bytes, no terminator */
        return (int)(offsetof(struct sockaddr_un, sun_path) + n);
    }
    return (int)sizeof *sa;
}

int unix_socket(int type, const char *bind_path)
{
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa;
    int len;
    if (fd >= 0 && bind_path &&
        ((len = unix_addr(bind_path, &sa)) < 0 || bind(fd, (struct sockaddr *)&sa, (socklen_t)len) < 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int unix_connect(int type, const char *path)
{
    struct sockaddr_un sa;
    int len = unix_addr(path, &sa);
    if (len < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = unix_socket(type, NULL);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, (socklen_t)len) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int unix_make_stale(const char *path)
{
    int fd = unix_socket(SOCK_STREAM, path);
    if (fd < 0)
        return -1;
    close(fd); /* the file stays: nothing removes it, nobody listens */
    return 0;
}

int unix_connect_as(int type, const char *path, uid_t uid, gid_t gid)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
            _exit(255);
        int fd = unix_connect(type, path);
        _exit(fd >= 0 ? 0 : errno & 0x7f);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 255)
        return -1;
    return WEXITSTATUS(status);
}

void cred_line(pid_t pid, uid_t uid, gid_t gid, char *buf, size_t len)
{
    snprintf(buf, len, "pid=%d uid=%u gid=%u\n", (int)pid, (unsigned)uid, (unsigned)gid);
}

/* Receives one datagram or message into buf, waiting at most timeout_ms. */
static long recv_one(int fd, void *buf, size_t len, int timeout_ms)
{
    if (poll_until(fd, POLLIN, now_ms() + timeout_ms) < 0)
        return -1;
    return recv(fd, buf, len, MSG_TRUNC);
}

static int compare(const char *what, const void *got, long gotlen, const char *want,
                   char *why, size_t whylen)
{
    size_t n = strlen(want);
    if (gotlen < 0) {
        snprintf(why, whylen, "%s: nothing came back within %d ms", what, EXCHANGE_TIMEOUT_MS);
        return -1;
    }
    if ((size_t)gotlen != n || memcmp(got, want, n)) {
        snprintf(why, whylen, "%s: got %ld bytes \"%.*s\", want \"%s\"", what, gotlen,
                 (int)(gotlen > 80 ? 80 : gotlen), (const char *)got, want);
        return -1;
    }
    return 0;
}

/* Receives one byte and an SCM_RIGHTS descriptor. Returns the fd or -1. */
static int recv_fd(int sock)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    if (poll_until(sock, POLLIN, now_ms() + EXCHANGE_TIMEOUT_MS) < 0 ||
        recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static int exchange_on(int fd, enum unix_proto p, const char *msg, char *why, size_t whylen)
{
    static unsigned char buf[1 << 16];
    size_t n = strlen(msg);
    long got;
    switch (p) {
    case PROTO_STREAM:
        if (send_all(fd, msg, n, EXCHANGE_TIMEOUT_MS) < 0 || shutdown(fd, SHUT_WR) < 0) {
            snprintf(why, whylen, "cannot send to the server: %s", strerror(errno));
            return -1;
        }
        got = recv_until_eof(fd, buf, sizeof buf, EXCHANGE_TIMEOUT_MS);
        return compare("echo", buf, got, msg, why, whylen);
    case PROTO_DGRAM:
    case PROTO_SEQPACKET:
        if (send(fd, msg, n, 0) != (ssize_t)n) {
            snprintf(why, whylen, "cannot send to the server: %s", strerror(errno));
            return -1;
        }
        got = recv_one(fd, buf, sizeof buf, EXCHANGE_TIMEOUT_MS);
        return compare("echo", buf, got, msg, why, whylen);
    case PROTO_FDPASS: {
        int passed = recv_fd(fd);
        if (passed < 0) {
            snprintf(why, whylen, "no descriptor came from the server");
            return -1;
        }
        got = 0;
        for (ssize_t r; (r = read(passed, buf + got, sizeof buf - (size_t)got)) > 0;)
            got += r;
        close(passed);
        return compare("the passed file", buf, got, msg, why, whylen);
    }
    case PROTO_PEERCRED: {
        char want[96];
        cred_line(getpid(), getuid(), getgid(), want, sizeof want);
        got = recv_until_eof(fd, buf, sizeof buf, EXCHANGE_TIMEOUT_MS);
        return compare("credentials", buf, got, want, why, whylen);
    }
    }
    return -1;
}

int unix_exchange(enum unix_proto p, const char *path, const char *msg, const char *scratch,
                  char *why, size_t whylen)
{
    char own[300] = "";
    int fd = -1;
    if (p == PROTO_DGRAM) {
        /* A datagram server answers to the sender's address: we need one. */
        snprintf(own, sizeof own, "%s/harness.%d.sock", scratch, (int)getpid());
        unlink(own);
        fd = unix_socket(SOCK_DGRAM, own);
        struct sockaddr_un sa;
        int len = unix_addr(path, &sa);
        if (fd >= 0 && (len < 0 || connect(fd, (struct sockaddr *)&sa, (socklen_t)len) < 0)) {
            close(fd);
            fd = -1;
        }
    } else {
        fd = unix_connect(unix_proto_type(p), path);
    }
    int rc = -1;
    if (fd < 0)
        snprintf(why, whylen, "cannot connect to %s: %s", path, strerror(errno));
    else
        rc = exchange_on(fd, p, msg, why, whylen);
    if (fd >= 0)
        close(fd);
    if (own[0])
        unlink(own);
    return rc;
}
