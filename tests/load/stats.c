/* stats.c -- keep every sample, sort once, read nearest-rank percentiles */

#include "stats.h"

#include <errno.h>
#include <stdlib.h>

int samples_add(struct samples *s, uint64_t x)
{
    if (s->n == s->cap) {
        if (s->cap >= MAX_SAMPLES) {
            errno = E2BIG;
            return -1;
        }
        size_t cap = s->cap == 0 ? 4096 : s->cap * 2;
        uint64_t *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void samples_sort(struct samples *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof s->v[0], compare_u64);
}

void samples_free(struct samples *s)
{
    free(s->v);
    *s = (struct samples){ 0 };
}

int percentile(const uint64_t *sorted, size_t n, unsigned permille, uint64_t *out)
{
    if (n == 0 || permille == 0 || permille > 1000)
        return -1;
    /* rank = ceil(n * permille / 1000), in integers: no rounding surprises.
       n is at most MAX_SAMPLES, so n * 1000 cannot overflow. */
    size_t rank = (n * permille + 999) / 1000;
    *out = sorted[rank - 1];
    return 0;
}
