/* interop.c -- the cross-language interop matrix, as Criterion tests.
 *
 * For every kind in tests/interop/implementations.tsv: every server x every
 * client x every case (suite "pairs"), and every program on its own against
 * the contract's edge rules (suite "checks"). Each test runs in its own
 * process; Criterion runs them in parallel (--jobs). Each appends its outcome
 * to a results file, from which main() writes results.json and the grid.
 *
 * Environment (all optional; the Makefile sets them):
 *   INTEROP_TABLE   the table (default tests/interop/implementations.tsv)
 *   INTEROP_OUT     where results go (default build/interop)
 *   INTEROP_KIND    only this kind
 *   INTEROP_LANGS   only tests involving one of these languages ("c,python")
 *   INTEROP_LANGS_BOTH  if set, a pair only if both its programs are in INTEROP_LANGS
 *   INTEROP_SERVER  a command to test as the server against every reference client
 *   INTEROP_CLIENT  a command to test as the client against every reference server
 *   INTEROP_LABEL   the outside implementation's name in the grid (default "yours")
 *   INTEROP_RELAY   the datagram relay (default build/tests/relay)
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cases.h"
#include "progress.h"
#include "compare.h"
#include "results.h"
#include "run.h"
#include "table.h"
#include "rawnet.h"
#include "unixnet.h"

#define OUTSIDE_LANG "yours" /* how an outside implementation appears in the grid, */
                             /* unless INTEROP_LABEL names it */

/* One pair test; plain values only, since Criterion copies parameters into
 * shared memory for the worker processes. */
struct pair_param {
    char error[256]; /* set if the table could not be loaded: the test fails */
    struct impl server, client;
    char kind[32], case_name[32];
    size_t case_index;
};

struct check_param {
    char error[256];
    struct impl impl;
    char check[32];
    size_t check_index;
};

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static const char *results_path(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/results.tsv", env_or("INTEROP_OUT", "build/interop"));
    return path;
}

/* ---- which implementations are under test ------------------------------- */

/* The reference table plus any outside implementation, filtered by kind. */
struct selection {
    struct table table;
    struct impl outside_server, outside_client;
    bool has_outside_server, has_outside_client;
    const char *only_kind;
    const char *only_langs; /* "c,python": only tests involving these languages */
    bool both_langs;        /* INTEROP_LANGS_BOTH: a pair's server and client both in them */
};

static void outside_impl(struct impl *i, const char *kind, const char *role, const char *command)
{
    snprintf(i->lang, sizeof i->lang, "%s", env_or("INTEROP_LABEL", OUTSIDE_LANG));
    snprintf(i->kind, sizeof i->kind, "%s", kind);
    snprintf(i->role, sizeof i->role, "%s", role);
    snprintf(i->variant, sizeof i->variant, "-");
    snprintf(i->command, sizeof i->command, "%s", command);
}

/* Whether a language of the comma-separated list is in no row of the table
 * (a typo in LANGS), saying which in err. */
static bool unknown_lang(const struct table *t, const char *langs, char *err, size_t errlen)
{
    char list[256], *save = NULL;
    snprintf(list, sizeof list, "%s", langs);
    for (char *lang = strtok_r(list, ",", &save); lang; lang = strtok_r(NULL, ",", &save)) {
        bool found = false;
        for (size_t i = 0; i < t->len && !found; i++)
            found = !strcmp(t->rows[i].lang, lang);
        if (!found && strcmp(lang, env_or("INTEROP_LABEL", OUTSIDE_LANG))) {
            snprintf(err, errlen, "unknown language \"%s\" in LANGS (the table has none)", lang);
            return true;
        }
    }
    return false;
}

static int select_impls(struct selection *sel, char *err, size_t errlen)
{
    *sel = (struct selection){0};
    if (table_load(env_or("INTEROP_TABLE", "tests/interop/implementations.tsv"), &sel->table,
                   err, errlen) < 0)
        return -1;
    const char *server = getenv("INTEROP_SERVER"), *client = getenv("INTEROP_CLIENT");
    sel->has_outside_server = server && *server;
    sel->has_outside_client = client && *client;
    sel->only_langs = getenv("INTEROP_LANGS");
    if (sel->only_langs && !*sel->only_langs)
        sel->only_langs = NULL;
    sel->both_langs = getenv("INTEROP_LANGS_BOTH") && *getenv("INTEROP_LANGS_BOTH");
    sel->only_kind = getenv("INTEROP_KIND");
    if (sel->only_kind && !*sel->only_kind)
        sel->only_kind = NULL;
    if ((sel->has_outside_server || sel->has_outside_client) && !sel->only_kind)
        sel->only_kind = "tcp";
    if (sel->only_kind && !kind_spec_find(sel->only_kind)) {
        snprintf(err, errlen, "unknown KIND \"%s\"", sel->only_kind);
        return -1;
    }
    if (sel->only_langs && unknown_lang(&sel->table, sel->only_langs, err, errlen))
        return -1;
    if (sel->has_outside_server)
        outside_impl(&sel->outside_server, sel->only_kind, "server", server);
    if (sel->has_outside_client)
        outside_impl(&sel->outside_client, sel->only_kind, "client", client);
    return 0;
}

/* The servers (or clients) of a kind: the outside one if given, else the
 * references. *out has room for every row of the table (impls_alloc). */
static size_t impls_for(const struct selection *sel, const char *kind, const char *role,
                        const struct impl **out)
{
    bool server = !strcmp(role, "server");
    if (server ? sel->has_outside_server : sel->has_outside_client) {
        out[0] = server ? &sel->outside_server : &sel->outside_client;
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < sel->table.len; i++)
        if (!strcmp(sel->table.rows[i].kind, kind) && !strcmp(sel->table.rows[i].role, role))
            out[n++] = &sel->table.rows[i];
    return n;
}

/* Room for impls_for's answer: one entry per table row, and one more for an
 * outside implementation. NULL (with err) if memory ran out. */
static const struct impl **impls_alloc(const struct selection *sel, char *err, size_t errlen)
{
    const struct impl **a = calloc(sel->table.len + 1, sizeof *a);
    if (!a)
        snprintf(err, errlen, "harness: out of memory for %zu table rows", sel->table.len);
    return a;
}

static bool kind_selected(const struct selection *sel, const char *kind)
{
    return !sel->only_kind || !strcmp(sel->only_kind, kind);
}

/* Whether lang is one of the comma-separated INTEROP_LANGS (or there is no such filter). */
static bool lang_selected(const struct selection *sel, const char *lang)
{
    if (!sel->only_langs)
        return true;
    size_t n = strlen(lang);
    for (const char *p = sel->only_langs; (p = strstr(p, lang)); p += n)
        if ((p == sel->only_langs || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* Moves a malloc'd parameter array into Criterion's shared memory, which
 * the worker processes read their parameters from. */
static void *to_shared(void *params, size_t size)
{
    void *shared = cr_malloc(size ? size : 1);
    if (shared && size)
        memcpy(shared, params, size);
    free(params);
    return shared;
}

/* Criterion needs at least one parameter; a failed load becomes one failing test. */
static void *error_params(size_t size, size_t error_offset, const char *err, size_t *count)
{
    char *p = cr_calloc(1, size);
    snprintf(p + error_offset, 256, "%s", err);
    *count = 1;
    return p;
}

/* ---- pairs ---------------------------------------------------------------- */

/* Appends every server x client x case of spec to *params. Returns 0, or -1
 * when memory runs out. */
static int append_pairs(struct pair_param **params, size_t *n, const struct kind_spec *spec,
                        const struct selection *sel, const struct impl *const *servers, size_t ns,
                        const struct impl *const *clients, size_t nc, bool same_lang)
{
    struct pair_param *grown = realloc(*params, (*n + ns * nc * spec->ncases + 1) * sizeof *grown);
    if (!grown)
        return -1;
    *params = grown;
    for (size_t s = 0; s < ns; s++)
        for (size_t c = 0; c < nc; c++)
            for (size_t i = 0; i < spec->ncases; i++) {
                bool ss = lang_selected(sel, servers[s]->lang), cs = lang_selected(sel, clients[c]->lang);
                if (sel->both_langs ? !(ss && cs) : !(ss || cs))
                    continue;
                if (same_lang && strcmp(servers[s]->lang, clients[c]->lang) != 0)
                    continue;
                struct pair_param *p = &grown[(*n)++];
                *p = (struct pair_param){.server = *servers[s], .client = *clients[c], .case_index = i};
                snprintf(p->kind, sizeof p->kind, "%s", spec->kind);
                snprintf(p->case_name, sizeof p->case_name, "%s", spec->cases[i].name);
            }
    return 0;
}

/* The pairs of one kind: its servers with its clients; and, for a kind with a
 * peer kind, its servers with the peer's clients and the peer's servers with
 * its clients (an outside program is not paired twice). Sets *any if the kind
 * has pairs at all. Returns 0, or -1 when memory runs out. */
static int kind_pairs(struct pair_param **params, size_t *n, const struct kind_spec *spec,
                      const struct selection *sel, const struct impl **room[4], bool *any)
{
    const struct impl **servers = room[0], **clients = room[1], **peer_servers = room[2],
                      **peer_clients = room[3];
    size_t ns = impls_for(sel, spec->kind, "server", servers);
    size_t nc = impls_for(sel, spec->kind, "client", clients);
    size_t nps = 0, npc = 0;
    if (spec->peer_kind) {
        nps = sel->has_outside_server ? 0 : impls_for(sel, spec->peer_kind, "server", peer_servers);
        npc = sel->has_outside_client ? 0 : impls_for(sel, spec->peer_kind, "client", peer_clients);
    }
    *any |= ns * nc + ns * npc + nps * nc > 0;
    /* A kind with a peer kind may pair its own programs by language only: each
     * has met every other language already, through the peer kind's programs. */
    bool by_language = spec->own_pairs_by_language && !sel->has_outside_server &&
                       !sel->has_outside_client;
    return append_pairs(params, n, spec, sel, servers, ns, clients, nc, by_language) < 0 ||
                   append_pairs(params, n, spec, sel, servers, ns, peer_clients, npc, false) < 0 ||
                   append_pairs(params, n, spec, sel, peer_servers, nps, clients, nc, false) < 0
               ? -1
               : 0;
}

static struct pair_param *make_pair_params(size_t *count)
{
    struct selection sel;
    char err[256];
    if (select_impls(&sel, err, sizeof err) < 0)
        return error_params(sizeof(struct pair_param), offsetof(struct pair_param, error), err, count);

    const struct impl **room[4] = {NULL};
    bool no_room = false;
    for (int i = 0; i < 4; i++)
        no_room |= !(room[i] = impls_alloc(&sel, err, sizeof err));
    struct pair_param *params = NULL;
    size_t n = 0;
    bool any_cases = false, out_of_memory = false;
    for (size_t k = 0; k < NKIND_SPECS && !no_room && !out_of_memory; k++) {
        const struct kind_spec *spec = KIND_SPECS[k];
        if (kind_selected(&sel, spec->kind) && spec->ncases > 0) /* lookup has no cases */
            out_of_memory = kind_pairs(&params, &n, spec, &sel, room, &any_cases) < 0;
    }
    for (int i = 0; i < 4; i++)
        free(room[i]);
    table_free(&sel.table);
    if (no_room || out_of_memory) {
        free(params);
        return error_params(sizeof(struct pair_param), offsetof(struct pair_param, error),
                            no_room ? err : "harness: out of memory for the pair tests", count);
    }
    if (n == 0 && (!any_cases || sel.only_langs)) { /* nothing to pair up, and that is fine */
        free(params);
        *count = 0;
        return cr_malloc(1);
    }
    if (n == 0) {
        free(params);
        return error_params(sizeof(struct pair_param), offsetof(struct pair_param, error),
                            "no pairs to test: is the table empty for this KIND?", count);
    }
    *count = n;
    return to_shared(params, n * sizeof *params);
}

static void free_params(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}

ParameterizedTestParameters(pairs, echo)
{
    size_t n = 0;
    struct pair_param *params = make_pair_params(&n);
    return cr_make_param_array(struct pair_param, params, n, free_params);
}

/* Everything one pair test produced, for the verdict and the report. */
struct pair_run {
    bool ok, skipped;
    char why[2048];
    char logs[320]; /* a failure's logs, kept under INTEROP_OUT/logs/ */
};

static void add_log(char *why, size_t whylen, const char *who, const char *path)
{
    char tail[800];
    size_t used = strlen(why);
    snprintf(why + used, whylen - used, "\n    %s stderr:\n%s", who, file_tail(path, tail, sizeof tail));
}

/* The relay's command: INTEROP_RELAY, or the one `make` builds. */
static const char *relay_command(void)
{
    return env_or("INTEROP_RELAY", "build/tests/relay");
}

/* "127.0.0.1:40123" or "[::1]:40123", for the relay's --to. */
static void format_addr(const struct ready *a, char *buf, size_t len)
{
    snprintf(buf, len, strchr(a->host, ':') ? "[%s]:%d" : "%s:%d", a->host, a->port);
}

static size_t count_in(const unsigned char *data, size_t len, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (const unsigned char *p = data; p && (p = memmem(p, len - (size_t)(p - data), needle, k));
         p += k)
        n++;
    return n;
}

/* What the relay's log says it did, checked against the case. */
static bool relay_did_its_part(const struct pair_case *c, const char *log_path, char *why,
                               size_t whylen)
{
    unsigned char *log;
    size_t len;
    if (read_file(log_path, 1 << 20, &log, &len) < 0) {
        snprintf(why, whylen, "cannot read the relay's log");
        return false;
    }
    size_t sent = count_in(log, len, "-> server #"), dropped = count_in(log, len, ": dropped");
    bool ok = true;
    if (c->attempts && sent != (size_t)c->attempts) {
        snprintf(why, whylen, "the client sent %zu datagrams, want %d (1 + --retries)", sent,
                 c->attempts);
        ok = false;
    } else if (c->must_drop && dropped == 0) {
        snprintf(why, whylen, "the relay dropped nothing, so no retry was tested");
        ok = false;
    }
    free(log);
    return ok;
}

/* Everything one pair test sets up: its files, the server (and relay), and
 * what the client is told and must print. */
struct pair_setup {
    struct scratch tmp;
    struct server srv, relay;
    unsigned char *payload;
    size_t len;
    char in[320], out[320], cerr[320], serr[320], rerr[320];
    char sock[320];       /* unix kinds: the server's --path; raw: its --host */
    char served[320];     /* fdpass: the server's --file */
    char client_tmp[320]; /* unix kinds: the client's TMPDIR, which must stay empty */
};

/* The server's arguments: --host/--port, or --path (and --file) for unix
 * kinds; raw and unix kinds get an address of this test's own in s->sock. */
static void server_args(const struct kind_spec *spec, const struct pair_case *c,
                        struct pair_setup *s, struct where_args *w)
{
    if (spec->addressing == ADDR_RAW)
        own_loopback(s->sock, sizeof s->sock);
    else if (spec->addressing == ADDR_UNIX && c->abstract) /* one name per test process */
        snprintf(s->sock, sizeof s->sock, "@socketbook-%d", (int)getpid());
    else if (spec->addressing == ADDR_UNIX)
        scratch_path(&s->tmp, "server.sock", s->sock, sizeof s->sock);
    server_where(spec, spec->addressing == ADDR_INET ? c->host : s->sock, s->served, w);
}

/* Creates the scratch files and starts the server, and the relay if the case
 * has one. Returns 0, or -1 with why. */
static int pair_prepare(const struct pair_param *p, const struct kind_spec *spec,
                        const struct pair_case *c, struct pair_setup *s, char *why, size_t whylen)
{
    if (scratch_create(&s->tmp) < 0 || !(s->len = c->make(&s->payload), s->payload) ||
        write_file(scratch_path(&s->tmp, "payload", s->in, sizeof s->in), s->payload, s->len) < 0 ||
        write_file(scratch_path(&s->tmp, "served", s->served, sizeof s->served), s->payload, s->len) < 0 ||
        mkdir(scratch_path(&s->tmp, "client-tmp", s->client_tmp, sizeof s->client_tmp), 0700) < 0) {
        snprintf(why, whylen, "harness: cannot prepare the payload");
        return -1;
    }
    scratch_path(&s->tmp, "client.stdout", s->out, sizeof s->out);
    scratch_path(&s->tmp, "client.stderr", s->cerr, sizeof s->cerr);
    scratch_path(&s->tmp, "server.stderr", s->serr, sizeof s->serr);
    scratch_path(&s->tmp, "relay.stderr", s->rerr, sizeof s->rerr);

    struct where_args args;
    server_args(spec, c, s, &args);
    if (server_start(&s->srv, p->server.command, args.argv, s->serr, READY_TIMEOUT_MS, why, whylen) < 0)
        return -1;
    const struct kind_spec *own = kind_spec_find(p->server.kind); /* a peer kind's server, maybe */
    s->srv.dies_of_signal = own && own->server_dies_of_signal;
    if (spec->addressing == ADDR_INET && s->srv.addr.port == 0) {
        snprintf(why, whylen, "READY says \"%s\", with no port", s->srv.ready_line);
        return -1;
    }
    if (spec->addressing != ADDR_INET && strcmp(s->srv.addr.host, s->sock)) {
        snprintf(why, whylen, "READY says \"%s\", want \"READY %s\"", s->srv.ready_line, s->sock);
        return -1;
    }
    if (!c->relay_args)
        return 0;
    char relay_cmd[1024], to[300];
    format_addr(&s->srv.addr, to, sizeof to);
    snprintf(relay_cmd, sizeof relay_cmd, "%s %s", relay_command(), c->relay_args);
    return server_start(&s->relay, relay_cmd,
                        (const char *[]){"--host", c->host, "--port", "0", "--to", to, NULL},
                        s->rerr, READY_TIMEOUT_MS, why, whylen);
}

/* Runs the client to its end against the server (or the relay in front of
 * it), with the payload on stdin where it echoes it; unix clients get their
 * own TMPDIR, for the datagram client's address. */
static bool pair_run_client(const struct pair_param *p, const struct kind_spec *spec,
                            const struct pair_case *c, struct pair_setup *s, struct child *client)
{
    char client_cmd[1024];
    const struct ready *target = c->relay_args ? &s->relay.addr : &s->srv.addr;
    snprintf(client_cmd, sizeof client_cmd, "%s%s%s", p->client.command,
             c->client_args ? " " : "", c->client_args ? c->client_args : "");
    const char *in = spec->output == OUT_ECHO ? s->in : NULL;
    struct where_args to;
    client_where(spec, target->host, target->port, true, &to);
    if (spec->addressing != ADDR_UNIX)
        return run_to_end(client, client_cmd, to.argv, in, s->out, s->cerr, CLIENT_TIMEOUT_MS);
    /* Each test is its own process, so this TMPDIR is the client's alone. */
    char *saved = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", s->client_tmp, 1);
    bool done = run_to_end(client, client_cmd, to.argv, in, s->out, s->cerr, CLIENT_TIMEOUT_MS);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    return done;
}

/* What the client must print: the payload, or (peercred) its own credentials. */
static size_t expected_output(const struct kind_spec *spec, const struct pair_setup *s,
                              const struct child *client, char *cred, size_t credlen,
                              const unsigned char **want)
{
    if (spec->output != OUT_CRED) {
        *want = s->payload;
        return s->len;
    }
    cred_line(client->pid, getuid(), getgid(), cred, credlen);
    *want = (const unsigned char *)cred;
    return strlen(cred);
}

/* The client's verdict: the right output and exit 0, or (must_fail) exit 1
 * with one line. Returns 0, or -1 with why. */
static int pair_check_client(const struct kind_spec *spec, const struct pair_case *c,
                             struct pair_setup *s, const struct child *client, char *why,
                             size_t whylen)
{
    unsigned char *got = NULL, *err = NULL;
    size_t gotlen = 0, errlen = 0;
    char status[96], cred[96];
    const unsigned char *want;
    size_t wantlen = expected_output(spec, s, client, cred, sizeof cred, &want);
    int rc = -1;
    if (c->must_fail) {
        /* No echo can come back: the client must say so on one line and exit 1. */
        if (!child_exited_with(client, 1) || read_file(s->out, 1 << 20, &got, &gotlen) < 0 ||
            gotlen || read_file(s->cerr, 1 << 20, &err, &errlen) < 0 || count_lines(err, errlen) != 1)
            snprintf(why, whylen, "client ended with %s and %zu bytes on stdout; want exit 1, "
                     "nothing on stdout and one line on stderr",
                     child_describe(client, status, sizeof status), gotlen);
        else
            rc = 0;
    } else if (!child_exited_with(client, 0)) {
        snprintf(why, whylen, "client ended with %s, want exit 0",
                 child_describe(client, status, sizeof status));
    } else if (read_file(s->out, wantlen + 1, &got, &gotlen) < 0 ||
               first_difference(want, wantlen, got, gotlen) >= 0) {
        snprintf(why, whylen, "client output differs from what it should print: ");
        size_t used = strlen(why);
        describe_difference(want, wantlen, got, gotlen, why + used, whylen - used);
    } else {
        rc = 0;
    }
    free(got);
    free(err);
    return rc;
}

/* After the client: a unix client left nothing in its TMPDIR. After the
 * server's stop: a unix server removed its socket file. */
static int pair_check_leftovers(const struct kind_spec *spec, const struct pair_setup *s,
                                bool server_stopped, char *why, size_t whylen)
{
    char name[256];
    if (spec->addressing != ADDR_UNIX)
        return 0;
    if (!server_stopped && find_entry(s->client_tmp, "", name, sizeof name)) {
        snprintf(why, whylen, "the client left \"%s\" in its TMPDIR", name);
        return -1;
    }
    if (server_stopped && s->sock[0] == '/' && access(s->sock, F_OK) == 0) {
        snprintf(why, whylen, "the server left its socket file %s behind", s->sock);
        return -1;
    }
    return 0;
}

/* Creates dir and its parents (mode 0755). Returns 0 or -1. */
static int make_dirs(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* impl_label as one folder name: "c+epoll". Returns buf. */
static const char *folder_label(const struct impl *row, char *buf, size_t len)
{
    impl_label(row, buf, len);
    for (char *c = buf; (c = strchr(c, '/'));)
        *c = '+';
    return buf;
}

/* A failing pair keeps its programs' stderr in INTEROP_OUT/logs/<kind>/
 * <server>-<client>-<case>/, named in results.json (the scratch directory is
 * removed). Fills logs with the folder, or leaves it "" if nothing was kept. */
static void keep_logs(const struct pair_param *p, const struct pair_setup *s, char *logs,
                      size_t len)
{
    char dir[320], server[72], client[72];
    snprintf(dir, sizeof dir, "%s/logs/%s/%s-%s-%s", env_or("INTEROP_OUT", "build/interop"),
             p->kind, folder_label(&p->server, server, sizeof server),
             folder_label(&p->client, client, sizeof client), p->case_name);
    if (make_dirs(dir) < 0) {
        fprintf(stderr, "interop: cannot create %s: %s\n", dir, strerror(errno));
        return;
    }
    const char *files[][2] = {{s->serr, "server.stderr"}, {s->cerr, "client.stderr"},
                              {s->rerr, "relay.stderr"}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        unsigned char *data;
        size_t n;
        char to[400];
        if (!files[i][0][0] || read_file(files[i][0], 1 << 20, &data, &n) < 0)
            continue; /* that program never ran */
        snprintf(to, sizeof to, "%s/%s", dir, files[i][1]);
        if (write_file(to, data, n) < 0)
            fprintf(stderr, "interop: cannot write %s\n", to);
        free(data);
    }
    snprintf(logs, len, "%s", dir);
}

/* Runs one server/client/case -- through the relay if the case says so --
 * and leaves nothing behind. */
static void run_pair(const struct pair_param *p, const struct kind_spec *spec,
                     const struct pair_case *c, struct pair_run *r)
{
    struct pair_setup s = {.srv = {.out = -1, .proc = {.pid = -1, .pidfd = -1}},
                           .relay = {.out = -1, .proc = {.pid = -1, .pidfd = -1}}};
    struct child client;
    bool client_ran = false;
    r->ok = r->skipped = false;
    r->why[0] = r->logs[0] = '\0';
    if (spec->addressing == ADDR_RAW) {
        /* Raw sockets need CAP_NET_RAW; each raw test gets a network namespace
         * of its own, so no other test's packets reach it. */
        int rc = raw_isolate(r->why, sizeof r->why);
        r->skipped = rc == RAW_NOT_ROOT;
        if (rc != 0)
            return;
    }

    if (pair_prepare(p, spec, c, &s, r->why, sizeof r->why) < 0)
        goto done;
    client_ran = true;
    if (!pair_run_client(p, spec, c, &s, &client)) {
        snprintf(r->why, sizeof r->why, "client did not finish within %d ms", CLIENT_TIMEOUT_MS);
        goto done;
    }
    if (pair_check_client(spec, c, &s, &client, r->why, sizeof r->why) < 0 ||
        pair_check_leftovers(spec, &s, false, r->why, sizeof r->why) < 0)
        goto done;
    if (c->relay_args && (server_stop(&s.relay, SIGTERM, STOP_TIMEOUT_MS, r->why, sizeof r->why) < 0 ||
                          !relay_did_its_part(c, s.rerr, r->why, sizeof r->why)))
        goto done;
    if (server_stop(&s.srv, SIGTERM, STOP_TIMEOUT_MS, r->why, sizeof r->why) < 0 ||
        pair_check_leftovers(spec, &s, true, r->why, sizeof r->why) < 0)
        goto done;
    r->ok = true;

done:
    if (!r->ok) {
        if (s.srv.err_path[0])
            add_log(r->why, sizeof r->why, "server", s.serr);
        if (s.relay.err_path[0])
            add_log(r->why, sizeof r->why, "relay", s.rerr);
        if (client_ran)
            add_log(r->why, sizeof r->why, "client", s.cerr);
        if (s.tmp.dir[0] && !r->skipped)
            keep_logs(p, &s, r->logs, sizeof r->logs);
    }
    server_cleanup(&s.relay);
    server_cleanup(&s.srv);
    free(s.payload);
    scratch_remove(&s.tmp);
}

static void record(const char *kind, const char *role, const char *lang, const char *peer,
                   const char *name, const char *status, long ms, const char *why,
                   const char *logs)
{
    struct result res = {.ms = ms};
    snprintf(res.kind, sizeof res.kind, "%s", kind);
    snprintf(res.role, sizeof res.role, "%s", role);
    snprintf(res.lang, sizeof res.lang, "%s", lang);
    snprintf(res.peer, sizeof res.peer, "%s", peer);
    snprintf(res.name, sizeof res.name, "%s", name);
    snprintf(res.status, sizeof res.status, "%s", status);
    if (strcmp(status, "pass"))
        snprintf(res.detail, sizeof res.detail, "%s", why);
    else if (warnings()[0])
        snprintf(res.detail, sizeof res.detail, "warning: %s", warnings());
    snprintf(res.logs, sizeof res.logs, "%s", logs);
    if (results_append(results_path(), &res) < 0)
        fprintf(stderr, "interop: cannot append to %s: %s\n", results_path(), strerror(errno));
}

ParameterizedTest(struct pair_param *p, pairs, echo, .timeout = 180)
{
    cr_assert(!p->error[0], "%s", p->error);
    const struct kind_spec *spec = kind_spec_find(p->kind);
    cr_assert(spec && p->case_index < spec->ncases, "unknown kind or case");

    long long start = now_ms();
    struct pair_run r;
    run_pair(p, spec, &spec->cases[p->case_index], &r);
    char server[72], client[72];
    impl_label(&p->server, server, sizeof server);
    impl_label(&p->client, client, sizeof client);
    record(p->kind, "pair", server, client, p->case_name,
           r.ok ? "pass" : r.skipped ? "skipped" : "fail", (long)(now_ms() - start), r.why, r.logs);
    if (r.skipped)
        cr_skip_test("%s server=%s client=%s case=%s: skipped: %s", p->kind, server, client,
                     p->case_name, r.why);
    cr_assert(r.ok, "%s server=%s client=%s case=%s: %s\n    server: %s\n    client: %s\n    logs: %s",
              p->kind, server, client, p->case_name, r.why, p->server.command,
              p->client.command, r.logs[0] ? r.logs : "(none kept)");
}

/* ---- checks of one program ------------------------------------------------ */

static bool check_applies(const struct single_check *c, const char *role)
{
    return !strcmp(c->role, "any") || !strcmp(c->role, role);
}

static struct check_param *make_check_params(size_t *count)
{
    struct selection sel;
    char err[256];
    if (select_impls(&sel, err, sizeof err) < 0)
        return error_params(sizeof(struct check_param), offsetof(struct check_param, error), err, count);

    const struct impl **impls = impls_alloc(&sel, err, sizeof err);
    if (!impls) {
        table_free(&sel.table);
        return error_params(sizeof(struct check_param), offsetof(struct check_param, error), err, count);
    }
    struct check_param *params = NULL;
    bool out_of_memory = false;
    size_t n = 0;
    const char *roles[] = {"server", "client", "program"};
    bool outside = sel.has_outside_server || sel.has_outside_client;
    for (size_t k = 0; k < NKIND_SPECS; k++) {
        const struct kind_spec *spec = KIND_SPECS[k];
        if (!kind_selected(&sel, spec->kind))
            continue;
        for (int r = 0; r < 3; r++) {
            /* With an outside implementation, only it is checked. */
            bool has = (r == 0 && sel.has_outside_server) || (r == 1 && sel.has_outside_client);
            size_t ni = outside && !has ? 0 : impls_for(&sel, spec->kind, roles[r], impls);
            for (size_t i = 0; i < ni; i++)
                for (size_t c = 0; c < spec->nchecks; c++) {
                    if (!check_applies(&spec->checks[c], roles[r]) || !lang_selected(&sel, impls[i]->lang))
                        continue;
                    struct check_param *grown = realloc(params, (n + 1) * sizeof *grown);
                    if (!grown) {
                        out_of_memory = true;
                        goto out;
                    }
                    params = grown;
                    struct check_param *p = &params[n++];
                    *p = (struct check_param){.impl = *impls[i], .check_index = c};
                    snprintf(p->check, sizeof p->check, "%s", spec->checks[c].name);
                }
        }
    }
out:
    free(impls);
    table_free(&sel.table);
    if (out_of_memory) {
        free(params);
        return error_params(sizeof(struct check_param), offsetof(struct check_param, error),
                            "harness: out of memory for the checks", count);
    }
    if (n == 0 && sel.only_langs) { /* LANGS named real languages that have none of this KIND */
        free(params);
        *count = 0;
        return cr_malloc(1);
    }
    if (n == 0) {
        free(params);
        return error_params(sizeof(struct check_param), offsetof(struct check_param, error),
                            "no programs to check: is the table empty for this KIND?", count);
    }
    *count = n;
    return to_shared(params, n * sizeof *params);
}

ParameterizedTestParameters(checks, contract)
{
    size_t n = 0;
    struct check_param *params = make_check_params(&n);
    return cr_make_param_array(struct check_param, params, n, free_params);
}

ParameterizedTest(struct check_param *p, checks, contract, .timeout = 120)
{
    cr_assert(!p->error[0], "%s", p->error);
    const struct kind_spec *spec = kind_spec_find(p->impl.kind);
    cr_assert(spec && p->check_index < spec->nchecks, "unknown kind or check");

    char why[2048] = "";
    long long start = now_ms();
    const struct single_check *check = &spec->checks[p->check_index];
    int rc = check->run(check->context, p->impl.command, why, sizeof why);
    char label[72];
    impl_label(&p->impl, label, sizeof label);
    record(p->impl.kind, p->impl.role, label, "-", p->check,
           rc == 0 ? "pass" : rc == CHECK_SKIPPED ? "skipped" : rc == CHECK_UNSUPPORTED ? "unsupported" : "fail",
           (long)(now_ms() - start), why, "");
    if (rc == CHECK_SKIPPED || rc == CHECK_UNSUPPORTED) /* in the grid and summary, never a pass */
        cr_skip_test("%s %s %s, check %s: %s: %s", p->impl.kind, label, p->impl.role,
                     p->check, rc == CHECK_SKIPPED ? "skipped" : "unsupported", why);
    cr_assert(rc == 0, "%s %s %s, check %s: %s\n    command: %s", p->impl.kind, label,
              p->impl.role, p->check, why, p->impl.command);
}

/* ---- the runner ----------------------------------------------------------- */

/* Progress, in the runner process: Criterion calls these hooks there as each
 * test ends; a failure's own message is printed by Criterion as it happens. */
static struct progress progress;

/* The number of tests to come: Criterion asks for the parameters where it
 * needs them, so the runner counts them itself. */
static size_t planned_tests(void)
{
    size_t pairs = 0, checks = 0;
    cr_free(make_pair_params(&pairs));
    cr_free(make_check_params(&checks));
    return pairs + checks;
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    progress_begin(&progress, "interop", planned_tests(), stderr, isatty(STDERR_FILENO), now_ms());
}

ReportHook(POST_TEST)(struct criterion_test_stats *stats)
{
    progress_step(&progress, stats->test_status == CR_STATUS_FAILED, now_ms());
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    progress_end(&progress, now_ms());
}

/* Writes results.json and prints the grid of every kind that ran. */
static void report(void)
{
    struct results rs;
    if (results_load(results_path(), &rs) < 0) {
        fprintf(stderr, "interop: no results in %s\n", results_path());
        return;
    }
    char json[512];
    snprintf(json, sizeof json, "%s/results.json", env_or("INTEROP_OUT", "build/interop"));
    if (results_write_json(&rs, json) < 0)
        fprintf(stderr, "interop: cannot write %s\n", json);
    const char **kinds = calloc(rs.len + 1, sizeof *kinds); /* at most one kind per result */
    if (!kinds) {
        fprintf(stderr, "interop: out of memory for the grid\n");
        results_free(&rs);
        return;
    }
    size_t nk = 0;
    for (size_t i = 0; i < rs.len; i++) {
        bool seen = false;
        for (size_t k = 0; k < nk; k++)
            seen = seen || !strcmp(kinds[k], rs.items[i].kind);
        if (!seen)
            kinds[nk++] = rs.items[i].kind;
    }
    printf("\n");
    for (size_t k = 0; k < nk; k++) {
        results_print_grid(&rs, kinds[k], stdout);
        printf("\n");
    }
    results_print_summary(&rs, stdout);
    printf("results: %s\n", json);
    free(kinds);
    results_free(&rs);
}

int main(int argc, char *argv[])
{
    struct criterion_test_set *tests = criterion_initialize();
    int status = 0;
    if (criterion_handle_args(argc, argv, true)) {
        mkdir(env_or("INTEROP_OUT", "build/interop"), 0755);
        if (results_begin(results_path()) < 0) {
            fprintf(stderr, "interop: cannot write %s\n", results_path());
            status = 1;
        } else {
            status = !criterion_run_all_tests(tests);
            fflush(stderr);
            report();
        }
    }
    criterion_finalize(tests);
    return status;
}
