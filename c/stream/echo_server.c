/* echo_server.c -- a TCP echo server: socket, bind, listen, accept, one client at a time */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (getaddrinfo, sigaction) under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536 /* read up to 64 KiB at a time */
#define ADDR_LEN 160   /* room for "[any numeric IPv6 address%scope]:65535" */
#define USAGE "usage: echo_server [--host H] [--port P]\n"

/* Format a socket address as "127.0.0.1:40123" or "[::1]:40123". getnameinfo() is
   getaddrinfo() in reverse; NI_NUMERIC* asks for digits rather than a DNS lookup. */
static void format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
    char host[128], port[16];
    if (getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, size, "(unknown address)");
    else if (sa->sa_family == AF_INET6)
        snprintf(out, size, "[%s]:%s", host, port);
    else
        snprintf(out, size, "%s:%s", host, port);
}

// ANCHOR: stop
/* The handler does only async-signal-safe things: it sets a flag and write()s a
   byte to a non-blocking pipe, which wakes wait_for()'s poll(): the self-pipe trick. */
static volatile sig_atomic_t stop_signal; /* 0 until SIGTERM or SIGINT arrives */
static int stop_pipe[2];                  /* [0] is polled, [1] is written by the handler */

static void on_signal(int sig)
{
    int saved_errno = errno; /* don't disturb errno for the code we interrupted */
    stop_signal = sig;
    ssize_t n = write(stop_pipe[1], "x", 1); /* Best effort: if the pipe is full, */
    (void)n;                                 /* a byte is waiting there already. */
    errno = saved_errno;
}

static void install_stop_handler(void)
{
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: calls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    if (pipe(stop_pipe) == -1 || fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) == -1 ||
        sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1) {
        fprintf(stderr, "echo_server: signal setup: %s\n", strerror(errno));
        exit(1);
    }
}

/* 0 when fd is ready for events (POLLIN, POLLOUT); -1 when we must stop. */
static int wait_for(int fd, short events)
{
    struct pollfd fds[2] = {{.fd = fd, .events = events}, {.fd = stop_pipe[0], .events = POLLIN}};
    while (!stop_signal) {
        int n = poll(fds, 2, -1); /* -1: no timeout, sleep until something happens */
        if (n > 0 && fds[0].revents != 0)
            return 0; /* ready, or an error that the next recv()/send() will report */
        if (n == -1 && errno != EINTR) {
            fprintf(stderr, "echo_server: poll: %s\n", strerror(errno));
            return -1;
        }
    }
    return -1;
}
// ANCHOR_END: stop

// ANCHOR: listen
/* Resolve host and port, then socket(), bind() and listen() on the first address
   that works. Returns the listening socket, or -1 after printing why not. */
static int open_listener(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV}; /* the port is a number */
    struct addrinfo *res; /* a list, each entry with socket()'s arguments and an address */
    int err = getaddrinfo(host, port, &hints, &res);
    if (err != 0) { /* getaddrinfo() has its own error codes; EAI_SYSTEM means errno */
        fprintf(stderr, "echo_server: resolve %s: %s\n", host,
                err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
        return -1;
    }
    int fd = -1, saved_errno = 0, one = 1;
    const char *failed = "bind";
    char name[ADDR_LEN] = "";
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        format_addr(ai->ai_addr, ai->ai_addrlen, name, sizeof name);
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        /* An option's value goes by pointer (an int, 1 for on); SOMAXCONN: the most. */
        if (fd == -1)
            failed = "socket for";
        else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
            failed = "setsockopt SO_REUSEADDR on";
        else if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
            failed = "bind";
        else if (listen(fd, SOMAXCONN) == -1)
            failed = "listen on";
        else
            break; /* success: fd is listening */
        saved_errno = errno;
        if (fd != -1)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd == -1) /* only the last failure is reported: one line, whatever we tried */
        fprintf(stderr, "echo_server: %s %s: %s\n", failed, name, strerror(saved_errno));
    return fd;
}
// ANCHOR_END: listen

// ANCHOR: echo
/* Loop until send() has taken all of it. MSG_NOSIGNAL: a peer that has gone
   makes send() fail with EPIPE, instead of raising SIGPIPE, which would kill us. */
static int send_all(int fd, const char *buf, size_t len, const char *peer)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            buf += n, len -= (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_for(fd, POLLOUT) == -1) /* send buffer full: wait for room */
                return -1;
        } else if (errno != EINTR) {
            fprintf(stderr, "echo_server: %s: %s\n", peer, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Serve one client until it half-closes, waiting in poll() before each recv(). */
static void serve(int fd, const char *peer)
{
    char buf[BUF_SIZE];
    long long echoed = 0;
    while (wait_for(fd, POLLIN) == 0) { /* until there is something to read, or a signal */
        ssize_t n = recv(fd, buf, sizeof buf, 0); /* whatever has arrived, up to 64 KiB */
        if (n > 0) {
            if (send_all(fd, buf, (size_t)n, peer) == -1)
                return;
            echoed += n;
        } else if (n == 0) { /* end of file: the client half-closed */
            fprintf(stderr, "echo_server: %s: closed, %lld bytes echoed\n", peer, echoed);
            return;
        } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            fprintf(stderr, "echo_server: %s: %s\n", peer, strerror(errno));
            return;
        }
    }
}
// ANCHOR_END: echo

/* A port is 1 to 5 decimal digits with a value from min to 65535. */
static int valid_port(const char *s, long min)
{
    size_t len = strlen(s);
    if (len == 0 || len > 5 || strspn(s, "0123456789") != len)
        return 0;
    long port = strtol(s, NULL, 10);
    return port >= min && port <= 65535;
}

/* A usage error: one line saying what is wrong, then the usage line, both on
   stderr; exit 2. The format and what follows it work as for printf(). */
static __attribute__((format(printf, 1, 2))) _Noreturn void usage_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("echo_server: ", stderr);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\n" USAGE, stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    /* The arguments, left to right; the first problem is the one reported. */
    const char *host = "127.0.0.1", *port = "0";
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(flag, "--host") != 0 && strcmp(flag, "--port") != 0)
            usage_error(flag[0] == '-' ? "unknown option: %s" : "unexpected argument: %s", flag);
        if (i + 1 == argc)
            usage_error("%s needs a value", flag);
        const char *value = argv[++i];
        if (strcmp(flag, "--host") == 0)
            host = value;
        else if (valid_port(value, 0))
            port = value;
        else
            usage_error("bad port: %s", value);
    }

    install_stop_handler(); /* before READY: the harness may signal right after it */
    int listen_fd = open_listener(host, port);
    if (listen_fd == -1)
        return 1;
    int status = 1;

    // ANCHOR: ready
    /* getsockname() asks the kernel which address the socket is bound to: with
       port 0, that is how we learn the port it picked. sockaddr_storage is big
       enough for any address family. */
    struct sockaddr_storage addr;
    socklen_t addr_len = sizeof addr;
    char name[ADDR_LEN];
    if (getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len) == -1) {
        fprintf(stderr, "echo_server: getsockname: %s\n", strerror(errno));
        goto out;
    }
    format_addr((struct sockaddr *)&addr, addr_len, name, sizeof name);
    /* When stdout is a pipe it is fully buffered: flush, or the line sits in
       our buffer while whoever started us waits for it. */
    if (printf("READY %s\n", name) < 0 || fflush(stdout) == EOF) {
        fprintf(stderr, "echo_server: stdout: %s\n", strerror(errno));
        goto out;
    }
    // ANCHOR_END: ready

    // ANCHOR: accept
    /* All our waiting happens in poll(), which also watches the stop pipe. So the
       sockets are non-blocking (O_NONBLOCK): accept(), recv() and send() never
       sleep; if they can do nothing right now, they fail with EAGAIN. */
    if (fcntl(listen_fd, F_SETFL, O_NONBLOCK) == -1) {
        fprintf(stderr, "echo_server: fcntl: %s\n", strerror(errno));
        goto out;
    }
    while (wait_for(listen_fd, POLLIN) == 0) {
        /* accept() takes the next connection off the queue and returns a NEW socket
           for talking to that one client; listen_fd goes on listening. */
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_len);
        if (fd == -1) {
            /* One failed connection must not stop the server: log it, go on. */
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fprintf(stderr, "echo_server: accept: %s\n", strerror(errno));
            continue;
        }
        format_addr((struct sockaddr *)&peer, peer_len, name, sizeof name);
        fprintf(stderr, "echo_server: connection from %s\n", name);
        if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
            fprintf(stderr, "echo_server: %s: %s\n", name, strerror(errno));
        else
            serve(fd, name);
        close(fd); /* done with this client, whatever happened: next one */
    }
    /* The loop ends when a signal came -- a normal stop -- or poll() failed. Now,
       outside the handler, we may call fprintf(). */
    if (stop_signal != 0) {
        fprintf(stderr, "echo_server: stopping on %s\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }
    // ANCHOR_END: accept

out:
    close(listen_fd);
    return status;
}
