/* net.c -- the harness's own small TCP peer. */
#define _GNU_SOURCE
#include "net.h"
#include "compare.h"
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int resolve_as(int type, const char *host, int port, int passive, struct addrinfo **res)
{
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = type,
                             .ai_flags = AI_NUMERICHOST | (passive ? AI_PASSIVE : 0)};
    return getaddrinfo(host, service, &hints, res) == 0 ? 0 : -1;
}

static int resolve(const char *host, int port, int passive, struct addrinfo **res)
{
    return resolve_as(SOCK_STREAM, host, port, passive, res);
}

static int port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

int tcp_connect(const char *host, int port)
{
    return tcp_connect_buffers(host, port, 0);
}

int tcp_connect_buffers(const char *host, int port, int bytes)
{
    struct addrinfo *res;
    if (resolve(host, port, 0, &res) < 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* Before connect(): the receive buffer sets the window TCP offers. */
    if (fd >= 0 && bytes > 0 &&
        (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) < 0 ||
         setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) < 0)) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int tcp_bind(const char *host, int *port, int listening)
{
    struct addrinfo *res;
    if (resolve(host, 0, 1, &res) < 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        (listening && listen(fd, 8) < 0) || (*port = port_of(fd)) < 0) {
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

void tcp_reset(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

int send_all(int fd, const void *data, size_t len, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    const char *p = data;
    while (len > 0) {
        if (poll_until(fd, POLLOUT, deadline) < 0)
            return -1;
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

long recv_until_eof(int fd, unsigned char *buf, size_t max, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    size_t used = 0;
    for (;;) {
        if (poll_until(fd, POLLIN, deadline) < 0) {
            if (now_ms() >= deadline)
                errno = ETIMEDOUT; /* not whatever an earlier call left */
            return -1;
        }
        ssize_t n = recv(fd, buf + used, max - used, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -1;
        if (n == 0 || (used += (size_t)n) == max)
            return (long)used;
    }
}

size_t send_until_stalled(int fd, size_t max, int stall_ms)
{
    static const char chunk[65536];
    size_t sent = 0;
    while (sent < max) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, stall_ms) <= 0) /* no room for stall_ms: the peer stopped reading */
            break;
        ssize_t n = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            break;
        sent += (size_t)n;
    }
    return sent;
}

int echo_exchange(const char *host, int port, const char *msg, char *why, size_t whylen)
{
    return echo_exchange_within(host, port, msg, 10000, why, whylen);
}

int echo_exchange_within(const char *host, int port, const char *msg, int wait_ms, char *why,
                         size_t whylen)
{
    int fd = tcp_connect(host, port);
    if (fd < 0) {
        snprintf(why, whylen, "cannot connect to %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    size_t len = strlen(msg);
    unsigned char *got = malloc(len + 1);
    int status = -1;
    long n;
    if (!got)
        snprintf(why, whylen, "out of memory");
    else if (send_all(fd, msg, len, 5000) < 0 || shutdown(fd, SHUT_WR) < 0)
        snprintf(why, whylen, "sending to the server failed: %s", strerror(errno));
    else if ((n = recv_until_eof(fd, got, len + 1, wait_ms)) < 0)
        snprintf(why, whylen, "no echo and end of file within %d ms: %s", wait_ms, strerror(errno));
    else if (first_difference((const unsigned char *)msg, len, got, (size_t)n) >= 0)
        describe_difference((const unsigned char *)msg, len, got, (size_t)n, why, whylen);
    else
        status = 0;
    free(got);
    close(fd);
    return status;
}

int udp_bind(const char *host, int *port)
{
    struct addrinfo *res;
    if (resolve_as(SOCK_DGRAM, host, 0, 1, &res) < 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || (*port = port_of(fd)) < 0) {
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int udp_connect(const char *host, int port)
{
    struct addrinfo *res;
    if (resolve_as(SOCK_DGRAM, host, port, 0, &res) < 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int udp_echo_exchange(const char *host, int port, const void *msg, size_t len, int tries,
                      int timeout_ms, char *why, size_t whylen)
{
    int fd = udp_connect(host, port);
    int status = -1;
    static unsigned char reply[65536];
    snprintf(why, whylen, "no echo from %s:%d after %d tries of %d ms", host, port, tries, timeout_ms);
    if (fd < 0) {
        snprintf(why, whylen, "harness: UDP socket to %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    for (int i = 0; i < tries && status < 0; i++) {
        if (send(fd, msg, len, 0) < 0 || poll_until(fd, POLLIN, now_ms() + timeout_ms) < 0)
            continue;
        ssize_t n = recv(fd, reply, sizeof reply, MSG_DONTWAIT);
        if (n >= 0 && first_difference(msg, len, reply, (size_t)n) < 0)
            status = 0;
        else if (n >= 0)
            describe_difference(msg, len, reply, (size_t)n, why, whylen);
    }
    close(fd);
    return status;
}
