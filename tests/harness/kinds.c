/* kinds.c -- the registry of kinds the harness can test, and shared helpers. */
#include "cases.h"

#include <string.h>

extern const struct kind_spec LOOKUP_SPEC, STREAM_SPEC;

/* In chapter order. */
const struct kind_spec *const KIND_SPECS[] = {&LOOKUP_SPEC, &STREAM_SPEC};
const size_t NKIND_SPECS = sizeof KIND_SPECS / sizeof *KIND_SPECS;

const struct kind_spec *kind_spec_find(const char *kind)
{
    for (size_t i = 0; i < NKIND_SPECS; i++)
        if (!strcmp(KIND_SPECS[i]->kind, kind))
            return KIND_SPECS[i];
    return NULL;
}

void fill_random(unsigned char *buf, size_t len, unsigned long long seed)
{
    unsigned long long x = seed ? seed : 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x >> 12; /* xorshift64* (Vigna) */
        x ^= x << 25;
        x ^= x >> 27;
        buf[i] = (unsigned char)((x * 0x2545F4914F6CDD1DULL) >> 56);
    }
}
