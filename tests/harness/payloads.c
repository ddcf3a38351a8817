/* payloads.c -- the payloads that cases send. */
#include "payloads.h"

#include <stdlib.h>
#include <string.h>

static size_t copy_of(const void *src, size_t len, unsigned char **data)
{
    *data = malloc(len ? len : 1);
    if (*data)
        memcpy(*data, src, len);
    return len;
}

static size_t random_bytes(size_t len, unsigned long long seed, unsigned char **data)
{
    *data = malloc(len);
    if (*data)
        fill_random(*data, len, seed);
    return len;
}

size_t make_empty(unsigned char **data) { return copy_of("", 0, data); }
size_t make_line(unsigned char **data) { return copy_of(LINE, strlen(LINE), data); }
size_t make_byte(unsigned char **data) { return copy_of("!", 1, data); }
size_t make_1472(unsigned char **data) { return random_bytes(1472, 1472, data); }
size_t make_65507(unsigned char **data) { return random_bytes(65507, 65507, data); }
size_t make_65536(unsigned char **data) { return random_bytes(65536, 65536, data); }
size_t make_1400(unsigned char **data) { return random_bytes(1400, 1400, data); }
size_t make_16mib(unsigned char **data) { return random_bytes(16u << 20, 0x50C7B00CULL, data); }

size_t make_bytes(unsigned char **data)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    return copy_of(all, sizeof all, data);
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
