# fd_client.py -- receiving an open file descriptor over a Unix-domain socket: recvmsg and SCM_RIGHTS
#
# Run it as `python3 python/unix/fd_client.py --path P`; it connects to an
# fd_server, receives a descriptor of a file it never opens itself (and need
# not even know the name of), reads that file to the end, writes it to stdout,
# and exits 0.

import array
import contextlib
import os
import signal
import socket
import sys

USAGE = "usage: fd_client --path P"
CHUNK = 64 * 1024  # read up to 64 KiB at a time

# sun_path is 108 bytes; a portable path keeps its terminating NUL there, an
# abstract name its leading NUL, so either way 107 bytes are left for the name.
MAX_PATH = 107


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    print(f"fd_client: {message}", file=sys.stderr)
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


# ANCHOR: recv_fd
def receive_fd(sock, path):
    """Receive the one descriptor the server sends and return it."""
    fds = array.array("i")  # C ints: a descriptor is an int
    # recvmsg(bufsize, ancbufsize) receives ordinary data and, beside it,
    # ancillary data, in a buffer of ancbufsize bytes. CMSG_LEN(n) is the size
    # of one control message carrying n bytes: here one int, room for exactly
    # one descriptor (the kernel closes any that do not fit, and sets
    # MSG_CTRUNC). The one byte of data means nothing: we do not look at it.
    # (socket.recv_fds() wraps this call.)
    with step(f"receive from {path}"):
        _, ancdata, _, _ = sock.recvmsg(1, socket.CMSG_LEN(fds.itemsize))
    # Each control message is (level, type, data). SOL_SOCKET/SCM_RIGHTS data
    # is an array of ints: descriptors the kernel has already installed in
    # THIS process -- open duplicates of the server's, under numbers of ours.
    for level, type_, data in ancdata:
        if level == socket.SOL_SOCKET and type_ == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    if not fds:
        raise Failure("the server sent no descriptor")
    for extra in fds[1:]:  # not from fd_server; close any extras all the same
        os.close(extra)
    return fds[0]
# ANCHOR_END: recv_fd


# ANCHOR: read
def copy_to_stdout(fd):
    """Read the descriptor to end-of-file and write everything to stdout."""
    # Our own buffered binary writer on stdout: its write() writes every byte.
    with step("open stdout"):
        out = open(sys.stdout.fileno(), "wb", closefd=False)
    # open() also takes a descriptor: it wraps the one we were given in a file
    # object, which closes it when the `with` ends. Reading it reads the file
    # the server opened, from the offset the server left (the start).
    with step("read the received descriptor"):
        received = open(fd, "rb", buffering=0)
    with received:
        while True:
            with step("read the received descriptor"):
                data = received.read(CHUNK)
            if not data:
                break
            # If whoever reads our stdout has gone away, write() fails with
            # BrokenPipeError (Python ignores the SIGPIPE that would kill us).
            with step("write stdout"):
                out.write(data)
    with step("write stdout"):
        out.flush()
# ANCHOR_END: read


def main():
    path = parse_args(sys.argv[1:])
    # Ctrl-C (SIGINT) should just end the client, as it would a C program,
    # rather than raise KeyboardInterrupt in whichever line we happen to be.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        # Started with stdout closed, `>&-`, the first socket we open would
        # get descriptor 1: find out before opening one.
        with step("stdout"):
            os.fstat(1)
        with connect(path) as sock:
            fd = receive_fd(sock, path)
        # The connection is closed; the descriptor lives on without it.
        copy_to_stdout(fd)
    except Failure as f:
        print(f"fd_client: {f}", file=sys.stderr, flush=True)
        # os._exit() skips Python's clean-up, which would try again to flush
        # a stdout that has just failed and print a second error.
        os._exit(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
