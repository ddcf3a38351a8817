# dgram_client.py -- a Unix-domain datagram echo client: binding its own address, a timeout, cleanup
#
# Run it as `python3 python/unix/dgram_client.py --path P [--timeout S]`; it
# sends stdin to the server as one datagram, writes the reply to stdout, and
# exits 0 -- or exits 1 if no reply comes within S seconds. It binds
# $TMPDIR/dgram_client.<pid>.sock for the reply, and removes it on every exit.

import contextlib
import os
import re
import signal
import socket
import sys

USAGE = "usage: dgram_client --path P [--timeout S]"

# The largest datagram this example sends: our own limit, matching the servers'
# 64 KiB receive buffers (Unix-domain datagrams have no 16-bit length field to
# limit them, as UDP's do; only the socket buffer sizes do).
MAX_PAYLOAD = 65536
BUFSIZE = 65536

# sun_path is 108 bytes; a portable path keeps its terminating NUL there, an
# abstract name its leading NUL, so either way 107 bytes are left for the name.
MAX_PATH = 107


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    print(f"dgram_client: {message}", file=sys.stderr)
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


def parse_timeout(text):
    """Seconds: digits, then optionally "." and more digits ("1", "0.2"), over 0; else None.

    float() alone would also take ".5", "5.", "1e3", "inf", "nan" and " 1 "."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return None
    seconds = float(text)
    return seconds if seconds > 0 else None


def parse_args(argv):
    path, timeout = None, 1.0
    args = iter(argv)
    for arg in args:
        if arg == "--help":
            print(USAGE)
            sys.exit(0)
        if arg not in ("--path", "--timeout"):
            usage_error(f"unknown option: {arg}" if arg.startswith("-")
                        else f"unexpected argument: {arg}")
        value = next(args, None)
        if value is None:
            usage_error(f"{arg} needs a value")
        if arg == "--path":
            check_path(value)
            path = value
        else:
            timeout = parse_timeout(value)
            if timeout is None:
                usage_error(f"bad timeout: {value}")
    if path is None:
        usage_error("--path is required")
    return path, timeout


def kernel_address(path):
    """The address to give connect() for --path."""
    if path.startswith("@"):
        # An abstract name: sun_path is a NUL byte and then the name, and the
        # address length counts exactly those bytes -- no trailing NUL, no
        # padding. Python passes an address that starts with NUL with exactly
        # its own length.
        return b"\0" + os.fsencode(path[1:])
    return path


class Failure(Exception):
    """Something went wrong; the message is the one line the client prints."""


class Interrupted(Exception):
    """Raised by the signal handler, so that the `finally` blocks still run."""


@contextlib.contextmanager
def step(what):
    """Turn an OSError inside the block into a Failure saying what we were doing."""
    try:
        yield
    except OSError as e:
        raise Failure(f"{what}: {e.strerror or e}") from None


def read_payload():
    """All of stdin, as the payload of one datagram; too much is a usage error."""
    # A datagram is sent whole or not at all, so we need all of it before sending.
    with step("read stdin"):
        payload = sys.stdin.buffer.read()
    if len(payload) > MAX_PAYLOAD:
        # The user's mistake, like a bad flag: exit 2, with nothing sent and
        # no file created.
        print(f"dgram_client: {len(payload)} bytes is more than the {MAX_PAYLOAD} "
              "this example sends", file=sys.stderr)
        sys.exit(2)
    return payload


# ANCHOR: bind
def own_path():
    """Where this client binds its own address: $TMPDIR/dgram_client.<pid>.sock."""
    # Our pid makes the name unique among the clients running right now. A
    # file already there is a leftover of an earlier client that had our pid
    # and was killed before it could clean up: remove it, or bind() would fail.
    directory = os.environ.get("TMPDIR") or "/tmp"
    path = os.path.join(directory, f"dgram_client.{os.getpid()}.sock")
    with step(f"remove {path}"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return path


def bind_own(sock, path):
    # Why bind at all? A stream client gets its answers over its connection,
    # but a datagram carries only the sender's address -- and a socket that
    # never bound one is "unnamed": the server would have nowhere to send the
    # echo. So we give ours a name: bind() creates the socket file. The server
    # needs write permission on it to reply; one of the same user always has.
    with step(f"bind {path}"):
        sock.bind(path)
# ANCHOR_END: bind


# ANCHOR: connect
def connect(sock, path):
    # connect() on a datagram socket sends nothing: it checks that a socket is
    # bound to that address (no file: ENOENT; a file whose socket has closed:
    # ECONNREFUSED) and records it, so that send() goes there by default and
    # the kernel hands us datagrams from that socket only.
    with step(f"connect to {path}"):
        sock.connect(kernel_address(path))
# ANCHOR_END: connect


# ANCHOR: send
def send_payload(sock, payload, path):
    # send() on a datagram socket is all or nothing: one call, one datagram,
    # never a partial send, so no sendall(). If the server's queue is full it
    # waits for room -- but no longer than the timeout that echo() sets.
    with step(f"send to {path}"):
        sock.send(payload)
# ANCHOR_END: send


# ANCHOR: receive
def receive(sock, path, timeout):
    """Wait up to `timeout` seconds for the reply and return it."""
    try:
        # recv() takes one whole datagram; b"" is a reply too, the echo of an
        # empty datagram. There is no resending: Unix-domain datagrams are
        # never lost on the way, so silence means the server is not answering,
        # and asking again would not help.
        return sock.recv(BUFSIZE)
    except TimeoutError:
        raise Failure(f"no reply from {path} within {timeout:g} s") from None
    except OSError as e:
        raise Failure(f"receive from {path}: {e.strerror}") from None
# ANCHOR_END: receive


def echo(payload, path, timeout):
    """Send the payload to the server at `path` and return its reply."""
    mine = own_path()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        # settimeout() puts a time limit on every blocking call on this socket:
        # a send() or recv() that has waited that long raises TimeoutError.
        # min(): a time_t cannot hold a number of seconds as big as 1e300.
        sock.settimeout(min(timeout, 1e9))
        try:
            bind_own(sock, mine)
            connect(sock, path)
            send_payload(sock, payload, path)
            return receive(sock, path, timeout)
        finally:
            # However we leave -- a reply, a timeout, a refused connect(), a
            # signal -- the file we bound goes with us.
            remove_own_file(sock, mine)


# ANCHOR: cleanup
def remove_own_file(sock, path):
    """Remove the socket file this client bound, if it did bind one."""
    # Closing a socket does not remove its file, and nobody else would: every
    # run would leave one more behind in $TMPDIR. getsockname() is '' unless
    # our bind() succeeded: a file we did not create is not ours to remove.
    if sock.getsockname():
        with contextlib.suppress(OSError):
            os.unlink(path)
# ANCHOR_END: cleanup


def interrupted(signum, frame):
    # SIGTERM would kill us on the spot, without running the `finally` in
    # echo(), and leave our file behind. Raising an exception from the handler
    # unwinds through that `finally` instead. Further signals are ignored
    # while we unwind.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Interrupted(signum)


def main():
    path, timeout = parse_args(sys.argv[1:])
    # SIGTERM, or SIGINT (Ctrl-C): remove our file first, then end.
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    try:
        # Started with stdout (or stdin) closed, `>&-`, the first socket we
        # open would get that free descriptor: find out before opening one.
        with step("stdout"):
            os.fstat(1)
        with step("stdin"):
            os.fstat(0)
        payload = read_payload()
        reply = echo(payload, path, timeout)
        # Our own binary writer on stdout: its write() writes every byte.
        # (Not sys.stdout.buffer: under `python3 -u` that is a raw file, whose
        # write() may write only part of what it is given.)
        with step("write stdout"):
            with open(sys.stdout.fileno(), "wb", closefd=False) as out:
                out.write(reply)
    except Failure as f:
        print(f"dgram_client: {f}", file=sys.stderr, flush=True)
        # os._exit() skips Python's clean-up, which would try again to flush
        # a stdout that has just failed and print a second error.
        os._exit(1)
    except Interrupted as i:
        # Our file is gone; now end the way the signal would have ended us,
        # so that whoever sent it (a shell, after Ctrl-C) sees that it worked.
        signal.signal(i.args[0], signal.SIG_DFL)
        os.kill(os.getpid(), i.args[0])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
