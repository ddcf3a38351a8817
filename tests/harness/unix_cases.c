/* unix_cases.c -- chapter 4's kinds: unix-stream, unix-dgram, unix-seqpacket,
 * fdpass and peercred (CONTRACT.md section 8), their pair cases and the
 * checks of one program: paths, permissions, stale and live socket files. */
#define _GNU_SOURCE
#include "cases.h"
#include "checks.h"
#include "net.h"
#include "payloads.h"
#include "run.h"
#include "unixnet.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One chapter 4 kind, as its checks need it. */
struct unix_kind {
    enum unix_proto proto;
    const char *server; /* the server's base name, in its log lines */
};

static const struct unix_kind STREAM = {PROTO_STREAM, "stream_server"};
static const struct unix_kind DGRAM = {PROTO_DGRAM, "dgram_server"};
static const struct unix_kind SEQPACKET = {PROTO_SEQPACKET, "seqpacket_server"};
static const struct unix_kind FDPASS = {PROTO_FDPASS, "fd_server"};
static const struct unix_kind PEERCRED = {PROTO_PEERCRED, "cred_server"};

#define PATH_MAX_BYTES 107 /* sun_path is 108 bytes, with the terminating NUL */

/* ---- a server under test, in a scratch directory of its own ---------------- */

struct unix_check {
    struct scratch tmp;
    char sock[320];   /* where the server is told to bind */
    char served[320]; /* fd_server's --file, holding LINE */
};

static int check_begin(struct unix_check *uc, char *why, size_t whylen)
{
    *uc = (struct unix_check){0};
    if (scratch_create(&uc->tmp) < 0 ||
        write_file(scratch_path(&uc->tmp, "served", uc->served, sizeof uc->served), LINE,
                   strlen(LINE)) < 0) {
        snprintf(why, whylen, "harness: cannot create a scratch directory");
        scratch_remove(&uc->tmp);
        return -1;
    }
    scratch_path(&uc->tmp, "server.sock", uc->sock, sizeof uc->sock);
    return 0;
}

/* The server's arguments for path (and mode, if not NULL). */
static void server_argv(const struct unix_kind *k, const struct unix_check *uc, const char *path,
                        const char *mode, const char *args[7])
{
    int n = 0;
    args[n++] = "--path";
    args[n++] = path;
    if (k->proto == PROTO_FDPASS) {
        args[n++] = "--file";
        args[n++] = uc->served;
    }
    if (mode) {
        args[n++] = "--mode";
        args[n++] = mode;
    }
    args[n] = NULL;
}

/* Starts the server on path, its stderr in <scratch>/<log>; READY must name
 * the path. Returns 0, or -1 with why (and the server cleaned up). */
static int server_on(const struct unix_kind *k, const char *command, struct unix_check *uc,
                     const char *path, const char *mode, const char *log, struct server *s,
                     char *why, size_t whylen)
{
    const char *args[7];
    char err[320];
    server_argv(k, uc, path, mode, args);
    if (server_start(s, command, args, scratch_path(&uc->tmp, log, err, sizeof err),
                     READY_TIMEOUT_MS, why, whylen) < 0)
        return -1;
    if (strcmp(s->addr.host, path)) {
        snprintf(why, whylen, "READY says \"%s\", want \"READY %s\"", s->ready_line, path);
        server_cleanup(s);
        return -1;
    }
    return 0;
}

/* Ends a check: stops a server still running if rc is 0 (exit 0 in time),
 * requires its socket file gone, adds its log to a failure, removes the
 * scratch directory. Returns rc. */
static int check_end(struct unix_check *uc, struct server *s, const char *path, int rc,
                     char *why, size_t whylen)
{
    if (s && rc == 0)
        rc = server_stop(s, SIGTERM, STOP_TIMEOUT_MS, why, whylen);
    if (s && rc == 0 && path && path[0] == '/' && access(path, F_OK) == 0) {
        snprintf(why, whylen, "the server left its socket file %s behind", path);
        rc = -1;
    }
    if (s)
        return release_server(s, &uc->tmp, rc, why, whylen);
    scratch_remove(&uc->tmp);
    return rc;
}

static int exchange(const struct unix_kind *k, const struct unix_check *uc, const char *path,
                    char *why, size_t whylen)
{
    return unix_exchange(k->proto, path, LINE, uc->tmp.dir, why, whylen);
}

/* Starts a server on the scratch path, runs fn against it, stops it. */
static int with_server(const struct unix_kind *k, const char *command, const char *mode,
                       int (*fn)(const struct unix_kind *, struct unix_check *, struct server *,
                                 char *, size_t),
                       char *why, size_t whylen)
{
    struct unix_check uc;
    struct server s;
    if (check_begin(&uc, why, whylen) < 0)
        return -1;
    if (server_on(k, command, &uc, uc.sock, mode, "server.stderr", &s, why, whylen) < 0)
        return check_end(&uc, NULL, NULL, -1, why, whylen);
    int rc = fn(k, &uc, &s, why, whylen);
    return check_end(&uc, &s, uc.sock, rc, why, whylen);
}

/* ---- paths and the command line (servers and clients) --------------------- */

/* "<dir>/xxx...": exactly `bytes` long. */
static void path_of_length(const struct scratch *tmp, size_t bytes, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "%s/", tmp->dir);
    while (n < bytes && n + 1 < len)
        out[n++] = 'x';
    out[n] = '\0';
}

static int check_no_path(const void *context, const char *command, char *why, size_t whylen)
{
    return expect_usage_error(command, (const char *[]){NULL}, "--path is required", why, whylen);
}

/* 108 bytes, an abstract name of 108 bytes, an empty path, a bare "@": each a
 * usage error (exit 2), and no file appears. */
static int check_long_path(const void *context, const char *command, char *why, size_t whylen)
{
    struct scratch tmp;
    char path[256], abstract[256], name[256];
    if (scratch_create(&tmp) < 0) {
        snprintf(why, whylen, "harness: cannot create a scratch directory");
        return -1;
    }
    path_of_length(&tmp, PATH_MAX_BYTES + 1, path, sizeof path);
    memset(abstract, 'a', PATH_MAX_BYTES + 2);
    abstract[0] = '@';
    abstract[PATH_MAX_BYTES + 2] = '\0';
    char too_long[96];
    snprintf(too_long, sizeof too_long, "--path is %d bytes; a socket address holds at most %d",
             PATH_MAX_BYTES + 1, PATH_MAX_BYTES);
    const struct {
        const char *path, *want;
    } bad[] = {
        {path, too_long},
        {abstract, too_long},
        {"", "--path is empty"},
        {"@", "--path needs a name after the @"},
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof bad / sizeof *bad; i++)
        rc = expect_usage_error(command, (const char *[]){"--path", bad[i].path, NULL}, bad[i].want,
                                why, whylen);
    if (rc == 0 && find_entry(tmp.dir, "x", name, sizeof name)) {
        snprintf(why, whylen, "a %d-byte path was truncated into a file \"%s\"", PATH_MAX_BYTES + 1,
                 name);
        rc = -1;
    }
    scratch_remove(&tmp);
    return rc;
}

/* A path of exactly 107 bytes works: the server binds it, READY names it in
 * full, it serves, and it removes that very file. */
static int path_107(const void *context, const char *command, char *why, size_t whylen)
{
    const struct unix_kind *k = context;
    struct unix_check uc;
    struct server s;
    char path[256];
    if (check_begin(&uc, why, whylen) < 0)
        return -1;
    path_of_length(&uc.tmp, PATH_MAX_BYTES, path, sizeof path);
    if (server_on(k, command, &uc, path, NULL, "server.stderr", &s, why, whylen) < 0)
        return check_end(&uc, NULL, NULL, -1, why, whylen);
    int rc = exchange(k, &uc, path, why, whylen);
    return check_end(&uc, &s, path, rc, why, whylen);
}

/* ---- permissions ------------------------------------------------------------- */

static int expect_mode(const char *path, mode_t want, char *why, size_t whylen)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        snprintf(why, whylen, "no socket file at %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != want) {
        snprintf(why, whylen, "%s is %s with mode %03o, want a socket with mode %03o", path,
                 S_ISSOCK(st.st_mode) ? "a socket" : "not a socket",
                 (unsigned)(st.st_mode & 07777), (unsigned)want);
        return -1;
    }
    return 0;
}

static int mode_is_600(const struct unix_kind *k, struct unix_check *uc, struct server *s,
                       char *why, size_t whylen)
{
    (void)k, (void)s;
    return expect_mode(uc->sock, 0600, why, whylen);
}

static int mode_is_666(const struct unix_kind *k, struct unix_check *uc, struct server *s,
                       char *why, size_t whylen)
{
    (void)k, (void)s;
    return expect_mode(uc->sock, 0666, why, whylen);
}

/* Owner-only by default, --mode 666 when asked; a bad mode is a usage error. */
static int check_mode(const void *context, const char *command, char *why, size_t whylen)
{
    const struct unix_kind *k = context;
    const char *bad[] = {"9", "6666", "rw", "68"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[64];
        snprintf(want, sizeof want, "bad mode: %s", bad[i]);
        if (expect_usage_error(command, (const char *[]){"--path", "@socketbook-unused", "--mode",
                                                         bad[i], NULL}, want, why, whylen) < 0)
            return -1;
    }
    if (with_server(k, command, NULL, mode_is_600, why, whylen) < 0)
        return -1;
    return with_server(k, command, "666", mode_is_666, why, whylen);
}

/* nobody's ids, for a client that is not the socket file's owner. */
static int nobody(uid_t *uid, gid_t *gid)
{
    struct passwd *pw = getpwnam("nobody");
    if (!pw)
        return -1;
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/* Whether nobody can connect; *err is 0 or the errno. Returns 0, or -1 if
 * the harness could not tell. */
static int nobody_connects(const struct unix_kind *k, struct unix_check *uc, int *err)
{
    uid_t uid;
    gid_t gid;
    /* nobody needs to reach the socket through the scratch directory */
    if (nobody(&uid, &gid) < 0 || chmod(uc->tmp.dir, 0711) < 0)
        return -1;
    *err = unix_connect_as(unix_proto_type(k->proto), uc->sock, uid, gid);
    return *err < 0 ? -1 : 0;
}

static int nobody_refused(const struct unix_kind *k, struct unix_check *uc, struct server *s,
                          char *why, size_t whylen)
{
    (void)s;
    int err;
    if (nobody_connects(k, uc, &err) < 0) {
        snprintf(why, whylen, "harness: cannot connect as nobody");
        return -1;
    }
    if (err != EACCES) {
        snprintf(why, whylen, "with the default mode, user nobody %s; want Permission denied",
                 err ? strerror(err) : "connected");
        return -1;
    }
    return 0;
}

static int nobody_admitted(const struct unix_kind *k, struct unix_check *uc, struct server *s,
                           char *why, size_t whylen)
{
    (void)s;
    int err;
    if (nobody_connects(k, uc, &err) < 0) {
        snprintf(why, whylen, "harness: cannot connect as nobody");
        return -1;
    }
    if (err) {
        snprintf(why, whylen, "with --mode 666, user nobody could not connect: %s", strerror(err));
        return -1;
    }
    return 0;
}

/* A client running as an unprivileged user is refused by an owner-only
 * socket, and let in by --mode 666 (so the refusal was the mode's doing). */
static int check_permission(const void *context, const char *command, char *why,
                            size_t whylen)
{
    const struct unix_kind *k = context;
    if (geteuid() != 0) {
        snprintf(why, whylen, "needs root, to connect as user nobody");
        return CHECK_SKIPPED;
    }
    if (with_server(k, command, NULL, nobody_refused, why, whylen) < 0)
        return -1;
    return with_server(k, command, "666", nobody_admitted, why, whylen);
}

/* ---- stale, live and foreign files at the path -------------------------------- */

static int check_stale(const void *context, const char *command, char *why, size_t whylen)
{
    const struct unix_kind *k = context;
    struct unix_check uc;
    struct server s;
    if (check_begin(&uc, why, whylen) < 0)
        return -1;
    if (unix_make_stale(uc.sock) < 0) {
        snprintf(why, whylen, "harness: cannot leave a stale socket file");
        return check_end(&uc, NULL, NULL, -1, why, whylen);
    }
    if (server_on(k, command, &uc, uc.sock, NULL, "server.stderr", &s, why, whylen) < 0)
        return check_end(&uc, NULL, NULL, -1, why, whylen);
    int rc = exchange(k, &uc, uc.sock, why, whylen);
    unsigned char *log = NULL;
    size_t len = 0;
    char want[400];
    snprintf(want, sizeof want, "%s: %s: removing stale socket file\n", k->server, uc.sock);
    if (rc == 0 && (read_file(s.err_path, 1 << 16, &log, &len) < 0 || !contains(log, len, want))) {
        snprintf(why, whylen, "the log does not say \"%.*s\"", (int)strlen(want) - 1, want);
        rc = -1;
    }
    free(log);
    return check_end(&uc, &s, uc.sock, rc, why, whylen);
}

/* A second server on the path of a live one must refuse (exit 1, one line)
 * and leave the first one's file and service alone. */
static int refuses_second(const struct unix_kind *k, const char *command, const char *path,
                          char *why, size_t whylen)
{
    struct unix_check uc;
    struct server s;
    struct ran r;
    if (check_begin(&uc, why, whylen) < 0)
        return -1;
    if (!path)
        path = uc.sock;
    if (server_on(k, command, &uc, path, NULL, "first.stderr", &s, why, whylen) < 0)
        return check_end(&uc, NULL, NULL, -1, why, whylen);
    const char *args[7];
    server_argv(k, &uc, path, NULL, args);
    int rc = run_once(command, args, "", &r, why, whylen);
    if (rc == 0)
        rc = expect_one_line_error(&r, "a second server on a live path", why, whylen);
    ran_free(&r);
    if (rc == 0 && path[0] == '/' && access(path, F_OK) < 0) {
        snprintf(why, whylen, "the refused second server removed the first one's socket file");
        rc = -1;
    }
    if (rc == 0)
        rc = exchange(k, &uc, path, why, whylen);
    return check_end(&uc, &s, path, rc, why, whylen);
}

static int check_live(const void *context, const char *command, char *why, size_t whylen)
{
    const struct unix_kind *k = context;
    return refuses_second(k, command, NULL, why, whylen);
}

static int check_abstract_live(const void *context, const char *command, char *why,
                               size_t whylen)
{
    const struct unix_kind *k = context;
    char name[64];
    snprintf(name, sizeof name, "@socketbook-live-%d", (int)getpid());
    return refuses_second(k, command, name, why, whylen);
}

/* A regular file at the path: exit 1 with one line, the file untouched. */
static int check_not_socket(const void *context, const char *command, char *why,
                            size_t whylen)
{
    const struct unix_kind *k = context;
    struct unix_check uc;
    struct ran r;
    static const char content[] = "not a socket\n";
    if (check_begin(&uc, why, whylen) < 0)
        return -1;
    if (write_file(uc.sock, content, strlen(content)) < 0) {
        snprintf(why, whylen, "harness: cannot write %s", uc.sock);
        return check_end(&uc, NULL, NULL, -1, why, whylen);
    }
    const char *args[7];
    server_argv(k, &uc, uc.sock, NULL, args);
    int rc = run_once(command, args, "", &r, why, whylen);
    if (rc == 0)
        rc = expect_one_line_error(&r, "a regular file at the path", why, whylen);
    ran_free(&r);
    unsigned char *after = NULL;
    size_t len = 0;
    if (rc == 0 && (read_file(uc.sock, 1024, &after, &len) < 0 || len != strlen(content) ||
                    memcmp(after, content, len))) {
        snprintf(why, whylen, "the server changed or removed the regular file at its path");
        rc = -1;
    }
    free(after);
    return check_end(&uc, NULL, NULL, rc, why, whylen);
}

/* ---- stopping and logging ------------------------------------------------------- */

static int check_sigint_unix(const void *context, const char *command, char *why,
                             size_t whylen)
{
    const struct unix_kind *k = context;
    struct unix_check uc;
    struct server s;
    if (check_begin(&uc, why, whylen) < 0)
        return -1;
    if (server_on(k, command, &uc, uc.sock, NULL, "server.stderr", &s, why, whylen) < 0)
        return check_end(&uc, NULL, NULL, -1, why, whylen);
    int rc = server_stop(&s, SIGINT, STOP_TIMEOUT_MS, why, whylen);
    if (rc == 0 && access(uc.sock, F_OK) == 0) {
        snprintf(why, whylen, "stopped by SIGINT, the server left its socket file behind");
        rc = -1;
    }
    return release_server(&s, &uc.tmp, rc, why, whylen);
}

/* The log line one exchange must leave (before the stop line). */
static void expected_log(const struct unix_kind *k, const struct unix_check *uc, char *buf,
                         size_t len)
{
    char cred[96];
    switch (k->proto) {
    case PROTO_STREAM:
        snprintf(buf, len, "%s: connection from unnamed\n%s: unnamed: closed, %zu bytes echoed\n",
                 k->server, k->server, strlen(LINE));
        break;
    case PROTO_SEQPACKET:
        snprintf(buf, len, "%s: connection from unnamed\n%s: unnamed: closed, 1 messages echoed\n",
                 k->server, k->server);
        break;
    case PROTO_DGRAM: /* unix_exchange binds <scratch>/harness.<pid>.sock */
        snprintf(buf, len, "%s: %zu bytes from %s/harness.%d.sock\n", k->server, strlen(LINE),
                 uc->tmp.dir, (int)getpid());
        break;
    case PROTO_FDPASS:
        snprintf(buf, len, "%s: passed %s to unnamed\n", k->server, uc->served);
        break;
    case PROTO_PEERCRED:
        cred_line(getpid(), getuid(), getgid(), cred, sizeof cred);
        snprintf(buf, len, "%s: %s", k->server, cred);
        break;
    }
}

static int logs_after_exchange(const struct unix_kind *k, struct unix_check *uc, struct server *s,
                               char *why, size_t whylen)
{
    char want[800];
    unsigned char *log = NULL;
    size_t len = 0;
    expected_log(k, uc, want, sizeof want);
    int rc = exchange(k, uc, uc->sock, why, whylen);
    if (rc == 0)
        log_shows(s->err_path, want, 5000); /* the verdict below says what is missing */
    if (rc == 0)
        rc = server_stop(s, SIGTERM, STOP_TIMEOUT_MS, why, whylen);
    if (rc < 0)
        return -1;
    if (read_file(s->err_path, 1 << 16, &log, &len) < 0 || !starts_with(log, len, want) ||
        count_lines(log, len) != count_lines((const unsigned char *)want, strlen(want)) + 1 ||
        !logged_stop_as(log, len, k->server)) {
        snprintf(why, whylen, "want the log \"%s%s: stopping on SIGTERM\", got \"%.*s\"", want,
                 k->server, (int)(len > 400 ? 400 : len), log ? (const char *)log : "");
        rc = -1;
    }
    free(log);
    return rc;
}

static int check_logs(const void *context, const char *command, char *why, size_t whylen)
{
    const struct unix_kind *k = context;
    return with_server(k, command, NULL, logs_after_exchange, why, whylen);
}

/* SIGTERM while a client is connected and half-way through: exit 0, file gone. */
static int stop_mid_client(const struct unix_kind *k, struct unix_check *uc, struct server *s,
                           char *why, size_t whylen)
{
    (void)s;
    unsigned char echo[5];
    int fd = unix_connect(unix_proto_type(k->proto), uc->sock);
    int rc = -1;
    if (fd < 0)
        snprintf(why, whylen, "cannot connect to the server: %s", strerror(errno));
    else if (send_all(fd, "hello", 5, 5000) < 0 || recv_until_eof(fd, echo, 5, 10000) != 5)
        snprintf(why, whylen, "no echo of a first 5 bytes");
    else
        rc = 0; /* the server is serving us, waiting for more; check_end stops it */
    if (fd >= 0 && rc == 0) {
        rc = server_stop(s, SIGTERM, STOP_TIMEOUT_MS, why, whylen);
        if (rc == 0 && access(uc->sock, F_OK) == 0) {
            snprintf(why, whylen, "stopped mid-client, the server left its socket file behind");
            rc = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

static int check_stop_while_serving(const void *context, const char *command, char *why,
                                    size_t whylen)
{
    const struct unix_kind *k = context;
    struct unix_check uc;
    struct server s;
    if (check_begin(&uc, why, whylen) < 0)
        return -1;
    if (server_on(k, command, &uc, uc.sock, NULL, "server.stderr", &s, why, whylen) < 0)
        return check_end(&uc, NULL, NULL, -1, why, whylen);
    int rc = stop_mid_client(k, &uc, &s, why, whylen);
    return release_server(&s, &uc.tmp, rc, why, whylen);
}

/* ---- misbehaving peers ---------------------------------------------------------- */

/* A client that sends until the server blocks writing back, then vanishes. */
static int after_vanished_client(const struct unix_kind *k, struct unix_check *uc,
                                 struct server *s, char *why, size_t whylen)
{
    (void)s;
    int fd = unix_connect(SOCK_STREAM, uc->sock);
    if (fd >= 0) {
        send_until_stalled(fd, 64u << 20, 300);
        close(fd);
    }
    return exchange(k, uc, uc->sock, why, whylen);
}

static int check_survives_vanish(const void *context, const char *command, char *why,
                                 size_t whylen)
{
    const struct unix_kind *k = context;
    return with_server(k, command, NULL, after_vanished_client, why, whylen);
}

/* A datagram from an unbound socket: the server cannot answer it, logs it,
 * and goes on. */
static int after_unnamed_sender(const struct unix_kind *k, struct unix_check *uc,
                                struct server *s, char *why, size_t whylen)
{
    struct sockaddr_un sa;
    int len = unix_addr(uc->sock, &sa);
    int fd = unix_socket(SOCK_DGRAM, NULL);
    if (fd < 0 || sendto(fd, LINE, strlen(LINE), 0, (struct sockaddr *)&sa, (socklen_t)len) < 0) {
        snprintf(why, whylen, "harness: cannot send from an unnamed socket: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    int rc = exchange(k, uc, uc->sock, why, whylen);
    unsigned char *log = NULL;
    size_t loglen = 0;
    char want[128];
    snprintf(want, sizeof want, "%s: %zu bytes from unnamed: no address to reply to\n", k->server,
             strlen(LINE));
    if (rc == 0 && (read_file(s->err_path, 1 << 16, &log, &loglen) < 0 ||
                    !contains(log, loglen, want))) {
        snprintf(why, whylen, "the log does not say \"%.*s\"", (int)strlen(want) - 1, want);
        rc = -1;
    }
    free(log);
    return rc;
}

static int check_unnamed_sender(const void *context, const char *command, char *why,
                                size_t whylen)
{
    const struct unix_kind *k = context;
    return with_server(k, command, NULL, after_unnamed_sender, why, whylen);
}

#define FLOOD_COUNT 200
#define FLOOD_LIMIT_MS 5000

/* Sends one datagram to sa, retrying while the server's own queue is full
 * (EAGAIN), until deadline_ms. Returns 0 or -1. */
static int send_when_room(int fd, const struct sockaddr_un *sa, int len, long long deadline_ms)
{
    while (sendto(fd, "x", 1, MSG_DONTWAIT, (const struct sockaddr *)sa, (socklen_t)len) < 0) {
        if (errno != EAGAIN || now_ms() >= deadline_ms)
            return -1;
        nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL); /* the server drains it */
    }
    return 0;
}

/* A client that sends many datagrams and never reads the replies: its queue
 * fills (net.unix.max_dgram_qlen, 10 by default), and a server that waited
 * for room would stall. It must drop those replies and go on serving. The
 * flooding socket is bound but not connected: the kernel skips the queue
 * limit for replies to a socket connected to their sender. */
static int after_unread_replies(const struct unix_kind *k, struct unix_check *uc,
                                struct server *s, char *why, size_t whylen)
{
    (void)s;
    char own[320];
    int fd = unix_socket(SOCK_DGRAM, scratch_path(&uc->tmp, "flood.sock", own, sizeof own));
    struct sockaddr_un sa;
    int len = unix_addr(uc->sock, &sa);
    if (fd < 0) {
        snprintf(why, whylen, "harness: cannot bind a flooding socket: %s", strerror(errno));
        return -1;
    }
    int rc = 0;
    long long deadline = now_ms() + FLOOD_LIMIT_MS;
    for (int i = 0; rc == 0 && i < FLOOD_COUNT; i++)
        if (send_when_room(fd, &sa, len, deadline) < 0) {
            snprintf(why, whylen, "the server took more than %d ms to receive %d datagrams from a "
                     "client that never reads its replies (%d got through): does it wait for room "
                     "in that client's queue?", FLOOD_LIMIT_MS, FLOOD_COUNT, i);
            rc = -1;
        }
    if (rc == 0)
        rc = exchange(k, uc, uc->sock, why, whylen);
    close(fd);
    return rc;
}

static int check_unread_replies(const void *context, const char *command, char *why,
                                size_t whylen)
{
    const struct unix_kind *k = context;
    return with_server(k, command, NULL, after_unread_replies, why, whylen);
}

/* fd_server needs --file; one it cannot open is a start-up failure. */
static int check_bad_file(const void *context, const char *command, char *why, size_t whylen)
{
    struct unix_check uc;
    struct ran r;
    char missing[320];
    if (check_begin(&uc, why, whylen) < 0)
        return -1;
    int rc = expect_usage_error(command, (const char *[]){"--path", uc.sock, NULL},
                                "--file is required", why, whylen);
    if (rc == 0)
        rc = run_once(command, (const char *[]){"--path", uc.sock, "--file",
                                                scratch_path(&uc.tmp, "missing", missing,
                                                             sizeof missing), NULL},
                      "", &r, why, whylen);
    if (rc == 0) {
        rc = expect_one_line_error(&r, "a --file that does not exist", why, whylen);
        ran_free(&r);
    }
    return check_end(&uc, NULL, NULL, rc, why, whylen);
}

/* A client running as nobody is told nobody's uid and gid, and its own pid. */
static int nobody_credentials(const struct unix_kind *k, struct unix_check *uc, struct server *s,
                              char *why, size_t whylen)
{
    (void)k, (void)s;
    uid_t uid;
    gid_t gid;
    int pipefd[2];
    if (nobody(&uid, &gid) < 0 || chmod(uc->tmp.dir, 0711) < 0 || pipe(pipefd) < 0) {
        snprintf(why, whylen, "harness: cannot prepare a client as nobody");
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        unsigned char line[128];
        long n = -1;
        int fd = -1;
        if (setgroups(0, NULL) == 0 && setgid(gid) == 0 && setuid(uid) == 0 &&
            (fd = unix_connect(SOCK_STREAM, uc->sock)) >= 0)
            n = recv_until_eof(fd, line, sizeof line, 10000);
        _exit(n > 0 && write(pipefd[1], line, (size_t)n) == n ? 0 : 1);
    }
    close(pipefd[1]);
    char got[128] = "", want[96];
    ssize_t n = pid > 0 ? read(pipefd[0], got, sizeof got - 1) : -1;
    close(pipefd[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    got[n > 0 ? n : 0] = '\0';
    cred_line(pid, uid, gid, want, sizeof want);
    if (strcmp(got, want)) {
        snprintf(why, whylen, "a client running as nobody (pid %d) was told \"%s\", want \"%.*s\"",
                 (int)pid, got, (int)strlen(want) - 1, want);
        return -1;
    }
    return 0;
}

static int check_nobody_credentials(const void *context, const char *command, char *why,
                                    size_t whylen)
{
    const struct unix_kind *k = context;
    if (geteuid() != 0) {
        snprintf(why, whylen, "needs root, to run a client as user nobody");
        return CHECK_SKIPPED;
    }
    return with_server(k, command, "666", nobody_credentials, why, whylen);
}

/* ---- clients ---------------------------------------------------------------------- */

/* Runs the client with --path path and stdin `input` (extra arguments after);
 * unix clients get a TMPDIR of their own, which must hold no dgram_client
 * file afterwards. Returns 0 with r filled, or -1 with why. */
static int run_client(const char *command, const char *path, const char *extra,
                      const void *input, size_t inlen, struct ran *r, char *why, size_t whylen)
{
    struct scratch tmp;
    struct started p;
    char name[256];
    if (scratch_create(&tmp) < 0) {
        snprintf(why, whylen, "harness: cannot create a scratch directory");
        return -1;
    }
    setenv("TMPDIR", tmp.dir, 1); /* this check's process only */
    int rc = start_program(&p, command, (const char *[]){"--path", path, extra ? "--timeout" : NULL,
                                                         extra, NULL},
                           input, inlen, why, whylen);
    unsetenv("TMPDIR");
    if (rc == 0) {
        if (!finish_program(&p, 20000)) {
            snprintf(why, whylen, "the client did not finish within 20 s");
            rc = -1;
        }
        started_cleanup(&p);
        *r = p.r;
    }
    if (rc == 0 && find_entry(tmp.dir, "dgram_client", name, sizeof name)) {
        snprintf(why, whylen, "the client left %s in its TMPDIR", name);
        ran_free(r);
        rc = -1;
    }
    scratch_remove(&tmp);
    return rc;
}

/* The client must fail with one line; with reason, CONTRACT.md 3.2's words. */
static int client_fails(const char *command, const char *path, const char *timeout,
                        const char *reason, const char *situation, char *why, size_t whylen)
{
    struct ran r;
    if (run_client(command, path, timeout, LINE, strlen(LINE), &r, why, whylen) < 0)
        return -1;
    int rc = reason ? expect_error_reason(command, &r, reason, situation, why, whylen)
                    : expect_one_line_error(&r, situation, why, whylen);
    ran_free(&r);
    return rc;
}

static int check_client_missing(const void *context, const char *command, char *why, size_t whylen)
{
    struct scratch tmp;
    char path[320];
    if (scratch_create(&tmp) < 0)
        return -1;
    int rc = client_fails(command, scratch_path(&tmp, "nothing.sock", path, sizeof path), NULL,
                          "No such file or directory", "no socket at the path", why, whylen);
    scratch_remove(&tmp);
    return rc;
}

static int check_client_stale(const void *context, const char *command, char *why, size_t whylen)
{
    struct scratch tmp;
    char path[320];
    if (scratch_create(&tmp) < 0)
        return -1;
    int rc = unix_make_stale(scratch_path(&tmp, "stale.sock", path, sizeof path));
    if (rc < 0)
        snprintf(why, whylen, "harness: cannot leave a stale socket file");
    else
        rc = client_fails(command, path, NULL, "Connection refused", "a stale socket file", why,
                          whylen);
    scratch_remove(&tmp);
    return rc;
}

/* A server that receives and never answers: the client gives up after its
 * timeout, with one line, and removes its own socket file. */
static int check_client_timeout(const void *context, const char *command, char *why, size_t whylen)
{
    struct scratch tmp;
    char path[320];
    if (scratch_create(&tmp) < 0)
        return -1;
    int fd = unix_socket(SOCK_DGRAM, scratch_path(&tmp, "mute.sock", path, sizeof path));
    int rc = -1;
    long long start = now_ms();
    if (fd < 0)
        snprintf(why, whylen, "harness: cannot bind a mute server");
    else
        rc = client_fails(command, path, "0.3", NULL, "no reply", why, whylen);
    if (rc == 0 && now_ms() - start > 10000) {
        snprintf(why, whylen, "with --timeout 0.3, the client took %lld ms to give up",
                 now_ms() - start);
        rc = -1;
    }
    if (fd >= 0)
        close(fd);
    scratch_remove(&tmp);
    return rc;
}

/* More than 65,536 bytes: exit 2, and nothing reaches the server. */
static int check_client_oversize(const void *context, const char *command, char *why, size_t whylen)
{
    struct scratch tmp;
    char path[320], status[96];
    static unsigned char big[65537];
    if (scratch_create(&tmp) < 0)
        return -1;
    int fd = unix_socket(SOCK_DGRAM, scratch_path(&tmp, "server.sock", path, sizeof path));
    struct ran r;
    int rc = fd < 0 ? -1 : run_client(command, path, NULL, big, sizeof big, &r, why, whylen);
    if (rc == 0) {
        unsigned char got[16];
        if (!child_exited_with(&r.proc, 2) || r.outlen) {
            snprintf(why, whylen, "with 65537 bytes on stdin: %s, want exit 2 and nothing on stdout",
                     child_describe(&r.proc, status, sizeof status));
            rc = -1;
        } else if (recv(fd, got, sizeof got, MSG_DONTWAIT) >= 0) {
            snprintf(why, whylen, "with 65537 bytes on stdin, the client still sent a datagram");
            rc = -1;
        }
        ran_free(&r);
    }
    if (fd >= 0)
        close(fd);
    scratch_remove(&tmp);
    return rc;
}

/* A server that sends its byte without a descriptor. */
static int check_client_no_fd(const void *context, const char *command, char *why, size_t whylen)
{
    struct scratch tmp;
    struct started client;
    char path[320];
    if (scratch_create(&tmp) < 0)
        return -1;
    int lfd = unix_socket(SOCK_STREAM, scratch_path(&tmp, "server.sock", path, sizeof path));
    int rc = lfd < 0 || listen(lfd, 1) < 0 ? -1 : 0;
    if (rc == 0)
        rc = start_program(&client, command, (const char *[]){"--path", path, NULL}, "", 0, why,
                           whylen);
    else
        snprintf(why, whylen, "harness: cannot listen on %s", path);
    if (rc == 0) {
        int cfd = -1;
        if (poll_until(lfd, POLLIN, now_ms() + READY_TIMEOUT_MS) == 0 &&
            (cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
            send_all(cfd, "F", 1, 5000);
            close(cfd);
        }
        if (cfd < 0) {
            snprintf(why, whylen, "the client never connected");
            rc = -1;
        } else if (!finish_program(&client, 20000)) {
            snprintf(why, whylen, "the client did not exit within 20 s");
            rc = -1;
        } else {
            rc = expect_one_line_error(&client.r, "a message without a descriptor", why, whylen);
        }
        started_cleanup(&client);
        ran_free(&client.r);
    }
    if (lfd >= 0)
        close(lfd);
    scratch_remove(&tmp);
    return rc;
}

/* An empty message would read as the peer closing: the client refuses it. */
static int check_client_empty(const void *context, const char *command, char *why, size_t whylen)
{
    struct ran r;
    char status[96];
    if (run_client(command, "@socketbook-unused", NULL, "", 0, &r, why, whylen) < 0)
        return -1;
    int rc = 0;
    if (!child_exited_with(&r.proc, 2)) {
        snprintf(why, whylen, "with empty stdin: %s, want exit 2",
                 child_describe(&r.proc, status, sizeof status));
        rc = -1;
    }
    ran_free(&r);
    return rc;
}

/* ---- the registry ------------------------------------------------------------------ */

/* The rows every Unix-domain kind has; kind is its struct unix_kind. */
#define UNIX_CHECK_ROWS(kind)                                                                      \
    {"help", "any", check_help, NULL}, {"bad_flag", "any", check_bad_flag, NULL},                  \
        {"no_path", "any", check_no_path, NULL}, {"long_path", "any", check_long_path, NULL},      \
        {"path_107", "server", path_107, &kind}, {"mode", "server", check_mode, &kind},            \
        {"permission", "server", check_permission, &kind},                                         \
        {"stale", "server", check_stale, &kind}, {"live", "server", check_live, &kind},            \
        {"abstract_live", "server", check_abstract_live, &kind},                                   \
        {"not_socket", "server", check_not_socket, &kind},                                         \
        {"sigint", "server", check_sigint_unix, &kind}, {"logs", "server", check_logs, &kind},     \
        {"missing", "client", check_client_missing, NULL}, {"stale", "client", check_client_stale, NULL}, \
        {"stdout_closed", "client", check_stdout_closed, ARGS("--path", "/nonexistent/socketbook.sock")}


static const struct pair_case STREAM_CASES[] = {
    {.name = "empty", .make = make_empty},
    {.name = "line", .make = make_line},
    {.name = "bytes", .make = make_bytes},
    {.name = "16mib", .make = make_16mib},
    {.name = "abstract", .make = make_line, .abstract = true},
};

static const struct single_check STREAM_CHECKS[] = {
    UNIX_CHECK_ROWS(STREAM),
    {"stop_while_serving", "server", check_stop_while_serving, &STREAM},
    {"survives_vanish", "server", check_survives_vanish, &STREAM},
};

const struct kind_spec UNIX_STREAM_SPEC = {
    .kind = "unix-stream",
    KIND_CASES(STREAM_CASES),
    KIND_CHECKS(STREAM_CHECKS),
    .addressing = ADDR_UNIX,
    .output = OUT_ECHO,
};

static const struct pair_case DGRAM_CASES[] = {
    {.name = "empty", .make = make_empty},
    {.name = "byte", .make = make_byte},
    {.name = "bytes", .make = make_bytes},
    {.name = "65536", .make = make_65536},
    {.name = "abstract", .make = make_line, .abstract = true},
};

static const struct single_check DGRAM_CHECKS[] = {
    UNIX_CHECK_ROWS(DGRAM),
    {"unnamed_sender", "server", check_unnamed_sender, &DGRAM},
    {"unread_replies", "server", check_unread_replies, &DGRAM},
    {"timeout", "client", check_client_timeout, NULL},
    {"oversize", "client", check_client_oversize, NULL},
};

const struct kind_spec UNIX_DGRAM_SPEC = {
    .kind = "unix-dgram",
    KIND_CASES(DGRAM_CASES),
    KIND_CHECKS(DGRAM_CHECKS),
    .addressing = ADDR_UNIX,
    .output = OUT_ECHO,
};

static const struct pair_case SEQPACKET_CASES[] = {
    {.name = "byte", .make = make_byte},
    {.name = "line", .make = make_line},
    {.name = "bytes", .make = make_bytes},
    {.name = "65536", .make = make_65536},
    {.name = "abstract", .make = make_line, .abstract = true},
};

static const struct single_check SEQPACKET_CHECKS[] = {
    UNIX_CHECK_ROWS(SEQPACKET),
    {"stop_while_serving", "server", check_stop_while_serving, &SEQPACKET},
    {"empty", "client", check_client_empty, NULL},
};

const struct kind_spec UNIX_SEQPACKET_SPEC = {
    .kind = "unix-seqpacket",
    KIND_CASES(SEQPACKET_CASES),
    KIND_CHECKS(SEQPACKET_CHECKS),
    .addressing = ADDR_UNIX,
    .output = OUT_ECHO,
};

static const struct pair_case FDPASS_CASES[] = {
    {.name = "empty", .make = make_empty},
    {.name = "line", .make = make_line},
    {.name = "bytes", .make = make_bytes},
    {.name = "abstract", .make = make_line, .abstract = true},
};

static const struct single_check FDPASS_CHECKS[] = {
    UNIX_CHECK_ROWS(FDPASS),
    {"bad_file", "server", check_bad_file, NULL},
    {"no_fd", "client", check_client_no_fd, NULL},
};

const struct kind_spec FDPASS_SPEC = {
    .kind = "fdpass",
    KIND_CASES(FDPASS_CASES),
    KIND_CHECKS(FDPASS_CHECKS),
    .addressing = ADDR_UNIX,
    .output = OUT_FILE,
};

static const struct pair_case PEERCRED_CASES[] = {
    {.name = "file", .make = make_empty},
    {.name = "abstract", .make = make_empty, .abstract = true},
};

static const struct single_check PEERCRED_CHECKS[] = {
    UNIX_CHECK_ROWS(PEERCRED),
    {"nobody", "server", check_nobody_credentials, &PEERCRED},
};

const struct kind_spec PEERCRED_SPEC = {
    .kind = "peercred",
    KIND_CASES(PEERCRED_CASES),
    KIND_CHECKS(PEERCRED_CHECKS),
    .addressing = ADDR_UNIX,
    .output = OUT_CRED,
};
