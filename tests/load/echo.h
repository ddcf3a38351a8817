/* echo.h -- what a connection sends, and the check that every byte came back */
#ifndef SOCKLOAD_ECHO_H
#define SOCKLOAD_ECHO_H

#include <stddef.h>
#include <stdint.h>

/*
 * The bytes a connection sends are a function of its seed and of the byte's
 * offset in the stream, so nothing has to be stored to check the echo: a
 * 16 MiB bulk stream costs no memory, and an echo that came back on the wrong
 * connection, or out of order, differs from what was expected.
 */
void payload_fill(uint64_t seed, uint64_t offset, unsigned char *buf, size_t n);

/*
 * One connection's byte stream, as a sequence of exchanges (a pingpong
 * message, a bulk stream, a hold check):
 *
 *     IDLE --echo_begin(size)--> SENDING --echo_sent: all of it--> AWAITING
 *       ^                          (echoes may already arrive)        |
 *       +------------------ echo_receive: the last byte --------------+
 *
 * Any wrong byte, or a byte that was never sent, is FAILED, for good.
 */
enum echo_state { ECHO_IDLE, ECHO_SENDING, ECHO_AWAITING, ECHO_FAILED };

/* What echo_receive and echo_eof say. */
enum echo_event {
    ECHO_MORE,       /* correct so far; more is due */
    ECHO_COMPLETE,   /* the exchange's last byte arrived (or, at EOF: nothing was missing) */
    ECHO_WRONG,      /* a byte differs from the one sent at that offset */
    ECHO_TOO_MUCH,   /* more bytes came back than were sent */
    ECHO_SHORT,      /* end of file before every byte sent came back */
};

struct echo {
    uint64_t seed;
    uint64_t sent;       /* stream bytes the kernel has taken */
    uint64_t received;   /* stream bytes read back, all of them correct */
    uint64_t begin;      /* where the current exchange starts in the stream */
    uint64_t end;        /* ... and where it ends */
    uint64_t bad_at;     /* ECHO_WRONG: the stream offset of the first wrong byte */
    enum echo_state state;
};

void echo_init(struct echo *e, uint64_t seed);
/* Start an exchange of size bytes (0 is complete at once). -1 unless IDLE. */
int echo_begin(struct echo *e, uint64_t size);
/* The next bytes to send, up to cap of them: returns how many it wrote. */
size_t echo_fill(const struct echo *e, unsigned char *buf, size_t cap);
/* The kernel took n of the bytes echo_fill gave. -1 if n is more than are due. */
int echo_sent(struct echo *e, size_t n);
/* n bytes arrived. */
enum echo_event echo_receive(struct echo *e, const unsigned char *buf, size_t n);
/* The peer closed: ECHO_COMPLETE if everything sent has come back, else ECHO_SHORT. */
enum echo_event echo_eof(const struct echo *e);
/* One phrase for what went wrong (event is WRONG, TOO_MUCH or SHORT). */
void echo_describe(const struct echo *e, enum echo_event event, char *buf, size_t len);

#endif
