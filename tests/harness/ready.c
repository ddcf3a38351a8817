/* ready.c -- reading and parsing the READY line. */
#define _GNU_SOURCE
#include "ready.h"
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_port(const char *s)
{
    if (*s == '\0' || strlen(s) > 5)
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    int port = atoi(s);
    return port >= 1 && port <= 65535 ? port : -1;
}

int ready_parse(const char *line, struct ready *r)
{
    static const char prefix[] = "READY ";
    if (strncmp(line, prefix, sizeof prefix - 1) != 0)
        return -1;
    const char *addr = line + sizeof prefix - 1;
    size_t n = strlen(addr);
    if (n == 0 || n >= sizeof r->host || strpbrk(addr, " \t\r\n"))
        return -1;

    if (addr[0] == '/' || addr[0] == '@') { /* a Unix-domain path */
        memcpy(r->host, addr, n + 1);
        r->port = 0;
        return 0;
    }
    const char *colon;
    const char *host = addr;
    size_t host_len;
    if (addr[0] == '[') { /* [v6]:port */
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        host = addr + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
    } else { /* v4:port -- exactly one colon */
        colon = strchr(addr, ':');
        struct in_addr bare;
        if (!colon && inet_pton(AF_INET, addr, &bare) == 1) { /* a bare IPv4 address (raw sockets) */
            memcpy(r->host, addr, n + 1);
            r->port = 0;
            return 0;
        }
        if (!colon || strchr(colon + 1, ':'))
            return -1;
        host_len = (size_t)(colon - addr);
    }
    if (host_len == 0)
        return -1;
    int port = parse_port(colon + 1);
    if (port < 0)
        return -1;
    memcpy(r->host, host, host_len);
    r->host[host_len] = '\0';
    r->port = port;
    return 0;
}

int read_line(int fd, char *buf, size_t len, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    size_t used = 0;
    buf[0] = '\0';
    for (;;) {
        if (poll_until(fd, POLLIN, deadline) < 0)
            return -1;
        char ch;
        ssize_t got = read(fd, &ch, 1); /* one byte at a time: never read past the line */
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        if (ch == '\n')
            return 0;
        if (used + 1 >= len)
            return -1;
        buf[used++] = ch;
        buf[used] = '\0';
    }
}
