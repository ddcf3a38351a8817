# echo_client.py -- a UDP echo client: connect, send one datagram, wait with a timeout, and retry
#
# Run it as `python3 python/datagram/echo_client.py [--host H] --port P [--timeout S]
# [--retries N]`; it sends stdin to the server as one datagram, writes the reply
# to stdout, and exits 0 -- or gives up after N + 1 attempts and exits 1.

import contextlib
import os
import re
import signal
import socket
import sys

USAGE = "usage: echo_client [--host H] --port P [--timeout S] [--retries N]"

# The most a UDP datagram can carry over IPv4: its 16-bit length fields allow
# 65,535 bytes in all, less 20 for the IP header and 8 for the UDP header.
MAX_PAYLOAD = 65507
BUFSIZE = 65536  # bigger than any datagram, so a reply is never cut short


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    print(f"echo_client: {message}", file=sys.stderr)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


def is_port(text):
    """A decimal number from 0 to 65535 (isdigit() alone would accept "٣")."""
    return text.isascii() and text.isdigit() and len(text) <= 5 and int(text) <= 65535


def whole_number(text):
    """A decimal number of ASCII digits, or None (isdigit() alone would accept "٣")."""
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:  # more digits than Python will convert (over 4,300)
        return None


def parse_timeout(text):
    """Seconds: digits, then optionally "." and more digits ("1", "0.2"), over 0; else None.

    float() alone would also take ".5", "5.", "1e3", "inf", "nan" and " 1 "."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return None
    seconds = float(text)
    return seconds if seconds > 0 else None


def parse_args(argv):
    host, port, timeout, retries = "127.0.0.1", None, 1.0, 3
    args = iter(argv)
    for arg in args:
        if arg == "--help":
            print(USAGE)
            sys.exit(0)
        if arg not in ("--host", "--port", "--timeout", "--retries"):
            usage_error(f"unknown option: {arg}" if arg.startswith("-")
                        else f"unexpected argument: {arg}")
        value = next(args, None)
        if value is None:
            usage_error(f"{arg} needs a value")
        if arg == "--host":
            host = value
        elif arg == "--port":
            if not (is_port(value) and int(value) != 0):
                usage_error(f"bad port: {value}")
            port = int(value)
        elif arg == "--timeout":
            timeout = parse_timeout(value)
            if timeout is None:
                usage_error(f"bad timeout: {value}")
        else:
            retries = whole_number(value)
            if retries is None:
                usage_error(f"bad retries: {value}")
    if port is None:
        usage_error("--port is required")
    return host, port, timeout, retries


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
    """Return a UDP socket connected to the first address of `host` that takes it."""
    # getaddrinfo() turns a name or a numeric address into a list of
    # (family, type, proto, canonname, sockaddr) tuples, one per way to reach
    # it, here for UDP (SOCK_DGRAM).
    with step(f"resolve {host}"):
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)

    failure = None
    for family, type_, proto, _, address in infos:
        sock = None
        try:
            sock = socket.socket(family, type_, proto)
            # connect() sends nothing; it records the peer, so that send() needs
            # no address, and an ICMP error comes back as ConnectionRefusedError.
            sock.connect(address)
            return sock
        except OSError as e:
            if sock is not None:
                sock.close()
            failure = Failure(f"connect to {format_address(address)}: {e.strerror}")
    raise failure
# ANCHOR_END: connect


# ANCHOR: send
def read_payload():
    """All of stdin, as the payload of one datagram; too much is a usage error."""
    # A datagram is sent whole or not at all, so we need all of it before sending.
    with step("read stdin"):
        payload = sys.stdin.buffer.read()
    if len(payload) > MAX_PAYLOAD:
        # The user's mistake, like a bad flag: exit 2, send nothing.
        print(f"echo_client: {len(payload)} bytes is more than the {MAX_PAYLOAD} "
              "a UDP datagram can carry", file=sys.stderr)
        sys.exit(2)
    return payload


def send_payload(sock, payload, name):
    # send() on a connected socket is sendto() to the connected address. On a
    # datagram socket it is all or nothing: one call, one datagram, never a
    # partial send, so no sendall(). It may fail with ConnectionRefusedError,
    # the news of an ICMP error that came back for an earlier datagram.
    with step(f"send to {name}"):
        sock.send(payload)
# ANCHOR_END: send


# ANCHOR: receive
def echo(sock, payload, timeout, retries):
    """Send the payload until a reply comes, at most retries + 1 times; return the reply."""
    name = format_address(sock.getpeername())
    # settimeout() puts a time limit on every blocking call on this socket: a
    # recv() that has waited that long with nothing to show raises TimeoutError
    # (also known as socket.timeout). Underneath, Python makes the socket
    # non-blocking and waits with poll(). (The C way is the SO_RCVTIMEO option.)
    # min(): a time_t cannot hold a number of seconds as big as 1e300.
    sock.settimeout(min(timeout, 1e9))
    # The retry loop is ours: UDP resends nothing. A late reply to an earlier
    # attempt is just as good: an echo is the same every time.
    for _ in range(retries + 1):
        send_payload(sock, payload, name)
        try:
            # recv() takes one whole datagram -- from the server only, since we
            # connected. b"" is a reply too: the echo of an empty datagram.
            return sock.recv(BUFSIZE)
        except TimeoutError:
            continue
        except OSError as e:
            # ConnectionRefusedError here means an ICMP "port unreachable" came
            # back: nothing is bound to that port, and waiting won't change it.
            raise Failure(f"receive from {name}: {e.strerror}") from None
    attempts = "1 attempt" if retries == 0 else f"{retries + 1} attempts"
    raise Failure(f"no reply from {name} after {attempts}")
# ANCHOR_END: receive


def main():
    host, port, timeout, retries = parse_args(sys.argv[1:])
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
        with connect(host, port) as sock:
            reply = echo(sock, payload, timeout, retries)
        # Our own binary writer on stdout: its write() writes every byte.
        # (Not sys.stdout.buffer: under `python3 -u` that is a raw file, whose
        # write() may write only part of what it is given.) If whoever reads
        # our stdout has gone away, we get BrokenPipeError: Python ignores the
        # SIGPIPE signal that would kill a C program here.
        with step("write stdout"):
            with open(sys.stdout.fileno(), "wb", closefd=False) as out:
                out.write(reply)
    except Failure as f:
        print(f"echo_client: {f}", file=sys.stderr, flush=True)
        # os._exit() skips Python's clean-up, which would try again to flush
        # a stdout that has just failed and print a second error.
        os._exit(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
