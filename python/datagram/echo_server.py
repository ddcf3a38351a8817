# echo_server.py -- a UDP echo server: socket, bind, then receive and send back each datagram
#
# Run it as `python3 python/datagram/echo_server.py [--host H] [--port P]`; it prints
# `READY <address>` on stdout once it is bound, logs to stderr, and stops on
# SIGTERM or SIGINT (Ctrl-C).

import os
import signal
import socket
import sys

USAGE = "usage: echo_server [--host H] [--port P]"

# A datagram's length lives in 16-bit fields (the UDP header's, and IPv4's total
# length), so no datagram can be bigger than 65,535 bytes, headers included: over
# IPv4 the payload is at most 65,535 - 20 (IP header) - 8 (UDP header) = 65,507
# bytes; over IPv6, whose length field leaves out its own 40-byte header, 65,527.
# A 64 KiB buffer holds any of them whole.
BUFSIZE = 65536


def log(message):
    print(f"echo_server: {message}", file=sys.stderr, flush=True)


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    log(message)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


def is_port(text):
    """A decimal number from 0 to 65535 (isdigit() alone would accept "٣")."""
    return text.isascii() and text.isdigit() and len(text) <= 5 and int(text) <= 65535


def parse_args(argv):
    host, port = "127.0.0.1", 0
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
        elif is_port(value):
            port = int(value)
        else:
            usage_error(f"bad port: {value}")
    return host, port


def format_address(address):
    """'127.0.0.1:40123' for IPv4, '[::1]:40123' for IPv6 (whose tuples have 4 fields)."""
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class StartError(Exception):
    """The server could not start; the message is the one line to print."""


# ANCHOR: bind
def bind_to(host, port):
    """Return a UDP socket bound to the first address of `host` that works."""
    # getaddrinfo() turns a name or a numeric address into a list of
    # (family, type, proto, canonname, sockaddr) tuples, one per way to reach it,
    # this time for UDP: SOCK_DGRAM, a datagram socket. AI_PASSIVE asks for
    # addresses to bind() to rather than to send to.
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM,
                                   flags=socket.AI_PASSIVE)
    except OSError as e:  # socket.gaierror: getaddrinfo()'s own error text
        raise StartError(f"resolve {host}: {e.strerror}") from None
    except UnicodeError as e:  # a name Python cannot encode for DNS ("a..b")
        raise StartError(f"resolve {host}: {e}") from None

    error = None
    for family, type_, proto, _, address in infos:
        sock = None
        try:
            # SOCK_DGRAM: one socket for every client, no listen() or accept().
            sock = socket.socket(family, type_, proto)
            # bind() gives the socket its local address. Port 0 means "any free
            # port": the kernel picks one, and getsockname() tells us which. No
            # SO_REUSEADDR: UDP has no TIME_WAIT to step around, and on Linux the
            # option would let a second server bind our port and take our datagrams.
            sock.bind(address)
            return sock
        except OSError as e:
            if sock is not None:
                sock.close()
            error = f"bind {format_address(address)}: {e.strerror}"
    raise StartError(error)
# ANCHOR_END: bind


def serve(host, port):
    with bind_to(host, port) as sock:
        # ANCHOR: ready
        # getsockname() asks the kernel which address the socket is bound to;
        # with --port 0 this is how we learn the port it picked. A UDP socket
        # can receive as soon as it is bound, so this is the moment for READY;
        # the client (or test harness) waits for the line, so flush it at once.
        print(f"READY {format_address(sock.getsockname())}", flush=True)
        # ANCHOR_END: ready

        # ANCHOR: echo
        while True:
            # recvmsg() takes ONE datagram off the queue and returns its payload,
            # the ancillary data (none here), msg_flags and the sender's address
            # -- the one way to know whom to answer. (recvfrom() gives only the
            # payload and the address.)
            try:
                data, _, flags, peer = sock.recvmsg(BUFSIZE)
            except OSError as e:
                log(f"recvmsg: {e.strerror}")  # nothing lost but this datagram
                continue
            name = format_address(peer)
            # MSG_TRUNC: the datagram did not fit and the kernel cut it short.
            # Our 64 KiB holds any UDP datagram, but echoing a cut-off one would
            # be wrong, so we check.
            if flags & socket.MSG_TRUNC:
                log(f"{name}: datagram longer than {BUFSIZE} bytes, dropped")
                continue
            # b"" is a valid, empty datagram -- not end of file as on a stream:
            # a datagram socket never ends.
            log(f"{len(data)} bytes from {name}")
            try:
                # sendto() sends one datagram to that address, all of it or
                # nothing, so no sendall(). A failure loses this reply only.
                sock.sendto(data, peer)
            except OSError as e:
                log(f"{name}: {e.strerror}")
        # ANCHOR_END: echo


# ANCHOR: stop
class Stopped(Exception):
    """Raised by the signal handler to unwind out of whatever the server is doing."""


def stop(signum, frame):
    # Python runs this handler in the main thread, between two bytecodes. If it
    # just set a flag, a blocking recvmsg() would never notice: since PEP 475
    # Python retries a system call that a signal interrupts. Raising an
    # exception instead unwinds out of the call and through the `with` block,
    # which closes the socket. Further signals are ignored while we unwind.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Stopped(signal.Signals(signum).name)


def main():
    host, port = parse_args(sys.argv[1:])
    try:
        os.fstat(1)  # READY goes to stdout: fail now if we were started without one
    except OSError as e:
        log(f"stdout: {e.strerror}")
        return 1
    # Install the handlers before binding, so they are in place by the time
    # anyone has seen the READY line. SIGINT is what Ctrl-C sends.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        serve(host, port)
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
