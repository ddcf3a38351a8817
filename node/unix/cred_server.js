'use strict';
// cred_server.js -- peer credentials: for each client it asks the kernel who
// connected (getsockopt SO_PEERCRED: pid, uid, gid), via koffi, and says so

// On a Unix-domain socket both ends are on one machine, and the kernel knows
// which process is on the other end: it records the pid, user id and group id
// of the process that called connect(), at that moment. A server can ask for
// them with getsockopt(SO_PEERCRED) and trust them -- they are the kernel's
// word, not something the client claims -- to decide what the client may
// do. Node has no SO_PEERCRED, so this server calls the C library through
// koffi (see libc.js).

const fs = require('node:fs');
const libc = require('./libc');

const USAGE = 'usage: cred_server --path P [--mode M]';

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
  process.stderr.write(`cred_server: ${message}\n`);
}

// ANCHOR: bind
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

// socket(), bind(), chmod() and listen(), through koffi, removing nothing
// that is not ours. Returns the descriptor or throws (main() then exits).
function listenServer(path, mode) {
  const abstract = path.startsWith('@'); // no file: no chmod, no probe
  const { addr, len } = libc.sockaddrUn(path); // exact length for "@name"
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0); // just a number
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
  libc.listen(fd, 128); // queue up to 128 connections not yet accepted
  return fd;
}
// ANCHOR_END: bind

// ANCHOR: peercred
// Ask the kernel who is on the other end of a connection, and tell them.
function tellCredentials(conn) {
  // getsockopt(SOL_SOCKET, SO_PEERCRED) fills in a struct ucred:
  //     struct ucred { pid_t pid; uid_t uid; gid_t gid; };   12 bytes
  // the process id, user id and group id of the process that called
  // connect(), as the kernel recorded them then. optlen says how much room
  // there is, and comes back as how much was filled in.
  const ucred = Buffer.alloc(12);
  const optlen = libc.socklen(ucred.length);
  libc.getsockopt(conn, libc.SOL_SOCKET, libc.SO_PEERCRED, ucred, optlen);
  const pid = ucred.readInt32LE(0);
  const uid = ucred.readUInt32LE(4);
  const gid = ucred.readUInt32LE(8);
  const line = `pid=${pid} uid=${uid} gid=${gid}`;
  // One short line: it fits the empty send buffer of a new connection, so
  // send() takes it whole and at once.
  const data = Buffer.from(`${line}\n`);
  libc.send(conn, data, data.length, 0);
  return line;
}
// ANCHOR_END: peercred

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`cred_server: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let fd;
  try {
    fd = listenServer(opts.path, opts.mode);
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
  // can, because accept() waits on a worker thread, not on the loop. But
  // Node will not exit while that thread is inside accept(): libc.wake()
  // (shutdown()) makes it fail with EINVAL at once. Then we close the
  // socket, remove the socket file (an abstract name has none: it went with
  // the socket), and exit 0.
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

  // ANCHOR: accept
  // Clients one after another. accept() waits for the next connection and
  // returns a new descriptor for it, filling in the client's address (a
  // stream client rarely binds one: "unnamed"); .async makes the wait on a
  // worker thread, so the event loop stays free.
  const peerAddr = libc.sockaddrUnBuffer();
  const peerLen = libc.socklen(0);
  for (;;) {
    peerLen.writeUInt32LE(libc.SOCKADDR_UN_SIZE, 0); // room in peerAddr
    let conn;
    try {
      conn = await libc.accept.async(fd, peerAddr, peerLen);
    } catch (err) {
      if (stopping) return; // the EINVAL that shutdown() causes
      log(`accept: ${libc.reason(err)}`);
      continue;
    }
    const peer = libc.sockaddrUnName(peerAddr, peerLen.readUInt32LE(0));
    try {
      log(tellCredentials(conn));
    } catch (err) {
      // The client went away (EPIPE; Node ignores SIGPIPE): this client is
      // not told, the next one may be.
      log(`${peer}: ${libc.reason(err)}`);
    } finally {
      libc.close(conn); // the client reads end-of-file after the line
    }
  }
  // ANCHOR_END: accept
}

// Anything unforeseen is one line too, never a stack trace.
main().catch((err) => {
  log(libc.reason(err));
  process.exitCode = 1;
});
