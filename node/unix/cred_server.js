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
  process.stderr.write(`cred_server: ${message}\n`);
}

// ANCHOR: bind
// A probe: connect a fresh stream socket to the path. ECONNREFUSED means a
// socket file that nobody listens on any more, the leftover of a server that
// crashed. Anything else (it connects; EPROTOTYPE, a live socket of another
// type; EAGAIN, a live server whose queue is full) means the path is in use.
// SOCK_NONBLOCK: connect() must not wait for that queue.
function isStale(addr, len) {
  const probe = libc.socket(libc.AF_UNIX,
                            libc.SOCK_STREAM | libc.SOCK_NONBLOCK, 0);
  try {
    libc.connect(probe, addr, len);
    return false;
  } catch (err) {
    return err.code === 'ECONNREFUSED';
  } finally {
    libc.close(probe);
  }
}

// Create the socket, bind it to the path or abstract name and listen;
// returns the descriptor. Throws an Error with the line to print, or the
// failing call's.
function listenServer(path, mode) {
  const abstract = path.startsWith('@');
  // socket(AF_UNIX, SOCK_STREAM, 0): a Unix-domain stream socket, a plain
  // number, a descriptor; Node knows nothing about it.
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
  // The address: sun_family and sun_path, with its exact length.
  const { addr, len } = libc.sockaddrUn(path);
  for (;;) {
    // bind() creates the socket file, with permissions the process's umask
    // decides: at 077 it starts as srwx------, so there is no moment at which
    // another user may connect (that needs write permission on the file).
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
  // 666 to let everyone connect. An abstract name has no file to chmod.
  if (!abstract) fs.chmodSync(path, mode);
  // listen(): accept connections, and queue up to 128 not yet accepted.
  libc.listen(fd, 128);
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
    // err.code: a failed call ("/tmp/x/demo.sock: Permission denied").
    log(err.code ? `${opts.path}: ${libc.describeError(err)}` : err.message);
    process.exitCode = 1;
    return;
  }

  // ANCHOR: stop
  // Once a handler is installed, SIGTERM (kill) and SIGINT (Ctrl-C) no
  // longer kill the process; Node runs the handler from the event loop -- it
  // can, because accept() waits on a worker thread, not on the loop. But
  // Node will not exit while that thread is inside accept(): shutdown()
  // wakes it (accept() fails with EINVAL at once). Then we close the socket,
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
      log(`accept: ${err.message}`);
      continue;
    }
    const peer = libc.sockaddrUnName(peerAddr, peerLen.readUInt32LE(0));
    try {
      log(tellCredentials(conn));
    } catch (err) {
      // The client went away (EPIPE; Node ignores SIGPIPE): this client is
      // not told, the next one may be.
      log(`${peer}: ${err.message}`);
    } finally {
      libc.close(conn); // the client reads end-of-file after the line
    }
  }
  // ANCHOR_END: accept
}

main();
