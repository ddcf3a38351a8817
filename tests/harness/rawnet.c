/* rawnet.c -- the harness's own raw-socket peers. */
#define _GNU_SOURCE
#include "rawnet.h"

#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXCHANGE_TIMEOUT_MS 1500
#define EXCHANGE_ATTEMPTS 4

int raw_privileged(void)
{
    return geteuid() == 0;
}

int private_netns(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        return -1;
    /* A new namespace has only lo, and it is down: bring it up. */
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ? -1 : 0;
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* mkdir that accepts a directory already there. */
static int ensure_dir(const char *path, mode_t mode)
{
    return mkdir(path, mode) == 0 || errno == EEXIST ? 0 : -1;
}

static bool is_octal(char c)
{
    return c >= '0' && c <= '7';
}

/* Undoes mountinfo's octal escapes ("\040" for a space) in place. */
static void unescape_mountinfo(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && is_octal(s[1]) && is_octal(s[2]) && is_octal(s[3])) {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* Whether the topmost mount at path propagates to other namespaces, as
 * /proc/self/mountinfo says ("shared:N" among its optional fields): 1, 0, or
 * -1 if there is no mount there. */
static int mount_is_shared(const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL)
        return -1;
    char line[8192], point[PATH_MAX];
    int shared = -1;
    while (fgets(line, sizeof line, f)) {
        /* id parent major:minor root mount-point options [optional...] - ... */
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
            continue;
        unescape_mountinfo(point);
        char *dash = strstr(line, " - ");
        if (strcmp(point, path) == 0 && dash) {
            *dash = '\0';
            shared = strstr(line, " shared:") != NULL; /* a later line is mounted on top */
        }
    }
    fclose(f);
    return shared;
}

/* Fails root_only_checkout with a reason and errno's text. */
static int view_failed(const char *what, char *why, size_t whylen)
{
    snprintf(why, whylen, "harness: root-only view of the checkout: %s: %s", what,
             strerror(errno));
    return -1;
}

int root_only_checkout(char *why, size_t whylen)
{
    char here[PATH_MAX], top[PATH_MAX + 64], view[PATH_MAX + 80];
    if (getcwd(here, sizeof here) == NULL)
        return view_failed("getcwd", why, whylen);
    snprintf(top, sizeof top, "%s/%s", here, ROOT_ONLY_DIR);
    snprintf(view, sizeof view, "%s/checkout", top);
    if (unshare(CLONE_NEWNS) < 0)
        return view_failed("unshare(CLONE_NEWNS)", why, whylen);
    /* Our mounts must stay in our namespace. Making every mount private does
     * that; in a chroot, whose "/" is no mount, that fails, and we check
     * instead that our tmpfs came out private (a mount under a shared parent
     * is shared, and would have appeared on the host too: then undo it). */
    bool all_private = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
    if (ensure_dir("build", 0755) < 0 || ensure_dir("build/interop", 0755) < 0 ||
        ensure_dir(ROOT_ONLY_DIR, 0755) < 0)
        return view_failed("mkdir " ROOT_ONLY_DIR, why, whylen);
    if (mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=64k") < 0)
        return view_failed("mount tmpfs", why, whylen);
    if (!all_private && mount_is_shared(top) != 0) {
        umount2(top, 0);
        snprintf(why, whylen, "harness: root-only view of the checkout: %s is on a shared "
                 "mount in a chroot, and a mount there would reach the host", here);
        return -1;
    }
    if (ensure_dir(view, 0755) < 0 || mount(here, view, NULL, MS_BIND, NULL) < 0)
        return view_failed("bind mount", why, whylen);
    if (chdir(view) < 0)
        return view_failed("chdir", why, whylen);
    return 0;
}

int raw_isolate(char *why, size_t whylen)
{
    if (!raw_privileged()) {
        snprintf(why, whylen, "needs CAP_NET_RAW (run as root)");
        return RAW_NOT_ROOT;
    }
    if (private_netns() < 0) {
        snprintf(why, whylen, "harness: cannot create a network namespace: %s", strerror(errno));
        return -1;
    }
    if (root_only_checkout(why, whylen) < 0)
        return -1;
    return 0;
}

void own_loopback(char *buf, size_t len)
{
    unsigned pid = (unsigned)getpid();
    unsigned x = (pid >> 8) & 0xff, y = pid & 0xff;
    snprintf(buf, len, "127.53.%u.%u", x, y == 0 || y == 255 ? 1 : y);
}

static int raw_socket_from(const char *src)
{
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, RAW_PROTO);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (fd >= 0 && src &&
        (inet_pton(AF_INET, src, &sa.sin_addr) != 1 ||
         bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_bytes(int fd, const char *dst, const void *msg, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, dst, &sa.sin_addr) != 1)
        return -1;
    return sendto(fd, msg, len, 0, (struct sockaddr *)&sa, sizeof sa) == (ssize_t)len ? 0 : -1;
}

/* header + payload into buf; returns the length */
static size_t build(unsigned char *buf, int type, uint16_t id, const void *payload, size_t len)
{
    buf[0] = (unsigned char)type;
    buf[1] = 0;
    buf[2] = (unsigned char)(id >> 8);
    buf[3] = (unsigned char)id;
    memcpy(buf + 4, payload, len);
    return 4 + len;
}

int raw_send(const char *src, const char *dst, int type, uint16_t id, const void *payload,
             size_t len)
{
    unsigned char buf[4 + 2 * RAW_MAX_PAYLOAD];
    if (len > sizeof buf - 4)
        return -1;
    int fd = raw_socket_from(src);
    int rc = fd < 0 ? -1 : send_bytes(fd, dst, buf, build(buf, type, id, payload, len));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Waits for a type-2 reply with id from addr; returns the payload length or -1. */
static long await_reply(int fd, const char *addr, uint16_t id, unsigned char *out, size_t max)
{
    unsigned char pkt[65536];
    long long deadline = now_ms() + EXCHANGE_TIMEOUT_MS;
    while (poll_until(fd, POLLIN, deadline) == 0) {
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&from, &fromlen);
        char who[INET_ADDRSTRLEN];
        if (n < 20 || !inet_ntop(AF_INET, &from.sin_addr, who, sizeof who) || strcmp(who, addr))
            continue;
        size_t ihl = (size_t)(pkt[0] & 0x0f) * 4; /* the kernel hands us the IP header */
        if ((size_t)n < ihl + 4 || pkt[ihl] != 2 || pkt[ihl + 1] != 0 ||
            ((pkt[ihl + 2] << 8) | pkt[ihl + 3]) != id)
            continue;
        size_t len = (size_t)n - ihl - 4;
        if (len > max)
            return -1;
        memcpy(out, pkt + ihl + 4, len);
        return (long)len;
    }
    return -1;
}

int raw_exchange(const char *addr, const char *msg, char *why, size_t whylen)
{
    unsigned char got[RAW_MAX_PAYLOAD + 1];
    uint16_t id = (uint16_t)(getpid() ^ 0x5a5a);
    int fd = raw_socket_from(NULL);
    if (fd < 0) {
        snprintf(why, whylen, "harness: cannot open a raw socket: %s", strerror(errno));
        return -1;
    }
    unsigned char req[4 + RAW_MAX_PAYLOAD];
    size_t n = strlen(msg);
    long len = -1;
    /* Like a real client, it sends again if no reply comes: a server's socket
     * buffer may be full of a burst the test just sent, and then the kernel
     * drops the request. */
    for (int attempt = 0; len < 0 && attempt < EXCHANGE_ATTEMPTS; attempt++)
        if (send_bytes(fd, addr, req, build(req, 1, id, msg, n)) == 0)
            len = await_reply(fd, addr, id, got, sizeof got);
    close(fd);
    if (len < 0) {
        snprintf(why, whylen, "no reply from %s to the harness's request (id %u)", addr, id);
        return -1;
    }
    if ((size_t)len != n || memcmp(got, msg, n)) {
        snprintf(why, whylen, "the reply from %s carried %ld bytes, not the %zu sent", addr, len, n);
        return -1;
    }
    return 0;
}

int raw_garbage(const char *addr, int n)
{
    static unsigned char junk[2 * RAW_MAX_PAYLOAD];
    int fd = raw_socket_from(NULL), sent = 0;
    for (int i = 0; fd >= 0 && i < n; i++) {
        size_t len;
        switch (i % 5) {
        case 0: /* too short for the header */
            len = (size_t)(i % 4);
            break;
        case 1: /* an unknown type */
            len = build(junk, 7 + i % 200, (uint16_t)i, "x", 1);
            break;
        case 2: /* the reserved byte set */
            len = build(junk, 1, (uint16_t)i, "x", 1);
            junk[1] = 0xff;
            break;
        case 3: { /* a payload over the limit */
            static const unsigned char big[RAW_MAX_PAYLOAD + 1];
            len = build(junk, 1, (uint16_t)i, big, sizeof big);
            break;
        }
        default: /* a reply, which a server must not answer */
            len = build(junk, 2, (uint16_t)i, "reply", 5);
        }
        sent += send_bytes(fd, addr, junk, len) == 0;
    }
    if (fd >= 0)
        close(fd);
    return sent;
}

int drop_net_raw_for_children(void)
{
    return prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0);
}

int netns_sysctl(const char *name, const char *value)
{
    char path[256];
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int rc = fd >= 0 && write(fd, value, strlen(value)) == (ssize_t)strlen(value) ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}
