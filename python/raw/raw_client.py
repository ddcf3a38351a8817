# raw_client.py -- a raw IP client: one protocol-253 request, and picking our reply out of all the traffic
#
# Run it as root: `python3 python/raw/raw_client.py --host A [--timeout S]
# [--retries N]`. It sends stdin (at most 1,400 bytes) to the raw server at A
# as one protocol-253 request, writes the payload of the reply to stdout, and
# exits 0 -- or gives up after N + 1 attempts and exits 1.
#
# A message is the whole payload of an IP packet with protocol 253:
#   byte 0: type (1 request, 2 reply)   byte 1: 0
#   bytes 2-3: identifier (network order)   then 0 to 1,400 bytes of payload

import contextlib
import os
import pwd
import random
import re
import signal
import socket
import struct
import sys
import time

USAGE = "usage: raw_client --host A [--timeout S] [--retries N]"

# Protocol numbers 253 and 254 are set aside for experiments (RFC 3692): no
# real protocol will ever use them, so our packets are mistaken for nothing.
PROTOCOL = 253
REQUEST, REPLY = 1, 2
HEADER = struct.Struct("!BBH")  # type, 0, identifier: network byte order
# Our own limit: with the 20-byte IP header and our 4 bytes in front, a
# request still fits in one 1,500-byte Ethernet packet, never split into
# fragments on its way.
MAX_PAYLOAD = 1400
BUFSIZE = 65536  # bigger than any IPv4 packet, so nothing is ever cut short


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    print(f"raw_client: {message}", file=sys.stderr)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


def parse_timeout(text):
    """Seconds: digits, then optionally "." and more digits ("1", "0.2"), over 0; else None.

    float() alone would also take ".5", "5.", "1e3", "inf", "nan" and " 1 "."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return None
    seconds = float(text)
    return seconds if seconds > 0 else None


def whole_number(text):
    """A decimal number of ASCII digits, or None (isdigit() alone would accept "٣")."""
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:  # more digits than Python will convert (over 4,300)
        return None


def is_ipv4(text):
    """A numeric IPv4 address in dotted-quad form, "127.53.0.1"."""
    # inet_pton() turns that text into the 4 bytes of the address; it takes
    # only four decimal numbers, no names, no "127.1" shorthand, no IPv6.
    try:
        socket.inet_pton(socket.AF_INET, text)
        return True
    except OSError:
        return False


def parse_args(argv):
    host, timeout, retries = None, 1.0, 3
    args = iter(argv)
    for arg in args:
        if arg == "--help":
            print(USAGE)
            sys.exit(0)
        if arg not in ("--host", "--timeout", "--retries"):
            usage_error(f"unknown option: {arg}" if arg.startswith("-")
                        else f"unexpected argument: {arg}")
        value = next(args, None)
        if value is None:
            usage_error(f"{arg} needs a value")
        if arg == "--host":
            # Protocol 253 travels here over IPv4, to an address, not a name:
            # there is nothing to look up.
            if not is_ipv4(value):
                usage_error(f"bad host: {value}")
            host = value
        elif arg == "--timeout":
            timeout = parse_timeout(value)
            if timeout is None:
                usage_error(f"bad timeout: {value}")
        else:
            retries = whole_number(value)
            if retries is None:
                usage_error(f"bad retries: {value}")
    if host is None:
        usage_error("--host is required")
    return host, timeout, retries


class Failure(Exception):
    """Something went wrong; the message is the one line the client prints."""


@contextlib.contextmanager
def step(what):
    """Turn an OSError inside the block into a Failure saying what we were doing."""
    try:
        yield
    except OSError as e:
        raise Failure(f"{what}: {e.strerror or e}") from None


# ANCHOR: open
def open_socket():
    """A raw socket for protocol 253."""
    # SOCK_RAW with protocol 253: what we send goes out as the payload of an
    # IPv4 packet of protocol 253, and we get a copy of EVERY protocol-253
    # packet the host receives (no ports sort them). Only with CAP_NET_RAW.
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_RAW, PROTOCOL)
    except PermissionError as e:
        raise Failure("a raw socket needs CAP_NET_RAW (run as root): "
                      f"{e.strerror}") from None
    except OSError as e:
        raise Failure(f"socket: {e.strerror}") from None


def drop_privileges():
    """If we are root, become user nobody for good, before we read stdin or a packet."""
    if os.geteuid() != 0:
        return
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise Failure("drop privileges: there is no user named nobody") from None
    # setuid() as root sets the real, effective and saved user ids alike: there
    # is no way back. The groups go first; once we are nobody, we cannot.
    with step("drop privileges"):
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
# ANCHOR_END: open


# ANCHOR: send
def read_payload():
    """All of stdin, as the payload of one request; too much is a usage error."""
    # A packet is sent whole or not at all, so we need all of it before sending.
    with step("read stdin"):
        payload = sys.stdin.buffer.read()
    if len(payload) > MAX_PAYLOAD:
        # The user's mistake, like a bad flag: exit 2, send nothing.
        print(f"raw_client: {len(payload)} bytes is more than the {MAX_PAYLOAD} "
              "a request can carry", file=sys.stderr)
        sys.exit(2)
    return payload


def send_request(sock, request, address):
    # sendto() on a raw socket without the IP_HDRINCL option: we give it our
    # message, and the kernel puts an IP header in front of it (our source
    # address, protocol 253, a TTL). There is no port: the 0 in the tuple
    # means nothing. One call sends the whole packet or nothing.
    with step(f"send to {address}"):
        sock.sendto(request, (address, 0))
# ANCHOR_END: send


# ANCHOR: receive
def parse_reply(packet, address, ident):
    """The payload of a reply from `address` with our identifier, else None."""
    # A raw IPv4 socket receives the IP header too: skip it, IHL * 4 bytes.
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    header_length = (packet[0] & 0x0F) * 4
    # Bytes 12-15 are the source address: only the server we asked counts.
    if header_length < 20 or packet[12:16] != socket.inet_pton(socket.AF_INET, address):
        return None
    message = packet[header_length:]
    # Type 2 (a reply), a zero byte, and our identifier.
    if len(message) < HEADER.size or HEADER.unpack_from(message) != (REPLY, 0, ident):
        return None
    return message[HEADER.size:]


def exchange(sock, payload, address, timeout, retries):
    """Send the request until its reply comes, at most retries + 1 times; return the payload."""
    # A random identifier: with no ports, it is all that tells our reply apart.
    ident = random.getrandbits(16)
    request = HEADER.pack(REQUEST, 0, ident) + payload
    for _ in range(retries + 1):
        send_request(sock, request, address)
        # The timeout is for the whole wait, however many other packets come.
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            # settimeout(): recvfrom() raises TimeoutError after that long with nothing.
            sock.settimeout(min(remaining, 1e9))
            try:
                packet, _ = sock.recvfrom(BUFSIZE)  # one packet, IP header and all
            except TimeoutError:
                break
            except OSError as e:
                raise Failure(f"receive from {address}: {e.strerror}") from None
            reply = parse_reply(packet, address, ident)
            if reply is not None:
                return reply
    attempts = "1 attempt" if retries == 0 else f"{retries + 1} attempts"
    raise Failure(f"no reply from {address} after {attempts}")
# ANCHOR_END: receive


def main():
    address, timeout, retries = parse_args(sys.argv[1:])
    # Ctrl-C (SIGINT) should just end the client, as it would a C program,
    # rather than raise KeyboardInterrupt in whichever line we happen to be.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        # Started with stdout (or stdin) closed, `>&-`, our socket would get
        # that free descriptor: find out before opening it.
        with step("stdout"):
            os.fstat(1)
        with step("stdin"):
            os.fstat(0)
        with open_socket() as sock:
            drop_privileges()
            payload = read_payload()
            reply = exchange(sock, payload, address, timeout, retries)
        # Our own binary writer on stdout: its write() writes every byte.
        # (Not sys.stdout.buffer: under `python3 -u` that is a raw file, whose
        # write() may write only part of what it is given.) If whoever reads
        # our stdout has gone away, we get BrokenPipeError: Python ignores the
        # SIGPIPE signal that would kill a C program here.
        with step("write stdout"):
            with open(sys.stdout.fileno(), "wb", closefd=False) as out:
                out.write(reply)
    except Failure as f:
        print(f"raw_client: {f}", file=sys.stderr, flush=True)
        # os._exit() skips Python's clean-up, which would try again to flush
        # a stdout that has just failed and print a second error.
        os._exit(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
