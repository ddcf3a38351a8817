/* c/concurrency/common.h -- what every chapter 6 server shares: flags, limits, the listening socket, peers, logs. */

/* Include this after the file's feature-test macro (_POSIX_C_SOURCE or
   _GNU_SOURCE) and its system headers: it needs socklen_t and struct sockaddr. */
#ifndef CONCURRENCY_COMMON_H
#define CONCURRENCY_COMMON_H

#include <stddef.h>
#include <sys/socket.h>

#define ADDR_LEN 160              /* room for "[any numeric IPv6 address%scope]:65535" */
#define LISTEN_BACKLOG 1024       /* connections the kernel queues before we accept() them */
#define MAX_UNSENT (1024 * 1024)  /* at most 1 MiB of echo waiting to be sent, per client */

struct options { const char *host; const char *port; };

/* Parses --host/--port/--help per CONTRACT.md 3 and 3.1 for program `prog` (usage: <prog> [--host H] [--port P]); prints usage and exits 2 on a bad command line, exits 0 after --help. */
void parse_options(int argc, char **argv, const char *prog, struct options *o);

/* Raises the soft RLIMIT_NOFILE to the hard limit; on failure logs one line and goes on. */
void raise_open_file_limit(const char *prog);

/* Resolves host (passive), tries every address (SO_REUSEADDR, bind, listen with backlog 1024), prints READY from getsockname and flushes; on failure prints the 3.2 error line and exits 1. Returns the listening descriptor (blocking, CLOEXEC). */
int listen_on(const char *prog, const char *host, const char *port);

/* Formats a socket address as the READY line does: 127.0.0.1:4000, [::1]:4000. */
void format_address(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen);

/* One log line on stderr, "<prog>: " + the formatted text + "\n", written with one write(2) so lines from many threads/processes never interleave. */
void log_line(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
