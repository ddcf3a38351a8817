# raw_server.py -- a raw IP server: our own protocol (253) straight over IPv4, no TCP or UDP
#
# Run it as root: `python3 python/raw/raw_server.py [--host A]`. It answers each
# protocol-253 request addressed to A with a reply carrying the same identifier
# and payload. It prints `READY A` on stdout once it is bound, logs to stderr,
# and stops on SIGTERM or SIGINT (Ctrl-C).
#
# A message is the whole payload of an IP packet with protocol 253:
#   byte 0: type (1 request, 2 reply)   byte 1: 0
#   bytes 2-3: identifier (network order)   then 0 to 1,400 bytes of payload

import os
import pwd
import signal
import socket
import struct
import sys

USAGE = "usage: raw_server [--host A]"

# Protocol numbers 253 and 254 are set aside for experiments (RFC 3692): no
# real protocol will ever use them, so our packets are mistaken for nothing.
PROTOCOL = 253
REQUEST, REPLY = 1, 2
HEADER = struct.Struct("!BBH")  # type, 0, identifier: network byte order
MAX_PAYLOAD = 1400
BUFSIZE = 65536  # bigger than any IPv4 packet, so nothing is ever cut short


def log(message):
    print(f"raw_server: {message}", file=sys.stderr, flush=True)


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    log(message)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


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
    host = "127.0.0.1"
    args = iter(argv)
    for arg in args:
        if arg == "--help":
            print(USAGE)
            sys.exit(0)
        if arg != "--host":
            usage_error(f"unknown option: {arg}" if arg.startswith("-")
                        else f"unexpected argument: {arg}")
        host = next(args, None)
        if host is None:
            usage_error(f"{arg} needs a value")
        # Protocol 253 travels here over IPv4, to an address, not a name:
        # there is nothing to look up.
        if not is_ipv4(host):
            usage_error(f"bad host: {host}")
    return host


class StartError(Exception):
    """The server could not start; the message is the one line to print."""


# ANCHOR: open
def open_socket(address):
    """A raw socket for protocol 253, bound to `address`."""
    # SOCK_RAW with protocol 253: the kernel gives us every IPv4 packet of
    # protocol 253 (no ports sort them, as UDP's do), and sends what we give
    # it as the payload of one. Only with CAP_NET_RAW.
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, PROTOCOL)
    except PermissionError as e:
        raise StartError("a raw socket needs CAP_NET_RAW (run as root): "
                         f"{e.strerror}") from None
    except OSError as e:
        raise StartError(f"socket: {e.strerror}") from None
    try:
        # bind() sets only an address (the port in the tuple means nothing):
        # we receive only packets addressed to it, and reply from it.
        sock.bind((address, 0))
    except OSError as e:
        sock.close()
        raise StartError(f"bind {address}: {e.strerror}") from None
    return sock


def drop_privileges():
    """If we are root, become user nobody for good, before we touch a packet."""
    if os.geteuid() != 0:
        return
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise StartError("drop privileges: there is no user named nobody") from None
    # setuid() as root sets the real, effective and saved user ids alike: there
    # is no way back. The groups go first; once we are nobody, we cannot.
    try:
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    except OSError as e:
        raise StartError(f"drop privileges: {e.strerror}") from None
# ANCHOR_END: open


# ANCHOR: serve
def parse_request(packet, address):
    """(identifier, payload) of a well-formed request to `address`, else None."""
    # A raw IPv4 socket receives the IP header too: skip it, IHL * 4 bytes.
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    header_length = (packet[0] & 0x0F) * 4
    if not 20 <= header_length <= len(packet):
        return None
    # Bytes 16-19, the destination: a packet that came in before bind() did
    # may be for another address.
    if packet[16:20] != socket.inet_pton(socket.AF_INET, address):
        return None
    message = packet[header_length:]
    if len(message) < HEADER.size or len(message) - HEADER.size > MAX_PAYLOAD:
        return None
    kind, zero, ident = HEADER.unpack_from(message)
    if kind != REQUEST or zero != 0:  # replies land here too, our own included
        return None
    return ident, message[HEADER.size:]


def answer_requests(sock, address):
    """Answer every well-formed request that comes in, forever."""
    while True:
        try:
            # recvfrom() takes one packet, IP header and all, and its source.
            packet, (source, _) = sock.recvfrom(BUFSIZE)
        except OSError as e:
            log(f"recvfrom: {e.strerror}")  # nothing lost but this packet
            continue
        request = parse_request(packet, address)
        if request is None:
            continue
        ident, payload = request
        log(f"{len(payload)} bytes from {source}")
        try:
            # The kernel puts the IP header in front: protocol 253, our address.
            sock.sendto(HEADER.pack(REPLY, 0, ident) + payload, (source, 0))
        except OSError as e:
            log(f"{source}: {e.strerror}")  # this reply is lost, nothing more
# ANCHOR_END: serve


def serve(address):
    with open_socket(address) as sock:
        drop_privileges()

        # ANCHOR: ready
        # getsockname() tells us the address the socket is bound to, as the
        # kernel sees it. (Its "port" is the protocol number: raw sockets have
        # no ports.) A raw socket receives as soon as it is bound, so this is
        # the moment for READY; whoever started us waits for the line, so
        # flush it at once.
        print(f"READY {sock.getsockname()[0]}", flush=True)
        # ANCHOR_END: ready
        answer_requests(sock, address)


# ANCHOR: stop
class Stopped(Exception):
    """Raised by the signal handler to unwind out of whatever the server is doing."""


def stop(signum, frame):
    # Python runs this handler in the main thread, between two bytecodes. If it
    # just set a flag, a blocking recvfrom() would never notice: since PEP 475
    # Python retries a system call that a signal interrupts. Raising an
    # exception instead unwinds out of the call and through the `with` block,
    # which closes the socket. Further signals are ignored while we unwind.
    # (Having become nobody does not shield us from root's signals.)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Stopped(signal.Signals(signum).name)


def main():
    address = parse_args(sys.argv[1:])
    try:
        os.fstat(1)  # READY goes to stdout: fail now if we were started without one
    except OSError as e:
        log(f"stdout: {e.strerror}")
        return 1
    # Install the handlers before opening the socket, so they are in place by
    # the time anyone has seen the READY line. SIGINT is what Ctrl-C sends.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        serve(address)
    except Stopped as s:
        log(f"stopping on {s}")
        return 0
    except StartError as e:
        log(e)
        return 1
    except OSError as e:  # the loop logs every other failure: this is printing READY
        log(f"write stdout: {e.strerror}")
        return 1
# ANCHOR_END: stop


if __name__ == "__main__":
    sys.exit(main())
