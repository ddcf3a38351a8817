/* table.c -- loading tests/interop/implementations.tsv. */
#define _GNU_SOURCE
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int copy_field(char *dst, size_t dstlen, const char *src)
{
    size_t n = strlen(src);
    if (n == 0 || n >= dstlen)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Parses one data line (already known not to be blank or a comment). */
static int parse_row(char *line, struct impl *row, const char **why)
{
    char *fields[5];
    int n = 0;
    for (char *f = line, *tab; n < 5; n++) {
        fields[n] = f;
        tab = strchr(f, '\t');
        if (!tab) {
            n++;
            break;
        }
        *tab = '\0';
        f = tab + 1;
    }
    if (n != 5 || strchr(fields[4], '\t')) {
        *why = "expected 5 tab-separated columns: lang kind role variant command";
        return -1;
    }
    if (strcmp(fields[2], "server") != 0 && strcmp(fields[2], "client") != 0 &&
        strcmp(fields[2], "program") != 0) {
        *why = "role must be \"server\", \"client\" or \"program\"";
        return -1;
    }
    if (copy_field(row->lang, sizeof row->lang, fields[0]) ||
        copy_field(row->kind, sizeof row->kind, fields[1]) ||
        copy_field(row->role, sizeof row->role, fields[2]) ||
        copy_field(row->variant, sizeof row->variant, fields[3]) ||
        copy_field(row->command, sizeof row->command, fields[4])) {
        *why = "a column is empty or too long";
        return -1;
    }
    return 0;
}

int table_parse(const char *text, const char *name, struct table *t,
                char *err, size_t errlen)
{
    *t = (struct table){0};
    char *copy = strdup(text);
    if (!copy) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    int lineno = 0, status = 0;
    for (char *line = copy, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        line[strcspn(line, "\r")] = '\0';
        if (lineno == 1) {
            if (strcmp(line, "lang\tkind\trole\tvariant\tcommand") != 0) {
                snprintf(err, errlen, "%s:1: the header must be "
                         "\"lang<TAB>kind<TAB>role<TAB>variant<TAB>command\"", name);
                status = -1;
                break;
            }
            continue;
        }
        if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
            continue;
        struct impl row = {0};
        const char *why = NULL;
        if (parse_row(line, &row, &why) < 0) {
            snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
            status = -1;
            break;
        }
        if (table_find_variant(t, row.kind, row.lang, row.role, row.variant)) {
            char label[72];
            snprintf(err, errlen, "%s:%d: %s %s %s is listed twice", name, lineno,
                     impl_label(&row, label, sizeof label), row.kind, row.role);
            status = -1;
            break;
        }
        struct impl *grown = realloc(t->rows, (t->len + 1) * sizeof *grown);
        if (!grown) {
            snprintf(err, errlen, "%s: out of memory", name);
            status = -1;
            break;
        }
        t->rows = grown;
        t->rows[t->len++] = row;
    }
    free(copy);
    if (status < 0)
        table_free(t);
    else if (lineno == 0) {
        snprintf(err, errlen, "%s: empty table", name);
        status = -1;
    }
    return status;
}

int table_load(const char *path, struct table *t, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %m", path);
        return -1;
    }
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    int status = n < 0 ? (snprintf(err, errlen, "%s: cannot read", path), -1)
                       : table_parse(text, path, t, err, errlen);
    free(text);
    return status;
}

void table_free(struct table *t)
{
    free(t->rows);
    *t = (struct table){0};
}

const struct impl *table_find(const struct table *t, const char *kind,
                              const char *lang, const char *role)
{
    for (size_t i = 0; i < t->len; i++) {
        const struct impl *r = &t->rows[i];
        if (!strcmp(r->kind, kind) && !strcmp(r->lang, lang) && !strcmp(r->role, role))
            return r;
    }
    return NULL;
}

const struct impl *table_find_variant(const struct table *t, const char *kind, const char *lang,
                                      const char *role, const char *variant)
{
    for (const struct impl *r = table_find(t, kind, lang, role); r && r < t->rows + t->len; r++)
        if (!strcmp(r->kind, kind) && !strcmp(r->lang, lang) && !strcmp(r->role, role) &&
            !strcmp(r->variant, variant))
            return r;
    return NULL;
}

const char *impl_label(const struct impl *row, char *buf, size_t len)
{
    if (strcmp(row->variant, "-") == 0)
        snprintf(buf, len, "%s", row->lang);
    else
        snprintf(buf, len, "%s/%s", row->lang, row->variant);
    return buf;
}

int split_words(char *command, char **argv, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(command, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (n >= max - 1)
            return -1;
        argv[n++] = w;
    }
    argv[n] = NULL;
    return n;
}
