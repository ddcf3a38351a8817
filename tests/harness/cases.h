/* cases.h -- what each kind of example is tested with. */
#ifndef CASES_H
#define CASES_H

#include <stdbool.h>
#include <stddef.h>

/* A payload sent through a server/client pair. */
struct pair_case {
    const char *name;
    const char *host; /* the address the server binds and the client uses */
    size_t (*make)(unsigned char **data); /* malloc'd payload, returns length */
    /* Optional: more client arguments (split on spaces); relay arguments, to
     * put the datagram relay (tests/relay) between client and server; and
     * whether the client must fail (exit 1, one line) instead of echoing. */
    const char *client_args;
    const char *relay_args;
    bool must_fail;
    /* With a relay: the number of datagrams the client must have sent (0: any),
     * and whether the relay must have dropped at least one (the retries were
     * really exercised). */
    int attempts;
    bool must_drop;
    /* Unix-domain kinds: the server's --path is an abstract "@name" rather
     * than a file in the test's scratch directory. */
    bool abstract;
};

/* A test of one program on its own; `role` is "server", "client", "program", or "any" for every role.
 * run(context, command, why, whylen) gets the row's context (what a check
 * shared by several kinds needs to know about this one, or NULL) and returns
 * 0 (pass), -1 (fail) or CHECK_SKIPPED (this harness cannot run it, e.g. it
 * needs root), with the reason in why. */
#define CHECK_SKIPPED 1
/* ... or CHECK_UNSUPPORTED: the program says it does not do this (e.g. a ping
 * without IPv6), and why is its reason. Shown as "unsupported", never a pass. */
#define CHECK_UNSUPPORTED 2
struct single_check {
    const char *name;
    const char *role;
    int (*run)(const void *context, const char *command, char *why, size_t whylen);
    const void *context;
};

/* How a pair's server and client find each other. */
enum addressing {
    ADDR_INET, /* --host H --port P */
    ADDR_UNIX, /* --path P */
    ADDR_RAW,  /* --host A: a raw socket bound to A, in a network namespace of the test's own */
};

/* What a pair's client must print. */
enum expected_output {
    OUT_ECHO, /* its stdin */
    OUT_FILE, /* the content of the server's --file (fdpass) */
    OUT_CRED, /* its own pid, uid and gid, as cred_server reports them */
};

/* Everything the harness knows about one kind. */
struct kind_spec {
    const char *kind;
    const struct pair_case *cases;
    size_t ncases;
    const struct single_check *checks;
    size_t nchecks;
    /* For `make chapterN`, a kind of single programs (no cases) is shown by
     * running each program with each of these argument strings (split on
     * spaces); NULL-terminated. */
    const char *const *demo_args;
    enum addressing addressing;
    enum expected_output output;
    /* A kind that speaks another kind's protocol: its servers are also paired
     * with that kind's clients, and that kind's servers with its clients (the
     * simple pair and chapter 6's servers speak `tcp`). NULL: none. */
    const char *peer_kind;
    /* Its servers have no signal handling: stopped, they die of the signal. */
    bool server_dies_of_signal;
    /* Its own servers and clients are paired within a language only (they meet
     * the other languages through the peer kind's programs). */
    bool own_pairs_by_language;
};

/* For a kind_spec's designated initialisers: an array and its length. */
#define KIND_CASES(array) .cases = (array), .ncases = sizeof(array) / sizeof *(array)
#define KIND_CHECKS(array) .checks = (array), .nchecks = sizeof(array) / sizeof *(array)

/* The kinds the harness can test; NULL if unknown. */
const struct kind_spec *kind_spec_find(const char *kind);
extern const struct kind_spec *const KIND_SPECS[];
extern const size_t NKIND_SPECS;

/* The arguments that say where a kind's program listens or sends: a
 * NULL-terminated argv, and the same joined by spaces for a transcript. */
struct where_args {
    const char *argv[7];
    char port[8];
    char shown[700];
};

/* A server's: --host AT --port 0 (inet; AT NULL: --port 0 alone), --host AT
 * (raw), or --path AT (unix), with --file FILE when the kind's server passes
 * a file. spec NULL is an inet kind. The strings must outlive w. */
void server_where(const struct kind_spec *spec, const char *at, const char *file,
                  struct where_args *w);

/* A client's, to reach host (and port) from a READY line: --host H --port P
 * (inet; with_host false: --port P alone), --host H (raw) or --path H (unix). */
void client_where(const struct kind_spec *spec, const char *host, int port, bool with_host,
                  struct where_args *w);

#define READY_TIMEOUT_MS 60000  /* a cold JVM on a 2-core machine with other loads (CONTRACT.md, "Deadlines") */
#define CLIENT_TIMEOUT_MS 60000 /* 16 MiB through the slowest pair */
#define STOP_TIMEOUT_MS 1000    /* the contract: stop within one second */

#endif
