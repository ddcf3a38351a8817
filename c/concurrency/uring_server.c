/* uring_server.c -- a concurrent TCP echo server: one thread, io_uring, the kernel does the I/O */

#define _GNU_SOURCE /* signalfd, and what liburing.h uses, under -std=c17 */

#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define PROG "uring_server"
#define QUEUE_DEPTH 4096 /* submission queue entries; the completion queue gets twice as many */
#define BUF_SIZE 16384   /* one recv() brings at most 16 KiB */
#define BUF_COUNT 2048   /* buffers in the pool (a power of two): 32 MiB in all */
#define BUF_GROUP 0      /* the pool's number, which a recv names */

// ANCHOR: ring
/* epoll says when a socket is *ready*, and then we make the call ourselves.
   io_uring takes the call: we write requests ("accept on this socket", "recv
   from that one", "send these bytes") into the submission queue (SQ), a ring
   of entries in memory we share with the kernel; the kernel does the I/O
   when it can and writes a completion into the completion queue (CQ),
   another shared ring: the request's user_data, and the result the call
   would have returned (-errno for a failure). One io_uring_enter() system
   call (liburing's io_uring_submit_and_wait()) hands over a whole batch of
   requests and sleeps until a completion arrives; reading completions
   takes no system call at all. So the sockets need not be non-blocking:
   nothing we call waits for a client; the kernel waits instead. */
static struct io_uring ring;

/* Each connection has one operation in flight at a time: recv, then send
   until all of it has gone, then recv again. The 64-bit user_data, which the
   kernel hands back untouched, names the connection (by its descriptor) and
   the operation. */
enum op { ACCEPT, RECV, SEND, SIGNAL, RESUME };

static uint64_t tag(int fd, enum op op)
{
    return (uint64_t)fd << 8 | op;
}

/* A free submission queue entry; when the SQ is full, submit it to make room. */
static struct io_uring_sqe *new_sqe(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (sqe == NULL) {
        int err = io_uring_submit(&ring); /* liburing returns -errno; errno is untouched */
        sqe = err < 0 ? NULL : io_uring_get_sqe(&ring);
        if (sqe == NULL)
            errno = err < 0 ? -err : EBUSY;
    }
    return sqe; /* NULL only if the kernel took no entries: the server cannot go on */
}
// ANCHOR_END: ring

// ANCHOR: buffers
/* A recv waiting on an idle client needs memory to land in: 10,000 idle
   clients with 16 KiB each would be 160 MB. So recv does not name a buffer;
   it names a pool that we register with the kernel (a "buffer ring" of
   provided buffers), and the kernel takes a buffer from it only when data
   arrives, telling us which one in the completion. The client holds it
   until its echo has been sent, then we give it back; a client that does
   not read gets no recv until it does, so its sends stall: backpressure.
   The server holds at most 16 KiB of unsent echo per client (the bound is
   1 MiB), and 10,000 connections cost their structs and the 32 MiB pool.
   Simplification: 2,048 clients that all stop reading would hold every
   buffer and stall the rest; a bigger server would add pools as it grew. */
static char *pool;                         /* BUF_COUNT buffers of BUF_SIZE bytes */
static struct io_uring_buf_ring *buf_ring; /* the ring of free buffers, shared with the kernel */
static int buffers_held;                   /* filled for us by the kernel, not yet given back */

static int setup_buffers(void)
{
    long page = sysconf(_SC_PAGESIZE); /* the ring must start on a page */
    void *ring_memory = NULL;
    int err = page > 0 ? posix_memalign(&ring_memory, (size_t)page,
                                        BUF_COUNT * sizeof(struct io_uring_buf)) : EINVAL;
    if (err != 0)
        return -err;
    buf_ring = ring_memory;
    if ((pool = malloc((size_t)BUF_COUNT * BUF_SIZE)) == NULL)
        return -ENOMEM;
    struct io_uring_buf_reg reg = {.ring_addr = (uintptr_t)buf_ring, .ring_entries = BUF_COUNT,
                                   .bgid = BUF_GROUP};
    err = io_uring_register_buf_ring(&ring, &reg, 0);
    if (err < 0)
        return err;
    io_uring_buf_ring_init(buf_ring);
    for (int bid = 0; bid < BUF_COUNT; bid++) /* buffer bid is pool + bid * BUF_SIZE */
        io_uring_buf_ring_add(buf_ring, pool + (size_t)bid * BUF_SIZE, BUF_SIZE,
                              (unsigned short)bid, io_uring_buf_ring_mask(BUF_COUNT), bid);
    io_uring_buf_ring_advance(buf_ring, BUF_COUNT); /* now the kernel sees all of them */
    return 0;
}
// ANCHOR_END: buffers

/* One client. conns[fd] is the client on descriptor fd, NULL for none. */
struct conn {
    int fd;
    unsigned short bid;     /* the buffer holding its echo, while a send is in flight */
    unsigned len, sent;     /* that echo's length, and how much of it has gone */
    long long echoed;       /* bytes sent back so far, for the "closed" log line */
    struct conn *next_waiting;
    char peer[ADDR_LEN];
};

static struct conn **conns;
static size_t conns_size;                        /* the open file limit: no fd reaches it */
static struct conn *waiting, *last_waiting;      /* clients waiting for a free buffer */
static int listen_fd = -1, signal_fd = -1;
static struct sockaddr_storage peer_addr;        /* where the accept in flight puts the address */
static socklen_t peer_len;
static struct signalfd_siginfo signal_info;      /* where the read in flight puts the signal */
static struct __kernel_timespec pause_100ms = {.tv_nsec = 100000000};

// ANCHOR: submit
/* Each of these only queues a request; the loop submits them all at once.
   The buffers named (the address, the signal, the echo) must stay put until
   the request completes: the kernel writes or reads them later. */
static int submit_accept(void)
{
    struct io_uring_sqe *sqe = new_sqe();
    if (sqe == NULL)
        return -1;
    peer_len = sizeof peer_addr;
    io_uring_prep_accept(sqe, listen_fd, (struct sockaddr *)&peer_addr, &peer_len, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag(listen_fd, ACCEPT));
    return 0;
}

/* IOSQE_BUFFER_SELECT: no buffer of ours; take one from pool BUF_GROUP. */
static int submit_recv(struct conn *c)
{
    struct io_uring_sqe *sqe = new_sqe();
    if (sqe == NULL)
        return -1;
    io_uring_prep_recv(sqe, c->fd, NULL, BUF_SIZE, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, tag(c->fd, RECV));
    return 0;
}

/* MSG_NOSIGNAL: a client that has gone makes the send fail with EPIPE,
   instead of raising SIGPIPE, which would kill the whole server. */
static int submit_send(struct conn *c)
{
    struct io_uring_sqe *sqe = new_sqe();
    if (sqe == NULL)
        return -1;
    io_uring_prep_send(sqe, c->fd, pool + (size_t)c->bid * BUF_SIZE + c->sent, c->len - c->sent,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag(c->fd, SEND));
    return 0;
}
// ANCHOR_END: submit

// ANCHOR: signals
/* SIGTERM and SIGINT are blocked, so they stay pending instead of running a
   handler or killing us, and a signalfd reports them: reading it takes one.
   A read of the signalfd is just another request: its completion is the stop. */
static int open_signal_fd(void)
{
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) == -1)
        return -1;
    return signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int submit_signal_read(void)
{
    struct io_uring_sqe *sqe = new_sqe();
    if (sqe == NULL)
        return -1;
    io_uring_prep_read(sqe, signal_fd, &signal_info, sizeof signal_info, 0);
    io_uring_sqe_set_data64(sqe, tag(signal_fd, SIGNAL));
    return 0;
}
// ANCHOR_END: signals

static void close_conn(struct conn *c)
{
    conns[c->fd] = NULL;
    close(c->fd);
    free(c);
}

// ANCHOR: accept
/* An accept completed: res is the new socket, or -errno. Out of descriptors,
   the client stays queued and an accept at once would fail again at once;
   so we submit a timeout instead, a request that completes in 100 ms. (The
   kernel reads the open file limit when it takes an accept request: a limit
   lowered while one is in flight applies from the next one on.) */
static int on_accept(int res)
{
    if (res < 0) {
        log_line(PROG, "accept: %s", strerror(-res));
        if (res != -EMFILE && res != -ENFILE && res != -ENOBUFS && res != -ENOMEM)
            return submit_accept();
        struct io_uring_sqe *sqe = new_sqe();
        if (sqe == NULL)
            return -1;
        io_uring_prep_timeout(sqe, &pause_100ms, 0, 0);
        io_uring_sqe_set_data64(sqe, tag(listen_fd, RESUME));
        return 0;
    }
    char peer[ADDR_LEN];
    format_address((struct sockaddr *)&peer_addr, peer_len, peer, sizeof peer);
    log_line(PROG, "connection from %s", peer);
    struct conn *c = (size_t)res < conns_size ? malloc(sizeof *c) : NULL;
    if (c == NULL) { /* this client only */
        log_line(PROG, "%s: %s", peer, strerror((size_t)res < conns_size ? ENOMEM : EMFILE));
        close(res);
        return submit_accept();
    }
    *c = (struct conn){.fd = res};
    memcpy(c->peer, peer, sizeof peer);
    conns[res] = c;
    return submit_recv(c) == -1 ? -1 : submit_accept(); /* the next client */
}
// ANCHOR_END: accept

// ANCHOR: send
/* A send finished with buffer bid: put it back in the ring for the kernel,
   and let the first client waiting for a buffer recv again. */
static int give_back(unsigned short bid)
{
    io_uring_buf_ring_add(buf_ring, pool + (size_t)bid * BUF_SIZE, BUF_SIZE, bid,
                          io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(buf_ring, 1);
    buffers_held--;
    struct conn *c = waiting;
    if (c == NULL)
        return 0;
    waiting = c->next_waiting;
    return submit_recv(c);
}

/* A send completed: res bytes have gone (maybe fewer than asked), or -errno. */
static int on_send(struct conn *c, int res)
{
    if (res >= 0) {
        c->sent += (unsigned)res, c->echoed += res;
        if (c->sent < c->len)
            return submit_send(c); /* the rest */
        return give_back(c->bid) == -1 ? -1 : submit_recv(c);
    }
    log_line(PROG, "%s: %s", c->peer, strerror(-res)); /* the client has gone */
    int err = give_back(c->bid);
    close_conn(c);
    return err;
}
// ANCHOR_END: send

// ANCHOR: echo
/* A recv completed: res bytes in the buffer named in flags, or 0 for the
   client's end of file, or -errno. */
static int on_recv(struct conn *c, int res, uint32_t flags)
{
    if (flags & IORING_CQE_F_BUFFER) { /* the kernel filled a buffer of ours */
        c->bid = (unsigned short)(flags >> IORING_CQE_BUFFER_SHIFT);
        buffers_held++;
        if (res > 0) {
            c->len = (unsigned)res, c->sent = 0;
            return submit_send(c);
        }
        if (give_back(c->bid) == -1)
            return -1;
    }
    if (res == -ENOBUFS && buffers_held < BUF_COUNT) /* one came back meanwhile */
        return submit_recv(c);
    if (res == -ENOBUFS) { /* every buffer is on its way to a client: wait for one */
        c->next_waiting = NULL;
        if (waiting == NULL)
            waiting = c;
        else
            last_waiting->next_waiting = c;
        last_waiting = c;
        return 0;
    }
    if (res == 0)
        log_line(PROG, "%s: closed, %lld bytes echoed", c->peer, c->echoed);
    else
        log_line(PROG, "%s: %s", c->peer, strerror(-res)); /* a reset, ... */
    close_conn(c);
    return 0;
}
// ANCHOR_END: echo

// ANCHOR: complete
/* One completion: which request it answers is in its user_data. Returns the
   signal that stops us, 0 to go on, or -1 if the server cannot go on. */
static int on_completion(const struct io_uring_cqe *cqe)
{
    int fd = (int)(cqe->user_data >> 8);
    switch ((enum op)(cqe->user_data & 0xff)) {
    case ACCEPT:
        return on_accept(cqe->res);
    case RESUME: /* the 100 ms are up (res is -ETIME): accept again */
        return submit_accept();
    case RECV:
        return on_recv(conns[fd], cqe->res, cqe->flags);
    case SEND:
        return on_send(conns[fd], cqe->res);
    case SIGNAL:
        if (cqe->res == (int)sizeof signal_info)
            return (int)signal_info.ssi_signo;
        if (cqe->res == -EINTR || cqe->res == -EAGAIN)
            return submit_signal_read();
        errno = -cqe->res;
        return -1;
    }
    return 0;
}
// ANCHOR_END: complete

int main(int argc, char **argv)
{
    struct options opt;
    parse_options(argc, argv, PROG, &opt);
    raise_open_file_limit(PROG);
    struct rlimit limit;
    int status = 1, stop = 0, err;
    bool ring_open = false, buffers_registered = false;
    const char *step = "getrlimit";
    if (getrlimit(RLIMIT_NOFILE, &limit) == -1)
        goto fail;
    conns_size = limit.rlim_cur < (1 << 20) ? (size_t)limit.rlim_cur : 1 << 20;
    step = "calloc";
    if ((conns = calloc(conns_size, sizeof *conns)) == NULL)
        goto fail_enomem;
    step = "signalfd"; /* before READY: the harness may send SIGTERM right after it */
    if ((signal_fd = open_signal_fd()) == -1)
        goto fail;
    /* io_uring_queue_init() creates the rings (io_uring_setup()) and maps them
       into our memory. A kernel or sandbox without io_uring says so here. */
    step = "io_uring";
    if ((err = io_uring_queue_init(QUEUE_DEPTH, &ring, 0)) < 0)
        goto fail_err;
    ring_open = true;
    step = "io_uring_register_buf_ring";
    if ((err = setup_buffers()) < 0)
        goto fail_err;
    buffers_registered = true;
    listen_fd = listen_on(PROG, opt.host, opt.port); /* prints READY, or exits 1 */

    // ANCHOR: loop
    /* The first requests: a client, a signal. Then, forever: submit what is
       queued and wait for at least one completion; handle every completion
       there is (which queues new requests); mark them seen. */
    step = "io_uring";
    if (submit_accept() == -1 || submit_signal_read() == -1)
        goto fail;
    while (stop == 0) {
        err = io_uring_submit_and_wait(&ring, 1);
        if (err < 0 && err != -EINTR)
            goto fail_err;
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen++;
            if ((stop = on_completion(cqe)) != 0)
                break;
        }
        io_uring_cq_advance(&ring, seen); /* the kernel may reuse those CQ entries */
    }
    // ANCHOR_END: loop
    if (stop == -1)
        goto fail;
    status = 0;
    goto out;
fail_enomem:
    err = -ENOMEM;
fail_err:
    errno = -err;
fail:
    log_line(PROG, "%s: %s", step, strerror(errno));
out:
    // ANCHOR: stop
    /* Requests are still in flight: a recv on every idle client. Closing the
       io_uring cancels them, but the kernel finishes that in the background,
       and until then a recv could still take a buffer from the pool and fill
       it. So first we unregister the pool: a recv after that finds none and
       fails. (The accept's address and the signal's siginfo are static: they
       outlive everything.) io_uring_queue_exit() unmaps the rings and closes
       the io_uring; then the sockets close and the memory is freed. */
    if (ring_open) {
        err = buffers_registered ? io_uring_unregister_buf_ring(&ring, BUF_GROUP) : 0;
        if (err < 0)
            log_line(PROG, "io_uring_unregister_buf_ring: %s", strerror(-err));
        io_uring_queue_exit(&ring);
    }
    for (size_t fd = 0; conns != NULL && fd < conns_size; fd++)
        if (conns[fd] != NULL)
            close_conn(conns[fd]);
    free(conns);
    free(pool);
    free(buf_ring);
    if (listen_fd != -1)
        close(listen_fd);
    if (signal_fd != -1)
        close(signal_fd);
    if (stop > 0)
        log_line(PROG, "stopping on %s", stop == SIGINT ? "SIGINT" : "SIGTERM");
    return status;
    // ANCHOR_END: stop
}
