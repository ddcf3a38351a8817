/* simple_client.c -- the smallest TCP echo client: send all of stdin, half-close, print the reply */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (getaddrinfo, ...) under -std=c17 */

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: simple_client [--host H] --port P\n"

/* Every failure ends the program, and exit() closes every descriptor for us:
   that is all the cleanup a program this small needs. perror() adds errno's text. */
static _Noreturn void fail(const char *what)
{
    perror(what);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = NULL;
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
    long number = port != NULL ? strtol(port, &end, 10) : 0;
    if (i < argc || port == NULL || *end != '\0' || number < 1 || number > 65535) {
        fputs(USAGE, stderr);
        return 2;
    }

    // ANCHOR: connect
    /* getaddrinfo() turns a host and port into socket()'s arguments and a
       sockaddr, for IPv4 or IPv6 alike; we take the first address it returns. */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    int err = getaddrinfo(host, port, &hints, &ai);
    if (err != 0) { /* its own error codes, not errno: gai_strerror() words them */
        fprintf(stderr, "simple_client: getaddrinfo: %s\n", gai_strerror(err));
        return 1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd == -1)
        fail("simple_client: socket");
    /* connect() returns once the server has accepted the handshake. */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
        fail("simple_client: connect");
    freeaddrinfo(ai);
    // ANCHOR_END: connect

    // ANCHOR: send
    /* All of stdin first, and only then the reply: fine for a few KiB. Past what
       the socket buffers hold, both sides block in send() (chapter 2 shows it). */
    char buf[4096];
    ssize_t n, sent;
    while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0)
        for (ssize_t off = 0; off < n; off += sent) /* send() may take less than all */
            if ((sent = send(fd, buf + off, (size_t)(n - off), 0)) == -1)
                fail("simple_client: send");
    if (n == -1)
        fail("simple_client: stdin");
    /* shutdown(SHUT_WR) sends end of file: the server's recv() returns 0. */
    if (shutdown(fd, SHUT_WR) == -1)
        fail("simple_client: shutdown");
    // ANCHOR_END: send

    // ANCHOR: receive
    /* recv() returns 0 once the server has closed: the whole echo is here. */
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
            fail("simple_client: stdout");
    if (n == -1)
        fail("simple_client: recv");
    if (fflush(stdout) == EOF)
        fail("simple_client: stdout");
    if (close(fd) == -1)
        fail("simple_client: close");
    return 0;
    // ANCHOR_END: receive
}
