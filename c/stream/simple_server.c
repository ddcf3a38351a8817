/* simple_server.c -- the smallest TCP echo server: blocking calls, one client at a time */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (getaddrinfo, ...) under -std=c17 */

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: simple_server [--host H] [--port P]\n"

/* Every failure ends the program, and exit() closes every descriptor for us:
   that is all the cleanup a program this small needs. perror() adds errno's text. */
static _Noreturn void fail(const char *what)
{
    perror(what);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = "0"; /* port 0: the kernel picks one */
    int i = 1;
    for (; i + 1 < argc; i += 2) { /* each flag and its value */
        if (strcmp(argv[i], "--host") == 0)
            host = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = argv[i + 1];
        else
            break;
    }
    char *end; /* check the port here: getaddrinfo() would take 99999 for 34463 */
    long number = strtol(port, &end, 10);
    if (i < argc || *port == '\0' || *end != '\0' || number < 0 || number > 65535) {
        fputs(USAGE, stderr);
        return 2;
    }

    // ANCHOR: listen
    /* getaddrinfo() turns a host and port into socket()'s arguments and a
       sockaddr, for IPv4 or IPv6 alike; we take the first address it returns. */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
    int err = getaddrinfo(host, port, &hints, &ai);
    if (err != 0) { /* its own error codes, not errno: gai_strerror() words them */
        fprintf(stderr, "simple_server: getaddrinfo: %s\n", gai_strerror(err));
        return 1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd == -1)
        fail("simple_server: socket");
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) /* claim the address and port */
        fail("simple_server: bind");
    if (listen(fd, SOMAXCONN) == -1) /* accept connections; queue up to SOMAXCONN */
        fail("simple_server: listen");
    freeaddrinfo(ai);
    // ANCHOR_END: listen

    // ANCHOR: ready
    /* getsockname() says which address the kernel bound (with port 0, which port);
       getnameinfo() turns it back into digits. */
    struct sockaddr_storage addr; /* big enough for any address family */
    socklen_t len = sizeof addr;
    char h[128], p[16];
    if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1)
        fail("simple_server: getsockname");
    err = getnameinfo((struct sockaddr *)&addr, len, h, sizeof h, p, sizeof p,
                      NI_NUMERICHOST | NI_NUMERICSERV);
    if (err != 0) {
        fprintf(stderr, "simple_server: getnameinfo: %s\n", gai_strerror(err));
        return 1;
    }
    /* stdout into a pipe is fully buffered: flush, or READY waits in our buffer. */
    if (printf(addr.ss_family == AF_INET6 ? "READY [%s]:%s\n" : "READY %s:%s\n", h, p) < 0 ||
        fflush(stdout) == EOF)
        fail("simple_server: stdout");
    // ANCHOR_END: ready

    // ANCHOR: serve
    for (;;) {
        /* accept() waits for a client and returns a new socket for just that one. */
        int client = accept(fd, NULL, NULL);
        if (client == -1)
            fail("simple_server: accept");
        char buf[4096];
        ssize_t n, sent;
        /* recv() waits for bytes and returns how many came, 0 at end of file. */
        while ((n = recv(client, buf, sizeof buf, 0)) > 0)
            for (ssize_t off = 0; off < n; off += sent) /* send() may take less than all */
                if ((sent = send(client, buf + off, (size_t)(n - off), 0)) == -1)
                    fail("simple_server: send");
        if (n == -1)
            fail("simple_server: recv");
        if (close(client) == -1)
            fail("simple_server: close");
    }
    // ANCHOR_END: serve
}
