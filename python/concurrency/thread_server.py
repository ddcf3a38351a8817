# thread_server.py -- a TCP echo server serving every client at once, each on a thread of its own
#
# Run it as `python3 python/concurrency/thread_server.py [--host H] [--port P]`; it
# prints `READY <address>`, logs to stderr, and stops on SIGTERM or SIGINT.
# Flags, the listening socket and the log lines come from common.py.

import contextlib
import functools
import signal
import socket
import sys
import threading
import time

import common

PROG = "thread_server"
log = functools.partial(common.log, PROG)

clients = {}                # each open connection -> the thread serving it
lock = threading.Lock()     # guards `clients`: every thread adds or removes itself
stopping = threading.Event()

# ANCHOR: gil
# Only the thread holding CPython's global interpreter lock (GIL) runs Python
# code. A thread waiting for it wakes every "switch interval" (5 ms unless
# told) to ask the holder to let go: with a thousand threads waiting, those
# wake-ups alone keep the cores busy and every echo slows down. Our threads
# let go at each recv() and send() anyway, so asking every 50 ms costs nothing.
sys.setswitchinterval(0.05)
# ANCHOR_END: gil


# ANCHOR: echo
def echo(conn, peer):
    """Runs on a thread of its own: echo one client until it half-closes."""
    try:
        total = 0
        # A blocking recv() or sendall() stops only this thread; the others
        # go on serving. sendall() waits while the client is not reading, so
        # we never hold more than one CHUNK of its data: backpressure for free.
        while data := conn.recv(common.CHUNK):
            conn.sendall(data)
            total += len(data)
        outcome = f"closed, {total} bytes echoed"
    except OSError as e:  # a reset (ECONNRESET), a client gone (EPIPE)
        outcome = e.strerror
    if not stopping.is_set():  # when we stop, the stop line says it for everyone
        log(f"{peer}: {outcome}")  # before close(): once the client sees the end, it is logged
    with lock:
        del clients[conn]
    conn.close()
# ANCHOR_END: echo


# ANCHOR: accept
def accept_loop(listener):
    """Runs on a thread of its own: accept each client and start a thread for it."""
    while True:
        try:
            conn, peer = listener.accept()
        except OSError as e:
            if stopping.is_set():  # main() shut the listener down to wake us
                return
            log(f"accept: {e.strerror}")
            if e.errno in common.OUT_OF_RESOURCES:
                time.sleep(common.ACCEPT_PAUSE)  # the client stays queued: don't spin
            continue
        name = common.format_address(peer)
        log(f"connection from {name}")
        # A thread costs a stack (mostly untouched, so little memory) and a
        # kernel task; a thousand clients are a thousand threads.
        thread = threading.Thread(target=echo, args=(conn, name))
        with lock:
            clients[conn] = thread
        try:
            thread.start()
        except RuntimeError as e:  # "can't start new thread": out of threads, for now
            with lock:
                del clients[conn]
            conn.close()
            log(f"{name}: {e}")
# ANCHOR_END: accept


# ANCHOR: stop
def main():
    host, port = common.parse_args(PROG)
    # Block SIGTERM and SIGINT before any thread starts, so every thread
    # inherits the mask: no thread is ever interrupted by them, and the main
    # thread takes them one at a time, as a plain value, in sigwait() below.
    signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        listener = common.listen(PROG, host, port)
    except common.StartError as e:
        log(e)
        return 1
    acceptor = threading.Thread(target=accept_loop, args=(listener,))
    acceptor.start()

    signum = signal.sigwait(signals)
    stopping.set()
    # On Linux, shutdown() of a listening socket wakes a thread blocked in
    # accept() (it fails with EINVAL); shutdown() of a connection wakes its
    # thread's recv() (end of file) or sendall() (EPIPE). close() would not:
    # a thread blocked on a socket keeps it open.
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    acceptor.join()
    with lock:
        for conn in clients:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        threads = list(clients.values())
    for thread in threads:  # each closes its own connection as it ends
        thread.join()
    listener.close()
    log(f"stopping on {signal.Signals(signum).name}")
    return 0
# ANCHOR_END: stop


if __name__ == "__main__":
    sys.exit(main())
