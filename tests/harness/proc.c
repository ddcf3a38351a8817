/* proc.c -- start, time out and clean up the programs under test. */
#define _GNU_SOURCE
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int poll_until(int fd, short events, long long deadline_ms)
{
    for (;;) {
        long long left = deadline_ms - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n == 0 || errno != EINTR)
            return -1;
    }
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void become(char *const argv[], struct stdio_fds fds, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the parent died before prctl took effect */
        _exit(127);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC), want[3] = {fds.in, fds.out, fds.err};
    for (int fd = 0; fd < 3; fd++)
        if (want[fd] == STDIO_CLOSED)
            close(fd);
        else
            dup2(want[fd] >= 0 ? want[fd] : devnull, fd);
    /* The harness opens everything O_CLOEXEC, so nothing else leaks into exec.
     * A signal ignored here stays ignored across exec, and a shell that runs
     * `make test &` ignores SIGINT in everything it starts (a JVM then never
     * hears Ctrl-C): every program under test starts with every signal at its
     * default and none blocked, whatever the harness inherited. */
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL); /* fails harmlessly for SIGKILL, SIGSTOP and glibc's own */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(argv[0], argv);
    const char *msg = "harness: cannot execute ";
    write(2, msg, strlen(msg));
    write(2, argv[0], strlen(argv[0]));
    write(2, "\n", 1);
    _exit(127);
}

int child_start(struct child *c, char *const argv[], struct stdio_fds fds)
{
    *c = (struct child){.pid = -1, .pidfd = -1};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        become(argv, fds, parent);
    setpgid(pid, pid); /* also here, so the group exists before we might kill it */
    c->pid = pid;
    c->pidfd = pidfd_open(pid, 0);
    return c->pidfd < 0 ? -1 : 0;
}

static bool reap(struct child *c, int flags)
{
    if (c->reaped)
        return true;
    pid_t r;
    do
        r = waitpid(c->pid, &c->status, flags);
    while (r < 0 && errno == EINTR);
    if (r == c->pid)
        c->reaped = true;
    return c->reaped;
}

bool child_wait(struct child *c, int timeout_ms)
{
    if (c->pid <= 0)
        return true;
    long long deadline = now_ms() + timeout_ms;
    while (!c->reaped) {
        long long left = deadline - now_ms();
        if (left < 0)
            left = 0;
        struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno != EINTR)
            return reap(c, 0);
        if (n > 0)
            return reap(c, 0);
        if (n == 0)
            return reap(c, WNOHANG);
    }
    return true;
}

void child_signal(struct child *c, int sig)
{
    if (c->pid > 0 && !c->reaped)
        kill(c->pid, sig);
}

void child_cleanup(struct child *c)
{
    if (c->pid <= 0)
        return;
    kill(-c->pid, SIGKILL); /* the group: the child and anything it started */
    reap(c, 0);
    if (c->pidfd >= 0)
        close(c->pidfd);
    c->pidfd = -1;
    c->pid = -1;
}

const char *child_describe(const struct child *c, char *buf, size_t len)
{
    if (!c->reaped)
        snprintf(buf, len, "still running");
    else if (WIFEXITED(c->status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(c->status));
    else if (WIFSIGNALED(c->status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(c->status),
                 strsignal(WTERMSIG(c->status)));
    else
        snprintf(buf, len, "wait status %#x", c->status);
    return buf;
}

bool child_exited_with(const struct child *c, int code)
{
    return c->reaped && WIFEXITED(c->status) && WEXITSTATUS(c->status) == code;
}

int cpu_waits_read(pid_t pid, struct cpu_waits *w)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    w->n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && w->n < CPU_WAITS_MAX_THREADS) {
        char path[sizeof dir + sizeof e->d_name + 16];
        long long on_cpu, waiting;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s/schedstat", dir, e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue; /* the thread has just ended */
        /* "time on the CPU, time waiting on a run queue (both ns), timeslices" */
        if (fscanf(f, "%lld %lld", &on_cpu, &waiting) == 2) {
            w->thread[w->n].tid = (pid_t)atoi(e->d_name);
            w->thread[w->n++].ns = waiting;
        }
        fclose(f);
    }
    closedir(d);
    return w->n ? 0 : -1;
}

long cpu_waits_longest_ms(const struct cpu_waits *then, const struct cpu_waits *now)
{
    long long longest = 0;
    for (size_t i = 0; i < now->n; i++) {
        long long before = 0;
        for (size_t j = 0; j < then->n; j++)
            if (then->thread[j].tid == now->thread[i].tid)
                before = then->thread[j].ns;
        if (now->thread[i].ns - before > longest)
            longest = now->thread[i].ns - before;
    }
    return (long)(longest / 1000000);
}
