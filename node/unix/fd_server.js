'use strict';
// fd_server.js -- passing a descriptor: for each client it opens a file and
// sends the open descriptor itself with sendmsg() and SCM_RIGHTS, via koffi

// A Unix-domain socket can carry more than bytes: with sendmsg(), a process
// can hand another process an open descriptor (a file, a pipe, a socket) as
// "ancillary data" of type SCM_RIGHTS. The kernel installs a duplicate in the
// receiver, which can read the file without being able to open it itself:
// that is how a privileged process hands out access. Node has no sendmsg()
// of its own, so this server calls the C library through koffi (libc.js).

const fs = require('node:fs');
const libc = require('./libc');

const USAGE = 'usage: fd_server --path P --file F [--mode M]';

// Parse --path P, --file F and --mode M (a flag's value is the next
// argument). A bad command line throws an Error saying what is wrong; main()
// exits 2 with it.
function parseArgs(argv) {
  const opts = { path: undefined, file: undefined, mode: 0o600, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') return { ...opts, help: true };
    if (arg !== '--path' && arg !== '--file' && arg !== '--mode') {
      throw new Error(arg.startsWith('-') ? `unknown option: ${arg}`
                                          : `unexpected argument: ${arg}`);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (arg === '--path') {
      libc.checkPath(value); // empty, a bare "@", more than 107 bytes
      opts.path = value;
    } else if (arg === '--file') {
      opts.file = value;
    } else if (/^[0-7]{3}$/.test(value)) {
      opts.mode = parseInt(value, 8); // permission bits: three octal digits
    } else {
      throw new Error(`bad mode: ${value}`);
    }
  }
  if (opts.path === undefined) throw new Error('--path is required');
  if (opts.file === undefined) throw new Error('--file is required');
  return opts;
}

// Logs go to stderr, one line per event; stdout carries only the READY line.
function log(message) {
  process.stderr.write(`fd_server: ${message}\n`);
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

// ANCHOR: send_fd
// Hand the client an open descriptor of the file.
function sendFile(conn, file) {
  // Opened afresh for each client, so each gets its own file offset: the
  // descriptor we pass shares its offset with ours (a duplicate, like dup()).
  const fileFd = fs.openSync(file, 'r');
  try {
    // One message: one byte of ordinary data ('F'; a stream socket carries
    // ancillary data only along with at least one byte, and its value means
    // nothing) and, as ancillary data, an SCM_RIGHTS cmsghdr holding the
    // descriptor. msghdr() and rightsControl() in libc.js lay out the C
    // structs; sendmsg() sends the byte and the descriptor together.
    const data = Buffer.from('F');
    const control = libc.rightsControl(fileFd);
    const msg = libc.msghdr(data, control);
    libc.sendmsg(conn, msg, 0);
  } finally {
    // The client has its own duplicate now (the kernel made it when the
    // message was sent); ours can go.
    fs.closeSync(fileFd);
  }
}
// ANCHOR_END: send_fd

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`fd_server: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  // The file must be readable now, or there is nothing to serve.
  try {
    fs.closeSync(fs.openSync(opts.file, 'r'));
  } catch (err) {
    log(`open ${opts.file}: ${libc.reason(err)}`);
    process.exitCode = 1;
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
      sendFile(conn, opts.file);
      log(`passed ${opts.file} to ${peer}`);
    } catch (err) {
      // The file vanished, the client went away (EPIPE; Node ignores
      // SIGPIPE): this client is not served, the next one may be.
      const what = err.syscall === 'open' ? `open ${opts.file}` : peer;
      log(`${what}: ${libc.reason(err)}`);
    } finally {
      libc.close(conn);
    }
  }
  // ANCHOR_END: accept
}

// Anything unforeseen is one line too, never a stack trace.
main().catch((err) => {
  log(libc.reason(err));
  process.exitCode = 1;
});
