'use strict';
// stream_server.js -- a Unix-domain stream echo server: net.createServer on a
// socket file (umask, chmod, the stale-file probe) or on an abstract name

// A Unix-domain socket is addressed by a name instead of an IP address and a
// port: a path in the file system, where bind() creates a socket file, or on
// Linux a name in the abstract namespace ("@demo"), which has no file at all.
// Both ends are on the same machine and the kernel copies the bytes from one
// to the other directly: no IP, no TCP, no checksums. Node's `net` module
// serves a Unix socket exactly as it serves TCP: listen() takes a path
// instead of a host and port, and the echo below is the TCP server's.
// (libc.js is needed for abstract names only; its header says why.)

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
    if (value === undefined) throw new Error(`option ${arg} needs a value`);
    if (arg === '--path') {
      libc.checkPath(value); // empty, a bare "@", more than 107 bytes
      opts.path = value;
    } else if (/^[0-7]{3}$/.test(value)) {
      opts.mode = parseInt(value, 8); // permission bits: three octal digits
    } else {
      throw new Error(`bad mode: ${value}`);
    }
  }
  if (opts.path === undefined) throw new Error('option --path is required');
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
  conn.on('error', (err) => log(`${peer}: ${libc.describeError(err)}`));

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

// ANCHOR: bind
// A probe: connect a stream socket to the path. ECONNREFUSED means a socket
// file that nobody listens on any more -- the leftover of a server that
// crashed, since a server that stops removes its file. Anything else (it
// connects; EPROTOTYPE, a live socket of another type) means the path is in
// use. Resolves true for a stale file.
function isStale(path) {
  return new Promise((resolve) => {
    const probe = net.connect({ path });
    probe.on('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.on('error', (err) => resolve(err.code === 'ECONNREFUSED'));
  });
}

// Listen on a socket file: bind with the umask at 077, clear away a stale
// file, then chmod to the mode asked for.
async function listenOnPath(path, mode) {
  for (;;) {
    // listen() does socket(AF_UNIX, SOCK_STREAM), bind() and listen(). bind()
    // creates the socket file, and the process's umask decides its
    // permissions: at 077 the file starts as srwx------, so there is no
    // moment at which another user may connect (connecting to a socket file
    // needs write permission on it). Node binds before listen() returns --
    // only the 'listening' or 'error' event comes later -- so the umask is
    // set back straight away.
    const oldMask = process.umask(0o077);
    try {
      server.listen({ path });
    } finally {
      process.umask(oldMask);
    }
    try {
      await once(server, 'listening'); // rejects if 'error' comes first
      break;
    } catch (err) {
      // EADDRINUSE: something has the path. Never remove what is not ours:
      // a file that is not a socket is left alone; a socket file is removed
      // only if the probe says nobody is listening there.
      if (err.code !== 'EADDRINUSE') throw err;
      if (!fs.lstatSync(path).isSocket()) {
        throw new Error(`${path}: exists and is not a socket`);
      }
      if (!(await isStale(path))) {
        throw new Error(`${path}: another server is listening there`);
      }
      log(`${path}: removing stale socket file`);
      fs.unlinkSync(path);
    }
  }
  // Now the permissions we were asked for: 600 by default (the owner only),
  // 666 to let everyone connect.
  fs.chmodSync(path, mode);
}

// Listen on an abstract name: no file, so no umask, chmod or stale files;
// the name vanishes with the last socket bound to it, and EADDRINUSE means a
// live socket holds it. `net` would bind the wrong name on Node 18 and 20
// (see libc.js), so we make the socket ourselves, with the exact address
// length, and hand its descriptor to net, which serves it as usual.
async function listenOnAbstract(path) {
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
  try {
    const { addr, len } = libc.sockaddrUn(path); // "\0name", exact length
    libc.bind(fd, addr, len);
    // listen(): accept connections, and queue up to 511 not yet accepted.
    libc.listen(fd, 511);
  } catch (err) {
    libc.close(fd);
    if (err.code === 'EADDRINUSE') {
      throw new Error(`${path}: another server is listening there`);
    }
    throw new Error(`${path}: ${err.message}`);
  }
  server.listen({ fd });
  await once(server, 'listening');
}
// ANCHOR_END: bind

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

  const abstract = opts.path.startsWith('@');
  try {
    if (abstract) await listenOnAbstract(opts.path);
    else await listenOnPath(opts.path, opts.mode);
  } catch (err) {
    // err.syscall: a failed call. (libuv reports a missing directory as
    // EACCES, "Permission denied", as Windows would, not as ENOENT.)
    log(err.syscall ? `${opts.path}: ${libc.describeError(err)}`
                    : err.message);
    process.exitCode = 1;
    return;
  }
  // From now on an error on the listening socket (accept() failing with
  // EMFILE, say) is logged, and the server carries on.
  server.on('error', (err) => log(libc.describeError(err)));

  // ANCHOR: stop
  // Once a handler is installed, SIGTERM (kill) and SIGINT (Ctrl-C) no
  // longer kill the process; Node runs the handler from the event loop.
  // server.close() stops accepting and closes the listening socket -- and
  // for a socket file that Node bound, libuv unlinks the file as it closes
  // it, so the path is free for the next server. (Unlinking it again here
  // could remove the file of a server that started meanwhile.) An abstract
  // name has no file; it is gone once the socket is closed. The callback
  // runs when the connections are gone too, so we destroy those still being
  // served, and exit 0 from it. The handlers go in before READY: whoever
  // starts us waits for that line.
  const stop = (signal) => {
    log(`stopping on ${signal}`);
    server.close(() => process.exit(0));
    for (const conn of connections) conn.destroy();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // ANCHOR_END: stop

  // ANCHOR: ready
  // The address we are bound to: the path as given (server.address(),
  // getsockname(), says the same), or "@name" for an abstract one. One short
  // line to a pipe is written at once: nothing to flush.
  process.stdout.write(`READY ${opts.path}\n`);
  // ANCHOR_END: ready
}

main();
