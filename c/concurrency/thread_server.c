/* thread_server.c -- a concurrent TCP echo server: one POSIX thread per client */

#define _GNU_SOURCE /* signalfd() is Linux's own; this also declares every POSIX call */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define PROG "thread_server"
#define BUF_SIZE 65536 /* read up to 64 KiB at a time */

// ANCHOR: conns
/* Every connection being served, in a list, so that stopping can reach them.
   One mutex guards the list, the thread count and the stopping flag. (On a
   default mutex, lock and unlock cannot fail, so we don't check them.) */
struct conn {
    int fd;
    char peer[ADDR_LEN];
    struct conn *prev, *next;
};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER; /* signalled when n_threads is 0 */
static struct conn *conns;
static size_t n_threads;
static int stopping;
// ANCHOR_END: conns

// ANCHOR: list
/* Put c on the list (its thread is about to start). */
static void add_conn(struct conn *c)
{
    pthread_mutex_lock(&lock);
    c->prev = NULL, c->next = conns;
    if (conns != NULL)
        conns->prev = c;
    conns = c;
    n_threads++;
    pthread_mutex_unlock(&lock);
}

/* Take c off the list; returns whether the server is stopping. */
static int remove_conn(struct conn *c)
{
    pthread_mutex_lock(&lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    int quiet = stopping;
    pthread_mutex_unlock(&lock);
    return quiet;
}

/* A thread's last act: the last one out tells stop_all(). */
static void thread_done(void)
{
    pthread_mutex_lock(&lock);
    if (--n_threads == 0)
        pthread_cond_signal(&all_done);
    pthread_mutex_unlock(&lock);
}
// ANCHOR_END: list

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

/* The thread's whole life: blocking calls, as in a one-client server, because
   a blocked thread holds up no one else. The buffer is on this thread's stack. */
static void *serve(void *arg)
{
    struct conn *c = arg;
    char buf[BUF_SIZE];
    long long echoed = 0;
    ssize_t n;
    while ((n = recv(c->fd, buf, sizeof buf, 0)) != 0) {
        if (n > 0 && send_all(c->fd, buf, (size_t)n) == 0)
            echoed += n;
        else if (errno != EINTR)
            break; /* a reset, EPIPE, or shutdown() by stop_all() */
    }
    int err = n == 0 ? 0 : errno;
    if (!remove_conn(c)) { /* once we are stopping, the stop line says it all */
        if (err != 0)
            log_line(PROG, "%s: %s", c->peer, strerror(err));
        else
            log_line(PROG, "%s: closed, %lld bytes echoed", c->peer, echoed);
    }
    close(c->fd); /* off the list first: stop_all() must never see a closed fd */
    free(c);
    thread_done();
    return NULL;
}
// ANCHOR_END: echo

// ANCHOR: attr
/* How every client's thread is made: detached (nobody joins it; what it holds
   goes when it ends) and with a 256 KiB stack instead of the default 8 MiB
   (ulimit -s): room for its 64 KiB buffer, and 1,000 clients cost 256 MiB of
   address space rather than 8 GiB. */
static pthread_attr_t thread_attr;

static int init_thread_attr(void)
{
    int err = pthread_attr_init(&thread_attr);
    if (err == 0)
        err = pthread_attr_setdetachstate(&thread_attr, PTHREAD_CREATE_DETACHED);
    if (err == 0)
        err = pthread_attr_setstacksize(&thread_attr, 256 * 1024);
    return err;
}
// ANCHOR_END: attr

// ANCHOR: accept
/* Accept one client and start a thread for it. Returns 1 when accept() failed
   for want of descriptors or memory (wait a little before retrying). */
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
    struct conn *c = malloc(sizeof *c);
    if (c == NULL) {
        log_line(PROG, "accept: %s", strerror(errno));
        close(fd);
        return 0;
    }
    c->fd = fd;
    format_address((struct sockaddr *)&addr, len, c->peer, sizeof c->peer);
    log_line(PROG, "connection from %s", c->peer);
    add_conn(c); /* before the thread starts: it may finish at once */
    pthread_t tid;
    int err = pthread_create(&tid, &thread_attr, serve, c); /* an error number, not -1 */
    if (err != 0) {
        log_line(PROG, "%s: thread: %s", c->peer, strerror(err));
        remove_conn(c);
        thread_done();
        close(fd);
        free(c);
    }
    return 0;
}
// ANCHOR_END: accept

// ANCHOR: stop
/* shutdown() wakes a thread blocked in recv() (it returns 0) or send() (EPIPE)
   on that socket: each thread then finishes on its own, and the last one out
   signals all_done. */
static void stop_all(void)
{
    pthread_mutex_lock(&lock);
    stopping = 1;
    for (struct conn *c = conns; c != NULL; c = c->next)
        if (shutdown(c->fd, SHUT_RDWR) == -1 && errno != ENOTCONN) /* ENOTCONN: reset already */
            log_line(PROG, "%s: shutdown: %s", c->peer, strerror(errno));
    while (n_threads > 0)
        pthread_cond_wait(&all_done, &lock); /* unlocks while it waits */
    pthread_mutex_unlock(&lock);
}
// ANCHOR_END: stop

int main(int argc, char **argv)
{
    struct options opt;
    parse_options(argc, argv, PROG, &opt);

    // ANCHOR: signals
    /* Blocked signals stay pending; blocked here, before any thread starts, they
       are blocked in every thread (a new thread inherits the mask). signalfd()
       then hands them to us as data to read, on a descriptor poll() can watch:
       no handler runs, so no thread is ever interrupted. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    struct sigaction ignore = {.sa_handler = SIG_IGN}; /* send() fails with EPIPE instead */
    sigemptyset(&ignore.sa_mask);
    int sig_fd = -1;
    if (sigprocmask(SIG_BLOCK, &stop_set, NULL) == -1 ||
        (sig_fd = signalfd(-1, &stop_set, SFD_CLOEXEC)) == -1 ||
        sigaction(SIGPIPE, &ignore, NULL) == -1) {
        log_line(PROG, "signal setup: %s", strerror(errno));
        return 1;
    }
    // ANCHOR_END: signals

    int err = init_thread_attr();
    if (err != 0) {
        log_line(PROG, "thread attributes: %s", strerror(err));
        return 1;
    }
    raise_open_file_limit(PROG);
    int listen_fd = listen_on(PROG, opt.host, opt.port);
    int status = 1;
    if (fcntl(listen_fd, F_SETFL, O_NONBLOCK) == -1) { /* poll() does all our waiting */
        log_line(PROG, "fcntl: %s", strerror(errno));
        goto out;
    }

    // ANCHOR: loop
    /* The main thread only accepts. Out of descriptors, it stops watching the
       listener for 100 ms, or accept() would fail again at once. */
    struct pollfd fds[2] = {{.fd = sig_fd, .events = POLLIN}, {.fd = listen_fd, .events = POLLIN}};
    struct signalfd_siginfo info = {0};
    for (;;) {
        int n = poll(fds, 2, fds[1].events ? -1 : 100);
        if (n == -1 && errno != EINTR) {
            log_line(PROG, "poll: %s", strerror(errno));
            break;
        }
        if (n > 0 && fds[0].revents != 0) {
            if (read(sig_fd, &info, sizeof info) == sizeof info)
                break; /* SIGTERM or SIGINT */
            log_line(PROG, "signalfd: %s", strerror(errno));
        }
        int listening = fds[1].events != 0;
        fds[1].events = POLLIN;
        if (listening && n > 0 && fds[1].revents != 0 && accept_client(listen_fd))
            fds[1].events = 0;
    }
    // ANCHOR_END: loop

    if (close(listen_fd) == -1) /* new clients are refused from here on */
        log_line(PROG, "close: %s", strerror(errno));
    listen_fd = -1;
    stop_all();
    if (info.ssi_signo != 0) {
        log_line(PROG, "stopping on %s", info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }

out:
    if (listen_fd != -1)
        close(listen_fd);
    close(sig_fd);
    pthread_attr_destroy(&thread_attr);
    return status;
}
