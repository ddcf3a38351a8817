/* stream_checks.h -- the `tcp` kind's checks of a server (stream_cases.c),
 * which chapter 6's servers (`tcp-many`, many_cases.c) must pass too. Each
 * names the program by the name its --help gives. */
#ifndef STREAM_CHECKS_H
#define STREAM_CHECKS_H

#include <stddef.h>

/* The log lines of CONTRACT.md section 4, for one clean connection and a stop. */
int check_logs(const void *context, const char *command, char *why, size_t whylen);
/* SIGTERM while a client is connected and mid-conversation. */
int check_stop_while_serving(const void *context, const char *command, char *why, size_t whylen);
/* A client that resets, then one that vanishes mid-transfer: the next is served. */
int check_survives_reset(const void *context, const char *command, char *why, size_t whylen);
int check_survives_vanish(const void *context, const char *command, char *why, size_t whylen);
/* Out of descriptors: the failed accept is logged, and the next client served. */
int check_survives_emfile(const void *context, const char *command, char *why, size_t whylen);

#endif
