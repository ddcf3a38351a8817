# echo_server.py -- a TCP echo server: socket, bind, listen, accept, and serving one client at a time
#
# Run it as `python3 python/stream/echo_server.py [--host H] [--port P]`; it prints
# `READY <address>` on stdout once it is listening, logs to stderr, and stops on
# SIGTERM or SIGINT (Ctrl-C).

import os
import signal
import socket
import sys

USAGE = "usage: echo_server [--host H] [--port P]"
CHUNK = 64 * 1024  # read up to 64 KiB at a time: big enough to move 16 MiB quickly


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


# ANCHOR: listen
def listen_on(host, port):
    """Return a socket listening on the first address of `host` that works."""
    # getaddrinfo() turns a name or a numeric address into a list of
    # (family, type, proto, canonname, sockaddr) tuples, one per way to reach it:
    # "localhost" may give both ::1 (AF_INET6) and 127.0.0.1 (AF_INET).
    # AI_PASSIVE asks for addresses to bind() to rather than to connect() to.
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except OSError as e:  # socket.gaierror: getaddrinfo()'s own error text
        raise StartError(f"resolve {host}: {e.strerror}") from None
    except UnicodeError as e:  # a name Python cannot encode for DNS ("a..b")
        raise StartError(f"resolve {host}: {e}") from None

    error = None
    for family, type_, proto, _, address in infos:
        sock = None
        try:
            # socket() makes an endpoint of the right family; SOCK_STREAM means TCP.
            sock = socket.socket(family, type_, proto)
            # Without SO_REUSEADDR, restarting the server would fail with
            # "Address already in use" for a minute or two, while the kernel
            # keeps the old connections in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # bind() gives the socket its local address. Port 0 means "any
            # free port": the kernel picks one, and getsockname() tells us which.
            sock.bind(address)
            # listen() turns it into a listening socket: the kernel now
            # completes TCP handshakes for us and queues the new connections
            # (up to the backlog) until we accept() them.
            sock.listen()
            return sock
        except OSError as e:
            if sock is not None:
                sock.close()
            error = f"bind {format_address(address)}: {e.strerror}"
    raise StartError(error)
# ANCHOR_END: listen


# ANCHOR: echo
def echo(conn):
    """Send back everything the client sends, until it half-closes; return the byte count."""
    total = 0
    while True:
        # recv() returns whatever has arrived, up to CHUNK bytes; TCP is a byte
        # stream, so chunk boundaries mean nothing. b"" means end-of-file: the
        # client has shut down its sending side and will send no more.
        data = conn.recv(CHUNK)
        if not data:
            break
        # send() may write only part of the data; sendall() loops until it is all sent.
        conn.sendall(data)
        total += len(data)
    return total
# ANCHOR_END: echo


def serve(host, port):
    with listen_on(host, port) as listener:
        # ANCHOR: ready
        # getsockname() asks the kernel which address the socket is bound to;
        # with --port 0 this is how we learn the port it picked. The client (or
        # test harness) waits for this line, so flush it at once.
        print(f"READY {format_address(listener.getsockname())}", flush=True)
        # ANCHOR_END: ready

        # ANCHOR: accept
        while True:
            # accept() waits for a client and returns a *new* socket for that one
            # connection, with the client's address; the listening socket goes
            # on listening. We serve one client at a time: the next one waits in
            # the listen queue until this one is done (a deliberate
            # simplification -- a client that stalls holds everyone up).
            try:
                conn, peer = listener.accept()
            except OSError as e:
                # A failed accept() (too many open files, say) loses this one
                # connection, not the server: log it and wait for the next.
                log(f"accept: {e.strerror}")
                continue
            log(f"connection from {format_address(peer)}")
            # `with conn:` closes the connection however echo() ends; close()
            # sends whatever is still buffered, then FIN.
            with conn:
                try:
                    total = echo(conn)
                    log(f"{format_address(peer)}: closed, {total} bytes echoed")
                except OSError as e:
                    # A client that resets the connection or vanishes makes
                    # recv() or sendall() fail (ECONNRESET, EPIPE): log it and
                    # go on. Python ignores SIGPIPE, which would kill a C
                    # program here, so a write to a closed connection raises
                    # BrokenPipeError instead.
                    log(f"{format_address(peer)}: {e.strerror}")
        # ANCHOR_END: accept


# ANCHOR: stop
class Stopped(Exception):
    """Raised by the signal handler to unwind out of whatever the server is doing."""


def stop(signum, frame):
    # Python runs this handler in the main thread, between two bytecodes. If it
    # just set a flag, a blocking accept() or recv() would never notice: since
    # PEP 475 Python retries a system call that a signal interrupts. Raising an
    # exception instead unwinds out of the call and through the `with` blocks,
    # which close the sockets. Further signals are ignored while we unwind.
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
    # Install the handlers before listening, so they are in place by the time
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
