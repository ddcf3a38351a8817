# dgram_server.py -- a Unix-domain datagram echo server: replying to the sender's path, never blocking
#
# Run it as `python3 python/unix/dgram_server.py --path P [--mode M]`; it prints
# `READY <path>` on stdout once it is bound, logs to stderr, and stops on
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

USAGE = "usage: dgram_server --path P [--mode M]"

# The largest datagram we take. Unix-domain datagrams have no 16-bit length
# field to limit them, as UDP's do (only the socket buffer sizes do), so this
# is our own limit: anything longer is cut short by the kernel, and dropped.
BUFSIZE = 65536

# A Unix-domain address is a struct sockaddr_un: a family and a 108-byte
# sun_path. A portable filesystem path keeps its terminating NUL there, and an
# abstract name needs its leading NUL, so either way 107 bytes are left.
MAX_PATH = 107


def log(message):
    print(f"dgram_server: {message}", file=sys.stderr, flush=True)


def usage_error(message):
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
            usage_error(f"unexpected argument: {arg}")
        value = next(args, None)
        if value is None:
            usage_error(f"{arg} needs a value")
        if arg == "--path":
            check_path(value)
            path = value
        elif re.fullmatch(r"[0-7]{3}", value):
            mode = int(value, 8)
        else:
            usage_error(f"bad mode: {value} (three octal digits, like 600)")
    if path is None:
        usage_error("--path is required")
    return path, mode


def format_address(address):
    """A Unix-domain address as the logs show it: its path, '@name', or 'unnamed'."""
    # Python gives a filesystem address as a str, an abstract one as bytes
    # starting with the NUL, and no address at all as None (recvmsg() from a
    # sender that never bound one) or '' (a socket not bound yet).
    if not address:
        return "unnamed"
    if isinstance(address, bytes):
        return "@" + os.fsdecode(address[1:])
    return address


class StartError(Exception):
    """The server could not start; the message is the one line to print."""


# ANCHOR: bind
def kernel_address(path):
    """The address to give bind() or connect() for --path."""
    if path.startswith("@"):
        # An abstract name: sun_path starts with a NUL byte, and the address
        # length counts exactly the bytes after it -- no trailing NUL, no padding
        # ("\0demo" and "\0demo\0\0..." are different names). Python passes an
        # address that starts with NUL with exactly its own length.
        return b"\0" + os.fsencode(path[1:])
    return path


def bind_private(sock, address):
    # bind() on a filesystem path creates the socket file, with permissions
    # 0777 less the umask. With the umask at 077 the file is born owner-only:
    # there is no moment at which another user could send to it. Sending to
    # it needs write permission on the file, which chmod() grants afterwards.
    old_umask = os.umask(0o077)
    try:
        sock.bind(address)
    finally:
        os.umask(old_umask)


def is_stale(path):
    """Is the socket file at `path` a leftover that nobody is bound to any more?"""
    # A socket file outlives its socket: a server that crashed leaves it behind,
    # and bind() then fails with EADDRINUSE. Only connect() can tell a leftover
    # from a live server: a fresh socket of the same type is refused
    # (ECONNREFUSED) when nobody is bound to the file. Connected, or any other
    # error (EPROTOTYPE: a live socket of another type; EACCES), means hands off.
    # (connect() on a datagram socket sends nothing; it only checks and records.)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
    return False


def bind_to(path, mode):
    """Return a datagram socket bound to --path, replacing a stale socket file."""
    # AF_UNIX with SOCK_DGRAM: datagrams between processes on this machine.
    # As with UDP, each send is one message and each receive takes exactly one,
    # and there is no connection: one socket hears from everybody. Unlike UDP,
    # nothing is ever lost, duplicated or reordered: the kernel puts each
    # datagram straight into the receiver's queue -- or makes the sender wait.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        address = kernel_address(path)
        try:
            bind_private(sock, address)
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise StartError(f"bind {path}: {e.strerror}") from None
            # An abstract name is in use only while a socket holds it: live.
            if path.startswith("@"):
                raise StartError(f"{path}: another server is listening there") from None
            # lstat(), not stat(): look at the file itself, not where a
            # symbolic link points. Never remove what is not a socket.
            try:
                is_socket = stat.S_ISSOCK(os.lstat(path).st_mode)
            except OSError as e2:
                raise StartError(f"{path}: {e2.strerror}") from None
            if not is_socket:
                raise StartError(f"{path}: exists and is not a socket") from None
            if not is_stale(path):
                raise StartError(f"{path}: another server is listening there") from None
            log(f"{path}: removing stale socket file")
            try:
                # unlink() removes the name; bind() can then create it afresh.
                os.unlink(path)
                bind_private(sock, address)
            except OSError as e2:
                raise StartError(f"bind {path}: {e2.strerror}") from None
        if not path.startswith("@"):
            # chmod() sets who may send to us; an abstract name has no file
            # and no permissions: anyone who knows it may send.
            try:
                os.chmod(path, mode)
            except OSError as e:
                raise StartError(f"chmod {path}: {e.strerror}") from None
        # No listen(): a datagram socket can receive as soon as it is bound.
        return sock
    except BaseException:
        remove_socket_file(sock, path)  # if we bound it before failing
        sock.close()
        raise
# ANCHOR_END: bind


def serve(path, mode):
    with bind_to(path, mode) as sock:
        try:
            # ANCHOR: ready
            # getsockname() asks the kernel which address the socket is bound
            # to: the path as we gave it, or the abstract name (printed as
            # @name). The client (or test harness) waits for this line, so
            # flush it at once.
            print(f"READY {format_address(sock.getsockname())}", flush=True)
            # ANCHOR_END: ready

            # ANCHOR: echo
            while True:
                # recvmsg() takes ONE datagram off the queue and returns its
                # payload, the ancillary data (none here), msg_flags, and the
                # sender's address: the only way to know whom to answer.
                data, _, flags, peer = sock.recvmsg(BUFSIZE)
                name = format_address(peer)
                # A datagram longer than the buffer is cut short; MSG_TRUNC in
                # the flags is the one sign of it. Echoing part of it would be
                # wrong: drop it.
                if flags & socket.MSG_TRUNC:
                    log(f"{name}: datagram longer than {BUFSIZE} bytes, dropped")
                    continue
                # A sender that never bound an address of its own is "unnamed":
                # its datagram arrives, but there is nowhere to send a reply.
                if not peer:
                    log(f"{len(data)} bytes from {name}: no address to reply to")
                    continue
                log(f"{len(data)} bytes from {name}")
                try:
                    # sendto() sends one datagram to the sender's path (or
                    # abstract name). A Unix-domain receiver whose queue is full
                    # makes a sender WAIT, unlike UDP, which drops: a client that
                    # never reads its replies could stall us for good. With
                    # MSG_DONTWAIT this one send does not wait: it fails with
                    # EAGAIN instead, and we drop that reply. A sender that has
                    # gone fails too: ENOENT (its file is removed) or
                    # ECONNREFUSED (its file is there, its socket closed).
                    sock.sendto(data, socket.MSG_DONTWAIT, peer)
                except OSError as e:
                    log(f"{name}: {e.strerror}")
            # ANCHOR_END: echo
        finally:
            remove_socket_file(sock, path)


# ANCHOR: stop
class Stopped(Exception):
    """Raised by the signal handler to unwind out of whatever the server is doing."""


def stop(signum, frame):
    # Python runs this handler in the main thread, between two bytecodes. If it
    # just set a flag, a blocking recvmsg() would never notice: since PEP 475
    # Python retries a system call that a signal interrupts. Raising an
    # exception instead unwinds out of the call and through the `with` and
    # `finally` blocks, which close the socket and remove the socket file.
    # Further signals are ignored while we unwind.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Stopped(signal.Signals(signum).name)


def remove_socket_file(sock, path):
    """Remove the socket file, if this socket created it."""
    # Closing a Unix-domain socket does not remove its file: that is what
    # leaves stale files behind. So we unlink() it ourselves -- but only a file
    # we bound: getsockname() is '' until bind() succeeds, and a server that
    # refused to start must leave the live server's file alone. An abstract
    # name has no file; it vanishes when its last socket closes.
    if path.startswith("@") or not sock.getsockname():
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def main():
    path, mode = parse_args(sys.argv[1:])
    # Install the handlers before binding, so they are in place by the time
    # anyone has seen the READY line. SIGINT is what Ctrl-C sends.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        serve(path, mode)
    except Stopped as s:
        log(f"stopping on {s}")
        return 0
    except StartError as e:
        log(e)
        return 1
    except OSError as e:  # recvmsg() itself failed, or stdout did: give up
        log(f"giving up: {e.strerror}")
        return 1
# ANCHOR_END: stop


if __name__ == "__main__":
    sys.exit(main())
