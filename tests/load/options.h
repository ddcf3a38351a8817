/* options.h -- sockload's command line: the modes, their settings and defaults */
#ifndef SOCKLOAD_OPTIONS_H
#define SOCKLOAD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USAGE "usage: sockload --port P [--host H] --mode pingpong|bulk|rate|hold " \
              "[--connections N] [--size BYTES] [--duration S] " \
              "[--rate MSGS_PER_S_PER_CONN] [--count N]"

/* Limits of the command line; past them the parser refuses, it never clamps. */
#define MAX_CONNECTIONS 1000000UL
#define MAX_SIZE        (1ULL << 30)   /* 1 GiB per message or per bulk stream */
#define MAX_DURATION_S  86400.0
#define MAX_RATE        1000000.0
#define MAX_COUNT       1000000000ULL

enum mode { MODE_PINGPONG, MODE_BULK, MODE_RATE, MODE_HOLD };

struct options {
    const char *host;        /* --host, default 127.0.0.1 */
    const char *port;        /* --port, required, 1..65535, digits only */
    enum mode mode;          /* --mode, required */
    unsigned long connections;  /* --connections, default 1 */
    uint64_t size;           /* --size; default 64, 16 MiB for bulk */
    double duration_s;       /* --duration; default 10 (pingpong, rate, hold) */
    double rate;             /* --rate, pingpong only; 0 means back to back */
    uint64_t count;          /* --count, pingpong only; 0 means no limit */
    bool has_duration;       /* the mode runs for duration_s */
    bool help;               /* --help: print the usage and exit 0 */
};

/* Parse argv into *o. Returns 0, or -1 with what is wrong in why. */
int options_parse(int argc, char *const argv[], struct options *o,
                  char *why, size_t whylen);

/* "pingpong", "bulk", "rate" or "hold". */
const char *mode_name(enum mode m);

#endif
