/* kinds.c -- the registry of kinds the harness can test, and shared helpers. */
#include "cases.h"

#include <stdio.h>
#include <string.h>

/* Every kind, in chapter order: each is defined in its cases file. A new kind
 * is one more X(...) here. */
#define KINDS(X)                                                                                 \
    X(LOOKUP_SPEC)                                                                               \
    X(TCP_SIMPLE_SPEC) X(STREAM_SPEC) X(UDP_SPEC)                                                \
    X(UNIX_STREAM_SPEC) X(UNIX_DGRAM_SPEC) X(UNIX_SEQPACKET_SPEC) X(FDPASS_SPEC)                 \
    X(PEERCRED_SPEC) X(BENCH_SPEC)                                                               \
    X(ICMP_SPEC) X(ICMP_DGRAM_SPEC) X(RAW_SPEC) X(SNIFFER_SPEC)                                  \
    X(TCP_MANY_SPEC)

#define DECLARE(spec) extern const struct kind_spec spec;
#define ADDRESS(spec) &spec,
KINDS(DECLARE)
const struct kind_spec *const KIND_SPECS[] = {KINDS(ADDRESS)};
const size_t NKIND_SPECS = sizeof KIND_SPECS / sizeof *KIND_SPECS;

const struct kind_spec *kind_spec_find(const char *kind)
{
    for (size_t i = 0; i < NKIND_SPECS; i++)
        if (!strcmp(KIND_SPECS[i]->kind, kind))
            return KIND_SPECS[i];
    return NULL;
}

/* Appends one flag and its value to w. */
static void where_add(struct where_args *w, const char *flag, const char *value)
{
    size_t n = 0;
    while (w->argv[n])
        n++;
    w->argv[n] = flag;
    w->argv[n + 1] = value;
    w->argv[n + 2] = NULL;
    size_t used = strlen(w->shown);
    snprintf(w->shown + used, sizeof w->shown - used, "%s%s %s", used ? " " : "", flag, value);
}

static enum addressing addressing_of(const struct kind_spec *spec)
{
    return spec ? spec->addressing : ADDR_INET;
}

void server_where(const struct kind_spec *spec, const char *at, const char *file,
                  struct where_args *w)
{
    *w = (struct where_args){0};
    switch (addressing_of(spec)) {
    case ADDR_INET:
        if (at)
            where_add(w, "--host", at);
        where_add(w, "--port", "0");
        break;
    case ADDR_RAW:
        where_add(w, "--host", at);
        break;
    case ADDR_UNIX:
        where_add(w, "--path", at);
        if (spec->output == OUT_FILE && file)
            where_add(w, "--file", file);
        break;
    }
}

void client_where(const struct kind_spec *spec, const char *host, int port, bool with_host,
                  struct where_args *w)
{
    *w = (struct where_args){0};
    switch (addressing_of(spec)) {
    case ADDR_INET:
        snprintf(w->port, sizeof w->port, "%d", port);
        if (with_host)
            where_add(w, "--host", host);
        where_add(w, "--port", w->port);
        break;
    case ADDR_RAW:
        where_add(w, "--host", host);
        break;
    case ADDR_UNIX:
        where_add(w, "--path", host);
        break;
    }
}
