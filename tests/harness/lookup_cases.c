/* lookup_cases.c -- the `lookup` kind (CONTRACT.md section 6): every
 * implementation must print the set of addresses that getaddrinfo gives. */
#define _GNU_SOURCE
#include "cases.h"
#include "checks.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_LINES 64

/* A set of output lines, sorted, without duplicates. */
struct lines {
    char *items[MAX_LINES];
    size_t len;
    char *text; /* owns the strings */
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits text (taken over) into a sorted set of non-empty lines. */
static void lines_from(char *text, struct lines *l)
{
    *l = (struct lines){.text = text};
    for (char *line = text, *next; line && *line && l->len < MAX_LINES; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (*line)
            l->items[l->len++] = line;
    }
    qsort(l->items, l->len, sizeof *l->items, cmp_str);
    size_t kept = 0;
    for (size_t i = 0; i < l->len; i++)
        if (kept == 0 || strcmp(l->items[kept - 1], l->items[i]))
            l->items[kept++] = l->items[i];
    l->len = kept;
}

/* What the contract says `lookup --host name` prints, from our own getaddrinfo. */
static int expected_lookup(const char *name, struct lines *l, char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int err = getaddrinfo(name, NULL, &hints, &res);
    if (err) {
        snprintf(why, whylen, "harness: getaddrinfo %s: %s", name, gai_strerror(err));
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char addr[INET6_ADDRSTRLEN];
        const void *raw = ai->ai_family == AF_INET6
                              ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                              : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        inet_ntop(ai->ai_family, raw, addr, sizeof addr);
        fprintf(f, "%s stream tcp %s\n", ai->ai_family == AF_INET6 ? "inet6" : "inet", addr);
    }
    fclose(f);
    freeaddrinfo(res);
    lines_from(text, l);
    return 0;
}

/* Appends "missing: a, b; unexpected: c" to why. */
static void describe_sets(const struct lines *want, const struct lines *got, char *why, size_t whylen)
{
    size_t used = strlen(why);
    const struct lines *sets[2][2] = {{want, got}, {got, want}};
    const char *labels[] = {"missing", "unexpected"};
    for (int k = 0; k < 2; k++) {
        const char *sep = "";
        for (size_t i = 0; i < sets[k][0]->len; i++) {
            if (bsearch(&sets[k][0]->items[i], sets[k][1]->items, sets[k][1]->len,
                        sizeof(char *), cmp_str))
                continue;
            used += (size_t)snprintf(why + used, whylen - used, "%s%s \"%s\"",
                                     *sep ? sep : (k ? "; " : " "), *sep ? "" : labels[k],
                                     sets[k][0]->items[i]);
            sep = ",";
            if (used >= whylen)
                return;
        }
    }
}

static int check_name(const char *command, const char *name, char *why, size_t whylen)
{
    struct lines want, got;
    if (expected_lookup(name, &want, why, whylen) < 0)
        return -1;
    struct ran r;
    char status[96];
    int rc = run_once(command, (const char *[]){"--host", name, NULL}, "", &r, why, whylen);
    if (rc == 0 && !child_exited_with(&r.proc, 0)) {
        snprintf(why, whylen, "--host %s: %s, want exit 0 (stderr: %.*s)", name,
                 child_describe(&r.proc, status, sizeof status),
                 (int)(r.errlen > 200 ? 200 : r.errlen), (const char *)r.err);
        rc = -1;
    }
    if (rc == 0) {
        char *text = strndup((const char *)r.out, r.outlen);
        lines_from(text, &got);
        bool same = got.len == want.len;
        for (size_t i = 0; same && i < got.len; i++)
            same = !strcmp(got.items[i], want.items[i]);
        if (!same) {
            snprintf(why, whylen, "--host %s: not the addresses getaddrinfo gives:", name);
            describe_sets(&want, &got, why, whylen);
            rc = -1;
        }
        free(got.text);
    }
    free(want.text);
    ran_free(&r);
    return rc;
}

static int check_localhost(const void *context, const char *command, char *why, size_t whylen)
{
    return check_name(command, "localhost", why, whylen);
}

static int check_ipv4_literal(const void *context, const char *command, char *why, size_t whylen)
{
    return check_name(command, "127.0.0.1", why, whylen);
}

static int check_ipv6_literal(const void *context, const char *command, char *why, size_t whylen)
{
    return check_name(command, "::1", why, whylen);
}

static int check_unknown_name(const void *context, const char *command, char *why, size_t whylen)
{
    struct ran r;
    int rc = run_once(command, (const char *[]){"--host", "nosuch.invalid", NULL}, "", &r, why,
                      whylen);
    if (rc == 0)
        rc = expect_error_reason(command, &r, "Name or service not known", "--host nosuch.invalid",
                                 why, whylen);
    ran_free(&r);
    return rc;
}

static const struct single_check LOOKUP_CHECKS[] = {
    {"help", "any", check_help, NULL},
    {"bad_flag", "any", check_bad_flag, NULL},
    {"localhost", "program", check_localhost, NULL},
    {"ipv4_literal", "program", check_ipv4_literal, NULL},
    {"ipv6_literal", "program", check_ipv6_literal, NULL},
    {"unknown_name", "program", check_unknown_name, NULL},
    {"stdout_closed", "program", check_stdout_closed, ARGS("--host", "localhost")},
};

static const char *const LOOKUP_DEMO[] = {"--host localhost", "--host ::1", NULL};

const struct kind_spec LOOKUP_SPEC = {
    .kind = "lookup",
    KIND_CHECKS(LOOKUP_CHECKS),
    .demo_args = LOOKUP_DEMO,
    .addressing = ADDR_INET,
    .output = OUT_ECHO,
};
