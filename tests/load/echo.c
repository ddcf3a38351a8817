/* echo.c -- the payload generator and the echo-verification state machine */

#include "echo.h"

#include <stdio.h>
#include <string.h>

/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit mixing step, as in relay.c. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Byte k of the stream is byte k % 8 of mix(seed ^ k / 8), little end first. */
void payload_fill(uint64_t seed, uint64_t offset, unsigned char *buf, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t k = offset + i;
        uint64_t word = mix(seed ^ (k >> 3));
        for (unsigned b = (unsigned)(k & 7); b < 8 && i < n; b++, i++)
            buf[i] = (unsigned char)(word >> (8 * b));
    }
}

void echo_init(struct echo *e, uint64_t seed)
{
    *e = (struct echo){ .seed = seed, .state = ECHO_IDLE };
}

int echo_begin(struct echo *e, uint64_t size)
{
    if (e->state != ECHO_IDLE)
        return -1;
    e->begin = e->sent;
    e->end = e->sent + size;
    if (size > 0)
        e->state = ECHO_SENDING;
    return 0;
}

size_t echo_fill(const struct echo *e, unsigned char *buf, size_t cap)
{
    if (e->state != ECHO_SENDING)
        return 0;
    uint64_t due = e->end - e->sent;
    size_t n = due < cap ? (size_t)due : cap;
    payload_fill(e->seed, e->sent, buf, n);
    return n;
}

int echo_sent(struct echo *e, size_t n)
{
    if (e->state != ECHO_SENDING || n > e->end - e->sent)
        return -1;
    e->sent += n;
    if (e->sent == e->end)
        e->state = ECHO_AWAITING;
    return 0;
}

enum echo_event echo_receive(struct echo *e, const unsigned char *buf, size_t n)
{
    if (e->state == ECHO_FAILED)
        return ECHO_WRONG;
    if (n > e->sent - e->received) {
        /* Check what was due first: a wrong byte is the better diagnosis. */
        size_t due = (size_t)(e->sent - e->received);
        enum echo_event first = echo_receive(e, buf, due);
        if (first == ECHO_WRONG)
            return first;
        e->state = ECHO_FAILED;
        return ECHO_TOO_MUCH;
    }
    unsigned char want[4096];
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < sizeof want ? n - done : sizeof want;
        payload_fill(e->seed, e->received, want, chunk);
        if (memcmp(want, buf + done, chunk) != 0) {
            size_t i = 0;
            while (want[i] == buf[done + i])
                i++;
            e->bad_at = e->received + i;
            e->state = ECHO_FAILED;
            return ECHO_WRONG;
        }
        e->received += chunk;
        done += chunk;
    }
    if (e->state == ECHO_AWAITING && e->received == e->end) {
        e->state = ECHO_IDLE;
        return ECHO_COMPLETE;
    }
    return ECHO_MORE;
}

enum echo_event echo_eof(const struct echo *e)
{
    if (e->state == ECHO_IDLE && e->received == e->sent)
        return ECHO_COMPLETE;
    return ECHO_SHORT;
}

void echo_describe(const struct echo *e, enum echo_event event, char *buf, size_t len)
{
    switch (event) {
    case ECHO_WRONG:
        snprintf(buf, len, "wrong echo: byte %llu differs from the one sent",
                 (unsigned long long)e->bad_at);
        break;
    case ECHO_TOO_MUCH:
        snprintf(buf, len, "more bytes came back than the %llu sent",
                 (unsigned long long)e->sent);
        break;
    case ECHO_SHORT:
        snprintf(buf, len, "closed by the server after %llu of %llu bytes came back",
                 (unsigned long long)e->received,
                 (unsigned long long)(e->state == ECHO_SENDING ? e->end : e->sent));
        break;
    default:
        snprintf(buf, len, "no error");
    }
}
