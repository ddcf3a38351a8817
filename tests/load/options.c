/* options.c -- parse sockload's command line, refusing anything it does not know */

#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mode_name(enum mode m)
{
    switch (m) {
    case MODE_PINGPONG: return "pingpong";
    case MODE_BULK:     return "bulk";
    case MODE_RATE:     return "rate";
    case MODE_HOLD:     return "hold";
    }
    return "?";
}

/* A whole decimal number in [min, max]: digits only, no sign, no spaces. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A finite decimal number in [min, max] ("0.5", "10"); no sign, no hex. */
static int parse_double(const char *s, double min, double max, double *out)
{
    if ((s[0] < '0' || s[0] > '9') && s[0] != '.')
        return -1;
    if (strpbrk(s, "xXpP") != NULL)
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int options_parse(int argc, char *const argv[], struct options *o,
                  char *why, size_t whylen)
{
    *o = (struct options){ .host = "127.0.0.1", .connections = 1 };
    bool mode_set = false, size_set = false, duration_set = false;
    bool rate_set = false, count_set = false;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0) {
            o->help = true;
            return 0;
        }
        static const char *const flags[] = {
            "--host", "--port", "--mode", "--connections", "--size",
            "--duration", "--rate", "--count",
        };
        size_t f = 0;
        while (f < sizeof flags / sizeof flags[0] && strcmp(arg, flags[f]) != 0)
            f++;
        if (f == sizeof flags / sizeof flags[0]) {
            snprintf(why, whylen, "%s: %s", arg[0] == '-' ? "unknown option"
                                                          : "unexpected argument", arg);
            return -1;
        }
        if (i + 1 >= argc) {
            snprintf(why, whylen, "%s needs a value", arg);
            return -1;
        }
        const char *value = argv[++i];
        uint64_t u = 0;
        int bad = 0;
        switch (f) {
        case 0:
            if (value[0] == '\0')
                bad = -1;
            o->host = value;
            break;
        case 1:
            bad = parse_u64(value, 1, 65535, &u);
            o->port = value;
            break;
        case 2:
            mode_set = true;
            if (strcmp(value, "pingpong") == 0)      o->mode = MODE_PINGPONG;
            else if (strcmp(value, "bulk") == 0)     o->mode = MODE_BULK;
            else if (strcmp(value, "rate") == 0)     o->mode = MODE_RATE;
            else if (strcmp(value, "hold") == 0)     o->mode = MODE_HOLD;
            else bad = -1;
            break;
        case 3:
            bad = parse_u64(value, 1, MAX_CONNECTIONS, &u);
            o->connections = (unsigned long)u;
            break;
        case 4:
            bad = parse_u64(value, 0, MAX_SIZE, &o->size);
            size_set = true;
            break;
        case 5:
            bad = parse_double(value, 0, MAX_DURATION_S, &o->duration_s);
            duration_set = true;
            break;
        case 6:
            bad = parse_double(value, 0, MAX_RATE, &o->rate);
            if (bad == 0 && o->rate <= 0)
                bad = -1;
            rate_set = true;
            break;
        case 7:
            bad = parse_u64(value, 1, MAX_COUNT, &o->count);
            count_set = true;
            break;
        }
        if (bad != 0) {
            snprintf(why, whylen, "bad value for %s: %s", arg, value);
            return -1;
        }
    }

    if (o->port == NULL) {
        snprintf(why, whylen, "--port is required");
        return -1;
    }
    if (!mode_set) {
        snprintf(why, whylen, "--mode is required");
        return -1;
    }
    if ((rate_set || count_set) && o->mode != MODE_PINGPONG) {
        snprintf(why, whylen, "%s is for --mode pingpong only", rate_set ? "--rate" : "--count");
        return -1;
    }
    if (duration_set && o->mode == MODE_BULK) {
        snprintf(why, whylen, "--duration does not apply to --mode bulk");
        return -1;
    }
    if (!size_set)
        o->size = o->mode == MODE_BULK ? 16ULL << 20 : 64;
    if (o->size == 0 && (o->mode == MODE_PINGPONG || o->mode == MODE_HOLD)) {
        snprintf(why, whylen, "--size must be at least 1 for --mode %s", mode_name(o->mode));
        return -1;
    }
    /* pingpong runs for --duration, or until --count messages when only that is given. */
    o->has_duration = o->mode != MODE_BULK && !(count_set && !duration_set);
    if (o->has_duration && !duration_set)
        o->duration_s = 10;
    if (o->has_duration && o->duration_s == 0 && o->mode != MODE_HOLD) {
        snprintf(why, whylen, "--duration must be more than 0 for --mode %s", mode_name(o->mode));
        return -1;
    }
    return 0;
}
