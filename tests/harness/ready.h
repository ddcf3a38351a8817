/* ready.h -- the READY line a server prints when it can accept traffic. */
#ifndef READY_H
#define READY_H

#include <stddef.h>

/* A parsed READY line: "READY 127.0.0.1:40123", "READY [::1]:40123" or
 * "READY /tmp/x.sock" (a Unix-domain path, port 0) or "READY 127.53.0.1" (the
 * address a raw socket is bound to: no port). */
struct ready {
    char host[256]; /* without brackets, or the path */
    int port;       /* 0 for a path */
};

/* Parses one line (without its newline). Returns 0, or -1 if it is not a
 * well-formed READY line. */
int ready_parse(const char *line, struct ready *r);

/* Reads one line from fd into buf (without the newline), waiting at most
 * timeout_ms in total. Returns 0 on a full line, -1 on timeout, end of file,
 * error or an overlong line; buf then holds what arrived (for the error). */
int read_line(int fd, char *buf, size_t len, int timeout_ms);

#endif
