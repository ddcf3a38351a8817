# simple_client.py -- the smallest TCP echo client that works: send all, half-close, read the echo
#
# Run it as `python3 python/stream/simple_client.py [--host H] --port P`; it sends stdin
# to the server, then writes what comes back to stdout. Fine for small inputs only.

import signal
import socket
import sys

args = sys.argv[1:]
flags = dict(zip(args[::2], args[1::2]))  # {"--port": "8080"}: a repeated flag's last value wins
host, port = flags.pop("--host", "127.0.0.1"), flags.pop("--port", "")
if len(args) % 2 or flags or not (port.isascii() and port.isdigit() and 0 < int(port) <= 65535):
    print("usage: simple_client [--host H] --port P", file=sys.stderr)
    sys.exit(2)
signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C kills us, as it does a C program
for name in ("stdin", "stdout"):
    if getattr(sys, name) is None:  # started with it closed (`>&-`): Python leaves it None
        sys.exit(f"simple_client: {name}: Bad file descriptor")

what = "getaddrinfo"  # the call under way, for the one-line error message
try:
    # ANCHOR: connect
    # getaddrinfo() gives (family, type, proto, canonname, sockaddr) tuples,
    # one per way to reach the host. We take the first one.
    family, type_, proto, _, address = socket.getaddrinfo(
        host, int(port), type=socket.SOCK_STREAM)[0]
    what = "socket"
    with socket.socket(family, type_, proto) as sock:  # `with` closes it however we leave
        what = "connect"
        sock.connect(address)  # the TCP handshake; the kernel picks our own port
        # ANCHOR_END: connect
        # ANCHOR: send
        # All of stdin first, and only then the echo: past what the socket
        # buffers hold, both sides would block in send() (chapter 2 shows it).
        what = "send"
        while chunk := sys.stdin.buffer.read1(65536):  # b"" at the end of stdin
            sock.sendall(chunk)  # sendall() loops until every byte is sent
        sock.shutdown(socket.SHUT_WR)  # half-close: the server reads end of file
        # ANCHOR_END: send
        # ANCHOR: receive
        what = "receive"
        while data := sock.recv(65536):  # b"" once the server has closed
            sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        # ANCHOR_END: receive
except (OSError, UnicodeError) as e:  # UnicodeError: a name IDNA cannot encode ("a..b")
    sys.exit(f"simple_client: {what}: {getattr(e, 'strerror', e)}")
