'use strict';
// stream_server.js -- a Unix-domain stream echo server: a socket made and
// bound through koffi (umask, the stale-file probe, chmod), served by `net`

// Node's `net` module serves a Unix socket exactly as it serves TCP, and the
// echo below is the TCP server's. But `net` would bind an abstract name
// ("@demo") with the wrong length on Node 18 and 20, and cannot tell us the
// name it bound (getsockname()), so the socket itself is made, bound and
// put to listen() through the C library (libc.js), and handed to `net`.

const fs = require('node:fs');
const net = require('node:net');
const { once } = require('node:events');
const libc = require('./libc');

const USAGE = 'usage: stream_server --path P [--mode M]';

// Parse --path P and --mode M (a flag's value is the next argument). A bad
// command line throws an Error saying what is wrong; main() exits 2 with it.
function parseArgs(argv) {
  const opts = { path: undefined, mode: 0o600, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') return { ...opts, help: true };
    if (arg !== '--path' && arg !== '--mode') {
      throw new Error(arg.startsWith('-') ? `unknown option: ${arg}`
                                          : `unexpected argument: ${arg}`);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (arg === '--path') {
      libc.checkPath(value); // empty, a bare "@", more than 107 bytes
      opts.path = value;
    } else if (/^[0-7]{3}$/.test(value)) {
      opts.mode = parseInt(value, 8); // permission bits: three octal digits
    } else {
      throw new Error(`bad mode: ${value}`);
    }
  }
  if (opts.path === undefined) throw new Error('--path is required');
  return opts;
}

// Logs go to stderr, one line per event; stdout carries only the READY line.
function log(message) {
  process.stderr.write(`stream_server: ${message}\n`);
}

// ANCHOR: echo
// Serve one connection: send back every byte that arrives, in order.
function echo(conn, peer) {
  // Every socket needs an 'error' listener: without one, an error (EPIPE or
  // ECONNRESET when the client vanished) is thrown and kills the server.
  // Node ignores SIGPIPE, so writing to a dead peer is such an error event,
  // never a fatal signal. We log it and the server goes on.
  conn.on('error', (err) => log(`${peer}: ${libc.reason(err)}`));

  // pipe() copies what the socket receives into its writable side, with
  // backpressure, Buffers unchanged; at the client's end-of-file it calls
  // conn.end(), our own half-close, after the last echoed byte.
  conn.pipe(conn);

  // 'finish': end() was called and every byte written has gone to the kernel.
  conn.on('finish', () => {
    log(`${peer}: closed, ${conn.bytesWritten} bytes echoed`);
  });
}
// ANCHOR_END: echo

// The clients being served, so that stop() can close them.
const connections = new Set();

// ANCHOR: accept
// Node accepts for us: whenever the kernel has a connection queued, the event
// loop calls accept() and then our callback with the new socket, so clients
// are served at the same time, all on one thread. allowHalfOpen keeps our
// side open after the client's half-close, until pipe() ends it.
const server = net.createServer({ allowHalfOpen: true }, (conn) => {
  // A Unix-domain client rarely binds a name of its own, and for Unix
  // sockets Node has no remoteAddress (getpeername()) to show us anyway.
  const peer = 'unnamed';
  log(`connection from ${peer}`);
  connections.add(conn);
  conn.on('close', () => connections.delete(conn));
  echo(conn, peer);
});
// ANCHOR_END: accept

// ANCHOR: probe
// The stale-file probe, never waiting (SOCK_NONBLOCK): refused means stale.
function isStale(addr, len) {
  const probe = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM | libc.SOCK_NONBLOCK, 0);
  try {
    libc.connect(probe, addr, len);
    return false;
  } catch (err) {
    return err.code === 'ECONNREFUSED';
  } finally {
    libc.close(probe);
  }
}
// ANCHOR_END: probe

// ANCHOR: bind
// socket(), bind(), chmod() and listen(), through koffi, removing nothing
// that is not ours. Returns the descriptor or throws (main() then exits).
function listenOn(path, mode) {
  const abstract = path.startsWith('@'); // no file: no chmod, no probe
  const { addr, len } = libc.sockaddrUn(path); // exact length for "@name"
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
  process.umask(0o077); // what we create is owner-only: srwx------ for bind()
  for (;;) {
    try {
      libc.bind(fd, addr, len);
      break;
    } catch (err) {
      if (err.code !== 'EADDRINUSE') throw err;
      if (!abstract && !fs.lstatSync(path).isSocket()) {
        throw new Error(`${path}: exists and is not a socket`);
      }
      if (abstract || !isStale(addr, len)) {
        throw new Error(`${path}: another server is listening there`);
      }
      log(`${path}: removing stale socket file`);
      libc.unlink(path);
    }
  }
  // ANCHOR_END: bind
  // ANCHOR: listen
  try {
    if (!abstract) fs.chmodSync(path, mode); // 600 unless --mode says more
    libc.listen(fd, 511); // queue up to 511 connections not yet accepted
  } catch (err) {
    if (!abstract) fs.rmSync(path, { force: true }); // the file our bind() made
    libc.close(fd);
    throw err;
  }
  return fd;
}
// ANCHOR_END: listen

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`stream_server: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let fd;
  try {
    fd = listenOn(opts.path, opts.mode);
  } catch (err) {
    // A failed call names itself ("bind /tmp/x/demo.sock: Permission
    // denied"); our own Errors carry their whole line.
    log(err.syscall ? `${err.syscall} ${opts.path}: ${libc.reason(err)}`
                    : err.message);
    process.exitCode = 1;
    return;
  }
  // net serves the socket we made: it accepts on the descriptor, and every
  // connection is a net.Socket as usual.
  server.listen({ fd });
  await once(server, 'listening');
  // From now on an error on the listening socket (accept() failing with
  // EMFILE, say) is logged, and the server carries on.
  server.on('error', (err) => log(`accept: ${libc.reason(err)}`));

  // ANCHOR: stop
  // Once a handler is installed, SIGTERM (kill) and SIGINT (Ctrl-C) no
  // longer kill the process; Node runs the handler from the event loop.
  // server.close() stops accepting and closes the listening socket; its
  // callback runs when the connections are gone too, so we destroy those
  // still being served. Then we remove the socket file -- libuv would only
  // for a path it bound itself; an abstract name went with the socket -- and
  // exit 0. The handlers go in before READY: whoever starts us waits for it.
  const stop = (signal) => {
    log(`stopping on ${signal}`);
    server.close(() => {
      if (!opts.path.startsWith('@')) fs.unlinkSync(opts.path);
      process.exit(0);
    });
    for (const conn of connections) conn.destroy();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // ANCHOR_END: stop

  // ANCHOR: ready
  // getsockname(), through koffi: the path, or "@name" for an abstract one.
  // One short line to a pipe is written at once: nothing to flush.
  process.stdout.write(`READY ${libc.unixSocketName(fd)}\n`);
  // ANCHOR_END: ready
}

// Anything unforeseen is one line too, never a stack trace.
main().catch((err) => {
  log(libc.reason(err));
  process.exitCode = 1;
});
