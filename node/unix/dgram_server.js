'use strict';
// dgram_server.js -- a Unix-domain datagram echo server: socket(SOCK_DGRAM),
// bind, then recvfrom and sendto(MSG_DONTWAIT), through koffi

// Node's `dgram` module is UDP only, so this server calls the C library
// through koffi (see libc.js). Like UDP, a datagram socket has no connections:
// one bound socket receives messages from anybody, each whole and with its
// sender's address. Unlike UDP, nothing is ever lost or reordered -- it all
// stays in one kernel -- and a sender is known only by the name it bound:
// a client that never bound one cannot be answered.

const fs = require('node:fs');
const libc = require('./libc');

const USAGE = 'usage: dgram_server --path P [--mode M]';

// The largest datagram this server takes. (Unix datagrams may be larger, up
// to the socket's send buffer: some 200 KiB.)
const BUFFER_SIZE = 65536;

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
  process.stderr.write(`dgram_server: ${message}\n`);
}

// ANCHOR: bind
// The stale-file probe: connect() on a datagram socket sends nothing, but it
// checks that a socket is bound there. Refused means stale.
function isStale(addr, len) {
  const probe = libc.socket(libc.AF_UNIX, libc.SOCK_DGRAM, 0);
  try {
    libc.connect(probe, addr, len);
    return false;
  } catch (err) {
    return err.code === 'ECONNREFUSED';
  } finally {
    libc.close(probe);
  }
}

// socket(AF_UNIX, SOCK_DGRAM, 0), bind() and chmod(), through koffi, removing
// nothing that is not ours. Returns the descriptor or throws (main() exits).
function bindServer(path, mode) {
  const abstract = path.startsWith('@'); // no file: no chmod, no probe
  const { addr, len } = libc.sockaddrUn(path); // exact length for "@name"
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_DGRAM, 0); // just a number
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
  if (!abstract) fs.chmodSync(path, mode); // 600 unless --mode says more
  return fd;
}
// ANCHOR_END: bind

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`dgram_server: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let fd;
  try {
    fd = bindServer(opts.path, opts.mode);
  } catch (err) {
    // A failed call names itself ("bind /tmp/x/demo.sock: Permission
    // denied"); our own Errors carry their whole line.
    log(err.syscall ? `${err.syscall} ${opts.path}: ${libc.reason(err)}`
                    : err.message);
    process.exitCode = 1;
    return;
  }

  // ANCHOR: stop
  // Once a handler is installed, SIGTERM (kill) and SIGINT (Ctrl-C) no
  // longer kill the process; Node runs the handler from the event loop -- it
  // can, because recvfrom() waits on a worker thread, not on the loop. But
  // Node will not exit while that thread is inside recvfrom(): libc.wake()
  // (shutdown()) makes it return 0 at once. Then we close the socket, remove
  // the socket file (an abstract name has none: it went with the socket),
  // and exit 0.
  let stopping = false;
  const stop = (signal) => {
    log(`stopping on ${signal}`);
    stopping = true;
    libc.wake(fd);
    libc.close(fd);
    if (!opts.path.startsWith('@')) libc.unlink(opts.path);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // ANCHOR_END: stop

  // ANCHOR: ready
  // getsockname(), through koffi: the path, or "@name" for an abstract one.
  // One short line to a pipe is written at once: nothing to flush.
  process.stdout.write(`READY ${libc.unixSocketName(fd)}\n`);
  // ANCHOR_END: ready

  // ANCHOR: echo
  const buf = Buffer.alloc(BUFFER_SIZE);
  const from = libc.sockaddrUnBuffer(); // the sender's address goes here
  const fromLen = libc.socklen(0); // and its length here
  for (;;) {
    // recvfrom() through koffi: .async waits on a worker thread, so the event
    // loop (and the signal handlers) stay free. MSG_TRUNC: it returns the
    // datagram's full length, even when that is more than buf holds.
    fromLen.writeUInt32LE(libc.SOCKADDR_UN_SIZE, 0); // room in `from`
    let n;
    try {
      n = await libc.recvfrom.async(fd, buf, buf.length, libc.MSG_TRUNC,
                                    from, fromLen);
    } catch (err) {
      if (stopping) return;
      log(`receive: ${libc.reason(err)}`); // no peer to name: go on
      continue;
    }
    if (stopping) return; // the 0 that shutdown() makes recvfrom() return
    const addrLen = fromLen.readUInt32LE(0);
    const peer = libc.sockaddrUnName(from, addrLen); // path, @name, unnamed
    if (n > buf.length) {
      log(`${peer}: ${n} bytes is more than the ${buf.length} this server ` +
          'receives; dropped');
    } else if (addrLen <= libc.SA_FAMILY_SIZE) { // just the family: no name
      log(`${n} bytes from unnamed: no address to reply to`);
    } else {
      log(`${n} bytes from ${peer}`);
      // sendto() the same bytes to the very address bytes they came from.
      // MSG_DONTWAIT: a full queue fails with EAGAIN instead of stalling us,
      // and the reply is dropped, as it is for a sender that has gone
      // (ENOENT, ECONNREFUSED).
      try {
        libc.sendto(fd, buf, n, libc.MSG_DONTWAIT, from, addrLen);
      } catch (err) {
        log(`${peer}: ${libc.reason(err)}`);
      }
    }
  }
  // ANCHOR_END: echo
}

// Anything unforeseen is one line too, never a stack trace.
main().catch((err) => {
  log(libc.reason(err));
  process.exitCode = 1;
});
