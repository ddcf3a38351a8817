# common.py -- what the chapter 6 servers share: flags, descriptor limit, listening socket, logs
#
# thread_server.py, select_server.py and async_server.py import this module
# (Python finds it beside them: a script's own folder comes first on sys.path),
# so each of them shows only its own way of serving many clients at once. The
# wording is echo_server.py's (python/stream/), with each program's own name.

import contextlib
import errno
import os
import resource
import socket
import sys

CHUNK = 64 * 1024  # read up to 64 KiB at a time
BACKLOG = 1024     # connections the kernel may queue before we accept them
# accept() errors that mean "out of descriptors or memory, for now": the
# connection stays queued, so trying again at once would only fail again.
OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
ACCEPT_PAUSE = 0.1  # seconds to stop accepting after one of those


def log(prog, message):
    """One whole line on stderr, even with many threads logging at once."""
    # One os.write() per line: a line is never split by another thread's, as
    # two print() calls (the text, then "\n") could be. A line we cannot
    # write (stderr closed) is lost; that is no reason to stop serving.
    with contextlib.suppress(OSError):
        os.write(2, f"{prog}: {message}\n".encode(errors="backslashreplace"))


def usage(prog):
    return f"usage: {prog} [--host H] [--port P]"


def usage_error(prog, message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    print(f"{prog}: {message}", file=sys.stderr)
    print(usage(prog), file=sys.stderr)
    sys.exit(2)


def is_port(text):
    """A decimal number from 0 to 65535 (isdigit() alone would accept "٣")."""
    return text.isascii() and text.isdigit() and len(text) <= 5 and int(text) <= 65535


def parse_args(prog, argv=None):
    """--host H (default 127.0.0.1) and --port P (default 0), in CONTRACT.md 3.1's words."""
    host, port = "127.0.0.1", 0
    args = iter(sys.argv[1:] if argv is None else argv)
    for arg in args:
        if arg == "--help":
            print(usage(prog))
            sys.exit(0)
        if arg not in ("--host", "--port"):
            usage_error(prog, f"unknown option: {arg}" if arg.startswith("-")
                        else f"unexpected argument: {arg}")
        value = next(args, None)
        if value is None:
            usage_error(prog, f"{arg} needs a value")
        if arg == "--host":
            host = value
        elif is_port(value):
            port = int(value)
        else:
            usage_error(prog, f"bad port: {value}")
    return host, port


def format_address(address):
    """'127.0.0.1:40123' for IPv4, '[::1]:40123' for IPv6 (whose tuples have 4 fields)."""
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class StartError(Exception):
    """The server could not start; the message is the one line to print."""


# ANCHOR: limit
def raise_fd_limit(prog):
    """Let this process open as many descriptors as its hard limit allows."""
    # Every connection is a descriptor, and the soft RLIMIT_NOFILE is often
    # 1024: a server holding a thousand clients would run out. An
    # unprivileged process may raise its soft limit up to its hard limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (OSError, ValueError) as e:  # not fatal: we serve fewer clients
            log(prog, f"setrlimit RLIMIT_NOFILE: {getattr(e, 'strerror', None) or e}")
# ANCHOR_END: limit


# ANCHOR: listen
def open_listener(host, port):
    """Return a socket listening on the first address of `host` that works."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except OSError as e:  # socket.gaierror: getaddrinfo()'s own error text
        raise StartError(f"resolve {host}: {e.strerror}") from None
    except UnicodeError as e:  # a name Python cannot encode for DNS ("a..b")
        raise StartError(f"resolve {host}: {e}") from None

    error = None
    for family, type_, proto, _, address in infos:  # each address in turn (3.3)
        sock = None
        try:
            sock = socket.socket(family, type_, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            # A thousand clients may connect at once: the backlog is how many
            # finished handshakes the kernel queues while we are busy (the
            # kernel caps it at net.core.somaxconn, 4096 on Linux 5.4 and later).
            sock.listen(BACKLOG)
            return sock
        except OSError as e:
            if sock is not None:
                sock.close()
            error = f"bind {format_address(address)}: {e.strerror}"
    raise StartError(error)
# ANCHOR_END: listen


# ANCHOR: ready
def listen(prog, host, port):
    """Everything before serving: return the listening socket, once READY is printed."""
    try:
        os.fstat(1)  # READY goes to stdout: fail now if we were started without one
    except OSError as e:
        raise StartError(f"stdout: {e.strerror}") from None
    raise_fd_limit(prog)  # before the first client, so that every one of them counts
    sock = open_listener(host, port)
    try:
        # getsockname(): the address the kernel bound, with the port it picked.
        print(f"READY {format_address(sock.getsockname())}", flush=True)
    except OSError as e:
        sock.close()
        raise StartError(f"write stdout: {e.strerror}") from None
    return sock
# ANCHOR_END: ready
