/* compare.c -- comparing what a client printed with what was sent. */
#include "compare.h"

#include <stdio.h>
#include <string.h>

long first_difference(const unsigned char *a, size_t alen,
                      const unsigned char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return (long)i;
    return alen == blen ? -1 : (long)n;
}

/* "0a 41 42" for up to max bytes from data[from], or "(end)" past the end. */
static void hex_from(const unsigned char *data, size_t dlen, size_t from,
                     size_t max, char *out, size_t outlen)
{
    if (from >= dlen) {
        snprintf(out, outlen, "(end of data)");
        return;
    }
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = from; i < dlen && i < from + max && used + 4 < outlen; i++)
        used += (size_t)snprintf(out + used, outlen - used, "%s%02x",
                                 i == from ? "" : " ", data[i]);
}

char *describe_difference(const unsigned char *want, size_t wlen,
                          const unsigned char *got, size_t glen,
                          char *buf, size_t len)
{
    long at = first_difference(want, wlen, got, glen);
    if (at < 0) {
        snprintf(buf, len, "identical");
        return buf;
    }
    char whex[64], ghex[64];
    hex_from(want, wlen, (size_t)at, 8, whex, sizeof whex);
    hex_from(got, glen, (size_t)at, 8, ghex, sizeof ghex);
    snprintf(buf, len,
             "expected %zu bytes, got %zu; first difference at offset %ld: "
             "expected %s, got %s",
             wlen, glen, at, whex, ghex);
    return buf;
}
