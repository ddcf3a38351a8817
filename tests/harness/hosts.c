/* hosts.c -- a private /etc/hosts for one test. */
#define _GNU_SOURCE
#include "hosts.h"

#include "cases.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static int hosts_failed(const char *what, char *why, size_t whylen)
{
    snprintf(why, whylen, "harness: private /etc/hosts: %s: %s", what, strerror(errno));
    return -1;
}

int private_hosts(const char *content, const struct scratch *tmp, char *why, size_t whylen)
{
    if (geteuid() != 0) {
        snprintf(why, whylen, "a private /etc/hosts needs a mount namespace (run as root)");
        return CHECK_SKIPPED;
    }
    char path[320];
    if (write_file(scratch_path(tmp, "hosts", path, sizeof path), content, strlen(content)) < 0)
        return hosts_failed("write", why, whylen);
    if (unshare(CLONE_NEWNS) < 0)
        return hosts_failed("unshare(CLONE_NEWNS)", why, whylen);
    /* Without every mount private, the bind mount below would show on the
     * host's /etc/hosts too (in a chroot "/" is no mount and this fails). */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        snprintf(why, whylen, "\"/\" cannot be made private here (%s): a private /etc/hosts "
                 "could reach the host", strerror(errno));
        return CHECK_SKIPPED;
    }
    if (mount(path, "/etc/hosts", NULL, MS_BIND, NULL) < 0)
        return hosts_failed("bind mount", why, whylen);
    return 0;
}
