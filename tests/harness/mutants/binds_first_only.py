# binds_first_only.py [--host H --port P] [--ready-says-host] -- a stream server that binds only the first address --host resolves to (or, with --ready-says-host, tries each but prints --host in its READY line instead of what getsockname says).
import signal
import socket
import sys

echo_host = "--ready-says-host" in sys.argv
words = [word for word in sys.argv[1:] if word != "--ready-says-host"]
args = dict(zip(words[0::2], words[1::2]))
host, port = args.get("--host", "127.0.0.1"), int(args.get("--port", "0"))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
for family, kind, proto, _, address in addresses if echo_host else addresses[:1]:
    sock = socket.socket(family, kind, proto)
    try:
        sock.bind(address)
        break
    except OSError as err:
        sock.close()
        print(f"binds_first_only: bind {address[0]}: {err.strerror}", file=sys.stderr)
else:
    sys.exit(1)
sock.listen()
bound = host if echo_host else sock.getsockname()[0]
print(f"READY {bound}:{sock.getsockname()[1]}", flush=True)
while True:
    signal.pause()
