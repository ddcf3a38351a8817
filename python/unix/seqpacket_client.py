# seqpacket_client.py -- a Unix-domain SOCK_SEQPACKET echo client: one message out, one message back
#
# Run it as `python3 python/unix/seqpacket_client.py --path P`; it sends stdin
# (1 to 65,536 bytes) to the server as one message, writes the one message
# that comes back to stdout, and exits 0.

import contextlib
import os
import signal
import socket
import sys

USAGE = "usage: seqpacket_client --path P"

# The largest message this example sends: our own limit, matching the
# servers' 64 KiB receive buffers.
MAX_PAYLOAD = 65536
BUFSIZE = 65536

# sun_path is 108 bytes; a portable path keeps its terminating NUL there, an
# abstract name its leading NUL, so either way 107 bytes are left for the name.
MAX_PATH = 107


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    print(f"seqpacket_client: {message}", file=sys.stderr)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


def check_path(path):
    """A usage error unless --path fits in sun_path: 1 to 107 bytes, after any '@'."""
    # The kernel counts bytes, not characters: "é" is two bytes in UTF-8.
    size = len(os.fsencode(path.removeprefix("@")))
    if size == 0:
        usage_error("--path needs a name after the @" if path else "--path is empty")
    if size > MAX_PATH:
        usage_error(f"--path is {size} bytes; a socket address holds at most {MAX_PATH}")


def parse_args(argv):
    path = None
    args = iter(argv)
    for arg in args:
        if arg == "--help":
            print(USAGE)
            sys.exit(0)
        if arg != "--path":
            usage_error(f"unknown option: {arg}" if arg.startswith("-")
                        else f"unexpected argument: {arg}")
        value = next(args, None)
        if value is None:
            usage_error(f"{arg} needs a value")
        check_path(value)
        path = value
    if path is None:
        usage_error("--path is required")
    return path


class Failure(Exception):
    """Something went wrong; the message is the one line the client prints."""


@contextlib.contextmanager
def step(what):
    """Turn an OSError inside the block into a Failure saying what we were doing."""
    try:
        yield
    except OSError as e:
        raise Failure(f"{what}: {e.strerror or e}") from None


# ANCHOR: connect
def connect(path):
    """Return a sequenced-packet socket connected to the Unix-domain address --path."""
    if path.startswith("@"):
        # An abstract name: sun_path is a NUL byte and then the name, and the
        # address length counts exactly those bytes -- no trailing NUL, no
        # padding. Python passes an address that starts with NUL with exactly
        # its own length.
        address = b"\0" + os.fsencode(path[1:])
    else:
        address = path
    # AF_UNIX: a socket between processes on this machine, named by a path.
    # No resolving, no list of addresses to try: a path is the whole address.
    # SOCK_SEQPACKET: connected like a stream, but every send() arrives as one
    # message, whole and in order, as a datagram would.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        # connect() reaches the server listening on that address. No file there
        # is ENOENT; a file that nobody listens on any more (a crashed server's
        # leftover) is ECONNREFUSED; a file we may not write to is EACCES. We
        # never bind() an address of our own: the server sees us as "unnamed".
        with step(f"connect to {path}"):
            sock.connect(address)
    except Failure:
        sock.close()
        raise
    return sock
# ANCHOR_END: connect


# ANCHOR: send
def read_payload():
    """All of stdin, as one message: 1 to MAX_PAYLOAD bytes, or a usage error."""
    with step("read stdin"):
        payload = sys.stdin.buffer.read()
    # The user's mistakes, like a bad flag: exit 2, with nothing sent.
    if not payload:
        # A 0-byte message arrives as a 0-byte receive -- which is exactly how
        # the end of the connection reads. The server could not tell them apart.
        print("seqpacket_client: stdin is empty; an empty message would read "
              "as the end of the connection", file=sys.stderr)
        sys.exit(2)
    if len(payload) > MAX_PAYLOAD:
        print(f"seqpacket_client: {len(payload)} bytes is more than the {MAX_PAYLOAD} "
              "this example sends", file=sys.stderr)
        sys.exit(2)
    return payload


def send_payload(sock, payload, path):
    # send() on a message socket is all or nothing: one call, one message,
    # never a partial send, so no sendall().
    with step(f"send to {path}"):
        sock.send(payload)
# ANCHOR_END: send


# ANCHOR: receive
def receive(sock, path):
    """Receive the one message the server sends back."""
    with step(f"receive from {path}"):
        # recvmsg() takes exactly one message, whole, and tells us in
        # msg_flags if it did not fit in our buffer (MSG_TRUNC).
        reply, _, flags, _ = sock.recvmsg(BUFSIZE)
    if flags & socket.MSG_TRUNC:
        raise Failure(f"the reply is longer than {BUFSIZE} bytes")
    # We never send an empty message, so an empty receive is the server
    # closing the connection without answering.
    if not reply:
        raise Failure("the server closed the connection without replying")
    return reply
# ANCHOR_END: receive


def main():
    path = parse_args(sys.argv[1:])
    # Ctrl-C (SIGINT) should just end the client, as it would a C program,
    # rather than raise KeyboardInterrupt in whichever line we happen to be.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        # Started with stdout (or stdin) closed, `>&-`, the first socket we
        # open would get that free descriptor: find out before opening one.
        with step("stdout"):
            os.fstat(1)
        with step("stdin"):
            os.fstat(0)
        payload = read_payload()
        with connect(path) as sock:
            send_payload(sock, payload, path)
            reply = receive(sock, path)
        # Our own binary writer on stdout: its write() writes every byte.
        # (Not sys.stdout.buffer: under `python3 -u` that is a raw file, whose
        # write() may write only part of what it is given.)
        with step("write stdout"):
            with open(sys.stdout.fileno(), "wb", closefd=False) as out:
                out.write(reply)
    except Failure as f:
        print(f"seqpacket_client: {f}", file=sys.stderr, flush=True)
        # os._exit() skips Python's clean-up, which would try again to flush
        # a stdout that has just failed and print a second error.
        os._exit(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
