# ping.py -- ICMP echo over a raw socket: building the packet, the Internet checksum, matching replies
#
# Run it as root: `python3 python/raw/ping.py --host H [--count N] [--timeout S]
# [--dgram]`. For each sequence number 1..N it sends an ICMP echo request it
# built itself and waits up to S seconds for the matching reply, printing one
# line for each; then a summary. It exits 0 if every request was answered,
# else 1. With --dgram it uses Linux's unprivileged "ping socket" instead.

import contextlib
import os
import pwd
import re
import signal
import socket
import struct
import sys
import time

USAGE = "usage: ping --host H [--count N] [--timeout S] [--dgram]"

# ICMP message types. ICMPv6 (RFC 4443) numbers its messages afresh: errors
# are 0-127 and informational messages 128-255, so echo moved to 128/129.
ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY = 8, 0
ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY = 128, 129

# The 8-byte ICMP echo header: type, code, checksum, identifier, sequence
# number. "!" is network byte order (big-endian): every 16-bit field on the
# wire is sent most significant byte first, whatever the machine's own order.
ECHO_HEADER = struct.Struct("!BBHHH")
SEND_TIME = struct.Struct("!Q")  # 8 bytes: when we sent it, in nanoseconds
# The rest of the 56-byte payload: 48 bytes counting up from 0x20, as ping(8)
# sends, so that a damaged reply is easy to spot in a packet dump.
FILLER = bytes(range(0x20, 0x50))

BUFSIZE = 65536  # bigger than any IPv4 packet, so nothing is ever cut short


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    print(f"ping: {message}", file=sys.stderr)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


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
    host, count, timeout, dgram = None, 3, 1.0, False
    args = iter(argv)
    for arg in args:
        if arg == "--help":
            print(USAGE)
            sys.exit(0)
        if arg == "--dgram":
            dgram = True
            continue
        if arg not in ("--host", "--count", "--timeout"):
            usage_error(f"unknown option: {arg}" if arg.startswith("-")
                        else f"unexpected argument: {arg}")
        value = next(args, None)
        if value is None:
            usage_error(f"{arg} needs a value")
        if arg == "--host":
            host = value
        elif arg == "--count":
            count = whole_number(value)
            if count is None or count < 1:
                usage_error(f"bad count: {value}")
        else:
            timeout = parse_timeout(value)
            if timeout is None:
                usage_error(f"bad timeout: {value}")
    if host is None:
        usage_error("--host is required")
    return host, count, timeout, dgram


class Failure(Exception):
    """Something went wrong; the message is the one line ping prints."""


@contextlib.contextmanager
def step(what):
    """Turn an OSError inside the block into a Failure saying what we were doing."""
    try:
        yield
    except OSError as e:
        raise Failure(f"{what}: {e.strerror or e}") from None
    except UnicodeError as e:  # a host name Python cannot encode for DNS ("a..b")
        raise Failure(f"{what}: {e}") from None


def resolve(host):
    """The (family, sockaddr) of the first IPv4 or IPv6 address of `host`."""
    # We need the address family before we can open the socket: ICMP for IPv4
    # and ICMPv6 for IPv6 are different protocols with different sockets. The
    # address is all we want, so the port (None) means nothing here.
    with step(f"resolve {host}"):
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_RAW)
    for family, _, _, _, address in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            return family, address
    raise Failure(f"resolve {host}: no IPv4 or IPv6 address")


def ping_group_range():
    """The sysctl that says who may open a ping socket, e.g. '1 0', or '?'."""
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            return " ".join(f.read().split())
    except OSError:
        return "?"


# ANCHOR: open
def open_socket(family, dgram):
    """Open the ICMP socket for `family`: a raw one, or with `dgram` a ping socket."""
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    if not dgram:
        # SOCK_RAW: we send ICMP messages we built byte by byte, and receive a
        # copy of every ICMP packet the host gets. Only with CAP_NET_RAW.
        try:
            return socket.socket(family, socket.SOCK_RAW, proto)
        except PermissionError as e:
            raise Failure("a raw socket needs CAP_NET_RAW (run as root): "
                          f"{e.strerror}") from None
        except OSError as e:
            raise Failure(f"socket: {e.strerror}") from None
    # SOCK_DGRAM: Linux's ping socket. The kernel fills in the identifier and
    # checksum and hands us only our own replies, without the IP header. Only
    # for a group in the sysctl net.ipv4.ping_group_range ("1 0": nobody).
    try:
        return socket.socket(family, socket.SOCK_DGRAM, proto)
    except PermissionError as e:
        raise Failure("a ping socket needs a group in net.ipv4.ping_group_range "
                      f"(here {ping_group_range()}): {e.strerror}") from None
    except OSError as e:
        raise Failure(f"socket: {e.strerror}") from None


def drop_privileges():
    """If we are root, become user nobody for good, before we touch a packet."""
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


# ANCHOR: checksum
def internet_checksum(data):
    """The Internet checksum of RFC 1071, as IPv4, ICMP, UDP and TCP all use it."""
    # 1. Read the data as 16-bit big-endian words, padding an odd last byte
    #    with a zero byte.
    if len(data) % 2:
        data += b"\0"
    # 2. Add them all up. (Python's integers don't overflow, so the carries
    #    out of the low 16 bits just pile up above them.)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    # 3. Fold the carries back in: add the bits above 16 to the low 16, again
    #    until no carry is left. This is "one's-complement" addition, in which
    #    a carry out of the top wraps around to the bottom.
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    # 4. Invert. The sender puts this in the checksum field (computed with
    #    the field 0); the receiver sums the message WITH the field and gets
    #    0xFFFF -- so this function returns 0 for a message that is intact.
    return ~total & 0xFFFF
# ANCHOR_END: checksum


# ANCHOR: build
def build_request(family, ident, seq):
    """The 64-byte ICMP (or ICMPv6) echo request with this identifier and sequence number."""
    kind = ICMP_ECHO_REQUEST if family == socket.AF_INET else ICMPV6_ECHO_REQUEST
    # The payload is ours to choose, and the reply brings it back unchanged.
    # So we put the send time in it: the round trip is then simply "now" minus
    # what the reply carries, with nothing to remember per request. The clock
    # is a monotonic one, which never jumps when someone sets the time of day.
    payload = SEND_TIME.pack(time.monotonic_ns()) + FILLER
    # The identifier tells our replies from those of other programs (we use
    # our process id); the sequence number tells one request from the next.
    message = ECHO_HEADER.pack(kind, 0, 0, ident, seq) + payload
    if family == socket.AF_INET:
        # The checksum covers the whole ICMP message, computed with the
        # checksum field 0 and then written into it (bytes 2 and 3). ICMPv6's
        # checksum also covers a "pseudo-header" of IPv6 addresses, which the
        # kernel knows better than we do (our source address is its choice),
        # so for a raw ICMPv6 socket the kernel always computes it, and we
        # leave the field 0.
        message = (message[:2] + struct.pack("!H", internet_checksum(message))
                   + message[4:])
    return message
# ANCHOR_END: build


# ANCHOR: send
def send_request(sock, message, address):
    """Send one request; False if the kernel would not send it (we say why)."""
    # sendto() on a raw socket without the IP_HDRINCL option: we give it the
    # ICMP message only, and the kernel puts an IP header in front (source
    # address, protocol 1 or 58, TTL, its own checksum). The address's port
    # means nothing to ICMP; getaddrinfo() left it 0. One call sends the
    # whole message or nothing.
    try:
        sock.sendto(message, address)
        return True
    except OSError as e:
        # With no route to the address (ENETUNREACH: say, every interface is
        # down) the request is lost before it leaves. That is one lost
        # request, like a timeout: say why on stderr, and go on.
        print(f"ping: send to {address[0]}: {e.strerror}", file=sys.stderr, flush=True)
        return False
# ANCHOR_END: send


# ANCHOR: receive
def parse_reply(family, dgram, packet):
    """The ICMP message in a packet from our socket, or None if it cannot be one."""
    if family == socket.AF_INET6 or dgram:
        return packet  # a raw ICMPv6 socket and a ping socket give the message alone
    # A raw IPv4 socket gives the whole packet: skip its header, IHL * 4 bytes.
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    header_length = (packet[0] & 0x0F) * 4
    if not 20 <= header_length <= len(packet):
        return None
    return packet[header_length:]


def wait_for_reply(sock, family, dgram, ident, seq, timeout):
    """Receive until the echo reply to `seq` arrives; return (source, message) or None."""
    reply_type = ICMP_ECHO_REPLY if family == socket.AF_INET else ICMPV6_ECHO_REPLY
    deadline = time.monotonic() + timeout  # for the whole wait, whatever else comes
    while (remaining := deadline - time.monotonic()) > 0:
        # settimeout(): recvfrom() raises TimeoutError after that long with nothing.
        sock.settimeout(min(remaining, 1e9))
        try:
            packet, source = sock.recvfrom(BUFSIZE)
        except TimeoutError:
            return None
        message = parse_reply(family, dgram, packet)
        if message is None or len(message) < ECHO_HEADER.size + SEND_TIME.size:
            continue
        kind, code, _, their_ident, their_seq = ECHO_HEADER.unpack_from(message)
        if kind != reply_type or code != 0 or their_seq != seq:
            continue
        # A ping socket's identifier is the kernel's choice: nothing to compare.
        if not dgram and their_ident != ident:
            continue
        # An intact message sums to 0. (The kernel has checked ICMPv6's already.)
        if family == socket.AF_INET and internet_checksum(message) != 0:
            print(f"ping: reply from {source[0]}: seq={seq}: bad checksum, dropped",
                  file=sys.stderr, flush=True)
            continue
        return source[0], message
    return None
# ANCHOR_END: receive


def ping(host, count, timeout, dgram):
    family, address = resolve(host)
    with open_socket(family, dgram) as sock:
        drop_privileges()
        # The low 16 bits of our process id, as ping(8) does: different for
        # every ping running on this host at the same time.
        ident = os.getpid() & 0xFFFF
        received = 0
        for number in range(1, count + 1):
            # Sequence numbers are 16 bits: after 65,535 they wrap around.
            seq = number & 0xFFFF
            # Requests go one after another, each as soon as the previous one
            # is answered or timed out -- ping(8) waits a second between them;
            # we don't, to keep this quick.
            request = build_request(family, ident, seq)
            if not send_request(sock, request, address):
                reply = None
            else:
                with step(f"receive from {address[0]}"):
                    reply = wait_for_reply(sock, family, dgram, ident, seq, timeout)
            if reply is None:
                say(f"no reply from {address[0]}: seq={seq}")
                continue
            source, message = reply
            (sent_ns,) = SEND_TIME.unpack_from(message, ECHO_HEADER.size)
            milliseconds = (time.monotonic_ns() - sent_ns) / 1e6
            received += 1
            say(f"reply from {source}: seq={seq} bytes={len(message)} "
                f"time={milliseconds:.3f} ms")
        # Every request counts as sent, even one the kernel would not send.
        say(f"{count} sent, {received} received, "
            f"{(count - received) * 100 // count}% loss")
        return received == count


def say(line):
    """One line to stdout, at once, so whoever watches sees each reply as it comes."""
    with step("write stdout"):
        print(line, flush=True)


def main():
    host, count, timeout, dgram = parse_args(sys.argv[1:])
    # Ctrl-C (SIGINT) should just end ping, as it would a C program, rather
    # than raise KeyboardInterrupt in whichever line we happen to be.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        # Started with stdout closed, `>&-`, our socket would get descriptor 1,
        # and our lines would go into it: find out before opening it.
        with step("stdout"):
            os.fstat(1)
        return 0 if ping(host, count, timeout, dgram) else 1
    except Failure as f:
        print(f"ping: {f}", file=sys.stderr, flush=True)
        # os._exit() skips Python's clean-up, which would try again to flush
        # a stdout that has just failed and print a second error.
        os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
