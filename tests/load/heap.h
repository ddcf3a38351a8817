/* heap.h -- a fixed-size binary min-heap of (time, connection) timers */
#ifndef SOCKLOAD_HEAP_H
#define SOCKLOAD_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct timer {
    int64_t at;      /* CLOCK_MONOTONIC nanoseconds */
    uint32_t id;     /* the connection's index */
};

struct heap {
    struct timer *t;
    size_t n, cap;
};

int heap_init(struct heap *h, size_t cap);      /* -1: out of memory */
void heap_free(struct heap *h);
int heap_push(struct heap *h, struct timer t);  /* -1 when full: the caller's bug */
/* The earliest timer, without removing it: -1 when empty. */
int heap_peek(const struct heap *h, struct timer *out);
int heap_pop(struct heap *h, struct timer *out);

#endif
