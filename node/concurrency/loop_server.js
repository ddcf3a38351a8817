'use strict';
// loop_server.js -- many clients at once on Node's event loop: one callback
// per client, pipe() for backpressure, every connection closed on SIGTERM

const net = require('node:net');
const common = require('./common');

// ANCHOR: echo
// Serve one connection: send back every byte that arrives, in order.
function echo(conn, peer, log) {
  // Without an 'error' listener a reset (ECONNRESET) or a vanished client
  // (EPIPE) would be thrown and kill the server with every other client.
  conn.on('error', (err) => log(`${peer}: ${common.reason(err)}`));

  // pipe() writes back each chunk as it arrives, and is the backpressure:
  // when write() says the socket's buffer is full (16 KiB queued in Node
  // beyond what the kernel took), pipe() stops reading this client until
  // 'drain'. A client that sends and never reads fills the kernel's buffers
  // and stalls itself; we hold a chunk or two for it, no more, and every
  // other client goes on. At the client's half-close pipe() calls end().
  conn.pipe(conn);

  // 'finish': end() was called and every byte went to the kernel.
  conn.on('finish', () => {
    log(`${peer}: closed, ${conn.bytesWritten} bytes echoed`);
  });
}
// ANCHOR_END: echo

// ANCHOR: accept
// The server and the set of its open connections, which stop() closes.
// Node accepts for us: when the kernel has a connection queued, the event
// loop calls accept() and then this callback with the new socket. The
// callback only sets up listeners and returns, so one thread serves every
// client at once: whichever socket has data, its listener runs next.
// allowHalfOpen keeps our side open after the client's FIN, until pipe()
// has sent the last byte and ends it.
function createEchoServer(log) {
  const connections = new Set();
  const server = net.createServer({ allowHalfOpen: true }, (conn) => {
    const peer = common.peerName(conn);
    log(`connection from ${peer}`);
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
    echo(conn, peer, log);
  });
  // After listen() an error on the listening socket (an accept() that
  // fails) is logged, and the server carries on.
  server.on('listening', () => {
    server.on('error', (err) => log(`accept: ${common.reason(err)}`));
  });
  return { server, connections };
}
// ANCHOR_END: accept

// ANCHOR: close
// Stop: close the listening socket, destroy every connection (destroy()
// closes at once, not waiting for unsent echo), and call done() once
// server.close() reports that the last connection is gone.
function closeAll(server, connections, done) {
  server.close(done);
  for (const conn of connections) conn.destroy();
}
// ANCHOR_END: close

async function main(prog) {
  const opts = common.parseArgs(prog, process.argv.slice(2));
  if (opts === null) return;
  const log = common.logger(prog);
  const { server, connections } = createEchoServer(log);
  try {
    await common.listen(server, opts.host, opts.port);
  } catch (err) {
    log(err.message); // "bind 127.0.0.1:8080: Address already in use"
    process.exitCode = 1;
    return;
  }
  // ANCHOR: stop
  // SIGTERM and SIGINT: once a handler is installed, Node runs it from the
  // event loop instead of dying, and passes it the signal's name. The
  // handlers go in before READY: whoever starts us waits for that line.
  const stop = (signal) => {
    log(`stopping on ${signal}`);
    closeAll(server, connections, () => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // ANCHOR_END: stop
  process.stdout.write(`${common.readyLine(server)}\n`);
}

// cluster_server's workers reuse this server; run as a program, it is one.
module.exports = { createEchoServer, closeAll };
if (require.main === module) main('loop_server');
