/* stats.h -- round-trip samples and their nearest-rank percentiles */
#ifndef SOCKLOAD_STATS_H
#define SOCKLOAD_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Every sample is kept (8 bytes each), so the percentiles are exact. */
#define MAX_SAMPLES ((size_t)1 << 27)   /* 1 GiB of samples: past it, an error */

struct samples {
    uint64_t *v;
    size_t n, cap;
};

/* Append x. Returns -1 (errno ENOMEM or E2BIG) when it cannot. */
int samples_add(struct samples *s, uint64_t x);
void samples_sort(struct samples *s);
void samples_free(struct samples *s);

/*
 * The nearest-rank percentile of n sorted values: the smallest value that at
 * least permille/1000 of them do not exceed (p99.9 is 999). Returns -1 when
 * n is 0 or permille is outside 1..1000.
 */
int percentile(const uint64_t *sorted, size_t n, unsigned permille, uint64_t *out);

#endif
