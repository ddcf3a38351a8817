/* rawnet.h -- the harness's own raw-socket peers for chapter 5: a private
 * network namespace per test, an address of its own on loopback, protocol-253
 * requests, replies and garbage, and dropping CAP_NET_RAW for a program. */
#ifndef RAWNET_H
#define RAWNET_H

#include <stddef.h>
#include <stdint.h>

#define RAW_PROTO 253       /* IP protocol number reserved for experiments (RFC 3692) */
#define RAW_MAX_PAYLOAD 1400

/* Whether this process may open raw sockets and create namespaces (root). */
int raw_privileged(void);

/* Moves this test process (and so every program it starts) into a new network
 * namespace of its own, with its loopback interface up. Returns 0 or -1. */
int private_netns(void);

/* Where root_only_checkout mounts its directory, relative to the checkout. */
#define ROOT_ONLY_DIR "build/interop/root-only"

/* Moves this test process (and every program it starts) into a mount
 * namespace of its own in which the checkout, the current directory, is seen
 * again below a directory that only root may enter (ROOT_ONLY_DIR, a tmpfs of
 * mode 0700), and makes that view the current directory. A program that gives
 * up root and then opens one of its own files by absolute path fails here, as
 * it would in a checkout under /root. Returns 0, or -1 with why. */
int root_only_checkout(char *why, size_t whylen);

/* Where every raw test starts: checks that this process is root, then moves it
 * into a network namespace of its own (private_netns) and a root-only view of
 * the checkout (root_only_checkout). Returns 0, RAW_NOT_ROOT (the test is
 * skipped) or -1, with why. */
#define RAW_NOT_ROOT 1
int raw_isolate(char *why, size_t whylen);

/* An address on 127.0.0.0/8 for this test process alone ("127.53.x.y"). */
void own_loopback(char *buf, size_t len);

/* Sends one protocol-253 message (type, id, payload) to dst from a raw socket
 * bound to src (NULL: unbound). Returns 0 or -1. */
int raw_send(const char *src, const char *dst, int type, uint16_t id, const void *payload,
             size_t len);

/* One correct exchange with a raw_server at addr: a request with a fresh
 * identifier and msg, and its reply. Returns 0, or -1 with why. */
int raw_exchange(const char *addr, const char *msg, char *why, size_t whylen);

/* Sends n malformed protocol-253 packets to addr: short, wrong type, a nonzero
 * reserved byte, oversize, and replies. Returns the number sent. */
int raw_garbage(const char *addr, int n);

/* Removes CAP_NET_RAW from this process's bounding set, so that programs it
 * starts (even as root) cannot open raw sockets. Returns 0 or -1. */
int drop_net_raw_for_children(void);

/* Sets a sysctl of this process's network namespace ("net/ipv4/..."). */
int netns_sysctl(const char *name, const char *value);

#endif
