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
  process.stderr.write(`dgram_server: ${message}\n`);
}

// ANCHOR: bind
// A probe: connect a fresh datagram socket to the path. For a datagram
// socket connect() only records the peer, but it checks that a socket is
// bound there: ECONNREFUSED means a socket file nobody has any more, the
// leftover of a server that crashed. Anything else (it connects; EPROTOTYPE,
// a live socket of another type) means the path is in use.
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

// Create the socket and bind it to the path or abstract name; returns the
// descriptor. Throws an Error with the line to print, or the failing call's.
function bindServer(path, mode) {
  const abstract = path.startsWith('@');
  // socket(AF_UNIX, SOCK_DGRAM, 0): a Unix-domain socket for datagrams. It
  // is a plain number, a descriptor; Node knows nothing about it.
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_DGRAM, 0);
  // The address: sun_family and sun_path, with its exact length.
  const { addr, len } = libc.sockaddrUn(path);
  for (;;) {
    // bind() creates the socket file, with permissions the process's umask
    // decides: at 077 it starts as srwx------, so there is no moment at which
    // another user may send to it (that needs write permission on the file).
    const oldMask = process.umask(0o077);
    try {
      libc.bind(fd, addr, len);
      break;
    } catch (err) {
      // EADDRINUSE: something has the path. Never remove what is not ours:
      // an abstract name is held by a live socket; a file that is not a
      // socket is left alone; a socket file goes only if it is stale.
      if (err.code !== 'EADDRINUSE') {
        libc.close(fd);
        throw err; // EACCES, ENOENT (no such directory)...
      }
      if (!abstract && !fs.lstatSync(path).isSocket()) {
        libc.close(fd);
        throw new Error(`${path}: exists and is not a socket`);
      }
      if (abstract || !isStale(addr, len)) {
        libc.close(fd);
        throw new Error(`${path}: another server is listening there`);
      }
      log(`${path}: removing stale socket file`);
      libc.unlink(path);
    } finally {
      process.umask(oldMask);
    }
  }
  // Now the permissions we were asked for: 600 by default (the owner only),
  // 666 to let everyone send. An abstract name has no file to chmod.
  if (!abstract) fs.chmodSync(path, mode);
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
    // err.code: a failed call ("/tmp/x/demo.sock: Permission denied").
    log(err.code ? `${opts.path}: ${libc.describeError(err)}` : err.message);
    process.exitCode = 1;
    return;
  }

  // ANCHOR: stop
  // Once a handler is installed, SIGTERM (kill) and SIGINT (Ctrl-C) no
  // longer kill the process; Node runs the handler from the event loop -- it
  // can, because recvfrom() waits on a worker thread, not on the loop. But
  // Node will not exit while that thread is inside recvfrom(): shutdown()
  // wakes it (the receive returns 0 at once). Then we close the socket,
  // remove the socket file (an abstract name has none: it went with the
  // socket), and exit 0.
  let stopping = false;
  const stop = (signal) => {
    log(`stopping on ${signal}`);
    stopping = true;
    libc.shutdown(fd, libc.SHUT_RDWR);
    libc.close(fd);
    if (!opts.path.startsWith('@')) libc.unlink(opts.path);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // ANCHOR_END: stop

  // ANCHOR: ready
  // The address we are bound to: the path as given (getsockname() would say
  // the same), or "@name" for an abstract one. One short line to a pipe is
  // written at once: nothing to flush.
  process.stdout.write(`READY ${opts.path}\n`);
  // ANCHOR_END: ready

  // ANCHOR: echo
  const buf = Buffer.alloc(BUFFER_SIZE);
  const from = libc.sockaddrUnBuffer(); // the sender's address goes here
  const fromLen = libc.socklen(0); // and its length here
  for (;;) {
    // recvfrom() waits for the next datagram, copies it into buf and the
    // sender's address into `from`; .async makes the wait on a worker thread.
    // MSG_TRUNC makes it return the datagram's full length even when that
    // is more than buf holds, so we can tell a datagram was cut short.
    fromLen.writeUInt32LE(libc.SOCKADDR_UN_SIZE, 0); // room in `from`
    let n;
    try {
      n = await libc.recvfrom.async(fd, buf, buf.length, libc.MSG_TRUNC,
                                    from, fromLen);
    } catch (err) {
      if (stopping) return;
      log(`recvfrom: ${err.message}`);
      continue;
    }
    if (stopping) return; // the 0 that shutdown() makes recvfrom() return
    const addrLen = fromLen.readUInt32LE(0);
    const peer = libc.sockaddrUnName(from, addrLen); // path, @name, unnamed
    if (n > buf.length) {
      log(`${peer}: ${n} bytes is more than the ${buf.length} this server ` +
          'receives; dropped');
      continue;
    }
    // A sender that never bound a name has an address of just the family
    // (addrLen == sizeof(sa_family_t)): there is nowhere to send a reply.
    if (addrLen <= libc.SA_FAMILY_SIZE) {
      log(`${n} bytes from unnamed: no address to reply to`);
      continue;
    }
    log(`${n} bytes from ${peer}`);
    // sendto() the same bytes, as one datagram, to the address they came
    // from: the same bytes and length recvfrom() gave us, so an abstract name
    // goes back exactly as it came. MSG_DONTWAIT: a Unix datagram socket
    // whose receiver's queue is full makes the sender wait, and a client that
    // never reads would stall us; with it sendto() fails with EAGAIN instead,
    // and we drop the reply. So too if the sender has gone: ENOENT (its file
    // is removed), ECONNREFUSED (nobody has its name any more).
    try {
      libc.sendto(fd, buf, n, libc.MSG_DONTWAIT, from, addrLen);
    } catch (err) {
      log(`${peer}: reply dropped: ${err.message}`);
    }
  }
  // ANCHOR_END: echo
}

main();
