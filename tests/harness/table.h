/* table.h -- tests/interop/implementations.tsv, the one table of examples. */
#ifndef TABLE_H
#define TABLE_H

#include <stddef.h>

/* One row: a runnable example. Fixed-size fields so rows can be copied into
 * Criterion's shared parameter memory as plain values. */
struct impl {
    char lang[32];
    char kind[32];
    char role[16];     /* "server", "client" or "program" */
    char variant[32];  /* what tells two rows of one lang, kind and role apart ("epoll"), or "-" */
    char command[512]; /* argv, split on spaces */
};

struct table {
    struct impl *rows;
    size_t len;
};

/* Loads and validates the table. Returns 0, or -1 with a message naming the
 * file and line in err. */
int table_load(const char *path, struct table *t, char *err, size_t errlen);

/* Parses the table from a string (the same rules; `name` is used in errors). */
int table_parse(const char *text, const char *name, struct table *t,
                char *err, size_t errlen);

void table_free(struct table *t);

/* The first row for (kind, lang, role), whatever its variant, or NULL. */
const struct impl *table_find(const struct table *t, const char *kind,
                              const char *lang, const char *role);

/* The row for (kind, lang, role, variant), or NULL. */
const struct impl *table_find_variant(const struct table *t, const char *kind, const char *lang,
                                      const char *role, const char *variant);

/* A row's name in the grid and the results: its language, or "lang/variant"
 * ("c/epoll") for a row with a variant. Returns buf. */
const char *impl_label(const struct impl *row, char *buf, size_t len);

/* Splits a command into words in place (on runs of spaces), NULL-terminated.
 * Returns the number of words, or -1 if there are more than max-1. */
int split_words(char *command, char **argv, int max);

#endif
