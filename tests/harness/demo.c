/* demo.c -- what `make chapterN` runs: for each language, start the chapter's
 * server, send it a short message with the same language's client, and print
 * a labelled transcript; then the chapter's slice of the latest interop grid.
 *
 * usage: demo KIND...   (run from the repository root)
 *
 * Environment (optional):
 *   INTEROP_LANGS   only these languages' programs ("c,python"), as for interop;
 *                   the grid stays whole, and chapter 5's sniffer act, the C
 *                   sniffer watching the C ping and raw pair, is shown whatever
 *                   the filter (no other language has a sniffer) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cases.h"
#include "results.h"
#include "run.h"
#include "table.h"

#define TABLE "tests/interop/implementations.tsv"
#define RESULTS "build/interop/results.tsv"
#define DEMO_RAW_HOST "127.53.0.1" /* where chapter 5's raw servers listen */

/* Prints a file's lines, each behind a prefix. */
static void print_indented(const char *path, const char *prefix)
{
    unsigned char *data;
    size_t len;
    if (read_file(path, 1 << 16, &data, &len) < 0)
        return;
    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && data[end] != '\n')
            end++;
        printf("%s%.*s\n", prefix, (int)(end - i), (const char *)data + i);
        i = end + 1;
    }
    free(data);
}

/* Starts a server-like program (a server, or the relay) with a transcript line. */
static int demo_start(struct server *s, const char *command, const char *const extra[],
                      const char *shown_args, const char *err_path, const char *label)
{
    char why[512];
    printf("$ %s %s &\n", command, shown_args);
    if (server_start(s, command, extra, err_path, READY_TIMEOUT_MS, why, sizeof why) < 0) {
        printf("  %s failed to start: %s\n", label, why);
        return -1;
    }
    printf("%s\n", s->ready_line);
    return 0;
}

/* Stops it with SIGTERM, printing its log behind `prefix`. */
static int demo_stop(struct server *s, const char *prefix)
{
    char why[512];
    printf("$ kill -TERM %d\n", (int)s->proc.pid);
    int rc = server_stop(s, SIGTERM, STOP_TIMEOUT_MS, why, sizeof why);
    if (rc < 0)
        printf("  %s\n", why);
    print_indented(s->err_path, prefix);
    server_cleanup(s);
    return rc;
}

/* Where a demonstration's server listens: its arguments, shown and passed. */
struct demo_addr {
    struct where_args where;
    char sock[320], file[320];
};

/* --port 0, or for chapter 4 a socket in the scratch directory (and, for
 * fd_server, the file it passes). */
static void demo_server_addr(const struct kind_spec *spec, const struct impl *server,
                             struct scratch *tmp, struct demo_addr *a)
{
    enum addressing addressing = spec ? spec->addressing : ADDR_INET;
    if (addressing == ADDR_UNIX) {
        char name[64], content[128];
        snprintf(name, sizeof name, "%s.sock", server->lang);
        scratch_path(tmp, name, a->sock, sizeof a->sock);
        snprintf(content, sizeof content, "Read through a descriptor the %s fd_server opened.\n",
                 server->lang);
        if (spec->output == OUT_FILE)
            write_file(scratch_path(tmp, "passed.txt", a->file, sizeof a->file), content,
                       strlen(content));
    }
    server_where(spec, addressing == ADDR_INET ? NULL : addressing == ADDR_RAW ? DEMO_RAW_HOST : a->sock,
                 a->file, &a->where);
}

/* "srw------- path": the socket file's type and permissions, as ls shows them. */
static void print_mode(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    char m[11] = "?---------";
    m[0] = S_ISSOCK(st.st_mode) ? 's' : '-';
    for (int i = 0; i < 9; i++)
        if (st.st_mode & (0400 >> i))
            m[1 + i] = "rwx"[i % 3];
    printf("$ stat -c '%%A %%n' %s\n%s %s\n", path, m, path);
}

/* One language's server and client talking -- through the datagram relay
 * if `via` (a case with relay arguments) is given. Returns 0 if the client
 * succeeded. */
static int demo_pair(const struct kind_spec *spec, const struct impl *server,
                     const struct impl *client, const struct pair_case *via, struct scratch *tmp)
{
    char in[320], out[320], cerr[320], serr[320], rerr[320], status[96];
    char message[128], to[300], relay_cmd[512], client_cmd[1024], shown[400];
    bool sends_stdin = !spec || spec->output == OUT_ECHO;
    snprintf(message, sizeof message, "Hello from the %s client!\n", client->lang);
    write_file(scratch_path(tmp, "stdin", in, sizeof in), message, strlen(message));
    scratch_path(tmp, "stdout", out, sizeof out);
    scratch_path(tmp, "client.stderr", cerr, sizeof cerr);
    scratch_path(tmp, "server.stderr", serr, sizeof serr);
    scratch_path(tmp, "relay.stderr", rerr, sizeof rerr);

    char label[72];
    printf("=== %s%s: %s server, %s client ===\n", server->kind,
           via ? " through the relay" : "", impl_label(server, label, sizeof label), client->lang);
    struct server s, relay = {.out = -1, .proc = {.pid = -1}};
    struct demo_addr addr;
    demo_server_addr(spec, server, tmp, &addr);
    if (demo_start(&s, server->command, addr.where.argv, addr.where.shown, serr, "server") < 0) {
        print_indented(serr, "  [server stderr] ");
        return -1;
    }
    s.dies_of_signal = spec && spec->server_dies_of_signal;
    if (spec && !strcmp(spec->kind, "unix-stream"))
        print_mode(addr.sock);
    const struct ready *target = &s.addr;
    if (via) {
        snprintf(to, sizeof to, strchr(s.addr.host, ':') ? "[%s]:%d" : "%s:%d", s.addr.host,
                 s.addr.port);
        snprintf(relay_cmd, sizeof relay_cmd, "build/tests/relay %s", via->relay_args);
        snprintf(shown, sizeof shown, "--to %s --port 0", to);
        if (demo_start(&relay, relay_cmd, (const char *[]){"--to", to, "--port", "0", NULL}, shown,
                       rerr, "relay") < 0) {
            print_indented(rerr, "  [relay] ");
            server_cleanup(&s);
            return -1;
        }
        target = &relay.addr;
    }
    snprintf(client_cmd, sizeof client_cmd, "%s%s%s", client->command,
             via && via->client_args ? " " : "", via && via->client_args ? via->client_args : "");
    struct where_args dest;
    client_where(spec, target->host, target->port, false, &dest);
    if (sends_stdin)
        printf("$ printf '%.*s\\n' | %s %s\n", (int)strlen(message) - 1, message, client_cmd,
               dest.shown);
    else
        printf("$ %s %s\n", client_cmd, dest.shown);
    struct child c;
    bool done = run_to_end(&c, client_cmd, dest.argv, sends_stdin ? in : NULL, out, cerr,
                           CLIENT_TIMEOUT_MS);
    print_indented(out, "");
    print_indented(cerr, "  [client stderr] ");
    int rc = done && child_exited_with(&c, 0) ? 0 : -1;
    if (rc < 0)
        printf("  client failed: %s\n", done ? child_describe(&c, status, sizeof status) : "timed out");
    else if (spec && spec->output == OUT_CRED)
        printf("  (the client's pid was %d)\n", (int)c.pid);
    if (via && demo_stop(&relay, "  [relay] ") < 0)
        rc = -1;
    if (demo_stop(&s, "  [server stderr] ") < 0)
        rc = -1;
    printf("\n");
    return rc;
}

/* The first case of a kind that goes through the relay and must succeed. */
static const struct pair_case *relay_case(const struct kind_spec *spec)
{
    for (size_t i = 0; spec && i < spec->ncases; i++)
        if (spec->cases[i].relay_args && !spec->cases[i].must_fail)
            return &spec->cases[i];
    return NULL;
}

/* One program run with each of its kind's demonstration arguments. */
static int demo_program(const struct impl *program, const char *const *args, struct scratch *tmp)
{
    char out[320], err[320], status[96], words[256];
    scratch_path(tmp, "stdout", out, sizeof out);
    scratch_path(tmp, "stderr", err, sizeof err);
    printf("=== %s: %s ===\n", program->kind, program->lang);
    int rc = 0;
    for (; *args; args++) {
        char *argv[MAX_ARGS];
        snprintf(words, sizeof words, "%s", *args);
        if (split_words(words, argv, MAX_ARGS) < 0)
            return -1;
        printf("$ %s%s%s\n", program->command, **args ? " " : "", *args);
        struct child c;
        bool done = run_to_end(&c, program->command, (const char *const *)argv, NULL, out, err,
                               CLIENT_TIMEOUT_MS);
        print_indented(out, "");
        print_indented(err, "  [stderr] ");
        if (!done || !child_exited_with(&c, 0)) {
            printf("  failed: %s\n", done ? child_describe(&c, status, sizeof status) : "timed out");
            rc = -1;
        }
    }
    printf("\n");
    return rc;
}

/* Runs a command to its end with stdin from a string, printing a transcript. */
static int demo_run(const char *command, const char *const args[], const char *shown,
                    const char *input, struct scratch *tmp)
{
    char in[320], out[320], err[320], status[96];
    write_file(scratch_path(tmp, "run.stdin", in, sizeof in), input, strlen(input));
    scratch_path(tmp, "run.stdout", out, sizeof out);
    scratch_path(tmp, "run.stderr", err, sizeof err);
    if (*input)
        printf("$ printf '%.*s\\n' | %s %s\n", (int)strlen(input) - 1, input, command, shown);
    else
        printf("$ %s %s\n", command, shown);
    struct child c;
    bool done = run_to_end(&c, command, args, in, out, err, CLIENT_TIMEOUT_MS);
    print_indented(out, "");
    print_indented(err, "  [stderr] ");
    if (done && child_exited_with(&c, 0))
        return 0;
    printf("  failed: %s\n", done ? child_describe(&c, status, sizeof status) : "timed out");
    return -1;
}

/* Chapter 5's last act: the C sniffer watches lo while the C ping and the C
 * protocol-253 pair run, then shows what it saw. */
static int demo_sniffer(const struct table *t)
{
    const struct impl *sniffer = table_find(t, "sniffer", "c", "program"),
                      *ping = table_find(t, "icmp", "c", "client"),
                      *server = table_find(t, "raw", "c", "server"),
                      *client = table_find(t, "raw", "c", "client");
    struct scratch tmp;
    if (!sniffer || !ping || !server || !client || scratch_create(&tmp) < 0)
        return -1;
    char serr[320], rerr[320], why[512], seen[16384];
    printf("=== sniffer: the C sniffer on lo, while the C ping and the C raw pair run ===\n");
    struct server sn, rs;
    int rc = -1;
    printf("$ %s --interface lo &\n", sniffer->command);
    if (watcher_start(&sn, sniffer->command, (const char *[]){"--interface", "lo", NULL},
                      scratch_path(&tmp, "sniffer.stderr", serr, sizeof serr), READY_TIMEOUT_MS,
                      why, sizeof why) < 0) {
        printf("  sniffer failed to start: %s\n", why);
        print_indented(serr, "  [sniffer stderr] ");
        scratch_remove(&tmp);
        return -1;
    }
    printf("%s\n", sn.ready_line);
    if (demo_run(ping->command, (const char *[]){"--host", "127.0.0.1", "--count", "1", NULL},
                 "--host 127.0.0.1 --count 1", "", &tmp) == 0 &&
        demo_start(&rs, server->command, (const char *[]){"--host", DEMO_RAW_HOST, NULL},
                   "--host " DEMO_RAW_HOST, scratch_path(&tmp, "raw.stderr", rerr, sizeof rerr),
                   "server") == 0) {
        rc = demo_run(client->command, (const char *[]){"--host", DEMO_RAW_HOST, NULL},
                      "--host " DEMO_RAW_HOST, "Hello, protocol 253!\n", &tmp);
        if (demo_stop(&rs, "  [server stderr] ") < 0)
            rc = -1;
    }
    printf("$ kill -TERM %d    # the sniffer saw:\n", (int)sn.proc.pid);
    child_signal(&sn.proc, SIGTERM);
    read_rest(sn.out, seen, sizeof seen, 5000);
    fputs(seen, stdout);
    print_indented(serr, "  [sniffer stderr] ");
    server_cleanup(&sn);
    scratch_remove(&tmp);
    printf("\n");
    return rc;
}

/* Whether lang is one of the comma-separated languages in only (NULL: all),
 * as interop.c reads INTEROP_LANGS. */
static bool lang_selected(const char *only, const char *lang)
{
    if (!only)
        return true;
    size_t n = strlen(lang);
    for (const char *p = only; (p = strstr(p, lang)); p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* INTEROP_LANGS, or NULL if it is unset or empty. Fails (with err) if it
 * names a language the table has no row for: a typo would otherwise show an
 * empty demonstration and succeed. */
static int langs_from_env(const struct table *t, const char **only, char *err, size_t errlen)
{
    *only = getenv("INTEROP_LANGS");
    if (!*only || !**only) {
        *only = NULL;
        return 0;
    }
    for (const char *p = *only; *p;) {
        size_t n = strcspn(p, ",");
        bool known = false;
        for (size_t i = 0; i < t->len && !known; i++)
            known = strlen(t->rows[i].lang) == n && !strncmp(t->rows[i].lang, p, n);
        if (!known) {
            snprintf(err, errlen, "INTEROP_LANGS: no language \"%.*s\" in %s", (int)n, p, TABLE);
            return -1;
        }
        p += n + (p[n] == ',');
    }
    return 0;
}

static void print_grid(const char *kind)
{
    struct results rs;
    if (results_load(RESULTS, &rs) < 0) {
        printf("No interop results yet: `make interop` runs every server against every client\n"
               "and fills in this grid.\n");
        return;
    }
    bool any = false;
    for (size_t i = 0; i < rs.len && !any; i++)
        any = !strcmp(rs.items[i].kind, kind);
    if (any) {
        printf("The %s grid from the last interop run (%s):\n", kind, rs.date);
        results_print_grid(&rs, kind, stdout);
    } else {
        printf("The last interop run (%s) did not test %s: `make interop` fills in its grid.\n",
               rs.date, kind);
    }
    results_free(&rs);
}

/* The client a server is shown with: its own language's, of its kind or else
 * of the kind whose protocol it speaks (a chapter 6 server's is `tcp`'s). */
static const struct impl *client_for(const struct table *t, const struct kind_spec *spec,
                                     const struct impl *server)
{
    const struct impl *client = table_find(t, server->kind, server->lang, "client");
    if (!client && spec && spec->peer_kind)
        client = table_find(t, spec->peer_kind, server->lang, "client");
    return client;
}

int main(int argc, char *argv[])
{
    if (argc < 2) {
        fprintf(stderr, "usage: demo KIND...\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct table t;
    char err[256];
    const char *only;
    if (table_load(TABLE, &t, err, sizeof err) < 0) {
        fprintf(stderr, "demo: %s\n", err);
        return 1;
    }
    if (langs_from_env(&t, &only, err, sizeof err) < 0) {
        fprintf(stderr, "demo: %s\n", err);
        table_free(&t);
        return 2;
    }
    int failures = 0;
    for (int k = 1; k < argc; k++) {
        const struct kind_spec *spec = kind_spec_find(argv[k]);
        for (size_t i = 0; i < t.len; i++) {
            const struct impl *row = &t.rows[i];
            struct scratch tmp;
            if (strcmp(row->kind, argv[k]) || !lang_selected(only, row->lang) ||
                scratch_create(&tmp) < 0)
                continue;
            if (!strcmp(row->role, "server")) {
                const struct impl *client = client_for(&t, spec, row);
                if (client)
                    failures += demo_pair(spec, row, client, NULL, &tmp) < 0;
            } else if (spec && spec->demo_args &&
                       (!strcmp(row->role, "program") ||
                        (!strcmp(row->role, "client") &&
                         !table_find(&t, row->kind, row->lang, "server")))) {
                /* a program, or a client with no server of its own (ping) */
                failures += demo_program(row, spec->demo_args, &tmp) < 0;
            }
            scratch_remove(&tmp);
        }
        if (!strcmp(argv[k], "sniffer"))
            failures += demo_sniffer(&t) < 0;
        /* Loss you can see: the first (selected) language's pair again, through the relay. */
        const struct pair_case *via = relay_case(spec);
        const struct impl *server = NULL, *client = NULL;
        for (size_t i = 0; via && i < t.len && !server; i++)
            if (!strcmp(t.rows[i].kind, argv[k]) && !strcmp(t.rows[i].role, "server") &&
                lang_selected(only, t.rows[i].lang))
                server = &t.rows[i];
        if (server)
            client = client_for(&t, spec, server);
        struct scratch tmp;
        if (client && scratch_create(&tmp) == 0) {
            failures += demo_pair(spec, server, client, via, &tmp) < 0;
            scratch_remove(&tmp);
        }
        print_grid(argv[k]);
        if (k + 1 < argc)
            printf("\n");
    }
    table_free(&t);
    if (failures)
        printf("\n%d demonstration(s) failed.\n", failures);
    return failures ? 1 : 0;
}
