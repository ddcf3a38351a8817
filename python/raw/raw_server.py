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
            usage_error(f"unexpected argument: {arg}")
        host = next(args, None)
        if host is None:
            usage_error(f"{arg} needs a value")
        # Protocol 253 travels here over IPv4, to an address, not a name:
        # there is nothing to look up.
        if not is_ipv4(host):
            usage_error(f"bad host (not a numeric IPv4 address): {host}")
    return host


class StartError(Exception):
    """The server could not start; the message is the one line to print."""


# ANCHOR: open
def open_socket(address):
    """A raw socket for protocol 253, bound to `address`."""
    # SOCK_RAW with protocol 253: the kernel delivers to this socket every
    # IPv4 packet whose protocol field is 253 -- there are no ports to sort
    # them by, as UDP has -- and sends what we give it as the payload of an IP
    # packet with protocol 253. Reading and forging raw traffic is not for
    # every user: the kernel allows it only to processes with CAP_NET_RAW.
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, PROTOCOL)
    except PermissionError as e:
        raise StartError("a raw socket needs CAP_NET_RAW (run as root): "
                         f"{e.strerror}") from None
    except OSError as e:
        raise StartError(f"socket: {e.strerror}") from None
    try:
        # bind() on a raw socket sets only an address -- the port in the tuple
        # means nothing. From now on the kernel delivers to us only packets
        # addressed TO it, and our replies go out FROM it. (The tests run
        # servers on 127.53.x.y side by side, all of them on loopback; each
        # one sees only its own requests.)
        sock.bind((address, 0))
    except OSError as e:
        sock.close()
        raise StartError(f"bind {address}: {e.strerror}") from None
    return sock


def drop_privileges():
    """If we are root, become user nobody for good."""
    # The socket is open and bound, and an open socket keeps working whoever
    # we are afterwards: the kernel checks the privilege when the socket is
    # created, not when it is used. So we give root up at once, before we
    # touch a packet: a mistake in the code that parses what strangers send us
    # can then do no more harm than user nobody can.
    if os.geteuid() != 0:
        return
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise StartError("drop privileges: there is no user named nobody") from None
    # In this order: the supplementary groups and the group first, since once
    # setuid() has made us nobody we no longer have the right to change them.
    # setuid() as root sets the real, effective and saved user ids alike, so
    # there is no way back.
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
    # A raw IPv4 socket receives the IP header too. Its length varies (it may
    # carry options): the low 4 bits of the first byte, IHL, give it in 32-bit
    # words, so our message starts IHL * 4 bytes in -- 20, usually.
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    header_length = (packet[0] & 0x0F) * 4
    if not 20 <= header_length <= len(packet):
        return None
    # Bytes 16-19 are the destination address. bind() sees to it that only
    # packets to our address come in -- but the socket existed for a moment
    # before bind(), and anything that arrived then is waiting in its queue.
    if packet[16:20] != socket.inet_pton(socket.AF_INET, address):
        return None
    message = packet[header_length:]
    # Anything else with protocol 253 comes in here too, replies included: on
    # loopback, our own replies are packets like any other. Only a request
    # that follows the rules gets an answer.
    if len(message) < HEADER.size or len(message) - HEADER.size > MAX_PAYLOAD:
        return None
    kind, zero, ident = HEADER.unpack_from(message)
    if kind != REQUEST or zero != 0:
        return None
    return ident, message[HEADER.size:]


def answer_requests(sock, address):
    """Answer every well-formed request that comes in, forever."""
    while True:
        # recvfrom() takes one packet -- IP header and all -- and the address
        # it came from (the header's source address, bytes 12-15).
        packet, (source, _) = sock.recvfrom(BUFSIZE)
        request = parse_request(packet, address)
        if request is None:
            continue
        ident, payload = request
        log(f"{len(payload)} bytes from {source}")
        try:
            # sendto() without the IP_HDRINCL option: we give it our message,
            # and the kernel puts the IP header in front -- protocol 253 (the
            # socket's), source address ours, as bound. A failure loses this
            # reply only: log it and go on.
            sock.sendto(HEADER.pack(REPLY, 0, ident) + payload, (source, 0))
        except OSError as e:
            log(f"{source}: {e.strerror}")
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
    # recvfrom() itself failed, or stdout did: give up.
    except OSError as e:
        log(f"giving up: {e.strerror}")
        return 1
# ANCHOR_END: stop


if __name__ == "__main__":
    sys.exit(main())
