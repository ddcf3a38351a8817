'use strict';
// echo_server.js -- a TCP echo server: dns.lookup, net.createServer, listen,
// and an event loop that serves every client at once, echoing with pipe()

const dns = require('node:dns');
const net = require('node:net');
const { once } = require('node:events');
const libc = require('../unix/libc'); // C's words for an error (see there)

const USAGE = 'usage: echo_server [--host H] [--port P]';

// Parse --host H and --port P (a flag's value is the next argument). A bad
// command line throws an Error saying what is wrong; main() exits 2 with it.
function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') return { ...opts, help: true };
    if (arg !== '--host' && arg !== '--port') {
      throw new Error(arg.startsWith('-') ? `unknown option: ${arg}`
                                          : `unexpected argument: ${arg}`);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (arg === '--host') {
      opts.host = value;
    } else if (/^[0-9]+$/.test(value) && Number(value) <= 65535) {
      opts.port = Number(value);
    } else {
      throw new Error(`bad port: ${value}`);
    }
  }
  return opts;
}

// Logs go to stderr, one line per event; stdout carries only the READY line.
function log(message) {
  process.stderr.write(`echo_server: ${message}\n`);
}

// Addresses as the book prints them: 127.0.0.1:40123, [::1]:40123.
function formatAddress(address, port) {
  return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

// ANCHOR: echo
// Serve one connection: send back every byte that arrives, in order.
function echo(conn, peer) {
  // Every socket needs an 'error' listener: without one, an error (ECONNRESET
  // when the client resets, EPIPE when it vanished before we wrote back) is
  // thrown and kills the whole server. Node ignores SIGPIPE, so writing to a
  // dead peer is such an error event, never a fatal signal. Node destroys the
  // socket after an error; we log it (in C's words, libc.reason()) and the
  // server goes on.
  conn.on('error', (err) => log(`${peer}: ${libc.reason(err)}`));

  // pipe() copies what the readable side of the socket receives into its
  // writable side: the echo. It also does backpressure for us: when write()
  // reports that the kernel's send buffer is full (the client is not reading
  // fast enough), pipe() stops reading until the socket emits 'drain', so we
  // never hold more than a buffer or two in memory. The chunks are Buffers (we
  // never call setEncoding), so any bytes pass through unchanged.
  // When the client half-closes, the readable side ends and pipe() calls
  // conn.end(): our own FIN goes out after the last echoed byte, and Node
  // closes the socket once both directions are finished.
  conn.pipe(conn);

  // 'finish' says that end() has been called and every byte written has
  // gone to the kernel: the echo is complete. bytesWritten counts those
  // bytes. A connection cut short by an error or by stop() never finishes.
  conn.on('finish', () => {
    log(`${peer}: closed, ${conn.bytesWritten} bytes echoed`);
  });
}
// ANCHOR_END: echo

// The clients being served, so that stop() can close them.
const connections = new Set();

// ANCHOR: accept
// net.createServer() prepares a listening socket. Node accepts connections
// for us: whenever the kernel has one queued, the event loop calls accept()
// and then our callback with the new socket. Nothing here blocks, so the
// server is concurrent by nature: while one client is being echoed, the loop
// goes on accepting and serving others, all on one thread.
//
// allowHalfOpen: by default, when the client half-closes (its FIN arrives),
// Node ends our side of the socket at once -- before the echo is finished,
// cutting it short. With allowHalfOpen, our side stays open until pipe()
// ends it after the last byte.
const server = net.createServer({ allowHalfOpen: true }, (conn) => {
  // remoteAddress is getpeername(): undefined if the client is already gone.
  const peer = conn.remoteAddress === undefined
    ? 'a vanished client' : formatAddress(conn.remoteAddress, conn.remotePort);
  log(`connection from ${peer}`);
  connections.add(conn);
  conn.on('close', () => connections.delete(conn));
  echo(conn, peer);
});
// ANCHOR_END: accept

// ANCHOR: listen
// Resolve the host, then listen on the first of its addresses that works.
async function listen(host, port) {
  // dns.lookup() is Node's getaddrinfo(): it turns a name ('localhost') or a
  // literal ('::1') into addresses; { all: true } returns every one, in the
  // order the system prefers: [{ address: '::1', family: 6 }, ...].
  let addresses;
  try {
    addresses = await dns.promises.lookup(host, { all: true });
  } catch (err) {
    throw new Error(`resolve ${host}: ${libc.reason(err)}`);
  }
  let lastError;
  for (const { address } of addresses) {
    // listen() does socket(), bind() and listen() in one call. Before bind(),
    // Node (libuv) always sets SO_REUSEADDR on Unix, so a restarted server
    // can bind its port again while connections from its last run linger in
    // TIME_WAIT. Port 0 asks the kernel for any free port. The backlog, how
    // many finished handshakes the kernel queues until we accept them, is 511.
    server.listen({ host: address, port });
    try {
      await once(server, 'listening'); // rejects if 'error' comes first
      return;
    } catch (err) {
      // EADDRINUSE, EADDRNOTAVAIL...: try the next address.
      lastError = `bind ${formatAddress(address, port)}: ${libc.reason(err)}`;
    }
  }
  throw new Error(lastError);
}
// ANCHOR_END: listen

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`echo_server: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  try {
    await listen(opts.host, opts.port);
  } catch (err) {
    log(err.message); // "bind 127.0.0.1:8080: Address already in use"
    process.exitCode = 1;
    return;
  }
  // From now on an error on the listening socket (accept() failing with
  // EMFILE, say) is logged, and the server carries on.
  server.on('error', (err) => log(`accept: ${libc.reason(err)}`));

  // ANCHOR: stop
  // By default SIGTERM (kill) and SIGINT (Ctrl-C) kill a Node process at
  // once, and its parent sees "killed by a signal", not an exit status. Once
  // a handler is installed, Node runs it from the event loop instead.
  // server.close() stops accepting and closes the listening socket; its
  // callback runs when every connection is gone too, so we destroy the
  // clients still being served and exit with status 0 from that callback.
  // Node passes the handler the signal's name ('SIGTERM'), which we log.
  // The handlers go in before READY: whoever starts us waits for that line.
  const stop = (signal) => {
    log(`stopping on ${signal}`);
    server.close(() => process.exit(0));
    for (const conn of connections) conn.destroy();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // ANCHOR_END: stop

  // ANCHOR: ready
  // server.address() is getsockname(): the address and port the socket is
  // bound to -- with --port 0, the port the kernel chose.
  const { address, port } = server.address();
  // When stdout is a pipe, Node writes to it asynchronously, but there is no
  // buffer to flush as in C's stdio: write() hands the line to libuv, which
  // writes it to the pipe at once (one short line always fits), so whoever
  // reads our stdout sees READY straight away.
  process.stdout.write(`READY ${formatAddress(address, port)}\n`);
  // ANCHOR_END: ready
}

main();
