/* heap.c -- the min-heap that paces pingpong --rate */

#include "heap.h"

#include <stdlib.h>

int heap_init(struct heap *h, size_t cap)
{
    *h = (struct heap){ .cap = cap };
    h->t = calloc(cap == 0 ? 1 : cap, sizeof *h->t);
    return h->t == NULL ? -1 : 0;
}

void heap_free(struct heap *h)
{
    free(h->t);
    *h = (struct heap){ 0 };
}

int heap_push(struct heap *h, struct timer t)
{
    if (h->n == h->cap)
        return -1;
    size_t i = h->n++;
    while (i > 0 && h->t[(i - 1) / 2].at > t.at) {
        h->t[i] = h->t[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->t[i] = t;
    return 0;
}

int heap_peek(const struct heap *h, struct timer *out)
{
    if (h->n == 0)
        return -1;
    *out = h->t[0];
    return 0;
}

int heap_pop(struct heap *h, struct timer *out)
{
    if (h->n == 0)
        return -1;
    *out = h->t[0];
    struct timer last = h->t[--h->n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->t[child + 1].at < h->t[child].at)
            child++;
        if (h->t[child].at >= last.at)
            break;
        h->t[i] = h->t[child];
        i = child;
    }
    if (h->n > 0)
        h->t[i] = last;
    return 0;
}
