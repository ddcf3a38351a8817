/* compare.h -- comparing what a client printed with what was sent. */
#ifndef COMPARE_H
#define COMPARE_H

#include <stddef.h>

/* Returns the offset of the first byte where a and b differ, or -1 if they
 * are equal. If one is a prefix of the other, the offset is the shorter length. */
long first_difference(const unsigned char *a, size_t alen,
                      const unsigned char *b, size_t blen);

/* Writes a one-paragraph explanation of how `got` differs from `want` into buf:
 * lengths, the offset of the first differing byte, and up to 8 bytes of hex
 * from there on each side. Writes "identical" if they are equal. Returns buf. */
char *describe_difference(const unsigned char *want, size_t wlen,
                          const unsigned char *got, size_t glen,
                          char *buf, size_t len);

#endif
