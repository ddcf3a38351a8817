'use strict';
// stream_client.js -- a Unix-domain stream echo client: net.connect to a
// socket file or an abstract name, and two pipes that send and receive at once

const net = require('node:net');
const libc = require('./libc');

const USAGE = 'usage: stream_client --path P';

// Parse --path P (a flag's value is the next argument). A bad command line
// throws an Error saying what is wrong; main() exits 2 with it.
function parseArgs(argv) {
  const opts = { path: undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') return { ...opts, help: true };
    if (arg !== '--path') {
      throw new Error(arg.startsWith('-') ? `unknown option: ${arg}`
                                          : `unexpected argument: ${arg}`);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    libc.checkPath(value); // empty, a bare "@", more than 107 bytes
    opts.path = value;
  }
  if (opts.path === undefined) throw new Error('--path is required');
  return opts;
}

// A runtime error: one line on stderr, exit status 1. Errors can arrive from
// several streams one after another (a reset socket, then a failed write), so
// only the first is reported. process.exit() does not wait for asynchronous
// writes to a pipe, so we exit from the write's callback, once the line is out.
let failed = false;
function fail(message) {
  if (failed) return;
  failed = true;
  process.stderr.write(`stream_client: ${message}\n`, () => process.exit(1));
}

// ANCHOR: connect
// Connect to the server's path or abstract name.
async function connect(path) {
  if (path.startsWith('@')) {
    // An abstract name: `net` would ask for the wrong name on Node 18 and 20
    // (see libc.js), so we connect a socket ourselves, with the address
    // length counted exactly, and hand its descriptor to a net.Socket. A
    // Unix-domain connect() completes at once: the server's kernel is ours.
    const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
    try {
      const { addr, len } = libc.sockaddrUn(path); // "\0name", exact length
      libc.connect(fd, addr, len); // ECONNREFUSED: nobody has the name
    } catch (err) {
      libc.close(fd);
      throw err;
    }
    return new net.Socket({ fd, readable: true, writable: true,
                            allowHalfOpen: true });
  }
  // A socket file: net.connect() creates a socket and connects it to the
  // path. It fails with ENOENT if there is no such file, ECONNREFUSED if it
  // is a stale file nobody listens on, EACCES if we may not write to it.
  // allowHalfOpen: each direction ends on its own -- ours when stdin ends,
  // the server's when it says so.
  const sock = net.connect({ path, allowHalfOpen: true });
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return sock;
}
// ANCHOR_END: connect

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`stream_client: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  // Node puts /dev/null in place of a closed stdout: libc.js tells them apart.
  if (libc.stdoutIsClosed()) {
    fail('stdout: Bad file descriptor');
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let sock;
  try {
    sock = await connect(opts.path);
  } catch (err) {
    // "connect to /tmp/demo.sock: No such file or directory"
    fail(`connect to ${opts.path}: ${libc.reason(err)}`);
    return;
  }
  // Every socket needs an 'error' listener: without one, an error such as
  // ECONNRESET (the server went away mid-stream) is thrown with a stack
  // trace. err.syscall says which way it failed: 'read' or 'write'.
  sock.on('error', (err) => {
    const what = err.syscall === 'read' ? 'receive from' : 'send to';
    fail(`${what} ${opts.path}: ${libc.reason(err)}`);
  });

  // ANCHOR: receive
  // Receive: the socket to stdout, chunk by chunk, with backpressure; the
  // chunks are Buffers, so any bytes pass through. If the reader of our
  // stdout has gone, a write fails with EPIPE, as an 'error' event.
  process.stdout.on('error', (err) => {
    fail(`stdout: ${libc.reason(err)}`);
  });
  sock.pipe(process.stdout);
  // 'close' comes once both directions are finished: the server's
  // end-of-file has arrived and our own half-close has gone out. We exit from
  // the callback of an empty write, so everything before it is on stdout.
  sock.on('close', () => {
    process.stdout.write('', (err) => {
      if (!err && !failed) process.exit(0);
    });
  });
  // ANCHOR_END: receive

  // ANCHOR: send
  // Send: stdin to the socket, at the same time as the receiving pipe runs,
  // so neither direction's buffer fills up while the other waits. At the end
  // of stdin, pipe() calls sock.end(): shutdown(SHUT_WR), our half-close. The
  // server reads end-of-file, finishes the echo and closes its side in turn.
  process.stdin.on('error', (err) => {
    fail(`stdin: ${libc.reason(err)}`);
  });
  process.stdin.pipe(sock);
  // ANCHOR_END: send
}

main();
