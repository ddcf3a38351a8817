/* fork_server.c -- a concurrent TCP echo server: one process per client, made with fork() */

#define _POSIX_C_SOURCE 200809L /* declare POSIX calls (sigaction, waitpid, ...) under -std=c17 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define PROG "fork_server"
#define BUF_SIZE 65536 /* read up to 64 KiB at a time */

// ANCHOR: signals
/* Three signals wake the accept loop: SIGTERM and SIGINT (stop) and SIGCHLD (a
   child has exited). The handler only sets a flag and write()s a byte to a pipe
   that poll() watches: the self-pipe trick, as in echo_server. */
static volatile sig_atomic_t stop_signal; /* 0 until SIGTERM or SIGINT arrives */
static int signal_pipe[2];                /* [0] is polled, [1] is written by the handler */

static void on_signal(int sig)
{
    int saved_errno = errno; /* don't disturb errno for the code we interrupted */
    if (sig != SIGCHLD)
        stop_signal = sig;
    ssize_t n = write(signal_pipe[1], "x", 1); /* Best effort: if the pipe is full, */
    (void)n;                                   /* a byte is waiting there already. */
    errno = saved_errno;
}

/* SA_NOCLDSTOP: a child that is merely stopped (SIGSTOP) is no news. SIGPIPE is
   ignored, so a send() to a client that has gone fails with EPIPE instead. */
static void install_handlers(void)
{
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_NOCLDSTOP};
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    sigemptyset(&ignore.sa_mask);
    if (pipe(signal_pipe) == -1 || fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK) == -1 ||
        fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK) == -1 || sigaction(SIGTERM, &sa, NULL) == -1 ||
        sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGCHLD, &sa, NULL) == -1 ||
        sigaction(SIGPIPE, &ignore, NULL) == -1) {
        log_line(PROG, "signal setup: %s", strerror(errno));
        exit(1);
    }
}
// ANCHOR_END: signals

// ANCHOR: children
/* The parent remembers its children, to tell them to stop when it does. */
static pid_t *children;
static size_t n_children, children_room;

/* Make room for one more child before we fork it: afterwards is too late. */
static int make_room(void)
{
    if (n_children < children_room)
        return 0;
    size_t room = children_room ? 2 * children_room : 64;
    pid_t *bigger = realloc(children, room * sizeof *bigger);
    if (bigger == NULL)
        return -1;
    children = bigger, children_room = room;
    return 0;
}

/* waitpid() collects a child that has exited; until then it is a zombie, a
   process table entry kept for its exit status. WNOHANG: return 0 at once if
   no other child has exited yet; 0 for options waits for each one in turn. */
static void reap(int options)
{
    while (n_children > 0) {
        pid_t pid = waitpid(-1, NULL, options); /* -1: any child of ours */
        if (pid == -1 && errno == EINTR)
            continue;
        if (pid == -1)
            log_line(PROG, "waitpid: %s", strerror(errno));
        if (pid <= 0)
            return;
        for (size_t i = 0; i < n_children; i++)
            if (children[i] == pid) {
                children[i] = children[--n_children];
                break;
            }
    }
}
// ANCHOR_END: children

// ANCHOR: echo
/* Loop until send() has taken all of it; with SIGPIPE ignored, a client that
   has gone makes it fail with EPIPE. */
static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, 0);
        if (n == -1 && errno != EINTR)
            return -1;
        if (n > 0)
            buf += n, len -= (size_t)n;
    }
    return 0;
}

/* A child serves its one client with plain blocking calls: it has nothing else
   to do. The accepted socket is blocking even though the listening one is not
   (Linux's accept() does not pass O_NONBLOCK on). */
static void serve(int fd, const char *peer)
{
    char buf[BUF_SIZE];
    long long echoed = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) { /* end of file: the client half-closed */
            log_line(PROG, "%s: closed, %lld bytes echoed", peer, echoed);
            return;
        }
        if (n > 0 && send_all(fd, buf, (size_t)n) == 0)
            echoed += n;
        else if (errno != EINTR) { /* a reset, EPIPE, ... */
            log_line(PROG, "%s: %s", peer, strerror(errno));
            return;
        }
    }
}
// ANCHOR_END: echo

// ANCHOR: child
/* In the child: SIGTERM and SIGINT get their default action back (the kernel
   ends the process and closes its sockets), then the signals that were blocked
   around fork() arrive, if any did. _exit(), not exit(): the stdio buffers and
   atexit() handlers are the parent's copies, not ours to flush or run. */
static _Noreturn void child(int listen_fd, int fd, const char *peer, const sigset_t *mask)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    if (sigaction(SIGTERM, &dfl, NULL) == -1 || sigaction(SIGINT, &dfl, NULL) == -1 ||
        sigaction(SIGCHLD, &dfl, NULL) == -1 || sigprocmask(SIG_SETMASK, mask, NULL) == -1) {
        log_line(PROG, "%s: signal setup: %s", peer, strerror(errno));
        _exit(1);
    }
    /* Our copies of the parent's descriptors: the child needs none of them. */
    if (close(listen_fd) == -1 || close(signal_pipe[0]) == -1 || close(signal_pipe[1]) == -1)
        log_line(PROG, "%s: close: %s", peer, strerror(errno));
    serve(fd, peer);
    if (close(fd) == -1)
        log_line(PROG, "%s: close: %s", peer, strerror(errno));
    _exit(0);
}
// ANCHOR_END: child

// ANCHOR: accept
/* Accept one client and fork a child to serve it. Returns 1 when accept()
   failed for want of descriptors or memory (wait a little before retrying). */
static int accept_client(int listen_fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    int fd = accept(listen_fd, (struct sockaddr *)&addr, &len);
    if (fd == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0; /* the client gave up before we got to it */
        log_line(PROG, "accept: %s", strerror(errno));
        return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
    }
    char peer[ADDR_LEN];
    format_address((struct sockaddr *)&addr, len, peer, sizeof peer);
    log_line(PROG, "connection from %s", peer);
    /* Block SIGTERM and SIGINT across fork(): a child must not run our handler. */
    sigset_t stop_set, old;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    if (make_room() == -1 || sigprocmask(SIG_BLOCK, &stop_set, &old) == -1) {
        log_line(PROG, "%s: %s", peer, strerror(errno));
    } else {
        pid_t pid = fork(); /* from here on two processes run this code: 0 means the child */
        if (pid == 0)
            child(listen_fd, fd, peer, &old);
        if (pid == -1)
            log_line(PROG, "%s: fork: %s", peer, strerror(errno));
        else
            children[n_children++] = pid;
        if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
            log_line(PROG, "sigprocmask: %s", strerror(errno));
    }
    if (close(fd) == -1) /* the child has its own copy: this one is not needed */
        log_line(PROG, "%s: close: %s", peer, strerror(errno));
    return 0;
}
// ANCHOR_END: accept

int main(int argc, char **argv)
{
    struct options opt;
    parse_options(argc, argv, PROG, &opt);
    install_handlers(); /* before READY: the harness may signal right after it */
    raise_open_file_limit(PROG);
    int listen_fd = listen_on(PROG, opt.host, opt.port);
    int status = 1;
    if (fcntl(listen_fd, F_SETFL, O_NONBLOCK) == -1) { /* poll() does all our waiting */
        log_line(PROG, "fcntl: %s", strerror(errno));
        goto out;
    }

    // ANCHOR: loop
    /* poll() sleeps until a client is waiting or a signal came. Out of
       descriptors, we stop watching the listener for 100 ms, or accept() would
       fail again at once, as fast as we can call it. */
    struct pollfd fds[2] = {{.fd = signal_pipe[0], .events = POLLIN},
                            {.fd = listen_fd, .events = POLLIN}};
    while (!stop_signal) {
        int n = poll(fds, 2, fds[1].events ? -1 : 100);
        if (n == -1 && errno != EINTR) {
            log_line(PROG, "poll: %s", strerror(errno));
            break;
        }
        char drain[64];
        while (read(signal_pipe[0], drain, sizeof drain) > 0)
            continue; /* the bytes only woke us; the flag says what happened */
        reap(WNOHANG);
        int listening = fds[1].events != 0;
        fds[1].events = POLLIN;
        if (!stop_signal && listening && n > 0 && fds[1].revents != 0 && accept_client(listen_fd))
            fds[1].events = 0;
    }
    // ANCHOR_END: loop

    // ANCHOR: stop
    /* Stop accepting (new clients are refused), tell every child to stop, and
       wait for them all: none may outlive us. */
    if (close(listen_fd) == -1)
        log_line(PROG, "close: %s", strerror(errno));
    listen_fd = -1;
    for (size_t i = 0; i < n_children; i++)
        if (kill(children[i], SIGTERM) == -1)
            log_line(PROG, "kill %ld: %s", (long)children[i], strerror(errno));
    reap(0);
    if (stop_signal != 0) {
        log_line(PROG, "stopping on %s", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }
    // ANCHOR_END: stop

out:
    if (listen_fd != -1)
        close(listen_fd);
    free(children);
    return status;
}
