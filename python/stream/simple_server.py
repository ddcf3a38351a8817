# simple_server.py -- the smallest TCP echo server that works: blocking, one client at a time
#
# Run it as `python3 python/stream/simple_server.py [--host H] [--port P]`; it prints
# `READY <address>`, then echoes each client in turn, forever. SIGTERM or Ctrl-C kills it.

import signal
import socket
import sys

args = sys.argv[1:]
flags = dict(zip(args[::2], args[1::2]))  # {"--port": "8080"}: a repeated flag's last value wins
host, port = flags.pop("--host", "127.0.0.1"), flags.pop("--port", "0")
if len(args) % 2 or flags or not (port.isascii() and port.isdigit() and int(port) <= 65535):
    print("usage: simple_server [--host H] [--port P]", file=sys.stderr)
    sys.exit(2)
signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C kills us, as it does a C program
if sys.stdout is None:  # started with it closed (`>&-`): Python leaves it None
    sys.exit("simple_server: stdout: Bad file descriptor")

what = "getaddrinfo"  # the call under way, for the one-line error message
try:
    # ANCHOR: listen
    # getaddrinfo() gives (family, type, proto, canonname, sockaddr) tuples;
    # AI_PASSIVE asks for addresses to bind to. We take the first one.
    family, type_, proto, _, address = socket.getaddrinfo(
        host, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    what = "socket"
    with socket.socket(family, type_, proto) as server:  # `with` closes it however we leave
        what = "bind"
        server.bind(address)  # port 0: the kernel picks a free one
        what = "listen"
        server.listen()  # the kernel now queues connections for accept()
        # ANCHOR_END: listen
        # ANCHOR: ready
        host, port = server.getsockname()[:2]  # the address the kernel bound, port and all
        print(f"READY [{host}]:{port}" if ":" in host else f"READY {host}:{port}", flush=True)
        # ANCHOR_END: ready
        # ANCHOR: serve
        while True:
            what = "accept"
            conn, _ = server.accept()  # waits for a client: a new socket for that connection
            with conn:
                what = "echo"
                while data := conn.recv(65536):  # b"" is end of file: the client is done
                    conn.sendall(data)  # sendall() loops until every byte is sent
        # ANCHOR_END: serve
except (OSError, UnicodeError) as e:  # UnicodeError: a name IDNA cannot encode ("a..b")
    sys.exit(f"simple_server: {what}: {getattr(e, 'strerror', e)}")
