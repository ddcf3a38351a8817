/* kinds.c -- the registry of kinds the harness can test, and shared helpers. */
#include "cases.h"

#include <string.h>

extern const struct kind_spec LOOKUP_SPEC, STREAM_SPEC, UDP_SPEC, UNIX_STREAM_SPEC, UNIX_DGRAM_SPEC,
    UNIX_SEQPACKET_SPEC, FDPASS_SPEC, PEERCRED_SPEC, BENCH_SPEC, ICMP_SPEC, ICMP_DGRAM_SPEC, RAW_SPEC,
    SNIFFER_SPEC;

/* In chapter order. */
const struct kind_spec *const KIND_SPECS[] = {
    &LOOKUP_SPEC,      &STREAM_SPEC,         &UDP_SPEC,    &UNIX_STREAM_SPEC, &UNIX_DGRAM_SPEC,
    &UNIX_SEQPACKET_SPEC, &FDPASS_SPEC, &PEERCRED_SPEC, &BENCH_SPEC,
    &ICMP_SPEC,        &ICMP_DGRAM_SPEC,    &RAW_SPEC,            &SNIFFER_SPEC,
};
const size_t NKIND_SPECS = sizeof KIND_SPECS / sizeof *KIND_SPECS;

const struct kind_spec *kind_spec_find(const char *kind)
{
    for (size_t i = 0; i < NKIND_SPECS; i++)
        if (!strcmp(KIND_SPECS[i]->kind, kind))
            return KIND_SPECS[i];
    return NULL;
}
