/* lookup.c -- getaddrinfo(): turn a host name or a numeric address into socket addresses */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (getaddrinfo, ...) under -std=c17 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "usage: lookup [--host H]\n"

/* The numbers in a struct addrinfo, and the names we print for them. We ask only
   for stream sockets, so anything else would be a surprise: it is printed as a
   number ("proto-17") rather than hidden. */
struct name { int value; const char *name; };
static const struct name families[] = {{AF_INET, "inet"}, {AF_INET6, "inet6"}, {0, NULL}};
static const struct name types[] = {{SOCK_STREAM, "stream"}, {0, NULL}};
static const struct name protocols[] = {{IPPROTO_TCP, "tcp"}, {0, NULL}};

static const char *name_of(const struct name *table, int value, const char *prefix,
                           char *buf, size_t size)
{
    for (; table->name != NULL; table++)
        if (table->value == value)
            return table->name;
    snprintf(buf, size, "%s-%d", prefix, value);
    return buf;
}

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("lookup: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    /* The arguments, left to right; the first problem is the one reported. */
    const char *host = "localhost";
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--host") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        host = argv[++i];
    }

    /* Started with stdout closed? getaddrinfo() may open a socket to ask a DNS
       server, and it would get descriptor 1, the lowest free one. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1) {
        fprintf(stderr, "lookup: stdout: %s\n", strerror(errno));
        return 1;
    }

    // ANCHOR: resolve
    /* getaddrinfo() turns a name ("localhost") or a numeric literal ("::1") into a
       linked list of socket addresses, one per address and socket type it can be
       reached with. The hints say what we want: AF_UNSPEC means any family, IPv4
       (AF_INET) or IPv6 (AF_INET6) -- asking for one of those would drop the other's
       addresses. SOCK_STREAM keeps only stream sockets; without it each address
       would come back three times (on glibc), for stream, datagram and raw
       sockets. No service (NULL) means no port: each address's port field is 0. */
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int err = getaddrinfo(host, NULL, &hints, &res);
    if (err != 0) {
        /* getaddrinfo() returns its own error codes; gai_strerror() names them.
           EAI_SYSTEM alone means "look in errno". */
        fprintf(stderr, "lookup: resolve %s: %s\n", host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        return 1;
    }
    // ANCHOR_END: resolve

    // ANCHOR: print
    /* The list is in the resolver's order of preference (the rules of RFC 3484,
       which /etc/gai.conf can adjust; e.g. IPv6 before IPv4 where both work): a
       client should try the addresses in this order and use the first that
       connects. Each entry carries the three arguments socket() takes -- ai_family,
       ai_socktype (stream: reliable, ordered bytes) and ai_protocol (the protocol
       within that family and type, here TCP) -- and the address to connect() or
       bind() to. */
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char family[32], type[32], proto[32], addr[INET6_ADDRSTRLEN] = "?";
        /* ai_addr points to a generic struct sockaddr; ai_family says which real
           structure it is. An IPv4 address is a struct sockaddr_in: family, port
           (sin_port) and 4-byte address (sin_addr); an IPv6 one is a struct
           sockaddr_in6, with sin6_port, a 16-byte sin6_addr, sin6_flowinfo and
           sin6_scope_id (the interface, for link-local addresses). Port and address
           are stored in network byte order, most significant byte first, as they
           travel in packet headers; so to read the port as a number on a
           little-endian CPU (x86, ARM), we would need ntohs(sin_port) ("network to
           host short") -- read directly, port 80 would come out as 20480. We print
           no port, and inet_ntop() expects the address bytes in network order, so
           here nothing needs converting. inet_ntop() writes IPv6 in the short form
           of RFC 5952 ("::1") and never adds a %scope. */
        const void *bytes = NULL;
        if (ai->ai_family == AF_INET)
            bytes = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            bytes = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if (bytes != NULL && inet_ntop(ai->ai_family, bytes, addr, sizeof addr) == NULL)
            strcpy(addr, "?");
        printf("%s %s %s %s\n",
               name_of(families, ai->ai_family, "family", family, sizeof family),
               name_of(types, ai->ai_socktype, "type", type, sizeof type),
               name_of(protocols, ai->ai_protocol, "proto", proto, sizeof proto), addr);
    }
    freeaddrinfo(res); /* the list was allocated by getaddrinfo(); give it back */
    // ANCHOR_END: print

    /* stdout is buffered: a write error (a full disk, a closed pipe) shows at flush. */
    if (fflush(stdout) == EOF) {
        fprintf(stderr, "lookup: write stdout: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
