# stream_server.py -- a Unix-domain stream echo server: socket files, permissions, stale files, unlink
#
# Run it as `python3 python/unix/stream_server.py --path P [--mode M]`; it prints
# `READY <path>` on stdout once it is listening, logs to stderr, and stops on
# SIGTERM or SIGINT (Ctrl-C), removing its socket file. A path starting with `@`
# is a name in Linux's abstract namespace, which has no file at all.

import contextlib
import errno
import os
import re
import signal
import socket
import stat
import sys

USAGE = "usage: stream_server --path P [--mode M]"
CHUNK = 64 * 1024  # read up to 64 KiB at a time: big enough to move 16 MiB quickly

# A Unix-domain address is a struct sockaddr_un: a family and a 108-byte
# sun_path. A portable filesystem path keeps its terminating NUL there, and an
# abstract name needs its leading NUL, so either way 107 bytes are left.
MAX_PATH = 107


def log(message):
    print(f"stream_server: {message}", file=sys.stderr, flush=True)


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    log(message)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


def check_path(path):
    """A usage error unless --path fits in sun_path: 1 to 107 bytes, after any '@'."""
    # The kernel counts bytes, not characters: "é" is two bytes in UTF-8.
    # os.fsencode() gives back the very bytes the path had on the command line.
    size = len(os.fsencode(path.removeprefix("@")))
    if size == 0:
        usage_error("--path needs a name after the @" if path else "--path is empty")
    if size > MAX_PATH:
        usage_error(f"--path is {size} bytes; a socket address holds at most {MAX_PATH}")


def parse_args(argv):
    path, mode = None, 0o600
    args = iter(argv)
    for arg in args:
        if arg == "--help":
            print(USAGE)
            sys.exit(0)
        if arg not in ("--path", "--mode"):
            usage_error(f"unknown option: {arg}" if arg.startswith("-")
                        else f"unexpected argument: {arg}")
        value = next(args, None)
        if value is None:
            usage_error(f"{arg} needs a value")
        if arg == "--path":
            check_path(value)
            path = value
        elif re.fullmatch(r"[0-7]{3}", value):
            mode = int(value, 8)
        else:
            usage_error(f"bad mode: {value}")
    if path is None:
        usage_error("--path is required")
    return path, mode


def format_address(address):
    """A Unix-domain address as the logs show it: its path, '@name', or 'unnamed'."""
    # Python gives a filesystem address as a str, an abstract one as bytes
    # starting with the NUL, and a socket that never bound an address as ''
    # (or None, where the kernel returned no address at all).
    if not address:
        return "unnamed"
    if isinstance(address, bytes):
        return "@" + os.fsdecode(address[1:])
    return address


class StartError(Exception):
    """The server could not start; the message is the one line to print."""


@contextlib.contextmanager
def step(what):
    """Turn an OSError inside the block into a StartError saying what we were doing."""
    try:
        yield
    except OSError as e:
        raise StartError(f"{what}: {e.strerror}") from None


# ANCHOR: address
def kernel_address(path):
    """The address to give bind() or connect() for --path."""
    if path.startswith("@"):
        # An abstract name: a NUL byte, then the name. Python passes an
        # address that starts with NUL with exactly its own length: no
        # trailing NUL, no padding ("\0demo" and "\0demo\0\0..." differ).
        return b"\0" + os.fsencode(path[1:])
    return path
# ANCHOR_END: address


# ANCHOR: probe
def remove_if_stale(path):
    """bind() failed with EADDRINUSE: remove a stale socket file, or refuse to start."""
    # An abstract name is held only by a live socket; a file may be a leftover.
    if not path.startswith("@"):
        # lstat(), not stat(): a symbolic link is not a socket, wherever it points.
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise StartError(f"{path}: exists and is not a socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1)  # a live server with a full backlog must not hang us
            try:
                probe.connect(path)
            except ConnectionRefusedError:  # nobody listens: the file is stale
                log(f"{path}: removing stale socket file")
                os.unlink(path)
                return
            except OSError:  # EPROTOTYPE (a live socket of another type), EACCES
                pass
    raise StartError(f"{path}: another server is listening there")
# ANCHOR_END: probe


# ANCHOR: bind
def bind_private(sock, address):
    # bind() creates the socket file with mode 0777 less the umask: with the
    # umask at 077 it is born owner-only, and chmod() opens it up later.
    old_umask = os.umask(0o077)
    try:
        sock.bind(address)
    finally:
        os.umask(old_umask)


def listen_on(path, mode):
    """Return a socket bound to --path and listening, replacing a stale socket file."""
    with step("socket"):
        # AF_UNIX: addresses are paths on this machine; SOCK_STREAM as with TCP.
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with step(f"bind {path}"):
            try:
                bind_private(sock, kernel_address(path))
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
                remove_if_stale(path)
                bind_private(sock, kernel_address(path))
        # ANCHOR_END: bind
        # ANCHOR: listen
        if not path.startswith("@"):  # an abstract name has no file to chmod
            with step(f"chmod {path}"):
                os.chmod(path, mode)
        with step(f"listen on {path}"):
            sock.listen()
        return sock
    except BaseException:
        remove_socket_file(sock, path)  # if we bound it before failing
        sock.close()
        raise
# ANCHOR_END: listen


# ANCHOR: echo
def echo(conn):
    """Send back everything the client sends, until it half-closes; return the byte count."""
    total = 0
    while True:
        # recv() returns whatever has arrived, up to CHUNK bytes; a stream has
        # no message boundaries. b"" means end-of-file: the client has shut
        # down its sending side and will send no more.
        data = conn.recv(CHUNK)
        if not data:
            break
        # send() may write only part of the data; sendall() loops until it is all sent.
        conn.sendall(data)
        total += len(data)
    return total
# ANCHOR_END: echo


def serve(path, mode):
    with listen_on(path, mode) as listener:
        try:
            # ANCHOR: ready
            # getsockname() asks the kernel which address the socket is bound
            # to: the path as we gave it, or the abstract name (printed as
            # @name). The client (or test harness) waits for this line, so
            # flush it at once.
            with step("write stdout"):
                print(f"READY {format_address(listener.getsockname())}", flush=True)
            # ANCHOR_END: ready

            # ANCHOR: accept
            while True:
                # accept() waits for a client and returns a new socket for that
                # one connection, and the client's address -- which is usually
                # none at all: a client need not bind() before connect(), and
                # then it is "unnamed". We serve one client at a time: the next
                # one waits in the listen queue until this one is done (a
                # deliberate simplification -- a client that stalls holds
                # everyone up).
                try:
                    conn, peer = listener.accept()
                except OSError as e:  # this connection is lost, not the server
                    log(f"accept: {e.strerror}")
                    continue
                name = format_address(peer)
                log(f"connection from {name}")
                # `with conn:` closes the connection however echo() ends.
                with conn:
                    try:
                        total = echo(conn)
                        log(f"{name}: closed, {total} bytes echoed")
                    except OSError as e:
                        # A client that resets the connection or vanishes makes
                        # recv() or sendall() fail (ECONNRESET, EPIPE): log it,
                        # go on with the next client. (Python ignores SIGPIPE,
                        # so a write to a closed connection raises
                        # BrokenPipeError rather than killing us.)
                        log(f"{name}: {e.strerror}")
            # ANCHOR_END: accept
        finally:
            remove_socket_file(listener, path)


# ANCHOR: stop
class Stopped(Exception):
    """Raised by the signal handler to unwind out of whatever the server is doing."""


def stop(signum, frame):
    # A handler that set a flag would go unnoticed: Python retries a system
    # call that a signal interrupts (PEP 475), so accept() would go on waiting.
    # An exception unwinds out of it, through the `with` and `finally` blocks
    # that close the sockets and remove the file. More signals are ignored.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Stopped(signal.Signals(signum).name)


def remove_socket_file(sock, path):
    """Remove the socket file, if this socket created it."""
    # getsockname() is '' until bind() succeeds: a server that refused to
    # start leaves the live server's file alone. An abstract name has no file.
    if path.startswith("@") or not sock.getsockname():
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def main():
    path, mode = parse_args(sys.argv[1:])
    # Handlers first, so that they are in place once anyone has seen READY.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        with step("stdout"):
            os.fstat(1)  # READY goes there: fail now if we were started without one
        serve(path, mode)
    except Stopped as s:
        log(f"stopping on {s}")
        return 0
    except StartError as e:
        log(e)
        return 1
# ANCHOR_END: stop


if __name__ == "__main__":
    sys.exit(main())
