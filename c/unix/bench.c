/* bench.c -- how fast bytes move through a Unix-domain socketpair, compared with TCP over loopback */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (clock_gettime, ...) under -std=c17 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536                    /* the sender writes 64 KiB at a time */
#define DEFAULT_BYTES (256ULL << 20)   /* 256 MiB */
#define USAGE "usage: bench [--bytes N]\n"

// ANCHOR: pairs
/* socketpair(): two Unix-domain sockets, already connected: no address, no accept(). */
static int unix_pair(int fds[2])
{
    int rc = socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    if (rc == -1)
        fprintf(stderr, "bench: socketpair: %s\n", strerror(errno));
    return rc;
}

/* TCP over loopback: a listener on 127.0.0.1, port 0, then connect() and accept(),
   in one thread: the kernel does the handshake. fds[0] is the accepted socket. */
static int tcp_pair(int fds[2])
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(0),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}; /* 127.0.0.1 */
    socklen_t addr_len = sizeof addr;
    int listener = socket(AF_INET, SOCK_STREAM, 0), client = socket(AF_INET, SOCK_STREAM, 0);
    const char *failed = NULL;
    if (listener == -1 || client == -1)
        failed = "socket";
    else if (bind(listener, (struct sockaddr *)&addr, sizeof addr) == -1)
        failed = "bind";
    else if (listen(listener, 1) == -1)
        failed = "listen";
    else if (getsockname(listener, (struct sockaddr *)&addr, &addr_len) == -1)
        failed = "getsockname"; /* which port did the kernel pick? */
    else if (connect(client, (struct sockaddr *)&addr, addr_len) == -1)
        failed = "connect";
    else if ((fds[0] = accept(listener, NULL, NULL)) == -1)
        failed = "accept";
    if (failed == NULL)
        fds[1] = client;
    else
        fprintf(stderr, "bench: tcp %s: %s\n", failed, strerror(errno));
    if (failed != NULL && client != -1)
        close(client);
    if (listener != -1)
        close(listener); /* the connection lives on without it */
    return failed == NULL ? 0 : -1;
}
// ANCHOR_END: pairs

// ANCHOR: send
/* The child's side: write total bytes into fd, CHUNK at a time, then exit. It
   never prints: the parent is the one to say what happened, in one line. If a
   write fails, the exit status carries errno (every Linux errno is below 256)
   for the parent to report. _exit(), not exit(): the child has a copy of the
   parent's stdio buffers, and must not flush them a second time. */
static _Noreturn void send_bytes(int fd, unsigned long long total)
{
    static char buf[CHUNK]; /* its content doesn't matter: zeros */
    while (total > 0) {
        size_t want = total < CHUNK ? (size_t)total : CHUNK;
        /* A stream socket may take only part of a write: count what it took.
           MSG_NOSIGNAL: if the parent is gone, fail with EPIPE, don't die of
           SIGPIPE. */
        ssize_t n = send(fd, buf, want, MSG_NOSIGNAL);
        if (n == -1 && errno != EINTR)
            _exit(errno > 0 && errno < 256 ? errno : 255);
        if (n > 0)
            total -= (unsigned long long)n;
    }
    _exit(0); /* closes fd: the parent reads end-of-file */
}
// ANCHOR_END: send

// ANCHOR: clock
/* The time now, in seconds, from CLOCK_MONOTONIC: a clock that only ever goes
   forward at a steady rate, unlike the time of day (CLOCK_REALTIME), which an
   NTP correction or an administrator may set back or forth mid-measurement. */
static int now(double *seconds)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
        fprintf(stderr, "bench: clock_gettime: %s\n", strerror(errno));
        return -1;
    }
    *seconds = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return 0;
}
// ANCHOR_END: clock

// ANCHOR: fork
/* Send total bytes from a child process to us through the connected pair fds,
   and time it: from just before fork() until we read end-of-file. fds[1] is
   the child's end, fds[0] ours; both are closed on return. Returns 0 with the
   elapsed seconds, or -1 after printing one line. */
static int measure(const char *label, int fds[2], unsigned long long total, double *elapsed)
{
    double start, end = 0;
    if (now(&start) == -1) {
        close(fds[0]), close(fds[1]);
        return -1;
    }
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == -1) {
        fprintf(stderr, "bench: fork: %s\n", strerror(errno));
        close(fds[0]), close(fds[1]);
        return -1;
    }
    if (child == 0) {
        /* The child must not outlive us. Normally it ends by itself: it exits
           after its last write, or its write fails once we have closed our end.
           PR_SET_PDEATHSIG (Linux) covers the rest: if we die, however we die,
           the kernel sends the child SIGKILL. If we died before the prctl()
           call, the child has a new parent already: check, and go. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
            _exit(255);
        close(fds[0]); /* only the parent reads */
        send_bytes(fds[1], total);
    }
    // ANCHOR_END: fork
    // ANCHOR: collect
    /* The parent: close the child's end. Our copy would keep the connection's
       write side open, and we would never see end-of-file. */
    close(fds[1]);
    static char buf[CHUNK];
    unsigned long long received = 0;
    int status = -1;
    for (;;) {
        ssize_t n = recv(fds[0], buf, sizeof buf, 0);
        if (n > 0) {
            received += (unsigned long long)n;
        } else if (n == 0) {
            status = 0; /* end of file: the child sent all it will send */
            break;
        } else if (errno != EINTR) {
            fprintf(stderr, "bench: %s: recv: %s\n", label, strerror(errno));
            kill(child, SIGKILL); /* Best effort: it may have exited already. */
            break;
        }
    }
    if (status == 0 && now(&end) == -1)
        status = -1;
    close(fds[0]);
    // ANCHOR_END: collect

    // ANCHOR: wait
    /* waitpid() collects the child's exit status, so no zombie is left behind. */
    int child_status;
    while (waitpid(child, &child_status, 0) == -1) {
        if (errno != EINTR) {
            fprintf(stderr, "bench: waitpid: %s\n", strerror(errno));
            return -1;
        }
    }
    if (status == -1)
        return -1; /* already reported */
    if (WIFSIGNALED(child_status)) {
        fprintf(stderr, "bench: %s: the sender was killed by signal %d after %llu of %llu bytes\n",
                label, WTERMSIG(child_status), received, total);
        return -1;
    }
    if (!WIFEXITED(child_status) || WEXITSTATUS(child_status) == 255) {
        fprintf(stderr, "bench: %s: the sending process failed\n", label);
        return -1;
    }
    if (WEXITSTATUS(child_status) != 0) {
        fprintf(stderr, "bench: %s: send: %s\n", label, strerror(WEXITSTATUS(child_status)));
        return -1;
    }
    if (received != total) {
        fprintf(stderr, "bench: %s: received %llu of %llu bytes\n", label, received, total);
        return -1;
    }
    *elapsed = end - start;
    if (*elapsed <= 0)
        *elapsed = 1e-9; /* a clock too coarse to see it: say 1 ns, not divide by 0 */
    return 0;
}
// ANCHOR_END: wait

/* --bytes: a whole decimal number from 1 that fits an unsigned long long.
   Returns it, or 0 for anything else ("0", "-1", "1e9", "12abc", too big). */
static unsigned long long parse_bytes(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || strspn(s, "0123456789") != len)
        return 0;
    errno = 0;
    unsigned long long n = strtoull(s, NULL, 10);
    return errno == 0 ? n : 0;
}

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("bench: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    /* The arguments, left to right; the first problem is the one reported. */
    unsigned long long total = DEFAULT_BYTES;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--bytes") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        total = parse_bytes(argv[++i]);
        if (total == 0)
            usage_error("bad bytes: %s", argv[i]);
    }

    /* Started with stdout closed? Then a socket would get descriptor 1, the
       lowest free one, and the results would go into it. */
    if (fcntl(STDOUT_FILENO, F_GETFD) == -1) {
        fprintf(stderr, "bench: stdout: %s\n", strerror(errno));
        return 1;
    }

    /* One run over each kind of socket; the results are printed at the end, so
       that no half-filled stdio buffer is copied into a child by fork(). */
    int fds[2];
    double unix_s, tcp_s;
    if (unix_pair(fds) == -1 || measure("unix-stream", fds, total, &unix_s) == -1 ||
        tcp_pair(fds) == -1 || measure("tcp-loopback", fds, total, &tcp_s) == -1)
        return 1;

    /* MiB/s: bytes / 2^20 / seconds. The ratio of the two rates is the ratio of
       the two times, the other way round. */
    double mib = (double)total / (1024.0 * 1024.0);
    if (printf("%-12s %llu bytes in %.3f s: %.1f MiB/s\n", "unix-stream", total, unix_s,
               mib / unix_s) < 0 ||
        printf("%-12s %llu bytes in %.3f s: %.1f MiB/s\n", "tcp-loopback", total, tcp_s,
               mib / tcp_s) < 0 ||
        printf("unix/tcp: %.2fx\n", tcp_s / unix_s) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "bench: stdout: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
