/* payloads.h -- the payloads that cases send, shared by every kind. Each
 * maker returns a malloc'd buffer (never NULL unless out of memory) and its
 * length. */
#ifndef PAYLOADS_H
#define PAYLOADS_H

#include <stddef.h>

#define LINE "Hello from the interop harness!\n"

size_t make_empty(unsigned char **data);
size_t make_line(unsigned char **data);
size_t make_byte(unsigned char **data);   /* one byte */
size_t make_bytes(unsigned char **data);  /* all 256 byte values, in order */
size_t make_1472(unsigned char **data);   /* pseudo-random, one Ethernet frame over IPv4 */
size_t make_65507(unsigned char **data);  /* pseudo-random, the largest IPv4 UDP datagram */
size_t make_65536(unsigned char **data);  /* pseudo-random, the largest Unix-domain message here */
size_t make_1400(unsigned char **data);   /* pseudo-random, the largest protocol-253 payload */
size_t make_16mib(unsigned char **data);  /* pseudo-random */

/* Deterministic pseudo-random bytes (xorshift64*), for reproducible payloads. */
void fill_random(unsigned char *buf, size_t len, unsigned long long seed);

#endif
