# echo_client.py -- a TCP echo client: connect, send and receive at the same time, and half-close
#
# Run it as `python3 python/stream/echo_client.py [--host H] --port P`; it sends
# stdin to the server, writes what comes back to stdout, and exits 0 once the
# server has closed the connection.

import contextlib
import os
import signal
import socket
import sys
import threading

USAGE = "usage: echo_client [--host H] --port P"
CHUNK = 64 * 1024  # read up to 64 KiB at a time: big enough to move 16 MiB quickly


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    print(f"echo_client: {message}", file=sys.stderr)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


def is_port(text):
    """A decimal number from 0 to 65535 (isdigit() alone would accept "٣")."""
    return text.isascii() and text.isdigit() and len(text) <= 5 and int(text) <= 65535


def parse_args(argv):
    host, port = "127.0.0.1", None
    args = iter(argv)
    for arg in args:
        if arg == "--help":
            print(USAGE)
            sys.exit(0)
        if arg not in ("--host", "--port"):
            usage_error(f"unknown option: {arg}" if arg.startswith("-")
                        else f"unexpected argument: {arg}")
        value = next(args, None)
        if value is None:
            usage_error(f"{arg} needs a value")
        if arg == "--host":
            host = value
        elif is_port(value) and int(value) != 0:
            port = int(value)
        else:
            usage_error(f"bad port: {value}")
    if port is None:
        usage_error("--port is required")
    return host, port


def format_address(address):
    """'127.0.0.1:40123' for IPv4, '[::1]:40123' for IPv6 (whose tuples have 4 fields)."""
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Failure(Exception):
    """Something went wrong; the message is the one line the client prints."""


@contextlib.contextmanager
def step(what):
    """Turn an OSError inside the block into a Failure saying what we were doing."""
    try:
        yield
    except OSError as e:
        raise Failure(f"{what}: {e.strerror or e}") from None
    except UnicodeError as e:  # a host name Python cannot encode for DNS ("a..b")
        raise Failure(f"{what}: {e}") from None


# ANCHOR: connect
def connect(host, port):
    """Return a socket connected to the first address of `host` that accepts."""
    # getaddrinfo() turns a name or a numeric address into a list of
    # (family, type, proto, canonname, sockaddr) tuples, one per way to reach it:
    # "localhost" may give both ::1 (AF_INET6) and 127.0.0.1 (AF_INET).
    with step(f"resolve {host}"):
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)

    failure = None
    for family, type_, proto, _, address in infos:
        sock = None
        try:
            # socket() makes an endpoint of the right family; SOCK_STREAM means TCP.
            sock = socket.socket(family, type_, proto)
            # connect() performs the TCP handshake. If nothing listens there,
            # the peer answers with a reset (ECONNREFUSED): try the next address.
            # The kernel picks our own address and a free local port.
            sock.connect(address)
            return sock
        except OSError as e:
            if sock is not None:
                sock.close()
            failure = Failure(f"connect to {format_address(address)}: {e.strerror}")
    raise failure
# ANCHOR_END: connect


# ANCHOR: send
class Sender(threading.Thread):
    """Copies stdin to the socket, then half-closes it, while the main thread receives."""

    def __init__(self, sock, name):
        # A daemon thread does not keep the program alive if the main thread
        # has to give up while this one is still blocked reading stdin.
        super().__init__(daemon=True)
        self.sock, self.name = sock, name
        self.failure = None

    def run(self):
        try:
            while True:
                with step("read stdin"):
                    # read1() returns what one read() of stdin gives, up to CHUNK bytes.
                    chunk = sys.stdin.buffer.read1(CHUNK)
                if not chunk:
                    break
                with step(f"send to {self.name}"):
                    self.sock.sendall(chunk)
            # shutdown(SHUT_WR) is a half-close: it sends FIN, which the server
            # reads as end-of-file, while our receiving side stays open for the
            # rest of the echo. close() would end both directions at once.
            with step(f"shutdown {self.name}"):
                self.sock.shutdown(socket.SHUT_WR)
        except Failure as f:
            self.failure = f
            # Wake the main thread, which may be blocked in recv(): after
            # shutdown(SHUT_RDWR), recv() returns end-of-file at once.
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
# ANCHOR_END: send


# ANCHOR: receive
def receive(sock, name):
    """Copy everything the server sends to stdout, until it closes the connection."""
    # Our own buffered binary writer on stdout: its write() writes every byte.
    # (Not sys.stdout.buffer: under `python3 -u` or PYTHONUNBUFFERED that is a
    # raw file, whose write() may write only part of what it is given.)
    with step("open stdout"):
        out = open(sys.stdout.fileno(), "wb", closefd=False)
    while True:
        with step(f"receive from {name}"):
            # recv() returns whatever has arrived, up to CHUNK bytes; b"" means
            # the server has closed its side: the echo is complete.
            data = sock.recv(CHUNK)
        if not data:
            break
        # If whoever reads our stdout has gone away, write() fails with
        # BrokenPipeError. (The SIGPIPE signal would kill a C program here;
        # Python ignores SIGPIPE, so we get an exception to report instead.)
        with step("write stdout"):
            out.write(data)
    with step("write stdout"):
        out.flush()
# ANCHOR_END: receive


def main():
    host, port = parse_args(sys.argv[1:])
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
        with connect(host, port) as sock:
            name = format_address(sock.getpeername())
            sender = Sender(sock, name)
            sender.start()
            receive(sock, name)
            # End-of-file alone is not success: a server that closes early
            # would look just like one that echoed everything. So we wait for
            # the sender to finish, however long that takes, and report its
            # error if it had one (a send() to a server that has gone fails
            # with EPIPE or ECONNRESET).
            sender.join()
            if sender.failure:
                raise sender.failure
    except Failure as f:
        print(f"echo_client: {f}", file=sys.stderr, flush=True)
        # os._exit() skips Python's clean-up: the sender thread may still be
        # blocked reading stdin, and flushing a stdout that has just failed
        # would print a second error.
        os._exit(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
