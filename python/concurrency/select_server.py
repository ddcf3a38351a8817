# select_server.py -- a TCP echo server serving every client at once from one thread, with selectors
#
# Run it as `python3 python/concurrency/select_server.py [--host H] [--port P]`; it
# prints `READY <address>`, logs to stderr, and stops on SIGTERM or SIGINT.
# Flags, the listening socket and the log lines come from common.py.

import functools
import selectors
import signal
import socket
import sys
import time

import common

PROG = "select_server"
log = functools.partial(common.log, PROG)
LIMIT = 1024 * 1024  # the most unsent echo we hold for one client


class Client:
    """One connection, and the echo we have received from it but not yet sent back."""

    def __init__(self, conn, peer):
        self.conn, self.peer = conn, peer
        self.pending = bytearray()  # received, not yet sent: at most LIMIT bytes
        self.total = 0              # bytes echoed so far
        self.eof = False            # the client has half-closed: nothing more to read


# ANCHOR: interest
def interest(client):
    """The events this client can use now: never none, until it is done."""
    # Read while there is room in `pending`: once it is full we stop reading,
    # the kernel's buffers fill, and the client's sends stall (backpressure).
    # Write only while something is pending: a socket is writable almost
    # always, and asking for EVENT_WRITE with nothing to send would wake us
    # again and again for nothing.
    events = 0
    if not client.eof and len(client.pending) < LIMIT:
        events |= selectors.EVENT_READ
    if client.pending:
        events |= selectors.EVENT_WRITE
    return events
# ANCHOR_END: interest


# ANCHOR: echo
def serve(selector, client, events):
    """Do what the selector says this client is ready for; False once it is done."""
    try:
        if events & selectors.EVENT_READ:
            # Non-blocking: recv() returns what has arrived, never waits.
            # Asking for no more than the room left keeps `pending` bounded.
            data = client.conn.recv(min(common.CHUNK, LIMIT - len(client.pending)))
            client.pending += data
            client.eof = not data  # b"": the client half-closed
        if client.pending:
            # send() takes what fits in the kernel's buffer now, perhaps only
            # part; the rest waits for the next EVENT_WRITE. (We try at once,
            # without waiting for one: usually everything fits.)
            sent = client.conn.send(client.pending)
            del client.pending[:sent]
            client.total += sent
    except (BlockingIOError, InterruptedError):
        pass  # nothing to do after all: wait for the next event
    except OSError as e:  # a reset (ECONNRESET), a client gone (EPIPE)
        log(f"{client.peer}: {e.strerror}")
        return False
    if client.eof and not client.pending:  # every byte echoed: we are done
        log(f"{client.peer}: closed, {client.total} bytes echoed")
        return False
    selector.modify(client.conn, interest(client), client)
    return True
# ANCHOR_END: echo


def close(selector, client):
    selector.unregister(client.conn)  # unregister before close: it needs the descriptor
    client.conn.close()


# ANCHOR: accept
def accept(selector, listener):
    """Take every client that is waiting; False if out of descriptors (pause, then retry)."""
    while True:
        try:
            conn, peer = listener.accept()
        except BlockingIOError:  # no one else waiting: back to the selector
            return True
        except OSError as e:
            log(f"accept: {e.strerror}")
            if e.errno in common.OUT_OF_RESOURCES:
                return False  # the client stays queued, so the listener stays readable
            continue
        conn.setblocking(False)  # recv() and send() must never wait: others would too
        client = Client(conn, common.format_address(peer))
        log(f"connection from {client.peer}")
        # register() adds a socket to the set the selector watches, with
        # the events we want and any object of ours to hand back with them.
        selector.register(conn, selectors.EVENT_READ, client)
# ANCHOR_END: accept


# ANCHOR: loop
def run(selector, listener, wakeup):
    """The event loop: wait for any socket to be ready, serve it, repeat. Returns the signal."""
    # `data` tells the three kinds of registered sockets apart: the
    # listener, the signal socket, and the clients (data is the Client).
    selector.register(listener, selectors.EVENT_READ, "listener")
    selector.register(wakeup, selectors.EVENT_READ, "signal")
    resume = None  # when to start accepting again, after running out of descriptors
    while True:
        timeout = None if resume is None else max(0, resume - time.monotonic())
        # select() blocks until a registered socket is ready or the timeout
        # passes; it returns (key, events) pairs, key.data as registered.
        for key, events in selector.select(timeout):
            if key.data == "signal":
                return signal.Signals(wakeup.recv(1)[0])
            if key.data == "listener":
                if not accept(selector, listener):  # out of descriptors
                    selector.unregister(listener)
                    resume = time.monotonic() + common.ACCEPT_PAUSE
            elif not serve(selector, key.data, events):
                close(selector, key.data)
        if resume is not None and time.monotonic() >= resume:
            selector.register(listener, selectors.EVENT_READ, "listener")
            resume = None
# ANCHOR_END: loop


# ANCHOR: stop
def main():
    host, port = common.parse_args(PROG)
    # A signal must wake select(). Python runs its handlers only between two
    # bytecodes, and retries a select() they interrupt; but with
    # set_wakeup_fd(), its C-level handler also writes the signal's number
    # to a socket of ours, which the selector watches like any other.
    wakeup, notify = socket.socketpair()
    notify.setblocking(False)  # set_wakeup_fd() requires it
    signal.set_wakeup_fd(notify.fileno())
    for signum in (signal.SIGTERM, signal.SIGINT):
        # A handler that does nothing: the byte on `wakeup` says it all.
        signal.signal(signum, lambda signum, frame: None)
    try:
        listener = common.listen(PROG, host, port)
    except common.StartError as e:
        log(e)
        return 1
    listener.setblocking(False)  # accept() fails with BlockingIOError instead of waiting
    with selectors.DefaultSelector() as selector, listener, wakeup, notify:
        signum = run(selector, listener, wakeup)
        signal.set_wakeup_fd(-1)  # `notify` is about to close
        # Close every client's connection; the `with` closes the rest.
        for key in list(selector.get_map().values()):
            if isinstance(key.data, Client):
                close(selector, key.data)
    log(f"stopping on {signum.name}")
    return 0
# ANCHOR_END: stop


if __name__ == "__main__":
    sys.exit(main())
