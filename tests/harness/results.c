/* results.c -- recording test outcomes and reporting them as a grid and JSON. */
#define _GNU_SOURCE
#include "results.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DATE_PREFIX "# run "

void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

int results_begin(const char *path)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -1;
    char date[32];
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    fprintf(f, DATE_PREFIX "%s\n", date);
    return fclose(f) == 0 ? 0 : -1;
}

int results_append(const char *path, const struct result *r)
{
    struct result copy = *r;
    one_line(copy.detail);
    one_line(copy.logs);
    char line[2048];
    int n = snprintf(line, sizeof line, "%s\t%s\t%s\t%s\t%s\t%s\t%ld\t%s\t%s\n", copy.kind,
                     copy.role, copy.lang, copy.peer, copy.name, copy.status, copy.ms,
                     copy.detail, copy.logs);
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, line, (size_t)n); /* O_APPEND: one write, one line */
    close(fd);
    return w == n ? 0 : -1;
}

static void copy_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

#define NFIELDS 8

static int parse_result_line(char *line, struct result *r)
{
    char *f[NFIELDS];
    for (int i = 0; i < NFIELDS; i++) {
        f[i] = strsep(&line, "\t");
        if (!f[i])
            return -1;
    }
    copy_str(r->kind, sizeof r->kind, f[0]);
    copy_str(r->role, sizeof r->role, f[1]);
    copy_str(r->lang, sizeof r->lang, f[2]);
    copy_str(r->peer, sizeof r->peer, f[3]);
    copy_str(r->name, sizeof r->name, f[4]);
    copy_str(r->status, sizeof r->status, f[5]);
    r->ms = strtol(f[6], NULL, 10);
    copy_str(r->detail, sizeof r->detail, f[7]);
    copy_str(r->logs, sizeof r->logs, strsep(&line, "\t")); /* optional */
    return 0;
}

int results_load(const char *path, struct results *out)
{
    *out = (struct results){0};
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, DATE_PREFIX, strlen(DATE_PREFIX))) {
            copy_str(out->date, sizeof out->date, line + strlen(DATE_PREFIX));
            continue;
        }
        struct result r = {0};
        if (parse_result_line(line, &r) < 0)
            continue; /* a torn line from a test that was killed mid-write */
        struct result *grown = realloc(out->items, (out->len + 1) * sizeof *grown);
        if (!grown) {
            fprintf(stderr, "results: out of memory after %zu results of %s\n", out->len, path);
            free(line);
            fclose(f);
            results_free(out);
            return -1;
        }
        out->items = grown;
        out->items[out->len++] = r;
    }
    free(line);
    fclose(f);
    return 0;
}

void results_free(struct results *rs)
{
    free(rs->items);
    *rs = (struct results){0};
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static bool is_pair(const struct result *r)
{
    return !strcmp(r->role, "pair");
}

int results_write_json(const struct results *rs, const char *path)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -1;
    fprintf(f, "{\n  \"date\": ");
    json_string(f, rs->date);
    fprintf(f, ",\n  \"results\": [");
    for (size_t i = 0; i < rs->len; i++) {
        const struct result *r = &rs->items[i];
        fprintf(f, "%s\n    {\"kind\": ", i ? "," : "");
        json_string(f, r->kind);
        if (is_pair(r)) {
            fprintf(f, ", \"type\": \"pair\", \"server\": ");
            json_string(f, r->lang);
            fprintf(f, ", \"client\": ");
            json_string(f, r->peer);
        } else {
            fprintf(f, ", \"type\": \"check\", \"role\": ");
            json_string(f, r->role);
            fprintf(f, ", \"lang\": ");
            json_string(f, r->lang);
        }
        fprintf(f, ", \"name\": ");
        json_string(f, r->name);
        fprintf(f, ", \"status\": ");
        json_string(f, r->status);
        fprintf(f, ", \"ms\": %ld, \"detail\": ", r->ms);
        json_string(f, r->detail);
        if (r->logs[0]) {
            fprintf(f, ", \"logs\": ");
            json_string(f, r->logs);
        }
        fputc('}', f);
    }
    fprintf(f, "\n  ]\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

#define MAX_LANGS 16

/* Where a language goes in a grid: the book's order, then anything else
 * (an outside implementation) after them. */
static int rank(const char *lang)
{
    static const char *const order[] = {"c", "python", "java", "node", "haskell", "ruby"};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (!strcmp(order[i], lang))
            return (int)i;
    return (int)(sizeof order / sizeof *order);
}

/* Adds v to names, kept in rank order, unless it is there already. (Tests
 * finish in any order, so the order of the results says nothing.) */
static void add_name(const char *names[MAX_LANGS], size_t *n, const char *v)
{
    for (size_t j = 0; j < *n; j++)
        if (!strcmp(names[j], v))
            return;
    if (*n == MAX_LANGS)
        return;
    size_t at = *n;
    while (at > 0 && rank(names[at - 1]) > rank(v)) {
        names[at] = names[at - 1];
        at--;
    }
    names[at] = v;
    (*n)++;
}

/* The languages of results of `kind` and `role`: their lang field, or for
 * pairs with peers = true, their peer (client) field. */
static size_t names_of(const struct results *rs, const char *kind, const char *role,
                       bool peers, const char *names[MAX_LANGS])
{
    size_t n = 0;
    for (size_t i = 0; i < rs->len; i++) {
        const struct result *r = &rs->items[i];
        if (!strcmp(r->kind, kind) && !strcmp(r->role, role))
            add_name(names, &n, peers ? r->peer : r->lang);
    }
    return n;
}

struct tally {
    int pass, fail, other;
};

static bool matches(const struct result *r, const char *kind, const char *role,
                    const char *lang, const char *peer)
{
    return !strcmp(r->kind, kind) && !strcmp(r->role, role) && !strcmp(r->lang, lang) &&
           !strcmp(r->peer, peer);
}

static struct tally count(const struct results *rs, const char *kind, const char *role,
                          const char *lang, const char *peer)
{
    struct tally t = {0};
    for (size_t i = 0; i < rs->len; i++) {
        const struct result *r = &rs->items[i];
        if (!matches(r, kind, role, lang, peer))
            continue;
        if (!strcmp(r->status, "pass"))
            t.pass++;
        else if (!strcmp(r->status, "fail"))
            t.fail++;
        else
            t.other++;
    }
    return t;
}

/* "6/6 ok", "4/6 FAIL", "-" (nothing ran) or "5/6 skip". */
static void cell_text(struct tally t, char *buf, size_t len)
{
    int total = t.pass + t.fail + t.other;
    if (total == 0)
        snprintf(buf, len, "-");
    else if (t.fail)
        snprintf(buf, len, "%d/%d FAIL", t.pass, total);
    else if (t.other)
        snprintf(buf, len, "%d/%d skip", t.pass, total);
    else
        snprintf(buf, len, "%d/%d ok", t.pass, total);
}

static void print_pairs(const struct results *rs, const char *kind, FILE *out)
{
    const char *servers[MAX_LANGS], *clients[MAX_LANGS];
    size_t ns = names_of(rs, kind, "pair", false, servers);
    size_t nc = names_of(rs, kind, "pair", true, clients);
    if (ns == 0)
        return;
    fprintf(out, "%s: server (row) x client (column), cases passed\n", kind);
    fprintf(out, "  %-12s", "server\\client");
    for (size_t c = 0; c < nc; c++)
        fprintf(out, " %-10s", clients[c]);
    fputc('\n', out);
    for (size_t s = 0; s < ns; s++) {
        fprintf(out, "  %-13s", servers[s]);
        for (size_t c = 0; c < nc; c++) {
            char cell[32];
            cell_text(count(rs, kind, "pair", servers[s], clients[c]), cell, sizeof cell);
            fprintf(out, " %-10s", cell);
        }
        fputc('\n', out);
    }
}

static void print_checks(const struct results *rs, const char *kind, FILE *out)
{
    const char *roles[] = {"server", "client", "program"};
    bool header = false;
    for (size_t k = 0; k < sizeof roles / sizeof *roles; k++) {
        const char *names[MAX_LANGS];
        size_t n = names_of(rs, kind, roles[k], false, names);
        for (size_t i = 0; i < n; i++) {
            if (!header) {
                fprintf(out, "%s: each program on its own (command line, errors, signals)\n", kind);
                header = true;
            }
            char cell[32];
            cell_text(count(rs, kind, roles[k], names[i], "-"), cell, sizeof cell);
            fprintf(out, "  %-8s %-7s %-10s", names[i], roles[k], cell);
            for (size_t j = 0; j < rs->len; j++) {
                const struct result *r = &rs->items[j];
                if (matches(r, kind, roles[k], names[i], "-") && strcmp(r->status, "pass"))
                    fprintf(out, " %s:%s", r->name, r->status);
            }
            fputc('\n', out);
        }
    }
}

void results_print_grid(const struct results *rs, const char *kind, FILE *out)
{
    print_pairs(rs, kind, out);
    print_checks(rs, kind, out);
}

static char warning_text[400];

void warn(const char *fmt, ...)
{
    size_t used = strlen(warning_text);
    if (used && used + 2 < sizeof warning_text)
        used += (size_t)snprintf(warning_text + used, sizeof warning_text - used, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(warning_text + used, sizeof warning_text - used, fmt, ap);
    va_end(ap);
}

const char *warnings(void)
{
    return warning_text;
}

int result_has_warning(const struct result *r)
{
    return !strcmp(r->status, "pass") && !strncmp(r->detail, "warning: ", 9);
}

size_t results_print_summary(const struct results *rs, FILE *out)
{
    size_t pass = 0, fail = 0, other = 0, warned = 0;
    for (size_t i = 0; i < rs->len; i++) {
        const struct result *r = &rs->items[i];
        if (!strcmp(r->status, "pass")) {
            pass++;
            warned += (size_t)result_has_warning(r);
            continue;
        }
        if (!strcmp(r->status, "fail"))
            fail++;
        else
            other++;
        if (is_pair(r))
            fprintf(out, "  %s %s %s: server=%s client=%s: %s\n", r->status, r->kind, r->name,
                    r->lang, r->peer, r->detail);
        else
            fprintf(out, "  %s %s %s: %s %s: %s\n", r->status, r->kind, r->name, r->lang,
                    r->role, r->detail);
    }
    for (size_t i = 0; i < rs->len; i++) /* passes, but past a strict figure of the contract */
        if (result_has_warning(&rs->items[i]))
            fprintf(out, "  pass %s %s: %s %s/%s: %s\n", rs->items[i].kind, rs->items[i].name,
                    rs->items[i].lang, rs->items[i].role, rs->items[i].peer, rs->items[i].detail);
    if (warned)
        fprintf(out, "%zu of the passes with a warning (a strict figure missed under load; not a failure)\n",
                warned);
    fprintf(out, "%zu passed, %zu failed, %zu skipped or unsupported\n", pass, fail, other);
    return fail;
}
