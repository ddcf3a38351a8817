/* proc.h -- start, time out and clean up the programs under test.
 *
 * Every child runs in its own process group, so that killing the group also
 * kills anything it started; every wait has a deadline. */
#ifndef PROC_H
#define PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* Where a child's standard streams go: an open descriptor, -1 for /dev/null,
 * or STDIO_CLOSED: the child starts with that descriptor closed. */
#define STDIO_CLOSED (-2)
struct stdio_fds {
    int in, out, err;
};

/* A running child: its pid (also its process group id) and a pidfd to wait on. */
struct child {
    pid_t pid;
    int pidfd;
    bool reaped;
    int status; /* wait status, valid once reaped */
};

/* Starts argv[0] (searched on PATH) with the given streams, in a new process
 * group, killed with SIGKILL if the calling process dies. Returns 0, or -1 with
 * errno set (an exec failure shows up later as exit status 127). */
int child_start(struct child *c, char *const argv[], struct stdio_fds fds);

/* Waits up to timeout_ms for the child to exit. Returns true if it exited (and
 * reaps it), false on timeout. */
bool child_wait(struct child *c, int timeout_ms);

/* Sends sig to the child itself (not its group). */
void child_signal(struct child *c, int sig);

/* Kills the child's whole process group with SIGKILL, reaps the child and
 * closes its pidfd. Safe to call more than once and on a child never started. */
void child_cleanup(struct child *c);

/* Describes a wait status in words: "exit 0", "killed by signal 9", "still
 * running" (if not reaped). Returns buf. */
const char *child_describe(const struct child *c, char *buf, size_t len);

/* True if the child was reaped and exited normally with the given code. */
bool child_exited_with(const struct child *c, int code);

/* How long each thread of a process has waited, runnable, for a CPU: the
 * kernel's per-thread scheduler statistics (/proc/PID/task/TID/schedstat).
 * Two readings tell how much of a wait was the machine's load rather than
 * the program's own doing. */
#define CPU_WAITS_MAX_THREADS 512
struct cpu_waits {
    size_t n;
    struct {
        pid_t tid;
        long long ns;
    } thread[CPU_WAITS_MAX_THREADS];
};

/* Reads pid's threads into w. Returns 0, or -1 if the process is gone or the
 * kernel keeps no such statistics (threads past the limit are left out). */
int cpu_waits_read(pid_t pid, struct cpu_waits *w);

/* The longest that one thread waited for a CPU between two readings, in ms
 * (a thread `then` lacks started since: all its wait counts). */
long cpu_waits_longest_ms(const struct cpu_waits *then, const struct cpu_waits *now);

/* Milliseconds on a monotonic clock. */
long long now_ms(void);

/* Waits until fd has one of `events` (POLLIN, POLLOUT) or the monotonic
 * clock reaches deadline_ms. Returns 0 if ready, -1 on timeout or error. */
int poll_until(int fd, short events, long long deadline_ms);

#endif
