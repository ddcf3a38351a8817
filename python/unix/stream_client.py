# stream_client.py -- a Unix-domain stream echo client: connect to a path, then echo as over TCP
#
# Run it as `python3 python/unix/stream_client.py --path P`; it sends stdin to
# the server, writes what comes back to stdout, and exits 0 once the server has
# closed the connection. A path starting with `@` is an abstract name.

import contextlib
import os
import signal
import socket
import sys
import threading

USAGE = "usage: stream_client --path P"
CHUNK = 64 * 1024  # read up to 64 KiB at a time: big enough to move 16 MiB quickly

# sun_path is 108 bytes; a portable path keeps its terminating NUL there, an
# abstract name its leading NUL, so either way 107 bytes are left for the name.
MAX_PATH = 107


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    print(f"stream_client: {message}", file=sys.stderr)
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
    """Return a stream socket connected to the Unix-domain address --path."""
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
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
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
class Sender(threading.Thread):
    """Copies stdin to the socket, then half-closes it, while the main thread receives."""

    def __init__(self, sock, path):
        # A daemon thread does not keep the program alive if the main thread
        # has to give up while this one is still blocked reading stdin.
        super().__init__(daemon=True)
        self.sock, self.path = sock, path
        self.failure = None

    def run(self):
        try:
            while True:
                with step("read stdin"):
                    # read1() returns what one read() of stdin gives, up to CHUNK bytes.
                    chunk = sys.stdin.buffer.read1(CHUNK)
                if not chunk:
                    break
                with step(f"send to {self.path}"):
                    self.sock.sendall(chunk)
            # shutdown(SHUT_WR) is a half-close, on a Unix-domain stream just as
            # on TCP: the server reads end-of-file, while our receiving side
            # stays open for the rest of the echo.
            with step(f"shutdown {self.path}"):
                self.sock.shutdown(socket.SHUT_WR)
        except Failure as f:
            self.failure = f
            # Wake the main thread, which may be blocked in recv(): after
            # shutdown(SHUT_RDWR), recv() returns end-of-file at once.
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
# ANCHOR_END: send


# ANCHOR: receive
def receive(sock, path):
    """Copy everything the server sends to stdout, until it closes the connection."""
    # Our own buffered binary writer on stdout: its write() writes every byte.
    # (Not sys.stdout.buffer: under `python3 -u` or PYTHONUNBUFFERED that is a
    # raw file, whose write() may write only part of what it is given.)
    with step("open stdout"):
        out = open(sys.stdout.fileno(), "wb", closefd=False)
    while True:
        with step(f"receive from {path}"):
            # recv() returns whatever has arrived, up to CHUNK bytes; b"" means
            # the server has closed its side: the echo is complete.
            data = sock.recv(CHUNK)
        if not data:
            break
        # If whoever reads our stdout has gone away, write() fails with
        # BrokenPipeError (Python ignores the SIGPIPE that would kill us).
        with step("write stdout"):
            out.write(data)
    with step("write stdout"):
        out.flush()
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
        with connect(path) as sock:
            sender = Sender(sock, path)
            sender.start()
            receive(sock, path)
            # End-of-file alone is not success: a server that closes early
            # would look just like one that echoed everything. So we wait for
            # the sender to finish and report its error if it had one.
            sender.join()
            if sender.failure:
                raise sender.failure
    except Failure as f:
        print(f"stream_client: {f}", file=sys.stderr, flush=True)
        # os._exit() skips Python's clean-up: the sender thread may still be
        # blocked reading stdin, and flushing a stdout that has just failed
        # would print a second error.
        os._exit(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
