/* progress.c -- one line that says how far a long run has got. */
#include "progress.h"

#include <string.h>

void progress_begin(struct progress *p, const char *name, size_t total, FILE *out, bool tty,
                    long long now_ms)
{
    *p = (struct progress){.out = out, .tty = tty, .name = name, .total = total,
                           .start_ms = now_ms, .last_ms = now_ms};
}

/* "2m01s", or "41s" under a minute. */
static void duration(long long ms, char *buf, size_t len)
{
    long long s = ms / 1000;
    if (s >= 60)
        snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(buf, len, "%llds", s);
}

char *progress_format(const struct progress *p, long long now_ms, char *buf, size_t len)
{
    char elapsed[32], left[32];
    long long spent = now_ms - p->start_ms;
    duration(spent, elapsed, sizeof elapsed);
    int n = snprintf(buf, len, "%s: %zu/%zu tests, %zu failed, %s elapsed", p->name, p->done,
                     p->total, p->failed, elapsed);
    if (p->done > 0 && p->done < p->total && n >= 0 && (size_t)n < len) {
        duration(spent * (long long)(p->total - p->done) / (long long)p->done, left, sizeof left);
        snprintf(buf + n, len - (size_t)n, ", about %s left", left);
    }
    return buf;
}

static void print_line(struct progress *p, long long now_ms)
{
    char line[160];
    progress_format(p, now_ms, line, sizeof line);
    if (p->tty)
        fprintf(p->out, "\r%s\033[K", line);
    else
        fprintf(p->out, "%s\n", line);
    fflush(p->out);
    p->last_ms = now_ms;
}

void progress_step(struct progress *p, bool failed, long long now_ms)
{
    p->done++;
    p->failed += failed;
    if (p->tty || now_ms - p->last_ms >= PROGRESS_EVERY_MS)
        print_line(p, now_ms);
}

void progress_end(struct progress *p, long long now_ms)
{
    print_line(p, now_ms);
    if (p->tty)
        fputc('\n', p->out);
}
