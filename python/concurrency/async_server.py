# async_server.py -- a TCP echo server that serves every client at once, as asyncio coroutines
#
# Run it as `python3 python/concurrency/async_server.py [--host H] [--port P]`; it
# prints `READY <address>`, logs to stderr, and stops on SIGTERM or SIGINT.
# Flags, the listening socket and the log lines come from common.py.

import asyncio
import functools
import signal
import sys

import common

PROG = "async_server"
log = functools.partial(common.log, PROG)

clients = set()  # the task serving each open connection


# ANCHOR: echo
async def echo(reader, writer):
    """One coroutine per client; each `await` lets the event loop serve the others."""
    clients.add(asyncio.current_task())
    peer = common.format_address(writer.get_extra_info("peername"))
    log(f"connection from {peer}")
    total = 0
    try:
        # read() waits until some bytes have arrived (b"": the client
        # half-closed). The reader stops taking bytes from the socket while
        # 128 KiB of them wait for us, so a client's sends stall if we fall behind.
        while data := await reader.read(common.CHUNK):
            writer.write(data)  # queued: the transport sends it when the socket can take it
            # drain() waits while more than 64 KiB is queued: a client that
            # does not read stops us reading from it (backpressure).
            await writer.drain()
            total += len(data)
        log(f"{peer}: closed, {total} bytes echoed")  # logged before the client sees the end
        writer.close()  # FIN, once everything queued has been sent
        await writer.wait_closed()
    except OSError as e:  # a reset (ECONNRESET), a client gone (EPIPE)
        log(f"{peer}: {e.strerror or e}")
    finally:
        # Cancelled by main() (we are stopping), failed, or done: close now,
        # dropping whatever is still queued. (A no-op if already closed.)
        writer.transport.abort()
        clients.discard(asyncio.current_task())
# ANCHOR_END: echo


# ANCHOR: accept
async def accept(listener):
    """Have asyncio accept every client on `listener`, each served by echo()."""
    # start_server() watches the listening socket in the event loop and, for
    # each client it accepts, runs echo(reader, writer) as a task of its own.
    # It calls listen() again, with its own backlog (100 unless told).
    return await asyncio.start_server(echo, sock=listener, backlog=common.BACKLOG)
# ANCHOR_END: accept


# ANCHOR: errors
def loop_error(loop, context):
    """One log line for an error asyncio reports itself, instead of a traceback."""
    # asyncio's own accept loop reports a failed accept() here. Out of
    # descriptors (EMFILE), it also stops accepting for a second: the client
    # stays queued, and trying again at once would only fail again.
    error = context.get("exception")
    if isinstance(error, OSError) and "accept" in context["message"]:
        log(f"accept: {error.strerror}")
    else:
        log(context["message"] + (f": {error}" if error else ""))
# ANCHOR_END: errors


# ANCHOR: stop
async def serve(host, port):
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(loop_error)
    # add_signal_handler() runs a callback in the event loop when a signal
    # arrives (asyncio wakes itself with set_wakeup_fd()), between two steps
    # of the coroutines rather than in the middle of one.
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # The first signal sets the result; a second one finds it done.
        loop.add_signal_handler(signum, lambda s=signum: stop.done() or stop.set_result(s))
    try:
        listener = common.listen(PROG, host, port)
    except common.StartError as e:
        log(e)
        return 1
    server = await accept(listener)
    signum = await stop  # until a signal handler sets its result
    server.close()  # closes the listening socket
    for task in list(clients):
        task.cancel()  # raises CancelledError at the task's `await`
    await asyncio.gather(*clients, return_exceptions=True)
    log(f"stopping on {signum.name}")
    return 0


def main():
    host, port = common.parse_args(PROG)
    return asyncio.run(serve(host, port))
# ANCHOR_END: stop


if __name__ == "__main__":
    sys.exit(main())
