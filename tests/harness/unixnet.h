/* unixnet.h -- the harness's own Unix-domain peers: addresses (filesystem or
 * "@abstract"), connecting as another user, and one correct exchange for each
 * chapter 4 kind, to check a server still works. */
#ifndef UNIXNET_H
#define UNIXNET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* The chapter 4 protocols (CONTRACT.md section 8). */
enum unix_proto { PROTO_STREAM, PROTO_DGRAM, PROTO_SEQPACKET, PROTO_FDPASS, PROTO_PEERCRED };

/* SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET. */
int unix_proto_type(enum unix_proto p);

/* Fills sa from "path" or "@name" (abstract: a leading NUL and the exact
 * length). Returns the address length, or -1 if it does not fit. */
int unix_addr(const char *path, struct sockaddr_un *sa);

/* A socket of `type` bound to path (NULL: unbound). Returns fd or -1. */
int unix_socket(int type, const char *bind_path);

/* Connects a new socket of `type` to path. Returns fd, or -1 with errno. */
int unix_connect(int type, const char *path);

/* Leaves a stale socket file at path: binds a socket there and closes it. */
int unix_make_stale(const char *path);

/* Connects to path from a child process running as uid/gid. Returns 0 if it
 * connected, the child's errno if it did not, or -1 if the child failed. */
int unix_connect_as(int type, const char *path, uid_t uid, gid_t gid);

/* The line cred_server sends for a peer. */
void cred_line(pid_t pid, uid_t uid, gid_t gid, char *buf, size_t len);

/* One correct exchange with a server of protocol p at path: an echo of msg
 * (stream, dgram, seqpacket), a passed descriptor whose content must be msg
 * (fdpass), or this process's credentials (peercred). `scratch` is a
 * directory for the harness's own datagram address. Returns 0, or -1 with why. */
int unix_exchange(enum unix_proto p, const char *path, const char *msg, const char *scratch,
                  char *why, size_t whylen);

#endif
