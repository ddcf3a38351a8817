/* hosts.h -- a private /etc/hosts for one test: names the harness invents,
 * resolved by every program the test starts and by nothing else. */
#ifndef HOSTS_H
#define HOSTS_H

#include <stddef.h>

#include "run.h"

/* Moves this test process (and every program it starts) into a mount
 * namespace of its own in which /etc/hosts is a file in tmp holding `content`.
 * Returns 0; CHECK_SKIPPED with why if this harness cannot (not root, or "/"
 * is no mount of its own, so a mount could reach the host); or -1 with why. */
int private_hosts(const char *content, const struct scratch *tmp, char *why, size_t whylen);

#endif
