# dies_on_accept_error.py [--host H --port P] -- a stream echo server that ends with a traceback when accept fails (out of descriptors, say).
import signal
import socket
import sys

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with socket.create_server((args.get("--host", "127.0.0.1"), int(args.get("--port", "0")))) as sock:
    print(f"READY {sock.getsockname()[0]}:{sock.getsockname()[1]}", flush=True)
    while True:
        conn, _ = sock.accept()  # no try: one failed accept ends the server
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)
