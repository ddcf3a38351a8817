/* net.h -- the harness's own small TCP peer, for playing a misbehaving client
 * or server against the examples. */
#ifndef NET_H
#define NET_H

#include <stddef.h>

/* Connects to host:port (numeric). Returns a descriptor or -1. */
int tcp_connect(const char *host, int port);

/* The same with its send and receive buffers set to `bytes` (0: the kernel's
 * defaults), so that a test that stalls a connection pins less of the
 * kernel's TCP memory, which every test on the machine shares. */
int tcp_connect_buffers(const char *host, int port, int bytes);

/* Listens on host, port 0; stores the chosen port. Returns a descriptor or -1.
 * With backlog 0 and no listen() (listening = 0) the port is bound but refuses
 * connections: a port we own that is guaranteed to be closed. */
int tcp_bind(const char *host, int *port, int listening);

/* Closes with SO_LINGER {on, 0}: the kernel sends RST instead of FIN. */
void tcp_reset(int fd);

/* Sends all of data, waiting at most timeout_ms. Returns 0 or -1. */
int send_all(int fd, const void *data, size_t len, int timeout_ms);

/* Reads until end of file (or max bytes), waiting at most timeout_ms in all.
 * Returns the number of bytes read, or -1 on error or timeout. */
long recv_until_eof(int fd, unsigned char *buf, size_t max, int timeout_ms);

/* Sends without reading until the peer stops taking data (the socket buffers
 * are full, or no progress for stall_ms), up to max bytes. Returns bytes sent. */
size_t send_until_stalled(int fd, size_t max, int stall_ms);

/* One correct echo exchange: sends msg, half-closes, reads to end of file and
 * compares. Returns 0, or -1 with the reason in why. */
int echo_exchange(const char *host, int port, const char *msg, char *why, size_t whylen);
/* The same, waiting up to wait_ms (not 10 s) for the echo and end of file. */
int echo_exchange_within(const char *host, int port, const char *msg, int wait_ms, char *why,
                         size_t whylen);

/* Binds a UDP socket to host (numeric), port 0; stores the port. Returns a
 * descriptor or -1. */
int udp_bind(const char *host, int *port);

/* A UDP socket connected to host:port (numeric). Returns a descriptor or -1. */
int udp_connect(const char *host, int port);

/* From a fresh UDP socket, sends msg to host:port and waits up to timeout_ms
 * for an identical reply, trying `tries` times. Returns 0, or -1 with why. */
int udp_echo_exchange(const char *host, int port, const void *msg, size_t len, int tries,
                      int timeout_ms, char *why, size_t whylen);

#endif
