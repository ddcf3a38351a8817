/* run.c -- running an example under a deadline. */
#define _GNU_SOURCE
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int scratch_create(struct scratch *s)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/socketbook-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(s->dir) ? 0 : -1;
}

const char *find_entry(const char *dir, const char *prefix, char *name, size_t len)
{
    const char *found = NULL;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && !found && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            !strncmp(e->d_name, prefix, strlen(prefix))) {
            snprintf(name, len, "%s", e->d_name);
            found = name;
        }
    if (d)
        closedir(d);
    return found;
}

const char *scratch_path(const struct scratch *s, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", s->dir, name);
    return out;
}

/* nftw callback: removes one entry; directories come after their contents (FTW_DEPTH). */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

void scratch_remove(struct scratch *s)
{
    if (!s->dir[0])
        return;
    /* FTW_PHYS: a symbolic link is removed itself, never followed. */
    if (nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        fprintf(stderr, "harness: cannot remove %s: %s\n", s->dir, strerror(errno));
    s->dir[0] = '\0';
}

int build_argv(const char *command, const char *const extra[], char *words,
               size_t wordslen, char *argv[MAX_ARGS])
{
    if (snprintf(words, wordslen, "%s", command) >= (int)wordslen)
        return -1;
    int n = split_words(words, argv, MAX_ARGS);
    for (int i = 0; n >= 0 && extra && extra[i]; i++) {
        if (n >= MAX_ARGS - 1)
            return -1;
        argv[n++] = (char *)extra[i];
        argv[n] = NULL;
    }
    return n;
}

static int open_file(const char *path, int flags)
{
    if (!path)
        return -1; /* child_start maps -1 to /dev/null */
    return open(path, flags | O_CLOEXEC, 0600);
}

/* Starts the program and reads its READY line; with parse, that line must
 * carry an address. */
static int start_until_ready(struct server *s, const char *command, const char *const extra[],
                             const char *err_path, int timeout_ms, bool parse, char *why,
                             size_t whylen)
{
    *s = (struct server){.out = -1, .proc = {.pid = -1, .pidfd = -1}};
    snprintf(s->err_path, sizeof s->err_path, "%s", err_path);
    char words[1024], *argv[MAX_ARGS];
    if (build_argv(command, extra, words, sizeof words, argv) <= 0) {
        snprintf(why, whylen, "bad command: %s", command);
        return -1;
    }
    int pipefd[2] = {-1, -1};
    int err = open_file(err_path, O_WRONLY | O_CREAT | O_TRUNC);
    if (err < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "harness: %s", strerror(errno));
        goto fail;
    }
    s->out = pipefd[0];
    long long started = now_ms();
    if (child_start(&s->proc, argv, (struct stdio_fds){-1, pipefd[1], err}) < 0) {
        snprintf(why, whylen, "cannot start %s: %s", command, strerror(errno));
        goto fail;
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    close(err);
    err = -1;

    if (read_line(s->out, s->ready_line, sizeof s->ready_line, timeout_ms) < 0) {
        char status[96];
        child_wait(&s->proc, 0);
        snprintf(why, whylen, "no READY line within %d ms (server %s; stdout so far: \"%s\")",
                 timeout_ms, child_describe(&s->proc, status, sizeof status), s->ready_line);
        goto fail;
    }
    s->ready_ms = (long)(now_ms() - started);
    if (parse ? ready_parse(s->ready_line, &s->addr) < 0 : strncmp(s->ready_line, "READY ", 6)) {
        snprintf(why, whylen, "malformed READY line: \"%s\"", s->ready_line);
        goto fail;
    }
    return 0;

fail:
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (err >= 0)
        close(err);
    server_cleanup(s);
    return -1;
}

int server_start(struct server *s, const char *command, const char *const extra[],
                 const char *err_path, int timeout_ms, char *why, size_t whylen)
{
    return start_until_ready(s, command, extra, err_path, timeout_ms, true, why, whylen);
}

int watcher_start(struct server *s, const char *command, const char *const extra[],
                  const char *err_path, int timeout_ms, char *why, size_t whylen)
{
    return start_until_ready(s, command, extra, err_path, timeout_ms, false, why, whylen);
}

long read_rest(int fd, char *buf, size_t len, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    size_t used = 0;
    while (used + 1 < len && poll_until(fd, POLLIN, deadline) == 0) {
        ssize_t n = read(fd, buf + used, len - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    return (long)used;
}

/* Whatever is left on the server's stdout after it exited (it should be nothing). */
static size_t drain(int fd, char *buf, size_t len)
{
    size_t used = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (used + 1 < len && poll(&p, 1, 100) > 0) {
        ssize_t n = read(fd, buf + used, len - used - 1);
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    return used;
}

long stop_deadline_ms(const struct server *s, int contract_ms)
{
    long floor = 2L * contract_ms, scaled = STOP_STARTUP_FACTOR * s->ready_ms;
    return scaled > floor ? scaled : floor;
}

/* Waits for a signalled server to exit: until deadline_ms has passed in its
 * own time -- the time it waited for a CPU is added on -- or the hard limit.
 * Returns true if it exited; *waited is its CPU wait since the signal. */
static bool wait_in_own_time(struct server *s, const struct cpu_waits *at_signal,
                             long deadline_ms, long long sent, long *waited)
{
    static _Thread_local struct cpu_waits latest;
    *waited = 0;
    for (;;) {
        long elapsed = (long)(now_ms() - sent), left = deadline_ms + *waited - elapsed;
        if (STOP_HARD_LIMIT_MS - elapsed < left)
            left = STOP_HARD_LIMIT_MS - elapsed;
        if (left <= 0)
            return child_wait(&s->proc, 0);
        if (child_wait(&s->proc, left < 100 ? (int)left : 100))
            return true;
        if (at_signal->n && cpu_waits_read(s->proc.pid, &latest) == 0)
            *waited = cpu_waits_longest_ms(at_signal, &latest);
    }
}

int server_stop(struct server *s, int sig, int timeout_ms, char *why, size_t whylen)
{
    static _Thread_local struct cpu_waits at_signal; /* 8 KiB: not on the stack */
    char status[96], extra[256];
    long deadline = stop_deadline_ms(s, timeout_ms), waited;
    if (cpu_waits_read(s->proc.pid, &at_signal) < 0)
        at_signal.n = 0; /* no statistics: the plain deadline */
    long long sent = now_ms();
    child_signal(&s->proc, sig);
    if (!wait_in_own_time(s, &at_signal, deadline, sent, &waited)) {
        snprintf(why, whylen, "server still running %ld ms after %s (the contract says %d ms; "
                 "it started in %ld ms and waited %ld ms for a CPU)", (long)(now_ms() - sent),
                 sigabbrev_np(sig), timeout_ms, s->ready_ms, waited);
        return -1;
    }
    long took = (long)(now_ms() - sent);
    if (took > timeout_ms)
        warn("stopped %ld ms after SIG%s, past the contract's %d ms (it started in %ld ms and "
             "waited %ld ms for a CPU)", took, sigabbrev_np(sig), timeout_ms, s->ready_ms, waited);
    /* Killed by it -- or, for a runtime that takes the signal itself and exits
     * the way a shell reports a killed program (the JVM: 128 + 15), that. */
    bool killed = (WIFSIGNALED(s->proc.status) && WTERMSIG(s->proc.status) == sig) ||
                  child_exited_with(&s->proc, 128 + sig);
    if (s->dies_of_signal ? !killed : !child_exited_with(&s->proc, 0)) {
        snprintf(why, whylen, "server stopped by SIG%s ended with %s, not %s", sigabbrev_np(sig),
                 child_describe(&s->proc, status, sizeof status),
                 s->dies_of_signal ? "killed by that signal" : "exit 0");
        return -1;
    }
    if (drain(s->out, extra, sizeof extra) > 0) {
        one_line(extra);
        snprintf(why, whylen, "server wrote more than its READY line to stdout: \"%s\"", extra);
        return -1;
    }
    return 0;
}

void server_cleanup(struct server *s)
{
    child_cleanup(&s->proc);
    if (s->out >= 0)
        close(s->out);
    s->out = -1;
}

bool run_to_end(struct child *c, const char *command, const char *const extra[],
                const char *in_path, const char *out_path, const char *err_path,
                int timeout_ms)
{
    *c = (struct child){.pid = -1, .pidfd = -1};
    char words[1024], *argv[MAX_ARGS];
    if (build_argv(command, extra, words, sizeof words, argv) <= 0)
        return false;
    int in = open_file(in_path, O_RDONLY);
    int out = open_file(out_path, O_WRONLY | O_CREAT | O_TRUNC);
    int err = open_file(err_path, O_WRONLY | O_CREAT | O_TRUNC);
    int started = -1;
    /* A file that cannot be opened is an error, never a quiet /dev/null. */
    if ((in_path && in < 0) || (out_path && out < 0) || (err_path && err < 0))
        fprintf(stderr, "harness: cannot open %s: %s\n",
                in_path && in < 0 ? in_path : out_path && out < 0 ? out_path : err_path,
                strerror(errno));
    else
        started = child_start(c, argv, (struct stdio_fds){in, out, err});
    for (int *fd = (int[]){in, out, err}, i = 0; i < 3; i++)
        if (fd[i] >= 0)
            close(fd[i]);
    bool finished = started == 0 && child_wait(c, timeout_ms);
    if (!finished)
        child_cleanup(c); /* kill it: it ran out of time */
    else
        kill(-c->pid, SIGKILL); /* anything it left behind in its group */
    return finished;
}

int read_file(const char *path, size_t max, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t cap = 65536, used = 0;
    unsigned char *buf = malloc(cap);
    ssize_t n = 0;
    while (buf && used < max) {
        if (used == cap) {
            unsigned char *grown = realloc(buf, cap * 2);
            if (!grown)
                break;
            buf = grown;
            cap *= 2;
        }
        size_t want = cap - used < max - used ? cap - used : max - used;
        n = read(fd, buf + used, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    if (!buf || n < 0) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = used;
    return 0;
}

int write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return close(fd);
}

char *file_tail(const char *path, char *buf, size_t len)
{
    unsigned char *data;
    size_t n;
    if (read_file(path, 1 << 20, &data, &n) < 0 || n == 0) {
        snprintf(buf, len, "(empty)");
        free(data);
        return buf;
    }
    size_t from = n > len - 1 ? n - (len - 1) : 0;
    memcpy(buf, data + from, n - from);
    buf[n - from] = '\0';
    for (char *p = buf; *p; p++) /* keep it printable; newlines stay */
        if ((*p > 0 && *p < 0x20 && *p != '\n') || *p == 0x7f)
            *p = '?';
    free(data);
    return buf;
}

size_t count_lines(const unsigned char *data, size_t len)
{
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n')
            lines++;
    return lines + (len > 0 && data[len - 1] != '\n');
}
